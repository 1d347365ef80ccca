/* switch: experiment E9. What one switch between two units of work costs:
 * pipe and futex ping-pong between two threads and between two processes,
 * on the same PU (every hand-over is a context switch on that PU) and across
 * PUs (a cross-CPU wake-up), and a coroutine switch with our assembly switch,
 * with glibc's swapcontext and with Boost.Context's fcontext. Metrics: us_per_roundtrip (A -> B ->
 * A) and ns_per_switch (half a round trip: one hand-over), the unit perf bench sched pipe's
 * usecs/op corresponds to being the round trip.
 *
 * The executors are the registry's that start one unit per task (thread,
 * process, coroutine); the mechanisms are lib/exp/switch_mech's table. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/exec/executor.h"
#include "lib/exp/switch_mech.h"

typedef struct params {
    double min_ms;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_DOUBLE(params_t, min_ms, "min-ms", "MS", 1, 600000, 250, 50,
                   "keep switching for at least this long per measurement (default 250)"),
};

static const cb_metric_def_t metrics[] = {
    {"ns_per_switch", "ns"}, {"us_per_roundtrip", "us"}, {"roundtrips", "count"}};

/* The executors whose every task is a unit of its own. */
static int one_unit_per_task(const cb_executor_t *e)
{
    return e->unit && !e->pool;
}

static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n) {
        n = cb_executor_name_table(tab + 0, 64, one_unit_per_task);
    }
    *out = tab;
    return n;
}

/* Variant 0: the partner on the same PU; 1: on another PU. */
static size_t variants(cb_exp_t *x)
{
    (void)x;
    return 2;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    const cb_executor_t *e = cb_executor_find(pt->executor);
    const cb_switch_mech_t *m = cb_switch_mech_find(pt->workload);
    int coro = m->pingpong == NULL, cross = pt->variant == 1;
    int pinned = pt->pin->policy != CB_PIN_NONE;
    /* Coroutines switch on one thread; unpinned, one row (the kernel picks). */
    if (!cb_switch_mech_fits(m, e->unit) || (m->unavailable && m->unavailable()) ||
        (cross && (coro || !pinned)))
        return CB_BUILD_SKIP;
    const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, 2);
    if (!plan)
        return CB_EXIT_USAGE;
    cb_switch_cfg_t *c = cfg->ctx;
    *c = (cb_switch_cfg_t){
        .mech = m,
        .process = strcmp(e->unit, "fork") == 0,
        .pinned = pinned,
        .pu = {plan->slots[0].pu_os, plan->slots[cross ? 1 : 0].pu_os},
        .topo = x->topo,
        .min_s = p->min_ms / 1e3,
    };
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, coro ? 1 : 2, 1,
                !pinned ? "none"
                : cross ? "cross_pu"
                        : "same_pu"},
        .metrics = metrics,
        .nmetrics = 3,
        .measure = cross && c->pu[0] == c->pu[1] ? cb_switch_skip_one_pu : cb_switch_measure,
        .ctx = c,
    };
    return CB_BUILD_ADD;
}

/* The cost ratios CI gates on (metric `relative`, lower is better), each
 * measured in one repetition: our assembly switch over glibc's
 * swapcontext and over Boost.Context's fcontext. */
static int per_rep(cb_exp_t *x, int rep, cb_results_t *r)
{
    if (rep < 0)
        return 0;
    const char *pin = x->opts.pin == CB_PIN_NONE ? "none" : "same_pu";
    int rc = 0;
    for (size_t i = 0; i < cb_switch_mech_count * 2 && rc == 0; i++) {
        const cb_switch_mech_t *m = &cb_switch_mechs[i / 2];
        const char *over = m->gate_over[i % 2];
        for (size_t k = 0; over && k < cb_executor_count && rc == 0; k++) {
            const cb_executor_t *e = cb_executors[k];
            if (!e->unit || e->pool || !cb_switch_mech_fits(m, e->unit))
                continue;
            double a = cb_results_value(r, rep, e->name, m->name, pin, "ns_per_switch");
            double u = cb_results_value(r, rep, e->name, over, pin, "ns_per_switch");
            if (isnan(a) || isnan(u) || !(u > 0))
                continue;
            char wl[64], detail[96];
            snprintf(wl, sizeof(wl), "%s_vs_%s", m->name, over);
            snprintf(detail, sizeof(detail), "%s switch over %s", m->name, over);
            cb_sample_t s = {
                .key = {"switch", e->name, wl, 1, 1, pin},
                .rep = rep,
                .metric = "relative",
                .value = a / u,
                .unit = "ratio",
                .status = CB_OK,
                .detail = detail,
            };
            rc = cb_results_add(r, &s);
        }
    }
    return rc;
}

static const cb_experiment_def_t sw = {
    .name = "switch",
    .summary = "Cost of one switch: pipe and futex ping-pong between threads and between "
               "processes (same PU, across PUs), coroutine switch (asm, ucontext, fcontext).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_switch_cfg_t),
    .executors = {.names_fn = executor_names},
    .workloads = {.names_fn = cb_switch_mech_names},
    .worker_counts = cb_exp_workers_one,
    .variants = variants,
    .build = build,
    .per_rep = per_rep,
};
CB_EXPERIMENT_MAIN(sw)
