#include "lib/exec/process_pool.h"

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "lib/testing/leak_probe.h"

namespace
{

uint64_t Square(void *, size_t i)
{
    return (uint64_t)i * i + 1;
}

uint64_t ReturnCpu(void *, size_t)
{
    return (uint64_t)sched_getcpu();
}

uint64_t ReturnPid(void *, size_t)
{
    return (uint64_t)getpid();
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

/* Task 3 dies of SIGSEGV, the others compute. */
uint64_t CrashOnThree(void *, size_t i)
{
    if (i == 3) {
        DefaultSegv();
        BadWrite();
    }
    return (uint64_t)i * i + 1;
}

uint64_t CrashAlways(void *, size_t)
{
    DefaultSegv();
    raise(SIGSEGV);
    return 0;
}

/* Task 5 calls _exit(0) before it could report. */
uint64_t ExitOnFive(void *, size_t i)
{
    if (i == 5)
        _exit(0);
    return (uint64_t)i * i + 1;
}

struct Opts {
    int workers = 2;
    cb_task_fn_t fn = Square;
    size_t capacity = 0;
    cb_callback_fn_t callback = nullptr;
    void *callback_arg = nullptr;
    const cb_topo_t *topo = nullptr;
    const cb_pin_plan_t *plan = nullptr;
};

cb_process_pool_t *NewPool(const Opts &t)
{
    cb_process_pool_opts_t o = {};
    o.workers = t.workers;
    o.fn = t.fn;
    o.capacity = t.capacity;
    o.callback = t.callback;
    o.callback_arg = t.callback_arg;
    o.topo = t.topo;
    o.plan = t.plan;
    int err = 0;
    cb_process_pool_t *p = cb_process_pool_new(&o, &err);
    EXPECT_EQ(err, 0);
    return p;
}

std::vector<cb_task_result_t> RunAll(cb_process_pool_t *p, size_t n)
{
    std::vector<cb_task_result_t> r(n);
    for (auto &x : r)
        x.status = CB_SKIPPED; /* so a result never written shows */
    EXPECT_EQ(cb_process_pool_submit_range(p, 0, n), 0);
    EXPECT_EQ(cb_process_pool_wait_all(p, r.data(), r.size()), 0);
    return r;
}

} // namespace

TEST(ProcessPool, ThousandTasksEveryWorkerCount)
{
    for (int w : {1, 2, 3}) {
        Opts o;
        o.workers = w;
        o.capacity = 1000;
        cb_process_pool_t *p = NewPool(o);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(cb_process_pool_workers(p), w);
        std::vector<cb_task_result_t> r = RunAll(p, 1000);
        for (size_t i = 0; i < r.size(); i++) {
            ASSERT_EQ(r[i].status, CB_OK) << i;
            ASSERT_EQ(r[i].value, i * i + 1) << i;
        }
        /* A second run through the same pool. */
        r = RunAll(p, 1000);
        for (size_t i = 0; i < r.size(); i++)
            ASSERT_EQ(r[i].value, i * i + 1) << i;
        EXPECT_EQ(cb_process_pool_replaced(p), 0u);
        cb_process_pool_free(p);
    }
    EXPECT_TRUE(NoChildren());
}

TEST(ProcessPool, TasksRunInTheWorkers)
{
    Opts o;
    o.fn = ReturnPid;
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    std::set<uint64_t> workers;
    for (int w = 0; w < 2; w++)
        workers.insert((uint64_t)cb_process_pool_worker_pid(p, w));
    std::vector<cb_task_result_t> r = RunAll(p, 200);
    for (auto &x : r) {
        EXPECT_NE(x.value, (uint64_t)getpid());
        EXPECT_EQ(workers.count(x.value), 1u);
    }
    cb_process_pool_free(p);
}

TEST(ProcessPool, SubmitAndWaitTickets)
{
    Opts o;
    o.capacity = 8;
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    std::vector<int64_t> tickets;
    for (size_t i = 0; i < 8; i++) {
        int64_t t = cb_process_pool_submit(p, 100 + i);
        ASSERT_GE(t, 0);
        tickets.push_back(t);
    }
    /* Room for 8 uncollected tasks, no more. */
    EXPECT_EQ(cb_process_pool_submit(p, 999), -EAGAIN);
    for (size_t i = tickets.size(); i-- > 0;) {
        cb_task_result_t r;
        ASSERT_EQ(cb_process_pool_wait(p, tickets[i], &r), 0);
        EXPECT_EQ(r.status, CB_OK);
        EXPECT_EQ(r.value, (100 + i) * (100 + i) + 1);
    }
    /* Collected tickets are not outstanding any more. */
    cb_task_result_t r;
    EXPECT_EQ(cb_process_pool_wait(p, tickets[0], &r), -EINVAL);
    EXPECT_EQ(cb_process_pool_wait(p, -1, &r), -EINVAL);
    /* And there is room again. */
    int64_t t = cb_process_pool_submit(p, 3);
    ASSERT_GE(t, 0);
    ASSERT_EQ(cb_process_pool_wait(p, t, &r), 0);
    EXPECT_EQ(r.value, 10u);
    cb_process_pool_free(p);
}

/* wait_all after some tickets were collected one by one returns the rest. */
TEST(ProcessPool, WaitAllAfterSomeWaits)
{
    cb_process_pool_t *p = NewPool(Opts());
    ASSERT_NE(p, nullptr);
    int64_t t0 = cb_process_pool_submit(p, 0);
    int64_t t1 = cb_process_pool_submit(p, 1);
    int64_t t2 = cb_process_pool_submit(p, 2);
    ASSERT_GE(t0, 0);
    ASSERT_GE(t1, 0);
    ASSERT_GE(t2, 0);
    cb_task_result_t one;
    ASSERT_EQ(cb_process_pool_wait(p, t1, &one), 0);
    EXPECT_EQ(one.value, 2u);
    std::vector<cb_task_result_t> r(3);
    for (auto &x : r)
        x.status = CB_SKIPPED;
    ASSERT_EQ(cb_process_pool_wait_all(p, r.data(), r.size()), 0);
    EXPECT_EQ(r[0].value, 1u);
    EXPECT_EQ(r[1].status, CB_SKIPPED); /* collected before */
    EXPECT_EQ(r[2].value, 5u);
    cb_process_pool_free(p);
}

namespace
{
struct ParentLog {
    pid_t parent;
    int calls = 0;
    int in_parent = 0;
    int active = 0;
    int max_active = 0;
    std::set<size_t> indexes;
};

void LogCallback(void *arg, size_t index, uint64_t value)
{
    ParentLog *log = static_cast<ParentLog *>(arg);
    log->active++;
    if (log->active > log->max_active)
        log->max_active = log->active;
    log->calls++;
    log->in_parent += getpid() == log->parent;
    if (value == (uint64_t)index * index + 1)
        log->indexes.insert(index);
    log->active--;
}
} // namespace

TEST(ProcessPool, CallbacksRunInTheParentOneAtATime)
{
    ParentLog log;
    log.parent = getpid();
    Opts o;
    o.callback = LogCallback;
    o.callback_arg = &log;
    o.capacity = 1000;
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    std::vector<cb_task_result_t> r = RunAll(p, 1000);
    EXPECT_EQ(log.calls, 1000);
    EXPECT_EQ(log.in_parent, 1000);
    EXPECT_EQ(log.max_active, 1);
    EXPECT_EQ(log.indexes.size(), 1000u); /* each task once, with its value */
    cb_process_pool_free(p);
}

TEST(ProcessPool, CrashingTaskIsRecordedAndTheRestFinish)
{
    Opts o;
    o.fn = CrashOnThree;
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    std::vector<cb_task_result_t> r = RunAll(p, 100);
    for (size_t i = 0; i < r.size(); i++) {
        if (i == 3) {
            EXPECT_EQ(r[i].status, CB_CRASHED);
            EXPECT_EQ(r[i].signo, SIGSEGV);
        } else {
            ASSERT_EQ(r[i].status, CB_OK) << i;
            ASSERT_EQ(r[i].value, i * i + 1) << i;
        }
    }
    EXPECT_EQ(cb_process_pool_replaced(p), 1u);
    /* The replacement works: a second run is all fine but task 3. */
    r = RunAll(p, 10);
    EXPECT_EQ(r[3].status, CB_CRASHED);
    EXPECT_EQ(r[9].status, CB_OK);
    cb_process_pool_free(p);
    EXPECT_TRUE(NoChildren());
}

TEST(ProcessPool, EveryTaskCrashingNeverHangs)
{
    Opts o;
    o.fn = CrashAlways;
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    std::vector<cb_task_result_t> r = RunAll(p, 20);
    for (auto &x : r) {
        EXPECT_EQ(x.status, CB_CRASHED);
        EXPECT_EQ(x.signo, SIGSEGV);
    }
    EXPECT_EQ(cb_process_pool_replaced(p), 20u);
    cb_process_pool_free(p);
    EXPECT_TRUE(NoChildren());
}

TEST(ProcessPool, ExitInsideATaskIsError)
{
    Opts o;
    o.fn = ExitOnFive;
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    std::vector<cb_task_result_t> r = RunAll(p, 50);
    for (size_t i = 0; i < r.size(); i++) {
        if (i == 5)
            EXPECT_EQ(r[i].status, CB_ERROR);
        else
            ASSERT_EQ(r[i].value, i * i + 1) << i;
    }
    cb_process_pool_free(p);
}

/* The only worker, killed from outside while idle: the tasks can finish
 * only if the pool notices and forks a replacement. */
TEST(ProcessPool, KilledIdleWorkerIsReplaced)
{
    Opts o;
    o.workers = 1;
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    pid_t victim = cb_process_pool_worker_pid(p, 0);
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    std::vector<cb_task_result_t> r = RunAll(p, 500);
    for (size_t i = 0; i < r.size(); i++)
        ASSERT_EQ(r[i].value, i * i + 1) << i;
    EXPECT_EQ(cb_process_pool_replaced(p), 1u);
    EXPECT_NE(cb_process_pool_worker_pid(p, 0), victim);
    cb_process_pool_free(p);
    EXPECT_TRUE(NoChildren());
}

TEST(ProcessPool, NothingLeaks)
{
    int fds = CountDir("/proc/self/fd");
    int maps = CountMaps();
    int tasks = CountDir("/proc/self/task");
    for (int round = 0; round < 5; round++) {
        cb_process_pool_t *p = NewPool(Opts());
        ASSERT_NE(p, nullptr);
        RunAll(p, 100);
        cb_process_pool_free(p);
    }
    EXPECT_TRUE(NoChildren());
    EXPECT_EQ(CountDir("/proc/self/fd"), fds);
    EXPECT_EQ(CountMaps(), maps);
    EXPECT_EQ(CountDir("/proc/self/task"), tasks);
}

TEST(ProcessPool, BadOptionsAreRefused)
{
    cb_process_pool_opts_t o = {};
    int err = 0;
    o.workers = 1;
    EXPECT_EQ(cb_process_pool_new(&o, &err), nullptr); /* no task function */
    EXPECT_EQ(err, -EINVAL);
    o.fn = Square;
    o.workers = 0;
    err = 0;
    EXPECT_EQ(cb_process_pool_new(&o, &err), nullptr);
    EXPECT_EQ(err, -EINVAL);
}

TEST(ProcessPool, SyntheticTopologyRefusesToBind)
{
    int err = 0;
    cb_topo_t *topo = cb_topo_load_synthetic("pack:1 core:2 pu:1", &err);
    ASSERT_NE(topo, nullptr);
    cb_pin_plan_t plan;
    char msg[256];
    ASSERT_EQ(cb_pin_plan_make(topo, CB_PIN_COMPACT, nullptr, 0, 2, &plan, msg, sizeof(msg)), 0);
    Opts o;
    o.topo = topo;
    o.plan = &plan;
    cb_process_pool_opts_t po = {};
    po.workers = 2;
    po.fn = Square;
    po.topo = topo;
    po.plan = &plan;
    EXPECT_EQ(cb_process_pool_new(&po, &err), nullptr);
    EXPECT_EQ(err, -EXDEV);
    cb_pin_plan_free(&plan);
    cb_topo_free(topo);
    EXPECT_TRUE(NoChildren());
}

/* One worker pinned to each allowed PU in turn: its tasks report that PU. */
TEST(ProcessPool, PinnedWorkerRunsOnItsPu)
{
    int err = 0;
    cb_topo_t *topo = cb_topo_load(&err);
    ASSERT_NE(topo, nullptr) << err;
    cpu_set_t set;
    ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        cb_pin_plan_t plan;
        char msg[256];
        ASSERT_EQ(cb_pin_plan_make(topo, CB_PIN_LIST, &cpu, 1, 1, &plan, msg, sizeof(msg)), 0)
            << msg;
        Opts o;
        o.workers = 1;
        o.fn = ReturnCpu;
        o.topo = topo;
        o.plan = &plan;
        cb_process_pool_t *p = NewPool(o);
        ASSERT_NE(p, nullptr);
        std::vector<cb_task_result_t> r = RunAll(p, 50);
        for (auto &x : r)
            ASSERT_EQ(x.value, (uint64_t)cpu);
        cb_process_pool_free(p);
        cb_pin_plan_free(&plan);
    }
    cb_topo_free(topo);
}

/* Workers blocked on a full completion ring (more tasks than the ring holds
 * and a parent that is not collecting) still finish once it collects. */
TEST(ProcessPool, ManyTasksThroughSmallRings)
{
    Opts o;
    o.capacity = 20000; /* more than one worker's ring (4096) */
    cb_process_pool_t *p = NewPool(o);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(cb_process_pool_submit_range(p, 0, 20000), 0);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, nullptr); /* let the rings fill while we do not look */
    std::vector<cb_task_result_t> r(20000);
    ASSERT_EQ(cb_process_pool_wait_all(p, r.data(), r.size()), 0);
    for (size_t i = 0; i < r.size(); i++)
        ASSERT_EQ(r[i].value, i * i + 1) << i;
    cb_process_pool_free(p);
}
