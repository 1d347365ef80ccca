// The kernel's counters: counted over the threads and children a
// measurement creates, only inside its marked region, and `skipped` with a
// reason wherever the machine cannot count (no PMU, perf_event_paranoid,
// no perf_event_open at all), which the hook lets this test produce on any
// machine. The counting path needs software events only (no PMU).

#include "lib/core/counters.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace
{

double cpu_now()
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Burns s seconds of this thread's CPU time.
void spin(double s)
{
    double t0 = cpu_now();
    volatile unsigned long x = 0;
    while (cpu_now() - t0 < s)
        for (int i = 0; i < 10000; i++)
            x = x + 1;
}

void *spin_thread(void *arg)
{
    spin(*static_cast<double *>(arg));
    return nullptr;
}

int real_open(struct perf_event_attr *a, int group)
{
    return (int)syscall(SYS_perf_event_open, a, 0, -1, group, PERF_FLAG_FD_CLOEXEC);
}

struct Hook {
    explicit Hook(cb_perf_open_fn f)
    {
        cb_counters_set_open_hook(f);
    }
    ~Hook()
    {
        cb_counters_set_open_hook(nullptr);
    }
};

bool counted(const cb_counts_t &c, int i)
{
    const char *why;
    return cb_counts_status(&c, i, &why) == CB_OK;
}

std::string why(const cb_counts_t &c, int i)
{
    const char *w;
    cb_counts_status(&c, i, &w);
    return w;
}

TEST(Counters, CountsThreadsAndChildrenCreatedAfterOpenOnlyInsideTheRegion)
{
    ASSERT_EQ(cb_counters_open(), 0);
    double before = 0.08, inside = 0.03;
    spin(before); // not in the region: must not count
    cb_counters_start();
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, spin_thread, &inside), 0);
    ASSERT_EQ(pthread_join(t, nullptr), 0); // exited: its count is folded in
    pid_t p = fork();
    ASSERT_GE(p, 0);
    if (p == 0) {
        // A child that touches 8 MiB: at least one fault per 4 KiB page
        // (fewer only with huge pages, which MAP_PRIVATE | MAP_ANONYMOUS
        // without madvise does not get under THP "madvise" or "never").
        size_t n = 8u << 20;
        char *m = static_cast<char *>(
            mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (m == MAP_FAILED)
            _exit(1);
        for (size_t i = 0; i < n; i += 4096)
            m[i] = 1;
        spin(inside);
        _exit(0);
    }
    int st;
    ASSERT_EQ(waitpid(p, &st, 0), p);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cb_counters_stop();
    spin(before); // after the region: must not count either
    cb_counts_t c;
    cb_counters_close(&c);
    ASSERT_TRUE(c.used);
    ASSERT_TRUE(counted(c, CB_CTR_TASK_CLOCK)) << why(c, CB_CTR_TASK_CLOCK);
    // The thread's and the child's CPU time, and not the 0.16 s outside.
    EXPECT_GE(c.values[CB_CTR_TASK_CLOCK], 2 * inside * 0.9);
    EXPECT_LT(c.values[CB_CTR_TASK_CLOCK], 2 * inside + before);
    ASSERT_TRUE(counted(c, CB_CTR_PAGE_FAULTS)) << why(c, CB_CTR_PAGE_FAULTS);
    EXPECT_GE(c.values[CB_CTR_PAGE_FAULTS], (8 << 20) / 4096 / 2);
    // Where the kernel lets us count kernel-side events, the thread's and
    // the child's start and end switched at least once each.
    // Software events are counts: whole numbers, never scaled.
    for (int i = 0; i < CB_CTR_CYCLES; i++) {
        if (i != CB_CTR_TASK_CLOCK && counted(c, i)) {
            EXPECT_EQ(c.values[i], (double)(uint64_t)c.values[i]) << cb_counter_defs[i].metric;
        }
    }
    if (counted(c, CB_CTR_CONTEXT_SWITCHES))
        EXPECT_GE(c.values[CB_CTR_CONTEXT_SWITCHES], 2);
    else
        EXPECT_NE(why(c, CB_CTR_CONTEXT_SWITCHES).find("perf_event_paranoid"), std::string::npos)
            << why(c, CB_CTR_CONTEXT_SWITCHES);
}

