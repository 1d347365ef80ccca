#include "lib/core/task_env.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

static __thread const cb_task_env_t *current;

void cb_task_env_push(cb_task_env_t *env)
{
    env->prev = current;
    current = env;
}

void cb_task_env_pop(void)
{
    if (current)
        current = current->prev;
}

const cb_task_env_t *cb_task_env_current(void)
{
    return current;
}

int cb_task_plain_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    /* clock_nanosleep returns the error instead of setting errno; a signal
     * handler interrupting us must not shorten the sleep. */
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts)) == EINTR)
        ;
    return -rc;
}

int cb_task_plain_wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int rc;
    while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return rc < 0 ? -errno : rc;
}

int cb_task_sleep_ns(uint64_t ns)
{
    if (current && current->sleep_ns)
        return current->sleep_ns(current->ctx, ns);
    return cb_task_plain_sleep_ns(ns);
}

int cb_task_wait_fd(int fd, short events, int timeout_ms)
{
    if (current && current->wait_fd)
        return current->wait_fd(current->ctx, fd, events, timeout_ms);
    return cb_task_plain_wait_fd(fd, events, timeout_ms);
}

void cb_task_tick(void)
{
    if (current && current->tick)
        current->tick(current->ctx);
}
