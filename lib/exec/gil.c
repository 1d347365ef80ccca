/* The interpreter-lock emulation (gil.h), after CPython's "new GIL" (3.2+,
 * Antoine Pitrou): Python/ceval_gil.h (Python/ceval_gil.c since 3.12). Names
 * follow CPython's: take_gil, drop_gil, locked, last_holder, switch_number,
 * drop_request, and FORCE_SWITCHING's switch_mutex / switch_cond.
 *
 * - The lock is a flag guarded by `mutex`; `cond` is signalled on release.
 * - A thread that wants it waits on `cond` for `interval_ns` at a time; when
 *   a wait times out and no thread took the lock meanwhile (switch_number
 *   unchanged), it sets drop_request.
 * - The holder checks drop_request at each tick (CPython: the eval loop's
 *   eval_breaker) and, when set, releases the lock and waits on switch_cond
 *   until another thread has taken it (last_holder changed) before taking it
 *   again, so it cannot win the lock straight back on a multi-core machine.
 * - Every release honours a pending drop request that way, as drop_gil does,
 *   including the release around an IO wait (Py_BEGIN_ALLOW_THREADS).
 *
 * Instrumentation: `holders` counts threads between acquiring and releasing
 * (incremented after the acquisition, decremented before the release), and
 * max_holders keeps its peak, which must stay 1. */

#include "lib/exec/gil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "lib/core/task_env.h"

struct cb_gil {
    uint64_t interval_ns;
    pthread_mutex_t mutex; /* guards locked, switch_number, last_holder */
    pthread_cond_t cond;   /* signalled when the lock is released */
    int locked;
    unsigned long switch_number; /* how often the holder changed */
    const void *last_holder;     /* written under mutex and switch_mutex */
    atomic_int drop_request;
    pthread_mutex_t switch_mutex;
    pthread_cond_t switch_cond; /* signalled when a thread takes the lock */
    atomic_int holders;
    atomic_int max_holders;
    atomic_uint_fast64_t switches; /* releases at a tick on drop_request */
};

/* One per thread: the thread's identity for last_holder, and its task
 * environment while it runs a task under the lock. */
typedef struct gil_thread {
    cb_task_env_t env;
    cb_gil_t *g;
    int active; /* between cb_gil_task_begin and cb_gil_task_end */
    int held;
} gil_thread_t;

static __thread gil_thread_t self;

/* A thread that leaves through pthread_exit while holding the lock (the
 * fault_exit workload) must not leave the other threads waiting forever: the
 * key's destructor releases the lock for it. */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_err;

static void mutex_lock(pthread_mutex_t *m)
{
    if (pthread_mutex_lock(m) != 0)
        abort();
}

static void mutex_unlock(pthread_mutex_t *m)
{
    if (pthread_mutex_unlock(m) != 0)
        abort();
}

static void cond_signal(pthread_cond_t *c)
{
    if (pthread_cond_signal(c) != 0)
        abort();
}

static void take_gil(cb_gil_t *g, gil_thread_t *t)
{
    mutex_lock(&g->mutex);
    while (g->locked) {
        unsigned long saved_switchnum = g->switch_number;
        struct timespec deadline;
        if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0)
            abort();
        uint64_t ns = (uint64_t)deadline.tv_nsec + g->interval_ns;
        deadline.tv_sec += (time_t)(ns / 1000000000u);
        deadline.tv_nsec = (long)(ns % 1000000000u);
        int rc = pthread_cond_timedwait(&g->cond, &g->mutex, &deadline);
        if (rc != 0 && rc != ETIMEDOUT)
            abort();
        /* Timed out and nobody took the lock meanwhile: ask the holder to
         * drop it. */
        if (rc == ETIMEDOUT && g->locked && g->switch_number == saved_switchnum)
            atomic_store_explicit(&g->drop_request, 1, memory_order_relaxed);
    }
    /* switch_mutex must be held to change last_holder (see drop_gil). */
    mutex_lock(&g->switch_mutex);
    g->locked = 1;
    if (g->last_holder != t) {
        g->last_holder = t;
        g->switch_number++;
    }
    cond_signal(&g->switch_cond);
    mutex_unlock(&g->switch_mutex);
    atomic_store_explicit(&g->drop_request, 0, memory_order_relaxed);
    mutex_unlock(&g->mutex);

    t->held = 1;
    int n = atomic_fetch_add(&g->holders, 1) + 1;
    int max = atomic_load(&g->max_holders);
    while (n > max && !atomic_compare_exchange_weak(&g->max_holders, &max, n))
        ;
}

static void drop_gil(cb_gil_t *g, gil_thread_t *t)
{
    atomic_fetch_sub(&g->holders, 1);
    t->held = 0;
    mutex_lock(&g->mutex);
    if (!g->locked)
        abort();
    g->locked = 0;
    cond_signal(&g->cond);
    mutex_unlock(&g->mutex);

    /* FORCE_SWITCHING: a waiter asked for the lock, so one exists, and it
     * gets the lock before this thread may try again. */
    if (atomic_load_explicit(&g->drop_request, memory_order_relaxed)) {
        mutex_lock(&g->switch_mutex);
        if (g->last_holder == t) {
            atomic_store_explicit(&g->drop_request, 0, memory_order_relaxed);
            while (g->last_holder == t)
                if (pthread_cond_wait(&g->switch_cond, &g->switch_mutex) != 0)
                    abort();
        }
        mutex_unlock(&g->switch_mutex);
    }
}

