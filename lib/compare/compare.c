/* Regression comparison of two raw CSVs; see compare.h for the verdicts. */

#include "lib/compare/compare.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/core/meta.h"
#include "lib/core/afile.h"
#include "lib/core/cb_version.h"
#include "lib/core/cli.h"
#include "lib/core/csv.h"
#include "lib/core/direction.h"
#include "lib/core/stats.h"

/* ---- Metric directions: lib/core/direction.h ---- */

cb_direction_t cb_compare_direction(const char *metric, const char *unit, int *assumed)
{
    return cb_metric_direction(metric, unit, assumed);
}

const char *cb_verdict_name(cb_verdict_t v)
{
    static const char *const names[] = {"slower", "missing", "unstable", "changed",
                                        "new",    "same",    "faster"};
    if ((unsigned)v >= sizeof(names) / sizeof(names[0]))
        return "?";
    return names[v];
}

void cb_compare_opts_default(cb_compare_opts_t *o)
{
    o->threshold = 0.10;
    o->alpha = 0.01;
    o->max_cv = 0.10;
    o->min_samples = 5;
    o->metrics = NULL;
}

/* 1 when metric is in the comma list (or there is no list). */
static int metric_selected(const char *list, const char *metric)
{
    if (list == NULL)
        return 1;
    size_t len = strlen(metric);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, metric, n) == 0)
            return 1;
        p += n + (end != NULL);
    }
    return 0;
}

/* ---- Grouping samples by configuration and metric ----------------------- */

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

/* Orders by the matching key: (experiment, executor, workload, workers,
 * tasks, pin, metric), as the summary groups them. */
static int cmp_key(const cb_sample_t *a, const cb_sample_t *b)
{
    return cb_sample_cmp_group(a, b);
}

static int cmp_sample_ptr(const void *a, const void *b)
{
    const cb_sample_t *x = *(const cb_sample_t *const *)a, *y = *(const cb_sample_t *const *)b;
    int c = cmp_key(x, y);
    /* Ties by address, which is table order (cb_results_t keeps its samples
     * in one array): the first sample's unit is the unit, and qsort, not
     * stable, gets a total order. */
    return c ? c : (x < y ? -1 : x > y);
}

/* The samples of r sorted by key; NULL (and *n = 0) for an empty r. */
static const cb_sample_t **sorted_samples(const cb_results_t *r, size_t *n, int *rc)
{
    *n = cb_results_count(r);
    *rc = 0;
    if (*n == 0)
        return NULL;
    const cb_sample_t **v = malloc(*n * sizeof(*v));
    if (v == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < *n; i++)
        v[i] = cb_results_get(r, i);
    qsort(v, *n, sizeof(*v), cmp_sample_ptr);
    return v;
}

/* The end of the group starting at i. */
static size_t group_end(const cb_sample_t **v, size_t n, size_t i)
{
    size_t e = i + 1;
    while (e < n && cmp_key(v[i], v[e]) == 0)
        e++;
    return e;
}

/* Fills one side from the group v[0 .. n - 1] and leaves its ok values in
 * x (room for n). */
/* The robust coefficient of variation: 1.4826 * MAD / |median|, where MAD is
 * the median absolute deviation from the median and 1.4826 = 1 / Phi^-1(3/4)
 * makes it estimate the standard deviation for normal data (Rousseeuw &
 * Croux 1993; Hampel 1974). Unlike stddev / mean, one repetition that a
 * shared machine preempted does not make a whole row "unstable" (which would
 * hide every real change in it); a side whose repetitions really spread
 * still is. Returns NaN when out of memory (the side is then unstable). */
static double robust_cv(const double *x, size_t n, double median)
{
    if (n == 0)
        return NAN;
    if (median == 0)
        return 0;
    double *d = malloc(n * sizeof(*d));
    if (!d)
        return NAN;
    for (size_t i = 0; i < n; i++)
        d[i] = fabs(x[i] - median);
    double cv = 1.4826 * cb_stats_median(d, n) / fabs(median);
    free(d);
    return cv;
}

static int fill_side(cb_compare_side_t *s, const cb_sample_t **v, size_t n, double *x)
{
    s->present = 1;
    s->n = 0;
    s->nfailed = 0;
    s->unit = v[0]->unit ? v[0]->unit : "";
    for (size_t i = 0; i < n; i++) {
        if (v[i]->status == CB_OK && !isnan(v[i]->value))
            x[s->n++] = v[i]->value;
        else
            s->nfailed++;
    }
    cb_summary_t sum;
    int rc = cb_stats_summarize(x, s->n, &sum);
    if (rc < 0)
        return rc;
    s->median = sum.median;
    s->cv = s->n ? robust_cv(x, s->n, sum.median) : NAN;
    return 0;
}

/* Every sample of the group was skipped (a counter the machine lacks, a
 * size over a limit): nothing to compare. */
static int all_skipped(const cb_sample_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i]->status != CB_SKIPPED)
            return 0;
    return 1;
}

static void empty_side(cb_compare_side_t *s)
{
    *s = (cb_compare_side_t){.present = 0, .median = NAN, .cv = NAN, .unit = ""};
}

/* ---- Verdicts ----------------------------------------------------------- */

