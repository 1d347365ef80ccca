/* echo: experiments E10/E11. A TCP echo server on every server model of
 * lib/exp/echo.h (which says how each one works) under a closed-loop
 * loopback load: C connections (--connections), each sending --msg-bytes
 * and waiting for the echo, again and again, for --duration-ms. Metrics
 * (lib/exp/echo_bench.h measures one configuration): req_per_s, p50_us and
 * p99_us (log-linear histogram, within 0.8 %), server_cpu_us_per_req (the
 * server processes' CPU clocks over the measured window), conns_served.
 *
 * In echo.csv the executor column is the server model, tasks the connection
 * count and workers the server's worker count (thread: one per connection;
 * 1 for the one-thread event loops). Pinning (--pin, default compact): the
 * server's workers take the plan for their count (thread: the plan for the
 * first --workers count, round robin); the client's two threads are bound
 * together to the last two PUs of a 2-worker plan (cb_echo_bench_pin says
 * why).
 *
 * `echo --serve MODEL [--port N]` runs one model as a plain echo server
 * until SIGINT or SIGTERM, for nc / socat. */

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/exp/echo_bench.h"

typedef struct params {
    cb_long_list_t connections;
    long msg_bytes, duration_ms, port;
    int serve; /* model + 1; 0: no --serve */
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_LIST(params_t, connections, "connections", "LIST", 1, 100000, "1,10,100,1000", NULL,
                 "connection counts to sweep (default 1,10,100,1000)"),
    CB_FLAG_LONG(params_t, msg_bytes, "msg-bytes", "N", 1, 64L << 20, 64, 64,
                 "bytes per request, echoed back (default 64)"),
    CB_FLAG_LONG(params_t, duration_ms, "duration-ms", "MS", 1, 3600000, 500, 100,
                 "measured window per configuration (default 500; --quick 100)"),
    CB_FLAG_CUSTOM(params_t, serve, "serve", "MODEL", cb_echo_model_flag_parse, NULL,
                   "run one model as a plain echo server until SIGINT/SIGTERM"),
    CB_FLAG_LONG(params_t, port, "port", "N", 1, 65535, NAN, NAN,
                 "with --serve: listen on this port (default: one from the kernel)"),
};

static const cb_name_t workloads[] = {
    {"echo", "each connection sends --msg-bytes and waits for the echo, closed-loop", NULL, 0},
};

static uint64_t duration_ns(const params_t *p)
{
    return (uint64_t)p->duration_ms * 1000000ull;
}

static int prepare(cb_exp_t *x)
{
    params_t *p = x->params;
    if (p->port && !p->serve) {
        fprintf(stderr,
                "echo: --port %ld: only with --serve (the bench takes ports from the kernel)\n",
                p->port);
        return CB_EXIT_USAGE;
    }
    /* 1000 connections hold 2000 sockets (both ends live in this run). */
    long nofile = cb_echo_raise_nofile();
    if (p->serve)
        return cb_echo_bench_serve(x, (cb_echo_model_t)(p->serve - 1), (int)p->port);
    if (x->opts.tasks) /* one count instead of the list */
        p->connections.v[0] = x->opts.tasks, p->connections.n = 1;
    long most = 0;
    for (size_t k = 0; k < p->connections.n; k++)
        most = p->connections.v[k] > most ? p->connections.v[k] : most;
    if (nofile < 0 || nofile < 2 * most + 64) {
        fprintf(stderr, "echo: %ld connections need %ld fds, RLIMIT_NOFILE allows %ld\n", most,
                2 * most + 64, nofile);
        return CB_EXIT_USAGE;
    }
    x->run.timeout_s =
        (double)(duration_ns(p) + cb_echo_bench_warmup_ns(duration_ns(p))) / 1e9 + 20;
    if (cb_echo_bench_meta(x) < 0) {
        fprintf(stderr, "echo: could not run: out of memory\n");
        return CB_EXIT_NORUN;
    }
    return -1;
}

