/* --command: an external program as each task. The task spawns
 * `/bin/sh -c CMD` (posix_spawn, so from any thread), its stdin /dev/null,
 * its stdout and stderr into a file per task, CONCBENCH_TASK set to the
 * task's index, and waits for it: under the coroutine executor through a
 * pidfd, so the other coroutines run meanwhile. The exit status is the
 * check (0), and a failure's detail quotes the last line the command
 * wrote. The configuration's --timeout stops the command with the task:
 * it is in the sandbox's process group. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/helper.h"
#include "lib/core/task_env.h"
#include "lib/user/user.h"

extern char **environ;

typedef struct cmd_state {
    const char *cmd;
    char dir[PATH_MAX];
} cmd_state_t;

static const char *the_command;

void cb_user_set_command(const char *cmd)
{
    the_command = cmd;
}

static int cmd_setup(const cb_wl_params_t *p, void **arg)
{
    cmd_state_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cmd = the_command;
    int rc = cb_user_mkdtemp(p->tmp_dir, "command", s->dir, sizeof(s->dir));
    if (rc < 0 || !s->cmd) {
        free(s);
        return rc < 0 ? rc : -EINVAL;
    }
    *arg = s;
    return 0;
}

static void log_path(const cmd_state_t *s, size_t index, char *buf, size_t len)
{
    snprintf(buf, len, "%s/task-%zu.log", s->dir, index);
}

/* 0..255: the exit status; 256 + N: killed by signal N; 512 + errno: not
 * started. */
static uint64_t cmd_task(void *arg, size_t index)
{
    const cmd_state_t *s = arg;
    char log[PATH_MAX + 32], idx[32];
    log_path(s, index, log, sizeof(log));
    snprintf(idx, sizeof(idx), "%zu", index);
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return 512 + ENOMEM;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* The command's environment: ours, and its task index. */
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + 2, sizeof(*env));
    char var[64];
    snprintf(var, sizeof(var), "CONCBENCH_TASK=%s", idx);
    if (!env) {
        posix_spawn_file_actions_destroy(&fa);
        return 512 + ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "CONCBENCH_TASK=", 15) != 0)
            env[k++] = environ[i];
    env[k++] = var;
    env[k] = NULL;
    char *argv[] = {"sh", "-c", (char *)s->cmd, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (err != 0)
        return 512 + (uint64_t)err;
    /* Wait through a pidfd where the kernel has them, so a coroutine
     * yields instead of blocking its scheduler's thread. */
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) {
        while (cb_task_wait_fd(pfd, POLLIN, -1) == -EINTR)
            ;
        close(pfd);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 512 + (uint64_t)errno;
    if (WIFEXITED(st))
        return (uint64_t)WEXITSTATUS(st);
    return 256 + (uint64_t)WTERMSIG(st);
}

static int cmd_check(void *arg, size_t index, uint64_t value)
{
    (void)arg, (void)index;
    return value == 0 ? 0 : -1;
}

static void cmd_explain(void *arg, size_t index, uint64_t value, char *buf, size_t len)
{
    const cmd_state_t *s = arg;
    char what[48];
    if (value >= 512)
        snprintf(what, sizeof(what), "not started: %s", strerror((int)(value - 512)));
    else if (value >= 256) {
        const char *ab = sigabbrev_np((int)(value - 256));
        snprintf(what, sizeof(what), "killed by SIG%s", ab ? ab : "?");
    } else if (value == 127)
        snprintf(what, sizeof(what), "exited 127 (command not found?)");
    else
        snprintf(what, sizeof(what), "exited %llu", (unsigned long long)value);
    /* The last line the command wrote. */
    char log[PATH_MAX + 32], last[256] = "", line[256];
    log_path(s, index, log, sizeof(log));
    FILE *f = fopen(log, "re");
    if (f) {
        while (fgets(line, sizeof(line), f))
            if (line[0] != '\n')
                snprintf(last, sizeof(last), "%s", line);
        fclose(f);
    }
    last[strcspn(last, "\r\n")] = '\0';
    snprintf(buf, len, "%s%s%.*s", what, last[0] ? ": " : "", (int)(len > 40 ? len - 40 : 0), last);
}

static void cmd_teardown(void *arg)
{
    cmd_state_t *s = arg;
    cb_user_rmtree(s->dir);
    free(s);
}

const cb_workload_t cb_wl_command = {
    .name = "command",
    .summary = "--command CMD as each task (/bin/sh -c, output to a file per task); exit 0 is "
               "the check",
    .setup = cmd_setup,
    .task = cmd_task,
    .check = cmd_check,
    .teardown = cmd_teardown,
    .explain = cmd_explain,
};

/* The program a command starts with, when it can be known without a shell:
 * a first word that is a plain name (no quotes, variables, redirections or
 * shell keywords). Returns 1 and the word in buf, else 0. */
static int first_word(const char *cmd, char *buf, size_t len)
{
    cmd += strspn(cmd, " \t");
    size_t n = strcspn(cmd, " \t");
    if (n == 0 || n >= len)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strchr("\"'$`\\|&;<>(){}*?[]=~!#", cmd[i]))
            return 0;
    memcpy(buf, cmd, n);
    buf[n] = '\0';
    static const char *const builtins[] = {
        "cd",      "echo",  "exit",  "export", "false", "true", "test",   "exec",  "eval",  "read",
        "set",     "shift", "sleep", "times",  "trap",  "type", "ulimit", "umask", "unset", "wait",
        "command", "if",    "for",   "while",  "until", "case", ".",      ":",     NULL};
    for (const char *const *b = builtins; *b; b++)
        if (strcmp(buf, *b) == 0)
            return 0;
    return 1;
}

int cb_user_check_command(const char *cmd, char *err, size_t len)
{
    if (!cmd[0] || cmd[strspn(cmd, " \t")] == '\0') {
        snprintf(err, len, "--command: bad value '%s': expected a shell command line", cmd);
        return -1;
    }
    char prog[PATH_MAX];
    if (!first_word(cmd, prog, sizeof(prog)))
        return 0; /* the shell will tell, per task */
    if (strchr(prog, '/')) {
        if (access(prog, X_OK) != 0) {
            snprintf(err, len, "--command: '%s' is not an executable file (%s)", prog,
                     strerror(errno));
            return -1;
        }
        return 0;
    }
    char *found = cb_helper_find(prog);
    if (!found) {
        const char *path = getenv("PATH");
        snprintf(err, len, "--command: '%s' not found in PATH (%s)", prog, path ? path : "unset");
        return -1;
    }
    free(found);
    return 0;
}
