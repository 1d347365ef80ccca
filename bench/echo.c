/* echo: experiments E10/E11. A TCP echo server on every execution model
 * (thread, thread_pool, process_pool, epoll, coroutine, hybrid; lib/exp/echo.h
 * says how each one works) under a closed-loop loopback load: C connections
 * (1, 10, 100, 1000), each sending --msg-bytes and waiting for the echo,
 * again and again, for --duration-ms. Metrics per configuration:
 * req_per_s, p50_us and p99_us (log-linear histogram, within 0.8 %),
 * server_cpu_us_per_req (CPU time of the server processes only, read from
 * their process CPU clocks over the measured window) and conns_served.
 *
 * In echo.csv the executor column is the server model, tasks the connection
 * count and workers the server's worker count (threads for thread: one per
 * connection; 1 for epoll and coroutine).
 *
 * Pinning (--pin, default compact): the server's workers take the plan for
 * their count (thread: its connection threads round robin over the plan for
 * the first --workers count); the client's two threads (each an epoll loop
 * over its share of the connections) are bound together to the plan's last
 * two PUs (each may run on either; the kernel places them). On a 2-PU
 * machine client and server therefore share the PUs, and a one-thread
 * server (epoll, coroutine) computes on one PU while thread and the pools
 * use both: above a few connections throughput is CPU-bound, and server CPU
 * per request is the model's own cost. Binding client thread i to PU i
 * instead capped a one-thread server at about half of its PU (the kernel
 * shares a PU evenly between the server and the client thread pinned
 * there): epoll and coroutine then served 0.85-0.95x thread's req/s at 1000
 * connections, against 1.5-1.6x with the client bound as a pair. Giving
 * the client PUs of its own on 2 PUs (both client threads on the PU the
 * one-thread server leaves free) made the client the bottleneck at about
 * 40k req/s. With one connection every request crosses PUs twice; on a VM
 * an idle vCPU's wake-up makes that round trip cost ~100 us.
 *
 * `echo --serve MODEL [--port N]` runs one model as a plain echo server
 * until SIGINT or SIGTERM, for nc / socat. */

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/exp/echo.h"
#include "lib/core/runner.h"
#include "lib/core/sandbox.h"
#include "lib/core/stats.h"

#define MAX_CONN_COUNTS 16

typedef struct opts {
    long conns[MAX_CONN_COUNTS];
    size_t nconns;
    long msg_bytes;
    long duration_ms;
    int serve; /* model + 1; 0: no --serve */
    long port;
} opts_t;

typedef struct ectx {
    cb_echo_model_t model;
    int conns, workers;
    const opts_t *x;
    const cb_topo_t *topo;
    int srv_pus[256], nsrv_pus;
    int cli_pus[2], ncli_pus;
    uint64_t warmup_ns, duration_ns;
} ectx_t;

static const cb_metric_def_t metrics[] = {
    {"req_per_s", "1/s"},      {"p50_us", "us"}, {"p99_us", "us"}, {"server_cpu_us_per_req", "us"},
    {"conns_served", "count"},
};

static int set_connections(void *ctx, const char *a, char *err, size_t len)
{
    opts_t *x = ctx;
    char *copy = strdup(a), *rest = copy, *tok;
    if (!copy) {
        snprintf(err, len, "out of memory");
        return -1;
    }
    x->nconns = 0;
    while ((tok = strsep(&rest, ",")) != NULL) {
        if (!*tok) {
            snprintf(err, len, "--connections: bad value '%s': expected a comma list of counts", a);
            free(copy);
            return -1;
        }
        if (x->nconns == MAX_CONN_COUNTS) {
            snprintf(err, len, "--connections: at most %d counts", MAX_CONN_COUNTS);
            free(copy);
            return -1;
        }
        if (cb_parse_long("connections", tok, 1, 100000, &x->conns[x->nconns++], err, len) != 0) {
            free(copy);
            return -1;
        }
    }
    free(copy);
    if (x->nconns == 0) {
        snprintf(err, len, "--connections: bad value '%s': expected a comma list of counts", a);
        return -1;
    }
    return 0;
}

static int set_msg_bytes(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("msg-bytes", a, 1, 64L << 20, &((opts_t *)ctx)->msg_bytes, err, len);
}

static int set_duration(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("duration-ms", a, 1, 3600000, &((opts_t *)ctx)->duration_ms, err, len);
}

