#include "lib/core/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"

/* How long a child that ignores SIGTERM gets before SIGKILL. */
#define GRACE_NS 1000000000ull

/* ---- The list of live children -------------------------------------------
 *
 * A fixed array so that a signal handler can walk it without locks: entries
 * are claimed with a CAS from 0 and cleared with a store; `high` only grows,
 * so kill_all scans [0, high). A child that finds no free entry is simply not
 * tracked; PR_SET_PDEATHSIG still ends it when the harness dies.
 *
 * The array lives in MAP_SHARED memory owned by the process that made it. A
 * forked child sees its parent's list but never uses it (the owner is not
 * the child), and makes its own when it has children of its own. Private
 * memory would cost a copy-on-write fault after every fork, in the parent
 * (tracking the new child) and in the child (forgetting its siblings): a
 * measurable share of the process executor's spawn cost. */

#define MAX_CHILDREN 16384

typedef struct child_list {
    _Atomic size_t high;
    _Atomic pid_t pid[MAX_CHILDREN];
} child_list_t;

static child_list_t *list;
static pid_t list_owner;

/* The calling process's list; with create, made on first use. getpid and
 * the pointer read are async-signal-safe. */
static child_list_t *my_list(int create)
{
    if (list && list_owner == getpid())
        return list;
    if (!create)
        return NULL;
    child_list_t *l =
        mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (l == MAP_FAILED)
        return NULL;
    list_owner = getpid();
    list = l;
    return l;
}

void cb_children_track(pid_t pid)
{
    child_list_t *l = my_list(1);
    if (!l)
        return;
    size_t high = atomic_load(&l->high);
    for (size_t i = 0; i < MAX_CHILDREN; i++) {
        pid_t expect = 0;
        if (atomic_compare_exchange_strong(&l->pid[i], &expect, pid)) {
            while (high < i + 1 && !atomic_compare_exchange_weak(&l->high, &high, i + 1))
                ;
            return;
        }
    }
}

void cb_children_untrack(pid_t pid)
{
    child_list_t *l = my_list(0);
    if (!l)
        return;
    size_t high = atomic_load(&l->high);
    /* Recent children sit near the top. */
    for (size_t i = high; i-- > 0;) {
        pid_t expect = pid;
        if (atomic_compare_exchange_strong(&l->pid[i], &expect, 0))
            return;
    }
}

void cb_children_kill_all(int sig)
{
    child_list_t *l = my_list(0);
    if (!l)
        return;
    size_t high = atomic_load(&l->high);
    for (size_t i = 0; i < high; i++) {
        pid_t pid = atomic_load(&l->pid[i]);
        if (pid > 0)
            kill(pid, sig);
    }
}

void cb_child_init(pid_t parent_pid)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(126);
    /* The parent may have died between fork and prctl; then nobody would
     * ever send us the death signal. */
    if (getppid() != parent_pid)
        _exit(126);
    /* The harness's own handlers (interrupt: write partial results) belong
     * to the harness, not to its children. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

/* ---- Shared memory -------------------------------------------------------- */

void *cb_sandbox_shm_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void cb_sandbox_shm_free(void *shm, size_t size)
{
    if (!shm)
        return;
    if (size == 0)
        size = 1;
    if (munmap(shm, size) != 0)
        abort();
}

/* ---- The sandbox child ---------------------------------------------------- */

/* What the child tells the parent, in a page of its own (the caller's shm is
 * the caller's). */
typedef struct report {
    _Atomic int returned;
    int fn_rc;
} report_t;

/* Sends sig to every pid listed in one /proc children file. */
static int signal_listed(const char *path, int sig)
{
    int n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    ssize_t len;
    pid_t pid = 0;
    while ((len = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < len; i++) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                pid = pid * 10 + (buf[i] - '0');
            } else if (pid > 0) {
                kill(pid, sig);
                n++;
                pid = 0;
            }
        }
    }
    if (pid > 0) {
        kill(pid, sig);
        n++;
    }
    close(fd);
    return n;
}

/* Sends sig to every child the kernel lists for this process, in each
 * thread's /proc/self/task/TID/children (a child belongs to the thread that
 * forked it, or to the thread that adopted it). Orphaned grandchildren land
 * here because the sandbox child is a subreaper. Directory entries are read
 * with getdents64 into a stack buffer, so this is async-signal-safe.
 * Returns how many it signalled. */
static int signal_proc_children(int sig)
{
    int n = 0;
    int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return 0;
    char buf[2048] __attribute__((aligned(8)));
    long len;
    while ((len = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
        for (long off = 0; off < len;) {
            /* struct linux_dirent64: ino (8), off (8), reclen (2), type (1),
             * name. */
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, sizeof(reclen));
            const char *name = buf + off + 19;
            if (name[0] >= '0' && name[0] <= '9') {
                char path[64] = "/proc/self/task/";
                size_t p = strlen(path);
                for (size_t i = 0; name[i] && p < sizeof(path) - 10; i++)
                    path[p++] = name[i];
                memcpy(path + p, "/children", 10);
                n += signal_listed(path, sig);
            }
            off += reclen;
        }
    }
    close(dir);
    return n;
}

