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

void cb_peer_pin_init(cb_peer_pin_t *p, const cb_exec_cfg_t *cfg)
{
    *p = (cb_peer_pin_t){
        .topo = cfg->topo,
        .plan = cfg->plan,
        .gen = __atomic_add_fetch(&peer_gen, 1, __ATOMIC_RELAXED),
    };
    if (p->gen == 0) /* wrapped: 0 is a fresh thread's */
        p->gen = __atomic_add_fetch(&peer_gen, 1, __ATOMIC_RELAXED);
}

static void pin_failed(cb_peer_pin_t *p, int rc)
{
    int zero = 0;
    __atomic_compare_exchange_n(&p->err, &zero, rc, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void cb_peer_pin_slot(cb_peer_pin_t *p, int slot)
{
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
    int slot = p->plan ? (int)__atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED) : -1;
    cb_peer_pin_slot(p, slot);
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
