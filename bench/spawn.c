/* spawn: experiment E3. What it costs to start and finish one unit of work
 * on each model: a thread, a process (fork, with a small parent and with a
 * parent that touched 256 MiB; vfork; posix_spawn of a tiny program), a
 * coroutine, and a task submitted to a pool, timed bare (executor `raw`) and
 * through the harness's executors. Metric us_per_spawn; for the pools also
 * tasks_per_s over a stream of empty tasks.
 *
 * Rows come from the executor registry: an executor that starts a unit per
 * task is measured on its unit (thread: pthread), a pool on `submit` and
 * `stream`. */

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
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_BOOL(params_t, pinned_only, "pinned-only",
                 "leave out the unpinned rows (their wake-ups land on idle or busy CPUs by "
                 "chance; the CI gate uses this)"),
    CB_FLAG_DOUBLE(params_t, min_ms, "min-ms", "MS", 1, 600000, 250, 50,
                   "keep spawning for at least this long per measurement (default 250)"),
    CB_FLAG_LONG(params_t, stream, "stream", "N", 1, 100000000, 1000000, 100000,
                 "stream: empty tasks per measurement (default 1000000)"),
};

static const cb_metric_def_t spawn_metrics[] = {{"us_per_spawn", "us"}, {"spawns", "count"}};
static const cb_metric_def_t stream_metrics[] = {{"tasks_per_s", "1/s"}, {"tasks", "count"}};

/* raw, then every executor that starts something. */
static int starts_something(const cb_executor_t *e)
{
    return e->unit != NULL;
}

static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n) {
        tab[0] = (cb_name_t){"raw", "the bare system call", NULL, 0};
        n = 1 + cb_executor_name_table(tab + 1, 63, starts_something);
    }
    *out = tab;
    return n;
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

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    const cb_spawn_mech_t *m = cb_spawn_mech_find(pt->workload);
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

static const cb_experiment_def_t spawn = {
    .name = "spawn",
    .summary = "Cost of starting and finishing one unit of work: thread, process (fork, "
               "vfork, posix_spawn), coroutine, pool submit.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_spawn_cfg_t),
    .executors = {.names_fn = executor_names},
    .workloads = {.names_fn = cb_spawn_mech_names},
    .prepare = prepare,
    .worker_counts = cb_exp_workers_one,
    .pins = pins,
    .build = build,
    .per_rep = per_rep,
    .finish = finish,
};
CB_EXPERIMENT_MAIN(spawn)
