#ifndef CB_THREAD_POOL_H
#define CB_THREAD_POOL_H

/* A pool of W pre-started, optionally pinned threads fed through one bounded
 * lock-free queue (a multi-producer multi-consumer ring of task pointers, as
 * Dmitry Vyukov's bounded MPMC queue).
 *
 * Tasks are caller-owned cb_tp_task_t records (as libuv's uv_work_t), so
 * submitting allocates nothing. Idle workers spin briefly, then sleep on a
 * futex; submitters wake them only when some are asleep. A task's completion
 * callback runs in the worker thread that ran it, before the task counts as
 * done. */

#include <stddef.h>
#include <stdint.h>

#include "lib/exec/executor.h"
#include "lib/core/status.h"
#include "lib/core/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_thread_pool cb_thread_pool_t;

/* One task: the caller fills fn, arg and index and keeps the record alive
 * (unmoved) until it has been waited for (cb_thread_pool_wait, or
 * cb_thread_pool_wait_all). value holds the result after that. */
typedef struct cb_tp_task {
    cb_task_fn_t fn;
    void *arg;
    size_t index;
    uint64_t value;
    /* CB_OK, or CB_ERROR when the task ended its thread (pthread_exit)
     * instead of returning; the pool then starts a new worker in its place. */
    cb_status_t status;
    uint32_t done; /* internal: 0 pending, 1 done, 2 pending with a waiter */
} cb_tp_task_t;

typedef struct cb_thread_pool_opts {
    int workers;               /* W >= 1 */
    const cb_topo_t *topo;     /* needed when plan is set */
    const cb_pin_plan_t *plan; /* NULL: unpinned; worker w on slots[w % nworkers] */
    size_t queue_capacity;     /* ring entries, rounded up to a power of two; 0: 1024 */
    /* Optional: callback(callback_arg, index, value), in the worker. It must
     * not wait for tasks; it may submit, but a submit into a full queue
     * blocks that worker until another one makes room. */
    cb_callback_fn_t callback;
    void *callback_arg;
} cb_thread_pool_opts_t;

/* Starts the workers, pinned at creation, and returns once every one of them
 * is running. Returns NULL with *err = negative errno (-EINVAL for a bad
 * option, -EXDEV when the plan's topology is not this machine). */
cb_thread_pool_t *cb_thread_pool_new(const cb_thread_pool_opts_t *opts, int *err);

/* Queues one task; blocks while the queue is full. Any thread may submit.
 * Returns 0, or -ESHUTDOWN once the pool is being freed. */
int cb_thread_pool_submit(cb_thread_pool_t *p, cb_tp_task_t *t);

/* Queues n tasks (tasks[0..n-1]) and wakes sleeping workers once per batch
 * rather than per task. Blocks while the queue is full. Returns 0 or
 * -ESHUTDOWN. */
int cb_thread_pool_submit_many(cb_thread_pool_t *p, cb_tp_task_t *tasks, size_t n);

/* Waits until t has run (its callback included). At most one waiter per
 * task. */
void cb_thread_pool_wait(cb_thread_pool_t *p, cb_tp_task_t *t);

/* Waits until every task submitted so far has run. */
void cb_thread_pool_wait_all(cb_thread_pool_t *p);

/* Number of worker threads. */
int cb_thread_pool_workers(const cb_thread_pool_t *p);

/* Shuts down: queued tasks still run, then the workers exit and are joined.
 * NULL is a no-op. Not concurrently with submit. */
void cb_thread_pool_free(cb_thread_pool_t *p);

#ifdef __cplusplus
}
#endif
#endif