/* Kills and reaps every child still left, tracked or orphaned. */
static void sweep_children(void)
{
    for (int round = 0; round < 1000; round++) {
        cb_children_kill_all(SIGKILL);
        signal_proc_children(SIGKILL);
        pid_t pid;
        int st;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
            cb_children_untrack(pid);
        if (pid < 0 && errno == ECHILD)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* The sandbox child's pid: on_term is inherited by the processes an
 * executor forks from it (they keep their parent's handlers, see
 * cb_child_init_quick), and there it only has to end the process. */
static pid_t sandbox_pid;

static void on_term(int sig)
{
    if (getpid() != sandbox_pid) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    cb_children_kill_all(SIGKILL);
    signal_proc_children(SIGKILL);
    /* Reap them too (for up to ~100 ms; SIGKILL is quick), or they would
     * outlive us as zombies for an init that may be slow to reap. waitpid
     * and nanosleep are async-signal-safe. */
    int saved = errno;
    for (int i = 0; i < 100; i++) {
        pid_t r;
        while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
            ;
        if (r < 0 && errno == ECHILD)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    errno = saved;
    /* Die of the signal itself, so that the parent sees what happened. */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- Orphans the sandbox child left behind ------------------------------
 *
 * The sandbox child kills its descendants when fn returns or SIGTERM comes,
 * but not when it dies of another signal, calls _exit, or ignores SIGTERM
 * and gets SIGKILL. Whatever it left then (a task's grandchild without a
 * death signal, holding the harness's stdout open) is reparented to the
 * nearest subreaper. So the process that calls cb_sandbox_run becomes one,
 * and after reaping the sandbox child kills and reaps every child of its
 * own that appeared during the run and that it does not track. */

#define MAX_SNAPSHOT 256

/* This process's children from /proc/self/task/TID/children. Returns how
 * many were found (at most cap are stored), or -1 when unreadable. */
static long list_children(pid_t *out, size_t cap)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    long n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300]; /* d_name is at most 255 bytes */
        snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        long pid;
        while (fscanf(f, "%ld", &pid) == 1) {
            if ((size_t)n < cap)
                out[n] = (pid_t)pid;
            n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

static int tracked(pid_t pid)
{
    child_list_t *l = my_list(0);
    if (!l)
        return 0;
    size_t high = atomic_load(&l->high);
    for (size_t i = 0; i < high; i++)
        if (atomic_load(&l->pid[i]) == pid)
            return 1;
    return 0;
}

static int listed(const pid_t *v, long n, pid_t pid)
{
    for (long i = 0; i < n; i++)
        if (v[i] == pid)
            return 1;
    return 0;
}

/* Kills and reaps the children that are not in before[0..nbefore) and not
 * tracked: adopted orphans. Their own children are adopted in turn as
 * they die, hence the rounds. */
static void reap_orphans(const pid_t *before, long nbefore)
{
    pid_t now[MAX_SNAPSHOT];
    for (int round = 0; round < 100; round++) {
        long n = list_children(now, MAX_SNAPSHOT);
        if (n < 0)
            return;
        int found = 0;
        for (long i = 0; i < n && i < MAX_SNAPSHOT; i++) {
            if (listed(before, nbefore, now[i]) || tracked(now[i]))
                continue;
            kill(now[i], SIGKILL);
            while (waitpid(now[i], NULL, 0) < 0 && errno == EINTR)
                ;
            found = 1;
        }
        if (!found)
            return;
    }
}

static _Noreturn void sandbox_child(pid_t parent, int (*fn)(void *, void *), void *arg, void *shm,
                                    report_t *rep)
{
    cb_child_init(parent);
    sandbox_pid = getpid();
    /* Orphans of the executors' children are reparented to us, not to the
     * harness's init, so that we can reap and kill them. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
        _exit(125);
    /* Faults are expected here (fault_* workloads); core dumps would only
     * slow them down and litter the working directory. */
    struct rlimit nocore = {0, 0};
    if (setrlimit(RLIMIT_CORE, &nocore) != 0)
        _exit(125);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        _exit(125);

    int rc = fn(shm, arg);
    rep->fn_rc = rc;
    atomic_store(&rep->returned, 1);
    sweep_children();
    _exit(0);
}

/* Waits for pid until deadline_ns (CLOCK_MONOTONIC; 0: no deadline). Returns
 * 1 with *status when it ended, 0 at the deadline, or a negative errno. */
static int wait_until(pid_t pid, int pidfd, uint64_t deadline_ns, int *status)
{
    unsigned nap_us = 100;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -errno;
        uint64_t now = cb_now_ns();
        if (deadline_ns && now >= deadline_ns)
            return 0;
        uint64_t left = deadline_ns ? deadline_ns - now : UINT64_MAX;
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            int ms = left == UINT64_MAX ? -1 : (int)((left + 999999) / 1000000);
            if (poll(&p, 1, ms) < 0 && errno != EINTR)
                return -errno;
        } else {
            /* No pidfd (kernel < 5.3): poll with growing naps, never spin. */
            uint64_t nap = (uint64_t)nap_us * 1000;
            if (nap > left)
                nap = left;
            struct timespec ts = {(time_t)(nap / 1000000000u), (long)(nap % 1000000000u)};
            nanosleep(&ts, NULL);
            if (nap_us < 10000)
                nap_us *= 2;
        }
    }
}

static void describe_signal(char *buf, size_t len, int sig)
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %d", sig);
}

int cb_sandbox_run(int (*fn)(void *shm, void *arg), void *arg, void *shm, uint64_t timeout_ns,
                   cb_sandbox_result_t *res)
{
    int rc;
    int pidfd = -1;
    memset(res, 0, sizeof(*res));
    report_t *rep = cb_sandbox_shm_alloc(sizeof(*rep));
    if (!rep)
        return -ENOMEM;

    /* Orphans of the run come to us (see reap_orphans); the children we
     * have now are not orphans of this run. When there are too many to
     * list, orphans are left alone rather than a child of ours killed. */
    static int subreaper;
    if (!subreaper)
        subreaper = prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
    pid_t before[MAX_SNAPSHOT];
    long nbefore = subreaper ? list_children(before, MAX_SNAPSHOT) : -1;

    /* Flush stdio so the child does not write the parent's buffered output
     * a second time. */
    fflush(NULL);
    pid_t parent = getpid();
    uint64_t start = cb_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto err;
    }
    if (pid == 0)
        sandbox_child(parent, fn, arg, shm, rep);
    cb_children_track(pid);

    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0 && errno != ENOSYS) {
        rc = -errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cb_children_untrack(pid);
        goto err;
    }

    int status = 0;
    int timed_out = 0;
    uint64_t deadline = timeout_ns ? start + timeout_ns : 0;
    rc = wait_until(pid, pidfd, deadline, &status);
    if (rc == 0) {
        timed_out = 1;
        if (kill(pid, SIGTERM) != 0 && errno != ESRCH)
            abort();
        rc = wait_until(pid, pidfd, cb_now_ns() + GRACE_NS, &status);
        if (rc == 0) {
            if (kill(pid, SIGKILL) != 0 && errno != ESRCH)
                abort();
            rc = wait_until(pid, pidfd, 0, &status);
        }
    }
    if (rc < 0) {
        /* waitpid itself failed: the child is not ours to reap any more.
         * Make sure it is gone and report the error. */
        kill(pid, SIGKILL);
        cb_children_untrack(pid);
        goto err;
    }
    res->wall_ns = cb_now_ns() - start;
    cb_children_untrack(pid);
    if (nbefore >= 0 && nbefore <= MAX_SNAPSHOT)
        reap_orphans(before, nbefore);

    int returned = atomic_load(&rep->returned);
    res->fn_rc = returned ? rep->fn_rc : 0;
    if (WIFSIGNALED(status))
        res->signo = WTERMSIG(status);
    else
        res->exit_code = WEXITSTATUS(status);
    if (timed_out) {
        /* Whatever the child did once told to stop, it ran past its time. */
        res->status = CB_TIMEOUT;
        snprintf(res->detail, sizeof(res->detail), "timeout after %g s%s", (double)timeout_ns / 1e9,
                 res->signo == SIGKILL ? " (SIGKILL after SIGTERM)" : "");
    } else if (res->signo == SIGKILL) {
        res->status = CB_CRASHED;
        snprintf(res->detail, sizeof(res->detail), "killed (SIGKILL; out of memory?)");
    } else if (res->signo) {
        res->status = CB_CRASHED;
        describe_signal(res->detail, sizeof(res->detail), res->signo);
    } else if (!returned) {
        res->status = CB_ERROR;
        snprintf(res->detail, sizeof(res->detail), "exit %d before reporting", res->exit_code);
    } else if (res->exit_code != 0) {
        res->status = CB_ERROR;
        snprintf(res->detail, sizeof(res->detail), "exit %d", res->exit_code);
    } else if (res->fn_rc != 0) {
        res->status = CB_ERROR;
        /* A negative errno, as the measurement functions return: named. */
        if (res->fn_rc < 0 && res->fn_rc > -4096 && strerrorname_np(-res->fn_rc))
            snprintf(res->detail, sizeof(res->detail), "failed: %s (%s)", strerror(-res->fn_rc),
                     strerrorname_np(-res->fn_rc));
        else
            snprintf(res->detail, sizeof(res->detail), "returned %d", res->fn_rc);
    } else {
        res->status = CB_OK;
    }
    if (pidfd >= 0 && close(pidfd) != 0)
        abort();
    cb_sandbox_shm_free(rep, sizeof(*rep));
    return 0;
err:
    if (pidfd >= 0)
        close(pidfd);
    cb_sandbox_shm_free(rep, sizeof(*rep));
    return rc;
}

pid_t cb_fork_child(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        cb_child_init(parent);
    else
        cb_children_track(pid);
    return pid;
}
