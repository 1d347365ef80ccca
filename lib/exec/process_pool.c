#include "lib/exec/process_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/exec/futex.h"
#include "lib/exec/gil.h"
#include "lib/core/sandbox.h"

#define CACHELINE 64
#define WORKER_SPINS 2000
#define PARENT_SPINS 2000
#define WAKE_EVERY 32
/* The parent sleeps at most this long before it looks for dead workers. */
#define DEATH_POLL_NS 10000000ull
/* Entries in each worker's completion ring (a power of two). */
#define RING_MAX 4096u
/* How long free() lets workers exit on their own before SIGKILL. */
#define EXIT_GRACE_NS 1000000000ull

/* Slot states. A worker's claim writes RUN_BASE + its number, so the parent
 * knows which task a dead worker had. */
enum { S_FREE = 0, S_QUEUED = 1, S_DONE = 2, S_SEEN = 3 };
#define RUN_BASE 16u

/* One task slot, a cache line of its own: neighbouring slots are written by
 * different workers. */
typedef struct slot {
    _Alignas(CACHELINE) _Atomic uint32_t state;
    int32_t status;
    int32_t signo;
    uint64_t ticket; /* parent only */
    uint64_t index;
    uint64_t value;
} slot_t;

/* Per worker, shared: its completion ring's indexes and its start-up
 * report. The ring's entries (slot numbers) live in a separate array. */
typedef struct wrec {
    _Alignas(CACHELINE) _Atomic uint32_t ring_head; /* consumer: the parent */
    _Atomic uint32_t ring_waiting;                  /* the worker sleeps: ring full */
    _Alignas(CACHELINE) _Atomic uint32_t ring_tail; /* producer: the worker */
    _Atomic int32_t init_rc;
    _Atomic uint32_t ready;
} wrec_t;

typedef struct shared {
    /* head: the next ticket to try to claim (a hint every worker advances);
     * tail: one past the last published ticket. */
    _Alignas(CACHELINE) _Atomic uint64_t head;
    _Alignas(CACHELINE) _Atomic uint64_t tail;
    /* Eventcount for idle workers. */
    _Alignas(CACHELINE) _Atomic uint32_t work_seq;
    _Atomic int32_t sleepers;
    _Atomic int32_t stop;
    /* Eventcount for the parent waiting on completions. */
    _Alignas(CACHELINE) _Atomic uint32_t parent_seq;
    _Atomic int32_t parent_sleeping;
    /* Workers that finished start-up (successfully or not). */
    _Alignas(CACHELINE) _Atomic uint32_t started;
} shared_t;

struct cb_process_pool {
    cb_process_pool_opts_t o;
    pid_t parent;
    int nworkers;
    pid_t *pids; /* -1: gone */

    void *map;
    size_t map_size;
    shared_t *sh;
    slot_t *slots;
    uint64_t mask; /* slots - 1 */
    wrec_t *wr;
    uint32_t *entries; /* nworkers rings of rsize entries */
    uint32_t rsize;

    /* Parent-side bookkeeping. */
    uint64_t next_ticket;
    uint64_t lo;       /* tickets below lo are collected */
    uint64_t inflight; /* submitted, not yet seen finished */
    uint64_t replaced;
    int stopping;
};

static uint32_t *word(_Atomic uint32_t *a)
{
    return (uint32_t *)a;
}

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

/* ---- Worker side ---------------------------------------------------------- */

static int queue_nonempty(shared_t *sh)
{
    return atomic_load(&sh->head) < atomic_load(&sh->tail);
}

static void report(cb_process_pool_t *p, int w, uint32_t slot_no)
{
    wrec_t *me = &p->wr[w];
    uint32_t *ring = p->entries + (size_t)w * p->rsize;
    uint32_t tail = atomic_load_explicit(&me->ring_tail, memory_order_relaxed);
    for (;;) {
        uint32_t head = atomic_load_explicit(&me->ring_head, memory_order_acquire);
        if (tail - head < p->rsize)
            break;
        /* Full: the parent is behind. Make sure it is awake, and sleep a
         * little (it wakes us when it drains the ring). */
        atomic_store(&me->ring_waiting, 1);
        atomic_fetch_add(&p->sh->parent_seq, 1);
        cb_futex_wake_shared(word(&p->sh->parent_seq), 1);
        cb_futex_wait_shared(word(&me->ring_head), head, 1000000);
    }
    ring[tail & (p->rsize - 1)] = slot_no;
    /* Both seq_cst (Dekker with the parent, which stores its sleeping flag
     * and then looks at our tail): either it sees this entry or we see that
     * it sleeps. */
    atomic_store(&me->ring_tail, tail + 1);
    if (atomic_load(&p->sh->parent_sleeping)) {
        atomic_fetch_add(&p->sh->parent_seq, 1);
        cb_futex_wake_shared(word(&p->sh->parent_seq), 1);
    }
}

