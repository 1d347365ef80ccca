#ifndef CB_EXPERIMENT_H
#define CB_EXPERIMENT_H

/* One experiment, one declaration.
 *
 * A bench binary declares what is its own: its flags (typed rows: name,
 * field, range, default, --quick default, help; the meta key is the field's
 * name), its axes (the names --executors and --workloads accept, each with
 * a summary, from a registry), how one point of the axes becomes a
 * configuration, and its verdict. cb_experiment_main does the rest, the same
 * for every experiment: parsing, --help, --list, defaults, the pin plans,
 * meta (every flag's value, without a line of code), the run, the verdict,
 * and freeing on every path.
 *
 *   static const cb_flag_t flags[] = {
 *       CB_FLAG_DOUBLE(params_t, hold_us, "hold-us", "US", 0, 1e8, 2000, 1000, "..."),
 *   };
 *   const cb_experiment_def_t def = {.name = "sync", .flags = flags, ...};
 *   CB_EXPERIMENT_MAIN(def)
 *
 * Points are enumerated pin choice x workload x executor x worker count x
 * variant (in that nesting); build() turns each into at most one
 * configuration. */

#include <math.h> /* NAN, in the flag macros */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/core/cli.h"
#include "lib/core/names.h"
#include "lib/core/results.h"
#include "lib/core/runner.h"
#include "lib/core/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- flags ---- */

typedef enum {
    CB_FLAG_T_BOOL,   /* int field, 0 or 1; takes no argument */
    CB_FLAG_T_LONG,   /* long field in [lo, hi] */
    CB_FLAG_T_DOUBLE, /* double field in [lo, hi] */
    CB_FLAG_T_LIST,   /* cb_long_list_t field: a comma list of counts in [lo, hi] */
    CB_FLAG_T_CUSTOM, /* parse / format hooks over the field */
} cb_flag_type_t;

/* The field of a CB_FLAG_LIST: owned by the run (freed by cb_experiment_main). */
typedef struct cb_long_list {
    long *v;
    size_t n;
} cb_long_list_t;

typedef struct cb_flag {
    const char *name;  /* "hold-us", without "--" */
    const char *field; /* "hold_us": the meta key */
    cb_flag_type_t type;
    size_t offset;     /* offsetof(params, field) */
    double lo, hi;     /* LONG, DOUBLE: the allowed range */
    double def, quick; /* defaults without and with --quick (NAN: none, the field stays 0) */
    const char *def_list, *quick_list; /* LIST: the defaults, as the flag would be given */
    const char *metavar;               /* "US" */
    const char *help;                  /* one line */
    /* CUSTOM: parse arg into the field (0, or -1 after writing the one-line
     * reason to err), and format the field for meta (NULL: not recorded). */
    int (*parse)(void *field, const char *arg, char *err, size_t errlen);
    void (*format)(const void *field, char *buf, size_t len);
} cb_flag_t;

#define CB_FLAG_BOOL(T, f, n, h)                                                                   \
    {                                                                                              \
        .name = n, .field = #f, .type = CB_FLAG_T_BOOL, .offset = offsetof(T, f), .def = 0,        \
        .quick = 0, .help = h                                                                      \
    }
#define CB_FLAG_LONG(T, f, n, mv, l, hi_, d, q, h)                                                 \
    {                                                                                              \
        .name = n, .field = #f, .type = CB_FLAG_T_LONG, .offset = offsetof(T, f), .lo = l,         \
        .hi = hi_, .def = d, .quick = q, .metavar = mv, .help = h                                  \
    }
#define CB_FLAG_DOUBLE(T, f, n, mv, l, hi_, d, q, h)                                               \
    {                                                                                              \
        .name = n, .field = #f, .type = CB_FLAG_T_DOUBLE, .offset = offsetof(T, f), .lo = l,       \
        .hi = hi_, .def = d, .quick = q, .metavar = mv, .help = h                                  \
    }
#define CB_FLAG_LIST(T, f, n, mv, l, hi_, d, q, h)                                                 \
    {                                                                                              \
        .name = n, .field = #f, .type = CB_FLAG_T_LIST, .offset = offsetof(T, f), .lo = l,         \
        .hi = hi_, .def = NAN, .quick = NAN, .def_list = d, .quick_list = q, .metavar = mv,        \
        .help = h                                                                                  \
    }
/* .flags and .nflags of a declaration from one array. */
#define CB_FLAG_TABLE(a) .flags = (a), .nflags = sizeof(a) / sizeof((a)[0])

#define CB_FLAG_CUSTOM(T, f, n, mv, p, fmt, h)                                                     \
    {                                                                                              \
        .name = n, .field = #f, .type = CB_FLAG_T_CUSTOM, .offset = offsetof(T, f), .def = NAN,    \
        .quick = NAN, .metavar = mv, .help = h, .parse = p, .format = fmt                          \
    }

/* ---- axes ---- */

