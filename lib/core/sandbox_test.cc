#include "lib/core/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "lib/testing/leak_probe.h"

namespace
{

struct Shm {
    int value;
    pid_t pid;
};

/* Waits (up to 5 s) until pid is gone for good (not even a zombie). The
 * orphan is reaped by whoever adopts it, which happens after the call we
 * test returns, so this polls. */
bool GoneEventually(pid_t pid)
{
    for (int i = 0; i < 5000; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, nullptr);
    }
    return false;
}

struct Sandbox {
    Shm *shm = static_cast<Shm *>(cb_sandbox_shm_alloc(sizeof(Shm)));
    cb_sandbox_result_t res;
    ~Sandbox()
    {
        cb_sandbox_shm_free(shm, sizeof(Shm));
    }
    int Run(int (*fn)(void *, void *), uint64_t timeout_ns = 0, void *arg = nullptr)
    {
        return cb_sandbox_run(fn, arg, shm, timeout_ns, &res);
    }
};

constexpr uint64_t kMs = 1000000;

/* Sanitizers catch SIGSEGV and exit instead; the default action is what a
 * crash means here. */
void DefaultSegv()
{
    signal(SIGSEGV, SIG_DFL);
}

/* A write to page 0 (never mapped): SIGSEGV. Not to nullptr itself, which
 * UBSan would stop first; through a volatile pointer, so the compiler cannot
 * see the address. */
volatile int *volatile bad_address = reinterpret_cast<volatile int *>(uintptr_t{16});
void BadWrite()
{
    *bad_address = 1;
}

} // namespace

TEST(Sandbox, OkRunSharesMemory)
{
    Sandbox s;
    ASSERT_NE(s.shm, nullptr);
    EXPECT_EQ(s.shm->value, 0); /* the region comes zeroed */
    int fds = CountFds();
    ASSERT_EQ(s.Run([](void *shm, void *) {
        static_cast<Shm *>(shm)->value = 42;
        static_cast<Shm *>(shm)->pid = getpid();
        return 0;
    }),
              0);
    EXPECT_EQ(s.res.status, CB_OK);
    EXPECT_EQ(s.res.exit_code, 0);
    EXPECT_EQ(s.res.fn_rc, 0);
    EXPECT_EQ(s.res.signo, 0);
    EXPECT_GT(s.res.wall_ns, 0u);
    EXPECT_EQ(s.shm->value, 42);     /* written by the child */
    EXPECT_NE(s.shm->pid, getpid()); /* in another process */
    EXPECT_TRUE(NoChildren());
    EXPECT_EQ(CountFds(), fds); /* the pidfd is closed */
}

TEST(Sandbox, NonzeroReturnIsError)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) { return -22; }), 0);
    EXPECT_EQ(s.res.status, CB_ERROR);
    EXPECT_EQ(s.res.fn_rc, -22);
    EXPECT_EQ(s.res.exit_code, 0);
    /* The errno is named, not shown as a bare -22. */
    EXPECT_STREQ(s.res.detail, "failed: Invalid argument (EINVAL)");
}

TEST(Sandbox, ArgReachesTheChild)
{
    Sandbox s;
    int token = 7;
    ASSERT_EQ(s.Run(
                  [](void *shm, void *arg) {
                      static_cast<Shm *>(shm)->value = *static_cast<int *>(arg);
                      return 0;
                  },
                  0, &token),
              0);
    EXPECT_EQ(s.res.status, CB_OK);
    EXPECT_EQ(s.shm->value, 7);
}

TEST(Sandbox, SegfaultIsCrashed)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) {
        DefaultSegv();
        raise(SIGSEGV);
        return 0;
    }),
              0);
    EXPECT_EQ(s.res.status, CB_CRASHED);
    EXPECT_EQ(s.res.signo, SIGSEGV);
    EXPECT_STREQ(s.res.detail, "SIGSEGV");
    EXPECT_TRUE(NoChildren());
}

TEST(Sandbox, BadWriteIsCrashed)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) {
        DefaultSegv();
        BadWrite();
        return 0;
    }),
              0);
    EXPECT_EQ(s.res.status, CB_CRASHED);
    EXPECT_EQ(s.res.signo, SIGSEGV);
}

TEST(Sandbox, ExitBeforeReportingIsError)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) -> int { _exit(0); }), 0);
    EXPECT_EQ(s.res.status, CB_ERROR);
    EXPECT_EQ(s.res.exit_code, 0);
    EXPECT_STREQ(s.res.detail, "exit 0 before reporting");
}

