/* collect: "calling result() right after submit makes a pool serial"
 * (tutorials 000 and 004, three times: 程序由并发变成了串行). 20 tasks, each
 * sleeping as 004's func does (time.sleep(2); 20 ms here), on a pool of 5
 * workers (004's ThreadPoolExecutor(max_workers=5)):
 *
 *   submit_all   submit every task, then collect every result (004's shape);
 *   submit_wait  submit one task and wait for its result before the next
 *                (000's `print(res.result())` right after the submit).
 *
 * On our thread_pool and process_pool (one run of one task per submit,
 * through the executor's run()), and on CPython's ThreadPoolExecutor and
 * ProcessPoolExecutor (py_*, through the shared CPython driver), each pool
 * started before the clock. With W workers and T tasks of d seconds, the
 * first takes ceil(T/W) d, the second T d: W times longer (5 for the
 * tutorial's sizes: 8 s against 40 s). Metric wall_s. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/counters.h"
#include "lib/core/experiment.h"
#include "lib/core/clock.h"
#include "lib/exec/executor.h"
#include "lib/wl/workload.h"

typedef struct params {
    long ntasks, pool;
    double sleep_ms;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_LONG(params_t, ntasks, "ntasks", "N", 1, 10000, 20, 20,
                 "tasks per configuration (default 20, the tutorials')"),
    CB_FLAG_LONG(params_t, pool, "pool", "W", 1, 256, 5, 5,
                 "workers in each pool (default 5: tutorial 004's max_workers=5)"),
    CB_FLAG_DOUBLE(params_t, sleep_ms, "sleep-ms", "MS", 0.01, 60000, 20, 5,
                   "each task's sleep (default 20; --quick 5; the tutorial's 2000)"),
};

static const cb_name_t execs[] = {
    {"thread_pool", "our pool of W pinned threads", NULL, 0},
    {"process_pool", "our pool of W pinned processes", NULL, 0},
    {"py_thread_pool", "CPython: concurrent.futures.ThreadPoolExecutor(W)", NULL, 0},
    {"py_process_pool", "CPython: concurrent.futures.ProcessPoolExecutor(W) (fork)", NULL, 0},
};

static const cb_name_t wls[] = {
    {"submit_all", "submit every task, then collect every result", NULL, 0},
    {"submit_wait", "submit a task and wait for its result before submitting the next", NULL, 0},
};

static const cb_metric_def_t metrics[] = {{"wall_s", "s"}};

typedef struct ctx {
    const cb_executor_t *e;
    const cb_topo_t *topo;
    const cb_pin_plan_t *plan;
    int workers, wait_each;
    size_t tasks;
    uint64_t sleep_ns;
} ctx_t;

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const ctx_t *x = c->ctx;
    const cb_workload_t *wl = cb_workload_find("io");
    const cb_wl_params_t wp = {.tasks = x->tasks, .io_ns = x->sleep_ns};
    void *arg = NULL;
    int rc = wl->setup(&wp, &arg);
    if (rc < 0)
        return rc;
    cb_exec_cfg_t cfg = {.topo = x->topo,
                         .plan = x->plan,
                         .workers = x->workers,
                         .tasks = x->tasks,
                         .fn = wl->task,
                         .arg = arg};
    cb_task_result_t *res = calloc(x->tasks, sizeof(*res));
    void *state = NULL;
    if (!res || (x->e->open && (rc = x->e->open(&cfg, &state)) < 0)) {
        free(res);
        wl->teardown(arg);
        snprintf(m->detail, sizeof(m->detail), "%s: open failed", x->e->name);
        return res ? rc : -12;
    }
    cb_counters_start();
    uint64_t t0 = cb_now_ns();
    if (!x->wait_each) {
        rc = x->e->run(state, &cfg, res);
    } else {
        /* One task per run: a submit, then its result, then the next. The
         * sleep does not depend on the task's index (each run's is 0). */
        cb_exec_cfg_t one = cfg;
        one.tasks = 1;
        for (size_t i = 0; i < x->tasks && rc >= 0; i++)
            rc = x->e->run(state, &one, &res[i]);
    }
    uint64_t t1 = cb_now_ns();
    cb_counters_stop();
    if (x->e->close)
        x->e->close(state);
    for (size_t i = 0; rc >= 0 && i < x->tasks; i++)
        if (res[i].status != CB_OK || wl->check(arg, x->wait_each ? 0 : i, res[i].value) != 0) {
            snprintf(m->detail, sizeof(m->detail), "task %zu: wrong result or status", i);
            m->status = CB_ERROR;
            break;
        }
    free(res);
    wl->teardown(arg);
    if (rc < 0)
        return rc;
    m->values[0] = (double)(t1 - t0) / 1e9;
    return 0;
}

