/* uv_pool: libuv's thread pool (libuv1-dev) through uv_queue_work, as
 * libuv programs hand blocking work to it. The pool is libuv's, one per
 * process, sized by UV_THREADPOOL_SIZE when it first starts: open sets that
 * to W before the first work item of the process, and refuses (-EBUSY) a
 * later open with another W (per_process). A run queues one uv_work_t per
 * task on a loop of its own (the calling thread's) and runs the loop until
 * every after_work_cb has run. Each pool thread binds itself to the next
 * plan slot, round robin, in a first work item open gives each of them
 * (they meet at a barrier, so every thread takes one); the first open of
 * the process starts libuv's threads there, untimed.
 *
 * Callbacks: libuv's own, after_work_cb, on the loop thread (the caller),
 * one at a time in completion order, as process_pool runs its callbacks in
 * the parent.
 *
 * libuv's threads stay until the process exits (libuv has no call that
 * stops them); after a fork, libuv starts a new pool in the child at its
 * first work item, and so does this executor's bookkeeping. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "lib/exec/exec_internal.h"
#include "lib/exec/peer_internal.h"

/* libuv's upper bound (MAX_THREADPOOL_SIZE in src/threadpool.c); it clamps
 * a larger UV_THREADPOOL_SIZE silently. */
#define UV_POOL_MAX 1024

typedef struct uvp_exec uvp_exec_t;

typedef struct uvp_task {
    uv_work_t work; /* first: the work callbacks get its address */
    uvp_exec_t *x;
    size_t index;
    uint64_t value;
} uvp_task_t;

struct uvp_exec {
    uv_loop_t loop;
    int loop_ready;
    cb_peer_pin_t pin;
    cb_peer_barrier_t warm;
    cb_gil_t *gil;
    const cb_exec_cfg_t *cfg;  /* the run's */
    cb_task_result_t *results; /* likewise */
    uvp_task_t *tasks;
    size_t cap;
};

/* The size libuv's pool has in this process (0: not started). Only open
 * touches it (open, run and close are one caller's), and a forked child
 * starts from 0, as libuv itself does. */
static int pool_size;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void forget_pool_in_child(void)
{
    pool_size = 0;
}

static void register_fork_handler(void)
{
    if (pthread_atfork(NULL, NULL, forget_pool_in_child) != 0)
        abort();
}

/* On a pool thread. */
static void uvp_work(uv_work_t *req)
{
    uvp_task_t *t = (uvp_task_t *)req;
    uvp_exec_t *x = t->x;
    cb_peer_pin_claim(&x->pin);
    cb_peer_task_begin("uv_pool", t->index);
    t->value = cb_exec_call(x->cfg, x->gil, t->index);
    cb_peer_task_end();
}

/* open's first work item for each pool thread. */
static void uvp_warm(uv_work_t *req)
{
    uvp_exec_t *x = ((uvp_task_t *)req)->x;
    cb_peer_pin_claim(&x->pin);
    (void)cb_peer_barrier_wait(&x->warm, 2000000000ull);
}

static void uvp_warm_after(uv_work_t *req, int status)
{
    (void)req;
    (void)status;
}

/* On the loop thread, after uvp_work (libuv's queue orders the two). */
static void uvp_after(uv_work_t *req, int status)
{
    uvp_task_t *t = (uvp_task_t *)req;
    uvp_exec_t *x = t->x;
    const cb_exec_cfg_t *cfg = x->cfg;
    if (status < 0) { /* UV_ECANCELED: nothing here cancels */
        x->results[t->index] = (cb_task_result_t){0, CB_ERROR, 0};
        return;
    }
    if (cfg->callback) {
        if (x->gil)
            cb_gil_task_begin(x->gil);
        cfg->callback(cfg->callback_arg, t->index, t->value);
        if (x->gil)
            cb_gil_task_end(x->gil);
    }
    x->results[t->index] = (cb_task_result_t){t->value, CB_OK, 0};
}

/* Makes room for n work items. open sizes them for its cfg->tasks; a run
 * with more tasks grows them (inside its timed region). */
static int reserve(uvp_exec_t *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    uvp_task_t *t = realloc(x->tasks, n * sizeof(*t));
    if (!t)
        return -ENOMEM;
    x->tasks = t;
    x->cap = n;
    return 0;
}

