/* sync: experiments E4, E5, E6 and E12 of the tutorials, on threads and on
 * processes (shared memory, process-shared pthread objects).
 *
 * E4 (no_lock, lock, join): 100 tasks each read a shared counter that
 * starts at 100, wait, and write it back minus one. Without a lock they all
 * read 100 and the counter ends near 99; with a lock around read-wait-write
 * it ends at 0 and the waits run one after another; starting and joining
 * each task in turn also ends at 0 but serialises the whole task.
 * E5 (race): read-modify-write of a shared counter without a lock and
 * without waiting, many increments per worker: the updates lost.
 * E6 (semaphore): Semaphore(5) and 23 tasks: the peak number inside, and
 * the time against ceil(23/5) = 5 waves.
 * E12 (fifo, lifo, priority): a bounded queue between producers and
 * consumers: throughput, and every delivery checked against the discipline.
 *
 * These experiments are about correctness and waiting, not placement: tasks
 * run unpinned (the pin column says none). The workloads are
 * lib/exp/sync_exp's table. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/exec/executor.h"
#include "lib/exp/sync_exp.h"

typedef cb_sync_params_t params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_DOUBLE(params_t, hold_us, "hold-us", "US", 0, 1e8, 2000, 1000,
                   "E4: wait between reading and writing the counter (default 2000; the "
                   "tutorials' 0.5 s scaled down)"),
    CB_FLAG_DOUBLE(params_t, outside_us, "outside-us", "US", 0, 1e8, -1, -1,
                   "E4: wait before touching the counter (default 6 x hold, the tutorials' 3 s : "
                   "0.5 s)"),
    CB_FLAG_DOUBLE(params_t, no_lock_outside_us, "no-lock-outside-us", "US", 0, 1e8, -1, -1,
                   "E4: no_lock's wait before the read (default: --outside-us, so the three "
                   "variants run the same task; the tutorial's no-lock run has none: 0)"),
    CB_FLAG_LONG(params_t, increments, "increments", "N", 1, 10000000000L, 20000000, 5000000,
                 "E5: increments per worker (default 20000000)"),
    CB_FLAG_LONG(params_t, permits, "permits", "K", 1, 10000, 5, 5,
                 "E6: semaphore permits (default 5)"),
    CB_FLAG_DOUBLE(params_t, sem_hold_us, "sem-hold-us", "US", 1, 1e8, 50000, 20000,
                   "E6: how long each task holds the semaphore (default 50000)"),
    CB_FLAG_LONG(params_t, items, "items", "N", 1, 100000000, 100000, 20000,
                 "E12: items per producer (default 100000)"),
    CB_FLAG_LONG(params_t, capacity, "capacity", "N", 1, 1000000, 64, 64,
                 "E12: queue bound (default 64)"),
};

enum { SEM_TASKS = 23 }; /* the tutorials' semaphore tasks */

static long e4_tasks(const cb_exp_t *x)
{
    return x->opts.tasks ? x->opts.tasks : 100;
}

/* The list as given; else 1 (the queues' single producer) and the
 * detected count, at least 2 so there is something to race or to share. */
static long *worker_counts(cb_exp_t *x, size_t *n)
{
    long *wc = cb_cli_worker_counts(&x->opts, x->topo, n);
    int listed = x->opts.workers_kind == CB_WORKERS_LIST;
    long *w = wc ? calloc(*n + 1, sizeof(*w)) : NULL;
    size_t k = 0;
    if (w && !listed)
        w[k++] = 1;
    for (size_t i = 0; w && i < *n; i++) {
        long v = !listed && wc[i] < 2 ? 2 : wc[i];
        if (listed || w[k - 1] != v)
            w[k++] = v;
    }
    free(wc);
    *n = k;
    return w;
}

/* Which worker counts a workload takes: the race every count but the
 * queues' added 1, the queues every count, the others one run. */
