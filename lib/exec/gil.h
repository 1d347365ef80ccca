#ifndef CB_GIL_H
#define CB_GIL_H

/* An emulated interpreter lock, modelled on CPython's since 3.2 (Python/
 * ceval_gil.c): a thread runs CPU work only while holding the lock, releases
 * it around IO waits, and when another thread has waited longer than the
 * switch interval the holder is asked to drop it at its next tick and does,
 * letting the waiter in (forced switching: the holder then waits for the
 * next holder to take it before trying again).
 *
 * One lock per process: threads of one process contend, processes do not.
 * Executors use it when cb_exec_cfg_t.gil_interval_ns != 0: each task runs
 * between cb_gil_task_begin and cb_gil_task_end, which take the lock and
 * install a task environment (task_env.h) whose sleep / wait_fd release it
 * for the wait and whose tick hands it over. */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_gil cb_gil_t;

/* A lock with the given switch interval (CPython's default: 5 ms). Returns
 * NULL with *err = negative errno. Create it in the process whose threads
 * will share it (after fork, for process executors). */
cb_gil_t *cb_gil_new(uint64_t interval_ns, int *err);
void cb_gil_free(cb_gil_t *g);

/* Takes the lock and installs the GIL task environment on this thread. */
void cb_gil_task_begin(cb_gil_t *g);
/* Removes the environment and releases the lock. */
void cb_gil_task_end(cb_gil_t *g);

/* Instrumentation for tests: the most threads ever seen holding the lock at
 * once (must stay 1), and how many forced hand-overs happened. */
int cb_gil_max_holders(const cb_gil_t *g);
uint64_t cb_gil_switches(const cb_gil_t *g);

#ifdef __cplusplus
}
#endif
#endif