static double expected_s(const params_t *p, const char *workload)
{
    long rounds =
        strcmp(workload, "submit_wait") == 0 ? p->ntasks : (p->ntasks + p->pool - 1) / p->pool;
    return (double)rounds * p->sleep_ms / 1e3;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, (int)p->pool);
    if (!plan)
        return CB_EXIT_USAGE;
    if (strncmp(pt->executor, "py_", 3) == 0) {
        if (cb_exp_no_python(x))
            return CB_BUILD_SKIP;
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, p->pool, p->ntasks, pt->pin->name},
            .metrics = metrics,
            .nmetrics = 1,
            .python = 1,
            .python_plan = plan,
        };
        cfg->expected_s = expected_s(p, pt->workload) + 0.1; /* and the pool's start */
        return CB_BUILD_ADD;
    }
    ctx_t *c = cfg->ctx;
    *c = (ctx_t){
        .e = cb_executor_find(pt->executor),
        .topo = x->topo,
        .plan = plan,
        .workers = (int)p->pool,
        .wait_each = strcmp(pt->workload, "submit_wait") == 0,
        .tasks = (size_t)p->ntasks,
        .sleep_ns = (uint64_t)(p->sleep_ms * 1e6),
    };
    if (!c->e)
        return CB_BUILD_SKIP;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, p->pool, p->ntasks, pt->pin->name},
        .metrics = metrics,
        .nmetrics = 1,
        .measure = measure,
        .ctx = c,
    };
    cfg->expected_s = expected_s(p, pt->workload) + 0.01;
    return CB_BUILD_ADD;
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    long rounds = (p->ntasks + p->pool - 1) / p->pool;
    double ideal = (double)p->ntasks / (double)rounds;
    fprintf(out, "\nresult() right after submit (tutorials 000 and 004: \"the program went from "
                 "concurrent to serial\"; 004: 20 tasks of 2 s on 5 threads, 8 s collected after "
                 "submitting all, 40 s waited one by one, 5x):\n");
    for (size_t i = 0; i < sizeof(execs) / sizeof(execs[0]); i++) {
        const char *e = execs[i].name;
        double a = cb_results_median(r, &(cb_select_t){e, "submit_all", NULL, "wall_s", 0, 0});
        double w = cb_results_median(r, &(cb_select_t){e, "submit_wait", NULL, "wall_s", 0, 0});
        if (isnan(a) || isnan(w))
            continue;
        fprintf(out,
                "  %-16s submit all then collect %.3f s, submit and wait each %.3f s: %.2fx "
                "(expected %ld tasks / %ld rounds = %.2fx; tutorial 5x)\n",
                e, a, w, w / a, p->ntasks, rounds, ideal);
        char name[96];
        snprintf(name, sizeof(name), "e_result/%s/wait_over_all", e);
        cb_exp_fact(x, name, w / a, "x", 5.0,
                    "%s: submitting and waiting for each of %ld tasks took %.2fx as long as "
                    "submitting all, then collecting (%ld workers)",
                    e, p->ntasks, w / a, p->pool);
    }
}

static size_t exec_names(const cb_name_t **out)
{
    *out = execs;
    return sizeof(execs) / sizeof(execs[0]);
}

static const cb_python_def_t python = {.script = "scripts/python_collect.py"};

/* Tutorial 004's sizes: 20 tasks of time.sleep(2) on 5 workers, once. */
static const char *const tutorial[] = {"--ntasks", "20", "--pool",   "5", "--sleep-ms", "2000",
                                       "--reps",   "1",  "--warmup", "0", NULL};

static const cb_experiment_def_t collect = {
    .name = "collect",
    .summary = "result() right after submit makes a pool serial: submit all then collect, "
               "against submit and wait one by one, on thread and process pools, C and CPython.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(ctx_t),
    .executors = {.names_fn = exec_names},
    .workloads = {.names = wls, .n = 2},
    .worker_counts = cb_exp_workers_one,
    .build = build,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_how = "ceil(tasks / workers) sleeps submitted all at once, tasks sleeps one by one",
};
CB_EXPERIMENT_MAIN(collect)
