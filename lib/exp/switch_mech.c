#include "lib/exp/switch_mech.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/core/sandbox.h"
#include "lib/exec/futex.h"

/* The partner's side of a ping-pong: answers until told to stop. */
struct cb_switch_partner {
    const cb_switch_cfg_t *x;
    int in, out;            /* pipe: the partner reads in, writes out */
    int my_in, my_out;      /* pipe: the initiator's ends */
    _Atomic uint32_t *word; /* futex: 1 = ping outstanding, 0 = answered, 2 = stop */
    int rc;
};

static void wait_while(_Atomic uint32_t *w, uint32_t v)
{
    while (atomic_load_explicit(w, memory_order_acquire) == v)
        (void)cb_futex_wait_shared((uint32_t *)w, v, 0); /* 0, or -EINTR: look again */
}

static void pipe_answer(cb_switch_partner_t *p)
{
    char b;
    for (;;) {
        ssize_t k = read(p->in, &b, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k != 1 || b == 0)
            break;
        if (write(p->out, &b, 1) != 1) {
            p->rc = -errno;
            break;
        }
    }
}

static void futex_answer(cb_switch_partner_t *p)
{
    for (;;) {
        wait_while(p->word, 0);
        if (atomic_load(p->word) == 2)
            break;
        atomic_store_explicit(p->word, 0, memory_order_release);
        cb_futex_wake_shared((uint32_t *)p->word, 1);
    }
}

/* Timed: round trips, each a hand-over to the partner and back. The
 * partner was created, pinned and is waiting before t0. */
static long pipe_pingpong(cb_switch_partner_t *p, double min_s, uint64_t *ns)
{
    long n = 0;
    cb_counters_start();
    uint64_t limit = (uint64_t)(min_s * 1e9), t0 = cb_now_ns(), t1;
    char b = 1;
    do {
        for (int k = 0; k < 256; k++, n++)
            if (write(p->my_out, &b, 1) != 1 || read(p->my_in, &b, 1) != 1)
                return -errno;
        t1 = cb_now_ns();
    } while (t1 - t0 < limit);
    cb_counters_stop();
    *ns = t1 - t0;
    return n;
}

static long futex_pingpong(cb_switch_partner_t *p, double min_s, uint64_t *ns)
{
    long n = 0;
    cb_counters_start();
    uint64_t limit = (uint64_t)(min_s * 1e9), t0 = cb_now_ns(), t1;
    do {
        for (int k = 0; k < 256; k++, n++) {
            atomic_store_explicit(p->word, 1, memory_order_release);
            cb_futex_wake_shared((uint32_t *)p->word, 1);
            wait_while(p->word, 1);
        }
        t1 = cb_now_ns();
    } while (t1 - t0 < limit);
    cb_counters_stop();
    *ns = t1 - t0;
    return n;
}

static void pipe_stop(cb_switch_partner_t *p)
{
    char z = 0;
    /* A failed write means the partner is gone already: nothing to stop. */
    if (write(p->my_out, &z, 1) != 1)
        return;
}

static void futex_stop(cb_switch_partner_t *p)
{
    atomic_store(p->word, 2);
    cb_futex_wake_shared((uint32_t *)p->word, 1);
}

const cb_switch_mech_t cb_switch_mechs[] = {
    {"pipe",
     "1-byte ping-pong over two pipes (thread, process)",
     "kernel",
     NULL,
     pipe_answer,
     pipe_pingpong,
     pipe_stop,
     CB_CORO_ASM,
     {NULL}},
    {"futex",
     "futex wait/wake ping-pong on a shared word (thread, process)",
     "kernel",
     NULL,
     futex_answer,
     futex_pingpong,
     futex_stop,
     CB_CORO_ASM,
     {NULL}},
    {"asm",
     "our assembly context switch between two coroutines",
     "coroutine",
     cb_coro_asm_unavailable,
     NULL,
     NULL,
     NULL,
     CB_CORO_ASM,
     {"ucontext", "fcontext"}},
    {"ucontext",
     "glibc's swapcontext between two coroutines",
     "coroutine",
     NULL,
     NULL,
     NULL,
     NULL,
     CB_CORO_UCONTEXT,
     {NULL}},
    {"fcontext",
     "Boost.Context's jump_fcontext between two coroutines",
     "coroutine",
     NULL,
     NULL,
     NULL,
     NULL,
     CB_CORO_FCONTEXT,
     {NULL}},
};
const size_t cb_switch_mech_count = sizeof(cb_switch_mechs) / sizeof(cb_switch_mechs[0]);

