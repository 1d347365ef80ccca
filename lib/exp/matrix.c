#include "lib/exp/matrix.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/exp/pyref.h"

const cb_metric_def_t cb_matrix_metrics[] = {
    {"wall_s", "s"}, {"user_s", "s"}, {"sys_s", "s"}, {"vol_cs", "count"}, {"invol_cs", "count"},
};
const int cb_matrix_nmetrics = 5;

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

const cb_executor_t *cb_matrix_parse_name(const char *name, int *gil)
{
    char base[64];
    const char *plus = strstr(name, "+gil");
    *gil = plus && plus[4] == '\0';
    size_t len = *gil ? (size_t)(plus - name) : strlen(name);
    if (len >= sizeof(base))
        return NULL;
    memcpy(base, name, len);
    base[len] = '\0';
    return cb_executor_find(base);
}

int cb_matrix_measure(const cb_config_t *c, const cb_opts_t *o, cb_measurement_t *m)
{
    (void)o;
    const cb_matrix_t *x = c->ctx;
    const cb_workload_t *wl = x->workload;
    size_t tasks = x->params.tasks;
    cb_task_result_t *res = calloc(tasks, sizeof(*res));
    void *arg = NULL, *state = NULL;
    int rc = -ENOMEM;
    if (!res)
        goto out;
    /* Untimed: the workload's buffers and files, and pre-started pools. */
    cb_wl_params_t wp = x->params;
    wp.impl = wl->impl;
    if ((rc = wl->setup(&wp, &arg)) < 0) {
        snprintf(m->detail, sizeof(m->detail), "workload %s set-up: %s", wl->name, strerror(-rc));
        goto out;
    }
    cb_exec_cfg_t cfg = {
        .topo = x->topo,
        .plan = x->plan && x->plan->policy != CB_PIN_NONE ? x->plan : NULL,
        .workers = x->workers,
        .tasks = tasks,
        .fn = wl->task,
        .arg = arg,
        .gil_interval_ns = x->gil_interval_ns,
    };
    if (x->executor->open && (rc = x->executor->open(&cfg, &state)) < 0) {
        snprintf(m->detail, sizeof(m->detail), "executor %s start: %s", x->executor->name,
                 strerror(-rc));
        goto teardown;
    }
    /* Timed: the executor's run, which for thread and process includes
     * creating, starting and joining / reaping every worker, as the
     * tutorials' figures do; pools were started above (they are reused,
     * which is their point). CPU time and context switches cover the
     * pools' start and stop too, since a pool's processes are accounted
     * (RUSAGE_CHILDREN) only once reaped. */
    struct rusage s0, c0, s1, c1;
    uint64_t t0 = 0, t1 = 0;
    if (getrusage(RUSAGE_SELF, &s0) != 0 || getrusage(RUSAGE_CHILDREN, &c0) != 0) {
        rc = -errno;
        goto close;
    }
    cb_counters_start();
    t0 = cb_now_ns();
    rc = x->executor->run(state, &cfg, res);
    t1 = cb_now_ns();
    cb_counters_stop();
close:
    if (x->executor->close)
        x->executor->close(state);
    if (rc == 0 && (getrusage(RUSAGE_SELF, &s1) != 0 || getrusage(RUSAGE_CHILDREN, &c1) != 0))
        rc = -errno;
    if (rc < 0) {
        if (!m->detail[0])
            snprintf(m->detail, sizeof(m->detail), "executor %s: %s", x->executor->name,
                     strerror(-rc));
        goto teardown;
    }
    m->values[0] = (double)(t1 - t0) / 1e9;
    m->values[1] = tv_s(s1.ru_utime) - tv_s(s0.ru_utime) + tv_s(c1.ru_utime) - tv_s(c0.ru_utime);
    m->values[2] = tv_s(s1.ru_stime) - tv_s(s0.ru_stime) + tv_s(c1.ru_stime) - tv_s(c0.ru_stime);
    m->values[3] = (double)(s1.ru_nvcsw - s0.ru_nvcsw + c1.ru_nvcsw - c0.ru_nvcsw);
    m->values[4] = (double)(s1.ru_nivcsw - s0.ru_nivcsw + c1.ru_nivcsw - c0.ru_nivcsw);
    /* Every task must have run and returned what its workload says. */
    /* The detail names the first task of the worst status. */
    for (size_t i = 0; i < tasks; i++) {
        cb_status_t st = res[i].status;
        if (st == CB_OK && wl->check(arg, i, res[i].value) != 0)
            st = CB_ERROR;
        if (st == CB_OK || st <= m->status)
            continue;
        m->status = st;
        if (st == CB_ERROR && res[i].status == CB_OK) {
            char why[80] = "wrong result";
            if (wl->explain)
                wl->explain(arg, i, res[i].value, why, sizeof(why));
            snprintf(m->detail, sizeof(m->detail), "task %zu returned %llu: %s", i,
                     (unsigned long long)res[i].value, why);
        } else if (st == CB_CRASHED) {
            const char *abbrev = sigabbrev_np(res[i].signo);
            snprintf(m->detail, sizeof(m->detail), "task %zu: SIG%s", i, abbrev ? abbrev : "?");
        } else {
            snprintf(m->detail, sizeof(m->detail), "task %zu: %s", i, cb_status_name(st));
        }
    }
teardown:
    if (wl->teardown)
        wl->teardown(arg);
out:
    free(res);
    return rc;
}

