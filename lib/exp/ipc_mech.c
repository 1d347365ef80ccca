#include "lib/exp/ipc_mech.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/core/helper.h"
#include "lib/core/sandbox.h"
#include "lib/exec/futex.h"

/* ---- the message pattern ---- */

/* splitmix64's finaliser (Steele, Lea, Flood 2014). */
static inline uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A message is 4 KiB blocks of one pseudo-random template, each block's
 * first 8 bytes replaced by a stamp of the message's index and the block's
 * place (block 0: the index itself). Building and checking one are then a
 * memcpy and a memcmp from a template that stays in L1, about 2.5x cheaper
 * here than words computed from the index (fill and check of 64 KiB: 3 us
 * against 8 us), so the figures are the mechanisms' more than the
 * pattern's; a stale, lost, reordered or shifted message or block still
 * fails the stamps, and a changed byte the template. */
#define PAT_BLOCK 4096
#define PAT_STEP 0xd1b54a32d192ed03ull
static unsigned char pat_tpl[PAT_BLOCK] __attribute__((aligned(64)));
static pthread_once_t pat_once = PTHREAD_ONCE_INIT;

static void pat_init(void)
{
    uint64_t x = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < PAT_BLOCK; i += 8) {
        uint64_t w = mix(x += PAT_STEP);
        memcpy(pat_tpl + i, &w, 8);
    }
}

static uint64_t pat_stamp(uint64_t idx, size_t block)
{
    return block == 0 ? idx : mix(idx) + block * PAT_STEP;
}

void cb_ipc_fill(void *buf, size_t n, uint64_t idx)
{
    pthread_once(&pat_once, pat_init);
    unsigned char *b = buf;
    for (size_t o = 0; o < n; o += PAT_BLOCK) {
        size_t l = n - o < PAT_BLOCK ? n - o : PAT_BLOCK;
        uint64_t st = pat_stamp(idx, o / PAT_BLOCK);
        memcpy(b + o, pat_tpl, l);
        memcpy(b + o, &st, l < 8 ? l : 8);
    }
}

/* The right byte at offset i of message idx. */
static uint8_t pat_byte(uint64_t idx, size_t i)
{
    size_t in = i % PAT_BLOCK;
    if (in >= 8)
        return pat_tpl[in];
    uint64_t st = pat_stamp(idx, i / PAT_BLOCK);
    unsigned char t[8];
    memcpy(t, &st, 8);
    return t[in];
}

long cb_ipc_check(const void *buf, size_t n, uint64_t idx, uint8_t *got, uint8_t *want)
{
    pthread_once(&pat_once, pat_init);
    const unsigned char *b = buf;
    /* Block by block, each a stamp and a memcmp; the offset is looked for
     * only in the first block that differs. */
    for (size_t o = 0; o < n; o += PAT_BLOCK) {
        size_t l = n - o < PAT_BLOCK ? n - o : PAT_BLOCK;
        uint64_t st = pat_stamp(idx, o / PAT_BLOCK);
        if (memcmp(b + o, &st, l < 8 ? l : 8) == 0 &&
            (l <= 8 || memcmp(b + o + 8, pat_tpl + 8, l - 8) == 0))
            continue;
        for (size_t i = o; i < o + l; i++) {
            uint8_t w = pat_byte(idx, i);
            if (b[i] != w) {
                if (got)
                    *got = b[i];
                if (want)
                    *want = w;
                return (long)i;
            }
        }
    }
    return -1;
}

size_t cb_ipc_fault_offset(size_t n)
{
    return n / 2 + 3 < n ? n / 2 + 3 : n - 1;
}

/* ---- what every channel has ---- */

struct cb_ipc_chan {
    size_t n;
    int who;    /* 0: the initiator, 1: the partner */
    pid_t peer; /* in the initiator of a process mechanism: the partner */
    int reaped; /* the partner was reaped while waiting (wstatus holds how it ended) */
    int wstatus;
    int spin; /* 1: spin a little before sleeping (the partner may run on another PU) */
    int lazy; /* 1: both sides on one PU: wake the other side in batches (see wake_now) */
    int priv; /* 1: futex words inside one process */
    unsigned char *sbuf, *rbuf; /* the side's own memory: a message built, one received */
};

/* Waits (in a channel that has no end-of-file of its own) give up every
 * 100 ms to look whether the partner is still there. */
#define PEER_POLL_NS 100000000ull

/* 1 when the partner process has ended (the initiator reaps it here and
 * keeps its status); 0 for threads, and while it runs. */
static int peer_gone(cb_ipc_chan_t *c)
{
    if (c->reaped)
        return 1;
    /* The partner itself dies with the initiator (its parent-death
     * signal): it never has to look. */
    if (c->who != 0 || c->peer <= 0)
        return 0;
    int st;
    if (waitpid(c->peer, &st, WNOHANG) == c->peer) {
        c->reaped = 1;
        c->wstatus = st;
        cb_children_untrack(c->peer);
        return 1;
    }
    return 0;
}

static void *alloc_touched(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p)
        memset(p, 0, n);
    return p;
}

/* The side's own buffers are copy-on-write after the fork: each side
 * writes them once before the clock runs, so no copy fault lands in a
 * timed loop. */
static void touch_own(cb_ipc_chan_t *c)
{
    if (c->sbuf)
        memset(c->sbuf, 0, c->n);
    if (c->rbuf)
        memset(c->rbuf, 0, c->n);
}

static int base_init(cb_ipc_chan_t *c, size_t n, int bufs)
{
    c->n = n;
    if (bufs & 1 && !(c->sbuf = alloc_touched(n)))
        return -ENOMEM;
    if (bufs & 2 && !(c->rbuf = alloc_touched(n)))
        return -ENOMEM;
    return 0;
}

static void base_free(cb_ipc_chan_t *c)
{
    free(c->sbuf);
    free(c->rbuf);
}

static void *own_sbuf(cb_ipc_chan_t *c, int lane)
{
    (void)lane;
    return c->sbuf;
}

/* ---- pipe and socketpair: a byte stream, read and written whole ---- */

typedef struct fd_chan {
    cb_ipc_chan_t b;
    int fd[2][2]; /* per lane: its read end, its write end (-1: closed here) */
} fd_chan_t;

