/* The fault workloads: harness self-tests, never run by default (fault = 1).
 * Task 0 faults; every other task counts to min(cpu_iters, 2^20) like cpu,
 * so a run can check that the other tasks still finish. The check rejects
 * any value from task 0, since a task 0 that returned did not fault.
 *
 *   fault_crash  task 0 dies of SIGSEGV (a write to an address in page 0).
 *   fault_hang   task 0 never returns: it sleeps 10 ms at a time through the
 *                task environment forever, so a coroutine hangs too, without
 *                blocking its event loop.
 *   fault_exit   task 0 leaves without reporting. On the main thread of its
 *                process (a forked child: process, process_pool, or a
 *                sandboxed serial or coroutine run) it calls _exit(0); on any
 *                other thread (thread, thread_pool) pthread_exit(NULL), which
 *                ends that thread only. The rule looks at the thread, not at a
 *                pid recorded at setup, because the harness may run setup in
 *                one process and the executor in a forked sandbox child where
 *                the tasks are still threads. */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/core/task_env.h"
#include "lib/wl/workload_internal.h"

#define CB_FAULT_OTHER_ITERS_MAX (1ull << 20)
#define CB_FAULT_HANG_SLEEP_NS 10000000ull

typedef struct {
    uint64_t iters;
} fault_arg_t;

/* An address in page 0, which Linux keeps unmapped (vm.mmap_min_addr). Not NULL
 * itself, so UBSan's null check does not end the task first; read at run
 * time, so the compiler cannot replace the write with a trap (SIGILL). */
static volatile uintptr_t fault_null_addr = 16;

static int fault_setup(const cb_wl_params_t *p, void **arg)
{
    fault_arg_t *a = malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->iters = p->cpu_iters < CB_FAULT_OTHER_ITERS_MAX ? p->cpu_iters : CB_FAULT_OTHER_ITERS_MAX;
    *arg = a;
    return 0;
}

static int fault_check(void *arg, size_t index, uint64_t value)
{
    if (index == 0)
        return -1;
    return value == ((fault_arg_t *)arg)->iters ? 0 : -1;
}

static _Noreturn void crash(void)
{
    /* The task must die of SIGSEGV whatever handler is installed (a
     * sanitizer's turns it into an abort, a harness's might survive it), so
     * the default action is restored and the signal unblocked first. */
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigset_t set;
    if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0)
        abort();
    if (sigemptyset(&set) != 0 || sigaddset(&set, SIGSEGV) != 0 ||
        pthread_sigmask(SIG_UNBLOCK, &set, NULL) != 0)
        abort();
    *(volatile int *)fault_null_addr = 1;
    /* Only reached where page 0 is mapped (vm.mmap_min_addr = 0). */
    raise(SIGSEGV);
    abort();
}

static uint64_t crash_task(void *arg, size_t index)
{
    if (index == 0)
        crash();
    return cb_wl_count(((fault_arg_t *)arg)->iters);
}

static uint64_t hang_task(void *arg, size_t index)
{
    if (index == 0)
        for (;;)
            if (cb_task_sleep_ns(CB_FAULT_HANG_SLEEP_NS) != 0)
                /* Still hang, and without spinning, if the environment's
                 * sleep fails. */
                (void)cb_task_plain_sleep_ns(CB_FAULT_HANG_SLEEP_NS);
    return cb_wl_count(((fault_arg_t *)arg)->iters);
}

static uint64_t exit_task(void *arg, size_t index)
{
    if (index == 0) {
        if (gettid() == getpid())
            _exit(0);
        pthread_exit(NULL);
    }
    return cb_wl_count(((fault_arg_t *)arg)->iters);
}

const cb_workload_t cb_wl_fault_crash = {
    .name = "fault_crash",
    .summary = "task 0 dies of SIGSEGV; the others count like cpu (harness self-test)",
    .fault = 1,
    .setup = fault_setup,
    .task = crash_task,
    .check = fault_check,
    .teardown = free,
};

const cb_workload_t cb_wl_fault_hang = {
    .name = "fault_hang",
    .summary =
        "task 0 never returns (sleeps forever); the others count like cpu (harness self-test)",
    .fault = 1,
    .setup = fault_setup,
    .task = hang_task,
    .check = fault_check,
    .teardown = free,
};

const cb_workload_t cb_wl_fault_exit = {
    .name = "fault_exit",
    .summary = "task 0 calls _exit(0) or pthread_exit before reporting; the others count like cpu "
               "(harness self-test)",
    .fault = 1,
    .setup = fault_setup,
    .task = exit_task,
    .check = fault_check,
    .teardown = free,
};
