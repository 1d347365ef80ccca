#include "lib/core/export.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/afile.h"
#include "lib/core/direction.h"
#include "lib/core/stats.h"

static const char *const names[] = {
    [CB_EXPORT_JSON] = "json",
    [CB_EXPORT_BMF] = "bmf",
    [CB_EXPORT_GBENCH] = "gbench",
    [CB_EXPORT_MD] = "md",
    [CB_EXPORT_GAB_SMALLER] = "gab-smaller",
    [CB_EXPORT_GAB_BIGGER] = "gab-bigger",
};
#define NFORMATS (sizeof(names) / sizeof(names[0]))

int cb_export_check(const char *arg, cb_export_format_t *fmt, const char **path, char *err,
                    size_t len)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    int k = -1;
    for (size_t i = 0; i < NFORMATS; i++)
        if (strlen(names[i]) == n && strncmp(arg, names[i], n) == 0)
            k = (int)i;
    if (k < 0 || !eq || !eq[1]) {
        snprintf(
            err, len,
            "--export: bad value '%s': expected FORMAT=FILE with FORMAT json, bmf, gbench, md, "
            "gab-smaller or gab-bigger",
            arg);
        return -1;
    }
    *fmt = (cb_export_format_t)k;
    *path = eq + 1;
    char why[PATH_MAX + 64];
    if (cb_afile_check_target(*path, why, sizeof(why)) < 0) {
        snprintf(err, len, "--export %s: %s", arg, why);
        return -1;
    }
    return 0;
}

/* ---- the summary groups ---- */

typedef struct group {
    const cb_sample_t *first;
    cb_summary_t s;
} group_t;

/* One group per (configuration, metric), in first-seen order, summarised
 * over its ok samples (n = 0 when none). */
static group_t *groups_of(const cb_results_t *r, size_t *ng)
{
    size_t n = cb_results_count(r), k = 0;
    group_t *g = calloc(n + 1, sizeof(*g));
    double *v = calloc(n + 1, sizeof(*v));
    for (size_t i = 0; g && v && i < n; i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        int seen = 0;
        for (size_t j = 0; j < k && !seen; j++)
            seen = cb_sample_cmp_group(g[j].first, s) == 0;
        if (seen)
            continue;
        size_t m = 0;
        for (size_t j = i; j < n; j++) {
            const cb_sample_t *t = cb_results_get(r, j);
            if (t->status == CB_OK && isfinite(t->value) && cb_sample_cmp_group(s, t) == 0)
                v[m++] = t->value;
        }
        g[k].first = s;
        if (cb_stats_summarize(v, m, &g[k].s) < 0) {
            free(g);
            g = NULL;
            break;
        }
        k++;
    }
    free(v);
    *ng = k;
    return g;
}

/* A number, or null for NaN and infinities (not JSON). */
static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *key_object(const cb_sample_t *s)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "experiment", s->key.experiment,
                     "executor", s->key.executor, "workload", s->key.workload, "workers",
                     (json_int_t)s->key.workers, "tasks", (json_int_t)s->key.tasks, "pin",
                     s->key.pin, "metric", s->metric, "unit", s->unit ? s->unit : "");
}

static json_t *summary_object(const group_t *g)
{
    json_t *o = key_object(g->first);
    if (!o)
        return NULL;
    json_object_set_new(o, "n", json_integer((json_int_t)g->s.n));
    const char *f[] = {"median", "mean", "stddev", "min", "max", "ci95_lo", "ci95_hi", "cv"};
    const double x[] = {g->s.median, g->s.mean,    g->s.stddev,  g->s.min,
                        g->s.max,    g->s.ci95_lo, g->s.ci95_hi, g->s.cv};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        json_object_set_new(o, f[i], g->s.n ? num(x[i]) : json_null());
    return o;
}

static json_t *meta_object(const cb_meta_t *m)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < cb_meta_count(m); i++)
        json_object_set_new(o, cb_meta_key(m, i), json_string(cb_meta_get(m, cb_meta_key(m, i))));
    return o;
}

