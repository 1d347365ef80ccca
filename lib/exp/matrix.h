#ifndef CB_MATRIX_H
#define CB_MATRIX_H

/* The executor x workload measurement that cpu_vs_io and scaling share:
 * one configuration runs one workload's tasks under one executor and
 * reports wall_s, user_s, sys_s, vol_cs, invol_cs. */

#include "lib/exec/executor.h"
#include "lib/core/experiment.h"
#include "lib/core/runner.h"
#include "lib/wl/workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The metrics every executor x workload configuration reports. */
extern const cb_metric_def_t cb_matrix_metrics[];
extern const int cb_matrix_nmetrics;

typedef struct cb_matrix {
    const cb_executor_t *executor;
    const cb_workload_t *workload;
    cb_wl_params_t params;
    const cb_topo_t *topo;
    const cb_pin_plan_t *plan; /* for the configuration's worker count (the run owns it) */
    int workers;
    uint64_t gil_interval_ns; /* 0: no lock emulation */
} cb_matrix_t;

/* The cb_config_t.measure of such a configuration (ctx: cb_matrix_t). */
int cb_matrix_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

/* Splits "thread+gil" into the executor and the lock flag. Returns the
 * executor, or NULL when the base name is unknown. */
const cb_executor_t *cb_matrix_parse_name(const char *name, int *gil);

/* Axes of the executor x workload experiments (names_fn): every executor
 * of the registry and NAME+gil for each parallel one; the same with the
 * CPython reference's py_* rows; the workloads of the registry (fault_*
 * hidden). */
size_t cb_matrix_executor_names(const cb_name_t **out);
size_t cb_matrix_executor_names_py(const cb_name_t **out);
size_t cb_matrix_workload_names(const cb_name_t **out);

/* build() of such a point: the executor named at the point (NAME+gil: with
 * the lock), the workload, pt->workers workers pinned by the point's pin
 * choice (serial: 1), cfg->ctx a cb_matrix_t. Returns as build() does. */
int cb_matrix_build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg,
                    const cb_wl_params_t *params, long workers);

#ifdef __cplusplus
}
#endif
#endif
