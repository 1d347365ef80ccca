/* spawn: experiment E3. What it costs to start and finish one unit of work
 * on each model: a thread, a process (fork, with a small parent and with a
 * parent that touched 256 MiB; vfork; posix_spawn of a tiny program), a
 * coroutine, and a task submitted to a pool, timed bare (executor `raw`) and
 * through the harness's executors. Metric us_per_spawn; for the pools also
 * tasks_per_s over a stream of empty tasks. */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/exec/coro.h"
#include "lib/exec/executor.h"
#include "lib/core/runner.h"
#include "lib/core/sandbox.h"

extern char **environ;

typedef struct spawn_ctx {
    const char *mech; /* pthread, fork, fork_256m, vfork, posix_spawn, coroutine, submit, stream */
    const cb_executor_t *exec; /* NULL: the bare system call */
    const cb_topo_t *topo;
    cb_pin_plan_t plan; /* 2 workers (pools), slot 0 for the parent */
    int pinned;
    double min_s;     /* keep spawning for at least this long */
    long stream;      /* stream: empty tasks per measurement */
    const char *tiny; /* posix_spawn: path of bench/tiny */
} spawn_ctx_t;

static const cb_metric_def_t spawn_metrics[] = {{"us_per_spawn", "us"}, {"spawns", "count"}};
static const cb_metric_def_t stream_metrics[] = {{"tasks_per_s", "1/s"}, {"tasks", "count"}};

static void *empty_thread(void *arg)
{
    return arg;
}

static uint64_t empty_task(void *arg, size_t i)
{
    (void)arg;
    return i + 1;
}

static void empty_coro(void *arg)
{
    (void)arg;
}

static int reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

/* One bare spawn of the mechanism. Returns 0 or a negative errno. */
static int spawn_once(const spawn_ctx_t *x)
{
    pid_t pid;
    if (strcmp(x->mech, "pthread") == 0) {
        pthread_t th;
        int rc = pthread_create(&th, NULL, empty_thread, NULL);
        if (rc != 0)
            return -rc;
        return -pthread_join(th, NULL);
    }
    if (strcmp(x->mech, "fork") == 0 || strcmp(x->mech, "fork_256m") == 0) {
        pid = fork();
        if (pid == 0)
            _exit(0);
        return pid < 0 ? -errno : reap(pid);
    }
    if (strcmp(x->mech, "vfork") == 0) {
        pid = vfork();
        if (pid == 0)
            _exit(0);
        return pid < 0 ? -errno : reap(pid);
    }
    if (strcmp(x->mech, "posix_spawn") == 0) {
        if (!x->tiny)
            return -ENOENT;
        char *argv[] = {(char *)x->tiny, NULL};
        int rc = posix_spawn(&pid, x->tiny, NULL, NULL, argv, environ);
        return rc ? -rc : reap(pid);
    }
    if (strcmp(x->mech, "coroutine") == 0) {
        int err = 0;
        cb_coro_t *c = cb_coro_create(CB_CORO_ASM, 0, empty_coro, NULL, &err);
        if (!c)
            return err;
        cb_coro_resume(c);
        cb_coro_destroy(c);
        return 0;
    }
    return -EINVAL;
}

static int measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const spawn_ctx_t *x = c->ctx;
    int rc = 0;
    if (x->pinned && (rc = cb_pin_bind_process(x->topo, x->plan.slots[0].pu_os)) < 0) {
        snprintf(m->detail, sizeof(m->detail), "binding to PU %d: %s", x->plan.slots[0].pu_os,
                 strerror(-rc));
        return rc;
    }
    /* fork's cost follows the parent's mapped memory: prefault 256 MiB so
     * every page table entry exists before the timed region. */
    size_t big = 256u << 20;
    char *mem = NULL;
    if (strcmp(x->mech, "fork_256m") == 0) {
        mem = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
            return -errno;
        for (size_t i = 0; i < big; i += 4096)
            mem[i] = 1;
    }
    cb_exec_cfg_t cfg = {
        .topo = x->topo,
        .plan = x->pinned ? &x->plan : NULL,
        .workers = x->plan.nworkers,
        /* open() sizes the pools' task records for this many tasks. */
        .tasks = strcmp(x->mech, "stream") == 0 ? (size_t)x->stream : 1,
        .fn = empty_task,
    };
    void *state = NULL;
    cb_task_result_t res[1];
    if (x->exec && x->exec->open && (rc = x->exec->open(&cfg, &state)) < 0)
        goto out;
    if (strcmp(x->mech, "stream") == 0) {
        cb_task_result_t *many = calloc((size_t)x->stream, sizeof(*many));
        if (!many) {
            rc = -ENOMEM;
            goto close;
        }
        /* Timed: submitting a stream of empty tasks and waiting for all:
         * the pool's dispatch throughput. The pool was started above. */
        uint64_t t0 = cb_now_ns();
        rc = x->exec->run(state, &cfg, many);
        uint64_t t1 = cb_now_ns();
        for (long i = 0; rc == 0 && i < x->stream; i++)
            if (many[i].status != CB_OK || many[i].value != (uint64_t)i + 1)
                rc = -EIO;
        free(many);
        m->values[0] = rc == 0 ? (double)x->stream / ((double)(t1 - t0) / 1e9) : 0;
        m->values[1] = (double)x->stream;
        goto close;
    }
    /* Timed: as many start-and-finish cycles as fit in min_s, one after
     * another; the mean per cycle. Each cycle creates the unit, lets it run
     * an empty body and waits for it (join, waitpid, resume to completion,
     * or the pool's result), so the figure is the full round trip. */
    long n = 0;
    uint64_t t0 = cb_now_ns(), t1, limit = (uint64_t)(x->min_s * 1e9);
    do {
        for (int k = 0; k < 16 && rc == 0; k++, n++) {
            if (x->exec) {
                rc = x->exec->run(state, &cfg, res);
                if (rc == 0 && (res[0].status != CB_OK || res[0].value != 1))
                    rc = -EIO;
            } else {
                rc = spawn_once(x);
            }
        }
        t1 = cb_now_ns();
    } while (rc == 0 && t1 - t0 < limit);
    m->values[0] = (double)(t1 - t0) / 1e3 / (double)n;
    m->values[1] = (double)n;
