/* cpu_vs_io: experiments E1 and E2 of the tutorials. The same CPU-bound
 * counting loop and the same IO-bound sleep run on every executor, in C,
 * with the emulated interpreter lock (+gil), and in CPython itself (py_*),
 * so the reader sees what the operating system costs and what CPython's
 * lock adds. */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/exp/matrix.h"
#include "lib/exp/pyref.h"

typedef struct params {
    long cpu_iters, file_kib;
    double io_ms, io_jitter, io_fraction;
    int no_python;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_LONG(params_t, cpu_iters, "cpu-iters", "N", 1, 1e11, 200000000, 30000000,
                 "increments per cpu task (default 200000000: twice the tutorials')"),
    CB_FLAG_DOUBLE(params_t, io_ms, "io-ms", "MS", 0.001, 3600000, 250, 50,
                   "sleep per io task (default 250; --quick 50)"),
    CB_FLAG_DOUBLE(params_t, io_jitter, "io-jitter", "J", 0, 0.99, 0, 0,
                   "sleeps drawn in [ms*(1-J), ms*(1+J)] (default 0)"),
    CB_FLAG_DOUBLE(params_t, io_fraction, "io-fraction", "F", 0, 1, 0.5, 0.5,
                   "mixed: share of each task spent waiting (default 0.5)"),
    CB_FLAG_LONG(params_t, file_kib, "file-kib", "KIB", 1, 1048576, 1024, 1024,
                 "io_file: KiB written, fsynced and read per task (default 1024)"),
    CB_FLAG_BOOL(params_t, no_python, "no-python", "leave out the CPython reference rows"),
};

static const char *const default_workloads[] = {"cpu", "io", NULL};

static int prepare(cb_exp_t *x)
{
    const params_t *p = x->params;
    static cb_pyref_t py;
    long cores = cb_topo_allowed_cores(x->topo);
    py = (cb_pyref_t){
        .experiment = "cpu_vs_io",
        .tasks = x->opts.tasks ? x->opts.tasks : (cores > 4 ? cores : 4),
        .workers = x->workers[0],
        .io_ms = p->io_ms,
        .io_jitter = p->io_jitter,
        .timeout_s = x->opts.timeout_s > 0 ? x->opts.timeout_s : x->run.timeout_s,
    };
    x->user = &py;
    /* Replaced once the reference is sized (a later key wins). */
    cb_exp_meta(x, "python_cpu_iters", "0");
    return -1;
}

/* --tutorial's estimate, gathered as the points are built: the C
 * configurations' cpu work in task-lengths run one after another, and
 * their expected sleeping time. */
static double est_c_cpu, est_py_cpu, est_io_s;

/* The expected time of T sleeps drawn in [ms (1 - j), ms (1 + j)], c at
 * once: rounds of c, each as long as the longest of its draws. */
static double io_expected_s(const params_t *p, long tasks, long c)
{
    double a = p->io_ms * (1 - p->io_jitter) / 1e3, b = p->io_ms * (1 + p->io_jitter) / 1e3;
    long rounds = (tasks + c - 1) / c;
    return (double)rounds * (a + (b - a) * (double)c / (double)(c + 1));
}

