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
 * run unpinned (the pin column says none). */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/runner.h"
#include "lib/exp/sync.h"

typedef enum { K_COUNTER, K_RACE, K_SEM, K_QUEUE } kind_t;

typedef struct wl_def {
    const char *name;
    kind_t kind;
    int variant; /* cb_sync_variant_t or cb_queue_kind_t */
    int processes_ok;
    const char *summary;
} wl_def_t;

static const wl_def_t wl_defs[] = {
    {"no_lock", K_COUNTER, CB_SYNC_NO_LOCK, 1,
     "E4: tasks read the counter, wait, write it minus one, unprotected"},
    {"lock", K_COUNTER, CB_SYNC_LOCK, 1, "E4: the same with a mutex around read-wait-write"},
    {"join", K_COUNTER, CB_SYNC_JOIN, 1, "E4: the same, each task started and joined in turn"},
    {"race", K_RACE, 0, 1, "E5: many increments as separate load and store, no lock"},
    {"semaphore", K_SEM, 0, 1, "E6: Semaphore(5), 23 tasks: peak inside and waves"},
    {"fifo", K_QUEUE, CB_QUEUE_FIFO, 0, "E12: bounded first-in first-out queue"},
    {"lifo", K_QUEUE, CB_QUEUE_LIFO, 0, "E12: bounded last-in first-out queue (a stack)"},
    {"priority", K_QUEUE, CB_QUEUE_PRIORITY, 0,
     "E12: bounded priority queue (smallest first, ties FIFO)"},
};
#define NWL (sizeof(wl_defs) / sizeof(wl_defs[0]))

static const char *const executor_names[] = {"thread", "process", NULL};
static const char *const workload_names[] = {"no_lock", "lock", "join",     "race", "semaphore",
                                             "fifo",    "lifo", "priority", NULL};

static const cb_metric_def_t counter_metrics[] = {
    {"wall_s", "s"}, {"final_counter", "count"}, {"lost_updates", "count"}};
static const cb_metric_def_t race_metrics[] = {
    {"lost_updates", "count"}, {"lost_pct", "%"}, {"wall_s", "s"}};
static const cb_metric_def_t sem_metrics[] = {
    {"wall_s", "s"}, {"peak_concurrency", "count"}, {"waves", "holds"}};
static const cb_metric_def_t queue_metrics[] = {
    {"items_per_s", "1/s"}, {"order_errors", "count"}, {"wall_s", "s"}};

typedef struct params {
    double hold_us, outside_us, sem_hold_us;
    long increments, permits, items, capacity;
} params_t;

typedef struct sx_ctx {
    const wl_def_t *wl;
    cb_sync_unit_t unit;
    int n; /* counter and semaphore: tasks; race: workers; queue: producers = consumers */
    const params_t *p;
} sx_ctx_t;

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const sx_ctx_t *x = c->ctx;
    const params_t *p = x->p;
    int rc = 0;
    switch (x->wl->kind) {
    case K_COUNTER: {
        cb_sync_counter_cfg_t cfg = {x->unit, (cb_sync_variant_t)x->wl->variant, x->n,
                                     (uint64_t)(p->outside_us * 1e3), (uint64_t)(p->hold_us * 1e3)};
        cb_sync_counter_result_t r;
        if ((rc = cb_sync_counter_run(&cfg, &r)) < 0)
            break;
        m->values[0] = r.wall_s;
        m->values[1] = (double)r.final_counter;
        m->values[2] = (double)r.lost_updates;
        break;
    }
    case K_RACE: {
        cb_sync_race_result_t r;
        if ((rc = cb_sync_race_run(x->unit, x->n, (uint64_t)p->increments, &r)) < 0)
            break;
        m->values[0] = (double)r.lost_updates;
        m->values[1] = 100.0 * (double)r.lost_updates / (double)r.expected;
        m->values[2] = r.wall_s;
        break;
    }
    case K_SEM: {
        cb_sync_sem_result_t r;
        if ((rc = cb_sync_semaphore_run(x->unit, x->n, (int)p->permits,
                                        (uint64_t)(p->sem_hold_us * 1e3), &r)) < 0)
            break;
        m->values[0] = r.wall_s;
        m->values[1] = r.peak;
        m->values[2] = r.wall_s / r.hold_s;
        /* More holders than permits is a broken semaphore, not a slow one. */
        if (r.peak > p->permits) {
            m->status = CB_ERROR;
            snprintf(m->detail, sizeof(m->detail), "peak %d over %ld permits", r.peak, p->permits);
        }
        break;
    }
    case K_QUEUE: {
        cb_sync_queue_cfg_t cfg = {(cb_queue_kind_t)x->wl->variant, x->n, x->n, (size_t)p->items,
                                   (size_t)p->capacity};
        cb_sync_queue_result_t r;
        if ((rc = cb_sync_queue_run(&cfg, &r)) < 0)
            break;
        m->values[0] = r.items_per_s;
        m->values[1] = (double)r.order_errors;
        m->values[2] = r.wall_s;
        if (r.order_errors > 0) {
            m->status = CB_ERROR;
            snprintf(m->detail, sizeof(m->detail), "%ld deliveries out of %s order", r.order_errors,
                     x->wl->name);
        }
        break;
    }
    }
    if (rc < 0)
        snprintf(m->detail, sizeof(m->detail), "%s on %s: %s", x->wl->name,
                 x->unit == CB_SYNC_THREADS ? "threads" : "processes", strerror(-rc));
    return rc;
}