static void uvp_close(void *state)
{
    uvp_exec_t *x = state;
    if (!x)
        return;
    /* Every request has completed when run returns: nothing keeps the loop
     * busy, so this closes it. */
    if (x->loop_ready && uv_loop_close(&x->loop) != 0)
        abort();
    if (x->gil)
        cb_gil_free(x->gil);
    cb_peer_pin_free(&x->pin);
    free(x->tasks);
    free(x);
}

static int uvp_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    uvp_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 1)) < 0)
        goto err;
    if (cfg->workers > UV_POOL_MAX) {
        rc = -EINVAL;
        goto err;
    }
    if ((rc = -pthread_once(&fork_once, register_fork_handler)) < 0)
        goto err;
    if (pool_size && pool_size != cfg->workers) {
        rc = -EBUSY;
        goto err;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    if ((rc = reserve(x, cfg->tasks > (size_t)cfg->workers ? cfg->tasks : (size_t)cfg->workers)) <
        0)
        goto err;
    if (cfg->gil_interval_ns && !(x->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        goto err;
    if ((rc = uv_loop_init(&x->loop)) < 0)
        goto err;
    x->loop_ready = 1;
    if ((rc = cb_peer_pin_init(&x->pin, cfg)) < 0)
        goto err;
    if (!pool_size) {
        /* Read by libuv once, when its first work item starts the pool. */
        char v[16];
        snprintf(v, sizeof(v), "%d", cfg->workers);
        if (setenv("UV_THREADPOOL_SIZE", v, 1) != 0) {
            rc = -errno;
            goto err;
        }
        pool_size = cfg->workers;
    }
    /* Each pool thread's first work item: it takes a slot and binds. */
    cb_peer_barrier_init(&x->warm, (unsigned)cfg->workers);
    for (int i = 0; i < cfg->workers; i++) {
        x->tasks[i].x = x;
        if ((rc = uv_queue_work(&x->loop, &x->tasks[i].work, uvp_warm, uvp_warm_after)) < 0)
            break;
    }
    if (uv_run(&x->loop, UV_RUN_DEFAULT) != 0 && rc == 0)
        rc = -EIO;
    if (rc == 0)
        rc = cb_peer_pin_error(&x->pin);
    if (rc < 0)
        goto err;
    *state = x;
    return 0;
err:
    uvp_close(x);
    return rc;
}

/* Timed: queueing every work item (libuv's pool lock and a signal each),
 * the pool threads running them, and the loop running every after_work_cb
 * as the threads report them (an eventfd wake-up per batch). The pool's
 * threads were started (by the process's first open) and pinned in open. */
static int uvp_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    uvp_exec_t *x = state;
    int rc = reserve(x, cfg->tasks);
    if (rc < 0)
        return rc;
    x->cfg = cfg;
    x->results = results;
    size_t queued = 0;
    for (; queued < cfg->tasks; queued++) {
        uvp_task_t *t = &x->tasks[queued];
        t->x = x;
        t->index = queued;
        if ((rc = uv_queue_work(&x->loop, &t->work, uvp_work, uvp_after)) < 0)
            break;
    }
    for (size_t i = queued; i < cfg->tasks; i++)
        results[i] = (cb_task_result_t){0, CB_ERROR, 0};
    /* Returns once no request is left (non-zero only after uv_stop). */
    if (uv_run(&x->loop, UV_RUN_DEFAULT) != 0 && rc == 0)
        rc = -EIO;
    if (rc < 0)
        return rc;
    return cb_peer_pin_error(&x->pin);
}

const cb_executor_t cb_exec_uv_pool = {
    .name = "uv_pool",
    .summary = "libuv's thread pool (uv_queue_work; UV_THREADPOOL_SIZE=W, one per process); "
               "callbacks: after_work_cb on the loop (calling) thread",
    .parallel = 1,
    .callbacks = 1,
    .unit = "pthread",
    .pool = 1,
    .task_bytes = sizeof(uvp_task_t),
    .per_process = 1,
    .open = uvp_open,
    .run = uvp_run,
    .close = uvp_close,
};
