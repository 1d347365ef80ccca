#ifndef CB_PYTHON_H
#define CB_PYTHON_H

/* The CPython side of a declaration (cb_python_def_t in experiment.h),
 * driven for cb_experiment_main: the interpreter's choice, the script run
 * once per repetition for every CPython point, its rows merged beside the
 * C rows. The protocol the scripts speak is in scripts/cb_py.py. */

#include "lib/core/experiment.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_python_run cb_python_run_t;

/* The state and the two flags (--no-python, --python PATH) of a
 * declaration that has a CPython side: NULL when it has none (or out of
 * memory: *oom set). */
cb_python_run_t *cb_python_new(const cb_experiment_def_t *d, int *oom);

/* The flags it adds to the command line: fills up to 2 entries of extra
 * and returns how many. */
size_t cb_python_flags(cb_python_run_t *p, cb_cli_extra_t *extra);

/* After the points are built: moves the CPython points out of cfgs (n
 * updated) into the run, chooses the interpreter (meta python,
 * python_version) and finds the script. Returns 0 or -ENOMEM. */
int cb_python_setup(cb_exp_t *x, cb_config_t *cfgs, size_t *n);

/* How many CPython points the run has. */
size_t cb_python_points(const cb_exp_t *x);

/* Runs the script for a measured repetition (rep >= 0; nothing for a
 * warm-up: each script warms up in its own calibration) and adds its rows,
 * or every point's rows failed with the reason. Returns 0 or -ENOMEM. */
int cb_python_rep(cb_exp_t *x, int rep, cb_results_t *r);

/* For --tutorial's estimate: the CPython points' expected_s over the
 * repetitions the script runs in (of reps), and an interpreter's start
 * each; 0 without CPython points. */
double cb_python_expected_s(const cb_exp_t *x, int reps);

void cb_python_free(cb_python_run_t *p);

/* An extra --param KEY=VALUE for the CPython side's calibration and every
 * repetition, given after the flags' (the script keeps the last value of a
 * key: a flag's may be restated more precisely than meta's %g). From
 * prepare or the calibrate hook. Returns 0, -EINVAL (no CPython side, or a
 * key that is empty or holds '=') or -ENOMEM. */
int cb_python_param(cb_exp_t *x, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads a calibration's output: KEY=VALUE lines (blank ones ignored; a
 * key of letters, digits and '_'), each passed to add(ctx, key, value).
 * Returns how many, or -1 with the offending line in bad (up to len). For
 * the driver and its tests. */
int cb_python_parse_calibration(const char *out, int (*add)(void *, const char *, const char *),
                                void *ctx, char *bad, size_t len);

/* What a CPython script's cb_helper_run status (rc) means for its rows:
 * CB_OK, or the status (timeout, crashed, error) with the reason in why,
 * naming the script, and for an exit status the last line it wrote to
 * errpath (NULL: none). */
cb_status_t cb_python_status(const char *script, int rc, double limit_s, const char *errpath,
                             char *why, size_t len);

/* The last non-empty line of a file, without its newline ("" when none). */
void cb_python_last_line(const char *path, char *out, size_t len);

/* The reading of an interpreter's probe ("3.11.2\tgevent,greenlet"):
 * version and missing modules into the buffers. Returns 0, or -1 when
 * the line is not a probe's answer. For tests. */
int cb_python_parse_probe(const char *line, int *major, int *minor, char *missing,
                          size_t missing_len);

#ifdef __cplusplus
}
#endif
#endif
