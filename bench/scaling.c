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
 * are pinned to; for the pools it is the pool size, each worker pinned.
 *
 * CPython's pools (py_*, scripts/python_scaling.py through the shared
 * CPython driver) on the same workloads, worker counts and pins:
 * concurrent.futures.ThreadPoolExecutor (py_thread_pool) and
 * ProcessPoolExecutor (py_process_pool), against py_serial, their own
 * speedup reference. The same nominal task time: the cpu task is the
 * tutorials' `count += 1` loop, calibrated in CPython (rows cpu_iters).
 * This interpreter's defaults are not the tutorials': ThreadPoolExecutor()
 * has min(32, os.cpu_count() + 4) workers since Python 3.8 (5 x cpu_count
 * before: the tutorials' "5 x cores"), ProcessPoolExecutor()
 * os.cpu_count(); the thread pool's is swept too (rows default_workers
 * give the interpreter's own). */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    int listed; /* --workers given as a list, or --tutorial's counts: every pool takes each */
} run_t;

static const cb_name_t py_execs[] = {
    {"py_serial", "CPython: the tasks one after another (the py rows' speedup reference)", NULL, 0},
    {"py_thread_pool", "CPython: concurrent.futures.ThreadPoolExecutor(W)", NULL, 0},
    {"py_process_pool", "CPython: concurrent.futures.ProcessPoolExecutor(W) (fork)", NULL, 0},
};
#define NPY (sizeof(py_execs) / sizeof(py_execs[0]))

static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[80];
    static size_t n;
    if (!n) {
        const cb_name_t *c;
        size_t k = cb_matrix_executor_names(&c);
        for (size_t i = 0; i < k && n < 80 - NPY; i++)
            tab[n++] = c[i];
        for (size_t i = 0; i < NPY; i++)
            tab[n++] = py_execs[i];
    }
    *out = tab;
    return n;
}

/* os.cpu_count() as CPython computes it on Linux, and the default sizes of
 * its pools (3.8 and later). */
static long py_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n;
}

static long py_thread_pool_default(void)
{
    long n = py_cpu_count() + 4;
    return n < 32 ? n : 32;
}

/* The worker count the sweep has for ThreadPoolExecutor's default alone
 * (0: none, the C rows have it too). */
static long py_only_count;

/* The executors a sweep takes by default: those that run tasks on more
 * than one CPU at once, without the lock emulation, and CPython's. */
