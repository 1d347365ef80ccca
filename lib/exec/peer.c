/* What the library executors share: pinning from inside a library's
 * worker threads, the exit watch for a task that ends its thread, and the
 * latch a run waits on. See peer_internal.h. */

#include "lib/exec/peer_internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/exec/futex.h"

__thread unsigned cb_peer_tls_gen __attribute__((tls_model("initial-exec")));
__thread const char *cb_peer_tls_exec __attribute__((tls_model("initial-exec")));
__thread size_t cb_peer_tls_index __attribute__((tls_model("initial-exec")));
__thread int cb_peer_tls_armed __attribute__((tls_model("initial-exec")));

/* The PU this thread is bound to by us (-1: not bound by us), and the CPU
 * set it had before the first binding. */
static __thread int tls_pu = -1;
static __thread int tls_saved;
static __thread cpu_set_t tls_orig;

/* Generations start at 1, so a fresh thread (0) claims on its first task. */
static unsigned peer_gen;

/* This thread's id, read once. */
static __thread pid_t tls_tid;

int cb_peer_pin_init(cb_peer_pin_t *p, const cb_exec_cfg_t *cfg)
{
    *p = (cb_peer_pin_t){
        .topo = cfg->topo,
        .plan = cfg->plan,
        .gen = __atomic_add_fetch(&peer_gen, 1, __ATOMIC_RELAXED),
        .nworkers = cfg->workers,
        .tids = calloc((size_t)cfg->workers, sizeof(pid_t)),
    };
    if (p->gen == 0) /* wrapped: 0 is a fresh thread's */
        p->gen = __atomic_add_fetch(&peer_gen, 1, __ATOMIC_RELAXED);
    return p->tids ? 0 : -ENOMEM;
}

void cb_peer_pin_free(cb_peer_pin_t *p)
{
    free(p->tids);
    p->tids = NULL;
}

void cb_peer_pin_wait_gone(const cb_peer_pin_t *p, uint64_t timeout_ns)
{
    uint64_t waited = 0;
    for (int i = 0; p->tids && i < p->nworkers; i++) {
        pid_t tid = __atomic_load_n(&p->tids[i], __ATOMIC_ACQUIRE);
        if (tid <= 0)
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
        while (access(path, F_OK) == 0 && waited < timeout_ns) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
            waited += 200000;
        }
    }
}

static void pin_failed(cb_peer_pin_t *p, int rc)
{
    int zero = 0;
    __atomic_compare_exchange_n(&p->err, &zero, rc, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void cb_peer_pin_slot(cb_peer_pin_t *p, int slot)
{
    if (slot >= 0 && slot < p->nworkers) {
        if (!tls_tid)
            tls_tid = gettid();
        if (p->tids[slot] != tls_tid)
            __atomic_store_n(&p->tids[slot], tls_tid, __ATOMIC_RELEASE);
    }
    int want = -1;
    if (p->plan && slot >= 0)
        want = p->plan->slots[(size_t)slot % (size_t)p->plan->nworkers].pu_os;
    if (want == tls_pu)
        return;
    int rc = 0;
    if (!tls_saved) {
        rc = -pthread_getaffinity_np(pthread_self(), sizeof(tls_orig), &tls_orig);
        if (rc < 0) {
            pin_failed(p, rc);
            return;
        }
        tls_saved = 1;
    }
    if (want >= 0)
        rc = cb_pin_bind_thread(p->topo, want);
    else
        rc = -pthread_setaffinity_np(pthread_self(), sizeof(tls_orig), &tls_orig);
    if (rc < 0) {
        pin_failed(p, rc);
        return;
    }
    tls_pu = want;
}

void cb_peer_pin_claim_slow(cb_peer_pin_t *p)
{
    cb_peer_tls_gen = p->gen;
    cb_peer_pin_slot(p, (int)__atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED));
}

/* ---- open's barrier ---- */

void cb_peer_barrier_init(cb_peer_barrier_t *b, unsigned n)
{
    b->n = n;
    __atomic_store_n(&b->word, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&b->arrived, 0, __ATOMIC_RELEASE);
}

int cb_peer_barrier_wait(cb_peer_barrier_t *b, uint64_t timeout_ns)
{
    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) >= b->n) {
        __atomic_store_n(&b->word, 1, __ATOMIC_RELEASE);
        cb_futex_wake_private(&b->word, INT_MAX);
        return 0;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (__atomic_load_n(&b->word, __ATOMIC_ACQUIRE) == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t spent = (uint64_t)(now.tv_sec - t0.tv_sec) * 1000000000ull +
                         (uint64_t)now.tv_nsec - (uint64_t)t0.tv_nsec;
        if (spent >= timeout_ns)
            return -ETIMEDOUT;
        (void)cb_futex_wait_private(&b->word, 0, timeout_ns - spent);
    }
    return 0;
}

/* ---- the exit watch ---- */

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* Runs as a thread that armed the watch exits. Inside a task, the task
 * ended the thread: the library will wait for it forever. */
static void on_thread_exit(void *value)
{
    (void)value;
    if (cb_peer_tls_exec)
        cb_peer_lost_worker(cb_peer_tls_exec, cb_peer_tls_index);
}

static void make_key(void)
{
    if (pthread_key_create(&exit_key, on_thread_exit) != 0)
        abort();
}

void cb_peer_arm_slow(void)
{
    if (pthread_once(&exit_once, make_key) != 0)
        abort();
    /* Any non-NULL value: the destructor runs only for those. */
    if (pthread_setspecific(exit_key, &exit_key) != 0)
        abort();
    cb_peer_tls_armed = 1;
}

void cb_peer_lost_worker(const char *exec, size_t index)
{
    /* One line, from the first worker lost; another on its way out at the
     * same moment waits for that one's _exit. */
    static int said;
    if (__atomic_exchange_n(&said, 1, __ATOMIC_ACQ_REL))
        for (;;)
            pause();
    char line[256];
    int n = snprintf(line, sizeof(line),
                     "%s: task %zu ended its worker thread (pthread_exit); the library cannot "
                     "replace a worker and would wait for it forever, so this process ends\n",
                     exec, index);
    if (n > 0) {
        /* Nothing better to do when stderr is gone. */
        ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
        (void)w;
    }
    _exit(1);
}

/* ---- the latch ---- */

void cb_peer_latch_reset(cb_peer_latch_t *l, size_t n)
{
    l->target = n;
    __atomic_store_n(&l->word, n == 0, __ATOMIC_RELAXED);
    __atomic_store_n(&l->done, 0, __ATOMIC_RELEASE);
}

void cb_peer_latch_count(cb_peer_latch_t *l)
{
    if (__atomic_add_fetch(&l->done, 1, __ATOMIC_ACQ_REL) != l->target)
        return;
    __atomic_store_n(&l->word, 1, __ATOMIC_RELEASE);
    cb_futex_wake_private(&l->word, 1);
}

void cb_peer_latch_wait(cb_peer_latch_t *l)
{
    while (__atomic_load_n(&l->word, __ATOMIC_ACQUIRE) == 0)
        (void)cb_futex_wait_private(&l->word, 0, 0); /* 0 or -EINTR: look again */
    /* Every task's count, not only the last one's: the adds are one release
     * sequence, which the last add (acq_rel) reads from before it stores
     * the word this load acquires. */
}
