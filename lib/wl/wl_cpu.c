/* cpu: the tutorials' CPU-bound task (seeds/003: `for i in range(100000000):
 * count += 1`), one counter incremented cpu_iters times. */

#include <errno.h>
#include <stdlib.h>

#include "lib/core/task_env.h"
#include "lib/wl/workload_internal.h"

uint64_t cb_wl_count(uint64_t n)
{
    uint64_t x = 0;
    uint64_t left = n;

    /* The empty asm claims to read and change x, so the compiler can neither
     * fold the loop into x = n nor merge increments: every iteration really
     * adds 1 to a register, as CPython's `+=` really runs once per turn. */
    while (left >= CB_TASK_TICK_EVERY) {
        for (unsigned i = 0; i < CB_TASK_TICK_EVERY; i++) {
            x += 1;
            __asm__ volatile("" : "+r"(x));
        }
        left -= CB_TASK_TICK_EVERY;
        cb_task_tick();
    }
    for (; left > 0; left--) {
        x += 1;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

typedef struct {
    uint64_t iters;
} cpu_arg_t;

static int cpu_setup(const cb_wl_params_t *p, void **arg)
{
    cpu_arg_t *a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->iters = p->cpu_iters;
    *arg = a;
    return 0;
}

static uint64_t cpu_task(void *arg, size_t index)
{
    (void)index;
    return cb_wl_count(((cpu_arg_t *)arg)->iters);
}

static int cpu_check(void *arg, size_t index, uint64_t value)
{
    (void)index;
    return value == ((cpu_arg_t *)arg)->iters ? 0 : -1;
}

const cb_workload_t cb_wl_cpu = {
    .name = "cpu",
    .summary = "count to cpu_iters, one increment per iteration (the tutorials' CPU-bound loop)",
    .setup = cpu_setup,
    .task = cpu_task,
    .check = cpu_check,
    .teardown = free,
};