static json_t *doc_json(const cb_results_t *r, const cb_meta_t *m, const group_t *g, size_t ng,
                        const cb_facts_t *facts)
{
    json_t *samples = json_array(), *summary = json_array(), *fl = json_array();
    for (size_t i = 0; fl && facts && i < facts->n; i++) {
        const cb_fact_t *f = &facts->v[i];
        json_array_append_new(fl, json_pack("{s:s, s:o, s:s, s:o, s:s}", "name", f->name, "value",
                                            num(f->value), "unit", f->unit, "reference",
                                            num(f->reference), "text", f->text));
    }
    for (size_t i = 0; samples && i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        json_t *o = key_object(s);
        json_object_set_new(o, "rep", json_integer(s->rep));
        json_object_set_new(o, "value", num(s->value));
        json_object_set_new(o, "status", json_string(cb_status_name(s->status)));
        json_object_set_new(o, "detail", json_string(s->detail ? s->detail : ""));
        json_array_append_new(samples, o);
    }
    for (size_t i = 0; summary && i < ng; i++)
        json_array_append_new(summary, summary_object(&g[i]));
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "schema", "concbench-run/1", "experiment",
                     cb_meta_get(m, "experiment") ? cb_meta_get(m, "experiment") : "", "meta",
                     meta_object(m), "samples", samples, "summary", summary, "facts", fl);
}

/* experiment/executor/workload/wW/tT/pin: the benchmark's name in BMF and
 * Google Benchmark's JSON. */
static void bench_name(const cb_sample_t *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/%s/w%ld/t%ld/%s", s->key.experiment, s->key.executor, s->key.workload,
             s->key.workers, s->key.tasks, s->key.pin);
}

static json_t *doc_bmf(const group_t *g, size_t ng)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < ng; i++) {
        if (g[i].s.n == 0)
            continue; /* BMF has no place for a failed measure */
        char name[512];
        bench_name(g[i].first, name, sizeof(name));
        json_t *b = json_object_get(o, name);
        if (!b) {
            b = json_object();
            json_object_set_new(o, name, b);
        }
        json_object_set_new(b, g[i].first->metric,
                            json_pack("{s:o, s:o, s:o}", "value", num(g[i].s.median), "lower_value",
                                      num(g[i].s.ci95_lo), "upper_value", num(g[i].s.ci95_hi)));
    }
    return o;
}

/* Google Benchmark's time unit for one of the harness's time metrics, and
 * the factor into it: seconds and milliseconds are written in microseconds,
 * since its tools print times without decimals. NULL for what is not a
 * time of its own: other units, and the CPU times (user_s, sys_s,
 * task_clock_s), which are the cpu_time of wall_s. */
static const char *gb_unit(const cb_sample_t *s, double *scale)
{
    static const struct {
        const char *unit, *gb;
        double scale;
    } u[] = {{"s", "us", 1e6}, {"ms", "us", 1e3}, {"us", "us", 1}, {"ns", "ns", 1}};
    if (strcmp(s->metric, "user_s") == 0 || strcmp(s->metric, "sys_s") == 0 ||
        strcmp(s->metric, "task_clock_s") == 0)
        return NULL;
    for (size_t i = 0; s->unit && i < sizeof(u) / sizeof(u[0]); i++)
        if (strcmp(s->unit, u[i].unit) == 0) {
            *scale = u[i].scale;
            return u[i].gb;
        }
    return NULL;
}

static json_t *gb_context(const cb_meta_t *m)
{
    double load[3] = {0, 0, 0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = load[1] = load[2] = 0;
        fclose(f);
    }
    const char *pus = cb_meta_get(m, "pus");
    const char *date = cb_meta_get(m, "utc_start"), *host = cb_meta_get(m, "host");
    const char *cmd = cb_meta_get(m, "command_line"), *cpu = cb_meta_get(m, "cpu_model");
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:[], s:[fff], s:s, s:s}", "date",
                     date ? date : "", "host_name", host ? host : "", "executable", cmd ? cmd : "",
                     "num_cpus", (json_int_t)(pus ? atol(pus) : 0), "mhz_per_cpu", (json_int_t)0,
                     "cpu_scaling_enabled", 0, "caches", "load_avg", load[0], load[1], load[2],
                     "library_build_type", "release", "cpu_model", cpu ? cpu : "");
}

