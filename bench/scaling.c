/* scaling: experiment E7 of the tutorials. A pool reuses a fixed set of
 * workers; Python's defaults are one process per core for a process pool
 * and 5 x cores threads for a thread pool. This sweeps the worker count
 * (1, 2, ... up to 2 x PUs, and those two defaults) for each executor on
 * CPU-bound, IO-bound and mixed work, pinned compact and scatter, and
 * reports speedup and efficiency against the serial run of the same work.
 *
 * Every task has the same nominal time (--task-ms): the cpu task counts
 * for that long on this host (calibrated before the run), the io task
 * sleeps that long, the mixed task does half of each. For thread and
 * process (one per task) the worker count is the number of PUs the tasks
 * are pinned to; for the pools it is the pool size, each worker pinned. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/experiment.h"
#include "lib/core/stats.h"
#include "lib/exp/matrix.h"
#include "lib/exp/callbacks.h"

typedef struct params {
    double task_ms, io_fraction;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_DOUBLE(params_t, task_ms, "task-ms", "MS", 0.01, 600000, 10, 3,
                   "nominal time of one task: cpu counts that long, io sleeps that long (default "
                   "10)"),
    CB_FLAG_DOUBLE(params_t, io_fraction, "io-fraction", "F", 0, 1, 0.5, 0.5,
                   "mixed: share of each task spent waiting (default 0.5)"),
};

static const char *const default_workloads[] = {"cpu", "io", "mixed", NULL};

typedef struct run {
    uint64_t cpu_iters;
    long tasks, pus, cores;
    int listed; /* --workers given as a list */
} run_t;

/* The executors a sweep takes by default: those that run tasks on more
 * than one CPU at once, without the lock emulation. */
