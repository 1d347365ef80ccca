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
 * The CPython servers (executors py_thread, py_thread_pool, py_selectors,
 * py_asyncio, py_gevent; scripts/python_echo.py says how each works) are
 * measured the same way under the same C load client: the measurement
 * starts `python3 scripts/python_echo.py --serve MODEL` as a tracked child
 * (it dies with the harness), reads the port it prints and the child's
 * CPU clock over the window. The interpreter and --no-python / --python
 * PATH are the shared driver's (lib/core/python.c, cb_exp_python: one that
 * has gevent preferred); py_gevent is skipped naming the module where it
 * has none. Their window is --py-duration-ms, after every connection had
 * its first echo (a CPython server's busy connections starve its accept
 * loop); no warm-up repetition, the first 3 repetitions (--quick: 1).
 *
 * `echo --serve MODEL [--port N]` runs one model as a plain echo server
 * until SIGINT or SIGTERM, for nc / socat; without --port, or with --port 0,
 * the kernel picks the port, and the "listening on 127.0.0.1:PORT" line
 * says which.
 *
 * `echo --connect HOST:PORT` runs the load alone against an outside echo
 * server (the user's): rows with executor `external` (workers 0: not ours
 * to know), the same sweep over --connections, no server CPU. A probe
 * first (one message, bounded by --timeout, at most 5 s) finds out whether
 * anything echoes there; when not, one line says why and every row is an
 * error with that reason (exit 3). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/exp/echo_bench.h"

typedef struct params {
    cb_long_list_t connections;
    long msg_bytes, duration_ms, py_duration_ms, port, hybrid_threads;
    int serve;                /* model + 1; 0: no --serve */
    cb_echo_target_t connect; /* host "": no --connect */
} params_t;

static int connect_parse(void *field, const char *arg, char *err, size_t errlen)
{
    return cb_echo_target_parse(arg, field, err, errlen);
}

static void connect_format(const void *field, char *buf, size_t len)
{
    const cb_echo_target_t *t = field;
    if (t->host[0])
        snprintf(buf, len, strchr(t->host, ':') ? "[%s]:%s" : "%s:%s", t->host, t->port);
    else
        snprintf(buf, len, "%s", "");
}

static const cb_flag_t flags[] = {
    CB_FLAG_LIST(params_t, connections, "connections", "LIST", 1, 100000, "1,10,100,1000", NULL,
                 "connection counts to sweep (default 1,10,100,1000)"),
    CB_FLAG_LONG(params_t, msg_bytes, "msg-bytes", "N", 1, 64L << 20, 64, 64,
                 "bytes per request, echoed back (default 64)"),
    CB_FLAG_LONG(params_t, duration_ms, "duration-ms", "MS", 1, 3600000, 500, 100,
                 "measured window per configuration (default 500; --quick 100)"),
    CB_FLAG_LONG(params_t, py_duration_ms, "py-duration-ms", "MS", 1, 3600000, 200, 50,
                 "measured window per CPython configuration (py_*; default 200; --quick 50)"),
    CB_FLAG_LONG(params_t, hybrid_threads, "hybrid-threads", "T", 0, 1000, 1, 1,
                 "hybrid: threads per process, each with its own listener and coroutines "
                 "(default 1; 0: tutorial 004's shape, cores + 1 processes of 5 x cores threads)"),
    CB_FLAG_CUSTOM(params_t, serve, "serve", "MODEL", cb_echo_model_flag_parse, NULL,
                   "run one model as a plain echo server until SIGINT/SIGTERM"),
    CB_FLAG_LONG(params_t, port, "port", "N", 0, 65535, NAN, NAN,
                 "with --serve: listen on this port (0, the default: one the kernel picks; "
                 "the line printed says which)"),
    CB_FLAG_CUSTOM(params_t, connect, "connect", "HOST:PORT", connect_parse, connect_format,
                   "run the load alone against the echo server at HOST:PORT (executor external)"),
};

/* The outside server of --connect, once probed (prepare). */
static cb_echo_outside_t outside;

static const char *const external = "external";

/* The CPython servers (scripts/python_echo.py --serve MODEL, which says how
 * each one works), started by the measurement as a tracked child and
 * driven by the same C load client. */
typedef struct pymodel {
    const char *name, *model, *summary;
    int pool;     /* ThreadPoolExecutor(pool): pool connections at a time */
    int one_loop; /* every connection on one thread's event loop */
} pymodel_t;

