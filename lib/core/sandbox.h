#ifndef CB_SANDBOX_H
#define CB_SANDBOX_H

/* Runs a piece of work in a forked child the harness can kill.
 *
 * Every measured configuration runs this way, so a task that crashes, hangs
 * or calls _exit takes down only its child: the harness records the status
 * and goes on. The child shares one MAP_SHARED region with the parent for its
 * results. On timeout the child gets SIGTERM, then SIGKILL after a grace
 * period. Children never outlive the harness: every child (and every process
 * an executor forks) sets PR_SET_PDEATHSIG to SIGKILL, and the harness keeps
 * the pids it has running so a signal handler can kill them (no process
 * groups or sessions are created: Bazel's test sandbox may forbid them). */

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cb_sandbox_result {
    cb_status_t status; /* CB_OK: fn returned 0 and the child exited 0 */
    int signo;          /* CB_CRASHED / CB_TIMEOUT: the signal that ended it */
    int exit_code;      /* when it exited */
    int fn_rc;          /* fn's return value, when it returned */
    uint64_t wall_ns;   /* fork to reap */
    char detail[96];    /* "SIGSEGV", "timeout after 2.0 s", "exit 0 before reporting" */
} cb_sandbox_result_t;

/* fn runs in the child with shm (shm_size bytes, zeroed, MAP_SHARED, visible
 * to the parent after return). Its return value is the child's report: the
 * child exits 0 after fn returns; fn_rc says what fn returned. A child that
 * exits without fn returning (any _exit) is CB_ERROR; one killed by a signal
 * is CB_CRASHED with the signal (SIGKILL from outside included, with a detail
 * that says "killed (SIGKILL; out of memory?)"); one past timeout_ns (0 = no
 * limit) is CB_TIMEOUT.
 * Nothing the run started outlives it: the calling process becomes a child
 * subreaper (PR_SET_CHILD_SUBREAPER) on the first call, and any process
 * orphaned by the run (a task's grandchild after the sandbox child crashed,
 * exited or was SIGKILLed) is killed and reaped before this returns.
 * Returns 0 when the child ran (see *res), or a negative errno when it could
 * not be started. Not for use from several threads at once. */
int cb_sandbox_run(int (*fn)(void *shm, void *arg), void *arg, void *shm, uint64_t timeout_ns,
                   cb_sandbox_result_t *res);

/* Allocates / frees a MAP_SHARED anonymous region for cb_sandbox_run. */
void *cb_sandbox_shm_alloc(size_t size);
void cb_sandbox_shm_free(void *shm, size_t size);

/* Call first thing in every forked child: sets PR_SET_PDEATHSIG(SIGKILL) and
 * exits at once if the parent is already gone (parent_pid is getpid() of the
 * parent, read before fork). */
void cb_child_init(pid_t parent_pid);

/* The same two steps for a child that runs one short task and _exits (the
 * process executor): raw system calls inlined into the caller, no libc
 * wrapper and no signal() resets. A fresh child takes a page fault for every
 * text page it runs (about 3 us each on this VM, against ~100-250 us for the
 * whole fork+waitpid), so each libc wrapper called here is measurable.
 * Signals: the child keeps the handlers of the process that forked it; the
 * harness's handlers (runner.c, sandbox.c) check which process they run in
 * and fall back to the default action in any other. */
static inline long cb_raw_syscall2(long nr, long a, long b)
{
#if defined(__x86_64__)
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1) : "memory");
    return x0;
#else
    long ret = syscall(nr, a, b);
    return ret < 0 ? -errno : ret;
#endif
}

static inline void cb_child_init_quick(pid_t parent_pid)
{
    if (cb_raw_syscall2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL) != 0 ||
        cb_raw_syscall2(SYS_getppid, 0, 0) != parent_pid)
        _exit(126);
}

/* The process-wide list of live children, for signal handlers. Track after
 * fork, untrack after reaping. cb_children_kill_all is async-signal-safe. */
void cb_children_track(pid_t pid);
void cb_children_untrack(pid_t pid);
void cb_children_kill_all(int sig);

/* fork as every helper process of the harness is forked: the child has run
 * cb_child_init (it dies with its parent), the parent has tracked it.
 * Returns 0 in the child, the pid in the parent, or -errno. Untrack after
 * reaping. */
pid_t cb_fork_child(void);

#ifdef __cplusplus
}
#endif
#endif
