#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
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

/* What every request sends. Not periodic in any short power of two, so a
 * byte echoed at the wrong offset is caught. */
static void fill_pattern(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131 + (i >> 8) * 7 + 17) & 0xff);
}

typedef struct lconn {
    int fd;        /* -1 once closed */
    int up;        /* connected */
    int wants_out; /* EPOLLOUT registered (a send is pending) */
    int bad;       /* a byte of the current echo differed */
    int parked;    /* first_echo_ns: had its first echo, waits for the others */
    size_t sent, got;
    uint64_t t0; /* first byte of the current request sent */
    uint64_t done;
} lconn_t;

typedef struct shared {
    const cb_echo_load_cfg_t *cfg;
    const unsigned char *pattern;
    pthread_barrier_t bar;
    uint64_t connect_deadline;
    /* The window, set by the caller between the barriers, or (first_echo_ns)
     * after them, once enough connections had their first echo: read and
     * written atomically. */
    uint64_t ws, we;
    int first_served; /* connections with their first echo (atomic) */
} shared_t;

static uint64_t load_u64(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

typedef struct lthread {
    shared_t *sh;
    int idx, nthreads;
    lconn_t *conns;
    int n;
    int ep;
    unsigned char *rbuf;
    cb_echo_hist_t hist;
    uint64_t requests, mismatched;
    int established, served, failed, closed, first_errno;
    int finished; /* connections done with requests_per_conn echoes */
    int parked;   /* its connections parked after their first echo */
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
        if (n == 0 && c->up)
            t->closed++;
        conn_fail(t, c, n == 0 ? ECONNRESET : errno);
        return;
    }
    if (memcmp(t->rbuf, t->sh->pattern + c->got, (size_t)n) != 0)
        c->bad = 1;
    c->got += (size_t)n;
    if (c->got < msg)
        return;
    uint64_t now = cb_now_ns();
    if (c->done++ == 0) {
        t->served++;
        __atomic_fetch_add(&t->sh->first_served, 1, __ATOMIC_RELEASE);
    }
    uint64_t ws = load_u64(&t->sh->ws), we = load_u64(&t->sh->we);
    if (c->bad) {
        t->mismatched++;
    } else if (now >= ws && now < we) {
        cb_echo_hist_add(&t->hist, now - c->t0);
        t->requests++;
    }
    int per = t->sh->cfg->requests_per_conn;
    if (per > 0 && c->done >= (uint64_t)per) {
        t->finished++;
        return;
    }
    /* Until the window is set, a connection that had its first echo waits:
     * a server that is still accepting is not kept busy by the first ones. */
    if (t->sh->cfg->first_echo_ns && ws == UINT64_MAX) {
        c->parked = 1;
        t->parked++;
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
    const struct sockaddr *to = cfg->addr ? cfg->addr : (const struct sockaddr *)&a;
    socklen_t tolen = cfg->addr ? cfg->addrlen : (socklen_t)sizeof(a);
    int pending = 0;
    for (int i = 0; i < t->n; i++) {
        lconn_t *c = &t->conns[i];
        c->fd = socket(to->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
            conn_fail(t, c, errno);
            continue;
        }
        int one = 1;
        (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c->fd, to, tolen) != 0 && errno != EINPROGRESS) {
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
    uint64_t we;
    while ((now = cb_now_ns()) < (we = load_u64(&t->sh->we))) {
        if (per > 0 && t->finished == t->established - t->failed)
            break;
        if (t->parked && load_u64(&t->sh->ws) != UINT64_MAX) {
            for (int i = 0; i < t->n; i++)
                if (t->conns[i].parked) {
                    t->conns[i].parked = 0;
                    if (t->conns[i].fd >= 0)
                        conn_start(t, &t->conns[i], now);
                }
            t->parked = 0;
        }
        int k = epoll_wait(t->ep, evs, 256, t->parked ? 1 : wait_ms(now, we));
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
    if (cfg->conns <= 0 || cfg->msg_bytes == 0 ||
        (!cfg->addr && (cfg->port <= 0 || cfg->port > 65535)))
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
    fill_pattern(pattern, cfg->msg_bytes);
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
    if (!cfg->first_echo_ns) {
        sh.ws = now + cfg->warmup_ns;
        sh.we = sh.ws + cfg->duration_ns;
    }
    int up = 0;
    for (int i = 0; i < nt; i++)
        up += ts[i].established;
    pthread_barrier_wait(&sh.bar);
    if (cfg->first_echo_ns) {
        /* Every 1 ms until enough connections had an echo, or the limit. */
        int want =
            cfg->first_echo_conns > 0 && cfg->first_echo_conns < up ? cfg->first_echo_conns : up;
        uint64_t limit = now + cfg->first_echo_ns, t1;
        while ((t1 = cb_now_ns()) < limit &&
               __atomic_load_n(&sh.first_served, __ATOMIC_ACQUIRE) < want) {
            struct timespec ts1 = {0, 1000000};
            nanosleep(&ts1, NULL);
        }
        r->first_echo_s = (double)(t1 - now) / 1e9;
        __atomic_store_n(&sh.ws, t1 + cfg->warmup_ns, __ATOMIC_RELEASE);
        __atomic_store_n(&sh.we, t1 + cfg->warmup_ns + cfg->duration_ns, __ATOMIC_RELEASE);
    }
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
        r->closed += t->closed;
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

/* ---- an outside server ---- */

int cb_echo_target_parse(const char *arg, cb_echo_target_t *t, char *err, size_t errlen)
{
    const char *colon = strrchr(arg, ':');
    const char *host = arg, *host_end = colon;
    if (!colon) {
        snprintf(err, errlen, "--connect '%s': expected HOST:PORT", arg);
        return -1;
    }
    if (arg[0] == '[') { /* [v6]:port */
        const char *close = strchr(arg, ']');
        if (!close || close + 1 != colon) {
            snprintf(err, errlen, "--connect '%s': expected [ADDRESS]:PORT", arg);
            return -1;
        }
        host = arg + 1;
        host_end = close;
    }
    size_t hl = (size_t)(host_end - host);
    if (arg[0] != '[' && memchr(host, ':', hl)) {
        snprintf(err, errlen, "--connect '%s': an IPv6 address goes in brackets, [ADDRESS]:PORT",
                 arg);
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port < 1 || port > 65535) {
        snprintf(err, errlen, "--connect '%s': the port must be a number in 1-65535", arg);
        return -1;
    }
    if (hl == 0 || hl >= sizeof(t->host)) {
        snprintf(err, errlen, "--connect '%s': %s host", arg, hl ? "a too long" : "an empty");
        return -1;
    }
    memcpy(t->host, host, hl);
    t->host[hl] = '\0';
    snprintf(t->port, sizeof(t->port), "%ld", port);
    return 0;
}

/* "host:port", "[v6]:port". */
static const char *target_str(const cb_echo_target_t *t, char *buf, size_t len)
{
    snprintf(buf, len, strchr(t->host, ':') ? "[%s]:%s" : "%s:%s", t->host, t->port);
    return buf;
}

/* Milliseconds to wait in poll until deadline (at least 1 while before it). */
static int poll_ms(uint64_t deadline)
{
    uint64_t now = cb_now_ns();
    return now >= deadline ? 0 : (int)((deadline - now) / 1000000 + 1);
}

/* One non-blocking connect to a, until deadline. Returns the fd or a
 * negative errno (-ETIMEDOUT at the deadline). */
static int probe_connect(const struct addrinfo *a, uint64_t deadline)
{
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            rc = -errno;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int k;
            while ((k = poll(&p, 1, poll_ms(deadline))) < 0 && errno == EINTR)
                ;
            int soerr = 0;
            socklen_t l = sizeof(soerr);
            if (k == 0)
                rc = -ETIMEDOUT;
            else if (k < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l) != 0)
                rc = -errno;
            else if (soerr)
                rc = -soerr;
        }
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* One message there and back on fd, compared byte for byte. */
static int probe_echo(int fd, const cb_echo_target_t *t, size_t n, uint64_t deadline, double secs,
                      char *why, size_t len)
{
    unsigned char *out = malloc(n), *in = malloc(n < RBUF ? n : RBUF);
    if (!out || !in) {
        free(out);
        free(in);
        snprintf(why, len, "out of memory");
        return -ENOMEM;
    }
    fill_pattern(out, n);
    char at[300];
    size_t sent = 0, got = 0;
    int rc = 0;
    while (got < n && rc == 0) {
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (sent < n ? POLLOUT : 0))};
        int k = poll(&p, 1, poll_ms(deadline));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = k == 0 ? -ETIMEDOUT : -errno;
            if (k == 0)
                snprintf(why, len, "no echo from %s within %.1f s (%zu of %zu bytes came back)",
                         target_str(t, at, sizeof(at)), secs, got, n);
            else
                snprintf(why, len, "waiting for the echo: %s", strerror(errno));
            break;
        }
        if ((p.revents & POLLOUT) && sent < n) {
            ssize_t w = send(fd, out + sent, n - sent, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                rc = -errno;
                snprintf(why, len, "sending to %s: %s", target_str(t, at, sizeof(at)),
                         strerror(errno));
                break;
            }
            if (w > 0)
                sent += (size_t)w;
        }
        if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        size_t want = n - got < RBUF ? n - got : RBUF;
        ssize_t r = recv(fd, in, want, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0) {
            rc = r == 0 ? -ECONNRESET : -errno;
            snprintf(why, len, "the server %s the connection after %zu of %zu bytes of the echo",
                     r == 0 ? "closed" : "reset", got, n);
            break;
        }
        for (size_t i = 0; i < (size_t)r; i++)
            if (in[i] != out[got + i]) {
                rc = -EPROTO;
                snprintf(why, len,
                         "the echo differs from what was sent at byte %zu of %zu (sent 0x%02x, "
                         "got 0x%02x)",
                         got + i, n, out[got + i], in[i]);
                break;
            }
        got += (size_t)r;
    }
    free(out);
    free(in);
    return rc;
}