static int takes(const cb_exp_t *x, const cb_sync_wl_t *wl, size_t wi)
{
    int listed = x->opts.workers_kind == CB_WORKERS_LIST;
    if (wl->kind == CB_SYNC_K_RACE)
        return listed || wi > 0;
    return wl->kind == CB_SYNC_K_QUEUE || wi == 0;
}

static int prepare(cb_exp_t *x)
{
    params_t *p = x->params;
    if (p->outside_us < 0)
        p->outside_us = 6 * p->hold_us;
    return -1;
}

/* ---- the CPython rows (scripts/python_sync.py, the shared driver) ---- */

static const cb_name_t py_execs[] = {
    {"py_thread",
     "CPython: threading (Thread, Lock, Semaphore, queue.Queue / LifoQueue / "
     "PriorityQueue)",
     NULL, 0},
    {"py_process", "CPython: multiprocessing (Process, Lock, Value, Semaphore, Manager().dict())",
     NULL, 0},
};

static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n) {
        const cb_name_t *c;
        size_t k = cb_sync_executor_names(&c);
        for (size_t i = 0; i < k && n < 62; i++)
            tab[n++] = c[i];
        tab[n++] = py_execs[0];
        tab[n++] = py_execs[1];
    }
    *out = tab;
    return n;
}

static const cb_name_t manager_wl = {
    "manager_dict",
    "CPython only (004): 50 processes each do dic['count'] -= 1 on a Manager().dict() starting at "
    "100, no lock",
    NULL, 0};
static const cb_metric_def_t manager_metrics[] = {
    {"wall_s", "s"}, {"final_counter", "count"}, {"lost_updates", "count"}};
enum { MANAGER_PROCS = 50, PY_ITEMS = 10000, PY_REPS = 2 };
/* scripts/python_sync.py's most increments per thread in the race. */
#define PY_RACE 1000000L

static size_t workload_names(const cb_name_t **out)
{
    static cb_name_t tab[32];
    static size_t n;
    if (!n) {
        const cb_name_t *w;
        size_t k = cb_sync_wl_names(&w);
        for (size_t i = 0; i < k && n < 31; i++)
            tab[n++] = w[i];
        tab[n++] = manager_wl;
    }
    *out = tab;
    return n;
}

/* One measurement's expected seconds, C and CPython, for --tutorial: the
 * waits the tasks are told to do (they dominate at the tutorial's sizes),
 * and for the race and the queues this machine's rates of a default run
 * (C: 10 ns an increment, 1 us an item; CPython: 0.15 us, 12 us). */
