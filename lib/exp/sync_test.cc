#include "lib/exp/callbacks.h"
#include "lib/exp/sync.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lib/core/stats.h"

namespace
{

cb_sync_counter_result_t RunCounter(cb_sync_unit_t unit, cb_sync_variant_t variant, int tasks,
                                    uint64_t hold_ns)
{
    cb_sync_counter_cfg_t cfg = {unit, variant, tasks, 0, hold_ns};
    cb_sync_counter_result_t res = {};
    EXPECT_EQ(cb_sync_counter_run(&cfg, &res), 0);
    return res;
}

// A mutex around read-wait-write serialises the updates: 20 decrements of
// 20 end at 0, whatever the interleaving.
TEST(SyncCounter, LockEndsAtZeroOnThreads)
{
    cb_sync_counter_result_t r = RunCounter(CB_SYNC_THREADS, CB_SYNC_LOCK, 20, 1000000);
    EXPECT_EQ(r.final_counter, 0);
    EXPECT_EQ(r.lost_updates, 0);
}

// The same with processes: the counter and a PTHREAD_PROCESS_SHARED mutex
// live in shared memory.
TEST(SyncCounter, ProcessSharedLockEndsAtZero)
{
    cb_sync_counter_result_t r = RunCounter(CB_SYNC_PROCESSES, CB_SYNC_LOCK, 20, 1000000);
    EXPECT_EQ(r.final_counter, 0);
}

// Start-then-join runs one task at a time: ends at 0 on both units.
TEST(SyncCounter, JoinEndsAtZero)
{
    EXPECT_EQ(RunCounter(CB_SYNC_THREADS, CB_SYNC_JOIN, 10, 500000).final_counter, 0);
    EXPECT_EQ(RunCounter(CB_SYNC_PROCESSES, CB_SYNC_JOIN, 10, 500000).final_counter, 0);
}

// Without a lock, while one task waits 50 ms between its read and its write
// the others read the same value, so some decrements are overwritten: the
// counter ends above 0. (All 20 starting within 50 ms of each other, as they
// do, gives the tutorials' 99-of-100 shape, but only "> 0" is a fact.)
TEST(SyncCounter, NoLockWithHoldLosesUpdates)
{
    cb_sync_counter_result_t t = RunCounter(CB_SYNC_THREADS, CB_SYNC_NO_LOCK, 20, 50000000);
    EXPECT_GT(t.final_counter, 0);
    EXPECT_EQ(t.lost_updates, t.final_counter);
    cb_sync_counter_result_t p = RunCounter(CB_SYNC_PROCESSES, CB_SYNC_NO_LOCK, 20, 50000000);
    EXPECT_GT(p.final_counter, 0);
}

TEST(SyncCounter, RejectsNoTasks)
{
    cb_sync_counter_cfg_t cfg = {CB_SYNC_THREADS, CB_SYNC_LOCK, 0, 0, 0};
    cb_sync_counter_result_t res;
    EXPECT_EQ(cb_sync_counter_run(&cfg, &res), -EINVAL);
}

// One worker cannot race with itself: every increment lands. With several,
// lost = expected - final by definition (whether any are lost depends on
// the machine, so only the bookkeeping is asserted).
TEST(SyncRace, OneWorkerLosesNothingAndCountsAddUp)
{
    cb_sync_race_result_t r = {};
    ASSERT_EQ(cb_sync_race_run(CB_SYNC_THREADS, 1, 100000, &r), 0);
    EXPECT_EQ(r.expected, 100000u);
    EXPECT_EQ(r.final_counter, 100000u);
    EXPECT_EQ(r.lost_updates, 0u);
    ASSERT_EQ(cb_sync_race_run(CB_SYNC_PROCESSES, 4, 100000, &r), 0);
    EXPECT_EQ(r.expected, 400000u);
    EXPECT_LE(r.final_counter, r.expected);
    EXPECT_EQ(r.lost_updates, r.expected - r.final_counter);
}

// Semaphore(5) and 23 tasks that all start before the gate opens and hold
// it 20 ms: never more than 5 inside, and with 23 > 5 waiting, exactly 5
// at some point. ceil(23 / 5) = 5 waves.
TEST(SyncSemaphore, PeakIsExactlyThePermits)
{
    for (cb_sync_unit_t u : {CB_SYNC_THREADS, CB_SYNC_PROCESSES}) {
        cb_sync_sem_result_t r = {};
        ASSERT_EQ(cb_sync_semaphore_run(u, 23, 5, 20000000, &r), 0);
        EXPECT_EQ(r.peak, 5);
        EXPECT_EQ(r.waves, 5);
    }
}

// Every discipline, 1 producer / 1 consumer and 3 / 3, a small capacity so
// producers block: every item delivered once, in the discipline's order.
TEST(SyncQueue, OrdersAreRight)
{
    for (cb_queue_kind_t k : {CB_QUEUE_FIFO, CB_QUEUE_LIFO, CB_QUEUE_PRIORITY}) {
        for (int pc : {1, 3}) {
            cb_sync_queue_cfg_t cfg = {k, pc, pc, 2000, 8};
            cb_sync_queue_result_t r = {};
            ASSERT_EQ(cb_sync_queue_run(&cfg, &r), 0) << "kind " << k << " pc " << pc;
            EXPECT_EQ(r.delivered, (size_t)pc * 2000);
            EXPECT_EQ(r.order_errors, 0) << "kind " << k << " pc " << pc;
        }
    }
}

// The checker on hand-made logs. Items a, b, c pushed at tickets 0, 1, 2 and
// popped at 3, 4, 5 in the order given by the pop tickets.
TEST(SyncQueueCheck, HandMadeLogs)
{
    // Popped a, b, c: right for FIFO. For LIFO, popping a (c present) and
    // then b (c present) are wrong, and c, last and alone, is right.
    std::vector<cb_queue_item_log_t> fifo = {{0, 3, 0}, {1, 4, 0}, {2, 5, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_FIFO, fifo.data(), 3), 0);
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_LIFO, fifo.data(), 3), 2);
    // Popped c, b, a: right for LIFO, 2 errors for FIFO.
    std::vector<cb_queue_item_log_t> lifo = {{0, 5, 0}, {1, 4, 0}, {2, 3, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_LIFO, lifo.data(), 3), 0);
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_FIFO, lifo.data(), 3), 2);
    // Priorities 2, 0, 0: smallest first, ties first in first out: b, c, a.
    std::vector<cb_queue_item_log_t> prio = {{0, 5, 2}, {1, 3, 0}, {2, 4, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_PRIORITY, prio.data(), 3), 0);
    // c before b breaks the tie rule: c's pop is wrong (b present), then b
    // is the only priority-0 item left and right.
    std::vector<cb_queue_item_log_t> tie = {{0, 5, 2}, {1, 4, 0}, {2, 3, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_PRIORITY, tie.data(), 3), 1);
    // Interleaved: push a(0), pop a(1), push b(2), push c(3), pop c(4),
    // pop b(5): a LIFO run; FIFO would have popped b at 4 (1 error) and then
    // b at 5 is the only item (right).
    std::vector<cb_queue_item_log_t> mix = {{0, 1, 0}, {2, 5, 0}, {3, 4, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_LIFO, mix.data(), 3), 0);
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_FIFO, mix.data(), 3), 1);
}

