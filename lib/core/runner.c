#include "lib/core/runner.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/meta.h"
#include "lib/core/afile.h"
#include "lib/core/cb_version.h"
#include "lib/core/clock.h"
#include "lib/core/csv.h"
#include "lib/core/export.h"
#include "lib/core/helper.h"
#include "lib/core/report.h"
#include "lib/core/sandbox.h"
#include "lib/core/stats.h"
#include "lib/core/syscheck.h"

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
    /* The measurement in flight is abandoned: its children go now. The
     * completed rows are then written (a few milliseconds), whatever comes
     * next: a second signal right after the first is what a CI cancel sends
     * (`timeout` and then a group kill), and must not lose them. A third
     * means "stop at once": the files on disk are always complete (they are
     * only ever renamed into place), so only the temp files need removing. */
    cb_children_kill_all(SIGKILL);
    if (interrupts >= 3) {
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
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0)
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

/* This machine's system check, judged for a run on the allowed PUs. */
static void check_system(const cb_topo_t *t, cb_syscheck_t *s)
{
    int cores = cb_topo_cores(t), pus = cb_topo_pus(t);
    int per_core = cores > 0 ? (pus + cores - 1) / cores : 1;
    cb_syscheck_run("/", cb_topo_allowed_pus(t), per_core, s);
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
    if (o->check_system) {
        cb_syscheck_t s;
        check_system(t, &s);
        cb_syscheck_print(&s, stdout);
        cb_topo_free(t);
        cb_cli_free(o);
        return s.warnings ? 1 : 0;
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
    if (!a->o->no_counters && !a->c->no_counters)
        cb_counters_open();
    int rc = a->c->measure(a->c, a->o, m);
    cb_counters_close(&m->counts);
    if (!a->o->no_counters && a->c->no_counters) {
        /* Not counted on purpose: the rows say why. */
        m->counts.used = 1;
        m->counts.counting = 0;
        snprintf(m->counts.why_sw, sizeof(m->counts.why_sw), "%s", a->c->no_counters);
        snprintf(m->counts.why_hw, sizeof(m->counts.why_hw), "%s", a->c->no_counters);
    }
    if (rc < 0) {
        /* The failure is the measurement's, said in its own words (or the
         * errno's name), not as the sandbox's bare "returned -N". */
        if (m->status == CB_OK)
            m->status = CB_ERROR;
        if (!m->detail[0])
            snprintf(m->detail, sizeof(m->detail), "%s", strerror(-rc));
    }
    return 0;
}

static int add_rows(cb_results_t *r, const cb_config_t *c, int rep, const double *values,
                    cb_status_t st, const char *detail, const cb_counts_t *counts)
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
    /* The kernel's counters, for a measurement that counted (a failed one
     * has its rows above). */
    for (int i = 0; st == CB_OK && counts->used && i < CB_NCOUNTERS; i++) {
        const char *why;
        cb_status_t cs = cb_counts_status(counts, i, &why);
        cb_sample_t s = {
            .key = c->key,
            .rep = rep,
            .metric = cb_counter_defs[i].metric,
            .value = cs == CB_OK ? counts->values[i] : NAN,
            .unit = cb_counter_defs[i].unit,
            .status = cs,
            .detail = why,
        };
        if (cb_results_add(r, &s) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* ---- files ---- */

static void join(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
    snprintf(buf, len, "%s/%s%s", dir, name, ext);
}

/* The machine's facts that are not the host's files: the CPU model from
 * hwloc. */
static void fill_machine(cb_meta_t *m, const cb_topo_t *t)
{
    const char *model = cb_topo_cpu_model(t);
    cb_meta_set(m, "cpu_model", model ? model : "unknown");
}

/* The system check of this run, taken before its first measurement. */
static cb_syscheck_t run_sys;

static void fill_meta(cb_meta_t *m, const cb_experiment_t *e, const cb_opts_t *o,
                      const cb_topo_t *t, int argc, char **argv, int partial)
{
    cb_meta_fill_host(m);
    fill_machine(m, t);
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
    /* The system state, and which of its items were warned about. */
    size_t ws = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < run_sys.n; i++) {
        cb_meta_set(m, run_sys.items[i].key, run_sys.items[i].value);
        if (run_sys.items[i].warning[0] && ws < sizeof(buf))
            ws += (size_t)snprintf(buf + ws, sizeof(buf) - ws, "%s%s", ws ? "," : "",
                                   run_sys.items[i].key);
    }
    cb_meta_set(m, "sys_warnings", ws ? buf : "none");
    cb_meta_set(m, "counters", o->no_counters ? "off" : "on");
    for (const char *const *kv = e->meta; kv && kv[0]; kv += 2)
        cb_meta_set(m, kv[0], kv[1]);
#undef SETI
}

/* The value a key of this run's meta will have (the experiment's own keys). */
static const char *own_meta(const cb_experiment_t *e, const char *key)
{
    for (const char *const *kv = e->meta; kv && kv[0]; kv += 2)
        if (strcmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

/* A base that --append may pool with: the same experiment, the same
 * machine, and the same value of every key that decides what is measured.
 * Returns 0, or CB_EXIT_USAGE after one line naming the first difference. */
static int check_base_meta(const cb_experiment_t *e, const cb_topo_t *t, const char *meta)
{
    cb_meta_t *old = cb_meta_new(), *now = cb_meta_new();
    int rc = 0;
    if (now)
        fill_machine(now, t);
    if (!old || !now || cb_meta_fill_host(now) < 0) {
        fprintf(stderr, "%s: could not run: out of memory\n", e->name);
        rc = CB_EXIT_NORUN;
    } else if (cb_meta_read(old, meta) < 0) {
        fprintf(stderr,
                "--append: %s missing or unreadable: the base's parameters cannot be checked "
                "(append only to a set this harness wrote)\n",
                meta);
        rc = CB_EXIT_USAGE;
    }
    const char *exp = rc == 0 ? cb_meta_get(old, "experiment") : NULL;
    if (rc == 0 && (!exp || strcmp(exp, e->name) != 0)) {
        fprintf(stderr, "--append: %s is experiment=%s, this run is %s\n", meta,
                exp ? exp : "(none)", e->name);
        rc = CB_EXIT_USAGE;
    }
    const char *host[] = {"host", "cpu_model", "kernel"};
    for (int i = 0; rc == 0 && i < 3; i++) {
        const char *a = cb_meta_get(old, host[i]), *b = cb_meta_get(now, host[i]);
        if (a && b && strcmp(a, b) != 0) {
            fprintf(stderr, "--append: %s has %s=%s, this run has %s: not the same machine\n", meta,
                    host[i], a, b);
            rc = CB_EXIT_USAGE;
        }
    }
    for (const char *const *k = e->params; rc == 0 && k && *k; k++) {
        const char *a = cb_meta_get(old, *k), *b = own_meta(e, *k);
        if (!a || !b || strcmp(a, b) != 0) {
            fprintf(stderr,
                    "--append: %s differs: the base (%s) has %s, this run %s; samples measured "
                    "with other parameters cannot be pooled\n",
                    *k, meta, a ? a : "none", b ? b : "none");
            rc = CB_EXIT_USAGE;
        }
    }
    cb_meta_free(old);
    cb_meta_free(now);
    return rc;
}

/* An existing CSV we --append to: its rows come first, and our repetitions
 * are numbered after its last one. Returns 0 or an exit status. */
static int load_for_append(const cb_experiment_t *e, const cb_topo_t *t, cb_results_t *r,
                           const char *raw, const char *meta, int *rep_base)
{
    char err[256];
    if (access(raw, F_OK) != 0)
        return 0;
    int rc = check_base_meta(e, t, meta);
    if (rc != 0)
        return rc;
    if (cb_results_read_raw(r, raw, err, sizeof(err)) < 0) {
        fprintf(stderr, "--append: %s: %s\n", raw, err);
        return CB_EXIT_USAGE;
    }
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (strcmp(s->key.experiment, e->name) != 0) {
            fprintf(stderr, "--append: %s holds rows of experiment %s, this run is %s\n", raw,
                    s->key.experiment, e->name);
            return CB_EXIT_USAGE;
        }
        if (s->rep + 1 > *rep_base)
            *rep_base = s->rep + 1;
    }
    return 0;
}

/* Takes the results folder's lock (flock on the folder itself, so nothing
 * is left in it): one run at a time owns its files, from reading an
 * --append base to the last rename, and runs that would measure side by
 * side (and spoil each other's figures) take turns. A second run says so
 * and waits. Returns the locked fd, or -1 after one line (interrupted while
 * waiting, or the folder cannot be opened). */
static int lock_results(const cb_experiment_t *e, const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot open %s to lock it: %s\n", e->name, dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    fprintf(stderr, "%s: another run is writing its results in %s; waiting for it to finish\n",
            e->name, dir);
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR || interrupts) {
            fprintf(stderr, "%s: %s while waiting for %s: nothing measured, nothing written\n",
                    e->name, interrupts ? "interrupted" : strerror(errno), dir);
            close(fd);
            return -1;
        }
    }
    return fd;
}

