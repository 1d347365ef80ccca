/* pool_callbacks: experiment E8 of the tutorials. Where a pool runs its
 * completion callbacks, and what a slow one costs.
 *
 * callbacks: 2 tasks and 2 slow callbacks (the tutorials' 10 s scaled down
 * to 200 ms each). A thread pool runs each callback in the worker that ran
 * the task, so the two callbacks overlap: about one task + one callback. A
 * process pool runs callbacks in the parent, one at a time: about one task
 * + both callbacks (the tutorial's 30 s with 10 s each; it prints no thread
 * pool figure: 20 s is what one task + one callback would take).
 * blocked_callback: more tasks than workers, and one callback blocks for a
 * long time. On the process pool every other result waits behind it (the
 * tutorials' "the whole pool blocks"); on the thread pool only its worker
 * is held. Executors from the registry with callbacks: also uv_pool, whose
 * after_work_cb runs on the loop (calling) thread, as the process pool's
 * callbacks run in the parent.
 *
 * CPython's pools (py_*, scripts/python_pool_callbacks.py through the
 * shared CPython driver) on the same workloads and keys:
 * concurrent.futures.ThreadPoolExecutor and ProcessPoolExecutor with
 * future.add_done_callback (py_thread_pool, py_process_pool), and
 * multiprocessing.Pool.apply_async(callback=...) (py_mp_pool). Besides the
 * C metrics their rows record where each callback ran (in its task's
 * thread, the parent's main thread, the parent, a parent thread that ran
 * no task: the manager or result-handler thread), measured in the first 2
 * repetitions only. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/exp/callbacks.h"

static const cb_metric_def_t metrics[] = {
    {"wall_s", "s"},
    {"callbacks_s", "s"},
    {"result_wait_s", "s"},
    {"callback_peak", "count"},
};

typedef struct params {
    double task_ms, callback_ms, block_ms;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_DOUBLE(params_t, task_ms, "task-ms", "MS", 0.001, 3600000, 200, 100,
                   "how long each task waits (default 200)"),
    CB_FLAG_DOUBLE(params_t, callback_ms, "callback-ms", "MS", 0.001, 3600000, 200, 100,
                   "how long each callback waits (default 200)"),
    CB_FLAG_DOUBLE(params_t, block_ms, "block-ms", "MS", 0.001, 3600000, 1000, 400,
                   "blocked_callback: how long the one slow callback waits (default 1000)"),
};

static const cb_name_t workloads[] = {
    {"callbacks", "2 tasks, each with a slow callback", NULL, 0},
    {"blocked_callback", "one callback blocks; how long the other results wait", NULL, 0},
};

/* The CPython rows' metrics: the C ones, then where the callbacks ran
 * (counts of the point's callbacks). */
static const cb_metric_def_t py_metrics[] = {
    {"wall_s", "s"},
    {"callbacks_s", "s"},
    {"result_wait_s", "s"},
    {"callback_peak", "count"},
    {"cb_in_task_thread", "count"},
    {"cb_in_main_thread", "count"},
    {"cb_in_parent", "count"},
    {"cb_in_pool_thread", "count"},
    {"cb_threads", "count"},
};

static const cb_name_t py_execs[] = {
    {"py_thread_pool",
     "CPython: concurrent.futures.ThreadPoolExecutor(W), submit + future.add_done_callback", NULL,
     0},
    {"py_process_pool",
     "CPython: concurrent.futures.ProcessPoolExecutor(W) (fork), submit + "
     "future.add_done_callback",
     NULL, 0},
    {"py_mp_pool", "CPython: multiprocessing.Pool(W) (fork), apply_async(callback=...)", NULL, 0},
};
#define NPY (sizeof(py_execs) / sizeof(py_execs[0]))

static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[32];
    static size_t n;
    if (!n) {
        const cb_name_t *c;
        size_t k = cb_callbacks_pool_names(&c);
        for (size_t i = 0; i < k && n < 32 - NPY; i++)
            tab[n++] = c[i];
        for (size_t i = 0; i < NPY; i++)
            tab[n++] = py_execs[i];
    }
    *out = tab;
    return n;
}

typedef struct pc_ctx {
    cb_callbacks_cfg_t cfg;
} pc_ctx_t;

