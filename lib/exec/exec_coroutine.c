/* coroutine: one stackful coroutine per task on the calling thread (pinned to
 * plan slot 0), driven by the epoll scheduler (sched.h), as asyncio runs
 * coroutines on one thread. Waits a task makes through task_env.h become
 * timer or epoll registrations, so thousands of sleeping tasks share one
 * thread. */

#include <errno.h>
#include <stdlib.h>

#include "lib/exec/coro.h"
#include "lib/exec/exec_internal.h"
#include "lib/exec/sched.h"

typedef struct coro_exec coro_exec_t;

typedef struct carg {
    coro_exec_t *x;
    size_t index;
} carg_t;

struct coro_exec {
    cb_sched_t *sched;
    size_t cap;   /* entries in args */
    carg_t *args; /* one per task */
    cb_exec_caller_pin_t pin;
    cb_gil_t *gil;
    const cb_exec_cfg_t *cfg;
    cb_task_result_t *results;
};

/* Makes room for n tasks. open sizes the arguments for its cfg->tasks; a
 * run with more tasks grows them (inside its timed region). */
static int reserve(coro_exec_t *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    carg_t *a = realloc(x->args, n * sizeof(*a));
    if (!a)
        return -ENOMEM;
    for (size_t i = x->cap; i < n; i++) {
        a[i].x = x;
        a[i].index = i;
    }
    x->args = a;
    x->cap = n;
    return 0;
}

static void coro_close(void *state)
{
    coro_exec_t *x = state;
    if (!x)
        return;
    cb_exec_unpin_caller(&x->pin);
    if (x->sched)
        cb_sched_free(x->sched);
    if (x->gil)
        cb_gil_free(x->gil);
    free(x->args);
    free(x);
}

static int coro_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    coro_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 0)) < 0)
        goto err;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    if ((rc = reserve(x, cfg->tasks)) < 0)
        goto err;
    cb_coro_impl_t impl = cb_coro_asm_unavailable() ? CB_CORO_UCONTEXT : CB_CORO_ASM;
    if (!(x->sched = cb_sched_new(impl, 0, &rc)))
        goto err;
    if (cfg->gil_interval_ns && !(x->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        goto err;
    if ((rc = cb_exec_pin_caller(cfg, &x->pin)) < 0)
        goto err;
    *state = x;
    return 0;
err:
    coro_close(x);
    return rc;
}

static void coro_main(void *arg)
{
    carg_t *a = arg;
    coro_exec_t *x = a->x;
    cb_task_result_t *r = &x->results[a->index];
    r->value = x->cfg->fn(x->cfg->arg, a->index);
    r->status = CB_OK;
}

/* Timed: creating every coroutine (stack mapping), running the event loop
 * until the last one finishes, and freeing them. The scheduler itself (epoll
 * and timer descriptors) is made in open. */
static int coro_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    coro_exec_t *x = state;
    int rc = reserve(x, cfg->tasks);
    if (rc < 0)
        return rc;
    x->cfg = cfg;
    x->results = results;
    for (size_t i = 0; i < cfg->tasks; i++) {
        /* A task that never runs (spawn failed) stays an error. */
        results[i].value = 0;
        results[i].status = CB_ERROR;
        results[i].signo = 0;
    }
    size_t spawned = 0;
    for (; spawned < cfg->tasks; spawned++)
        if ((rc = cb_sched_spawn(x->sched, coro_main, &x->args[spawned])) < 0)
            break;
    /* One thread holds the lock for the whole loop, as an asyncio thread
     * holds the GIL; nothing else in this process competes for it. */
    if (x->gil)
        cb_gil_task_begin(x->gil);
    int rrc = cb_sched_run(x->sched);
    if (x->gil)
        cb_gil_task_end(x->gil);
    return rc < 0 ? rc : rrc;
}

const cb_executor_t cb_exec_coroutine = {
    .name = "coroutine",
    .task_bytes = 16u << 10, /* touched stack pages, guard, page tables */
    .unit = "coroutine",
    .summary = "stackful coroutines on one thread; IO waits go to an epoll loop",
    .open = coro_open,
    .run = coro_run,
    .close = coro_close,
};
