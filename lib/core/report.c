#include "lib/core/report.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/afile.h"
#include "lib/core/clock.h"
#include "lib/core/csv.h"
#include "lib/core/helper.h"
#include "lib/core/stats.h"

/* ---- terminal output ---- */

void cb_report_progress(const cb_experiment_t *e, const cb_config_t *c, int rep, int reps,
                        size_t done, size_t total, uint64_t t0, cb_status_t st, double primary)
{
    double el = (double)(cb_now_ns() - t0) / 1e9;
    double eta = done ? el / (double)done * (double)(total - done) : 0;
    char what[160];
    snprintf(what, sizeof(what), "%s %s w=%ld t=%ld", c->key.executor, c->key.workload,
             c->key.workers, c->key.tasks);
    char repstr[32];
    if (rep < 0)
        snprintf(repstr, sizeof(repstr), "warm-up");
    else
        snprintf(repstr, sizeof(repstr), "rep %d/%d", rep + 1, reps);
    if (isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r\033[K%s [%s] %s  %zu/%zu  ETA %.0f s", e->name, repstr, what, done,
                total, eta);
    } else {
        fprintf(stderr, "%s [%s] %s: %s", e->name, repstr, what, cb_status_name(st));
        if (st == CB_OK && !isnan(primary))
            fprintf(stderr, " %s=%.6g", c->metrics[0].name, primary);
        fprintf(stderr, "\n");
    }
}

/* Values of one configuration's metric, ok samples only. */
static size_t collect(const cb_results_t *r, const cb_config_key_t *k, const char *metric,
                      double *out, size_t cap)
{
    const cb_select_t q = {k->executor, k->workload, k->pin, metric, k->workers, k->tasks};
    return cb_results_collect(r, &q, out, cap);
}

static int print_row(const cb_results_t *r, const cb_sample_t *s, double *v, size_t cap, FILE *out)
{
    size_t n = collect(r, &s->key, s->metric, v, cap);
    cb_summary_t sm;
    char note[128] = "";
    if (n == 0 || cb_stats_summarize(v, n, &sm) < 0) {
        snprintf(note, sizeof(note), "%s %s", cb_status_name(s->status),
                 s->detail ? s->detail : "");
        fprintf(out, "%-18s %-12s %4ld %7ld %-9s %-14s %11s %23s %8s  %s\n", s->key.executor,
                s->key.workload, s->key.workers, s->key.tasks, s->key.pin, s->metric, "-", "-", "-",
                note);
        return 0;
    }
    size_t ns = collect(r, &s->key, "speedup", v, cap);
    char sp[16] = "-";
    if (ns > 0)
        snprintf(sp, sizeof(sp), "%.2f", cb_stats_median(v, ns));
    int noisy = sm.cv > 0.10;
    if (noisy)
        snprintf(note, sizeof(note), "CV %.0f%%: noisy", sm.cv * 100);
    char range[48];
    snprintf(range, sizeof(range), "%.4g - %.4g", sm.min, sm.max);
    fprintf(out, "%-18s %-12s %4ld %7ld %-9s %-14s %11.4g %23s %8s  %s\n", s->key.executor,
            s->key.workload, s->key.workers, s->key.tasks, s->key.pin, s->metric, sm.median, range,
            sp, note);
    return noisy;
}

/* The terminal table: each configuration's primary metric (its first), in
 * the experiment's order, then the rows per_rep added (the Python
 * reference), in the order they came. */
void cb_report_table(const cb_experiment_t *e, const cb_results_t *r, FILE *out)
{
    size_t cap = cb_results_count(r) + 1;
    double *v = malloc(cap * sizeof(*v));
    if (!v)
        return;
    fprintf(out, "\n%-18s %-12s %4s %7s %-9s %-14s %11s %23s %8s  %s\n", "executor", "workload",
            "W", "tasks", "pin", "metric", "median", "min - max", "speedup", "note");
    int noisy = 0;
    for (size_t c = 0; c < e->nconfigs; c++) {
        const cb_config_t *cf = &e->configs[c];
        for (size_t i = 0; i < cb_results_count(r); i++) {
            const cb_sample_t *s = cb_results_get(r, i);
            if (cb_config_key_same(&s->key, &cf->key) &&
                strcmp(s->metric, cf->metrics[0].name) == 0) {
                noisy |= print_row(r, s, v, cap, out);
                break;
            }
        }
    }
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        int known = strcmp(s->metric, "speedup") == 0 || strcmp(s->metric, "efficiency") == 0;
        for (size_t c = 0; c < e->nconfigs && !known; c++)
            known = cb_config_key_same(&s->key, &e->configs[c].key);
        for (size_t j = 0; j < i && !known; j++)
            known = cb_config_key_same(&cb_results_get(r, j)->key, &s->key);
        if (!known)
            noisy |= print_row(r, s, v, cap, out);
    }
    if (noisy)
        fprintf(out, "(noisy: coefficient of variation over 10%%; the machine was busy or the "
                     "work is too short: more --reps, or a quieter machine)\n");
    free(v);
}