typedef struct pc_run {
    long workers, tasks_cb;
} pc_run_t;

/* The tutorials' pool has more workers than the 2 tasks: each task gets a
 * worker at once. */
static long workers_of(const cb_exp_t *x, size_t k)
{
    return x->workers[k] < 2 ? 2 : x->workers[k];
}

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const pc_ctx_t *x = c->ctx;
    cb_callbacks_result_t r;
    int rc = cb_callbacks_run(&x->cfg, &r);
    if (rc < 0) {
        snprintf(m->detail, sizeof(m->detail), "%s: %s", x->cfg.executor->name,
                 rc == -EIO ? "a task or callback failed" : strerror(-rc));
        return rc;
    }
    m->values[0] = r.wall_s;
    m->values[1] = r.callbacks_s;
    m->values[2] = r.result_wait_s;
    m->values[3] = r.callback_peak;
    /* Where the callbacks ran is the pool's contract: check it, so a row
     * never reports a time measured with callbacks in the wrong place. */
    int thread_pool = strcmp(x->cfg.executor->name, "thread_pool") == 0;
    size_t where = thread_pool ? r.in_task_thread : r.in_caller;
    if (where != x->cfg.tasks) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%zu of %zu callbacks ran in the %s", where,
                 x->cfg.tasks, thread_pool ? "task's thread" : "calling thread");
    }
    return 0;
}

/* One measurement's expected seconds, C and CPython, for --tutorial: the waits.
 * callbacks: a task, then one callback (a thread pool's overlap) or both
 * (one at a time in the parent); blocked_callback: the rounds of tasks and
 * the block. */
static double expected_s(const params_t *p, const char *exec, int blocked, long workers, long tasks)
{
    int thread = strcmp(exec, "thread_pool") == 0 || strcmp(exec, "py_thread_pool") == 0;
    if (blocked)
        return ((double)((tasks + workers - 1) / workers) * p->task_ms + p->block_ms) / 1e3;
    return (p->task_ms + (thread ? 1 : 2) * p->callback_ms) / 1e3;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    pc_ctx_t *c = cfg->ctx;
    int blocked = strcmp(pt->workload, "blocked_callback") == 0;
    long workers = workers_of(x, pt->wi);
    long tasks = blocked ? (x->opts.tasks ? x->opts.tasks : 3 * workers) : 2;
    int py = strncmp(pt->executor, "py_", 3) == 0;
    if (py && cb_exp_no_python(x))
        return CB_BUILD_SKIP;
    const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, (int)workers);
    if (!plan)
        return CB_EXIT_USAGE;
    if (py) {
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, workers, tasks, pt->pin->name},
            .metrics = py_metrics,
            .nmetrics = sizeof(py_metrics) / sizeof(py_metrics[0]),
            .python = 1,
            .python_plan = plan,
        };
        cfg->expected_s = expected_s(p, pt->executor, blocked, workers, tasks) + 0.2;
        return CB_BUILD_ADD;
    }
    c->cfg = (cb_callbacks_cfg_t){
        .executor = cb_executor_find(pt->executor),
        .topo = x->topo,
        .plan = plan->policy == CB_PIN_NONE ? NULL : plan,
        .workers = (int)workers,
        .tasks = (size_t)tasks,
        .task_ns = (uint64_t)(p->task_ms * 1e6),
        .callback_ns = blocked ? 0 : (uint64_t)(p->callback_ms * 1e6),
        .blocked = blocked ? 0 : -1,
        .blocked_ns = (uint64_t)(p->block_ms * 1e6),
    };
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, workers, tasks, pt->pin->name},
        .metrics = metrics,
        .nmetrics = 4,
        .measure = measure,
        .ctx = c,
    };
    cfg->expected_s = expected_s(p, pt->executor, blocked, workers, tasks) + 0.05;
    return CB_BUILD_ADD;
}

static double median_of(const cb_results_t *r, const char *exec, const char *wl, const char *metric)
{
    return cb_results_median(r, &(cb_select_t){exec, wl, NULL, metric, 0, 0});
}

