/* spawn: experiment E3. What it costs to start and finish one unit of work
 * on each model: a thread, a process (fork, with a small parent and with a
 * parent that touched 256 MiB; vfork; posix_spawn of a tiny program), a
 * coroutine, and a task submitted to a pool, timed bare (executor `raw`) and
 * through the harness's executors. Metric us_per_spawn; for the pools also
 * tasks_per_s over a stream of empty tasks.
 *
 * Rows come from the executor registry: an executor that starts a unit per
 * task is measured on its unit (thread: pthread), a pool on `submit` and
 * `stream`. CPython's constructs (py_*, scripts/python_spawn.py through the
 * shared CPython driver): threading.Thread start + join (py_thread on
 * pthread), multiprocessing.Process start + join per start method
 * (py_process on fork, forkserver, spawn), and a submit + result and a
 * stream on warm ThreadPoolExecutor and ProcessPoolExecutor
 * (py_thread_pool, py_process_pool). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/exec/executor.h"
#include "lib/exp/spawn_mech.h"

typedef struct params {
    int pinned_only;
    double min_ms;
    long stream;
    long trials;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_BOOL(params_t, pinned_only, "pinned-only",
                 "leave out the unpinned rows (their wake-ups land on idle or busy CPUs by "
                 "chance; the CI gate uses this)"),
    CB_FLAG_DOUBLE(params_t, min_ms, "min-ms", "MS", 1, 600000, 250, 50,
                   "keep spawning for at least this long per measurement (default 250)"),
    CB_FLAG_LONG(params_t, stream, "stream", "N", 1, 100000000, 1000000, 100000,
                 "stream: empty tasks per measurement (default 1000000)"),
    CB_FLAG_LONG(params_t, trials, "trials", "N", 1, 10000000, 1000, 200,
                 "print_order: starts per measurement (default 1000; CPython processes a fifth)"),
};

static const cb_metric_def_t spawn_metrics[] = {{"us_per_spawn", "us"}, {"spawns", "count"}};
static const cb_metric_def_t stream_metrics[] = {{"tasks_per_s", "1/s"}, {"tasks", "count"}};
static const cb_metric_def_t order_metrics[] = {{"child_first_pct", "%"}, {"trials", "count"}};

/* raw, then every executor that starts something. */
static int starts_something(const cb_executor_t *e)
{
    return e->unit != NULL;
}

static const cb_name_t py_execs[] = {
    {"py_thread", "CPython: threading.Thread start + join (workload pthread)", NULL, 0},
    {"py_process",
     "CPython: multiprocessing.Process start + join, per start method (fork, forkserver, spawn)",
     NULL, 0},
    {"py_thread_pool", "CPython: a warm concurrent.futures.ThreadPoolExecutor (submit, stream)",
     NULL, 0},
    {"py_process_pool",
     "CPython: a warm concurrent.futures.ProcessPoolExecutor, fork (submit, stream)", NULL, 0},
};
#define NPY (sizeof(py_execs) / sizeof(py_execs[0]))

static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n) {
        tab[0] = (cb_name_t){"raw", "the bare system call", NULL, 0};
        n = 1 + cb_executor_name_table(tab + 1, 63 - NPY, starts_something);
        for (size_t i = 0; i < NPY; i++)
            tab[n++] = py_execs[i];
    }
    *out = tab;
    return n;
}

/* The mechanisms, CPython's two other start methods, and 001's print
 * order. */
static const cb_name_t py_only_wls[] = {
    {"print_order",
     "tutorial 001: start a thread (thread, py_thread) or a process (process, py_process) that "
     "writes 'hello', then write the main line: how often the child's line comes first (unpinned "
     "rows only)",
     NULL, 0},
    {"forkserver", "CPython only: Process start + join, start method forkserver", NULL, 0},
    {"spawn", "CPython only: Process start + join, start method spawn (a fresh interpreter)", NULL,
     0},
};

static size_t workload_names(const cb_name_t **out)
{
    static cb_name_t tab[32];
    static size_t n;
    if (!n) {
        const cb_name_t *m;
        size_t k = cb_spawn_mech_names(&m);
        for (size_t i = 0; i < k && n < 30; i++)
            tab[n++] = m[i];
        for (size_t i = 0; i < sizeof(py_only_wls) / sizeof(py_only_wls[0]); i++)
            tab[n++] = py_only_wls[i];
    }
    *out = tab;
    return n;
}

/* The CPython points: which executor runs which workload. */
static int py_runs(const char *e, const char *w)
{
    if (strcmp(w, "print_order") == 0)
        return strcmp(e, "py_thread") == 0 || strcmp(e, "py_process") == 0;
    if (strcmp(e, "py_thread") == 0)
        return strcmp(w, "pthread") == 0;
    if (strcmp(e, "py_process") == 0)
        return strcmp(w, "fork") == 0 || strcmp(w, "forkserver") == 0 || strcmp(w, "spawn") == 0;
    return strcmp(w, "submit") == 0 || strcmp(w, "stream") == 0;
}