TEST(Sandbox, ExitCodeIsKept)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) -> int { _exit(9); }), 0);
    EXPECT_EQ(s.res.status, CB_ERROR);
    EXPECT_EQ(s.res.exit_code, 9);
}

TEST(Sandbox, SigkillFromOutsideSaysOutOfMemory)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) {
        raise(SIGKILL);
        return 0;
    }),
              0);
    EXPECT_EQ(s.res.status, CB_CRASHED);
    EXPECT_EQ(s.res.signo, SIGKILL);
    EXPECT_STREQ(s.res.detail, "killed (SIGKILL; out of memory?)");
}

TEST(Sandbox, HangIsKilledAtTheTimeout)
{
    Sandbox s;
    ASSERT_EQ(s.Run(
                  [](void *, void *) {
                      for (;;)
                          pause();
                      return 0;
                  },
                  200 * kMs),
              0);
    EXPECT_EQ(s.res.status, CB_TIMEOUT);
    EXPECT_EQ(s.res.signo, SIGTERM);     /* SIGTERM was enough */
    EXPECT_GE(s.res.wall_ns, 200 * kMs); /* not before its time */
    EXPECT_STREQ(s.res.detail, "timeout after 0.2 s");
    EXPECT_TRUE(NoChildren());
}

TEST(Sandbox, IgnoringSigtermGetsSigkill)
{
    Sandbox s;
    ASSERT_EQ(s.Run(
                  [](void *, void *) {
                      signal(SIGTERM, SIG_IGN);
                      for (;;)
                          pause();
                      return 0;
                  },
                  100 * kMs),
              0);
    EXPECT_EQ(s.res.status, CB_TIMEOUT);
    EXPECT_EQ(s.res.signo, SIGKILL);
    /* The timeout, then the grace period (1 s) before SIGKILL. */
    EXPECT_GE(s.res.wall_ns, 1100 * kMs);
    EXPECT_STREQ(s.res.detail, "timeout after 0.1 s (SIGKILL after SIGTERM)");
    EXPECT_TRUE(NoChildren());
}

/* A child that finishes within its limit is not touched. */
TEST(Sandbox, FastChildUnderATimeoutIsOk)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) { return 0; }, 10000 * kMs), 0);
    EXPECT_EQ(s.res.status, CB_OK);
}

/* An executor child that forks and then exits leaves an orphan; as the
 * sandbox child is a subreaper, the orphan is its child and it kills and
 * reaps it on the way out. */
TEST(Sandbox, OrphanedGrandchildIsKilledAfterReturn)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *shm, void *) {
        int fds[2];
        if (pipe(fds) != 0)
            return 1;
        pid_t mid = fork();
        if (mid < 0)
            return 2;
        if (mid == 0) {
            /* No cb_child_init: no death signal, a true orphan. */
            pid_t g = fork();
            if (g == 0) {
                for (;;)
                    pause();
            }
            if (write(fds[1], &g, sizeof(g)) != sizeof(g))
                _exit(1);
            _exit(0);
        }
        pid_t g;
        if (read(fds[0], &g, sizeof(g)) != sizeof(g))
            return 3;
        if (waitpid(mid, nullptr, 0) != mid)
            return 4;
        static_cast<Shm *>(shm)->pid = g;
        /* The orphan is now ours to reap (we are a subreaper). */
        return getpgid(g) >= 0 ? 0 : 5;
    }),
              0);
    EXPECT_EQ(s.res.status, CB_OK) << s.res.detail << " fn_rc " << s.res.fn_rc;
    ASSERT_GT(s.shm->pid, 0);
    EXPECT_TRUE(GoneEventually(s.shm->pid));
}

/* Under a timeout the SIGTERM handler kills the orphans before dying. */
TEST(Sandbox, OrphanedGrandchildIsKilledAtTimeout)
{
    Sandbox s;
    ASSERT_EQ(s.Run(
                  [](void *shm, void *) {
                      pid_t mid = fork();
                      if (mid == 0) {
                          pid_t g = fork();
                          if (g == 0) {
                              for (;;)
                                  pause();
                          }
                          static_cast<Shm *>(shm)->pid = g;
                          _exit(0);
                      }
                      waitpid(mid, nullptr, 0);
                      for (;;)
                          pause();
                      return 0;
                  },
                  200 * kMs),
              0);
    EXPECT_EQ(s.res.status, CB_TIMEOUT);
    EXPECT_EQ(s.res.signo, SIGTERM);
    ASSERT_GT(s.shm->pid, 0);
    EXPECT_TRUE(GoneEventually(s.shm->pid));
}