/* The factor of compare.h: > 1 worse. */
static double orient(double base, double cur, cb_direction_t dir)
{
    if (isnan(base) || isnan(cur) || dir == CB_DIR_FACT)
        return NAN;
    if (base == cur)
        return 1;
    if (base < 0 || cur < 0)
        return NAN;
    double worse = dir == CB_DIR_LOWER ? cur : base;
    double better = dir == CB_DIR_LOWER ? base : cur;
    /* IEEE division gives +inf for x / 0 and 0 for 0 / x, as documented. */
    return worse / better;
}

static void judge(cb_compare_row_t *r, const double *bx, const double *cx,
                  const cb_compare_opts_t *o)
{
    r->why[0] = '\0';
    r->ratio = NAN;
    r->factor = NAN;
    r->p = NAN;
    r->exact = 0;
    if (!r->base.present) {
        r->verdict = CB_VERDICT_NEW;
        return;
    }
    if (!r->cur.present) {
        r->verdict = CB_VERDICT_MISSING;
        return;
    }
    if (r->base.median == r->cur.median)
        r->ratio = 1;
    else
        r->ratio = r->cur.median / r->base.median;

    if (r->dir == CB_DIR_FACT) {
        int bnan = isnan(r->base.median), cnan = isnan(r->cur.median);
        if ((bnan && cnan) || (!bnan && !cnan && r->base.median == r->cur.median)) {
            r->verdict = CB_VERDICT_SAME;
        } else {
            r->verdict = CB_VERDICT_CHANGED;
            snprintf(r->why, sizeof(r->why), "median %.6g -> %.6g", r->base.median, r->cur.median);
        }
        return;
    }
    if (strcmp(r->base.unit, r->cur.unit) != 0) {
        r->verdict = CB_VERDICT_CHANGED;
        snprintf(r->why, sizeof(r->why), "unit '%.30s' -> '%.30s': not comparable", r->base.unit,
                 r->cur.unit);
        return;
    }
    r->factor = orient(r->base.median, r->cur.median, r->dir);
    if (r->base.n > 0 && r->cur.n > 0) {
        cb_mwu_t u;
        if (cb_stats_mann_whitney(bx, r->base.n, cx, r->cur.n, &u) == 0) {
            r->p = u.p;
            r->exact = u.exact;
        }
    }

    /* Too few or too noisy samples: the U test may still come out
     * significant, but repetitions that spread by more than max_cv cannot
     * support a claim about a change of the threshold's size. */
    const struct {
        const char *name;
        const cb_compare_side_t *s;
    } sides[] = {{"base", &r->base}, {"new", &r->cur}};
    for (int i = 0; i < 2; i++) {
        if (sides[i].s->n < o->min_samples) {
            r->verdict = CB_VERDICT_UNSTABLE;
            snprintf(r->why, sizeof(r->why), "%s: %zu ok samples (< %zu)", sides[i].name,
                     sides[i].s->n, o->min_samples);
            return;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (!(sides[i].s->cv <= o->max_cv)) {
            r->verdict = CB_VERDICT_UNSTABLE;
            snprintf(r->why, sizeof(r->why), "%s: robust CV %.0f%% (> %.0f%%)", sides[i].name,
                     100 * sides[i].s->cv, 100 * o->max_cv);
            return;
        }
    }
    int significant = r->p < o->alpha;
    if (significant && r->factor > 1 + o->threshold)
        r->verdict = CB_VERDICT_SLOWER;
    else if (significant && r->factor * (1 + o->threshold) < 1)
        r->verdict = CB_VERDICT_FASTER;
    else
        r->verdict = CB_VERDICT_SAME;
}

static int cmp_factor_desc(double a, double b)
{
    if (isnan(a) || isnan(b))
        return !!isnan(a) - !!isnan(b);
    return (a < b) - (a > b);
}

static int cmp_row(const void *a, const void *b)
{
    const cb_compare_row_t *x = a, *y = b;
    int c;
    if ((c = (int)x->verdict - (int)y->verdict) != 0 ||
        (c = cmp_factor_desc(x->factor, y->factor)) != 0)
        return c;
    cb_sample_t sx = {.key = x->key, .metric = x->metric};
    cb_sample_t sy = {.key = y->key, .metric = y->metric};
    return cmp_key(&sx, &sy);
}

/* Appends one formatted line to a vector of strings. */
static int add_line(char ***v, size_t *n, const char *fmt, ...)
{
    char *s, **nv;
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (len < 0)
        return -ENOMEM;
    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(s);
        return -ENOMEM;
    }
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void cb_comparison_free(cb_comparison_t *c)
{
    if (c == NULL)
        return;
    free(c->rows);
    free_lines(c->warnings, c->nwarnings);
    free_lines(c->notes, c->nnotes);
    free(c->meta_keys);
    free_lines(c->meta_base, c->nmeta);
    free_lines(c->meta_cur, c->nmeta);
    free(c->base_path);
    free(c->cur_path);
    cb_results_free(c->owned[0]);
    cb_results_free(c->owned[1]);
    free(c);
}

int cb_compare_results(const cb_results_t *base, const cb_results_t *cur,
                       const cb_compare_opts_t *opts, cb_comparison_t **out)
{
    size_t nb, nc, nrows = 0;
    int rc;
    const cb_sample_t **vb = NULL, **vc = NULL;
    double *bx = NULL, *cx = NULL;
    cb_comparison_t *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL)
        return -ENOMEM;
    if (opts)
        c->opts = *opts;
    else
        cb_compare_opts_default(&c->opts);
    vb = sorted_samples(base, &nb, &rc);
    if (rc < 0)
        goto err;
    vc = sorted_samples(cur, &nc, &rc);
    if (rc < 0)
        goto err;
    rc = -ENOMEM;
    /* At most one row per sample; room for the values of the largest group. */
    c->rows = calloc(nb + nc + 1, sizeof(*c->rows));
    bx = malloc((nb + 1) * sizeof(*bx));
    cx = malloc((nc + 1) * sizeof(*cx));
    if (c->rows == NULL || bx == NULL || cx == NULL)
        goto err;

    /* A merge join of the two sorted lists. */
    size_t i = 0, j = 0;
    while (i < nb || j < nc) {
        int k = i == nb ? 1 : j == nc ? -1 : cmp_key(vb[i], vc[j]);
        size_t ie = k <= 0 ? group_end(vb, nb, i) : i;
        size_t je = k >= 0 ? group_end(vc, nc, j) : j;
        const cb_sample_t *first = k <= 0 ? vb[i] : vc[j];
        if (!metric_selected(c->opts.metrics, first->metric) ||
            (all_skipped(vb + i, ie - i) && all_skipped(vc + j, je - j))) {
            i = ie;
            j = je;
            continue;
        }
        cb_compare_row_t *r = &c->rows[nrows++];
        r->key = first->key;
        r->metric = first->metric;
        if (k <= 0) {
            if ((rc = fill_side(&r->base, vb + i, ie - i, bx)) < 0)
                goto err;
        } else {
            empty_side(&r->base);
        }
        if (k >= 0) {
            if ((rc = fill_side(&r->cur, vc + j, je - j, cx)) < 0)
                goto err;
        } else {
            empty_side(&r->cur);
        }
        r->dir = cb_compare_direction(r->metric, r->base.present ? r->base.unit : r->cur.unit,
                                      &r->dir_assumed);
        judge(r, bx, cx, &c->opts);
        c->count[r->verdict]++;
        i = ie;
        j = je;
    }
    c->nrows = nrows;
    if (nrows > 0)
        qsort(c->rows, nrows, sizeof(*c->rows), cmp_row);
    free(vb);
    free(vc);
    free(bx);
    free(cx);
    *out = c;
    return 0;
err:
    free(vb);
    free(vc);
    free(bx);
    free(cx);
    cb_comparison_free(c);
    return rc;
}

