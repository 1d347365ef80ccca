#include "lib/exec/executor.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "lib/testing/leak_probe.h"
#include "lib/testing/own_process.h"

#include "lib/core/sandbox.h"
#include "lib/core/task_env.h"

/* AddressSanitizer's allocator maps and unmaps its own regions as threads
 * come and go (ThreadSanitizer's runtime adds mappings too), so under it the mapping count wobbles
 * by a few either way (measured: 140..144 over 60 thread runs, against a constant 59 without).
 * There a leak shows as growth by at least one mapping per run instead. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CB_ASAN 1
#endif
#endif
#ifndef CB_ASAN
#define CB_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__)
#define CB_TSAN 1
#else
#define CB_TSAN 0
#endif

namespace
{

/* Every executor of the registry that can run here: a new one is tested
 * here without an edit. (Under ThreadSanitizer the library executors that
 * synchronise where it cannot see say so, and are left out.) */
std::vector<const char *> AllNames()
{
    std::vector<const char *> v;
    for (size_t i = 0; i < cb_executor_count; i++)
        if (cb_executor_available(cb_executors[i]))
            v.push_back(cb_executors[i]->name);
    return v;
}
const std::vector<const char *> kAll = AllNames();

/* The names the contract fixes; the registry may hold more. */
const char *const kContract[] = {"serial",      "thread",       "process",
                                 "thread_pool", "process_pool", "coroutine"};

/* The test task: a value nobody could return by accident. */
uint64_t Square(void *, size_t i)
{
    return (uint64_t)i * i + 1;
}

uint64_t ReturnCpu(void *, size_t)
{
    return (uint64_t)sched_getcpu();
}

pid_t Tid()
{
    return (pid_t)syscall(SYS_gettid);
}

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

/* Task 3 dies of SIGSEGV (a bad write), task 5 calls
 * _exit(0) before it could report; the others compute. */
uint64_t Faulty(void *, size_t i)
{
    if (i == 3) {
        DefaultSegv();
        BadWrite();
    }
    if (i == 5)
        _exit(0);
    return (uint64_t)i * i + 1;
}

cb_exec_cfg_t Cfg(size_t tasks, cb_task_fn_t fn = Square, int workers = 2)
{
    cb_exec_cfg_t c = {};
    c.workers = workers;
    c.tasks = tasks;
    c.fn = fn;
    return c;
}

/* An executor whose library keeps one pool per process, sized by its first
 * open (libuv's): each test runs it in a process of its own, as the
 * harness's sandbox does, so that tests may give it any worker count. */
bool PerProcess(const char *name)
{
    const cb_executor_t *e = cb_executor_find(name);
    return e && e->per_process && !InOwnProcessChild();
}

template <class F> void InOwnProcess(const char *name, F fn)
{
    ::InOwnProcess(PerProcess(name), name, fn);
}

/* Runs cfg under the named executor; every result starts CB_SKIPPED so one
 * that is never written shows. A per-process executor runs in a child,
 * which hands its results back through shared memory. */
std::vector<cb_task_result_t> RunExec(const char *name, const cb_exec_cfg_t &cfg, int *rc = nullptr)
{
    const cb_executor_t *e = cb_executor_find(name);
    EXPECT_NE(e, nullptr) << name;
    std::vector<cb_task_result_t> r(cfg.tasks ? cfg.tasks : 1);
    for (auto &x : r)
        x = {0, CB_SKIPPED, 0};
    if (!e)
        return r;
    int got = 0;
    if (PerProcess(name)) {
        const size_t head = 16; /* the rc, then results at their alignment */
        size_t size = head + r.size() * sizeof(r[0]);
        void *shm = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(shm, MAP_FAILED);
        if (shm == MAP_FAILED)
            return r;
        auto *out = reinterpret_cast<cb_task_result_t *>(static_cast<char *>(shm) + head);
        std::copy(r.begin(), r.end(), out);
        InOwnProcess(name, [&] { *static_cast<int *>(shm) = cb_executor_run_all(e, &cfg, out); });
        got = *static_cast<int *>(shm);
        std::copy(out, out + r.size(), r.begin());
        munmap(shm, size);
    } else {
        got = cb_executor_run_all(e, &cfg, r.data());
    }
    if (rc)
        *rc = got;
    else
        EXPECT_EQ(got, 0) << name;
    return r;
}

