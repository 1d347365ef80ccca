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

#include "lib/stats.h"
#include "lib/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CB_RAW_COLUMNS                                                                            \
    "experiment,executor,workload,workers,tasks,pin,rep,metric,value,unit,status,detail"
#define CB_SUMMARY_COLUMNS                                                                        \
    "experiment,executor,workload,workers,tasks,pin,metric,unit,n,median,mean,stddev,min,max,"    \
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

/* Copies the sample (strings included). Returns 0 or -ENOMEM. */
int cb_results_add(cb_results_t *r, const cb_sample_t *s);
size_t cb_results_count(const cb_results_t *r);
const cb_sample_t *cb_results_get(const cb_results_t *r, size_t i);

/* Adds the derived per-repetition rows: for every configuration with ok
 * `wall_s` samples whose (experiment, workload, tasks, pin) has a `serial`
 * row for the same repetition, metric `speedup` = serial wall / this wall and
 * `efficiency` = speedup / workers (unit "ratio"). Pairing by repetition is
 * sound because configurations are interleaved within a repetition.
 * Returns 0 or -ENOMEM. */
int cb_results_derive_speedup(cb_results_t *r);

/* Writes the raw CSV / summary CSV atomically (csv.h cb_afile). The summary
 * has one row per (configuration, metric) over its ok samples (n = 0 and
 * empty statistics when none were ok). Returns 0 or a negative errno. */
int cb_results_write_raw(const cb_results_t *r, const char *path);
int cb_results_write_summary(const cb_results_t *r, const char *path);

/* Reads a raw CSV written by this or another run (columns matched by name;
 * extra columns ignored) and appends its rows. Returns 0, or -EINVAL with a
 * line naming the missing column or the bad line in err. */
int cb_results_read_raw(cb_results_t *r, const char *path, char *err, size_t errlen);

/* key=value lines for E.meta. */
typedef struct cb_meta cb_meta_t;
cb_meta_t *cb_meta_new(void);
void cb_meta_free(cb_meta_t *m);
/* Sets (or replaces) a key. Values are written on one line (newlines become
 * spaces). Returns 0 or -ENOMEM. */
int cb_meta_set(cb_meta_t *m, const char *key, const char *value);
const char *cb_meta_get(const cb_meta_t *m, const char *key);
int cb_meta_write(const cb_meta_t *m, const char *path);
/* Reads a .meta file. Returns 0 or a negative errno. */
int cb_meta_read(cb_meta_t *m, const char *path);
/* Fills the host facts: host, cpu_model, kernel, clock_source, utc_start,
 * compiler (and flags), harness version. Topology facts are set by the
 * caller. */
int cb_meta_fill_host(cb_meta_t *m);

#ifdef __cplusplus
}
#endif
#endif
