/* The library executors (openmp, tbb, gthreadpool, uv_pool): what the
 * registry-wide tests in executor_test.cc cannot see from outside. Every
 * task runs exactly once; the worker count is the one asked for; every
 * worker is bound to one PU of the plan and an unpinned open gives it its
 * CPU set back; callbacks run where the library runs them (or not at all);
 * a task that ends its worker thread ends the process with one line; and
 * libuv's pool keeps its size for the process. uv_pool runs in a process of
 * its own per test (own_process.h). */

#include "lib/exec/executor.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/task_env.h"
#include "lib/testing/leak_probe.h"
#include "lib/testing/own_process.h"

namespace
{

/* The library executors that can run here (under ThreadSanitizer some
 * cannot: peer_internal.h). */
std::vector<const char *> Peers()
{
    std::vector<const char *> v;
    for (const char *name : {"openmp", "tbb", "gthreadpool", "uv_pool"})
        if (cb_executor_available(cb_executor_find(name)))
            v.push_back(name);
    return v;
}
const std::vector<const char *> kPeers = Peers();

/* ThreadSanitizer runs a thread of its own and refuses to start threads in
 * a child forked from a process with several. */
#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif

pid_t Tid()
{
    return (pid_t)syscall(SYS_gettid);
}

const cb_executor_t *Find(const char *name)
{
    const cb_executor_t *e = cb_executor_find(name);
    EXPECT_NE(e, nullptr) << name;
    return e;
}

/* Runs fn in a child for an executor that keeps one pool per process. */
template <class F> void ForExecutor(const char *name, F fn)
{
    InOwnProcess(Find(name)->per_process != 0, name, fn);
}

/* Whether the library runs tasks on the calling thread too. */
bool CallerRunsTasks(const std::string &name)
{
    return name == "openmp" || name == "tbb";
}

/* One open, then runs; closes on destruction. */
struct Opened {
    const cb_executor_t *e;
    cb_exec_cfg_t cfg;
    void *state = nullptr;
    int rc;
    Opened(const char *name, const cb_exec_cfg_t &c) : e(Find(name)), cfg(c)
    {
        rc = e->open ? e->open(&cfg, &state) : 0;
    }
    ~Opened()
    {
        if (rc == 0 && e->close)
            e->close(state);
    }
    int Run(size_t tasks, std::vector<cb_task_result_t> *r)
    {
        cfg.tasks = tasks;
        r->assign(tasks ? tasks : 1, cb_task_result_t{0, CB_SKIPPED, 0});
        return e->run(state, &cfg, r->data());
    }
};

uint64_t Plain(void *, size_t i)
{
    return (uint64_t)i * 3 + 7;
}

/* ---- every task once ---- */

struct Counts {
    std::vector<std::atomic<int>> runs;
    explicit Counts(size_t n) : runs(n) {}
};

uint64_t CountTask(void *arg, size_t i)
{
    static_cast<Counts *>(arg)->runs[i]++;
    return (uint64_t)i * 3 + 7;
}

} // namespace

/* Many runs through one open, with W of 1 to 3 and up to 100,000 tasks:
 * each task runs exactly once and its result is the one it returned. */
TEST(Peers, EveryTaskRunsOnce)
{
    for (const char *name : kPeers) {
        for (int w : {1, 2, 3}) {
            ForExecutor(name, [&] {
                Counts counts(100000);
                cb_exec_cfg_t c = {};
                c.workers = w;
                c.tasks = 1;
                c.fn = CountTask;
                c.arg = &counts;
                Opened o(name, c);
                ASSERT_EQ(o.rc, 0) << name << " w=" << w;
                for (size_t n : {1, 7, 1000, 100000, 3}) {
                    for (auto &k : counts.runs)
                        k = 0;
                    std::vector<cb_task_result_t> r;
                    ASSERT_EQ(o.Run(n, &r), 0) << name << " w=" << w << " n=" << n;
                    for (size_t i = 0; i < n; i++) {
                        ASSERT_EQ(counts.runs[i].load(), 1) << name << " w=" << w << " task " << i;
                        ASSERT_EQ(r[i].status, CB_OK) << name << " task " << i;
                        ASSERT_EQ(r[i].value, i * 3 + 7) << name << " task " << i;
                    }
                    for (size_t i = n; i < counts.runs.size(); i++)
                        ASSERT_EQ(counts.runs[i].load(), 0) << name << " ran task " << i;
                }
            });
        }
    }
}