static void fd_close_all(fd_chan_t *f)
{
    for (int l = 0; l < 2; l++)
        for (int e = 0; e < 2; e++)
            if (f->fd[l][e] >= 0) {
                /* A socketpair's end serves both lanes: close it once. */
                int fd = f->fd[l][e];
                for (int l2 = 0; l2 < 2; l2++)
                    for (int e2 = 0; e2 < 2; e2++)
                        if (f->fd[l2][e2] == fd)
                            f->fd[l2][e2] = -1;
                close(fd);
            }
}

static fd_chan_t *fd_new(size_t n)
{
    fd_chan_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    for (int l = 0; l < 2; l++)
        f->fd[l][0] = f->fd[l][1] = -1;
    if (base_init(&f->b, n, 3) < 0) {
        base_free(&f->b);
        free(f);
        return NULL;
    }
    return f;
}

static void fd_chan_close(cb_ipc_chan_t *c)
{
    fd_chan_t *f = (fd_chan_t *)c;
    fd_close_all(f);
    base_free(c);
    free(f);
}

static int pipe_open(cb_ipc_chan_t **out, size_t n)
{
    fd_chan_t *f = fd_new(n);
    if (!f)
        return -ENOMEM;
    for (int l = 0; l < 2; l++)
        if (pipe2(f->fd[l], O_CLOEXEC) != 0) {
            int rc = -errno;
            fd_chan_close(&f->b);
            return rc;
        }
    *out = &f->b;
    return 0;
}

static int socketpair_open(cb_ipc_chan_t **out, size_t n)
{
    fd_chan_t *f = fd_new(n);
    int sv[2];
    if (!f)
        return -ENOMEM;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        int rc = -errno;
        fd_chan_close(&f->b);
        return rc;
    }
    /* sv[0] is the initiator's end (it writes lane 0 and reads lane 1),
     * sv[1] the partner's. */
    f->fd[0][1] = f->fd[1][0] = sv[0];
    f->fd[0][0] = f->fd[1][1] = sv[1];
    *out = &f->b;
    return 0;
}

static void fd_side(cb_ipc_chan_t *c, int who)
{
    fd_chan_t *f = (fd_chan_t *)c;
    /* The initiator writes lane 0 and reads lane 1; the partner the
     * reverse. The ends a side does not use are closed there, so that the
     * other side's death is an end of file or EPIPE. */
    int drop[2] = {who == 0 ? f->fd[0][0] : f->fd[0][1], who == 0 ? f->fd[1][1] : f->fd[1][0]};
    for (int i = 0; i < 2; i++) {
        if (drop[i] < 0)
            continue;
        for (int l = 0; l < 2; l++)
            for (int e = 0; e < 2; e++)
                if (f->fd[l][e] == drop[i])
                    f->fd[l][e] = -1;
        close(drop[i]);
    }
    touch_own(c);
}

static int fd_send(cb_ipc_chan_t *c, int lane, const void *msg)
{
    fd_chan_t *f = (fd_chan_t *)c;
    const char *p = msg;
    for (size_t left = c->n; left > 0;) {
        ssize_t k = write(f->fd[lane][1], p, left);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno == ECONNRESET ? -EPIPE : -errno;
        }
        p += k;
        left -= (size_t)k;
    }
    return 0;
}

static const void *fd_recv(cb_ipc_chan_t *c, int lane, int *rc)
{
    fd_chan_t *f = (fd_chan_t *)c;
    char *p = (char *)c->rbuf;
    for (size_t left = c->n; left > 0;) {
        ssize_t k = read(f->fd[lane][0], p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            *rc = k == 0 || errno == ECONNRESET ? -EPIPE : -errno;
            return NULL;
        }
        p += k;
        left -= (size_t)k;
    }
    return c->rbuf;
}

/* ---- POSIX message queues ---- */

static long read_proc_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

#define MQ_MSGSIZE_MAX "/proc/sys/fs/mqueue/msgsize_max"
#define MQ_MSG_MAX "/proc/sys/fs/mqueue/msg_max"

typedef struct mq_chan {
    cb_ipc_chan_t b;
    mqd_t q[2];
} mq_chan_t;

static void mq_chan_close(cb_ipc_chan_t *c)
{
    mq_chan_t *q = (mq_chan_t *)c;
    for (int l = 0; l < 2; l++)
        if (q->q[l] != (mqd_t)-1)
            mq_close(q->q[l]);
    base_free(c);
    free(q);
}

/* Opens (and at once unlinks: the descriptors are all that is needed, and
 * they survive the fork) one queue of maxmsg messages of n bytes. */
static mqd_t mq_make(size_t n, long maxmsg, int *rc)
{
    static _Atomic long seq;
    char name[64];
    snprintf(name, sizeof(name), "/cb_ipc_%d_%ld", (int)getpid(), atomic_fetch_add(&seq, 1));
    struct mq_attr a = {.mq_maxmsg = maxmsg, .mq_msgsize = (long)n};
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a);
    if (q == (mqd_t)-1) {
        *rc = -errno;
        return q;
    }
    mq_unlink(name);
    return q;
}

static const char *mq_unavailable(void)
{
    static int done;
    static char why[128];
    if (!done) {
        int rc = 0;
        mqd_t q = mq_make(64, 1, &rc);
        if (q == (mqd_t)-1)
            snprintf(why, sizeof(why), "mq_open: %s", strerror(-rc));
        else
            mq_close(q);
        done = 1;
    }
    return why[0] ? why : NULL;
}

static size_t mq_limit(char *why, size_t len)
{
    long v = read_proc_long(MQ_MSGSIZE_MAX);
    if (v <= 0)
        v = 8192; /* the kernel's default (DFLT_MSGSIZEMAX) */
    snprintf(why, len, "the kernel's limit, %s = %ld bytes", MQ_MSGSIZE_MAX, v);
    return (size_t)v;
}

static int mq_chan_open(cb_ipc_chan_t **out, size_t n)
{
    mq_chan_t *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->q[0] = q->q[1] = (mqd_t)-1;
    int rc = base_init(&q->b, n, 3);
    /* As deep as the kernel lets an unprivileged queue be, up to 10 (its
     * default msg_max). */
    long maxmsg = read_proc_long(MQ_MSG_MAX);
    if (maxmsg <= 0 || maxmsg > 10)
        maxmsg = 10;
    for (int l = 0; l < 2 && rc == 0; l++)
        q->q[l] = mq_make(n, maxmsg, &rc);
    if (rc < 0) {
        mq_chan_close(&q->b);
        return rc;
    }
    *out = &q->b;
    return 0;
}

