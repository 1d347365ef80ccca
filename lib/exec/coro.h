#ifndef CB_CORO_H
#define CB_CORO_H

/* Stackful coroutines on one thread.
 *
 * Three switch implementations: our own x86-64 assembly switch (coro_switch_x86_64.S;
 * on other architectures it is unavailable and ucontext is used), glibc's
 * swapcontext, and Boost.Context's fcontext (jump_fcontext, the switch
 * under Boost.Coroutine2 and Boost.Fiber), the peer our switch is measured
 * against. Stacks are mmap'ed with a guard page below them.
 *
 * A coroutine is resumed by whoever holds it (a scheduler, or a test) and
 * yields back to that resumer. Not thread-safe: a coroutine lives and dies
 * on the thread that created it. */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CB_CORO_ASM = 0,
    CB_CORO_UCONTEXT,
    CB_CORO_FCONTEXT,
} cb_coro_impl_t;

typedef struct cb_coro cb_coro_t;
typedef void (*cb_coro_fn_t)(void *arg);

/* NULL when the asm switch is not built for this architecture, else why. */
const char *cb_coro_asm_unavailable(void);

/* Creates a suspended coroutine that will run fn(arg) on its own stack of
 * stack_size bytes (rounded up to pages; 0 means 64 KiB) plus a guard page.
 * Returns NULL with *err = negative errno on failure. */
cb_coro_t *cb_coro_create(cb_coro_impl_t impl, size_t stack_size, cb_coro_fn_t fn, void *arg,
                          int *err);

/* Switches into c until it yields or returns. Must not be called from c
 * itself. Resuming a finished coroutine is a broken invariant (aborts). */
void cb_coro_resume(cb_coro_t *c);

/* From inside a coroutine: switches back to its resumer. */
void cb_coro_yield(void);

/* The coroutine running on this thread, NULL outside one. */
cb_coro_t *cb_coro_current(void);

/* 1 once fn has returned. */
int cb_coro_done(const cb_coro_t *c);

/* Frees the stack. The coroutine must be done or never started; one that
 * is suspended mid-run is dropped without unwinding (whatever its frames
 * own leaks), which only an error path should do. NULL is a no-op. */
void cb_coro_destroy(cb_coro_t *c);

/* Re-arms a finished (or never started) coroutine to run fn(arg) from the
 * top of its existing stack, so a scheduler can recycle stacks. Returns 0,
 * -EBUSY if c is running or suspended mid-run, or a negative errno. */
int cb_coro_reset(cb_coro_t *c, cb_coro_fn_t fn, void *arg);

/* For the switch benchmark: mean nanoseconds per one-way switch (a resume
 * or a yield) over iters resume/yield round trips on a fresh coroutine,
 * timed with CLOCK_MONOTONIC around the whole loop. Returns a negative
 * errno (as a double) on failure: -EINVAL for iters 0, -ENOTSUP for an
 * unavailable impl, or what cb_coro_create failed with. */
double cb_coro_measure_switch_ns(cb_coro_impl_t impl, uint64_t iters);

#ifdef __cplusplus
}
#endif
#endif
