#ifndef CB_MATRIX_H
#define CB_MATRIX_H

/* The executor x workload measurement that cpu_vs_io and scaling share:
 * one configuration runs one workload's tasks under one executor and
 * reports wall_s, user_s, sys_s, vol_cs, invol_cs. */

#include "lib/exec/executor.h"
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
    cb_pin_plan_t plan; /* for the configuration's worker count */
    int workers;
    uint64_t gil_interval_ns; /* 0: no lock emulation */
} cb_matrix_t;

/* The cb_config_t.measure of such a configuration (ctx: cb_matrix_t). */
int cb_matrix_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

/* Splits "thread+gil" into the executor and the lock flag. Returns the
 * executor, or NULL when the base name is unknown. */
const cb_executor_t *cb_matrix_parse_name(const char *name, int *gil);

/* Prints the --list output: executors, workloads, and the fault workloads
 * under their own heading, each with its one-line summary or why it is
 * unavailable. */
void cb_matrix_list(FILE *out);

#ifdef __cplusplus
}
#endif
#endif
