#ifndef CB_CLI_H
#define CB_CLI_H

/* The command line every bench binary shares (the contract's flags), parsed
 * with getopt_long. Bad input is refused before anything runs: one line on
 * stderr naming the bad value and what is allowed, and exit status 2.
 *
 * An experiment adds its own flags through cb_cli_extra_t rows. */

#include <stddef.h>
#include <stdint.h>

#include "lib/core/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exit statuses of the contract. */
enum {
    CB_EXIT_OK = 0,
    CB_EXIT_NORUN = 1, /* could not run: a failure before anything was measured */
    CB_EXIT_USAGE = 2,
    CB_EXIT_FAILED = 3,
    CB_EXIT_REGRESSION = 4,
    CB_EXIT_NOTHING = 5, /* compare: nothing was compared (a gate that checks nothing) */
    CB_EXIT_INTERRUPTED = 130,
};

typedef enum {
    CB_WORKERS_CORES = 0, /* the default */
    CB_WORKERS_PUS,
    CB_WORKERS_LIST,
} cb_workers_kind_t;

typedef struct cb_cli_extra {
    const char *name;    /* long option name, without "--" */
    int has_arg;         /* 0 or 1 */
    const char *metavar; /* shown in --help, e.g. "US" */
    const char *help;    /* one line */
    /* Parses and stores the value (arg is NULL when has_arg is 0). Returns 0,
     * or -1 after writing the one-line reason to err. */
    int (*set)(void *ctx, const char *arg, char *err, size_t errlen);
    void *ctx;
} cb_cli_extra_t;

typedef struct cb_opts {
    /* NULL: the experiment's default. Otherwise a NULL-terminated list. */
    char **executors;
    char **workloads;
    cb_workers_kind_t workers_kind;
    long *workers; /* CB_WORKERS_LIST: nworkers counts */
    size_t nworkers;
    long tasks; /* 0: the experiment's default */
    int reps;   /* -1: default */
    int warmup; /* -1: default */
    cb_pin_policy_t pin;
    int *pin_pus; /* CB_PIN_LIST */
    int npin_pus;
    char *pin_arg; /* as given, for the CSV's pin column */
    int plan, quick, no_plot, list, version, help, append;
    int no_counters;  /* --no-counters */
    int check_system; /* --check-system */
    char *out_dir;    /* NULL: results/ of the workspace */
    double timeout_s; /* 0: the experiment's default */
    char *history;    /* NULL: no history; "" never */
    char **exports;   /* --export FORMAT=FILE, as given (checked), NULL-terminated */
    size_t nexports;
    int gil_given; /* --gil given */
    double gil_interval_ms;
} cb_opts_t;

typedef struct cb_cli_spec {
    const char *prog;    /* "cpu_vs_io" */
    const char *summary; /* one line for --help */
    const cb_cli_extra_t *extra;
    size_t nextra;
    /* Names --executors / --workloads accept (NULL-terminated). NULL: any. */
    const char *const *executor_names;
    const char *const *workload_names;
} cb_cli_spec_t;

/* Parses argv into o. Returns 0 to go on, or an exit status to exit with now
 * (CB_EXIT_USAGE after printing the reason; CB_EXIT_OK after --help or
 * --version, which it prints). Checks names against spec's lists, counts
 * (positive, no trailing junk, no overflow) and the --out directory
 * (exists or can be created, writable). PU lists are checked against the
 * topology later, by cb_cli_check_topo. */
int cb_cli_parse(const cb_cli_spec_t *spec, int argc, char **argv, cb_opts_t *o);

/* Checks the options that need the topology (PU lists in the allowed set).
 * Returns 0 or CB_EXIT_USAGE after printing the line. */
int cb_cli_check_topo(const cb_opts_t *o, const cb_topo_t *t);

/* The worker counts to run: the list, or the detected allowed cores / PUs.
 * Returns a malloc'ed array and its length in *n, or NULL. */
long *cb_cli_worker_counts(const cb_opts_t *o, const cb_topo_t *t, size_t *n);

void cb_cli_free(cb_opts_t *o);

/* The names given with --executors / --workloads (given, NULL-terminated),
 * or the experiment's defaults when the flag was not given; *n is set to
 * their count. */
const char *const *cb_cli_names(char **given, const char *const *defaults, size_t *n);

/* Strict number parsing: the whole string, positive, within [lo, hi].
 * Return 0, or -1 after writing "--flag: bad value 'X': expected ..." to err. */
int cb_parse_long(const char *flag, const char *s, long lo, long hi, long *out, char *err,
                  size_t errlen);
int cb_parse_double(const char *flag, const char *s, double lo, double hi, double *out, char *err,
                    size_t errlen);

/* A comma list of counts, each within [lo, hi] (the one list parser: for
 * --workers, --connections, ...). On success *out (freed first) is a new
 * array of *n values; else -1 after writing "--flag: bad value 'X' in 'L':
 * expected counts from LO to HI separated by commas[, or ALSO]" to err. */
int cb_parse_long_list(const char *flag, const char *arg, long lo, long hi, const char *also,
                       long **out, size_t *n, char *err, size_t errlen);

/* Output directory: --out, else $BUILD_WORKSPACE_DIRECTORY/results under
 * `bazel run`, else ./results. Returned string is malloc'ed. */
char *cb_cli_out_dir(const cb_opts_t *o);

/* The git revision of the workspace (git rev-parse --short HEAD, "-dirty"
 * when modified), or "unknown". Static storage. */
const char *cb_git_revision(void);

#ifdef __cplusplus
}
#endif
#endif
