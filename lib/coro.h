#ifndef CB_CORO_H
#define CB_CORO_H

/* Stackful coroutines on one thread.
 *
 * Two switch implementations: our own x86-64 assembly switch (coro_switch_x86_64.S;
 * on other architectures it is unavailable and ucontext is used) and glibc's
 * swapcontext. Stacks are mmap'ed with a guard page below them.
 *
 * A coroutine is resumed by whoever holds it (a scheduler, or a test) and
 * yields back to that resumer. Not thread-safe: a coroutine lives and dies
 * on the thread that created it. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CB_CORO_ASM = 0,
    CB_CORO_UCONTEXT,
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

/* Frees the stack. The coroutine must be done or never started. */
void cb_coro_destroy(cb_coro_t *c);

#ifdef __cplusplus
}
#endif
#endif
