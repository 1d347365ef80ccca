#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/exec/coro.h"
#include "lib/exp/echo.h"
#include "lib/exp/echo_server_internal.h"
#include "lib/core/sandbox.h"
#include "lib/exec/sched.h"

#define MAX_PROCS 256
/* Per-connection buffer: one read's worth. Messages larger than this are
 * echoed in pieces (the client counts bytes, not reads). */
#define CONN_BUF 16384
#define THREAD_STACK (128 * 1024)
#define CORO_STACK (64 * 1024)

static const struct {
    const char *name, *summary;
    int one_loop; /* every connection on one thread's event loop */
} models[CB_ECHO_NMODELS] = {
    [CB_ECHO_THREAD] = {"thread", "one pthread per connection, blocking I/O, pinned round robin"},
    [CB_ECHO_THREAD_POOL] = {"thread_pool",
                             "accept loop hands connections round robin to W pinned threads, "
                             "each a level-triggered epoll loop"},
    [CB_ECHO_PROCESS_POOL] = {"process_pool",
                              "W pre-forked pinned processes on one shared listening socket, "
                              "each a level-triggered epoll loop"},
    [CB_ECHO_EPOLL] = {"epoll", "one pinned thread, non-blocking sockets, level-triggered epoll",
                       .one_loop = 1},
    [CB_ECHO_COROUTINE] = {"coroutine", "one pinned thread, a coroutine per connection (sched.h)",
                           .one_loop = 1},
    [CB_ECHO_HYBRID] = {"hybrid",
                        "W pinned processes x --hybrid-threads threads, each thread its own "
                        "SO_REUSEPORT listener and a coroutine per connection"},
    [CB_ECHO_LIBUV] = {"libuv",
                       "one pinned thread, libuv's loop (uv_listen, uv_read_start, uv_write: "
                       "libuv's guide's echo server)",
                       .one_loop = 1},
};

const char *cb_echo_model_name(cb_echo_model_t m)
{
    return (unsigned)m < CB_ECHO_NMODELS ? models[m].name : NULL;
}

const char *cb_echo_model_summary(cb_echo_model_t m)
{
    return (unsigned)m < CB_ECHO_NMODELS ? models[m].summary : NULL;
}

const char *cb_echo_model_unavailable(cb_echo_model_t m)
{
    (void)m;
    return NULL;
}

int cb_echo_model_parse(const char *name)
{
    for (int i = 0; i < CB_ECHO_NMODELS; i++)
        if (strcmp(name, models[i].name) == 0)
            return i;
    return -1;
}

int cb_echo_model_pooled(cb_echo_model_t m)
{
    return m == CB_ECHO_THREAD_POOL || m == CB_ECHO_PROCESS_POOL || m == CB_ECHO_HYBRID;
}

int cb_echo_model_one_loop(cb_echo_model_t m)
{
    return (unsigned)m < CB_ECHO_NMODELS && models[m].one_loop;
}

struct cb_echo_server {
    int port;
    int nprocs;
    pid_t pids[MAX_PROCS];
    int reaped[MAX_PROCS];
    int died; /* a process died before stop */
    char death[96];
};

/* ---- sockets ---- */

static void nodelay(int fd)
{
    int one = 1;
    /* Best effort: a failure only costs latency, and the socket still works. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A bound (and, with do_listen, listening) socket on 127.0.0.1:port. */
static int make_listener(int port, int reuseport, int do_listen, int backlog, int *out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0))
        goto err_errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        goto err_errno;
    if (do_listen && listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0)
        goto err_errno;
    socklen_t al = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        goto err_errno;
    *out = fd;
    return ntohs(a.sin_port);
err_errno:
    rc = -errno;
    close(fd);
    return rc;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -errno;
    return 0;
}

/* Writes all of buf to a blocking socket. Returns 0 or a negative errno. */
static int send_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Serves one connection with blocking I/O until the peer closes or resets. */
static void serve_blocking(int fd)
{
    char buf[CONN_BUF];
    nodelay(fd);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || send_all(fd, buf, (size_t)n) < 0)
            break;
    }
    close(fd);
}

