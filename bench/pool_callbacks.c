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
 * is held. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/runner.h"
#include "lib/exp/sync_exp.h"

static const char *const executor_names[] = {"thread_pool", "process_pool", NULL};
static const char *const workload_names[] = {"callbacks", "blocked_callback", NULL};

static const cb_metric_def_t metrics[] = {
    {"wall_s", "s"},
    {"callbacks_s", "s"},
    {"result_wait_s", "s"},
    {"callback_peak", "count"},
};

typedef struct params {
    double task_ms, callback_ms, block_ms;
} params_t;

typedef struct pc_ctx {
    cb_sync_callbacks_cfg_t cfg;
    cb_pin_plan_t plan;
} pc_ctx_t;

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const pc_ctx_t *x = c->ctx;
    cb_sync_callbacks_result_t r;
    int rc = cb_sync_callbacks_run(&x->cfg, &r);
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
                 x->cfg.tasks, thread_pool ? "task's thread" : "parent");
    }
    return 0;
}

static int set_task(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("task-ms", a, 0.001, 3600000, &((params_t *)ctx)->task_ms, err, len);
}
static int set_callback(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("callback-ms", a, 0.001, 3600000, &((params_t *)ctx)->callback_ms, err,
                           len);
}
static int set_block(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("block-ms", a, 0.001, 3600000, &((params_t *)ctx)->block_ms, err, len);
}

/* ---- verdict ---- */

static double median_of(const cb_results_t *r, const char *exec, const char *wl, const char *metric)
{
    size_t n = 0, cap = cb_results_count(r);
    double *v = malloc((cap + 1) * sizeof(*v));
    if (!v)
        return NAN;
    for (size_t i = 0; i < cap; i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status == CB_OK && strcmp(s->metric, metric) == 0 &&
            strcmp(s->key.executor, exec) == 0 && strcmp(s->key.workload, wl) == 0)
            v[n++] = s->value;
    }
    double med = n ? cb_stats_median(v, n) : NAN;
    free(v);
    return med;
}

typedef struct vctx {
    const params_t *p;
    long workers, tasks_cb, tasks_blocked;
} vctx_t;

static void verdict(const cb_results_t *r, FILE *out, void *ctx)
{
    const vctx_t *v = ctx;
    double tw = median_of(r, "thread_pool", "callbacks", "wall_s");
    double pw = median_of(r, "process_pool", "callbacks", "wall_s");
    double tc = median_of(r, "thread_pool", "callbacks", "callbacks_s");
    double pc = median_of(r, "process_pool", "callbacks", "callbacks_s");
    if (!isnan(tw) || !isnan(pw))
        fprintf(out, "\nE8: %ld tasks of %.0f ms, each with a %.0f ms callback, %ld workers:\n",
                v->tasks_cb, v->p->task_ms, v->p->callback_ms, v->workers);
    if (!isnan(tw))
        fprintf(out,
                "  thread_pool  %.3f s: callbacks run in the workers, side by side (%.2f "
                "task + callback times)\n",
                tw, tw * 1e3 / (v->p->task_ms + v->p->callback_ms));
    if (!isnan(pw))
        fprintf(out,
                "  process_pool %.3f s: callbacks run in the parent, one at a time (%.2f "
                "task + callback times)\n",
                pw, pw * 1e3 / (v->p->task_ms + v->p->callback_ms));
    if (!isnan(tw) && !isnan(pw))
        fprintf(out,
                "  the process pool took %.2fx the thread pool's time (tutorials: 30 s vs "
                "20 s = 1.50x);\n  from the first finished task to the last callback: "
                "%.3f s vs %.3f s = %.2fx (%s 1.8x)\n",
                pw / tw, pc, tc, pc / tc, pc / tc >= 1.8 ? "at least" : "below");
    tw = median_of(r, "thread_pool", "blocked_callback", "result_wait_s");
    pw = median_of(r, "process_pool", "blocked_callback", "result_wait_s");
    if (!isnan(tw) || !isnan(pw))
        fprintf(out,
                "\nblocked_callback: %ld tasks of %.0f ms on %ld workers, one callback "
                "blocks %.0f ms; the longest any other finished task waited for its "
                "callback:\n",
                v->tasks_blocked, v->p->task_ms, v->workers, v->p->block_ms);
    if (!isnan(tw))
        fprintf(out, "  thread_pool  %.3f s (only the blocked worker is held)\n", tw);
    if (!isnan(pw))
        fprintf(out,
                "  process_pool %.3f s (every result waits behind the blocked callback in "
                "the parent)\n",
                pw);
}