struct Topo {
    cb_topo_t *t = nullptr;
    Topo()
    {
        int err = 0;
        t = cb_topo_load(&err);
        EXPECT_NE(t, nullptr) << err;
    }
    ~Topo()
    {
        cb_topo_free(t);
    }
};

struct Plan {
    cb_pin_plan_t p = {};
    Plan(const cb_topo_t *t, cb_pin_policy_t pol, int workers, const int *pus = nullptr,
         int npus = 0)
    {
        char msg[256];
        EXPECT_EQ(cb_pin_plan_make(t, pol, pus, npus, workers, &p, msg, sizeof(msg)), 0) << msg;
    }
    ~Plan()
    {
        cb_pin_plan_free(&p);
    }
};

std::vector<int> AllowedCpus()
{
    cpu_set_t set;
    std::vector<int> v;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return v;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            v.push_back(c);
    return v;
}

/* Runs every task on the calling thread (serial, coroutine). */
bool OnCallingThread(const std::string &name)
{
    return !cb_executor_find(name.c_str())->parallel;
}

bool IsPool(const std::string &name)
{
    return cb_executor_find(name.c_str())->pool;
}

} // namespace

TEST(Registry, NamesInListOrder)
{
    for (const char *name : kContract)
        EXPECT_NE(cb_executor_find(name), nullptr) << name;
    for (size_t i = 0; i < cb_executor_count; i++) {
        const char *name = cb_executors[i]->name;
        EXPECT_EQ(cb_executor_find(name), cb_executors[i]);
        for (size_t j = 0; j < i; j++)
            EXPECT_STRNE(cb_executors[i]->name, cb_executors[j]->name);
        EXPECT_GT(strlen(cb_executors[i]->summary), 10u);
        EXPECT_NE(cb_executors[i]->run, nullptr);
        /* Everything here is Linux-only code, and this is Linux; only a
         * sanitizer may keep a library executor out, and says why. */
        if (!CB_TSAN) {
            EXPECT_EQ(cb_executor_available(cb_executors[i]), 1) << name;
        } else if (!cb_executor_available(cb_executors[i])) {
            EXPECT_GT(strlen(cb_executors[i]->unavailable()), 10u) << name;
        }
    }
    for (const char *name : kContract)
        EXPECT_EQ(cb_executor_available(cb_executor_find(name)), 1) << name;
    EXPECT_EQ(cb_executor_find("threads"), nullptr);
    EXPECT_EQ(cb_executor_find(""), nullptr);
}

class Results : public ::testing::TestWithParam<std::tuple<const char *, size_t>>
{
};

TEST_P(Results, EveryTaskComputesItsValue)
{
    const char *name = std::get<0>(GetParam());
    size_t n = std::get<1>(GetParam());
    std::vector<cb_task_result_t> r = RunExec(name, Cfg(n));
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(r[i].status, CB_OK) << name << " task " << i;
        ASSERT_EQ(r[i].value, i * i + 1) << name << " task " << i;
        ASSERT_EQ(r[i].signo, 0);
    }
    EXPECT_TRUE(NoChildren());
}

INSTANTIATE_TEST_SUITE_P(AllExecutors, Results,
                         ::testing::Combine(::testing::ValuesIn(kAll),
                                            ::testing::Values(1, 2, 7, 1000)));

/* One open, several runs with other task counts than open saw (the spawn
 * benchmark opens for one task and then streams a million through). */
