#ifndef CB_SYNC_EXP_H
#define CB_SYNC_EXP_H

/* sync's workloads (experiments E4, E5, E6, E12) as one table, and the
 * measurement of one configuration over lib/exp/sync's mechanisms. */

#include <stddef.h>

#include "lib/core/experiment.h"
#include "lib/exp/sync.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CB_SYNC_K_COUNTER, CB_SYNC_K_RACE, CB_SYNC_K_SEM, CB_SYNC_K_QUEUE } cb_sync_kind_t;

typedef struct cb_sync_wl {
    const char *name;
    cb_sync_kind_t kind;
    int variant; /* cb_sync_variant_t or cb_queue_kind_t */
    int processes_ok;
    const char *summary;
    const cb_metric_def_t *metrics; /* 3 */
} cb_sync_wl_t;

extern const cb_sync_wl_t cb_sync_wls[];
extern const size_t cb_sync_wl_count;

const cb_sync_wl_t *cb_sync_wl_find(const char *name);
size_t cb_sync_wl_names(const cb_name_t **out);

/* The executors sync runs on (those whose unit is a pthread or a fork), as
 * an axis; and the unit of one of them (-1: not one of them). */
size_t cb_sync_executor_names(const cb_name_t **out);
int cb_sync_unit_of(const char *executor);
const char *cb_sync_unit_plural(cb_sync_unit_t u); /* "threads", "processes" */

typedef struct cb_sync_params {
    double hold_us, outside_us, sem_hold_us;
    double no_lock_outside_us; /* no_lock's wait before the read; < 0: outside_us */
    long increments, permits, items, capacity;
} cb_sync_params_t;

typedef struct cb_sync_cfg {
    const cb_sync_wl_t *wl;
    cb_sync_unit_t unit;
    int n; /* counter and semaphore: tasks; race: workers; queue: producers = consumers */
    const cb_sync_params_t *p;
} cb_sync_cfg_t;

/* cb_config_t.measure for a cb_sync_cfg_t ctx. */
int cb_sync_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

#ifdef __cplusplus
}
#endif
#endif