static size_t pins(cb_exp_t *x, cb_pin_choice_t *out)
{
    const params_t *p = x->params;
    return p->pinned_only ? cb_exp_pins_given(x, out) : cb_exp_pins_and_none(x, out);
}

static int prepare(cb_exp_t *x)
{
    x->user = cb_runner_find_data(x->argv0, "bench/tiny"); /* NULL: posix_spawn fails */
    return -1;
}

static void finish(cb_exp_t *x)
{
    free(x->user);
}

/* 001's print order, on the bare start of a thread or a process, unpinned
 * (the tutorial's run): C's thread and process executors' units, CPython's
 * Thread and Process (default start method). */
static int build_order(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    int py = strncmp(pt->executor, "py_", 3) == 0;
    int proc = strcmp(pt->executor, "process") == 0 || strcmp(pt->executor, "py_process") == 0;
    if (pt->pin->policy != CB_PIN_NONE ||
        !(proc || strcmp(pt->executor, "thread") == 0 || strcmp(pt->executor, "py_thread") == 0) ||
        (py && cb_exp_no_python(x)))
        return CB_BUILD_SKIP;
    const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, 1);
    if (!plan)
        return CB_EXIT_USAGE;
    /* A CPython process start is 4-40 ms here: a fifth of the trials. */
    long trials = py && proc ? (p->trials + 4) / 5 : p->trials;
    void *ctx = cfg->ctx;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, 1, trials, pt->pin->name},
        .metrics = order_metrics,
        .nmetrics = 2,
    };
    /* --tutorial's estimate, from the starts' costs here: C pthread 30 us,
     * fork 300 us a trial; CPython Thread 100 us, Process 5 ms. */
    cfg->expected_s = (double)trials * (py ? (proc ? 5e-3 : 1e-4) : (proc ? 3e-4 : 3e-5));
    if (py) {
        cfg->python = 1;
        cfg->python_plan = plan;
        return CB_BUILD_ADD;
    }
    *(cb_spawn_cfg_t *)ctx = (cb_spawn_cfg_t){
        .exec = cb_executor_find(pt->executor),
        .topo = x->topo,
        .plan = plan,
        .stream = trials,
    };
    cfg->ctx = ctx;
    cfg->measure = cb_spawn_order_measure;
    cfg->no_counters = "not counted: inherited counters slow the start whose race with the "
                       "parent this row counts";
    return CB_BUILD_ADD;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    if (strcmp(pt->workload, "print_order") == 0)
        return build_order(x, pt, cfg);
    if (strncmp(pt->executor, "py_", 3) == 0) {
        /* On the --pin policy alone: CPython's costs are its own, not where
         * the kernel wakes an unpinned thread (and the rows double the
         * run's time). */
        if (cb_exp_no_python(x) || !py_runs(pt->executor, pt->workload) ||
            pt->pin->policy != x->opts.pin)
            return CB_BUILD_SKIP;
        int pool = strstr(pt->executor, "_pool") != NULL;
        int workers = pool ? cb_topo_allowed_cores(x->topo) : 1;
        if (workers < 1)
            workers = 1;
        const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, workers);
        if (!plan)
            return CB_EXIT_USAGE;
        int stream = strcmp(pt->workload, "stream") == 0;
        /* tasks: 1 a start or submit; a stream runs as many as fill
         * --min-ms (its `tasks` metric), 0 in the key. */
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, workers, stream ? 0 : 1, pt->pin->name},
            .metrics = stream ? stream_metrics : spawn_metrics,
            .nmetrics = 2,
            .python = 1,
            .python_plan = plan,
        };
        cfg->expected_s = p->min_ms / 1e3 + 0.05;
        return CB_BUILD_ADD;
    }
    const cb_spawn_mech_t *m = cb_spawn_mech_find(pt->workload);
    if (!m)
        return CB_BUILD_SKIP; /* a CPython-only start method */
    const cb_executor_t *e = cb_executor_find(pt->executor);
    /* Which pairs run: raw on every bare mechanism; an executor on its unit,
     * a pool on the submit and stream mechanisms. */
    int ok = e ? (e->pool ? m->kind != CB_SPAWN_BARE : strcmp(m->name, e->unit) == 0)
               : m->kind == CB_SPAWN_BARE;
    if (!ok)
        return CB_BUILD_SKIP;
    int workers = m->kind == CB_SPAWN_BARE ? 1 : cb_topo_allowed_cores(x->topo);
    const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, workers < 1 ? 1 : workers);
    if (!plan)
        return CB_EXIT_USAGE;
    int stream = m->kind == CB_SPAWN_STREAM;
    *(cb_spawn_cfg_t *)cfg->ctx = (cb_spawn_cfg_t){
        .mech = m,
        .exec = e,
        .topo = x->topo,
        .plan = plan,
        .pinned = pt->pin->policy != CB_PIN_NONE,
        .min_s = p->min_ms / 1e3,
        .stream = p->stream,
        .tiny = x->user,
    };
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, workers < 1 ? 1 : workers, stream ? p->stream : 1,
                pt->pin->name},
        .metrics = stream ? stream_metrics : spawn_metrics,
        .nmetrics = 2,
        .measure = cb_spawn_measure,
        .ctx = cfg->ctx,
        /* Inherited counters are copied into every thread and process a
         * clone makes: measured here, pthread_create + join 25-33 us ->
         * 45-74 us and fork +20-40 %, the very cost these rows time. The
         * pools' rows start nothing in their timed region. */
        .no_counters = m->kind == CB_SPAWN_BARE || (e && !e->pool)
                           ? "not counted: inherited counters slow the thread or process "
                             "creation these rows time"
                           : NULL,
    };
    cfg->expected_s = p->min_ms / 1e3 + 0.01;
    return CB_BUILD_ADD;
}