/* A child made with cb_child_init dies with its parent: here the parent is a
 * middle process that exits, and the sandbox child (a subreaper) adopts and
 * reaps the grandchild, which must have died of SIGKILL. */
TEST(Sandbox, ChildInitDiesWithItsParent)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *shm, void *) {
        int fds[2];
        if (pipe(fds) != 0)
            return 1;
        pid_t mid = fork();
        if (mid == 0) {
            pid_t me = getpid();
            pid_t g = fork();
            if (g == 0) {
                cb_child_init(me);
                char c = 1;
                if (write(fds[1], &c, 1) != 1)
                    _exit(1);
                for (;;)
                    pause();
            }
            char c;
            if (read(fds[0], &c, 1) != 1)
                _exit(1);
            static_cast<Shm *>(shm)->pid = g;
            _exit(0);
        }
        if (waitpid(mid, nullptr, 0) != mid)
            return 2;
        int st;
        pid_t g = static_cast<Shm *>(shm)->pid;
        if (waitpid(g, &st, 0) != g)
            return 3;
        return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : 4;
    }),
              0);
    EXPECT_EQ(s.res.status, CB_OK) << s.res.detail << " fn_rc " << s.res.fn_rc;
}

TEST(Children, KillAllSignalsTrackedChildren)
{
    pid_t kids[3];
    for (pid_t &k : kids) {
        k = fork();
        ASSERT_GE(k, 0);
        if (k == 0) {
            for (;;)
                pause();
        }
        cb_children_track(k);
    }
    /* An untracked child is left alone. */
    cb_children_untrack(kids[2]);
    cb_children_kill_all(SIGKILL);
    for (int i = 0; i < 2; i++) {
        int st;
        ASSERT_EQ(waitpid(kids[i], &st, 0), kids[i]);
        EXPECT_TRUE(WIFSIGNALED(st));
        EXPECT_EQ(WTERMSIG(st), SIGKILL);
        cb_children_untrack(kids[i]);
    }
    int st;
    EXPECT_EQ(waitpid(kids[2], &st, WNOHANG), 0); /* still running */
    ASSERT_EQ(kill(kids[2], SIGTERM), 0);
    ASSERT_EQ(waitpid(kids[2], &st, 0), kids[2]);
    EXPECT_EQ(WTERMSIG(st), SIGTERM);
    /* Nothing tracked now: kill_all must not signal anything (we would die
     * of it if it signalled pid 0 or -1). */
    cb_children_kill_all(SIGTERM);
    EXPECT_TRUE(NoChildren());
}

/* A forked child starts with an empty list: its kill_all must not reach the
 * parent's other children. */
TEST(Children, ChildInitForgetsTheParentsList)
{
    pid_t sibling = fork();
    ASSERT_GE(sibling, 0);
    if (sibling == 0) {
        for (;;)
            pause();
    }
    cb_children_track(sibling);
    pid_t parent = getpid();
    pid_t c = fork();
    ASSERT_GE(c, 0);
    if (c == 0) {
        cb_child_init(parent);
        cb_children_kill_all(SIGKILL);
        _exit(0);
    }
    int st;
    ASSERT_EQ(waitpid(c, &st, 0), c);
    EXPECT_TRUE(WIFEXITED(st));
    EXPECT_EQ(waitpid(sibling, &st, WNOHANG), 0); /* untouched */
    cb_children_kill_all(SIGKILL);
    ASSERT_EQ(waitpid(sibling, &st, 0), sibling);
    EXPECT_EQ(WTERMSIG(st), SIGKILL);
    cb_children_untrack(sibling);
}

TEST(Sandbox, RepeatedRunsLeakNothing)
{
    Sandbox s;
    ASSERT_EQ(s.Run([](void *, void *) { return 0; }), 0);
    int fds = CountFds();
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ(s.Run([](void *, void *) { return 0; }), 0);
        ASSERT_EQ(s.res.status, CB_OK);
    }
    EXPECT_EQ(CountFds(), fds);
    EXPECT_TRUE(NoChildren());
}
