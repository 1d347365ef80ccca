/* tasksize: the condition of E1 ("processes win, provided the data is
 * large", tutorial 003). The same counting task as cpu_vs_io's cpu
 * workload, swept from 10^3 to 10^8 increments per task on serial,
 * thread, process and both pools, in C and in CPython (py_*, through the
 * shared CPython driver). Each repetition measures every size on every
 * executor; from that repetition's rows it derives, per language, the size
 * from which process beats serial and from which process beats thread. The
 * summary of those per-repetition crossovers gives their median and range
 * (with n repetitions, the range covers the median with probability
 * 1 - 2^(1-n): 94% for 5).
 *
 * The `tasks` column holds the increments per task (the swept size); the
 * number of tasks is in meta (ntasks). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/core/helper.h"
#include "lib/wl/workload.h"
#include "lib/exp/crossover.h"
#include "lib/exp/matrix.h"

typedef struct params {
    cb_long_list_t sizes;
    long ntasks;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_LIST(params_t, sizes, "sizes", "LIST", 1, 1e10,
                 "1000,3000,10000,30000,100000,300000,1000000,3000000,10000000,30000000,100000000",
                 "1000,10000,100000,1000000",
                 "increments per task, ascending (default 10^3 to 10^8 in half decades; --quick "
                 "10^3 to 10^6 in decades)"),
    CB_FLAG_LONG(params_t, ntasks, "ntasks", "N", 1, 4096, 4, 4,
                 "tasks per configuration (default 4, the tutorials')"),
};

/* The executors: C, then CPython. */
static const cb_name_t execs[] = {
    {"serial", "one task after another, in the calling thread", NULL, 0},
    {"thread", "one pthread per task", NULL, 0},
    {"process", "one fork per task", NULL, 0},
    {"thread_pool", "W pre-started pinned threads", NULL, 0},
    {"process_pool", "W pre-forked pinned processes", NULL, 0},
    {"py_serial", "CPython: the tasks one after another", NULL, 0},
    {"py_thread", "CPython: one threading.Thread per task", NULL, 0},
    {"py_process", "CPython: one multiprocessing.Process per task (fork)", NULL, 0},
    {"py_thread_pool", "CPython: concurrent.futures.ThreadPoolExecutor(W), started untimed", NULL,
     0},
    {"py_process_pool", "CPython: concurrent.futures.ProcessPoolExecutor(W), started untimed", NULL,
     0},
};
#define NEXEC (sizeof(execs) / sizeof(execs[0]))

static const cb_name_t wls[] = {
    {"cpu", "count to N, one increment at a time (the tutorials' loop)", NULL, 0},
};

static const cb_metric_def_t py_metrics[] = {{"wall_s", "s"}};

static size_t variants(cb_exp_t *x)
{
    return ((const params_t *)x->params)->sizes.n;
}

static int prepare(cb_exp_t *x)
{
    const params_t *p = x->params;
    for (size_t i = 1; i < p->sizes.n; i++)
        if (p->sizes.v[i] <= p->sizes.v[i - 1]) {
            fprintf(stderr,
                    "tasksize: --sizes: bad value '%ld' after %ld: expected ascending "
                    "sizes\n",
                    p->sizes.v[i], p->sizes.v[i - 1]);
            return CB_EXIT_USAGE;
        }
    return -1;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    long size = p->sizes.v[pt->variant];
    int serial = strstr(pt->executor, "serial") != NULL;
    if (serial && pt->wi > 0)
        return CB_BUILD_SKIP; /* one serial row per size */
    long workers = serial ? 1 : pt->workers;
    if (strncmp(pt->executor, "py_", 3) == 0) {
        if (cb_exp_no_python(x))
            return CB_BUILD_SKIP;
        const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, (int)workers);
        if (!plan)
            return CB_EXIT_USAGE;
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, workers, size, pt->pin->name},
            .metrics = py_metrics,
            .nmetrics = 1,
            .python = 1,
            .python_plan = plan,
        };
        return CB_BUILD_ADD;
    }
    const cb_wl_params_t wp = {.tasks = (size_t)p->ntasks, .cpu_iters = (uint64_t)size};
    int rc = cb_matrix_build(x, pt, cfg, &wp, workers);
    cfg->key.tasks = size;
    return rc;
}

/* This repetition's wall time of (executor, workers, size), NaN when none. */
static double wall(const cb_results_t *r, int rep, const char *e, long workers, long size)
{
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->rep == rep && s->status == CB_OK && s->key.workers == workers &&
            s->key.tasks == size && strcmp(s->metric, "wall_s") == 0 &&
            strcmp(s->key.executor, e) == 0)
            return s->value;
    }
    return NAN;
}

/* The crossover of process (py_process) against ref in this repetition,
 * as a row of the process executor with tasks 0. */