static void mq_side(cb_ipc_chan_t *c, int who)
{
    (void)who;
    touch_own(c);
}

static struct timespec deadline_in(uint64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += (long)(ns % 1000000000u);
    t.tv_sec += (time_t)(ns / 1000000000u) + t.tv_nsec / 1000000000;
    t.tv_nsec %= 1000000000;
    return t;
}

static int mq_chan_send(cb_ipc_chan_t *c, int lane, const void *msg)
{
    mq_chan_t *q = (mq_chan_t *)c;
    for (;;) {
        struct timespec t = deadline_in(PEER_POLL_NS);
        if (mq_timedsend(q->q[lane], msg, c->n, 0, &t) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != ETIMEDOUT)
            return -errno;
        if (peer_gone(c))
            return -EPIPE;
    }
}

static const void *mq_chan_recv(cb_ipc_chan_t *c, int lane, int *rc)
{
    mq_chan_t *q = (mq_chan_t *)c;
    for (;;) {
        struct timespec t = deadline_in(PEER_POLL_NS);
        ssize_t k = mq_timedreceive(q->q[lane], (char *)c->rbuf, c->n, NULL, &t);
        if (k == (ssize_t)c->n)
            return c->rbuf;
        if (k >= 0) {
            *rc = -EBADMSG;
            return NULL;
        }
        if (errno == EINTR)
            continue;
        if (errno != ETIMEDOUT || peer_gone(c)) {
            *rc = errno == ETIMEDOUT ? -EPIPE : -errno;
            return NULL;
        }
    }
}

/* ---- rings: SPSC between threads, in MAP_SHARED memory between processes ---- */

/* One lane's ring: the producer writes head, the consumer tail (each the
 * other's futex word); a side that sleeps says so in its waiting flag
 * first, so the other wakes it only then. Counters are 32 bits and wrap;
 * head - tail is the fill either way. */
typedef struct ring {
    _Atomic uint32_t head, cons_waiting;
    char pad1[56];
    _Atomic uint32_t tail, prod_waiting;
    char pad2[56];
} ring_t;

typedef struct ring_chan {
    cb_ipc_chan_t b;
    void *map;
    size_t map_bytes, slot_bytes;
    uint32_t slots;
    ring_t *r[2];
    unsigned char *data[2];
    /* Bytes written (consumed) on a lane since its consumer (producer) was
     * last woken: each written only by that lane's producer (consumer). */
    size_t unwoken_cons[2], unwoken_prod[2];
} ring_chan_t;

/* Spins before sleeping when the other side runs on another PU; and, when
 * both share one PU, a batch of this many bytes before a wake-up
 * (wake_now). */
enum { RING_SPINS = 200, WAKE_BATCH = 256 << 10 };

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

/* Slots for messages of n bytes: a ring of at least 256 KiB and 4
 * messages, at most 4096 slots. */
static uint32_t ring_slots(size_t slot)
{
    size_t bytes = 4 * slot > (256u << 10) ? 4 * slot : (256u << 10);
    size_t k = bytes / slot;
    return (uint32_t)(k > 4096 ? 4096 : k);
}

