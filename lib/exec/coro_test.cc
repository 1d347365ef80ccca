#include "lib/exec/coro.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace
{

class CoroTest : public ::testing::TestWithParam<cb_coro_impl_t>
{
  protected:
    void SetUp() override
    {
        if (GetParam() == CB_CORO_ASM && cb_coro_asm_unavailable())
            GTEST_SKIP() << cb_coro_asm_unavailable();
    }

    cb_coro_t *Create(cb_coro_fn_t fn, void *arg, size_t stack = 0)
    {
        int err = 0;
        cb_coro_t *c = cb_coro_create(GetParam(), stack, fn, arg, &err);
        EXPECT_NE(c, nullptr) << "cb_coro_create: " << err;
        return c;
    }
};

std::string ImplName(const ::testing::TestParamInfo<cb_coro_impl_t> &info)
{
    return info.param == CB_CORO_ASM        ? "asm"
           : info.param == CB_CORO_FCONTEXT ? "fcontext"
                                            : "ucontext";
}

struct Seq {
    std::vector<int> log;
    int value = 0;
    cb_coro_t *self = nullptr;
};

void SeqFn(void *arg)
{
    auto *s = static_cast<Seq *>(arg);
    s->self = cb_coro_current();
    for (int i = 1; i <= 3; i++) {
        s->log.push_back(10 + i);
        s->value = s->value * 2 + i; /* the resumer reads and changes it */
        cb_coro_yield();
    }
    s->log.push_back(99);
}

TEST_P(CoroTest, ResumeYieldSequenceAndValues)
{
    Seq s;
    cb_coro_t *c = Create(SeqFn, &s);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(cb_coro_current(), nullptr);
    for (int i = 1; i <= 3; i++) {
        EXPECT_FALSE(cb_coro_done(c));
        cb_coro_resume(c);
        s.log.push_back(i);
        s.value += 100; /* seen by the coroutine on its next step */
        EXPECT_EQ(cb_coro_current(), nullptr);
    }
    cb_coro_resume(c);
    EXPECT_TRUE(cb_coro_done(c));
    EXPECT_EQ(s.self, c);
    /* Interleaving: coroutine step, then resumer step, three times, then
     * the coroutine's tail. */
    EXPECT_EQ(s.log, (std::vector<int>{11, 1, 12, 2, 13, 3, 99}));
    /* value: 0*2+1=1, +100=101; 101*2+2=204, +100=304; 304*2+3=611, +100=711. */
    EXPECT_EQ(s.value, 711);
    cb_coro_destroy(c);
}

struct Nest {
    std::vector<int> log;
    cb_coro_impl_t impl;
    cb_coro_t *outer = nullptr;
    cb_coro_t *inner_saw_current = nullptr;
    cb_coro_t *outer_saw_after = nullptr;
};

void InnerFn(void *arg)
{
    auto *n = static_cast<Nest *>(arg);
    n->inner_saw_current = cb_coro_current();
    n->log.push_back(2);
    cb_coro_yield(); /* back to the outer coroutine, not the thread */
    n->log.push_back(4);
}

void OuterFn(void *arg)
{
    auto *n = static_cast<Nest *>(arg);
    n->log.push_back(1);
    int err = 0;
    cb_coro_t *in = cb_coro_create(n->impl, 0, InnerFn, n, &err);
    if (!in)
        abort();
    cb_coro_resume(in);
    n->log.push_back(3);
    n->outer_saw_after = cb_coro_current();
    cb_coro_resume(in);
    n->log.push_back(cb_coro_done(in) ? 5 : -5);
    cb_coro_destroy(in);
}

TEST_P(CoroTest, NestedCoroutineYieldsToItsResumer)
{
    Nest n;
    n.impl = GetParam();
    cb_coro_t *c = Create(OuterFn, &n);
    ASSERT_NE(c, nullptr);
    cb_coro_resume(c);
    EXPECT_TRUE(cb_coro_done(c));
    EXPECT_EQ(n.log, (std::vector<int>{1, 2, 3, 4, 5}));
    EXPECT_NE(n.inner_saw_current, nullptr);
    EXPECT_NE(n.inner_saw_current, c);
    EXPECT_EQ(n.outer_saw_after, c);
    cb_coro_destroy(c);
}

void CountFn(void *arg)
{
    ++*static_cast<int *>(arg);
}

TEST_P(CoroTest, ResetReusesAFinishedCoroutine)
{
    int count = 0;
    cb_coro_t *c = Create(CountFn, &count);
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 5; i++) {
        cb_coro_resume(c);
        ASSERT_TRUE(cb_coro_done(c));
        ASSERT_EQ(cb_coro_reset(c, CountFn, &count), 0);
        EXPECT_FALSE(cb_coro_done(c));
    }
    EXPECT_EQ(count, 5);
    cb_coro_destroy(c); /* never started since the last reset */
}

