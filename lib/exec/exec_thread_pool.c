/* thread_pool: W threads started and pinned in open (Python's
 * ThreadPoolExecutor); run submits every task as one batch and waits for all
 * of them. See thread_pool.h for the queue. */

#include <errno.h>
#include <stdlib.h>

#include "lib/exec/exec_internal.h"
#include "lib/exec/thread_pool.h"

/* The queue holds every task of a run between these bounds; past it,
 * submitting waits for room as any bounded pool would. */
#define MIN_QUEUE 4096
#define MAX_QUEUE 65536

typedef struct tp_exec {
    cb_thread_pool_t *pool;
    size_t cap;          /* records in tasks */
    cb_tp_task_t *tasks; /* one per task */
    cb_gil_t *gil;
    const cb_exec_cfg_t *cfg;
} tp_exec_t;

/* Under the lock emulation a task and its callback run holding the lock, as
 * a Python done-callback runs in the worker thread with the GIL held. */
static uint64_t gil_task(void *arg, size_t i)
{
    tp_exec_t *x = arg;
    const cb_exec_cfg_t *cfg = x->cfg;
    cb_gil_task_begin(x->gil);
    uint64_t v = cfg->fn(cfg->arg, i);
    if (cfg->callback)
        cfg->callback(cfg->callback_arg, i, v);
    cb_gil_task_end(x->gil);
    return v;
}

/* Makes room for n task records. open sizes them for its cfg->tasks; a run
 * with more tasks grows them (inside its timed region). */
static int reserve(tp_exec_t *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    cb_tp_task_t *t = realloc(x->tasks, n * sizeof(*t));
    if (!t)
        return -ENOMEM;
    x->tasks = t;
    x->cap = n;
    return 0;
}

static void tp_close(void *state)
{
    tp_exec_t *x = state;
    if (!x)
        return;
    cb_thread_pool_free(x->pool);
    if (x->gil)
        cb_gil_free(x->gil);
    free(x->tasks);
    free(x);
}

static int tp_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    tp_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 1)) < 0)
        goto err;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    if ((rc = reserve(x, cfg->tasks)) < 0)
        goto err;
    if (cfg->gil_interval_ns && !(x->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        goto err;
    cb_thread_pool_opts_t o = {
        .workers = cfg->workers,
        .topo = cfg->topo,
        .plan = cfg->plan,
        .queue_capacity = cfg->tasks < MIN_QUEUE   ? MIN_QUEUE
                          : cfg->tasks > MAX_QUEUE ? MAX_QUEUE
                                                   : cfg->tasks,
        .callback = x->gil ? NULL : cfg->callback,
        .callback_arg = cfg->callback_arg,
    };
    if (!(x->pool = cb_thread_pool_new(&o, &rc)))
        goto err;
    *state = x;
    return 0;
err:
    tp_close(x);
    return rc;
}

/* Timed: queueing every task (one wake-up per batch), running them, and
 * waiting for the last. Thread start-up is in open. */
static int tp_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    tp_exec_t *x = state;
    int rc = reserve(x, cfg->tasks);
    if (rc < 0)
        return rc;
    x->cfg = cfg;
    for (size_t i = 0; i < cfg->tasks; i++) {
        x->tasks[i].fn = x->gil ? gil_task : cfg->fn;
        x->tasks[i].arg = x->gil ? (void *)x : cfg->arg;
        x->tasks[i].index = i;
    }
    rc = cb_thread_pool_submit_many(x->pool, x->tasks, cfg->tasks);
    cb_thread_pool_wait_all(x->pool);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < cfg->tasks; i++) {
        results[i].value = x->tasks[i].value;
        results[i].status = x->tasks[i].status;
        results[i].signo = 0;
    }
    return 0;
}

const cb_executor_t cb_exec_thread_pool = {
    .name = "thread_pool",
    .task_bytes = 64, /* a queue slot */
    .unit = "pthread",
    .pool = 1,
    .parallel = 1,
    .callbacks = 1,
    .summary = "W pre-started pinned threads sharing a lock-free task queue",
    .open = tp_open,
    .run = tp_run,
    .close = tp_close,
};
