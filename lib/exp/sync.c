#include "lib/exp/sync.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/core/sandbox.h"
#include "lib/core/task_env.h"

/* ---- pthread objects that must not fail ---- */

static void lock(pthread_mutex_t *m)
{
    if (pthread_mutex_lock(m) != 0)
        abort();
}

static void unlock(pthread_mutex_t *m)
{
    if (pthread_mutex_unlock(m) != 0)
        abort();
}

static void cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (pthread_cond_wait(c, m) != 0)
        abort();
}

static void cond_broadcast(pthread_cond_t *c)
{
    if (pthread_cond_broadcast(c) != 0)
        abort();
}

/* A mutex and a condition variable usable across fork when pshared. */
static int init_mutex(pthread_mutex_t *m, int pshared)
{
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc != 0)
        return -rc;
    if (pshared)
        rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return -rc;
}

static int init_cond(pthread_cond_t *c, int pshared)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (rc != 0)
        return -rc;
    if (pshared)
        rc = pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return -rc;
}

static void *shm_alloc(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---- running N threads or processes ---- */

/* A start gate: units report ready and wait; the starter opens it (state 1)
 * once all are ready, or cancels it (state -1) when one could not be
 * started, so no unit is left waiting. Lives in shared memory. */
typedef struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int ready;
    int state;
} gate_t;

typedef int (*unit_fn_t)(void *arg, int i);

typedef struct unit_arg {
    unit_fn_t fn;
    void *arg;
    gate_t *gate;
    int i;
    int rc;
} unit_arg_t;

/* Returns 1 to run, 0 when cancelled. */
static int gate_pass(gate_t *g)
{
    lock(&g->m);
    g->ready++;
    cond_broadcast(&g->c);
    while (g->state == 0)
        cond_wait(&g->c, &g->m);
    int go = g->state > 0;
    unlock(&g->m);
    return go;
}

static void gate_set(gate_t *g, int state, int wait_for)
{
    lock(&g->m);
    while (state > 0 && g->ready < wait_for)
        cond_wait(&g->c, &g->m);
    g->state = state;
    cond_broadcast(&g->c);
    unlock(&g->m);
}

static int unit_body(unit_arg_t *u)
{
    if (u->gate && !gate_pass(u->gate))
        return 0;
    return u->fn(u->arg, u->i);
}

static void *thread_main(void *arg)
{
    unit_arg_t *u = arg;
    u->rc = unit_body(u);
    return NULL;
}

typedef struct units {
    cb_sync_unit_t unit;
    int n;
    pthread_t *th;
    pid_t *pid;
    unit_arg_t *args;
    int started;
} units_t;

static int unit_start(units_t *u, int i)
{
    if (u->unit == CB_SYNC_THREADS) {
        int rc = pthread_create(&u->th[i], NULL, thread_main, &u->args[i]);
        if (rc != 0)
            return -rc;
    } else {
        pid_t pid = cb_fork_child();
        if (pid < 0)
            return pid;
        if (pid == 0)
            _exit(unit_body(&u->args[i]) == 0 ? 0 : 1);
        u->pid[i] = pid;
    }
    u->started++;
    return 0;
}

/* Waits for unit i. Returns 0 when it ran and returned 0, else -ECHILD or
 * its negative errno. */