/* The CPU time of a wall_s sample: the task-clock the kernel counted over
 * the same measurement (every thread and child), else its user + sys time
 * (getrusage), else NaN. */
static double cpu_of(const cb_results_t *r, const cb_sample_t *w)
{
    double us = NAN, sy = NAN;
    for (size_t j = 0; j < cb_results_count(r); j++) {
        const cb_sample_t *s = cb_results_get(r, j);
        if (s->rep != w->rep || s->status != CB_OK || !cb_config_key_same(&s->key, &w->key))
            continue;
        if (strcmp(s->metric, "task_clock_s") == 0)
            return s->value;
        if (strcmp(s->metric, "user_s") == 0)
            us = s->value;
        if (strcmp(s->metric, "sys_s") == 0)
            sy = s->value;
    }
    return us + sy;
}

static json_t *doc_gbench(const cb_results_t *r, const cb_meta_t *m, const group_t *g, size_t ng)
{
    json_t *list = json_array();
    long family = 0;
    for (size_t i = 0; list && i < ng; i++) {
        const cb_sample_t *f = g[i].first;
        double k1 = 1;
        const char *unit = gb_unit(f, &k1);
        if (!unit || g[i].s.n == 0)
            continue; /* Google Benchmark's entries are times */
        char base[512], name[600];
        bench_name(f, base, sizeof(base));
        snprintf(name, sizeof(name), "%s/%s", base, f->metric);
        /* cpu_time: for wall_s, the measurement's CPU time (cpu_of); for
         * the other times (per spawn, per switch: means over a loop) there
         * is none per iteration, and cpu_time repeats real_time. */
        int wall = strcmp(f->metric, "wall_s") == 0;
        double *cpu = wall ? calloc(g[i].s.n + 1, sizeof(*cpu)) : NULL;
        size_t ncpu = 0;
        long k = 0;
        for (size_t j = 0; j < cb_results_count(r); j++) {
            const cb_sample_t *s = cb_results_get(r, j);
            if (s->status != CB_OK || !isfinite(s->value) || cb_sample_cmp_group(s, f) != 0)
                continue;
            double c = cpu ? cpu_of(r, s) : s->value;
            if (!isfinite(c))
                c = s->value;
            if (cpu && ncpu < g[i].s.n)
                cpu[ncpu++] = c;
            json_array_append_new(
                list,
                json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:s}", "name",
                          name, "family_index", (json_int_t)family, "per_family_instance_index",
                          (json_int_t)0, "run_name", name, "run_type", "iteration", "repetitions",
                          (json_int_t)g[i].s.n, "repetition_index", (json_int_t)k++, "threads",
                          (json_int_t)1, "iterations", (json_int_t)1, "real_time", s->value * k1,
                          "cpu_time", c * k1, "time_unit", unit));
        }
        cb_summary_t cs;
        int have_cpu = cpu && ncpu == g[i].s.n && cb_stats_summarize(cpu, ncpu, &cs) == 0;
        free(cpu);
        const char *agg[] = {"mean", "median", "stddev", "cv"};
        /* Times in the entries' unit; the cv is a fraction, as Google
         * Benchmark writes it. */
        const double val[] = {g[i].s.mean * k1, g[i].s.median * k1, g[i].s.stddev * k1, g[i].s.cv};
        const double cval[] = {have_cpu ? cs.mean * k1 : val[0], have_cpu ? cs.median * k1 : val[1],
                               have_cpu ? cs.stddev * k1 : val[2], have_cpu ? cs.cv : val[3]};
        for (int a = 0; a < 4; a++) {
            char an[640];
            snprintf(an, sizeof(an), "%s_%s", name, agg[a]);
            json_array_append_new(
                list,
                json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:o, s:o, s:s}",
                          "name", an, "family_index", (json_int_t)family,
                          "per_family_instance_index", (json_int_t)0, "run_name", name, "run_type",
                          "aggregate", "repetitions", (json_int_t)g[i].s.n, "threads",
                          (json_int_t)1, "aggregate_name", agg[a], "aggregate_unit",
                          a == 3 ? "percentage" : "time", "iterations", (json_int_t)g[i].s.n,
                          "real_time", num(val[a]), "cpu_time", num(cval[a]), "time_unit", unit));
        }
        family++;
    }
    return json_pack("{s:o, s:o}", "context", gb_context(m), "benchmarks", list);
}