static int add_crossover(cb_exp_t *x, int rep, cb_results_t *r, const char *lang, long workers,
                         const char *ref, const char *metric)
{
    const params_t *p = x->params;
    char a[32], b[32];
    snprintf(a, sizeof(a), "%sprocess", lang);
    snprintf(b, sizeof(b), "%s%s", lang, ref);
    size_t n = p->sizes.n;
    double *sz = calloc(n, sizeof(*sz)), *ratio = calloc(n, sizeof(*ratio));
    if (!sz || !ratio) {
        free(sz);
        free(ratio);
        return -1;
    }
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        sz[i] = (double)p->sizes.v[i];
        double ta = wall(r, rep, a, workers, p->sizes.v[i]);
        double tb = wall(r, rep, b, strcmp(ref, "serial") == 0 ? 1 : workers, p->sizes.v[i]);
        ratio[i] = ta / tb;
        have += !isnan(ratio[i]);
    }
    cb_cross_where_t where;
    double c = cb_crossover(sz, ratio, n, &where);
    free(sz);
    free(ratio);
    if (have == 0)
        return 0; /* neither side in this run */
    char detail[160] = "";
    cb_status_t st = CB_OK;
    if (where == CB_CROSS_NONE) {
        snprintf(detail, sizeof(detail), "fewer than two sizes with both %s and %s measured", a, b);
        st = CB_ERROR;
        c = NAN;
    } else if (where == CB_CROSS_BELOW) {
        snprintf(detail, sizeof(detail), "below the range: %s beat %s at every size from %.3g", a,
                 b, c);
        st = CB_SKIPPED;
        c = NAN;
    } else if (where == CB_CROSS_ABOVE) {
        snprintf(detail, sizeof(detail),
                 "above the range: %s did not beat %s at the largest size, %.3g", a, b, c);
        st = CB_SKIPPED;
        c = NAN;
    }
    cb_sample_t s = {
        .key = {"tasksize", a, "cpu", workers, 0, cb_runner_pin_name(&x->opts)},
        .rep = rep,
        .metric = metric,
        .value = c,
        .unit = "iters",
        .status = st,
        .detail = detail,
    };
    return cb_results_add(r, &s);
}

static int per_rep(cb_exp_t *x, int rep, cb_results_t *r)
{
    if (rep < 0 || ((const params_t *)x->params)->sizes.n < 2)
        return 0; /* one size (--tutorial's): no crossing to find */
    for (size_t k = 0; k < x->nworkers; k++)
        for (int py = 0; py < 2; py++) {
            const char *lang = py ? "py_" : "";
            if (add_crossover(x, rep, r, lang, x->workers[k], "serial", "crossover_vs_serial") <
                    0 ||
                add_crossover(x, rep, r, lang, x->workers[k], "thread", "crossover_vs_thread") < 0)
                return -1;
        }
    return 0;
}

static int per_rep_rows(cb_exp_t *x)
{
    (void)x;
    return 1;
}

/* The crossover's median and range over the repetitions, as a phrase. */
static void say(cb_exp_t *x, const cb_results_t *r, FILE *out, const char *e, const char *metric,
                const char *what, const char *tutorial)
{
    cb_select_t q = {e, "cpu", NULL, metric, 0, 0};
    double lo = NAN, hi = NAN;
    size_t n = cb_results_range(r, &q, &lo, &hi, 0, NULL);
    size_t nall = 0, above = 0, below = 0;
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (strcmp(s->key.executor, e) != 0 || strcmp(s->metric, metric) != 0)
            continue;
        nall++;
        above += s->detail && strstr(s->detail, "above the range") != NULL;
        below += s->detail && strstr(s->detail, "below the range") != NULL;
    }
    if (nall == 0)
        return;
    double med = cb_results_median(r, &q);
    if (n == 0) {
        fprintf(out,
                "  %-10s %-14s not inside the swept sizes in any of %zu reps (%zu above, %zu "
                "below)   (tutorial: %s)\n",
                e, what, nall, above, below, tutorial);
        return;
    }
    fprintf(out, "  %-10s %-14s from %.3g increments per task (range %.3g-%.3g, %zu of %zu reps", e,
            what, med, lo, hi, n, nall);
    if (above || below)
        fprintf(out, "; %zu above the swept sizes, %zu below", above, below);
    fprintf(out, ")   (tutorial: %s)\n", tutorial);
    char name[96];
    snprintf(name, sizeof(name), "e1/%s/%s", e, metric);
    cb_exp_fact(x, name, med, "iters", NAN,
                "%s %s from %.3g increments per task (range %.3g-%.3g over %zu repetitions)", e,
                what, med, lo, hi, n);
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    fprintf(out, "\nE1b (tutorial 003: processes beat threads \"provided the data is fairly "
                 "large\"; it gives no size, and at 10^8 increments per task measured 4 "
                 "processes 17.11 s vs 4 threads 30.26 s): where processes start to win, per "
                 "language:\n");
    /* At the tutorial's own size, its figures beside the measured ones. */
    const params_t *p = x->params;
    for (size_t i = 0; i < p->sizes.n; i++) {
        if (p->sizes.v[i] != 100000000)
            continue;
        for (int py = 0; py < 2; py++) {
            const char *pe = py ? "py_process" : "process", *te = py ? "py_thread" : "thread";
            double tp =
                cb_results_median(r, &(cb_select_t){pe, "cpu", NULL, "wall_s", 0, 100000000});
            double tt =
                cb_results_median(r, &(cb_select_t){te, "cpu", NULL, "wall_s", 0, 100000000});
            if (isnan(tp) || isnan(tt))
                continue;
            fprintf(out,
                    "  at the tutorial's 10^8 increments per task: %-7s %s %.2f s vs %s %.2f s: "
                    "threads %.2fx as long   (tutorial, CPython: 17.11 s vs 30.26 s, 1.77x)\n",
                    py ? "CPython" : "C", pe, tp, te, tt, tt / tp);
            char name[64];
            snprintf(name, sizeof(name), "e1/%s/thread_over_process_1e8", py ? "CPython" : "C");
            cb_exp_fact(x, name, tt / tp, "x", 30.26 / 17.11,
                        "%s at 10^8 increments per task: %s %.2f s, %s %.2f s",
                        py ? "CPython" : "C", pe, tp, te, tt);
        }
    }
    if (p->sizes.n < 2)
        return;
    say(x, r, out, "process", "crossover_vs_serial", "beats serial", "no size given");
    say(x, r, out, "process", "crossover_vs_thread", "beats thread", "no size given");
    say(x, r, out, "py_process", "crossover_vs_serial", "beats serial", "no size given");
    say(x, r, out, "py_process", "crossover_vs_thread", "beats thread",
        "below 10^8: 1.77x at 10^8");
}

