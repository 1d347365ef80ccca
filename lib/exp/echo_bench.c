/* The echo experiment's mechanisms: the model axis, one measured
 * configuration, and --serve (echo_bench.h). Moved out of bench/echo.c. */

#include "lib/exp/echo_bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/core/sandbox.h"

/* ---- the model axis ---- */

/* cb_name_t's unavailable takes no argument: one thunk per model index. */
#define UNAVAIL(i)                                                                                 \
    static const char *unavail_##i(void)                                                           \
    {                                                                                              \
        return cb_echo_model_unavailable((cb_echo_model_t)(i));                                    \
    }
UNAVAIL(0)
UNAVAIL(1)
UNAVAIL(2)
UNAVAIL(3)
UNAVAIL(4)
UNAVAIL(5)
UNAVAIL(6)
UNAVAIL(7)
static const char *(*const unavail[])(void) = {unavail_0, unavail_1, unavail_2, unavail_3,
                                               unavail_4, unavail_5, unavail_6, unavail_7};
_Static_assert(CB_ECHO_NMODELS <= sizeof(unavail) / sizeof(unavail[0]),
               "echo_bench.c: add an UNAVAIL thunk per model");

size_t cb_echo_model_names(const cb_name_t **out)
{
    static cb_name_t names[CB_ECHO_NMODELS];
    for (int i = 0; i < CB_ECHO_NMODELS; i++)
        names[i] = (cb_name_t){cb_echo_model_name((cb_echo_model_t)i),
                               cb_echo_model_summary((cb_echo_model_t)i), unavail[i], 0};
    *out = names;
    return CB_ECHO_NMODELS;
}

int cb_echo_model_flag_parse(void *field, const char *arg, char *err, size_t errlen)
{
    int m = cb_echo_model_parse(arg);
    if (m >= 0) {
        *(int *)field = m + 1;
        return 0;
    }
    /* "expected thread, thread_pool, ... or hybrid", from the table. */
    size_t w = (size_t)snprintf(err, errlen, "--serve: unknown model '%s': expected", arg);
    for (int i = 0; i < CB_ECHO_NMODELS && w < errlen; i++)
        w += (size_t)snprintf(err + w, errlen - w, "%s %s",
                              i == 0                    ? ""
                              : i + 1 < CB_ECHO_NMODELS ? ","
                                                        : " or",
                              cb_echo_model_name((cb_echo_model_t)i));
    return -1;
}

/* ---- one configuration ---- */

const cb_metric_def_t cb_echo_bench_metrics[] = {
    {"req_per_s", "1/s"},      {"p50_us", "us"}, {"p99_us", "us"}, {"server_cpu_us_per_req", "us"},
    {"conns_served", "count"},
};
const size_t cb_echo_bench_nmetrics =
    sizeof(cb_echo_bench_metrics) / sizeof(cb_echo_bench_metrics[0]);
const cb_metric_def_t cb_echo_bench_outside_metrics[] = {
    {"req_per_s", "1/s"},
    {"p50_us", "us"},
    {"p99_us", "us"},
    {"conns_served", "count"},
};
const size_t cb_echo_bench_outside_nmetrics =
    sizeof(cb_echo_bench_outside_metrics) / sizeof(cb_echo_bench_outside_metrics[0]);

uint64_t cb_echo_bench_warmup_ns(uint64_t duration_ns)
{
    return duration_ns / 5 > 20000000ull ? duration_ns / 5 : 20000000ull;
}

int cb_echo_bench_plan_pus(const cb_pin_plan_t *plan, int *pus, int cap)
{
    int n = 0;
    for (int i = 0; i < plan->nworkers && n < cap; i++)
        pus[n++] = plan->slots[i].pu_os;
    return n;
}