void YieldOnceFn(void *)
{
    cb_coro_yield();
}

TEST_P(CoroTest, ResetRefusesASuspendedCoroutine)
{
    cb_coro_t *c = Create(YieldOnceFn, nullptr);
    ASSERT_NE(c, nullptr);
    cb_coro_resume(c);
    EXPECT_EQ(cb_coro_reset(c, CountFn, nullptr), -EBUSY);
    cb_coro_resume(c);
    EXPECT_TRUE(cb_coro_done(c));
    cb_coro_destroy(c);
}

TEST_P(CoroTest, DestroyNeverStarted)
{
    cb_coro_t *c = Create(CountFn, nullptr);
    ASSERT_NE(c, nullptr);
    cb_coro_destroy(c);
}

TEST(Coro, CreateRejectsBadArguments)
{
    int err = 0;
    EXPECT_EQ(cb_coro_create(CB_CORO_UCONTEXT, 0, nullptr, nullptr, &err), nullptr);
    EXPECT_EQ(err, -EINVAL);
    err = 0;
    EXPECT_EQ(cb_coro_create(static_cast<cb_coro_impl_t>(7), 0, CountFn, nullptr, &err), nullptr);
    EXPECT_EQ(err, -EINVAL);
    /* A stack larger than the address space cannot be mapped. */
    err = 0;
    EXPECT_EQ(cb_coro_create(CB_CORO_UCONTEXT, SIZE_MAX / 2 + 1, CountFn, nullptr, &err), nullptr);
    EXPECT_EQ(err, -ENOMEM);
}

TEST(Coro, AsmAvailabilityMatchesArchitecture)
{
#if defined(__x86_64__)
    EXPECT_EQ(cb_coro_asm_unavailable(), nullptr);
#else
    ASSERT_NE(cb_coro_asm_unavailable(), nullptr);
    int err = 0;
    EXPECT_EQ(cb_coro_create(CB_CORO_ASM, 0, CountFn, nullptr, &err), nullptr);
    EXPECT_EQ(err, -ENOTSUP);
#endif
}

TEST_P(CoroTest, MeasureSwitchReturnsAPositiveMean)
{
    /* A fact, not a timing: the mean is a positive, finite number. */
    double ns = cb_coro_measure_switch_ns(GetParam(), 100000);
    RecordProperty("ns_per_switch", std::to_string(ns)); /* information only */
    EXPECT_GT(ns, 0.0);
    EXPECT_LT(ns, 1e9);
    EXPECT_EQ(cb_coro_measure_switch_ns(GetParam(), 0), -EINVAL);
}

/* Deep recursion: each frame keeps a 64-byte buffer alive across the
 * recursive call, so neither tail calls nor inlining can fold the frames. */
struct Deep {
    uintptr_t top = 0;
    uintptr_t lowest = 0;
    long result = 0;
};

__attribute__((noinline)) long Recurse(Deep *d, int n)
{
    volatile char buf[64];
    buf[0] = static_cast<char>(n);
    uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    if (d->lowest == 0 || here < d->lowest)
        d->lowest = here;
    if (n == 0)
        return buf[0];
    long r = Recurse(d, n - 1);
    return r + (buf[0] != 0);
}

constexpr int kDeepFrames = 50000;

void DeepFn(void *arg)
{
    auto *d = static_cast<Deep *>(arg);
    d->top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    d->result = Recurse(d, kDeepFrames);
}