int cb_echo_probe(const cb_echo_target_t *t, size_t msg_bytes, uint64_t timeout_ns,
                  struct sockaddr_storage *addr, socklen_t *addrlen, char *why, size_t len)
{
    const double secs = (double)timeout_ns / 1e9;
    const uint64_t deadline = cb_now_ns() + timeout_ns;
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(t->host, t->port, &hints, &res);
    if (g != 0) {
        snprintf(why, len, "cannot resolve '%s': %s", t->host,
                 g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
        return -EHOSTUNREACH;
    }
    int fd = -ENOENT;
    const struct addrinfo *a;
    for (a = res; a && fd < 0; a = a->ai_next)
        if ((fd = probe_connect(a, deadline)) >= 0)
            break;
    if (fd < 0) {
        char at[300];
        target_str(t, at, sizeof(at));
        if (fd == -ECONNREFUSED)
            snprintf(why, len, "connection refused by %s (nothing listening there?)", at);
        else if (fd == -ETIMEDOUT)
            snprintf(why, len, "no answer from %s within %.1f s (connect timed out)", at, secs);
        else
            snprintf(why, len, "connecting to %s: %s", at, strerror(-fd));
        freeaddrinfo(res);
        return fd;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = probe_echo(fd, t, msg_bytes, deadline, secs, why, len);
    if (rc == 0) {
        memcpy(addr, a->ai_addr, a->ai_addrlen);
        *addrlen = a->ai_addrlen;
    }
    close(fd);
    freeaddrinfo(res);
    return rc;
}