/* The tutorial, C and CPython side by side, one line per claim. */
static void verdict_py(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    static const char *const pe[] = {"py_thread_pool", "py_process_pool", "py_mp_pool"};
    static const char *const pn[] = {"ThreadPoolExecutor", "ProcessPoolExecutor", "mp.Pool"};
    double unit = (p->task_ms + p->callback_ms) / 1e3;
    double ct = median_of(r, "thread_pool", "callbacks", "wall_s"),
           cp = median_of(r, "process_pool", "callbacks", "wall_s");
    double w[3], any = 0;
    for (int i = 0; i < 3; i++)
        any += !isnan(w[i] = median_of(r, pe[i], "callbacks", "wall_s"));
    if (any == 0 && isnan(median_of(r, NULL, "blocked_callback", "cb_in_parent")))
        return;
    fprintf(out, "\nE8, the tutorial (004) beside C and CPython:\n");
    if (any > 0) {
        fprintf(out,
                "  2 tasks + 2 slow callbacks, in task + callback times: tutorial process pool "
                "1.50 (30 s of 10 s each; a thread pool's 1.00 is the expectation) | C "
                "thread_pool %.2f, process_pool %.2f | CPython %s %.2f, %s %.2f, %s %.2f\n",
                ct / unit, cp / unit, pn[0], w[0] / unit, pn[1], w[1] / unit, pn[2], w[2] / unit);
        fprintf(
            out,
            "  process pool over thread pool: tutorial 30 s, no thread pool figure (20 s = 1.50x "
            "expected) | C %.2fx | "
            "CPython %s %.2fx, %s %.2fx over %s\n",
            cp / ct, pn[1], w[1] / w[0], pn[2], w[2] / w[0], pn[0]);
        if (cb_exp_tutorial(x)) {
            char f[4][24];
            const double v[4] = {cp, w[0], w[1], w[2]};
            for (int i = 0; i < 4; i++)
                snprintf(f[i], sizeof(f[i]), isnan(v[i]) ? "-" : "%.2f s", v[i]);
            fprintf(out,
                    "  at the tutorial's sizes: tutorial ProcessPoolExecutor(5) 30.27 s | C "
                    "process_pool %s | CPython ThreadPoolExecutor %s, ProcessPoolExecutor %s, "
                    "mp.Pool %s\n",
                    f[0], f[1], f[2], f[3]);
        }
        for (int i = 0; i < 3; i++) {
            char name[80];
            snprintf(name, sizeof(name), "e8/CPython/%s/callbacks_wall_s", pe[i]);
            if (!isnan(w[i]))
                cb_exp_fact(x, name, w[i], "s", NAN,
                            "CPython %s: 2 tasks of %.0f ms with %.0f ms callbacks took %.3f s "
                            "(%.2f task + callback times)",
                            pn[i], p->task_ms, p->callback_ms, w[i], w[i] / unit);
        }
        if (!isnan(w[0]) && !isnan(w[1]))
            cb_exp_fact(
                x, "e8/CPython/process_pool_over_thread_pool", w[1] / w[0], "x", 30.0 / 20.0,
                "CPython: ProcessPoolExecutor took %.2fx ThreadPoolExecutor's time for 2 "
                "tasks with slow callbacks (expected 1.50x: the tutorial's 30 s over one task + "
                "one callback, 20 s)",
                w[1] / w[0]);
    }
    /* Where: the counts of each pool's callbacks, from the callbacks
     * workload (blocked_callback when only it ran). */
    char where[3][160];
    for (int i = 0; i < 3; i++) {
        const char *wl = isnan(median_of(r, pe[i], "callbacks", "cb_in_parent"))
                             ? "blocked_callback"
                             : "callbacks";
        double n = median_of(r, pe[i], wl, "cb_in_parent");
        double task = median_of(r, pe[i], wl, "cb_in_task_thread"),
               mainth = median_of(r, pe[i], wl, "cb_in_main_thread"),
               pool = median_of(r, pe[i], wl, "cb_in_pool_thread"),
               thr = median_of(r, pe[i], wl, "cb_threads");
        double all = 0;
        for (size_t k = 0; k < cb_results_count(r); k++) {
            const cb_sample_t *s = cb_results_get(r, k);
            if (s->status == CB_OK && strcmp(s->key.executor, pe[i]) == 0 &&
                strcmp(s->key.workload, wl) == 0) {
                all = (double)s->key.tasks;
                break;
            }
        }
        if (isnan(n)) {
            snprintf(where[i], sizeof(where[i]), "%s not run", pn[i]);
            continue;
        }
        snprintf(where[i], sizeof(where[i]),
                 "%s %.0f/%.0f in the parent pid (%.0f in its task's thread, %.0f in the main "
                 "thread, %.0f in a parent thread that ran no task; %.0f thread%s)",
                 pn[i], n, all, task, mainth, pool, thr, thr == 1 ? "" : "s");
        char name[80];
        snprintf(name, sizeof(name), "e8/CPython/%s/callbacks_in_task_thread", pe[i]);
        cb_exp_fact(x, name, task, "count", NAN,
                    "CPython %s: %.0f of %.0f callbacks ran in the "
                    "thread that ran their task",
                    pn[i], task, all);
        snprintf(name, sizeof(name), "e8/CPython/%s/callbacks_in_pool_thread", pe[i]);
        cb_exp_fact(x, name, pool, "count", NAN,
                    "CPython %s: %.0f of %.0f callbacks ran in a thread of the parent that ran "
                    "no task and is not its main thread",
                    pn[i], pool, all);
    }
    fprintf(out,
            "  where the callbacks ran: tutorial thread pool with its task, process pool in the "
            "parent | C thread_pool in the task's thread, process_pool and uv_pool in the "
            "calling thread (checked on every ok row) | CPython %s; %s; %s\n",
            where[0], where[1], where[2]);
    double bt = median_of(r, "thread_pool", "blocked_callback", "result_wait_s"),
           bp = median_of(r, "process_pool", "blocked_callback", "result_wait_s");
    double bw[3], bwall[3];
    any = 0;
    for (int i = 0; i < 3; i++) {
        any += !isnan(bw[i] = median_of(r, pe[i], "blocked_callback", "result_wait_s"));
        bwall[i] = median_of(r, pe[i], "blocked_callback", "wall_s");
    }
    if (any == 0)
        return;
    fprintf(out,
            "  one callback blocked %.0f ms, delay of the later results: tutorial \"the whole "
            "pool blocks\" (process pool; no figure) | C process_pool %.3f s, thread_pool %.3f s "
            "| CPython %s %.3f s, %s %.3f s, %s %.3f s (whole runs %.3f, %.3f, %.3f s)\n",
            p->block_ms, bp, bt, pn[2], bw[2], pn[1], bw[1], pn[0], bw[0], bwall[2], bwall[1],
            bwall[0]);
    for (int i = 0; i < 3; i++) {
        char name[80];
        snprintf(name, sizeof(name), "e8/CPython/%s/blocked_result_delay_s", pe[i]);
        if (!isnan(bw[i]))
            cb_exp_fact(x, name, bw[i], "s", NAN,
                        "CPython %s: with one callback blocked %.0f ms, a later result waited "
                        "up to %.3f s for its callback",
                        pn[i], p->block_ms, bw[i]);
    }
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    const pc_run_t *v = &(pc_run_t){.workers = workers_of(x, 0), .tasks_cb = 2};
    long tb = x->opts.tasks ? x->opts.tasks : 3 * v->workers;
    double tw = median_of(r, "thread_pool", "callbacks", "wall_s");
    double pw = median_of(r, "process_pool", "callbacks", "wall_s");
    double tc = median_of(r, "thread_pool", "callbacks", "callbacks_s");
    double pc = median_of(r, "process_pool", "callbacks", "callbacks_s");
    double uw = median_of(r, "uv_pool", "callbacks", "wall_s");
    if (!isnan(tw) || !isnan(pw) || !isnan(uw))
        fprintf(out, "\nE8: %ld tasks of %.0f ms, each with a %.0f ms callback, %ld workers:\n",
                v->tasks_cb, p->task_ms, p->callback_ms, v->workers);
    if (!isnan(tw))
        fprintf(out,
                "  thread_pool  %.3f s: callbacks run in the workers, side by side (%.2f "
                "task + callback times)\n",
                tw, tw * 1e3 / (p->task_ms + p->callback_ms));
    if (!isnan(pw))
        fprintf(out,
                "  process_pool %.3f s: callbacks run in the parent, one at a time (%.2f "
                "task + callback times)\n",
                pw, pw * 1e3 / (p->task_ms + p->callback_ms));
    if (!isnan(uw))
        fprintf(out,
                "  uv_pool      %.3f s: libuv's after_work_cb on the loop thread, one at a time "
                "(%.2f task + callback times)\n",
                uw, uw * 1e3 / (p->task_ms + p->callback_ms));
    if (!isnan(tw) && !isnan(pw)) {
        cb_exp_fact(x, "callbacks/process_pool_over_thread_pool", pw / tw, "x", 30.0 / 20.0,
                    "the process pool took %.2fx the thread pool's time for 2 tasks with slow "
                    "callbacks (expected 1.50x: the tutorial's 30 s over one task + one "
                    "callback, 20 s)",
                    pw / tw);
        cb_exp_fact(x, "callbacks/first_task_to_last_callback_ratio", pc / tc, "x", NAN,
                    "from the first finished task to the last callback: process pool %.3f s vs "
                    "thread pool %.3f s = %.2fx",
                    pc, tc, pc / tc);
    }
    if (!isnan(tw) && !isnan(pw))
        fprintf(out,
                "  the process pool took %.2fx the thread pool's time (expected 1.50x: the "
                "tutorial's process pool took 30 s, one task + one callback is 20 s);\n  from the "
                "first finished task to the last callback: "
                "%.3f s vs %.3f s = %.2fx (%s 1.8x)\n",
                pw / tw, pc, tc, pc / tc, pc / tc >= 1.8 ? "at least" : "below");
    tw = median_of(r, "thread_pool", "blocked_callback", "result_wait_s");
    pw = median_of(r, "process_pool", "blocked_callback", "result_wait_s");
    uw = median_of(r, "uv_pool", "blocked_callback", "result_wait_s");
    if (!isnan(tw) || !isnan(pw) || !isnan(uw))
        fprintf(out,
                "\nblocked_callback: %ld tasks of %.0f ms on %ld workers, one callback "
                "blocks %.0f ms; the longest any other finished task waited for its "
                "callback:\n",
                tb, p->task_ms, v->workers, p->block_ms);
    if (!isnan(tw) && !isnan(pw))
        cb_exp_fact(x, "blocked_callback/process_pool_over_thread_pool_wait", pw / tw, "x", NAN,
                    "with one callback blocked, the longest wait of another result: process "
                    "pool %.3f s vs thread pool %.3f s",
                    pw, tw);
    if (!isnan(tw))
        fprintf(out, "  thread_pool  %.3f s (only the blocked worker is held)\n", tw);
    if (!isnan(pw))
        fprintf(out,
                "  process_pool %.3f s (every result waits behind the blocked callback in "
                "the parent)\n",
                pw);
    if (!isnan(uw))
        fprintf(out,
                "  uv_pool      %.3f s (every result waits behind the blocked callback on "
                "the loop thread)\n",
                uw);
    verdict_py(x, r, out);
}

