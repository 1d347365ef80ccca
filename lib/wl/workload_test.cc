#include "lib/wl/workload.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/clock.h"
#include "lib/core/task_env.h"

// Internal helpers of the workload files (lib/wl/workload_internal.h is private
// to //lib:cb, so the test declares the two it checks).
extern "C" uint64_t cb_wl_splitmix64(uint64_t seed, uint64_t i);
extern "C" uint64_t cb_wl_io_sleep_ns(uint64_t io_ns, double jitter, uint64_t seed, size_t index);

namespace
{

// A task environment that counts ticks and records sleeps instead of
// sleeping, installed for the life of the object on the calling thread.
class RecordingEnv
{
  public:
    RecordingEnv()
    {
        env_.sleep_ns = &RecordingEnv::Sleep;
        env_.wait_fd = nullptr;
        env_.tick = &RecordingEnv::Tick;
        env_.ctx = this;
        cb_task_env_push(&env_);
    }
    ~RecordingEnv()
    {
        cb_task_env_pop();
    }
    uint64_t ticks = 0;
    std::vector<uint64_t> sleeps;
    // When > 0, the sleep hook exits the process after this many sleeps.
    size_t exit_after = 0;

  private:
    static int Sleep(void *ctx, uint64_t ns)
    {
        auto *self = static_cast<RecordingEnv *>(ctx);
        self->sleeps.push_back(ns);
        if (self->exit_after && self->sleeps.size() >= self->exit_after)
            _exit(7);
        return 0;
    }
    static void Tick(void *ctx)
    {
        static_cast<RecordingEnv *>(ctx)->ticks++;
    }
    cb_task_env_t env_{};
};

cb_wl_params_t Params()
{
    cb_wl_params_t p{};
    p.tasks = 4;
    p.seed = 42;
    return p;
}

// setup + teardown around a test body.
class Loaded
{
  public:
    Loaded(const char *name, const cb_wl_params_t &p) : wl(cb_workload_find(name))
    {
        if (wl)
            rc = wl->setup(&p, &arg);
    }
    ~Loaded()
    {
        if (wl && rc == 0 && wl->teardown)
            wl->teardown(arg);
    }
    uint64_t Run(size_t index)
    {
        return wl->task(arg, index);
    }
    int Check(size_t index, uint64_t value)
    {
        return wl->check(arg, index, value);
    }
    const cb_workload_t *wl;
    void *arg = nullptr;
    int rc = -1;
};

TEST(Registry, NamesAndHooks)
{
    // The names of the brief and the contract (CONTRACT.md, "Workloads for
    // testing the harness itself" for the fault_* ones).
    const std::set<std::string> normal = {"cpu", "cpu_kernel", "io", "io_file", "mixed"};
    const std::set<std::string> fault = {"fault_crash", "fault_hang", "fault_exit"};
    std::set<std::string> seen;
    ASSERT_EQ(cb_workload_count, normal.size() + fault.size());
    for (size_t i = 0; i < cb_workload_count; i++) {
        const cb_workload_t *w = cb_workloads[i];
        ASSERT_NE(w->name, nullptr);
        EXPECT_TRUE(seen.insert(w->name).second) << "duplicate " << w->name;
        EXPECT_EQ(w->fault, fault.count(w->name) ? 1 : 0) << w->name;
        EXPECT_TRUE(normal.count(w->name) || fault.count(w->name)) << w->name;
        ASSERT_NE(w->summary, nullptr);
        EXPECT_GT(strlen(w->summary), 0u);
        EXPECT_NE(w->setup, nullptr);
        EXPECT_NE(w->task, nullptr);
        EXPECT_NE(w->check, nullptr);
        EXPECT_EQ(cb_workload_find(w->name), w);
        // Every workload works on Linux.
        EXPECT_TRUE(w->unavailable == nullptr || w->unavailable() == nullptr) << w->name;
    }
    // Fault workloads come last so --list can show them apart.
    for (size_t i = 0; i + 1 < cb_workload_count; i++)
        EXPECT_LE(cb_workloads[i]->fault, cb_workloads[i + 1]->fault);
    EXPECT_EQ(cb_workload_find("nope"), nullptr);
    EXPECT_EQ(cb_workload_find(""), nullptr);
}

TEST(SplitMix64, ReferenceValue)
{
    // SplitMix64 seeded with 0: first output 0xe220a8397b1dcdaf (the value
    // of Vigna's splitmix64.c reference implementation).
    EXPECT_EQ(cb_wl_splitmix64(0, 0), 0xe220a8397b1dcdafull);
}

TEST(Cpu, CountsEveryIterationAndTicks)
{
    // 10 full tick periods and 123 more: 10 ticks (one per
    // CB_TASK_TICK_EVERY increments), result = the count.
    const uint64_t n = 10ull * CB_TASK_TICK_EVERY + 123;
    cb_wl_params_t p = Params();
    p.cpu_iters = n;
    Loaded l("cpu", p);
    ASSERT_EQ(l.rc, 0);
    RecordingEnv env;
    uint64_t v = l.Run(3);
    EXPECT_EQ(v, n);
    EXPECT_EQ(env.ticks, 10u);
    EXPECT_EQ(l.Check(3, v), 0);
    EXPECT_EQ(l.Check(3, v + 1), -1);
    EXPECT_TRUE(env.sleeps.empty());
}

TEST(Cpu, EdgeSizes)
{
    const uint64_t sizes[] = {0, 1, CB_TASK_TICK_EVERY - 1, CB_TASK_TICK_EVERY,
                              CB_TASK_TICK_EVERY + 1};
    for (uint64_t n : sizes) {
        cb_wl_params_t p = Params();
        p.cpu_iters = n;
        Loaded l("cpu", p);
        ASSERT_EQ(l.rc, 0);
        RecordingEnv env;
        EXPECT_EQ(l.Run(0), n);
        EXPECT_EQ(env.ticks, n / CB_TASK_TICK_EVERY) << n;
    }
}

// FNV-1a 64 and the fold of wl_cpu_kernel.c, written out again from their
// definitions (FNV: offset basis 0xcbf29ce484222325, prime 0x100000001b3).
uint64_t Fnv1a(const std::vector<uint8_t> &b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t Fold(uint64_t acc, uint64_t h)
{
    return (acc ^ h) * 0x100000001b3ull + 1;
}

TEST(CpuKernel, MatchesTheDocumentedHash)
{
    // The buffer: 128 KiB of splitmix64(seed, i) words, little-endian bytes.
    cb_wl_params_t p = Params();
    std::vector<uint8_t> buf(128 * 1024);
    for (size_t i = 0; i < buf.size() / 8; i++)
        for (int b = 0; b < 8; b++)
            buf[i * 8 + b] = (uint8_t)(cb_wl_splitmix64(p.seed, i) >> (8 * b));

    // cpu_iters = 4 * bytes: two full passes and 5000 bytes more.
    const uint64_t bytes = 2 * buf.size() + 5000;
    p.cpu_iters = 4 * bytes;
    uint64_t full = Fnv1a(buf, buf.size());
    uint64_t want = Fold(Fold(Fold(0, full), full), Fnv1a(buf, 5000));

    Loaded l("cpu_kernel", p);
    ASSERT_EQ(l.rc, 0);
    RecordingEnv env;
    uint64_t v = l.Run(1);
    EXPECT_EQ(v, want);
    EXPECT_EQ(l.Check(1, v), 0);
    EXPECT_EQ(l.Check(1, v ^ 1), -1);
    // A tick per 1024 bytes (CB_TASK_TICK_EVERY / 4): 128 per full pass, and
    // floor(5000 / 1024) = 4 in the partial one.
    EXPECT_EQ(env.ticks, 2u * 128u + 4u);
}

TEST(CpuKernel, SmallAndZeroSizes)
{
    cb_wl_params_t p = Params();
    p.cpu_iters = 3; // 0 bytes: the fold of one empty pass.
    Loaded l("cpu_kernel", p);
    ASSERT_EQ(l.rc, 0);
    uint64_t v = l.Run(0);
    EXPECT_EQ(v, Fold(0, 0xcbf29ce484222325ull));
    EXPECT_EQ(l.Check(0, v), 0);
}

TEST(Io, SleepsThePlannedDurationsByIndex)
{
    // The tutorials' random 1-3 s: io_ns = 2 s, jitter 0.5, seed 42. The
    // durations come from the rule in wl_io.c; the same numbers are printed
    // by `scripts/python_reference.py --show-sleeps` and checked by
    // scripts/python_reference_test.sh, so both sides sleep the same.
    const uint64_t want[4] = {2915546651ull, 1651979246ull, 2893121986ull, 2083656736ull};
    cb_wl_params_t p = Params();
    p.io_ns = 2000000000ull;
    p.io_jitter = 0.5;
    Loaded l("io", p);
    ASSERT_EQ(l.rc, 0);
    RecordingEnv env;
    for (size_t i = 0; i < 4; i++) {
        uint64_t v = l.Run(i);
        EXPECT_EQ(v, want[i]) << i;
        EXPECT_EQ(l.Check(i, v), 0);
        EXPECT_EQ(l.Check(i, v + 1), -1);
        // Within [io_ns - J, io_ns + J], J = 1 s.
        EXPECT_GE(v, 1000000000ull);
        EXPECT_LE(v, 3000000000ull);
    }
    EXPECT_EQ(env.sleeps, std::vector<uint64_t>(want, want + 4));
    EXPECT_EQ(env.ticks, 0u);
}

TEST(Io, JitterIsFixedBySeed)
{
    std::vector<uint64_t> a, b, c;
    for (size_t i = 0; i < 16; i++) {
        a.push_back(cb_wl_io_sleep_ns(1000000, 0.5, 7, i));
        b.push_back(cb_wl_io_sleep_ns(1000000, 0.5, 7, i));
        c.push_back(cb_wl_io_sleep_ns(1000000, 0.5, 8, i));
        // No jitter: exactly io_ns.
        EXPECT_EQ(cb_wl_io_sleep_ns(1000000, 0.0, 7, i), 1000000u);
    }
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
}

TEST(Io, RealSleepTakesAtLeastThePlannedTime)
{
    cb_wl_params_t p = Params();
    p.io_ns = 2000000; // 2 ms +- 1 ms
    p.io_jitter = 0.5;
    Loaded l("io", p);
    ASSERT_EQ(l.rc, 0);
    for (size_t i = 0; i < 3; i++) {
        uint64_t t0 = cb_now_ns();
        uint64_t v = l.Run(i);
        uint64_t t1 = cb_now_ns();
        EXPECT_EQ(l.Check(i, v), 0);
        // clock_nanosleep never returns early (POSIX); a lower bound only.
        EXPECT_GE(t1 - t0, v);
    }
}

TEST(Io, RejectsBadJitter)
{
    for (double j : {-0.1, 1.5, (double)NAN}) {
        cb_wl_params_t p = Params();
        p.io_ns = 1000;
        p.io_jitter = j;
        Loaded l("io", p);
        EXPECT_EQ(l.rc, -EINVAL) << j;
    }
}

// A fresh directory under $TEST_TMPDIR.
std::string TempDir()
{
    const char *base = getenv("TEST_TMPDIR");
    std::string t = std::string(base && *base ? base : "/tmp") + "/wltest-XXXXXX";
    if (!mkdtemp(&t[0]))
        ADD_FAILURE() << "mkdtemp: " << strerror(errno);
    return t;
}

std::vector<std::string> Entries(const std::string &dir)
{
    std::vector<std::string> out;
    DIR *d = opendir(dir.c_str());
    if (!d)
        return out;
    while (struct dirent *e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            out.push_back(e->d_name);
    closedir(d);
    return out;
}

TEST(IoFile, WritesReadsBackAndCleansUp)
{
    std::string base = TempDir();
    cb_wl_params_t p = Params();
    p.tmp_dir = base.c_str();
    p.file_bytes = 200000; // three 64 KiB chunks and a partial one
    {
        Loaded l("io_file", p);
        ASSERT_EQ(l.rc, 0);
        std::vector<std::string> made = Entries(base);
        ASSERT_EQ(made.size(), 1u);
        EXPECT_EQ(made[0].rfind("cb-io_file-", 0), 0u) << made[0];
        std::string dir = base + "/" + made[0];
        for (size_t i = 0; i < 3; i++) {
            uint64_t v = l.Run(i);
            EXPECT_EQ(v, 200000u);
            EXPECT_EQ(l.Check(i, v), 0);
        }
        // Each task unlinks its file.
        EXPECT_TRUE(Entries(dir).empty());
        // A file left by a task that crashed is removed at teardown.
        int fd = open((dir + "/task-9").c_str(), O_WRONLY | O_CREAT, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(close(fd), 0);
    }
    EXPECT_TRUE(Entries(base).empty());
    EXPECT_EQ(rmdir(base.c_str()), 0);
}

TEST(IoFile, ZeroBytesAndFailures)
{
    std::string base = TempDir();
    cb_wl_params_t p = Params();
    p.tmp_dir = base.c_str();
    p.file_bytes = 0;
    {
        Loaded l("io_file", p);
        ASSERT_EQ(l.rc, 0);
        EXPECT_EQ(l.Run(0), 0u);
        EXPECT_EQ(l.Check(0, 0), 0);
        // The directory vanished under the task: it reports the failure.
        std::string dir = base + "/" + Entries(base).at(0);
        ASSERT_EQ(rmdir(dir.c_str()), 0);
        uint64_t v = l.Run(1);
        EXPECT_EQ(v, UINT64_MAX);
        EXPECT_EQ(l.Check(1, v), -1);
        ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    }
    EXPECT_EQ(rmdir(base.c_str()), 0);

    std::string missing = base + "/not-there";
    p.tmp_dir = missing.c_str();
    Loaded bad("io_file", p);
    EXPECT_EQ(bad.rc, -ENOENT);
}

TEST(Mixed, BurstThenWait)
{
    // f = 0.25 of a nominal 8 ms task sized at 40000 increments: a burst of
    // 40000 - floor(0.25 * 40000) = 30000 increments (7 ticks: floor(30000 /
    // 4096)), then a wait of floor(0.25 * 8 ms) = 2 ms.
    cb_wl_params_t p = Params();
    p.cpu_iters = 40000;
    p.io_ns = 8000000;
    p.io_fraction = 0.25;
    Loaded l("mixed", p);
    ASSERT_EQ(l.rc, 0);
    RecordingEnv env;
    uint64_t v = l.Run(2);
    EXPECT_EQ(v, 30000u);
    EXPECT_EQ(l.Check(2, v), 0);
    EXPECT_EQ(l.Check(2, 40000), -1);
    EXPECT_EQ(env.ticks, 7u);
    EXPECT_EQ(env.sleeps, std::vector<uint64_t>{2000000u});
}

TEST(Mixed, EndsAreCpuAndIo)
{
    cb_wl_params_t p = Params();
    p.cpu_iters = 5000;
    p.io_ns = 1000000;
    for (double f : {0.0, 1.0}) {
        p.io_fraction = f;
        Loaded l("mixed", p);
        ASSERT_EQ(l.rc, 0);
        RecordingEnv env;
        uint64_t v = l.Run(0);
        // f = 0: all 5000 increments and a 0 ns wait; f = 1: none and 1 ms.
        EXPECT_EQ(v, f == 0.0 ? 5000u : 0u);
        EXPECT_EQ(env.sleeps, std::vector<uint64_t>{f == 0.0 ? 0u : 1000000u});
    }
    for (double f : {-0.5, 1.01, (double)NAN}) {
        p.io_fraction = f;
        Loaded l("mixed", p);
        EXPECT_EQ(l.rc, -EINVAL) << f;
    }
}

// The other tasks of a fault workload count like cpu, capped at 2^20.
TEST(Fault, OtherTasksFinish)
{
    for (const char *name : {"fault_crash", "fault_hang", "fault_exit"}) {
        for (uint64_t iters : {5000ull, 1000000000ull}) {
            cb_wl_params_t p = Params();
            p.cpu_iters = iters;
            Loaded l(name, p);
            ASSERT_EQ(l.rc, 0) << name;
            const uint64_t want = iters < (1ull << 20) ? iters : (1ull << 20);
            for (size_t i = 1; i < 4; i++) {
                uint64_t v = l.Run(i);
                EXPECT_EQ(v, want) << name << " " << i;
                EXPECT_EQ(l.Check(i, v), 0);
            }
            // Task 0 must fault: any value it returned is wrong.
            EXPECT_EQ(l.Check(0, want), -1);
            EXPECT_EQ(l.Check(0, 0), -1);
        }
    }
}

// Runs task 0 of a fault workload in a forked child (which _exit(42)s if the
// task returns) and returns the wait status.
int RunForked(Loaded &l, bool hang_check = false)
{
    pid_t pid = fork();
    if (pid == 0) {
        l.Run(0);
        _exit(42);
    }
    EXPECT_GT(pid, 0);
    int status = 0;
    if (hang_check) {
        usleep(100000);
        // Still running after a while: it never returns.
        EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);
        EXPECT_EQ(kill(pid, SIGKILL), 0);
    }
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

TEST(Fault, CrashDiesOfSigsegv)
{
    cb_wl_params_t p = Params();
    p.cpu_iters = 1000;
    Loaded l("fault_crash", p);
    ASSERT_EQ(l.rc, 0);
    int st = RunForked(l);
    ASSERT_TRUE(WIFSIGNALED(st)) << st;
    EXPECT_EQ(WTERMSIG(st), SIGSEGV);
}

TEST(Fault, HangNeverReturns)
{
    cb_wl_params_t p = Params();
    Loaded l("fault_hang", p);
    ASSERT_EQ(l.rc, 0);
    int st = RunForked(l, true);
    ASSERT_TRUE(WIFSIGNALED(st)) << st;
    EXPECT_EQ(WTERMSIG(st), SIGKILL);
}

TEST(Fault, HangSleepsThroughTheTaskEnvironment)
{
    // Under an environment whose sleep hook exits with 7 at the 5th sleep:
    // the task kept sleeping through the environment (so a coroutine would
    // yield each time) and never returned (that would exit 42).
    cb_wl_params_t p = Params();
    Loaded l("fault_hang", p);
    ASSERT_EQ(l.rc, 0);
    pid_t pid = fork();
    if (pid == 0) {
        RecordingEnv env;
        env.exit_after = 5;
        l.Run(0);
        _exit(42);
    }
    ASSERT_GT(pid, 0);
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st)) << st;
    EXPECT_EQ(WEXITSTATUS(st), 7);
}

TEST(Fault, ExitInAForkedChildExitsZero)
{
    cb_wl_params_t p = Params();
    Loaded l("fault_exit", p);
    ASSERT_EQ(l.rc, 0);
    int st = RunForked(l);
    ASSERT_TRUE(WIFEXITED(st)) << st;
    EXPECT_EQ(WEXITSTATUS(st), 0);
}

void *RunTaskZero(void *p)
{
    static_cast<Loaded *>(p)->Run(0);
    return p; // not reached when the task ends the thread
}

TEST(Fault, ExitInAThreadEndsOnlyThatThread)
{
    cb_wl_params_t p = Params();
    p.cpu_iters = 1000;
    Loaded l("fault_exit", p);
    ASSERT_EQ(l.rc, 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, RunTaskZero, &l), 0);
    void *ret = &l;
    ASSERT_EQ(pthread_join(t, &ret), 0);
    // pthread_exit(NULL): the thread ended with NULL, not the return value.
    EXPECT_EQ(ret, nullptr);
    // The process goes on, and another task still runs.
    EXPECT_EQ(l.Run(1), 1000u);
}

} // namespace
