#include "lib/exec/thread_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/exec/futex.h"

/* How long an idle worker polls the queue before it sleeps, and how long a
 * waiter polls before it sleeps. Short: on a machine with fewer cores than
 * threads a spinning thread takes the CPU from the one it waits for. */
#define WORKER_SPINS 2000
#define WAITER_SPINS 500
/* submit_many checks for sleeping workers every this many tasks (and after
 * the last), so that a worker that fell asleep mid-batch is not left idle
 * for long, without a futex call per task. */
#define WAKE_EVERY 32
/* A worker counts the tasks it finished locally and takes them off the
 * pool's outstanding count in one atomic when the ring looks empty, or
 * after this many: one contended cache line per batch, not per task. */
#define DONE_BATCH 64

#define CACHELINE 64

typedef struct cell {
    _Atomic size_t seq;
    cb_tp_task_t *task;
} cell_t;

typedef struct worker {
    cb_thread_pool_t *pool;
    pthread_t thread;
    int started;           /* pthread_create succeeded: join it */
    int pu;                /* -1: unpinned */
    cb_tp_task_t *current; /* the task it runs, for the pthread_exit path */
    uint32_t done_local;   /* finished, not yet taken off outstanding */
} worker_t;

struct cb_thread_pool {
    /* The ring (Vyukov's bounded MPMC queue): cell i is free for the
     * producer at position pos when seq == pos, holds a task for the
     * consumer at pos when seq == pos + 1. */
    cell_t *cells;
    size_t mask;
    int nworkers;
    worker_t *workers;
    cb_callback_fn_t callback;
    void *callback_arg;
    const cb_topo_t *topo;

    _Alignas(CACHELINE) _Atomic size_t enq_pos;
    _Alignas(CACHELINE) _Atomic size_t deq_pos;

    /* Eventcount for idle workers: they sleep on work_seq; a submitter that
     * sees sleepers > 0 bumps it and wakes them. */
    _Alignas(CACHELINE) _Atomic uint32_t work_seq;
    _Atomic int sleepers;
    _Atomic int stop;

    /* Eventcount for submitters waiting for room in a full ring. */
    _Alignas(CACHELINE) _Atomic uint32_t space_seq;
    _Atomic int space_waiters;

    /* Tasks submitted and not yet done; wait_all sleeps on it. */
    _Alignas(CACHELINE) _Atomic uint32_t outstanding;
    _Atomic int all_waiters;

    _Atomic uint32_t running; /* workers that have started, for new() */
    /* Detached threads on their way out (see on_worker_exit) that still
     * touch the pool; free() waits for them. */
    _Atomic int exiting;
    /* Held while a replacement thread is started and recorded, so that the
     * replacement, should it end at once too, finds the record complete. */
    pthread_mutex_t respawn;
};

static uint32_t *word(_Atomic uint32_t *a)
{
    return (uint32_t *)a;
}

static int ring_push(cb_thread_pool_t *p, cb_tp_task_t *t)
{
    size_t pos = atomic_load_explicit(&p->enq_pos, memory_order_relaxed);
    for (;;) {
        cell_t *c = &p->cells[pos & p->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            /* seq_cst: the sleepers check that follows must not be ordered
             * before this (the worker side does the mirror image). */
            if (atomic_compare_exchange_weak(&p->enq_pos, &pos, pos + 1)) {
                c->task = t;
                atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
                return 1;
            }
        } else if (dif < 0) {
            return 0; /* full */
        } else {
            pos = atomic_load_explicit(&p->enq_pos, memory_order_relaxed);
        }
    }
}

static cb_tp_task_t *ring_pop(cb_thread_pool_t *p)
{
    size_t pos = atomic_load_explicit(&p->deq_pos, memory_order_relaxed);
    for (;;) {
        cell_t *c = &p->cells[pos & p->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)(pos + 1);
        if (dif == 0) {
            if (atomic_compare_exchange_weak(&p->deq_pos, &pos, pos + 1)) {
                cb_tp_task_t *t = c->task;
                atomic_store_explicit(&c->seq, pos + p->mask + 1, memory_order_release);
                return t;
            }
        } else if (dif < 0) {
            return NULL; /* empty, or the producer has not published yet */
        } else {
            pos = atomic_load_explicit(&p->deq_pos, memory_order_relaxed);
        }
    }
}