int cb_echo_bench_pin(cb_exp_t *x, const cb_pin_choice_t *pin, int server_workers,
                      cb_echo_bench_t *c)
{
    c->nsrv_pus = c->ncli_pus = 0;
    if (pin->policy == CB_PIN_NONE)
        return 0;
    /* Each plan's PUs are copied at once: a later cb_exp_plan may move the
     * run's plans. */
    const cb_pin_plan_t *plan = cb_exp_plan(x, pin, server_workers);
    if (!plan)
        return CB_EXIT_USAGE;
    c->nsrv_pus = cb_echo_bench_plan_pus(plan, c->srv_pus, CB_ECHO_BENCH_MAX_PUS);
    if (!(plan = cb_exp_plan(x, pin, 2)))
        return CB_EXIT_USAGE;
    for (int i = 0; i < 2; i++)
        c->cli_pus[c->ncli_pus++] = plan->slots[plan->nworkers - 1 - i].pu_os;
    return 0;
}

int cb_echo_bench_meta(cb_exp_t *x)
{
    if (cb_exp_meta(x, "latency_histogram", "%s",
                    "log-linear, 64 buckets per power of two, midpoint within 0.8 %") < 0 ||
        cb_exp_meta(x, "server_cpu", "%s",
                    "process CPU clocks of the server processes over the window") < 0)
        return -ENOMEM;
    return 0;
}

/* The server's CPU clock at the window's two ends: our server's processes
 * (s) or a CPython server's (py). */
typedef struct window {
    const cb_echo_server_t *s;
    const cb_echo_pyproc_t *py;
    uint64_t cpu[2];
    int rc;
} window_t;

static void on_window(void *arg, int phase)
{
    window_t *w = arg;
    int rc = w->py ? cb_echo_py_cpu_ns(w->py, &w->cpu[phase])
                   : cb_echo_server_cpu_ns(w->s, &w->cpu[phase]);
    if (rc < 0 && w->rc == 0)
        w->rc = rc;
}

/* The load on port, as every measurement of a server runs it: two client
 * threads bound together, the run's warm-up and window, server CPU read at
 * the window's ends into w (NULL: none, an outside server's). */
static cb_echo_load_cfg_t load_cfg(const cb_echo_bench_t *x, int port, window_t *w)
{
    return (cb_echo_load_cfg_t){
        .port = port,
        .conns = x->conns,
        .msg_bytes = x->msg_bytes,
        .threads = 2,
        .topo = x->ncli_pus ? x->topo : NULL,
        .pus = x->cli_pus,
        .npus = x->ncli_pus,
        .pin_together = 1,
        .connect_timeout_ns = 2000000000ull,
        .warmup_ns = x->warmup_ns,
        .duration_ns = x->duration_ns,
        .on_window = w ? on_window : NULL,
        .on_window_arg = w,
    };
}

/* A server's row from its load: the status (the server died, connections
 * not established, failed or wrong, fewer than want served, no CPU clock)
 * with the reason, and the five metrics. */
static void judge(const cb_echo_bench_t *x, const cb_echo_load_result_t *r, const window_t *w,
                  int want, int src, const char *died, cb_measurement_t *m)
{
    double secs = r->first_echo_s + (double)(x->duration_ns + x->warmup_ns) / 1e9;
    if (src < 0) {
        m->status = CB_CRASHED;
        snprintf(m->detail, sizeof(m->detail), "%s", died);
    } else if (r->established < x->conns) {
        m->status = CB_TIMEOUT;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections not established (%s)",
                 x->conns - r->established, x->conns, strerror(r->first_errno));
    } else if (r->failed > 0 || r->mismatched > 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%d connections failed (%s), %llu bad echoes",
                 r->failed, r->first_errno ? strerror(r->first_errno) : "-",
                 (unsigned long long)r->mismatched);
    } else if (r->served < want) {
        m->status = CB_TIMEOUT;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections got no echo in %.1f s",
                 x->conns - r->served, x->conns, secs);
    } else if (w->rc < 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "server CPU clock: %s", strerror(-w->rc));
    }
    m->values[0] = r->req_per_s;
    m->values[1] = r->p50_us;
    m->values[2] = r->p99_us;
    m->values[3] =
        r->requests ? (double)(w->cpu[1] - w->cpu[0]) / 1e3 / (double)r->requests : (double)NAN;
    m->values[4] = r->served;
}

