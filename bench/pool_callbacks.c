/* pool_callbacks: experiment E8 of the tutorials. Where a pool runs its
 * completion callbacks, and what a slow one costs.
 *
 * callbacks: 2 tasks and 2 slow callbacks (the tutorials' 10 s scaled down
 * to 200 ms each). A thread pool runs each callback in the worker that ran
 * the task, so the two callbacks overlap: about one task + one callback. A
 * process pool runs callbacks in the parent, one at a time: about one task
 * + both callbacks (the tutorials' 30 s against 20 s).
 * blocked_callback: more tasks than workers, and one callback blocks for a
 * long time. On the process pool every other result waits behind it (the
 * tutorials' "the whole pool blocks"); on the thread pool only its worker
 * is held. Executors from the registry with callbacks: also uv_pool, whose
 * after_work_cb runs on the loop (calling) thread, as the process pool's
 * callbacks run in the parent. */

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

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    pc_ctx_t *c = cfg->ctx;
    int blocked = strcmp(pt->workload, "blocked_callback") == 0;
    long workers = workers_of(x, pt->wi);
    long tasks = blocked ? (x->opts.tasks ? x->opts.tasks : 3 * workers) : 2;
    const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, (int)workers);
    if (!plan)
        return CB_EXIT_USAGE;
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
    return CB_BUILD_ADD;
}

static double median_of(const cb_results_t *r, const char *exec, const char *wl, const char *metric)
{
    return cb_results_median(r, &(cb_select_t){exec, wl, NULL, metric, 0, 0});
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
                    "callbacks (tutorials: 30 s vs 20 s = 1.50x)",
                    pw / tw);
        cb_exp_fact(x, "callbacks/first_task_to_last_callback_ratio", pc / tc, "x", NAN,
                    "from the first finished task to the last callback: process pool %.3f s vs "
                    "thread pool %.3f s = %.2fx",
                    pc, tc, pc / tc);
    }
    if (!isnan(tw) && !isnan(pw))
        fprintf(out,
                "  the process pool took %.2fx the thread pool's time (tutorials: 30 s vs "
                "20 s = 1.50x);\n  from the first finished task to the last callback: "
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
}

static const cb_experiment_def_t pool_callbacks = {
    .name = "pool_callbacks",
    .summary = "Where thread and process pools run completion callbacks, and what a slow one "
               "costs (E8). --tasks: blocked_callback's tasks (default 3 x workers; callbacks "
               "always runs the tutorials' 2).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(pc_ctx_t),
    .executors = {.names_fn = cb_callbacks_pool_names},
    .workloads = {.names = workloads, .n = sizeof(workloads) / sizeof(workloads[0])},
    .build = build,
    .verdict = verdict,
};
CB_EXPERIMENT_MAIN(pool_callbacks)
