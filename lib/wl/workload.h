#ifndef CB_WORKLOAD_H
#define CB_WORKLOAD_H

/* Workloads: what a task does. One file per workload (wl_<name>.c) defining
 * one cb_workload_t, listed once in workload.c's registry. Tasks wait only
 * through task_env.h, so the same task runs under every executor. */

#include <stddef.h>
#include <stdint.h>

#include "lib/core/task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_wl_params {
    size_t tasks;
    uint64_t cpu_iters;  /* cpu: increments per task */
    uint64_t io_ns;      /* io: sleep per task */
    double io_jitter;    /* io: each sleep drawn in [io_ns*(1-j), io_ns*(1+j)] */
    uint64_t seed;       /* for jitter */
    double io_fraction;  /* mixed: share of the task's time spent waiting */
    size_t file_bytes;   /* io_file: bytes per task */
    const char *tmp_dir; /* io_file: where its temp dir goes */
    uint64_t size;       /* a registered workload's own size knob (0: its default) */
    const char *arg;     /* a registered workload's own string argument (or NULL) */
    const void *impl;    /* set by the caller to the workload's impl before setup */
} cb_wl_params_t;

typedef struct cb_workload {
    const char *name;
    const char *summary;
    int fault;                        /* 1: harness self-test (fault_*), never run by default */
    const char *(*unavailable)(void); /* optional */
    /* Untimed: builds the per-configuration argument (before any fork).
     * Returns 0 or a negative errno. */
    int (*setup)(const cb_wl_params_t *p, void **arg);
    cb_task_fn_t task;
    /* 0 when value is what task `index` must return, else -1. */
    int (*check)(void *arg, size_t index, uint64_t value);
    void (*teardown)(void *arg); /* optional */
    /* Optional: why value is wrong for task index, in words ("exited 1:
     * gzip: x: No such file"), for the row's detail. */
    void (*explain)(void *arg, size_t index, uint64_t value, char *buf, size_t len);
    const void *impl; /* a registered workload's own definition (cb_wl_params_t.impl) */
} cb_workload_t;

extern const cb_workload_t *const cb_workloads[];
extern const size_t cb_workload_count;
/* Finds a workload of the registry or one registered at run time. */
const cb_workload_t *cb_workload_find(const char *name);

/* Registers a workload at run time (a user's, lib/user): found by
 * cb_workload_find, listed by cb_workload_registered. The definition must
 * outlive the run. Returns 0, -EEXIST for a name already taken, -EINVAL
 * for a definition without name, task or check, -ENOMEM. */
int cb_workload_register(const cb_workload_t *w);
/* The workloads registered at run time, in registration order. */
size_t cb_workload_registered(const cb_workload_t *const **out);

/* CPU nanoseconds (this thread's clock) one task of the workload takes
 * here, set up and torn down around it; 0 on error. CPU time, not wall
 * time: on a busy machine the wall clock also counts the time other
 * programs had the PU. Untimed, for sizing before a run. */
uint64_t cb_workload_task_ns(const cb_workload_t *w, const cb_wl_params_t *p);

/* Increments of the cpu workload that take about task_ms of CPU here:
 * grows a run to at least 20 ms, then keeps the fastest of 5 runs of that
 * size (the first runs can be slow while the clock frequency ramps up) and
 * scales it. 0 on error. */
uint64_t cb_workload_cpu_calibrate(double task_ms);

#ifdef __cplusplus
}
#endif
#endif