static double expected_s(const params_t *p, const cb_sync_wl_t *wl, long count, long items, int py)
{
    double us = 0;
    switch (wl->kind) {
    case CB_SYNC_K_COUNTER: {
        double nlo = p->no_lock_outside_us >= 0 ? p->no_lock_outside_us : p->outside_us;
        us = wl->variant == CB_SYNC_NO_LOCK ? nlo + p->hold_us
             : wl->variant == CB_SYNC_LOCK  ? p->outside_us + (double)count * p->hold_us
                                            : (double)count * (p->outside_us + p->hold_us);
        break;
    }
    case CB_SYNC_K_SEM:
        us = (double)((SEM_TASKS + p->permits - 1) / p->permits) * p->sem_hold_us;
        break;
    case CB_SYNC_K_RACE:
        us = (double)count * (double)(py && p->increments > PY_RACE ? PY_RACE : p->increments) *
             (py ? 0.15 : 0.01);
        break;
    case CB_SYNC_K_QUEUE:
        us = (double)count * (double)items * (py ? 12 : 1);
        break;
    }
    return us / 1e6 + (py ? 0.05 : 0.01);
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    int py = strncmp(pt->executor, "py_", 3) == 0;
    if (strcmp(pt->workload, "manager_dict") == 0) {
        if (!py || strcmp(pt->executor, "py_process") != 0 || cb_exp_no_python(x) || pt->wi > 0)
            return CB_BUILD_SKIP;
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, MANAGER_PROCS, MANAGER_PROCS, "none"},
            .metrics = manager_metrics,
            .nmetrics = 3,
            .python = 1,
        };
        return CB_BUILD_ADD;
    }
    const cb_sync_wl_t *wl = cb_sync_wl_find(pt->workload);
    if (py) {
        int proc = strcmp(pt->executor, "py_process") == 0;
        if (cb_exp_no_python(x) || (proc && !wl->processes_ok) || !takes(x, wl, pt->wi))
            return CB_BUILD_SKIP;
        long count = wl->kind == CB_SYNC_K_RACE || wl->kind == CB_SYNC_K_QUEUE ? pt->workers
                     : wl->kind == CB_SYNC_K_SEM                               ? SEM_TASKS
                                                                               : e4_tasks(x);
        long workers = wl->kind == CB_SYNC_K_SEM                                      ? p->permits
                       : wl->kind == CB_SYNC_K_COUNTER && wl->variant == CB_SYNC_JOIN ? 1
                                                                                      : count;
        /* CPython's queues move at most PY_ITEMS per producer (about 10 us
         * an item: the C count would take seconds a configuration). */
        long items = p->items < PY_ITEMS ? p->items : PY_ITEMS;
        long tasks = wl->kind == CB_SYNC_K_QUEUE ? count * items : count;
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, workers, tasks, "none"},
            .metrics = wl->metrics,
            .nmetrics = 3,
            .python = 1,
        };
        cfg->expected_s = expected_s(p, wl, count, items, 1);
        return CB_BUILD_ADD;
    }
    cb_sync_unit_t unit = (cb_sync_unit_t)cb_sync_unit_of(pt->executor);
    if ((unit == CB_SYNC_PROCESSES && !wl->processes_ok) || !takes(x, wl, pt->wi))
        return CB_BUILD_SKIP;
    long count = wl->kind == CB_SYNC_K_RACE || wl->kind == CB_SYNC_K_QUEUE ? pt->workers
                 : wl->kind == CB_SYNC_K_SEM                               ? SEM_TASKS
                                                                           : e4_tasks(x);
    char why[256];
    if (cb_executor_fits(cb_executor_find(pt->executor), (size_t)count, why, sizeof(why)) < 0) {
        fprintf(stderr, "sync: %s on %s: %s\n", pt->executor, pt->workload, why);
        return CB_EXIT_USAGE;
    }
    *(cb_sync_cfg_t *)cfg->ctx = (cb_sync_cfg_t){wl, unit, (int)count, p};
    /* workers: threads or processes alive at once (the semaphore row: its
     * permits); tasks: units started or items moved. */
    long workers = wl->kind == CB_SYNC_K_SEM                                      ? p->permits
                   : wl->kind == CB_SYNC_K_COUNTER && wl->variant == CB_SYNC_JOIN ? 1
                                                                                  : count;
    long tasks = wl->kind == CB_SYNC_K_QUEUE ? count * p->items : count;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, workers, tasks, "none"},
        .metrics = wl->metrics,
        .nmetrics = 3,
        .measure = cb_sync_measure,
        .ctx = cfg->ctx,
    };
    cfg->expected_s = expected_s(p, wl, count, p->items, 0);
    return CB_BUILD_ADD;
}

/* ---- verdict ---- */

static double med(const cb_results_t *r, const char *e, const char *wl, long w, const char *m)
{
    return cb_results_median(r, &(cb_select_t){e, wl, NULL, m, w, 0});
}

static int ran(const cb_results_t *r, const char *wl)
{
    for (size_t i = 0; i < cb_results_count(r); i++)
        if (strcmp(cb_results_get(r, i)->key.workload, wl) == 0)
            return 1;
    return 0;
}