/* The task environment. A hook called while the lock is not held (a lower
 * environment that runs other work during a wait, e.g. a coroutine
 * scheduler) leaves the lock alone. */

static void gil_tick(void *ctx)
{
    gil_thread_t *t = ctx;
    if (t->held && atomic_load_explicit(&t->g->drop_request, memory_order_relaxed)) {
        atomic_fetch_add(&t->g->switches, 1);
        drop_gil(t->g, t);
        /* Other threads run now. */
        take_gil(t->g, t);
    }
    const cb_task_env_t *prev = t->env.prev;
    if (prev && prev->tick)
        prev->tick(prev->ctx);
}

static int gil_sleep_ns(void *ctx, uint64_t ns)
{
    gil_thread_t *t = ctx;
    const cb_task_env_t *prev = t->env.prev;
    int held = t->held;
    if (held)
        drop_gil(t->g, t);
    int rc = prev && prev->sleep_ns ? prev->sleep_ns(prev->ctx, ns) : cb_task_plain_sleep_ns(ns);
    if (held)
        take_gil(t->g, t);
    return rc;
}

static int gil_wait_fd(void *ctx, int fd, short events, int timeout_ms)
{
    gil_thread_t *t = ctx;
    const cb_task_env_t *prev = t->env.prev;
    int held = t->held;
    if (held)
        drop_gil(t->g, t);
    int rc = prev && prev->wait_fd ? prev->wait_fd(prev->ctx, fd, events, timeout_ms)
                                   : cb_task_plain_wait_fd(fd, events, timeout_ms);
    if (held)
        take_gil(t->g, t);
    return rc;
}

static void exit_release(void *p)
{
    gil_thread_t *t = p;
    if (t->active && t->held)
        drop_gil(t->g, t);
    t->active = 0;
}

static void make_exit_key(void)
{
    exit_key_err = -pthread_key_create(&exit_key, exit_release);
}

cb_gil_t *cb_gil_new(uint64_t interval_ns, int *err)
{
    pthread_condattr_t ca;
    int rc;
    if (interval_ns == 0) {
        *err = -EINVAL;
        return NULL;
    }
    if ((rc = pthread_once(&exit_once, make_exit_key)) != 0) {
        *err = -rc;
        return NULL;
    }
    if (exit_key_err) {
        *err = exit_key_err;
        return NULL;
    }
    cb_gil_t *g = calloc(1, sizeof(*g));
    if (!g) {
        *err = -ENOMEM;
        return NULL;
    }
    g->interval_ns = interval_ns;
    if ((rc = pthread_mutex_init(&g->mutex, NULL)) != 0)
        goto err;
    if ((rc = pthread_mutex_init(&g->switch_mutex, NULL)) != 0)
        goto err_mutex;
    if ((rc = pthread_condattr_init(&ca)) != 0)
        goto err_switch_mutex;
    /* The timed wait's deadline is on the monotonic clock. */
    if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
        (rc = pthread_cond_init(&g->cond, &ca)) != 0) {
        pthread_condattr_destroy(&ca);
        goto err_switch_mutex;
    }
    pthread_condattr_destroy(&ca);
    if ((rc = pthread_cond_init(&g->switch_cond, NULL)) != 0)
        goto err_cond;
    return g;
err_cond:
    pthread_cond_destroy(&g->cond);
err_switch_mutex:
    pthread_mutex_destroy(&g->switch_mutex);
err_mutex:
    pthread_mutex_destroy(&g->mutex);
err:
    free(g);
    *err = -rc;
    return NULL;
}

void cb_gil_free(cb_gil_t *g)
{
    if (!g)
        return;
    pthread_cond_destroy(&g->switch_cond);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->switch_mutex);
    pthread_mutex_destroy(&g->mutex);
    free(g);
}

void cb_gil_task_begin(cb_gil_t *g)
{
    gil_thread_t *t = &self;
    /* One task at a time per thread: a nested begin is a harness bug. */
    if (t->active)
        abort();
    t->g = g;
    t->active = 1;
    t->held = 0;
    take_gil(g, t);
    t->env = (cb_task_env_t){
        .sleep_ns = gil_sleep_ns,
        .wait_fd = gil_wait_fd,
        .tick = gil_tick,
        .ctx = t,
    };
    cb_task_env_push(&t->env);
    if (pthread_setspecific(exit_key, t) != 0)
        abort();
}

void cb_gil_task_end(cb_gil_t *g)
{
    gil_thread_t *t = &self;
    if (!t->active || t->g != g || !t->held || cb_task_env_current() != &t->env)
        abort();
    cb_task_env_pop();
    drop_gil(g, t);
    t->active = 0;
    if (pthread_setspecific(exit_key, NULL) != 0)
        abort();
}

int cb_gil_max_holders(const cb_gil_t *g)
{
    return atomic_load(&g->max_holders);
}

uint64_t cb_gil_switches(const cb_gil_t *g)
{
    return atomic_load(&g->switches);
}