static int is_default(const char *name)
{
    int gil;
    const cb_executor_t *e = cb_matrix_parse_name(name, &gil);
    return e && e->parallel && !gil;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* The list as given, or 1 .. 2 x PUs (--quick: 1 .. PUs) and the pool
 * defaults (cores, 5 x cores), sorted, without repeats. */
static long *worker_counts(cb_exp_t *x, size_t *n)
{
    const cb_opts_t *o = &x->opts;
    long pus = cb_topo_allowed_pus(x->topo), cores = cb_topo_allowed_cores(x->topo);
    long top = o->quick ? pus : 2 * pus;
    size_t k = 0, cap = o->workers_kind == CB_WORKERS_LIST ? o->nworkers : (size_t)top + 2;
    long *c = malloc((cap + 1) * sizeof(*c));
    for (size_t i = 0; c && o->workers_kind == CB_WORKERS_LIST && i < o->nworkers; i++)
        c[k++] = o->workers[i];
    if (!c)
        return NULL;
    if (o->workers_kind != CB_WORKERS_LIST) {
        for (long w = 1; w <= top; w++)
            c[k++] = w;
        c[k++] = cores;
        c[k++] = 5 * cores;
    }
    qsort(c, k, sizeof(*c), cmp_long);
    *n = 0;
    for (size_t i = 0; i < k; i++)
        if (*n == 0 || c[*n - 1] != c[i])
            c[(*n)++] = c[i];
    return c;
}

/* Pinned compact and scatter, or the --pin given. */
static size_t pins(cb_exp_t *x, cb_pin_choice_t *out)
{
    if (x->opts.pin_arg)
        return cb_exp_pins_given(x, out);
    out[0] = (cb_pin_choice_t){CB_PIN_COMPACT, "compact"};
    out[1] = (cb_pin_choice_t){CB_PIN_SCATTER, "scatter"};
    return 2;
}

static int prepare(cb_exp_t *x)
{
    static run_t r;
    const params_t *p = x->params;
    r = (run_t){
        .cpu_iters = cb_workload_cpu_calibrate(p->task_ms),
        .tasks = x->opts.tasks ? x->opts.tasks : (x->opts.quick ? 10 : 20),
        .pus = cb_topo_allowed_pus(x->topo),
        .cores = cb_topo_allowed_cores(x->topo),
        .listed = x->opts.workers_kind == CB_WORKERS_LIST,
    };
    if (r.cpu_iters == 0) {
        fprintf(stderr, "scaling: could not run: the cpu workload could not be calibrated\n");
        return CB_EXIT_NORUN;
    }
    x->user = &r;
    cb_exp_meta(x, "cpu_iters", "%llu", (unsigned long long)r.cpu_iters);
    cb_exp_meta(x, "pins", "%s",
                x->opts.pin_arg ? cb_runner_pin_name(&x->opts) : "compact,scatter");
    return -1;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    const run_t *r = x->user;
    int serial = strcmp(pt->executor, "serial") == 0;
    if (serial && pt->wi > 0)
        return CB_BUILD_SKIP; /* one serial row: every row's reference */
    /* 5 x cores is the thread pool's default only; past 2 x PUs the others
     * have nothing more to show. */
    if (!serial && !r->listed && pt->workers > 2 * r->pus &&
        strcmp(pt->executor, "thread_pool") != 0)
        return CB_BUILD_SKIP;
    const cb_wl_params_t wp = {
        .tasks = (size_t)r->tasks,
        .cpu_iters = r->cpu_iters,
        .io_ns = (uint64_t)(p->task_ms * 1e6),
        .seed = 1,
        .io_fraction = p->io_fraction,
        .file_bytes = 1 << 20,
    };
    return cb_matrix_build(x, pt, cfg, &wp, serial ? 1 : pt->workers);
}

static double speedup(const cb_results_t *res, const char *e, const char *wl, const char *pin,
                      long w)
{
    return cb_results_median(res, &(cb_select_t){e, wl, pin, "speedup", w, 0});
}

/* cpu: the serial fraction from an Amdahl fit over the counts within the
 * PUs (past them the hardware, not the program, caps the speedup), and
 * where efficiency first falls under 0.8. */
static void verdict_cpu(cb_exp_t *x, const cb_results_t *res, const char *pin, const char *e,
                        FILE *out)
{
    const run_t *r = x->user;
    double *w = malloc((x->nworkers + 1) * sizeof(*w)), *s = malloc((x->nworkers + 1) * sizeof(*s));
    size_t n = 0, nfit = 0;
    double best = 0;
    long best_w = 0;
    for (size_t pass = 0; w && s && pass < 2; pass++)
        for (size_t k = 0; k < x->nworkers; k++) {
            double sp = speedup(res, e, "cpu", pin, x->workers[k]);
            if (isnan(sp) || (x->workers[k] <= r->pus) != (pass == 0))
                continue;
            w[n] = (double)x->workers[k], s[n++] = sp;
            nfit += pass == 0;
            if (sp > best)
                best = sp, best_w = x->workers[k];
        }
    if (n > 0) {
        double f = cb_stats_amdahl_fit(w, s, nfit);
        double knee = cb_stats_efficiency_knee(w, s, n, 0.8);
        char fs[48] = "no fit (one point)", ks[64] = "efficiency >= 0.8 at every count run";
        if (!isnan(f))
            snprintf(fs, sizeof(fs), "serial fraction %.3f", f);
        if (!isnan(knee))
            snprintf(ks, sizeof(ks), "efficiency < 0.8 from %.0f workers", knee);
        fprintf(out, "  %-13s %s; %s; best speedup %.2f at %ld\n", e, fs, ks, best, best_w);
        char name[96];
        snprintf(name, sizeof(name), "cpu/%s/%s/serial_fraction", pin, e);
        cb_exp_fact(x, name, f, "ratio", NAN, "%s, cpu, pinned %s: %s", e, pin, fs);
        snprintf(name, sizeof(name), "cpu/%s/%s/efficiency_knee_workers", pin, e);
        cb_exp_fact(x, name, knee, "count", NAN, "%s, cpu, pinned %s: %s", e, pin, ks);
        snprintf(name, sizeof(name), "cpu/%s/%s/best_speedup", pin, e);
        cb_exp_fact(x, name, best, "x", NAN, "%s, cpu, pinned %s: best speedup %.2f at %ld", e, pin,
                    best, best_w);
    }
    free(w);
    free(s);
}

/* io: where the tutorials' default pool sizes land. */
static void verdict_io(cb_exp_t *x, const cb_results_t *res, const char *pin, const char *e,
                       FILE *out)
{
    const run_t *r = x->user;
    int tp = strcmp(e, "thread_pool") == 0, pp = strcmp(e, "process_pool") == 0;
    if (!tp && !pp)
        return;
    long def = tp ? 5 * r->cores : r->cores, best_w = 0;
    double sp = speedup(res, e, "io", pin, def), best = 0;
    for (size_t k = 0; k < x->nworkers; k++) {
        double b = speedup(res, e, "io", pin, x->workers[k]);
        if (!isnan(b) && b > best)
            best = b, best_w = x->workers[k];
    }
    if (!isnan(sp)) {
        char name[96];
        snprintf(name, sizeof(name), "io/%s/%s/default_workers_speedup", pin, e);
        cb_exp_fact(x, name, sp, "x", (double)r->tasks,
                    "%s, io, pinned %s: the default %ld workers (%s) gave speedup %.2f of at "
                    "most %ld",
                    e, pin, def, tp ? "5 x cores" : "cores", sp, r->tasks);
    }
    if (!isnan(sp))
        fprintf(out,
                "  %-13s default %ld workers (%s): speedup %.2f of at most %ld (one worker per "
                "task); best run %.2f at %ld workers\n",
                e, def, tp ? "5 x cores" : "cores", sp, r->tasks, best, best_w);
}

static void verdict(cb_exp_t *x, const cb_results_t *res, FILE *out)
{
    const run_t *r = x->user;
    const cb_name_t *names;
    size_t nn = cb_matrix_executor_names(&names);
    cb_pin_choice_t pc[4];
    size_t np = pins(x, pc);
    fprintf(out, "\nE7: speedup over serial, %ld tasks (%ld allowed PUs, %ld cores).\n", r->tasks,
            r->pus, r->cores);
    for (size_t pi = 0; pi < np; pi++)
        for (int io = 0; io < 2; io++) {
            const char *wl = io ? "io" : "cpu";
            if (isnan(
                    cb_results_median(res, &(cb_select_t){NULL, wl, pc[pi].name, "speedup", 0, 0})))
                continue;
            if (io)
                fprintf(out, "io, pinned %s: where the tutorials' default pool sizes land\n",
                        pc[pi].name);
            else
                fprintf(out,
                        "cpu, pinned %s: serial fraction from an Amdahl fit over 1..%ld "
                        "workers; where efficiency first falls under 0.8\n",
                        pc[pi].name, r->pus);
            for (size_t i = 0; i < nn; i++)
                if (strcmp(names[i].name, "serial") != 0)
                    (io ? verdict_io : verdict_cpu)(x, res, pc[pi].name, names[i].name, out);
        }
}

static const cb_experiment_def_t scaling = {
    .name = "scaling",
    .summary = "Worker-count sweep (E7): speedup and efficiency of each executor on cpu, io and "
               "mixed work, pinned compact and scatter (or --pin), against serial. Default "
               "--workers: 1 .. 2 x PUs plus the pool defaults (cores, 5 x cores).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_matrix_t),
    .executors = {.names_fn = cb_matrix_executor_names,
                  .is_default = is_default,
                  .always = "serial"},
    .workloads = {.names_fn = cb_matrix_workload_names, .defaults = default_workloads},
    .derive_speedup = 1,
    /* With the library executors the sweep has almost twice the rows it
     * had: 5 repetitions under --quick took 22-42 s on this shared 2-vCPU
     * VM, past the contract's 30 s; 3 take 12-15 s. */
    .quick_reps = 3,
    .prepare = prepare,
    .worker_counts = worker_counts,
    .pins = pins,
    .build = build,
    .verdict = verdict,
};
CB_EXPERIMENT_MAIN(scaling)
