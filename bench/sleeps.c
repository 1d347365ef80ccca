/* sleeps: what explains E2's figure (tutorial 003: 4 threads sleeping
 * `random.randint(1, 3)` s took 2.00 s, 4 processes 3.24 s). Each task
 * sleeps a whole number of units, 1, 2 or 3, drawn per task; the run's
 * wall time is decided by the longest of its 4 draws. Two workloads:
 *
 *   seeded       the same draws for every executor and run (seed 1): the
 *                difference between processes and threads is what starting
 *                and ending them costs, and nothing else;
 *   independent  fresh draws in every run of every executor, as the
 *                tutorial's two runs each drew their own: the longest of 4
 *                draws is 1, 2 or 3 units with probability 1/81, 15/81 and
 *                65/81 (mean 226/81 = 2.79 units), and it alone can make
 *                the processes' run longer by whole units.
 *
 * On threads and processes in C and in CPython (py_thread, py_process:
 * threading.Thread and multiprocessing.Process, through the shared CPython
 * driver). Metrics wall_s (and the matrix's CPU times) and longest_draw
 * (units). The verdict splits the tutorial's 1.24 s between its draws and
 * the start-up cost measured here. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/experiment.h"
#include "lib/core/task_env.h"
#include "lib/exp/matrix.h"
#include "lib/wl/workload.h"

uint64_t cb_wl_splitmix64(uint64_t seed, uint64_t i); /* lib/wl/wl_io.c */

typedef struct params {
    double unit_ms;
    long ntasks;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_DOUBLE(params_t, unit_ms, "unit-ms", "MS", 0.1, 60000, 50, 10,
                   "one unit of sleep: each task sleeps 1, 2 or 3 units (default 50; --quick 10; "
                   "the tutorial's 1000)"),
    CB_FLAG_LONG(params_t, ntasks, "ntasks", "N", 1, 64, 4, 4,
                 "tasks per run (default 4, the tutorial's)"),
};

/* ---- the draws and the workload ---- */

static unsigned draw(uint64_t seed, size_t i)
{
    return 1 + (unsigned)(cb_wl_splitmix64(seed, i) % 3);
}

static unsigned longest(uint64_t seed, size_t n)
{
    unsigned m = 0;
    for (size_t i = 0; i < n; i++)
        if (draw(seed, i) > m)
            m = draw(seed, i);
    return m;
}

typedef struct {
    uint64_t unit_ns, seed;
} draw_arg_t;

static int draw_setup(const cb_wl_params_t *p, void **arg)
{
    draw_arg_t *a = malloc(sizeof(*a));
    if (!a)
        return -1;
    a->unit_ns = p->io_ns;
    a->seed = p->seed;
    *arg = a;
    return 0;
}

static uint64_t draw_task(void *arg, size_t index)
{
    const draw_arg_t *a = arg;
    uint64_t ns = draw(a->seed, index) * a->unit_ns;
    return cb_task_sleep_ns(ns) == 0 ? ns : UINT64_MAX;
}

static int draw_check(void *arg, size_t index, uint64_t value)
{
    const draw_arg_t *a = arg;
    return value == draw(a->seed, index) * a->unit_ns ? 0 : -1;
}

static const cb_workload_t draw_wl = {
    .name = "sleeps_draw",
    .summary = "sleep 1, 2 or 3 units, drawn per task from the seed",
    .setup = draw_setup,
    .task = draw_task,
    .check = draw_check,
    .teardown = free,
};

/* ---- the declaration ---- */

static const cb_name_t execs[] = {
    {"thread", "one pthread per task, all started, then joined", NULL, 0},
    {"process", "one fork per task, all forked, then reaped", NULL, 0},
    {"py_thread", "CPython: one threading.Thread per task (time.sleep)", NULL, 0},
    {"py_process", "CPython: one multiprocessing.Process per task (fork; time.sleep)", NULL, 0},
};

static const cb_name_t wls[] = {
    {"seeded", "the same draws (seed 1) in every run of every executor: start-up cost alone", NULL,
     0},
    {"independent",
     "fresh draws in every run (C: from the clock; CPython: random.randint(1, 3), as the "
     "tutorial)",
     NULL, 0},
};

enum { NMATRIX = 5, NMETRICS = NMATRIX + 1 };
static cb_metric_def_t metrics[NMETRICS];
static const cb_metric_def_t py_metrics[] = {{"wall_s", "s"}, {"longest_draw", "units"}};

typedef struct ctx {
    cb_matrix_t m; /* first: cb_matrix_measure reads it */
    int independent;
    long ntasks;
} ctx_t;

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    ctx_t x = *(const ctx_t *)c->ctx;
    if (x.independent) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x.m.params.seed =
            cb_wl_splitmix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20, (uint64_t)getpid());
    }
    cb_config_t cc = *c;
    cc.ctx = &x.m;
    int rc = cb_matrix_measure(&cc, o, m);
    m->values[NMATRIX] = (double)longest(x.m.params.seed, (size_t)x.ntasks);
    return rc;
}