static int unit_wait(units_t *u, int i)
{
    if (u->unit == CB_SYNC_THREADS) {
        if (pthread_join(u->th[i], NULL) != 0)
            abort();
        return u->args[i].rc;
    }
    int st;
    while (waitpid(u->pid[i], &st, 0) < 0)
        if (errno != EINTR)
            abort();
    cb_children_untrack(u->pid[i]);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

/* Runs fn(arg, i) for i in 0 .. n-1, each on its own thread or process.
 * sequential: each is started and waited for before the next (timed from
 * the first start to the last wait). Otherwise all are started; with gate
 * they wait at the gate and *ns covers the open gate to the last wait,
 * without it *ns covers the first start to the last wait. */
static int run_units(cb_sync_unit_t unit, int n, int sequential, gate_t *gate, unit_fn_t fn,
                     void *arg, uint64_t *ns)
{
    units_t u = {.unit = unit, .n = n};
    int rc = -ENOMEM;
    u.th = calloc((size_t)n, sizeof(*u.th));
    u.pid = calloc((size_t)n, sizeof(*u.pid));
    u.args = calloc((size_t)n, sizeof(*u.args));
    if (!u.th || !u.pid || !u.args)
        goto err;
    for (int i = 0; i < n; i++)
        u.args[i] = (unit_arg_t){.fn = fn, .arg = arg, .gate = sequential ? NULL : gate, .i = i};
    rc = 0;
    if (!gate || sequential)
        cb_counters_start();
    uint64_t t0 = cb_now_ns();
    if (sequential) {
        for (int i = 0; i < n && rc == 0; i++)
            if ((rc = unit_start(&u, i)) == 0)
                rc = unit_wait(&u, i);
    } else {
        for (int i = 0; i < n && rc == 0; i++)
            rc = unit_start(&u, i);
        if (gate) {
            cb_counters_start();
            gate_set(gate, rc == 0 ? 1 : -1, u.started);
            t0 = cb_now_ns();
        }
        for (int i = 0; i < u.started; i++) {
            int r = unit_wait(&u, i);
            if (rc == 0)
                rc = r;
        }
    }
    *ns = cb_now_ns() - t0;
    cb_counters_stop();
err:
    free(u.th);
    free(u.pid);
    free(u.args);
    return rc;
}

static int init_gate(gate_t *g, int pshared)
{
    int rc = init_mutex(&g->m, pshared);
    if (rc < 0)
        return rc;
    if ((rc = init_cond(&g->c, pshared)) < 0)
        pthread_mutex_destroy(&g->m);
    return rc;
}

static void destroy_gate(gate_t *g)
{
    pthread_cond_destroy(&g->c);
    pthread_mutex_destroy(&g->m);
}

/* ---- E4: the shared counter ---- */

typedef struct counter {
    pthread_mutex_t m;
    /* Read and written with separate relaxed loads and stores: on x86 these
     * are the plain moves a non-atomic `temp = n; n = temp - 1` compiles to,
     * so updates are lost exactly as in the tutorials, while the program
     * stays defined C (and quiet under ThreadSanitizer). */
    _Atomic long value;
    cb_sync_counter_cfg_t cfg;
} counter_t;

static int counter_task(void *arg, int i)
{
    (void)i;
    counter_t *c = arg;
    int rc;
    if (c->cfg.outside_ns && (rc = cb_task_sleep_ns(c->cfg.outside_ns)) < 0)
        return rc;
    if (c->cfg.variant == CB_SYNC_LOCK)
        lock(&c->m);
    long v = atomic_load_explicit(&c->value, memory_order_relaxed);
    rc = c->cfg.hold_ns ? cb_task_sleep_ns(c->cfg.hold_ns) : 0;
    atomic_store_explicit(&c->value, v - 1, memory_order_relaxed);
    if (c->cfg.variant == CB_SYNC_LOCK)
        unlock(&c->m);
    return rc;
}

int cb_sync_counter_run(const cb_sync_counter_cfg_t *cfg, cb_sync_counter_result_t *res)
{
    if (cfg->tasks < 1)
        return -EINVAL;
    int pshared = cfg->unit == CB_SYNC_PROCESSES;
    counter_t *c = shm_alloc(sizeof(*c));
    if (!c)
        return -errno;
    int rc = init_mutex(&c->m, pshared);
    if (rc < 0)
        goto err;
    c->cfg = *cfg;
    atomic_store(&c->value, cfg->tasks);
    uint64_t ns = 0;
    rc = run_units(cfg->unit, cfg->tasks, cfg->variant == CB_SYNC_JOIN, NULL, counter_task, c, &ns);
    if (rc == 0) {
        res->wall_s = (double)ns / 1e9;
        res->final_counter = atomic_load(&c->value);
        res->lost_updates = res->final_counter;
    }
    pthread_mutex_destroy(&c->m);
err:
    munmap(c, sizeof(*c));
    return rc;
}

/* ---- E5: the data race ---- */

typedef struct race {
    gate_t gate;
    _Atomic uint64_t value; /* see counter_t.value for the relaxed accesses */
    uint64_t increments;
    atomic_int arrived;
    int workers;
} race_t;

static int race_task(void *arg, int i)
{
    (void)i;
    race_t *r = arg;
    /* Waking from the gate takes each worker a different time, long enough
     * for a short loop to finish before the next worker runs at all: the
     * workers also wait here until all are running. */
    atomic_fetch_add(&r->arrived, 1);
    while (atomic_load(&r->arrived) < r->workers)
        sched_yield();
    for (uint64_t k = 0; k < r->increments; k++) {
        uint64_t v = atomic_load_explicit(&r->value, memory_order_relaxed);
        /* A compiler barrier: keeps the compiler from merging the loop's
         * loads and stores into one addition, so each increment is its own
         * read and write, with a window between them for other cores. */
        atomic_signal_fence(memory_order_seq_cst);
        atomic_store_explicit(&r->value, v + 1, memory_order_relaxed);
    }
    return 0;
}

int cb_sync_race_run(cb_sync_unit_t unit, int workers, uint64_t increments,
                     cb_sync_race_result_t *res)
{
    if (workers < 1)
        return -EINVAL;
    race_t *r = shm_alloc(sizeof(*r));
    if (!r)
        return -errno;
    int rc = init_gate(&r->gate, unit == CB_SYNC_PROCESSES);
    if (rc < 0)
        goto err;
    r->increments = increments;
    r->workers = workers;
    uint64_t ns = 0;
    rc = run_units(unit, workers, 0, &r->gate, race_task, r, &ns);
    if (rc == 0) {
        res->wall_s = (double)ns / 1e9;
        res->expected = (uint64_t)workers * increments;
        res->final_counter = atomic_load(&r->value);
        res->lost_updates = res->expected - res->final_counter;
    }
    destroy_gate(&r->gate);
err:
    munmap(r, sizeof(*r));
    return rc;
}

/* ---- E6: the semaphore ---- */

typedef struct semx {
    gate_t gate;
    sem_t sem;
    atomic_int holders;
    atomic_int peak;
    uint64_t hold_ns;
} semx_t;

static int sem_task(void *arg, int i)
{
    (void)i;
    semx_t *s = arg;
    while (sem_wait(&s->sem) != 0)
        if (errno != EINTR)
            abort();
    int now = atomic_fetch_add(&s->holders, 1) + 1;
    int peak = atomic_load(&s->peak);
    while (now > peak && !atomic_compare_exchange_weak(&s->peak, &peak, now))
        ;
    int rc = cb_task_sleep_ns(s->hold_ns);
    atomic_fetch_sub(&s->holders, 1);
    if (sem_post(&s->sem) != 0)
        abort();
    return rc;
}

int cb_sync_semaphore_run(cb_sync_unit_t unit, int tasks, int permits, uint64_t hold_ns,
                          cb_sync_sem_result_t *res)
{
    if (tasks < 1 || permits < 1)
        return -EINVAL;
    int pshared = unit == CB_SYNC_PROCESSES;
    semx_t *s = shm_alloc(sizeof(*s));
    if (!s)
        return -errno;
    int rc = init_gate(&s->gate, pshared);
    if (rc < 0)
        goto err;
    if (sem_init(&s->sem, pshared, (unsigned)permits) != 0) {
        rc = -errno;
        destroy_gate(&s->gate);
        goto err;
    }
    s->hold_ns = hold_ns;
    uint64_t ns = 0;
    rc = run_units(unit, tasks, 0, &s->gate, sem_task, s, &ns);
    if (rc == 0) {
        res->wall_s = (double)ns / 1e9;
        res->peak = atomic_load(&s->peak);
        res->waves = (tasks + permits - 1) / permits;
        res->hold_s = (double)hold_ns / 1e9;
    }
    sem_destroy(&s->sem);
    destroy_gate(&s->gate);
err:
    munmap(s, sizeof(*s));
    return rc;
}

/* ---- E12: queues ---- */

/* The discipline's pick among present items: is a before b? */
static int picks_first(cb_queue_kind_t kind, uint32_t pa, uint64_t ta, uint32_t pb, uint64_t tb)
{
    switch (kind) {
    case CB_QUEUE_FIFO:
        return ta < tb;
    case CB_QUEUE_LIFO:
        return ta > tb;
    case CB_QUEUE_PRIORITY:
        return pa < pb || (pa == pb && ta < tb);
    }
    abort();
}

long cb_sync_queue_order_errors(cb_queue_kind_t kind, const cb_queue_item_log_t *items, size_t n)
{
    long errors = 0, rc = -ENOMEM;
    /* ev[ticket] = item * 2 + (1 for a pop); -1 unused. */
    int64_t *ev = malloc(2 * n * sizeof(*ev) + 1);
    size_t *present = malloc(n * sizeof(*present) + 1), npresent = 0;
    if (!ev || !present)
        goto err;
    for (size_t t = 0; t < 2 * n; t++)
        ev[t] = -1;
    rc = -EINVAL;
    for (size_t i = 0; i < n; i++) {
        uint64_t tk[2] = {items[i].push_ticket, items[i].pop_ticket};
        for (int op = 0; op < 2; op++) {
            if (tk[op] >= 2 * n || ev[tk[op]] != -1)
                goto err;
            ev[tk[op]] = (int64_t)(i * 2 + (size_t)op);
        }
    }
    for (size_t t = 0; t < 2 * n; t++) {
        size_t id = (size_t)ev[t] / 2;
        if ((ev[t] & 1) == 0) {
            present[npresent++] = id;
            continue;
        }
        size_t best = SIZE_MAX, at = SIZE_MAX;
        for (size_t k = 0; k < npresent; k++) {
            size_t c = present[k];
            if (best == SIZE_MAX || picks_first(kind, items[c].priority, items[c].push_ticket,
                                                items[best].priority, items[best].push_ticket))
                best = c;
            if (c == id)
                at = k;
        }
        if (at == SIZE_MAX || best != id)
            errors++;
        if (at != SIZE_MAX)
            present[at] = present[--npresent];
    }
    rc = errors;
err:
    free(ev);
    free(present);
    return rc;
}

typedef struct qnode {
    uint32_t id;
    uint32_t priority;
    uint64_t ticket;
} qnode_t;

typedef struct bqueue {
    pthread_mutex_t m;
    pthread_cond_t not_full, not_empty;
    cb_queue_kind_t kind;
    qnode_t *buf;
    size_t cap, count, head; /* head: FIFO ring start */
    uint64_t ticket;         /* next ticket, shared by pushes and pops */
    size_t popped, total;
    cb_queue_item_log_t *log;
    const cb_sync_queue_cfg_t *cfg;
    gate_t gate;
} bqueue_t;

static int node_before(const bqueue_t *q, const qnode_t *a, const qnode_t *b)
{
    return picks_first(q->kind, a->priority, a->ticket, b->priority, b->ticket);
}

/* Binary heap on buf[0 .. count-1] ordered by node_before (priority only). */
static void heap_push(bqueue_t *q, qnode_t n)
{
    size_t i = q->count++;
    while (i > 0 && node_before(q, &n, &q->buf[(i - 1) / 2])) {
        q->buf[i] = q->buf[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->buf[i] = n;
}

static qnode_t heap_pop(bqueue_t *q)
{
    qnode_t top = q->buf[0], last = q->buf[--q->count];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, c = l;
        if (l >= q->count)
            break;
        if (l + 1 < q->count && node_before(q, &q->buf[l + 1], &q->buf[l]))
            c = l + 1;
        if (!node_before(q, &q->buf[c], &last))
            break;
        q->buf[i] = q->buf[c];
        i = c;
    }
    if (q->count > 0)
        q->buf[i] = last;
    return top;
}

/* The queue's lock, its two conditions and its start gate; on failure,
 * nothing is left initialised. Returns 0 or a negative errno. */
static int bq_init(bqueue_t *q)
{
    int rc, made = 0;
    if ((rc = init_mutex(&q->m, 0)) < 0)
        goto err;
    made = 1;
    if ((rc = init_cond(&q->not_full, 0)) < 0)
        goto err;
    made = 2;
    if ((rc = init_cond(&q->not_empty, 0)) < 0)
        goto err;
    made = 3;
    if ((rc = init_gate(&q->gate, 0)) < 0)
        goto err;
    return 0;
err:
    if (made >= 3)
        pthread_cond_destroy(&q->not_empty);
    if (made >= 2)
        pthread_cond_destroy(&q->not_full);
    if (made >= 1)
        pthread_mutex_destroy(&q->m);
    return rc;
}

static void bq_destroy(bqueue_t *q)
{
    destroy_gate(&q->gate);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->m);
}

static void bq_push(bqueue_t *q, uint32_t id, uint32_t priority)
{
    lock(&q->m);
    while (q->count == q->cap)
        cond_wait(&q->not_full, &q->m);
    qnode_t n = {.id = id, .priority = priority, .ticket = q->ticket++};
    q->log[id].push_ticket = n.ticket;
    q->log[id].priority = priority;
    if (q->kind == CB_QUEUE_FIFO)
        q->buf[(q->head + q->count++) % q->cap] = n;
    else if (q->kind == CB_QUEUE_LIFO)
        q->buf[q->count++] = n;
    else
        heap_push(q, n);
    if (pthread_cond_signal(&q->not_empty) != 0)
        abort();
    unlock(&q->m);
}

/* Returns 1 with *id set, or 0 once every item has been delivered. */
static int bq_pop(bqueue_t *q, uint32_t *id)
{
    lock(&q->m);
    while (q->count == 0 && q->popped < q->total)
        cond_wait(&q->not_empty, &q->m);
    if (q->popped == q->total) {
        unlock(&q->m);
        return 0;
    }
    qnode_t n;
    if (q->kind == CB_QUEUE_FIFO) {
        n = q->buf[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
    } else if (q->kind == CB_QUEUE_LIFO) {
        n = q->buf[--q->count];
    } else {
        n = heap_pop(q);
    }
    q->log[n.id].pop_ticket = q->ticket++;
    /* The last item wakes every consumer still waiting, so they can leave. */
    if (++q->popped == q->total)
        cond_broadcast(&q->not_empty);
    if (pthread_cond_signal(&q->not_full) != 0)
        abort();
    unlock(&q->m);
    *id = n.id;
    return 1;
}

/* Priorities 0..7 from a hash of the item, so equal priorities (and the
 * FIFO tie-break) occur often. */
static uint32_t item_priority(uint32_t id)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(x >> 61);
}

static int queue_unit(void *arg, int i)
{
    bqueue_t *q = arg;
    int producers = q->cfg->producers;
    if (i < producers) {
        size_t per = q->cfg->items_per_producer;
        for (size_t s = 0; s < per; s++) {
            uint32_t id = (uint32_t)((size_t)i * per + s);
            bq_push(q, id, item_priority(id));
        }
        return 0;
    }
    uint32_t id;
    while (bq_pop(q, &id))
        ;
    return 0;
}

int cb_sync_queue_run(const cb_sync_queue_cfg_t *cfg, cb_sync_queue_result_t *res)
{
    if (cfg->producers < 1 || cfg->consumers < 1 || cfg->capacity < 1)
        return -EINVAL;
    size_t total = (size_t)cfg->producers * cfg->items_per_producer;
    if (total == 0 || total > UINT32_MAX)
        return -EINVAL;
    bqueue_t q = {.kind = cfg->kind, .cap = cfg->capacity, .total = total, .cfg = cfg};
    int rc = -ENOMEM;
    q.buf = calloc(cfg->capacity, sizeof(*q.buf));
    q.log = malloc(total * sizeof(*q.log));
    if (!q.buf || !q.log)
        goto err;
    for (size_t i = 0; i < total; i++)
        q.log[i] = (cb_queue_item_log_t){UINT64_MAX, UINT64_MAX, 0};
    if ((rc = bq_init(&q)) < 0)
        goto err;
    uint64_t ns = 0;
    /* Timed: from the open gate (every producer and consumer started and
     * waiting) until the last one is joined; thread creation is left out. */
    rc = run_units(CB_SYNC_THREADS, cfg->producers + cfg->consumers, 0, &q.gate, queue_unit, &q,
                   &ns);
    if (rc == 0) {
        long errors = cb_sync_queue_order_errors(cfg->kind, q.log, total);
        /* A ticket left unset means an item was never delivered. */
        if (errors < 0) {
            rc = errors == -EINVAL ? -EIO : (int)errors;
        } else {
            res->wall_s = (double)ns / 1e9;
            res->items_per_s = (double)total / res->wall_s;
            res->delivered = q.popped;
            res->order_errors = errors;
        }
    }
    bq_destroy(&q);
err:
    free(q.buf);
    free(q.log);
    return rc;
}