static int ring_nonempty(cb_thread_pool_t *p)
{
    return atomic_load(&p->enq_pos) != atomic_load(&p->deq_pos);
}

static void wake_workers(cb_thread_pool_t *p, int n)
{
    if (atomic_load(&p->sleepers) > 0) {
        atomic_fetch_add(&p->work_seq, 1);
        cb_futex_wake_private(word(&p->work_seq), n);
    }
}

/* Takes n finished tasks off the outstanding count, and wakes wait_all
 * when that was the last of them. */
static void count_done(cb_thread_pool_t *p, uint32_t n)
{
    if (n && atomic_fetch_sub(&p->outstanding, n) == n && atomic_load(&p->all_waiters) > 0)
        cb_futex_wake_private(word(&p->outstanding), INT_MAX);
}

static void flush_done(cb_thread_pool_t *p, worker_t *w)
{
    uint32_t n = w->done_local;
    w->done_local = 0;
    count_done(p, n);
}

/* Records t's result and releases its waiters. With w (the worker that ran
 * t) the callback runs first, in this thread, and the task is counted done
 * in w's batch; without (the pthread_exit path, where w already belongs to
 * a replacement thread) there is no callback and it counts at once. */
static void finish(cb_thread_pool_t *p, worker_t *w, cb_tp_task_t *t, uint64_t value,
                   cb_status_t status)
{
    t->value = value;
    t->status = status;
    if (w) {
        if (p->callback)
            p->callback(p->callback_arg, t->index, value);
        w->current = NULL;
    }
    /* After this exchange the submitter may reuse t: touch only its address
     * (a futex wake on it), never its contents. */
    if (__atomic_exchange_n(&t->done, 1, __ATOMIC_ACQ_REL) == 2)
        cb_futex_wake_private(&t->done, INT_MAX);
    if (!w)
        count_done(p, 1);
    else if (++w->done_local >= DONE_BATCH)
        flush_done(p, w);
}

static void *worker_main(void *arg);

/* Starts w's thread, pinned to its PU. Returns 0 or a negative errno. */
static int start_worker(worker_t *w)
{
    pthread_attr_t attr;
    int rc = -pthread_attr_init(&attr);
    if (rc < 0)
        return rc;
    if (w->pu >= 0)
        rc = cb_pin_attr(w->pool->topo, &attr, w->pu);
    if (rc == 0)
        rc = -pthread_create(&w->thread, &attr, worker_main, w);
    if (pthread_attr_destroy(&attr) != 0)
        abort();
    return rc;
}

/* Runs when a worker thread ends inside a task or its callback
 * (pthread_exit; nothing in the pool cancels). The task counts as an error,
 * and a new thread takes this one's place (and its pin), so the pool keeps
 * W workers and nobody waits forever. This thread detaches itself: free()
 * joins the replacement instead. */
