#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/exp/echo.h"

/* ---- histogram ---- */

static size_t hist_index(uint64_t v)
{
    if (v < CB_ECHO_HIST_SUB)
        return (size_t)v;
    int e = 63 - __builtin_clzll(v); /* 2^e <= v < 2^(e+1), e >= 6 */
    size_t sub = (size_t)(v >> (e - 6)) & (CB_ECHO_HIST_SUB - 1);
    size_t i = CB_ECHO_HIST_SUB + (size_t)(e - 6) * CB_ECHO_HIST_SUB + sub;
    return i < CB_ECHO_HIST_BUCKETS ? i : CB_ECHO_HIST_BUCKETS - 1;
}

/* The midpoint of bucket i: exact below 64, else lower bound + width / 2. */
static double hist_mid(size_t i)
{
    if (i < CB_ECHO_HIST_SUB)
        return (double)i;
    size_t e = (i - CB_ECHO_HIST_SUB) / CB_ECHO_HIST_SUB + 6;
    size_t sub = (i - CB_ECHO_HIST_SUB) % CB_ECHO_HIST_SUB;
    double width = ldexp(1.0, (int)e - 6);
    return (double)(CB_ECHO_HIST_SUB + sub) * width + width / 2;
}

void cb_echo_hist_add(cb_echo_hist_t *h, uint64_t ns)
{
    h->b[hist_index(ns)]++;
    h->count++;
}

void cb_echo_hist_merge(cb_echo_hist_t *into, const cb_echo_hist_t *from)
{
    for (size_t i = 0; i < CB_ECHO_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
}

double cb_echo_hist_quantile_ns(const cb_echo_hist_t *h, double q)
{
    if (h->count == 0 || !(q > 0) || q > 1)
        return NAN;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count), seen = 0;
    if (rank == 0)
        rank = 1;
    for (size_t i = 0; i < CB_ECHO_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank)
            return hist_mid(i);
    }
    return NAN;
}

/* ---- the load ---- */

typedef struct lconn {
    int fd;        /* -1 once closed */
    int up;        /* connected */
    int wants_out; /* EPOLLOUT registered (a send is pending) */
    int bad;       /* a byte of the current echo differed */
    size_t sent, got;
    uint64_t t0; /* first byte of the current request sent */
    uint64_t done;
} lconn_t;

typedef struct shared {
    const cb_echo_load_cfg_t *cfg;
    const unsigned char *pattern;
    pthread_barrier_t bar;
    uint64_t connect_deadline;
    uint64_t ws, we; /* the window, set by the caller between the barriers */
} shared_t;

typedef struct lthread {
    shared_t *sh;
    int idx, nthreads;
    lconn_t *conns;
    int n;
    int ep;
    unsigned char *rbuf;
    cb_echo_hist_t hist;
    uint64_t requests, mismatched;
    int established, served, failed, first_errno;
    int finished; /* connections done with requests_per_conn echoes */
    int rc;
} lthread_t;

#define RBUF (64 * 1024)

static void conn_fail(lthread_t *t, lconn_t *c, int err)
{
    if (c->fd >= 0) {
        close(c->fd); /* closing drops it from the epoll set */
        c->fd = -1;
    }
    if (c->up)
        t->failed++;
    if (!t->first_errno)
        t->first_errno = err ? err : EIO;
    c->up = 0;
}

static int set_out(lthread_t *t, lconn_t *c, int want)
{
    if (c->wants_out == want)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return -errno;
    c->wants_out = want;
    return 0;
}

/* Sends what remains of the current request; registers for EPOLLOUT when
 * the socket buffer is full. */