/* Accepts one connection from a blocking listener. Returns the fd, or -1
 * after an error worth retrying (a peer that reset before accept, EINTR, or
 * out of fds: then it waits a little instead of spinning). */
static int accept_blocking(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return fd;
}

/* ---- server process bodies (they run until killed) ---- */

static void *conn_thread(void *arg)
{
    serve_blocking((int)(intptr_t)arg);
    return NULL;
}

static int run_thread(int lfd, int ready, const cb_echo_server_cfg_t *cfg)
{
    int ok = 0;
    if (write(ready, &ok, sizeof(ok)) != sizeof(ok))
        return -errno;
    for (unsigned long k = 0;; k++) {
        int fd = accept_blocking(lfd);
        if (fd < 0)
            continue;
        /* Connection k's thread starts on the k-th PU of the plan, round
         * robin, so the model is the only difference from the others. */
        int pu = cfg->topo && cfg->npus > 0 ? cfg->pus[k % (unsigned long)cfg->npus] : -1;
        pthread_attr_t at;
        pthread_t th;
        int rc = pthread_attr_init(&at);
        if (rc != 0) {
            close(fd);
            continue;
        }
        if (pthread_attr_setstacksize(&at, THREAD_STACK) != 0 ||
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) != 0 ||
            (pu >= 0 && cb_pin_attr(cfg->topo, &at, pu) < 0) ||
            pthread_create(&th, &at, conn_thread, (void *)(intptr_t)fd) != 0)
            close(fd); /* out of threads: the client sees the connection closed */
        pthread_attr_destroy(&at);
    }
}

/* One connection of the epoll loop: the bytes read and not yet echoed. */
typedef struct econn {
    int fd;
    size_t off, len;
    char buf[CONN_BUF];
} econn_t;

static void econn_close(int ep, econn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Level-triggered: each ready connection gets one read (or one write of
 * what is pending) per pass, so no connection starves the others. While an
 * echo is only partly written the connection waits for EPOLLOUT and is not
 * read (back-pressure). */
static void econn_event(int ep, econn_t *c)
{
    if (c->off < c->len) {
        ssize_t w = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            econn_close(ep, c);
            return;
        }
        if (w > 0)
            c->off += (size_t)w;
    } else {
        ssize_t n = read(c->fd, c->buf, sizeof(c->buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            econn_close(ep, c);
            return;
        }
        c->len = (size_t)n;
        ssize_t w = send(c->fd, c->buf, c->len, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            econn_close(ep, c);
            return;
        }
        c->off = w > 0 ? (size_t)w : 0;
        if (c->off < c->len) {
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
                econn_close(ep, c);
        }
        return;
    }
    if (c->off == c->len) {
        c->off = c->len = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
            econn_close(ep, c);
    }
}

static void epoll_accept(int ep, int lfd)
{
    /* At most 64 per pass, so a connection storm cannot starve the echoes. */
    for (int k = 0; k < 64; k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)) {
            /* The listener stays readable (level-triggered): without a pause
             * the loop would spin until a connection closes. */
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (fd < 0)
            return;
        nodelay(fd);
        econn_t *c = malloc(sizeof(*c));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(c);
            close(fd);
            return;
        }
        c->fd = fd;
        c->off = c->len = 0;
    }
}

/* thread_pool: the accept loop hands each connection to one of W pinned
 * worker threads, round robin, by adding it to that worker's epoll set; each
 * worker serves all of its connections with its own level-triggered loop
 * (econn_event, as the epoll model). memcached's design: W event loops, not
 * one blocked thread per connection, so W workers serve any number of
 * connections. (A pool whose worker holds one connection until it closes,
 * as a ThreadPoolExecutor echo server does, serves only W at a time.) */
typedef struct pool_worker {
    int ep;
} pool_worker_t;