TEST(Executors, RunsReuseOneOpen)
{
    for (const char *name : kAll) {
        const cb_executor_t *e = cb_executor_find(name);
        ASSERT_NE(e, nullptr);
        InOwnProcess(name, [&] {
            cb_exec_cfg_t c = Cfg(1);
            void *state = nullptr;
            ASSERT_EQ(e->open ? e->open(&c, &state) : 0, 0) << name;
            /* 5000: past the pools' 4096-entry minimum queue (process_pool
             * goes through in two windows); forking that many is only slow. */
            for (size_t n : {1, 1000, 7, 5000, 1}) {
                if (n == 5000 && !IsPool(name))
                    continue;
                c.tasks = n;
                std::vector<cb_task_result_t> r(n);
                ASSERT_EQ(e->run(state, &c, r.data()), 0) << name << " tasks " << n;
                for (size_t i = 0; i < n; i++) {
                    ASSERT_EQ(r[i].status, CB_OK) << name << " tasks " << n << " task " << i;
                    ASSERT_EQ(r[i].value, i * i + 1) << name << " tasks " << n << " task " << i;
                }
            }
            if (e->close)
                e->close(state);
        });
        EXPECT_TRUE(NoChildren()) << name;
    }
}

/* No tasks: nothing to do, and nothing goes wrong. */
TEST(Executors, ZeroTasks)
{
    for (const char *name : kAll) {
        cb_exec_cfg_t c = Cfg(0);
        std::vector<cb_task_result_t> r = RunExec(name, c);
        EXPECT_EQ(r[0].status, CB_SKIPPED) << name; /* untouched */
    }
}

/* Under the interpreter-lock emulation the results are the same. */
TEST(Executors, SameResultsWithTheLock)
{
    for (const char *name : kAll) {
        cb_exec_cfg_t c = Cfg(100);
        c.gil_interval_ns = 1000000;
        std::vector<cb_task_result_t> r = RunExec(name, c);
        for (size_t i = 0; i < c.tasks; i++) {
            ASSERT_EQ(r[i].status, CB_OK) << name << " task " << i;
            ASSERT_EQ(r[i].value, i * i + 1) << name << " task " << i;
        }
    }
}

/* A compact plan over every allowed PU. thread and process put task i on
 * slot i % W, so each reports exactly that PU; serial and coroutine run on
 * the calling thread, pinned to slot 0; pool workers each sit on one slot,
 * but which worker runs a task is theirs to pick, so a task reports one of
 * the planned PUs. */
TEST(Pinning, CompactPlanOnTheRealTopology)
{
    Topo topo;
    ASSERT_NE(topo.t, nullptr);
    int w = cb_topo_allowed_pus(topo.t);
    ASSERT_GE(w, 1);
    Plan plan(topo.t, CB_PIN_COMPACT, w);
    std::set<uint64_t> planned;
    for (int i = 0; i < w; i++)
        planned.insert((uint64_t)plan.p.slots[i].pu_os);
    for (const char *name : kAll) {
        cb_exec_cfg_t c = Cfg(50, ReturnCpu, w);
        c.topo = topo.t;
        c.plan = &plan.p;
        std::vector<cb_task_result_t> r = RunExec(name, c);
        for (size_t i = 0; i < c.tasks; i++) {
            ASSERT_EQ(r[i].status, CB_OK) << name;
            if (IsPool(name))
                EXPECT_EQ(planned.count(r[i].value), 1u) << name << " task " << i;
            else if (OnCallingThread(name))
                EXPECT_EQ(r[i].value, (uint64_t)plan.p.slots[0].pu_os) << name << " task " << i;
            else
                EXPECT_EQ(r[i].value, (uint64_t)plan.p.slots[i % (size_t)w].pu_os)
                    << name << " task " << i;
        }
    }
}

/* Every executor, pinned with a one-PU list plan to each allowed PU in turn:
 * every task reports that PU. */
