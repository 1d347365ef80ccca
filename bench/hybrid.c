/* hybrid: E11 in full (tutorial 004: "(4+1) x (4 x 5) x 500 = 50000"):
 * P processes x T threads x C coroutines (each thread runs its own
 * coroutine scheduler, lib/exec/sched.h) holding P x T x C sleeping tasks
 * at once, and, for contrast, the same count on threads alone (one
 * process) and on coroutines alone (one thread).
 *
 * Every task, when it starts, counts itself alive (the run's peak of tasks
 * alive at once is a metric), sleeps --sleep-ms, then marks its own slot;
 * at the end every slot must hold exactly 1. Metrics: wall_s (from the
 * first fork or spawn to the last task done), startup_s (to the last task
 * started), peak_alive (tasks alive at once), rss_kib (the sum of each
 * process's peak resident memory, VmHWM: shared pages count in each).
 *
 * Threads alone cannot hold 50,000 here when the kernel's limits say so
 * (a thread takes a pid: kernel.pid_max, kernel.threads-max; its stack and
 * guard take two maps: vm.max_map_count): that row is then skipped with the
 * numbers, before anything starts. */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/experiment.h"
#include "lib/core/task_env.h"
#include "lib/exec/sched.h"

typedef struct params {
    long processes, threads, coros, stack_kib;
    double sleep_ms;
} params_t;

static const cb_flag_t flags[] = {
    CB_FLAG_LONG(params_t, processes, "processes", "P", 1, 256, 5, 5,
                 "hybrid: processes (default 5: the tutorial's 4 cores + 1)"),
    CB_FLAG_LONG(params_t, threads, "threads", "T", 1, 4096, 20, 20,
                 "hybrid: threads per process (default 20: the tutorial's 4 cores x 5)"),
    CB_FLAG_LONG(params_t, coros, "coros", "C", 1, 100000, 500, 500,
                 "hybrid: coroutines per thread (default 500, the tutorial's)"),
    CB_FLAG_DOUBLE(params_t, sleep_ms, "sleep-ms", "MS", 1, 600000, 1000, 300,
                   "each task's sleep (default 1000; --quick 300)"),
    CB_FLAG_LONG(params_t, stack_kib, "stack-kib", "KIB", 16, 8192, 16, 16,
                 "stack of each coroutine and of each thread of the threads-alone row (default "
                 "16)"),
};

static const cb_name_t execs[] = {
    {"hybrid", "P processes x T threads x C coroutines (a scheduler per thread)", NULL, 0},
    {"thread", "P x T x C threads in one process", NULL, 0},
    {"coroutine", "P x T x C coroutines on one thread", NULL, 0},
    {"py_hybrid",
     "CPython: P multiprocessing processes (fork) x T threading.Threads, each its own asyncio "
     "event loop of C tasks",
     NULL, 0},
    {"py_thread", "CPython: P x T x C threading.Threads in one process", NULL, 0},
    {"py_coroutine", "CPython: P x T x C asyncio tasks on one thread's event loop", NULL, 0},
    {"py_gevent", "CPython: P x T x C greenlets (gevent.spawn, gevent.sleep) in one process", NULL,
     0},
};

static const cb_name_t wls[] = {
    {"sleep", "each task counts itself alive, sleeps --sleep-ms, marks its slot", NULL, 0},
};

static const cb_metric_def_t metrics[] = {
    {"wall_s", "s"}, {"startup_s", "s"}, {"peak_alive", "count"}, {"rss_kib", "KiB"}};

typedef struct shared {
    _Atomic long alive, peak, started;
    _Atomic uint64_t last_start_ns;
    _Atomic long rss_kib; /* the children's VmHWM, summed */
    _Atomic unsigned char slot[];
} shared_t;

typedef struct ctx {
    int mode; /* 0 hybrid, 1 thread, 2 coroutine */
    long p, t, c, n;
    uint64_t sleep_ns;
    size_t stack;
    char skip[96]; /* thread: why it cannot run here, or "" (a row detail) */
} ctx_t;

typedef struct targ {
    shared_t *sh;
    size_t index;
    uint64_t sleep_ns;
} targ_t;

