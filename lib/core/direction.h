#ifndef CB_DIRECTION_H
#define CB_DIRECTION_H

/* Which way is better for each metric: one table for compare's verdicts and
 * the exports that split metrics by direction (gab-smaller, gab-bigger). */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CB_DIR_LOWER = 0, /* times, costs: lower is better */
    CB_DIR_HIGHER,    /* throughput, speedup: higher is better */
    CB_DIR_FACT,      /* a fact of the run (a count of work done): compared for equality */
} cb_direction_t;

/* The direction of a metric, from its name (and its unit for facts):
 *   higher: tasks_per_s, req_per_s, items_per_s, any other *_per_s, speedup,
 *           efficiency;
 *   lower:  wall_s, user_s, sys_s, vol_cs, invol_cs, relative, p50_us,
 *           p99_us, us_per_*, ns_per_*, ms_per_*, s_per_*, and any other
 *           name ending in _s, _ms, _us or _ns;
 *   fact:   final_counter, lost_updates, order_errors, peak_concurrency,
 *           roundtrips, spawns, tasks, items, and any other metric whose unit
 *           is "count" (vol_cs and invol_cs are counts but performance);
 *   anything else: lower, with *assumed set to 1 (else 0; assumed may be
 *   NULL). */
cb_direction_t cb_metric_direction(const char *metric, const char *unit, int *assumed);

#ifdef __cplusplus
}
#endif
#endif