/* One point per connection count; pooled models take every worker count,
 * the others one (workers: the connection count for thread, else 1). */
static size_t variants(cb_exp_t *x)
{
    return ((const params_t *)x->params)->connections.n;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    cb_echo_bench_t *c = cfg->ctx;
    cb_echo_model_t mdl = (cb_echo_model_t)cb_echo_model_parse(pt->executor);
    int pooled = cb_echo_model_pooled(mdl), thread = mdl == CB_ECHO_THREAD;
    if (!pooled && pt->wi > 0)
        return CB_BUILD_SKIP;
    *c = (cb_echo_bench_t){
        .model = mdl,
        .conns = (int)p->connections.v[pt->variant],
        .workers = pooled ? (int)pt->workers : 1,
        .msg_bytes = (size_t)p->msg_bytes,
        .topo = x->topo,
        .warmup_ns = cb_echo_bench_warmup_ns(duration_ns(p)),
        .duration_ns = duration_ns(p),
    };
    if (cb_echo_bench_pin(x, pt->pin, thread ? (int)x->workers[0] : c->workers, c) != 0)
        return CB_EXIT_USAGE;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, thread ? c->conns : c->workers, c->conns,
                pt->pin->name},
        .metrics = cb_echo_bench_metrics,
        .nmetrics = (int)cb_echo_bench_nmetrics,
        .measure = cb_echo_bench_measure,
        .ctx = c,
    };
    return CB_BUILD_ADD;
}

/* ---- the verdict: the targets of E10/E11 in words ---- */

static double med(const cb_results_t *r, const char *exec, long conns, const char *metric)
{
    return cb_results_median(r, &(cb_select_t){exec, NULL, NULL, metric, 0, conns});
}

/* Any row at all, failed ones included. */
static int ran(const cb_results_t *r, const char *exec, long conns)
{
    for (size_t i = 0; i < cb_results_count(r); i++)
        if (cb_results_get(r, i)->key.tasks == conns &&
            strcmp(cb_results_get(r, i)->key.executor, exec) == 0)
            return 1;
    return 0;
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const cb_long_list_t *cl = &((const params_t *)x->params)->connections;
    const char *ref = cb_echo_model_name(CB_ECHO_THREAD); /* what the event loops face */
    fprintf(out, "\nE10/E11 (medians; '-' = not served, see the status column):\n");
    fprintf(out, "%-13s %6s %12s %10s %14s\n", "model", "conns", "req/s", "p99 us",
            "srv CPU us/req");
    for (int mdl = 0; mdl < CB_ECHO_NMODELS; mdl++) {
        const char *name = cb_echo_model_name(mdl);
        for (size_t k = 0; k < cl->n; k++) {
            if (!ran(r, name, cl->v[k]))
                continue;
            double q = med(r, name, cl->v[k], "req_per_s");
            if (isnan(q))
                fprintf(out, "%-13s %6ld %12s %10s %14s\n", name, cl->v[k], "-", "-", "-");
            else
                fprintf(out, "%-13s %6ld %12.0f %10.1f %14.2f\n", name, cl->v[k], q,
                        med(r, name, cl->v[k], "p99_us"),
                        med(r, name, cl->v[k], "server_cpu_us_per_req"));
        }
    }
    /* The targets: at each count, each one-thread event loop against thread
     * in throughput and server CPU per request; the crossover is the
     * smallest count from which the event loop stays at or above thread's
     * throughput at every larger count measured: the smallest measured
     * count above the largest one where it is below. */
    for (int mdl = 0; mdl < CB_ECHO_NMODELS; mdl++) {
        const char *ev = cb_echo_model_name(mdl);
        if (!cb_echo_model_one_loop(mdl))
            continue;
        long below = -1, cross = -1;
        int both = 0;
        for (size_t k = 0; k < cl->n; k++) {
            double a = med(r, ev, cl->v[k], "req_per_s"), b = med(r, ref, cl->v[k], "req_per_s");
            double ca = med(r, ev, cl->v[k], "server_cpu_us_per_req");
            double cbt = med(r, ref, cl->v[k], "server_cpu_us_per_req");
            if (isnan(a) || isnan(b))
                continue;
            if (!both++)
                fprintf(out, "\n%s vs %s:\n", ev, ref);
            fprintf(out,
                    "  %5ld conns: %.2fx %s's req/s (%s), %.2f vs %.2f us server CPU per "
                    "request (%s)\n",
                    cl->v[k], a / b, ref, a >= b ? "at least as fast" : "slower", ca, cbt,
                    ca < cbt ? "less" : "not less");
            char name[96];
            snprintf(name, sizeof(name), "%s/c%ld/req_per_s_over_%s", ev, cl->v[k], ref);
            cb_exp_fact(x, name, a / b, "x", NAN, "%s at %ld connections: %.2fx %s's requests/s",
                        ev, cl->v[k], a / b, ref);
            if (a < b && cl->v[k] > below)
                below = cl->v[k];
        }
        if (!both)
            continue;
        for (size_t k = 0; k < cl->n; k++)
            if (cl->v[k] > below && (cross < 0 || cl->v[k] < cross) &&
                !isnan(med(r, ev, cl->v[k], "req_per_s")) &&
                !isnan(med(r, ref, cl->v[k], "req_per_s")))
                cross = cl->v[k];
        char cname[96];
        snprintf(cname, sizeof(cname), "%s/crossover_connections", ev);
        if (cross < 0)
            cb_exp_fact(x, cname, NAN, "count", NAN,
                        "%s stays below %s's throughput at the largest count measured", ev, ref);
        else
            cb_exp_fact(x, cname, (double)cross, "count", NAN,
                        "from %ld connections on, %s's throughput >= %s's at every count measured",
                        cross, ev, ref);
        if (cross < 0)
            fprintf(out, "  crossover: %s is below %s's throughput at the largest count\n", ev,
                    ref);
        else
            fprintf(out,
                    "  crossover: from %ld connections on, %s's throughput >= %s's at every "
                    "count measured\n",
                    cross, ev, ref);
    }
}