/* github-action-benchmark's customSmallerIsBetter / customBiggerIsBetter:
 * the summary's metrics of that direction (lib/core/direction.h; facts of
 * the run, such as counts of work done, are in neither). */
static json_t *doc_gab(const group_t *g, size_t ng, cb_direction_t want)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < ng; i++) {
        const cb_sample_t *f = g[i].first;
        if (g[i].s.n == 0 || cb_metric_direction(f->metric, f->unit, NULL) != want)
            continue;
        char base[512], name[600], range[64], extra[160];
        bench_name(f, base, sizeof(base));
        snprintf(name, sizeof(name), "%s/%s", base, f->metric);
        snprintf(range, sizeof(range), "\u00b1 %.4g", (g[i].s.ci95_hi - g[i].s.ci95_lo) / 2);
        snprintf(extra, sizeof(extra), "n=%zu min=%.6g max=%.6g ci95=%.6g..%.6g", g[i].s.n,
                 g[i].s.min, g[i].s.max, g[i].s.ci95_lo, g[i].s.ci95_hi);
        json_array_append_new(list, json_pack("{s:s, s:s, s:o, s:s, s:s}", "name", name, "unit",
                                              f->unit ? f->unit : "", "value", num(g[i].s.median),
                                              "range", range, "extra", extra));
    }
    return list;
}

static int write_md(FILE *f, const group_t *g, size_t ng)
{
    fprintf(f, "| executor | workload | workers | tasks | pin | metric | unit | n | median | "
               "min | max | ci95 |\n|---|---|---:|---:|---|---|---|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < ng; i++) {
        const cb_sample_t *s = g[i].first;
        fprintf(f, "| %s | %s | %ld | %ld | %s | %s | %s | %zu |", s->key.executor, s->key.workload,
                s->key.workers, s->key.tasks, s->key.pin, s->metric, s->unit ? s->unit : "",
                g[i].s.n);
        if (g[i].s.n)
            fprintf(f, " %.4g | %.4g | %.4g | %.4g - %.4g |\n", g[i].s.median, g[i].s.min,
                    g[i].s.max, g[i].s.ci95_lo, g[i].s.ci95_hi);
        else
            fprintf(f, " - | - | - | %s |\n", cb_status_name(s->status));
    }
    return ferror(f) ? -EIO : 0;
}

int cb_export_write(cb_export_format_t fmt, const char *path, const cb_results_t *r,
                    const cb_meta_t *m, const cb_facts_t *facts)
{
    size_t ng = 0;
    group_t *g = groups_of(r, &ng);
    if (!g)
        return -ENOMEM;
    cb_afile_t a;
    int rc = cb_afile_open(&a, path);
    if (rc < 0) {
        free(g);
        return rc;
    }
    if (fmt == CB_EXPORT_MD) {
        rc = write_md(a.f, g, ng);
    } else {
        json_t *doc = fmt == CB_EXPORT_JSON          ? doc_json(r, m, g, ng, facts)
                      : fmt == CB_EXPORT_BMF         ? doc_bmf(g, ng)
                      : fmt == CB_EXPORT_GAB_SMALLER ? doc_gab(g, ng, CB_DIR_LOWER)
                      : fmt == CB_EXPORT_GAB_BIGGER  ? doc_gab(g, ng, CB_DIR_HIGHER)
                                                     : doc_gbench(r, m, g, ng);
        rc = !doc                                                           ? -ENOMEM
             : json_dumpf(doc, a.f, JSON_INDENT(1) | JSON_ENSURE_ASCII) < 0 ? -EIO
                                                                            : 0;
        if (rc == 0 && fputc('\n', a.f) == EOF)
            rc = -EIO;
        json_decref(doc);
    }
    free(g);
    if (rc == 0 && (rc = cb_afile_commit(&a)) == 0)
        return 0;
    cb_afile_abort(&a);
    return rc;
}
