#ifndef CB_EXEC_INTERNAL_H
#define CB_EXEC_INTERNAL_H

/* What the executors (exec_*.c) share: the pin slot of a worker, one task
 * call (inside the interpreter lock when it is on), the checks every open()
 * makes, and pinning the calling thread for the executors that run on it. */

#include <sched.h>

#include "lib/exec/executor.h"
#include "lib/exec/gil.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The PU worker w runs on, -1 when unpinned. */
static inline int cb_exec_pu(const cb_exec_cfg_t *cfg, size_t w)
{
    if (!cfg->plan)
        return -1;
    return cfg->plan->slots[w % (size_t)cfg->plan->nworkers].pu_os;
}

/* Runs task i, between cb_gil_task_begin and _end when gil is set. */
static inline uint64_t cb_exec_call(const cb_exec_cfg_t *cfg, cb_gil_t *gil, size_t i)
{
    if (!gil)
        return cfg->fn(cfg->arg, i);
    cb_gil_task_begin(gil);
    uint64_t v = cfg->fn(cfg->arg, i);
    cb_gil_task_end(gil);
    return v;
}

/* 0 when cfg can run: a task function, a plan with its topology, a topology
 * that is this machine when there is a plan (-EXDEV otherwise), and W >= 1
 * when need_workers. Else a negative errno. */
int cb_exec_check(const cb_exec_cfg_t *cfg, int need_workers);

/* The calling thread's affinity before cb_exec_pin_caller. */
typedef struct cb_exec_caller_pin {
    int pinned;
    cpu_set_t saved;
} cb_exec_caller_pin_t;

/* Pins the calling thread to plan slot 0 (no-op without a plan), saving its
 * affinity in *s. Returns 0 or a negative errno. */
int cb_exec_pin_caller(const cb_exec_cfg_t *cfg, cb_exec_caller_pin_t *s);

/* Restores the affinity saved by cb_exec_pin_caller, on the same thread. */
void cb_exec_unpin_caller(cb_exec_caller_pin_t *s);

#ifdef __cplusplus
}
#endif
#endif