static void conn_send(lthread_t *t, lconn_t *c)
{
    size_t msg = t->sh->cfg->msg_bytes;
    while (c->sent < msg) {
        ssize_t w = send(c->fd, t->sh->pattern + c->sent, msg - c->sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            break;
        if (w < 0) {
            conn_fail(t, c, errno);
            return;
        }
        c->sent += (size_t)w;
    }
    int rc = set_out(t, c, c->sent < msg);
    if (rc < 0)
        conn_fail(t, c, -rc);
}

static void conn_start(lthread_t *t, lconn_t *c, uint64_t now)
{
    c->sent = c->got = 0;
    c->bad = 0;
    c->t0 = now;
    conn_send(t, c);
}

/* Reads what the echo has brought back (the echo of a large request starts
 * arriving while it is still being sent). */
static void conn_recv(lthread_t *t, lconn_t *c)
{
    size_t msg = t->sh->cfg->msg_bytes;
    size_t want = msg - c->got;
    if (want == 0)
        return;
    ssize_t n = recv(c->fd, t->rbuf, want < RBUF ? want : RBUF, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_fail(t, c, n == 0 ? ECONNRESET : errno);
        return;
    }
    if (memcmp(t->rbuf, t->sh->pattern + c->got, (size_t)n) != 0)
        c->bad = 1;
    c->got += (size_t)n;
    if (c->got < msg)
        return;
    uint64_t now = cb_now_ns();
    if (c->done++ == 0)
        t->served++;
    if (c->bad) {
        t->mismatched++;
    } else if (now >= t->sh->ws && now < t->sh->we) {
        cb_echo_hist_add(&t->hist, now - c->t0);
        t->requests++;
    }
    int per = t->sh->cfg->requests_per_conn;
    if (per > 0 && c->done >= (uint64_t)per) {
        t->finished++;
        return;
    }
    conn_start(t, c, now);
}

static int wait_ms(uint64_t now, uint64_t until)
{
    if (now >= until)
        return 0;
    uint64_t ms = (until - now) / 1000000 + 1;
    return ms > 50 ? 50 : (int)ms;
}

static void connect_all(lthread_t *t)
{
    const cb_echo_load_cfg_t *cfg = t->sh->cfg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int pending = 0;
    for (int i = 0; i < t->n; i++) {
        lconn_t *c = &t->conns[i];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            conn_fail(t, c, errno);
            continue;
        }
        int one = 1;
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
            conn_fail(t, c, errno);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            conn_fail(t, c, errno);
            continue;
        }
        pending++;
    }
    struct epoll_event evs[256];
    uint64_t now;
    while (pending > 0 && (now = cb_now_ns()) < t->sh->connect_deadline) {
        int k = epoll_wait(t->ep, evs, 256, wait_ms(now, t->sh->connect_deadline));
        for (int i = 0; i < k; i++) {
            lconn_t *c = evs[i].data.ptr;
            if (c->fd < 0 || c->up)
                continue;
            int soerr = 0;
            socklen_t l = sizeof(soerr);
            pending--;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &l) != 0 || soerr != 0) {
                conn_fail(t, c, soerr ? soerr : errno);
                continue;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
                conn_fail(t, c, errno);
                continue;
            }
            c->up = 1;
            t->established++;
        }
    }
    /* Not connected by the deadline (an accept queue that stays full drops
     * the SYNs): given up. */
    for (int i = 0; i < t->n; i++)
        if (!t->conns[i].up && t->conns[i].fd >= 0)
            conn_fail(t, &t->conns[i], ETIMEDOUT);
}

static void *load_thread(void *arg)
{
    lthread_t *t = arg;
    int ok = t->rc == 0;
    if (ok)
        connect_all(t);
    /* Both barriers are reached whatever happened, so the caller never
     * waits for a thread that gave up. */
    pthread_barrier_wait(&t->sh->bar);
    pthread_barrier_wait(&t->sh->bar);
    if (!ok)
        return NULL;
    uint64_t now = cb_now_ns();
    for (int i = 0; i < t->n; i++)
        if (t->conns[i].up)
            conn_start(t, &t->conns[i], now);
    struct epoll_event evs[256];
    int per = t->sh->cfg->requests_per_conn;
    while ((now = cb_now_ns()) < t->sh->we) {
        if (per > 0 && t->finished == t->established - t->failed)
            break;
        int k = epoll_wait(t->ep, evs, 256, wait_ms(now, t->sh->we));
        if (k < 0 && errno != EINTR) {
            t->rc = -errno;
            break;
        }
        for (int i = 0; i < k; i++) {
            lconn_t *c = evs[i].data.ptr;
            if (c->fd >= 0 && (evs[i].events & EPOLLOUT) && c->sent < t->sh->cfg->msg_bytes)
                conn_send(t, c);
            if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                conn_recv(t, c);
        }
    }
    return NULL;
}