// Tickets must be a permutation of 0 .. 2n-1; a pop before its push is an
// error of order.
TEST(SyncQueueCheck, BadLogs)
{
    std::vector<cb_queue_item_log_t> dup = {{0, 1, 0}, {1, 2, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_FIFO, dup.data(), 2), -EINVAL);
    std::vector<cb_queue_item_log_t> range = {{0, 2, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_FIFO, range.data(), 1), -EINVAL);
    std::vector<cb_queue_item_log_t> early = {{1, 0, 0}};
    EXPECT_EQ(cb_sync_queue_order_errors(CB_QUEUE_FIFO, early.data(), 1), 1);
}

// Where each pool runs completion callbacks (executor.h): thread_pool in the
// worker thread that ran the task, process_pool in the calling process, one
// at a time. 2 tasks of 20 ms, each with a 20 ms callback, on 2 workers.
TEST(SyncCallbacks, WhereCallbacksRun)
{
    cb_callbacks_cfg_t cfg = {};
    cfg.workers = 2;
    cfg.tasks = 2;
    cfg.task_ns = 20000000;
    cfg.callback_ns = 20000000;
    cfg.blocked = -1;
    cb_callbacks_result_t r = {};
    cfg.executor = cb_executor_find("thread_pool");
    ASSERT_NE(cfg.executor, nullptr);
    ASSERT_EQ(cb_callbacks_run(&cfg, &r), 0);
    EXPECT_EQ(r.in_task_thread, 2u);
    EXPECT_EQ(r.in_caller, 0u);
    EXPECT_LE(r.callback_peak, 2);
    cfg.executor = cb_executor_find("process_pool");
    ASSERT_NE(cfg.executor, nullptr);
    ASSERT_EQ(cb_callbacks_run(&cfg, &r), 0);
    EXPECT_EQ(r.in_caller, 2u);
    EXPECT_EQ(r.in_task_thread, 0u);
    EXPECT_EQ(r.callback_peak, 1);
}

// One blocked callback: every task still completes and every callback runs
// (the run returns 0 only then), each where its pool runs callbacks.
TEST(SyncCallbacks, BlockedCallbackStillDeliversAll)
{
    for (const char *name : {"thread_pool", "process_pool"}) {
        cb_callbacks_cfg_t cfg = {};
        cfg.executor = cb_executor_find(name);
        ASSERT_NE(cfg.executor, nullptr);
        cfg.workers = 2;
        cfg.tasks = 6;
        cfg.task_ns = 5000000;
        cfg.blocked = 0;
        cfg.blocked_ns = 50000000;
        cb_callbacks_result_t r = {};
        ASSERT_EQ(cb_callbacks_run(&cfg, &r), 0) << name;
        if (std::string(name) == "thread_pool")
            EXPECT_EQ(r.in_task_thread, 6u);
        else
            EXPECT_EQ(r.in_caller, 6u);
    }
}

// Speedups of an Amdahl curve with serial fraction 0.1, S(w) = 1 / (0.1 +
// 0.9 / w): efficiencies 1, 0.909, 0.833, 0.769 for w = 1..4, so the first
// below 0.8 is w = 4; the fit (stats.h) gives back 0.1.
TEST(SyncScaling, KneeAndFitOnAmdahlData)
{
    double w[4] = {3, 1, 4, 2}, s[4];
    for (int i = 0; i < 4; i++)
        s[i] = 1.0 / (0.1 + 0.9 / w[i]);
    EXPECT_EQ(cb_stats_efficiency_knee(w, s, 4, 0.8), 4.0);
    EXPECT_NEAR(cb_stats_amdahl_fit(w, s, 4), 0.1, 1e-6);
    EXPECT_TRUE(std::isnan(cb_stats_efficiency_knee(w, s, 4, 0.5)));
    // Perfect scaling never falls below any threshold under 1.
    double ideal[4] = {3, 1, 4, 2};
    EXPECT_TRUE(std::isnan(cb_stats_efficiency_knee(w, ideal, 4, 0.99)));
}

} // namespace