/* ---- flags ---- */

static int set_hold(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("hold-us", a, 0, 1e8, &((params_t *)ctx)->hold_us, err, len);
}
static int set_outside(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("outside-us", a, 0, 1e8, &((params_t *)ctx)->outside_us, err, len);
}
static int set_sem_hold(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("sem-hold-us", a, 1, 1e8, &((params_t *)ctx)->sem_hold_us, err, len);
}
static int set_increments(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("increments", a, 1, 10000000000L, &((params_t *)ctx)->increments, err,
                         len);
}
static int set_permits(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("permits", a, 1, 10000, &((params_t *)ctx)->permits, err, len);
}
static int set_items(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("items", a, 1, 100000000, &((params_t *)ctx)->items, err, len);
}
static int set_capacity(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_long("capacity", a, 1, 1000000, &((params_t *)ctx)->capacity, err, len);
}

/* ---- verdict ---- */

static double median_of(const cb_results_t *r, const char *exec, const char *wl, long workers,
                        const char *metric)
{
    size_t n = 0, cap = cb_results_count(r);
    double *v = malloc((cap + 1) * sizeof(*v));
    if (!v)
        return NAN;
    for (size_t i = 0; i < cap; i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status == CB_OK && strcmp(s->metric, metric) == 0 &&
            strcmp(s->key.executor, exec) == 0 && strcmp(s->key.workload, wl) == 0 &&
            (workers < 0 || s->key.workers == workers))
            v[n++] = s->value;
    }
    double med = n ? cb_stats_median(v, n) : NAN;
    free(v);
    return med;
}

/* Smallest and largest value of a metric over the ok samples. */
static int range_of(const cb_results_t *r, const char *exec, const char *wl, long workers,
                    const char *metric, double *lo, double *hi)
{
    int n = 0;
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status != CB_OK || strcmp(s->metric, metric) != 0 ||
            strcmp(s->key.executor, exec) != 0 || strcmp(s->key.workload, wl) != 0 ||
            (workers >= 0 && s->key.workers != workers))
            continue;
        if (n == 0 || s->value < *lo)
            *lo = s->value;
        if (n == 0 || s->value > *hi)
            *hi = s->value;
        n++;
    }
    return n;
}

/* Ok samples of a metric above a value. */
static int count_above(const cb_results_t *r, const char *exec, const char *wl, long workers,
                       const char *metric, double above)
{
    int n = 0;
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        n += s->status == CB_OK && strcmp(s->metric, metric) == 0 &&
             strcmp(s->key.executor, exec) == 0 && strcmp(s->key.workload, wl) == 0 &&
             s->key.workers == workers && s->value > above;
    }
    return n;
}

/* 1 when any sample of the workload was recorded (ok or not). */
static int ran(const cb_results_t *r, const char *wl)
{
    for (size_t i = 0; i < cb_results_count(r); i++)
        if (strcmp(cb_results_get(r, i)->key.workload, wl) == 0)
            return 1;
    return 0;
}

typedef struct vctx {
    const params_t *p;
    int tasks;
    long *race_workers, *queue_workers;
    size_t nrace, nqueue;
    int sem_tasks;
} vctx_t;

