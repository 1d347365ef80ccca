#ifndef CB_PYREF_H
#define CB_PYREF_H

/* The py_* executors' registry, and the driver of bench:work's CPython
 * rows (--py-task): scripts/python_reference.py's standalone command line
 * runs the user's function with CPython's own constructs (threading,
 * multiprocessing, concurrent.futures, asyncio) once per repetition, as a
 * tracked child, and its rows (executors py_*) join the C rows of the same
 * repetition. (cpu_vs_io's CPython rows go through the shared driver,
 * lib/core/python.h, and the script's cb_py protocol.) */

#include <stdint.h>

#include "lib/core/experiment.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The py_* executors, for an axis (names_fn). */
size_t cb_pyref_names(const cb_name_t **out);

/* 1 when name is a py_* executor. */
int cb_pyref_is_py(const char *name);

typedef struct cb_pyref {
    const char *experiment;
    char *python; /* NULL: not found */
    char *script;
    char execs[256], wls[128]; /* comma lists selected */
    long tasks, workers;
    uint64_t py_iters; /* the cpu workload's increments per task (0: none) */
    double io_ms, io_jitter;
    double timeout_s; /* per configuration (the run's --timeout); 0: none */
    /* The user's function (workload py_task): MODULE:FUNCTION, the folder
     * it is imported from, its extra arguments as JSON; NULL: none. */
    const char *py_task, *py_path, *py_args;
    const char *why;        /* set when the rows cannot be measured */
    cb_status_t why_status; /* and then their status: skipped (no python3,
                               no script) or error/timeout/crashed */
    char why_buf[192];
} cb_pyref_t;

/* Adds the py_* executor or workload name to the selection (once). */
void cb_pyref_select(char *list, size_t len, const char *name);

/* Runs the reference once (rep < 0: a warm-up, no rows) and adds its rows,
 * as a measured configuration: under the timeout (the configurations'
 * limit times their number), its process tree killed with it, and a run
 * that fails, dies of a signal, hangs or writes an unreadable CSV recorded
 * as `error`, `crashed` or `timeout` with the reason. Returns 0 or a
 * negative errno. */
int cb_pyref_rep(cb_pyref_t *p, int rep, cb_results_t *r);

/* Checks --py-task before the run: the script imports the module from
 * py_path, finds the function and parses py_args. Returns 0, or -1 with
 * the script's one line in why (a missing python3 or script too). */
int cb_pyref_check_task(cb_pyref_t *p, const char *argv0, char *why, size_t len);

void cb_pyref_free(cb_pyref_t *p);

/* What a CPython helper script's cb_helper_run status (rc) means for its
 * rows: CB_OK, or the status (timeout, crashed, error) with the reason in
 * why, naming the script, and for an exit status the last line it wrote to
 * errpath (NULL: none). For the drivers of other scripts (ipc's). */
cb_status_t cb_pyref_status(const char *script, int rc, double limit_s, const char *errpath,
                            char *why, size_t len);

#ifdef __cplusplus
}
#endif
#endif