static int set_port(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("port", a, 1, 65535, &((opts_t *)ctx)->port, err, len);
}

static int set_serve(void *ctx, const char *a, char *err, size_t len)
{
    int m = cb_echo_model_parse(a);
    if (m < 0) {
        snprintf(err, len,
                 "--serve: unknown model '%s': expected thread, thread_pool, process_pool, "
                 "epoll, coroutine or hybrid",
                 a);
        return -1;
    }
    ((opts_t *)ctx)->serve = m + 1;
    return 0;
}

typedef struct window {
    const cb_echo_server_t *s;
    uint64_t cpu[2];
    int rc;
} window_t;

static void on_window(void *arg, int phase)
{
    window_t *w = arg;
    int rc = cb_echo_server_cpu_ns(w->s, &w->cpu[phase]);
    if (rc < 0 && w->rc == 0)
        w->rc = rc;
}

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const ectx_t *x = c->ctx;
    cb_echo_server_cfg_t sc = {
        .model = x->model,
        .workers = x->workers,
        .topo = x->nsrv_pus ? x->topo : NULL,
        .pus = x->srv_pus,
        .npus = x->nsrv_pus,
    };
    cb_echo_server_t *s = NULL;
    int rc = cb_echo_server_start(&sc, &s, m->detail, sizeof(m->detail));
    if (rc < 0)
        return rc;
    window_t w = {.s = s};
    cb_echo_load_cfg_t lc = {
        .port = cb_echo_server_port(s),
        .conns = x->conns,
        .msg_bytes = (size_t)x->x->msg_bytes,
        .threads = 2,
        .topo = x->ncli_pus ? x->topo : NULL,
        .pus = x->cli_pus,
        .npus = x->ncli_pus,
        .pin_together = 1,
        .connect_timeout_ns = 2000000000ull,
        .warmup_ns = x->warmup_ns,
        .duration_ns = x->duration_ns,
        .on_window = on_window,
        .on_window_arg = &w,
    };
    cb_echo_load_result_t r;
    /* Timed (inside cb_echo_load_run): the window after every connection is
     * up and a warm-up has passed, so connection set-up (and thread
     * creation for `thread`) is left out; server CPU is read at its two
     * ends. */
    rc = cb_echo_load_run(&lc, &r);
    char died[96] = "";
    int src = cb_echo_server_stop(s, died, sizeof(died));
    if (rc < 0) {
        snprintf(m->detail, sizeof(m->detail), "load: %s", strerror(-rc));
        return rc;
    }
    double secs = (double)x->duration_ns / 1e9;
    if (src < 0) {
        m->status = CB_CRASHED;
        snprintf(m->detail, sizeof(m->detail), "%s", died);
    } else if (r.established < x->conns) {
        m->status = CB_TIMEOUT;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections not established (%s)",
                 x->conns - r.established, x->conns, strerror(r.first_errno));
    } else if (r.failed > 0 || r.mismatched > 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%d connections failed (%s), %llu bad echoes",
                 r.failed, r.first_errno ? strerror(r.first_errno) : "-",
                 (unsigned long long)r.mismatched);
    } else if (r.served < x->conns) {
        m->status = CB_TIMEOUT;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections got no echo in %.1f s",
                 x->conns - r.served, x->conns, secs + (double)x->warmup_ns / 1e9);
    } else if (w.rc < 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "server CPU clock: %s", strerror(-w.rc));
    }
    m->values[0] = r.req_per_s;
    m->values[1] = r.p50_us;
    m->values[2] = r.p99_us;
    m->values[3] =
        r.requests ? (double)(w.cpu[1] - w.cpu[0]) / 1e3 / (double)r.requests : (double)NAN;
    m->values[4] = r.served;
    return 0;
}

/* ---- the verdict: the targets of E10/E11 in words ---- */

static double median_of(const cb_results_t *r, const char *exec, long conns, const char *metric)
{
    double v[256];
    size_t n = 0;
    for (size_t i = 0; i < cb_results_count(r) && n < 256; i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status == CB_OK && s->key.tasks == conns && strcmp(s->key.executor, exec) == 0 &&
            strcmp(s->metric, metric) == 0 && !isnan(s->value))
            v[n++] = s->value;
    }
    return n ? cb_stats_median(v, n) : NAN;
}

