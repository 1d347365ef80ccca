#include "lib/core/results.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/afile.h"
#include "lib/core/cb_version.h"
#include "lib/core/csv.h"

/* ---- The sample table --------------------------------------------------- */

struct cb_results {
    cb_sample_t *v; /* every string owned by the table, never NULL */
    size_t n;
    size_t cap;
};

cb_results_t *cb_results_new(void)
{
    return calloc(1, sizeof(cb_results_t));
}

static void sample_free(cb_sample_t *s)
{
    free((char *)s->key.experiment);
    free((char *)s->key.executor);
    free((char *)s->key.workload);
    free((char *)s->key.pin);
    free((char *)s->metric);
    free((char *)s->unit);
    free((char *)s->detail);
}

void cb_results_free(cb_results_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        sample_free(&r->v[i]);
    free(r->v);
    free(r);
}

/* Drops the samples from index n on (undoes a partial read). */
static void truncate_to(cb_results_t *r, size_t n)
{
    while (r->n > n)
        sample_free(&r->v[--r->n]);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

int cb_results_add(cb_results_t *r, const cb_sample_t *s)
{
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 64;
        cb_sample_t *nv = realloc(r->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return -ENOMEM;
        r->v = nv;
        r->cap = ncap;
    }
    cb_sample_t c = *s;
    c.key.experiment = dup_or_empty(s->key.experiment);
    c.key.executor = dup_or_empty(s->key.executor);
    c.key.workload = dup_or_empty(s->key.workload);
    c.key.pin = dup_or_empty(s->key.pin);
    c.metric = dup_or_empty(s->metric);
    c.unit = dup_or_empty(s->unit);
    c.detail = dup_or_empty(s->detail);
    if (!c.key.experiment || !c.key.executor || !c.key.workload || !c.key.pin || !c.metric ||
        !c.unit || !c.detail) {
        sample_free(&c);
        return -ENOMEM;
    }
    r->v[r->n++] = c;
    return 0;
}

size_t cb_results_count(const cb_results_t *r)
{
    return r->n;
}

const cb_sample_t *cb_results_get(const cb_results_t *r, size_t i)
{
    return i < r->n ? &r->v[i] : NULL;
}

/* ---- Speedup and efficiency --------------------------------------------- */

static int is_ok_wall(const cb_sample_t *s)
{
    return s->status == CB_OK && strcmp(s->metric, "wall_s") == 0 && isfinite(s->value);
}

static int cmp_long(long a, long b)
{
    return (a > b) - (a < b);
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

int cb_sample_cmp_group(const cb_sample_t *a, const cb_sample_t *b)
{
    int c;
    if ((c = cmp_str(a->key.experiment, b->key.experiment)) != 0 ||
        (c = cmp_str(a->key.executor, b->key.executor)) != 0 ||
        (c = cmp_str(a->key.workload, b->key.workload)) != 0 ||
        (c = cmp_long(a->key.workers, b->key.workers)) != 0 ||
        (c = cmp_long(a->key.tasks, b->key.tasks)) != 0 ||
        (c = cmp_str(a->key.pin, b->key.pin)) != 0)
        return c;
    return cmp_str(a->metric, b->metric);
}

/* Orders by (configuration, metric): the summary's groups. */
static int cmp_group(const cb_sample_t *a, const cb_sample_t *b)
{
    return cb_sample_cmp_group(a, b);
}

/* Orders by what a serial baseline shares with the row it is the baseline
 * for: (experiment, workload, tasks, pin, rep). */
/* The CPython reference rows (py_*) are compared with py_serial, the C rows
 * (with or without the lock emulation) with serial: a speedup is within one
 * language. */
static int is_python(const cb_sample_t *s)
{
    return strncmp(s->key.executor, "py_", 3) == 0;
}

static int is_baseline(const cb_sample_t *s)
{
    return strcmp(s->key.executor, is_python(s) ? "py_serial" : "serial") == 0;
}

static int cmp_baseline(const cb_sample_t *a, const cb_sample_t *b)
{
    int c;
    if ((c = is_python(a) - is_python(b)) != 0)
        return c;
    if ((c = strcmp(a->key.experiment, b->key.experiment)) != 0)
        return c;
    if ((c = strcmp(a->key.workload, b->key.workload)) != 0)
        return c;
    if ((c = cmp_long(a->key.tasks, b->key.tasks)) != 0)
        return c;
    if ((c = strcmp(a->key.pin, b->key.pin)) != 0)
        return c;
    return cmp_long(a->rep, b->rep);
}

/* A derived row's identity: (configuration, metric, rep). */
static int cmp_derived(const cb_sample_t *a, const cb_sample_t *b)
{
    int c = cmp_group(a, b);
    return c != 0 ? c : cmp_long(a->rep, b->rep);
}

typedef int (*sample_cmp_t)(const cb_sample_t *, const cb_sample_t *);

struct sorted {
    const cb_results_t *r;
    sample_cmp_t cmp;
    size_t *idx; /* table indexes, sorted by cmp, ties by index */
    size_t n;
};

static int cmp_sorted(const void *pa, const void *pb, void *ctx)
{
    const struct sorted *s = ctx;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = s->cmp(&s->r->v[a], &s->r->v[b]);
    return c != 0 ? c : (a > b) - (a < b);
}

/* The first (lowest table index) row equal to key under s->cmp, or NULL.
 * Reads r->v afresh, so rows may be added to the table in between. */
static const cb_sample_t *find_first(const struct sorted *s, const cb_sample_t *key)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->cmp(&s->r->v[s->idx[mid]], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->n || s->cmp(&s->r->v[s->idx[lo]], key) != 0)
        return NULL;
    return &s->r->v[s->idx[lo]];
}

static int is_derived(const cb_sample_t *s)
{
    return strcmp(s->metric, "speedup") == 0 || strcmp(s->metric, "efficiency") == 0;
}

/* Adds d unless a row with its identity was there before this derivation
 * (a table read back from a raw CSV that has them already). */
static int add_derived(cb_results_t *r, const struct sorted *had, const cb_sample_t *d)
{
    if (find_first(had, d) != NULL)
        return 0;
    return cb_results_add(r, d);
}

int cb_select_match(const cb_select_t *q, const cb_sample_t *s)
{
    return s->status == CB_OK && !isnan(s->value) &&
           (!q->metric || strcmp(s->metric, q->metric) == 0) &&
           (!q->executor || strcmp(s->key.executor, q->executor) == 0) &&
           (!q->workload || strcmp(s->key.workload, q->workload) == 0) &&
           (!q->pin || strcmp(s->key.pin, q->pin) == 0) &&
           (!q->workers || s->key.workers == q->workers) && (!q->tasks || s->key.tasks == q->tasks);
}

int cb_config_key_same(const cb_config_key_t *a, const cb_config_key_t *b)
{
    return strcmp(a->executor, b->executor) == 0 && strcmp(a->workload, b->workload) == 0 &&
           a->workers == b->workers && a->tasks == b->tasks && strcmp(a->pin, b->pin) == 0;
}

size_t cb_results_collect(const cb_results_t *r, const cb_select_t *q, double *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n && n < cap; i++)
        if (cb_select_match(q, &r->v[i]))
            out[n++] = r->v[i].value;
    return n;
}

