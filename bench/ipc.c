/* ipc: moving data between two units of work. One sends, one receives,
 * messages of --msg-bytes, every byte checked on arrival: a one-way stream
 * (bytes_per_s, msgs_per_s) and a ping-pong (us_per_roundtrip), between two
 * threads (a bounded queue, an SPSC ring) and between two processes (a
 * pipe, a socketpair, a ring in shared memory, a POSIX message queue), with
 * `dd | dd` as the reference for the pipe; the partner on the same PU
 * (same_pu: every hand-over is a context switch) and on another (cross_pu),
 * as switch does. Columns: workers 2 (the two sides), tasks the message
 * size in bytes.
 *
 * And tutorial 001's experiment on memory (workload isolation): a child
 * thread or process writes 0 into a global n that starts at 100, and the
 * parent reads n after joining it (metric parent_sees: 0 after a thread,
 * 100 after a process; anything else is an error row), unpinned, in C
 * (pthread, fork) and in CPython (threading.Thread, multiprocessing.Process).
 *
 * Beside them the same in CPython (py_thread, py_process:
 * scripts/python_ipc.py through the shared CPython driver, lib/core/python).
 *
 * The mechanisms are lib/exp/ipc_mech's table and the CPython ones below. */

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/experiment.h"
#include "lib/exec/executor.h"
#include "lib/exp/ipc_mech.h"

typedef struct params {
    cb_long_list_t msg_bytes;
    double min_ms, py_min_ms;
    int fault_corrupt, fault_die;
} params_t;

/* The largest message: the rings hold 4 of them per direction. */
#define MAX_MSG (16L << 20)

static const cb_flag_t flags[] = {
    CB_FLAG_LIST(params_t, msg_bytes, "msg-bytes", "LIST", 8, MAX_MSG, "64,4096,65536,1048576",
                 NULL, "message sizes in bytes, 8 to 16777216 (default 64,4096,65536,1048576)"),
    CB_FLAG_DOUBLE(params_t, min_ms, "min-ms", "MS", 1, 600000, 60, 15,
                   "run the stream and the ping-pong each at least this long per measurement "
                   "(default 60; --quick 15)"),
    CB_FLAG_DOUBLE(params_t, py_min_ms, "py-min-ms", "MS", 1, 600000, 20, 5,
                   "the CPython rows' run per mode, after a calibration of a fifth of it "
                   "(default 20; --quick 5)"),
    CB_FLAG_BOOL(params_t, fault_corrupt, "fault-corrupt",
                 "fault test: the sender flips one byte of message 5 (every row is error, "
                 "naming the offset)"),
    CB_FLAG_BOOL(params_t, fault_die, "fault-receiver-dies",
                 "fault test: the receiver dies of SIGSEGV at message 5 (rows crashed)"),
};

static const cb_metric_def_t metrics[] = {
    {"bytes_per_s", "B/s"}, {"msgs_per_s", "1/s"}, {"us_per_roundtrip", "us"}};

/* 001's isolation: what the parent reads of n after its child set it 0. */
static const cb_metric_def_t isolation_metrics[] = {{"parent_sees", "count"}};

static const cb_name_t isolation_name = {
    "isolation",
    "tutorial 001: a child thread (thread, py_thread) or process (process, py_process) sets a "
    "global n = 0 that starts at 100; the parent reads n after joining it (parent_sees)",
    NULL, 0};

/* CPython's executors and mechanisms (scripts/python_ipc.py), and on which
 * executor each runs (queue is also a C mechanism's name: --workloads queue
 * selects both). */
static const cb_name_t py_execs[] = {
    {"py_thread", "CPython: two threading.Threads of one interpreter", NULL, 0},
    {"py_process", "CPython: two multiprocessing.Process (fork)", NULL, 0},
};
static const struct {
    cb_name_t name;
    const char *executor;
} py_mechs[] = {
    {{"queue", "threads: bounded queue (C); CPython: queue.Queue(64) (py_thread)", NULL, 0},
     "py_thread"},
    {{"mp_queue", "CPython: multiprocessing.Queue (pickled, a feeder thread, a pipe)", NULL, 0},
     "py_process"},
    {{"mp_pipe", "CPython: multiprocessing.Pipe, Connection.send / recv (pickled)", NULL, 0},
     "py_process"},
    {{"manager_list", "CPython: Manager().list() proxy, append / pop(0), polled", NULL, 0},
     "py_process"},
    {{"shared_memory",
      "CPython: shared_memory.SharedMemory rings, lock-free hand-off, sched_yield waits", NULL, 0},
     "py_process"},
};
#define NPYE (sizeof(py_execs) / sizeof(py_execs[0]))
#define NPYM (sizeof(py_mechs) / sizeof(py_mechs[0]))