/* A list of names: a table of the experiment's own, or one a registry
 * builds (names_fn). */
typedef struct cb_axis {
    const cb_name_t *names;
    size_t n;
    size_t (*names_fn)(const cb_name_t **out);
    /* The default selection when the flag is not given: NULL: every name
     * that is not hidden; else a NULL-terminated list, or a filter. */
    const char *const *defaults;
    int (*is_default)(const char *name);
    /* A name run first whether or not it is selected (the speedup
     * reference), or NULL. */
    const char *always;
} cb_axis_t;

/* One pin choice of a run: its policy and the pin column's value. */
typedef struct cb_pin_choice {
    cb_pin_policy_t policy;
    const char *name;
} cb_pin_choice_t;

typedef struct cb_exp cb_exp_t;

/* One point of the axes. */
typedef struct cb_point {
    const char *executor, *workload;
    long workers;   /* one of the worker counts */
    size_t wi;      /* its index in the list */
    size_t variant; /* 0 .. variants() - 1 */
    const cb_pin_choice_t *pin;
} cb_point_t;

enum {
    CB_BUILD_ADD = 0,  /* build() filled the configuration */
    CB_BUILD_SKIP = 1, /* no configuration at this point */
};

/* The CPython side of an experiment: its script measures every point whose
 * configuration build() marked python (runner.h), once per repetition, as
 * a tracked child under the timeout, interleaved with the C
 * configurations (before per_rep, which can derive figures from them);
 * its rows join theirs. The protocol is in
 * scripts/cb_py.py. A declaration with one gets --no-python (leave the
 * CPython rows out) and --python PATH (the interpreter; default: python3
 * on PATH, or /usr/bin/python3 when only it has the optional modules);
 * meta records python and python_version. No python3, a script that is not
 * found, an interpreter that fails to start or is older than 3.8: every
 * CPython row `skipped` with the reason. A script that fails, dies, hangs
 * or writes an unreadable CSV: its rows `error`, `crashed` or `timeout`. */
typedef struct cb_python_def {
    const char *script;   /* "scripts/python_switch.py", shipped beside the binary */
    const char *optional; /* comma list of modules some points need, for the
                             choice of interpreter ("greenlet,gevent"); NULL */
    /* Measure the CPython points in the first `reps` repetitions only (0:
     * in every one), for an experiment whose CPython side would otherwise
     * multiply its run's time (sync's 100 tasks started one by one). */
    int reps;
    /* Optional: the script's calibration, for a CPython side sized by the
     * interpreter's own speed. Non-NULL: once a run, before its first
     * repetition (warm-up included) and only when it has CPython points and
     * an interpreter, the driver calls it (it may add --param values with
     * cb_python_param: the C figures the calibration needs; returns 0, or
     * a negative errno), then runs `script --calibrate` with the
     * repetition's arguments but --rep and --out. The KEY=VALUE lines the
     * script prints go to meta and, as --param KEY=VALUE, to every
     * repetition. A calibration that fails, dies, hangs or prints no such
     * line: every CPython row error, crashed or timeout with the reason. */
    int (*calibrate)(cb_exp_t *x);
} cb_python_def_t;

typedef struct cb_experiment_def {
    const char *name;    /* "sync": the binary, the files' stem, plots/NAME.gp */
    const char *plot;    /* the plot script's stem when it is not name (NULL: name) */
    const char *summary; /* one paragraph for --help */
    const cb_flag_t *flags;
    size_t nflags;
    size_t params_size; /* the struct the flags' offsets point into */
    size_t ctx_size;    /* per-configuration context, zeroed, as cfg->ctx */
    cb_axis_t executors, workloads;
    /* 0 takes the usual: 5 repetitions (quick_reps: reps), one warm-up
     * (no_warmup: none), 60 s per measurement. */
    int reps, quick_reps, no_warmup;
    double timeout_s;
    int derive_speedup;
    /* Optional hooks. prepare: after parsing and defaults, before the
     * points (calibrations, checks, extra meta); returns -1 to go on or an
     * exit status (after printing why). */
    int (*prepare)(cb_exp_t *x);
    /* The worker counts (default: --workers, or the detected cores / PUs). */
    long *(*worker_counts)(cb_exp_t *x, size_t *n);
    /* The pin choices, up to 4 (default: the --pin policy alone). */
    size_t (*pins)(cb_exp_t *x, cb_pin_choice_t *out);
    size_t (*variants)(cb_exp_t *x); /* default 1 */
    /* Required: one point -> cfg (its key, metrics, measure; ctx is set).
     * Returns CB_BUILD_ADD, CB_BUILD_SKIP, CB_EXIT_USAGE (after printing
     * the line) or a negative errno. */
    int (*build)(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg);
    int (*per_rep)(cb_exp_t *x, int rep, cb_results_t *r);
    /* Optional: 1 when per_rep adds rows of its own (a run of CPython rows
     * alone), so that a run without configurations still runs. */
    int (*per_rep_rows)(cb_exp_t *x);
    void (*verdict)(cb_exp_t *x, const cb_results_t *r, FILE *out);
    void (*finish)(cb_exp_t *x);   /* frees what prepare took */
    const cb_python_def_t *python; /* the CPython side, or NULL */
    /* The tutorials' own experiment: flags as on the command line
     * (NULL-terminated), which --tutorial puts before the user's (a flag
     * given after them still wins). NULL: --tutorial is refused with one
     * line. */
    const char *const *tutorial;
    /* For --tutorial: the seconds the run should take here, from a short
     * calibration (after the points are built), and in how what it is
     * estimated from; < 0: unknown. */
    double (*tutorial_estimate)(cb_exp_t *x, char *how, size_t len);
    /* Or, without that hook: the configurations' expected_s summed over the
     * repetitions each runs in (the CPython points' over the script's runs,
     * with an interpreter's start each), this saying in words what they
     * count ("the tasks' waits"). */
    const char *tutorial_how;
} cb_experiment_def_t;