static void run_slot(cb_process_pool_t *p, int w, uint64_t slot_no, cb_gil_t *gil)
{
    slot_t *s = &p->slots[slot_no];
    uint64_t value;
    if (gil) {
        cb_gil_task_begin(gil);
        value = p->o.fn(p->o.arg, s->index);
        cb_gil_task_end(gil);
    } else {
        value = p->o.fn(p->o.arg, s->index);
    }
    s->value = value;
    s->status = CB_OK;
    s->signo = 0;
    atomic_store_explicit(&s->state, S_DONE, memory_order_release);
    report(p, w, (uint32_t)slot_no);
}

static _Noreturn void worker_main(cb_process_pool_t *p, int w)
{
    shared_t *sh = p->sh;
    wrec_t *me = &p->wr[w];
    cb_child_init(p->parent);

    int rc = 0;
    cb_gil_t *gil = NULL;
    if (p->o.plan)
        rc = cb_pin_bind_process(p->o.topo, p->o.plan->slots[w % p->o.plan->nworkers].pu_os);
    if (rc == 0 && p->o.gil_interval_ns)
        gil = cb_gil_new(p->o.gil_interval_ns, &rc);
    atomic_store(&me->init_rc, rc);
    atomic_store(&me->ready, rc == 0);
    atomic_fetch_add(&sh->started, 1);
    cb_futex_wake_shared(word(&sh->started), INT_MAX);
    if (rc != 0)
        _exit(3);

    const uint32_t mine = RUN_BASE + (uint32_t)w;
    for (;;) {
        if (atomic_load_explicit(&sh->stop, memory_order_relaxed))
            break;
        uint64_t h = atomic_load(&sh->head);
        if (h < atomic_load_explicit(&sh->tail, memory_order_acquire)) {
            uint64_t slot_no = h & p->mask;
            slot_t *s = &p->slots[slot_no];
            uint32_t queued = S_QUEUED;
            /* The claim and the record of who claimed are one CAS. The slot
             * may already hold a later ticket (h was collected and reused):
             * taking that one early is harmless, it runs exactly once. */
            int claimed = atomic_compare_exchange_strong(&s->state, &queued, mine);
            atomic_compare_exchange_strong(&sh->head, &h, h + 1);
            if (claimed)
                run_slot(p, w, slot_no, gil);
            continue;
        }
        int found = 0;
        for (int i = 0; i < WORKER_SPINS && !found; i++) {
            cb_cpu_relax();
            found = queue_nonempty(sh);
        }
        if (found)
            continue;
        uint32_t seq = atomic_load(&sh->work_seq);
        atomic_fetch_add(&sh->sleepers, 1);
        if (!queue_nonempty(sh) && !atomic_load(&sh->stop))
            cb_futex_wait_shared(word(&sh->work_seq), seq, 0);
        atomic_fetch_sub(&sh->sleepers, 1);
    }
    if (gil)
        cb_gil_free(gil);
    _exit(0);
}

/* ---- Parent side ---------------------------------------------------------- */

static void complete(cb_process_pool_t *p, uint64_t slot_no)
{
    slot_t *s = &p->slots[slot_no];
    /* A slot can be reported twice (a death scan picked it up before its
     * worker's report came through): the state says whether it is news. */
    if (atomic_load_explicit(&s->state, memory_order_acquire) != S_DONE)
        return;
    atomic_store_explicit(&s->state, S_SEEN, memory_order_relaxed);
    p->inflight--;
    if (p->o.callback && s->status == CB_OK)
        p->o.callback(p->o.callback_arg, s->index, s->value);
}