int cb_report_plot(const cb_experiment_t *e, const char *argv0, const char *dir)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "plots/%s.gp", e->plot ? e->plot : e->name);
    char *script = cb_runner_find_data(argv0, rel);
    if (!script) {
        fprintf(stderr, "plot: %s not found next to the binary; skipped\n", rel);
        return -ENOENT;
    }
    char raw[PATH_MAX], sum[PATH_MAX], png[PATH_MAX], svg[PATH_MAX], tpng[PATH_MAX + 16],
        tsvg[PATH_MAX + 16];
    snprintf(raw, sizeof(raw), "%s/%s.csv", dir, e->name);
    snprintf(sum, sizeof(sum), "%s/%s.summary.csv", dir, e->name);
    snprintf(png, sizeof(png), "%s/%s.png", dir, e->name);
    snprintf(svg, sizeof(svg), "%s/%s.svg", dir, e->name);
    snprintf(tpng, sizeof(tpng), "%s/.%s.png.tmp", dir, e->name);
    snprintf(tsvg, sizeof(tsvg), "%s/.%s.svg.tmp", dir, e->name);
    char *plotdir = strdup(script);
    char *slash = plotdir ? strrchr(plotdir, '/') : NULL;
    if (slash)
        *slash = '\0';
    char defs[4 * PATH_MAX + 256];
    snprintf(defs, sizeof(defs),
             "rawfile='%s'; summaryfile='%s'; outpng='%s'; outsvg='%s'; plotdir='%s'", raw, sum,
             tpng, tsvg, plotdir ? plotdir : ".");
    char *argv[] = {"gnuplot", "-e", defs, script, NULL};
    /* gnuplot and anything it starts are held to a minute, as a group. */
    int st = cb_helper_run(argv, NULL, 0, NULL, 60);
    if (st == 127)
        fprintf(stderr, "plot: cannot run gnuplot (scripts/setup.sh installs gnuplot-nox)\n");
    if (st == -ETIMEDOUT)
        fprintf(stderr, "plot: gnuplot ran past 60 s; killed with what it started\n");
    free(script);
    free(plotdir);
    int ok = st == 0;
    struct stat sb;
    if (ok && stat(tpng, &sb) == 0 && sb.st_size > 0 && rename(tpng, png) == 0 &&
        stat(tsvg, &sb) == 0 && sb.st_size > 0 && rename(tsvg, svg) == 0)
        return 0;
    unlink(tpng);
    unlink(tsvg);
    fprintf(stderr, "plot: gnuplot failed for %s; the CSVs are complete\n", e->name);
    return -EIO;
}

int cb_report_history(const char *hist, const char *summary, const cb_meta_t *m)
{
    int err = 0;
    cb_csv_reader_t *in = cb_csv_open(summary, &err);
    if (!in)
        return err;
    cb_afile_t a;
    int rc = cb_afile_open(&a, hist);
    if (rc < 0) {
        cb_csv_close(in);
        return rc;
    }
    /* Copy the old history, then the new rows: a crash leaves the old file. */
    int have_header = 0;
    FILE *old = fopen(hist, "r");
    if (old) {
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), old)) > 0) {
            have_header = 1;
            if (fwrite(buf, 1, n, a.f) != n)
                rc = -EIO;
        }
        fclose(old);
    }
    const char *const *f;
    size_t line, nrow = 0;
    int nf;
    const char *pre[3] = {cb_meta_get(m, "git_revision"), cb_meta_get(m, "utc_start"),
                          cb_meta_get(m, "host")};
    while (rc == 0 && (nf = cb_csv_next(in, &f, &line)) > 0) {
        if (nrow++ == 0) {
            if (have_header)
                continue;
            fputs("git_revision,utc,host,", a.f);
        } else {
            for (int i = 0; i < 3; i++) {
                cb_csv_write_field(a.f, pre[i] ? pre[i] : "");
                fputc(',', a.f);
            }
        }
        if (cb_csv_write_row(a.f, f, (size_t)nf) < 0)
            rc = -EIO;
    }
    cb_csv_close(in);
    if (rc < 0) {
        cb_afile_abort(&a);
        return rc;
    }
    return cb_afile_commit(&a);
}

int cb_report_history_check(const char *hist, char *why, size_t len)
{
    /* The folder takes the replacement (the history is rewritten through
     * an afile), and the path is no folder. */
    char reason[PATH_MAX + 64];
    if (cb_afile_check_target(hist, reason, sizeof(reason)) < 0) {
        snprintf(why, len, "--history %s: %s", hist, reason);
        return -1;
    }
    FILE *f = fopen(hist, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0; /* a new history */
        snprintf(why, len, "--history %s: %s", hist, strerror(errno));
        return -1;
    }
    char line[64] = "";
    const char *want = "git_revision,utc,host,experiment,";
    size_t n = fread(line, 1, strlen(want), f);
    fclose(f);
    if (n > 0 && (n < strlen(want) || memcmp(line, want, strlen(want)) != 0)) {
        snprintf(why, len,
                 "--history %s: not a history file (its header does not start with %s...); give a "
                 "new path or a history this harness wrote",
                 hist, want);
        return -1;
    }
    return 0; /* empty (a new history) or a history */
}