/* ---- the worker count ---- */

namespace
{
struct Concurrency {
    pid_t caller;
    std::atomic<int> now{0}, peak{0}, on_caller{0};
    std::mutex mu;
    std::set<pid_t> tids;
};

uint64_t SleepTask(void *arg, size_t i)
{
    auto *c = static_cast<Concurrency *>(arg);
    int now = ++c->now;
    for (int p = c->peak.load(); now > p && !c->peak.compare_exchange_weak(p, now);)
        ;
    pid_t me = Tid();
    c->on_caller += me == c->caller;
    {
        std::lock_guard<std::mutex> g(c->mu);
        c->tids.insert(me);
    }
    cb_task_sleep_ns(15000000);
    --c->now;
    return i;
}
} // namespace

/* W threads run tasks, never more at once, and all of them do: sleeping
 * tasks, six per worker, leave every worker time to take some. W = 3 is
 * more than this machine's PUs when it has two. */
TEST(Peers, WorkerCountIsHonoured)
{
    for (const char *name : kPeers) {
        for (int w : {1, 2, 3}) {
            ForExecutor(name, [&] {
                Concurrency conc;
                conc.caller = Tid();
                cb_exec_cfg_t c = {};
                c.workers = w;
                c.tasks = (size_t)(6 * w);
                c.fn = SleepTask;
                c.arg = &conc;
                Opened o(name, c);
                ASSERT_EQ(o.rc, 0) << name;
                std::vector<cb_task_result_t> r;
                ASSERT_EQ(o.Run(c.tasks, &r), 0) << name;
                EXPECT_EQ(conc.peak.load(), w) << name << " w=" << w;
                EXPECT_EQ((int)conc.tids.size(), w) << name << " w=" << w;
                if (!CallerRunsTasks(name)) {
                    EXPECT_EQ(conc.on_caller.load(), 0) << name;
                }
            });
        }
    }
}

/* The library's threads start in open, untimed, and (but for libuv's,
 * which stay for the process) are gone when close returns: W of them, or
 * W - 1 where the caller is one of the W. Each in a process of its own, so
 * that no thread of another test is still around. */
TEST(Peers, ThreadsStartInOpenAndEndInClose)
{
    if (kTsan)
        GTEST_SKIP() << "ThreadSanitizer's own thread changes the counts";
    for (const char *name : kPeers) {
        InOwnProcess(true, name, [&] {
            const int w = 2, before = SettledThreads();
            cb_exec_cfg_t c = {};
            c.workers = w;
            c.tasks = 4;
            c.fn = Plain;
            {
                Opened o(name, c);
                ASSERT_EQ(o.rc, 0) << name;
                EXPECT_EQ(CountDir("/proc/self/task") - before, CallerRunsTasks(name) ? w - 1 : w)
                    << name << ": threads after open";
            }
            if (!Find(name)->per_process) {
                EXPECT_EQ(CountDir("/proc/self/task"), before) << name << ": threads after close";
            }
        });
    }
}

/* ---- pinning ---- */

namespace
{
struct Where {
    std::mutex mu;
    std::map<pid_t, std::set<std::string>> masks; /* thread -> CPU sets seen */
};

std::string MaskOf(const cpu_set_t &s)
{
    std::string out;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &s))
            out += (out.empty() ? "" : ",") + std::to_string(c);
    return out;
}

uint64_t WhereTask(void *arg, size_t i)
{
    auto *w = static_cast<Where *>(arg);
    cpu_set_t s;
    if (pthread_getaffinity_np(pthread_self(), sizeof(s), &s) != 0)
        return 0;
    {
        std::lock_guard<std::mutex> g(w->mu);
        w->masks[Tid()].insert(MaskOf(s));
    }
    cb_task_sleep_ns(2000000); /* so that every worker takes some */
    return i + 1;
}