static int drain_ring(cb_process_pool_t *p, int w)
{
    wrec_t *r = &p->wr[w];
    uint32_t *ring = p->entries + (size_t)w * p->rsize;
    uint32_t head = atomic_load_explicit(&r->ring_head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit(&r->ring_tail, memory_order_acquire);
    int n = 0;
    while (head != tail) {
        uint32_t slot_no = ring[head & (p->rsize - 1)];
        head++;
        /* Hand the entry back before the callback runs, so that the worker
         * is never held up by a slow callback. */
        atomic_store_explicit(&r->ring_head, head, memory_order_release);
        complete(p, slot_no);
        n++;
    }
    if (n && atomic_load(&r->ring_waiting)) {
        atomic_store(&r->ring_waiting, 0);
        cb_futex_wake_shared(word(&r->ring_head), 1);
    }
    return n;
}

static int drain_all(cb_process_pool_t *p)
{
    int n = 0;
    for (int w = 0; w < p->nworkers; w++)
        n += drain_ring(p, w);
    return n;
}

static int rings_nonempty(cb_process_pool_t *p)
{
    for (int w = 0; w < p->nworkers; w++)
        if (atomic_load(&p->wr[w].ring_head) != atomic_load(&p->wr[w].ring_tail))
            return 1;
    return 0;
}

static void wake_workers(cb_process_pool_t *p, int n)
{
    if (atomic_load(&p->sh->sleepers) > 0) {
        atomic_fetch_add(&p->sh->work_seq, 1);
        cb_futex_wake_shared(word(&p->sh->work_seq), n);
    }
}

static int spawn(cb_process_pool_t *p, int w)
{
    wrec_t *r = &p->wr[w];
    atomic_store(&r->ring_head, 0);
    atomic_store(&r->ring_tail, 0);
    atomic_store(&r->ring_waiting, 0);
    atomic_store(&r->ready, 0);
    atomic_store(&r->init_rc, 0);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        worker_main(p, w);
    cb_children_track(pid);
    p->pids[w] = pid;
    return 0;
}

static int alive(cb_process_pool_t *p)
{
    int n = 0;
    for (int w = 0; w < p->nworkers; w++)
        n += p->pids[w] > 0;
    return n;
}

/* Marks every queued or running task failed: no worker is left to run it. */
static void fail_all(cb_process_pool_t *p)
{
    for (uint64_t i = 0; i <= p->mask; i++) {
        slot_t *s = &p->slots[i];
        uint32_t st = atomic_load(&s->state);
        if (st == S_QUEUED || st >= RUN_BASE) {
            s->status = CB_ERROR;
            s->signo = 0;
            s->value = 0;
            atomic_store(&s->state, S_DONE);
            complete(p, i);
        }
    }
}

/* Worker w ended with wait status st (-1: unknown, someone else reaped it). */
static void on_death(cb_process_pool_t *p, int w, int st)
{
    int was_ready = atomic_load(&p->wr[w].ready);
    cb_children_untrack(p->pids[w]);
    p->pids[w] = -1;
    drain_ring(p, w);
    const uint32_t its = RUN_BASE + (uint32_t)w;
    for (uint64_t i = 0; i <= p->mask; i++) {
        slot_t *s = &p->slots[i];
        uint32_t state = atomic_load(&s->state);
        if (state == its) {
            s->value = 0;
            if (st != -1 && WIFSIGNALED(st)) {
                s->status = CB_CRASHED;
                s->signo = WTERMSIG(st);
            } else {
                s->status = CB_ERROR;
                s->signo = 0;
            }
            atomic_store(&s->state, S_DONE);
            complete(p, i);
        } else if (state == S_DONE) {
            /* Finished but maybe never reported: it died in between. */
            complete(p, i);
        }
    }
    /* A worker that never got ready (pinning failed) would fail again. */
    if (!p->stopping && was_ready && spawn(p, w) == 0)
        p->replaced++;
    if (alive(p) == 0)
        fail_all(p);
}

static void check_deaths(cb_process_pool_t *p)
{
    for (int w = 0; w < p->nworkers; w++) {
        if (p->pids[w] <= 0)
            continue;
        int st;
        pid_t r = waitpid(p->pids[w], &st, WNOHANG);
        if (r == p->pids[w])
            on_death(p, w, st);
        else if (r < 0 && errno == ECHILD)
            on_death(p, w, -1);
    }
}

/* Processes finished tasks; when there are none, spins a little and then
 * sleeps until a worker reports or DEATH_POLL_NS passes (then looks for dead
 * workers). */
static void progress(cb_process_pool_t *p)
{
    if (drain_all(p) > 0)
        return;
    for (int i = 0; i < PARENT_SPINS; i++) {
        cb_cpu_relax();
        if (rings_nonempty(p) && drain_all(p) > 0)
            return;
    }
    shared_t *sh = p->sh;
    uint32_t seq = atomic_load(&sh->parent_seq);
    atomic_store(&sh->parent_sleeping, 1);
    int rc = 0;
    if (!rings_nonempty(p))
        rc = cb_futex_wait_shared(word(&sh->parent_seq), seq, DEATH_POLL_NS);
    atomic_store(&sh->parent_sleeping, 0);
    if (rc == -ETIMEDOUT)
        check_deaths(p);
    drain_all(p);
}

int cb_process_pool_workers(const cb_process_pool_t *p)
{
    return p->nworkers;
}

uint64_t cb_process_pool_replaced(const cb_process_pool_t *p)
{
    return p->replaced;
}

int cb_process_pool_worker_pid(const cb_process_pool_t *p, int w)
{
    return w >= 0 && w < p->nworkers ? p->pids[w] : -1;
}

static int publish(cb_process_pool_t *p, size_t index)
{
    uint64_t t = p->next_ticket;
    slot_t *s = &p->slots[t & p->mask];
    if (atomic_load_explicit(&s->state, memory_order_acquire) != S_FREE)
        return -EAGAIN;
    s->ticket = t;
    s->index = index;
    s->status = CB_OK;
    s->signo = 0;
    atomic_store_explicit(&s->state, S_QUEUED, memory_order_release);
    p->next_ticket = t + 1;
    p->inflight++;
    atomic_store(&p->sh->tail, t + 1);
    return 0;
}

int64_t cb_process_pool_submit(cb_process_pool_t *p, size_t index)
{
    if (p->stopping)
        return -ESHUTDOWN;
    int64_t t = (int64_t)p->next_ticket;
    int rc = publish(p, index);
    if (rc < 0)
        return rc;
    wake_workers(p, 1);
    return t;
}

int cb_process_pool_submit_range(cb_process_pool_t *p, size_t first, size_t n)
{
    if (p->stopping)
        return -ESHUTDOWN;
    if (n > p->mask + 1)
        return -EAGAIN;
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&p->slots[(p->next_ticket + i) & p->mask].state) != S_FREE)
            return -EAGAIN;
    for (size_t i = 0; i < n; i++) {
        if (publish(p, first + i) != 0)
            abort(); /* checked free above; only this thread fills slots */
        if (i % WAKE_EVERY == 0 || i + 1 == n)
            wake_workers(p, INT_MAX);
    }
    return 0;
}