/* Cost ratios measured inside one repetition (metric `relative`, lower is
 * better), which CI gates on: unlike absolute microseconds they hold from
 * one machine of a class to the next. */
static int add_relative(cb_results_t *r, int rep, const char *pin, const char *exec,
                        const char *mech, const char *ref_mech, const char *workload)
{
    int stream = strcmp(mech, "stream") == 0;
    double cost =
        cb_results_value(r, rep, exec, mech, pin, stream ? "tasks_per_s" : "us_per_spawn");
    double ref = cb_results_value(r, rep, "raw", ref_mech, pin, "us_per_spawn");
    if (stream)
        cost = 1e6 / cost; /* microseconds per task */
    if (isnan(cost) || isnan(ref) || !(ref > 0))
        return 0;
    char detail[96];
    snprintf(detail, sizeof(detail), "%s %s over raw %s", exec, mech, ref_mech);
    cb_sample_t s = {
        .key = {"spawn", exec, workload, 0, 0, pin},
        .rep = rep,
        .metric = "relative",
        .value = cost / ref,
        .unit = "ratio",
        .status = CB_OK,
        .detail = detail,
    };
    return cb_results_add(r, &s);
}

/* Each executor over the bare start of its unit (pools: a submit and a
 * stream task over the unit their workers are), and fork over pthread. */
static int per_rep(cb_exp_t *x, int rep, cb_results_t *r)
{
    if (rep < 0)
        return 0;
    cb_pin_choice_t pc[4];
    size_t np = cb_exp_pins_and_none(x, pc);
    int rc = 0;
    for (size_t pi = 0; pi < np && rc == 0; pi++) {
        rc = add_relative(r, rep, pc[pi].name, "raw", "fork", "pthread", "fork_vs_pthread");
        for (size_t i = 0; i < cb_executor_count && rc == 0; i++) {
            const cb_executor_t *e = cb_executors[i];
            const cb_spawn_mech_t *u = e->unit ? cb_spawn_mech_find(e->unit) : NULL;
            if (!u || !u->gated)
                continue;
            if (!e->pool)
                rc = add_relative(r, rep, pc[pi].name, e->name, u->name, u->name, u->name);
            for (size_t k = 0; e->pool && k < cb_spawn_mech_count && rc == 0; k++)
                if (cb_spawn_mechs[k].kind != CB_SPAWN_BARE)
                    rc = add_relative(r, rep, pc[pi].name, e->name, cb_spawn_mechs[k].name, u->name,
                                      cb_spawn_mechs[k].name);
        }
    }
    return rc;
}

static double med(const cb_results_t *r, const char *e, const char *w, const char *pin)
{
    return cb_results_median(r, &(cb_select_t){e, w, pin, "us_per_spawn", 0, 0});
}

static double order(const cb_results_t *r, const char *e)
{
    return cb_results_median(r, &(cb_select_t){e, "print_order", "none", "child_first_pct", 0, 0});
}

/* 001's "who starts faster": its Thread printed hello before the main
 * line, its Process after. */
