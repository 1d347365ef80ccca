/* switch: experiment E9. What one switch between two units of work costs:
 * pipe and futex ping-pong between two threads and between two processes,
 * on the same PU (every hand-over is a context switch on that PU) and across
 * PUs (a cross-CPU wake-up), and a coroutine switch with our assembly switch
 * and with glibc's swapcontext. Metrics: us_per_roundtrip (A -> B -> A) and
 * ns_per_switch (half a round trip: one hand-over), the unit perf bench sched
 * pipe's usecs/op corresponds to being the round trip. */

#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/exec/coro.h"
#include "lib/core/runner.h"
#include "lib/core/sandbox.h"

typedef struct sw_ctx {
    const char *unit; /* thread, process, coroutine */
    const char *how;  /* pipe, futex, asm, ucontext */
    int cross;        /* 0: same PU; 1: across PUs */
    int pinned;
    int pu[2];
    const cb_topo_t *topo;
    double min_s;
} sw_ctx_t;

static const cb_metric_def_t metrics[] = {
    {"ns_per_switch", "ns"}, {"us_per_roundtrip", "us"}, {"roundtrips", "count"}};

/* The partner's side of a ping-pong: answers until told to stop. */
typedef struct partner {
    const sw_ctx_t *x;
    int in, out;            /* pipe: read from in, write to out */
    _Atomic uint32_t *word; /* futex: 1 = ping outstanding, 0 = answered, 2 = stop */
    int rc;
} partner_t;

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)w, op, val, NULL, NULL, 0);
}

static int futex_wait_while(_Atomic uint32_t *w, uint32_t v)
{
    while (atomic_load_explicit(w, memory_order_acquire) == v)
        if (futex(w, FUTEX_WAIT, v) < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
    return 0;
}

static void *partner_run(void *arg)
{
    partner_t *p = arg;
    if (p->x->pinned && (p->rc = cb_pin_bind_thread(p->x->topo, p->x->pu[1])) < 0)
        return NULL;
    if (strcmp(p->x->how, "pipe") == 0) {
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
    } else {
        for (;;) {
            if ((p->rc = futex_wait_while(p->word, 0)) < 0)
                break;
            if (atomic_load(p->word) == 2)
                break;
            atomic_store_explicit(p->word, 0, memory_order_release);
            futex(p->word, FUTEX_WAKE, 1);
        }
    }
    return NULL;
}

/* The timed loop on the initiating side. Returns round trips done. */
static long pingpong(const sw_ctx_t *x, partner_t *p, int out, int in, uint64_t *ns)
{
    long n = 0;
    uint64_t limit = (uint64_t)(x->min_s * 1e9), t0 = cb_now_ns(), t1;
    char b = 1;
    /* Timed: round trips, each a hand-over to the partner and back. The
     * partner was created, pinned and is waiting before t0. */
    do {
        for (int k = 0; k < 256; k++, n++) {
            if (strcmp(x->how, "pipe") == 0) {
                if (write(out, &b, 1) != 1 || read(in, &b, 1) != 1)
                    return -errno;
            } else {
                atomic_store_explicit(p->word, 1, memory_order_release);
                futex(p->word, FUTEX_WAKE, 1);
                if (futex_wait_while(p->word, 1) < 0)
                    return -errno;
            }
        }
        t1 = cb_now_ns();
    } while (t1 - t0 < limit);
    *ns = t1 - t0;
    return n;
}

static void stop_partner(const sw_ctx_t *x, partner_t *p, int out)
{
    if (strcmp(x->how, "pipe") == 0) {
        char z = 0;
        if (write(out, &z, 1) != 1)
            return;
    } else {
        atomic_store(p->word, 2);
        futex(p->word, FUTEX_WAKE, 1);
    }
}

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const sw_ctx_t *x = c->ctx;
    int rc = 0;
    if (x->pinned && (rc = cb_pin_bind_thread(x->topo, x->pu[0])) < 0) {
        snprintf(m->detail, sizeof(m->detail), "binding to PU %d: %s", x->pu[0], strerror(-rc));
        return rc;
    }
    if (strcmp(x->unit, "coroutine") == 0) {
        cb_coro_impl_t impl = strcmp(x->how, "asm") == 0 ? CB_CORO_ASM : CB_CORO_UCONTEXT;
        /* Size the run to min_s from a short calibration. */
        double ns = cb_coro_measure_switch_ns(impl, 10000);
        uint64_t iters = (uint64_t)(x->min_s * 1e9 / (2 * (ns > 0.5 ? ns : 0.5)));
        ns = cb_coro_measure_switch_ns(impl, iters);
        m->values[0] = ns;
        m->values[1] = 2 * ns / 1e3;
        m->values[2] = (double)iters;
        return isnan(ns) || ns <= 0 ? -EIO : 0;
    }
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
    partner_t p = {.x = x, .in = p1[0], .out = p2[1], .word = word};
    uint64_t ns = 0;
    long n = 0;
    if (strcmp(x->unit, "thread") == 0) {
        pthread_t th;
        if ((rc = -pthread_create(&th, NULL, partner_run, &p)) < 0)
            goto out;
        n = pingpong(x, &p, p1[1], p2[0], &ns);
        stop_partner(x, &p, p1[1]);
        if (pthread_join(th, NULL) != 0)
            abort();
        rc = p.rc;
    } else {
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
            rc = -errno;
            goto out;
        }
        if (pid == 0) {
            cb_child_init(parent);
            if (x->pinned && (p.rc = cb_pin_bind_child(x->topo, x->pu[1])) < 0)
                _exit(3);
            x = p.x;
            partner_run(&p);
            _exit(p.rc < 0 ? 1 : 0);
        }
        cb_children_track(pid);
        n = pingpong(x, &p, p1[1], p2[0], &ns);
        stop_partner(x, &p, p1[1]);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        cb_children_untrack(pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = -ECHILD;
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
        snprintf(m->detail, sizeof(m->detail), "%s %s: %s", x->unit, x->how, strerror(-rc));
    return rc;
}

static int skip_one_pu(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)c, (void)o;
    m->status = CB_SKIPPED;
    snprintf(m->detail, sizeof(m->detail), "one allowed PU: nothing to cross to");
    return 0;
}