static void estimate_point(cb_exp_t *x, const char *e, const char *wl, long tasks, long workers)
{
    const params_t *p = x->params;
    long pus = cb_topo_allowed_cores(x->topo);
    int gil, pool;
    if (strncmp(e, "py_", 3) == 0) {
        gil = strcmp(e, "py_process") != 0 && strcmp(e, "py_process_pool") != 0;
        pool = strstr(e, "_pool") != NULL;
    } else {
        const cb_executor_t *ex = cb_matrix_parse_name(e, &gil);
        if (!ex)
            return;
        pool = ex->pool;
        gil = gil && strncmp(e, "process", 7) != 0;
    }
    int serial = strstr(e, "serial") != NULL || strstr(e, "coroutine") != NULL ||
                 strstr(e, "asyncio") != NULL;
    long c_io = serial && strstr(e, "serial") ? 1 : pool ? workers : tasks;
    long c_cpu = serial || gil ? 1 : (pool ? workers : tasks);
    if (c_cpu > pus)
        c_cpu = pus;
    if (strcmp(wl, "cpu") == 0)
        *(strncmp(e, "py_", 3) == 0 ? &est_py_cpu : &est_c_cpu) +=
            (double)((tasks + c_cpu - 1) / c_cpu);
    else if (strcmp(wl, "io") == 0)
        est_io_s += io_expected_s(p, tasks, c_io);
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    cb_pyref_t *py = x->user;
    if (cb_pyref_is_py(pt->executor)) {
        /* One script run per repetition covers every py_* point. */
        if (!p->no_python &&
            (strcmp(pt->workload, "cpu") == 0 || strcmp(pt->workload, "io") == 0)) {
            cb_pyref_select(py->execs, sizeof(py->execs), pt->executor);
            cb_pyref_select(py->wls, sizeof(py->wls), pt->workload);
            if (cb_exp_tutorial(x) && pt->wi == 0)
                estimate_point(x, pt->executor, pt->workload, py->tasks, py->workers);
        }
        return CB_BUILD_SKIP;
    }
    int serial = strcmp(pt->executor, "serial") == 0;
    if (serial && pt->wi > 0)
        return CB_BUILD_SKIP; /* one serial row per workload: the speedup reference */
    const cb_wl_params_t wp = {
        .tasks = (size_t)py->tasks,
        .cpu_iters = (uint64_t)p->cpu_iters,
        .io_ns = (uint64_t)(p->io_ms * 1e6),
        .io_jitter = p->io_jitter,
        .seed = 1,
        .io_fraction = p->io_fraction,
        .file_bytes = (size_t)p->file_kib * 1024,
    };
    int rc = cb_matrix_build(x, pt, cfg, &wp, serial ? 1 : pt->workers);
    if (rc == CB_BUILD_ADD && cb_exp_tutorial(x))
        estimate_point(x, pt->executor, pt->workload, py->tasks, serial ? 1 : pt->workers);
    return rc;
}

/* C and CPython increments at their calibrated rates (the Python task
 * counts as many as the C one under --tutorial), plus the sleeps. */
static double tutorial_estimate(cb_exp_t *x, char *how, size_t len)
{
    const params_t *p = x->params;
    cb_pyref_t *py = x->user;
    uint64_t it = cb_workload_cpu_calibrate(20);
    double c_ns = it ? 20e6 / (double)it : NAN;
    /* CPython's rate: the script's own calibration of 0.2 s. */
    double py_ns = NAN;
    if (py->execs[0]) {
        cb_pyref_prepare(py, x->argv0, 0.2);
        if (py->py_iters)
            py_ns = 0.2e9 / (double)py->py_iters;
        cb_pyref_free(py);
        py->why = NULL;
        py->py_iters = 0;
    }
    int warmup, reps = cb_exp_reps(x, &warmup);
    snprintf(how, len,
             "C %.2f ns and CPython %.1f ns an increment here, %ld increments a task, the "
             "expected sleeps; %d repetition(s), %d warm-up",
             c_ns, py_ns, p->cpu_iters, reps, warmup);
    double once = est_c_cpu * (double)p->cpu_iters * c_ns / 1e9 +
                  est_py_cpu * (double)p->cpu_iters * (isnan(py_ns) ? 0 : py_ns) / 1e9 + est_io_s;
    return once * (reps + warmup);
}

static int per_rep(cb_exp_t *x, int rep, cb_results_t *r)
{
    cb_pyref_t *py = x->user;
    if (!py->execs[0] || !py->wls[0])
        return 0;
    if (!py->python && !py->why) {
        /* Sized once, before the first repetition: a Python cpu task as
         * long as a C one here. */
        const cb_wl_params_t wp = {.tasks = 1,
                                   .cpu_iters = (uint64_t)((params_t *)x->params)->cpu_iters};
        if (cb_exp_tutorial(x)) {
            /* The tutorials' own loop: as many increments as the C task. */
            cb_pyref_prepare(py, x->argv0, 0);
            py->py_iters = (uint64_t)((params_t *)x->params)->cpu_iters;
        } else {
            cb_pyref_prepare(py, x->argv0,
                             (double)cb_workload_task_ns(cb_workload_find("cpu"), &wp) / 1e9);
        }
        cb_exp_meta(x, "python_cpu_iters", "%llu", (unsigned long long)py->py_iters);
    }
    return cb_pyref_rep(py, rep, r);
}