static const pymodel_t pymodels[] = {
    {"py_thread", "thread",
     "CPython: socketserver.ThreadingTCPServer, a thread per connection, blocking recv/sendall", 0,
     0},
    {"py_thread_pool", "thread_pool",
     "CPython: an accept loop submitting each connection to a ThreadPoolExecutor(3) (tutorial "
     "002): 3 connections served at a time",
     3, 0},
    {"py_selectors", "selectors",
     "CPython: one thread, selectors.DefaultSelector (epoll), non-blocking sockets", 0, 1},
    {"py_asyncio", "asyncio", "CPython: asyncio.start_server, a coroutine per connection", 0, 1},
    {"py_gevent", "gevent",
     "CPython: gevent's monkey.patch_all(), then py_thread's code: a greenlet per connection "
     "(needs gevent)",
     0, 1},
};
#define NPY (sizeof(pymodels) / sizeof(pymodels[0]))

static const pymodel_t *pymodel(const char *name)
{
    for (size_t i = 0; i < NPY; i++)
        if (strcmp(pymodels[i].name, name) == 0)
            return &pymodels[i];
    return NULL;
}

/* The CPython side: the shared driver's flags (--no-python, --python PATH)
 * and its choice of interpreter (preferring one that has gevent); its
 * script's --serve MODEL runs the servers. No point is measured by the
 * driver itself: echo's measurement starts each server. */
static const cb_python_def_t python_side = {.script = "scripts/python_echo.py",
                                            .optional = "gevent"};

/* python_echo.py's path, found once (build), freed by finish. */
static char *py_script;

/* The models, the CPython servers, then the outside server, which runs
 * only with --connect and then alone. */
static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[CB_ECHO_NMODELS + NPY + 1];
    const cb_name_t *models;
    size_t n = cb_echo_model_names(&models);
    for (size_t i = 0; i < n; i++)
        tab[i] = models[i];
    for (size_t i = 0; i < NPY; i++)
        tab[n++] = (cb_name_t){pymodels[i].name, pymodels[i].summary, NULL, 0};
    tab[n] = (cb_name_t){
        external, "the echo server given by --connect HOST:PORT (yours; only with --connect)", NULL,
        0};
    *out = tab;
    return n + 1;
}

static int is_default_executor(const char *name)
{
    return (strcmp(name, external) == 0) == (outside.target.host[0] != '\0');
}

static const cb_name_t workloads[] = {
    {"echo", "each connection sends --msg-bytes and waits for the echo, closed-loop", NULL, 0},
};

static uint64_t duration_ns(const params_t *p)
{
    return (uint64_t)p->duration_ms * 1000000ull;
}

/* --connect: the probe, its one line when nothing echoes there, and the
 * address in meta. Returns -1 to go on or an exit status. */
static int prepare_connect(cb_exp_t *x, params_t *p)
{
    if (p->serve) {
        fprintf(stderr, "echo: --connect and --serve: one or the other (a client or a server)\n");
        return CB_EXIT_USAGE;
    }
    for (char **e = x->opts.executors; e && *e; e++)
        if (strcmp(*e, external) != 0) {
            fprintf(stderr,
                    "echo: --connect measures the server at %s:%s alone: leave out "
                    "--executors %s\n",
                    p->connect.host, p->connect.port, *e);
            return CB_EXIT_USAGE;
        }
    outside.target = p->connect;
    double t = x->opts.timeout_s > 0 && x->opts.timeout_s < 5 ? x->opts.timeout_s : 5;
    if (cb_echo_bench_probe(&outside, (size_t)p->msg_bytes, t) < 0) {
        fprintf(stderr, "echo: could not run: the probe of --connect did not start\n");
        return CB_EXIT_NORUN;
    }
    char arg[300];
    connect_format(&p->connect, arg, sizeof(arg));
    if (!outside.ok)
        fprintf(stderr, "echo: --connect %s: %s\n", arg, outside.why);
    if (cb_exp_meta(x, "connect_address", "%s", outside.ok ? outside.shown : "") < 0)
        return CB_EXIT_NORUN;
    return -1;
}

