/* concbench_main: the executor x workload matrix (cpu_vs_io's, through
 * lib/exp/matrix) over the user's own work: the workloads the binary
 * registered (concbench.h), --command CMD, and --py-task MODULE:FUNCTION
 * for the CPython rows. The files are named after the binary; the plot is
 * plots/work.gp, which draws any set of workloads. */

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <concbench/concbench.h>
#include "lib/core/experiment.h"
#include "lib/exp/matrix.h"
#include "lib/exp/pyref.h"
#include "lib/user/user.h"

typedef struct params {
    long size;
    char *arg, *command, *py_task, *py_path, *py_args;
} params_t;

static int parse_str(void *field, const char *arg, char *err, size_t len)
{
    (void)err, (void)len;
    char **f = field;
    free(*f);
    *f = strdup(arg);
    return 0;
}

static void format_str(const void *field, char *buf, size_t len)
{
    const char *const *f = field;
    snprintf(buf, len, "%s", *f ? *f : "");
}

static const cb_flag_t flags[] = {
    CB_FLAG_LONG(params_t, size, "size", "N", 0, 1e15, 0, 0,
                 "your workload's size knob (default: each workload's default_size)"),
    CB_FLAG_CUSTOM(params_t, arg, "arg", "STRING", parse_str, format_str,
                   "a string your workloads get as params->arg"),
    CB_FLAG_CUSTOM(params_t, command, "command", "CMD", parse_str, format_str,
                   "run the shell command CMD as each task (workload `command`; exit 0 is the "
                   "check)"),
    CB_FLAG_CUSTOM(params_t, py_task, "py-task", "MODULE:FUNCTION", parse_str, format_str,
                   "run the Python FUNCTION(index, *args) as each task on the py_* executors "
                   "(workload `py_task`)"),
    CB_FLAG_CUSTOM(params_t, py_path, "py-path", "DIR", parse_str, format_str,
                   "where --py-task's module is (prepended to sys.path; default .)"),
    CB_FLAG_CUSTOM(params_t, py_args, "py-args", "JSON", parse_str, format_str,
                   "--py-task's extra arguments: a JSON list (positional) or object (keywords)"),
};

/* What the flags switched on, for the axes' defaults (set by prepare, read
 * when the points are enumerated). */
static int with_command, with_py;

static size_t workload_names(const cb_name_t **out)
{
    static cb_name_t tab[72];
    static size_t n;
    if (!n) {
        const cb_workload_t *const *w;
        size_t k = cb_workload_registered(&w);
        for (size_t i = 0; i < k && n < 70; i++)
            if (strcmp(w[i]->name, "command") != 0)
                tab[n++] = (cb_name_t){w[i]->name, w[i]->summary, NULL, 0};
        tab[n++] = (cb_name_t){"command", cb_wl_command.summary, NULL, 0};
        tab[n++] =
            (cb_name_t){"py_task", "--py-task MODULE:FUNCTION as each task (py_* rows)", NULL, 0};
    }
    *out = tab;
    return n;
}

static int workload_default(const char *name)
{
    if (strcmp(name, "command") == 0)
        return with_command;
    if (strcmp(name, "py_task") == 0)
        return with_py;
    return 1;
}

static int executor_default(const char *name)
{
    return with_py || !cb_pyref_is_py(name);
}

typedef struct run {
    char root[PATH_MAX]; /* the configurations' folders go here; removed at the end */
    long tasks;
    cb_pyref_t py;
} run_t;