static void *pool_worker(void *arg)
{
    pool_worker_t *w = arg;
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(w->ep, evs, 256, -1);
        for (int i = 0; i < n; i++)
            econn_event(w->ep, evs[i].data.ptr);
    }
    return NULL;
}

static int run_thread_pool(int lfd, int ready, const cb_echo_server_cfg_t *cfg)
{
    int nw = cfg->workers > 0 ? cfg->workers : 1;
    pool_worker_t *ws = calloc((size_t)nw, sizeof(*ws));
    if (!ws)
        return -ENOMEM;
    for (int i = 0; i < nw; i++) {
        if ((ws[i].ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
            return -errno; /* the process exits; its threads and fds go with it */
        int pu = cfg->topo && cfg->npus > 0 ? cfg->pus[i % cfg->npus] : -1;
        pthread_attr_t at;
        pthread_t th;
        int rc = -pthread_attr_init(&at);
        if (rc == 0)
            rc = -pthread_attr_setstacksize(&at, THREAD_STACK);
        if (rc == 0 && pu >= 0)
            rc = cb_pin_attr(cfg->topo, &at, pu);
        if (rc == 0)
            rc = -pthread_create(&th, &at, pool_worker, &ws[i]);
        pthread_attr_destroy(&at);
        if (rc < 0)
            return rc;
    }
    int ok = 0;
    if (write(ready, &ok, sizeof(ok)) != sizeof(ok))
        return -errno;
    for (unsigned long k = 0;;) {
        int fd = accept_blocking(lfd);
        if (fd < 0)
            continue;
        /* Made whole before the worker can see it. */
        econn_t *c = malloc(sizeof(*c));
        if (!c || set_nonblock(fd) < 0) {
            free(c);
            close(fd);
            continue;
        }
        nodelay(fd);
        c->fd = fd;
        c->off = c->len = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ws[k % (unsigned long)nw].ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            free(c);
            close(fd);
            continue;
        }
        k++;
    }
}

static int run_epoll(int lfd, int ready, int exclusive)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return -errno;
    /* The listener's data.ptr is NULL; connections carry their econn_t. */
    struct epoll_event ev = {.events = EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0),
                             .data.ptr = NULL};
    if (set_nonblock(lfd) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        return -errno;
    int ok = 0;
    if (write(ready, &ok, sizeof(ok)) != sizeof(ok))
        return -errno;
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                epoll_accept(ep, lfd);
            else
                econn_event(ep, evs[i].data.ptr);
        }
    }
}

/* coroutine / hybrid: a coroutine per connection. */
static void coro_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[CONN_BUF];
    nodelay(fd);
    int full = 0;
    for (;;) {
        /* Like the epoll model, read after readiness: a request that was
         * just answered has no successor yet (one in flight per connection),
         * so reading first would only fail with EAGAIN. After a read that
         * filled the buffer, more is likely waiting: read at once. */
        if (!full && cb_sched_wait_fd(fd, POLLIN, -1) < 0)
            break;
        ssize_t n = read(fd, buf, sizeof(buf));
        full = n == (ssize_t)sizeof(buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;
        size_t off = 0;
        while (off < (size_t)n) {
            ssize_t w = send(fd, buf + off, (size_t)n - off, MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (cb_sched_wait_fd(fd, POLLOUT, -1) < 0)
                    goto out;
                continue;
            }
            if (w < 0)
                goto out;
            off += (size_t)w;
        }
    }
out:
    /* The scheduler keeps the fd's registration between waits; drop it
     * while fd still names this socket (sched.h). */
    cb_sched_forget_fd(fd);
    close(fd);
}

typedef struct coro_listen {
    cb_sched_t *s;
    int lfd;
    int rc;
} coro_listen_t;

