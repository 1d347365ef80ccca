/* cpu_kernel: a realistic CPU kernel for comparison with the bare counting
 * loop: 64-bit FNV-1a (Fowler, Noll, Vo; the hash of many hash tables) over a
 * 128 KiB buffer, which stays in L2, hashed pass after pass.
 *
 * Scaling: one cpu_iters unit is one increment of the cpu workload. FNV-1a
 * costs one xor and one 64-bit multiply per byte on a dependency chain, about
 * 4 cycles (multiply latency 3, xor 1), where an increment costs 1, so the
 * task hashes cpu_iters / CB_KERNEL_ITERS_PER_BYTE bytes and takes about as
 * long as cpu for the same cpu_iters (measured on an AMD EPYC host, gcc -O2:
 * 0.8 to 1.0 times cpu's time at cpu_iters = 4e8). It
 * ticks every CB_TASK_TICK_EVERY / CB_KERNEL_ITERS_PER_BYTE bytes, so the tick
 * rate matches cpu's too.
 *
 * Each pass hashes the whole buffer from FNV's offset basis, and the passes
 * fold into one result, so the expected value is computed at setup from one
 * pass (and the partial last one) without running the task. */

#include <errno.h>
#include <stdlib.h>

#include "lib/core/task_env.h"
#include "lib/wl/workload_internal.h"

#define CB_KERNEL_BUF_BYTES (128u * 1024u)
#define CB_KERNEL_ITERS_PER_BYTE 4u
#define CB_KERNEL_TICK_BYTES (CB_TASK_TICK_EVERY / CB_KERNEL_ITERS_PER_BYTE)

#define FNV64_BASIS 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

typedef struct {
    uint8_t *buf;
    uint64_t bytes; /* per task */
    uint64_t expected;
} kernel_arg_t;

/* FNV-1a over buf[0, len), from the offset basis, ticking every
 * CB_KERNEL_TICK_BYTES bytes. */
static uint64_t fnv1a(const uint8_t *buf, size_t len, int tick)
{
    uint64_t h = FNV64_BASIS;
    size_t done = 0;
    while (done < len) {
        size_t n = len - done < CB_KERNEL_TICK_BYTES ? len - done : CB_KERNEL_TICK_BYTES;
        for (size_t i = 0; i < n; i++) {
            h ^= buf[done + i];
            h *= FNV64_PRIME;
        }
        done += n;
        if (tick && n == CB_KERNEL_TICK_BYTES)
            cb_task_tick();
    }
    return h;
}

/* Folds one pass's hash into the running result (order-dependent, so a lost
 * or repeated pass changes it). */
static uint64_t fold(uint64_t acc, uint64_t h)
{
    return (acc ^ h) * FNV64_PRIME + 1;
}

static uint64_t kernel_run(const uint8_t *buf, uint64_t bytes, int tick)
{
    uint64_t acc = 0;
    uint64_t passes = bytes / CB_KERNEL_BUF_BYTES;
    for (uint64_t p = 0; p < passes; p++) {
        /* The compiler must not hash the buffer once and reuse the result
         * for every pass: this barrier says memory may have changed. */
        __asm__ volatile("" ::: "memory");
        acc = fold(acc, fnv1a(buf, CB_KERNEL_BUF_BYTES, tick));
    }
    __asm__ volatile("" ::: "memory");
    return fold(acc, fnv1a(buf, (size_t)(bytes % CB_KERNEL_BUF_BYTES), tick));
}

static int kernel_setup(const cb_wl_params_t *p, void **arg)
{
    kernel_arg_t *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    /* Untimed, and before any fork, so forked children share the pages. */
    a->buf = malloc(CB_KERNEL_BUF_BYTES);
    if (!a->buf)
        goto err;
    for (size_t i = 0; i < CB_KERNEL_BUF_BYTES / 8; i++) {
        uint64_t v = cb_wl_splitmix64(p->seed, i);
        for (int b = 0; b < 8; b++)
            a->buf[i * 8 + (size_t)b] = (uint8_t)(v >> (8 * b));
    }
    a->bytes = p->cpu_iters / CB_KERNEL_ITERS_PER_BYTE;
    uint64_t full = fnv1a(a->buf, CB_KERNEL_BUF_BYTES, 0);
    uint64_t acc = 0;
    for (uint64_t i = 0; i < a->bytes / CB_KERNEL_BUF_BYTES; i++)
        acc = fold(acc, full);
    a->expected = fold(acc, fnv1a(a->buf, (size_t)(a->bytes % CB_KERNEL_BUF_BYTES), 0));
    *arg = a;
    return 0;
err:
    free(a);
    return -ENOMEM;
}

static uint64_t kernel_task(void *arg, size_t index)
{
    const kernel_arg_t *a = arg;
    (void)index;
    return kernel_run(a->buf, a->bytes, 1);
}

static int kernel_check(void *arg, size_t index, uint64_t value)
{
    (void)index;
    return value == ((kernel_arg_t *)arg)->expected ? 0 : -1;
}

static void kernel_teardown(void *arg)
{
    kernel_arg_t *a = arg;
    free(a->buf);
    free(a);
}

const cb_workload_t cb_wl_cpu_kernel = {
    .name = "cpu_kernel",
    .summary = "FNV-1a hash over a 128 KiB (L2-resident) buffer, cpu_iters/4 bytes per task",
    .setup = kernel_setup,
    .task = kernel_task,
    .check = kernel_check,
    .teardown = kernel_teardown,
};
