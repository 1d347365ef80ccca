/* process: one fork per task, all forked, then all reaped (Python's
 * `multiprocessing.Process` per task). The child pins itself to plan slot
 * i % nworkers, runs the task, writes the result into a MAP_SHARED array and
 * marks it reported, then _exits. The parent tells apart: exit 0 after the
 * report (ok), an exit without it (error: the task called _exit), and death
 * by a signal (crashed). */

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/exec/exec_internal.h"
#include "lib/core/sandbox.h"

/* One per task, in MAP_SHARED memory. The parent's pid field lives here too:
 * after a fork every private page the parent writes costs it a copy-on-write
 * fault, and one per spawn is a measurable share of a fork. */
typedef struct report {
    uint64_t value;
    _Atomic uint32_t reported;
    pid_t pid; /* written by the parent only */
} report_t;

typedef struct process_exec {
    size_t cap;    /* tasks the array below holds */
    report_t *shm; /* one per task, MAP_SHARED */
} process_exec_t;

/* Makes room for n tasks. open sizes the arrays for its cfg->tasks; a run
 * with more tasks grows them (inside its timed region). The shared array is
 * prefaulted: a child's first write must not be a page fault the parent
 * could have taken once, untimed. */
static int reserve(process_exec_t *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    report_t *shm =
        mmap(NULL, n * sizeof(report_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        return -ENOMEM;
    memset(shm, 0, n * sizeof(report_t));
    if (x->shm && munmap(x->shm, x->cap * sizeof(report_t)) != 0)
        abort();
    x->shm = shm;
    x->cap = n;
    return 0;
}

static void process_close(void *state)
{
    process_exec_t *x = state;
    if (!x)
        return;
    if (x->shm && munmap(x->shm, x->cap * sizeof(report_t)) != 0)
        abort();
    free(x);
}

static int process_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    process_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 0)) < 0)
        goto err;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    if ((rc = reserve(x, cfg->tasks ? cfg->tasks : 1)) < 0)
        goto err;
    *state = x;
    return 0;
err:
    process_close(x);
    return rc;
}

/* The child's path is kept short on purpose: every text page it runs is a
 * page fault in a fresh child (see cb_child_init_quick), so no libc wrapper
 * runs here unless the task or a needed binding calls it. `here` is the one
 * PU the forking thread was bound to (-1: none): children planned there
 * inherit the binding and skip the system call. */
static _Noreturn void child(const cb_exec_cfg_t *cfg, report_t *rep, size_t i, pid_t parent,
                            int here)
{
    cb_child_init_quick(parent);
    int rc = 0;
    int pu = cb_exec_pu(cfg, i);
    if (pu >= 0 && pu != here && cb_pin_bind_child(cfg->topo, pu) < 0)
        _exit(3);
    cb_gil_t *gil = NULL;
    if (cfg->gil_interval_ns && !(gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        _exit(4);
    rep->value = cb_exec_call(cfg, gil, i);
    atomic_store_explicit(&rep->reported, 1, memory_order_release);
    /* No cb_gil_free: the process ends here and takes the lock with it. */
    _exit(0);
}

static void classify(int st, const report_t *rep, cb_task_result_t *r)
{
    r->value = 0;
    r->signo = 0;
    if (WIFSIGNALED(st)) {
        r->status = CB_CRASHED;
        r->signo = WTERMSIG(st);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
               atomic_load_explicit(&rep->reported, memory_order_acquire)) {
        r->status = CB_OK;
        r->value = rep->value;
    } else {
        r->status = CB_ERROR;
    }
}

/* Timed: every fork (copying the page tables), the tasks, and every waitpid.
 * The shared result array is mapped and prefaulted in open. */
static int process_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    process_exec_t *x = state;
    int rc = 0;
    size_t forked = 0;
    pid_t parent = getpid();
    int here = cfg->plan ? cb_pin_current_pu() : -1;
    if ((rc = reserve(x, cfg->tasks)) < 0)
        return rc;
    for (size_t i = 0; i < cfg->tasks; i++)
        atomic_store_explicit(&x->shm[i].reported, 0, memory_order_relaxed);
    for (; forked < cfg->tasks; forked++) {
        pid_t pid = fork();
        if (pid < 0) {
            rc = -errno;
            break;
        }
        if (pid == 0)
            child(cfg, &x->shm[forked], forked, parent, here);
        cb_children_track(pid);
        x->shm[forked].pid = pid;
    }
    for (size_t i = 0; i < forked; i++) {
        int st;
        pid_t r;
        while ((r = waitpid(x->shm[i].pid, &st, 0)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            /* Someone else reaped it (SIGCHLD ignored?): its fate is unknown. */
            results[i].status = CB_ERROR;
            results[i].value = 0;
            results[i].signo = 0;
            if (rc == 0)
                rc = -errno;
        } else {
            classify(st, &x->shm[i], &results[i]);
        }
        cb_children_untrack(x->shm[i].pid);
    }
    /* Out of processes (EAGAIN): the tasks never started are errors, and so
     * is the run. */
    for (size_t i = forked; i < cfg->tasks; i++) {
        results[i].value = 0;
        results[i].status = CB_ERROR;
        results[i].signo = 0;
    }
    return rc;
}

const cb_executor_t cb_exec_process = {
    .name = "process",
    .task_bytes = 256u << 10, /* page tables, kernel structures, touched pages */
    .unit = "fork",
    .parallel = 1,
    .summary = "one fork per task, all forked, then reaped",
    .open = process_open,
    .run = process_run,
    .close = process_close,
};