/* 1 when the CPython mechanism mech runs on the py_* executor e. */
static int py_runs(const char *e, const char *mech)
{
    for (size_t i = 0; i < NPYM; i++)
        if (strcmp(py_mechs[i].name.name, mech) == 0)
            return strcmp(py_mechs[i].executor, e) == 0;
    return 0;
}

/* thread and process: the executors whose every task is a thread or a
 * process of its own. */
static int one_unit_per_task(const cb_executor_t *e)
{
    return e->unit && !e->pool && strcmp(e->unit, "coroutine") != 0;
}

/* thread, process, then the CPython rows'. */
static size_t executor_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n) {
        n = cb_executor_name_table(tab, 64 - NPYE, one_unit_per_task);
        memcpy(tab + n, py_execs, sizeof(py_execs));
        n += NPYE;
    }
    *out = tab;
    return n;
}

/* The C mechanisms, then the CPython ones whose names are not C's. */
static size_t workload_names(const cb_name_t **out)
{
    static cb_name_t tab[64];
    static size_t n;
    if (!n) {
        const cb_name_t *c;
        size_t nc = cb_ipc_mech_names(&c);
        memcpy(tab, c, nc * sizeof(*c));
        n = nc;
        for (size_t i = 0; i < NPYM && n < 63; i++)
            if (!cb_ipc_mech_find(py_mechs[i].name.name))
                tab[n++] = py_mechs[i].name;
        tab[n++] = isolation_name;
    }
    *out = tab;
    return n;
}

/* A configuration's context: a C mechanism's, or a CPython point's plan of
 * its two PUs. */
typedef union ctx {
    cb_ipc_cfg_t c;
    struct {
        cb_pin_plan_t plan;
        cb_pin_slot_t slots[2];
    } py;
} ctx_t;

/* Variant 2k: size k with the partner on the same PU; 2k + 1: on another
 * PU. */
static size_t variants(cb_exp_t *x)
{
    const params_t *p = x->params;
    return 2 * p->msg_bytes.n;
}

/* 001's isolation in C: the global a pthread or a fork child sets 0. */
static volatile long iso_n;

static void *iso_thread(void *arg)
{
    (void)arg;
    iso_n = 0;
    return NULL;
}

static int isolation_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    int proc = strcmp(c->key.executor, "process") == 0;
    iso_n = 100;
    if (proc) {
        pid_t pid = fork();
        if (pid < 0) {
            int e = errno;
            snprintf(m->detail, sizeof(m->detail), "fork: %s", strerror(e));
            return -e;
        }
        if (pid == 0) {
            iso_n = 0;
            _exit(0);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0)
            if (errno != EINTR) {
                int e = errno;
                snprintf(m->detail, sizeof(m->detail), "waitpid: %s", strerror(e));
                return -e;
            }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            m->status = CB_ERROR;
            snprintf(m->detail, sizeof(m->detail), "the child process did not exit 0 (%#x)", st);
            return 0;
        }
    } else {
        pthread_t t;
        int rc = pthread_create(&t, NULL, iso_thread, NULL);
        if (rc != 0) {
            snprintf(m->detail, sizeof(m->detail), "pthread_create: %s", strerror(rc));
            return -rc;
        }
        pthread_join(t, NULL);
    }
    long seen = iso_n;
    m->values[0] = (double)seen;
    if (seen != (proc ? 100 : 0)) {
        m->status = CB_ERROR;
        snprintf(m->detail, sizeof(m->detail),
                 proc ? "the child process's n = 0 showed in the parent (n = %ld)"
                      : "the thread's n = 0 did not show in the parent (n = %ld)",
                 seen);
    }
    return 0;
}

/* One row per executor, unpinned (the tutorial's run), at the first
 * variant: workers 2 (parent and child), tasks 1 (one write). */
static int build_isolation(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    int py = strncmp(pt->executor, "py_", 3) == 0;
    int proc = strcmp(pt->executor, "process") == 0 || strcmp(pt->executor, "py_process") == 0;
    int thread = strcmp(pt->executor, "thread") == 0 || strcmp(pt->executor, "py_thread") == 0;
    if (pt->variant != 0 || !(proc || thread) || (py && cb_exp_no_python(x)))
        return CB_BUILD_SKIP;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, 2, 1, "none"},
        .metrics = isolation_metrics,
        .nmetrics = 1,
        .expected_s = py ? 0.02 : 0.001, /* a start and a join */
    };
    if (py) {
        cfg->python = 1;
    } else {
        cfg->measure = isolation_measure;
    }
    return CB_BUILD_ADD;
}