/* ---- an outside server ---- */

typedef struct probe_arg {
    const cb_echo_target_t *target;
    size_t msg_bytes;
    uint64_t timeout_ns;
} probe_arg_t;

static int probe_child(void *shm, void *arg)
{
    const probe_arg_t *a = arg;
    cb_echo_outside_t *o = shm;
    o->ok = cb_echo_probe(a->target, a->msg_bytes, a->timeout_ns, &o->addr, &o->addrlen, o->why,
                          sizeof(o->why)) == 0;
    return 0;
}

int cb_echo_bench_probe(cb_echo_outside_t *o, size_t msg_bytes, double timeout_s)
{
    cb_echo_outside_t *shm = cb_sandbox_shm_alloc(sizeof(*shm));
    if (!shm)
        return -ENOMEM;
    probe_arg_t a = {&o->target, msg_bytes, (uint64_t)(timeout_s * 1e9)};
    cb_sandbox_result_t res;
    int rc = cb_sandbox_run(probe_child, &a, shm, a.timeout_ns + 1000000000ull, &res);
    if (rc == 0) {
        cb_echo_target_t t = o->target;
        *o = *shm;
        o->target = t;
        if (res.status != CB_OK) {
            o->ok = 0;
            snprintf(o->why, sizeof(o->why), "no answer from %.64s:%s within %.1f s (%.40s)",
                     t.host, t.port, timeout_s,
                     res.status == CB_TIMEOUT ? "resolving or connecting" : res.detail);
        }
        o->shown[0] = '\0';
        char h[INET6_ADDRSTRLEN] = "?";
        const struct sockaddr *sa = (const struct sockaddr *)&o->addr;
        if (o->ok && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, h, sizeof(h));
        if (o->ok && sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, h, sizeof(h));
        if (o->ok)
            snprintf(o->shown, sizeof(o->shown), "%s port %s", h, t.port);
    }
    cb_sandbox_shm_free(shm, sizeof(*shm));
    return rc;
}

static int measure_outside(const cb_echo_bench_t *x, cb_measurement_t *m)
{
    const cb_echo_outside_t *o = x->outside;
    if (!o->ok) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%.95s", o->why);
        return 0;
    }
    cb_echo_load_cfg_t lc = load_cfg(x, 0, NULL);
    lc.addr = (const struct sockaddr *)&o->addr;
    lc.addrlen = o->addrlen;
    cb_echo_load_result_t r;
    /* Timed (inside cb_echo_load_run): the window after every connection
     * is up and a warm-up has passed. */
    int rc = cb_echo_load_run(&lc, &r);
    if (rc < 0) {
        snprintf(m->detail, sizeof(m->detail), "load: %s", strerror(-rc));
        return rc;
    }
    if (r.established < x->conns) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections not established (%.40s)",
                 x->conns - r.established, x->conns, strerror(r.first_errno));
    } else if (r.closed > 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections closed by the server",
                 r.closed, x->conns);
    } else if (r.failed > 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections failed (%.40s)", r.failed,
                 x->conns, r.first_errno ? strerror(r.first_errno) : "-");
    } else if (r.mismatched > 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%llu echoes differed from what was sent",
                 (unsigned long long)r.mismatched);
    } else if (r.served < x->conns) {
        m->status = CB_TIMEOUT;
        snprintf(m->detail, sizeof(m->detail), "%d of %d connections got no echo in %.1f s",
                 x->conns - r.served, x->conns, (double)(x->duration_ns + x->warmup_ns) / 1e9);
    }
    m->values[0] = r.req_per_s;
    m->values[1] = r.p50_us;
    m->values[2] = r.p99_us;
    m->values[3] = r.served;
    return 0;
}

/* ---- a CPython server ---- */