const cb_switch_mech_t *cb_switch_mech_find(const char *name)
{
    return cb_table_find(cb_switch_mechs, cb_switch_mech_count, sizeof(cb_switch_mechs[0]), name);
}

size_t cb_switch_mech_names(const cb_name_t **out)
{
    static cb_name_t tab[sizeof(cb_switch_mechs) / sizeof(cb_switch_mechs[0])];
    *out = tab;
    return cb_table_names(tab, cb_switch_mechs, cb_switch_mech_count, sizeof(cb_switch_mechs[0]),
                          offsetof(cb_switch_mech_t, summary),
                          offsetof(cb_switch_mech_t, unavailable));
}

int cb_switch_mech_fits(const cb_switch_mech_t *m, const char *unit)
{
    int coro = strcmp(unit, "coroutine") == 0;
    return coro == (strcmp(m->unit, "coroutine") == 0);
}

static void *partner_thread(void *arg)
{
    cb_switch_partner_t *p = arg;
    if (p->x->pinned && (p->rc = cb_pin_bind_thread(p->x->topo, p->x->pu[1])) < 0)
        return NULL;
    p->x->mech->answer(p);
    return NULL;
}

static int measure_coro(const cb_switch_cfg_t *x, cb_measurement_t *m)
{
    /* Size the run to min_s from a short calibration. */
    double ns = cb_coro_measure_switch_ns(x->mech->impl, 10000);
    uint64_t iters = (uint64_t)(x->min_s * 1e9 / (2 * (ns > 0.5 ? ns : 0.5)));
    ns = cb_coro_measure_switch_ns(x->mech->impl, iters);
    m->values[0] = ns;
    m->values[1] = 2 * ns / 1e3;
    m->values[2] = (double)iters;
    return isnan(ns) || ns <= 0 ? -EIO : 0;
}

/* The partner as a forked process; returns the round trips or -errno. */
static long run_process(cb_switch_partner_t *p, uint64_t *ns, int *rc)
{
    const cb_switch_cfg_t *x = p->x;
    pid_t pid = cb_fork_child();
    if (pid < 0)
        return pid;
    if (pid == 0) {
        if (x->pinned && (p->rc = cb_pin_bind_child(x->topo, x->pu[1])) < 0)
            _exit(3);
        x->mech->answer(p);
        _exit(p->rc < 0 ? 1 : 0);
    }
    long n = x->mech->pingpong(p, x->min_s, ns);
    x->mech->stop(p);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    cb_children_untrack(pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        *rc = -ECHILD;
    return n;
}

int cb_switch_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const cb_switch_cfg_t *x = c->ctx;
    int rc = 0;
    if (x->pinned && (rc = cb_pin_bind_thread(x->topo, x->pu[0])) < 0) {
        snprintf(m->detail, sizeof(m->detail), "binding to PU %d: %s", x->pu[0], strerror(-rc));
        return rc;
    }
    if (!x->mech->pingpong)
        return measure_coro(x, m);
    int p1[2], p2[2];
    if (pipe(p1) != 0)
        return -errno;
    if (pipe(p2) != 0) {
        rc = -errno;
        close(p1[0]);
        close(p1[1]);
        return rc;
    }
    _Atomic uint32_t *word =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (word == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    cb_switch_partner_t p = {
        .x = x, .in = p1[0], .out = p2[1], .my_in = p2[0], .my_out = p1[1], .word = word};
    uint64_t ns = 0;
    long n = 0;
    if (x->process) {
        n = run_process(&p, &ns, &rc);
    } else {
        pthread_t th;
        if ((rc = -pthread_create(&th, NULL, partner_thread, &p)) < 0)
            goto out;
        n = x->mech->pingpong(&p, x->min_s, &ns);
        x->mech->stop(&p);
        if (pthread_join(th, NULL) != 0)
            abort();
        rc = p.rc;
    }
    if (n < 0)
        rc = (int)n;
    if (rc == 0 && n > 0) {
        m->values[1] = (double)ns / 1e3 / (double)n;
        m->values[0] = (double)ns / (2.0 * (double)n);
        m->values[2] = (double)n;
    }
out:
    if (word != MAP_FAILED)
        munmap(word, 4096);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    if (rc < 0 && !m->detail[0])
        snprintf(m->detail, sizeof(m->detail), "%s %s: %s", x->process ? "process" : "thread",
                 x->mech->name, strerror(-rc));
    return rc;
}

int cb_switch_skip_one_pu(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)c, (void)o;
    m->status = CB_SKIPPED;
    snprintf(m->detail, sizeof(m->detail), "one allowed PU: nothing to cross to");
    return 0;
}