close:
    if (x->exec && x->exec->close)
        x->exec->close(state);
out:
    if (mem)
        munmap(mem, big);
    if (rc < 0 && !m->detail[0])
        snprintf(m->detail, sizeof(m->detail), "%s: %s", x->mech, strerror(-rc));
    return rc;
}

/* Cost ratios measured inside one repetition (metric `relative`, lower is
 * better), which CI gates on: unlike absolute microseconds they hold from
 * one machine of a class to the next. Each row is (executor, workload) of
 * the cost compared, over the bare call it is compared with. */
static const struct relative_row {
    const char *exec, *mech, *metric; /* the cost */
    const char *ref_mech;             /* over raw REF_MECH us_per_spawn */
    const char *workload;             /* the row's workload */
} relatives[] = {
    {"raw", "fork", "us_per_spawn", "pthread", "fork_vs_pthread"},
    {"thread", "pthread", "us_per_spawn", "pthread", "pthread"},
    {"process", "fork", "us_per_spawn", "fork", "fork"},
    {"thread_pool", "submit", "us_per_spawn", "pthread", "submit"},
    {"process_pool", "submit", "us_per_spawn", "fork", "submit"},
    {"thread_pool", "stream", "tasks_per_s", "pthread", "stream"},
    {"process_pool", "stream", "tasks_per_s", "fork", "stream"},
};