static int prepare(cb_exp_t *x)
{
    (void)x;
    for (int i = 0; i < NMATRIX; i++)
        metrics[i] = cb_matrix_metrics[i];
    metrics[NMATRIX] = (cb_metric_def_t){"longest_draw", "units"};
    if (!cb_workload_find(draw_wl.name) && cb_workload_register(&draw_wl) < 0) {
        fprintf(stderr, "sleeps: could not run: cannot register its workload\n");
        return CB_EXIT_NORUN;
    }
    return -1;
}

/* The seconds one repetition of the built configurations sleeps (C) and
 * the CPython points (which make no warm-up), for --tutorial's estimate. */
static double rep_c_s, rep_py_s;

static double expected_s(const params_t *p, const char *workload)
{
    double units = strcmp(workload, "seeded") == 0 ? (double)longest(1, (size_t)p->ntasks)
                                                   : 3.0 - 1.0 / 81 - 16.0 / 81; /* 226/81 */
    return units * p->unit_ms / 1e3;
}

static double tutorial_estimate(cb_exp_t *x, char *how, size_t len)
{
    int warmup, reps = cb_exp_reps(x, &warmup);
    snprintf(how, len,
             "the sleeps themselves: the longest of the seeded draws, 2.79 units for fresh ones, "
             "%d repetitions and %d warm-up",
             reps, warmup);
    return rep_c_s * (reps + warmup) + rep_py_s * reps;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    long n = p->ntasks;
    if (strncmp(pt->executor, "py_", 3) == 0) {
        if (cb_exp_no_python(x))
            return CB_BUILD_SKIP;
        const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, (int)n);
        if (!plan)
            return CB_EXIT_USAGE;
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, n, n, pt->pin->name},
            .metrics = py_metrics,
            .nmetrics = 2,
            .python = 1,
            .python_plan = plan,
        };
        rep_py_s += expected_s(p, pt->workload) + 0.05; /* and a process start-up */
        return CB_BUILD_ADD;
    }
    ctx_t *c = cfg->ctx;
    const cb_point_t q = {pt->executor, draw_wl.name, n, pt->wi, pt->variant, pt->pin};
    const cb_wl_params_t wp = {
        .tasks = (size_t)n, .io_ns = (uint64_t)(p->unit_ms * 1e6), .seed = 1};
    int rc = cb_matrix_build(x, &q, cfg, &wp, n);
    if (rc != CB_BUILD_ADD)
        return rc;
    c->independent = strcmp(pt->workload, "independent") == 0;
    c->ntasks = n;
    cfg->key.workload = pt->workload;
    cfg->metrics = metrics;
    cfg->nmetrics = NMETRICS;
    cfg->measure = measure;
    rep_c_s += expected_s(p, pt->workload) + 0.01;
    return CB_BUILD_ADD;
}

/* Each run of fresh draws as three rows, longest_is_1/2/3, 1 where its
 * longest draw was that many units: their means over the runs are the
 * shares of the distribution (the summary and the plot read them). */
