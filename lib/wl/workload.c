#include "lib/wl/workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/wl/workload_internal.h"

/* The registry, in the order --list shows; the fault workloads (fault = 1)
 * come last and are listed under their own heading. */
const cb_workload_t *const cb_workloads[] = {
    &cb_wl_cpu,   &cb_wl_cpu_kernel,  &cb_wl_io,         &cb_wl_io_file,
    &cb_wl_mixed, &cb_wl_fault_crash, &cb_wl_fault_hang, &cb_wl_fault_exit,
};
const size_t cb_workload_count = sizeof(cb_workloads) / sizeof(cb_workloads[0]);

static const cb_workload_t **extra;
static size_t nextra;

const cb_workload_t *cb_workload_find(const char *name)
{
    for (size_t i = 0; i < cb_workload_count; i++)
        if (strcmp(cb_workloads[i]->name, name) == 0)
            return cb_workloads[i];
    for (size_t i = 0; i < nextra; i++)
        if (strcmp(extra[i]->name, name) == 0)
            return extra[i];
    return NULL;
}

int cb_workload_register(const cb_workload_t *w)
{
    if (!w || !w->name || !w->name[0] || !w->task || !w->check || !w->setup)
        return -EINVAL;
    if (cb_workload_find(w->name))
        return -EEXIST;
    const cb_workload_t **n = realloc(extra, (nextra + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    extra = n;
    extra[nextra++] = w;
    return 0;
}

size_t cb_workload_registered(const cb_workload_t *const **out)
{
    *out = extra;
    return nextra;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cb_workload_task_ns(const cb_workload_t *w, const cb_wl_params_t *p)
{
    void *arg;
    if (!w || w->setup(p, &arg) < 0)
        return 0;
    uint64_t t0 = thread_cpu_ns();
    w->task(arg, 0);
    uint64_t t1 = thread_cpu_ns();
    if (w->teardown)
        w->teardown(arg);
    return t0 && t1 > t0 ? t1 - t0 : 0;
}

uint64_t cb_workload_cpu_calibrate(double task_ms)
{
    const cb_workload_t *w = cb_workload_find("cpu");
    cb_wl_params_t p = {.tasks = 1, .cpu_iters = 1000000};
    uint64_t ns = 0;
    for (int round = 0; round < 12; round++) {
        if ((ns = cb_workload_task_ns(w, &p)) == 0)
            return 0;
        if (ns >= 20000000)
            break;
        p.cpu_iters *= 2;
    }
    for (int k = 0; k < 5; k++) {
        uint64_t again = cb_workload_task_ns(w, &p);
        if (again == 0)
            return 0;
        if (again < ns)
            ns = again;
    }
    double scaled = (double)p.cpu_iters * task_ms * 1e6 / (double)ns;
    return scaled < 1 ? 1 : (uint64_t)scaled;
}