static int is_default(const char *name)
{
    if (strncmp(name, "py_", 3) == 0)
        return 1;
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
 * defaults (cores, 5 x cores; and ThreadPoolExecutor's, for its row
 * alone), sorted, without repeats. */
static long *worker_counts(cb_exp_t *x, size_t *n)
{
    const cb_opts_t *o = &x->opts;
    long pus = cb_topo_allowed_pus(x->topo), cores = cb_topo_allowed_cores(x->topo);
    long top = o->quick ? pus : 2 * pus;
    size_t k = 0, cap = o->workers_kind == CB_WORKERS_LIST ? o->nworkers : (size_t)top + 3;
    long *c = malloc((cap + 1) * sizeof(*c));
    for (size_t i = 0; c && o->workers_kind == CB_WORKERS_LIST && i < o->nworkers; i++)
        c[k++] = o->workers[i];
    if (!c)
        return NULL;
    if (o->workers_kind != CB_WORKERS_LIST && cb_exp_tutorial(x)) {
        /* 000's pool of 5, and the 5 x cores it calls the default. */
        c[k++] = 5;
        c[k++] = 5 * cores;
    } else if (o->workers_kind != CB_WORKERS_LIST) {
        for (long w = 1; w <= top; w++)
            c[k++] = w;
        c[k++] = cores;
        c[k++] = 5 * cores;
        long d = py_thread_pool_default();
        int have = 0;
        for (size_t i = 0; i < k; i++)
            have |= c[i] == d;
        py_only_count = have || cb_exp_no_python(x) ? 0 : d;
        if (py_only_count)
            c[k++] = d;
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
        .listed = x->opts.workers_kind == CB_WORKERS_LIST || cb_exp_tutorial(x),
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

/* One measurement's expected seconds, C and CPython, for --tutorial: io waits in
 * rounds of W, cpu work spread over at most the PUs (and on one interpreter
 * lock for CPython's thread pool). */
static double expected_s(const params_t *p, const run_t *r, const char *exec, const char *wl,
                         long w)
{
    double task = p->task_ms / 1e3, n = (double)r->tasks;
    int io = strcmp(wl, "io") == 0, mixed = strcmp(wl, "mixed") == 0;
    int one_lock = strcmp(exec, "py_thread_pool") == 0;
    double rounds = ceil(n / (double)w);
    double par = (double)(w < r->pus ? w : r->pus);
    if (io)
        return rounds * task;
    double cpu = n * task / (one_lock ? 1 : par);
    return mixed ? rounds * task * p->io_fraction + cpu * (1 - p->io_fraction) : cpu;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    const run_t *r = x->user;
    if (strncmp(pt->executor, "py_", 3) == 0) {
        int pserial = strcmp(pt->executor, "py_serial") == 0;
        int tpool = strcmp(pt->executor, "py_thread_pool") == 0;
        /* As the C rows: one serial row, no process pool past 2 x PUs; the
         * thread pool also at its own default size. */
        if (cb_exp_no_python(x) || (pserial && pt->wi > 0) ||
            (!pserial && !tpool && !r->listed &&
             (pt->workers > 2 * r->pus || pt->workers == py_only_count)))
            return CB_BUILD_SKIP;
        long w = pserial ? 1 : pt->workers;
        const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, (int)w);
        if (!plan)
            return CB_EXIT_USAGE;
        static const cb_metric_def_t py_metrics[] = {
            {"wall_s", "s"}, {"cpu_iters", "count"}, {"default_workers", "count"}};
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, w, r->tasks, pt->pin->name},
            .metrics = py_metrics,
            .nmetrics = pserial ? 2 : 3,
            .python = 1,
            .python_plan = plan,
        };
        cfg->expected_s = expected_s(p, r, pt->executor, pt->workload, w) + 0.1;
        return CB_BUILD_ADD;
    }
    if (!r->listed && py_only_count && pt->workers == py_only_count)
        return CB_BUILD_SKIP; /* ThreadPoolExecutor's default: CPython's row alone */
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
    int rc = cb_matrix_build(x, pt, cfg, &wp, serial ? 1 : pt->workers);
    cfg->expected_s = expected_s(p, r, pt->executor, pt->workload, serial ? 1 : pt->workers) + 0.02;
    return rc;
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

/* CPython's rows: its counting speed against C's, the Amdahl fits, and
 * where the pools' default sizes land on io: the tutorials' (5 x cores is
 * ThreadPoolExecutor's default before Python 3.8), C's and this
 * interpreter's own. */
static void verdict_py(cb_exp_t *x, const cb_results_t *res, const cb_pin_choice_t *pc, size_t np,
                       FILE *out)
{
    const params_t *p = x->params;
    const run_t *r = x->user;
    if (isnan(cb_results_median(res, &(cb_select_t){NULL, NULL, NULL, "cpu_iters", 0, 0})))
        return;
    double it = cb_results_median(res, &(cb_select_t){"py_serial", "cpu", NULL, "cpu_iters", 0, 0});
    if (isnan(it))
        it = cb_results_median(res, &(cb_select_t){NULL, "cpu", NULL, "cpu_iters", 0, 0});
    fprintf(out,
            "\nE7 in CPython: concurrent.futures pools, speedup over py_serial, %ld tasks of "
            "%.3g ms.\n",
            r->tasks, p->task_ms);
    if (!isnan(it) && it > 0) {
        fprintf(out,
                "  a cpu task counts %.0f times in CPython (calibrated to %.3g ms), %llu in C: "
                "CPython %.0fx slower per iteration\n",
                it, p->task_ms, (unsigned long long)r->cpu_iters, (double)r->cpu_iters / it);
        cb_exp_fact(x, "e7/CPython/c_over_python_per_iteration", (double)r->cpu_iters / it, "x",
                    NAN,
                    "C counts %.0fx as many iterations as CPython in the same %.3g ms "
                    "(CPython's cpu task: %.0f, C's %llu)",
                    (double)r->cpu_iters / it, p->task_ms, it, (unsigned long long)r->cpu_iters);
    }
    double td = cb_results_median(
        res, &(cb_select_t){"py_thread_pool", NULL, NULL, "default_workers", 0, 0});
    double pd = cb_results_median(
        res, &(cb_select_t){"py_process_pool", NULL, NULL, "default_workers", 0, 0});
    long tdef = isnan(td) ? py_thread_pool_default() : (long)td;
    long pdef = isnan(pd) ? py_cpu_count() : (long)pd;
    static const char *const pe[] = {"py_thread_pool", "py_process_pool"};
    for (size_t pi = 0; pi < np; pi++) {
        const char *pin = pc[pi].name;
        if (!isnan(cb_results_median(res, &(cb_select_t){NULL, "cpu", pin, "speedup", 0, 0})) &&
            !isnan(
                cb_results_median(res, &(cb_select_t){"py_serial", "cpu", pin, "wall_s", 0, 0}))) {
            fprintf(out, "cpu, pinned %s, CPython (one interpreter lock per process):\n", pin);
            for (size_t i = 0; i < 2; i++)
                verdict_cpu(x, res, pin, pe[i], out);
        }
        double ct = speedup(res, "thread_pool", "io", pin, 5 * r->cores),
               cp = speedup(res, "process_pool", "io", pin, r->cores),
               pt = speedup(res, "py_thread_pool", "io", pin, tdef),
               pt5 = speedup(res, "py_thread_pool", "io", pin, 5 * r->cores),
               pp = speedup(res, "py_process_pool", "io", pin, pdef);
        if (isnan(pt) && isnan(pt5) && isnan(pp))
            continue;
        fprintf(out,
                "io, pinned %s, the default pool sizes (speedup, at most %ld): tutorial thread "
                "pool 5 x cores = %ld (ThreadPoolExecutor's default in Python 3.5-3.7), process "
                "pool cores = %ld | C thread_pool at %ld: %.2f, process_pool at %ld: %.2f | "
                "CPython ThreadPoolExecutor() = min(32, os.cpu_count() + 4) = %ld here: %.2f (at "
                "the old %ld: %.2f), ProcessPoolExecutor() = os.cpu_count() = %ld: %.2f\n",
                pin, r->tasks, 5 * r->cores, r->cores, 5 * r->cores, ct, r->cores, cp, tdef, pt,
                5 * r->cores, pt5, pdef, pp);
        char name[96];
        snprintf(name, sizeof(name), "io/%s/py_thread_pool/default_workers_speedup", pin);
        if (!isnan(pt))
            cb_exp_fact(x, name, pt, "x", (double)r->tasks,
                        "CPython ThreadPoolExecutor(), io, pinned %s: its default %ld workers "
                        "(min(32, os.cpu_count() + 4), Python 3.8+) gave speedup %.2f of at most "
                        "%ld",
                        pin, tdef, pt, r->tasks);
        snprintf(name, sizeof(name), "io/%s/py_process_pool/default_workers_speedup", pin);
        if (!isnan(pp))
            cb_exp_fact(x, name, pp, "x", (double)r->tasks,
                        "CPython ProcessPoolExecutor(), io, pinned %s: its default %ld workers "
                        "(os.cpu_count()) gave speedup %.2f of at most %ld",
                        pin, pdef, pp, r->tasks);
    }
}

/* 000's example in seconds: 20 tasks of time.sleep(2) on a pool of 5, and
 * on the 5 x cores it says a thread pool opens by default. */
static void verdict_tutorial(cb_exp_t *x, const cb_results_t *res, const cb_pin_choice_t *pc,
                             size_t np, FILE *out)
{
    const params_t *p = x->params;
    const run_t *r = x->user;
    static const char *const ex[] = {"thread_pool", "process_pool", "py_thread_pool",
                                     "py_process_pool"};
    for (size_t pi = 0; pi < np; pi++) {
        for (int k = 0; k < 2; k++) {
            long w = k == 0 ? 5 : 5 * r->cores;
            double v[4];
            int any = 0;
            for (int i = 0; i < 4; i++)
                any += !isnan(v[i] = cb_results_median(
                                  res, &(cb_select_t){ex[i], "io", pc[pi].name, "wall_s", w, 0}));
            if (!any || (k == 1 && w == 5))
                continue;
            char f[4][24];
            for (int i = 0; i < 4; i++)
                snprintf(f[i], sizeof(f[i]), isnan(v[i]) ? "-" : "%.2f s", v[i]);
            fprintf(out,
                    "000's example, %ld tasks of %.6g ms on %ld workers%s, pinned %s: expected "
                    "ceil(%ld/%ld) x %.6g ms = %.6g s | C thread_pool %s, process_pool %s | "
                    "CPython ThreadPoolExecutor %s, ProcessPoolExecutor %s\n",
                    r->tasks, p->task_ms, w, k ? " (5 x cores, the tutorials' default)" : "",
                    pc[pi].name, r->tasks, w, p->task_ms,
                    ceil((double)r->tasks / (double)w) * p->task_ms / 1e3, f[0], f[1], f[2], f[3]);
        }
    }
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
    verdict_py(x, res, pc, np, out);
    verdict_tutorial(x, res, pc, np, out);
}

/* In the first 2 repetitions: one CPython run is about 10 s here (66
 * points, cpu tasks on one interpreter lock for the thread pool). */
static const cb_python_def_t python = {.script = "scripts/python_scaling.py", .reps = 2};

/* 000's example: 20 tasks of time.sleep(2) on a pool of 5 (8 s), and on
 * the 5 x cores a thread pool opens without an argument (so it says; the
 * worker counts, without --workers), with serial as the speedups'
 * reference. About 2 minutes: one repetition. */
static const char *const tutorial[] = {"--workloads",
                                       "io",
                                       "--executors",
                                       "serial,thread_pool,process_pool,py_serial,py_thread_pool,"
                                       "py_process_pool",
                                       "--tasks",
                                       "20",
                                       "--task-ms",
                                       "2000",
                                       "--pin",
                                       "compact",
                                       "--reps",
                                       "1",
                                       "--warmup",
                                       "0",
                                       "--timeout",
                                       "120",
                                       NULL};

static const cb_experiment_def_t scaling = {
    .name = "scaling",
    .summary = "Worker-count sweep (E7): speedup and efficiency of each executor on cpu, io and "
               "mixed work, pinned compact and scatter (or --pin), against serial. Default "
               "--workers: 1 .. 2 x PUs plus the pool defaults (cores, 5 x cores).",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(cb_matrix_t),
    .executors = {.names_fn = executor_names, .is_default = is_default, .always = "serial"},
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
    .python = &python,
    .tutorial = tutorial,
    .tutorial_how = "the tasks' waits in rounds of each pool's workers",
};
CB_EXPERIMENT_MAIN(scaling)