static void verdict(const cb_results_t *r, FILE *out, void *ctx)
{
    const vctx_t *v = ctx;
    const char *units[2] = {"thread", "process"};
    const char *plural[2] = {"threads", "processes"};
    if (ran(r, "no_lock") || ran(r, "lock") || ran(r, "join"))
        fprintf(out,
                "\nE4: %d tasks each read the counter (starting at %d), wait %.3g ms, write it "
                "minus one (after %.3g ms of other waiting):\n",
                v->tasks, v->tasks, v->p->hold_us / 1e3, v->p->outside_us / 1e3);
    for (int u = 0; u < 2; u++) {
        double w[3], n[3];
        const char *wl[3] = {"no_lock", "lock", "join"};
        for (int k = 0; k < 3; k++) {
            w[k] = median_of(r, units[u], wl[k], -1, "wall_s");
            n[k] = median_of(r, units[u], wl[k], -1, "final_counter");
        }
        if (isnan(w[0]) && isnan(w[1]) && isnan(w[2]))
            continue;
        fprintf(out, "  %-9s", plural[u]);
        for (int k = 0; k < 3; k++)
            if (!isnan(w[k]))
                fprintf(out, "  %s %.3f s, counter %.0f%s", wl[k], w[k], n[k],
                        k < 2 && !isnan(w[k + 1]) ? ";" : "");
        fprintf(out, "\n");
        if (!isnan(n[0]))
            fprintf(out,
                    "             without the lock, %.0f of %d updates were lost (tutorials: 99 "
                    "of 100)%s\n",
                    n[0], v->tasks,
                    n[0] < v->tasks - 1 ? "; fewer when tasks start further apart than the wait, "
                                          "and see an earlier task's write"
                                        : "");
        if (!isnan(w[0]) && !isnan(w[1]))
            fprintf(out, "             no lock was %.1fx faster than the lock, and wrong\n",
                    w[1] / w[0]);
        if (!isnan(w[1]) && !isnan(w[2]))
            fprintf(out,
                    "             start-then-join took %.1fx the lock's time (tutorials: 350.7 "
                    "s / 53.3 s = 6.6x): the lock serialises only the update, join the whole "
                    "task\n",
                    w[2] / w[1]);
    }
    if (ran(r, "race"))
        fprintf(out,
                "\nE5: workers adding 1 to one counter %ld times each, as a separate read and "
                "write\n  (near 50%% lost with 2 workers: each core mostly re-reads its own last "
                "write, so the two counts overwrite each other instead of adding up):\n",
                v->p->increments);
    for (int u = 0; u < 2; u++)
        for (size_t i = 0; i < v->nrace; i++) {
            double lo = 0, hi = 0,
                   pct = median_of(r, units[u], "race", v->race_workers[i], "lost_pct");
            int n = range_of(r, units[u], "race", v->race_workers[i], "lost_updates", &lo, &hi);
            if (n == 0)
                continue;
            double lost = median_of(r, units[u], "race", v->race_workers[i], "lost_updates");
            int hit = count_above(r, units[u], "race", v->race_workers[i], "lost_updates", 0);
            fprintf(out,
                    "  %ld %-9s median %.0f of %.0f updates lost (%.2f%%), %.0f to %.0f; "
                    "updates lost in %d of %d runs%s\n",
                    v->race_workers[i], plural[u], lost,
                    (double)v->race_workers[i] * (double)v->p->increments, pct, lo, hi, hit, n,
                    hit < n ? " (a race needs two workers running at the same instant: on a busy "
                              "machine they often are not)"
                            : "");
        }
    if (ran(r, "semaphore"))
        fprintf(out, "\nE6: Semaphore(%ld), %d tasks each holding it %.3g ms:\n", v->p->permits,
                v->sem_tasks, v->p->sem_hold_us / 1e3);
    long waves = (v->sem_tasks + v->p->permits - 1) / v->p->permits;
    for (int u = 0; u < 2; u++) {
        double lo = 0, hi = 0;
        int n = range_of(r, units[u], "semaphore", -1, "peak_concurrency", &lo, &hi);
        if (n == 0)
            continue;
        double wall = median_of(r, units[u], "semaphore", -1, "wall_s");
        double holds = median_of(r, units[u], "semaphore", -1, "waves");
        fprintf(out,
                "  %-9s at most %.0f inside at once (%s in all %d runs); %.3f s = %.2f "
                "holds, ceil(%d/%ld) = %ld waves expected\n",
                plural[u], hi, lo == hi && hi == v->p->permits ? "exactly the permits" : "see CSV",
                n, wall, holds, v->sem_tasks, v->p->permits, waves);
    }
    if (ran(r, "fifo") || ran(r, "lifo") || ran(r, "priority"))
        fprintf(out,
                "\nE12: bounded queue (capacity %ld), %ld items per producer, every delivery "
                "checked:\n",
                v->p->capacity, v->p->items);
    const char *qs[3] = {"fifo", "lifo", "priority"};
    for (size_t i = 0; i < v->nqueue; i++)
        for (int k = 0; k < 3; k++) {
            double lo = 0, hi = 0;
            int n = range_of(r, "thread", qs[k], v->queue_workers[i], "order_errors", &lo, &hi);
            if (n == 0)
                continue;
            double ips = median_of(r, "thread", qs[k], v->queue_workers[i], "items_per_s");
            fprintf(out,
                    "  %-8s %ld producer(s) / %ld consumer(s): %.3g items/s, %.0f order "
                    "errors\n",
                    qs[k], v->queue_workers[i], v->queue_workers[i], ips, hi);
        }
}

