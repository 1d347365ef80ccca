#ifndef CB_ECHO_H
#define CB_ECHO_H

/* TCP echo servers on every execution model, and the loopback load that
 * drives them (experiments E10/E11), or an outside server (--connect).
 *
 * Every server runs in forked server processes (one, or one per worker), so
 * its CPU time can be read apart from the client's (the process CPU clock
 * of each server pid, clock_getcpuclockid; it includes threads that have
 * exited) and a server that dies costs one configuration, not the harness.
 * The models (names fixed, lower_snake_case):
 *   thread        one process; an accept loop starts one detached pthread per
 *                 connection, which serves it with blocking read/write until
 *                 the peer closes. Connection k's thread is pinned to
 *                 pus[k % npus] (round robin over the plan).
 *   thread_pool   one process; the accept loop hands each connection, round
 *                 robin, to one of W pinned worker threads, each serving all
 *                 of its connections with its own level-triggered epoll loop
 *                 (memcached's design). (A Python ThreadPoolExecutor echo
 *                 server, whose worker holds one connection until it closes,
 *                 serves only W connections at a time.)
 *   process_pool  W pre-forked pinned processes share one non-blocking
 *                 listening socket (EPOLLEXCLUSIVE); each accepts and serves
 *                 its connections with its own level-triggered epoll loop.
 *   epoll         one process, one pinned thread, non-blocking sockets,
 *                 level-triggered epoll.
 *   coroutine     one process, one pinned thread, one coroutine per
 *                 connection on the sched.h scheduler (cb_sched_wait_fd).
 *   hybrid        W pinned processes x T threads (threads, 1 by default), each
 *                 thread with its own SO_REUSEPORT listening socket on the
 *                 same port, its own coroutine scheduler and a coroutine per
 *                 connection: tutorial 004's processes x threads x
 *                 coroutines.
 *   libuv         one process, one pinned thread running libuv's loop, in the
 *                 shape of libuv's guide's echo server (uv_listen, uv_accept,
 *                 uv_read_start, uv_write; echo_libuv.c).
 * All sockets are TCP_NODELAY on 127.0.0.1. */

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/core/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cb_echo_model {
    CB_ECHO_THREAD = 0,
    CB_ECHO_THREAD_POOL,
    CB_ECHO_PROCESS_POOL,
    CB_ECHO_EPOLL,
    CB_ECHO_COROUTINE,
    CB_ECHO_HYBRID,
    CB_ECHO_LIBUV,
    CB_ECHO_NMODELS,
} cb_echo_model_t;

/* "thread", "thread_pool", ...; NULL for an out-of-range model. */
const char *cb_echo_model_name(cb_echo_model_t m);
/* One line for --list. */
const char *cb_echo_model_summary(cb_echo_model_t m);
/* NULL when the model works on this host, else why not. */
const char *cb_echo_model_unavailable(cb_echo_model_t m);
/* The model with this name, or -1. */
int cb_echo_model_parse(const char *name);
/* 1 when the model runs W workers (thread_pool, process_pool, hybrid). */
int cb_echo_model_pooled(cb_echo_model_t m);
/* 1 when the model serves every connection from one thread's event loop
 * (epoll, coroutine, libuv): the models E10/E11 hold against thread. */
int cb_echo_model_one_loop(cb_echo_model_t m);

/* ---- servers ---- */

typedef struct cb_echo_server_cfg {
    cb_echo_model_t model;
    int port;    /* 0: the kernel picks one */
    int workers; /* thread_pool, process_pool, hybrid; ignored by the others */
    int threads; /* hybrid: threads per process (0: 1); ignored by the others */
    int backlog; /* listen() backlog; 0: SOMAXCONN */
    /* Pinning: worker i (the single thread of epoll / coroutine is worker 0;
     * for thread, the thread of the i-th connection) binds to pus[i % npus];
     * topo NULL, npus 0 or a negative entry: none. */
    const cb_topo_t *topo;
    const int *pus;
    int npus;
} cb_echo_server_cfg_t;