/* ---- Metadata ----------------------------------------------------------- */

/* BASE.csv -> BASE.meta; anything else gets .meta appended. */
static char *meta_path(const char *csv)
{
    size_t n = strlen(csv);
    char *p;
    if (n > 4 && strcmp(csv + n - 4, ".csv") == 0) {
        if (asprintf(&p, "%.*s.meta", (int)(n - 4), csv) < 0)
            return NULL;
    } else if (asprintf(&p, "%s.meta", csv) < 0) {
        return NULL;
    }
    return p;
}

/* Reads the .meta beside csv into *m; *m stays NULL when there is none or it
 * cannot be read, with a note saying so. */
static int load_meta(cb_comparison_t *c, const char *csv, cb_meta_t **m)
{
    char *path = meta_path(csv);
    int rc;
    *m = NULL;
    if (path == NULL)
        return -ENOMEM;
    cb_meta_t *mm = cb_meta_new();
    if (mm == NULL) {
        free(path);
        return -ENOMEM;
    }
    rc = cb_meta_read(mm, path);
    if (rc == 0) {
        *m = mm;
        free(path);
        return 0;
    }
    cb_meta_free(mm);
    if (rc == -ENOMEM) {
        free(path);
        return rc;
    }
    if (rc == -ENOENT)
        rc = add_line(&c->notes, &c->nnotes, "no %s: the machines were not compared", path);
    else
        rc = add_line(&c->notes, &c->nnotes, "cannot read %s: %s: the machines were not compared",
                      path, strerror(-rc));
    free(path);
    return rc;
}

static char *dup_or_null(const char *s, int *rc)
{
    char *d;
    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        *rc = -ENOMEM;
    return d;
}