static void verdict_e4(cb_exp_t *x, const cb_results_t *r, const char *e, FILE *out)
{
    const char *wl[3] = {"no_lock", "lock", "join"};
    long tasks = e4_tasks(x);
    double w[3], n[3];
    for (int k = 0; k < 3; k++) {
        w[k] = med(r, e, wl[k], 0, "wall_s");
        n[k] = med(r, e, wl[k], 0, "final_counter");
    }
    if (isnan(w[0]) && isnan(w[1]) && isnan(w[2]))
        return;
    fprintf(out, "  %-9s", cb_sync_unit_plural((cb_sync_unit_t)cb_sync_unit_of(e)));
    for (int k = 0; k < 3; k++)
        if (!isnan(w[k]))
            fprintf(out, "  %s %.3f s, counter %.0f%s", wl[k], w[k], n[k],
                    k < 2 && !isnan(w[k + 1]) ? ";" : "");
    fprintf(out, "\n");
    char name[96];
    if (!isnan(n[0])) {
        snprintf(name, sizeof(name), "e4/%s/no_lock/lost_updates", e);
        cb_exp_fact(x, name, n[0], "count", tasks == 100 ? 99 : NAN,
                    "%s, no lock: %.0f of %ld updates lost (tutorials: 99 of 100)", e, n[0], tasks);
    }
    if (!isnan(w[1]) && !isnan(w[2])) {
        snprintf(name, sizeof(name), "e4/%s/join_over_lock", e);
        cb_exp_fact(x, name, w[2] / w[1], "x", 350.7 / 53.3,
                    "%s: start-then-join took %.1fx the lock's time (tutorials: 6.6x)", e,
                    w[2] / w[1]);
    }
    if (!isnan(n[0]))
        fprintf(out,
                "             without the lock, %.0f of %ld updates were lost (tutorials: 99 of "
                "100)%s\n",
                n[0], tasks,
                n[0] < tasks - 1 ? "; fewer when tasks start further apart than the wait, and "
                                   "see an earlier task's write"
                                 : "");
    if (!isnan(w[0]) && !isnan(w[1]))
        fprintf(out, "             no lock was %.1fx faster than the lock, and wrong\n",
                w[1] / w[0]);
    if (!isnan(w[1]) && !isnan(w[2]))
        fprintf(out,
                "             start-then-join took %.1fx the lock's time (tutorials: 350.7 s / "
                "53.3 s = 6.6x): the lock serialises only the update, join the whole task\n",
                w[2] / w[1]);
}

static void verdict_race(cb_exp_t *x, const cb_results_t *r, const char *e, FILE *out)
{
    const params_t *p = x->params;
    for (size_t i = 0; i < x->nworkers; i++) {
        long w = x->workers[i];
        cb_select_t q = {e, "race", NULL, "lost_updates", w, 0};
        double lo = 0, hi = 0;
        size_t hit = 0, n = cb_results_range(r, &q, &lo, &hi, 0, &hit);
        if (n == 0 || !takes(x, cb_sync_wl_find("race"), i))
            continue;
        char name[96];
        snprintf(name, sizeof(name), "e5/%s/w%ld/lost_pct", e, w);
        cb_exp_fact(x, name, med(r, e, "race", w, "lost_pct"), "%", NAN,
                    "%ld %s racing: median %.2f%% of the updates lost, in %zu of %zu runs", w, e,
                    med(r, e, "race", w, "lost_pct"), hit, n);
        fprintf(out,
                "  %ld %-9s median %.0f of %.0f updates lost (%.2f%%), %.0f to %.0f; updates "
                "lost in %zu of %zu runs%s\n",
                w, cb_sync_unit_plural((cb_sync_unit_t)cb_sync_unit_of(e)),
                cb_results_median(r, &q), (double)w * (double)p->increments,
                med(r, e, "race", w, "lost_pct"), lo, hi, hit, n,
                hit < n ? " (a race needs two workers running at the same instant: on a busy "
                          "machine they often are not)"
                        : "");
    }
}

