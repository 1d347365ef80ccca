#include "lib/core/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/sandbox.h"

char *cb_helper_find(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *copy = strdup(path), *save = NULL, *found = NULL;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", d, name);
        if (access(p, X_OK) == 0)
            found = strdup(p);
    }
    free(copy);
    return found;
}

int cb_helper_run(char *const *argv, char *out, size_t outlen, const char *errpath)
{
    int fds[2] = {-1, -1};
    if (out && pipe(fds) != 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        if (out) {
            close(fds[0]);
            close(fds[1]);
        }
        return e;
    }
    if (pid == 0) {
        /* The helper dies with the harness, and leaves SIGINT / SIGTERM at
         * their defaults, like every other child. */
        cb_child_init(parent);
        if (errpath) {
            int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (err < 0 || dup2(err, STDERR_FILENO) < 0)
                _exit(126);
        }
        if (out) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    cb_children_track(pid);
    if (out) {
        close(fds[1]);
        size_t n = 0;
        ssize_t k;
        while ((k = read(fds[0], out + n, outlen - 1 - n)) > 0 || (k < 0 && errno == EINTR))
            if (k > 0 && (n += (size_t)k) >= outlen - 1)
                break;
        out[n] = '\0';
        close(fds[0]);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            int e = -errno;
            cb_children_untrack(pid);
            return e;
        }
    }
    cb_children_untrack(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