static void sleep_until(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
                          .tv_nsec = (long)(ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int cb_echo_load_run(const cb_echo_load_cfg_t *cfg, cb_echo_load_result_t *r)
{
    int rc = 0, nt = cfg->threads > 0 ? cfg->threads : 2, started = 0, barrier = 0;
    memset(r, 0, sizeof(*r));
    r->p50_us = r->p99_us = NAN;
    if (cfg->conns <= 0 || cfg->msg_bytes == 0 || cfg->port <= 0 || cfg->port > 65535)
        return -EINVAL;
    if (nt > cfg->conns)
        nt = cfg->conns;
    unsigned char *pattern = malloc(cfg->msg_bytes);
    lthread_t *ts = calloc((size_t)nt, sizeof(*ts));
    pthread_t *th = calloc((size_t)nt, sizeof(*th));
    cb_echo_hist_t *all = calloc(1, sizeof(*all));
    shared_t sh = {.cfg = cfg, .pattern = pattern};
    if (!pattern || !ts || !th || !all) {
        rc = -ENOMEM;
        goto out;
    }
    /* Not periodic in any short power of two, so a byte echoed at the wrong
     * offset is caught. */
    for (size_t i = 0; i < cfg->msg_bytes; i++)
        pattern[i] = (unsigned char)((i * 131 + (i >> 8) * 7 + 17) & 0xff);
    for (int i = 0; i < nt; i++)
        ts[i].ep = -1;
    for (int i = 0; i < nt; i++) {
        lthread_t *t = &ts[i];
        t->sh = &sh;
        t->idx = i;
        t->n = (cfg->conns - i + nt - 1) / nt;
        t->conns = calloc((size_t)t->n, sizeof(*t->conns));
        t->rbuf = malloc(RBUF);
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        if (!t->conns || !t->rbuf || t->ep < 0) {
            rc = t->ep < 0 ? -errno : -ENOMEM;
            goto out;
        }
        for (int j = 0; j < t->n; j++)
            t->conns[j].fd = -1;
    }
    if ((rc = -pthread_barrier_init(&sh.bar, NULL, (unsigned)nt + 1)) < 0)
        goto out;
    barrier = 1;
    uint64_t ct = cfg->connect_timeout_ns ? cfg->connect_timeout_ns : 2000000000ull;
    sh.connect_deadline = cb_now_ns() + ct;
    sh.ws = sh.we = UINT64_MAX;
    for (; started < nt; started++) {
        pthread_attr_t at;
        if ((rc = -pthread_attr_init(&at)) < 0)
            break;
        int pu = cfg->topo && cfg->npus > 0 ? cfg->pus[started % cfg->npus] : -1;
        if (pu >= 0 && cfg->pin_together)
            rc = cb_pin_attr_set(cfg->topo, &at, cfg->pus, cfg->npus);
        else if (pu >= 0)
            rc = cb_pin_attr(cfg->topo, &at, pu);
        if (rc == 0)
            rc = -pthread_create(&th[started], &at, load_thread, &ts[started]);
        pthread_attr_destroy(&at);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        /* The threads already running will wait at a barrier that counts
         * every thread: the rest start as no-ops so that it completes. */
        int err = rc;
        for (; started < nt; started++) {
            ts[started].rc = err;
            if (pthread_create(&th[started], NULL, load_thread, &ts[started]) != 0)
                abort(); /* cannot release the others: a broken invariant */
        }
        rc = err;
    }
    pthread_barrier_wait(&sh.bar);
    uint64_t now = cb_now_ns();
    sh.ws = now + cfg->warmup_ns;
    sh.we = sh.ws + cfg->duration_ns;
    pthread_barrier_wait(&sh.bar);
    uint64_t end = sh.we;
    if (rc == 0) {
        sleep_until(sh.ws);
        cb_counters_start();
        if (cfg->on_window)
            cfg->on_window(cfg->on_window_arg, 0);
        if (cfg->requests_per_conn <= 0)
            sleep_until(sh.we);
    }
    for (int i = 0; i < started; i++)
        if (pthread_join(th[i], NULL) != 0)
            abort();
    cb_counters_stop();
    if (rc == 0 && cfg->requests_per_conn > 0) {
        now = cb_now_ns();
        end = now < sh.we ? now : sh.we;
    }
    if (rc == 0 && cfg->on_window)
        cfg->on_window(cfg->on_window_arg, 1);
    for (int i = 0; i < nt; i++) {
        lthread_t *t = &ts[i];
        if (t->rc < 0 && rc == 0)
            rc = t->rc;
        r->requests += t->requests;
        r->mismatched += t->mismatched;
        r->established += t->established;
        r->served += t->served;
        r->failed += t->failed;
        if (!r->first_errno)
            r->first_errno = t->first_errno;
        cb_echo_hist_merge(all, &t->hist);
    }
    r->window_s = end > sh.ws ? (double)(end - sh.ws) / 1e9 : 0;
    r->req_per_s = r->window_s > 0 ? (double)r->requests / r->window_s : NAN;
    r->p50_us = cb_echo_hist_quantile_ns(all, 0.50) / 1e3;
    r->p99_us = cb_echo_hist_quantile_ns(all, 0.99) / 1e3;
out:
    if (barrier && pthread_barrier_destroy(&sh.bar) != 0)
        abort();
    for (int i = 0; ts && i < nt; i++) {
        for (int j = 0; ts[i].conns && j < ts[i].n; j++)
            if (ts[i].conns[j].fd >= 0)
                close(ts[i].conns[j].fd);
        if (ts[i].ep >= 0)
            close(ts[i].ep);
        free(ts[i].conns);
        free(ts[i].rbuf);
    }
    free(ts);
    free(th);
    free(all);
    free(pattern);
    return rc;
}