static void verdict_sem(cb_exp_t *x, const cb_results_t *r, const char *e, FILE *out)
{
    const params_t *p = x->params;
    double lo = 0, hi = 0;
    size_t n = cb_results_range(r, &(cb_select_t){e, "semaphore", NULL, "peak_concurrency", 0, 0},
                                &lo, &hi, 0, NULL);
    if (n == 0)
        return;
    char name[96];
    snprintf(name, sizeof(name), "e6/%s/peak_concurrency", e);
    cb_exp_fact(x, name, hi, "count", (double)p->permits,
                "%s: at most %.0f inside Semaphore(%ld) at once in %zu runs", e, hi, p->permits, n);
    fprintf(out,
            "  %-9s at most %.0f inside at once (%s in all %zu runs); %.3f s = %.2f holds, "
            "ceil(%d/%ld) = %ld waves expected\n",
            cb_sync_unit_plural((cb_sync_unit_t)cb_sync_unit_of(e)), hi,
            lo == hi && hi == p->permits ? "exactly the permits" : "see CSV", n,
            med(r, e, "semaphore", 0, "wall_s"), med(r, e, "semaphore", 0, "waves"), SEM_TASKS,
            p->permits, (SEM_TASKS + p->permits - 1) / p->permits);
}

static void verdict_queues(cb_exp_t *x, const cb_results_t *r, const char *e, FILE *out)
{
    for (size_t i = 0; i < x->nworkers; i++)
        for (size_t k = 0; k < cb_sync_wl_count; k++) {
            const cb_sync_wl_t *wl = &cb_sync_wls[k];
            long w = x->workers[i];
            double lo = 0, hi = 0;
            if (wl->kind != CB_SYNC_K_QUEUE ||
                !cb_results_range(r, &(cb_select_t){e, wl->name, NULL, "order_errors", w, 0}, &lo,
                                  &hi, 0, NULL))
                continue;
            char name[128];
            snprintf(name, sizeof(name), "e12/%s/%s/w%ld/order_errors", e, wl->name, w);
            cb_exp_fact(x, name, hi, "count", 0,
                        "%s %s, %ld producer(s) / %ld consumer(s): %.0f order errors (at most)", e,
                        wl->name, w, w, hi);
            fprintf(out,
                    "  %-8s %ld producer(s) / %ld consumer(s): %.3g items/s, %.0f order errors\n",
                    wl->name, w, w, med(r, e, wl->name, w, "items_per_s"), hi);
        }
}

