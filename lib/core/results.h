#ifndef CB_RESULTS_H
#define CB_RESULTS_H

/* The results files of the contract: raw samples (E.csv), the summary
 * (E.summary.csv) and the run's description (E.meta).
 *
 * The raw columns are declared once (CB_RAW_COLUMNS) and every row writes
 * every column; a failed configuration still writes its rows, with an empty
 * value. One extra column after the contract's: `detail` (why a row failed,
 * e.g. "SIGSEGV"; empty when ok). */

#include <stddef.h>

#include "lib/core/stats.h"
#include "lib/core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CB_RAW_COLUMNS                                                                             \
    "experiment,executor,workload,workers,tasks,pin,rep,metric,value,unit,status,detail"
#define CB_SUMMARY_COLUMNS                                                                         \
    "experiment,executor,workload,workers,tasks,pin,metric,unit,n,median,mean,stddev,min,max,"     \
    "ci95_lo,ci95_hi,cv"

/* One configuration: everything but the repetition and the metric. */
typedef struct cb_config_key {
    const char *experiment;
    const char *executor;
    const char *workload;
    long workers;
    long tasks;
    const char *pin;
} cb_config_key_t;

typedef struct cb_sample {
    cb_config_key_t key;
    int rep;            /* 0-based measured repetition */
    const char *metric; /* wall_s, ns_per_switch, ... */
    double value;       /* NaN: empty (failed) */
    const char *unit;   /* s, ns, us, count, 1/s, ratio, ... */
    cb_status_t status;
    const char *detail; /* NULL or "" when none */
} cb_sample_t;

typedef struct cb_results cb_results_t;

cb_results_t *cb_results_new(void);
void cb_results_free(cb_results_t *r);

/* Copies the sample (strings included; a NULL string is stored as "").
 * Returns 0 or -ENOMEM. */
int cb_results_add(cb_results_t *r, const cb_sample_t *s);
size_t cb_results_count(const cb_results_t *r);
const cb_sample_t *cb_results_get(const cb_results_t *r, size_t i);

/* The one place samples are matched to a configuration. Fields left NULL
 * (names) or 0 (counts) match anything; only ok samples with a value
 * match. */
typedef struct cb_select {
    const char *executor, *workload, *pin, *metric;
    long workers, tasks;
} cb_select_t;

int cb_select_match(const cb_select_t *q, const cb_sample_t *s);

/* Orders samples by (experiment, executor, workload, workers, tasks, pin,
 * metric): the summary's groups, and compare's matching key. NULL strings
 * sort as "". */
int cb_sample_cmp_group(const cb_sample_t *a, const cb_sample_t *b);

/* 1 when two keys name the same configuration (the experiment aside). */
int cb_config_key_same(const cb_config_key_t *a, const cb_config_key_t *b);

/* The selected values, up to cap, into out; returns how many. */
size_t cb_results_collect(const cb_results_t *r, const cb_select_t *q, double *out, size_t cap);

/* Median of the selected values, NaN when none. */
double cb_results_median(const cb_results_t *r, const cb_select_t *q);

/* Smallest and largest selected value; returns how many were selected
 * (lo and hi untouched when none), and in *above (when not NULL) how many
 * exceed `than`. */
size_t cb_results_range(const cb_results_t *r, const cb_select_t *q, double *lo, double *hi,
                        double than, size_t *above);

/* The value of one ok sample: repetition rep of (executor, workload, pin,
 * metric), any worker and task count. NaN when there is none. For
 * experiments that derive rows from others measured in the same repetition
 * (the `relative` cost ratios CI gates on). */
double cb_results_value(const cb_results_t *r, int rep, const char *executor, const char *workload,
                        const char *pin, const char *metric);

/* Adds the derived per-repetition rows: for every configuration with ok
 * `wall_s` samples whose (experiment, workload, tasks, pin) has a `serial`
 * row for the same repetition, metric `speedup` = serial wall / this wall and
 * `efficiency` = speedup / workers (unit "ratio"). Pairing by repetition is
 * sound because configurations are interleaved within a repetition.
 * CPython reference rows (executor py_*) are compared with `py_serial`
 * instead, so a speedup stays within one language.
 * `serial` rows get none themselves; when several serial rows match (other
 * worker counts), the first in table order is the baseline. A derived row
 * copies its configuration and repetition, status ok. A derived row that
 * is already in the table (read back from a raw CSV, for --append) is not
 * added again, so calling this twice adds nothing the second time.
 * Returns 0 or -ENOMEM (then nothing was added). */
int cb_results_derive_speedup(cb_results_t *r);

/* Writes the raw CSV / summary CSV atomically (afile.h). Values are
 * printed "%.9g", NaN as an empty field. The summary has one row per
 * (configuration, metric) in the order first seen, statistics from
 * cb_stats_summarize over its ok samples (n = 0 and empty statistics when
 * none were ok); its unit is the first sample's. Returns 0 or a negative
 * errno (EFBIG under ulimit -f needs SIGXFSZ ignored, see csv.h). */
int cb_results_write_raw(const cb_results_t *r, const char *path);
int cb_results_write_summary(const cb_results_t *r, const char *path);

/* Reads a raw CSV written by this or another run (columns matched by name,
 * in any order; extra columns ignored; `detail` optional) and appends its
 * rows, all or none. Blank lines are skipped. Returns 0, or a negative errno
 * with one line in err (which may be NULL): -EINVAL names the missing column,
 * or the line number and column of a bad row (a field count other than the
 * header's, a non-integer workers/tasks/rep, an unknown status, an empty or
 * NaN value on an ok row, a non-numeric value on any row), or says why the
 * CSV is malformed. An empty value on a failed row reads as NaN. */
int cb_results_read_raw(cb_results_t *r, const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