TEST(Counters, SeveralRegionsAddUp)
{
    ASSERT_EQ(cb_counters_open(), 0);
    for (int i = 0; i < 3; i++) {
        cb_counters_start();
        spin(0.01);
        cb_counters_stop();
        spin(0.02);
    }
    cb_counts_t c;
    cb_counters_close(&c);
    ASSERT_TRUE(counted(c, CB_CTR_TASK_CLOCK)) << why(c, CB_CTR_TASK_CLOCK);
    EXPECT_GE(c.values[CB_CTR_TASK_CLOCK], 0.027);
    EXPECT_LT(c.values[CB_CTR_TASK_CLOCK], 0.055);
}

TEST(Counters, NoRegionMarkedMeansNoCounts)
{
    ASSERT_EQ(cb_counters_open(), 0);
    spin(0.005);
    cb_counts_t c;
    cb_counters_close(&c);
    EXPECT_FALSE(c.used);
    // Nothing open: start, stop and close are harmless.
    cb_counters_start();
    cb_counters_stop();
    cb_counters_close(&c);
    EXPECT_FALSE(c.used);
}

int no_pmu(struct perf_event_attr *a, int group)
{
    if (a->type == PERF_TYPE_HARDWARE) {
        errno = ENOENT; // what a machine without a PMU answers
        return -1;
    }
    return real_open(a, group);
}

TEST(Counters, WithoutAPmuTheHardwareRowsAreSkippedWithTheReason)
{
    Hook h(no_pmu);
    ASSERT_EQ(cb_counters_open(), 0);
    cb_counters_start();
    spin(0.005);
    cb_counters_stop();
    cb_counts_t c;
    cb_counters_close(&c);
    for (int i = CB_CTR_CYCLES; i <= CB_CTR_IPC; i++) {
        EXPECT_FALSE(counted(c, i)) << cb_counter_defs[i].metric;
        EXPECT_EQ(why(c, i), "no PMU") << cb_counter_defs[i].metric;
    }
    EXPECT_TRUE(counted(c, CB_CTR_TASK_CLOCK)) << why(c, CB_CTR_TASK_CLOCK);
}

int kernel_refused(struct perf_event_attr *a, int group)
{
    if (!a->exclude_kernel) {
        errno = EACCES; // perf_event_paranoid >= 2 for an unprivileged user
        return -1;
    }
    return real_open(a, group);
}

TEST(Counters, UnderParanoiaUserSpaceCountsAndKernelEventsAreSkipped)
{
    Hook h(kernel_refused);
    ASSERT_EQ(cb_counters_open(), 0);
    cb_counters_start();
    spin(0.01);
    cb_counters_stop();
    cb_counts_t c;
    cb_counters_close(&c);
    EXPECT_TRUE(counted(c, CB_CTR_TASK_CLOCK)) << why(c, CB_CTR_TASK_CLOCK);
    for (int i : {CB_CTR_CONTEXT_SWITCHES, CB_CTR_CPU_MIGRATIONS}) {
        EXPECT_FALSE(counted(c, i)) << cb_counter_defs[i].metric;
        EXPECT_NE(why(c, i).find("kernel-side event: perf_event_open refused (EACCES"),
                  std::string::npos)
            << why(c, i);
    }
}

int no_syscall(struct perf_event_attr *, int)
{
    errno = ENOSYS; // a seccomp filter that hides the system call
    return -1;
}

TEST(Counters, WithoutPerfEventOpenEveryRowIsSkippedNeverFailed)
{
    Hook h(no_syscall);
    ASSERT_EQ(cb_counters_open(), 0);
    cb_counters_start();
    cb_counters_stop();
    cb_counts_t c;
    cb_counters_close(&c);
    EXPECT_TRUE(c.used);
    for (int i = 0; i < CB_NCOUNTERS; i++) {
        const char *w;
        EXPECT_EQ(cb_counts_status(&c, i, &w), CB_SKIPPED);
        EXPECT_NE(std::string(w).find("ENOSYS"), std::string::npos) << w;
    }
}

} // namespace