struct TopoPlan {
    cb_topo_t *t = nullptr;
    cb_pin_plan_t p = {};
    explicit TopoPlan(int workers)
    {
        int err = 0;
        t = cb_topo_load(&err);
        EXPECT_NE(t, nullptr) << err;
        char msg[256];
        if (t) {
            EXPECT_EQ(
                cb_pin_plan_make(t, CB_PIN_COMPACT, nullptr, 0, workers, &p, msg, sizeof(msg)), 0)
                << msg;
        }
    }
    ~TopoPlan()
    {
        cb_pin_plan_free(&p);
        cb_topo_free(t);
    }
};
} // namespace

/* Pinned under a compact plan over every allowed PU: each worker stays on
 * one PU of the plan for the whole run, and two workers never share one.
 * Then an unpinned open (the same library threads, where the library keeps
 * them: libuv's) runs tasks with the CPU set the process had. The caller's
 * own CPU set comes back after close. */
TEST(Peers, WorkersArePinnedToThePlanAndUnpinnedAgain)
{
    cpu_set_t all;
    ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
    const std::string all_mask = MaskOf(all);
    for (const char *name : kPeers) {
        ForExecutor(name, [&] {
            TopoPlan tp(CPU_COUNT(&all));
            ASSERT_NE(tp.t, nullptr);
            const int w = tp.p.nworkers;
            std::set<std::string> planned;
            for (int i = 0; i < w; i++)
                planned.insert(std::to_string(tp.p.slots[i].pu_os));
            {
                Where where;
                cb_exec_cfg_t c = {};
                c.topo = tp.t;
                c.plan = &tp.p;
                c.workers = w;
                c.tasks = (size_t)(20 * w);
                c.fn = WhereTask;
                c.arg = &where;
                Opened o(name, c);
                ASSERT_EQ(o.rc, 0) << name;
                std::vector<cb_task_result_t> r;
                ASSERT_EQ(o.Run(c.tasks, &r), 0) << name;
                for (size_t i = 0; i < c.tasks; i++)
                    ASSERT_EQ(r[i].value, i + 1) << name << " task " << i;
                std::set<std::string> used;
                for (const auto &kv : where.masks) {
                    ASSERT_EQ(kv.second.size(), 1u) << name << ": a worker moved";
                    const std::string &m = *kv.second.begin();
                    EXPECT_EQ(planned.count(m), 1u) << name << ": on " << m;
                    EXPECT_EQ(used.count(m), 0u) << name << ": two workers on " << m;
                    used.insert(m);
                }
                EXPECT_EQ((int)where.masks.size(), w) << name;
            }
            cpu_set_t now;
            ASSERT_EQ(sched_getaffinity(0, sizeof(now), &now), 0);
            EXPECT_EQ(MaskOf(now), all_mask) << name << ": the caller's CPU set";
            {
                Where where;
                cb_exec_cfg_t c = {};
                c.workers = w;
                c.tasks = (size_t)(20 * w);
                c.fn = WhereTask;
                c.arg = &where;
                Opened o(name, c);
                ASSERT_EQ(o.rc, 0) << name;
                std::vector<cb_task_result_t> r;
                ASSERT_EQ(o.Run(c.tasks, &r), 0) << name;
                for (const auto &kv : where.masks)
                    for (const auto &m : kv.second)
                        EXPECT_EQ(m, all_mask) << name << ": unpinned worker on " << m;
            }
        });
    }
}

/* ---- callbacks ---- */

namespace
{
struct CallbackLog {
    pid_t caller;
    std::atomic<int> calls{0}, on_caller{0}, wrong{0};
};

void LogCallback(void *arg, size_t index, uint64_t value)
{
    auto *log = static_cast<CallbackLog *>(arg);
    log->calls++;
    log->on_caller += Tid() == log->caller;
    log->wrong += value != (uint64_t)index * 3 + 7;
}
} // namespace

/* uv_pool runs libuv's after_work_cb, on the loop thread (the caller), once
 * per task and with its value; the libraries without completion callbacks
 * say so (callbacks = 0) and never call one. */
TEST(Peers, CallbacksRunWhereTheLibraryRunsThem)
{
    for (const char *name : kPeers) {
        ForExecutor(name, [&] {
            const bool has = Find(name)->callbacks != 0;
            EXPECT_EQ(has, std::string(name) == "uv_pool") << name;
            CallbackLog log;
            log.caller = Tid();
            cb_exec_cfg_t c = {};
            c.workers = 2;
            c.tasks = 1000;
            c.fn = Plain;
            c.callback = LogCallback;
            c.callback_arg = &log;
            Opened o(name, c);
            ASSERT_EQ(o.rc, 0) << name;
            std::vector<cb_task_result_t> r;
            ASSERT_EQ(o.Run(c.tasks, &r), 0) << name;
            EXPECT_EQ(log.calls.load(), has ? 1000 : 0) << name;
            EXPECT_EQ(log.on_caller.load(), has ? 1000 : 0) << name;
            EXPECT_EQ(log.wrong.load(), 0) << name;
        });
    }
}