#define MAX_NAMES 64

static cb_name_t exec_names[MAX_NAMES];
static size_t nexec_names, nexec_c;
static char gil_names[MAX_NAMES][32];

static void add_names(const cb_name_t *v, size_t n)
{
    for (size_t i = 0; i < n && nexec_names < MAX_NAMES; i++)
        exec_names[nexec_names++] = v[i];
}

/* Built once from the registries: the executors, then their +gil rows,
 * then the CPython reference's. */
static void fill_exec_names(void)
{
    if (nexec_names)
        return;
    for (size_t i = 0; i < cb_executor_count && nexec_names < MAX_NAMES; i++) {
        const cb_executor_t *e = cb_executors[i];
        exec_names[nexec_names++] = (cb_name_t){e->name, e->summary, e->unavailable, 0};
    }
    for (size_t i = 0; i < cb_executor_count && nexec_names < MAX_NAMES; i++) {
        const cb_executor_t *e = cb_executors[i];
        if (!e->parallel)
            continue;
        snprintf(gil_names[i], sizeof(gil_names[i]), "%s+gil", e->name);
        exec_names[nexec_names++] = (cb_name_t){
            gil_names[i], "the same, with the emulated interpreter lock (one per process)",
            e->unavailable, 0};
    }
    nexec_c = nexec_names;
    const cb_name_t *py;
    size_t npy = cb_pyref_names(&py);
    add_names(py, npy);
}

size_t cb_matrix_executor_names(const cb_name_t **out)
{
    fill_exec_names();
    *out = exec_names;
    return nexec_c;
}

size_t cb_matrix_executor_names_py(const cb_name_t **out)
{
    fill_exec_names();
    *out = exec_names;
    return nexec_names;
}

size_t cb_matrix_workload_names(const cb_name_t **out)
{
    static cb_name_t names[MAX_NAMES];
    static size_t n;
    if (n == 0)
        for (size_t i = 0; i < cb_workload_count && i < MAX_NAMES; i++, n++)
            names[i] = (cb_name_t){cb_workloads[i]->name, cb_workloads[i]->summary,
                                   cb_workloads[i]->unavailable, cb_workloads[i]->fault};
    *out = names;
    return n;
}

int cb_matrix_build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg,
                    const cb_wl_params_t *params, long workers)
{
    cb_matrix_t *b = cfg->ctx;
    int gil;
    b->executor = cb_matrix_parse_name(pt->executor, &gil);
    b->workload = cb_workload_find(pt->workload);
    if (!b->executor || !b->workload)
        return CB_BUILD_SKIP;
    b->topo = x->topo;
    b->workers = (int)workers;
    b->gil_interval_ns = gil ? (uint64_t)(x->opts.gil_interval_ms * 1e6) : 0;
    b->params = *params;
    b->params.tmp_dir = x->out_dir;
    char why[256];
    if (cb_executor_fits(b->executor, b->params.tasks, why, sizeof(why)) < 0) {
        fprintf(stderr, "%s: %s on %s: %s\n", x->def->name, pt->executor, pt->workload, why);
        return CB_EXIT_USAGE;
    }
    if (!(b->plan = cb_exp_plan(x, pt->pin, b->workers)))
        return CB_EXIT_USAGE;
    *cfg = (cb_config_t){
        .key = {NULL, pt->executor, pt->workload, workers, (long)params->tasks, pt->pin->name},
        .metrics = cb_matrix_metrics,
        .nmetrics = cb_matrix_nmetrics,
        .measure = cb_matrix_measure,
        .ctx = b,
    };
    return CB_BUILD_ADD;
}
