#include "lib/exec/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/clock.h"
#include "lib/core/task_env.h"

namespace
{

constexpr uint64_t kMs = 1000000ull;

class SchedTest : public ::testing::TestWithParam<cb_coro_impl_t>
{
  protected:
    void SetUp() override
    {
        if (GetParam() == CB_CORO_ASM && cb_coro_asm_unavailable())
            GTEST_SKIP() << cb_coro_asm_unavailable();
        int err = 0;
        s_ = cb_sched_new(GetParam(), 0, &err);
        ASSERT_NE(s_, nullptr) << "cb_sched_new: " << err;
    }
    void TearDown() override
    {
        cb_sched_free(s_);
    }
    cb_sched_t *s_ = nullptr;
};

std::string ImplName(const ::testing::TestParamInfo<cb_coro_impl_t> &info)
{
    return info.param == CB_CORO_ASM        ? "asm"
           : info.param == CB_CORO_FCONTEXT ? "fcontext"
                                            : "ucontext";
}

/* 10,000 sleepers: all finish, all on the test's own thread. */
struct Sleeper {
    pid_t tid = 0;
    int rc = -1;
    bool done = false;
};

void SleeperFn(void *arg)
{
    auto *sl = static_cast<Sleeper *>(arg);
    sl->tid = gettid();
    sl->rc = cb_sched_sleep_ns(100 * kMs);
    if (gettid() != sl->tid)
        abort();
    sl->done = true;
}

/* Under ThreadSanitizer every coroutine is a TSan fiber, and GCC 12's TSan
 * runtime holds at most 8,128 threads and fibers at once ("Thread limit
 * (8128 threads) exceeded. Dying."); on this machine 10,000 fibers already
 * fail earlier, allocating their state. The TSan build checks the same
 * facts with 1,000 sleepers. */
#if defined(__SANITIZE_THREAD__)
constexpr int kSleepers = 1000;
#else
constexpr int kSleepers = 10000;
#endif

TEST_P(SchedTest, TenThousandSleepersAllComplete)
{
    constexpr int kN = kSleepers;
    std::vector<Sleeper> sl(kN);
    for (int i = 0; i < kN; i++)
        ASSERT_EQ(cb_sched_spawn(s_, SleeperFn, &sl[i]), 0) << i;
    uint64_t t0 = cb_now_ns();
    ASSERT_EQ(cb_sched_run(s_), 0);
    uint64_t elapsed = cb_now_ns() - t0;
    pid_t me = gettid();
    for (int i = 0; i < kN; i++) {
        ASSERT_TRUE(sl[i].done) << i;
        ASSERT_EQ(sl[i].rc, 0) << i;
        ASSERT_EQ(sl[i].tid, me) << i;
    }
    /* A fact, not a timing: nobody woke before its 100 ms were up. */
    EXPECT_GE(elapsed, 100 * kMs);
}

/* Yield order is FIFO: two tasks alternate. */
struct Log {
    std::vector<std::string> v;
};
struct Named {
    Log *log;
    const char *name;
};

void YielderFn(void *arg)
{
    auto *n = static_cast<Named *>(arg);
    for (int i = 0; i < 3; i++) {
        n->log->v.push_back(std::string(n->name) + std::to_string(i));
        cb_sched_yield();
    }
}

TEST_P(SchedTest, YieldAlternatesRunnableTasks)
{
    Log log;
    Named a{&log, "a"}, b{&log, "b"};
    ASSERT_EQ(cb_sched_spawn(s_, YielderFn, &a), 0);
    ASSERT_EQ(cb_sched_spawn(s_, YielderFn, &b), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(log.v, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

/* Spawning from inside a coroutine, and reusing finished stacks. */
struct Spawner {
    cb_sched_t *s;
    int children_left;
    int ran = 0;
};

void ChildFn(void *arg)
{
    static_cast<Spawner *>(arg)->ran++;
}

void SpawnerFn(void *arg)
{
    auto *sp = static_cast<Spawner *>(arg);
    for (int i = 0; i < sp->children_left; i++) {
        if (cb_sched_spawn(sp->s, ChildFn, sp) != 0)
            abort();
        /* Let the child finish, so the next spawn reuses its stack. */
        cb_sched_yield();
    }
}

TEST_P(SchedTest, SpawnFromInsideACoroutine)
{
    Spawner sp{s_, 100};
    ASSERT_EQ(cb_sched_spawn(s_, SpawnerFn, &sp), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(sp.ran, 100);
    /* The scheduler can run again after finishing. */
    ASSERT_EQ(cb_sched_spawn(s_, ChildFn, &sp), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(sp.ran, 101);
}

TEST_P(SchedTest, RunWithNothingSpawnedReturns)
{
    EXPECT_EQ(cb_sched_run(s_), 0);
}

TEST_P(SchedTest, WaitsOutsideACoroutineAreRefused)
{
    EXPECT_EQ(cb_sched_sleep_ns(kMs), -EPERM);
    EXPECT_EQ(cb_sched_wait_fd(0, POLLIN, 0), -EPERM);
}

/* Sleeps end in deadline order whatever the spawn order. */
struct Timed {
    std::vector<int> *order;
    int ms;
};

void TimedFn(void *arg)
{
    auto *t = static_cast<Timed *>(arg);
    if (cb_sched_sleep_ns(static_cast<uint64_t>(t->ms) * kMs) != 0)
        abort();
    t->order->push_back(t->ms);
}

TEST_P(SchedTest, SleepersWakeInDeadlineOrder)
{
    std::vector<int> order;
    /* 40 ms apart: more than this noisy machine's scheduling jitter is
     * likely to be, and the order is all that is checked. */
    std::vector<Timed> t = {{&order, 160}, {&order, 40}, {&order, 120}, {&order, 80}};
    for (auto &x : t)
        ASSERT_EQ(cb_sched_spawn(s_, TimedFn, &x), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(order, (std::vector<int>{40, 80, 120, 160}));
}

/* fd waits. */
struct PipeWait {
    int fd;
    short events;
    int timeout_ms;
    int rc = -100;
    uint64_t waited_ns = 0;
    bool via_task_env = false;
};

void WaitFn(void *arg)
{
    auto *w = static_cast<PipeWait *>(arg);
    uint64_t t0 = cb_now_ns();
    w->rc = w->via_task_env ? cb_task_wait_fd(w->fd, w->events, w->timeout_ms)
                            : cb_sched_wait_fd(w->fd, w->events, w->timeout_ms);
    w->waited_ns = cb_now_ns() - t0;
}

struct Writer {
    int fd;
    uint64_t delay_ns;
};

void WriterFn(void *arg)
{
    auto *w = static_cast<Writer *>(arg);
    if (cb_sched_sleep_ns(w->delay_ns) != 0)
        abort();
    char c = 'x';
    if (write(w->fd, &c, 1) != 1)
        abort();
}

class Pipe
{
  public:
    Pipe()
    {
        if (pipe2(fd_, O_CLOEXEC) != 0)
            abort();
    }
    ~Pipe()
    {
        close(fd_[0]);
        close(fd_[1]);
    }
    int r() const
    {
        return fd_[0];
    }
    int w() const
    {
        return fd_[1];
    }

  private:
    int fd_[2];
};

TEST_P(SchedTest, WaitFdWakesWhenTheFdBecomesReady)
{
    Pipe p;
    PipeWait w{p.r(), POLLIN, 10000};
    Writer wr{p.w(), 20 * kMs};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &w), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WriterFn, &wr), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(w.rc, 1);
    /* Woken by the write after 20 ms, so not before it. */
    EXPECT_GE(w.waited_ns, 20 * kMs);
}

TEST_P(SchedTest, WaitFdTimesOutWithZero)
{
    Pipe p;
    PipeWait w{p.r(), POLLIN, 30};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &w), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(w.rc, 0);
    EXPECT_GE(w.waited_ns, 30 * kMs);

    /* The registration the timed-out wait left behind still reports: a
     * second wait on the same fd sees the data. */
    char c = 'y';
    ASSERT_EQ(write(p.w(), &c, 1), 1);
    PipeWait again{p.r(), POLLIN, 10000};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &again), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(again.rc, 1);
}

/* A wait that ends because the fd is ready must take its timeout out of the
 * sleeper heap. A stale entry shows up as an extra wake-up: one of the two
 * sleeps after the wait would end early (or a finished task would be
 * resumed, which aborts). A long sleeper keeps the loop running meanwhile. */
struct ReadyThenSleep {
    int fd;
    int wait_rc = -100;
    int sleep_rc[2] = {-100, -100};
    uint64_t slept_ns[2] = {};
};

void ReadyThenSleepFn(void *arg)
{
    auto *r = static_cast<ReadyThenSleep *>(arg);
    r->wait_rc = cb_sched_wait_fd(r->fd, POLLIN, 30);
    for (int i = 0; i < 2; i++) {
        uint64_t t0 = cb_now_ns();
        r->sleep_rc[i] = cb_sched_sleep_ns(90 * kMs);
        r->slept_ns[i] = cb_now_ns() - t0;
    }
}

void LongSleepFn(void *)
{
    if (cb_sched_sleep_ns(400 * kMs) != 0)
        abort();
}

TEST_P(SchedTest, ReadyFdCancelsTheWaitTimeout)
{
    Pipe p;
    char c = 'z';
    ASSERT_EQ(write(p.w(), &c, 1), 1); /* readable before the wait */
    ReadyThenSleep r{p.r()};
    ASSERT_EQ(cb_sched_spawn(s_, ReadyThenSleepFn, &r), 0);
    ASSERT_EQ(cb_sched_spawn(s_, LongSleepFn, nullptr), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(r.wait_rc, 1);
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(r.sleep_rc[i], 0) << i;
        EXPECT_GE(r.slept_ns[i], 90 * kMs) << i;
    }
}

TEST_P(SchedTest, WaitFdWithZeroTimeoutPolls)
{
    Pipe p;
    PipeWait empty{p.r(), POLLIN, 0};
    PipeWait writable{p.w(), POLLOUT, 0};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &empty), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &writable), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(empty.rc, 0);
    EXPECT_EQ(writable.rc, 1);
}

TEST_P(SchedTest, ReaderAndWriterWaitOnTheSameSocket)
{
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    /* sv[0] is writable at once; it becomes readable when sv[1] writes. A
     * reader and a writer wait on sv[0] at the same time. */
    PipeWait reader{sv[0], POLLIN, 10000};
    PipeWait writer{sv[0], POLLOUT, 10000};
    Writer wr{sv[1], 20 * kMs};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &reader), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &writer), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WriterFn, &wr), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(reader.rc, 1);
    EXPECT_EQ(writer.rc, 1);
    close(sv[0]);
    close(sv[1]);
}