double cb_results_median(const cb_results_t *r, const cb_select_t *q)
{
    double *v = malloc((r->n + 1) * sizeof(*v));
    if (!v)
        return NAN;
    size_t n = cb_results_collect(r, q, v, r->n);
    double m = n ? cb_stats_median(v, n) : NAN;
    free(v);
    return m;
}

size_t cb_results_range(const cb_results_t *r, const cb_select_t *q, double *lo, double *hi,
                        double than, size_t *above)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const cb_sample_t *s = &r->v[i];
        if (!cb_select_match(q, s))
            continue;
        if (n == 0 || s->value < *lo)
            *lo = s->value;
        if (n == 0 || s->value > *hi)
            *hi = s->value;
        k += s->value > than;
        n++;
    }
    if (above)
        *above = k;
    return n;
}

double cb_results_value(const cb_results_t *r, int rep, const char *executor, const char *workload,
                        const char *pin, const char *metric)
{
    const cb_select_t q = {
        .executor = executor, .workload = workload, .pin = pin, .metric = metric};
    /* Newest first: the rows of the repetition just measured are at the end. */
    for (size_t i = r->n; i-- > 0;)
        if (r->v[i].rep == rep && cb_select_match(&q, &r->v[i]))
            return r->v[i].value;
    return NAN;
}