typedef struct cb_echo_server cb_echo_server_t;

/* Starts the server: makes the listening socket on 127.0.0.1 (here, before
 * forking, so a taken port is reported here), forks the server processes and
 * waits (at most 5 s) until each reports that it is serving. Call from a
 * single-threaded process (it forks). Returns 0 with *out set, or a negative
 * errno (-EADDRINUSE: the port is taken) with one line in err. */
int cb_echo_server_start(const cb_echo_server_cfg_t *cfg, cb_echo_server_t **out, char *err,
                         size_t errlen);

/* The port the server listens on. */
int cb_echo_server_port(const cb_echo_server_t *s);

/* The server processes: count and pids (for tests that kill one). */
int cb_echo_server_npids(const cb_echo_server_t *s);
pid_t cb_echo_server_pid(const cb_echo_server_t *s, int i);

/* Sum of the server processes' CPU time (user + system, every thread, the
 * exited ones included) in ns. Returns 0, or a negative errno (-ESRCH once a
 * server process has been reaped). */
int cb_echo_server_cpu_ns(const cb_echo_server_t *s, uint64_t *ns);

/* Reaps any server process that has died on its own. Returns 0 when all are
 * running, or -ECHILD with "server process PID died: SIGKILL" in detail. */
int cb_echo_server_check(cb_echo_server_t *s, char *detail, size_t len);

/* Stops the server (SIGTERM, then SIGKILL after 1 s), reaps every process
 * and frees s (NULL is a no-op). Returns 0, or -ECHILD with the detail line
 * when a server process had died before it was stopped. */
int cb_echo_server_stop(cb_echo_server_t *s, char *detail, size_t len);

/* ---- latency histogram ---- */

/* Log-linear: values below 64 ns exact, above that 64 linear sub-buckets per
 * power of two, so a bucket is at most 1/64 of its lower bound wide and a
 * reported quantile (the bucket's midpoint) is within 1/128 (0.8 %) of the
 * true sample. Values from 2^40 ns (18 min) up share the last bucket. */
#define CB_ECHO_HIST_SUB 64
#define CB_ECHO_HIST_BUCKETS (CB_ECHO_HIST_SUB + (40 - 6) * CB_ECHO_HIST_SUB)

typedef struct cb_echo_hist {
    uint64_t count;
    uint64_t b[CB_ECHO_HIST_BUCKETS];
} cb_echo_hist_t;

void cb_echo_hist_add(cb_echo_hist_t *h, uint64_t ns);
void cb_echo_hist_merge(cb_echo_hist_t *into, const cb_echo_hist_t *from);
/* The q-quantile (0 < q <= 1; nearest rank: the ceil(q * count)-th smallest
 * sample) as its bucket's midpoint, in ns. NaN when empty. */
double cb_echo_hist_quantile_ns(const cb_echo_hist_t *h, double q);

/* ---- the load ---- */

