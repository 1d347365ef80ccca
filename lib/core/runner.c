#include "lib/core/runner.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/cb_version.h"
#include "lib/core/clock.h"
#include "lib/core/csv.h"
#include "lib/core/helper.h"
#include "lib/core/sandbox.h"
#include "lib/core/stats.h"

static volatile sig_atomic_t interrupts;

/* The results files of a run are staged under these names (beside the
 * targets) and renamed into place only once all three are complete, so that
 * E.csv, E.summary.csv and E.meta on disk always belong to the same run.
 * The signal handler removes them when it exits mid-write. */
#define NSTAGED 3
static char staged[NSTAGED][PATH_MAX];
static volatile sig_atomic_t nstaged;

/* The harness's pid: a child forked with cb_child_init_quick keeps these
 * handlers, and in any process but the harness they only end it. */
static pid_t harness_pid;

static void on_signal(int sig)
{
    if (getpid() != harness_pid) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupts++;
    /* The measurement in flight is abandoned either way: its children go
     * now. A second signal means "stop at once": the files on disk are
     * always complete (they are only ever renamed into place), so only the
     * temp files need removing. */
    cb_children_kill_all(SIGKILL);
    if (interrupts >= 2) {
        cb_afile_cleanup_all();
        for (int i = 0; i < nstaged; i++)
            unlink(staged[i]);
        _exit(CB_EXIT_INTERRUPTED);
    }
}