int cb_results_derive_speedup(cb_results_t *r)
{
    size_t n0 = r->n;
    struct sorted base = {r, cmp_baseline, malloc((n0 ? n0 : 1) * sizeof(size_t)), 0};
    struct sorted had = {r, cmp_derived, malloc((n0 ? n0 : 1) * sizeof(size_t)), 0};
    int rc = 0;
    if (base.idx == NULL || had.idx == NULL) {
        rc = -ENOMEM;
        goto err;
    }
    for (size_t i = 0; i < n0; i++) {
        if (is_ok_wall(&r->v[i]) && is_baseline(&r->v[i]))
            base.idx[base.n++] = i;
        if (is_derived(&r->v[i]))
            had.idx[had.n++] = i;
    }
    qsort_r(base.idx, base.n, sizeof(size_t), cmp_sorted, &base);
    qsort_r(had.idx, had.n, sizeof(size_t), cmp_sorted, &had);

    for (size_t i = 0; i < n0; i++) {
        /* A shallow copy: adding rows moves r->v, not the strings. */
        cb_sample_t s = r->v[i];
        if (!is_ok_wall(&s) || is_baseline(&s) || !(s.value > 0))
            continue;
        const cb_sample_t *serial = find_first(&base, &s);
        if (serial == NULL)
            continue;
        cb_sample_t d = s;
        d.metric = "speedup";
        d.value = serial->value / s.value;
        d.unit = "ratio";
        d.detail = NULL;
        if ((rc = add_derived(r, &had, &d)) < 0)
            goto err;
        if (s.key.workers > 0) {
            d.metric = "efficiency";
            d.value = d.value / (double)s.key.workers;
            if ((rc = add_derived(r, &had, &d)) < 0)
                goto err;
        }
    }
    free(base.idx);
    free(had.idx);
    return 0;
err:
    truncate_to(r, n0);
    free(base.idx);
    free(had.idx);
    return rc;
}

/* ---- Writing ------------------------------------------------------------ */

/* "%.9g", or an empty field for NaN (a failed sample or statistic). */
static void fmt_value(char *buf, size_t len, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, len, "%.9g", v);
}

int cb_results_write_raw(const cb_results_t *r, const char *path)
{
    cb_afile_t a;
    int rc = cb_afile_open(&a, path);
    if (rc < 0)
        return rc;
    if (fputs(CB_RAW_COLUMNS "\n", a.f) == EOF)
        goto werr;
    for (size_t i = 0; i < r->n; i++) {
        const cb_sample_t *s = &r->v[i];
        char workers[24], tasks[24], rep[16], value[32];
        snprintf(workers, sizeof(workers), "%ld", s->key.workers);
        snprintf(tasks, sizeof(tasks), "%ld", s->key.tasks);
        snprintf(rep, sizeof(rep), "%d", s->rep);
        fmt_value(value, sizeof(value), s->value);
        /* In the order of CB_RAW_COLUMNS. */
        const char *row[] = {
            s->key.experiment,
            s->key.executor,
            s->key.workload,
            workers,
            tasks,
            s->key.pin,
            rep,
            s->metric,
            value,
            s->unit,
            cb_status_name(s->status),
            s->detail,
        };
        if (cb_csv_write_row(a.f, row, sizeof(row) / sizeof(row[0])) < 0)
            goto werr;
    }
    return cb_afile_commit(&a);
werr:
    rc = cb_afile_write_error(&a);
    cb_afile_abort(&a);
    return rc;
}

struct group {
    size_t first; /* table index of its first sample */
    size_t begin; /* its range in the sorted index */
    size_t end;
};

static int cmp_group_first(const void *pa, const void *pb)
{
    const struct group *a = pa, *b = pb;
    return (a->first > b->first) - (a->first < b->first);
}

