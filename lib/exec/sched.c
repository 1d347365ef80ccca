#include "lib/exec/sched.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/task_env.h"

/* Events taken from one epoll_wait. More simply wait for the next pass. */
#define SCHED_EVENTS 64
#define NOT_IN_HEAP SIZE_MAX
/* epoll data of the timerfd; every other registration carries its fd. */
#define TIMER_KEY UINT64_MAX
/* Readiness bits a waiter asks for; EPOLLERR and EPOLLHUP wake every waiter
 * and are reported whatever the interest. */
#define WANT_BITS (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP)

/* fd waits: one level-triggered registration per fd, kept between waits.
 *
 * Registering and removing an fd's epoll interest on every wait costs two
 * epoll_ctl per wait; a request-response socket served by a coroutine then
 * makes four system calls per request instead of two. So each fd number has
 * a record (struct fdrec, in a table indexed by fd) with the interest that is
 * registered and the list of tasks waiting on it, and the registration stays
 * after a wait ends:
 *
 * - A wait whose events the registered interest already covers makes no
 *   system call. Otherwise it widens the interest (EPOLL_CTL_ADD or MOD).
 * - Level-triggered, so a wait has poll(2) semantics: an fd that is ready
 *   when the wait starts is reported by the next epoll_wait, and one left
 *   partly read is reported again.
 * - Interest is narrowed lazily, when epoll reports something no task waits
 *   for (it would be reported again on every pass): bits that no waiter
 *   wants are dropped with one MOD, and an fd that nobody waits on at all is
 *   removed (EPOLL_CTL_DEL; EPOLLHUP and EPOLLERR cannot be masked). The
 *   usual pattern, wait-read-write-wait on one socket, therefore costs no
 *   epoll_ctl after the first wait.
 * - Several tasks may wait on one fd (a reader and a writer on one socket):
 *   one registration carries the union of their events, and a report wakes
 *   the tasks whose events it contains (EPOLLERR / EPOLLHUP wake all).
 * - Close and reuse: epoll drops a registration when the file is closed,
 *   but the record would still claim it, and a later fd with the same number
 *   would wait for a report that never comes; and while another descriptor
 *   keeps the old file open (a forked child) its registration survives and
 *   reports under the reused number. Hence cb_sched_forget_fd before close:
 *   it removes the registration while the fd still names the file, wakes
 *   any task still waiting on it with -EBADF and clears the record. Waits
 *   through the task environment (cb_task_wait_fd) come from code that does
 *   not know the scheduler and will not call it, so they drop a
 *   registration they created when they end (two epoll_ctl per wait, as
 *   before). */
struct fdrec {
    struct task *waiters; /* tasks waiting on this fd, linked by fd_next */
    uint32_t interest;    /* registered epoll events, when registered */
    int registered;
};

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
    int wait_result;       /* fd wait: 1 ready, 0 timed out, -EBADF forgotten */
    int wait_fd;           /* the fd waited on while TASK_WAIT_FD */
    uint32_t wait_events;  /* the epoll events the wait asks for */
    struct task *fd_prev;  /* the fd record's waiter list */
    struct task *fd_next;
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
    struct fdrec *fds; /* indexed by fd number; see the design above */
    size_t nfds;
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

static int wait_fd(cb_sched_t *s, struct task *t, int fd, short events, int timeout_ms, int keep);

static int env_wait_fd(void *ctx, int fd, short events, int timeout_ms)
{
    cb_sched_t *s = ctx;
    struct task *t = running_task(s);
    if (t)
        return wait_fd(s, t, fd, events, timeout_ms, 0);
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

    if (impl != CB_CORO_ASM && impl != CB_CORO_UCONTEXT && impl != CB_CORO_FCONTEXT) {
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
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TIMER_KEY};
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
    free(s->fds);
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

/* Ends t's fd wait with result: off the fd's waiter list and the heap,
 * into the run queue. */
static void end_fd_wait(cb_sched_t *s, struct task *t, int result)
{
    struct fdrec *r = &s->fds[t->wait_fd];
    if (t->fd_prev)
        t->fd_prev->fd_next = t->fd_next;
    else
        r->waiters = t->fd_next;
    if (t->fd_next)
        t->fd_next->fd_prev = t->fd_prev;
    t->fd_prev = t->fd_next = NULL;
    if (t->heap_idx != NOT_IN_HEAP)
        heap_remove(s, t);
    t->wait_result = result;
    s->fd_waiters--;
    rq_push(s, t);
}

/* Makes the tasks whose deadline has passed runnable: sleepers, and fd
 * waits that timed out (their result is 0). */
static void expire_timers(cb_sched_t *s, uint64_t now)
{
    while (s->heap_len > 0 && s->heap[0]->deadline <= now) {
        struct task *t = s->heap[0];
        heap_remove(s, t);
        if (t->state == TASK_WAIT_FD)
            end_fd_wait(s, t, 0);
        else
            rq_push(s, t);
    }
}

/* Changes fd's registration to interest (op EPOLL_CTL_ADD or MOD), falling
 * back to the other operation when the kernel's view differs from the
 * record's: ENOENT on MOD (the file was closed and the number reused without
 * cb_sched_forget_fd), EEXIST on ADD. */
static int fd_set_interest(cb_sched_t *s, int fd, struct fdrec *r, uint32_t interest)
{
    struct epoll_event ev = {.events = interest, .data.u64 = (uint64_t)fd};
    int op = r->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->epfd, op, fd, &ev) != 0) {
        int alt = errno == ENOENT && op == EPOLL_CTL_MOD   ? EPOLL_CTL_ADD
                  : errno == EEXIST && op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD
                                                           : -1;
        if (alt < 0 || epoll_ctl(s->epfd, alt, fd, &ev) != 0)
            return -errno;
    }
    r->registered = 1;
    r->interest = interest;
    return 0;
}