static void coro_listener(void *arg)
{
    coro_listen_t *l = arg;
    for (;;) {
        int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            /* Out of fds or memory: the listener stays readable, so waiting
             * for it would spin; give the connections time to close. Any
             * other error (EAGAIN, a peer gone before accept): wait. */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                cb_sched_sleep_ns(10 * 1000 * 1000);
            else if ((l->rc = cb_sched_wait_fd(l->lfd, POLLIN, -1)) < 0)
                return;
            continue;
        }
        if (cb_sched_spawn(l->s, coro_conn, (void *)(intptr_t)fd) < 0)
            close(fd);
    }
}

/* ready < 0: no report (a hybrid process's other threads). */
static int run_coroutine(int lfd, int ready)
{
    int err = 0;
    cb_coro_impl_t impl = cb_coro_asm_unavailable() ? CB_CORO_UCONTEXT : CB_CORO_ASM;
    cb_sched_t *s = cb_sched_new(impl, CORO_STACK, &err);
    if (!s)
        return err;
    coro_listen_t l = {.s = s, .lfd = lfd};
    int rc = set_nonblock(lfd);
    if (rc == 0)
        rc = cb_sched_spawn(s, coro_listener, &l);
    if (rc < 0)
        return rc;
    int ok = 0;
    if (ready >= 0 && write(ready, &ok, sizeof(ok)) != sizeof(ok))
        return -errno;
    rc = cb_sched_run(s);
    return rc < 0 ? rc : l.rc < 0 ? l.rc : -EIO;
}

/* A hybrid process's thread past the first: its own listener (made by the
 * process before the report) and scheduler. It only returns on a broken
 * loop, which ends the process: the parent sees a server process die. */
static void *hybrid_thread(void *arg)
{
    int rc = run_coroutine((int)(intptr_t)arg, -1);
    (void)rc;
    _exit(5);
    return NULL;
}

/* hybrid: threads - 1 more threads, each on a listener of its own in the
 * port's SO_REUSEPORT group (so the kernel spreads the connections over
 * every thread of every process), then the first thread's loop. */
static int run_hybrid(int lfd, int port, int ready, const cb_echo_server_cfg_t *cfg)
{
    int threads = cfg->threads > 1 ? cfg->threads : 1;
    for (int t = 1; t < threads; t++) {
        int fd = -1, rc = make_listener(port, 1, 1, cfg->backlog, &fd);
        if (rc < 0)
            return rc;
        pthread_attr_t at;
        pthread_t th;
        rc = -pthread_attr_init(&at);
        if (rc == 0)
            rc = -pthread_attr_setstacksize(&at, THREAD_STACK);
        if (rc == 0)
            rc = -pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (rc == 0)
            rc = -pthread_create(&th, &at, hybrid_thread, (void *)(intptr_t)fd);
        pthread_attr_destroy(&at);
        if (rc < 0) {
            close(fd);
            return rc;
        }
    }
    return run_coroutine(lfd, ready);
}

/* The body of one server process. worker: its index (pinning). Writes 0 to
 * ready once serving, or a negative errno if setup fails; never returns. */
