#ifndef CB_SCHED_H
#define CB_SCHED_H

/* A coroutine scheduler on one thread, with an epoll event loop.
 *
 * Coroutines that wait (sleep, socket readiness) register with epoll (timers
 * through one timerfd armed for the earliest deadline, kept in a min-heap)
 * and yield; the loop resumes them when ready. Thousands of sleeping
 * coroutines therefore cost one thread and one epoll_wait.
 *
 * While cb_sched_run runs, the thread's task environment (task_env.h) routes
 * cb_task_sleep_ns and cb_task_wait_fd from inside coroutines to the
 * scheduler, so workloads written against task_env.h need no change. */

#include <stdint.h>

#include "lib/exec/coro.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_sched cb_sched_t;

/* Returns NULL with *err = negative errno on failure. */
cb_sched_t *cb_sched_new(cb_coro_impl_t impl, size_t stack_size, int *err);
void cb_sched_free(cb_sched_t *s);

/* Adds a runnable coroutine (before or during cb_sched_run, also from inside
 * a coroutine). Returns 0 or a negative errno. */
int cb_sched_spawn(cb_sched_t *s, cb_coro_fn_t fn, void *arg);

/* Runs until every coroutine has finished. Returns 0 or a negative errno. */
int cb_sched_run(cb_sched_t *s);

/* From inside a coroutine of the running scheduler. */
int cb_sched_sleep_ns(uint64_t ns);
/* Waits for fd readiness (POLLIN / POLLOUT, level-triggered like poll);
 * returns >0 ready, 0 timeout, negative errno (-EBADF: the fd was forgotten
 * while waiting). timeout_ms -1 waits without limit. The fd's epoll
 * registration outlives the wait, so the next wait on it costs no system
 * call: call cb_sched_forget_fd before closing an fd waited on here.
 * Several coroutines may wait on one fd. */
int cb_sched_wait_fd(int fd, short events, int timeout_ms);
/* Drops what the running scheduler keeps for fd (its epoll registration)
 * and ends any wait on it with -EBADF. Call it before close(fd) when fd was
 * waited on with cb_sched_wait_fd, or the fd number, once reused, may never
 * be reported ready. From code running on the scheduler's thread (a
 * coroutine); returns 0, -EPERM outside a running scheduler, or a negative
 * errno. cb_task_wait_fd needs none: its registrations end with its wait. */
int cb_sched_forget_fd(int fd);
/* Lets other runnable coroutines run. */
void cb_sched_yield(void);

#ifdef __cplusplus
}
#endif
#endif
