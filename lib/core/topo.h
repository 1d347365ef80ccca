#ifndef CB_TOPO_H
#define CB_TOPO_H

/* Topology (hwloc) and pin plans.
 *
 * A cb_topo_t wraps one loaded hwloc topology: this machine's, or a synthetic
 * or XML one when HWLOC_SYNTHETIC / HWLOC_XMLFILE are set (hwloc reads them
 * itself). Only a topology that is this system may bind; binding on another
 * is refused with -EXDEV so the caller can print one clear line.
 *
 * The allowed set is hwloc's allowed cpuset intersected with the process's
 * sched_getaffinity mask, so `taskset -c 1 ...` and cgroup cpusets are
 * honoured. For a topology that is not this system, the affinity mask is not
 * applied (it describes another machine). */

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_topo cb_topo_t;

/* Loads the topology. Returns NULL and sets *err to a negative errno on
 * failure. Free with cb_topo_free. */
cb_topo_t *cb_topo_load(int *err);
/* Loads the synthetic topology desc (hwloc's synthetic syntax, e.g.
 * "pack:2 core:4 pu:2"), whatever the environment says; for tests and tools.
 * It never counts as this system (HWLOC_THISSYSTEM is ignored here), so
 * binding on it is refused with -EXDEV. Returns NULL and sets
 * *err (-EINVAL for a description hwloc rejects) on failure. */
cb_topo_t *cb_topo_load_synthetic(const char *desc, int *err);
void cb_topo_free(cb_topo_t *t);

/* 1 when the topology is this machine's (not synthetic, not XML). */
int cb_topo_is_this_system(const cb_topo_t *t);

int cb_topo_packages(const cb_topo_t *t);
int cb_topo_numa_nodes(const cb_topo_t *t);
int cb_topo_cores(const cb_topo_t *t);
int cb_topo_pus(const cb_topo_t *t);
/* Number of PUs in the allowed set. */
int cb_topo_allowed_pus(const cb_topo_t *t);
/* Number of cores with at least one allowed PU. */
int cb_topo_allowed_cores(const cb_topo_t *t);

/* 1 when the PU with this OS index exists and is in the allowed set. */
int cb_topo_pu_allowed(const cb_topo_t *t, int os_index);

/* The allowed set in hwloc's list syntax ("0-3,8"). Writes at most len bytes,
 * NUL-terminated; returns the length it needed (like snprintf). */
int cb_topo_allowed_str(const cb_topo_t *t, char *buf, size_t len);
/* The processor's model as hwloc reads it (its CPUModel info on the first
 * package, else on the machine: CPUID's brand string on x86, the device
 * tree or /proc/cpuinfo elsewhere), or NULL (a synthetic topology). */
const char *cb_topo_cpu_model(const cb_topo_t *t);

/* The underlying hwloc_topology_t, for code that needs hwloc directly. */
void *cb_topo_hwloc(const cb_topo_t *t);

typedef enum {
    CB_PIN_NONE = 0,
    CB_PIN_COMPACT,
    CB_PIN_SCATTER,
    CB_PIN_LIST,
} cb_pin_policy_t;

/* One worker's place. Indexes are -1 under CB_PIN_NONE. */
typedef struct cb_pin_slot {
    int pu_os;   /* OS index of the PU (what sched_getcpu reports) */
    int core;    /* hwloc logical index of the core */
    int package; /* hwloc logical index of the package, 0 when none */
} cb_pin_slot_t;

typedef struct cb_pin_plan {
    cb_pin_policy_t policy;
    int nworkers;
    int wrapped;          /* 1 when there are more workers than PUs to use */
    cb_pin_slot_t *slots; /* nworkers entries */
} cb_pin_plan_t;

/* Parses a --pin value: "none", "compact", "scatter" or a PU list
 * ("0,2,4-7", OS indexes). On success fills *policy and, for a list, *pus
 * (malloc'ed, caller frees) and *npus, and returns 0. On failure returns
 * -EINVAL and writes one line naming the bad part to err (errlen bytes). PUs
 * are not checked against a topology here; cb_pin_plan_make does that. */
int cb_pin_parse(const char *arg, cb_pin_policy_t *policy, int **pus, int *npus, char *err,
                 size_t errlen);

/* Makes the plan for nworkers workers.
 *  compact: allowed PUs in hwloc logical order (SMT siblings of a core
 *           before the next core);
 *  scatter: round-robin across packages, then across cores within a package,
 *           one PU per core before any SMT sibling (as hwloc_distrib does);
 *  list:    worker i on the i-th PU of the list; each must be allowed.
 * More workers than PUs wrap around and set plan->wrapped.
 * Returns 0, or -EINVAL with a line in err (a PU outside the allowed set,
 * naming it and the allowed set), or -ENOMEM. Free with cb_pin_plan_free. */
int cb_pin_plan_make(const cb_topo_t *t, cb_pin_policy_t policy, const int *pus, int npus,
                     int nworkers, cb_pin_plan_t *plan, char *err, size_t errlen);
void cb_pin_plan_free(cb_pin_plan_t *plan);

/* Binds the calling thread to one PU (hwloc_set_cpubind with
 * HWLOC_CPUBIND_THREAD). A no-op returning 0 for pu_os < 0. Returns 0,
 * -EXDEV when the topology is not this system, or a negative errno. */
int cb_pin_bind_thread(const cb_topo_t *t, int pu_os);

/* Binds the calling process (all its threads; use in a fresh child after
 * fork) to one PU. Same returns as cb_pin_bind_thread. */
int cb_pin_bind_process(const cb_topo_t *t, int pu_os);

/* Binds a child just forked (which has one thread, the caller) to one PU
 * with a single sched_setaffinity. Same returns. Prefer it over
 * cb_pin_bind_process in a timed fork path: hwloc's process binding walks
 * /proc/PID/task to bind every thread, which costs about as much as the
 * fork itself. */
int cb_pin_bind_child(const cb_topo_t *t, int pu_os);

/* The one PU the calling thread may run on, or -1 when its affinity holds
 * several (or cannot be read). A child forked by a thread bound to PU p is
 * already on p: callers that fork many children decide once, before
 * forking, which of them need cb_pin_bind_child at all. */
int cb_pin_current_pu(void);

/* Binds a pthread attribute so the thread starts on its PU (no migration
 * between creation and the first instruction). Same returns. */
int cb_pin_attr(const cb_topo_t *t, pthread_attr_t *attr, int pu_os);

/* Binds a pthread attribute to a set of PUs together: the thread starts on
 * one of them and the kernel may move it among them, never elsewhere
 * (taskset -c 2,3). Negative entries are skipped; none left: no binding.
 * Same returns as cb_pin_attr (-EINVAL when any PU is not allowed). */
int cb_pin_attr_set(const cb_topo_t *t, pthread_attr_t *attr, const int *pus, int npus);

/* Prints the --plan format: "topology packages=P numa=N cores=C pus=U
 * allowed=CPUSET", then "worker I pu OS core CORE package PKG" per worker
 * ("worker I pu none core none package none" under CB_PIN_NONE), then a
 * "# wrapped: W workers on N PUs, ..." line when the plan wraps. */
void cb_pin_plan_print(const cb_topo_t *t, const cb_pin_plan_t *plan, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
