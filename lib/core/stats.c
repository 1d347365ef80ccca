#include "lib/core/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Samples are expected to be numbers: a failed repetition (an empty CSV
 * value, NaN in memory) is the caller's to leave out. The comparator still
 * orders NaN last so that qsort always sees a total order and never misbehaves
 * on bad input; the results are then meaningless but defined. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    if (x < y)
        return -1;
    if (x > y)
        return 1;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return 0;
}

static double *sorted_copy(const double *x, size_t n)
{
    double *s = malloc(n * sizeof(*s));

    if (s == NULL)
        return NULL;
    memcpy(s, x, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_double);
    return s;
}

static double median_sorted(const double *s, size_t n)
{
    if (n % 2 == 1)
        return s[n / 2];
    /* Halving each term first cannot overflow for large finite values. */
    return s[n / 2 - 1] / 2 + s[n / 2] / 2;
}

/* Distribution-free 95% confidence interval of the median from order
 * statistics (Conover, "Practical Nonparametric Statistics", 3rd ed., 3.2;
 * Hollander & Wolfe, "Nonparametric Statistical Methods", 3.6).
 *
 * With x(1) <= ... <= x(n) and B ~ Binomial(n, 1/2) the number of samples
 * below the true median,
 *
 *     P(x(j) <= median < x(k)) = P(j <= B <= k - 1) = sum_{i=j}^{k-1} C(n, i) / 2^n.
 *
 * Binomial(n, 1/2) is symmetric, so the interval can always be made exactly
 * symmetric: k = n + 1 - j, coverage 1 - 2 P(B <= j - 1). We take the largest
 * j with P(B <= j - 1) <= 0.025, i.e. the narrowest symmetric interval with
 * coverage >= 95%. Examples: n = 10 gives (x(2), x(9)), coverage 0.9785;
 * n = 100 gives (x(40), x(61)).
 *
 * Returns r = j - 1, the number of order statistics left out at each end, so
 * the interval is (s[r], s[n - 1 - r]) in 0-based indexes. For n < 6 even
 * (x(1), x(n)) covers less than 95% (coverage 1 - 2^(1-n), 93.75% at n = 5),
 * and r = 0 gives the min and max: the widest interval the data allow, not a
 * 95% one.
 *
 * C(n, i) / 2^n underflows long double for large n, so the terms are carried
 * as logarithms, log P(B = i + 1) = log P(B = i) + log((n - i) / (i + 1)),
 * and only exponentiated to be summed; n up to 10^6 and beyond works. */
static size_t median_ci_excluded(size_t n)
{
    const long double alpha_half = 0.025L;
    long double log_p = -(long double)n * logl(2.0L); /* log P(B = 0) */
    long double cdf = 0.0L;
    size_t r = 0; /* also the n < 6 fallback: no j qualifies, min and max */

    for (size_t i = 0; i < n / 2; i++) {
        cdf += expl(log_p);
        if (cdf > alpha_half)
            break;
        /* P(B <= i) <= 0.025, so j = i + 1 is allowed. */
        r = i;
        log_p += logl((long double)(n - i) / (long double)(i + 1));
    }
    return r;
}

int cb_stats_summarize(const double *x, size_t n, cb_summary_t *out)
{
    double *s;
    double sum = 0, ss = 0;
    size_t r;

    if (n == 0) {
        out->n = 0;
        out->median = out->mean = out->stddev = NAN;
        out->min = out->max = out->cv = NAN;
        out->ci95_lo = out->ci95_hi = NAN;
        return 0;
    }
    s = sorted_copy(x, n);
    if (s == NULL)
        return -ENOMEM;

    /* Two passes (mean, then squared deviations) rather than the sum of
     * squares, which cancels badly when the spread is small against the mean,
     * as it is for repeated timings. */
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    out->mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (s[i] - out->mean) * (s[i] - out->mean);

    out->n = n;
    out->median = median_sorted(s, n);
    out->stddev = n < 2 ? 0 : sqrt(ss / (double)(n - 1));
    out->min = s[0];
    out->max = s[n - 1];
    out->cv = out->mean == 0 ? 0 : out->stddev / out->mean;
    r = median_ci_excluded(n);
    out->ci95_lo = s[r];
    out->ci95_hi = s[n - 1 - r];
    free(s);
    return 0;
}

