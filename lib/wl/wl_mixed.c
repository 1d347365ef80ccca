/* mixed: a CPU burst, then an IO wait, per task.
 *
 * The task's nominal time is io_ns, and cpu_iters is read as the number of
 * increments that fill io_ns on this host (the bench calibrates cpu_iters so;
 * the cpu workload runs the same loop). With f = io_fraction, a task counts
 * (1 - f) * cpu_iters increments (cpu_iters - floor(f * cpu_iters)), then
 * sleeps floor(f * io_ns) through the task environment. f = 0 is the cpu
 * workload, f = 1 the io workload without jitter. The share f holds for the
 * nominal time; under contention the burst stretches and the wait does not. */

#include <errno.h>
#include <stdlib.h>

#include "lib/core/task_env.h"
#include "lib/wl/workload_internal.h"

typedef struct {
    uint64_t burst_iters;
    uint64_t wait_ns;
} mixed_arg_t;

/* floor(f * n) for f in [0, 1], without the undefined conversion of 2^64
 * (what (double)n rounds to for n near UINT64_MAX). */
static uint64_t share(double f, uint64_t n)
{
    double v = f * (double)n;
    return v >= 18446744073709551616.0 ? n : (uint64_t)v;
}

static int mixed_setup(const cb_wl_params_t *p, void **arg)
{
    if (!(p->io_fraction >= 0.0 && p->io_fraction <= 1.0))
        return -EINVAL;
    mixed_arg_t *a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->burst_iters = p->cpu_iters - share(p->io_fraction, p->cpu_iters);
    a->wait_ns = share(p->io_fraction, p->io_ns);
    *arg = a;
    return 0;
}

/* Returns the burst's count once the wait has ended. */
static uint64_t mixed_task(void *arg, size_t index)
{
    const mixed_arg_t *a = arg;
    (void)index;
    uint64_t n = cb_wl_count(a->burst_iters);
    return cb_task_sleep_ns(a->wait_ns) == 0 ? n : CB_WL_FAILED;
}

static int mixed_check(void *arg, size_t index, uint64_t value)
{
    (void)index;
    return value == ((mixed_arg_t *)arg)->burst_iters ? 0 : -1;
}

const cb_workload_t cb_wl_mixed = {
    .name = "mixed",
    .summary =
        "a CPU burst of (1-f)*cpu_iters increments, then a wait of f*io_ns (f = io_fraction)",
    .setup = mixed_setup,
    .task = mixed_task,
    .check = mixed_check,
    .teardown = free,
};