static int prepare(cb_exp_t *x)
{
    params_t *p = x->params;
    if (cb_exp_flag_given(x, "port") && !p->serve) {
        fprintf(stderr,
                "echo: --port %ld: only with --serve (the bench takes ports from the kernel)\n",
                p->port);
        return CB_EXIT_USAGE;
    }
    /* 1000 connections hold 2000 sockets (both ends live in this run). */
    long nofile = cb_echo_raise_nofile();
    if (p->connect.host[0]) {
        int rc = prepare_connect(x, p);
        if (rc >= 0)
            return rc;
    }
    if (p->serve)
        return cb_echo_bench_serve(x, (cb_echo_model_t)(p->serve - 1), (int)p->port,
                                   p->hybrid_threads ? (int)p->hybrid_threads
                                                     : 5 * cb_topo_allowed_cores(x->topo));
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

/* The outside server: one row per connection count, the client pinned as
 * for any model. */
static int build_outside(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    cb_echo_bench_t *c = cfg->ctx;
    if (!outside.target.host[0]) {
        fprintf(stderr, "echo: executor external: give the server with --connect HOST:PORT\n");
        return CB_EXIT_USAGE;
    }
    if (pt->wi > 0)
        return CB_BUILD_SKIP;
    *c = (cb_echo_bench_t){
        .conns = (int)p->connections.v[pt->variant],
        .workers = 0,
        .msg_bytes = (size_t)p->msg_bytes,
        .topo = x->topo,
        .warmup_ns = cb_echo_bench_warmup_ns(duration_ns(p)),
        .duration_ns = duration_ns(p),
        .outside = &outside,
    };
    if (cb_echo_bench_pin(x, pt->pin, 1, c) != 0)
        return CB_EXIT_USAGE;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, 0, c->conns, pt->pin->name},
        .metrics = cb_echo_bench_outside_metrics,
        .nmetrics = (int)cb_echo_bench_outside_nmetrics,
        .measure = cb_echo_bench_measure,
        .ctx = c,
    };
    return CB_BUILD_ADD;
}

/* A CPython server: one row per connection count (workers: the connection
 * count for py_thread, the pool's 3, else 1), pinned as the C model of its
 * shape (py_thread and py_thread_pool as thread, the one-loop ones on one
 * PU); skipped rows with the reason when there is no interpreter. */