/* The cost ratio CI gates on (metric `relative`, lower is better): our
 * assembly switch over glibc's swapcontext, measured in the same
 * repetition. */
static int add_relative(int rep, cb_results_t *r, const cb_opts_t *o, void *ctx)
{
    (void)o, (void)ctx;
    if (rep < 0)
        return 0;
    const char *pin = o->pin == CB_PIN_NONE ? "none" : "same_pu";
    double a = cb_results_value(r, rep, "coroutine", "asm", pin, "ns_per_switch");
    double u = cb_results_value(r, rep, "coroutine", "ucontext", pin, "ns_per_switch");
    if (isnan(a) || isnan(u) || !(u > 0))
        return 0;
    cb_sample_t s = {
        .key = {"switch", "coroutine", "asm_vs_ucontext", 1, 1, pin},
        .rep = rep,
        .metric = "relative",
        .value = a / u,
        .unit = "ratio",
        .status = CB_OK,
        .detail = "asm switch over swapcontext",
    };
    return cb_results_add(r, &s);
}

int main(int argc, char **argv)
{
    static const char *const units[] = {"thread", "process", "coroutine", NULL};
    static const char *const hows[] = {"pipe", "futex", "asm", "ucontext", NULL};
    cb_cli_spec_t spec = {
        .prog = "switch",
        .summary = "Cost of one switch: pipe and futex ping-pong between threads and between "
                   "processes (same PU, across PUs), coroutine switch (asm, ucontext).",
        .executor_names = units,
        .workload_names = hows,
    };
    cb_opts_t o;
    cb_topo_t *t = NULL;
    int rc = cb_runner_start(&spec, argc, argv, &o, &t);
    if (rc >= 0)
        return rc;
    if (o.list) {
        const char *why = cb_coro_asm_unavailable();
        printf("executors: thread process coroutine\nworkloads: pipe futex (thread, process), "
               "asm%s%s, ucontext (coroutine)\n",
               why ? " -- unavailable: " : "", why ? why : "");
        return 0;
    }
    cb_pin_plan_t plan;
    int pinned = o.pin != CB_PIN_NONE;
    if (cb_runner_plan(&o, t, 2, &plan) != 0)
        return CB_EXIT_USAGE;
    static sw_ctx_t ctx[16];
    static cb_config_t cfgs[16];
    size_t n = 0;
    for (int u = 0; u < 3; u++) {
        for (int h = 0; h < 4; h++) {
            int coro = u == 2;
            if (coro != (h >= 2))
                continue;
            if (coro && h == 2 && cb_coro_asm_unavailable())
                continue;
            for (int cross = 0; cross <= (coro ? 0 : 1); cross++) {
                int want = 1;
                if (o.executors) {
                    want = 0;
                    for (char **p = o.executors; *p; p++)
                        want |= strcmp(*p, units[u]) == 0;
                }
                if (want && o.workloads) {
                    want = 0;
                    for (char **p = o.workloads; *p; p++)
                        want |= strcmp(*p, hows[h]) == 0;
                }
                if (!want)
                    continue;
                sw_ctx_t *x = &ctx[n];
                *x = (sw_ctx_t){
                    .unit = units[u],
                    .how = hows[h],
                    .cross = cross,
                    .pinned = pinned,
                    .pu = {plan.slots[0].pu_os, plan.slots[cross ? 1 : 0].pu_os},
                    .topo = t,
                    .min_s = o.quick ? 0.05 : 0.25,
                };
                const char *pin = cross ? "cross_pu" : "same_pu";
                if (!pinned)
                    pin = "none";
                cfgs[n] = (cb_config_t){
                    .key = {NULL, units[u], hows[h], coro ? 1 : 2, 1, pin},
                    .metrics = metrics,
                    .nmetrics = 3,
                    .measure = measure,
                    .ctx = x,
                };
                if (cross && pinned && x->pu[0] == x->pu[1])
                    cfgs[n].measure = skip_one_pu; /* recorded, not hidden */
                if (!pinned && cross)
                    continue; /* unpinned: one row; the kernel picks */
                n++;
            }
        }
    }
    cb_experiment_t e = {
        .name = "switch",
        .configs = cfgs,
        .nconfigs = n,
        .reps = 5,
        .warmup = 1,
        .timeout_s = 60,
        .per_rep = add_relative,
    };
    rc = cb_runner_run(&e, &o, t, argc, argv);
    cb_pin_plan_free(&plan);
    cb_topo_free(t);
    cb_cli_free(&o);
    return rc;
}