int cb_runner_interrupted(void)
{
    return interrupts > 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    harness_pid = getpid();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        abort();
    /* A peer that closes a socket or pipe must give EPIPE, not kill the
     * harness; a file over `ulimit -f` must give EFBIG, not SIGXFSZ. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0 || sigaction(SIGXFSZ, &sa, NULL) != 0)
        abort();
}

const char *cb_runner_pin_name(const cb_opts_t *o)
{
    switch (o->pin) {
    case CB_PIN_NONE:
        return "none";
    case CB_PIN_COMPACT:
        return "compact";
    case CB_PIN_SCATTER:
        return "scatter";
    case CB_PIN_LIST:
        return o->pin_arg ? o->pin_arg : "list";
    }
    return "?";
}

int cb_runner_plan(const cb_opts_t *o, const cb_topo_t *t, int workers, cb_pin_plan_t *plan)
{
    char err[256];
    int rc = cb_pin_plan_make(t, o->pin, o->pin_pus, o->npin_pus, workers, plan, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "%s\n", rc == -ENOMEM ? "out of memory" : err);
        return CB_EXIT_USAGE;
    }
    return 0;
}

int cb_runner_start(const cb_cli_spec_t *spec, int argc, char **argv, cb_opts_t *o,
                    cb_topo_t **topo)
{
    int rc = cb_cli_parse(spec, argc, argv, o);
    if (rc != 0 || o->help || o->version) {
        cb_cli_free(o);
        return rc;
    }
    int err = 0;
    cb_topo_t *t = cb_topo_load(&err);
    if (!t) {
        fprintf(stderr, "%s: cannot load the topology with hwloc: %s\n", spec->prog,
                strerror(-err));
        cb_cli_free(o);
        return CB_EXIT_USAGE;
    }
    if ((rc = cb_cli_check_topo(o, t)) != 0) {
        cb_topo_free(t);
        cb_cli_free(o);
        return rc;
    }
    if (o->plan) {
        size_t n = 0;
        long *w = cb_cli_worker_counts(o, t, &n);
        long most = 1;
        for (size_t i = 0; w && i < n; i++)
            most = w[i] > most ? w[i] : most;
        free(w);
        cb_pin_plan_t plan;
        rc = cb_runner_plan(o, t, (int)most, &plan);
        if (rc == 0) {
            cb_pin_plan_print(t, &plan, stdout);
            cb_pin_plan_free(&plan);
        }
        cb_topo_free(t);
        cb_cli_free(o);
        return rc;
    }
    if (!o->list && !cb_topo_is_this_system(t) && o->pin != CB_PIN_NONE) {
        fprintf(stderr,
                "%s: the topology is not this machine (HWLOC_SYNTHETIC or HWLOC_XMLFILE is set): "
                "it can be planned (--plan) but not bound; unset it or use --pin none\n",
                spec->prog);
        cb_topo_free(t);
        cb_cli_free(o);
        return CB_EXIT_USAGE;
    }
    *topo = t;
    return -1;
}

char *cb_runner_find_data(const char *argv0, const char *rel)
{
    char path[PATH_MAX];
    const char *rd = getenv("RUNFILES_DIR");
    const char *ws = getenv("BUILD_WORKSPACE_DIRECTORY");
    const char *cands[4][2] = {
        {rd, "/concbench/"}, {argv0, ".runfiles/concbench/"}, {ws, "/"}, {".", "/"}};
    for (int i = 0; i < 4; i++) {
        if (!cands[i][0] || !*cands[i][0])
            continue;
        snprintf(path, sizeof(path), "%s%s%s", cands[i][0], cands[i][1], rel);
        if (access(path, R_OK) == 0)
            return strdup(path);
    }
    return NULL;
}

/* ---- one measurement in a sandbox child ---- */

typedef struct {
    const cb_config_t *c;
    const cb_opts_t *o;
} child_arg_t;

static int child_measure(void *shm, void *arg)
{
    child_arg_t *a = arg;
    cb_measurement_t *m = shm;
    for (int i = 0; i < CB_MAX_METRICS; i++)
        m->values[i] = NAN;
    m->status = CB_OK;
    m->detail[0] = '\0';
    int rc = a->c->measure(a->c, a->o, m);
    if (rc < 0 && m->status == CB_OK) {
        m->status = CB_ERROR;
        if (!m->detail[0])
            snprintf(m->detail, sizeof(m->detail), "%s", strerror(-rc));
    }
    return rc;
}

static int add_rows(cb_results_t *r, const cb_config_t *c, int rep, const double *values,
                    cb_status_t st, const char *detail)
{
    for (int i = 0; i < c->nmetrics; i++) {
        cb_sample_t s = {
            .key = c->key,
            .rep = rep,
            .metric = c->metrics[i].name,
            .value = st == CB_OK ? values[i] : NAN,
            .unit = c->metrics[i].unit,
            .status = st,
            .detail = detail,
        };
        if (cb_results_add(r, &s) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* ---- terminal output ---- */

static void progress(const cb_experiment_t *e, const cb_config_t *c, int rep, int reps, size_t done,
                     size_t total, uint64_t t0, cb_status_t st, double primary)
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
static void print_table(const cb_experiment_t *e, const cb_results_t *r, FILE *out)
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

/* ---- files ---- */

static void join(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
    snprintf(buf, len, "%s/%s%s", dir, name, ext);
}

static int render_plot(const cb_experiment_t *e, const char *argv0, const char *dir)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "plots/%s.gp", e->name);
    char *script = cb_runner_find_data(argv0, rel);
    if (!script) {
        fprintf(stderr, "plot: %s not found next to the binary; skipped\n", rel);
        return -ENOENT;
    }
    char raw[PATH_MAX], sum[PATH_MAX], png[PATH_MAX], svg[PATH_MAX], tpng[PATH_MAX + 16],
        tsvg[PATH_MAX + 16];
    join(raw, sizeof(raw), dir, e->name, ".csv");
    join(sum, sizeof(sum), dir, e->name, ".summary.csv");
    join(png, sizeof(png), dir, e->name, ".png");
    join(svg, sizeof(svg), dir, e->name, ".svg");
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
    int st = cb_helper_run(argv, NULL, 0, NULL);
    if (st == 127)
        fprintf(stderr, "plot: cannot run gnuplot (scripts/setup.sh installs gnuplot-nox)\n");
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

static int append_history(const char *hist, const char *summary, const cb_meta_t *m)
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

static void fill_meta(cb_meta_t *m, const cb_experiment_t *e, const cb_opts_t *o,
                      const cb_topo_t *t, int argc, char **argv, int partial)
{
    cb_meta_fill_host(m);
    char buf[4096];
    cb_meta_set(m, "experiment", e->name);
#define SETI(k, v)                                                                                 \
    do {                                                                                           \
        snprintf(buf, sizeof(buf), "%ld", (long)(v));                                              \
        cb_meta_set(m, k, buf);                                                                    \
    } while (0)
    SETI("packages", cb_topo_packages(t));
    SETI("numa_nodes", cb_topo_numa_nodes(t));
    SETI("cores", cb_topo_cores(t));
    SETI("pus", cb_topo_pus(t));
    SETI("allowed_pus", cb_topo_allowed_pus(t));
    cb_topo_allowed_str(t, buf, sizeof(buf));
    cb_meta_set(m, "allowed_cpuset", buf);
    cb_meta_set(m, "git_revision", cb_git_revision());
    size_t w = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc && w < sizeof(buf) - 1; i++)
        w += (size_t)snprintf(buf + w, sizeof(buf) - w, "%s%s", i ? " " : "", argv[i]);
    cb_meta_set(m, "command_line", buf);
    cb_meta_set(m, "pin", cb_runner_pin_name(o));
    cb_meta_set(m, "quick", o->quick ? "1" : "0");
    cb_meta_set(m, "partial", partial ? "1" : "0");
    for (const char *const *kv = e->meta; kv && kv[0]; kv += 2)
        cb_meta_set(m, kv[0], kv[1]);
#undef SETI
}

/* An existing CSV we --append to: its rows come first, and our repetitions
 * are numbered after its last one. Returns 0 or CB_EXIT_USAGE. */
static int load_for_append(cb_results_t *r, const char *raw, const char *meta, int *rep_base)
{
    char err[256];
    if (access(raw, F_OK) != 0)
        return 0;
    if (cb_results_read_raw(r, raw, err, sizeof(err)) < 0) {
        fprintf(stderr, "--append: %s: %s\n", raw, err);
        return CB_EXIT_USAGE;
    }
    cb_meta_t *old = cb_meta_new(), *now = cb_meta_new();
    int rc = 0;
    if (old && now && cb_meta_read(old, meta) == 0 && cb_meta_fill_host(now) == 0) {
        const char *keys[] = {"host", "cpu_model", "kernel"};
        for (int i = 0; i < 3; i++) {
            const char *a = cb_meta_get(old, keys[i]), *b = cb_meta_get(now, keys[i]);
            if (a && b && strcmp(a, b) != 0) {
                fprintf(stderr, "--append: %s has %s=%s, this run has %s: not the same machine\n",
                        meta, keys[i], a, b);
                rc = CB_EXIT_USAGE;
                break;
            }
        }
    }
    cb_meta_free(old);
    cb_meta_free(now);
    for (size_t i = 0; i < cb_results_count(r); i++)
        if (cb_results_get(r, i)->rep + 1 > *rep_base)
            *rep_base = cb_results_get(r, i)->rep + 1;
    return rc;
}

int cb_runner_run(cb_experiment_t *e, const cb_opts_t *o, const cb_topo_t *t, int argc, char **argv)
{
    install_signals();
    int reps = o->reps > 0 ? o->reps : e->reps;
    int warmup = o->warmup >= 0 ? o->warmup : e->warmup;
    char *dir = cb_cli_out_dir(o);
    cb_results_t *r = cb_results_new();
    cb_measurement_t *m = cb_sandbox_shm_alloc(sizeof(*m));
    int exit_code = CB_EXIT_OK;
    if (!dir || !r || !m) {
        fprintf(stderr, "%s: could not run: out of memory\n", e->name);
        exit_code = CB_EXIT_NORUN;
        goto out;
    }
    if (!o->out_dir && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", e->name, dir, strerror(errno));
        exit_code = CB_EXIT_USAGE;
        goto out;
    }
    char raw[PATH_MAX], sum[PATH_MAX], meta[PATH_MAX];
    join(raw, sizeof(raw), dir, e->name, ".csv");
    join(sum, sizeof(sum), dir, e->name, ".summary.csv");
    join(meta, sizeof(meta), dir, e->name, ".meta");
    int rep_base = 0;
    if (o->append) {
        if ((exit_code = load_for_append(r, raw, meta, &rep_base)) != 0)
            goto out;
    }
    for (size_t i = 0; i < e->nconfigs; i++)
        e->configs[i].key.experiment = e->name;

    size_t total = (size_t)(reps + warmup) * e->nconfigs, done = 0;
    uint64_t t0 = cb_now_ns();
    int failed = 0;
    for (int rep = -warmup; rep < reps && !interrupts; rep++) {
        /* Rotate the order each repetition so no configuration always runs
         * first (after the idle of start-up) or last. */
        long nc = (long)(e->nconfigs ? e->nconfigs : 1);
        size_t start = (size_t)(((rep % nc) + nc) % nc); /* rep 0 starts with config 0 */
        for (size_t j = 0; j < e->nconfigs && !interrupts; j++) {
            cb_config_t *c = &e->configs[(start + j) % e->nconfigs];
            double tmo =
                c->timeout_s > 0 ? c->timeout_s : (o->timeout_s > 0 ? o->timeout_s : e->timeout_s);
            child_arg_t ca = {c, o};
            cb_sandbox_result_t sr;
            memset(m, 0, sizeof(*m));
            int rc = cb_sandbox_run(child_measure, &ca, m, (uint64_t)(tmo * 1e9), &sr);
            if (interrupts)
                break; /* the measurement in flight was cut short: not a sample */
            cb_status_t st = CB_OK;
            const char *detail = "";
            if (rc < 0) {
                st = CB_ERROR;
                detail = strerror(-rc);
            } else if (sr.status != CB_OK) {
                st = sr.status;
                detail = sr.detail;
            } else if (m->status != CB_OK) {
                st = m->status;
                detail = m->detail;
            }
            done++;
            if (rep >= 0) {
                failed |= st != CB_OK;
                if (add_rows(r, c, rep + rep_base, m->values, st, detail) < 0) {
                    fprintf(stderr, "%s: out of memory\n", e->name);
                    interrupts = 1;
                }
            }
            progress(e, c, rep, reps, done, total, t0, st, m->values[0]);
        }
        if (e->per_rep && !interrupts) {
            int rc = e->per_rep(rep < 0 ? rep : rep + rep_base, r, o, e->per_rep_ctx);
            if (rc < 0)
                fprintf(stderr, "\n%s: %s\n", e->name, strerror(-rc));
        }
    }
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r\033[K");
    int partial = interrupts > 0;
    if (partial)
        fprintf(stderr, "%s: interrupted: writing the %zu completed rows, marked partial\n",
                e->name, cb_results_count(r));

    if (e->derive_speedup)
        cb_results_derive_speedup(r);
    for (size_t i = 0; i < cb_results_count(r); i++)
        failed |=
            cb_results_get(r, i)->status != CB_OK && cb_results_get(r, i)->status != CB_SKIPPED;

    cb_meta_t *mt = cb_meta_new();
    int wrc = mt ? 0 : -ENOMEM;
    if (mt) {
        fill_meta(mt, e, o, t, argc, argv, partial);
        char el[32];
        snprintf(el, sizeof(el), "%.3f", (double)(cb_now_ns() - t0) / 1e9);
        cb_meta_set(mt, "elapsed_s", el);
    }
    const char *final[NSTAGED] = {raw, sum, meta};
    const char *ext[NSTAGED] = {".csv", ".summary.csv", ".meta"};
    for (int i = 0; i < NSTAGED; i++)
        snprintf(staged[i], sizeof(staged[i]), "%s/.%s%s.new", dir, e->name, ext[i]);
    nstaged = NSTAGED;
    const char *what = raw;
    if (wrc == 0 && (wrc = cb_results_write_raw(r, staged[0])) == 0) {
        what = sum;
        if ((wrc = cb_results_write_summary(r, staged[1])) == 0) {
            what = meta;
            wrc = cb_meta_write(mt, staged[2]);
        }
    }
    /* All three are complete: now they replace the previous run's. */
    for (int i = 0; i < NSTAGED && wrc == 0; i++) {
        if (rename(staged[i], final[i]) != 0) {
            wrc = -errno;
            what = final[i];
        }
    }
    for (int i = 0; i < NSTAGED; i++)
        unlink(staged[i]); /* after a failure; ENOENT once renamed */
    nstaged = 0;
    exit_code = partial ? CB_EXIT_INTERRUPTED : failed ? CB_EXIT_FAILED : CB_EXIT_OK;
    if (wrc < 0) {
        fprintf(stderr, "%s: cannot write %s: %s (the previous files, if any, are unchanged)\n",
                e->name, what, strerror(-wrc));
        exit_code = CB_EXIT_FAILED;
    } else {
        print_table(e, r, stdout);
        if (e->verdict)
            e->verdict(r, stdout, e->verdict_ctx);
        printf("\nwrote %s\n      %s\n      %s\n", raw, sum, meta);
        if (!o->no_plot && !partial && render_plot(e, argv[0], dir) == 0)
            printf("      %s/%s.png\n      %s/%s.svg\n", dir, e->name, dir, e->name);
        if (o->history) {
            int hrc = append_history(o->history, sum, mt);
            if (hrc < 0)
                fprintf(stderr, "%s: cannot append to history %s: %s\n", e->name, o->history,
                        strerror(-hrc));
            else
                printf("      %s (history)\n", o->history);
        }
    }
    fflush(stdout);
    cb_meta_free(mt);
out:
    cb_results_free(r);
    cb_sandbox_shm_free(m, sizeof(*m));
    free(dir);
    return exit_code;
}