static int build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    if (strcmp(pt->workload, "isolation") == 0)
        return build_isolation(x, pt, cfg);
    const params_t *p = x->params;
    size_t n = (size_t)p->msg_bytes.v[pt->variant / 2];
    int cross = pt->variant % 2, pinned = pt->pin->policy != CB_PIN_NONE;
    if (cross && !pinned)
        return CB_BUILD_SKIP;
    const cb_pin_plan_t *plan = cb_exp_plan(x, pt->pin, 2);
    if (!plan)
        return CB_EXIT_USAGE;
    int pu0 = plan->slots[0].pu_os, pu1 = plan->slots[cross ? 1 : 0].pu_os;
    const char *pin = !pinned ? "none" : cross ? "cross_pu" : "same_pu";
    if (strncmp(pt->executor, "py_", 3) == 0) {
        /* A CPython point, measured by the shared driver: the initiator on
         * the first PU, its partner on the same or the second. */
        if (cb_exp_no_python(x) || !py_runs(pt->executor, pt->workload) || (cross && pu0 == pu1))
            return CB_BUILD_SKIP;
        ctx_t *c = cfg->ctx;
        c->py.slots[0] = plan->slots[0];
        c->py.slots[1] = plan->slots[cross ? 1 : 0];
        c->py.plan = (cb_pin_plan_t){.policy = plan->policy, .nworkers = 2, .slots = c->py.slots};
        *cfg = (cb_config_t){
            .key = {NULL, pt->executor, pt->workload, 2, (long)n, pin},
            .metrics = metrics,
            .nmetrics = 3,
            .python = 1,
            .python_plan = pinned ? &c->py.plan : NULL,
            /* --tutorial's estimate: a calibration and both modes, 2.4 x
             * --py-min-ms, and the partner's start */
            .expected_s = 2.4 * p->py_min_ms / 1e3 + 0.02,
        };
        return CB_BUILD_ADD;
    }
    const cb_executor_t *e = cb_executor_find(pt->executor);
    const cb_ipc_mech_t *m = cb_ipc_mech_find(pt->workload);
    if (!m || m->process != (strcmp(e->unit, "fork") == 0))
        return CB_BUILD_SKIP;
    cb_ipc_cfg_t *c = &((ctx_t *)cfg->ctx)->c;
    *c = (cb_ipc_cfg_t){
        .mech = m,
        .msg_bytes = n,
        .pinned = pinned,
        .pu = {pu0, pu1},
        .topo = x->topo,
        .stream_s = p->min_ms / 1e3,
        .pingpong_s = m->reference ? 0 : p->min_ms / 1e3,
        .fault = p->fault_die       ? CB_IPC_FAULT_DIE
                 : p->fault_corrupt ? CB_IPC_FAULT_CORRUPT
                                    : CB_IPC_FAULT_NONE,
    };
    /* Rows that cannot run here still appear, skipped with the reason. */
    const char *why = m->unavailable ? m->unavailable() : NULL;
    char lim[80] = "";
    if (why)
        snprintf(c->skip, sizeof(c->skip), "%s", why);
    else if (m->limit && n > m->limit(lim, sizeof(lim)))
        snprintf(c->skip, sizeof(c->skip), "%zu B is over %s", n, lim);
    else if (cross && c->pu[0] == c->pu[1])
        snprintf(c->skip, sizeof(c->skip), "one allowed PU: nothing to cross to");
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, 2, (long)n, pin},
        .metrics = metrics,
        .nmetrics = m->reference ? 2 : 3,
        .measure = cb_ipc_measure,
        .ctx = c,
        /* --tutorial's estimate: the stream and the ping-pong, --min-ms
         * each, and the fork and buffers */
        .expected_s = 2 * p->min_ms / 1e3 + 0.01,
    };
    return CB_BUILD_ADD;
}

/* ---- verdict ---- */

static double med(const cb_results_t *r, const char *e, const char *wl, long n, const char *pin,
                  const char *metric)
{
    return cb_results_median(r, &(cb_select_t){e, wl, pin, metric, 0, n});
}

/* a / b per repetition (configurations are interleaved within one, so a
 * ratio of the same repetition shares its machine state): their median,
 * min and max. Returns how many repetitions had both. */
