#include "lib/exp/sync_exp.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/exec/executor.h"

static const cb_metric_def_t counter_metrics[] = {
    {"wall_s", "s"}, {"final_counter", "count"}, {"lost_updates", "count"}};
static const cb_metric_def_t race_metrics[] = {
    {"lost_updates", "count"}, {"lost_pct", "%"}, {"wall_s", "s"}};
static const cb_metric_def_t sem_metrics[] = {
    {"wall_s", "s"}, {"peak_concurrency", "count"}, {"waves", "holds"}};
static const cb_metric_def_t queue_metrics[] = {
    {"items_per_s", "1/s"}, {"order_errors", "count"}, {"wall_s", "s"}};

const cb_sync_wl_t cb_sync_wls[] = {
    {"no_lock", CB_SYNC_K_COUNTER, CB_SYNC_NO_LOCK, 1,
     "E4: tasks read the counter, wait, write it minus one, unprotected", counter_metrics},
    {"lock", CB_SYNC_K_COUNTER, CB_SYNC_LOCK, 1, "E4: the same with a mutex around read-wait-write",
     counter_metrics},
    {"join", CB_SYNC_K_COUNTER, CB_SYNC_JOIN, 1,
     "E4: the same, each task started and joined in turn", counter_metrics},
    {"race", CB_SYNC_K_RACE, 0, 1, "E5: many increments as separate load and store, no lock",
     race_metrics},
    {"semaphore", CB_SYNC_K_SEM, 0, 1, "E6: Semaphore(5), 23 tasks: peak inside and waves",
     sem_metrics},
    {"fifo", CB_SYNC_K_QUEUE, CB_QUEUE_FIFO, 0,
     "E12: bounded first-in first-out queue (thread only)", queue_metrics},
    {"lifo", CB_SYNC_K_QUEUE, CB_QUEUE_LIFO, 0,
     "E12: bounded last-in first-out queue, a stack (thread only)", queue_metrics},
    {"priority", CB_SYNC_K_QUEUE, CB_QUEUE_PRIORITY, 0,
     "E12: bounded priority queue, smallest first, ties FIFO (thread only)", queue_metrics},
};
const size_t cb_sync_wl_count = sizeof(cb_sync_wls) / sizeof(cb_sync_wls[0]);

const cb_sync_wl_t *cb_sync_wl_find(const char *name)
{
    return cb_table_find(cb_sync_wls, cb_sync_wl_count, sizeof(cb_sync_wls[0]), name);
}

size_t cb_sync_wl_names(const cb_name_t **out)
{
    static cb_name_t tab[sizeof(cb_sync_wls) / sizeof(cb_sync_wls[0])];
    *out = tab;
    return cb_table_names(tab, cb_sync_wls, cb_sync_wl_count, sizeof(cb_sync_wls[0]),
                          offsetof(cb_sync_wl_t, summary), SIZE_MAX);
}

static int unit_of(const cb_executor_t *e)
{
    if (!e || !e->unit || e->pool)
        return -1;
    if (strcmp(e->unit, "pthread") == 0)
        return CB_SYNC_THREADS;
    if (strcmp(e->unit, "fork") == 0)
        return CB_SYNC_PROCESSES;
    return -1;
}

static int kernel_unit(const cb_executor_t *e)
{
    return unit_of(e) >= 0;
}

size_t cb_sync_executor_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n)
        n = cb_executor_name_table(tab, 64, kernel_unit);
    *out = tab;
    return n;
}

int cb_sync_unit_of(const char *executor)
{
    return unit_of(cb_executor_find(executor));
}

const char *cb_sync_unit_plural(cb_sync_unit_t u)
{
    return u == CB_SYNC_THREADS ? "threads" : "processes";
}

static int measure_counter(const cb_sync_cfg_t *x, cb_measurement_t *m)
{
    const cb_sync_params_t *p = x->p;
    double outside_us = x->wl->variant == CB_SYNC_NO_LOCK && p->no_lock_outside_us >= 0
                            ? p->no_lock_outside_us
                            : p->outside_us;
    cb_sync_counter_cfg_t cfg = {x->unit, (cb_sync_variant_t)x->wl->variant, x->n,
                                 (uint64_t)(outside_us * 1e3), (uint64_t)(p->hold_us * 1e3)};
    cb_sync_counter_result_t r;
    int rc = cb_sync_counter_run(&cfg, &r);
    if (rc < 0)
        return rc;
    m->values[0] = r.wall_s;
    m->values[1] = (double)r.final_counter;
    m->values[2] = (double)r.lost_updates;
    return 0;
}

static int measure_race(const cb_sync_cfg_t *x, cb_measurement_t *m)
{
    cb_sync_race_result_t r;
    int rc = cb_sync_race_run(x->unit, x->n, (uint64_t)x->p->increments, &r);
    if (rc < 0)
        return rc;
    m->values[0] = (double)r.lost_updates;
    m->values[1] = 100.0 * (double)r.lost_updates / (double)r.expected;
    m->values[2] = r.wall_s;
    return 0;
}

static int measure_sem(const cb_sync_cfg_t *x, cb_measurement_t *m)
{
    const cb_sync_params_t *p = x->p;
    cb_sync_sem_result_t r;
    int rc =
        cb_sync_semaphore_run(x->unit, x->n, (int)p->permits, (uint64_t)(p->sem_hold_us * 1e3), &r);
    if (rc < 0)
        return rc;
    m->values[0] = r.wall_s;
    m->values[1] = r.peak;
    m->values[2] = r.wall_s / r.hold_s;
    /* More holders than permits is a broken semaphore, not a slow one. */
    if (r.peak > p->permits) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "peak %d over %ld permits", r.peak, p->permits);
    }
    return 0;
}

static int measure_queue(const cb_sync_cfg_t *x, cb_measurement_t *m)
{
    cb_sync_queue_cfg_t cfg = {(cb_queue_kind_t)x->wl->variant, x->n, x->n, (size_t)x->p->items,
                               (size_t)x->p->capacity};
    cb_sync_queue_result_t r;
    int rc = cb_sync_queue_run(&cfg, &r);
    if (rc < 0)
        return rc;
    m->values[0] = r.items_per_s;
    m->values[1] = (double)r.order_errors;
    m->values[2] = r.wall_s;
    if (r.order_errors > 0) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail), "%ld deliveries out of %s order", r.order_errors,
                 x->wl->name);
    }
    return 0;
}

int cb_sync_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    static int (*const by_kind[])(const cb_sync_cfg_t *, cb_measurement_t *) = {
        [CB_SYNC_K_COUNTER] = measure_counter,
        [CB_SYNC_K_RACE] = measure_race,
        [CB_SYNC_K_SEM] = measure_sem,
        [CB_SYNC_K_QUEUE] = measure_queue,
    };
    const cb_sync_cfg_t *x = c->ctx;
    int rc = by_kind[x->wl->kind](x, m);
    if (rc < 0)
        snprintf(m->detail, sizeof(m->detail), "%s on %s: %s", x->wl->name,
                 cb_sync_unit_plural(x->unit), strerror(-rc));
    return rc;
}