TEST_P(CoroTest, DeepRecursionOnTheCoroutineStack)
{
    Deep d;
    /* 50,000 frames of at least 64 bytes of buffer each: 3.2 MB, several
     * times that with ASan's redzones; 32 MiB leaves room for both (pages
     * are touched only as used, the mapping is MAP_NORESERVE). */
    cb_coro_t *c = Create(DeepFn, &d, 32u << 20);
    ASSERT_NE(c, nullptr);
    cb_coro_resume(c);
    ASSERT_TRUE(cb_coro_done(c));
    /* Frames n = 50000 .. 1 each add 1 (buf[0] = (char)n is non-zero for
     * every n that is not a multiple of 256); frame 0 returns 0. The
     * multiples of 256 in 1..50000 are 195 (50000 / 256 = 195.3). */
    EXPECT_EQ(d.result, kDeepFrames - 195);
    /* The frames really were on the coroutine stack, all at once: each
     * holds at least a return address and the saved frame pointer that
     * __builtin_frame_address forces (16 bytes), even where ASan moves the
     * buffers to its fake stack. */
    EXPECT_GE(d.top - d.lowest, static_cast<uintptr_t>(kDeepFrames) * 16);
    cb_coro_destroy(c);
}

/* Guard page: overflow a small coroutine stack in a forked child. */
struct Overflow {
    volatile uintptr_t top = 0;
    volatile uintptr_t lowest = 0;
};
Overflow g_overflow;
size_t g_overflow_stack;

__attribute__((noinline)) long Bottomless(int n)
{
    volatile char buf[256];
    buf[0] = static_cast<char>(n);
    g_overflow.lowest = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    /* The bound is never reached (the stack is 64 KiB); it keeps the
     * compiler from proving the recursion infinite. */
    if (n > (1 << 30))
        return buf[0];
    return Bottomless(n + 1) + buf[0];
}

void OverflowFn(void *)
{
    g_overflow.top = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    Bottomless(0);
}

/* Runs in the child on the alternate signal stack: checks that the fault
 * hit just below the deepest frame, after nearly the whole stack was used. */
void GuardHandler(int, siginfo_t *si, void *)
{
    uintptr_t addr = reinterpret_cast<uintptr_t>(si->si_addr);
    uintptr_t low = g_overflow.lowest;
    uintptr_t used = g_overflow.top - low;
    long page = sysconf(_SC_PAGESIZE);
    bool below_deepest = addr < low && low - addr < static_cast<uintptr_t>(page);
    bool whole_stack = used + 2 * static_cast<uintptr_t>(page) >= g_overflow_stack;
    _exit(below_deepest && whole_stack ? 42 : 43);
}

pid_t ForkOverflow(cb_coro_impl_t impl, bool with_handler)
{
    g_overflow_stack = 64u * 1024u;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child. Under ASan its own SIGSEGV handler would turn the fault into a
     * report and abort(); the test is about the kernel's verdict. */
    struct sigaction sa = {};
    sigemptyset(&sa.sa_mask);
    if (with_handler) {
        static char altstack[64 * 1024];
        stack_t ss = {};
        ss.ss_sp = altstack;
        ss.ss_size = sizeof(altstack);
        if (sigaltstack(&ss, nullptr) != 0)
            _exit(44);
        sa.sa_sigaction = GuardHandler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    } else {
        sa.sa_handler = SIG_DFL;
    }
    if (sigaction(SIGSEGV, &sa, nullptr) != 0)
        _exit(45);
    int err = 0;
    cb_coro_t *c = cb_coro_create(impl, g_overflow_stack, OverflowFn, nullptr, &err);
    if (!c)
        _exit(46);
    cb_coro_resume(c);
    _exit(47); /* not reached: the overflow kills the child */
}

