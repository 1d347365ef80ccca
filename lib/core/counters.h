#ifndef CB_COUNTERS_H
#define CB_COUNTERS_H

/* The kernel's counters per measurement (perf_event_open).
 *
 * The runner opens one set in the sandbox child before a configuration's
 * measure function runs, disabled and with `inherit`, so that every thread
 * and process the measurement creates afterwards (workers, pools, children)
 * is counted with it, and the counts of those that exit are folded in. The
 * measure function brackets its timed region with cb_counters_start() and
 * cb_counters_stop() (several regions add up); nothing outside them counts.
 * Afterwards the runner reads the totals and adds them as metrics.
 *
 * Software events are counted wherever perf_event_open works at all;
 * hardware events only when the machine exposes a PMU. An event that
 * cannot be counted carries the reason ("no PMU", "perf_event_paranoid=2
 * ...", "perf_event_open: Operation not permitted"), and its rows are
 * `skipped`: a run never fails for want of counters. */

#include <stddef.h>

#include "lib/core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CB_CTR_TASK_CLOCK = 0, /* seconds of CPU, all counted threads together */
    CB_CTR_CONTEXT_SWITCHES,
    CB_CTR_CPU_MIGRATIONS,
    CB_CTR_PAGE_FAULTS,
    CB_CTR_MAJOR_FAULTS,
    CB_CTR_CYCLES,
    CB_CTR_INSTRUCTIONS,
    CB_CTR_CACHE_MISSES,
    CB_CTR_BRANCH_MISSES,
    CB_CTR_IPC, /* derived: instructions / cycles */
    CB_NCOUNTERS,
};

/* One counter's metric: name and unit as in the CSV, and the perf name. */
typedef struct cb_counter_def {
    const char *metric; /* "context_switches" */
    const char *unit;   /* "count", "s", "ratio" */
    const char *perf;   /* "context-switches", as perf stat names it */
    int hardware;
} cb_counter_def_t;
extern const cb_counter_def_t cb_counter_defs[CB_NCOUNTERS];

/* What a measurement counted: a value per counter, or the reason it was
 * not counted. Lives in the sandbox's shared memory (plain data). */
typedef struct cb_counts {
    int used;     /* 0: no counters (--no-counters, or no timed region marked) */
    int counting; /* bit i: counter i was counted (values[i] is valid) */
    double values[CB_NCOUNTERS];
    char why_sw[96]; /* the reason for software events not counted */
    char why_hw[96]; /* ... and for hardware events */
} cb_counts_t;

/* Opens the set for the calling process (disabled, inherited by what it
 * creates from now on). Returns 0; the events that could not be opened are
 * recorded with their reason for cb_counters_close. */
int cb_counters_open(void);
/* Enable / disable the open set (no-ops when none is open). Async-signal
 * and fork safe: two ioctl calls each. */
void cb_counters_start(void);
void cb_counters_stop(void);
/* Reads the totals into out (out->used is 0 when no region was marked or
 * nothing is open) and closes the set. */
void cb_counters_close(cb_counts_t *out);

/* The status and detail a counter's row gets: CB_OK, or CB_SKIPPED with
 * the reason in *why. */
cb_status_t cb_counts_status(const cb_counts_t *c, int i, const char **why);

/* For tests: replaces the perf_event_open system call (NULL restores it).
 * The hook gets the attr as the kernel would, and returns an fd or -1 with
 * errno set. */
struct perf_event_attr;
typedef int (*cb_perf_open_fn)(struct perf_event_attr *attr, int group_fd);
void cb_counters_set_open_hook(cb_perf_open_fn fn);

#ifdef __cplusplus
}
#endif
#endif
