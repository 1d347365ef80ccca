#include "lib/exp/spawn_mech.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/exec/coro.h"

extern char **environ;

static void *empty_thread(void *arg)
{
    return arg;
}

static uint64_t empty_task(void *arg, size_t i)
{
    (void)arg;
    return i + 1;
}

static void empty_coro(void *arg)
{
    (void)arg;
}

static int reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

static int once_pthread(const cb_spawn_cfg_t *c)
{
    (void)c;
    pthread_t th;
    int rc = pthread_create(&th, NULL, empty_thread, NULL);
    if (rc != 0)
        return -rc;
    return -pthread_join(th, NULL);
}

static int once_fork(const cb_spawn_cfg_t *c)
{
    (void)c;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    return pid < 0 ? -errno : reap(pid);
}

static int once_vfork(const cb_spawn_cfg_t *c)
{
    (void)c;
    pid_t pid = vfork();
    if (pid == 0)
        _exit(0);
    return pid < 0 ? -errno : reap(pid);
}

static int once_posix_spawn(const cb_spawn_cfg_t *c)
{
    if (!c->tiny)
        return -ENOENT;
    pid_t pid;
    char *argv[] = {(char *)c->tiny, NULL};
    int rc = posix_spawn(&pid, c->tiny, NULL, NULL, argv, environ);
    return rc ? -rc : reap(pid);
}

static int once_coroutine(const cb_spawn_cfg_t *c)
{
    (void)c;
    int err = 0;
    cb_coro_t *co = cb_coro_create(CB_CORO_ASM, 0, empty_coro, NULL, &err);
    if (!co)
        return err;
    cb_coro_resume(co);
    cb_coro_destroy(co);
    return 0;
}

const cb_spawn_mech_t cb_spawn_mechs[] = {
    {"pthread", "pthread_create + pthread_join of an empty thread", CB_SPAWN_BARE, once_pthread, 0,
     1},
    {"fork", "fork + _exit + waitpid, small parent", CB_SPAWN_BARE, once_fork, 0, 1},
    {"fork_256m", "fork + _exit + waitpid, parent with 256 MiB touched", CB_SPAWN_BARE, once_fork,
     256, 0},
    {"vfork", "vfork + _exit + waitpid", CB_SPAWN_BARE, once_vfork, 0, 0},
    {"posix_spawn", "posix_spawn of a tiny static program + waitpid", CB_SPAWN_BARE,
     once_posix_spawn, 0, 0},
    {"coroutine", "create, resume to completion and free a stackful coroutine", CB_SPAWN_BARE,
     once_coroutine, 0, 0},
    {"submit", "one empty task through a started pool, and its result", CB_SPAWN_SUBMIT, NULL, 0,
     0},
    {"stream", "a stream of empty tasks through a started pool (tasks_per_s)", CB_SPAWN_STREAM,
     NULL, 0, 0},
};
const size_t cb_spawn_mech_count = sizeof(cb_spawn_mechs) / sizeof(cb_spawn_mechs[0]);

const cb_spawn_mech_t *cb_spawn_mech_find(const char *name)
{
    return cb_table_find(cb_spawn_mechs, cb_spawn_mech_count, sizeof(cb_spawn_mechs[0]), name);
}

size_t cb_spawn_mech_names(const cb_name_t **out)
{
    static cb_name_t tab[sizeof(cb_spawn_mechs) / sizeof(cb_spawn_mechs[0])];
    *out = tab;
    return cb_table_names(tab, cb_spawn_mechs, cb_spawn_mech_count, sizeof(cb_spawn_mechs[0]),
                          offsetof(cb_spawn_mech_t, summary), SIZE_MAX);
}

/* Timed: submitting a stream of empty tasks and waiting for all: the
 * pool's dispatch throughput. The pool was started by open(). */
static int run_stream(const cb_spawn_cfg_t *x, void *state, const cb_exec_cfg_t *cfg,
                      cb_measurement_t *m)
{
    cb_task_result_t *many = calloc((size_t)x->stream, sizeof(*many));
    if (!many)
        return -ENOMEM;
    cb_counters_start();
    uint64_t t0 = cb_now_ns();
    int rc = x->exec->run(state, cfg, many);
    uint64_t t1 = cb_now_ns();
    cb_counters_stop();
    for (long i = 0; rc == 0 && i < x->stream; i++)
        if (many[i].status != CB_OK || many[i].value != (uint64_t)i + 1)
            rc = -EIO;
    free(many);
    m->values[0] = rc == 0 ? (double)x->stream / ((double)(t1 - t0) / 1e9) : 0;
    m->values[1] = (double)x->stream;
    return rc;
}

/* One start and finish through the executor: a run of one empty task. */
static int run_one(void *state, const cb_spawn_cfg_t *x, const cb_exec_cfg_t *cfg)
{
    cb_task_result_t res[1];
    int rc = x->exec->run(state, cfg, res);
    if (rc == 0 && (res[0].status != CB_OK || res[0].value != 1))
        rc = -EIO;
    return rc;
}

/* Timed: as many start-and-finish cycles as fit in min_s, one after
 * another; the mean per cycle. Each cycle creates the unit, lets it run an
 * empty body and waits for it (join, waitpid, resume to completion, or the
 * pool's result), so the figure is the full round trip. The choice between
 * the bare call and the executor is made once, before the clock starts. */