static int per_rep(cb_exp_t *x, int rep, cb_results_t *r)
{
    (void)x;
    static const char *const names[3] = {"longest_is_1", "longest_is_2", "longest_is_3"};
    size_t n = cb_results_count(r);
    for (size_t i = 0; i < n; i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->rep != rep || s->status != CB_OK || strcmp(s->metric, "longest_draw") != 0 ||
            strcmp(s->key.workload, "independent") != 0)
            continue;
        cb_config_key_t key = s->key;
        double v = s->value;
        for (int u = 0; u < 3; u++) {
            cb_sample_t t = {.key = key,
                             .rep = rep,
                             .metric = names[u],
                             .value = v == u + 1 ? 1.0 : 0.0,
                             .unit = "share",
                             .status = CB_OK};
            if (cb_results_add(r, &t) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- the verdict ---- */

static double med(const cb_results_t *r, const char *e, const char *w, const char *metric)
{
    return cb_results_median(r, &(cb_select_t){e, w, NULL, metric, 0, 0});
}

/* Over the repetitions with both rows ok: the mean longest draw of a and
 * b, and how often a's exceeded b's. */
static void draws(const cb_results_t *r, const char *a, const char *b, double *mean, double *frac,
                  size_t *n)
{
    double sum = 0;
    size_t k = 0, more = 0, pairs = 0;
    for (int rep = 0; rep < 100000; rep++) {
        double va = NAN, vb = NAN;
        int seen = 0;
        for (size_t i = 0; i < cb_results_count(r); i++) {
            const cb_sample_t *s = cb_results_get(r, i);
            if (s->rep != rep || s->status != CB_OK || strcmp(s->metric, "longest_draw") != 0 ||
                strcmp(s->key.workload, "independent") != 0)
                continue;
            seen = 1;
            if (strcmp(s->key.executor, a) == 0)
                va = s->value;
            else if (strcmp(s->key.executor, b) == 0)
                vb = s->value;
        }
        if (!seen)
            break;
        if (!isnan(va))
            sum += va, k++;
        if (!isnan(vb))
            sum += vb, k++;
        if (!isnan(va) && !isnan(vb))
            pairs++, more += va > vb;
    }
    *mean = k ? sum / (double)k : NAN;
    *frac = pairs ? (double)more / (double)pairs : NAN;
    *n = pairs;
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    fprintf(out,
            "\nE2's figure explained (tutorial 003: 4 threads 2.00 s, 4 processes 3.24 s, "
            "each task sleeping random.randint(1, 3) s; the unit here is %g ms):\n",
            p->unit_ms);
    const char *lang[2][3] = {{"C", "thread", "process"}, {"CPython", "py_thread", "py_process"}};
    double startup_py = NAN;
    for (int l = 0; l < 2; l++) {
        double t = med(r, lang[l][1], "seeded", "wall_s"),
               pr = med(r, lang[l][2], "seeded", "wall_s");
        if (isnan(t) || isnan(pr))
            continue;
        double d = pr - t;
        if (l == 1)
            startup_py = d;
        fprintf(out,
                "  seeded (the same draws): %-7s %s %.4f s, %s %.4f s: starting and ending %ld "
                "processes costs %.1f ms more than threads\n",
                lang[l][0], lang[l][1], t, lang[l][2], pr, p->ntasks, d * 1e3);
        char name[64];
        snprintf(name, sizeof(name), "e2/%s/startup_s", lang[l][0]);
        cb_exp_fact(x, name, d, "s", NAN,
                    "%s: with the same draws, %ld processes took %.1f ms longer than %ld threads",
                    lang[l][0], p->ntasks, d * 1e3, p->ntasks);
    }
    for (int l = 0; l < 2; l++) {
        double mean, frac;
        size_t n;
        draws(r, lang[l][2], lang[l][1], &mean, &frac, &n);
        if (n == 0)
            continue;
        fprintf(out,
                "  independent draws: %-7s mean longest of %ld draws %.2f units (theory for 4: "
                "226/81 = 2.79); the processes' longer than the threads' in %.0f%% of %zu runs "
                "(theory: 16%%)\n",
                lang[l][0], p->ntasks, mean, 100 * frac, n);
        char name[64];
        snprintf(name, sizeof(name), "e2/%s/mean_longest_draw", lang[l][0]);
        cb_exp_fact(x, name, mean, "units", 226.0 / 81.0,
                    "%s: the longest of %ld draws of randint(1, 3) averaged %.2f units", lang[l][0],
                    p->ntasks, mean);
    }
    /* The tutorial's 2.00 s means its threads' longest draw was 2 s, its
     * 3.24 s that the processes' was 3 s: 1.00 s of the 1.24 s is the
     * draws; the rest, 0.24 s, is what its processes cost beyond threads. */
    fprintf(out,
            "  the tutorial's 1.24 s: its draws explain 1.00 s (the threads' longest sleep was "
            "2 s, the processes' 3 s); the other 0.24 s is start-up");
    if (!isnan(startup_py))
        fprintf(out,
                ", of which CPython's %ld processes over threads cost %.3f s here (%.0f%% of "
                "1.24 s)",
                p->ntasks, startup_py, 100 * startup_py / 1.24);
    fprintf(out, "\n");
    cb_exp_fact(x, "e2/draws_explain_s", 1.00, "s", 1.24,
                "of the tutorial's 1.24 s, its draws (3 s against 2 s) explain 1.00 s");
    if (!isnan(startup_py))
        cb_exp_fact(x, "e2/startup_explains_s", startup_py, "s", 0.24,
                    "CPython's start-up of %ld processes over threads here: %.3f s of the "
                    "tutorial's 1.24 s",
                    p->ntasks, startup_py);
}

static size_t exec_names(const cb_name_t **out)
{
    *out = execs;
    return sizeof(execs) / sizeof(execs[0]);
}

static const cb_python_def_t python = {.script = "scripts/python_sleeps.py"};

/* The tutorial's sizes: sleeps of 1 to 3 s; 3 runs of each (a single run
 * is the tutorial's, the distribution needs more). */
static const char *const tutorial[] = {"--unit-ms", "1000", "--reps", "3", "--warmup", "0", NULL};

static const cb_experiment_def_t sleeps = {
    .name = "sleeps",
    .summary = "E2's figure explained: 4 sleeps of randint(1, 3) units on threads and processes, "
               "with the same draws (start-up cost alone) and with fresh draws per run (the "
               "longest draw decides), in C and in CPython (py_*).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(ctx_t),
    .executors = {.names_fn = exec_names},
    .workloads = {.names = wls, .n = 2},
    .reps = 20,
    .quick_reps = 8,
    .timeout_s = 120,
    .worker_counts = cb_exp_workers_one,
    .prepare = prepare,
    .build = build,
    .per_rep = per_rep,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_estimate = tutorial_estimate,
};
CB_EXPERIMENT_MAIN(sleeps)