TEST_P(CoroTest, GuardPageStopsStackOverflow)
{
    pid_t pid = ForkOverflow(GetParam(), false);
    ASSERT_GT(pid, 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

TEST_P(CoroTest, GuardPageSitsRightBelowTheStack)
{
    pid_t pid = ForkOverflow(GetParam(), true);
    ASSERT_GT(pid, 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "child died of signal " << WTERMSIG(status);
    /* 42: the handler saw the fault below the deepest frame, after the
     * frames had used the whole 64 KiB (GuardHandler). */
    EXPECT_EQ(WEXITSTATUS(status), 42);
}

/* The fork tests above would also pass if the stack merely happened to sit
 * above unmapped memory. The next one checks the page right below a
 * coroutine's stack directly. */
void AddressFn(void *arg)
{
    *static_cast<uintptr_t *>(arg) = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
}

// The page right below the stack cannot be touched, however the guard is
// made (a PROT_NONE mapping, or a guard region installed with
// MADV_GUARD_INSTALL, which /proc/self/maps does not show). The kernel
// answers EFAULT when asked to read such a page (write(2) from it), so the
// probe needs no signal handler: walk down from a local of the coroutine to
// the first page that cannot be read.
TEST_P(CoroTest, GuardPageIsNoAccessBelowTheStack)
{
    uintptr_t local = 0;
    cb_coro_t *c = Create(AddressFn, &local);
    ASSERT_NE(c, nullptr);
    cb_coro_resume(c);
    ASSERT_NE(local, 0u);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    uintptr_t p = local & ~(page - 1);
    uintptr_t guard = 0;
    // The default stack is 64 KiB (CB_CORO_DEFAULT_STACK in coro.c); look a
    // little further.
    const uintptr_t stack = 64 * 1024;
    for (uintptr_t n = 0; n < stack / page + 4; n++, p -= page) {
        ssize_t w = write(fds[1], reinterpret_cast<const void *>(p), 1);
        if (w < 0) {
            EXPECT_EQ(errno, EFAULT);
            guard = p;
            break;
        }
        char b;
        ASSERT_EQ(read(fds[0], &b, 1), 1);
    }
    ASSERT_NE(guard, 0u) << "no inaccessible page below the stack";
    // Every page from the local down to the guard was usable stack, and the
    // local sits in the top pages (the coroutine's first frames): the guard
    // is right below a whole 64 KiB stack, not somewhere inside it.
    uintptr_t distance = (local & ~(page - 1)) - guard;
    EXPECT_LE(distance, stack);
    EXPECT_GE(distance, stack - 2 * page);
    close(fds[0]);
    close(fds[1]);
    cb_coro_destroy(c);
}

#if defined(__x86_64__)
/* Calls fn(arg) with rbx, rbp, r12-r15 set to values derived from seed, and
 * stores what those registers hold after fn returns into out[0..5]. Written
 * in assembly so the compiler cannot keep the values anywhere else: if the
 * switch loses a callee-saved register, out[] shows it. */
extern "C" void cb_test_call_with_regs(void (*fn)(void *), void *arg, uint64_t seed,
                                       uint64_t out[6]);
__asm__(R"(
    .text
    .globl  cb_test_call_with_regs
    .hidden cb_test_call_with_regs
    .type   cb_test_call_with_regs, @function
cb_test_call_with_regs:
    pushq   %rbx
    pushq   %rbp
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    pushq   %rcx            /* out; also makes rsp 16-aligned for the call */
    movq    %rdi, %rax
    movq    %rsi, %rdi
    movq    %rdx, %rbx
    leaq    1(%rdx), %rbp
    leaq    2(%rdx), %r12
    leaq    3(%rdx), %r13
    leaq    4(%rdx), %r14
    leaq    5(%rdx), %r15
    callq   *%rax
    popq    %rcx
    movq    %rbx, 0(%rcx)
    movq    %rbp, 8(%rcx)
    movq    %r12, 16(%rcx)
    movq    %r13, 24(%rcx)
    movq    %r14, 32(%rcx)
    movq    %r15, 40(%rcx)
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbp
    popq    %rbx
    retq
    .size   cb_test_call_with_regs, .-cb_test_call_with_regs
)");

constexpr uint64_t kMainSeed = 0x1111222233330000ull;
constexpr uint64_t kCoroSeed = 0x7777888899990000ull;

struct Regs {
    uint64_t coro_out[3][6] = {};
};

void ResumeThunk(void *c)
{
    cb_coro_resume(static_cast<cb_coro_t *>(c));
}

void YieldThunk(void *)
{
    cb_coro_yield();
}

void RegsFn(void *arg)
{
    auto *r = static_cast<Regs *>(arg);
    for (int i = 0; i < 3; i++)
        cb_test_call_with_regs(YieldThunk, nullptr, kCoroSeed + 16 * i, r->coro_out[i]);
}

TEST_P(CoroTest, CalleeSavedRegistersSurviveSwitches)
{
    Regs r;
    cb_coro_t *c = Create(RegsFn, &r);
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 4; i++) {
        uint64_t out[6];
        uint64_t seed = kMainSeed + 16 * i;
        cb_test_call_with_regs(ResumeThunk, c, seed, out);
        for (int k = 0; k < 6; k++)
            EXPECT_EQ(out[k], seed + k) << "resumer side, round " << i << ", register " << k;
    }
    ASSERT_TRUE(cb_coro_done(c));
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 6; k++)
            EXPECT_EQ(r.coro_out[i][k], kCoroSeed + 16 * i + k)
                << "coroutine side, round " << i << ", register " << k;
    cb_coro_destroy(c);
}

uint16_t GetX87Cw()
{
    uint16_t cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

void SetX87Cw(uint16_t cw)
{
    __asm__ volatile("fldcw %0" : : "m"(cw));
}

/* MXCSR: rounding control is bits 13-14 (11 = toward zero), FTZ is bit 15,
 * DAZ bit 6 (Intel SDM vol. 1, 10.2.3). x87 CW: precision control bits 8-9
 * (00 = 24-bit single), rounding bits 10-11 (Intel SDM vol. 1, 8.1.5). */
constexpr unsigned kMxcsrCoro = 0x1f80u | (3u << 13) | (1u << 15);
constexpr unsigned kMxcsrMain = 0x1f80u | (2u << 13); /* round up */
constexpr uint16_t kCwCoro = 0x037f & ~(3u << 8);     /* single precision */
constexpr uint16_t kCwMain = 0x037f | (1u << 10);     /* round down */

struct Fp {
    unsigned mxcsr_seen[2] = {};
    uint16_t cw_seen[2] = {};
};

void FpFn(void *arg)
{
    auto *f = static_cast<Fp *>(arg);
    _mm_setcsr(kMxcsrCoro);
    SetX87Cw(kCwCoro);
    for (int i = 0; i < 2; i++) {
        cb_coro_yield();
        /* Status flags (bits 0-5) may differ; compare the control bits. */
        f->mxcsr_seen[i] = _mm_getcsr() & ~0x3fu;
        f->cw_seen[i] = GetX87Cw();
    }
}

TEST_P(CoroTest, FloatingPointControlIsPerContext)
{
    const unsigned mxcsr0 = _mm_getcsr();
    const uint16_t cw0 = GetX87Cw();
    Fp f;
    cb_coro_t *c = Create(FpFn, &f);
    ASSERT_NE(c, nullptr);

    cb_coro_resume(c); /* the coroutine sets its own modes */
    EXPECT_EQ(_mm_getcsr() & ~0x3fu, mxcsr0 & ~0x3fu);
    EXPECT_EQ(GetX87Cw(), cw0);

    _mm_setcsr(kMxcsrMain);
    SetX87Cw(kCwMain);
    cb_coro_resume(c);
    EXPECT_EQ(_mm_getcsr() & ~0x3fu, kMxcsrMain);
    EXPECT_EQ(GetX87Cw(), kCwMain);
    cb_coro_resume(c);
    EXPECT_TRUE(cb_coro_done(c));
    EXPECT_EQ(_mm_getcsr() & ~0x3fu, kMxcsrMain);
    EXPECT_EQ(GetX87Cw(), kCwMain);

    _mm_setcsr(mxcsr0);
    SetX87Cw(cw0);
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(f.mxcsr_seen[i], kMxcsrCoro) << "round " << i;
        EXPECT_EQ(f.cw_seen[i], kCwCoro) << "round " << i;
    }
    cb_coro_destroy(c);
}

/* Rounding is visible in results, not just in the control word: 1/3 in
 * single precision rounds down under round-toward-zero and up under
 * round-up, so the two contexts compute different bits. */
struct Rounding {
    float third[2] = {};
};

/* Volatile operands: the compiler may neither fold the division (it did,
 * through a constant-propagated clone, with volatile parameters) nor move
 * it across the switch. */
volatile float g_one = 1.0f;
volatile float g_three = 3.0f;

float Third()
{
    return g_one / g_three;
}

void RoundingFn(void *arg)
{
    auto *r = static_cast<Rounding *>(arg);
    _mm_setcsr(0x1f80u | (3u << 13)); /* toward zero */
    cb_coro_yield();
    r->third[0] = Third();
}

TEST_P(CoroTest, RoundingModeOfEachContextAppliesToItsArithmetic)
{
    const unsigned mxcsr0 = _mm_getcsr();
    Rounding r;
    cb_coro_t *c = Create(RoundingFn, &r);
    ASSERT_NE(c, nullptr);
    cb_coro_resume(c);
    _mm_setcsr(0x1f80u | (2u << 13)); /* up */
    cb_coro_resume(c);
    r.third[1] = Third();
    _mm_setcsr(mxcsr0);
    ASSERT_TRUE(cb_coro_done(c));
    EXPECT_LT(r.third[0], r.third[1]);
    cb_coro_destroy(c);
}
#endif

INSTANTIATE_TEST_SUITE_P(Impls, CoroTest,
                         ::testing::Values(CB_CORO_ASM, CB_CORO_UCONTEXT, CB_CORO_FCONTEXT),
                         ImplName);

} // namespace