static int run_cycles(const cb_spawn_cfg_t *x, void *state, const cb_exec_cfg_t *cfg,
                      cb_measurement_t *m)
{
    int (*once)(const cb_spawn_cfg_t *) = x->exec ? NULL : x->mech->once;
    long n = 0;
    int rc = 0;
    cb_counters_start();
    uint64_t t0 = cb_now_ns(), t1, limit = (uint64_t)(x->min_s * 1e9);
    do {
        if (once)
            for (int k = 0; k < 16 && rc == 0; k++, n++)
                rc = once(x);
        else
            for (int k = 0; k < 16 && rc == 0; k++, n++)
                rc = run_one(state, x, cfg);
        t1 = cb_now_ns();
    } while (rc == 0 && t1 - t0 < limit);
    cb_counters_stop();
    m->values[0] = (double)(t1 - t0) / 1e3 / (double)n;
    m->values[1] = (double)n;
    return rc;
}

int cb_spawn_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const cb_spawn_cfg_t *x = c->ctx;
    int rc = 0;
    if (x->pinned && (rc = cb_pin_bind_process(x->topo, x->plan->slots[0].pu_os)) < 0) {
        snprintf(m->detail, sizeof(m->detail), "binding to PU %d: %s", x->plan->slots[0].pu_os,
                 strerror(-rc));
        return rc;
    }
    /* fork's cost follows the parent's mapped memory: prefault it so every
     * page table entry exists before the timed region. */
    size_t big = x->mech->prefault_mib << 20;
    char *mem = NULL;
    if (big) {
        mem = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
            return -errno;
        for (size_t i = 0; i < big; i += 4096)
            mem[i] = 1;
    }
    if (x->mech->once == once_posix_spawn && !x->tiny) {
        snprintf(m->detail, sizeof(m->detail),
                 "bench/tiny not in the runfiles, $BUILD_WORKSPACE_DIRECTORY or .");
        rc = -ENOENT;
        goto out;
    }
    int stream = x->mech->kind == CB_SPAWN_STREAM;
    cb_exec_cfg_t cfg = {
        .topo = x->topo,
        .plan = x->pinned ? x->plan : NULL,
        .workers = x->plan->nworkers,
        /* open() sizes the pools' task records for this many tasks. */
        .tasks = stream ? (size_t)x->stream : 1,
        .fn = empty_task,
    };
    void *state = NULL;
    if (x->exec && x->exec->open && (rc = x->exec->open(&cfg, &state)) < 0)
        goto out;
    rc = stream ? run_stream(x, state, &cfg, m) : run_cycles(x, state, &cfg, m);
    if (x->exec && x->exec->close)
        x->exec->close(state);
out:
    if (mem)
        munmap(mem, big);
    if (rc < 0 && !m->detail[0])
        snprintf(m->detail, sizeof(m->detail), "%s: %s", x->mech->name, strerror(-rc));
    return rc;
}

/* ---- 001's print order ---- */

static void *write_c(void *arg)
{
    int fd = *(int *)arg;
    ssize_t n = write(fd, "c", 1);
    return n == 1 ? NULL : (void *)1;
}

static int one_order(int process, int *child_first)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -errno;
    int rc = 0;
    pthread_t th;
    pid_t pid = -1;
    if (process) {
        pid = fork();
        if (pid == 0)
            _exit(write(fds[1], "c", 1) == 1 ? 0 : 1);
        if (pid < 0)
            rc = -errno;
    } else {
        rc = -pthread_create(&th, NULL, write_c, &fds[1]);
    }
    if (rc == 0) {
        ssize_t w = write(fds[1], "p", 1);
        void *ret = NULL;
        int jrc = process ? reap(pid) : -pthread_join(th, &ret);
        if (w != 1)
            rc = -EIO;
        else if (jrc < 0)
            rc = jrc;
        else if (ret)
            rc = -EIO;
    }
    char b[2];
    if (rc == 0) {
        ssize_t got = 0;
        while (got < 2) {
            ssize_t k = read(fds[0], b + got, (size_t)(2 - got));
            if (k <= 0) {
                rc = k < 0 ? -errno : -EIO;
                break;
            }
            got += k;
        }
    }
    close(fds[0]);
    close(fds[1]);
    if (rc == 0)
        *child_first = b[0] == 'c';
    return rc;
}

int cb_spawn_print_order(int process, long trials, long *child_first)
{
    *child_first = 0;
    for (long i = 0; i < trials; i++) {
        int first = 0, rc = one_order(process, &first);
        if (rc < 0)
            return rc;
        *child_first += first;
    }
    return 0;
}

int cb_spawn_order_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const cb_spawn_cfg_t *x = c->ctx;
    int rc = 0;
    if (x->pinned && (rc = cb_pin_bind_process(x->topo, x->plan->slots[0].pu_os)) < 0) {
        snprintf(m->detail, sizeof(m->detail), "binding to PU %d: %s", x->plan->slots[0].pu_os,
                 strerror(-rc));
        return rc;
    }
    int process = strcmp(x->exec->unit, "fork") == 0;
    long first = 0;
    if ((rc = cb_spawn_print_order(process, x->stream, &first)) < 0) {
        snprintf(m->detail, sizeof(m->detail), "print_order on %s: %s", x->exec->unit,
                 strerror(-rc));
        return rc;
    }
    m->values[0] = 100.0 * (double)first / (double)x->stream;
    m->values[1] = (double)x->stream;
    return 0;
}