TEST_P(SchedTest, WaitFdOnAnUnpollableFdReturnsTheError)
{
    /* epoll refuses regular files with EPERM (epoll_ctl(2)). */
    std::string dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
    std::string tmpl = dir + "/sched_test_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    ASSERT_GE(fd, 0);
    unlink(buf.data());
    PipeWait w{fd, POLLIN, 1000};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &w), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(w.rc, -EPERM);
    close(fd);
}

/* Kept registrations (sched.c's design comment): close and reuse, several
 * waiters on one fd, timeouts while registered, level-triggered reports. */

/* Waits on a pipe, forgets and closes it, opens a new pipe (the lowest free
 * numbers, so the old read end's number comes back) and waits on that. */
struct Reuse {
    int first_fd = -1;
    int second_fd = -1;
    int first_rc = -100;
    int forget_rc = -100;
    int second_rc = -100;
    int close_rc = -100;
};

void ReuseFn(void *arg)
{
    auto *r = static_cast<Reuse *>(arg);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        abort();
    char c = 'a';
    if (write(p[1], &c, 1) != 1)
        abort();
    r->first_fd = p[0];
    r->first_rc = cb_sched_wait_fd(p[0], POLLIN, 10000);
    r->forget_rc = cb_sched_forget_fd(p[0]);
    if (close(p[0]) != 0 || close(p[1]) != 0)
        abort();
    if (pipe2(p, O_CLOEXEC) != 0)
        abort();
    r->second_fd = p[0];
    if (write(p[1], &c, 1) != 1)
        abort();
    r->second_rc = cb_sched_wait_fd(p[0], POLLIN, 10000);
    r->close_rc = cb_sched_forget_fd(p[0]);
    close(p[0]);
    close(p[1]);
}