static void task(targ_t *a)
{
    shared_t *sh = a->sh;
    long now = atomic_fetch_add(&sh->alive, 1) + 1;
    long pk = atomic_load(&sh->peak);
    while (now > pk && !atomic_compare_exchange_weak(&sh->peak, &pk, now))
        ;
    atomic_fetch_add(&sh->started, 1);
    uint64_t t = cb_now_ns(), last = atomic_load(&sh->last_start_ns);
    while (t > last && !atomic_compare_exchange_weak(&sh->last_start_ns, &last, t))
        ;
    cb_task_sleep_ns(a->sleep_ns);
    atomic_fetch_add(&sh->slot[a->index], 1);
    atomic_fetch_sub(&sh->alive, 1);
}

static void coro_body(void *arg)
{
    task(arg);
}

static void *thread_body(void *arg)
{
    task(arg);
    return NULL;
}

/* One scheduler on this thread running coroutines first .. first + c - 1. */
typedef struct sched_arg {
    shared_t *sh;
    size_t first, c, stack;
    uint64_t sleep_ns;
    int rc;
} sched_arg_t;

static void *sched_thread(void *arg)
{
    sched_arg_t *s = arg;
    int err = 0;
    targ_t *ta = calloc(s->c, sizeof(*ta));
    cb_sched_t *sc = ta ? cb_sched_new(CB_CORO_ASM, s->stack, &err) : NULL;
    if (!sc) {
        s->rc = ta ? err : -ENOMEM;
        free(ta);
        return NULL;
    }
    for (size_t i = 0; i < s->c && s->rc == 0; i++) {
        ta[i] = (targ_t){s->sh, s->first + i, s->sleep_ns};
        s->rc = cb_sched_spawn(sc, coro_body, &ta[i]);
    }
    int rc = cb_sched_run(sc);
    if (s->rc == 0)
        s->rc = rc;
    cb_sched_free(sc);
    free(ta);
    return NULL;
}

static long vm_hwm_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

/* T threads, each a scheduler of C coroutines, from index first. */
static int run_threads_of_scheds(shared_t *sh, size_t first, long t, long c, size_t stack,
                                 uint64_t sleep_ns)
{
    pthread_t *th = calloc((size_t)t, sizeof(*th));
    sched_arg_t *sa = calloc((size_t)t, sizeof(*sa));
    if (!th || !sa) {
        free(th);
        free(sa);
        return -ENOMEM;
    }
    long k = 0;
    int rc = 0;
    for (; k < t; k++) {
        sa[k] = (sched_arg_t){sh, first + (size_t)(k * c), (size_t)c, stack, sleep_ns, 0};
        if ((rc = -pthread_create(&th[k], NULL, sched_thread, &sa[k])) != 0)
            break;
    }
    for (long i = 0; i < k; i++) {
        pthread_join(th[i], NULL);
        if (rc == 0)
            rc = sa[i].rc;
    }
    free(th);
    free(sa);
    return rc;
}

