#include "lib/core/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
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

/* Ends the helper's process group: SIGTERM, up to 1 s for it to go, then
 * SIGKILL. Whatever the helper started stays in its group (unless it made a
 * session of its own, which the harness's subreaper and parent-death
 * signal still catch). */
static void kill_group(pid_t pgid, int term_first)
{
    if (term_first && kill(-pgid, SIGTERM) == 0)
        for (int i = 0; i < 100 && kill(-pgid, 0) == 0; i++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
            while (waitpid(-pgid, NULL, WNOHANG) > 0)
                ;
        }
    kill(-pgid, SIGKILL);
    while (waitpid(-pgid, NULL, WNOHANG) > 0)
        ;
}

int cb_helper_run(char *const *argv, char *out, size_t outlen, const char *errpath,
                  double timeout_s)
{
    int fds[2] = {-1, -1};
    if (out && pipe2(fds, O_CLOEXEC) != 0)
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
         * their defaults, like every other child; its own process group
         * holds it and everything it starts, so they end together. */
        cb_child_init(parent);
        setpgid(0, 0);
        if (errpath) {
            int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (err < 0 || dup2(err, STDERR_FILENO) < 0)
                _exit(126);
        }
        if (out && dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid); /* either side may win the race; both set the same */
    cb_children_track(pid);
    uint64_t deadline = timeout_s > 0 ? cb_now_ns() + (uint64_t)(timeout_s * 1e9) : 0;
    int timed_out = 0, st = 0, done = 0;
    size_t n = 0;
    if (out)
        close(fds[1]);
    /* Read its stdout (if taken) and wait for it, within the limit. An
     * orphan it leaves holding the pipe is not waited for: once the helper
     * has exited, its group is killed. */
    while (!done) {
        int wait_ms = 50;
        if (deadline) {
            uint64_t now = cb_now_ns();
            if (now >= deadline) {
                timed_out = 1;
                break;
            }
            if ((deadline - now) / 1000000 < 50)
                wait_ms = (int)((deadline - now) / 1000000) + 1;
        }
        if (out && fds[0] >= 0) {
            struct pollfd pf = {fds[0], POLLIN, 0};
            if (poll(&pf, 1, wait_ms) > 0) {
                ssize_t k = read(fds[0], out + n, outlen - 1 - n);
                if (k > 0 && (n += (size_t)k) >= outlen - 1)
                    k = 0; /* full: the rest is not wanted */
                if (k == 0 || (k < 0 && errno != EINTR)) {
                    close(fds[0]);
                    fds[0] = -1;
                }
            }
        } else {
            struct timespec ts = {0, wait_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            done = 1;
        else if (w < 0 && errno != EINTR) {
            int e = -errno;
            cb_children_untrack(pid);
            if (fds[0] >= 0)
                close(fds[0]);
            return e;
        }
    }
    /* Drain what is already written, then close: nothing waits on orphans. */
    while (out && fds[0] >= 0) {
        struct pollfd pf = {fds[0], POLLIN, 0};
        ssize_t k = poll(&pf, 1, 0) > 0 ? read(fds[0], out + n, outlen - 1 - n) : 0;
        if (k > 0 && (n += (size_t)k) < outlen - 1)
            continue;
        close(fds[0]);
        fds[0] = -1;
    }
    if (out)
        out[n] = '\0';
    kill_group(pid, timed_out);
    if (timed_out)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    cb_children_untrack(pid);
    if (timed_out)
        return -ETIMEDOUT;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