int cb_results_write_summary(const cb_results_t *r, const char *path)
{
    cb_afile_t a = {0};
    size_t n = r->n, ngroups = 0;
    size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
    struct group *groups = malloc((n ? n : 1) * sizeof(*groups));
    double *vals = malloc((n ? n : 1) * sizeof(*vals));
    int rc;
    if (idx == NULL || groups == NULL || vals == NULL) {
        rc = -ENOMEM;
        goto err;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* Sorted by group, ties by table index: a group's first index in the
     * sorted order is its first sample. */
    struct sorted by_group = {r, cmp_group, idx, n};
    qsort_r(idx, n, sizeof(*idx), cmp_sorted, &by_group);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_group(&r->v[idx[i - 1]], &r->v[idx[i]]) == 0)
            continue;
        if (ngroups > 0)
            groups[ngroups - 1].end = i;
        groups[ngroups++] = (struct group){.first = idx[i], .begin = i};
    }
    if (ngroups > 0)
        groups[ngroups - 1].end = n;
    qsort(groups, ngroups, sizeof(*groups), cmp_group_first);

    if ((rc = cb_afile_open(&a, path)) < 0)
        goto err;
    if (fputs(CB_SUMMARY_COLUMNS "\n", a.f) == EOF)
        goto werr;
    for (size_t g = 0; g < ngroups; g++) {
        size_t nv = 0;
        for (size_t i = groups[g].begin; i < groups[g].end; i++) {
            const cb_sample_t *s = &r->v[idx[i]];
            if (s->status == CB_OK && !isnan(s->value))
                vals[nv++] = s->value;
        }
        cb_summary_t st;
        if ((rc = cb_stats_summarize(vals, nv, &st)) < 0)
            goto err;
        const cb_sample_t *s = &r->v[groups[g].first];
        char workers[24], tasks[24], count[24], stat[8][32];
        snprintf(workers, sizeof(workers), "%ld", s->key.workers);
        snprintf(tasks, sizeof(tasks), "%ld", s->key.tasks);
        snprintf(count, sizeof(count), "%zu", st.n);
        /* In the order of CB_SUMMARY_COLUMNS. */
        const double sv[8] = {st.median, st.mean,    st.stddev,  st.min,
                              st.max,    st.ci95_lo, st.ci95_hi, st.cv};
        for (int k = 0; k < 8; k++)
            fmt_value(stat[k], sizeof(stat[k]), sv[k]);
        const char *row[] = {
            s->key.experiment, s->key.executor, s->key.workload, workers, tasks,   s->key.pin,
            s->metric,         s->unit,         count,           stat[0], stat[1], stat[2],
            stat[3],           stat[4],         stat[5],         stat[6], stat[7],
        };
        if (cb_csv_write_row(a.f, row, sizeof(row) / sizeof(row[0])) < 0)
            goto werr;
    }
    free(idx);
    free(groups);
    free(vals);
    return cb_afile_commit(&a);
werr:
    rc = cb_afile_write_error(&a);
err:
    cb_afile_abort(&a);
    free(idx);
    free(groups);
    free(vals);
    return rc;
}

/* ---- Reading ------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

enum {
    COL_EXPERIMENT,
    COL_EXECUTOR,
    COL_WORKLOAD,
    COL_WORKERS,
    COL_TASKS,
    COL_PIN,
    COL_REP,
    COL_METRIC,
    COL_VALUE,
    COL_UNIT,
    COL_STATUS,
    COL_DETAIL, /* ours, optional: files from other writers may lack it */
    NCOLS,
};

static const char *const col_names[NCOLS] = {
    "experiment", "executor", "workload", "workers", "tasks",  "pin",
    "rep",        "metric",   "value",    "unit",    "status", "detail",
};