/* Our one-thread loops against libuv's, the library a C server would use
 * for the same shape: the requests/s ratio at each count. */
static void versus_libuv(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const cb_long_list_t *cl = &((const params_t *)x->params)->connections;
    const char *uv = cb_echo_model_name(CB_ECHO_LIBUV);
    const cb_echo_model_t ours[] = {CB_ECHO_EPOLL, CB_ECHO_COROUTINE};
    for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
        const char *ev = cb_echo_model_name(ours[i]);
        int both = 0;
        for (size_t k = 0; k < cl->n; k++) {
            double a = med(r, ev, cl->v[k], "req_per_s"), b = med(r, uv, cl->v[k], "req_per_s");
            if (isnan(a) || isnan(b))
                continue;
            if (!both++)
                fprintf(out, "\n%s vs %s:\n", ev, uv);
            fprintf(out, "  %5ld conns: %.2fx %s's req/s\n", cl->v[k], a / b, uv);
            char name[96];
            snprintf(name, sizeof(name), "%s/c%ld/req_per_s_over_%s", ev, cl->v[k], uv);
            cb_exp_fact(x, name, a / b, "x", NAN, "%s at %ld connections: %.2fx %s's requests/s",
                        ev, cl->v[k], a / b, uv);
        }
    }
}

static void verdict_all(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    verdict(x, r, out);
    versus_libuv(x, r, out);
}

static const cb_experiment_def_t echo = {
    .name = "echo",
    .summary = "TCP echo servers on every server model (see --list) under a closed-loop "
               "loopback load.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_echo_bench_t),
    .executors = {.names_fn = cb_echo_model_names},
    .workloads = {.names = workloads, .n = sizeof(workloads) / sizeof(workloads[0])},
    .quick_reps = 3,
    .prepare = prepare,
    .variants = variants,
    .build = build,
    .verdict = verdict_all,
};
CB_EXPERIMENT_MAIN(echo)