/* In the first 2 repetitions: one CPython run is about 5.5 s here (its
 * three pools, 200 ms tasks and callbacks, the 1000 ms blocked callback),
 * against 6 s for a repetition of the C rows. */
static const cb_python_def_t python = {.script = "scripts/python_pool_callbacks.py", .reps = 2};

/* 004's experiment: ProcessPoolExecutor(max_workers=5), 2 tasks of
 * time.sleep(10), each with an add_done_callback that sleeps 10 s: 30.27 s.
 * About 3 minutes: one repetition, no warm-up. */
static const char *const tutorial[] = {
    "--workloads",   "callbacks", "--workers", "5", "--task-ms", "10000",
    "--callback-ms", "10000",     "--reps",    "1", "--warmup",  "0",
    "--timeout",     "120",       NULL};

static const cb_experiment_def_t pool_callbacks = {
    .name = "pool_callbacks",
    .summary = "Where thread and process pools run completion callbacks, and what a slow one "
               "costs (E8). --tasks: blocked_callback's tasks (default 3 x workers; callbacks "
               "always runs the tutorials' 2).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(pc_ctx_t),
    .executors = {.names_fn = executor_names},
    .workloads = {.names = workloads, .n = sizeof(workloads) / sizeof(workloads[0])},
    .build = build,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_how = "a task and one or both callbacks per pool, their waits",
};
CB_EXPERIMENT_MAIN(pool_callbacks)
