#include "lib/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/task_env.h"

/* Events taken from one epoll_wait. More simply wait for the next pass. */
#define SCHED_EVENTS 64
#define NOT_IN_HEAP SIZE_MAX

typedef enum {
    TASK_READY,   /* in the run queue */
    TASK_RUNNING, /* resumed by the loop right now */
    TASK_SLEEPING,
    TASK_WAIT_FD,
    TASK_FREE, /* finished; its coroutine and stack wait for reuse */
} task_state_t;

/* One spawned coroutine. Tasks are never freed before the scheduler: a
 * finished one goes to the free list with its stack, and a later spawn
 * reuses both, so a spawn after the first wave costs no mmap. */
struct task {
    cb_sched_t *s;
    cb_coro_t *coro;
    cb_coro_fn_t fn;
    void *arg;
    task_state_t state;
    struct task *next;     /* run queue or free list */
    struct task *all_next; /* every task of the scheduler */
    uint64_t deadline;     /* while in the sleeper heap */
    size_t heap_idx;       /* position in the heap, NOT_IN_HEAP when absent */
    int wait_result;       /* fd wait: 1 ready, 0 timed out */
};

struct cb_sched {
    cb_coro_impl_t impl;
    size_t stack_size;
    int epfd;
    int tfd;              /* the one timerfd, armed for the heap's earliest deadline */
    uint64_t armed;       /* the deadline tfd is armed for; 0 when it is not */
    struct task *rq_head; /* run queue, FIFO */
    struct task *rq_tail;
    struct task **heap; /* sleepers (and fd waits with a timeout): min-heap on deadline */
    size_t heap_len;
    size_t heap_cap; /* >= number of tasks, so a push never allocates */
    size_t ntasks;
    struct task *free_list;
    struct task *all;
    size_t live;       /* spawned and not finished */
    size_t fd_waiters; /* tasks in TASK_WAIT_FD */
    struct task *current;
    int running;
    cb_task_env_t env;
};

/* The scheduler whose cb_sched_run is running on this thread. */
static __thread cb_sched_t *tls_sched;

/* Binary min-heap on deadline (heap[0] earliest; children of i at 2i+1 and
 * 2i+2), with each task's index kept in the task so a timed fd wait that
 * completes early can be taken out in O(log n). */
static void heap_set(cb_sched_t *s, size_t i, struct task *t)
{
    s->heap[i] = t;
    t->heap_idx = i;
}

static void heap_up(cb_sched_t *s, size_t i)
{
    struct task *t = s->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent]->deadline <= t->deadline)
            break;
        heap_set(s, i, s->heap[parent]);
        i = parent;
    }
    heap_set(s, i, t);
}

static void heap_down(cb_sched_t *s, size_t i)
{
    struct task *t = s->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->heap_len)
            break;
        if (child + 1 < s->heap_len && s->heap[child + 1]->deadline < s->heap[child]->deadline)
            child++;
        if (t->deadline <= s->heap[child]->deadline)
            break;
        heap_set(s, i, s->heap[child]);
        i = child;
    }
    heap_set(s, i, t);
}

static void heap_push(cb_sched_t *s, struct task *t, uint64_t deadline)
{
    /* Capacity is reserved at spawn time (one slot per task). */
    if (s->heap_len >= s->heap_cap)
        abort();
    t->deadline = deadline;
    heap_set(s, s->heap_len++, t);
    heap_up(s, t->heap_idx);
}

static void heap_remove(cb_sched_t *s, struct task *t)
{
    size_t i = t->heap_idx;
    struct task *last = s->heap[--s->heap_len];
    t->heap_idx = NOT_IN_HEAP;
    if (last == t)
        return;
    heap_set(s, i, last);
    heap_up(s, i);
    heap_down(s, last->heap_idx);
}

static void rq_push(cb_sched_t *s, struct task *t)
{
    t->state = TASK_READY;
    t->next = NULL;
    if (s->rq_tail)
        s->rq_tail->next = t;
    else
        s->rq_head = t;
    s->rq_tail = t;
}

