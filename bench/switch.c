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

/* CPython's hand-overs (scripts/python_switch.py, the shared CPython
 * driver): the executor and the workloads each runs. */
static const cb_name_t py_execs[] = {
    {"py_thread", "CPython: two threading.Threads (workload event)", NULL, 0},
    {"py_process", "CPython: two multiprocessing.Processes, fork (workload mp_pipe)", NULL, 0},
    {"py_coroutine", "CPython: on one thread (workloads generator, asyncio, greenlet)", NULL, 0},
};
static const cb_name_t py_wls[] = {
    {"event", "CPython: threading.Event ping-pong between two threads", NULL, 0},
    {"mp_pipe", "CPython: multiprocessing.Pipe send / recv ping-pong between two processes", NULL,
     0},
    {"generator", "CPython: a generator's send() and its yield", NULL, 0},
    {"asyncio", "CPython: two asyncio tasks handing over through asyncio.Events", NULL, 0},
    {"greenlet", "CPython: greenlet.switch() between two greenlets (python3-greenlet)", NULL, 0},
};
#define NPYE (sizeof(py_execs) / sizeof(py_execs[0]))
#define NPYW (sizeof(py_wls) / sizeof(py_wls[0]))

static int py_runs(const char *e, const char *w)
{
    if (strcmp(e, "py_thread") == 0)
        return strcmp(w, "event") == 0;
    if (strcmp(e, "py_process") == 0)
        return strcmp(w, "mp_pipe") == 0;
    return strcmp(w, "generator") == 0 || strcmp(w, "asyncio") == 0 || strcmp(w, "greenlet") == 0;
}

static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n) {
        n = cb_executor_name_table(tab + 0, 64 - NPYE, one_unit_per_task);
        for (size_t i = 0; i < NPYE; i++)
            tab[n++] = py_execs[i];
    }
    *out = tab;
    return n;
}

static size_t workload_names(const cb_name_t **out)
{
    static cb_name_t tab[32];
    static size_t n;
    if (!n) {
        const cb_name_t *m;
        size_t k = cb_switch_mech_names(&m);
        for (size_t i = 0; i < k && n < 32 - NPYW; i++)
            tab[n++] = m[i];
        for (size_t i = 0; i < NPYW; i++)
            tab[n++] = py_wls[i];
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

/* A configuration's context: a C hand-over's, or a CPython point's plan of
 * its two PUs. */
typedef union ctx {
    cb_switch_cfg_t c;
    struct {
        cb_pin_plan_t plan;
        cb_pin_slot_t slots[2];
    } py;
} ctx_t;

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    if (strncmp(pt->executor, "py_", 3) == 0) {
        int coro = strcmp(pt->executor, "py_coroutine") == 0, cross = pt->variant == 1;
        int pinned = pt->pin->policy != CB_PIN_NONE;
        if (cb_exp_no_python(x) || !py_runs(pt->executor, pt->workload) ||
            (cross && (coro || !pinned)))
            return CB_BUILD_SKIP;
        const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, 2);
        if (!plan)
            return CB_EXIT_USAGE;
        if (cross && plan->slots[0].pu_os == plan->slots[1].pu_os)
            return CB_BUILD_SKIP; /* one PU: no other to cross to */
        /* The point's two PUs: the partner on the same PU, or the second. */
        cb_pin_plan_t *two = &((ctx_t *)cfg->ctx)->py.plan;
        cb_pin_slot_t *slots = ((ctx_t *)cfg->ctx)->py.slots;
        slots[0] = plan->slots[0];
        slots[1] = plan->slots[cross ? 1 : 0];
        *two = (cb_pin_plan_t){.policy = plan->policy, .nworkers = 2, .slots = slots};
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, coro ? 1 : 2, 1,
                    !pinned ? "none"
                    : cross ? "cross_pu"
                            : "same_pu"},
            .metrics = metrics,
            .nmetrics = 3,
            .python = 1,
            .python_plan = pinned ? two : NULL,
            /* --tutorial's estimate: --min-ms and the set-up (a fork, a
             * pool of two) */
            .expected_s = p->min_ms / 1e3 + 0.05,
        };
        return CB_BUILD_ADD;
    }
    const cb_executor_t *e = cb_executor_find(pt->executor);
    const cb_switch_mech_t *m = cb_switch_mech_find(pt->workload);
    if (!m)
        return CB_BUILD_SKIP; /* a CPython hand-over */
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
        .expected_s = p->min_ms / 1e3 + 0.02,
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

