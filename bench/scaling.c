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

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/core/clock.h"
#include "lib/exp/matrix.h"
#include "lib/core/runner.h"
#include "lib/exp/sync_exp.h"

static const char *const executor_names[] = {"serial",       "thread",    "process", "thread_pool",
                                             "process_pool", "coroutine", NULL};
static const char *const default_executors[] = {"thread", "process", "thread_pool", "process_pool",
                                                NULL};
static const char *const default_workloads[] = {"cpu", "io", "mixed", NULL};

typedef struct params {
    double task_ms;
    double io_fraction;
} params_t;

static int set_task(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("task-ms", a, 0.01, 600000, &((params_t *)ctx)->task_ms, err, len);
}
static int set_io_fraction(void *ctx, const char *a, char *err, size_t len)
{
    return cb_parse_double("io-fraction", a, 0, 1, &((params_t *)ctx)->io_fraction, err, len);
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU nanoseconds one cpu task of iters increments takes (0 on error).
 * CPU time, not wall time: on a busy machine the wall clock also counts
 * the time other programs had the PU. */
static uint64_t time_cpu_task(const cb_workload_t *w, uint64_t iters)
{
    cb_wl_params_t p = {.tasks = 1, .cpu_iters = iters};
    void *arg;
    if (w->setup(&p, &arg) < 0)
        return 0;
    uint64_t t0 = thread_cpu_ns();
    w->task(arg, 0);
    uint64_t t1 = thread_cpu_ns();
    uint64_t ns = t0 && t1 > t0 ? t1 - t0 : 0;
    if (w->teardown)
        w->teardown(arg);
    return ns;
}

/* Increments of the cpu workload that take about task_ms of CPU here: grows
 * a run to at least 20 ms, then keeps the fastest of 5 runs of that size
 * (the first runs can be slow while the clock frequency ramps up) and
 * scales it. Untimed, before the experiment. 0 on error. */
static uint64_t calibrate_cpu_iters(double task_ms)
{
    const cb_workload_t *w = cb_workload_find("cpu");
    if (!w)
        return 0;
    uint64_t iters = 1000000, ns = 0;
    for (int round = 0; round < 12; round++) {
        if ((ns = time_cpu_task(w, iters)) == 0)
            return 0;
        if (ns >= 20000000)
            break;
        iters *= 2;
    }
    for (int k = 0; k < 5; k++) {
        uint64_t again = time_cpu_task(w, iters);
        if (again == 0)
            return 0;
        if (again < ns)
            ns = again;
    }
    double scaled = (double)iters * task_ms * 1e6 / (double)ns;
    return scaled < 1 ? 1 : (uint64_t)scaled;
}

/* ---- verdict ---- */

/* Median of one metric over a configuration's ok samples. */
static double median_of(const cb_results_t *r, const char *exec, const char *wl, const char *pin,
                        long workers, const char *metric)
{
    size_t n = 0, cap = cb_results_count(r);
    double *v = malloc((cap + 1) * sizeof(*v));
    if (!v)
        return NAN;
    for (size_t i = 0; i < cap; i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->status == CB_OK && s->key.workers == workers && strcmp(s->metric, metric) == 0 &&
            strcmp(s->key.executor, exec) == 0 && strcmp(s->key.workload, wl) == 0 &&
            strcmp(s->key.pin, pin) == 0)
            v[n++] = s->value;
    }
    double med = n ? cb_stats_median(v, n) : NAN;
    free(v);
    return med;
}

typedef struct vctx {
    const char *const *execs;
    const char *const *wls;
    const char **pins;
    int npins;
    long *counts; /* all worker counts run, ascending */
    size_t ncounts;
    long pus, cores;
    long tasks;
} vctx_t;