static int ring_open(cb_ipc_chan_t **out, size_t n, int shared)
{
    ring_chan_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    int rc = base_init(&r->b, n, 1);
    r->slot_bytes = round_up(n, 64);
    r->slots = ring_slots(r->slot_bytes);
    size_t lane_bytes = round_up(sizeof(ring_t) + (size_t)r->slots * r->slot_bytes, 4096);
    r->map_bytes = 2 * lane_bytes;
    r->map = rc < 0 ? MAP_FAILED
                    : mmap(NULL, r->map_bytes, PROT_READ | PROT_WRITE,
                           (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    if (r->map == MAP_FAILED) {
        rc = rc < 0 ? rc : -errno;
        base_free(&r->b);
        free(r);
        return rc;
    }
    /* Touched now, before the partner exists: a MAP_SHARED page is the
     * same page on both sides, so neither takes a fault later. */
    memset(r->map, 0, r->map_bytes);
    for (int l = 0; l < 2; l++) {
        r->r[l] = (ring_t *)((char *)r->map + (size_t)l * lane_bytes);
        r->data[l] = (unsigned char *)r->r[l] + sizeof(ring_t);
    }
    r->b.priv = !shared;
    *out = &r->b;
    return 0;
}

static int spsc_open(cb_ipc_chan_t **out, size_t n)
{
    return ring_open(out, n, 0);
}

static int shm_open_ring(cb_ipc_chan_t **out, size_t n)
{
    return ring_open(out, n, 1);
}

static void ring_close(cb_ipc_chan_t *c)
{
    ring_chan_t *r = (ring_chan_t *)c;
    munmap(r->map, r->map_bytes);
    base_free(c);
    free(r);
}

static void ring_side(cb_ipc_chan_t *c, int who)
{
    (void)who;
    touch_own(c);
}

/* Sleeps while *word == v (at most PEER_POLL_NS). Returns -EPIPE when the
 * partner is gone, else 0 (woken, or the word changed, or a poll). */
static int ring_sleep(cb_ipc_chan_t *c, _Atomic uint32_t *word, uint32_t v)
{
    int w = c->priv ? cb_futex_wait_private((uint32_t *)word, v, PEER_POLL_NS)
                    : cb_futex_wait_shared((uint32_t *)word, v, PEER_POLL_NS);
    return w == -ETIMEDOUT && peer_gone(c) ? -EPIPE : 0;
}

static void ring_wake(cb_ipc_chan_t *c, _Atomic uint32_t *word)
{
    if (c->priv)
        cb_futex_wake_private((uint32_t *)word, 1);
    else
        cb_futex_wake_shared((uint32_t *)word, 1);
}

/* Wakes whoever sleeps on the lane this side produces (its consumer) and
 * on the lane it consumes (its producer): before this side blocks, so a
 * wake-up held back for a batch is never lost. */
static void ring_flush_lanes(ring_chan_t *rc, int out, int in)
{
    cb_ipc_chan_t *c = &rc->b;
    if (atomic_load(&rc->r[out]->cons_waiting))
        ring_wake(c, &rc->r[out]->head);
    if (atomic_load(&rc->r[in]->prod_waiting))
        ring_wake(c, &rc->r[in]->tail);
    rc->unwoken_cons[out] = rc->unwoken_prod[in] = 0;
}

static void ring_flush(cb_ipc_chan_t *c, int out)
{
    ring_flush_lanes((ring_chan_t *)c, out, 1 - out);
}

/* Whether to wake the waiting other side now. On two PUs, always: it runs
 * in parallel. On one PU a wake-up preempts the waker (the woken side has
 * slept, so the scheduler runs it first): woken for every message, the
 * consumer would take one and sleep again, two context switches per
 * message. It is woken once WAKE_BATCH bytes wait for it (about what stays
 * in a core's cache beside the sender's own buffer), or when this side is
 * about to block (ring_flush_lanes), much as a pipe's writer wakes its
 * reader with a hint that the writer will sleep first. */
static int wake_now(cb_ipc_chan_t *c, size_t *unwoken)
{
    if (!c->lazy)
        return 1;
    if ((*unwoken += c->n) < WAKE_BATCH)
        return 0;
    *unwoken = 0;
    return 1;
}

static int ring_send(cb_ipc_chan_t *c, int lane, const void *msg)
{
    ring_chan_t *rc = (ring_chan_t *)c;
    ring_t *r = rc->r[lane];
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed), t;
    int spins = c->spin ? RING_SPINS : 0;
    while (h - (t = atomic_load_explicit(&r->tail, memory_order_acquire)) >= rc->slots) {
        if (spins-- > 0) {
            cb_cpu_relax();
            continue;
        }
        /* Say we sleep, then look again: the consumer stores tail, then
         * reads the flag (both sequentially consistent), so one of the two
         * sees the other's store. */
        ring_flush_lanes(rc, lane, 1 - lane);
        atomic_store(&r->prod_waiting, 1);
        int gone = 0;
        if (h - atomic_load(&r->tail) >= rc->slots)
            gone = ring_sleep(c, &r->tail, t);
        atomic_store(&r->prod_waiting, 0);
        if (gone)
            return gone;
    }
    memcpy(rc->data[lane] + (size_t)(h % rc->slots) * rc->slot_bytes, msg, c->n);
    atomic_store(&r->head, h + 1);
    if (atomic_load(&r->cons_waiting) && wake_now(c, &rc->unwoken_cons[lane]))
        ring_wake(c, &r->head);
    return 0;
}

static const void *ring_recv(cb_ipc_chan_t *c, int lane, int *rcp)
{
    ring_chan_t *rc = (ring_chan_t *)c;
    ring_t *r = rc->r[lane];
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    int spins = c->spin ? RING_SPINS : 0;
    while (atomic_load_explicit(&r->head, memory_order_acquire) == t) {
        if (spins-- > 0) {
            cb_cpu_relax();
            continue;
        }
        ring_flush_lanes(rc, 1 - lane, lane);
        atomic_store(&r->cons_waiting, 1);
        int gone = 0;
        if (atomic_load(&r->head) == t)
            gone = ring_sleep(c, &r->head, t);
        atomic_store(&r->cons_waiting, 0);
        if (gone) {
            *rcp = gone;
            return NULL;
        }
    }
    /* The message is checked where it lies: no copy out. */
    return rc->data[lane] + (size_t)(t % rc->slots) * rc->slot_bytes;
}

static void ring_release(cb_ipc_chan_t *c, int lane, const void *msg)
{
    (void)msg;
    ring_chan_t *rc = (ring_chan_t *)c;
    ring_t *r = rc->r[lane];
    atomic_store(&r->tail, atomic_load_explicit(&r->tail, memory_order_relaxed) + 1);
    if (atomic_load(&r->prod_waiting) && wake_now(c, &rc->unwoken_prod[lane]))
        ring_wake(c, &r->tail);
}

/* ---- the bounded queue between threads: buffers change hands ---- */

typedef struct bq {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    void **slot;
    size_t cap, head, count;
} bq_t;

static int bq_init(bq_t *q, size_t cap)
{
    q->slot = calloc(cap, sizeof(*q->slot));
    q->cap = cap;
    if (!q->slot)
        return -ENOMEM;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    pthread_cond_init(&q->nonfull, NULL);
    return 0;
}

static void bq_destroy(bq_t *q)
{
    if (!q->slot)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->nonempty);
    pthread_cond_destroy(&q->nonfull);
    free(q->slot);
}

static void lock(pthread_mutex_t *m)
{
    if (pthread_mutex_lock(m) != 0)
        abort();
}

static void unlock(pthread_mutex_t *m)
{
    if (pthread_mutex_unlock(m) != 0)
        abort();
}

static void bq_push(bq_t *q, void *p)
{
    lock(&q->mu);
    while (q->count == q->cap)
        pthread_cond_wait(&q->nonfull, &q->mu);
    q->slot[(q->head + q->count++) % q->cap] = p;
    pthread_cond_signal(&q->nonempty);
    unlock(&q->mu);
}

static void *bq_pop(bq_t *q)
{
    lock(&q->mu);
    while (q->count == 0)
        pthread_cond_wait(&q->nonempty, &q->mu);
    void *p = q->slot[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_signal(&q->nonfull);
    unlock(&q->mu);
    return p;
}

typedef struct queue_chan {
    cb_ipc_chan_t b;
    bq_t lane[2], free;
    unsigned char *pool;
} queue_chan_t;

static void queue_close(cb_ipc_chan_t *c)
{
    queue_chan_t *q = (queue_chan_t *)c;
    for (int l = 0; l < 2; l++)
        bq_destroy(&q->lane[l]);
    bq_destroy(&q->free);
    free(q->pool);
    free(q);
}

static int queue_open(cb_ipc_chan_t **out, size_t n)
{
    queue_chan_t *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->b.n = n;
    size_t slot = round_up(n, 64);
    uint32_t k = ring_slots(slot); /* as many buffers as the rings have slots */
    int rc = 0;
    for (int l = 0; l < 2 && rc == 0; l++)
        rc = bq_init(&q->lane[l], k);
    if (rc == 0)
        rc = bq_init(&q->free, k);
    if (rc == 0 && !(q->pool = alloc_touched((size_t)k * slot)))
        rc = -ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < k; i++)
        bq_push(&q->free, q->pool + (size_t)i * slot);
    if (rc < 0) {
        queue_close(&q->b);
        return rc;
    }
    *out = &q->b;
    return 0;
}