static double med(const cb_results_t *r, const char *e, const char *w, const char *pin)
{
    return cb_results_median(r, &(cb_select_t){e, w, pin, "ns_per_switch", 0, 0});
}

/* E9 (004): coroutine switches cost far less than thread switches, thread
 * switches less than process switches. */
static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const char *pin = x->opts.pin == CB_PIN_NONE ? "none" : "same_pu";
    fprintf(out,
            "\nE9 (tutorial 004: a coroutine switch costs far less than a thread switch, a "
            "thread switch less than a process switch; it gives no figure), ns per switch, "
            "%s:\n",
            pin);
    double ca = med(r, "coroutine", "asm", pin), ct = med(r, "thread", "futex", pin),
           cp = med(r, "process", "pipe", pin);
    if (!isnan(ca) && !isnan(ct) && !isnan(cp)) {
        fprintf(out,
                "  C        coroutine asm %.1f | thread futex %.0f | process pipe %.0f: thread "
                "%.0fx a coroutine, process %.2fx a thread\n",
                ca, ct, cp, ct / ca, cp / ct);
        cb_exp_fact(x, "e9/C/thread_over_coroutine", ct / ca, "x", NAN,
                    "C: a futex hand-over between threads %.0f ns, an asm coroutine switch %.1f ns",
                    ct, ca);
    }
    double pg = med(r, "py_coroutine", "greenlet", pin),
           pn = med(r, "py_coroutine", "generator", pin),
           pa = med(r, "py_coroutine", "asyncio", pin), pt = med(r, "py_thread", "event", pin),
           pp = med(r, "py_process", "mp_pipe", pin);
    if (isnan(pt))
        return;
    const double pv[5] = {pg, pn, pa, pt, pp};
    char pf[5][24];
    for (int i = 0; i < 5; i++)
        snprintf(pf[i], sizeof(pf[i]), isnan(pv[i]) ? "-" : "%.0f", pv[i]);
    fprintf(out,
            "  CPython  greenlet %s | generator %s | asyncio %s | threading.Event %s | "
            "multiprocessing.Pipe %s\n",
            pf[0], pf[1], pf[2], pf[3], pf[4]);
    static const struct {
        const char *name;
        int k;
    } cs[] = {{"greenlet", 0}, {"generator", 1}, {"asyncio", 2}};
    double v[3] = {pg, pn, pa};
    for (size_t i = 0; i < 3; i++) {
        if (isnan(v[i]))
            continue;
        fprintf(out, "  CPython  a thread hand-over costs %.1fx one %s switch%s\n", pt / v[i],
                cs[i].name, i < 2 ? (pt / v[i] >= 10 ? " (10x or more)" : " (under 10x)") : "");
        char name[64];
        snprintf(name, sizeof(name), "e9/CPython/thread_over_%s", cs[i].name);
        cb_exp_fact(x, name, pt / v[i], "x", NAN,
                    "CPython: a threading.Event hand-over %.0f ns, a %s switch %.0f ns", pt,
                    cs[i].name, v[i]);
    }
    if (!isnan(pp))
        fprintf(out, "  CPython  a process hand-over (Pipe) costs %.2fx a thread hand-over\n",
                pp / pt);
}

/* In the first 3 repetitions: in all 5 the default run took 1.51x its
 * time without them (25.6 s against 16.9 s, quiet). */
static const cb_python_def_t python = {
    .script = "scripts/python_switch.py", .optional = "greenlet", .reps = 3};

/* Tutorial 004's constructs (not timed there): a generator's send() between
 * its producer and consumer and greenlet.switch() between eat and play,
 * against the thread and process hand-overs it says cost far more, and the
 * C switches beneath them; the tutorial ran unpinned. */
static const char *const tutorial[] = {
    "--workloads", "generator,greenlet,event,mp_pipe,futex,pipe,asm", "--pin", "none", NULL};

static const cb_experiment_def_t sw = {
    .name = "switch",
    .summary = "Cost of one switch: pipe and futex ping-pong between threads and between "
               "processes (same PU, across PUs), coroutine switch (asm, ucontext, fcontext).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(ctx_t),
    .executors = {.names_fn = executor_names},
    .workloads = {.names_fn = workload_names},
    .worker_counts = cb_exp_workers_one,
    .variants = variants,
    .build = build,
    .per_rep = per_rep,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_how = "each hand-over measured for --min-ms, and its set-up",
};
CB_EXPERIMENT_MAIN(sw)