static void verdict_order(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    double ct = order(r, "thread"), cp = order(r, "process"), pt = order(r, "py_thread"),
           pp = order(r, "py_process");
    if (isnan(ct) && isnan(cp) && isnan(pt) && isnan(pp))
        return;
    char f[4][24];
    const double v[4] = {ct, cp, pt, pp};
    for (int i = 0; i < 4; i++)
        snprintf(f[i], sizeof(f[i]), isnan(v[i]) ? "-" : "%.0f%%", v[i]);
    fprintf(out,
            "  001 print order, the child's 'hello' before the main line: tutorial Thread yes, "
            "Process no | C thread %s, process %s | CPython Thread %s, Process %s of the starts\n",
            f[0], f[1], f[2], f[3]);
    if (!isnan(pt) || !isnan(ct))
        fprintf(out,
                "           what decides it is start()'s contract, not a thread's speed: "
                "CPython's Thread.start() returns only once the new thread runs (an Event its "
                "bootstrap sets), so the two lines race; Process.start(), pthread_create and fork "
                "return at once, and the parent, already running, writes first\n");
    for (int i = 0; i < 4; i++) {
        static const char *const ex[] = {"thread", "process", "py_thread", "py_process"};
        if (isnan(v[i]))
            continue;
        char name[64];
        snprintf(name, sizeof(name), "001/%s/child_first_pct", ex[i]);
        cb_exp_fact(x, name, v[i], "%", i == 0 || i == 2 ? 100 : 0,
                    "%s: the child's line first in %.0f%% of the starts", ex[i], v[i]);
    }
}

/* E3: the tutorials say a thread starts "tens to hundreds of times" faster
 * than a process (003; 000 and 002: only "slightly"). */
static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const char *pin = cb_runner_pin_name(&x->opts);
    fprintf(out,
            "\nE3 (tutorial 003: a thread starts \"tens to hundreds of times\" faster than "
            "a process; 000 and 002: \"slightly\" faster), pinned %s, start + join:\n",
            pin);
    double th = med(r, "raw", "pthread", pin);
    static const char *const cmech[] = {"fork", "fork_256m", "vfork", "posix_spawn"};
    for (size_t i = 0; i < 4 && !isnan(th); i++) {
        double pr = med(r, "raw", cmech[i], pin);
        if (isnan(pr))
            continue;
        fprintf(out, "  C        %-12s %9.1f us over pthread %7.1f us: %6.1fx\n", cmech[i], pr, th,
                pr / th);
        char name[64];
        snprintf(name, sizeof(name), "e3/C/%s_over_pthread", cmech[i]);
        cb_exp_fact(x, name, pr / th, "x", NAN, "C: %s %.1f us against pthread %.1f us", cmech[i],
                    pr, th);
    }
    double pth = med(r, "py_thread", "pthread", pin);
    static const char *const pymech[] = {"fork", "forkserver", "spawn"};
    for (size_t i = 0; i < 3 && !isnan(pth); i++) {
        double pr = med(r, "py_process", pymech[i], pin);
        if (isnan(pr))
            continue;
        fprintf(out, "  CPython  Process(%-10s) %9.1f us over Thread %7.1f us: %6.1fx\n", pymech[i],
                pr, pth, pr / pth);
        char name[64];
        snprintf(name, sizeof(name), "e3/CPython/%s_over_thread", pymech[i]);
        cb_exp_fact(x, name, pr / pth, "x", NAN,
                    "CPython: multiprocessing.Process (%s) %.1f us against threading.Thread %.1f "
                    "us",
                    pymech[i], pr, pth);
    }
    verdict_order(x, r, out);
    static const char *const pools[][2] = {{"thread_pool", "py_thread_pool"},
                                           {"process_pool", "py_process_pool"}};
    for (size_t i = 0; i < 2; i++) {
        double c = med(r, pools[i][0], "submit", pin), py = med(r, pools[i][1], "submit", pin);
        if (isnan(c) && isnan(py))
            continue;
        fprintf(out, "  a submit + result on a warm pool: C %s %.1f us, CPython %s %.1f us\n",
                pools[i][0], c, pools[i][1], py);
    }
}

/* In the first 3 repetitions: a CPython run is 2.5 s here (a fresh
 * interpreter per spawn-method start, 142 ms each), and in all 5 --quick
 * came to 28 s of its 30. */
static const cb_python_def_t python = {.script = "scripts/python_spawn.py", .reps = 3};

/* Tutorial 001's "who starts faster" (a thread's hello before the main
 * line, a process's after), with the start costs beside it: the tutorials
 * time no start. */
static const char *const tutorial[] = {"--workloads", "print_order,pthread,fork", "--executors",
                                       "raw,thread,process,py_thread,py_process", NULL};

static const cb_experiment_def_t spawn = {
    .name = "spawn",
    .summary = "Cost of starting and finishing one unit of work: thread, process (fork, "
               "vfork, posix_spawn), coroutine, pool submit.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_spawn_cfg_t),
    .executors = {.names_fn = executor_names},
    .workloads = {.names_fn = workload_names},
    .prepare = prepare,
    .worker_counts = cb_exp_workers_one,
    .pins = pins,
    .build = build,
    .per_rep = per_rep,
    .verdict = verdict,
    .finish = finish,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_how = "the trials at this machine's start costs, --min-ms per start-cost row",
};
CB_EXPERIMENT_MAIN(spawn)