static void verdict(const cb_results_t *r, FILE *out, void *ctx)
{
    const opts_t *x = ctx;
    fprintf(out, "\nE10/E11 (medians; '-' = not served, see the status column):\n");
    fprintf(out, "%-13s %6s %12s %10s %14s\n", "model", "conns", "req/s", "p99 us",
            "srv CPU us/req");
    for (int mdl = 0; mdl < CB_ECHO_NMODELS; mdl++) {
        const char *name = cb_echo_model_name((cb_echo_model_t)mdl);
        for (size_t k = 0; k < x->nconns; k++) {
            double q = median_of(r, name, x->conns[k], "req_per_s");
            double p = median_of(r, name, x->conns[k], "p99_us");
            double cpu = median_of(r, name, x->conns[k], "server_cpu_us_per_req");
            int any = 0;
            for (size_t i = 0; i < cb_results_count(r) && !any; i++)
                any = cb_results_get(r, i)->key.tasks == x->conns[k] &&
                      strcmp(cb_results_get(r, i)->key.executor, name) == 0;
            if (!any)
                continue;
            if (isnan(q))
                fprintf(out, "%-13s %6ld %12s %10s %14s\n", name, x->conns[k], "-", "-", "-");
            else
                fprintf(out, "%-13s %6ld %12.0f %10.1f %14.2f\n", name, x->conns[k], q, p, cpu);
        }
    }
    /* The targets: at each count, epoll and coroutine against thread in
     * throughput and server CPU per request; the crossover is the smallest
     * count from which the event-loop model stays at or above thread's
     * throughput at every larger count measured. */
    const char *ev[] = {"epoll", "coroutine"};
    for (int i = 0; i < 2; i++) {
        long cross = -1;
        int both = 0;
        for (size_t k = 0; k < x->nconns; k++) {
            double a = median_of(r, ev[i], x->conns[k], "req_per_s");
            double b = median_of(r, "thread", x->conns[k], "req_per_s");
            double ca = median_of(r, ev[i], x->conns[k], "server_cpu_us_per_req");
            double cbt = median_of(r, "thread", x->conns[k], "server_cpu_us_per_req");
            if (isnan(a) || isnan(b))
                continue;
            if (!both++)
                fprintf(out, "\n%s vs thread:\n", ev[i]);
            fprintf(out,
                    "  %5ld conns: %.2fx thread's req/s (%s), %.2f vs %.2f us server CPU per "
                    "request (%s)\n",
                    x->conns[k], a / b, a >= b ? "at least as fast" : "slower", ca, cbt,
                    ca < cbt ? "less" : "not less");
        }
        if (!both)
            continue;
        /* Counts are swept in the order given; walk them from the largest. */
        long order[MAX_CONN_COUNTS];
        size_t n = x->nconns;
        for (size_t k = 0; k < n; k++)
            order[k] = x->conns[k];
        for (size_t a = 1; a < n; a++)
            for (size_t b = a; b > 0 && order[b - 1] > order[b]; b--) {
                long tmp = order[b];
                order[b] = order[b - 1];
                order[b - 1] = tmp;
            }
        for (size_t k = n; k-- > 0;) {
            double a = median_of(r, ev[i], order[k], "req_per_s");
            double b = median_of(r, "thread", order[k], "req_per_s");
            if (isnan(a) || isnan(b))
                continue;
            if (a < b)
                break;
            cross = order[k];
        }
        if (cross < 0)
            fprintf(out, "  crossover: %s is below thread's throughput at the largest count\n",
                    ev[i]);
        else
            fprintf(out,
                    "  crossover: from %ld connections on, %s's throughput >= thread's at "
                    "every count measured\n",
                    cross, ev[i]);
    }
}

/* ---- --serve ---- */

