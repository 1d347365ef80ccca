#ifndef CB_CALLBACKS_H
#define CB_CALLBACKS_H

/* The measurable part of the `pool_callbacks` experiment (E8 of the
 * tutorials): where a pool runs its completion callbacks, and what a slow
 * or blocked one costs the other results. */

#include <stddef.h>
#include <stdint.h>

#include "lib/core/experiment.h"
#include "lib/exec/executor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The executors that run completion callbacks (cfg->callback), for an
 * axis (names_fn). */
size_t cb_callbacks_pool_names(const cb_name_t **out);

typedef struct cb_callbacks_cfg {
    const cb_executor_t *executor; /* thread_pool or process_pool */
    const cb_topo_t *topo;
    const cb_pin_plan_t *plan; /* NULL: unpinned */
    int workers;
    size_t tasks;
    uint64_t task_ns;     /* each task waits this long */
    uint64_t callback_ns; /* each callback waits this long... */
    long blocked;         /* ...except task `blocked`'s (-1: none), */
    uint64_t blocked_ns;  /* which waits this long */
} cb_callbacks_cfg_t;

typedef struct cb_callbacks_result {
    double wall_s;         /* the executor's run: submit to the last callback */
    double callbacks_s;    /* the first task's end to the last callback's end */
    double result_wait_s;  /* longest a finished task (other than the blocked
                              one) waited for its callback to start */
    int callback_peak;     /* most callbacks running at once */
    size_t in_task_thread; /* callbacks run by the thread that ran their task */
    size_t in_caller;      /* callbacks run by the thread that called run */
} cb_callbacks_result_t;

/* Runs cfg->tasks waiting tasks on a pool with a waiting completion
 * callback, and times when each task ended and its callback started and
 * ended (one monotonic clock, shared memory, so process-pool workers can
 * report). The pool is started before and stopped after the timed run.
 * Returns 0, or a negative errno (-EIO: a task failed, returned a wrong
 * value or its callback did not run). */
int cb_callbacks_run(const cb_callbacks_cfg_t *cfg, cb_callbacks_result_t *res);

#ifdef __cplusplus
}
#endif
#endif