/* One line per claim: the tutorial's figure, C's, CPython's. */
static void verdict_py(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    if (!ran(r, "no_lock") && !ran(r, "race") && !ran(r, "semaphore") && !ran(r, "fifo") &&
        !ran(r, "manager_dict"))
        return;
    fprintf(out, "\nThe tutorials, C and CPython side by side:\n");
    const char *why = NULL;
    if (!cb_exp_no_python(x) && !cb_exp_python(x, &why))
        fprintf(out, "  CPython not measured: %s\n", why ? why : "no interpreter");
    static const struct {
        const char *wl, *label;
        double n, s;
    } e4[] = {
        {"no_lock", "no lock", 99, 0.52}, {"lock", "lock", 0, 53.29}, {"join", "join", 0, 350.69}};
    for (size_t i = 0; i < 3; i++) {
        double cn = med(r, "thread", e4[i].wl, 0, "final_counter"),
               cs = med(r, "thread", e4[i].wl, 0, "wall_s");
        double pn = med(r, "py_thread", e4[i].wl, 0, "final_counter"),
               ps = med(r, "py_thread", e4[i].wl, 0, "wall_s");
        if (isnan(cn) && isnan(pn))
            continue;
        char cf[64] = "C thread -", pf[64] = "CPython -";
        if (!isnan(cn))
            snprintf(cf, sizeof(cf), "C thread n=%.0f in %.3f s", cn, cs);
        if (!isnan(pn))
            snprintf(pf, sizeof(pf), "CPython n=%.0f in %.3f s", pn, ps);
        fprintf(out, "  E4 %-7s: tutorial n=%.0f in %.2f s | %s | %s\n", e4[i].label, e4[i].n,
                e4[i].s, cf, pf);
        char name[64];
        snprintf(name, sizeof(name), "e4/py_thread/%s/final_counter", e4[i].wl);
        if (!isnan(pn))
            cb_exp_fact(x, name, pn, "count", e4[i].n,
                        "CPython threads, %s: counter %.0f in %.3f s", e4[i].label, pn, ps);
    }
    for (size_t i = 0; i < x->nworkers; i++) {
        long w = x->workers[i];
        double c = med(r, "thread", "race", w, "lost_pct"),
               pt = med(r, "py_thread", "race", w, "lost_pct"),
               pp = med(r, "py_process", "race", w, "lost_pct");
        if (isnan(pt) && isnan(pp))
            continue;
        char cf[32] = "-", tf[32] = "-", pf[32] = "-";
        if (!isnan(c))
            snprintf(cf, sizeof(cf), "%.2f%%", c);
        if (!isnan(pt))
            snprintf(tf, sizeof(tf), "%.4f%%", pt);
        if (!isnan(pp))
            snprintf(pf, sizeof(pf), "%.2f%%", pp);
        fprintf(out,
                "  E5 race, %ld workers: tutorial \"may be 99\" (001) | C threads lost %s | "
                "CPython threads %s (switch interval 5 ms: a thread is cut only there), processes "
                "%s\n",
                w, cf, tf, pf);
        char name[64];
        snprintf(name, sizeof(name), "e5/py_thread/w%ld/lost_pct", w);
        if (!isnan(pt))
            cb_exp_fact(x, name, pt, "%", NAN,
                        "CPython 3.11 threads racing on counter += 1: %.4f%% lost", pt);
    }
    double cp = med(r, "thread", "semaphore", 0, "peak_concurrency"),
           pp = med(r, "py_thread", "semaphore", 0, "peak_concurrency"),
           pq = med(r, "py_process", "semaphore", 0, "peak_concurrency");
    if (!isnan(pp) || !isnan(pq)) {
        char cf[16] = "-", tf[16] = "-", pf[16] = "-";
        if (!isnan(cp))
            snprintf(cf, sizeof(cf), "%.0f", cp);
        if (!isnan(pp))
            snprintf(tf, sizeof(tf), "%.0f", pp);
        if (!isnan(pq))
            snprintf(pf, sizeof(pf), "%.0f", pq);
        fprintf(out,
                "  E6 Semaphore(5), 23 tasks: tutorial 5 at a time | C threads peak %s | CPython "
                "threads %s, processes %s\n",
                cf, tf, pf);
        if (!isnan(pp))
            cb_exp_fact(x, "e6/py_thread/peak_concurrency", pp, "count", 5,
                        "CPython threading.Semaphore: peak %.0f inside", pp);
    }
    static const char *const qs[] = {"fifo", "lifo", "priority"};
    for (size_t i = 0; i < 3; i++) {
        double ce = med(r, "thread", qs[i], 0, "order_errors"),
               pe = med(r, "py_thread", qs[i], 0, "order_errors");
        double ci = med(r, "thread", qs[i], 1, "items_per_s"),
               pi = med(r, "py_thread", qs[i], 1, "items_per_s");
        if (isnan(pe))
            continue;
        fprintf(out,
                "  E12 %-8s: tutorial its order | C order errors %.0f, %.3g items/s (1 producer) | "
                "CPython %.0f, %.3g items/s\n",
                qs[i], ce, ci, pe, pi);
        char name[64];
        snprintf(name, sizeof(name), "e12/py_thread/%s/order_errors", qs[i]);
        cb_exp_fact(x, name, pe, "count", 0, "CPython queue, %s: %.0f order errors", qs[i], pe);
    }
    double mf = med(r, "py_process", "manager_dict", 0, "final_counter");
    if (!isnan(mf)) {
        fprintf(out,
                "  004 Manager().dict(), 50 processes, dic['count'] -= 1 from 100, no lock: "
                "tutorial 52 (2 lost) "
                "| CPython %.0f (%.0f lost)\n",
                mf, mf - 50);
        cb_exp_fact(x, "e13/py_process/manager_dict/final_counter", mf, "count", 52,
                    "CPython: 50 processes decrementing a Manager().dict() counter without a lock "
                    "ended at %.0f",
                    mf);
    }
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    verdict_py(x, r, out);
    const cb_name_t *ex;
    size_t ne = cb_sync_executor_names(&ex);
    if (ran(r, "no_lock") || ran(r, "lock") || ran(r, "join"))
        fprintf(out,
                "\nE4: %ld tasks each read the counter (starting at %ld), wait %.6g ms, write it "
                "minus one (after %.6g ms of other waiting; no_lock: %.6g ms):\n",
                e4_tasks(x), e4_tasks(x), p->hold_us / 1e3, p->outside_us / 1e3,
                (p->no_lock_outside_us >= 0 ? p->no_lock_outside_us : p->outside_us) / 1e3);
    for (size_t i = 0; i < ne; i++)
        verdict_e4(x, r, ex[i].name, out);
    if (ran(r, "race"))
        fprintf(out,
                "\nE5: workers adding 1 to one counter %ld times each, as a separate read and "
                "write\n  (near 50%% lost with 2 workers: each core mostly re-reads its own last "
                "write, so the two counts overwrite each other instead of adding up):\n",
                p->increments);
    for (size_t i = 0; i < ne; i++)
        verdict_race(x, r, ex[i].name, out);
    if (ran(r, "semaphore"))
        fprintf(out, "\nE6: Semaphore(%ld), %d tasks each holding it %.6g ms:\n", p->permits,
                SEM_TASKS, p->sem_hold_us / 1e3);
    for (size_t i = 0; i < ne; i++)
        verdict_sem(x, r, ex[i].name, out);
    if (ran(r, "fifo") || ran(r, "lifo") || ran(r, "priority"))
        fprintf(out,
                "\nE12: bounded queue (capacity %ld), %ld items per producer, every delivery "
                "checked:\n",
                p->capacity, p->items);
    for (size_t i = 0; i < ne; i++)
        verdict_queues(x, r, ex[i].name, out);
}