int cb_compare_meta(cb_comparison_t *c, const char *base_csv, const char *cur_csv)
{
    /* What makes timings from two runs incomparable: a different processor,
     * a different topology, or a different set of allowed PUs. */
    static const char *const machine[] = {"cpu_model", "packages",    "numa_nodes",     "cores",
                                          "pus",       "allowed_pus", "allowed_cpuset", NULL};
    /* The system check's state (pyperf's `system show`): a changed
     * governor, turbo, ASLR, SMT, isolation, THP or hypervisor can move
     * timings by itself, and so can a load or swap warning on one side. */
    static const char *const sys[] = {"sys_governor",      "sys_turbo",    "sys_aslr",
                                      "sys_smt",           "sys_thp",      "sys_hypervisor",
                                      "sys_isolated_cpus", "sys_warnings", NULL};
    /* What may change timings but is often changed on purpose. */
    static const char *const quiet[] = {
        "host", "kernel", "clock_source", "compiler", "compiler_flags", "quick", NULL};
    static const char *const shown[] = {"host",
                                        "cpu_model",
                                        "packages",
                                        "numa_nodes",
                                        "cores",
                                        "pus",
                                        "allowed_pus",
                                        "allowed_cpuset",
                                        "kernel",
                                        "clock_source",
                                        "compiler",
                                        "compiler_flags",
                                        "harness_version",
                                        "git_revision",
                                        "quick",
                                        "utc_start",
                                        "command_line",
                                        "sys_governor",
                                        "sys_turbo",
                                        "sys_aslr",
                                        "sys_smt",
                                        "sys_isolated_cpus",
                                        "sys_load_per_pu",
                                        "sys_thp",
                                        "sys_hypervisor",
                                        "sys_swap_used",
                                        "sys_warnings",
                                        "counters",
                                        NULL};
    cb_meta_t *mb = NULL, *mc = NULL;
    int rc;

    if ((rc = load_meta(c, base_csv, &mb)) < 0 || (rc = load_meta(c, cur_csv, &mc)) < 0)
        goto out;
    if (mb == NULL || mc == NULL)
        goto out;
    /* A key on one side only (an older harness) is a note, not a warning. */
    for (const char *const *k = machine; *k; k++) {
        const char *b = cb_meta_get(mb, *k), *n = cb_meta_get(mc, *k);
        if (b && n && strcmp(b, n) != 0 &&
            (rc = add_line(&c->warnings, &c->nwarnings,
                           "WARNING: different machines: %s '%s' (base) vs '%s' (new); timings "
                           "are not comparable",
                           *k, b ? b : "(absent)", n ? n : "(absent)")) < 0)
            goto out;
    }
    for (const char *const *k = machine; *k; k++) {
        const char *b = cb_meta_get(mb, *k), *n = cb_meta_get(mc, *k);
        if (!b != !n && (rc = add_line(&c->notes, &c->nnotes, "%s only in the %s .meta", *k,
                                       b ? "base" : "new")) < 0)
            goto out;
    }
    for (const char *const *k = sys; *k; k++) {
        const char *b = cb_meta_get(mb, *k), *n = cb_meta_get(mc, *k);
        if (b && n && strcmp(b, n) != 0 &&
            (rc = add_line(&c->warnings, &c->nwarnings,
                           "WARNING: different system states: %s '%s' (base) vs '%s' (new); "
                           "timings may differ for that alone",
                           *k, b, n)) < 0)
            goto out;
    }
    for (const char *const *k = quiet; *k; k++) {
        const char *b = cb_meta_get(mb, *k), *n = cb_meta_get(mc, *k);
        if (cmp_str(b, n) != 0 &&
            (rc = add_line(&c->notes, &c->nnotes, "%s differs: '%s' (base) vs '%s' (new)", *k,
                           b ? b : "(absent)", n ? n : "(absent)")) < 0)
            goto out;
    }
    size_t nshown = sizeof(shown) / sizeof(shown[0]) - 1;
    c->meta_keys = calloc(nshown, sizeof(*c->meta_keys));
    c->meta_base = calloc(nshown, sizeof(*c->meta_base));
    c->meta_cur = calloc(nshown, sizeof(*c->meta_cur));
    if (c->meta_keys == NULL || c->meta_base == NULL || c->meta_cur == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    c->nmeta = nshown;
    for (size_t i = 0; i < nshown; i++) {
        c->meta_keys[i] = shown[i];
        c->meta_base[i] = dup_or_null(cb_meta_get(mb, shown[i]), &rc);
        c->meta_cur[i] = dup_or_null(cb_meta_get(mc, shown[i]), &rc);
    }
out:
    cb_meta_free(mb);
    cb_meta_free(mc);
    return rc;
}

int cb_compare_files(const char *base_csv, const char *cur_csv, const cb_compare_opts_t *opts,
                     cb_comparison_t **out, char *err, size_t errlen)
{
    cb_results_t *rb = cb_results_new(), *rn = cb_results_new();
    cb_comparison_t *c = NULL;
    int rc = -ENOMEM;

    *out = NULL;
    if (rb == NULL || rn == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        goto err;
    }
    if ((rc = cb_results_read_raw(rb, base_csv, err, errlen)) < 0 ||
        (rc = cb_results_read_raw(rn, cur_csv, err, errlen)) < 0)
        goto err;
    if ((rc = cb_compare_results(rb, rn, opts, &c)) < 0) {
        snprintf(err, errlen, "%s", strerror(-rc));
        goto err;
    }
    c->owned[0] = rb;
    c->owned[1] = rn;
    rb = rn = NULL;
    c->base_path = strdup(base_csv);
    c->cur_path = strdup(cur_csv);
    if (c->base_path == NULL || c->cur_path == NULL ||
        (rc = cb_compare_meta(c, base_csv, cur_csv)) < 0) {
        rc = -ENOMEM;
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        goto err;
    }
    *out = c;
    return 0;
err:
    cb_comparison_free(c);
    cb_results_free(rb);
    cb_results_free(rn);
    return rc;
}

const cb_compare_row_t *cb_comparison_find(const cb_comparison_t *c, const char *executor,
                                           const char *workload, long workers, const char *metric)
{
    for (size_t i = 0; i < c->nrows; i++) {
        const cb_compare_row_t *r = &c->rows[i];
        if (cmp_str(r->key.executor, executor) == 0 && cmp_str(r->key.workload, workload) == 0 &&
            r->key.workers == workers && cmp_str(r->metric, metric) == 0)
            return r;
    }
    return NULL;
}

int cb_compare_exit_code(const cb_comparison_t *c)
{
    return c->count[CB_VERDICT_SLOWER] ? CB_EXIT_REGRESSION : CB_EXIT_OK;
}

/* ---- Output ------------------------------------------------------------- */

enum {
    COL_VERDICT,
    COL_EXPERIMENT,
    COL_EXECUTOR,
    COL_WORKLOAD,
    COL_WORKERS,
    COL_TASKS,
    COL_PIN,
    COL_METRIC,
    COL_UNIT,
    COL_BASE,
    COL_NEW,
    COL_RATIO,
    COL_CHANGE,
    COL_P,
    COL_N,
    COL_NOTE,
    NCOLS,
};

static const char *const col_titles[NCOLS] = {
    "verdict", "experiment", "executor", "workload", "workers", "tasks", "pin",  "metric",
    "unit",    "base",       "new",      "ratio",    "change",  "p",     "n ok", "note"};

/* Right-aligned (numeric) columns. */
static int col_right(int col)
{
    return col == COL_WORKERS || col == COL_TASKS || col == COL_BASE || col == COL_NEW ||
           col == COL_RATIO || col == COL_P || col == COL_N;
}

typedef char cells_t[NCOLS][128];

static void fmt_num(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.4g", v);
}

static void fmt_side_n(char *buf, size_t len, const cb_compare_side_t *s)
{
    if (!s->present)
        snprintf(buf, len, "-");
    else if (s->nfailed)
        snprintf(buf, len, "%zu(+%zu failed)", s->n, s->nfailed);
    else
        snprintf(buf, len, "%zu", s->n);
}

static void fmt_cells(const cb_compare_row_t *r, cells_t cells)
{
    const cb_compare_side_t *any = r->base.present ? &r->base : &r->cur;
    snprintf(cells[COL_VERDICT], sizeof(cells[0]), "%s", cb_verdict_name(r->verdict));
    snprintf(cells[COL_EXPERIMENT], sizeof(cells[0]), "%s", r->key.experiment);
    snprintf(cells[COL_EXECUTOR], sizeof(cells[0]), "%s", r->key.executor);
    snprintf(cells[COL_WORKLOAD], sizeof(cells[0]), "%s", r->key.workload);
    snprintf(cells[COL_WORKERS], sizeof(cells[0]), "%ld", r->key.workers);
    snprintf(cells[COL_TASKS], sizeof(cells[0]), "%ld", r->key.tasks);
    snprintf(cells[COL_PIN], sizeof(cells[0]), "%s", r->key.pin);
    snprintf(cells[COL_METRIC], sizeof(cells[0]), "%s", r->metric);
    snprintf(cells[COL_UNIT], sizeof(cells[0]), "%s", any->unit);
    fmt_num(cells[COL_BASE], sizeof(cells[0]), r->base.median);
    fmt_num(cells[COL_NEW], sizeof(cells[0]), r->cur.median);
    if (isnan(r->ratio))
        snprintf(cells[COL_RATIO], sizeof(cells[0]), "-");
    else
        snprintf(cells[COL_RATIO], sizeof(cells[0]), "%.3f", r->ratio);
    if (r->dir == CB_DIR_FACT)
        snprintf(cells[COL_CHANGE], sizeof(cells[0]), "(fact)");
    else if (isnan(r->factor))
        snprintf(cells[COL_CHANGE], sizeof(cells[0]), "-");
    else if (isinf(r->factor))
        snprintf(cells[COL_CHANGE], sizeof(cells[0]), "inf slower"); /* from 0 */
    else if (r->factor == 0)
        snprintf(cells[COL_CHANGE], sizeof(cells[0]), "inf faster"); /* to 0 */
    else if (r->factor > 1)
        snprintf(cells[COL_CHANGE], sizeof(cells[0]), "%.2fx slower", r->factor);
    else if (r->factor < 1)
        snprintf(cells[COL_CHANGE], sizeof(cells[0]), "%.2fx faster", 1 / r->factor);
    else
        snprintf(cells[COL_CHANGE], sizeof(cells[0]), "1.00x");
    if (isnan(r->p))
        snprintf(cells[COL_P], sizeof(cells[0]), "-");
    else
        snprintf(cells[COL_P], sizeof(cells[0]), "%.2g", r->p);
    char nb[48], nc[48];
    fmt_side_n(nb, sizeof(nb), &r->base);
    fmt_side_n(nc, sizeof(nc), &r->cur);
    snprintf(cells[COL_N], sizeof(cells[0]), "%s/%s", nb, nc);
    if (r->why[0])
        snprintf(cells[COL_NOTE], sizeof(cells[0]), "%s", r->why);
    else if (r->dir_assumed)
        snprintf(cells[COL_NOTE], sizeof(cells[0]), "unknown metric: lower taken as better");
    else
        cells[COL_NOTE][0] = '\0';
}

/* "2 slower, 0 missing, ..." in verdict order. */
static void fmt_counts(const cb_comparison_t *c, char *buf, size_t len)
{
    size_t w = 0;
    buf[0] = '\0';
    for (int v = 0; v <= CB_VERDICT_FASTER && w < len; v++)
        w += (size_t)snprintf(buf + w, len - w, "%s%zu %s", v ? ", " : "", c->count[v],
                              cb_verdict_name((cb_verdict_t)v));
}

/* Metrics whose direction was assumed or that are facts, comma separated,
 * each once. */
static void fmt_metrics(const cb_comparison_t *c, int facts, char *buf, size_t len)
{
    size_t w = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->nrows && w < len; i++) {
        const cb_compare_row_t *r = &c->rows[i];
        if (facts ? r->dir != CB_DIR_FACT : !r->dir_assumed)
            continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(c->rows[k].metric, r->metric) == 0 &&
                   (facts ? c->rows[k].dir == CB_DIR_FACT : c->rows[k].dir_assumed);
        if (!seen)
            w += (size_t)snprintf(buf + w, len - w, "%s%s", w ? ", " : "", r->metric);
    }
}