typedef struct cb_echo_load_cfg {
    int port; /* on 127.0.0.1, when addr is NULL */
    /* The server's address (IPv4 or IPv6: an outside server, --connect),
     * or NULL: 127.0.0.1:port. */
    const struct sockaddr *addr;
    socklen_t addrlen;
    int conns;             /* connections */
    size_t msg_bytes;      /* per request; the echo must match byte for byte */
    int threads;           /* client threads, each with its own epoll; 0: 2 */
    const cb_topo_t *topo; /* client thread i on pus[i % npus]; NULL / 0: none */
    const int *pus;
    int npus;
    /* 1: every client thread is bound to all of pus together, and the
     * kernel places it among them (taskset -c). One client thread per PU
     * would split a one-thread server's PU evenly with the client thread
     * pinned there, however busy the server. */
    int pin_together;
    uint64_t connect_timeout_ns; /* for all connections together; 0: 2 s */
    uint64_t warmup_ns;          /* unmeasured, after every connection is up */
    uint64_t duration_ns;        /* the measured window */
    /* 0: closed loop until the window ends. N > 0: each connection stops
     * after N echoes, and the run ends as soon as every connection has
     * stopped (or at the window's end, whichever is first): for tests that
     * must not depend on speed. */
    int requests_per_conn;
    /* > 0: each connection sends one request and, echoed, waits; the
     * closed loop and the warm-up start once first_echo_conns connections
     * (at most the established ones) have had their first echo, or
     * first_echo_ns after they were up, whichever comes first, instead of
     * at once: for servers that take their time to accept and start
     * serving many connections (CPython's: busy connections starve its
     * accept loop), so that their start is left out of the window as a C
     * server's is. r->first_echo_s says how long it took. */
    uint64_t first_echo_ns;
    int first_echo_conns;
    /* Called in the caller's thread at the start (phase 0) and the end
     * (phase 1) of the measured window, e.g. to read the server's CPU. */
    void (*on_window)(void *arg, int phase);
    void *on_window_arg;
} cb_echo_load_cfg_t;

typedef struct cb_echo_load_result {
    uint64_t requests;     /* echoes completed inside the window */
    double window_s;       /* the window's length (shorter when requests_per_conn ended it) */
    double req_per_s;      /* requests / window_s */
    double p50_us, p99_us; /* request latency (send start to last byte back); NaN: none */
    int established;       /* connections whose connect completed */
    int served;            /* connections that got at least one whole echo */
    int failed;            /* connections that ended early (reset, EOF, error) */
    int closed;            /* ... of them, those the server closed (EOF) */
    int first_errno;       /* errno of the first failure (ECONNRESET, ETIMEDOUT...) */
    uint64_t mismatched;   /* echoes that came back different */
    double first_echo_s;   /* first_echo_ns: from connected to the warm-up's start */
} cb_echo_load_result_t;

/* Runs the closed-loop load: opens conns connections (non-blocking connect,
 * bounded by connect_timeout_ns), then each sends msg_bytes and waits for
 * the echo, again and again, through the warm-up and the window; then closes
 * them all. Every wait is bounded by the window's end, so a server that
 * stops answering costs time, never a hang. Failures are counted in *r, not
 * returned. Returns 0, or a negative errno when the load itself could not
 * run (threads, memory, epoll). */
int cb_echo_load_run(const cb_echo_load_cfg_t *cfg, cb_echo_load_result_t *r);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit. Returns the new soft
 * limit, or a negative errno. */
long cb_echo_raise_nofile(void);

/* ---- an outside server (--connect) ---- */

/* HOST:PORT: a name or an address (an IPv6 one in brackets, [::1]:7), and
 * a port number. */
typedef struct cb_echo_target {
    char host[256];
    char port[8];
} cb_echo_target_t;

/* Parses arg as HOST:PORT. Returns 0, or -1 with the one-line reason in
 * err (no port, a port outside 1-65535, an empty or too long host). */
int cb_echo_target_parse(const char *arg, cb_echo_target_t *t, char *err, size_t errlen);

/* Checks that the target is an echo server before any load: resolves it
 * (getaddrinfo), connects (each address in turn), sends one msg_bytes
 * message (the load's pattern) and reads the echo back, comparing every
 * byte, all within timeout_ns (the name lookup is not bounded here: run
 * this where a timeout can stop it, as a sandbox child). Returns 0 with the
 * address that echoed in *addr and *addrlen, or a negative errno with one
 * line in why: cannot resolve, connection refused, no answer, closed or
 * reset after K bytes, differs at byte K, no echo in time. */
int cb_echo_probe(const cb_echo_target_t *t, size_t msg_bytes, uint64_t timeout_ns,
                  struct sockaddr_storage *addr, socklen_t *addrlen, char *why, size_t len);

#ifdef __cplusplus
}
#endif
#endif
