#ifndef CB_EXECUTOR_H
#define CB_EXECUTOR_H

/* Executors: the axis of every comparison. The same task function runs under
 * each; only the executor changes between two rows.
 *
 * A task is a function of its index returning a 64-bit result that the
 * caller checks, so no work is optimised away or silently lost. An executor
 * runs T tasks with W workers under a pin plan and reports each task's
 * status. Each executor is one file (exec_<name>.c) defining one
 * cb_executor_t, listed once in executor.c's registry. */

#include <stddef.h>
#include <stdint.h>

#include "lib/core/names.h"
#include "lib/core/status.h"
#include "lib/core/task.h"
#include "lib/core/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_exec_cfg {
    const cb_topo_t *topo;
    const cb_pin_plan_t *plan; /* NULL: unpinned; else plan->nworkers == workers */
    int workers;               /* W: pool size; ignored by serial/thread/process */
    size_t tasks;              /* T */
    cb_task_fn_t fn;
    void *arg;                 /* must exist before open() (process pools fork there) */
    cb_callback_fn_t callback; /* optional */
    void *callback_arg;
    /* Interpreter-lock emulation (see gil.h): 0 off, else the switch
     * interval in nanoseconds. One lock per process. */
    uint64_t gil_interval_ns;
} cb_exec_cfg_t;

typedef struct cb_executor {
    const char *name;    /* fixed by the contract: serial, thread, ... */
    const char *summary; /* one line for --list */
    /* 1: runs tasks on more than one CPU at once (the executors a scaling
     * sweep takes, and those with a NAME+gil row). */
    int parallel;
    /* 1: runs cfg->callback for each finished task (pool_callbacks takes
     * these). */
    int callbacks;
    /* What a task's worker is made of, as spawn measures its bare start:
     * "pthread", "fork" or "coroutine"; NULL when nothing is started
     * (serial). */
    const char *unit;
    /* 1: the workers outlive a run (a pool): spawn measures a submit and a
     * stream of tasks instead of a start. */
    int pool;
    /* Resident memory each task holds while a run lasts (an estimate: the
     * harness refuses, before running, a task count that cannot fit). */
    size_t task_bytes;
    /* 1: the library keeps one pool per process (libuv's): its threads
     * outlive close(), and the first open in a process fixes the worker
     * count; an open with another count is refused (-EBUSY) until the next
     * fork. The harness opens every configuration in a fresh sandbox
     * process, so only in-process callers (tests) meet this. */
    int per_process;
    /* NULL when usable on this host, else why not (for --list). */
    const char *(*unavailable)(void);
    /* Untimed set-up: pre-start pools. Optional (NULL). *state is passed to
     * run and close. Returns 0 or a negative errno (-EXDEV: the plan's
     * topology is not this machine). Executors that run tasks on the calling
     * thread (serial, coroutine) pin it here and restore its affinity in
     * close: call open, run and close from one thread. */
    int (*open)(const cb_exec_cfg_t *cfg, void **state);
    /* The timed part: runs cfg->tasks tasks to completion, filling results[i]
     * for each task (results holds cfg->tasks entries). Returns 0 when it
     * could run them (individual tasks may still have failed: see results),
     * or a negative errno. May run many times per open, with any number of
     * tasks; a run with more tasks than open saw grows the executor's arrays
     * inside the timed part. */
    int (*run)(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results);
    /* Untimed tear-down: stops pools, reaps processes. Optional. */
    void (*close)(void *state);
} cb_executor_t;

/* The registry, in the order --list shows. */
extern const cb_executor_t *const cb_executors[];
extern const size_t cb_executor_count;

/* NULL when no executor has this name. */
const cb_executor_t *cb_executor_find(const char *name);

/* Fills tab (up to cap rows) with the registry's executors that keep()
 * accepts (NULL: all), in registry order, for an experiment's axis.
 * Returns the count. */
size_t cb_executor_name_table(cb_name_t *tab, size_t cap, int (*keep)(const cb_executor_t *e));

/* 0 when tasks tasks at once fit this machine's memory by e's estimate
 * (task_bytes and a result each, within 80 % of MemAvailable), else -1
 * after writing "--tasks N needs about X GiB (...), this machine has ..."
 * to why. */
int cb_executor_fits(const cb_executor_t *e, size_t tasks, char *why, size_t len);

/* 1 when e can run on this host (its unavailable hook is absent or says
 * NULL), else 0. */
int cb_executor_available(const cb_executor_t *e);

/* open + run + close, for callers that do not time the parts separately. */
int cb_executor_run_all(const cb_executor_t *e, const cb_exec_cfg_t *cfg,
                        cb_task_result_t *results);

#ifdef __cplusplus
}
#endif
#endif