static void on_worker_exit(void *arg)
{
    worker_t *w = arg;
    cb_thread_pool_t *p = w->pool;
    cb_tp_task_t *t = w->current;
    atomic_fetch_add(&p->exiting, 1);
    if (pthread_detach(pthread_self()) != 0)
        abort();
    w->current = NULL;
    flush_done(p, w); /* what it finished before, before w is its replacement's */
    if (pthread_mutex_lock(&p->respawn) != 0)
        abort();
    /* When no thread can be made (out of threads), this worker is simply
     * gone; the others go on. */
    w->started = start_worker(w) == 0;
    if (pthread_mutex_unlock(&p->respawn) != 0)
        abort();
    if (t)
        finish(p, NULL, t, 0, CB_ERROR);
    /* The last touch of the pool: free() may go ahead from here. */
    atomic_fetch_sub(&p->exiting, 1);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    cb_thread_pool_t *p = w->pool;
    atomic_fetch_add(&p->running, 1);
    cb_futex_wake_private(word(&p->running), INT_MAX);

    pthread_cleanup_push(on_worker_exit, w);
    for (;;) {
        cb_tp_task_t *t = ring_pop(p);
        if (t) {
            if (atomic_load_explicit(&p->space_waiters, memory_order_seq_cst) > 0) {
                atomic_fetch_add(&p->space_seq, 1);
                cb_futex_wake_private(word(&p->space_seq), INT_MAX);
            }
            w->current = t;
            finish(p, w, t, t->fn(t->arg, t->index), CB_OK);
            continue;
        }
        /* Nothing to take: what this worker finished counts now (wait_all
         * may be waiting for exactly that). */
        flush_done(p, w);
        int found = 0;
        for (int i = 0; i < WORKER_SPINS && !found; i++) {
            cb_cpu_relax();
            found = ring_nonempty(p);
        }
        if (found)
            continue;
        uint32_t seq = atomic_load(&p->work_seq);
        atomic_fetch_add(&p->sleepers, 1);
        if (ring_nonempty(p)) {
            atomic_fetch_sub(&p->sleepers, 1);
            continue;
        }
        if (atomic_load(&p->stop)) {
            atomic_fetch_sub(&p->sleepers, 1);
            break;
        }
        cb_futex_wait_private(word(&p->work_seq), seq, 0);
        atomic_fetch_sub(&p->sleepers, 1);
    }
    pthread_cleanup_pop(0);
    return NULL;
}

int cb_thread_pool_workers(const cb_thread_pool_t *p)
{
    return p->nworkers;
}

/* Stops and joins the workers that started, frees everything. */
static void pool_destroy(cb_thread_pool_t *p)
{
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->work_seq, 1);
    cb_futex_wake_private(word(&p->work_seq), INT_MAX);
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].started && pthread_join(p->workers[i].thread, NULL) != 0)
            abort();
    /* Only after a task's pthread_exit, and only for a moment. */
    while (atomic_load(&p->exiting) > 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    if (pthread_mutex_destroy(&p->respawn) != 0)
        abort();
    free(p->workers);
    free(p->cells);
    free(p);
}

cb_thread_pool_t *cb_thread_pool_new(const cb_thread_pool_opts_t *o, int *err)
{
    int rc;
    cb_thread_pool_t *p = NULL;

    if (o->workers < 1 || (o->plan && (!o->topo || o->plan->nworkers < 1))) {
        rc = -EINVAL;
        goto err;
    }
    size_t cap = o->queue_capacity ? o->queue_capacity : 1024;
    if (cap > ((size_t)1 << 30)) {
        rc = -EINVAL;
        goto err;
    }
    size_t ring = 2;
    while (ring < cap)
        ring <<= 1;

    if (posix_memalign((void **)&p, CACHELINE, sizeof(*p)) != 0) {
        p = NULL;
        rc = -ENOMEM;
        goto err;
    }
    memset(p, 0, sizeof(*p));
    if (pthread_mutex_init(&p->respawn, NULL) != 0)
        abort();
    p->mask = ring - 1;
    p->callback = o->callback;
    p->callback_arg = o->callback_arg;
    p->cells = calloc(ring, sizeof(*p->cells));
    p->workers = calloc((size_t)o->workers, sizeof(*p->workers));
    if (!p->cells || !p->workers) {
        rc = -ENOMEM;
        goto err;
    }
    for (size_t i = 0; i < ring; i++)
        atomic_init(&p->cells[i].seq, i);

    p->topo = o->topo;
    for (int i = 0; i < o->workers; i++) {
        worker_t *w = &p->workers[i];
        w->pool = p;
        w->pu = o->plan ? o->plan->slots[i % o->plan->nworkers].pu_os : -1;
        if ((rc = start_worker(w)) < 0)
            goto err;
        w->started = 1;
        p->nworkers = i + 1;
    }
    /* Return only when every worker runs, so that the first timed run does
     * not pay for thread start-up. */
    for (uint32_t n; (n = atomic_load(&p->running)) < (uint32_t)o->workers;)
        cb_futex_wait_private(word(&p->running), n, 0);
    return p;
err:
    if (p)
        pool_destroy(p);
    *err = rc;
    return NULL;
}