static void verdict(const cb_results_t *r, FILE *out, void *ctx)
{
    const vctx_t *v = ctx;
    double *w = malloc((v->ncounts + 1) * sizeof(*w));
    double *s = malloc((v->ncounts + 1) * sizeof(*s));
    if (!w || !s)
        goto out;
    fprintf(out, "\nE7: speedup over serial, %ld tasks (%ld allowed PUs, %ld cores).\n", v->tasks,
            v->pus, v->cores);
    for (int pi = 0; pi < v->npins; pi++) {
        const char *pin = v->pins[pi];
        int cpu = 0, io = 0;
        for (const char *const *wl = v->wls; *wl; wl++) {
            cpu |= strcmp(*wl, "cpu") == 0;
            io |= strcmp(*wl, "io") == 0;
        }
        if (cpu) {
            fprintf(out,
                    "cpu, pinned %s: serial fraction from an Amdahl fit over 1..%ld "
                    "workers; where efficiency first falls under 0.8\n",
                    pin, v->pus);
            for (const char *const *e = v->execs; *e; e++) {
                size_t n = 0, nfit = 0;
                double best = 0;
                long best_w = 0;
                for (size_t k = 0; k < v->ncounts; k++) {
                    double sp = median_of(r, *e, "cpu", pin, v->counts[k], "speedup");
                    if (isnan(sp))
                        continue;
                    /* Points within the PUs first: the fit uses only those,
                     * since past the PUs the hardware, not the program,
                     * caps the speedup. */
                    if (v->counts[k] <= v->pus) {
                        memmove(&w[nfit + 1], &w[nfit], (n - nfit) * sizeof(*w));
                        memmove(&s[nfit + 1], &s[nfit], (n - nfit) * sizeof(*s));
                        w[nfit] = (double)v->counts[k];
                        s[nfit] = sp;
                        nfit++;
                    } else {
                        w[n] = (double)v->counts[k];
                        s[n] = sp;
                    }
                    n++;
                    if (sp > best)
                        best = sp, best_w = v->counts[k];
                }
                if (n == 0)
                    continue;
                double f = cb_stats_amdahl_fit(w, s, nfit);
                double knee = cb_sync_efficiency_knee(w, s, n, 0.8);
                char fs[48], ks[64];
                if (isnan(f))
                    snprintf(fs, sizeof(fs), "no fit (one point)");
                else
                    snprintf(fs, sizeof(fs), "serial fraction %.3f", f);
                if (isnan(knee))
                    snprintf(ks, sizeof(ks), "efficiency >= 0.8 at every count run");
                else
                    snprintf(ks, sizeof(ks), "efficiency < 0.8 from %.0f workers", knee);
                fprintf(out, "  %-13s %s; %s; best speedup %.2f at %ld\n", *e, fs, ks, best,
                        best_w);
            }
        }
        if (io) {
            fprintf(out, "io, pinned %s: where the tutorials' default pool sizes land\n", pin);
            for (const char *const *e = v->execs; *e; e++) {
                int tp = strcmp(*e, "thread_pool") == 0, pp = strcmp(*e, "process_pool") == 0;
                if (!tp && !pp)
                    continue;
                long def = tp ? 5 * v->cores : v->cores;
                double sp = median_of(r, *e, "io", pin, def, "speedup"), best = 0;
                long best_w = 0;
                for (size_t k = 0; k < v->ncounts; k++) {
                    double b = median_of(r, *e, "io", pin, v->counts[k], "speedup");
                    if (!isnan(b) && b > best)
                        best = b, best_w = v->counts[k];
                }
                if (isnan(sp))
                    continue;
                fprintf(out,
                        "  %-13s default %ld workers (%s): speedup %.2f of at most %ld "
                        "(one worker per task); best run %.2f at %ld workers\n",
                        *e, def, tp ? "5 x cores" : "cores", sp, v->tasks, best, best_w);
            }
        }
    }
out:
    free(w);
    free(s);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int listed(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    params_t p = {.io_fraction = -1};
    const cb_cli_extra_t extra[] = {
        {"task-ms", 1, "MS",
         "nominal time of one task: cpu counts that long, io sleeps that long (default 10)",
         set_task, &p},
        {"io-fraction", 1, "F", "mixed: share of each task spent waiting (default 0.5)",
         set_io_fraction, &p},
    };
    cb_cli_spec_t spec = {
        .prog = "scaling",
        .summary = "Worker-count sweep (E7): speedup and efficiency of each executor on cpu, io "
                   "and mixed work, pinned compact and scatter (or --pin), against serial. "
                   "Default --workers: 1 .. 2 x PUs plus the pool defaults (cores, 5 x cores).",
        .extra = extra,
        .nextra = sizeof(extra) / sizeof(extra[0]),
        .executor_names = executor_names,
        .workload_names = default_workloads,
    };
    cb_opts_t o;
    cb_topo_t *t = NULL;
    int rc = cb_runner_start(&spec, argc, argv, &o, &t);
    if (rc >= 0)
        return rc;
    if (o.list) {
        cb_matrix_list(stdout);
        return 0;
    }
    if (p.task_ms == 0)
        p.task_ms = o.quick ? 3 : 10;
    if (p.io_fraction < 0)
        p.io_fraction = 0.5;
    long pus = cb_topo_allowed_pus(t), cores = cb_topo_allowed_cores(t);
    long tasks = o.tasks ? o.tasks : (o.quick ? 10 : 20);

    /* Worker counts: the list as given, or 1 .. 2 x PUs (--quick: 1 .. PUs)
     * and the pool defaults. */
    long *counts = NULL;
    size_t ncounts = 0;
    if (o.workers_kind == CB_WORKERS_LIST) {
        counts = malloc((o.nworkers + 1) * sizeof(*counts));
        for (size_t i = 0; counts && i < o.nworkers; i++)
            counts[ncounts++] = o.workers[i];
    } else {
        long top = o.quick ? pus : 2 * pus;
        counts = malloc((size_t)(top + 3) * sizeof(*counts));
        for (long w = 1; counts && w <= top; w++)
            counts[ncounts++] = w;
        if (counts) {
            counts[ncounts++] = cores;
            counts[ncounts++] = 5 * cores;
        }
    }
    if (!counts)
        return CB_EXIT_FAILED;
    qsort(counts, ncounts, sizeof(*counts), cmp_long);
    size_t u = 0;
    for (size_t i = 0; i < ncounts; i++)
        if (u == 0 || counts[u - 1] != counts[i])
            counts[u++] = counts[i];
    ncounts = u;

    const char *pins[2];
    int npins = 0;
    cb_opts_t po = o;
    if (o.pin_arg) {
        pins[npins++] = cb_runner_pin_name(&o);
    } else {
        pins[npins++] = "compact";
        pins[npins++] = "scatter";
    }

    size_t ne, nwl;
    const char *const *execs = cb_cli_names(o.executors, default_executors, &ne);
    const char *const *wls = cb_cli_names(o.workloads, default_workloads, &nwl);
    uint64_t cpu_iters = calibrate_cpu_iters(p.task_ms);
    if (cpu_iters == 0) {
        fprintf(stderr, "scaling: could not calibrate the cpu workload\n");
        return CB_EXIT_FAILED;
    }
    size_t cap = (size_t)npins * nwl * (ne * ncounts + 1) + 1;
    cb_config_t *cfgs = calloc(cap, sizeof(*cfgs));
    cb_matrix_t *ctx = calloc(cap, sizeof(*ctx));
    if (!cfgs || !ctx)
        return CB_EXIT_FAILED;
    size_t n = 0;
    for (int pi = 0; pi < npins; pi++) {
        if (!o.pin_arg)
            po.pin = pi == 0 ? CB_PIN_COMPACT : CB_PIN_SCATTER;
        for (size_t wi = 0; wi < nwl; wi++) {
            const cb_workload_t *wl = cb_workload_find(wls[wi]);
            /* The serial run of the same work is every row's reference,
             * whether or not --executors names it. */
            for (size_t ei = 0; ei <= ne; ei++) {
                const char *name = ei == 0 ? "serial" : execs[ei - 1];
                if (ei > 0 && strcmp(name, "serial") == 0)
                    continue;
                int serial = ei == 0;
                for (size_t k = 0; k < (serial ? 1 : ncounts); k++) {
                    long workers = serial ? 1 : counts[k];
                    /* 5 x cores is the thread pool's default only; past
                     * 2 x PUs the others have nothing more to show. */
                    if (!serial && o.workers_kind != CB_WORKERS_LIST && workers > 2 * pus &&
                        strcmp(name, "thread_pool") != 0)
                        continue;
                    cb_matrix_t *b = &ctx[n];
                    b->executor = cb_executor_find(name);
                    b->workload = wl;
                    b->topo = t;
                    b->workers = (int)workers;
                    b->params = (cb_wl_params_t){
                        .tasks = (size_t)tasks,
                        .cpu_iters = cpu_iters,
                        .io_ns = (uint64_t)(p.task_ms * 1e6),
                        .seed = 1,
                        .io_fraction = p.io_fraction,
                    };
                    if (cb_runner_plan(&po, t, b->workers, &b->plan) != 0)
                        return CB_EXIT_USAGE;
                    cfgs[n] = (cb_config_t){
                        .key = {NULL, name, wl->name, workers, tasks, pins[pi]},
                        .metrics = cb_matrix_metrics,
                        .nmetrics = cb_matrix_nmetrics,
                        .measure = cb_matrix_measure,
                        .ctx = b,
                    };
                    n++;
                }
            }
        }
    }
    const char *vexecs[8] = {NULL};
    size_t nv = 0;
    for (size_t i = 0; i < ne && nv < 7; i++)
        if (!listed(vexecs, execs[i]) && strcmp(execs[i], "serial") != 0)
            vexecs[nv++] = execs[i], vexecs[nv] = NULL;
    vexecs[nv] = NULL;
    vctx_t v = {.execs = vexecs,
                .wls = wls,
                .pins = pins,
                .npins = npins,
                .counts = counts,
                .ncounts = ncounts,
                .pus = pus,
                .cores = cores,
                .tasks = tasks};
    char task[32], iters[32], frac[32];
    snprintf(task, sizeof(task), "%g", p.task_ms);
    snprintf(iters, sizeof(iters), "%llu", (unsigned long long)cpu_iters);
    snprintf(frac, sizeof(frac), "%g", p.io_fraction);
    char pinlist[64];
    snprintf(pinlist, sizeof(pinlist), "%s%s%s", pins[0], npins > 1 ? "," : "",
             npins > 1 ? pins[1] : "");
    const char *meta[] = {"task_ms", task,   "cpu_iters", iters, "io_fraction",
                          frac,      "pins", pinlist,     NULL};
    cb_experiment_t e = {
        .name = "scaling",
        .configs = cfgs,
        .nconfigs = n,
        .reps = 5,
        .warmup = 1,
        .timeout_s = 60,
        .derive_speedup = 1,
        .verdict = verdict,
        .verdict_ctx = &v,
        .meta = meta,
    };
    rc = cb_runner_run(&e, &o, t, argc, argv);
    for (size_t i = 0; i < n; i++)
        cb_pin_plan_free(&ctx[i].plan);
    free(cfgs);
    free(ctx);
    free(counts);
    cb_topo_free(t);
    cb_cli_free(&o);
    return rc;
}
