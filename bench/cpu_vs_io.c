/* cpu_vs_io: experiments E1 and E2 of the tutorials. The same CPU-bound
 * counting loop and the same IO-bound sleep run on every executor, in C,
 * with the emulated interpreter lock (+gil), and in CPython itself (py_*),
 * so the reader sees what the operating system costs and what CPython's
 * lock adds. */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/exp/matrix.h"
#include "lib/core/runner.h"
#include "lib/core/sandbox.h"

static const char *const executor_names[] = {
    "serial",     "thread",     "process",         "thread_pool",    "process_pool",
    "coroutine",  "thread+gil", "thread_pool+gil", "process+gil",    "process_pool+gil",
    "py_serial",  "py_thread",  "py_process",      "py_thread_pool", "py_process_pool",
    "py_asyncio", NULL,
};
static const char *const default_workloads[] = {"cpu", "io", NULL};
static const char *const py_workloads[] = {"cpu", "io", NULL};

typedef struct {
    uint64_t cpu_iters;
    double io_ms;
    double io_jitter;
    double io_fraction;
    long file_kib;
    int no_python;
    char *argv0;
    char *python;         /* NULL: not found */
    char *script;         /* scripts/python_reference.py */
    uint64_t py_iters;    /* Python increments per task, for comparable task time */
    const char *py_execs; /* comma list of py_ executors selected */
    const char *py_wls;   /* comma list of workloads for Python */
    long tasks, workers;
} cvi_t;

static int set_cpu_iters(void *ctx, const char *a, char *err, size_t len)
{
    long v;
    if (cb_parse_long("cpu-iters", a, 1, 100000000000L, &v, err, len) < 0)
        return -1;
    ((cvi_t *)ctx)->cpu_iters = (uint64_t)v;
    return 0;
}
static int set_io_ms(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("io-ms", a, 0.001, 3600000, &((cvi_t *)ctx)->io_ms, err, len);
}
static int set_io_jitter(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("io-jitter", a, 0, 0.99, &((cvi_t *)ctx)->io_jitter, err, len);
}
static int set_io_fraction(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("io-fraction", a, 0, 1, &((cvi_t *)ctx)->io_fraction, err, len);
}
static int set_file_kib(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("file-kib", a, 1, 1048576, &((cvi_t *)ctx)->file_kib, err, len);
}
static int set_no_python(void *ctx, const char *a, char *err, size_t len)
{
    (void)a, (void)err, (void)len;
    ((cvi_t *)ctx)->no_python = 1;
    return 0;
}

static int is_py(const char *name)
{
    return strncmp(name, "py_", 3) == 0;
}

/* ---- the CPython reference, run once per repetition ---- */

static char *find_python(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *copy = strdup(path), *save = NULL, *found = NULL;
    for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found;
         d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/python3", d);
        if (access(p, X_OK) == 0)
            found = strdup(p);
    }
    free(copy);
    return found;
}

/* Runs the script with argv; its stdout into out (outlen bytes), its stderr
 * (progress lines, or why it failed) into the file errpath, or nowhere when
 * errpath is NULL. Returns its exit status or a negative errno. */