TEST(Pinning, OnePuListPlanPinsEveryExecutor)
{
    Topo topo;
    ASSERT_NE(topo.t, nullptr);
    for (int cpu : AllowedCpus()) {
        Plan plan(topo.t, CB_PIN_LIST, 1, &cpu, 1);
        for (const char *name : kAll) {
            cb_exec_cfg_t c = Cfg(20, ReturnCpu, 1);
            c.topo = topo.t;
            c.plan = &plan.p;
            std::vector<cb_task_result_t> r = RunExec(name, c);
            for (size_t i = 0; i < c.tasks; i++)
                ASSERT_EQ(r[i].value, (uint64_t)cpu) << name << " task " << i;
        }
    }
}

/* serial and coroutine pin the calling thread only between open and close. */
TEST(Pinning, CallingThreadGetsItsAffinityBack)
{
    Topo topo;
    ASSERT_NE(topo.t, nullptr);
    std::vector<int> cpus = AllowedCpus();
    int last = cpus.back();
    Plan plan(topo.t, CB_PIN_LIST, 1, &last, 1);
    cpu_set_t before, after;
    ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
    for (const char *name : {"serial", "coroutine"}) {
        cb_exec_cfg_t c = Cfg(5, ReturnCpu, 1);
        c.topo = topo.t;
        c.plan = &plan.p;
        RunExec(name, c);
        ASSERT_EQ(sched_getaffinity(0, sizeof(after), &after), 0);
        EXPECT_TRUE(CPU_EQUAL(&before, &after)) << name;
    }
}

/* A plan for a machine that is not this one is refused before anything
 * starts. */
TEST(Pinning, SyntheticTopologyIsRefused)
{
    int err = 0;
    cb_topo_t *t = cb_topo_load_synthetic("pack:2 core:2 pu:2", &err);
    ASSERT_NE(t, nullptr) << err;
    Plan plan(t, CB_PIN_COMPACT, 2);
    for (const char *name : kAll) {
        cb_exec_cfg_t c = Cfg(4);
        c.topo = t;
        c.plan = &plan.p;
        int rc = 0;
        RunExec(name, c, &rc);
        EXPECT_EQ(rc, -EXDEV) << name;
    }
    cb_topo_free(t);
    EXPECT_TRUE(NoChildren());
}

/* Threads, descriptors, mappings and children: after warm-up runs (malloc
 * arenas, glibc's cache of thread stacks and a sanitizer's allocator regions
 * fill once), more runs leave every count where it was. A leak of one
 * mapping or descriptor per run would show five times over. libuv's pool
 * threads stay for the process (per_process): its thread count is the one
 * after the warm-up. */
TEST(Leaks, NothingGrowsAcrossRuns)
{
    const int settled = SettledThreads();
    Topo topo;
    ASSERT_NE(topo.t, nullptr);
    int w = cb_topo_allowed_pus(topo.t);
    Plan plan(topo.t, CB_PIN_COMPACT, w);
    for (const char *name : kAll) {
        const bool stays = cb_executor_find(name)->per_process;
        InOwnProcess(name, [&] {
            cb_exec_cfg_t c = Cfg(50, Square, w);
            c.topo = topo.t;
            c.plan = &plan.p;
            int threads = settled;
            for (int round = 0; round < 3; round++) {
                RunExec(name, c);
                if (stays && round == 0)
                    threads = SettledThreads();
            }
            EXPECT_LE(ThreadsDownTo(threads), threads) << name;
            int fds = CountDir("/proc/self/fd");
            int maps = CountMaps();
            const int rounds = CB_ASAN ? 20 : 5;
            for (int round = 0; round < rounds; round++)
                RunExec(name, c);
            EXPECT_LE(ThreadsDownTo(threads), threads) << name;
            EXPECT_EQ(CountDir("/proc/self/fd"), fds) << name;
            if (CB_ASAN)
                EXPECT_LT(CountMaps(), maps + rounds) << name;
            else
                EXPECT_EQ(CountMaps(), maps) << name;
        });
        EXPECT_TRUE(NoChildren()) << name;
    }
}

/* Inside one process a crash takes the process down; under process and
 * process_pool it takes only its own task. */