static struct task *rq_pop(cb_sched_t *s)
{
    struct task *t = s->rq_head;
    if (t) {
        s->rq_head = t->next;
        if (!s->rq_head)
            s->rq_tail = NULL;
    }
    return t;
}

/* The task of s that is running on this thread, or NULL when the caller is
 * not that task's coroutine itself (the loop, or a coroutine the task
 * created and resumed on its own). */
static struct task *running_task(cb_sched_t *s)
{
    if (!s || !s->current || cb_coro_current() != s->current->coro)
        return NULL;
    return s->current;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int env_sleep_ns(void *ctx, uint64_t ns)
{
    cb_sched_t *s = ctx;
    if (running_task(s))
        return cb_sched_sleep_ns(ns);
    const cb_task_env_t *prev = s->env.prev;
    if (prev && prev->sleep_ns)
        return prev->sleep_ns(prev->ctx, ns);
    return cb_task_plain_sleep_ns(ns);
}

static int env_wait_fd(void *ctx, int fd, short events, int timeout_ms)
{
    cb_sched_t *s = ctx;
    if (running_task(s))
        return cb_sched_wait_fd(fd, events, timeout_ms);
    const cb_task_env_t *prev = s->env.prev;
    if (prev && prev->wait_fd)
        return prev->wait_fd(prev->ctx, fd, events, timeout_ms);
    return cb_task_plain_wait_fd(fd, events, timeout_ms);
}

/* Coroutines are cooperative: CPU work runs until it waits. A tick only
 * reaches an environment below ours (the interpreter-lock emulation). */
static void env_tick(void *ctx)
{
    cb_sched_t *s = ctx;
    const cb_task_env_t *prev = s->env.prev;
    if (prev && prev->tick)
        prev->tick(prev->ctx);
}

cb_sched_t *cb_sched_new(cb_coro_impl_t impl, size_t stack_size, int *err)
{
    int rc;
    cb_sched_t *s = NULL;

    if (impl != CB_CORO_ASM && impl != CB_CORO_UCONTEXT) {
        rc = -EINVAL;
        goto err;
    }
    if (impl == CB_CORO_ASM && cb_coro_asm_unavailable()) {
        rc = -ENOTSUP;
        goto err;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = -ENOMEM;
        goto err;
    }
    s->impl = impl;
    s->stack_size = stack_size;
    s->tfd = -1;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        rc = -errno;
        goto err;
    }
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->tfd < 0) {
        rc = -errno;
        goto err;
    }
    /* data.ptr NULL marks the timer; every other registration is a task. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->tfd, &ev) != 0) {
        rc = -errno;
        goto err;
    }
    s->env = (cb_task_env_t){
        .sleep_ns = env_sleep_ns,
        .wait_fd = env_wait_fd,
        .tick = env_tick,
        .ctx = s,
    };
    return s;

err:
    if (s) {
        if (s->tfd >= 0 && close(s->tfd) != 0)
            abort();
        if (s->epfd >= 0 && close(s->epfd) != 0)
            abort();
        free(s);
    }
    if (err)
        *err = rc;
    return NULL;
}

void cb_sched_free(cb_sched_t *s)
{
    if (!s)
        return;
    if (s->running)
        abort();
    /* Tasks still suspended here exist only after cb_sched_run failed; their
     * stacks are dropped without unwinding (cb_coro_destroy's contract). */
    struct task *t = s->all;
    while (t) {
        struct task *next = t->all_next;
        cb_coro_destroy(t->coro);
        free(t);
        t = next;
    }
    if (close(s->tfd) != 0 || close(s->epfd) != 0)
        abort();
    free(s->heap);
    free(s);
}

static void task_main(void *arg)
{
    struct task *t = arg;
    t->fn(t->arg);
}