static int run_script(char *const *argv, char *out, size_t outlen, const char *errpath)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -errno;
    }
    if (pid == 0) {
        /* Python dies with the harness and is stopped by its SIGINT handler,
         * like every other child. */
        cb_child_init(parent);
        int err =
            open(errpath ? errpath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (err < 0 || dup2(err, STDERR_FILENO) < 0)
            _exit(126);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    cb_children_track(pid);
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while ((k = read(fds[0], out + n, outlen - 1 - n)) > 0 || (k < 0 && errno == EINTR))
        if (k > 0 && (n += (size_t)k) >= outlen - 1)
            break;
    out[n] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            cb_children_untrack(pid);
            return -errno;
        }
    }
    cb_children_untrack(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The workers column python_reference.py writes for each executor. */
static long py_workers(const char *e, const cvi_t *x)
{
    if (strcmp(e, "py_serial") == 0 || strcmp(e, "py_asyncio") == 0)
        return 1;
    if (strcmp(e, "py_thread") == 0 || strcmp(e, "py_process") == 0)
        return x->tasks;
    return x->workers;
}

static int add_skipped(cb_results_t *r, int rep, const cvi_t *x, const char *why)
{
    char execs[256], *save = NULL;
    snprintf(execs, sizeof(execs), "%s", x->py_execs);
    for (char *e = strtok_r(execs, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        char wls[128], *s2 = NULL;
        snprintf(wls, sizeof(wls), "%s", x->py_wls);
        for (char *w = strtok_r(wls, ",", &s2); w; w = strtok_r(NULL, ",", &s2)) {
            cb_sample_t s = {
                .key = {"cpu_vs_io", e, w, py_workers(e, x), x->tasks, "none"},
                .rep = rep,
                .metric = "wall_s",
                .value = NAN,
                .unit = "s",
                .status = CB_SKIPPED,
                .detail = why,
            };
            if (cb_results_add(r, &s) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static int python_rep(int rep, cb_results_t *r, const cb_opts_t *o, void *ctx)
{
    cvi_t *x = ctx;
    (void)o;
    if (!x->python || !x->script) {
        if (rep < 0)
            return 0;
        return add_skipped(r, rep, x,
                           !x->python ? "python3 not found on PATH"
                                      : "scripts/python_reference.py not found");
    }
    /* The script's CSV goes to a temp file (TMPDIR: the test sandbox's under
     * bazel test). */
    const char *td = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/cb_pyref_XXXXXX", td && *td ? td : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -errno;
    close(fd);
    char tasks[32], iters[32], io[32], jit[32], workers[32], out[256];
    snprintf(tasks, sizeof(tasks), "%ld", x->tasks);
    snprintf(iters, sizeof(iters), "%llu", (unsigned long long)x->py_iters);
    snprintf(io, sizeof(io), "%.17g", x->io_ms);
    snprintf(jit, sizeof(jit), "%.17g", x->io_jitter);
    snprintf(workers, sizeof(workers), "%ld", x->workers);
    char *argv[] = {x->python,     x->script,         "--tasks", tasks,         "--cpu-iters",
                    iters,         "--io-ms",         io,        "--io-jitter", jit,
                    "--workers",   workers,           "--reps",  "1",           "--warmup",
                    "0",           "--out",           tmp,       "--executors", (char *)x->py_execs,
                    "--workloads", (char *)x->py_wls, "--seed",  "1",           NULL};
    char errpath[sizeof(tmp) + 8];
    snprintf(errpath, sizeof(errpath), "%s.err", tmp);
    int rc = run_script(argv, out, sizeof(out), errpath);
    if (rc != 0) {
        /* The script's last line says why; it goes into the rows' detail. */
        char last[160] = "", line[160];
        FILE *ef = fopen(errpath, "r");
        while (ef && fgets(line, sizeof(line), ef))
            if (line[0] != '\n')
                snprintf(last, sizeof(last), "%s", line);
        if (ef)
            fclose(ef);
        last[strcspn(last, "\n")] = '\0';
        unlink(tmp);
        unlink(errpath);
        if (rep < 0)
            return 0;
        char why[256];
        snprintf(why, sizeof(why), "python_reference.py failed (status %d): %s", rc, last);
        return add_skipped(r, rep, x, why);
    }
    unlink(errpath);
    if (rep < 0) {
        unlink(tmp);
        return 0;
    }
    cb_results_t *py = cb_results_new();
    char err[256];
    if (!py || cb_results_read_raw(py, tmp, err, sizeof(err)) < 0) {
        unlink(tmp);
        cb_results_free(py);
        return add_skipped(r, rep, x, "python_reference.py wrote an unreadable CSV");
    }
    unlink(tmp);
    for (size_t i = 0; i < cb_results_count(py); i++) {
        cb_sample_t s = *cb_results_get(py, i);
        s.rep = rep;
        if (cb_results_add(r, &s) < 0) {
            cb_results_free(py);
            return -ENOMEM;
        }
    }
    cb_results_free(py);
    return 0;
}

/* Python increments per task giving about the C task's time: the script
 * measures its own rate (--calibrate SECONDS prints increments). */
static uint64_t python_iters(cvi_t *x, double task_s)
{
    char secs[32], out[256];
    snprintf(secs, sizeof(secs), "%g", task_s);
    char *argv[] = {x->python, x->script, "--calibrate", secs, NULL};
    if (run_script(argv, out, sizeof(out), NULL) != 0)
        return 0;
    return strtoull(out, NULL, 10);
}

/* Seconds one cpu task takes here, measured once before the run (untimed,
 * and only used to size the Python reference). */
static double c_task_seconds(const cvi_t *x)
{
    const cb_workload_t *w = cb_workload_find("cpu");
    cb_wl_params_t p = {.tasks = 1, .cpu_iters = x->cpu_iters};
    void *arg;
    if (!w || w->setup(&p, &arg) < 0)
        return 0.1;
    uint64_t t0 = cb_now_ns();
    w->task(arg, 0);
    double s = (double)(cb_now_ns() - t0) / 1e9;
    if (w->teardown)
        w->teardown(arg);
    return s;
}

/* ---- verdict ---- */

static double median_of(const cb_results_t *r, const char *exec, const char *wl)
{
    size_t n = 0, cap = cb_results_count(r);
    double *v = malloc((cap + 1) * sizeof(*v));
    if (!v)
        return NAN;
    for (size_t i = 0; i < cap; i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status == CB_OK && strcmp(s->metric, "wall_s") == 0 &&
            strcmp(s->key.executor, exec) == 0 && strcmp(s->key.workload, wl) == 0)
            v[n++] = s->value;
    }
    double m = n ? cb_stats_median(v, n) : NAN;
    free(v);
    return m;
}

static void verdict_pair(const cb_results_t *r, FILE *out, const char *wl, const char *a,
                         const char *b, double seed_a, double seed_b)
{
    double ma = median_of(r, a, wl), mb = median_of(r, b, wl);
    if (isnan(ma) || isnan(mb))
        return;
    fprintf(out,
            "  %-4s %-12s %8.3f s  vs %-12s %8.3f s: %s is %.2fx faster   (tutorials: %.2f "
            "s vs %.2f s, %.2fx)\n",
            wl, a, ma, b, mb, ma < mb ? a : b, ma < mb ? mb / ma : ma / mb, seed_a, seed_b,
            seed_b / seed_a);
}

static void verdict(const cb_results_t *r, FILE *out, void *ctx)
{
    (void)ctx;
    fprintf(out, "\nThe tutorials' claims (E1: CPU-bound, processes beat threads; E2: IO-bound, "
                 "threads beat processes):\n");
    /* 003: 4 processes 17.11 s vs 4 threads 30.26 s; sleeps: 2.00 s vs 3.24 s. */
    verdict_pair(r, out, "cpu", "py_process", "py_thread", 17.11, 30.26);
    verdict_pair(r, out, "cpu", "process+gil", "thread+gil", 17.11, 30.26);
    verdict_pair(r, out, "cpu", "process", "thread", 17.11, 30.26);
    verdict_pair(r, out, "io", "py_thread", "py_process", 2.00, 3.24);
    verdict_pair(r, out, "io", "thread", "process", 2.00, 3.24);
}

int main(int argc, char **argv)
{
    cvi_t x = {.io_jitter = -1, .io_fraction = -1, .file_kib = 1024, .argv0 = argv[0]};
    const char *wl_names[64];
    size_t nw = 0;
    for (size_t i = 0; i < cb_workload_count && nw < 63; i++)
        wl_names[nw++] = cb_workloads[i]->name;
    wl_names[nw] = NULL;
    const cb_cli_extra_t extra[] = {
        {"cpu-iters", 1, "N", "increments per cpu task (default 200000000: twice the tutorials')",
         set_cpu_iters, &x},
        {"io-ms", 1, "MS", "sleep per io task (default 250)", set_io_ms, &x},
        {"io-jitter", 1, "J", "sleeps drawn in [ms*(1-J), ms*(1+J)] (default 0)", set_io_jitter,
         &x},
        {"io-fraction", 1, "F", "mixed: share of each task spent waiting (default 0.5)",
         set_io_fraction, &x},
        {"file-kib", 1, "KIB", "io_file: KiB written, fsynced and read per task (default 1024)",
         set_file_kib, &x},
        {"no-python", 0, NULL, "leave out the CPython reference rows", set_no_python, &x},
    };
    cb_cli_spec_t spec = {
        .prog = "cpu_vs_io",
        .summary = "CPU-bound vs IO-bound work on every executor, in C, with the emulated "
                   "interpreter lock (+gil) and in CPython (py_*).",
        .extra = extra,
        .nextra = sizeof(extra) / sizeof(extra[0]),
        .executor_names = executor_names,
        .workload_names = wl_names,
    };
    cb_opts_t o;
    cb_topo_t *t = NULL;
    int rc = cb_runner_start(&spec, argc, argv, &o, &t);
    if (rc >= 0)
        return rc;
    if (o.list) {
        cb_matrix_list(stdout);
        char *py = find_python();
        printf("\nCPython reference rows (scripts/python_reference.py): py_serial, py_thread, "
               "py_process, py_thread_pool, py_process_pool, py_asyncio%s\n",
               py ? "" : " -- unavailable: python3 not found on PATH");
        free(py);
        cb_topo_free(t);
        cb_cli_free(&o);
        return 0;
    }

    if (!x.cpu_iters)
        x.cpu_iters = o.quick ? 30000000 : 200000000;
    if (x.io_ms == 0)
        x.io_ms = o.quick ? 50 : 250;
    if (x.io_jitter < 0)
        x.io_jitter = 0;
    if (x.io_fraction < 0)
        x.io_fraction = 0.5;
    size_t nwc = 0;
    long *wcounts = cb_cli_worker_counts(&o, t, &nwc);
    long cores = cb_topo_allowed_cores(t);
    x.tasks = o.tasks ? o.tasks : (cores > 4 ? cores : 4);
    x.workers = wcounts[0];

    size_t ne, nwl;
    const char *const *execs = cb_cli_names(o.executors, executor_names, &ne);
    const char *const *wls = cb_cli_names(o.workloads, default_workloads, &nwl);

    cb_config_t *cfgs = calloc(ne * nwl * nwc + 1, sizeof(*cfgs));
    cb_matrix_t *ctx = calloc(ne * nwl * nwc + 1, sizeof(*ctx));
    if (!cfgs || !ctx)
        return CB_EXIT_FAILED;
    size_t n = 0;
    char py_execs[256] = "", py_wls[128] = "";
    for (size_t wi = 0; wi < nwl; wi++) {
        const cb_workload_t *wl = cb_workload_find(wls[wi]);
        int py_ok = 0;
        for (const char *const *p = py_workloads; *p; p++)
            py_ok |= strcmp(*p, wls[wi]) == 0;
        if (py_ok) {
            size_t l = strlen(py_wls);
            snprintf(py_wls + l, sizeof(py_wls) - l, "%s%s", l ? "," : "", wls[wi]);
        }
        for (size_t wc = 0; wc < nwc; wc++) {
            for (size_t ei = 0; ei < ne; ei++) {
                if (is_py(execs[ei])) {
                    if (wi == 0 && wc == 0 && !strstr(py_execs, execs[ei])) {
                        size_t l = strlen(py_execs);
                        snprintf(py_execs + l, sizeof(py_execs) - l, "%s%s", l ? "," : "",
                                 execs[ei]);
                    }
                    continue;
                }
                int gil;
                const cb_executor_t *ex = cb_matrix_parse_name(execs[ei], &gil);
                int serial = strcmp(ex->name, "serial") == 0;
                if (serial && wc > 0)
                    continue; /* one serial row per workload: the speedup reference */
                cb_matrix_t *b = &ctx[n];
                b->executor = ex;
                b->workload = wl;
                b->topo = t;
                b->workers = serial ? 1 : (int)wcounts[wc];
                b->gil_interval_ns = gil ? (uint64_t)(o.gil_interval_ms * 1e6) : 0;
                b->params = (cb_wl_params_t){
                    .tasks = (size_t)x.tasks,
                    .cpu_iters = x.cpu_iters,
                    .io_ns = (uint64_t)(x.io_ms * 1e6),
                    .io_jitter = x.io_jitter,
                    .seed = 1,
                    .io_fraction = x.io_fraction,
                    .file_bytes = (size_t)x.file_kib * 1024,
                    .tmp_dir = NULL,
                };
                if (cb_runner_plan(&o, t, b->workers, &b->plan) != 0)
                    return CB_EXIT_USAGE;
                cfgs[n] = (cb_config_t){
                    .key = {NULL, execs[ei], wl->name, b->workers, x.tasks, cb_runner_pin_name(&o)},
                    .metrics = cb_matrix_metrics,
                    .nmetrics = cb_matrix_nmetrics,
                    .measure = cb_matrix_measure,
                    .ctx = b,
                };
                n++;
            }
        }
    }
    char *out_dir = cb_cli_out_dir(&o);
    for (size_t i = 0; i < n; i++)
        ctx[i].params.tmp_dir = out_dir;

    x.py_execs = py_execs;
    x.py_wls = py_wls;
    int want_py = py_execs[0] && py_wls[0] && !x.no_python;
    if (want_py) {
        x.python = find_python();
        x.script = cb_runner_find_data(argv[0], "scripts/python_reference.py");
        if (x.python && x.script) {
            double task_s = c_task_seconds(&x);
            x.py_iters = python_iters(&x, task_s);
            if (x.py_iters == 0)
                x.python = NULL;
        }
    }
    char iters[32], io[32], pyit[32];
    snprintf(iters, sizeof(iters), "%llu", (unsigned long long)x.cpu_iters);
    snprintf(io, sizeof(io), "%g", x.io_ms);
    snprintf(pyit, sizeof(pyit), "%llu", (unsigned long long)x.py_iters);
    const char *meta[] = {"cpu_iters", iters, "io_ms", io, "python_cpu_iters", pyit, NULL};
    cb_experiment_t e = {
        .name = "cpu_vs_io",
        .configs = cfgs,
        .nconfigs = n,
        .reps = 5,
        .warmup = 1,
        .timeout_s = 120,
        .derive_speedup = 1,
        .per_rep = want_py ? python_rep : NULL,
        .per_rep_ctx = &x,
        .verdict = verdict,
        .meta = meta,
    };
    rc = cb_runner_run(&e, &o, t, argc, argv);
    for (size_t i = 0; i < n; i++)
        cb_pin_plan_free(&ctx[i].plan);
    free(cfgs);
    free(ctx);
    free(wcounts);
    free(out_dir);
    free(x.python);
    free(x.script);
    cb_topo_free(t);
    cb_cli_free(&o);
    return rc;
}
