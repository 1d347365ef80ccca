#ifndef CB_COMPARE_H
#define CB_COMPARE_H

/* Regression comparison of two raw CSVs (`bazel run //bench:compare -- BASE
 * NEW`): configurations are matched by (experiment, executor, workload,
 * workers, tasks, pin, metric), and each gets the medians of both sides, the
 * ratio of medians, a two-sided Mann-Whitney U p over the ok repetitions and a
 * verdict. The `.meta` files beside the CSVs are compared for the machine
 * they describe.
 *
 * Verdicts of performance metrics:
 *   slower / faster  the change factor (below) is past 1 + threshold in that
 *                    direction AND p < alpha;
 *   same             neither;
 *   unstable         either side has fewer than min_samples ok samples, or a
 *                    robust coefficient of variation (1.4826 MAD / median)
 *                    above max_cv: never called a regression, whatever the
 *                    medians say;
 *   missing / new    the configuration is only in BASE / only in NEW.
 * Metrics that are facts, not performance (CB_DIR_FACT), are `same` when the
 * medians are equal and `changed` otherwise; `changed` is also the verdict of
 * a performance metric whose unit differs between the sides (not comparable).
 * Only `slower` makes the exit status CB_EXIT_REGRESSION. */

#include <stddef.h>
#include <stdio.h>

#include "lib/core/results.h"

#include "lib/core/direction.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Worst first: the table and the report sort by this order. */
typedef enum {
    CB_VERDICT_SLOWER = 0,
    CB_VERDICT_MISSING,
    CB_VERDICT_UNSTABLE,
    CB_VERDICT_CHANGED,
    CB_VERDICT_NEW,
    CB_VERDICT_SAME,
    CB_VERDICT_FASTER,
} cb_verdict_t;

/* "slower", "missing", "unstable", "changed", "new", "same", "faster". */
const char *cb_verdict_name(cb_verdict_t v);

/* The direction of a metric (lib/core/direction.h), as compare judges it. */
cb_direction_t cb_compare_direction(const char *metric, const char *unit, int *assumed);

typedef struct cb_compare_opts {
    double threshold;   /* relative change that counts: 0.10 = a factor of 1.10 */
    double alpha;       /* significance level of the U test */
    double max_cv;      /* above this CV a side is unstable */
    size_t min_samples; /* fewer ok samples than this: unstable */
    /* Comma list of the metrics to compare (e.g. the ratios CI gates on:
     * "speedup,efficiency,relative"); NULL compares every metric. */
    const char *metrics;
} cb_compare_opts_t;

/* threshold 0.10, alpha 0.01, max_cv 0.10, min_samples 5, every metric. */
void cb_compare_opts_default(cb_compare_opts_t *o);

/* One side of a row. Statistics over the ok samples only. */
typedef struct cb_compare_side {
    int present;    /* the configuration has rows on this side */
    size_t n;       /* ok samples */
    size_t nfailed; /* rows with another status */
    double median;  /* NaN when n == 0 */
    double cv;      /* robust CV, 1.4826 MAD / |median| (compare.c); NaN when n == 0 */
    const char *unit;
} cb_compare_side_t;

typedef struct cb_compare_row {
    cb_config_key_t key; /* strings point into the compared results */
    const char *metric;
    cb_direction_t dir;
    int dir_assumed; /* unknown metric, compared as lower is better */
    cb_compare_side_t base;
    cb_compare_side_t cur; /* NEW ("new" is a C++ keyword) */
    /* cur.median / base.median, as it is; NaN when undefined. */
    double ratio;
    /* The ratio oriented so that > 1 is worse: new/base for lower-is-better,
     * base/new for higher-is-better; 1 when both medians are equal, +inf or 0
     * when only one is 0, NaN for facts, one-sided rows and negative
     * medians. "1.50x slower" is a factor of 1.5, "1.25x faster" one of
     * 1 / 1.25 = 0.8. */
    double factor;
    double p;  /* two-sided U-test p; NaN when not computed */
    int exact; /* p is from the exact distribution */
    cb_verdict_t verdict;
    char why[96]; /* the reason for unstable / changed, else "" */
} cb_compare_row_t;

typedef struct cb_comparison {
    cb_compare_row_t *rows; /* worst first */
    size_t nrows;
    size_t count[CB_VERDICT_FASTER + 1]; /* rows per verdict */
    /* Loud warnings: the .meta files describe different machines. */
    char **warnings;
    size_t nwarnings;
    /* Quiet notes for the report: metadata that differs, a .meta that could
     * not be read. */
    char **notes;
    size_t nnotes;
    /* Selected .meta keys side by side for the report (NULL: absent). */
    const char **meta_keys;
    char **meta_base, **meta_cur;
    size_t nmeta;
    cb_compare_opts_t opts;
    char *base_path, *cur_path; /* NULL when compared from memory */
    cb_results_t *owned[2];     /* results read by cb_compare_files */
} cb_comparison_t;

/* Compares two sets of samples. The rows point into base and cur, which must
 * outlive the comparison. opts may be NULL (the defaults). Returns 0 or
 * -ENOMEM (then *out is NULL). */
int cb_compare_results(const cb_results_t *base, const cb_results_t *cur,
                       const cb_compare_opts_t *opts, cb_comparison_t **out);

/* Reads both raw CSVs (cb_results_read_raw) and compares them, then the
 * .meta files beside them (BASE.csv -> BASE.meta; a path without .csv gets
 * .meta appended) when present. Returns 0, or a negative errno with one line
 * in err: the path and the reason for an unreadable file, the missing column
 * or the line number of a bad row. */
int cb_compare_files(const char *base_csv, const char *cur_csv, const cb_compare_opts_t *opts,
                     cb_comparison_t **out, char *err, size_t errlen);

/* Compares the .meta files beside the two CSVs into c (warnings, notes and
 * the metadata table). A missing .meta is a note, never an error. Returns 0
 * or -ENOMEM. */
int cb_compare_meta(cb_comparison_t *c, const char *base_csv, const char *cur_csv);

void cb_comparison_free(cb_comparison_t *c);

/* The row for a configuration and metric, or NULL. */
const cb_compare_row_t *cb_comparison_find(const cb_comparison_t *c, const char *executor,
                                           const char *workload, long workers, const char *metric);

/* CB_EXIT_REGRESSION when any row is slower, else CB_EXIT_OK. */
int cb_compare_exit_code(const cb_comparison_t *c);

/* The aligned table for the terminal: the warning banners, one line per row
 * (worst first), a summary line. Returns 0 or -EIO. */
int cb_compare_print_table(const cb_comparison_t *c, FILE *f);

/* The Markdown report. Returns 0 or -EIO. */
int cb_compare_write_report(const cb_comparison_t *c, FILE *f);

/* The whole command line: `compare BASE.csv NEW.csv [--threshold X]
 * [--alpha P] [--report FILE.md]`, `--help`, `--version`. Prints the table on
 * out and error lines on errf; returns the exit status (0, 2 for bad usage or
 * input, 4 for a regression). Callable more than once (resets getopt). */
int cb_compare_main(int argc, char **argv, FILE *out, FILE *errf);

#ifdef __cplusplus
}
#endif
#endif
