#ifndef CB_IPC_PY_H
#define CB_IPC_PY_H

/* ipc's CPython rows: scripts/python_ipc.py moves the same sizes of
 * messages with CPython's own constructs (queue.Queue between threads;
 * multiprocessing.Queue, Pipe, a Manager().list() proxy and shared_memory
 * between processes), once per repetition, as a tracked child under the
 * timeout, pinned as the C rows; its rows (executors py_thread, py_process)
 * join the C rows of the same repetition. */

#include "lib/core/experiment.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The py_* executors, and the CPython mechanisms (queue is also a C
 * mechanism's name: --workloads queue selects both). */
size_t cb_ipc_py_executor_names(const cb_name_t **out);
size_t cb_ipc_py_mech_names(const cb_name_t **out);

/* 1 when the CPython mechanism mech runs on the py_* executor e. */
int cb_ipc_py_runs(const char *e, const char *mech);

typedef struct cb_ipc_py {
    char *python, *script; /* NULL: not found (then the rows are skipped) */
    char mechs[160];       /* the selection, comma lists as the script takes them */
    char pins[160];        /* NAME:PU:PU or none */
    char sizes[256];
    double min_ms;    /* each mode's measured run */
    double timeout_s; /* per configuration (the run's --timeout) */
    int fault_corrupt, fault_die;
    const char *why; /* set when the rows cannot be measured */
    char why_buf[192];
} cb_ipc_py_t;

/* Adds a mechanism and a placement (pin: its name; pu: the two PUs, -1
 * when unpinned) to the selection, once each. */
void cb_ipc_py_select(cb_ipc_py_t *p, const char *mech, const char *pin, int pu0, int pu1);

/* Finds python3 and the script (beside argv0's runfiles or the
 * workspace). A missing one leaves p->why set: the rows are `skipped`. */
void cb_ipc_py_prepare(cb_ipc_py_t *p, const char *argv0);

/* Runs the script once for repetition rep (nothing for a warm-up: its own
 * calibration warms up) and adds its rows; a script that fails, dies, hangs
 * or writes an unreadable CSV is recorded as error, crashed or timeout on
 * every selected row. Returns 0 or -ENOMEM. */
int cb_ipc_py_rep(cb_ipc_py_t *p, int rep, cb_results_t *r);

void cb_ipc_py_free(cb_ipc_py_t *p);

#ifdef __cplusplus
}
#endif
#endif