/* Seconds one increment of CPython's loop takes here (the script's
 * cpu_task on 2,000,000), or NAN. */
static double py_ns_per_iter(cb_exp_t *x)
{
    const char *why;
    const char *py = cb_exp_python(x, &why);
    if (!py)
        return NAN;
    char *argv[] = {(char *)py, "-c",
                    "import time\n"
                    "def f(n):\n"
                    "    c = 0\n"
                    "    for i in range(n):\n"
                    "        c += 1\n"
                    "    return c\n"
                    "t = time.perf_counter(); f(2000000)\n"
                    "print((time.perf_counter() - t) / 2000000 * 1e9)\n",
                    NULL};
    char out[64] = "";
    if (cb_helper_run(argv, out, sizeof(out), "/dev/null", 60) != 0)
        return NAN;
    return strtod(out, NULL);
}

/* Every configuration's expected time from the two rates: serial and the
 * lock-bound CPython threads run the tasks one after another, the others
 * on min(workers, PUs) at once. */
static double tutorial_estimate(cb_exp_t *x, char *how, size_t len)
{
    const params_t *p = x->params;
    uint64_t it = cb_workload_cpu_calibrate(20);
    double c_ns = it ? 20e6 / (double)it : NAN, py_ns = py_ns_per_iter(x);
    int warmup, reps = cb_exp_reps(x, &warmup);
    long pus = cb_topo_allowed_cores(x->topo);
    double c_s = 0, py_s = 0;
    for (size_t k = 0; k < x->nworkers; k++) {
        long w = x->workers[k];
        double par = (double)(w < pus ? w : pus);
        if (par > (double)p->ntasks)
            par = (double)p->ntasks;
        for (size_t i = 0; i < p->sizes.n; i++) {
            double work = (double)p->ntasks * (double)p->sizes.v[i];
            c_s += work * c_ns / 1e9 * (k == 0 ? 1 : 0) + 4 * work * c_ns / 1e9 / par;
            if (!cb_exp_no_python(x) && !isnan(py_ns))
                py_s += work * py_ns / 1e9 * ((k == 0 ? 1 : 0) + 2) + 2 * work * py_ns / 1e9 / par;
        }
    }
    snprintf(how, len,
             "C %.2f ns and CPython %.1f ns an increment here, %ld PUs, %d repetition(s), %d "
             "warm-up",
             c_ns, py_ns, pus, reps, warmup);
    return c_s * (reps + warmup) + py_s * reps;
}

/* The tutorial's own size: 4 tasks of 100,000,000 increments, once. */
static const char *const tutorial[] = {"--sizes", "100000000", "--ntasks", "4", "--reps",
                                       "1",       "--warmup",  "0",        NULL};

static size_t exec_names(const cb_name_t **out)
{
    *out = execs;
    return NEXEC;
}

static const cb_python_def_t python = {.script = "scripts/python_tasksize.py"};

static const cb_experiment_def_t tasksize = {
    .name = "tasksize",
    .summary = "E1's condition: the task size (10^3 to 10^8 increments) from which processes "
               "beat serial and threads, in C and in CPython (py_*).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_matrix_t),
    .executors = {.names_fn = exec_names},
    .workloads = {.names = wls, .n = 1},
    .reps = 3,
    .quick_reps = 3,
    .timeout_s = 300,
    .prepare = prepare,
    .variants = variants,
    .build = build,
    .per_rep = per_rep,
    .per_rep_rows = per_rep_rows,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_estimate = tutorial_estimate,
};
CB_EXPERIMENT_MAIN(tasksize)