/* ---- a task that ends its worker thread ---- */

namespace
{
pid_t exit_caller;

/* Ends the thread it runs on, unless that is the caller (which the
 * libraries that use it would wait on, and whose end is fault_exit's
 * _exit, not a lost worker). */
uint64_t ExitOffCaller(void *, size_t i)
{
    if (Tid() != exit_caller)
        pthread_exit(nullptr);
    cb_task_sleep_ns(5000000);
    return i;
}
} // namespace

/* None of the libraries can replace a worker: the process ends at once
 * with exit status 1 and one line that names the executor and the task,
 * instead of waiting forever. */
TEST(Peers, PthreadExitInAWorkerEndsTheProcess)
{
    for (const char *name : kPeers) {
        int err[2];
        ASSERT_EQ(pipe(err), 0);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            alarm(20); /* a hang fails the test instead of stopping it */
            dup2(err[1], 2);
            close(err[0]);
            exit_caller = Tid();
            cb_exec_cfg_t c = {};
            c.workers = 2;
            c.tasks = 40;
            c.fn = ExitOffCaller;
            std::vector<cb_task_result_t> r(c.tasks);
            cb_executor_run_all(cb_executor_find(name), &c, r.data());
            _exit(0); /* the workers ran none of the tasks */
        }
        close(err[1]);
        std::string text;
        char buf[512];
        for (ssize_t k; (k = read(err[0], buf, sizeof(buf))) > 0;)
            text.append(buf, (size_t)k);
        close(err[0]);
        int st = 0;
        ASSERT_EQ(waitpid(pid, &st, 0), pid);
        EXPECT_TRUE(WIFEXITED(st))
            << name << ": " << (WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "");
        EXPECT_EQ(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 1) << name;
        EXPECT_NE(text.find(std::string(name) + ": task "), std::string::npos) << text;
        EXPECT_NE(text.find("ended its worker thread (pthread_exit)"), std::string::npos) << text;
        EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    }
}

/* ---- libuv's one pool per process ---- */

/* The first open sizes libuv's pool; an open with another W is refused
 * (-EBUSY), the same W is fine, and a forked child starts afresh. */
TEST(Peers, UvPoolKeepsItsSizeForTheProcess)
{
    InOwnProcess(true, "uv_pool", [&] {
        const cb_executor_t *e = Find("uv_pool");
        ASSERT_TRUE(e->per_process);
        cb_exec_cfg_t c = {};
        c.workers = 2;
        c.tasks = 10;
        c.fn = Plain;
        std::vector<cb_task_result_t> r(c.tasks);
        ASSERT_EQ(cb_executor_run_all(e, &c, r.data()), 0);
        const int threads = SettledThreads();
        c.workers = 3;
        EXPECT_EQ(cb_executor_run_all(e, &c, r.data()), -EBUSY);
        c.workers = 2;
        EXPECT_EQ(cb_executor_run_all(e, &c, r.data()), 0);
        EXPECT_EQ(ThreadsDownTo(threads), threads); /* the same pool */
        if (kTsan)
            return; /* no threads in a child of a threaded process */
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            c.workers = 3;
            _exit(cb_executor_run_all(e, &c, r.data()) == 0 ? 0 : 1);
        }
        int st = 0;
        ASSERT_EQ(waitpid(pid, &st, 0), pid);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "W=3 in a forked child";
    });
}

/* Like the contract's pools, these need at least one worker. */
TEST(Peers, NeedWorkers)
{
    for (const char *name : kPeers) {
        cb_exec_cfg_t c = {};
        c.workers = 0;
        c.tasks = 4;
        c.fn = Plain;
        std::vector<cb_task_result_t> r(c.tasks);
        EXPECT_EQ(cb_executor_run_all(Find(name), &c, r.data()), -EINVAL) << name;
    }
}