/* A whole field as a non-negative integer up to max. */
static int parse_count(const char *s, long max, long *out)
{
    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* A whole field as a number, NaN excluded (an empty field is the only way
 * to write "no value"). */
static int parse_value(const char *s, double *out)
{
    if (*s == '\0' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
        return -EINVAL;
    /* Decimal only: strtod would also take "inf", "nan", hex ("0x10") and
     * give inf for an overflow ("1e309"). */
    if (strpbrk(s, "xXiInN"))
        return -EINVAL;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

int cb_results_read_raw(cb_results_t *r, const char *path, char *err, size_t errlen)
{
    size_t n0 = r->n, line = 0;
    const char *const *f;
    int rc, nf, col[NCOLS];
    cb_csv_reader_t *rd = cb_csv_open(path, &rc);
    if (rd == NULL) {
        set_err(err, errlen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    nf = cb_csv_next(rd, &f, &line);
    if (nf == 0) {
        set_err(err, errlen, "%s: empty file, no header", path);
        rc = -EINVAL;
        goto err;
    }
    if (nf < 0)
        goto bad_csv;
    int ncols = nf;
    for (int c = 0; c < NCOLS; c++) {
        col[c] = -1;
        for (int i = 0; i < nf && col[c] < 0; i++)
            if (strcmp(f[i], col_names[c]) == 0)
                col[c] = i;
        if (col[c] < 0 && c != COL_DETAIL) {
            set_err(err, errlen, "%s: missing column '%s'", path, col_names[c]);
            rc = -EINVAL;
            goto err;
        }
    }
    for (;;) {
        nf = cb_csv_next(rd, &f, &line);
        if (nf == 0)
            break;
        if (nf < 0)
            goto bad_csv;
        if (nf == 1 && f[0][0] == '\0')
            continue; /* a blank line */
        if (nf != ncols) {
            set_err(err, errlen, "%s:%zu: %d fields, the header has %d", path, line, nf, ncols);
            rc = -EINVAL;
            goto err;
        }
        long workers, tasks, rep;
        int bad = -1;
        if (parse_count(f[col[COL_WORKERS]], LONG_MAX, &workers) < 0)
            bad = COL_WORKERS;
        else if (parse_count(f[col[COL_TASKS]], LONG_MAX, &tasks) < 0)
            bad = COL_TASKS;
        else if (parse_count(f[col[COL_REP]], INT_MAX, &rep) < 0)
            bad = COL_REP;
        if (bad >= 0) {
            set_err(err, errlen, "%s:%zu: column '%s': '%s' is not a non-negative integer", path,
                    line, col_names[bad], f[col[bad]]);
            rc = -EINVAL;
            goto err;
        }
        int status = cb_status_parse(f[col[COL_STATUS]]);
        if (status < 0) {
            set_err(err, errlen,
                    "%s:%zu: column 'status': '%s' is not ok, skipped, timeout, crashed or error",
                    path, line, f[col[COL_STATUS]]);
            rc = -EINVAL;
            goto err;
        }
        const char *vs = f[col[COL_VALUE]];
        double value = NAN;
        if (*vs == '\0' && status == CB_OK) {
            set_err(err, errlen, "%s:%zu: column 'value' is empty on an ok row", path, line);
            rc = -EINVAL;
            goto err;
        }
        if (*vs != '\0' && parse_value(vs, &value) < 0) {
            set_err(err, errlen, "%s:%zu: column 'value': '%s' is not a finite decimal number",
                    path, line, vs);
            rc = -EINVAL;
            goto err;
        }
        const char *unit = f[col[COL_UNIT]];
        if (value < 0 && (strcmp(unit, "s") == 0 || strcmp(unit, "ms") == 0 ||
                          strcmp(unit, "us") == 0 || strcmp(unit, "ns") == 0)) {
            set_err(err, errlen, "%s:%zu: column 'value': %s %s is a negative time", path, line, vs,
                    unit);
            rc = -EINVAL;
            goto err;
        }
        cb_sample_t s = {
            .key =
                {
                    .experiment = f[col[COL_EXPERIMENT]],
                    .executor = f[col[COL_EXECUTOR]],
                    .workload = f[col[COL_WORKLOAD]],
                    .workers = workers,
                    .tasks = tasks,
                    .pin = f[col[COL_PIN]],
                },
            .rep = (int)rep,
            .metric = f[col[COL_METRIC]],
            .value = value,
            .unit = f[col[COL_UNIT]],
            .status = (cb_status_t)status,
            .detail = col[COL_DETAIL] >= 0 ? f[col[COL_DETAIL]] : NULL,
        };
        if ((rc = cb_results_add(r, &s)) < 0) {
            set_err(err, errlen, "%s:%zu: %s", path, line, strerror(-rc));
            goto err;
        }
    }
    cb_csv_close(rd);
    return 0;
bad_csv:
    rc = nf;
    set_err(err, errlen, "%s:%zu: malformed CSV: %s", path, line,
            cb_csv_error(rd) ? cb_csv_error(rd) : strerror(-rc));
err:
    cb_csv_close(rd);
    truncate_to(r, n0);
    return rc;
}
