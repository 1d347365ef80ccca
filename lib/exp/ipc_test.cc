// ipc's mechanisms: every byte arrives intact on every mechanism and size,
// a flipped byte is found at its offset, a receiver that dies is a crashed
// run. No timing asserts: only facts (counts, statuses, offsets).

#include "lib/exp/ipc_mech.h"

#include <gtest/gtest.h>

#include <string.h>

#include <string>
#include <vector>

#include "lib/core/sandbox.h"
#include "lib/testing/leak_probe.h"

namespace
{

const size_t kSizes[] = {8, 9, 63, 64, 4095, 4096, 4097, 65536 + 5, 1 << 20};

TEST(IpcPattern, WhatIsFilledChecks)
{
    for (size_t n : kSizes) {
        std::vector<unsigned char> b(n);
        for (uint64_t idx : {0ull, 1ull, 5ull, 123456789ull}) {
            cb_ipc_fill(b.data(), n, idx);
            EXPECT_EQ(cb_ipc_check(b.data(), n, idx, nullptr, nullptr), -1) << n << " " << idx;
        }
    }
}

// The offsets to flip in a message of n bytes: every one of the first 16
// (the index stamp and the template after it), around the starts of the
// next blocks (their stamps), the last 8, and a spread in between.
std::vector<size_t> Offsets(size_t n)
{
    std::vector<size_t> v;
    for (size_t i = 0; i < n; i++)
        if (i < 16 || i >= n - 8 || (i < 3 * 4096 && (i % 4096 >= 4088 || i % 4096 < 16)) ||
            i % (n > 8192 ? 997 : 97) == 0)
            v.push_back(i);
    return v;
}

// Every byte is checked: flipping any one of them is found, at that
// offset, with the byte seen and the byte expected.
TEST(IpcPattern, AFlippedByteIsFoundAtItsOffset)
{
    for (size_t n : kSizes) {
        std::vector<unsigned char> b(n);
        cb_ipc_fill(b.data(), n, 7);
        for (size_t off : Offsets(n)) {
            unsigned char was = b[off];
            b[off] ^= 0x20;
            uint8_t got = 0, want = 0;
            ASSERT_EQ(cb_ipc_check(b.data(), n, 7, &got, &want), (long)off) << n;
            EXPECT_EQ(got, (uint8_t)(was ^ 0x20));
            EXPECT_EQ(want, was);
            b[off] = was;
        }
    }
}

// Another message's bytes are not this one's: its index stamps (the first
// 8 bytes, and the first 8 of every 4 KiB block) differ.
TEST(IpcPattern, AnotherMessageFails)
{
    std::vector<unsigned char> b(3 * 4096), c(3 * 4096);
    cb_ipc_fill(b.data(), b.size(), 3);
    EXPECT_GE(cb_ipc_check(b.data(), b.size(), 4, nullptr, nullptr), 0);
    EXPECT_LT(cb_ipc_check(b.data(), b.size(), 4, nullptr, nullptr), 8);
    // The second block of message 3 in message 4: found at that block.
    cb_ipc_fill(c.data(), c.size(), 4);
    memcpy(c.data() + 4096, b.data() + 4096, 4096);
    long off = cb_ipc_check(c.data(), c.size(), 4, nullptr, nullptr);
    EXPECT_GE(off, 4096);
    EXPECT_LT(off, 4096 + 8);
}

cb_ipc_cfg_t Cfg(const char *mech, size_t n, cb_ipc_fault_t fault = CB_IPC_FAULT_NONE)
{
    cb_ipc_cfg_t c = {};
    c.mech = cb_ipc_mech_find(mech);
    c.msg_bytes = n;
    c.pu[0] = c.pu[1] = -1;
    c.stream_s = 0.02;
    c.pingpong_s = 0.02;
    c.max_msgs = n >= (1 << 20) ? 20 : 300;
    c.fault = fault;
    return c;
}

std::vector<std::string> Mechanisms()
{
    std::vector<std::string> v;
    for (size_t i = 0; i < cb_ipc_mech_count; i++)
        if (!cb_ipc_mechs[i].reference &&
            !(cb_ipc_mechs[i].unavailable && cb_ipc_mechs[i].unavailable()))
            v.push_back(cb_ipc_mechs[i].name);
    return v;
}

size_t LimitOf(const cb_ipc_mech_t *m)
{
    char why[128];
    return m->limit ? m->limit(why, sizeof(why)) : 0;
}

// Each mechanism moves messages of every size intact, both ways: the
// stream's receiver checked as many as were sent, the ping-pong made its
// round trips, each checked at both ends. No child, thread or fd is left.
TEST(IpcRun, EveryMechanismMovesEveryByte)
{
    // A first run, uncounted: a sanitizer's runtime starts a thread of its
    // own at the first pthread_create.
    cb_ipc_cfg_t warm = Cfg("queue", 64);
    cb_ipc_result_t wr;
    ASSERT_EQ(cb_ipc_run(&warm, &wr), 0);
    for (const std::string &name : Mechanisms()) {
        for (size_t n : {size_t(8), size_t(64), size_t(4096 + 8), size_t(65536), size_t(1 << 20)}) {
            cb_ipc_cfg_t c = Cfg(name.c_str(), n);
            size_t lim = LimitOf(c.mech);
            if (lim && n > lim)
                continue;
            int fds = CountFds(), threads = CountDir("/proc/self/task");
            cb_ipc_result_t r;
            ASSERT_EQ(cb_ipc_run(&c, &r), 0) << name << " " << n << ": " << r.detail;
            EXPECT_EQ(r.status, CB_OK) << name << " " << n << ": " << r.detail;
            EXPECT_GT(r.msgs, 0u) << name << " " << n;
            EXPECT_LE(r.msgs, c.max_msgs);
            EXPECT_GT(r.roundtrips, 0u) << name << " " << n;
            EXPECT_GT(r.stream_ns, 0u);
            EXPECT_GT(r.pingpong_ns, 0u);
            EXPECT_EQ(CountFds(), fds) << name;
            EXPECT_EQ(CountDir("/proc/self/task"), threads) << name;
            EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << name << ": a child is left";
        }
    }
}

// Pinned, both sides on one PU and on two (when there are two): the same
// facts (the rings then hold wake-ups back for a batch, which must not
// lose one).
TEST(IpcRun, PinnedSameAndCrossPu)
{
    int err = 0;
    cb_topo_t *t = cb_topo_load(&err);
    ASSERT_NE(t, nullptr);
    cb_pin_plan_t plan;
    char msg[256];
    ASSERT_EQ(cb_pin_plan_make(t, CB_PIN_COMPACT, nullptr, 0, 2, &plan, msg, sizeof(msg)), 0)
        << msg;
    for (int cross = 0; cross < 2; cross++)
        for (const std::string &name : Mechanisms())
            for (size_t n : {size_t(64), size_t(65536)}) {
                cb_ipc_cfg_t c = Cfg(name.c_str(), n);
                size_t lim = LimitOf(c.mech);
                if (lim && n > lim)
                    continue;
                c.pinned = 1;
                c.topo = t;
                c.pu[0] = plan.slots[0].pu_os;
                c.pu[1] = plan.slots[cross].pu_os;
                cb_ipc_result_t r;
                ASSERT_EQ(cb_ipc_run(&c, &r), 0) << name << ": " << r.detail;
                EXPECT_EQ(r.status, CB_OK)
                    << name << " " << n << " cross " << cross << ": " << r.detail;
                EXPECT_GT(r.roundtrips, 0u);
            }
    cb_pin_plan_free(&plan);
    cb_topo_free(t);
}

// A byte flipped by the sender is an error naming the message and the
// offset, on every mechanism.
TEST(IpcRun, CorruptionIsAnErrorNamingTheOffset)
{
    for (const std::string &name : Mechanisms())
        for (size_t n : {size_t(64), size_t(65536)}) {
            cb_ipc_cfg_t c = Cfg(name.c_str(), n, CB_IPC_FAULT_CORRUPT);
            size_t lim = LimitOf(c.mech);
            if (lim && n > lim)
                continue;
            cb_ipc_result_t r;
            ASSERT_EQ(cb_ipc_run(&c, &r), 0) << name;
            EXPECT_EQ(r.status, CB_ERROR) << name;
            std::string want =
                "message 5: byte " + std::to_string(cb_ipc_fault_offset(n)) + " is 0x";
            EXPECT_NE(std::string(r.detail).find(want), std::string::npos)
                << name << ": " << r.detail;
        }
}

// A receiver process that dies mid-stream: the run ends (no hang on a full
// pipe, ring or queue), crashed, naming the signal; nothing is left.
TEST(IpcRun, AReceiverThatDiesIsCrashed)
{
    for (const std::string &name : Mechanisms()) {
        cb_ipc_cfg_t c = Cfg(name.c_str(), 4096, CB_IPC_FAULT_DIE);
        if (!c.mech->process)
            continue;
        c.max_msgs = 0; // the sender would go on: the death must stop it
        cb_ipc_result_t r;
        ASSERT_EQ(cb_ipc_run(&c, &r), 0) << name;
        EXPECT_EQ(r.status, CB_CRASHED) << name << ": " << r.detail;
        EXPECT_NE(std::string(r.detail).find("SIGSEGV"), std::string::npos) << r.detail;
        EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << name;
    }
}

// Between threads the receiver's death is the process's: in a sandbox
// child, the run is crashed with SIGSEGV.
int RunThreadDie(void *shm, void *arg)
{
    (void)shm;
    cb_ipc_cfg_t c = Cfg((const char *)arg, 64, CB_IPC_FAULT_DIE);
    c.max_msgs = 0;
    cb_ipc_result_t r;
    return cb_ipc_run(&c, &r);
}

TEST(IpcRun, AReceiverThreadThatDiesTakesItsProcess)
{
    void *shm = cb_sandbox_shm_alloc(64);
    for (const char *name : {"queue", "spsc"}) {
        cb_sandbox_result_t res;
        ASSERT_EQ(cb_sandbox_run(RunThreadDie, (void *)name, shm, 10000000000ull, &res), 0);
        EXPECT_EQ(res.status, CB_CRASHED) << name << ": " << res.detail;
        EXPECT_EQ(res.signo, SIGSEGV) << name;
    }
    cb_sandbox_shm_free(shm, 64);
}

// dd | dd: the second dd read what the first wrote.
TEST(IpcRun, DdReference)
{
    const cb_ipc_mech_t *m = cb_ipc_mech_find("dd");
    ASSERT_NE(m, nullptr);
    if (m->unavailable && m->unavailable())
        GTEST_SKIP() << m->unavailable();
    cb_ipc_cfg_t c = Cfg("dd", 65536);
    c.max_msgs = 64;
    cb_ipc_result_t r;
    ASSERT_EQ(cb_ipc_run(&c, &r), 0) << r.detail;
    EXPECT_EQ(r.status, CB_OK) << r.detail;
    EXPECT_EQ(r.bytes, 64u * 65536);
    EXPECT_GT(r.stream_ns, 0u);
}

// The message queue's limit is the kernel's, named.
TEST(IpcMech, MessageQueueLimitIsNamed)
{
    const cb_ipc_mech_t *m = cb_ipc_mech_find("mqueue");
    ASSERT_NE(m, nullptr);
    char why[128];
    size_t lim = m->limit(why, sizeof(why));
    EXPECT_GE(lim, 128u);
    EXPECT_NE(std::string(why).find("msgsize_max"), std::string::npos) << why;
}

} // namespace