TEST_P(SchedTest, ForgottenFdNumberReusedAfterCloseIsReported)
{
    Reuse r;
    ASSERT_EQ(cb_sched_spawn(s_, ReuseFn, &r), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(r.first_rc, 1);
    EXPECT_EQ(r.forget_rc, 0);
    /* pipe2 takes the lowest free numbers (open(2)): the same ones. */
    EXPECT_EQ(r.second_fd, r.first_fd);
    /* Had the record outlived the close, the registration would be taken
     * for present and this wait would time out (0) after 10 s. */
    EXPECT_EQ(r.second_rc, 1);
    EXPECT_EQ(r.close_rc, 0);
}

/* The same, with a new pipe whose number is reused while a registration of
 * the old file is kept alive by a duplicate descriptor (as a forked child
 * would): without the forget, the old file's readiness would be reported
 * under the reused number. Here the old file is readable and the new one
 * is not, so a stale report would end the second wait with 1. */
struct StaleReport {
    int first_rc = -100;
    int second_rc = -100;
    int same_number = 0;
};

void StaleReportFn(void *arg)
{
    auto *r = static_cast<StaleReport *>(arg);
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        abort();
    char c = 'b';
    if (write(p[1], &c, 1) != 1)
        abort();
    r->first_rc = cb_sched_wait_fd(p[0], POLLIN, 10000);
    int old_r = p[0];
    int dup_r = fcntl(p[0], F_DUPFD_CLOEXEC, 100); /* a number pipe2 will not take */
    if (dup_r < 0 || cb_sched_forget_fd(p[0]) != 0 || close(p[0]) != 0)
        abort();
    int q[2];
    if (pipe2(q, O_CLOEXEC) != 0)
        abort();
    r->same_number = q[0] == old_r;
    r->second_rc = cb_sched_wait_fd(q[0], POLLIN, 50);
    if (cb_sched_forget_fd(q[0]) != 0)
        abort();
    close(q[0]);
    close(q[1]);
    close(dup_r);
    close(p[1]);
}

TEST_P(SchedTest, ForgottenFdGetsNoStaleReportsFromADuplicate)
{
    StaleReport r;
    ASSERT_EQ(cb_sched_spawn(s_, StaleReportFn, &r), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(r.first_rc, 1);
    EXPECT_TRUE(r.same_number);
    /* The new pipe is empty: the wait times out. */
    EXPECT_EQ(r.second_rc, 0);
}

/* Two readers on one fd: one write wakes both (like two poll(2) calls). */
TEST_P(SchedTest, TwoReadersOnOneFdBothWake)
{
    Pipe p;
    PipeWait a{p.r(), POLLIN, 10000};
    PipeWait b{p.r(), POLLIN, 10000};
    Writer wr{p.w(), 20 * kMs};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &a), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &b), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WriterFn, &wr), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(a.rc, 1);
    EXPECT_EQ(b.rc, 1);
    EXPECT_GE(a.waited_ns, 20 * kMs);
    EXPECT_GE(b.waited_ns, 20 * kMs);
}

