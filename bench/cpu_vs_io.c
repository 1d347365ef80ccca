/* cpu_vs_io: experiments E1 and E2 of the tutorials. The same CPU-bound
 * counting loop and the same IO-bound sleep run on every executor, in C,
 * with the emulated interpreter lock (+gil), and in CPython itself (py_*),
 * so the reader sees what the operating system costs and what CPython's
 * lock adds. The CPython rows go through the shared driver
 * (lib/core/python.c) to scripts/python_reference.py: its calibration, once
 * a run, sizes the Python cpu task to the C task's time here
 * (python_cpu_iters in meta), then every repetition measures each py_*
 * point once. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/core/helper.h"
#include "lib/core/python.h"
#include "lib/exp/matrix.h"

typedef struct params {
    long cpu_iters, file_kib;
    double io_ms, io_jitter, io_fraction;
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
};

static const cb_metric_def_t py_metrics[] = {{"wall_s", "s"}};

static const char *const default_workloads[] = {"cpu", "io", NULL};

/* Tasks per configuration, C and CPython: --tasks, or the allowed cores
 * (at least 4). */
static long ntasks;
static int meta_done;

static int prepare(cb_exp_t *x)
{
    long cores = cb_topo_allowed_cores(x->topo);
    ntasks = x->opts.tasks ? x->opts.tasks : (cores > 4 ? cores : 4);
    meta_done = 0;
    /* Replaced by the calibration's figure (a later key wins). */
    cb_exp_meta(x, "python_cpu_iters", "0");
    return -1;
}

/* The calibration's C figures (cpu_task_s: one C cpu task's time here, 0
 * under --tutorial: the Python task counts cpu_iters as the tutorials'),
 * and io_ms, io_jitter as the C side has them (meta's %g may round). */
static int py_calibrate(cb_exp_t *x)
{
    const params_t *p = x->params;
    const cb_wl_params_t wp = {.tasks = 1, .cpu_iters = (uint64_t)p->cpu_iters};
    double secs =
        cb_exp_tutorial(x) ? 0 : (double)cb_workload_task_ns(cb_workload_find("cpu"), &wp) / 1e9;
    if (cb_python_param(x, "cpu_task_s", "%.17g", secs) < 0 ||
        cb_python_param(x, "io_ms", "%.17g", p->io_ms) < 0 ||
        cb_python_param(x, "io_jitter", "%.17g", p->io_jitter) < 0)
        return -ENOMEM;
    return 0;
}

/* --tutorial's estimate, gathered as the points are built: the C and the
 * CPython configurations' cpu work in task-lengths run one after another,
 * and their expected sleeping time. */
static double est_c_cpu, est_py_cpu, est_io_s, est_py_io_s;

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
        *(strncmp(e, "py_", 3) == 0 ? &est_py_io_s : &est_io_s) += io_expected_s(p, tasks, c_io);
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    if (!meta_done) {
        /* The key of the flag it was before the shared driver's --no-python,
         * after the flags' keys. */
        meta_done = 1;
        cb_exp_meta(x, "no_python", "%d", cb_exp_no_python(x));
    }
    if (strncmp(pt->executor, "py_", 3) == 0) {
        /* cpu and io, at the first worker count, unpinned (the script's
         * rows: W, 1 for py_serial). */
        if (cb_exp_no_python(x) || pt->wi > 0 ||
            (strcmp(pt->workload, "cpu") != 0 && strcmp(pt->workload, "io") != 0))
            return CB_BUILD_SKIP;
        long workers = strcmp(pt->executor, "py_serial") == 0 ? 1 : pt->workers;
        if (cb_exp_tutorial(x))
            estimate_point(x, pt->executor, pt->workload, ntasks, pt->workers);
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, workers, ntasks, "none"},
            .metrics = py_metrics,
            .nmetrics = 1,
            .python = 1,
        };
        return CB_BUILD_ADD;
    }
    int serial = strcmp(pt->executor, "serial") == 0;
    if (serial && pt->wi > 0)
        return CB_BUILD_SKIP; /* one serial row per workload: the speedup reference */
    const cb_wl_params_t wp = {
        .tasks = (size_t)ntasks,
        .cpu_iters = (uint64_t)p->cpu_iters,
        .io_ns = (uint64_t)(p->io_ms * 1e6),
        .io_jitter = p->io_jitter,
        .seed = 1,
        .io_fraction = p->io_fraction,
        .file_bytes = (size_t)p->file_kib * 1024,
    };
    int rc = cb_matrix_build(x, pt, cfg, &wp, serial ? 1 : pt->workers);
    if (rc == CB_BUILD_ADD && cb_exp_tutorial(x))
        estimate_point(x, pt->executor, pt->workload, ntasks, serial ? 1 : pt->workers);
    return rc;
}

/* C and CPython increments at their calibrated rates (the Python task
 * counts as many as the C one under --tutorial), plus the sleeps. */
static double tutorial_estimate(cb_exp_t *x, char *how, size_t len)
{
    const params_t *p = x->params;
    uint64_t it = cb_workload_cpu_calibrate(20);
    double c_ns = it ? 20e6 / (double)it : NAN;
    /* CPython's rate: the script's own calibration of 0.2 s (its standalone
     * --calibrate SECONDS). */
    double py_ns = NAN;
    const char *why;
    const char *python = cb_python_points(x) ? cb_exp_python(x, &why) : NULL;
    char *script = python ? cb_runner_find_data(x->argv0, "scripts/python_reference.py") : NULL;
    if (script) {
        char *argv[] = {(char *)python, script, "--calibrate", "0.2", NULL}, out[64] = "";
        unsigned long long n = 0;
        if (cb_helper_run(argv, out, sizeof(out), "/dev/null", 60) == 0 &&
            (n = strtoull(out, NULL, 10)) > 0)
            py_ns = 0.2e9 / (double)n;
    }
    free(script);
    int warmup, reps = cb_exp_reps(x, &warmup);
    snprintf(how, len,
             "C %.2f ns and CPython %.1f ns an increment here, %ld increments a task, the "
             "expected sleeps; %d repetition(s), %d warm-up (of the C configurations only)",
             c_ns, py_ns, p->cpu_iters, reps, warmup);
    double c_once = est_c_cpu * (double)p->cpu_iters * c_ns / 1e9 + est_io_s;
    double py_once =
        est_py_cpu * (double)p->cpu_iters * (isnan(py_ns) ? 0 : py_ns) / 1e9 + est_py_io_s;
    return c_once * (reps + warmup) + py_once * reps;
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

/* Tutorial 003's E1 and E2: 4 tasks of 100,000,000 increments, in C and
 * (the same count) in CPython; 4 sleeps of 1 to 3 s; one repetition after a
 * warm-up. */
static const char *const tutorial[] = {"--cpu-iters", "100000000", "--tasks",     "4",
                                       "--io-ms",     "2000",      "--io-jitter", "0.5",
                                       "--reps",      "1",         NULL};

static const cb_python_def_t python = {.script = "scripts/python_reference.py",
                                       .calibrate = py_calibrate};

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
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_estimate = tutorial_estimate,
};
CB_EXPERIMENT_MAIN(cpu_vs_io)