/* The tutorials' claim: a is faster than b on wl (their a: seed_a s, b:
 * seed_b s). The fact's value is b's time over a's: above 1, the claim
 * holds here. */
static void verdict_pair(cb_exp_t *x, const cb_results_t *r, FILE *out, const char *wl,
                         const char *a, const char *b, double seed_a, double seed_b)
{
    double ma = cb_results_median(r, &(cb_select_t){a, wl, NULL, "wall_s", 0, 0});
    double mb = cb_results_median(r, &(cb_select_t){b, wl, NULL, "wall_s", 0, 0});
    if (isnan(ma) || isnan(mb))
        return;
    fprintf(out,
            "  %-4s %-12s %8.3f s  vs %-12s %8.3f s: %s is %.2fx faster   (tutorials: %.2f "
            "s vs %.2f s, %.2fx)\n",
            wl, a, ma, b, mb, ma < mb ? a : b, ma < mb ? mb / ma : ma / mb, seed_a, seed_b,
            seed_b / seed_a);
    char name[96];
    snprintf(name, sizeof(name), "%s/%s_over_%s", wl, b, a);
    cb_exp_fact(x, name, mb / ma, "x", seed_b / seed_a,
                "%s: %s %.3f s vs %s %.3f s, %s is %.2fx faster (tutorials: %.2fx for %s)", wl, a,
                ma, b, mb, ma < mb ? a : b, ma < mb ? mb / ma : ma / mb, seed_b / seed_a, a);
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    fprintf(out, "\nThe tutorials' claims (E1: CPU-bound, processes beat threads; E2: IO-bound, "
                 "threads beat processes):\n");
    /* 003: 4 processes 17.11 s vs 4 threads 30.26 s; sleeps: 2.00 s vs 3.24 s. */
    verdict_pair(x, r, out, "cpu", "py_process", "py_thread", 17.11, 30.26);
    verdict_pair(x, r, out, "cpu", "process+gil", "thread+gil", 17.11, 30.26);
    verdict_pair(x, r, out, "cpu", "process", "thread", 17.11, 30.26);
    verdict_pair(x, r, out, "io", "py_thread", "py_process", 2.00, 3.24);
    verdict_pair(x, r, out, "io", "thread", "process", 2.00, 3.24);
    fprintf(out, "  (io: every task here sleeps the same time, so these ratios are start-up cost "
                 "alone; the tutorials' 3.24 s vs 2.00 s came mostly from their two runs' "
                 "different random.randint(1, 3) draws: bench:sleeps splits it)\n");
}

static void finish(cb_exp_t *x)
{
    if (x->user)
        cb_pyref_free(x->user);
}

/* Tutorial 003's E1 and E2: 4 tasks of 100,000,000 increments, in C and
 * (the same count) in CPython; 4 sleeps of 1 to 3 s; one repetition after a
 * warm-up. */
static const char *const tutorial[] = {"--cpu-iters", "100000000", "--tasks",     "4",
                                       "--io-ms",     "2000",      "--io-jitter", "0.5",
                                       "--reps",      "1",         NULL};

static const cb_experiment_def_t cpu_vs_io = {
    .name = "cpu_vs_io",
    .summary = "CPU-bound vs IO-bound work on every executor, in C, with the emulated "
               "interpreter lock (+gil) and in CPython (py_*).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_matrix_t),
    .executors = {.names_fn = cb_matrix_executor_names_py},
    .workloads = {.names_fn = cb_matrix_workload_names, .defaults = default_workloads},
    .timeout_s = 120,
    .derive_speedup = 1,
    .prepare = prepare,
    .build = build,
    .per_rep = per_rep,
    .verdict = verdict,
    .finish = finish,
    .tutorial = tutorial,
    .tutorial_estimate = tutorial_estimate,
};
CB_EXPERIMENT_MAIN(cpu_vs_io)