/* A report for the writer of a socket does not wake its reader: sv[0] is
 * writable at once, the reader waits until its peer writes 60 ms later. */
TEST_P(SchedTest, WritableReportLeavesTheReaderWaiting)
{
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    PipeWait reader{sv[0], POLLIN, 10000};
    PipeWait writer{sv[0], POLLOUT, 10000};
    Writer wr{sv[1], 60 * kMs};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &reader), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &writer), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WriterFn, &wr), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(writer.rc, 1);
    EXPECT_EQ(reader.rc, 1);
    EXPECT_GE(reader.waited_ns, 60 * kMs);
    close(sv[0]);
    close(sv[1]);
}

/* One waiter times out while another keeps the fd registered; the second
 * is still woken by the write, and the first one's timeout left nothing
 * behind that wakes it again (it finished: a resumed finished task would
 * abort). */
TEST_P(SchedTest, TimeoutWhileAnotherWaiterKeepsTheFdRegistered)
{
    Pipe p;
    PipeWait short_wait{p.r(), POLLIN, 20};
    PipeWait long_wait{p.r(), POLLIN, 10000};
    Writer wr{p.w(), 80 * kMs};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &short_wait), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &long_wait), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WriterFn, &wr), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(short_wait.rc, 0);
    EXPECT_GE(short_wait.waited_ns, 20 * kMs);
    EXPECT_EQ(long_wait.rc, 1);
    EXPECT_GE(long_wait.waited_ns, 80 * kMs);
}

/* Level-triggered: a kept registration reports an fd again while it stays
 * readable, so waits on a pipe with unread data end at once every time. And
 * data that arrives while nobody waits (the registration is removed then,
 * lazily) is seen by the next wait. */