int cb_runner_run(cb_experiment_t *e, const cb_opts_t *o, const cb_topo_t *t, int argc, char **argv)
{
    install_signals();
    int reps = o->reps > 0 ? o->reps : e->reps;
    int warmup = o->warmup >= 0 ? o->warmup : e->warmup;
    char *dir = cb_cli_out_dir(o);
    cb_results_t *r = cb_results_new();
    cb_measurement_t *m = cb_sandbox_shm_alloc(sizeof(*m));
    int exit_code = CB_EXIT_OK, lock_fd = -1;
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
    char why[PATH_MAX + 128];
    if (o->history && cb_report_history_check(o->history, why, sizeof(why)) < 0) {
        fprintf(stderr, "%s: %s\n", e->name, why);
        exit_code = CB_EXIT_USAGE;
        goto out;
    }
    if ((lock_fd = lock_results(e, dir)) < 0) {
        exit_code = interrupts ? CB_EXIT_INTERRUPTED : CB_EXIT_NORUN;
        goto out;
    }
    int rep_base = 0;
    if (o->append) {
        if ((exit_code = load_for_append(e, t, r, raw, meta, &rep_base)) != 0)
            goto out;
    }
    for (size_t i = 0; i < e->nconfigs; i++)
        e->configs[i].key.experiment = e->name;

    /* What on this machine can disturb the figures, said before the first
     * measurement (and kept in .meta). */
    check_system(t, &run_sys);
    for (size_t i = 0; i < run_sys.n; i++)
        if (run_sys.items[i].warning[0])
            fprintf(stderr, "%s: system: %s\n", e->name, run_sys.items[i].warning);
    size_t total = 0, done = 0;
    for (size_t i = 0; i < e->nconfigs; i++)
        total += e->configs[i].reps > 0
                     ? (size_t)(e->configs[i].reps < reps ? e->configs[i].reps : reps)
                     : (size_t)(reps + warmup);
    uint64_t t0 = cb_now_ns();
    int failed = 0;
    for (int rep = -warmup; rep < reps && !interrupts; rep++) {
        /* Rotate the order each repetition so no configuration always runs
         * first (after the idle of start-up) or last. */
        long nc = (long)(e->nconfigs ? e->nconfigs : 1);
        size_t start = (size_t)(((rep % nc) + nc) % nc); /* rep 0 starts with config 0 */
        for (size_t j = 0; j < e->nconfigs && !interrupts; j++) {
            cb_config_t *c = &e->configs[(start + j) % e->nconfigs];
            if (c->reps > 0 && (rep < 0 || rep >= c->reps))
                continue;
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
                failed |= st != CB_OK && st != CB_SKIPPED;
                if (add_rows(r, c, rep + rep_base, m->values, st, detail, &m->counts) < 0) {
                    fprintf(stderr, "%s: out of memory\n", e->name);
                    interrupts = 1;
                }
            }
            cb_report_progress(e, c, rep, reps, done, total, t0, st, m->values[0]);
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
    if (partial && cb_results_count(r) == 0) {
        /* Nothing completed: the previous files stay as they were. */
        fprintf(stderr,
                "%s: interrupted before any configuration completed: nothing written (the "
                "previous files, if any, are unchanged)\n",
                e->name);
        nstaged = 0;
        exit_code = CB_EXIT_INTERRUPTED;
        goto out_meta;
    }
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
    /* Said once the rows are on disk, never before. */
    if (partial && wrc == 0)
        fprintf(stderr, "%s: interrupted: wrote the %zu completed rows, marked partial\n", e->name,
                cb_results_count(r));
    if (wrc < 0) {
        fprintf(stderr, "%s: cannot write %s: %s (the previous files, if any, are unchanged)\n",
                e->name, what, strerror(-wrc));
        exit_code = CB_EXIT_FAILED;
    } else {
        cb_report_table(e, r, stdout);
        if (e->verdict)
            e->verdict(r, stdout, e->verdict_ctx);
        printf("\nwrote %s\n      %s\n      %s\n", raw, sum, meta);
        if (!o->no_plot && !partial && cb_report_plot(e, argv[0], dir) == 0)
            printf("      %s/%s.png\n      %s/%s.svg\n", dir, e->name, dir, e->name);
        for (size_t i = 0; i < o->nexports; i++) {
            cb_export_format_t fmt;
            const char *path;
            char why[PATH_MAX + 128];
            int chk = cb_export_check(o->exports[i], &fmt, &path, why, sizeof(why));
            int xrc = chk < 0 ? 0 : cb_export_write(fmt, path, r, mt, &e->facts);
            if (chk < 0 || xrc < 0) {
                fprintf(stderr, "%s: --export %s: %s\n", e->name, o->exports[i],
                        chk < 0 ? why : strerror(-xrc));
                exit_code = CB_EXIT_FAILED;
            } else {
                printf("      %s (%s)\n", path, o->exports[i]);
            }
        }
        if (o->history) {
            int hrc = cb_report_history(o->history, sum, mt);
            if (hrc < 0)
                fprintf(stderr, "%s: cannot append to history %s: %s\n", e->name, o->history,
                        strerror(-hrc));
            else
                printf("      %s (history)\n", o->history);
        }
    }
out_meta:
    /* The table and the verdict are the run's answer: a stdout that could
     * not take them (a full disk, /dev/full) is said, on stderr. */
    if (fflush(stdout) != 0 || ferror(stdout))
        fprintf(stderr, "%s: cannot write to stdout: %s (the results files are written)\n", e->name,
                strerror(errno ? errno : EIO));
    cb_meta_free(mt);
out:
    if (lock_fd >= 0)
        close(lock_fd); /* releases the results set */
    cb_results_free(r);
    cb_facts_free(&e->facts);
    cb_sandbox_shm_free(m, sizeof(*m));
    free(dir);
    return exit_code;
}
