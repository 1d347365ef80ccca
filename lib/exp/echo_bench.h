#ifndef CB_ECHO_BENCH_H
#define CB_ECHO_BENCH_H

/* The echo experiment's mechanisms (E10/E11), for bench/echo.c: the server
 * models as an axis, one measured configuration (a server on one model,
 * the closed-loop load against it, the row's status and the server's CPU
 * over the measured window), and the --serve mode (one model as a plain
 * echo server until SIGINT or SIGTERM). */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/core/experiment.h"
#include "lib/core/names.h"
#include "lib/core/runner.h"
#include "lib/exp/echo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The model table (echo.h) as axis rows, in model order: row i is model i.
 * A names_fn for cb_axis_t. */
size_t cb_echo_model_names(const cb_name_t **out);

/* A CB_FLAG_CUSTOM parser over an int field: the model named by arg, plus
 * one (0 stays "not given"). The error line lists the table's names. */
int cb_echo_model_flag_parse(void *field, const char *arg, char *err, size_t errlen);

/* ---- an outside server (--connect) ---- */

/* The server at --connect's HOST:PORT, as the probe found it. */
typedef struct cb_echo_outside {
    cb_echo_target_t target;
    int ok;          /* it echoed the probe's message */
    char why[160];   /* else why not, one line */
    char shown[112]; /* the address that echoed, for meta ("127.0.0.1 port 7") */
    struct sockaddr_storage addr;
    socklen_t addrlen;
} cb_echo_outside_t;

/* Runs cb_echo_probe on o->target in a sandbox child limited to timeout_s
 * (plus a second, so that a name lookup that hangs is stopped too) and
 * fills the rest of o. Returns 0 (o->ok says how it went), or a negative
 * errno when the child could not run. */
int cb_echo_bench_probe(cb_echo_outside_t *o, size_t msg_bytes, double timeout_s);

/* ---- a CPython server (the py_* rows) ---- */

/* scripts/python_echo.py --serve MODEL under an interpreter, which says
 * how each model works. */
typedef struct cb_echo_py {
    const char *model;  /* thread, thread_pool, selectors, asyncio, gevent */
    const char *python; /* the interpreter; NULL: the rows are skipped with why */
    const char *script; /* python_echo.py's path */
    const char *why;
    /* > 0: a pool of this many workers, each holding one connection until
     * it closes (ThreadPoolExecutor(3)): with more connections the others
     * wait, and the row is ok when this many were served. */
    int pool;
} cb_echo_py_t;

/* A CPython server process, started by cb_echo_py_start. */
typedef struct cb_echo_pyproc {
    pid_t pid;
    int port;
    int err_fd; /* its stderr: an unlinked file, for the reason it failed */
} cb_echo_pyproc_t;

/* Starts py's server as a tracked child (it dies with the caller:
 * PR_SET_PDEATHSIG), bound to pus (npus 0: unbound), and waits, at most
 * timeout_s, for its "listening on 127.0.0.1:PORT" line. Returns 0 with *s
 * filled, or -1 with *st (CB_SKIPPED when the script said "skip: REASON",
 * else CB_ERROR) and one line in why. Call from a single-threaded
 * process. */
int cb_echo_py_start(const cb_echo_py_t *py, const int *pus, int npus, double timeout_s,
                     cb_echo_pyproc_t *s, cb_status_t *st, char *why, size_t len);

/* The server process's CPU time (user + system, every thread) in ns.
 * Returns 0 or a negative errno. */
int cb_echo_py_cpu_ns(const cb_echo_pyproc_t *s, uint64_t *ns);

/* Stops the server (SIGTERM, then SIGKILL after 1 s) and reaps it. Returns
 * 0, or -ECHILD with "py_thread server died: ..." (its signal or exit
 * status and the last line of its stderr) when it had ended before. */
int cb_echo_py_stop(cb_echo_pyproc_t *s, const char *model, char *why, size_t len);

/* ---- one configuration ---- */

#define CB_ECHO_BENCH_MAX_PUS 256

