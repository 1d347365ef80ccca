/* io: the tutorials' IO-bound task (seeds/003: `time.sleep(random.randint(1,
 * 3))`), a sleep through the task environment, so threads block in the
 * kernel, coroutines yield to the event loop and the interpreter-lock
 * emulation releases its lock.
 *
 * The jitter rule (scripts/python_reference.py sleeps the same durations):
 *   J = floor(io_ns * io_jitter)             (double product, truncated)
 *   sleep(index) = io_ns - J + splitmix64(seed, index) mod (2J + 1)
 * so each sleep lies in [io_ns - J, io_ns + J], is fixed by (seed, index) and
 * is the same under every executor. The tutorials' random 1-3 s is io_ns = 2 s
 * with io_jitter = 0.5. All integer arithmetic but the one product, which is
 * an IEEE double multiplication in both languages. */

#include <errno.h>
#include <stdlib.h>

#include "lib/core/task_env.h"
#include "lib/wl/workload_internal.h"

/* Longest sleep accepted: keeps 2J + 1 and io_ns + J far from overflow. */
#define CB_IO_MAX_NS (1ull << 62)

uint64_t cb_wl_splitmix64(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t cb_wl_io_sleep_ns(uint64_t io_ns, double jitter, uint64_t seed, size_t index)
{
    uint64_t j = (uint64_t)((double)io_ns * jitter);
    if (j == 0)
        return io_ns;
    return io_ns - j + cb_wl_splitmix64(seed, index) % (2 * j + 1);
}

typedef struct {
    uint64_t io_ns;
    double jitter;
    uint64_t seed;
} io_arg_t;

static int io_setup(const cb_wl_params_t *p, void **arg)
{
    if (!(p->io_jitter >= 0.0 && p->io_jitter <= 1.0) || p->io_ns > CB_IO_MAX_NS)
        return -EINVAL;
    io_arg_t *a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->io_ns = p->io_ns;
    a->jitter = p->io_jitter;
    a->seed = p->seed;
    *arg = a;
    return 0;
}

static uint64_t io_task(void *arg, size_t index)
{
    const io_arg_t *a = arg;
    uint64_t ns = cb_wl_io_sleep_ns(a->io_ns, a->jitter, a->seed, index);
    return cb_task_sleep_ns(ns) == 0 ? ns : CB_WL_FAILED;
}

static int io_check(void *arg, size_t index, uint64_t value)
{
    const io_arg_t *a = arg;
    return value == cb_wl_io_sleep_ns(a->io_ns, a->jitter, a->seed, index) ? 0 : -1;
}

const cb_workload_t cb_wl_io = {
    .name = "io",
    .summary = "sleep io_ns +- io_jitter per task, seeded per task index (the tutorials' IO wait)",
    .setup = io_setup,
    .task = io_task,
    .check = io_check,
    .teardown = free,
};
