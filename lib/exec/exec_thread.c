/* thread: one pthread per task, all created, then all joined (Python's
 * `threading.Thread` per task). Task i's thread starts pinned to plan slot
 * i % nworkers: the affinity is set on the attribute, so it never runs
 * anywhere else. A thread created by a thread bound to that same PU
 * inherits the binding, and gets a plain attribute instead: glibc applies
 * an attribute's CPU set with a sched_setaffinity and a handshake before the
 * new thread may run, about 7% of a pthread_create+join here. */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "lib/exec/exec_internal.h"

typedef struct thread_exec thread_exec_t;

typedef struct targ {
    thread_exec_t *x;
    size_t index;
} targ_t;

struct thread_exec {
    size_t cap; /* tasks the arrays below hold */
    const cb_exec_cfg_t *cfg;
    cb_task_result_t *results;
    cb_gil_t *gil;
    int nattrs;            /* 1 unpinned, else plan->nworkers */
    int attrs_ready;       /* attributes initialised so far */
    pthread_attr_t *attrs; /* one per plan slot */
    pthread_attr_t plain;  /* no CPU set: for slots on the creator's own PU */
    int plain_ready;
    pthread_t *threads; /* one per task */
    targ_t *args;       /* one per task */
};

/* Makes room for n tasks. open sizes the arrays for its cfg->tasks; a run
 * with more tasks grows them (inside its timed region). */
static int reserve(thread_exec_t *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    pthread_t *threads = realloc(x->threads, n * sizeof(*threads));
    if (!threads)
        return -ENOMEM;
    x->threads = threads;
    targ_t *args = realloc(x->args, n * sizeof(*args));
    if (!args)
        return -ENOMEM;
    x->args = args;
    for (size_t i = x->cap; i < n; i++) {
        args[i].x = x;
        args[i].index = i;
    }
    x->cap = n;
    return 0;
}

static void thread_close(void *state)
{
    thread_exec_t *x = state;
    if (!x)
        return;
    for (int i = 0; i < x->attrs_ready; i++)
        if (pthread_attr_destroy(&x->attrs[i]) != 0)
            abort();
    if (x->plain_ready && pthread_attr_destroy(&x->plain) != 0)
        abort();
    if (x->gil)
        cb_gil_free(x->gil);
    free(x->attrs);
    free(x->threads);
    free(x->args);
    free(x);
}

static int thread_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    thread_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 0)) < 0)
        goto err;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    x->nattrs = cfg->plan ? cfg->plan->nworkers : 1;
    x->attrs = calloc((size_t)x->nattrs, sizeof(*x->attrs));
    if (!x->attrs) {
        rc = -ENOMEM;
        goto err;
    }
    if ((rc = reserve(x, cfg->tasks)) < 0)
        goto err;
    /* The attributes (with their CPU sets) are built here, untimed; run only
     * creates and joins. */
    for (int i = 0; i < x->nattrs; i++) {
        if ((rc = -pthread_attr_init(&x->attrs[i])) < 0)
            goto err;
        x->attrs_ready = i + 1;
        if (cfg->plan && (rc = cb_pin_attr(cfg->topo, &x->attrs[i], cb_exec_pu(cfg, i))) < 0)
            goto err;
    }
    if ((rc = -pthread_attr_init(&x->plain)) < 0)
        goto err;
    x->plain_ready = 1;
    if (cfg->gil_interval_ns && !(x->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        goto err;
    *state = x;
    return 0;
err:
    thread_close(x);
    return rc;
}

static void *thread_main(void *arg)
{
    targ_t *a = arg;
    thread_exec_t *x = a->x;
    cb_task_result_t *r = &x->results[a->index];
    r->value = cb_exec_call(x->cfg, x->gil, a->index);
    r->status = CB_OK;
    r->signo = 0;
    return NULL;
}

/* Timed: creating every thread (stack mapping, clone), the tasks, and joining
 * them all. Attribute set-up is in open. */
static int thread_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    thread_exec_t *x = state;
    int rc = 0;
    size_t created = 0;
    if ((rc = reserve(x, cfg->tasks)) < 0)
        return rc;
    x->cfg = cfg;
    x->results = results;
    /* A task that ends its thread (pthread_exit) never writes its result:
     * it stays an error. */
    for (size_t i = 0; i < cfg->tasks; i++) {
        results[i].value = 0;
        results[i].status = CB_ERROR;
        results[i].signo = 0;
    }
    int here = cfg->plan ? cb_pin_current_pu() : -1;
    for (; created < cfg->tasks; created++) {
        pthread_attr_t *attr = &x->attrs[created % (size_t)x->nattrs];
        int pu = cb_exec_pu(cfg, created);
        if (pu >= 0 && pu == here)
            attr = &x->plain;
        rc = -pthread_create(&x->threads[created], attr, thread_main, &x->args[created]);
        if (rc < 0)
            break;
    }
    for (size_t i = 0; i < created; i++)
        if (pthread_join(x->threads[i], NULL) != 0)
            abort();
    /* Out of threads (EAGAIN: RLIMIT_NPROC, pids cgroup): the tasks that
     * never started stay errors, and so is the run. */
    return rc;
}

const cb_executor_t cb_exec_thread = {
    .name = "thread",
    .task_bytes = 32u << 10, /* its stack pages and kernel task */
    .unit = "pthread",
    .parallel = 1,
    .summary = "one pthread per task, all created, then joined",
    .open = thread_open,
    .run = thread_run,
    .close = thread_close,
};