static int measure(const cb_config_t *cfg, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const ctx_t *x = cfg->ctx;
    size_t bytes = sizeof(shared_t) + (size_t)x->n;
    shared_t *sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return -errno;
    int rc = 0;
    uint64_t t0 = cb_now_ns();
    if (x->mode == 0) {
        pid_t *pids = calloc((size_t)x->p, sizeof(*pids));
        long forked = 0;
        for (; pids && forked < x->p; forked++) {
            pid_t pid = fork();
            if (pid < 0) {
                rc = -errno;
                break;
            }
            if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                int r = run_threads_of_scheds(sh, (size_t)(forked * x->t * x->c), x->t, x->c,
                                              x->stack, x->sleep_ns);
                atomic_fetch_add(&sh->rss_kib, vm_hwm_kib());
                _exit(r == 0 ? 0 : 1);
            }
            pids[forked] = pid;
        }
        for (long i = 0; i < forked; i++) {
            int st;
            while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
                ;
            if (rc == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                rc = -ECHILD;
                snprintf(m->detail, sizeof(m->detail), "process %ld of the hybrid %s %d", i,
                         WIFSIGNALED(st) ? "died of signal" : "exited",
                         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            }
        }
        if (!pids)
            rc = -ENOMEM;
        free(pids);
    } else if (x->mode == 1) {
        pthread_t *th = calloc((size_t)x->n, sizeof(*th));
        targ_t *ta = calloc((size_t)x->n, sizeof(*ta));
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, x->stack);
        long k = 0;
        for (; th && ta && k < x->n; k++) {
            ta[k] = (targ_t){sh, (size_t)k, x->sleep_ns};
            int e = pthread_create(&th[k], &at, thread_body, &ta[k]);
            if (e != 0) {
                rc = -e;
                snprintf(m->detail, sizeof(m->detail),
                         "pthread_create failed after %ld threads: %s", k, strerror(e));
                break;
            }
        }
        for (long i = 0; i < k; i++)
            pthread_join(th[i], NULL);
        pthread_attr_destroy(&at);
        if (!th || !ta)
            rc = -ENOMEM;
        free(th);
        free(ta);
        atomic_store(&sh->rss_kib, vm_hwm_kib());
    } else {
        rc = run_threads_of_scheds(sh, 0, 1, x->n, x->stack, x->sleep_ns);
        atomic_store(&sh->rss_kib, vm_hwm_kib());
    }
    uint64_t t1 = cb_now_ns();
    if (rc == 0) {
        long bad = -1;
        for (long i = 0; i < x->n && bad < 0; i++)
            if (atomic_load(&sh->slot[i]) != 1)
                bad = i;
        if (bad >= 0 || atomic_load(&sh->started) != x->n) {
            m->status = CB_ERROR;
            snprintf(m->detail, sizeof(m->detail), "task %ld ran %d times (%ld of %ld started)",
                     bad, bad >= 0 ? (int)atomic_load(&sh->slot[bad]) : 1,
                     (long)atomic_load(&sh->started), x->n);
        }
        m->values[0] = (double)(t1 - t0) / 1e9;
        m->values[1] = (double)(atomic_load(&sh->last_start_ns) - t0) / 1e9;
        m->values[2] = (double)atomic_load(&sh->peak);
        m->values[3] = (double)atomic_load(&sh->rss_kib);
    }
    munmap(sh, bytes);
    return rc;
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int skipped(const cb_config_t *cfg, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const ctx_t *x = cfg->ctx;
    m->status = CB_SKIPPED;
    memcpy(m->detail, x->skip,
           sizeof(m->detail) < sizeof(x->skip) ? sizeof(m->detail) : sizeof(x->skip));
    m->detail[sizeof(m->detail) - 1] = '\0';
    return 0;
}

/* One repetition's time, for --tutorial: each configuration's sleep and its
 * start-up (about 3 us a coroutine and 20 us a thread here; in CPython about
 * 25 us an asyncio task, 40 us a greenlet, 400 us a thread, and the
 * interpreter's start). */
static double rep_s, rep_py_s;

/* CPython's rows are measured in the first PY_REPS repetitions only: one
 * run of the four shapes takes about as long as the C rows' three. */
#define PY_REPS 1

/* Whether n threads in one process are past the kernel's limits: 1 with
 * the numbers in why (scripts/python_hybrid.py words py_thread's skip the
 * same). */
static int threads_over_limits(long n, char *why, size_t len)
{
    long pid_max = read_long("/proc/sys/kernel/pid_max");
    long tmax = read_long("/proc/sys/kernel/threads-max");
    long maps = read_long("/proc/sys/vm/max_map_count");
    if ((pid_max > 0 && n >= pid_max) || (tmax > 0 && n >= tmax) || (maps > 0 && 2 * n >= maps)) {
        snprintf(why, len, "%ld threads: over pid_max %ld, threads-max %ld or max_map_count/2 %ld",
                 n, pid_max, tmax, maps / 2);
        return 1;
    }
    return 0;
}

/* The CPython points (scripts/python_hybrid.py through the shared driver),
 * keyed as the C rows of the same shape: workers P x T for py_hybrid, the
 * task count for py_thread, 1 for the single-threaded ones. */