static void server_child(const cb_echo_server_cfg_t *cfg, int lfd, int port, int worker, int ready,
                         pid_t parent)
{
    cb_child_init(parent);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* SIGINT (a terminal's ^C reaches the whole process group) is the
     * parent's to handle: it stops the server with SIGTERM. */
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    int rc = 0;
    int pu = cfg->topo && cfg->npus > 0 ? cfg->pus[worker % cfg->npus] : -1;
    /* thread and thread_pool pin per thread (or not at all); the others are
     * one process per worker and pin the whole process. */
    if (pu >= 0 && cfg->model != CB_ECHO_THREAD && cfg->model != CB_ECHO_THREAD_POOL)
        rc = cb_pin_bind_process(cfg->topo, pu);
    if (rc == 0 && cfg->model == CB_ECHO_HYBRID) {
        close(lfd);
        int got = make_listener(port, 1, 1, cfg->backlog, &lfd);
        rc = got < 0 ? got : 0;
    }
    if (rc == 0) {
        switch (cfg->model) {
        case CB_ECHO_THREAD:
            rc = run_thread(lfd, ready, cfg);
            break;
        case CB_ECHO_THREAD_POOL:
            rc = run_thread_pool(lfd, ready, cfg);
            break;
        case CB_ECHO_PROCESS_POOL:
            rc = run_epoll(lfd, ready, 1);
            break;
        case CB_ECHO_EPOLL:
            rc = run_epoll(lfd, ready, 0);
            break;
        case CB_ECHO_COROUTINE:
            rc = run_coroutine(lfd, ready);
            break;
        case CB_ECHO_HYBRID:
            rc = run_hybrid(lfd, port, ready, cfg);
            break;
        case CB_ECHO_LIBUV:
            rc = cb_echo_run_libuv(lfd, ready, cfg);
            break;
        default:
            rc = -EINVAL;
        }
    }
    /* Only reached when setup failed (or the loop broke): tell the parent. */
    if (write(ready, &rc, sizeof(rc)) != sizeof(rc))
        _exit(4);
    _exit(3);
}

static void describe_wait(int st, pid_t pid, char *buf, size_t len)
{
    if (WIFSIGNALED(st))
        snprintf(buf, len, "server process %d died: %s", (int)pid, strsignal(WTERMSIG(st)));
    else
        snprintf(buf, len, "server process %d exited with status %d", (int)pid, WEXITSTATUS(st));
}

static void reap_all(cb_echo_server_t *s, int sig)
{
    for (int i = 0; i < s->nprocs; i++)
        if (!s->reaped[i])
            kill(s->pids[i], sig);
    /* Bounded: 1 s of 10 ms polls, then SIGKILL and a blocking wait (a
     * SIGKILLed process always goes). */
    for (int round = 0; round < 101; round++) {
        int left = 0;
        for (int i = 0; i < s->nprocs; i++) {
            if (s->reaped[i])
                continue;
            int st;
            pid_t r = waitpid(s->pids[i], &st, round == 100 ? 0 : WNOHANG);
            if (r == s->pids[i] || (r < 0 && errno == ECHILD)) {
                s->reaped[i] = 1;
                cb_children_untrack(s->pids[i]);
            } else {
                left++;
            }
        }
        if (!left)
            return;
        if (round == 99)
            for (int i = 0; i < s->nprocs; i++)
                if (!s->reaped[i])
                    kill(s->pids[i], SIGKILL);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int cb_echo_server_start(const cb_echo_server_cfg_t *cfg, cb_echo_server_t **out, char *err,
                         size_t errlen)
{
    int rc = 0, lfd = -1, pipefd[2] = {-1, -1};
    cb_echo_server_t *s = NULL;
    if ((unsigned)cfg->model >= CB_ECHO_NMODELS || cfg->port < 0 || cfg->port > 65535) {
        snprintf(err, errlen, "bad server configuration");
        return -EINVAL;
    }
    int nprocs = 1;
    if (cfg->model == CB_ECHO_PROCESS_POOL || cfg->model == CB_ECHO_HYBRID)
        nprocs = cfg->workers > 0 ? cfg->workers : 1;
    if (nprocs > MAX_PROCS) {
        snprintf(err, errlen, "at most %d server processes", MAX_PROCS);
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = -ENOMEM;
        goto err;
    }
    /* hybrid: this socket only reserves the port (bound, never listening, so
     * it takes no connections); each worker binds its own with SO_REUSEPORT. */
    int hybrid = cfg->model == CB_ECHO_HYBRID;
    if (hybrid && cfg->port > 0) {
        /* A port given: probe it without SO_REUSEPORT first, or a second
         * hybrid server would silently join the first one's group. */
        rc = make_listener(cfg->port, 0, 0, 0, &lfd);
        if (rc >= 0) {
            close(lfd);
            lfd = -1;
        }
    }
    if (rc >= 0)
        rc = make_listener(cfg->port, hybrid, !hybrid, cfg->backlog, &lfd);
    if (rc < 0) {
        if (rc == -EADDRINUSE)
            snprintf(err, errlen, "port %d is already in use on 127.0.0.1", cfg->port);
        else
            snprintf(err, errlen, "listening on 127.0.0.1:%d: %s", cfg->port, strerror(-rc));
        goto err;
    }
    s->port = rc;
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        rc = -errno;
        snprintf(err, errlen, "pipe: %s", strerror(-rc));
        goto err;
    }
    pid_t parent = getpid();
    for (int i = 0; i < nprocs; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            rc = -errno;
            snprintf(err, errlen, "fork: %s", strerror(-rc));
            goto err;
        }
        if (pid == 0) {
            close(pipefd[0]);
            server_child(cfg, lfd, s->port, i, pipefd[1], parent);
        }
        cb_children_track(pid);
        s->pids[s->nprocs++] = pid;
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    /* Every process reports once it serves. A process that dies first
     * closes its end without writing; the pipe reaches EOF only when all
     * ends are closed, so the count of reports decides. */
    uint64_t deadline = cb_now_ns() + 5000000000ull;
    for (int got = 0; got < nprocs;) {
        uint64_t now = cb_now_ns();
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        int pr = now < deadline ? poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        int v = 0;
        ssize_t n = pr > 0 ? read(pipefd[0], &v, sizeof(v)) : 0;
        if (pr <= 0 || n != sizeof(v) || v < 0) {
            rc = pr == 0 ? -ETIMEDOUT : v < 0 ? v : -ECHILD;
            snprintf(err, errlen, "%s server: %s",
                     cfg->model < CB_ECHO_NMODELS ? models[cfg->model].name : "?",
                     pr == 0 ? "not ready within 5 s"
                     : v < 0 ? strerror(-v)
                             : "a server process died while starting");
            goto err;
        }
        got++;
    }
    close(pipefd[0]);
    close(lfd);
    *out = s;
    return 0;
err:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (lfd >= 0)
        close(lfd);
    if (s) {
        reap_all(s, SIGKILL);
        free(s);
    }
    return rc;
}

int cb_echo_server_port(const cb_echo_server_t *s)
{
    return s->port;
}

int cb_echo_server_npids(const cb_echo_server_t *s)
{
    return s->nprocs;
}

pid_t cb_echo_server_pid(const cb_echo_server_t *s, int i)
{
    return i >= 0 && i < s->nprocs ? s->pids[i] : -1;
}

int cb_echo_server_cpu_ns(const cb_echo_server_t *s, uint64_t *ns)
{
    uint64_t sum = 0;
    for (int i = 0; i < s->nprocs; i++) {
        clockid_t clk;
        struct timespec ts;
        if (s->reaped[i])
            return -ESRCH;
        int rc = clock_getcpuclockid(s->pids[i], &clk);
        if (rc != 0)
            return -rc;
        if (clock_gettime(clk, &ts) != 0)
            return -errno;
        sum += (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    }
    *ns = sum;
    return 0;
}

int cb_echo_server_check(cb_echo_server_t *s, char *detail, size_t len)
{
    for (int i = 0; i < s->nprocs; i++) {
        if (s->reaped[i])
            continue;
        int st;
        pid_t r = waitpid(s->pids[i], &st, WNOHANG);
        if (r == s->pids[i]) {
            s->reaped[i] = 1;
            cb_children_untrack(s->pids[i]);
            if (!s->died)
                describe_wait(st, s->pids[i], s->death, sizeof(s->death));
            s->died = 1;
        }
    }
    if (s->died && detail)
        snprintf(detail, len, "%s", s->death);
    return s->died ? -ECHILD : 0;
}

int cb_echo_server_stop(cb_echo_server_t *s, char *detail, size_t len)
{
    if (!s)
        return 0;
    int rc = cb_echo_server_check(s, detail, len);
    reap_all(s, SIGTERM);
    free(s);
    return rc;
}

long cb_echo_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return -errno;
    }
    return (long)rl.rlim_cur;
}