TEST(Faults, ProcessRecordsCrashAndExit)
{
    for (const char *name : {"process", "process_pool"}) {
        std::vector<cb_task_result_t> r = RunExec(name, Cfg(30, Faulty));
        for (size_t i = 0; i < 30; i++) {
            if (i == 3) {
                EXPECT_EQ(r[i].status, CB_CRASHED) << name;
                EXPECT_EQ(r[i].signo, SIGSEGV) << name;
            } else if (i == 5) {
                EXPECT_EQ(r[i].status, CB_ERROR) << name; /* exit before reporting */
                EXPECT_EQ(r[i].signo, 0) << name;
            } else {
                EXPECT_EQ(r[i].status, CB_OK) << name << " task " << i;
                EXPECT_EQ(r[i].value, i * i + 1) << name << " task " << i;
            }
        }
        EXPECT_TRUE(NoChildren()) << name;
    }
}

/* The process executor's children keep the handlers of the process that
 * forked them (no signal() resets: they cost page faults in every child),
 * so those handlers must only end a child. Here the forking process is a
 * sandbox child, whose SIGTERM handler kills and reaps its children before
 * it dies: a task that gets SIGTERM must die of it alone, its siblings
 * unharmed and the sandbox child still running. */
TEST(Faults, ProcessTaskDiesOfSigtermAlone)
{
    constexpr size_t n = 6;
    auto *shm = static_cast<cb_task_result_t *>(cb_sandbox_shm_alloc(n * sizeof(cb_task_result_t)));
    ASSERT_NE(shm, nullptr);
    cb_sandbox_result_t res;
    ASSERT_EQ(cb_sandbox_run(
                  [](void *out, void *) -> int {
                      cb_exec_cfg_t c = Cfg(n, [](void *, size_t i) -> uint64_t {
                          if (i == 2) {
                              /* Once every sibling has been forked. */
                              struct timespec ts = {0, 50000000};
                              nanosleep(&ts, nullptr);
                              raise(SIGTERM);
                          }
                          if (i == 4) {
                              /* Outlives task 2's signal: would be killed by
                               * a sibling running the sandbox's handler. */
                              struct timespec ts = {0, 200000000};
                              nanosleep(&ts, nullptr);
                          }
                          return (uint64_t)i * i + 1;
                      });
                      return cb_executor_run_all(cb_executor_find("process"), &c,
                                                 static_cast<cb_task_result_t *>(out)) == 0
                                 ? 0
                                 : 1;
                  },
                  nullptr, shm, 10000000000ull, &res),
              0);
    EXPECT_EQ(res.status, CB_OK) << res.detail;
    for (size_t i = 0; i < n; i++) {
        if (i == 2) {
            EXPECT_EQ(shm[i].status, CB_CRASHED);
            EXPECT_EQ(shm[i].signo, SIGTERM);
        } else {
            EXPECT_EQ(shm[i].status, CB_OK) << "task " << i;
            EXPECT_EQ(shm[i].value, i * i + 1) << "task " << i;
        }
    }
    cb_sandbox_shm_free(shm, n * sizeof(cb_task_result_t));
    EXPECT_TRUE(NoChildren());
}

/* A task that ends its thread (pthread_exit) under thread or thread_pool is
 * an error; the others finish. */
TEST(Faults, PthreadExitIsError)
{
    const int threads = SettledThreads();
    for (const char *name : {"thread", "thread_pool"}) {
        std::vector<cb_task_result_t> r = RunExec(name, Cfg(30, [](void *, size_t i) -> uint64_t {
                                                      if (i == 4)
                                                          pthread_exit(nullptr);
                                                      return (uint64_t)i * i + 1;
                                                  }));
        for (size_t i = 0; i < 30; i++) {
            if (i == 4) {
                EXPECT_EQ(r[i].status, CB_ERROR) << name;
            } else {
                EXPECT_EQ(r[i].status, CB_OK) << name << " task " << i;
                EXPECT_EQ(r[i].value, i * i + 1) << name << " task " << i;
            }
        }
        EXPECT_LE(ThreadsDownTo(threads), threads) << name;
    }
}