static int build_py(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    if (cb_exp_no_python(x))
        return CB_BUILD_SKIP;
    long n = p->processes * p->threads * p->coros;
    int hy = strcmp(pt->executor, "py_hybrid") == 0, th = strcmp(pt->executor, "py_thread") == 0;
    long workers = hy ? p->processes * p->threads : th ? n : 1;
    double per = hy ? 15e-6 : th ? 400e-6 : strcmp(pt->executor, "py_gevent") == 0 ? 40e-6 : 25e-6;
    char why[96];
    if (rep_py_s == 0)
        rep_py_s = 0.3;                                   /* the interpreter's start */
    if (!th || !threads_over_limits(n, why, sizeof(why))) /* else skipped at once */
        rep_py_s += p->sleep_ms / 1e3 + (double)n * per;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, workers, n, "none"},
        .metrics = metrics,
        .nmetrics = 4,
        .python = 1,
    };
    return CB_BUILD_ADD;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const params_t *p = x->params;
    long n = p->processes * p->threads * p->coros;
    if (n > 10000000) {
        fprintf(
            stderr,
            "hybrid: --processes x --threads x --coros: bad value %ld: at most 10000000 tasks\n",
            n);
        return CB_EXIT_USAGE;
    }
    if (strncmp(pt->executor, "py_", 3) == 0)
        return build_py(x, pt, cfg);
    ctx_t *c = cfg->ctx;
    *c = (ctx_t){
        .mode = strcmp(pt->executor, "hybrid") == 0   ? 0
                : strcmp(pt->executor, "thread") == 0 ? 1
                                                      : 2,
        .p = p->processes,
        .t = p->threads,
        .c = p->coros,
        .n = n,
        .sleep_ns = (uint64_t)(p->sleep_ms * 1e6),
        .stack = (size_t)p->stack_kib * 1024,
    };
    long workers = c->mode == 0 ? c->p * c->t : c->mode == 1 ? c->n : 1;
    if (c->mode == 1)
        threads_over_limits(c->n, c->skip, sizeof(c->skip));
    if (!c->skip[0])
        rep_s += p->sleep_ms / 1e3 + (double)c->n * (c->mode == 1 ? 20e-6 : 3e-6);
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, workers, c->n, "none"},
        .metrics = metrics,
        .nmetrics = 4,
        .measure = c->skip[0] ? skipped : measure,
        .ctx = c,
        .no_counters = "inherited counters are copied into each of the tens of thousands of "
                       "threads and processes a run starts",
    };
    return CB_BUILD_ADD;
}

static double tutorial_estimate(cb_exp_t *x, char *how, size_t len)
{
    int warmup, reps = cb_exp_reps(x, &warmup);
    int py_reps = PY_REPS < reps ? PY_REPS : reps;
    snprintf(how, len,
             "each configuration's sleep plus its start-up (3 us a coroutine, 20 us a thread; "
             "CPython: 25 us an asyncio task, 40 us a greenlet, 400 us a thread, 15 us a task of "
             "the hybrid, 0.3 s to start), %d repetition(s), %d warm-up, CPython in %d",
             reps, warmup, py_reps);
    return rep_s * (reps + warmup) + rep_py_s * py_reps;
}

/* One executor's figures (short: for the claim lines), or its rows' status
 * and reason; 0 when it has no rows. */