struct Repeat {
    int fd;
    int wfd;
    int rc[3] = {-100, -100, -100};
    int late_rc = -100;
};

void RepeatFn(void *arg)
{
    auto *r = static_cast<Repeat *>(arg);
    char c = 'c';
    if (write(r->wfd, &c, 1) != 1)
        abort();
    for (int i = 0; i < 3; i++)
        r->rc[i] = cb_sched_wait_fd(r->fd, POLLIN, 10000); /* never read */
    if (read(r->fd, &c, 1) != 1)
        abort();
    /* Not waiting now: the write is reported to nobody. */
    if (write(r->wfd, &c, 1) != 1)
        abort();
    if (cb_sched_sleep_ns(20 * kMs) != 0)
        abort();
    r->late_rc = cb_sched_wait_fd(r->fd, POLLIN, 10000);
    if (cb_sched_forget_fd(r->fd) != 0)
        abort();
}

void KeepLoopBusyFn(void *)
{
    /* Keeps a timer in the heap so the loop polls while RepeatFn sleeps. */
    for (int i = 0; i < 10; i++)
        if (cb_sched_sleep_ns(2 * kMs) != 0)
            abort();
}

TEST_P(SchedTest, KeptRegistrationIsLevelTriggered)
{
    Pipe p;
    Repeat r{p.r(), p.w()};
    ASSERT_EQ(cb_sched_spawn(s_, RepeatFn, &r), 0);
    ASSERT_EQ(cb_sched_spawn(s_, KeepLoopBusyFn, nullptr), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(r.rc[i], 1) << i;
    EXPECT_EQ(r.late_rc, 1);
}

/* Forgetting an fd ends the waits on it with -EBADF. */
struct Forgetter {
    int fd;
    int rc = -100;
};

void ForgetterFn(void *arg)
{
    auto *f = static_cast<Forgetter *>(arg);
    if (cb_sched_sleep_ns(20 * kMs) != 0)
        abort();
    f->rc = cb_sched_forget_fd(f->fd);
}

TEST_P(SchedTest, ForgetEndsTheWaitsOnTheFd)
{
    Pipe p;
    PipeWait a{p.r(), POLLIN, 10000};
    PipeWait b{p.r(), POLLIN, -1};
    Forgetter f{p.r()};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &a), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &b), 0);
    ASSERT_EQ(cb_sched_spawn(s_, ForgetterFn, &f), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(f.rc, 0);
    EXPECT_EQ(a.rc, -EBADF);
    EXPECT_EQ(b.rc, -EBADF);
}

TEST_P(SchedTest, ForgetOutsideARunningSchedulerIsRefused)
{
    EXPECT_EQ(cb_sched_forget_fd(0), -EPERM);
}

/* A wait through the task environment drops the registration it created:
 * the fd can be closed and its number reused without cb_sched_forget_fd. */
struct EnvReuse {
    int rc[2] = {-100, -100};
    int fd[2] = {-1, -1};
};

void EnvReuseFn(void *arg)
{
    auto *e = static_cast<EnvReuse *>(arg);
    for (int i = 0; i < 2; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            abort();
        char c = 'd';
        if (write(p[1], &c, 1) != 1)
            abort();
        e->fd[i] = p[0];
        e->rc[i] = cb_task_wait_fd(p[0], POLLIN, 10000);
        close(p[0]);
        close(p[1]);
    }
}