/* In-process executors die with a crashing task: checked in a child, as the
 * runner's sandbox would see it. */
TEST(Faults, ThreadCrashTakesTheProcess)
{
    for (const char *name : {"serial", "thread", "thread_pool", "coroutine"}) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            RunExec(name, Cfg(10, [](void *, size_t i) -> uint64_t {
                        if (i == 3) {
                            DefaultSegv();
                            raise(SIGSEGV);
                        }
                        return i;
                    }));
            _exit(0);
        }
        int st;
        ASSERT_EQ(waitpid(pid, &st, 0), pid);
        EXPECT_TRUE(WIFSIGNALED(st)) << name;
        EXPECT_EQ(WTERMSIG(st), SIGSEGV) << name;
    }
}

namespace
{
std::atomic<int> sleeping{0};
std::atomic<int> max_sleeping{0};
std::atomic<int> off_thread{0};
pid_t caller_tid;

/* Records how many tasks wait at once, and whether any runs off the calling
 * thread. */
uint64_t SleepTask(void *, size_t i)
{
    off_thread += Tid() != caller_tid;
    int now = ++sleeping;
    for (int m = max_sleeping.load(); now > m && !max_sleeping.compare_exchange_weak(m, now);)
        ;
    cb_task_sleep_ns(20000000);
    --sleeping;
    return i;
}
} // namespace

/* Coroutines wait together on one thread; serial waits one at a time. */
TEST(Coroutine, WaitsOverlapOnOneThread)
{
    caller_tid = Tid();
    for (const char *name : {"coroutine", "serial"}) {
        sleeping = 0;
        max_sleeping = 0;
        off_thread = 0;
        std::vector<cb_task_result_t> r = RunExec(name, Cfg(20, SleepTask));
        for (size_t i = 0; i < 20; i++)
            ASSERT_EQ(r[i].value, i) << name;
        EXPECT_EQ(off_thread.load(), 0) << name;
        if (std::string(name) == "coroutine")
            EXPECT_EQ(max_sleeping.load(), 20); /* all asleep at once */
        else
            EXPECT_EQ(max_sleeping.load(), 1);
    }
}

namespace
{
struct CallbackLog {
    pid_t pid;
    pid_t tid;
    std::atomic<int> calls{0};
    std::atomic<int> in_pid{0};
    std::atomic<int> off_caller_thread{0};
};

void LogCallback(void *arg, size_t index, uint64_t value)
{
    CallbackLog *log = static_cast<CallbackLog *>(arg);
    EXPECT_EQ(value, (uint64_t)index * index + 1);
    log->calls++;
    log->in_pid += getpid() == log->pid;
    log->off_caller_thread += Tid() != log->tid;
}
} // namespace

/* The pool executors pass the callback through: thread_pool runs it in a
 * worker thread, process_pool in this process (on this thread). */
TEST(Callbacks, PoolsRunTheCallbackWhereTheyShould)
{
    for (uint64_t gil : {0, 1000000}) {
        for (const char *name : {"thread_pool", "process_pool"}) {
            CallbackLog log;
            log.pid = getpid();
            log.tid = Tid();
            cb_exec_cfg_t c = Cfg(1000);
            c.callback = LogCallback;
            c.callback_arg = &log;
            c.gil_interval_ns = gil;
            RunExec(name, c);
            EXPECT_EQ(log.calls.load(), 1000) << name;
            EXPECT_EQ(log.in_pid.load(), 1000) << name;
            if (std::string(name) == "thread_pool")
                EXPECT_EQ(log.off_caller_thread.load(), 1000) << name;
            else
                EXPECT_EQ(log.off_caller_thread.load(), 0) << name;
        }
    }
}

TEST(Executors, PoolsNeedWorkers)
{
    for (const char *name : {"thread_pool", "process_pool"}) {
        int rc = 0;
        RunExec(name, Cfg(4, Square, 0), &rc);
        EXPECT_EQ(rc, -EINVAL) << name;
    }
}