/* As for a C server, but the server is python_echo.py's, and the closed
 * loop starts once every connection had its first echo (first_echo_ns); a
 * pool of W one-connection workers is ok having served W of more
 * connections (conns_served says how many). */
static int measure_py(const cb_echo_bench_t *x, cb_measurement_t *m)
{
    const cb_echo_py_t *py = &x->py;
    if (!py->python) {
        m->status = CB_SKIPPED;
        snprintf(m->detail, sizeof(m->detail), "%s", py->why ? py->why : "no python3");
        return 0;
    }
    cb_echo_pyproc_t s;
    cb_status_t st;
    if (cb_echo_py_start(py, x->srv_pus, x->nsrv_pus, 15, &s, &st, m->detail, sizeof(m->detail)) <
        0) {
        m->status = st;
        return 0;
    }
    window_t w = {.py = &s};
    int want = py->pool > 0 && py->pool < x->conns ? py->pool : x->conns;
    cb_echo_load_cfg_t lc = load_cfg(x, s.port, &w);
    /* CPython accepts and starts serving 1000 connections in a good
     * fraction of a second: the window starts after that. */
    lc.first_echo_ns = 5000000000ull;
    lc.first_echo_conns = want;
    cb_echo_load_result_t r;
    int rc = cb_echo_load_run(&lc, &r);
    char died[96] = "";
    int src = cb_echo_py_stop(&s, py->model, died, sizeof(died));
    if (rc < 0) {
        snprintf(m->detail, sizeof(m->detail), "load: %s", strerror(-rc));
        return rc;
    }
    judge(x, &r, &w, want, src, died, m);
    return 0;
}

int cb_echo_bench_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const cb_echo_bench_t *x = c->ctx;
    if (x->outside)
        return measure_outside(x, m);
    if (x->py.model)
        return measure_py(x, m);
    cb_echo_server_cfg_t sc = {
        .model = x->model,
        .workers = x->workers,
        .threads = x->threads,
        .topo = x->nsrv_pus ? x->topo : NULL,
        .pus = x->srv_pus,
        .npus = x->nsrv_pus,
    };
    cb_echo_server_t *s = NULL;
    int rc = cb_echo_server_start(&sc, &s, m->detail, sizeof(m->detail));
    if (rc < 0)
        return rc;
    window_t w = {.s = s};
    cb_echo_load_cfg_t lc = load_cfg(x, cb_echo_server_port(s), &w);
    /* thread: the warm-up and window start once every connection had its
     * first echo (at most 5 s), as for the CPython servers: its accept loop
     * creates a thread per connection while the first ones already keep
     * both PUs busy, and --quick's 100 ms window closed with 3-94 of 1000
     * connections not yet served here. */
    if (x->model == CB_ECHO_THREAD)
        lc.first_echo_ns = 5000000000ull;
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
    judge(x, &r, &w, x->conns, src, died, m);
    return 0;
}

/* ---- --serve ---- */

int cb_echo_bench_serve(cb_exp_t *x, cb_echo_model_t model, int port, int threads)
{
    const char *prog = x->def->name;
    int workers = x->nworkers ? (int)x->workers[0] : 1;
    const cb_pin_plan_t *plan = cb_exp_plan(x, NULL, workers);
    if (!plan)
        return CB_EXIT_USAGE;
    int pus[CB_ECHO_BENCH_MAX_PUS], npus = 0;
    if (x->opts.pin != CB_PIN_NONE)
        npus = cb_echo_bench_plan_pus(plan, pus, CB_ECHO_BENCH_MAX_PUS);
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
        .port = port,
        .workers = workers,
        .threads = threads,
        .topo = npus ? x->topo : NULL,
        .pus = pus,
        .npus = npus,
    };
    cb_echo_server_t *s = NULL;
    char err[128];
    int rc = cb_echo_server_start(&sc, &s, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
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
        fprintf(stderr, "%s: %s\n", prog, detail);
        return CB_EXIT_FAILED;
    }
    fprintf(stderr, "%s: %s: stopped\n", prog, strsignal(sig));
    return CB_EXIT_OK;
}
