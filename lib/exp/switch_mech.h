#ifndef CB_SWITCH_MECH_H
#define CB_SWITCH_MECH_H

/* switch's mechanisms (experiment E9): how two units of work hand over to
 * each other. Between two threads or two processes (the executors whose
 * unit is a pthread or a fork): a pipe or a futex ping-pong, the partner
 * pinned to the same PU or another. Between two coroutines on one thread:
 * our assembly switch, glibc's swapcontext or Boost.Context's fcontext. One table; each entry
 * carries its own timed loop, so no name is compared while the clock runs. */

#include <stddef.h>

#include "lib/core/experiment.h"
#include "lib/exec/coro.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_switch_cfg cb_switch_cfg_t;
typedef struct cb_switch_partner cb_switch_partner_t;

typedef struct cb_switch_mech {
    const char *name;
    const char *summary;
    const char *unit; /* "kernel" (between threads or processes) or "coroutine" */
    const char *(*unavailable)(void);
    /* Kernel hand-overs: the partner's answering loop, the timed loop of
     * round trips (returns their count or a negative errno), and the stop. */
    void (*answer)(cb_switch_partner_t *p);
    long (*pingpong)(cb_switch_partner_t *p, double min_s, uint64_t *ns);
    void (*stop)(cb_switch_partner_t *p);
    cb_coro_impl_t impl; /* coroutine switches */
    /* The CI gate's ratios: this one over each of these (NULL: no more). */
    const char *gate_over[2];
} cb_switch_mech_t;

extern const cb_switch_mech_t cb_switch_mechs[];
extern const size_t cb_switch_mech_count;

const cb_switch_mech_t *cb_switch_mech_find(const char *name);

/* The table as an experiment's workload axis. */
size_t cb_switch_mech_names(const cb_name_t **out);

/* Whether the mechanism runs between an executor's units (its unit field:
 * "pthread" and "fork" take the kernel's, "coroutine" the coroutines'). */
int cb_switch_mech_fits(const cb_switch_mech_t *m, const char *unit);

struct cb_switch_cfg {
    const cb_switch_mech_t *mech;
    int process; /* 1: the partner is a forked process, else a thread */
    int pinned;
    int pu[2]; /* the initiator's and the partner's PU */
    const cb_topo_t *topo;
    double min_s; /* keep switching for at least this long */
};

/* cb_config_t.measure for a cb_switch_cfg_t ctx: ns_per_switch,
 * us_per_roundtrip, roundtrips. */
int cb_switch_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

/* A measure that records the row as skipped: one allowed PU, nothing to
 * cross to. */
int cb_switch_skip_one_pu(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m);

#ifdef __cplusplus
}
#endif
#endif
