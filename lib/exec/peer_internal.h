#ifndef CB_PEER_INTERNAL_H
#define CB_PEER_INTERNAL_H

/* What the library executors share (openmp, tbb, gthreadpool, uv_pool: the
 * pools users would pick instead of ours). Their worker threads belong to
 * the library, which starts them when and where it likes, so:
 *
 *  - pinning happens in the worker itself: open hands every worker a
 *    first task that waits at a barrier until all W have one, so that each
 *    takes a slot, binds to it and is noted before anything is timed (and
 *    the library has started all its threads); a thread binds again only
 *    when its PU changes (TBB's observer, at each entry to the arena), and
 *    an unpinned open gives a thread pinned by an earlier one its original
 *    CPU set back;
 *  - close waits until the noted threads have left the process where the
 *    library ends them without a join (GLib, libgomp), so that none is
 *    still on its way out when the caller forks or counts threads;
 *  - a task that ends its worker thread (pthread_exit) cannot be survived:
 *    none of these libraries replaces a worker, and each would wait for it
 *    forever (libgomp at the region's barrier, GLib and libuv for the work
 *    item). A thread-specific key's destructor sees such a thread on its
 *    way out and ends the process with one line on stderr, which is what
 *    fault_exit does on a main thread: the sandbox records the measurement
 *    as an error instead of a timeout;
 *  - a run waits for its tasks through a latch when the library has no
 *    wait of its own (GLib).
 *
 * Usable from C and C++ (exec_tbb.cc): plain fields and __atomic builtins,
 * no <stdatomic.h>. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/exec/executor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sanitizers ---- */

/* ThreadSanitizer sees only the synchronisation of instrumented code and
 * of the pthread calls it intercepts. A library that hands work over
 * through its own futexes or atomics (libgomp's barriers, TBB's scheduler,
 * GLib's GMutex and GAsyncQueue) looks, under it, as if every task raced
 * with its caller: under TSan such an executor says so as its unavailable
 * reason instead of failing every test. */
#if defined(__SANITIZE_THREAD__)
#define CB_PEER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CB_PEER_TSAN 1
#endif
#endif
#ifndef CB_PEER_TSAN
#define CB_PEER_TSAN 0
#endif

/* ---- pinning ---- */

typedef struct cb_peer_pin {
    const cb_topo_t *topo;
    const cb_pin_plan_t *plan; /* NULL: unpinned */
    unsigned gen;              /* this open's generation (cb_peer_pin_claim) */
    unsigned next;             /* slots claimed so far (__atomic) */
    int err;                   /* the first binding error, 0 (__atomic) */
    int nworkers;              /* W */
    pid_t *tids;               /* W: the thread of each slot once taken, else 0 */
} cb_peer_pin_t;

/* For open(): the plan of cfg (NULL when unpinned), W slots and a new
 * generation. Returns 0 or -ENOMEM. */
int cb_peer_pin_init(cb_peer_pin_t *p, const cb_exec_cfg_t *cfg);
void cb_peer_pin_free(cb_peer_pin_t *p);

/* On a worker thread: notes it as slot `slot`'s and binds it to that plan
 * slot (unpinned: back to the CPU set it had before its first binding). A
 * binding that fails is kept in p->err (see cb_peer_pin_error) and the
 * thread stays where it was. */
void cb_peer_pin_slot(cb_peer_pin_t *p, int slot);

/* For close(): waits, at most timeout_ns, until every noted thread has left
 * the process (/proc/self/task/TID is gone). */
void cb_peer_pin_wait_gone(const cb_peer_pin_t *p, uint64_t timeout_ns);

/* The generation this thread last claimed a slot for. */
extern __thread unsigned cb_peer_tls_gen __attribute__((tls_model("initial-exec")));

void cb_peer_pin_claim_slow(cb_peer_pin_t *p);

/* On a worker thread of a library that does not number its threads (GLib,
 * libuv), before each task: the first time in this open, takes the next
 * slot (round robin over the plan) and binds to it; after that, one
 * compare. */
static inline void cb_peer_pin_claim(cb_peer_pin_t *p)
{
    if (cb_peer_tls_gen != p->gen)
        cb_peer_pin_claim_slow(p);
}

/* 0, or the first negative errno a binding of this open returned. */
static inline int cb_peer_pin_error(const cb_peer_pin_t *p)
{
    return __atomic_load_n(&p->err, __ATOMIC_ACQUIRE);
}

/* ---- a task in flight ---- */

/* The executor and index of the task this thread runs (NULL: none). */
extern __thread const char *cb_peer_tls_exec __attribute__((tls_model("initial-exec")));
extern __thread size_t cb_peer_tls_index __attribute__((tls_model("initial-exec")));
extern __thread int cb_peer_tls_armed __attribute__((tls_model("initial-exec")));

/* Arms this thread's exit watch (once per thread). */
void cb_peer_arm_slow(void);

/* Around each task call: marks the thread as inside task i of executor
 * `exec` (a static name), so that a pthread_exit from the task is caught
 * on the thread's way out. Two thread-local stores per task. */
static inline void cb_peer_task_begin(const char *exec, size_t i)
{
    if (!cb_peer_tls_armed)
        cb_peer_arm_slow();
    cb_peer_tls_index = i;
    cb_peer_tls_exec = exec;
}

static inline void cb_peer_task_end(void)
{
    cb_peer_tls_exec = NULL;
}

/* A task ended its worker thread (what the exit watch calls, and TBB's
 * wrapper on catching the forced unwind): one line on stderr naming the
 * task and the library, then _exit(1). Never returns. */
void cb_peer_lost_worker(const char *exec, size_t index) __attribute__((noreturn));

/* ---- open's barrier ---- */

/* n threads wait for one another: each worker's first task in open. */
typedef struct cb_peer_barrier {
    unsigned n;
    unsigned arrived; /* __atomic */
    uint32_t word;    /* 1 once all have arrived */
} cb_peer_barrier_t;

void cb_peer_barrier_init(cb_peer_barrier_t *b, unsigned n);

/* Arrives, and waits until all n have (at most timeout_ns from this call:
 * a library that keeps a thread away does not hang open). Returns 0 or
 * -ETIMEDOUT. */
int cb_peer_barrier_wait(cb_peer_barrier_t *b, uint64_t timeout_ns);

/* ---- waiting for a run ---- */

/* Counts finished tasks; the waiter sleeps on a futex until the count is
 * reached, and only the last task wakes it. */
typedef struct cb_peer_latch {
    size_t done;   /* __atomic */
    size_t target; /* set before the tasks are handed out */
    uint32_t word; /* 0 while the run lasts, 1 once done == target */
} cb_peer_latch_t;

/* Before handing out n tasks. */
void cb_peer_latch_reset(cb_peer_latch_t *l, size_t n);

/* After a task: one atomic add; the last one wakes the waiter. */
void cb_peer_latch_count(cb_peer_latch_t *l);

/* Waits until every task has counted (acquire: their results are seen). */
void cb_peer_latch_wait(cb_peer_latch_t *l);

#ifdef __cplusplus
}
#endif
#endif
