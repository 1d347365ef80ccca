#ifndef CB_TASK_ENV_H
#define CB_TASK_ENV_H

/* What a task may wait on, routed by whoever runs it.
 *
 * Workloads never call nanosleep or poll directly: they call these, and the
 * thread's current environment decides what a wait means. On a plain thread
 * or process it is nanosleep / poll. Under the coroutine scheduler the wait
 * becomes a timer or epoll registration and the coroutine yields. Under the
 * interpreter-lock emulation the lock is released for the wait and taken
 * again after it, and cb_task_tick() is where a thread hands the lock over
 * when another has waited past the switch interval.
 *
 * Environments stack: an environment's hooks may call the previous one
 * (saved by cb_task_env_push) to chain, e.g. the GIL around a coroutine. */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_task_env {
    /* Sleep ns nanoseconds. Returns 0 or a negative errno. */
    int (*sleep_ns)(void *ctx, uint64_t ns);
    /* Wait until fd is ready for events (POLLIN / POLLOUT) or timeout_ms
     * passes (-1: no limit). Returns >0 ready, 0 timeout, negative errno. */
    int (*wait_fd)(void *ctx, int fd, short events, int timeout_ms);
    /* Called by CPU work every so often (see CB_TASK_TICK_EVERY). */
    void (*tick)(void *ctx);
    void *ctx;
    const struct cb_task_env *prev; /* set by cb_task_env_push */
} cb_task_env_t;

/* Installs env as the calling thread's environment, remembering the previous
 * one in env->prev. Pop restores it. Thread-local; no locking. */
void cb_task_env_push(cb_task_env_t *env);
void cb_task_env_pop(void);
/* The calling thread's environment, NULL for the plain one. */
const cb_task_env_t *cb_task_env_current(void);

/* The waits a task makes. Plain behaviour when no environment is set. */
int cb_task_sleep_ns(uint64_t ns);
int cb_task_wait_fd(int fd, short events, int timeout_ms);

/* CPU loops call cb_task_tick() once every CB_TASK_TICK_EVERY iterations. */
#define CB_TASK_TICK_EVERY 4096u
void cb_task_tick(void);

/* The plain implementations, for environments that chain to them. */
int cb_task_plain_sleep_ns(uint64_t ns);
int cb_task_plain_wait_fd(int fd, short events, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