int main(int argc, char **argv)
{
    params_t p = {0};
    const cb_cli_extra_t extra[] = {
        {"task-ms", 1, "MS", "how long each task waits (default 200)", set_task, &p},
        {"callback-ms", 1, "MS", "how long each callback waits (default 200)", set_callback, &p},
        {"block-ms", 1, "MS",
         "blocked_callback: how long the one slow callback waits (default "
         "1000)",
         set_block, &p},
    };
    cb_cli_spec_t spec = {
        .prog = "pool_callbacks",
        .summary = "Where thread and process pools run completion callbacks, and what a slow "
                   "one costs (E8). --tasks: blocked_callback's tasks (default 3 x workers; "
                   "callbacks always runs the tutorials' 2).",
        .extra = extra,
        .nextra = sizeof(extra) / sizeof(extra[0]),
        .executor_names = executor_names,
        .workload_names = workload_names,
    };
    cb_opts_t o;
    cb_topo_t *t = NULL;
    int rc = cb_runner_start(&spec, argc, argv, &o, &t);
    if (rc >= 0)
        return rc;
    if (o.list) {
        printf("executors:\n");
        for (const char *const *e = executor_names; *e; e++) {
            const cb_executor_t *ex = cb_executor_find(*e);
            const char *why = ex && ex->unavailable ? ex->unavailable() : NULL;
            printf("  %-14s %s%s\n", *e, why ? "unavailable: " : "",
                   why ? why : (ex ? ex->summary : "not built"));
        }
        printf("\nworkloads:\n  %-18s 2 tasks, each with a slow callback\n  %-18s one callback "
               "blocks; how long the other results wait\n",
               "callbacks", "blocked_callback");
        return 0;
    }
    if (p.task_ms == 0)
        p.task_ms = o.quick ? 100 : 200;
    if (p.callback_ms == 0)
        p.callback_ms = o.quick ? 100 : 200;
    if (p.block_ms == 0)
        p.block_ms = o.quick ? 400 : 1000;

    size_t nwc = 0;
    long *wc = cb_cli_worker_counts(&o, t, &nwc);
    if (!wc)
        return CB_EXIT_FAILED;
    size_t ne, nwl;
    const char *const *execs = cb_cli_names(o.executors, executor_names, &ne);
    const char *const *wls = cb_cli_names(o.workloads, workload_names, &nwl);
    cb_config_t *cfgs = calloc(ne * nwl * nwc + 1, sizeof(*cfgs));
    pc_ctx_t *ctx = calloc(ne * nwl * nwc + 1, sizeof(*ctx));
    if (!cfgs || !ctx)
        return CB_EXIT_FAILED;
    size_t n = 0;
    long tasks_blocked = 0;
    for (size_t wi = 0; wi < nwl; wi++) {
        int blocked = strcmp(wls[wi], "blocked_callback") == 0;
        for (size_t k = 0; k < nwc; k++) {
            /* The tutorials' pool has more workers than the 2 tasks: each
             * task gets a worker at once. */
            long workers = wc[k] < 2 ? 2 : wc[k];
            long tasks = blocked ? (o.tasks ? o.tasks : 3 * workers) : 2;
            if (blocked)
                tasks_blocked = tasks;
            for (size_t ei = 0; ei < ne; ei++) {
                pc_ctx_t *x = &ctx[n];
                if (cb_runner_plan(&o, t, (int)workers, &x->plan) != 0)
                    return CB_EXIT_USAGE;
                x->cfg = (cb_sync_callbacks_cfg_t){
                    .executor = cb_executor_find(execs[ei]),
                    .topo = t,
                    .plan = x->plan.policy == CB_PIN_NONE ? NULL : &x->plan,
                    .workers = (int)workers,
                    .tasks = (size_t)tasks,
                    .task_ns = (uint64_t)(p.task_ms * 1e6),
                    .callback_ns = blocked ? 0 : (uint64_t)(p.callback_ms * 1e6),
                    .blocked = blocked ? 0 : -1,
                    .blocked_ns = (uint64_t)(p.block_ms * 1e6),
                };
                cfgs[n] = (cb_config_t){
                    .key = {NULL, execs[ei], wls[wi], workers, tasks, cb_runner_pin_name(&o)},
                    .metrics = metrics,
                    .nmetrics = 4,
                    .measure = measure,
                    .ctx = x,
                };
                n++;
            }
        }
    }
    vctx_t v = {
        .p = &p, .workers = wc[0] < 2 ? 2 : wc[0], .tasks_cb = 2, .tasks_blocked = tasks_blocked};
    char task[32], cbms[32], block[32];
    snprintf(task, sizeof(task), "%g", p.task_ms);
    snprintf(cbms, sizeof(cbms), "%g", p.callback_ms);
    snprintf(block, sizeof(block), "%g", p.block_ms);
    const char *meta[] = {"task_ms", task, "callback_ms", cbms, "block_ms", block, NULL};
    cb_experiment_t e = {
        .name = "pool_callbacks",
        .configs = cfgs,
        .nconfigs = n,
        .reps = 5,
        .warmup = 1,
        .timeout_s = 60,
        .verdict = verdict,
        .verdict_ctx = &v,
        .meta = meta,
    };
    rc = cb_runner_run(&e, &o, t, argc, argv);
    for (size_t i = 0; i < n; i++)
        cb_pin_plan_free(&ctx[i].plan);
    free(cfgs);
    free(ctx);
    free(wc);
    cb_topo_free(t);
    cb_cli_free(&o);
    return rc;
}