static int build_py(cb_exp_t *x, const cb_point_t *pt, const pymodel_t *pm, cb_config_t *cfg)
{
    const params_t *p = x->params;
    cb_echo_bench_t *c = cfg->ctx;
    if (pt->wi > 0 || cb_exp_no_python(x))
        return CB_BUILD_SKIP;
    const char *why = NULL;
    const char *python = cb_exp_python(x, &why);
    if (python && !py_script && !(py_script = cb_runner_find_data(x->argv0, python_side.script))) {
        python = NULL;
        why = "scripts/python_echo.py not found";
    }
    uint64_t dur = (uint64_t)p->py_duration_ms * 1000000ull;
    *c = (cb_echo_bench_t){
        .conns = (int)p->connections.v[pt->variant],
        .workers = pm->pool ? pm->pool : 1,
        .msg_bytes = (size_t)p->msg_bytes,
        .topo = x->topo,
        .warmup_ns = cb_echo_bench_warmup_ns(dur),
        .duration_ns = dur,
        .py = {pm->model, python, py_script, why, pm->pool},
    };
    if (cb_echo_bench_pin(x, pt->pin, pm->one_loop ? 1 : (int)x->workers[0], c) != 0)
        return CB_EXIT_USAGE;
    long workers = strcmp(pm->model, "thread") == 0 ? c->conns : c->workers;
    /* No warm-up repetition (each measurement starts a fresh interpreter,
     * 0.05-0.6 s with gevent's patching, and warms up in its own window);
     * the first 3 repetitions (under --quick the first): in all 5 the
     * interpreters' starts made the default run 1.46x as long as without
     * them, and --quick 1.8x. */
    int warmup, reps = cb_exp_reps(x, &warmup);
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, workers, c->conns, pt->pin->name},
        .metrics = cb_echo_bench_metrics,
        .nmetrics = (int)cb_echo_bench_nmetrics,
        .measure = cb_echo_bench_measure,
        .ctx = c,
        /* the interpreter's start (at most 15 s) and the window */
        .timeout_s = x->opts.timeout_s > 0 ? 0 : (double)(dur + c->warmup_ns) / 1e9 + 35,
        .reps = x->opts.quick ? 1
                : reps < 3    ? reps
                              : 3,
        /* --tutorial's estimate: the window, its warm-up, the start */
        .expected_s = (double)(dur + c->warmup_ns) / 1e9 + 0.4,
    };
    return CB_BUILD_ADD;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    cb_echo_bench_t *c = cfg->ctx;
    if (strcmp(pt->executor, external) == 0)
        return build_outside(x, pt, cfg);
    const pymodel_t *pm = pymodel(pt->executor);
    if (pm && !outside.target.host[0])
        return build_py(x, pt, pm, cfg);
    if (outside.target.host[0]) {
        fprintf(stderr,
                "echo: --connect measures the server at %s:%s alone: leave out "
                "--executors %s\n",
                outside.target.host, outside.target.port, pt->executor);
        return CB_EXIT_USAGE;
    }
    cb_echo_model_t mdl = (cb_echo_model_t)cb_echo_model_parse(pt->executor);
    int pooled = cb_echo_model_pooled(mdl), thread = mdl == CB_ECHO_THREAD;
    /* hybrid with --hybrid-threads 0: the tutorial's (cores + 1) processes
     * x (5 x cores) threads, whatever --workers says (one row). */
    int tshape = mdl == CB_ECHO_HYBRID && p->hybrid_threads == 0;
    int cores = cb_topo_allowed_cores(x->topo) > 0 ? cb_topo_allowed_cores(x->topo) : 1;
    if ((!pooled || tshape) && pt->wi > 0)
        return CB_BUILD_SKIP;
    *c = (cb_echo_bench_t){
        .model = mdl,
        .conns = (int)p->connections.v[pt->variant],
        .workers = tshape   ? cores + 1
                   : pooled ? (int)pt->workers
                            : 1,
        .threads = mdl != CB_ECHO_HYBRID ? 1
                   : tshape              ? 5 * cores
                                         : (int)p->hybrid_threads,
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
        .expected_s = (double)(c->duration_ns + c->warmup_ns) / 1e9 + 0.05,
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

/* hybrid's shape against tutorial 004's processes x threads x coroutines,
 * at the largest connection count it served. */
static void verdict_hybrid(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    const cb_long_list_t *cl = &p->connections;
    int cores = cb_topo_allowed_cores(x->topo) > 0 ? cb_topo_allowed_cores(x->topo) : 1;
    for (size_t k = cl->n; k-- > 0;) {
        double q = med(r, "hybrid", cl->v[k], "req_per_s");
        if (isnan(q))
            continue;
        long procs = 0;
        for (size_t i = 0; i < cb_results_count(r); i++) {
            const cb_sample_t *smp = cb_results_get(r, i);
            if (strcmp(smp->key.executor, "hybrid") == 0 && smp->key.tasks == cl->v[k])
                procs = smp->key.workers > procs ? smp->key.workers : procs;
        }
        long threads = p->hybrid_threads ? p->hybrid_threads : 5L * cores;
        double ep = med(r, "epoll", cl->v[k], "req_per_s");
        fprintf(out,
                "\nhybrid (E11, tutorial 004: (cores + 1) processes x (5 x cores) threads x 500 "
                "coroutines = %d x %d x 500 = %d here):\n  %ld process(es) x %ld thread(s), a "
                "coroutine per connection: %.0f req/s at %ld connections",
                cores + 1, 5 * cores, (cores + 1) * 5 * cores * 500, procs, threads, q, cl->v[k]);
        if (!isnan(ep))
            fprintf(out, ", %.2fx epoll's", q / ep);
        fprintf(out, "%s\n",
                p->hybrid_threads == 1 ? " (--hybrid-threads 0: the tutorial's shape)" : "");
        return;
    }
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const cb_long_list_t *cl = &((const params_t *)x->params)->connections;
    const char *ref = cb_echo_model_name(CB_ECHO_THREAD); /* what the event loops face */
    fprintf(out, "\nE10/E11 (medians; '-' = not served, see the status column):\n");
    fprintf(out, "%-14s %6s %12s %10s %14s\n", "model", "conns", "req/s", "p99 us",
            "srv CPU us/req");
    for (size_t mdl = 0; mdl < CB_ECHO_NMODELS + NPY; mdl++) {
        const char *name = mdl < CB_ECHO_NMODELS ? cb_echo_model_name((cb_echo_model_t)mdl)
                                                 : pymodels[mdl - CB_ECHO_NMODELS].name;
        for (size_t k = 0; k < cl->n; k++) {
            if (!ran(r, name, cl->v[k]))
                continue;
            double q = med(r, name, cl->v[k], "req_per_s");
            if (isnan(q))
                fprintf(out, "%-14s %6ld %12s %10s %14s\n", name, cl->v[k], "-", "-", "-");
            else
                fprintf(out, "%-14s %6ld %12.0f %10.1f %14.2f\n", name, cl->v[k], q,
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

/* The first failed row's reason of an executor (a skipped gevent). */
static const char *why_not(const cb_results_t *r, const char *exec)
{
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status != CB_OK && strcmp(s->key.executor, exec) == 0 &&
            strcmp(s->metric, "req_per_s") == 0)
            return s->detail && s->detail[0] ? s->detail : cb_status_name(s->status);
    }
    return NULL;
}

/* The largest count at which both have a median req/s, or -1. */
static long largest_both(const cb_long_list_t *cl, const cb_results_t *r, const char *a,
                         const char *b)
{
    long best = -1;
    for (size_t k = 0; k < cl->n; k++)
        if (cl->v[k] > best && !isnan(med(r, a, cl->v[k], "req_per_s")) &&
            !isnan(med(r, b, cl->v[k], "req_per_s")))
            best = cl->v[k];
    return best;
}

/* "epoll 1.42x thread's req/s at 1000 conns (7.2 vs 15.6 us CPU/req)", a
 * fact, or why not, into buf. */
static void ratio(cb_exp_t *x, const cb_results_t *r, const char *claim, const char *ev,
                  const char *ref, char *buf, size_t len)
{
    const cb_long_list_t *cl = &((const params_t *)x->params)->connections;
    long c = largest_both(cl, r, ev, ref);
    if (c < 0) {
        const char *w = why_not(r, ev);
        if (!w)
            w = why_not(r, ref);
        snprintf(buf, len, "%s: not measured (%.80s)", ev, w ? w : "not in this run");
        return;
    }
    double a = med(r, ev, c, "req_per_s"), b = med(r, ref, c, "req_per_s");
    snprintf(buf, len, "%s %.2fx %s's req/s at %ld conns (%.1f vs %.1f us CPU/req)", ev, a / b, ref,
             c, med(r, ev, c, "server_cpu_us_per_req"), med(r, ref, c, "server_cpu_us_per_req"));
    char name[96];
    snprintf(name, sizeof(name), "%s/%s/c%ld/req_per_s_over_%s", claim, ev, c, ref);
    cb_exp_fact(x, name, a / b, "x", NAN, "%s at %ld connections: %.2fx %s's requests/s", ev, c,
                a / b, ref);
}

/* The CPython servers: each one-loop server against py_thread at every
 * count, then one line per claim with the tutorial's figure (none: the
 * tutorials give no throughput), C's and CPython's. */
static void verdict_py(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const cb_long_list_t *cl = &((const params_t *)x->params)->connections;
    const char *ref = pymodels[0].name;
    for (size_t i = 0; i < NPY; i++) {
        if (!pymodels[i].one_loop)
            continue;
        const char *ev = pymodels[i].name;
        int both = 0;
        for (size_t k = 0; k < cl->n; k++) {
            double a = med(r, ev, cl->v[k], "req_per_s"), b = med(r, ref, cl->v[k], "req_per_s");
            if (isnan(a) || isnan(b))
                continue;
            if (!both++)
                fprintf(out, "\n%s vs %s:\n", ev, ref);
            fprintf(out,
                    "  %5ld conns: %.2fx %s's req/s (%s), %.2f vs %.2f us server CPU per "
                    "request (%s)\n",
                    cl->v[k], a / b, ref, a >= b ? "at least as fast" : "slower",
                    med(r, ev, cl->v[k], "server_cpu_us_per_req"),
                    med(r, ref, cl->v[k], "server_cpu_us_per_req"),
                    med(r, ev, cl->v[k], "server_cpu_us_per_req") <
                            med(r, ref, cl->v[k], "server_cpu_us_per_req")
                        ? "less"
                        : "not less");
        }
    }
    long c = largest_both(cl, r, pymodels[1].name, ref);
    if (c > 0)
        fprintf(out,
                "\n%s at %ld conns: %.0f req/s over %.0f of %ld connections served (3 workers "
                "hold one each; the others wait)\n",
                pymodels[1].name, c, med(r, pymodels[1].name, c, "req_per_s"),
                med(r, pymodels[1].name, c, "conns_served"), c);
    char c1[200], c2[200], p1[200], p2[200], p3[200];
    const char *why = NULL;
    int py = cb_exp_python(x, &why) != NULL;
    ratio(x, r, "e10/C", "epoll", "thread", c1, sizeof(c1));
    ratio(x, r, "e11/C", "coroutine", "thread", c2, sizeof(c2));
    if (py) {
        ratio(x, r, "e10/CPython", "py_selectors", ref, p1, sizeof(p1));
        ratio(x, r, "e11/CPython", "py_asyncio", ref, p2, sizeof(p2));
        ratio(x, r, "e11/CPython", "py_gevent", ref, p3, sizeof(p3));
    }
    fprintf(out, "\nE10 (one thread multiplexing many sockets vs a thread per connection):\n");
    fprintf(out, "  tutorial: no figure (004 argues it, 20 one-message clients)\n");
    fprintf(out, "  C        %s\n", c1);
    if (py)
        fprintf(out, "  CPython  %s\n", p1);
    else
        fprintf(out, "  CPython  not measured (%s)\n", why);
    fprintf(out, "E11 (coroutines / greenlets vs a thread per connection):\n");
    fprintf(out, "  tutorial: no throughput figure (004's 50,000 counts tasks alive at once)\n");
    fprintf(out, "  C        %s\n", c2);
    if (py) {
        fprintf(out, "  CPython  %s\n", p2);
        fprintf(out, "  CPython  %s\n", p3);
    } else {
        fprintf(out, "  CPython  not measured (%s)\n", why);
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

/* --connect: the figures per count, and one line on stderr naming the
 * first failure the load met (the probe's failure was said before the
 * run). */
static void verdict_outside(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const cb_long_list_t *cl = &((const params_t *)x->params)->connections;
    char arg[300];
    connect_format(&outside.target, arg, sizeof(arg));
    fprintf(out, "\nThe echo server at %s (medians; '-' = not served, see the status column):\n",
            arg);
    fprintf(out, "%6s %12s %10s %10s\n", "conns", "req/s", "p50 us", "p99 us");
    for (size_t k = 0; k < cl->n; k++) {
        double q = med(r, external, cl->v[k], "req_per_s");
        if (isnan(q))
            fprintf(out, "%6ld %12s %10s %10s\n", cl->v[k], "-", "-", "-");
        else
            fprintf(out, "%6ld %12.0f %10.1f %10.1f\n", cl->v[k], q,
                    med(r, external, cl->v[k], "p50_us"), med(r, external, cl->v[k], "p99_us"));
    }
    for (size_t i = 0; outside.ok && i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status != CB_OK && s->status != CB_SKIPPED &&
            strcmp(s->key.executor, external) == 0) {
            fprintf(stderr, "echo: --connect %s: %ld connections: %s\n", arg, s->key.tasks,
                    s->detail && s->detail[0] ? s->detail : cb_status_name(s->status));
            break;
        }
    }
}

static void verdict_all(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    if (outside.target.host[0]) {
        verdict_outside(x, r, out);
        return;
    }
    verdict(x, r, out);
    versus_libuv(x, r, out);
    verdict_py(x, r, out);
    verdict_hybrid(x, r, out);
}

static void finish(cb_exp_t *x)
{
    (void)x;
    free(py_script);
    py_script = NULL;
}

/* The tutorials' servers: 001 and 003's thread per connection, 002's
 * ThreadPoolExecutor(3), 004's select loop and gevent, with C's thread,
 * epoll and coroutine beneath them, at 004's 20 clients and at 1000; and
 * 004's processes x threads x coroutines as the hybrid's shape. */
static const char *const tutorial[] = {"--executors",
                                       "thread,epoll,coroutine,hybrid,py_thread,py_thread_pool,"
                                       "py_selectors,py_gevent",
                                       "--connections",
                                       "20,1000",
                                       "--hybrid-threads",
                                       "0",
                                       NULL};

static const cb_experiment_def_t echo = {
    .name = "echo",
    .summary = "TCP echo servers on every server model (see --list) under a closed-loop "
               "loopback load; --connect HOST:PORT: the load alone against your server.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_echo_bench_t),
    .executors = {.names_fn = executor_names, .is_default = is_default_executor},
    .workloads = {.names = workloads, .n = sizeof(workloads) / sizeof(workloads[0])},
    .quick_reps = 3,
    .prepare = prepare,
    .variants = variants,
    .build = build,
    .verdict = verdict_all,
    .tutorial = tutorial,
    .tutorial_how = "each row's window and warm-up, the servers' and interpreters' starts",
    .finish = finish,
    .python = &python_side,
};
CB_EXPERIMENT_MAIN(echo)
