#ifndef CB_SPAWN_MECH_H
#define CB_SPAWN_MECH_H

/* spawn's mechanisms (experiment E3): the bare ways to start and finish one
 * unit of work (pthread, fork, fork_256m, vfork, posix_spawn, coroutine)
 * and the two ways a pool is measured (submit, stream), as one table, and
 * the measurement of one configuration. */

#include <stddef.h>

#include "lib/core/experiment.h"
#include "lib/exec/executor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CB_SPAWN_BARE,   /* executor raw: the system call itself */
    CB_SPAWN_SUBMIT, /* one empty task through a started pool */
    CB_SPAWN_STREAM, /* a stream of empty tasks through a started pool */
} cb_spawn_kind_t;

typedef struct cb_spawn_cfg cb_spawn_cfg_t;

typedef struct cb_spawn_mech {
    const char *name;
    const char *summary;
    cb_spawn_kind_t kind;
    /* BARE: one start and finish; 0 or a negative errno. */
    int (*once)(const cb_spawn_cfg_t *c);
    size_t prefault_mib; /* the parent touches this much first (fork_256m) */
    int gated;           /* the reference of the CI gate's `relative` rows */
} cb_spawn_mech_t;

extern const cb_spawn_mech_t cb_spawn_mechs[];
extern const size_t cb_spawn_mech_count;

/* NULL when no mechanism has this name. */
const cb_spawn_mech_t *cb_spawn_mech_find(const char *name);

/* The table as an experiment's workload axis. */
size_t cb_spawn_mech_names(const cb_name_t **out);

struct cb_spawn_cfg {
    const cb_spawn_mech_t *mech;
    const cb_executor_t *exec; /* NULL: raw, the bare mechanism */
    const cb_topo_t *topo;
    const cb_pin_plan_t *plan; /* slot 0 binds the parent */
    int pinned;
    double min_s;     /* keep spawning for at least this long */
    long stream;      /* STREAM: empty tasks per measurement */
    const char *tiny; /* posix_spawn: path of bench/tiny (NULL: -ENOENT) */
};

/* cb_config_t.measure for a cb_spawn_cfg_t ctx: us_per_spawn and spawns,
 * or tasks_per_s and tasks for STREAM. */
int cb_spawn_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

/* Tutorial 001's "who starts faster": the parent starts a thread
 * (process = 0: pthread_create) or a process (fork) whose body writes one
 * byte to a pipe, and writes its own byte right after the start returns;
 * which came first, over `trials` starts. *child_first: how many times the
 * child's byte did. Returns 0 or a negative errno. */
int cb_spawn_print_order(int process, long trials, long *child_first);

/* cb_config_t.measure for print_order (ctx: a cb_spawn_cfg_t with mech
 * NULL, exec the thread or process executor, stream the trials): metrics
 * child_first_pct and trials. */
int cb_spawn_order_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

#ifdef __cplusplus
}
#endif
#endif
