#ifndef CB_TESTING_OWN_PROCESS_H
#define CB_TESTING_OWN_PROCESS_H

/* Test-only: runs part of a test in a forked child, for an executor whose
 * library keeps one pool per process (cb_executor_t.per_process: libuv's,
 * sized by its first open), as the harness's sandbox gives each
 * measurement a process of its own. The child's failures are printed by
 * the child and fail the test through its exit status. */

#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

/* True in a child of InOwnProcess (a child does not fork again). */
inline bool &InOwnProcessChild()
{
    static bool in_child = false;
    return in_child;
}

/* Runs fn here when fork_it is false or this is already such a child; else
 * in a forked child, waiting for it. */
template <class F> void InOwnProcess(bool fork_it, const char *what, F fn)
{
    if (!fork_it || InOwnProcessChild()) {
        fn();
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        InOwnProcessChild() = true;
        fn();
        fflush(stdout);
        _exit(::testing::Test::HasFailure() ? 1 : 0);
    }
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << what << " in its own process";
}

#endif
