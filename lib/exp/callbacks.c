#include "lib/exp/callbacks.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/core/task_env.h"

typedef struct cbx_rec {
    uint64_t task_end, cb_start, cb_end;
    pid_t task_pid, task_tid, cb_pid, cb_tid;
    int bad; /* a wait failed, or the callback got a wrong value */
} cbx_rec_t;

typedef struct cbx {
    cb_callbacks_cfg_t cfg;
    atomic_int in_callback, peak;
    cbx_rec_t rec[]; /* cfg.tasks entries */
} cbx_t;

size_t cb_callbacks_pool_names(const cb_name_t **out)
{
    static cb_name_t names[16];
    static size_t n;
    static int filled;
    for (size_t i = 0; !filled && i < cb_executor_count && n < 16; i++)
        if (cb_executors[i]->callbacks)
            names[n++] = (cb_name_t){cb_executors[i]->name, cb_executors[i]->summary,
                                     cb_executors[i]->unavailable, 0};
    filled = 1;
    *out = names;
    return n;
}

static uint64_t callbacks_value(size_t index)
{
    return (uint64_t)index * 2 + 1;
}

static uint64_t callbacks_task(void *arg, size_t index)
{
    cbx_t *x = arg;
    if (cb_task_sleep_ns(x->cfg.task_ns) < 0)
        x->rec[index].bad = 1;
    x->rec[index].task_pid = getpid();
    x->rec[index].task_tid = gettid();
    x->rec[index].task_end = cb_now_ns();
    return callbacks_value(index);
}

static void callbacks_callback(void *arg, size_t index, uint64_t value)
{
    cbx_t *x = arg;
    cbx_rec_t *r = &x->rec[index];
    r->cb_start = cb_now_ns();
    int now = atomic_fetch_add(&x->in_callback, 1) + 1;
    int peak = atomic_load(&x->peak);
    while (now > peak && !atomic_compare_exchange_weak(&x->peak, &peak, now))
        ;
    if (value != callbacks_value(index) ||
        cb_task_sleep_ns((long)index == x->cfg.blocked ? x->cfg.blocked_ns : x->cfg.callback_ns) <
            0)
        r->bad = 1;
    r->cb_pid = getpid();
    r->cb_tid = gettid();
    atomic_fetch_sub(&x->in_callback, 1);
    r->cb_end = cb_now_ns();
}

int cb_callbacks_run(const cb_callbacks_cfg_t *cfg, cb_callbacks_result_t *res)
{
    if (cfg->tasks < 1 || cfg->workers < 1 || !cfg->executor)
        return -EINVAL;
    size_t size = sizeof(cbx_t) + cfg->tasks * sizeof(cbx_rec_t);
    /* Shared memory: process-pool workers write their tasks' records. It
     * exists before open, which is where that pool forks. */
    cbx_t *x = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (x == MAP_FAILED)
        x = NULL;
    cb_task_result_t *results = calloc(cfg->tasks, sizeof(*results));
    void *state = NULL;
    int rc = -ENOMEM;
    if (!x || !results)
        goto err;
    x->cfg = *cfg;
    cb_exec_cfg_t ec = {
        .topo = cfg->topo,
        .plan = cfg->plan,
        .workers = cfg->workers,
        .tasks = cfg->tasks,
        .fn = callbacks_task,
        .arg = x,
        .callback = callbacks_callback,
        .callback_arg = x,
    };
    if (cfg->executor->open && (rc = cfg->executor->open(&ec, &state)) < 0)
        goto err;
    /* Timed: the pool's run, from handing over the tasks until every task
     * and every callback is done; starting and stopping the pool are left
     * out (open / close). */
    cb_counters_start();
    uint64_t t0 = cb_now_ns();
    rc = cfg->executor->run(state, &ec, results);
    uint64_t t1 = cb_now_ns();
    cb_counters_stop();
    if (cfg->executor->close)
        cfg->executor->close(state);
    if (rc < 0)
        goto err;
    uint64_t first_end = UINT64_MAX, last_cb = 0, wait = 0;
    pid_t me = getpid(), me_tid = gettid();
    *res = (cb_callbacks_result_t){.wall_s = (double)(t1 - t0) / 1e9};
    for (size_t i = 0; i < cfg->tasks; i++) {
        const cbx_rec_t *r = &x->rec[i];
        if (results[i].status != CB_OK || results[i].value != callbacks_value(i) ||
            r->cb_end == 0 || r->bad) {
            rc = -EIO;
            goto err;
        }
        if (r->task_end < first_end)
            first_end = r->task_end;
        if (r->cb_end > last_cb)
            last_cb = r->cb_end;
        if ((long)i != cfg->blocked && r->cb_start > r->task_end &&
            r->cb_start - r->task_end > wait)
            wait = r->cb_start - r->task_end;
        res->in_task_thread += r->cb_pid == r->task_pid && r->cb_tid == r->task_tid;
        res->in_caller += r->cb_pid == me && r->cb_tid == me_tid;
    }
    res->callbacks_s = (double)(last_cb - first_end) / 1e9;
    res->result_wait_s = (double)wait / 1e9;
    res->callback_peak = atomic_load(&x->peak);
err:
    free(results);
    if (x)
        munmap(x, size);
    return rc;
}