static size_t rep_ratio(const cb_results_t *r, const cb_select_t *a, const cb_select_t *b,
                        double *median, double *lo, double *hi)
{
    enum { MAXR = 1024 };
    double va[MAXR], vb[MAXR], q[MAXR];
    for (int i = 0; i < MAXR; i++)
        va[i] = vb[i] = NAN;
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        if (s->rep < 0 || s->rep >= MAXR)
            continue;
        if (cb_select_match(a, s))
            va[s->rep] = s->value;
        else if (cb_select_match(b, s))
            vb[s->rep] = s->value;
    }
    size_t k = 0;
    for (int i = 0; i < MAXR; i++)
        if (!isnan(va[i]) && !isnan(vb[i]) && vb[i] > 0)
            q[k++] = va[i] / vb[i];
    if (k == 0)
        return 0;
    *lo = *hi = q[0];
    for (size_t i = 1; i < k; i++) {
        *lo = q[i] < *lo ? q[i] : *lo;
        *hi = q[i] > *hi ? q[i] : *hi;
    }
    *median = cb_stats_median(q, k);
    return k;
}

static const char *size_str(long n, char *buf, size_t len)
{
    if (n >= (1L << 20) && n % (1L << 20) == 0)
        snprintf(buf, len, "%ld MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, len, "%ld KiB", n >> 10);
    else
        snprintf(buf, len, "%ld B", n);
    return buf;
}

static const char *const verdict_pins[] = {"same_pu", "cross_pu", "none"};

/* From which size on the shared-memory ring's stream beats the pipe's (at
 * that size and every larger one measured). */
static void verdict_shm(cb_exp_t *x, const cb_results_t *r, const char *pin, FILE *out)
{
    const params_t *p = x->params;
    long from = -1;
    int any = 0;
    for (size_t k = p->msg_bytes.n; k-- > 0;) {
        long n = p->msg_bytes.v[k];
        double s = med(r, "process", "shm", n, pin, "bytes_per_s");
        double q = med(r, "process", "pipe", n, pin, "bytes_per_s");
        if (isnan(s) || isnan(q))
            continue;
        any = 1;
        if (s <= q)
            break;
        from = n;
    }
    if (!any)
        return;
    char b[32], name[64];
    snprintf(name, sizeof(name), "%s/shm_beats_pipe_from_bytes", pin);
    if (from < 0) {
        fprintf(out, "  %-8s shared memory does not beat the pipe at the largest size measured\n",
                pin);
        cb_exp_fact(x, name, NAN, "B", NAN, "%s: the shm ring never beats the pipe here", pin);
        return;
    }
    fprintf(out, "  %-8s shared memory beats a pipe from %s on (stream bandwidth, medians)\n", pin,
            size_str(from, b, sizeof(b)));
    cb_exp_fact(x, name, (double)from, "B", NAN,
                "%s: the shm ring's stream beats the pipe's from %s messages on", pin,
                size_str(from, b, sizeof(b)));
}

/* mechanism a's metric over b's at size n, per repetition, in words. */
static void verdict_ratio(cb_exp_t *x, const cb_results_t *r, const char *pin, const char *ea,
                          const char *a, const char *eb, const char *b, long n, const char *metric,
                          const char *what, FILE *out)
{
    double m, lo, hi;
    cb_select_t qa = {ea, a, pin, metric, 0, n}, qb = {eb, b, pin, metric, 0, n};
    size_t k = rep_ratio(r, &qa, &qb, &m, &lo, &hi);
    if (!k)
        return;
    char sz[32], name[96];
    fprintf(out, "  %-8s %s at %s: %.2fx (%.2f-%.2f over %zu repetitions)\n", pin, what,
            size_str(n, sz, sizeof(sz)), m, lo, hi, k);
    snprintf(name, sizeof(name), "%s/%s_over_%s/%ld/%s", pin, a, b, n, metric);
    cb_exp_fact(x, name, m, "x", NAN, "%s: %s at %s: %.2fx (%.2f-%.2f)", pin, what, sz, m, lo, hi);
}

/* 001: a child process's n = 0 stays in the child, a thread's is the
 * parent's. */
static void verdict_isolation(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    static const char *const ex[] = {"process", "thread", "py_process", "py_thread"};
    double v[4];
    int any = 0;
    char f[4][24];
    for (int i = 0; i < 4; i++) {
        v[i] =
            cb_results_median(r, &(cb_select_t){ex[i], "isolation", "none", "parent_sees", 0, 0});
        any |= !isnan(v[i]);
        snprintf(f[i], sizeof(f[i]), isnan(v[i]) ? "-" : "%.0f", v[i]);
    }
    if (!any)
        return;
    fprintf(out,
            "  001 isolation: tutorial n=100 after a child process set 0 | C process %s, thread %s "
            "| CPython Process %s, Thread %s\n",
            f[0], f[1], f[2], f[3]);
    for (int i = 0; i < 4; i++) {
        if (isnan(v[i]))
            continue;
        char name[64];
        snprintf(name, sizeof(name), "001/%s/parent_sees", ex[i]);
        cb_exp_fact(x, name, v[i], "count", i % 2 ? 0 : 100,
                    "%s: the parent sees n = %.0f after its child set n = 0", ex[i], v[i]);
    }
}

static void verdict(cb_exp_t *x, const cb_results_t *r, FILE *out)
{
    const params_t *p = x->params;
    fprintf(out, "\nMoving data (stream bandwidth unless said; ratios per repetition):\n");
    for (size_t i = 0; i < 3; i++) {
        const char *pin = verdict_pins[i];
        verdict_shm(x, r, pin, out);
        for (size_t k = 0; k < p->msg_bytes.n; k++) {
            long n = p->msg_bytes.v[k];
            if (n == 65536)
                verdict_ratio(x, r, pin, "process", "pipe", "process", "dd", n, "bytes_per_s",
                              "pipe over dd | dd", out);
            if (n == (1L << 20))
                verdict_ratio(x, r, pin, "process", "shm", "process", "pipe", n, "bytes_per_s",
                              "shm ring over pipe", out);
            if (n == 64) {
                /* A message's cost: the inverse of the rate, so queue's
                 * rate over mp_queue's. */
                verdict_ratio(
                    x, r, pin, "py_thread", "queue", "py_process", "mp_queue", n, "msgs_per_s",
                    "a multiprocessing.Queue message's cost over a queue.Queue one's", out);
                verdict_ratio(x, r, pin, "py_process", "mp_queue", "py_thread", "queue", n,
                              "us_per_roundtrip",
                              "a multiprocessing.Queue round trip over a queue.Queue one's", out);
            }
        }
        double rt = med(r, "process", "pipe", 64, pin, "us_per_roundtrip");
        if (!isnan(rt)) {
            char name[64];
            fprintf(out, "  %-8s pipe round trip at 64 B: %.2f us (median)\n", pin, rt);
            snprintf(name, sizeof(name), "%s/pipe/64/us_per_roundtrip", pin);
            cb_exp_fact(x, name, rt, "us", NAN, "%s: pipe round trip at 64 B: %.2f us", pin, rt);
        }
    }
    verdict_isolation(x, r, out);
}

static const cb_python_def_t python = {.script = "scripts/python_ipc.py"};

/* Tutorial 001's isolation (a child process's n = 0 stays its own, a
 * thread's does not) and 004's constructs for moving data (Queue, Pipe,
 * Manager().list() between processes, queue.Queue between threads), at a
 * small message, beside C's pipe and queue; the tutorials time none of it. */
static const char *const tutorial[] = {
    "--executors", "py_process,process,py_thread,thread",
    "--workloads", "isolation,mp_queue,mp_pipe,manager_list,pipe,queue",
    "--msg-bytes", "64",
    NULL};

static const cb_experiment_def_t ipc = {
    .name = "ipc",
    .summary = "Moving data between two threads (bounded queue, SPSC ring) and between two "
               "processes (pipe, socketpair, shared-memory ring, POSIX message queue; dd | dd as "
               "the reference): one-way stream bandwidth and ping-pong round trip per message "
               "size, every byte checked, the partner on the same PU and across PUs. tasks: the "
               "message size in bytes.",
    CB_FLAG_TABLE(flags),
    .params_size = sizeof(params_t),
    .ctx_size = sizeof(ctx_t),
    .executors = {.names_fn = executor_names},
    .workloads = {.names_fn = workload_names},
    .quick_reps = 3,
    .worker_counts = cb_exp_workers_one,
    .variants = variants,
    .build = build,
    .verdict = verdict,
    .python = &python,
    .tutorial = tutorial,
    .tutorial_how = "each C configuration's stream and ping-pong, each CPython point's calibration "
                    "and both modes, an interpreter (and a Manager) a repetition",
};
CB_EXPERIMENT_MAIN(ipc)