static int describe(const cb_results_t *r, const char *e, double sleep_ms, char *buf, size_t len,
                    int brief)
{
    double w = cb_results_median(r, &(cb_select_t){e, "sleep", NULL, "wall_s", 0, 0});
    double s = cb_results_median(r, &(cb_select_t){e, "sleep", NULL, "startup_s", 0, 0});
    double pk = cb_results_median(r, &(cb_select_t){e, "sleep", NULL, "peak_alive", 0, 0});
    double m = cb_results_median(r, &(cb_select_t){e, "sleep", NULL, "rss_kib", 0, 0});
    if (!isnan(w) && !isnan(s) && !isnan(pk) && !isnan(m)) {
        if (brief)
            snprintf(buf, len, "peak %.0f alive, started in %.3f s, done in %.3f s, %.0f MiB", pk,
                     s, w, m / 1024);
        else
            snprintf(buf, len,
                     " of %.0f ms: all started in %.3f s, %.0f alive at once, done in %.3f s, %.0f "
                     "MiB resident (summed peaks)",
                     sleep_ms, s, pk, w, m / 1024);
        return 1;
    }
    for (size_t k = 0; k < cb_results_count(r); k++) {
        const cb_sample_t *sm = cb_results_get(r, k);
        if (strcmp(sm->key.executor, e) == 0 && sm->status != CB_OK) {
            snprintf(buf, len, "%s%s (%s)", brief ? "" : ": ", cb_status_name(sm->status),
                     sm->detail && *sm->detail ? sm->detail : "no reason given");
            return 1;
        }
    }
    return 0;
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    long cores = cb_topo_allowed_cores(x->topo);
    long n = p->processes * p->threads * p->coros;
    long here = (cores + 1) * (cores * 5) * 500;
    fprintf(out,
            "\nE11 (tutorial 004: processes x threads x coroutines, \"(4+1) x (4 x 5) x 500 = "
            "50000\" concurrent tasks on 4 cores):\n"
            "  the formula for this machine's %ld cores: (%ld+1) x (%ld x 5) x 500 = %ld; the "
            "tutorial's figure for 8 cores, 18000, is an arithmetic slip: (8+1) x (8 x 5) x 500 "
            "= 180000\n",
            cores, cores, cores, here);
    cb_exp_fact(x, "e11/formula_here", (double)here, "tasks", 50000,
                "(cores+1) x (cores x 5) x 500 for %ld cores", cores);
    for (size_t i = 0; i < sizeof(execs) / sizeof(execs[0]); i++) {
        const char *e = execs[i].name;
        char line[400];
        if (!describe(r, e, p->sleep_ms, line, sizeof(line), 0))
            continue;
        fprintf(out, "  %-12s %ld tasks%s\n", e, n, line);
        double pk = cb_results_median(r, &(cb_select_t){e, "sleep", NULL, "peak_alive", 0, 0});
        if (isnan(pk))
            continue;
        char name[64];
        snprintf(name, sizeof(name), "e11/%s/peak_alive", e);
        cb_exp_fact(x, name, pk, "tasks", 50000, "%s held %.0f of %ld sleeping tasks at once", e,
                    pk, n);
    }
    /* One line per CPython shape, beside the C row of the same shape. */
    static const char *const pairs[][2] = {{"py_hybrid", "hybrid"},
                                           {"py_thread", "thread"},
                                           {"py_coroutine", "coroutine"},
                                           {"py_gevent", "coroutine"}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char py[400], c[400];
        if (!describe(r, pairs[i][0], p->sleep_ms, py, sizeof(py), 1))
            continue;
        if (!describe(r, pairs[i][1], p->sleep_ms, c, sizeof(c), 1))
            snprintf(c, sizeof(c), "not run");
        fprintf(out,
                "  E11 in CPython: %ld x %ld x %ld = %ld tasks (the tutorial's 50000 on 4 cores): "
                "%s %s | C %s %s\n",
                p->processes, p->threads, p->coros, n, pairs[i][0], py, pairs[i][1], c);
    }
}

/* py_gevent only when asked for: its 50,000 greenlets take 3-4 s to start
 * here, more than the default run's budget for the CPython rows. */
static int is_default_exec(const char *name)
{
    return strcmp(name, "py_gevent") != 0;
}

static size_t exec_names(const cb_name_t **out)
{
    *out = execs;
    return sizeof(execs) / sizeof(execs[0]);
}

/* The tutorial's shape for 4 cores: (4+1) x (4 x 5) x 500, once. */
static const char *const tutorial[] = {"--processes", "5", "--threads", "20", "--coros", "500",
                                       "--reps",      "1", "--warmup",  "0",  NULL};

static const cb_python_def_t python = {
    .script = "scripts/python_hybrid.py", .optional = "gevent", .reps = PY_REPS};

static const cb_experiment_def_t hybrid = {
    .name = "hybrid",
    .summary = "E11: P processes x T threads x C coroutines holding P x T x C sleeping tasks at "
               "once (the tutorial's 5 x 20 x 500 = 50,000), against threads alone and "
               "coroutines alone.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(ctx_t),
    .executors = {.names_fn = exec_names, .is_default = is_default_exec},
    .workloads = {.names = wls, .n = 1},
    .reps = 3,
    .quick_reps = 2,
    .timeout_s = 120,
    .worker_counts = cb_exp_workers_one,
    .build = build,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_estimate = tutorial_estimate,
};
CB_EXPERIMENT_MAIN(hybrid)