static int serve(const opts_t *x, const cb_opts_t *o, const cb_topo_t *t)
{
    cb_echo_model_t model = (cb_echo_model_t)(x->serve - 1);
    size_t nw = 0;
    long *w = cb_cli_worker_counts(o, t, &nw);
    int workers = w && nw ? (int)w[0] : 1;
    free(w);
    cb_pin_plan_t plan;
    if (cb_runner_plan(o, t, workers, &plan) != 0)
        return CB_EXIT_USAGE;
    int pus[256], npus = 0;
    for (int i = 0; i < plan.nworkers && i < 256 && o->pin != CB_PIN_NONE; i++)
        pus[npus++] = plan.slots[i].pu_os;
    cb_pin_plan_free(&plan);
    /* Blocked before forking, so the signal is only ever taken here, by
     * sigtimedwait; the server processes unblock SIGTERM for themselves. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return CB_EXIT_FAILED;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    cb_echo_server_cfg_t sc = {
        .model = model,
        .port = (int)x->port,
        .workers = workers,
        .topo = npus ? t : NULL,
        .pus = pus,
        .npus = npus,
    };
    cb_echo_server_t *s = NULL;
    char err[128];
    int rc = cb_echo_server_start(&sc, &s, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "echo: %s\n", err);
        return rc == -EADDRINUSE || rc == -EACCES ? CB_EXIT_USAGE : CB_EXIT_FAILED;
    }
    printf("listening on 127.0.0.1:%d (%s, %d server process%s)\n", cb_echo_server_port(s),
           cb_echo_model_name(model), cb_echo_server_npids(s),
           cb_echo_server_npids(s) == 1 ? "" : "es");
    fflush(stdout);
    char detail[96] = "";
    int sig = -1;
    /* Until a signal, or a server process dies (checked every 200 ms). */
    while (sig < 0 && cb_echo_server_check(s, detail, sizeof(detail)) == 0) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        sig = sigtimedwait(&set, NULL, &ts);
    }
    rc = cb_echo_server_stop(s, detail, sizeof(detail));
    if (rc < 0) {
        fprintf(stderr, "echo: %s\n", detail);
        return CB_EXIT_FAILED;
    }
    fprintf(stderr, "echo: %s: stopped\n", strsignal(sig));
    return CB_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {
        "thread", "thread_pool", "process_pool", "epoll", "coroutine", "hybrid", NULL};
    static const char *const workloads[] = {"echo", NULL};
    static opts_t x = {.conns = {1, 10, 100, 1000}, .nconns = 4, .msg_bytes = 64};
    const cb_cli_extra_t extra[] = {
        {"connections", 1, "LIST", "connection counts to sweep (default 1,10,100,1000)",
         set_connections, &x},
        {"msg-bytes", 1, "N", "bytes per request, echoed back (default 64)", set_msg_bytes, &x},
        {"duration-ms", 1, "MS", "measured window per configuration (default 500; --quick 100)",
         set_duration, &x},
        {"serve", 1, "MODEL", "run one model as a plain echo server until SIGINT/SIGTERM",
         set_serve, &x},
        {"port", 1, "N", "with --serve: listen on this port (default: one from the kernel)",
         set_port, &x},
    };
    cb_cli_spec_t spec = {
        .prog = "echo",
        .summary = "TCP echo servers on every model (thread, thread_pool, process_pool, epoll, "
                   "coroutine, hybrid) under a closed-loop loopback load.",
        .extra = extra,
        .nextra = sizeof(extra) / sizeof(extra[0]),
        .executor_names = names,
        .workload_names = workloads,
    };
    cb_opts_t o;
    cb_topo_t *t = NULL;
    int rc = cb_runner_start(&spec, argc, argv, &o, &t);
    if (rc >= 0)
        return rc;
    if (o.list) {
        printf("executors (server models):\n");
        for (int i = 0; i < CB_ECHO_NMODELS; i++) {
            const char *why = cb_echo_model_unavailable((cb_echo_model_t)i);
            printf("  %-13s %s%s%s\n", names[i], cb_echo_model_summary((cb_echo_model_t)i),
                   why ? " -- unavailable: " : "", why ? why : "");
        }
        printf("workloads:\n  %-13s each connection sends --msg-bytes and waits for the echo, "
               "closed-loop\n",
               "echo");
        return 0;
    }
    if (x.port && !x.serve) {
        fprintf(stderr,
                "echo: --port %ld: only with --serve (the bench takes ports from the "
                "kernel)\n",
                x.port);
        return CB_EXIT_USAGE;
    }
    /* 1000 connections hold 2000 sockets (both ends live in this run). */
    long nofile = cb_echo_raise_nofile();
    if (x.serve) {
        rc = serve(&x, &o, t);
        cb_topo_free(t);
        cb_cli_free(&o);
        return rc;
    }
    long most = 0;
    for (size_t k = 0; k < x.nconns; k++)
        most = x.conns[k] > most ? x.conns[k] : most;
    if (o.tasks) {
        x.conns[0] = o.tasks;
        x.nconns = 1;
        most = o.tasks;
    }
    if (nofile < 0 || nofile < 2 * most + 64) {
        fprintf(stderr, "echo: %ld connections need %ld fds, RLIMIT_NOFILE allows %ld\n", most,
                2 * most + 64, nofile);
        return CB_EXIT_USAGE;
    }
    if (!x.duration_ms)
        x.duration_ms = o.quick ? 100 : 500;
    uint64_t duration_ns = (uint64_t)x.duration_ms * 1000000ull;
    uint64_t warmup_ns = duration_ns / 5 > 20000000ull ? duration_ns / 5 : 20000000ull;

    size_t nwc = 0;
    long *wcounts = cb_cli_worker_counts(&o, t, &nwc);
    if (!wcounts)
        return CB_EXIT_FAILED;
    const char *const *execs = o.executors ? (const char *const *)o.executors : names;
    size_t ne = 0;
    while (execs[ne])
        ne++;
    size_t cap = ne * x.nconns * nwc;
    cb_config_t *cfgs = calloc(cap, sizeof(*cfgs));
    ectx_t *ctx = calloc(cap, sizeof(*ctx));
    if (!cfgs || !ctx)
        return CB_EXIT_FAILED;
    int pinned = o.pin != CB_PIN_NONE;
    cb_pin_plan_t cplan;
    if (cb_runner_plan(&o, t, 2, &cplan) != 0)
        return CB_EXIT_USAGE;
    size_t n = 0;
    for (size_t ei = 0; ei < ne; ei++) {
        cb_echo_model_t mdl = (cb_echo_model_t)cb_echo_model_parse(execs[ei]);
        int pooled = cb_echo_model_pooled(mdl);
        for (size_t wc = 0; wc < (pooled ? nwc : 1); wc++) {
            for (size_t k = 0; k < x.nconns; k++) {
                ectx_t *c = &ctx[n];
                c->model = mdl;
                c->conns = (int)x.conns[k];
                c->workers = pooled ? (int)wcounts[wc] : 1;
                c->x = &x;
                c->topo = t;
                c->warmup_ns = warmup_ns;
                c->duration_ns = duration_ns;
                if (pinned) {
                    /* thread: its connection threads round robin over the
                     * plan for the first --workers count. */
                    cb_pin_plan_t plan;
                    int nw = mdl == CB_ECHO_THREAD ? (int)wcounts[0] : c->workers;
                    if (cb_runner_plan(&o, t, nw, &plan) != 0)
                        return CB_EXIT_USAGE;
                    for (int i = 0; i < plan.nworkers && i < 256; i++)
                        c->srv_pus[c->nsrv_pus++] = plan.slots[i].pu_os;
                    cb_pin_plan_free(&plan);
                }
                /* The client's two threads are bound (together) to the
                 * plan's last two PUs, away from the first PUs the server's
                 * workers take wherever the machine has enough PUs. */
                for (int i = 0; pinned && i < 2; i++)
                    c->cli_pus[c->ncli_pus++] = cplan.slots[cplan.nworkers - 1 - i].pu_os;
                cfgs[n] = (cb_config_t){
                    .key = {NULL, execs[ei], "echo", mdl == CB_ECHO_THREAD ? c->conns : c->workers,
                            c->conns, cb_runner_pin_name(&o)},
                    .metrics = metrics,
                    .nmetrics = sizeof(metrics) / sizeof(metrics[0]),
                    .measure = measure,
                    .ctx = c,
                };
                n++;
            }
        }
    }
    cb_pin_plan_free(&cplan);
    char mb[32], dm[32];
    snprintf(mb, sizeof(mb), "%ld", x.msg_bytes);
    snprintf(dm, sizeof(dm), "%ld", x.duration_ms);
    const char *meta[] = {"msg_bytes",
                          mb,
                          "duration_ms",
                          dm,
                          "latency_histogram",
                          "log-linear, 64 buckets per power of two, midpoint within 0.8 %",
                          "server_cpu",
                          "process CPU clocks of the server processes over the window",
                          NULL,
                          NULL};
    cb_experiment_t e = {
        .name = "echo",
        .configs = cfgs,
        .nconfigs = n,
        .reps = o.quick ? 3 : 5,
        .warmup = 1,
        .timeout_s = (double)(duration_ns + warmup_ns) / 1e9 + 20,
        .verdict = verdict,
        .verdict_ctx = &x,
        .meta = meta,
    };
    rc = cb_runner_run(&e, &o, t, argc, argv);
    free(cfgs);
    free(ctx);
    free(wcounts);
    cb_topo_free(t);
    cb_cli_free(&o);
    return rc;
}