TEST_P(SchedTest, TaskWaitFdNeedsNoForget)
{
    EnvReuse e;
    ASSERT_EQ(cb_sched_spawn(s_, EnvReuseFn, &e), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(e.fd[1], e.fd[0]); /* lowest free numbers (open(2)) */
    EXPECT_EQ(e.rc[0], 1);
    EXPECT_EQ(e.rc[1], 1);
}

/* The task environment routes cb_task_* to the scheduler inside a task. */
struct EnvSleep {
    int rc = -1;
    const cb_task_env_t *env = nullptr;
};

void EnvSleepFn(void *arg)
{
    auto *e = static_cast<EnvSleep *>(arg);
    e->env = cb_task_env_current();
    e->rc = cb_task_sleep_ns(50 * kMs);
}

TEST_P(SchedTest, TaskSleepInsideACoroutineGoesToTheScheduler)
{
    constexpr int kN = 100;
    std::vector<EnvSleep> e(kN);
    ASSERT_EQ(cb_task_env_current(), nullptr);
    for (auto &x : e)
        ASSERT_EQ(cb_sched_spawn(s_, EnvSleepFn, &x), 0);
    uint64_t t0 = cb_now_ns();
    ASSERT_EQ(cb_sched_run(s_), 0);
    uint64_t elapsed = cb_now_ns() - t0;
    for (auto &x : e) {
        EXPECT_EQ(x.rc, 0);
        EXPECT_NE(x.env, nullptr);
    }
    /* Popped again at the end. */
    EXPECT_EQ(cb_task_env_current(), nullptr);
    /* Sanity bound only, far from the numbers: the sleeps overlap (ideal
     * 50 ms), where plain nanosleeps would take 100 x 50 ms = 5 s. */
    EXPECT_LT(elapsed, 2500 * kMs);
}

/* The deterministic version of the same fact: while the first task sleeps
 * through cb_task_sleep_ns, the second one runs. */
struct Overlap {
    bool first_done = false;
    bool second_saw_first_done = true;
};

void OverlapFirst(void *arg)
{
    auto *o = static_cast<Overlap *>(arg);
    if (cb_task_sleep_ns(30 * kMs) != 0)
        abort();
    o->first_done = true;
}

void OverlapSecond(void *arg)
{
    auto *o = static_cast<Overlap *>(arg);
    o->second_saw_first_done = o->first_done;
}

TEST_P(SchedTest, TaskSleepLetsOtherTasksRun)
{
    Overlap o;
    ASSERT_EQ(cb_sched_spawn(s_, OverlapFirst, &o), 0);
    ASSERT_EQ(cb_sched_spawn(s_, OverlapSecond, &o), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_TRUE(o.first_done);
    EXPECT_FALSE(o.second_saw_first_done);
}

TEST_P(SchedTest, TaskWaitFdInsideACoroutineGoesToTheScheduler)
{
    Pipe p;
    PipeWait w{p.r(), POLLIN, 10000};
    w.via_task_env = true;
    Writer wr{p.w(), 20 * kMs};
    ASSERT_EQ(cb_sched_spawn(s_, WaitFn, &w), 0);
    ASSERT_EQ(cb_sched_spawn(s_, WriterFn, &wr), 0);
    /* Had the wait blocked the thread in poll(), the writer could never
     * have run and the wait would have timed out after 10 s with 0. */
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_EQ(w.rc, 1);
}

/* A coroutine that a task creates and resumes itself is not a task: its
 * waits take the plain path (a real nanosleep) instead of yielding into
 * the scheduler's loop. */
struct Inner {
    int rc = -1;
    bool ran = false;
};

void InnerFn(void *arg)
{
    auto *in = static_cast<Inner *>(arg);
    in->rc = cb_task_sleep_ns(kMs);
    in->ran = true;
}

struct OuterArg {
    cb_coro_impl_t impl;
    Inner inner;
};

void OuterFn(void *arg)
{
    auto *o = static_cast<OuterArg *>(arg);
    int err = 0;
    cb_coro_t *c = cb_coro_create(o->impl, 0, InnerFn, &o->inner, &err);
    if (!c)
        abort();
    cb_coro_resume(c);
    if (!cb_coro_done(c))
        abort();
    cb_coro_destroy(c);
}

TEST_P(SchedTest, NestedPlainCoroutineWaitsPlainly)
{
    OuterArg o{GetParam(), {}};
    ASSERT_EQ(cb_sched_spawn(s_, OuterFn, &o), 0);
    ASSERT_EQ(cb_sched_run(s_), 0);
    EXPECT_TRUE(o.inner.ran);
    EXPECT_EQ(o.inner.rc, 0);
}

TEST(Sched, NewRejectsBadImpl)
{
    int err = 0;
    EXPECT_EQ(cb_sched_new(static_cast<cb_coro_impl_t>(9), 0, &err), nullptr);
    EXPECT_EQ(err, -EINVAL);
}

INSTANTIATE_TEST_SUITE_P(Impls, SchedTest,
                         ::testing::Values(CB_CORO_ASM, CB_CORO_UCONTEXT, CB_CORO_FCONTEXT),
                         ImplName);

} // namespace
