#include "lib/exec/executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/exec/exec_internal.h"

/* The registry, in --list order. Adding an executor: its exec_<name>.c
 * defining `const cb_executor_t cb_exec_<name>`, and one line here. */
#define CB_EXECUTORS(X)                                                                            \
    X(serial)                                                                                      \
    X(thread)                                                                                      \
    X(process)                                                                                     \
    X(thread_pool)                                                                                 \
    X(process_pool)                                                                                \
    X(coroutine)                                                                                   \
    X(openmp)                                                                                      \
    X(tbb)                                                                                         \
    X(gthreadpool)                                                                                 \
    X(uv_pool)

#define CB_EXTERN(n) extern const cb_executor_t cb_exec_##n;
#define CB_ENTRY(n) &cb_exec_##n,
CB_EXECUTORS(CB_EXTERN)
const cb_executor_t *const cb_executors[] = {CB_EXECUTORS(CB_ENTRY)};
const size_t cb_executor_count = sizeof(cb_executors) / sizeof(cb_executors[0]);

const cb_executor_t *cb_executor_find(const char *name)
{
    for (size_t i = 0; i < cb_executor_count; i++)
        if (strcmp(cb_executors[i]->name, name) == 0)
            return cb_executors[i];
    return NULL;
}

size_t cb_executor_name_table(cb_name_t *tab, size_t cap, int (*keep)(const cb_executor_t *e))
{
    size_t n = 0;
    for (size_t i = 0; i < cb_executor_count && n < cap; i++)
        if (!keep || keep(cb_executors[i]))
            tab[n++] = (cb_name_t){cb_executors[i]->name, cb_executors[i]->summary,
                                   cb_executors[i]->unavailable, 0};
    return n;
}

/* MemAvailable from /proc/meminfo in bytes, else the physical memory; read
 * once per process (an experiment checks every configuration it builds). */
static double mem_available(double *total)
{
    static double t, a;
    if (t > 0) {
        *total = t;
        return a;
    }
    *total = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    double avail = *total;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long long kb;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            avail = (double)kb * 1024;
    if (f)
        fclose(f);
    t = *total;
    a = avail;
    return avail;
}

int cb_executor_fits(const cb_executor_t *e, size_t tasks, char *why, size_t len)
{
    double per = (double)e->task_bytes + (double)sizeof(cb_task_result_t);
    double need = per * (double)tasks, total;
    double avail = mem_available(&total);
    if (need <= avail * 0.8)
        return 0;
    snprintf(why, len,
             "--tasks %zu needs about %.1f GiB (%.0f B per task), this machine has %.1f GiB, "
             "%.1f GiB available: use fewer tasks",
             tasks, need / 1073741824.0, per, total / 1073741824.0, avail / 1073741824.0);
    return -1;
}

int cb_executor_available(const cb_executor_t *e)
{
    return !e->unavailable || e->unavailable() == NULL;
}

int cb_executor_run_all(const cb_executor_t *e, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    void *state = NULL;
    int rc;
    if (e->open && (rc = e->open(cfg, &state)) < 0)
        return rc;
    rc = e->run(state, cfg, results);
    if (e->close)
        e->close(state);
    return rc;
}

int cb_exec_check(const cb_exec_cfg_t *cfg, int need_workers)
{
    if (!cfg->fn)
        return -EINVAL;
    if (need_workers && cfg->workers < 1)
        return -EINVAL;
    if (cfg->plan) {
        if (!cfg->topo || cfg->plan->nworkers < 1 || !cfg->plan->slots)
            return -EINVAL;
        if (cfg->plan->policy != CB_PIN_NONE && !cb_topo_is_this_system(cfg->topo))
            return -EXDEV;
    }
    return 0;
}

int cb_exec_pin_caller(const cb_exec_cfg_t *cfg, cb_exec_caller_pin_t *s)
{
    s->pinned = 0;
    if (!cfg->plan || cb_exec_pu(cfg, 0) < 0)
        return 0;
    int rc = -pthread_getaffinity_np(pthread_self(), sizeof(s->saved), &s->saved);
    if (rc < 0)
        return rc;
    rc = cb_pin_bind_thread(cfg->topo, cb_exec_pu(cfg, 0));
    if (rc < 0)
        return rc;
    s->pinned = 1;
    return 0;
}

void cb_exec_unpin_caller(cb_exec_caller_pin_t *s)
{
    if (!s->pinned)
        return;
    /* This fails only when the saved set stopped being usable (a cgroup or
     * hotplug change since open); then the thread stays on its PU, which is
     * still an allowed one: nothing better to do from close(). */
    (void)pthread_setaffinity_np(pthread_self(), sizeof(s->saved), &s->saved);
    s->pinned = 0;
}