static int add_relatives(int rep, cb_results_t *r, const cb_opts_t *o, void *ctx)
{
    (void)ctx;
    if (rep < 0)
        return 0;
    const char *pins[] = {cb_runner_pin_name(o), "none"};
    for (int pi = 0; pi < 2; pi++) {
        if (pi == 0 && o->pin == CB_PIN_NONE)
            continue;
        for (size_t i = 0; i < sizeof(relatives) / sizeof(relatives[0]); i++) {
            const struct relative_row *x = &relatives[i];
            double cost = cb_results_value(r, rep, x->exec, x->mech, pins[pi], x->metric);
            double ref = cb_results_value(r, rep, "raw", x->ref_mech, pins[pi], "us_per_spawn");
            if (strcmp(x->metric, "tasks_per_s") == 0)
                cost = 1e6 / cost; /* microseconds per task */
            if (isnan(cost) || isnan(ref) || !(ref > 0))
                continue;
            char detail[64];
            snprintf(detail, sizeof(detail), "%s %s over raw %s", x->exec, x->mech, x->ref_mech);
            cb_sample_t s = {
                .key = {"spawn", x->exec, x->workload, 0, 0, pins[pi]},
                .rep = rep,
                .metric = "relative",
                .value = cost / ref,
                .unit = "ratio",
                .status = CB_OK,
                .detail = detail,
            };
            int rc = cb_results_add(r, &s);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int set_flag(void *ctx, const char *arg, char *err, size_t errlen)
{
    (void)arg, (void)err, (void)errlen;
    *(int *)ctx = 1;
    return 0;
}

int main(int argc, char **argv)
{
    int pinned_only = 0;
    const cb_cli_extra_t extra[] = {
        {"pinned-only", 0, NULL,
         "leave out the unpinned rows (their wake-ups land on idle or busy CPUs by chance; the "
         "CI gate uses this)",
         set_flag, &pinned_only},
    };
    static const char *const execs[] = {"raw",         "thread",       "process", "coroutine",
                                        "thread_pool", "process_pool", NULL};
    static const char *const mechs[] = {"pthread",   "fork",   "fork_256m", "vfork", "posix_spawn",
                                        "coroutine", "submit", "stream",    NULL};
    cb_cli_spec_t spec = {
        .prog = "spawn",
        .summary = "Cost of starting and finishing one unit of work: thread, process (fork, "
                   "vfork, posix_spawn), coroutine, pool submit.",
        .executor_names = execs,
        .workload_names = mechs,
        .extra = extra,
        .nextra = sizeof(extra) / sizeof(extra[0]),
    };
    cb_opts_t o;
    cb_topo_t *t = NULL;
    int rc = cb_runner_start(&spec, argc, argv, &o, &t);
    if (rc >= 0)
        return rc;
    if (o.list) {
        printf("executors:\n  raw           the bare system call\n  thread, process, coroutine, "
               "thread_pool, process_pool   through the harness's executor\n"
               "workloads (mechanisms): pthread fork fork_256m vfork posix_spawn coroutine "
               "submit stream\n");
        return 0;
    }
    char *tiny = cb_runner_find_data(argv[0], "bench/tiny");
    /* What runs: (executor, mechanism) pairs, each pinned (the policy given)
     * and unpinned. */
    static const struct {
        const char *exec, *mech;
    } rows[] = {
        {"raw", "pthread"},         {"raw", "fork"},
        {"raw", "fork_256m"},       {"raw", "vfork"},
        {"raw", "posix_spawn"},     {"raw", "coroutine"},
        {"thread", "pthread"},      {"process", "fork"},
        {"coroutine", "coroutine"}, {"thread_pool", "submit"},
        {"process_pool", "submit"}, {"thread_pool", "stream"},
        {"process_pool", "stream"},
    };
    size_t nrows = sizeof(rows) / sizeof(rows[0]);
    cb_config_t *cfgs = calloc(nrows * 2, sizeof(*cfgs));
    spawn_ctx_t *ctx = calloc(nrows * 2, sizeof(*ctx));
    if (!cfgs || !ctx)
        return CB_EXIT_FAILED;
    size_t n = 0;
    const char *pin_name = cb_runner_pin_name(&o);
    for (int pinned = 1; pinned >= 0; pinned--) {
        if (pinned && o.pin == CB_PIN_NONE)
            continue;
        if (!pinned && pinned_only && o.pin != CB_PIN_NONE)
            continue;
        for (size_t i = 0; i < nrows; i++) {
            int want_e = !o.executors, want_m = !o.workloads;
            for (char **p = o.executors; p && *p; p++)
                want_e |= strcmp(*p, rows[i].exec) == 0;
            for (char **p = o.workloads; p && *p; p++)
                want_m |= strcmp(*p, rows[i].mech) == 0;
            if (!want_e || !want_m)
                continue;
            spawn_ctx_t *x = &ctx[n];
            x->mech = rows[i].mech;
            x->exec = strcmp(rows[i].exec, "raw") == 0 ? NULL : cb_executor_find(rows[i].exec);
            x->topo = t;
            x->pinned = pinned;
            x->min_s = o.quick ? 0.05 : 0.25;
            x->stream = o.quick ? 100000 : 1000000;
            x->tiny = tiny;
            int workers = strcmp(x->mech, "submit") == 0 || strcmp(x->mech, "stream") == 0
                              ? cb_topo_allowed_cores(t)
                              : 1;
            if (workers < 1)
                workers = 1;
            cb_pin_plan_t plan;
            if (cb_runner_plan(&o, t, workers, &plan) != 0)
                return CB_EXIT_USAGE;
            x->plan = plan;
            int stream = strcmp(x->mech, "stream") == 0;
            cfgs[n] = (cb_config_t){
                .key = {NULL, rows[i].exec, rows[i].mech, workers, stream ? x->stream : 1,
                        pinned ? pin_name : "none"},
                .metrics = stream ? stream_metrics : spawn_metrics,
                .nmetrics = 2,
                .measure = measure,
                .ctx = x,
            };
            n++;
        }
    }
    cb_experiment_t e = {
        .name = "spawn",
        .configs = cfgs,
        .nconfigs = n,
        .reps = 5,
        .warmup = 1,
        .timeout_s = 60,
        .per_rep = add_relatives,
    };
    rc = cb_runner_run(&e, &o, t, argc, argv);
    for (size_t i = 0; i < n; i++)
        cb_pin_plan_free(&ctx[i].plan);
    free(cfgs);
    free(ctx);
    free(tiny);
    cb_topo_free(t);
    cb_cli_free(&o);
    return rc;
}