/* Also NaN when the working copy cannot be allocated: the signature has no
 * room for an error code, and NaN is what a caller already has to handle. */
double cb_stats_median(const double *x, size_t n)
{
    double *s;
    double m;

    if (n == 0)
        return NAN;
    s = sorted_copy(x, n);
    if (s == NULL)
        return NAN;
    m = median_sorted(s, n);
    free(s);
    return m;
}

/* Bound for the exact Mann-Whitney distribution: both samples at most this
 * size. The table below is (nx + 1) * (nx * ny + 1) long doubles, 2 MB at
 * 50 x 50, and the counts reach C(100, 50) ~ 1e29, far inside long double's
 * range. scipy's "auto" switches to the normal approximation much earlier
 * (at 8); exact is never worse, so we keep it while it is cheap. */
#define MWU_EXACT_MAX 50

/* Exact two-sided p of U1 = u for sample sizes m, n without ties (Mann &
 * Whitney 1947). f(i, j)[k], the number of orderings of i x's and j y's in
 * which k (x, y) pairs have x > y, satisfies
 *
 *     f(i, j)[k] = f(i - 1, j)[k - j] + f(i, j - 1)[k],
 *
 * by whether the largest of the i + j values is an x (it beats all j y's) or
 * a y (it beats nothing). All orderings are equally likely under H0. Only
 * additions of non-negative counts, so long double keeps full relative
 * precision even for counts above 2^64. Returns 0 or -ENOMEM. */
static int mwu_exact_p(size_t m, size_t n, size_t u, double *p)
{
    size_t width = m * n + 1;
    long double *f = calloc((m + 1) * width, sizeof(*f));
    long double total = 0, lower = 0, upper = 0;
    double two_sided;

    if (f == NULL)
        return -ENOMEM;
    /* f(i, 0) = 1 at k = 0 for every i. */
    for (size_t i = 0; i <= m; i++)
        f[i * width] = 1;
    /* Row i holds f(i, j - 1) on entry to step j; row i - 1 already holds
     * f(i - 1, j), so each row is updated in place. */
    for (size_t j = 1; j <= n; j++)
        for (size_t i = 1; i <= m; i++)
            for (size_t k = i * j; k >= j; k--)
                f[i * width + k] += f[(i - 1) * width + k - j];

    for (size_t k = 0; k < width; k++) {
        long double c = f[m * width + k];
        total += c;
        if (k <= u)
            lower += c;
        if (k >= u)
            upper += c;
    }
    free(f);
    two_sided = (double)(2 * fminl(lower, upper) / total);
    *p = two_sided > 1 ? 1 : two_sided;
    return 0;
}

typedef struct mwu_item {
    double v;
    int from_x;
} mwu_item_t;

static int cmp_item(const void *a, const void *b)
{
    return cmp_double(&((const mwu_item_t *)a)->v, &((const mwu_item_t *)b)->v);
}

/* Mann & Whitney (1947), "On a test of whether one of two random variables is
 * stochastically larger than the other", Ann. Math. Statist. 18(1), with the
 * conventions of scipy.stats.mannwhitneyu (two-sided, use_continuity=True):
 *
 *   U1 = R1 - nx (nx + 1) / 2, R1 the sum of x's ranks in the pooled sample,
 *        tied values getting the mean of the ranks they span (midranks);
 *   exact (no ties, nx, ny <= MWU_EXACT_MAX):
 *        p = min(1, 2 min(P(U <= U1), P(U >= U1)));
 *   otherwise the normal approximation with mu = nx ny / 2,
 *        sigma^2 = nx ny / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))),
 *        N = nx + ny, t the size of each group of ties,
 *        z = sign(U1 - mu) max(0, |U1 - mu| - 0.5) / sigma (continuity),
 *        p = min(1, erfc(|z| / sqrt 2)) = min(1, 2 (1 - Phi(|z|))).
 *   When every value is tied sigma is 0 and there is no evidence either way:
 *   p = 1, z = 0.
 *
 * scipy computes z from max(U1, U2) with the correction always subtracted and
 * clips p at 1; that is the same p as the symmetric form above. */