static void collect(slot_t *s, cb_task_result_t *res)
{
    res->value = s->value;
    res->status = (cb_status_t)s->status;
    res->signo = s->signo;
    atomic_store(&s->state, S_FREE);
}

int cb_process_pool_wait(cb_process_pool_t *p, int64_t ticket, cb_task_result_t *res)
{
    if (ticket < 0 || (uint64_t)ticket < p->lo || (uint64_t)ticket >= p->next_ticket)
        return -EINVAL;
    slot_t *s = &p->slots[(uint64_t)ticket & p->mask];
    if (s->ticket != (uint64_t)ticket || atomic_load(&s->state) == S_FREE)
        return -EINVAL;
    while (atomic_load(&s->state) != S_SEEN)
        progress(p);
    collect(s, res);
    return 0;
}

int cb_process_pool_wait_all(cb_process_pool_t *p, cb_task_result_t *results, size_t nresults)
{
    while (p->inflight > 0)
        progress(p);
    uint64_t from = p->lo;
    if (p->next_ticket - from > p->mask + 1)
        from = p->next_ticket - (p->mask + 1);
    for (uint64_t t = from; t < p->next_ticket; t++) {
        slot_t *s = &p->slots[t & p->mask];
        if (s->ticket != t || atomic_load(&s->state) != S_SEEN)
            continue; /* collected by cb_process_pool_wait */
        cb_task_result_t r;
        uint64_t index = s->index;
        collect(s, &r);
        if (results && index < nresults)
            results[index] = r;
    }
    p->lo = p->next_ticket;
    return 0;
}

