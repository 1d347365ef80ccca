#ifndef CB_STATS_H
#define CB_STATS_H

/* Statistics over kept samples. Nothing here drops samples: outliers are
 * reported (CV, min, max), never removed. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_summary {
    size_t n;
    double median;
    double mean;
    double stddev; /* sample standard deviation (n - 1); 0 when n < 2 */
    double min;
    double max;
    double cv;      /* stddev / mean; 0 when mean == 0 */
    double ci95_lo; /* 95% confidence interval of the median (see stats.c) */
    double ci95_hi;
} cb_summary_t;

/* Summarises n samples (need not be sorted; not modified). n == 0 gives all
 * fields NaN and n = 0. Returns 0, or -ENOMEM. */
int cb_stats_summarize(const double *x, size_t n, cb_summary_t *out);

/* Median of n samples (not modified). NaN for n == 0. */
double cb_stats_median(const double *x, size_t n);

typedef struct cb_mwu {
    double u;  /* U statistic of the first sample (U1) */
    double z;  /* normal deviate (0 when the exact distribution was used) */
    double p;  /* two-sided p-value */
    int exact; /* 1 when p is from the exact distribution */
} cb_mwu_t;

/* Two-sided Mann-Whitney U test of x (nx) against y (ny). Exact p-value when
 * there are no ties and nx, ny are small (see stats.c for the bound), normal
 * approximation with tie correction otherwise. Returns 0, -EINVAL when
 * either side is empty, -ENOMEM. */
int cb_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, cb_mwu_t *out);

/* Least-squares Amdahl fit: speedup(w) = 1 / (f + (1 - f) / w). Returns the
 * serial fraction f in [0, 1], or NaN when n < 2. */
double cb_stats_amdahl_fit(const double *workers, const double *speedup, size_t n);

/* The smallest worker count whose efficiency (speedup / workers) is below
 * threshold, among n points (any order); NaN when none is. */
double cb_stats_efficiency_knee(const double *workers, const double *speedup, size_t n,
                                double threshold);

#ifdef __cplusplus
}
#endif
#endif