int cb_sched_spawn(cb_sched_t *s, cb_coro_fn_t fn, void *arg)
{
    int rc;
    struct task *t = NULL;

    if (!fn)
        return -EINVAL;
    if (s->free_list) {
        t = s->free_list;
        rc = cb_coro_reset(t->coro, task_main, t);
        if (rc < 0)
            return rc;
        s->free_list = t->next;
    } else {
        if (s->ntasks == s->heap_cap) {
            size_t cap = s->heap_cap ? 2 * s->heap_cap : 64;
            struct task **heap = realloc(s->heap, cap * sizeof(*heap));
            if (!heap)
                return -ENOMEM;
            s->heap = heap;
            s->heap_cap = cap;
        }
        t = calloc(1, sizeof(*t));
        if (!t)
            return -ENOMEM;
        t->coro = cb_coro_create(s->impl, s->stack_size, task_main, t, &rc);
        if (!t->coro)
            goto err;
        t->s = s;
        t->all_next = s->all;
        s->all = t;
        s->ntasks++;
    }
    t->fn = fn;
    t->arg = arg;
    t->heap_idx = NOT_IN_HEAP;
    rq_push(s, t);
    s->live++;
    return 0;

err:
    free(t);
    return rc;
}

/* Makes the tasks whose deadline has passed runnable: sleepers, and fd
 * waits that timed out (their result is 0). */
static void expire_timers(cb_sched_t *s, uint64_t now)
{
    while (s->heap_len > 0 && s->heap[0]->deadline <= now) {
        struct task *t = s->heap[0];
        heap_remove(s, t);
        if (t->state == TASK_WAIT_FD) {
            t->wait_result = 0;
            s->fd_waiters--;
        }
        rq_push(s, t);
    }
}

static void fd_ready(cb_sched_t *s, struct task *t)
{
    /* One epoll_wait can report a task whose wait already ended earlier in
     * the same batch (its timeout fired first); that report is stale. */
    if (t->state != TASK_WAIT_FD)
        return;
    if (t->heap_idx != NOT_IN_HEAP)
        heap_remove(s, t);
    t->wait_result = 1;
    s->fd_waiters--;
    rq_push(s, t);
}

/* Arms the timerfd for the earliest deadline, unless it already is. A timer
 * left armed for a deadline that went away only causes a spurious wake-up,
 * so it is never disarmed. */
static int arm_timer(cb_sched_t *s)
{
    if (s->heap_len == 0 || s->heap[0]->deadline == s->armed)
        return 0;
    uint64_t d = s->heap[0]->deadline;
    struct itimerspec its = {
        .it_value = {.tv_sec = (time_t)(d / 1000000000u), .tv_nsec = (long)(d % 1000000000u)},
    };
    if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        return -errno;
    s->armed = d;
    return 0;
}

static int drain_timer(cb_sched_t *s)
{
    uint64_t expirations;
    ssize_t n = read(s->tfd, &expirations, sizeof(expirations));
    if (n == (ssize_t)sizeof(expirations)) {
        /* Expired, so no longer armed (settime resets the count, so this
         * was the latest arming). */
        s->armed = 0;
        return 0;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    return n < 0 ? -errno : -EIO;
}

/* Resumes each task that is ready at the start of the pass once; tasks made
 * ready during the pass (yielders, spawns) wait for the next one, so the
 * loop polls for I/O between passes even while tasks keep yielding. */
static void run_ready(cb_sched_t *s)
{
    struct task *last = s->rq_tail;
    struct task *t;
    while ((t = rq_pop(s)) != NULL) {
        t->state = TASK_RUNNING;
        s->current = t;
        cb_coro_resume(t->coro);
        s->current = NULL;
        if (cb_coro_done(t->coro)) {
            t->state = TASK_FREE;
            t->next = s->free_list;
            s->free_list = t;
            s->live--;
        } else if (t->state == TASK_RUNNING) {
            /* It yielded without waiting (cb_sched_yield or a bare
             * cb_coro_yield): it is still runnable. */
            rq_push(s, t);
        }
        if (t == last)
            break;
    }
}

static int loop(cb_sched_t *s)
{
    struct epoll_event ev[SCHED_EVENTS];
    int rc;

    while (s->live > 0) {
        run_ready(s);
        if (s->live == 0)
            break;
        if (s->heap_len == 0 && s->fd_waiters == 0) {
            /* Nothing to wait for: skip the system call while tasks only
             * yield to each other. */
            if (!s->rq_head)
                abort(); /* a live task is queued, sleeping or waiting */
            continue;
        }
        int timeout = 0;
        if (!s->rq_head) {
            timeout = -1;
            rc = arm_timer(s);
            if (rc < 0)
                return rc;
        }
        int n = epoll_wait(s->epfd, ev, SCHED_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL) {
                rc = drain_timer(s);
                if (rc < 0)
                    return rc;
            } else {
                fd_ready(s, ev[i].data.ptr);
            }
        }
        if (s->heap_len > 0)
            expire_timers(s, cb_now_ns());
    }
    return 0;
}