/* What the hooks see of a run. */
struct cb_exp {
    const cb_experiment_def_t *def;
    cb_opts_t opts;
    cb_topo_t *topo;
    void *params;  /* def->params_size bytes, flags applied */
    long *workers; /* the worker counts */
    size_t nworkers;
    char *out_dir;
    const char *argv0;
    cb_experiment_t run; /* reps, timeout, ... as prepare may change them */
    void *user;          /* prepare's own state, freed by finish */
    /* private */
    unsigned char *given;     /* one per flag */
    const char **params_keys; /* the run's params (see cb_experiment_t) */
    char **meta;              /* key, value pairs, NULL-terminated */
    size_t nmeta;
    cb_pin_plan_t **plans;
    size_t nplans, cap_plans;
    struct cb_python_run *py; /* the CPython side's state (python.c) */
    int tutorial;             /* --tutorial given */
    uint64_t start_ns;        /* when the run's measurements started */
    double tutorial_est_s;    /* its estimate, or < 0 */
};

/* The whole main() of an experiment. */
int cb_experiment_main(const cb_experiment_def_t *def, int argc, char **argv);
#define CB_EXPERIMENT_MAIN(def)                                                                    \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return cb_experiment_main(&(def), argc, argv);                                             \
    }

/* From a verdict: one figure it states, as a fact of the run (facts.h;
 * the json export's "facts"): a stable name, the value and its unit, the
 * tutorials' figure for it (NAN: none) and the claim in words. Returns 0
 * or -ENOMEM. */
int cb_exp_fact(cb_exp_t *x, const char *name, double value, const char *unit, double reference,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Adds a meta key (copied). Returns 0 or -ENOMEM. */
int cb_exp_meta(cb_exp_t *x, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether the flag NAME (as on the command line, without "--") was given:
 * for a flag whose 0 is a value of its own, told apart from the field's 0
 * when the flag is absent (echo's --port 0). Returns 1 or 0 (0 too for a
 * name the declaration does not have). Callable from the hooks. */
int cb_exp_flag_given(const cb_exp_t *x, const char *name);

/* The pin plan for a worker count under a pin choice (NULL: the --pin
 * policy), owned by the run. Returns NULL after printing why (then return
 * CB_EXIT_USAGE from build). */
const cb_pin_plan_t *cb_exp_plan(cb_exp_t *x, const cb_pin_choice_t *pin, int workers);

/* A worker_counts hook for experiments whose build() picks the counts
 * itself: one count (1). */
long *cb_exp_workers_one(cb_exp_t *x, size_t *n);

/* The default pin choice: the --pin policy alone. */
size_t cb_exp_pins_given(cb_exp_t *x, cb_pin_choice_t *out);

/* Pin choices for experiments that also run unpinned rows: the --pin
 * policy, then none (just none when --pin none). */
size_t cb_exp_pins_and_none(cb_exp_t *x, cb_pin_choice_t *out);

/* 1 when the run leaves the CPython rows out (--no-python). For build():
 * skip the py_* points then. */
int cb_exp_no_python(const cb_exp_t *x);

/* The interpreter the CPython side chose (for an experiment whose CPython
 * points are measured by its own C code, echo's servers), or NULL with the
 * reason in *why (no python3, too old, --no-python, ...). Valid from
 * build() on (the choice is made when the first CPython point is built). */
const char *cb_exp_python(cb_exp_t *x, const char **why);

/* The measured repetitions this run makes, and in *warmup its warm-ups
 * (the C configurations'; the CPython side warms up in its calibrations). */
int cb_exp_reps(const cb_exp_t *x, int *warmup);

/* 1 when the run is --tutorial (the tutorials' own sizes): for build()
 * and the verdict. */
int cb_exp_tutorial(const cb_exp_t *x);

/* Prints the --list of an experiment's axes. */
void cb_exp_print_list(const cb_experiment_def_t *def, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
