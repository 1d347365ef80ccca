#ifndef CB_PROCESS_POOL_H
#define CB_PROCESS_POOL_H

/* A pool of W pre-forked, optionally pinned worker processes fed through a
 * task queue in MAP_SHARED memory.
 *
 * The queue is an array of `capacity` task slots used as a ring: the parent
 * publishes ticket t in slot t % capacity and advances a shared tail; a
 * worker claims a slot with a compare-and-swap that records its own number in
 * the slot's state, so a worker that dies always leaves behind which task it
 * had. Workers report each finished task through a ring of their own (one
 * producer, one consumer: nothing is left half-written if a worker dies).
 * Idle workers and a waiting parent spin briefly, then sleep on shared
 * futexes; nobody makes a wake-up call unless someone sleeps.
 *
 * The parent (the process that made the pool, from one thread) collects the
 * results. Completion callbacks run there, one at a time, in the order the
 * parent sees tasks finish (exact per worker; across workers as observed), as
 * Python's ProcessPoolExecutor runs done-callbacks in its parent. A worker
 * that dies (signal, _exit) is noticed within ~10 ms: the task it ran is
 * recorded CB_CRASHED with the signal (or CB_ERROR when it exited), a new
 * worker is forked in its place, and the other tasks go on. */

#include <stddef.h>
#include <stdint.h>

#include "lib/exec/executor.h"
#include "lib/core/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_process_pool cb_process_pool_t;

typedef struct cb_process_pool_opts {
    int workers;               /* W >= 1 */
    const cb_topo_t *topo;     /* needed when plan is set */
    const cb_pin_plan_t *plan; /* NULL: unpinned; worker w on slots[w % nworkers] */
    /* What the workers run: fn(arg, index). Both must exist before the pool
     * is made: the workers see the parent's memory as it was at fork. */
    cb_task_fn_t fn;
    void *arg;
    /* Most tasks submitted and not yet collected (by wait or wait_all);
     * 0: 1024. */
    size_t capacity;
    /* Interpreter-lock emulation (gil.h) inside each worker: 0 off. */
    uint64_t gil_interval_ns;
    /* Optional, runs in the parent for each task that finished CB_OK. It
     * may submit more tasks, but must not wait (wait, wait_all, free). */
    cb_callback_fn_t callback;
    void *callback_arg;
} cb_process_pool_opts_t;

/* Forks the workers and returns once every one of them runs (pinned, with
 * its lock made). Returns NULL with *err = negative errno (-EINVAL for a bad
 * option, -EXDEV when the plan's topology is not this machine). */
cb_process_pool_t *cb_process_pool_new(const cb_process_pool_opts_t *opts, int *err);

/* Queues task `index`. Returns its ticket (>= 0), or -EAGAIN when capacity
 * tasks are uncollected (collect first), or -ESHUTDOWN. */
int64_t cb_process_pool_submit(cb_process_pool_t *p, size_t index);

/* Queues tasks first .. first+n-1, waking sleeping workers once per batch
 * rather than per task. Returns 0 or -EAGAIN (room for fewer than n: nothing
 * is queued). */
int cb_process_pool_submit_range(cb_process_pool_t *p, size_t first, size_t n);

/* Waits for one ticket and collects it into *res. Runs the callbacks of
 * whatever finishes meanwhile. Returns 0, or -EINVAL for a ticket that is
 * not outstanding. */
int cb_process_pool_wait(cb_process_pool_t *p, int64_t ticket, cb_task_result_t *res);

/* Waits until every submitted task has finished and collects them all:
 * results[index] for each (when index < nresults; results may be NULL).
 * Returns 0. */
int cb_process_pool_wait_all(cb_process_pool_t *p, cb_task_result_t *results, size_t nresults);

int cb_process_pool_workers(const cb_process_pool_t *p);

/* Workers forked to replace dead ones since the pool was made. */
uint64_t cb_process_pool_replaced(const cb_process_pool_t *p);

/* The pid of worker w (for tests and diagnostics). */
int cb_process_pool_worker_pid(const cb_process_pool_t *p, int w);

/* Stops the workers (uncollected tasks are abandoned: wait_all first),
 * gives them a second to exit, kills the rest, and reaps them all. NULL is a
 * no-op. */
void cb_process_pool_free(cb_process_pool_t *p);

#ifdef __cplusplus
}
#endif
#endif
