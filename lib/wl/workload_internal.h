#ifndef CB_WORKLOAD_INTERNAL_H
#define CB_WORKLOAD_INTERNAL_H

/* Helpers shared by the workload files (wl_*.c); not part of the library's
 * interface. */

#include <stddef.h>
#include <stdint.h>

#include "lib/wl/workload.h"

/* The tutorials' counting loop: n increments of one counter, one increment
 * per iteration (as CPython's `x += 1`), calling cb_task_tick() after every
 * CB_TASK_TICK_EVERY of them, so floor(n / CB_TASK_TICK_EVERY) ticks in all.
 * Returns the counter, which is n. */
uint64_t cb_wl_count(uint64_t n);

/* SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): the value for position i of the stream seeded
 * with seed. scripts/python_reference.py implements the same function. */
uint64_t cb_wl_splitmix64(uint64_t seed, uint64_t i);

/* The io workload's sleep for task `index` (the rule is in wl_io.c). */
uint64_t cb_wl_io_sleep_ns(uint64_t io_ns, double jitter, uint64_t seed, size_t index);

/* What a task returns when it could not do its work (an IO call failed):
 * never a valid result of any workload at the sizes the harness runs. */
#define CB_WL_FAILED UINT64_MAX

/* The workloads, listed in workload.c. */
extern const cb_workload_t cb_wl_cpu;
extern const cb_workload_t cb_wl_cpu_kernel;
extern const cb_workload_t cb_wl_io;
extern const cb_workload_t cb_wl_io_file;
extern const cb_workload_t cb_wl_mixed;
extern const cb_workload_t cb_wl_fault_crash;
extern const cb_workload_t cb_wl_fault_hang;
extern const cb_workload_t cb_wl_fault_exit;

#endif