/* Stops every worker still running and reaps it. */
static void stop_workers(cb_process_pool_t *p)
{
    p->stopping = 1;
    atomic_store(&p->sh->stop, 1);
    atomic_fetch_add(&p->sh->work_seq, 1);
    cb_futex_wake_shared(word(&p->sh->work_seq), INT_MAX);
    uint64_t deadline = 0;
    struct timespec nap = {0, 1000000};
    for (int w = 0; w < p->nworkers; w++) {
        if (p->pids[w] <= 0)
            continue;
        for (;;) {
            int st;
            pid_t r = waitpid(p->pids[w], &st, WNOHANG);
            if (r == p->pids[w] || (r < 0 && errno == ECHILD))
                break;
            if (r < 0 && errno != EINTR)
                abort();
            struct timespec now;
            if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
                abort();
            uint64_t ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
            if (!deadline)
                deadline = ns + EXIT_GRACE_NS;
            if (ns >= deadline) {
                /* Busy in a task that does not end: the pool is going away. */
                if (kill(p->pids[w], SIGKILL) != 0 && errno != ESRCH)
                    abort();
                while ((r = waitpid(p->pids[w], &st, 0)) < 0 && errno == EINTR)
                    ;
                break;
            }
            nanosleep(&nap, NULL);
        }
        cb_children_untrack(p->pids[w]);
        p->pids[w] = -1;
    }
}

static void pool_destroy(cb_process_pool_t *p)
{
    if (p->pids)
        stop_workers(p);
    if (p->map && munmap(p->map, p->map_size) != 0)
        abort();
    free(p->pids);
    free(p);
}

cb_process_pool_t *cb_process_pool_new(const cb_process_pool_opts_t *o, int *err)
{
    int rc;
    cb_process_pool_t *p = NULL;
    if (o->workers < 1 || o->workers > 65536 || !o->fn ||
        (o->plan && (!o->topo || o->plan->nworkers < 1))) {
        rc = -EINVAL;
        goto err;
    }
    if (o->plan && o->plan->policy != CB_PIN_NONE && !cb_topo_is_this_system(o->topo)) {
        rc = -EXDEV;
        goto err;
    }
    size_t cap = o->capacity ? o->capacity : 1024;
    if (cap > ((size_t)1 << 24)) {
        rc = -EINVAL;
        goto err;
    }
    size_t nslots = 2;
    while (nslots < cap)
        nslots <<= 1;

    p = calloc(1, sizeof(*p));
    if (!p) {
        rc = -ENOMEM;
        goto err;
    }
    p->o = *o;
    p->parent = getpid();
    p->mask = nslots - 1;
    p->rsize = nslots < RING_MAX ? (uint32_t)nslots : RING_MAX;

    size_t off_slots = align_up(sizeof(shared_t), CACHELINE);
    size_t off_wr = off_slots + nslots * sizeof(slot_t);
    size_t off_entries = off_wr + (size_t)o->workers * sizeof(wrec_t);
    p->map_size = off_entries + (size_t)o->workers * p->rsize * sizeof(uint32_t);
    p->map = mmap(NULL, p->map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p->map == MAP_FAILED) {
        p->map = NULL;
        rc = -ENOMEM;
        goto err;
    }
    p->sh = p->map;
    p->slots = (slot_t *)((char *)p->map + off_slots);
    p->wr = (wrec_t *)((char *)p->map + off_wr);
    p->entries = (uint32_t *)((char *)p->map + off_entries);

    p->pids = malloc((size_t)o->workers * sizeof(*p->pids));
    if (!p->pids) {
        rc = -ENOMEM;
        goto err;
    }
    for (int w = 0; w < o->workers; w++)
        p->pids[w] = -1;
    p->nworkers = o->workers;
    for (int w = 0; w < o->workers; w++)
        if ((rc = spawn(p, w)) < 0)
            goto err;

    /* Return only when every worker is pinned and idle, so that the first
     * timed run does not pay for start-up. */
    shared_t *sh = p->sh;
    for (uint32_t n; (n = atomic_load(&sh->started)) < (uint32_t)o->workers;) {
        if (cb_futex_wait_shared(word(&sh->started), n, DEATH_POLL_NS) != -ETIMEDOUT)
            continue;
        /* A worker killed before it reported would keep us here. */
        for (int w = 0; w < o->workers; w++) {
            int st;
            if (waitpid(p->pids[w], &st, WNOHANG) != 0) {
                cb_children_untrack(p->pids[w]);
                p->pids[w] = -1;
                rc = -ECHILD;
                goto err;
            }
        }
    }
    for (int w = 0; w < o->workers; w++) {
        if ((rc = atomic_load(&p->wr[w].init_rc)) != 0)
            goto err;
    }
    return p;
err:
    if (p)
        pool_destroy(p);
    *err = rc;
    return NULL;
}

void cb_process_pool_free(cb_process_pool_t *p)
{
    if (p)
        pool_destroy(p);
}