/* Removes fd's registration. EBADF / ENOENT: the fd was closed, which
 * already ended it. */
static int fd_unregister(cb_sched_t *s, int fd, struct fdrec *r)
{
    r->registered = 0;
    r->interest = 0;
    if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 && errno != EBADF && errno != ENOENT)
        return -errno;
    return 0;
}

/* A report of revents for fd: wakes the waiters it concerns, and narrows or
 * removes the registration when it reported what nobody waits for. */
static int fd_event(cb_sched_t *s, int fd, uint32_t revents)
{
    if (fd < 0 || (size_t)fd >= s->nfds)
        return 0;
    struct fdrec *r = &s->fds[fd];
    /* A report from the same epoll_wait as an earlier removal. */
    if (!r->registered)
        return 0;
    if (!r->waiters)
        return fd_unregister(s, fd, r);
    uint32_t wanted = 0;
    struct task *t = r->waiters;
    while (t) {
        struct task *next = t->fd_next;
        wanted |= t->wait_events;
        if (revents & (t->wait_events | EPOLLERR | EPOLLHUP))
            end_fd_wait(s, t, 1);
        t = next;
    }
    /* The woken tasks run before the next epoll_wait and will usually wait
     * for the same events again, so only bits that no waiter wanted at
     * report time are dropped. */
    if ((revents & WANT_BITS & ~wanted) && wanted != r->interest) {
        int rc = fd_set_interest(s, fd, r, wanted);
        /* Closed without cb_sched_forget_fd, a caller's bug: the
         * registration went with the file, and it is not the loop's
         * failure. */
        if (rc == -EBADF || rc == -ENOENT) {
            r->registered = 0;
            r->interest = 0;
            rc = 0;
        }
        return rc;
    }
    return 0;
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
            if (ev[i].data.u64 == TIMER_KEY)
                rc = drain_timer(s);
            else
                rc = fd_event(s, (int)ev[i].data.u64, ev[i].events);
            if (rc < 0)
                return rc;
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

/* The record of fd, growing the table to hold it. NULL: out of memory. */
static struct fdrec *fd_rec(cb_sched_t *s, int fd)
{
    if ((size_t)fd >= s->nfds) {
        size_t n = s->nfds ? s->nfds : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct fdrec *fds = realloc(s->fds, n * sizeof(*fds));
        if (!fds)
            return NULL;
        memset(fds + s->nfds, 0, (n - s->nfds) * sizeof(*fds));
        s->fds = fds;
        s->nfds = n;
    }
    return &s->fds[fd];
}

/* cb_sched_wait_fd for task t. keep 0: the registration this wait creates
 * ends with it (waits from code that will not call cb_sched_forget_fd). */
static int wait_fd(cb_sched_t *s, struct task *t, int fd, short events, int timeout_ms, int keep)
{
    if (timeout_ms == 0)
        return cb_task_plain_wait_fd(fd, events, 0);
    if (fd < 0)
        return -EBADF;
    struct fdrec *r = fd_rec(s, fd);
    if (!r)
        return -ENOMEM;
    uint32_t want = poll_to_epoll(events);
    int was_registered = r->registered;
    if (!r->registered || (r->interest & want) != want) {
        int rc = fd_set_interest(s, fd, r, r->registered ? r->interest | want : want);
        if (rc < 0)
            return rc;
    }
    t->wait_fd = fd;
    t->wait_events = want;
    t->fd_prev = NULL;
    t->fd_next = r->waiters;
    if (r->waiters)
        r->waiters->fd_prev = t;
    r->waiters = t;
    if (timeout_ms > 0)
        heap_push(s, t, add_sat(cb_now_ns(), (uint64_t)timeout_ms * 1000000u));
    t->state = TASK_WAIT_FD;
    s->fd_waiters++;
    cb_coro_yield();
    int rc = t->wait_result;
    /* The table may have moved while this task was suspended. */
    r = &s->fds[fd];
    if (!keep && !was_registered && r->registered && !r->waiters) {
        int urc = fd_unregister(s, fd, r);
        if (urc < 0 && rc >= 0)
            rc = urc;
    }
    return rc;
}

int cb_sched_wait_fd(int fd, short events, int timeout_ms)
{
    cb_sched_t *s = tls_sched;
    struct task *t = running_task(s);
    if (!t)
        return -EPERM;
    return wait_fd(s, t, fd, events, timeout_ms, 1);
}

int cb_sched_forget_fd(int fd)
{
    cb_sched_t *s = tls_sched;
    if (!s || !s->running)
        return -EPERM;
    if (fd < 0 || (size_t)fd >= s->nfds)
        return 0;
    struct fdrec *r = &s->fds[fd];
    while (r->waiters)
        end_fd_wait(s, r->waiters, -EBADF);
    if (!r->registered)
        return 0;
    return fd_unregister(s, fd, r);
}

void cb_sched_yield(void)
{
    if (running_task(tls_sched))
        cb_coro_yield();
}