int cb_sched_run(cb_sched_t *s)
{
    if (s->running)
        return -EBUSY;
    cb_sched_t *outer = tls_sched;
    s->running = 1;
    tls_sched = s;
    cb_task_env_push(&s->env);
    int rc = loop(s);
    /* A task that pushed an environment and did not pop it before the
     * scheduler ended has broken the stack discipline. */
    if (cb_task_env_current() != &s->env)
        abort();
    cb_task_env_pop();
    tls_sched = outer;
    s->running = 0;
    return rc;
}

int cb_sched_sleep_ns(uint64_t ns)
{
    cb_sched_t *s = tls_sched;
    struct task *t = running_task(s);
    if (!t)
        return -EPERM;
    if (ns == 0) {
        cb_coro_yield();
        return 0;
    }
    heap_push(s, t, add_sat(cb_now_ns(), ns));
    t->state = TASK_SLEEPING;
    cb_coro_yield();
    return 0;
}

static uint32_t poll_to_epoll(short events)
{
    uint32_t e = 0;
    if (events & POLLIN)
        e |= EPOLLIN;
    if (events & POLLOUT)
        e |= EPOLLOUT;
    if (events & POLLPRI)
        e |= EPOLLPRI;
    if (events & POLLRDHUP)
        e |= EPOLLRDHUP;
    return e;
}

int cb_sched_wait_fd(int fd, short events, int timeout_ms)
{
    cb_sched_t *s = tls_sched;
    struct task *t = running_task(s);
    int wfd = fd;
    int dupfd = -1;
    int rc;

    if (!t)
        return -EPERM;
    if (timeout_ms == 0)
        return cb_task_plain_wait_fd(fd, events, 0);
    /* One-shot: after the first report epoll ignores the fd until the
     * registration is deleted below, so a level-triggered fd that stays
     * ready is not reported again while the task waits to run. */
    struct epoll_event ev = {.events = poll_to_epoll(events) | EPOLLONESHOT, .data.ptr = t};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        if (errno != EEXIST)
            return -errno;
        /* Another task waits on this fd (a reader and a writer on one
         * socket). epoll keys registrations by (file, fd number), so a
         * duplicate descriptor gets a registration of its own. */
        dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dupfd < 0)
            return -errno;
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, dupfd, &ev) != 0) {
            rc = -errno;
            goto out;
        }
        wfd = dupfd;
    }
    if (timeout_ms > 0)
        heap_push(s, t, add_sat(cb_now_ns(), (uint64_t)timeout_ms * 1000000u));
    t->state = TASK_WAIT_FD;
    s->fd_waiters++;
    cb_coro_yield();
    rc = t->wait_result;
    /* EBADF / ENOENT: the fd was closed under us, which also ended the
     * registration. */
    if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, wfd, NULL) != 0 && errno != EBADF && errno != ENOENT)
        rc = -errno;
out:
    if (dupfd >= 0 && close(dupfd) != 0 && rc >= 0)
        rc = -errno;
    return rc;
}

void cb_sched_yield(void)
{
    if (running_task(tls_sched))
        cb_coro_yield();
}