/* In the first 2 repetitions only: one CPython run is 6-7 s here (E4's
 * 100 tasks started and joined one by one, on threads and on processes,
 * are 4 s of it), against 6 s for a repetition of the C rows: in all 5
 * the run would take 2x its C time, in 2 it takes 1.4x. */

static const cb_python_def_t python = {.script = "scripts/python_sync.py", .reps = PY_REPS};

/* 001's E4 and E6 on threads, C and CPython: 100 tasks, 0.5 s between the
 * read and the write, 3 s before (none in the no-lock run); Semaphore(5)
 * and 23 tasks holding it 3 s. About 14 minutes: one repetition, no
 * warm-up (the waits are the run). */
static const char *const tutorial[] = {"--executors",
                                       "thread,py_thread",
                                       "--tasks",
                                       "100",
                                       "--hold-us",
                                       "500000",
                                       "--outside-us",
                                       "3000000",
                                       "--no-lock-outside-us",
                                       "0",
                                       "--sem-hold-us",
                                       "3000000",
                                       "--reps",
                                       "1",
                                       "--warmup",
                                       "0",
                                       "--timeout",
                                       "900",
                                       NULL};

static const cb_experiment_def_t sync_exp = {
    .name = "sync",
    .summary = "Locks, joins, races, semaphores and queues (E4, E5, E6, E12) on threads and "
               "processes, in C and in CPython (py_thread, py_process: threading, queue, "
               "multiprocessing; the tutorial's Manager().dict() counter, manager_dict; CPython "
               "in the first 2 repetitions). --tasks: E4's tasks (default 100). --workers: E5's "
               "racing workers and E12's producers (= consumers). Runs unpinned.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_sync_cfg_t),
    .executors = {.names_fn = executor_names},
    .workloads = {.names_fn = workload_names},
    .prepare = prepare,
    .worker_counts = worker_counts,
    .build = build,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_how = "the tasks' waits: E4's 100 x (3 s + 0.5 s) joined one by one dominate",
};
CB_EXPERIMENT_MAIN(sync_exp)
