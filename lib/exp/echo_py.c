/* The echo experiment's CPython servers (echo_bench.h): a tracked child
 * running scripts/python_echo.py --serve MODEL, its port, its CPU clock,
 * and its end. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/sandbox.h"
#include "lib/exp/echo_bench.h"

/* The last non-empty line of what the server wrote to its stderr file. */
static void last_err_line(int fd, char *out, size_t len)
{
    char buf[4096];
    out[0] = '\0';
    off_t end = lseek(fd, 0, SEEK_END);
    if (end <= 0)
        return;
    off_t from = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    const char *line = strrchr(buf, '\n');
    line = line ? line + 1 : buf;
    size_t k = strlen(line);
    if (k >= len)
        k = len - 1;
    memcpy(out, line, k);
    out[k] = '\0';
}

static void describe(int st, const char *model, int err_fd, char *why, size_t len)
{
    char last[120];
    last_err_line(err_fd, last, sizeof(last));
    if (WIFSIGNALED(st))
        snprintf(why, len, "py_%s server died: %s", model, strsignal(WTERMSIG(st)));
    else
        snprintf(why, len, "py_%s server exited %d: %s", model, WEXITSTATUS(st),
                 last[0] ? last : "-");
}

/* SIGTERM (or sig), 1 s of 10 ms polls, then SIGKILL and a blocking wait. */
static void end_child(pid_t pid, int sig)
{
    kill(pid, sig);
    for (int round = 0; round < 100; round++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            goto done;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
done:
    cb_children_untrack(pid);
}

int cb_echo_py_start(const cb_echo_py_t *py, const int *pus, int npus, double timeout_s,
                     cb_echo_pyproc_t *s, cb_status_t *st, char *why, size_t len)
{
    *s = (cb_echo_pyproc_t){.pid = -1, .port = 0, .err_fd = -1};
    *st = CB_ERROR;
    const char *td = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/cb_pyecho_XXXXXX", td && *td ? td : "/tmp");
    int efd = mkostemp(tmp, O_CLOEXEC);
    if (efd < 0) {
        snprintf(why, len, "py_%s: cannot make a temp file: %s", py->model, strerror(errno));
        return -1;
    }
    unlink(tmp);
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
        snprintf(why, len, "py_%s: pipe: %s", py->model, strerror(errno));
        close(efd);
        return -1;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < npus; i++)
        if (pus[i] >= 0 && pus[i] < CPU_SETSIZE)
            CPU_SET(pus[i], &set);
    char *argv[] = {(char *)py->python, (char *)py->script, "--serve", (char *)py->model, NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, len, "py_%s: fork: %s", py->model, strerror(errno));
        close(out[0]), close(out[1]), close(efd);
        return -1;
    }
    if (pid == 0) {
        cb_child_init(parent);
        if (dup2(out[1], 1) < 0 || dup2(efd, 2) < 0)
            _exit(126);
        if (npus > 0 && CPU_COUNT(&set) > 0 && sched_setaffinity(0, sizeof(set), &set) != 0) {
            dprintf(2, "sched_setaffinity: %s\n", strerror(errno));
            _exit(126);
        }
        signal(SIGPIPE, SIG_DFL);
        execv(py->python, argv);
        dprintf(2, "exec %s: %s\n", py->python, strerror(errno));
        _exit(127);
    }
    cb_children_track(pid);
    close(out[1]);
    /* Its first line: "listening on 127.0.0.1:PORT ..." or "skip: REASON". */
    char line[256];
    size_t got = 0;
    uint64_t deadline = cb_now_ns() + (uint64_t)(timeout_s * 1e9);
    int done = 0;
    while (!done && got < sizeof(line) - 1) {
        uint64_t now = cb_now_ns();
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        int pr = now < deadline ? poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = read(out[0], line + got, sizeof(line) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        done = memchr(line, '\n', got) != NULL;
    }
    close(out[0]);
    line[got] = '\0';
    line[strcspn(line, "\n")] = '\0';
    int port = 0;
    if (done && sscanf(line, "listening on 127.0.0.1:%d", &port) == 1 && port > 0 && port < 65536) {
        s->pid = pid;
        s->port = port;
        s->err_fd = efd;
        return 0;
    }
    if (done && strncmp(line, "skip: ", 6) == 0) {
        *st = CB_SKIPPED;
        snprintf(why, len, "py_%s: %s", py->model, line + 6);
    } else {
        int wst;
        pid_t r = waitpid(pid, &wst, WNOHANG);
        if (r == pid) {
            describe(wst, py->model, efd, why, len);
            cb_children_untrack(pid);
            pid = -1;
        } else if (done) {
            snprintf(why, len, "py_%s server: unexpected first line '%.60s'", py->model, line);
        } else {
            snprintf(why, len, "py_%s server: not listening within %.0f s", py->model, timeout_s);
        }
    }
    if (pid > 0)
        end_child(pid, SIGKILL);
    close(efd);
    return -1;
}

int cb_echo_py_cpu_ns(const cb_echo_pyproc_t *s, uint64_t *ns)
{
    clockid_t clk;
    struct timespec ts;
    int rc = clock_getcpuclockid(s->pid, &clk);
    if (rc != 0)
        return -rc;
    if (clock_gettime(clk, &ts) != 0)
        return -errno;
    *ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    return 0;
}

int cb_echo_py_stop(cb_echo_pyproc_t *s, const char *model, char *why, size_t len)
{
    if (s->pid <= 0)
        return 0;
    int rc = 0, st;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    if (r == s->pid) {
        describe(st, model, s->err_fd, why, len);
        cb_children_untrack(s->pid);
        rc = -ECHILD;
    } else {
        end_child(s->pid, SIGTERM);
    }
    if (s->err_fd >= 0)
        close(s->err_fd);
    s->pid = -1;
    s->err_fd = -1;
    return rc;
}