/* Waits for room in the ring, then pushes t. */
static int push_blocking(cb_thread_pool_t *p, cb_tp_task_t *t)
{
    for (;;) {
        if (atomic_load_explicit(&p->stop, memory_order_relaxed))
            return -ESHUTDOWN;
        if (ring_push(p, t))
            return 0;
        /* Full: make sure the workers are awake to drain it, then sleep
         * until one of them takes a task. */
        wake_workers(p, INT_MAX);
        uint32_t seq = atomic_load(&p->space_seq);
        atomic_fetch_add(&p->space_waiters, 1);
        if (ring_push(p, t)) {
            atomic_fetch_sub(&p->space_waiters, 1);
            return 0;
        }
        cb_futex_wait_private(word(&p->space_seq), seq, 0);
        atomic_fetch_sub(&p->space_waiters, 1);
    }
}

static void prepare(cb_thread_pool_t *p, cb_tp_task_t *t)
{
    __atomic_store_n(&t->done, 0, __ATOMIC_RELAXED);
    atomic_fetch_add_explicit(&p->outstanding, 1, memory_order_relaxed);
}

int cb_thread_pool_submit(cb_thread_pool_t *p, cb_tp_task_t *t)
{
    prepare(p, t);
    int rc = push_blocking(p, t);
    if (rc < 0) {
        atomic_fetch_sub(&p->outstanding, 1);
        return rc;
    }
    wake_workers(p, 1);
    return 0;
}

int cb_thread_pool_submit_many(cb_thread_pool_t *p, cb_tp_task_t *tasks, size_t n)
{
    /* The batch counts as outstanding at once (one atomic, not one per
     * task); what could not be queued is taken off again. */
    if (n == 0)
        return 0;
    atomic_fetch_add_explicit(&p->outstanding, (uint32_t)n, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        __atomic_store_n(&tasks[i].done, 0, __ATOMIC_RELAXED);
        int rc = push_blocking(p, &tasks[i]);
        if (rc < 0) {
            count_done(p, (uint32_t)(n - i));
            return rc;
        }
        if (i % WAKE_EVERY == 0 || i + 1 == n)
            wake_workers(p, INT_MAX);
    }
    return 0;
}

void cb_thread_pool_wait(cb_thread_pool_t *p, cb_tp_task_t *t)
{
    (void)p;
    for (int i = 0; i < WAITER_SPINS; i++) {
        if (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE) == 1)
            return;
        cb_cpu_relax();
    }
    for (;;) {
        uint32_t v = 0;
        if (!__atomic_compare_exchange_n(&t->done, &v, 2, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
            v == 1)
            return;
        cb_futex_wait_private(&t->done, 2, 0);
    }
}

void cb_thread_pool_wait_all(cb_thread_pool_t *p)
{
    for (int i = 0; i < WAITER_SPINS; i++) {
        if (atomic_load(&p->outstanding) == 0)
            return;
        cb_cpu_relax();
    }
    atomic_fetch_add(&p->all_waiters, 1);
    for (uint32_t n; (n = atomic_load(&p->outstanding)) != 0;)
        cb_futex_wait_private(word(&p->outstanding), n, 0);
    atomic_fetch_sub(&p->all_waiters, 1);
}

void cb_thread_pool_free(cb_thread_pool_t *p)
{
    if (!p)
        return;
    /* Queued tasks still run: workers leave only once the ring is empty. */
    cb_thread_pool_wait_all(p);
    pool_destroy(p);
}