static void *queue_acquire(cb_ipc_chan_t *c, int lane)
{
    (void)lane;
    return bq_pop(&((queue_chan_t *)c)->free);
}

/* The buffer itself is queued: it belongs to the receiver from now on. */
static int queue_send(cb_ipc_chan_t *c, int lane, const void *msg)
{
    bq_push(&((queue_chan_t *)c)->lane[lane], (void *)msg);
    return 0;
}

static const void *queue_recv(cb_ipc_chan_t *c, int lane, int *rc)
{
    (void)rc;
    return bq_pop(&((queue_chan_t *)c)->lane[lane]);
}

static void queue_release(cb_ipc_chan_t *c, int lane, const void *msg)
{
    (void)lane;
    bq_push(&((queue_chan_t *)c)->free, (void *)msg);
}

/* The echo hands the same buffer back. */
static int queue_echo(cb_ipc_chan_t *c, int in, int out, const void *msg)
{
    (void)in;
    return queue_send(c, out, msg);
}

/* ---- dd, the reference ---- */

static const char *dd_unavailable(void)
{
    char *dd = cb_helper_find("dd");
    free(dd);
    return dd ? NULL : "dd not found on PATH";
}

/* ---- the table ---- */

const cb_ipc_mech_t cb_ipc_mechs[] = {
    {.name = "queue",
     .summary = "threads: bounded queue (mutex + condvar) of message buffers; 0 copies, the "
                "buffer changes hands",
     .process = 0,
     .copies = 0,
     .open = queue_open,
     .acquire = queue_acquire,
     .send = queue_send,
     .recv = queue_recv,
     .release = queue_release,
     .echo = queue_echo,
     .close = queue_close},
    {.name = "spsc",
     .summary = "threads: single-producer single-consumer ring, futex wake-ups; 1 copy, into "
                "the ring",
     .process = 0,
     .copies = 1,
     .open = spsc_open,
     .side = ring_side,
     .acquire = own_sbuf,
     .send = ring_send,
     .recv = ring_recv,
     .release = ring_release,
     .flush = ring_flush,
     .close = ring_close},
    {.name = "pipe",
     .summary = "processes: pipe(2), one per direction; 2 copies, into the kernel and out",
     .process = 1,
     .copies = 2,
     .open = pipe_open,
     .side = fd_side,
     .acquire = own_sbuf,
     .send = fd_send,
     .recv = fd_recv,
     .close = fd_chan_close},
    {.name = "socketpair",
     .summary = "processes: AF_UNIX SOCK_STREAM socketpair(2); 2 copies",
     .process = 1,
     .copies = 2,
     .open = socketpair_open,
     .side = fd_side,
     .acquire = own_sbuf,
     .send = fd_send,
     .recv = fd_recv,
     .close = fd_chan_close},
    {.name = "shm",
     .summary = "processes: SPSC ring in MAP_SHARED memory, futex wake-ups; 1 copy, into the "
                "ring",
     .process = 1,
     .copies = 1,
     .open = shm_open_ring,
     .side = ring_side,
     .acquire = own_sbuf,
     .send = ring_send,
     .recv = ring_recv,
     .release = ring_release,
     .flush = ring_flush,
     .close = ring_close},
    {.name = "mqueue",
     .summary = "processes: POSIX message queue (mq_send / mq_receive); 2 copies; sizes up to "
                "fs.mqueue.msgsize_max",
     .process = 1,
     .copies = 2,
     .unavailable = mq_unavailable,
     .limit = mq_limit,
     .open = mq_chan_open,
     .side = mq_side,
     .acquire = own_sbuf,
     .send = mq_chan_send,
     .recv = mq_chan_recv,
     .close = mq_chan_close},
    {.name = "dd",
     .summary = "reference: dd if=/dev/zero bs=N count=C | dd of=/dev/null bs=N (stream only; "
                "the second dd's own figure)",
     .process = 1,
     .copies = 2,
     .reference = 1,
     .unavailable = dd_unavailable},
};
const size_t cb_ipc_mech_count = sizeof(cb_ipc_mechs) / sizeof(cb_ipc_mechs[0]);

const cb_ipc_mech_t *cb_ipc_mech_find(const char *name)
{
    return cb_table_find(cb_ipc_mechs, cb_ipc_mech_count, sizeof(cb_ipc_mechs[0]), name);
}

size_t cb_ipc_mech_names(const cb_name_t **out)
{
    static cb_name_t tab[sizeof(cb_ipc_mechs) / sizeof(cb_ipc_mechs[0])];
    *out = tab;
    return cb_table_names(tab, cb_ipc_mechs, cb_ipc_mech_count, sizeof(cb_ipc_mechs[0]),
                          offsetof(cb_ipc_mech_t, summary), offsetof(cb_ipc_mech_t, unavailable));
}

/* ---- one run: the partner ---- */

/* The partner's report over the control pipe, after each mode. */
typedef struct report {
    uint64_t msgs;
    int64_t bad_msg, bad_off; /* -1: every byte was right */
    uint8_t got, want;
    int rc; /* the channel's error, 0 when none */
} report_t;

typedef struct partner {
    const cb_ipc_cfg_t *x;
    cb_ipc_chan_t *c;
    int ctl; /* the partner writes its ready byte and its reports here */
} partner_t;

static uint64_t header(const void *msg)
{
    uint64_t h;
    memcpy(&h, msg, 8);
    return h;
}