static int prepare(cb_exp_t *x)
{
    params_t *p = x->params;
    const char *bad = cb_user_bad_registration();
    if (bad) {
        fprintf(stderr, "%s: %s\n", x->def->name, bad);
        return CB_EXIT_USAGE;
    }
    char err[PATH_MAX + 128];
    if (p->command) {
        if (cb_user_check_command(p->command, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            return CB_EXIT_USAGE;
        }
        cb_user_set_command(p->command);
        if (!cb_workload_find("command") && cb_workload_register(&cb_wl_command) < 0) {
            fprintf(stderr, "%s: could not run: out of memory\n", x->def->name);
            return CB_EXIT_NORUN;
        }
        with_command = 1;
    }
    with_py = p->py_task != NULL;
    if (!cb_user_count() && !p->command && !p->py_task) {
        fprintf(stderr,
                "%s: nothing to run: this binary registers no workload; give --command CMD or "
                "--py-task MODULE:FUNCTION (see --help)\n",
                x->def->name);
        return CB_EXIT_USAGE;
    }
    run_t *r = calloc(1, sizeof(*r));
    if (!r) {
        fprintf(stderr, "%s: could not run: out of memory\n", x->def->name);
        return CB_EXIT_NORUN;
    }
    x->user = r;
    long cores = cb_topo_allowed_cores(x->topo);
    r->tasks = x->opts.tasks ? x->opts.tasks : (cores > 4 ? cores : 4);
    if (p->py_task) {
        r->py = (cb_pyref_t){
            .experiment = x->def->name,
            .tasks = r->tasks,
            .workers = x->workers[0],
            .timeout_s = x->opts.timeout_s > 0 ? x->opts.timeout_s : x->run.timeout_s,
            .py_task = p->py_task,
            .py_path = p->py_path,
            .py_args = p->py_args,
        };
        /* Imported, found and its arguments parsed before anything runs. */
        if (cb_pyref_check_task(&r->py, x->argv0, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            return CB_EXIT_USAGE;
        }
    } else if (p->py_path || p->py_args) {
        fprintf(stderr, "%s: --py-path and --py-args go with --py-task MODULE:FUNCTION\n",
                x->def->name);
        return CB_EXIT_USAGE;
    }
    int rc = cb_user_mkdtemp(x->out_dir, "work", r->root, sizeof(r->root));
    if (rc < 0) {
        fprintf(stderr, "%s: cannot make a work folder in %s: %s\n", x->def->name, x->out_dir,
                strerror(-rc));
        return CB_EXIT_USAGE;
    }
    return -1;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    run_t *r = x->user;
    int py_wl = strcmp(pt->workload, "py_task") == 0, py_ex = cb_pyref_is_py(pt->executor);
    if (py_ex && py_wl && p->py_task) {
        /* The CPython rows: one script run per repetition covers them. */
        cb_pyref_select(r->py.execs, sizeof(r->py.execs), pt->executor);
        cb_pyref_select(r->py.wls, sizeof(r->py.wls), pt->workload);
    }
    if (py_ex || py_wl)
        return CB_BUILD_SKIP;
    int serial = strcmp(pt->executor, "serial") == 0;
    if (serial && pt->wi > 0)
        return CB_BUILD_SKIP; /* one serial row per workload: the speedup reference */
    const cb_wl_params_t wp = {
        .tasks = (size_t)r->tasks,
        .size = p->size > 0 ? (uint64_t)p->size : cb_user_size_default(pt->workload, x->opts.quick),
        .arg = p->arg,
        .seed = 1,
    };
    int rc = cb_matrix_build(x, pt, cfg, &wp, serial ? 1 : pt->workers);
    if (rc == CB_BUILD_ADD)
        ((cb_matrix_t *)cfg->ctx)->params.tmp_dir = r->root;
    return rc;
}

static int per_rep(cb_exp_t *x, int rep, cb_results_t *res)
{
    run_t *r = x->user;
    if (!r->py.execs[0] || !r->py.wls[0])
        return 0;
    return cb_pyref_rep(&r->py, rep, res);
}

static int per_rep_rows(cb_exp_t *x)
{
    const run_t *r = x->user;
    return r->py.execs[0] && r->py.wls[0];
}

static double med(const cb_results_t *res, const char *e, const char *wl, const char *metric)
{
    return cb_results_median(res, &(cb_select_t){e, wl, NULL, metric, 0, 0});
}

/* Per workload: the fastest executor, and where processes and threads
 * stand against each other, as the tutorials ask it. */
static void verdict(cb_exp_t *x, const cb_results_t *res, FILE *out)
{
    const cb_name_t *wls, *ex;
    size_t nw = workload_names(&wls), ne = cb_matrix_executor_names_py(&ex);
    fprintf(out, "\nYour work on each model (median wall time, fastest first):\n");
    for (size_t i = 0; i < nw; i++) {
        const char *wl = wls[i].name;
        const char *best = NULL;
        double bt = INFINITY;
        for (size_t k = 0; k < ne; k++) {
            double t = med(res, ex[k].name, wl, "wall_s");
            if (!isnan(t) && t < bt)
                bt = t, best = ex[k].name;
        }
        if (!best)
            continue;
        double s = med(res, best, wl, "speedup");
        fprintf(out, "  %-16s fastest: %s, %.4g s", wl, best, bt);
        if (!isnan(s))
            fprintf(out, " (speedup %.2f over serial)", s);
        fprintf(out, "\n");
        char name[128];
        snprintf(name, sizeof(name), "%s/fastest_wall_s", wl);
        cb_exp_fact(x, name, bt, "s", NAN, "%s: the fastest model is %s, %.4g s", wl, best, bt);
        const char *pairs[][2] = {{"process", "thread"}, {"py_process", "py_thread"}};
        for (int k = 0; k < 2; k++) {
            double a = med(res, pairs[k][0], wl, "wall_s"), b = med(res, pairs[k][1], wl, "wall_s");
            if (isnan(a) || isnan(b))
                continue;
            fprintf(out, "  %-16s %s %.4g s vs %s %.4g s: %s is %.2fx faster\n", "", pairs[k][0], a,
                    pairs[k][1], b, a < b ? pairs[k][0] : pairs[k][1], a < b ? b / a : a / b);
            snprintf(name, sizeof(name), "%s/%s_over_%s", wl, pairs[k][1], pairs[k][0]);
            cb_exp_fact(x, name, b / a, "x", NAN, "%s: %s %.4g s vs %s %.4g s", wl, pairs[k][0], a,
                        pairs[k][1], b);
        }
    }
}

static void finish(cb_exp_t *x)
{
    params_t *p = x->params;
    run_t *r = x->user;
    if (r) {
        if (r->root[0])
            cb_user_rmtree(r->root);
        cb_pyref_free(&r->py);
        free(r);
    }
    free(p->arg);
    free(p->command);
    free(p->py_task);
    free(p->py_path);
    free(p->py_args);
}

static const cb_experiment_def_t work = {
    .name = "work",
    .plot = "work",
    .summary = "Your own work on every model: the workloads this binary registers "
               "(concbench.h), a command (--command) or a Python function (--py-task), on "
               "serial, thread, process, both pools, coroutine, their +gil rows and py_*.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_matrix_t),
    .executors = {.names_fn = cb_matrix_executor_names_py, .is_default = executor_default},
    .workloads = {.names_fn = workload_names, .is_default = workload_default},
    .timeout_s = 120,
    .derive_speedup = 1,
    .prepare = prepare,
    .build = build,
    .per_rep = per_rep,
    .per_rep_rows = per_rep_rows,
    .verdict = verdict,
    .finish = finish,
};

/* The results' name: the binary's, in the characters a file stem takes. */
static void run_name(const char *argv0, char *buf, size_t len)
{
    const char *b = argv0 ? strrchr(argv0, '/') : NULL;
    b = b ? b + 1 : (argv0 ? argv0 : "");
    size_t w = 0;
    for (; *b && w + 1 < len; b++)
        if ((*b >= 'a' && *b <= 'z') || (*b >= 'A' && *b <= 'Z') || (*b >= '0' && *b <= '9') ||
            *b == '_' || *b == '-')
            buf[w++] = *b;
    buf[w] = '\0';
    if (!w)
        snprintf(buf, len, "work");
}

int concbench_main(int argc, char **argv)
{
    char name[64];
    run_name(argc > 0 ? argv[0] : NULL, name, sizeof(name));
    cb_experiment_def_t d = work;
    d.name = name;
    return cb_experiment_main(&d, argc, argv);
}