int cb_stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, cb_mwu_t *out)
{
    size_t n = nx + ny;
    mwu_item_t *a;
    long double r1 = 0, tie_sum = 0;
    double mu, sigma2, d, ad;
    int ties = 0, all_tied = 0;

    if (nx == 0 || ny == 0)
        return -EINVAL;
    a = malloc(n * sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < nx; i++)
        a[i] = (mwu_item_t){.v = x[i], .from_x = 1};
    for (size_t i = 0; i < ny; i++)
        a[nx + i] = (mwu_item_t){.v = y[i], .from_x = 0};
    qsort(a, n, sizeof(*a), cmp_item);

    for (size_t i = 0; i < n;) {
        size_t e = i + 1;
        long double t, midrank;

        while (e < n && cmp_item(&a[i], &a[e]) == 0)
            e++;
        /* Positions i .. e - 1 hold 1-based ranks i + 1 .. e. */
        t = (long double)(e - i);
        midrank = ((long double)(i + 1) + (long double)e) / 2;
        for (size_t k = i; k < e; k++)
            if (a[k].from_x)
                r1 += midrank;
        if (e - i > 1) {
            ties = 1;
            tie_sum += t * t * t - t;
        }
        if (e - i == n)
            all_tied = 1;
        i = e;
    }
    free(a);

    out->u = (double)(r1 - (long double)nx * ((long double)nx + 1) / 2);
    out->z = 0;
    if (!ties && nx <= MWU_EXACT_MAX && ny <= MWU_EXACT_MAX) {
        out->exact = 1;
        return mwu_exact_p(nx, ny, (size_t)out->u, &out->p);
    }

    out->exact = 0;
    mu = (double)nx * (double)ny / 2;
    sigma2 = (double)nx * (double)ny / 12 *
             ((double)(n + 1) - (double)(tie_sum / ((long double)n * (long double)(n - 1))));
    if (all_tied || !(sigma2 > 0)) {
        out->p = 1;
        return 0;
    }
    d = out->u - mu;
    ad = fabs(d) - 0.5;
    if (ad > 0)
        out->z = copysign(ad / sqrt(sigma2), d);
    out->p = fmin(1, erfc(fabs(out->z) / sqrt(2.0)));
    return 0;
}

/* Amdahl's law, S(w) = 1 / (f + (1 - f) / w), is linear in f after taking
 * reciprocals:
 *
 *     1 / S = f + (1 - f) / w = f (1 - 1 / w) + 1 / w,
 *
 * so with x = 1 - 1/w and y = 1/S - 1/w the model is y = f x, a line through
 * the origin. Least squares, minimising sum (y - f x)^2, gives
 * d/df = -2 sum x (y - f x) = 0, hence
 *
 *     f = sum(x y) / sum(x^2).
 *
 * This minimises the error in 1/S (time per unit of work), not in S: it is
 * the plain linearised fit, not a nonlinear one, and it weights the points
 * accordingly. Points at w = 1 have x = 0 and carry no information about f.
 * The result is clamped to [0, 1]: superlinear speedup (S > w) would give
 * f < 0, and S < 1 would give f > 1, neither of which is a serial fraction.
 * NaN also for a point with w < 1, S <= 0 or either not finite, which no
 * speedup measurement can produce. */
double cb_stats_amdahl_fit(const double *workers, const double *speedup, size_t n)
{
    double sxy = 0, sxx = 0, f;

    if (n < 2)
        return NAN;
    for (size_t i = 0; i < n; i++) {
        double w = workers[i], s = speedup[i], xi, yi;

        if (!isfinite(w) || !isfinite(s) || w < 1 || s <= 0)
            return NAN;
        xi = 1 - 1 / w;
        yi = 1 / s - 1 / w;
        sxy += xi * yi;
        sxx += xi * xi;
    }
    if (sxx == 0)
        return NAN;
    f = sxy / sxx;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

double cb_stats_efficiency_knee(const double *workers, const double *speedup, size_t n,
                                double threshold)
{
    double knee = NAN;
    for (size_t i = 0; i < n; i++)
        if (workers[i] > 0 && speedup[i] / workers[i] < threshold &&
            (isnan(knee) || workers[i] < knee))
            knee = workers[i];
    return knee;
}