int cb_compare_print_table(const cb_comparison_t *c, FILE *f)
{
    size_t width[NCOLS];
    cells_t cells;
    char buf[1024];

    for (size_t i = 0; i < c->nwarnings; i++)
        fprintf(f, "%s\n", c->warnings[i]);
    for (int k = 0; k < NCOLS; k++)
        width[k] = strlen(col_titles[k]);
    for (size_t i = 0; i < c->nrows; i++) {
        fmt_cells(&c->rows[i], cells);
        for (int k = 0; k < NCOLS; k++)
            if (strlen(cells[k]) > width[k])
                width[k] = strlen(cells[k]);
    }
    for (size_t i = 0; i <= c->nrows; i++) {
        const char *line[NCOLS];
        if (i == 0) {
            memcpy(line, col_titles, sizeof(line));
        } else {
            fmt_cells(&c->rows[i - 1], cells);
            for (int k = 0; k < NCOLS; k++)
                line[k] = cells[k];
        }
        for (int k = 0; k < NCOLS; k++) {
            const char *sep = k ? "  " : "";
            if (k == NCOLS - 1)
                fprintf(f, "%s%s", line[k][0] ? sep : "", line[k]);
            else if (col_right(k))
                fprintf(f, "%s%*s", sep, (int)width[k], line[k]);
            else
                fprintf(f, "%s%-*s", sep, (int)width[k], line[k]);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < c->nwarnings; i++)
        fprintf(f, "%s\n", c->warnings[i]);
    fmt_metrics(c, 0, buf, sizeof(buf));
    if (buf[0])
        fprintf(f, "note: metrics of unknown direction, compared as lower is better: %s\n", buf);
    fmt_counts(c, buf, sizeof(buf));
    fprintf(f, "compare: %s: %s\n", buf,
            cb_compare_exit_code(c) ? "REGRESSION (exit 4)" : "no regression");
    fflush(f);
    return ferror(f) ? -EIO : 0;
}

/* Markdown table cell: '|' escaped, newlines flattened. */
static void md_cell(FILE *f, const char *s)
{
    fputs(" ", f);
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    fputs(" |", f);
}

int cb_compare_write_report(const cb_comparison_t *c, FILE *f)
{
    cells_t cells;
    char buf[1024];

    fprintf(f, "# Regression comparison\n\n");
    fprintf(f, "- base: `%s`\n- new: `%s`\n", c->base_path ? c->base_path : "(memory)",
            c->cur_path ? c->cur_path : "(memory)");
    fmt_counts(c, buf, sizeof(buf));
    fprintf(f, "- verdicts: %s\n", buf);
    fprintf(f, "- result: **%s**\n\n",
            cb_compare_exit_code(c) ? "REGRESSION (exit 4)" : "no regression (exit 0)");
    for (size_t i = 0; i < c->nwarnings; i++)
        fprintf(f, "> **%s**\n\n", c->warnings[i]);

    fprintf(f, "## Configurations, worst first\n\n|");
    for (int k = 0; k < NCOLS; k++)
        md_cell(f, col_titles[k]);
    fprintf(f, "\n|");
    for (int k = 0; k < NCOLS; k++)
        fprintf(f, "%s|", col_right(k) ? "---:" : "---");
    fputc('\n', f);
    for (size_t i = 0; i < c->nrows; i++) {
        fmt_cells(&c->rows[i], cells);
        fputc('|', f);
        for (int k = 0; k < NCOLS; k++)
            md_cell(f, cells[k]);
        fputc('\n', f);
    }

    fprintf(f, "\n## How to read this\n\n");
    fprintf(f, "- `base` and `new` are the medians of the ok repetitions; `ratio` is new / base as "
               "it is; `change` orients it by the metric's direction: for times and costs new / "
               "base, for throughput, speedup and efficiency base / new, so that `1.50x slower` is "
               "worse whichever way the metric points.\n");
    fprintf(f,
            "- `p` is the two-sided Mann-Whitney U p-value over the ok repetitions (exact when "
            "there are no ties, normal approximation with tie correction otherwise). With 5 vs 5 "
            "repetitions the smallest exact p is 2/252 = 0.0079.\n");
    fprintf(f,
            "- `slower` / `faster`: the change is past a factor of %.2f (threshold %.0f%%) and "
            "p < %g. `unstable`: a side has fewer than %zu ok samples or a robust "
            "coefficient of variation (1.4826 MAD / median) above %.0f%%; never called a "
            "regression. `missing`: only in base. `new`: "
            "only in new. `changed`: a fact of the run (a count, not a performance metric) has "
            "a different median, or the unit differs; never a regression.\n",
            1 + c->opts.threshold, 100 * c->opts.threshold, c->opts.alpha, c->opts.min_samples,
            100 * c->opts.max_cv);
    fprintf(f, "- exit status 4 when any row is `slower`, else 0.\n");
    fmt_metrics(c, 1, buf, sizeof(buf));
    if (buf[0])
        fprintf(f, "- facts, compared for equality of medians: %s\n", buf);
    fmt_metrics(c, 0, buf, sizeof(buf));
    if (buf[0])
        fprintf(f, "- **metrics of unknown direction, compared as lower is better**: %s\n", buf);

    if (c->nnotes > 0) {
        fprintf(f, "\n## Notes\n\n");
        for (size_t i = 0; i < c->nnotes; i++)
            fprintf(f, "- %s\n", c->notes[i]);
    }
    if (c->nmeta > 0) {
        fprintf(f, "\n## Runs\n\n| key | base | new |\n|---|---|---|\n");
        for (size_t i = 0; i < c->nmeta; i++) {
            if (c->meta_base[i] == NULL && c->meta_cur[i] == NULL)
                continue;
            fputc('|', f);
            md_cell(f, c->meta_keys[i]);
            md_cell(f, c->meta_base[i] ? c->meta_base[i] : "");
            md_cell(f, c->meta_cur[i] ? c->meta_cur[i] : "");
            fputc('\n', f);
        }
    }
    fflush(f);
    return ferror(f) ? -EIO : 0;
}

/* ---- Command line ------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: compare BASE.csv NEW.csv [--threshold X] [--alpha P] [--report FILE.md]\n"
               "               [--metrics LIST]\n"
               "Compares two raw result CSVs configuration by configuration, matched by\n"
               "(experiment, executor, workload, workers, tasks, pin, metric) and by column name.\n"
               "\n"
               "  --threshold X    relative change that counts (default 0.10: a factor of 1.10)\n"
               "  --alpha P        significance level of the two-sided Mann-Whitney U test on the\n"
               "                   ok repetitions (default 0.01). With 5 vs 5 repetitions the\n"
               "                   smallest exact p is 2/252 = 0.0079, so 0.01 is reachable with\n"
               "                   5 repetitions a side (4 vs 4 cannot go below 2/70 = 0.029).\n"
               "  --report FILE    also write a Markdown report to FILE\n"
               "  --metrics LIST   compare only these metrics (comma list), e.g. the ratios\n"
               "                   CI gates on: speedup,efficiency,relative\n"
               "  --help           this text\n"
               "  --version        version and git revision\n"
               "Relative paths are taken from where `bazel run` was started\n"
               "(BUILD_WORKING_DIRECTORY), else from the current directory.\n"
               "\n"
               "Verdicts: slower / faster (change past the threshold and p < alpha), same,\n"
               "unstable (a side has < 5 ok samples or a robust CV, 1.4826 MAD / median,\n"
               "over 10%%: never a regression),\n"
               "missing (only in BASE), new (only in NEW), changed (a count that is a fact of\n"
               "the run, e.g. tasks or lost_updates, differs; or the unit differs).\n"
               "Times and costs (*_s, us_per_*, ns_per_*, p99_us, vol_cs, ...) are better lower;\n"
               "*_per_s, speedup and efficiency higher; unknown metrics are taken as lower is\n"
               "better and the table says so. BASE.meta and NEW.meta beside the CSVs are compared\n"
               "when present: a different machine is warned about, not an error.\n"
               "\n"
               "Exit status: 0 no regression, 4 some row is slower, 2 bad usage or bad input.\n");
}

/* Under `bazel run` the binary runs in its runfiles tree; a relative path
 * the user typed is relative to where they typed it, which bazel passes in
 * BUILD_WORKING_DIRECTORY. Returns a malloc'ed path, or NULL. */
static char *user_path(const char *p)
{
    const char *wd = getenv("BUILD_WORKING_DIRECTORY");
    char *r;
    if (p[0] == '/' || wd == NULL || wd[0] == '\0')
        return strdup(p);
    if (asprintf(&r, "%s/%s", wd, p) < 0)
        return NULL;
    return r;
}

int cb_compare_main(int argc, char **argv, FILE *out, FILE *errf)
{
    enum { OPT_THRESHOLD = 256, OPT_ALPHA, OPT_REPORT, OPT_VERSION, OPT_METRICS };
    static const struct option longopts[] = {
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"report", required_argument, NULL, OPT_REPORT},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    cb_compare_opts_t o;
    const char *report = NULL;
    char err[1024];
    int ch, rc;

    cb_compare_opts_default(&o);
    /* 0 rather than 1: glibc then also resets its internal state. */
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_THRESHOLD:
            if (cb_parse_double("threshold", optarg, 0, 100, &o.threshold, err, sizeof(err)) < 0) {
                fprintf(errf, "compare: %s\n", err);
                return CB_EXIT_USAGE;
            }
            break;
        case OPT_ALPHA:
            if (cb_parse_double("alpha", optarg, 0, 1, &o.alpha, err, sizeof(err)) < 0 ||
                o.alpha == 0) {
                fprintf(errf,
                        "compare: --alpha: bad value '%s': expected a number greater than 0 "
                        "and at most 1\n",
                        optarg);
                return CB_EXIT_USAGE;
            }
            break;
        case OPT_REPORT:
            if (optarg[0] == '\0') {
                fprintf(errf, "compare: --report: bad value '': expected a file name\n");
                return CB_EXIT_USAGE;
            }
            report = optarg;
            break;
        case OPT_METRICS:
            if (optarg[0] == '\0' || optarg[0] == ',' || optarg[strlen(optarg) - 1] == ',' ||
                strstr(optarg, ",,")) {
                fprintf(errf,
                        "compare: --metrics: bad value '%s': expected metric names separated "
                        "by single commas\n",
                        optarg);
                return CB_EXIT_USAGE;
            }
            o.metrics = optarg;
            break;
        case 'h':
            usage(out);
            return CB_EXIT_OK;
        case OPT_VERSION:
            fprintf(out, "compare %s (git %s)\n", CB_VERSION, cb_git_revision());
            return CB_EXIT_OK;
        case ':':
            fprintf(errf, "compare: option '%s' needs a value; see --help\n", argv[optind - 1]);
            return CB_EXIT_USAGE;
        default:
            fprintf(errf, "compare: unknown option '%s'; see --help\n", argv[optind - 1]);
            return CB_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        fprintf(errf, "compare: expected two files, BASE.csv and NEW.csv, got %d; see --help\n",
                argc - optind);
        return CB_EXIT_USAGE;
    }

    int status = CB_EXIT_USAGE;
    cb_comparison_t *c = NULL;
    cb_afile_t a = {0};
    char *base = user_path(argv[optind]), *cur = user_path(argv[optind + 1]);
    char *rpath = report ? user_path(report) : NULL;
    if (base == NULL || cur == NULL || (report && rpath == NULL)) {
        fprintf(errf, "compare: %s\n", strerror(ENOMEM));
        goto out;
    }
    /* The report never replaces an input. */
    struct stat rs, is;
    for (int k = 0; rpath && k < 2; k++)
        if (stat(rpath, &rs) == 0 && stat(k ? cur : base, &is) == 0 && rs.st_dev == is.st_dev &&
            rs.st_ino == is.st_ino) {
            fprintf(errf, "compare: --report %s is the %s input: give another file\n", report,
                    k ? "NEW" : "BASE");
            goto out;
        }
    /* The report's temp file is created first, so that an unwritable path is
     * refused before anything is compared. */
    if (rpath && (rc = cb_afile_open(&a, rpath)) < 0) {
        fprintf(errf, "compare: --report: cannot write '%s': %s\n", rpath, strerror(-rc));
        goto out;
    }
    rc = cb_compare_files(base, cur, &o, &c, err, sizeof(err));
    if (rc < 0) {
        fprintf(errf, "compare: %s\n", err);
        if (rpath)
            cb_afile_abort(&a);
        goto out;
    }
    /* A metric asked for that neither file has is a typo that would switch
     * the gate off: refused. */
    for (const char *p = o.metrics; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int seen = 0;
        for (int k = 0; k < 2 && !seen; k++)
            for (size_t i = 0; i < cb_results_count(c->owned[k]) && !seen; i++) {
                const char *m = cb_results_get(c->owned[k], i)->metric;
                seen = strlen(m) == n && strncmp(m, p, n) == 0;
            }
        /* speedup and efficiency are derived from wall_s rows (when a
         * file has a serial reference), so they need not be in the files. */
        seen |= (n == 7 && strncmp(p, "speedup", 7) == 0) ||
                (n == 10 && strncmp(p, "efficiency", 10) == 0);
        if (!seen) {
            fprintf(errf, "compare: --metrics: '%.*s' is in neither %s nor %s\n", (int)n, p, base,
                    cur);
            if (rpath)
                cb_afile_abort(&a);
            goto out;
        }
        p += n + (end != NULL);
    }
    status = cb_compare_exit_code(c);
    size_t compared = c->nrows - c->count[CB_VERDICT_MISSING] - c->count[CB_VERDICT_NEW];
    if (compared == 0) {
        /* Nothing in common (an empty NEW, every row lost, a filter that
         * keeps nothing): a gate must not read that as "no regression". */
        fprintf(errf,
                "compare: nothing compared: %zu configurations only in BASE, %zu only in NEW "
                "(exit %d)\n",
                c->count[CB_VERDICT_MISSING], c->count[CB_VERDICT_NEW], CB_EXIT_NOTHING);
        status = CB_EXIT_NOTHING;
    }
    if (cb_compare_print_table(c, out) < 0)
        fprintf(errf, "compare: writing the table failed\n");
    if (rpath) {
        if ((rc = cb_compare_write_report(c, a.f)) < 0 || (rc = cb_afile_commit(&a)) < 0) {
            fprintf(errf, "compare: --report: writing '%s' failed: %s\n", rpath, strerror(-rc));
            cb_afile_abort(&a);
            status = CB_EXIT_USAGE;
        } else {
            fprintf(out, "report: %s\n", rpath);
        }
    }
out:
    cb_comparison_free(c);
    free(base);
    free(cur);
    free(rpath);
    return status;
}
