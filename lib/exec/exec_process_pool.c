/* process_pool: W processes forked and pinned in open (Python's
 * ProcessPoolExecutor); run queues every task in shared memory and collects
 * the results, running completion callbacks in this process. See
 * process_pool.h for the queue and for what happens when a worker dies. */

#include <errno.h>
#include <stdlib.h>

#include "lib/exec/exec_internal.h"
#include "lib/exec/process_pool.h"

/* Tasks in flight at once (the shared slots: open sizes them for its
 * cfg->tasks, within these bounds); a bigger run goes through in windows. */
#define MIN_WINDOW 4096
#define MAX_WINDOW 65536

typedef struct pp_exec {
    cb_process_pool_t *pool;
    size_t window;
} pp_exec_t;

static void pp_close(void *state)
{
    pp_exec_t *x = state;
    if (!x)
        return;
    cb_process_pool_free(x->pool);
    free(x);
}

static int pp_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    pp_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 1)) < 0)
        goto err;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    x->window = cfg->tasks < MIN_WINDOW   ? MIN_WINDOW
                : cfg->tasks > MAX_WINDOW ? MAX_WINDOW
                                          : cfg->tasks;
    cb_process_pool_opts_t o = {
        .workers = cfg->workers,
        .topo = cfg->topo,
        .plan = cfg->plan,
        .fn = cfg->fn,
        .arg = cfg->arg,
        .capacity = x->window,
        .gil_interval_ns = cfg->gil_interval_ns,
        .callback = cfg->callback,
        .callback_arg = cfg->callback_arg,
    };
    if (!(x->pool = cb_process_pool_new(&o, &rc)))
        goto err;
    *state = x;
    return 0;
err:
    pp_close(x);
    return rc;
}

/* Timed: publishing the tasks, the workers running them, and collecting
 * every result (callbacks included). Forking and pinning are in open. */
static int pp_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    pp_exec_t *x = state;
    for (size_t first = 0; first < cfg->tasks; first += x->window) {
        size_t n = cfg->tasks - first < x->window ? cfg->tasks - first : x->window;
        int rc = cb_process_pool_submit_range(x->pool, first, n);
        if (rc < 0)
            return rc;
        cb_process_pool_wait_all(x->pool, results, cfg->tasks);
    }
    return 0;
}

const cb_executor_t cb_exec_process_pool = {
    .name = "process_pool",
    .task_bytes = 64, /* a queue slot */
    .unit = "fork",
    .pool = 1,
    .parallel = 1,
    .callbacks = 1,
    .summary = "W pre-forked pinned processes sharing a task queue in shared memory",
    .open = pp_open,
    .run = pp_run,
    .close = pp_close,
};