static void note_bad(report_t *r, const void *msg, size_t n, uint64_t idx)
{
    if (r->bad_msg >= 0)
        return;
    uint8_t g = 0, w = 0;
    long off = cb_ipc_check(msg, n, idx, &g, &w);
    if (off >= 0) {
        r->bad_msg = (int64_t)idx;
        r->bad_off = off;
        r->got = g;
        r->want = w;
    }
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads n bytes; 0, or -1 at an end of file (the partner is gone). */
static int read_all(int fd, void *p, size_t n)
{
    char *b = p;
    while (n > 0) {
        ssize_t k = read(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int mode_on(const cb_ipc_cfg_t *x, int mode)
{
    return mode == 0 ? x->stream_s > 0 : x->pingpong_s > 0;
}

/* Mode 0: receives and checks until the end message. Mode 1: checks each
 * message and sends it back. A wrong byte is noted and the run goes on to
 * its end, so both sides finish the protocol and the report names it. */
static void partner_body(partner_t *p)
{
    const cb_ipc_cfg_t *x = p->x;
    const cb_ipc_mech_t *m = x->mech;
    cb_ipc_chan_t *c = p->c;
    char ready = 1;
    if (write_all(p->ctl, &ready, 1) < 0)
        return;
    for (int mode = 0; mode < 2; mode++) {
        if (!mode_on(x, mode))
            continue;
        report_t r = {.bad_msg = -1, .bad_off = -1};
        for (;;) {
            int rc = 0;
            const void *msg = m->recv(c, 0, &rc);
            if (!msg) {
                r.rc = rc;
                break;
            }
            if (header(msg) == CB_IPC_END) {
                if (m->release)
                    m->release(c, 0, msg);
                break;
            }
            if (x->fault == CB_IPC_FAULT_DIE && r.msgs == CB_IPC_FAULT_MSG) {
                signal(SIGSEGV, SIG_DFL);
                raise(SIGSEGV);
            }
            note_bad(&r, msg, c->n, r.msgs);
            r.msgs++;
            if (mode == 0) {
                if (m->release)
                    m->release(c, 0, msg);
                continue;
            }
            if (m->echo)
                rc = m->echo(c, 0, 1, msg);
            else if ((rc = m->send(c, 1, msg)) == 0 && m->release)
                m->release(c, 0, msg);
            if (rc < 0) {
                r.rc = rc;
                break;
            }
        }
        if (m->flush)
            m->flush(c, 1);
        if (write_all(p->ctl, &r, sizeof(r)) < 0 || r.rc < 0)
            return;
    }
}

static void *partner_thread(void *arg)
{
    partner_body(arg);
    return NULL;
}

/* ---- one run: the initiator ---- */

typedef struct run {
    const cb_ipc_cfg_t *x;
    cb_ipc_chan_t *c;
    int ctl; /* the partner's reports */
    uint64_t sent;
    int rc;           /* the first channel error */
    char bad[96];     /* the first wrong byte, in words */
    int partner_gone; /* the control pipe ended early */
} run_t;

static void say_bad(run_t *u, const char *what, int64_t msg, int64_t off, unsigned got,
                    unsigned want)
{
    if (!u->bad[0])
        snprintf(u->bad, sizeof(u->bad), "%smessage %lld: byte %lld is 0x%02x, expected 0x%02x",
                 what, (long long)msg, (long long)off, got, want);
}

static int send_msg(run_t *u, uint64_t idx, int end)
{
    const cb_ipc_cfg_t *x = u->x;
    unsigned char *b = x->mech->acquire(u->c, 0);
    if (end) {
        uint64_t h = CB_IPC_END;
        memcpy(b, &h, 8);
    } else {
        cb_ipc_fill(b, u->c->n, idx);
        if (x->fault == CB_IPC_FAULT_CORRUPT && idx == CB_IPC_FAULT_MSG)
            b[cb_ipc_fault_offset(u->c->n)] ^= 0x5a;
    }
    int rc = x->mech->send(u->c, 0, b);
    if (rc < 0 && !u->rc)
        u->rc = rc;
    return rc;
}

/* Reads the partner's report of a mode; -1 when it is gone. */
static int take_report(run_t *u, const char *what, report_t *r)
{
    if (u->x->mech->flush)
        u->x->mech->flush(u->c, 0);
    if (read_all(u->ctl, r, sizeof(*r)) < 0) {
        u->partner_gone = 1;
        return -1;
    }
    if (r->rc < 0 && !u->rc)
        u->rc = r->rc;
    if (r->bad_msg >= 0)
        say_bad(u, what, r->bad_msg, r->bad_off, r->got, r->want);
    return 0;
}

/* The stream. Timed: from the first message built to the partner's report
 * that it checked the end message, so every message counted was received
 * and checked. The partner was started, pinned and said it was ready
 * before; the channel's memory was touched on both sides. */
static void stream(run_t *u, cb_ipc_result_t *res)
{
    const cb_ipc_cfg_t *x = u->x;
    size_t n = u->c->n;
    int batch = n >= 65536 ? 1 : 16;
    uint64_t limit = (uint64_t)(x->stream_s * 1e9), i = 0;
    cb_counters_start();
    uint64_t t0 = cb_now_ns(), t1;
    int stop = 0;
    do {
        for (int k = 0; k < batch && !stop; k++) {
            if (send_msg(u, i, 0) < 0)
                stop = 1;
            else if (++i == x->max_msgs)
                stop = 1;
        }
        t1 = cb_now_ns();
    } while (!stop && t1 - t0 < limit);
    u->sent = i;
    report_t r;
    /* After a broken channel the partner is gone or going: no report to
     * wait for. */
    int got = u->rc == 0 && send_msg(u, 0, 1) == 0 ? take_report(u, "", &r) : -1;
    t1 = cb_now_ns();
    cb_counters_stop();
    if (got == 0 && r.msgs != i && u->rc == 0 && !u->bad[0])
        snprintf(u->bad, sizeof(u->bad), "%llu messages sent, %llu received", (unsigned long long)i,
                 (unsigned long long)r.msgs);
    res->msgs = got == 0 ? r.msgs : 0;
    res->stream_ns = t1 - t0;
}

/* The ping-pong. Timed: round trips, each a message built and sent, and
 * its echo received and checked (the partner checks it on the way). */
static void pingpong(run_t *u, cb_ipc_result_t *res)
{
    const cb_ipc_cfg_t *x = u->x;
    const cb_ipc_mech_t *m = x->mech;
    size_t n = u->c->n;
    int batch = n >= 65536 ? 1 : 16;
    uint64_t limit = (uint64_t)(x->pingpong_s * 1e9), i = 0;
    cb_counters_start();
    uint64_t t0 = cb_now_ns(), t1;
    int stop = 0;
    do {
        for (int k = 0; k < batch && !stop; k++) {
            if (send_msg(u, i, 0) < 0) {
                stop = 1;
                break;
            }
            int rc = 0;
            const void *msg = m->recv(u->c, 1, &rc);
            if (!msg) {
                if (!u->rc)
                    u->rc = rc;
                stop = 1;
                break;
            }
            uint8_t g = 0, w = 0;
            long off = cb_ipc_check(msg, n, i, &g, &w);
            if (off >= 0)
                say_bad(u, "echo of ", (int64_t)i, off, g, w);
            if (m->release)
                m->release(u->c, 1, msg);
            if (++i == x->max_msgs)
                stop = 1;
        }
        t1 = cb_now_ns();
    } while (!stop && t1 - t0 < limit);
    cb_counters_stop();
    res->roundtrips = i;
    res->pingpong_ns = t1 - t0;
    report_t r;
    if (u->rc == 0 && send_msg(u, 0, 1) == 0)
        take_report(u, "", &r);
}

static void initiator(run_t *u, cb_ipc_result_t *res)
{
    char ready;
    if (read_all(u->ctl, &ready, 1) < 0) {
        u->partner_gone = 1;
        return;
    }
    if (mode_on(u->x, 0))
        stream(u, res);
    if (mode_on(u->x, 1) && !u->rc && !u->partner_gone)
        pingpong(u, res);
}

static const char *signame(int sig)
{
    const char *s = sigabbrev_np(sig);
    static char buf[32];
    snprintf(buf, sizeof(buf), "SIG%s", s ? s : "NAL");
    return buf;
}

/* What happened, into res: a partner that died first, then a broken
 * channel, then a wrong byte. */
static void conclude(run_t *u, int wstatus, int have_status, cb_ipc_result_t *res)
{
    const char *mech = u->x->mech->name;
    if (have_status && WIFSIGNALED(wstatus)) {
        res->status = CB_CRASHED;
        snprintf(res->detail, sizeof(res->detail),
                 "receiver died of %s mid-stream (%llu messages sent)", signame(WTERMSIG(wstatus)),
                 (unsigned long long)u->sent);
    } else if (have_status && WEXITSTATUS(wstatus) != 0) {
        res->status = CB_ERROR;
        snprintf(res->detail, sizeof(res->detail), "receiver exited %d%s", WEXITSTATUS(wstatus),
                 WEXITSTATUS(wstatus) == 3 ? " (could not bind to its PU)" : "");
    } else if (u->rc < 0) {
        res->status = CB_ERROR;
        snprintf(res->detail, sizeof(res->detail), "%s: %s (%llu messages sent)", mech,
                 strerror(-u->rc), (unsigned long long)u->sent);
    } else if (u->partner_gone) {
        res->status = CB_ERROR;
        snprintf(res->detail, sizeof(res->detail), "%s: the receiver ended before reporting", mech);
    } else if (u->bad[0]) {
        res->status = CB_ERROR;
        snprintf(res->detail, sizeof(res->detail), "%s", u->bad);
    }
}

/* ---- dd ---- */

/* Runs dd if=/dev/zero bs=N count=C | dd of=/dev/null bs=N, the first on
 * the initiator's PU and the second on the partner's, and reads the
 * second's report ("B bytes (...) copied, T s, ..."). Returns 0 with
 * *bytes and *secs, or a negative errno with why. */
static int dd_once(const cb_ipc_cfg_t *x, const char *dd, uint64_t count, uint64_t *bytes,
                   double *secs, char *why, size_t len)
{
    char bs[32], cnt[40];
    snprintf(bs, sizeof(bs), "bs=%zu", x->msg_bytes);
    snprintf(cnt, sizeof(cnt), "count=%llu", (unsigned long long)count);
    char *const wargv[] = {"dd", "if=/dev/zero", bs, cnt, NULL};
    char *const rargv[] = {"dd", "of=/dev/null", bs, NULL};
    char *const envp[] = {"LC_ALL=C", NULL};
    int data[2], err[2];
    if (pipe2(data, O_CLOEXEC) != 0)
        return -errno;
    if (pipe2(err, O_CLOEXEC) != 0) {
        int rc = -errno;
        close(data[0]);
        close(data[1]);
        return rc;
    }
    pid_t pid[2] = {-1, -1};
    for (int k = 0; k < 2; k++) {
        pid[k] = cb_fork_child();
        if (pid[k] == 0) {
            int null = open("/dev/null", O_RDWR);
            if (x->pinned && cb_pin_bind_child(x->topo, x->pu[k]) < 0)
                _exit(125);
            if (k == 0 && (dup2(data[1], 1) < 0 || dup2(null, 2) < 0))
                _exit(125);
            if (k == 1 && (dup2(data[0], 0) < 0 || dup2(null, 1) < 0 || dup2(err[1], 2) < 0))
                _exit(125);
            execve(dd, k == 0 ? wargv : rargv, envp);
            _exit(127);
        }
        if (pid[k] < 0)
            break;
    }
    close(data[0]);
    close(data[1]);
    close(err[1]);
    char out[1024];
    size_t got = 0;
    for (ssize_t k;
         got + 1 < sizeof(out) && (k = read(err[0], out + got, sizeof(out) - 1 - got));) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        got += (size_t)k;
    }
    out[got] = '\0';
    close(err[0]);
    int bad = 0;
    for (int k = 0; k < 2; k++) {
        int st = 0;
        if (pid[k] < 0) {
            bad = (int)pid[k];
            continue;
        }
        while (waitpid(pid[k], &st, 0) < 0 && errno == EINTR)
            ;
        cb_children_untrack(pid[k]);
        if (!bad && (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
            snprintf(why, len, "dd (%s) %s %d", k == 0 ? "writer" : "reader",
                     WIFEXITED(st) ? "exited" : "died of signal",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            bad = -ECHILD;
        }
    }
    if (bad)
        return bad;
    const char *b = strstr(out, " bytes");
    const char *t = strstr(out, "copied, ");
    if (!b || !t) {
        snprintf(why, len, "dd printed no 'bytes ... copied, T s' line");
        return -EBADMSG;
    }
    const char *line = b;
    while (line > out && line[-1] != '\n')
        line--;
    *bytes = strtoull(line, NULL, 10);
    *secs = strtod(t + 8, NULL);
    if (*bytes == 0 || !(*secs > 0)) {
        snprintf(why, len, "dd's report did not parse: %.60s", line);
        return -EBADMSG;
    }
    return 0;
}

/* The reference: short dd pipelines size the count to stream_s (from 1
 * MiB, 4x more until one runs an eighth of stream_s, so that dd's own
 * start-up, inside its figure, is not what sizes it), then the measured
 * one. Its figure is dd's own: bytes over the seconds the second dd
 * reports (its start to its end of file). */
static int run_dd(const cb_ipc_cfg_t *x, cb_ipc_result_t *res)
{
    char *dd = cb_helper_find("dd");
    if (!dd) {
        res->status = CB_SKIPPED;
        snprintf(res->detail, sizeof(res->detail), "dd not found on PATH");
        return 0;
    }
    size_t n = x->msg_bytes;
    uint64_t bytes = 0, count = x->max_msgs;
    double secs = 0;
    int rc = 0;
    if (!count) {
        uint64_t probe = (1u << 20) / n > 16 ? (1u << 20) / n : 16;
        for (int k = 0;; k++) {
            rc = dd_once(x, dd, probe, &bytes, &secs, res->detail, sizeof(res->detail));
            if (rc < 0 || secs >= x->stream_s / 8 || k == 5)
                break;
            probe *= 4;
        }
        double c = (double)probe * x->stream_s / (secs > 1e-4 ? secs : 1e-4);
        count = c > 16 ? (uint64_t)c : 16;
    }
    if (rc == 0) {
        cb_counters_start();
        rc = dd_once(x, dd, count, &bytes, &secs, res->detail, sizeof(res->detail));
        cb_counters_stop();
    }
    free(dd);
    if (rc < 0) {
        res->status = CB_ERROR;
        if (!res->detail[0])
            snprintf(res->detail, sizeof(res->detail), "dd: %s", strerror(-rc));
        return 0;
    }
    res->bytes = bytes;
    res->msgs = bytes / n;
    res->stream_ns = (uint64_t)(secs * 1e9);
    return 0;
}

/* ---- one run ---- */

/* Reaps the partner process. It ends by itself after its last report;
 * after a broken channel it has ended or is about to, and is given a
 * second before it is killed (a kill of ours is not its death: returns 0
 * then, else 1 with its status). */
static int reap_partner(cb_ipc_chan_t *c, const run_t *u, int *wstatus)
{
    if (c->reaped) {
        *wstatus = c->wstatus;
        return 1;
    }
    int killed = 0;
    if (u->rc < 0 || u->partner_gone) {
        uint64_t t0 = cb_now_ns();
        while (!peer_gone(c) && cb_now_ns() - t0 < 1000000000ull)
            usleep(1000);
        if (c->reaped) {
            *wstatus = c->wstatus;
            return 1;
        }
        kill(c->peer, SIGKILL);
        killed = 1;
    }
    while (waitpid(c->peer, wstatus, 0) < 0 && errno == EINTR)
        ;
    cb_children_untrack(c->peer);
    return !killed;
}

int cb_ipc_run(const cb_ipc_cfg_t *x, cb_ipc_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->status = CB_OK;
    signal(SIGPIPE, SIG_IGN); /* a partner gone is EPIPE, not a signal */
    int rc;
    if (x->msg_bytes < 8)
        return -EINVAL;
    if (x->pinned && (rc = cb_pin_bind_thread(x->topo, x->pu[0])) < 0) {
        snprintf(res->detail, sizeof(res->detail), "binding to PU %d: %s", x->pu[0], strerror(-rc));
        return rc;
    }
    if (x->mech->reference)
        return run_dd(x, res);
    cb_ipc_chan_t *c = NULL;
    if ((rc = x->mech->open(&c, x->msg_bytes)) < 0) {
        snprintf(res->detail, sizeof(res->detail), "%s: %s", x->mech->name, strerror(-rc));
        return rc;
    }
    c->spin = !x->pinned || x->pu[0] != x->pu[1];
    c->lazy = !c->spin;
    int ctl[2];
    if (pipe2(ctl, O_CLOEXEC) != 0) {
        rc = -errno;
        x->mech->close(c);
        return rc;
    }
    run_t u = {.x = x, .c = c, .ctl = ctl[0]};
    partner_t p = {.x = x, .c = c, .ctl = ctl[1]};
    int wstatus = 0, have_status = 0;
    if (x->mech->process) {
        pid_t pid = cb_fork_child();
        if (pid < 0) {
            rc = (int)pid;
            goto out;
        }
        if (pid == 0) {
            close(ctl[0]);
            if (x->pinned && cb_pin_bind_child(x->topo, x->pu[1]) < 0)
                _exit(3);
            c->who = 1;
            if (x->mech->side)
                x->mech->side(c, 1);
            partner_body(&p);
            _exit(0);
        }
        close(ctl[1]);
        ctl[1] = -1;
        c->peer = pid;
        if (x->mech->side)
            x->mech->side(c, 0);
        initiator(&u, res);
        have_status = reap_partner(c, &u, &wstatus);
    } else {
        pthread_attr_t attr;
        pthread_t th;
        pthread_attr_init(&attr);
        if (x->pinned && (rc = cb_pin_attr(x->topo, &attr, x->pu[1])) < 0) {
            pthread_attr_destroy(&attr);
            goto out;
        }
        rc = -pthread_create(&th, &attr, partner_thread, &p);
        pthread_attr_destroy(&attr);
        if (rc < 0)
            goto out;
        initiator(&u, res);
        if (pthread_join(th, NULL) != 0)
            abort();
    }
    conclude(&u, wstatus, have_status, res);
    rc = 0;
out:
    close(ctl[0]);
    if (ctl[1] >= 0)
        close(ctl[1]);
    x->mech->close(c);
    return rc;
}

int cb_ipc_measure(const cb_config_t *cf, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const cb_ipc_cfg_t *x = cf->ctx;
    if (x->skip[0]) {
        m->status = CB_SKIPPED;
        snprintf(m->detail, sizeof(m->detail), "%s", x->skip);
        return 0;
    }
    cb_ipc_result_t r;
    int rc = cb_ipc_run(x, &r);
    if (rc < 0) {
        if (r.detail[0])
            snprintf(m->detail, sizeof(m->detail), "%s", r.detail);
        return rc;
    }
    m->status = r.status;
    snprintf(m->detail, sizeof(m->detail), "%s", r.detail);
    if (r.status != CB_OK)
        return 0;
    double s = (double)r.stream_ns / 1e9, n = (double)x->msg_bytes;
    if (x->stream_s > 0 && s > 0) {
        m->values[0] = x->mech->reference ? (double)r.bytes / s : (double)r.msgs * n / s;
        m->values[1] = (double)r.msgs / s;
    }
    if (!x->mech->reference && x->pingpong_s > 0 && r.roundtrips > 0)
        m->values[2] = (double)r.pingpong_ns / 1e3 / (double)r.roundtrips;
    return 0;
}
