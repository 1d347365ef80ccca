#ifndef CB_FUTEX_H
#define CB_FUTEX_H

/* Thin futex(2) wrappers and a spin hint, the only ones: the pools and
 * switch's ping-pong use them. The private
 * forms are for words inside one process (thread_pool); the shared forms for
 * words in MAP_SHARED memory that several processes wait on (process_pool). */

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline void cb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* Sleeps while *word == expect, at most timeout_ns (0: no limit). Returns 0
 * when woken (or the value differed), -ETIMEDOUT, or -EINTR. Any other error
 * is a broken invariant. */
static inline int cb_futex_wait_op(uint32_t *word, uint32_t expect, uint64_t timeout_ns,
                                   int private_op)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
        ts.tv_nsec = (long)(timeout_ns % 1000000000u);
        tsp = &ts;
    }
    int op = private_op ? FUTEX_WAIT_PRIVATE : FUTEX_WAIT;
    if (syscall(SYS_futex, word, op, expect, tsp, NULL, 0) == 0)
        return 0;
    if (errno == EAGAIN)
        return 0;
    if (errno == ETIMEDOUT || errno == EINTR)
        return -errno;
    abort();
}

static inline void cb_futex_wake_op(uint32_t *word, int n, int private_op)
{
    int op = private_op ? FUTEX_WAKE_PRIVATE : FUTEX_WAKE;
    if (syscall(SYS_futex, word, op, n, NULL, NULL, 0) < 0)
        abort();
}

#define cb_futex_wait_private(w, e, t) cb_futex_wait_op((w), (e), (t), 1)
#define cb_futex_wake_private(w, n) cb_futex_wake_op((w), (n), 1)
#define cb_futex_wait_shared(w, e, t) cb_futex_wait_op((w), (e), (t), 0)
#define cb_futex_wake_shared(w, n) cb_futex_wake_op((w), (n), 0)

#endif
