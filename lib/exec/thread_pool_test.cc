#include "lib/exec/thread_pool.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <mutex>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "lib/testing/leak_probe.h"

namespace
{

/* The test task: a value nobody could return by accident. */
uint64_t Square(void *, size_t i)
{
    return (uint64_t)i * i + 1;
}

pid_t Tid()
{
    return (pid_t)syscall(SYS_gettid);
}

uint64_t ReturnTid(void *, size_t)
{
    return (uint64_t)Tid();
}

uint64_t ReturnCpu(void *, size_t)
{
    return (uint64_t)sched_getcpu();
}

cb_thread_pool_t *NewPool(int workers, size_t cap = 0, cb_callback_fn_t cb = nullptr,
                          void *cb_arg = nullptr, const cb_topo_t *topo = nullptr,
                          const cb_pin_plan_t *plan = nullptr)
{
    cb_thread_pool_opts_t o = {};
    o.workers = workers;
    o.queue_capacity = cap;
    o.callback = cb;
    o.callback_arg = cb_arg;
    o.topo = topo;
    o.plan = plan;
    int err = 0;
    cb_thread_pool_t *p = cb_thread_pool_new(&o, &err);
    EXPECT_EQ(err, 0);
    return p;
}

std::vector<cb_tp_task_t> Tasks(size_t n, cb_task_fn_t fn)
{
    std::vector<cb_tp_task_t> t(n);
    for (size_t i = 0; i < n; i++) {
        t[i].fn = fn;
        t[i].arg = nullptr;
        t[i].index = i;
    }
    return t;
}

} // namespace

TEST(ThreadPool, ThousandTasksEveryWorkerCount)
{
    for (int w : {1, 2, 3, 8}) {
        cb_thread_pool_t *p = NewPool(w);
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(cb_thread_pool_workers(p), w);
        std::vector<cb_tp_task_t> t = Tasks(1000, Square);
        ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
        cb_thread_pool_wait_all(p);
        for (size_t i = 0; i < t.size(); i++)
            ASSERT_EQ(t[i].value, i * i + 1) << "task " << i << " workers " << w;
        cb_thread_pool_free(p);
    }
}

TEST(ThreadPool, SubmitAndWaitOneByOne)
{
    cb_thread_pool_t *p = NewPool(2);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(100, Square);
    for (auto &x : t)
        ASSERT_EQ(cb_thread_pool_submit(p, &x), 0);
    /* Waiting in reverse order exercises the sleeping-waiter path. */
    for (size_t i = t.size(); i-- > 0;) {
        cb_thread_pool_wait(p, &t[i]);
        EXPECT_EQ(t[i].value, i * i + 1);
    }
    /* The record can be reused at once. */
    ASSERT_EQ(cb_thread_pool_submit(p, &t[5]), 0);
    cb_thread_pool_wait(p, &t[5]);
    EXPECT_EQ(t[5].value, 26u);
    cb_thread_pool_free(p);
}

/* A queue of 2 entries and 1000 tasks: submitting must wait for room and
 * every task still runs once. */
TEST(ThreadPool, FullQueueBlocksSubmitter)
{
    cb_thread_pool_t *p = NewPool(2, 2);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(1000, Square);
    ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
    cb_thread_pool_wait_all(p);
    for (size_t i = 0; i < t.size(); i++)
        ASSERT_EQ(t[i].value, i * i + 1);
    cb_thread_pool_free(p);
}

namespace
{
struct CallbackLog {
    pid_t caller;
    std::atomic<int> calls{0};
    std::atomic<int> in_worker{0}; /* gettid differs from the submitter's */
    std::atomic<int> same_tid{0};  /* gettid equals the task's own (its value) */
    std::mutex mu;
    std::set<size_t> indexes;
};

void LogCallback(void *arg, size_t index, uint64_t value)
{
    CallbackLog *log = static_cast<CallbackLog *>(arg);
    pid_t me = Tid();
    log->in_worker += me != log->caller;
    log->same_tid += (uint64_t)me == value;
    std::lock_guard<std::mutex> g(log->mu);
    log->indexes.insert(index);
    log->calls++;
}
} // namespace

TEST(ThreadPool, CallbackRunsInTheWorkerThatRanTheTask)
{
    CallbackLog log;
    log.caller = Tid();
    cb_thread_pool_t *p = NewPool(2, 0, LogCallback, &log);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(1000, ReturnTid);
    ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
    cb_thread_pool_wait_all(p);
    /* wait_all returns after the callbacks too. */
    EXPECT_EQ(log.calls.load(), 1000);
    EXPECT_EQ(log.in_worker.load(), 1000);
    EXPECT_EQ(log.same_tid.load(), 1000);
    EXPECT_EQ(log.indexes.size(), 1000u);
    cb_thread_pool_free(p);
}

TEST(ThreadPool, FreeRunsQueuedTasks)
{
    cb_thread_pool_t *p = NewPool(1);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(500, Square);
    ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
    cb_thread_pool_free(p);
    for (size_t i = 0; i < t.size(); i++)
        ASSERT_EQ(t[i].value, i * i + 1);
}

TEST(ThreadPool, FreeJoinsEveryThread)
{
    int before = SettledThreads();
    int fds = CountDir("/proc/self/fd");
    for (int round = 0; round < 5; round++) {
        cb_thread_pool_t *p = NewPool(4);
        ASSERT_NE(p, nullptr);
        /* new() returns with every worker running. */
        EXPECT_GE(CountDir("/proc/self/task"), before + 4);
        std::vector<cb_tp_task_t> t = Tasks(100, Square);
        ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
        cb_thread_pool_wait_all(p);
        cb_thread_pool_free(p);
    }
    EXPECT_LE(ThreadsDownTo(before), before);
    EXPECT_EQ(CountDir("/proc/self/fd"), fds);
}