int main(int argc, char **argv)
{
    params_t p = {.hold_us = -1, .outside_us = -1, .sem_hold_us = -1};
    const cb_cli_extra_t extra[] = {
        {"hold-us", 1, "US",
         "E4: wait between reading and writing the counter (default 2000; the tutorials' 0.5 s "
         "scaled down)",
         set_hold, &p},
        {"outside-us", 1, "US",
         "E4: wait before touching the counter (default 6 x hold, the tutorials' 3 s : 0.5 s)",
         set_outside, &p},
        {"increments", 1, "N", "E5: increments per worker (default 20000000)", set_increments, &p},
        {"permits", 1, "K", "E6: semaphore permits (default 5)", set_permits, &p},
        {"sem-hold-us", 1, "US", "E6: how long each task holds the semaphore (default 50000)",
         set_sem_hold, &p},
        {"items", 1, "N", "E12: items per producer (default 100000)", set_items, &p},
        {"capacity", 1, "N", "E12: queue bound (default 64)", set_capacity, &p},
    };
    cb_cli_spec_t spec = {
        .prog = "sync",
        .summary = "Locks, joins, races, semaphores and queues (E4, E5, E6, E12) on threads and "
                   "processes. --tasks: E4's tasks (default 100). --workers: E5's racing workers "
                   "and E12's producers (= consumers). Runs unpinned.",
        .extra = extra,
        .nextra = sizeof(extra) / sizeof(extra[0]),
        .executor_names = executor_names,
        .workload_names = workload_names,
    };
    cb_opts_t o;
    cb_topo_t *t = NULL;
    int rc = cb_runner_start(&spec, argc, argv, &o, &t);
    if (rc >= 0)
        return rc;
    if (o.list) {
        printf("executors:\n  %-10s one pthread per task\n  %-10s one fork per task; shared "
               "memory and process-shared pthread objects\n\nworkloads:\n",
               "thread", "process");
        for (size_t i = 0; i < NWL; i++)
            printf("  %-10s %s%s\n", wl_defs[i].name, wl_defs[i].summary,
                   wl_defs[i].processes_ok ? "" : " (thread only)");
        return 0;
    }
    if (p.hold_us < 0)
        p.hold_us = o.quick ? 1000 : 2000;
    if (p.outside_us < 0)
        p.outside_us = 6 * p.hold_us;
    if (p.sem_hold_us < 0)
        p.sem_hold_us = o.quick ? 20000 : 50000;
    if (!p.increments)
        p.increments = o.quick ? 5000000 : 20000000;
    if (!p.permits)
        p.permits = 5;
    if (!p.items)
        p.items = o.quick ? 20000 : 100000;
    if (!p.capacity)
        p.capacity = 64;
    int tasks = o.tasks ? (int)o.tasks : 100;
    int sem_tasks = 23;

    /* Worker counts: the list, or 1 (queues only) and the detected count,
     * at least 2 so there is something to race or to share. */
    size_t nwc = 0;
    long *wc = cb_cli_worker_counts(&o, t, &nwc);
    long race_w[16], queue_w[17];
    size_t nrace = 0, nqueue = 0;
    if (!wc)
        return CB_EXIT_FAILED;
    if (o.workers_kind != CB_WORKERS_LIST)
        queue_w[nqueue++] = 1;
    for (size_t i = 0; i < nwc && nrace < 16; i++) {
        long w = wc[i];
        if (o.workers_kind != CB_WORKERS_LIST && w < 2)
            w = 2;
        race_w[nrace++] = w;
        if (nqueue == 0 || queue_w[nqueue - 1] != w)
            queue_w[nqueue++] = w;
    }
    free(wc);

    static sx_ctx_t ctx[256];
    static cb_config_t cfgs[256];
    size_t n = 0;
    const char *const *execs = o.executors ? (const char *const *)o.executors : executor_names;
    for (size_t wi = 0; wi < NWL; wi++) {
        const wl_def_t *wl = &wl_defs[wi];
        int want = !o.workloads;
        for (char **q = o.workloads; q && *q; q++)
            want |= strcmp(*q, wl->name) == 0;
        if (!want)
            continue;
        for (const char *const *e = execs; *e; e++) {
            cb_sync_unit_t unit = strcmp(*e, "thread") == 0 ? CB_SYNC_THREADS : CB_SYNC_PROCESSES;
            if (unit == CB_SYNC_PROCESSES && !wl->processes_ok)
                continue;
            const long one_count[1] = {wl->kind == K_SEM ? sem_tasks : tasks};
            const long *counts = one_count;
            size_t ncounts = 1;
            if (wl->kind == K_RACE)
                counts = race_w, ncounts = nrace;
            else if (wl->kind == K_QUEUE)
                counts = queue_w, ncounts = nqueue;
            for (size_t k = 0; k < ncounts && n < 256; k++) {
                ctx[n] = (sx_ctx_t){.wl = wl, .unit = unit, .n = (int)counts[k], .p = &p};
                /* workers: threads or processes alive at once (the semaphore
                 * row: its permits); tasks: units started or items moved. */
                long workers = counts[k], ntasks = counts[k];
                const cb_metric_def_t *mets = counter_metrics;
                if (wl->kind == K_RACE) {
                    mets = race_metrics;
                } else if (wl->kind == K_SEM) {
                    mets = sem_metrics;
                    workers = p.permits;
                } else if (wl->kind == K_QUEUE) {
                    mets = queue_metrics;
                    ntasks = counts[k] * p.items;
                } else if (wl->variant == CB_SYNC_JOIN) {
                    workers = 1;
                }
                cfgs[n] = (cb_config_t){
                    .key = {NULL, *e, wl->name, workers, ntasks, "none"},
                    .metrics = mets,
                    .nmetrics = 3,
                    .measure = measure,
                    .ctx = &ctx[n],
                };
                n++;
            }
        }
    }
    if (n == 0) {
        fprintf(stderr, "sync: nothing to run: the queue workloads run on threads only\n");
        cb_topo_free(t);
        cb_cli_free(&o);
        return CB_EXIT_USAGE;
    }
    vctx_t v = {.p = &p,
                .tasks = tasks,
                .race_workers = race_w,
                .queue_workers = queue_w,
                .nrace = nrace,
                .nqueue = nqueue,
                .sem_tasks = sem_tasks};
    char hold[32], outside[32], incs[32], permits[32], semhold[32], items[32], capacity[32];
    snprintf(hold, sizeof(hold), "%g", p.hold_us);
    snprintf(outside, sizeof(outside), "%g", p.outside_us);
    snprintf(incs, sizeof(incs), "%ld", p.increments);
    snprintf(permits, sizeof(permits), "%ld", p.permits);
    snprintf(semhold, sizeof(semhold), "%g", p.sem_hold_us);
    snprintf(items, sizeof(items), "%ld", p.items);
    snprintf(capacity, sizeof(capacity), "%ld", p.capacity);
    const char *meta[] = {"hold_us", hold,      "outside_us", outside,       "increments",
                          incs,      "permits", permits,      "sem_hold_us", semhold,
                          "items",   items,     "capacity",   capacity,      NULL};
    cb_experiment_t e = {
        .name = "sync",
        .configs = cfgs,
        .nconfigs = n,
        .reps = 5,
        .warmup = 1,
        .timeout_s = 60,
        .verdict = verdict,
        .verdict_ctx = &v,
        .meta = meta,
    };
    rc = cb_runner_run(&e, &o, t, argc, argv);
    cb_topo_free(t);
    cb_cli_free(&o);
    return rc;
}