/* A configuration's context (cfg->ctx of cb_echo_bench_measure). */
typedef struct cb_echo_bench {
    cb_echo_model_t model;
    int conns;   /* client connections */
    int workers; /* the server's (pooled models; 1 for the others) */
    int threads; /* hybrid: threads per process */
    size_t msg_bytes;
    const cb_topo_t *topo;
    int srv_pus[CB_ECHO_BENCH_MAX_PUS], nsrv_pus; /* the server's workers; 0: unpinned */
    int cli_pus[2], ncli_pus; /* the client's two threads, bound together; 0: unpinned */
    uint64_t warmup_ns, duration_ns;
    /* Set: the load alone, against this outside server (model unused). */
    const cb_echo_outside_t *outside;
    /* py.model set: a CPython server instead of model (cb_echo_py_t). */
    cb_echo_py_t py;
} cb_echo_bench_t;

/* req_per_s, p50_us, p99_us, server_cpu_us_per_req, conns_served. */
extern const cb_metric_def_t cb_echo_bench_metrics[];
extern const size_t cb_echo_bench_nmetrics;
/* The same without server_cpu_us_per_req, which an outside server's
 * process does not give us. */
extern const cb_metric_def_t cb_echo_bench_outside_metrics[];
extern const size_t cb_echo_bench_outside_nmetrics;

/* The unmeasured warm-up before a window of duration_ns: a fifth of it, at
 * least 20 ms. */
uint64_t cb_echo_bench_warmup_ns(uint64_t duration_ns);

/* Copies the plan's PUs (at most cap) into pus; returns how many. */
int cb_echo_bench_plan_pus(const cb_pin_plan_t *plan, int *pus, int cap);

/* Pins c under pin (policy none: leaves it unpinned): the server's workers
 * on the plan for server_workers (the thread model passes the first
 * --workers count: its connection threads go round robin over that plan),
 * and the client's two threads (each an epoll loop over its share of the
 * connections) bound together to the last two PUs of a 2-worker plan (each
 * may run on either; the kernel places them), away from the first PUs the
 * server's workers take wherever the machine has enough PUs. The plans
 * are the run's (cb_exp_plan); their PUs are copied into c. Returns 0, or
 * CB_EXIT_USAGE after printing why.
 *
 * Why together: on a 2-PU machine client and server share the PUs, and a
 * one-thread server (epoll, coroutine) computes on one PU while thread and
 * the pools use both: above a few connections throughput is CPU-bound, and
 * server CPU per request is the model's own cost. Binding client thread i
 * to PU i instead capped a one-thread server at about half of its PU (the
 * kernel shares a PU evenly between the server and the client thread
 * pinned there): epoll and coroutine then served 0.85-0.95x thread's req/s
 * at 1000 connections, against 1.5-1.6x with the client bound as a pair.
 * Giving the client PUs of its own on 2 PUs (both client threads on the PU
 * the one-thread server leaves free) made the client the bottleneck at
 * about 40k req/s. With one connection every request crosses PUs twice; on
 * a VM an idle vCPU's wake-up makes that round trip cost ~100 us. */
int cb_echo_bench_pin(cb_exp_t *x, const cb_pin_choice_t *pin, int server_workers,
                      cb_echo_bench_t *c);

/* Adds the meta keys that say how the metrics are taken (latency_histogram,
 * server_cpu). Returns 0 or -ENOMEM. */
int cb_echo_bench_meta(cb_exp_t *x);

/* A cb_config_t measure: starts the server, runs the load (the window
 * after every connection is up and the warm-up has passed; server CPU is
 * read at its two ends), stops the server and sets the row's status and
 * detail (crashed, connections not established / failed / not served, bad
 * echoes). With c->outside, only the load, against that server: a failed
 * probe, connections not established, closed by the server or failed, and
 * bad echoes are errors with the reason; connections that got no echo in
 * the window a timeout. */
int cb_echo_bench_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

/* ---- --serve ---- */

/* Runs model as a plain echo server on 127.0.0.1:port (0: one from the
 * kernel) with the run's first worker count, pinned to its plan under
 * --pin, printing "listening on 127.0.0.1:PORT ..." (the port it got, the
 * kernel's pick for 0) once it serves, until SIGINT or
 * SIGTERM or a server process dies. Returns the exit status: CB_EXIT_OK
 * after a signal, CB_EXIT_USAGE when the port is taken or not allowed or
 * the plan cannot be made, else CB_EXIT_FAILED (each after one line). */
int cb_echo_bench_serve(cb_exp_t *x, cb_echo_model_t model, int port, int threads);

#ifdef __cplusplus
}
#endif
#endif