TEST(ThreadPool, BadOptionsAreRefused)
{
    cb_thread_pool_opts_t o = {};
    int err = 0;
    o.workers = 0;
    EXPECT_EQ(cb_thread_pool_new(&o, &err), nullptr);
    EXPECT_EQ(err, -EINVAL);
    cb_pin_slot_t slot = {0, 0, 0};
    cb_pin_plan_t plan = {CB_PIN_LIST, 1, 0, &slot};
    o.workers = 1;
    o.plan = &plan; /* a plan without its topology */
    err = 0;
    EXPECT_EQ(cb_thread_pool_new(&o, &err), nullptr);
    EXPECT_EQ(err, -EINVAL);
}

/* One worker pinned to each allowed PU in turn (a one-PU list plan): every
 * task it runs reports that PU. */
TEST(ThreadPool, PinnedWorkerRunsOnItsPu)
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
        cb_thread_pool_t *p = NewPool(1, 0, nullptr, nullptr, topo, &plan);
        ASSERT_NE(p, nullptr);
        std::vector<cb_tp_task_t> t = Tasks(50, ReturnCpu);
        ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
        cb_thread_pool_wait_all(p);
        for (auto &x : t)
            ASSERT_EQ(x.value, (uint64_t)cpu);
        cb_thread_pool_free(p);
        cb_pin_plan_free(&plan);
    }
    cb_topo_free(topo);
}

/* A compact plan over every allowed PU: each task runs on one of them. */
TEST(ThreadPool, CompactPlanKeepsTasksOnPlannedPus)
{
    int err = 0;
    cb_topo_t *topo = cb_topo_load(&err);
    ASSERT_NE(topo, nullptr) << err;
    int w = cb_topo_allowed_pus(topo);
    cb_pin_plan_t plan;
    char msg[256];
    ASSERT_EQ(cb_pin_plan_make(topo, CB_PIN_COMPACT, nullptr, 0, w, &plan, msg, sizeof(msg)), 0)
        << msg;
    std::set<uint64_t> planned;
    for (int i = 0; i < w; i++)
        planned.insert((uint64_t)plan.slots[i].pu_os);
    cb_thread_pool_t *p = NewPool(w, 0, nullptr, nullptr, topo, &plan);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(1000, ReturnCpu);
    ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
    cb_thread_pool_wait_all(p);
    for (auto &x : t)
        ASSERT_EQ(planned.count(x.value), 1u) << x.value;
    cb_thread_pool_free(p);
    cb_pin_plan_free(&plan);
    cb_topo_free(topo);
}

/* Several threads submitting at once (the ring is multi-producer). */
TEST(ThreadPool, ConcurrentSubmitters)
{
    cb_thread_pool_t *p = NewPool(2, 16);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(4000, Square);
    std::vector<std::thread> subs;
    for (int s = 0; s < 4; s++)
        subs.emplace_back([&, s] {
            for (size_t i = (size_t)s * 1000; i < (size_t)(s + 1) * 1000; i++)
                EXPECT_EQ(cb_thread_pool_submit(p, &t[i]), 0);
        });
    for (auto &th : subs)
        th.join();
    cb_thread_pool_wait_all(p);
    for (size_t i = 0; i < t.size(); i++)
        ASSERT_EQ(t[i].value, i * i + 1);
    cb_thread_pool_free(p);
}

namespace
{
/* Task 3 ends its thread instead of returning. */
uint64_t ExitOnThree(void *, size_t i)
{
    if (i == 3)
        pthread_exit(nullptr);
    return (uint64_t)i * i + 1;
}

uint64_t ExitAlways(void *, size_t)
{
    pthread_exit(nullptr);
}
} // namespace

/* A task that calls pthread_exit is an error; a new worker takes the place
 * of the one that ended, and free() still leaves no thread behind. */
TEST(ThreadPool, PthreadExitInATaskIsErrorAndTheWorkerIsReplaced)
{
    int before = SettledThreads();
    cb_thread_pool_t *p = NewPool(2);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(100, ExitOnThree);
    ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
    cb_thread_pool_wait_all(p);
    for (size_t i = 0; i < t.size(); i++) {
        if (i == 3) {
            EXPECT_EQ(t[i].status, CB_ERROR);
        } else {
            ASSERT_EQ(t[i].status, CB_OK) << i;
            ASSERT_EQ(t[i].value, i * i + 1) << i;
        }
    }
    /* Still two workers: the ended one's thread has gone, its replacement
     * runs. */
    EXPECT_EQ(ThreadsDownTo(before + 2), before + 2);
    cb_thread_pool_free(p);
    EXPECT_LE(ThreadsDownTo(before), before);
}

/* Every task ends its thread: every one is an error, and nothing hangs. */
TEST(ThreadPool, EveryTaskExitingNeverHangs)
{
    int before = SettledThreads();
    cb_thread_pool_t *p = NewPool(2);
    ASSERT_NE(p, nullptr);
    std::vector<cb_tp_task_t> t = Tasks(50, ExitAlways);
    ASSERT_EQ(cb_thread_pool_submit_many(p, t.data(), t.size()), 0);
    cb_thread_pool_wait_all(p);
    for (auto &x : t)
        EXPECT_EQ(x.status, CB_ERROR);
    cb_thread_pool_free(p);
    EXPECT_LE(ThreadsDownTo(before), before);
}
