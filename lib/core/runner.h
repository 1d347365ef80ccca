#ifndef CB_RUNNER_H
#define CB_RUNNER_H

/* The experiment driver every bench binary shares.
 *
 * An experiment is a list of configurations, each with the metrics it
 * reports and a measure function. The runner runs warm-ups, then the
 * measured repetitions with the configurations interleaved (every
 * repetition runs each configuration once, in an order rotated per
 * repetition, so drift hits all alike). Each measurement runs in a sandbox
 * child (sandbox.h) under the per-configuration timeout, so a crash or hang
 * costs one row, not the run. Every sample is kept. At the end (or on
 * SIGINT / SIGTERM, with what was completed) it writes E.csv,
 * E.summary.csv and E.meta atomically, renders plots/E.gp with gnuplot,
 * appends to --history, and prints a table. */

#include <stdio.h>

#include "lib/core/cli.h"
#include "lib/core/counters.h"
#include "lib/core/facts.h"
#include "lib/core/results.h"
#include "lib/core/status.h"
#include "lib/core/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CB_MAX_METRICS 8

typedef struct cb_metric_def {
    const char *name; /* "wall_s" */
    const char *unit; /* "s" */
} cb_metric_def_t;

/* Filled by a measure function, in the sandbox child's shared memory.
 * values[i] belongs to the configuration's metrics[i]; NaN: not measured. */
typedef struct cb_measurement {
    double values[CB_MAX_METRICS];
    cb_status_t status;
    char detail[96];
    cb_counts_t counts; /* the kernel's counters over the timed region (counters.h) */
} cb_measurement_t;

typedef struct cb_config cb_config_t;
struct cb_config {
    cb_config_key_t key;            /* experiment is filled in by the runner */
    const cb_metric_def_t *metrics; /* nmetrics entries, the first is the primary */
    int nmetrics;
    /* Runs once per repetition, in a forked child. Fills m (status defaults
     * to CB_OK, values to NaN). Returns 0, or a negative errno (then the
     * row is `error` with m->detail). */
    int (*measure)(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);
    void *ctx;
    double timeout_s; /* 0: the experiment's */
    /* Set when the kernel's counters would change what is measured: the
     * reason (their rows are then `skipped` with it). Counting inherits
     * into every thread and process made after it starts, and each clone
     * copies the counters: a measurement of creating units pays for that. */
    const char *no_counters;
    /* A CPython point (an executor py_*): build() fills key and metrics and
     * leaves measure NULL; the declaration's script (cb_python_def_t)
     * measures it, once per repetition with every other CPython point of the
     * run, on python_plan's PUs (NULL: unpinned). */
    int python;
    const struct cb_pin_plan *python_plan;
    /* > 0: measured in the first `reps` repetitions only, and in no
     * warm-up (a configuration that warms up inside its own measurement,
     * as echo's CPython servers do, and would otherwise lengthen the run
     * too much); 0: in every one. */
    int reps;
    /* For --tutorial's estimate: the seconds one measurement of it should
     * take here (its waits, its work at a known rate); 0: not counted. */
    double expected_s;
};

typedef struct cb_experiment {
    const char *name; /* "cpu_vs_io": the files' stem and plots/NAME.gp */
    const char *plot; /* the plot's stem when it is not name (NULL: name) */
    cb_config_t *configs;
    size_t nconfigs;
    int reps, warmup;   /* defaults, overridden by --reps / --warmup */
    double timeout_s;   /* default per-configuration limit */
    int derive_speedup; /* add speedup / efficiency rows vs serial */
    /* Optional: runs once per repetition after the configurations, in the
     * harness process, adding its own rows (e.g. the Python reference).
     * rep < 0 for warm-ups (rows must not be added then). Returns 0 or a
     * negative errno (reported, the run goes on). */
    int (*per_rep)(int rep, cb_results_t *r, const cb_opts_t *o, void *ctx);
    void *per_rep_ctx;
    /* Optional: after the files are written, prints the experiment's own
     * verdict in words (to out), and adds its figures to facts (for the
     * json export). */
    void (*verdict)(const cb_results_t *r, FILE *out, void *ctx);
    void *verdict_ctx;
    cb_facts_t facts; /* the verdict's facts; freed by cb_runner_run */
    /* Optional extra meta keys (NULL-terminated key, value pairs). */
    const char *const *meta;
    /* The meta keys that decide what is measured (NULL-terminated; the
     * declaration's flags): --append refuses a base whose .meta differs in
     * any of them. */
    const char *const *params;
} cb_experiment_t;

/* Runs the experiment and returns the exit status of the contract. */
int cb_runner_run(cb_experiment_t *e, const cb_opts_t *o, const cb_topo_t *t, int argc,
                  char **argv);

/* The common start of every bench main(): parses flags, loads the topology,
 * handles --help/--version/--plan and topology checks. Returns -1 to go on
 * (then *topo is loaded), or an exit status to return (then o is already
 * freed with cb_cli_free, and *topo untouched). For --plan, prints
 * the plan for the largest worker count. --list is left to the caller. */
int cb_runner_start(const cb_cli_spec_t *spec, int argc, char **argv, cb_opts_t *o,
                    cb_topo_t **topo);

/* Makes the pin plan for a worker count under the options' policy. Returns
 * 0, or CB_EXIT_USAGE after printing the reason. */
int cb_runner_plan(const cb_opts_t *o, const cb_topo_t *t, int workers, cb_pin_plan_t *plan);

/* The --pin column value: "none", "compact", "scatter" or the list as given. */
const char *cb_runner_pin_name(const cb_opts_t *o);

/* Finds a file shipped with the binary (plots/E.gp, scripts/...): looks in
 * the runfiles tree, then the workspace, then the current directory.
 * Returns a malloc'ed path, or NULL when not found. */
char *cb_runner_find_data(const char *argv0, const char *rel);

/* 1 once SIGINT or SIGTERM arrived (the runner stops between
 * configurations). */
int cb_runner_interrupted(void);

#ifdef __cplusplus
}
#endif
#endif
