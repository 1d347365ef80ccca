#include "lib/exec/coro.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "lib/core/clock.h"
#include "lib/core/counters.h"
#include "lib/exec/coro_fcontext_internal.h"

/* AddressSanitizer keeps its own idea of which stack the thread is on; every
 * switch must be announced to it (start before, finish after), or it reports
 * false stack-buffer overflows and its fake stacks get confused. GCC defines
 * __SANITIZE_ADDRESS__, clang answers __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define CB_CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CB_CORO_ASAN 1
#endif
#endif
#if defined(CB_CORO_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

/* ThreadSanitizer keeps a shadow call stack per thread: switches it does not
 * know about look like calls that never return, and it runs out of shadow
 * stack after a few thousand coroutines. Each coroutine is a TSan fiber. */
#if defined(__SANITIZE_THREAD__)
#define CB_CORO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CB_CORO_TSAN 1
#endif
#endif
#if defined(CB_CORO_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

#define CB_CORO_DEFAULT_STACK (64u * 1024u)

#if defined(__x86_64__)
/* Saved registers of a suspended context. Field order and offsets are the
 * offset map in coro_switch_x86_64.S; the asserts below keep them in step. */
typedef struct cb_coro_ctx {
    void *rsp;
    void *rip;
    uint64_t rbx;
    uint64_t rbp;
    uint64_t r12;
    uint64_t r13;
    uint64_t r14;
    uint64_t r15;
    uint32_t mxcsr;
    uint16_t x87cw;
} cb_coro_ctx_t;

_Static_assert(offsetof(cb_coro_ctx_t, rsp) == 0, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, rip) == 8, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, rbx) == 16, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, rbp) == 24, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, r12) == 32, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, r13) == 40, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, r14) == 48, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, r15) == 56, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, mxcsr) == 64, "asm offset map");
_Static_assert(offsetof(cb_coro_ctx_t, x87cw) == 68, "asm offset map");

void cb_coro_switch_x86_64(cb_coro_ctx_t *from, cb_coro_ctx_t *to);
void cb_coro_start_x86_64(void);
#endif

typedef enum {
    CORO_FRESH,     /* created or reset, never resumed since */
    CORO_RUNNING,   /* on the CPU, or suspended in a resume() of its own */
    CORO_SUSPENDED, /* yielded */
    CORO_DONE,      /* fn returned */
} coro_state_t;

struct cb_coro {
#if defined(__x86_64__)
    cb_coro_ctx_t ctx;        /* this coroutine, while it is suspended */
    cb_coro_ctx_t caller_ctx; /* its resumer, while it runs */
#endif
    cb_coro_impl_t impl;
    coro_state_t state;
    cb_coro_t *resumer; /* the coroutine (or NULL: the thread) that resumed it */
    cb_coro_fn_t fn;
    void *arg;
    char *map; /* guard page, then the stack */
    size_t map_len;
    struct stack_slab *slab; /* the slab the stack came from, NULL: own mapping */
    char *stack_lo;
    size_t stack_len;
    ucontext_t *uc;    /* UCONTEXT only: uc[0] this coroutine, uc[1] its resumer */
    void *fctx;        /* FCONTEXT only: this coroutine, while it is suspended */
    void *caller_fctx; /* ... its resumer, while it runs */
    /* Used only under ASan / TSan, kept always so the code has one shape. */
    void *fake_stack;          /* ASan's fake frames of this coroutine */
    void *caller_fake_stack;   /* ... of the resumer */
    const void *caller_bottom; /* the resumer's stack */
    size_t caller_size;
    void *tsan_fiber;        /* this coroutine's TSan fiber */
    void *tsan_caller_fiber; /* the resumer's */
};

/* Initial-exec: the switch path reads this on every resume and yield, and the
 * general-dynamic model would add a __tls_get_addr call when the library is
 * built as a shared object. The library is never dlopen'ed. */
static __thread cb_coro_t *tls_current __attribute__((tls_model("initial-exec")));

const char *cb_coro_asm_unavailable(void)
{
#if defined(__x86_64__)
    return NULL;
#else
    return "the assembly switch exists only for x86-64 (coro_switch_x86_64.S); use ucontext";
#endif
}

/* The ASan hooks compile to nothing without ASan. */
static inline void asan_start(void **fake_save, const void *bottom, size_t size)
{
#if defined(CB_CORO_ASAN)
    __sanitizer_start_switch_fiber(fake_save, bottom, size);
#else
    (void)fake_save;
    (void)bottom;
    (void)size;
#endif
}

static inline void asan_finish_in_coro(cb_coro_t *c)
{
#if defined(CB_CORO_ASAN)
    /* Learns the resumer's stack, to announce it when switching back. */
    __sanitizer_finish_switch_fiber(c->fake_stack, &c->caller_bottom, &c->caller_size);
#else
    (void)c;
#endif
}

static inline void asan_finish_in_caller(cb_coro_t *c)
{
#if defined(CB_CORO_ASAN)
    __sanitizer_finish_switch_fiber(c->caller_fake_stack, NULL, NULL);
#else
    (void)c;
#endif
}

static void asan_unpoison_stack(cb_coro_t *c)
{
    /* Frames left on the stack without returning (the entry frame of a
     * finished coroutine, the frames of a dropped one) keep their redzones
     * poisoned; a reused or unmapped stack must not inherit them. */
#if defined(CB_CORO_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(c->stack_lo, c->stack_len);
#else
    (void)c;
#endif
}

/* Switches from the side that runs now to the other one: into c when into
 * is 1, back to c's resumer when it is 0 (a constant at every call site, so
 * the inlined branch disappears). */
static inline void coro_switch(cb_coro_t *c, int into)
{
#if defined(__x86_64__)
    if (c->impl == CB_CORO_ASM) {
        if (into)
            cb_coro_switch_x86_64(&c->caller_ctx, &c->ctx);
        else
            cb_coro_switch_x86_64(&c->ctx, &c->caller_ctx);
        return;
    }
#endif
    if (c->impl == CB_CORO_FCONTEXT) {
        /* A jump returns when the other side jumps back, with the context
         * it left: the coroutine's suspension point after a resume, the
         * resumer's after a yield. */
        if (into)
            c->fctx = jump_fcontext(c->fctx, c).fctx;
        else
            c->caller_fctx = jump_fcontext(c->caller_fctx, NULL).fctx;
        return;
    }
    if (swapcontext(&c->uc[into ? 1 : 0], &c->uc[into ? 0 : 1]) != 0)
        abort();
}

/* Gives c a fresh TSan fiber (an empty shadow call stack). */
static void tsan_fiber_renew(cb_coro_t *c)
{
#if defined(CB_CORO_TSAN)
    if (c->tsan_fiber)
        __tsan_destroy_fiber(c->tsan_fiber);
    c->tsan_fiber = __tsan_create_fiber(0);
#else
    (void)c;
#endif
}

static void tsan_fiber_free(cb_coro_t *c)
{
#if defined(CB_CORO_TSAN)
    if (c->tsan_fiber)
        __tsan_destroy_fiber(c->tsan_fiber);
#else
    (void)c;
#endif
}

/* Called immediately before the switch, as TSan asks. The switch orders
 * the two sides (flags 0: happens-before), as it does on one thread. */
static inline void tsan_switch(cb_coro_t *c, int into)
{
#if defined(CB_CORO_TSAN)
    if (into) {
        c->tsan_caller_fiber = __tsan_get_current_fiber();
        __tsan_switch_to_fiber(c->tsan_fiber, 0);
    } else {
        __tsan_switch_to_fiber(c->tsan_caller_fiber, 0);
    }
#else
    (void)c;
    (void)into;
#endif
}

/* Runs fn to completion on the coroutine's stack, then leaves it for good. */
static void __attribute__((noreturn)) coro_main(cb_coro_t *c)
{
    asan_finish_in_coro(c);
    c->fn(c->arg);
    c->state = CORO_DONE;
    tls_current = c->resumer;
    /* NULL: this stack's fake frames die with it. */
    asan_start(NULL, c->caller_bottom, c->caller_size);
    tsan_switch(c, 0);
    coro_switch(c, 0);
    /* Nobody resumes a finished coroutine (resume aborts first). */
    abort();
}

/* makecontext passes only int arguments, so the pointer travels in halves
 * (through uint64_t, so 32-bit targets work too; hi is 0 there). */
static void coro_main_uc(unsigned int hi, unsigned int lo)
{
    coro_main((cb_coro_t *)(uintptr_t)(((uint64_t)hi << 32) | (uint64_t)lo));
}

#if defined(__x86_64__)
static void coro_main_asm(void *c)
{
    coro_main(c);
}
#endif

/* The first jump into an fcontext coroutine lands here, with the resumer's
 * context and the coroutine. */
void cb_coro_fctx_entry(cb_fctx_transfer_t t)
{
    cb_coro_t *c = t.data;
    c->caller_fctx = t.fctx;
    coro_main(c);
}

/* Points the coroutine's saved context at the start of coro_main. */
static int coro_arm(cb_coro_t *c)
{
    char *top = c->stack_lo + c->stack_len;
    /* A recycled coroutine starts with fresh sanitizer state: ASan must not
     * get the fake stack of the previous run, which ended with that run,
     * and TSan must not keep that run's never-returned entry frame. */
    c->fake_stack = NULL;
    tsan_fiber_renew(c);
#if defined(__x86_64__)
    if (c->impl == CB_CORO_ASM) {
        /* 16-aligned, with 16 bytes of zeros above it so a debugger that
         * reads past the entry frame finds a null return address. */
        uintptr_t sp = ((uintptr_t)top & ~(uintptr_t)15) - 16;
        ((uint64_t *)sp)[0] = 0;
        ((uint64_t *)sp)[1] = 0;
        c->ctx = (cb_coro_ctx_t){
            .rsp = (void *)sp,
            .rip = (void *)cb_coro_start_x86_64,
            .rbp = 0,
            .r12 = (uint64_t)(uintptr_t)c,
            .r13 = (uint64_t)(uintptr_t)coro_main_asm,
        };
        /* A new coroutine starts with its creator's floating-point control
         * state, as a new thread or a makecontext'ed context would. */
        __asm__ volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(c->ctx.mxcsr), "=m"(c->ctx.x87cw));
        return 0;
    }
#endif
    if (c->impl == CB_CORO_FCONTEXT) {
        /* Boost aligns the top itself and puts the entry's frame below it;
         * it saves its creator's floating-point control state there too. */
        c->fctx = cb_fctx_make(top, c->stack_len);
        return 0;
    }
    if (getcontext(&c->uc[0]) != 0)
        return -errno;
    c->uc[0].uc_stack.ss_sp = c->stack_lo;
    c->uc[0].uc_stack.ss_size = c->stack_len;
    c->uc[0].uc_link = NULL; /* coro_main never returns */
    uint64_t p = (uint64_t)(uintptr_t)c;
    makecontext(&c->uc[0], (void (*)(void))coro_main_uc, 2, (unsigned int)(p >> 32),
                (unsigned int)(p & 0xffffffffu));
    return 0;
}

/* ---- Stacks ----------------------------------------------------------------
 *
 * Stacks up to SLAB_MAX_STACK come from slabs: one mmap of SLAB_STACKS slots,
 * each a guard page (made PROT_NONE when the slot is handed out) and the
 * stack above it. A slab is unmapped as a whole once every slot it handed
 * out has been given back. One mmap and one munmap per 64 coroutines instead
 * of one each (plus the mprotect of the guard, which every stack needs)
 * halves the cost of starting a coroutine with a fresh stack: 10,000
 * coroutines start in about 30 ms instead of 70 here, and are freed in about
 * 2 ms instead of 45. Larger stacks get a mapping of their own.
 *
 * A slab belongs to the thread that made it (thread-local, no locking): a
 * coroutine is created and destroyed on one thread (coro.h). */

/* Linux 6.13+ installs a guard region as page-table markers, without
 * splitting the mapping (which mprotect does, at a cost of a VMA each);
 * older kernels answer EINVAL and the guard is made with mprotect. The
 * value is the kernel's (include/uapi/asm-generic/mman-common.h); Debian
 * 12's headers predate it. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static int guard_page(char *p, size_t page)
{
    static __thread int no_madv_guard;
    if (!no_madv_guard) {
        if (madvise(p, page, MADV_GUARD_INSTALL) == 0)
            return 0;
        if (errno != EINVAL)
            return -errno;
        no_madv_guard = 1;
    }
    return mprotect(p, page, PROT_NONE) == 0 ? 0 : -errno;
}

#define SLAB_STACKS 64
#define SLAB_MAX_STACK (256u * 1024u)

typedef struct stack_slab {
    char *map;
    size_t slot_len; /* guard page + stack */
    unsigned used;   /* slots handed out */
    unsigned live;   /* slots handed out and not given back */
} stack_slab_t;

static __thread stack_slab_t *tls_slab; /* where this thread's next stack comes from */

static int stack_alloc(cb_coro_t *c, size_t stack_size, size_t page)
{
    size_t slot_len = stack_size + page;
    if (stack_size > SLAB_MAX_STACK) {
        /* MAP_NORESERVE: a large stack costs only the pages it touches.
         * MAP_GROWSDOWN is deliberately not used (its growth rules are odd
         * and it would move the guard). */
        c->map = mmap(NULL, slot_len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (c->map == MAP_FAILED)
            return -errno;
        c->map_len = slot_len;
        c->slab = NULL;
    } else {
        stack_slab_t *sl = tls_slab;
        if (!sl || sl->slot_len != slot_len || sl->used == SLAB_STACKS) {
            stack_slab_t *n = calloc(1, sizeof(*n));
            if (!n)
                return -ENOMEM;
            n->map = mmap(NULL, SLAB_STACKS * slot_len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
            if (n->map == MAP_FAILED) {
                int rc = -errno;
                free(n);
                return rc;
            }
            n->slot_len = slot_len;
            /* The slab being replaced is freed by its last live slot (or now,
             * when it has none). */
            if (sl && sl->live == 0) {
                if (munmap(sl->map, SLAB_STACKS * sl->slot_len) != 0)
                    abort();
                free(sl);
            }
            tls_slab = sl = n;
        }
        char *slot = sl->map + (size_t)sl->used * slot_len;
        /* The guard page sits below the stack, which grows down into it. */
        int rc = guard_page(slot, page);
        if (rc < 0)
            return rc;
        sl->used++;
        sl->live++;
        c->map = slot;
        c->map_len = slot_len;
        c->slab = sl;
    }
    int rc;
    if (c->slab == NULL && (rc = guard_page(c->map, page)) < 0) {
        if (munmap(c->map, c->map_len) != 0)
            abort();
        c->map = MAP_FAILED;
        return rc;
    }
    c->stack_lo = c->map + page;
    c->stack_len = stack_size;
    return 0;
}

static void stack_free(cb_coro_t *c)
{
    if (c->map == MAP_FAILED)
        return;
    stack_slab_t *sl = c->slab;
    if (!sl) {
        if (munmap(c->map, c->map_len) != 0)
            abort();
        return;
    }
    /* A slot is never handed out twice: the slab goes when all have come
     * back, or (while it is the current slab) stays for the next ones. */
    if (--sl->live == 0 && (sl->used == SLAB_STACKS || sl != tls_slab)) {
        if (munmap(sl->map, SLAB_STACKS * sl->slot_len) != 0)
            abort();
        if (tls_slab == sl)
            tls_slab = NULL;
        free(sl);
    } else if (sl->live == 0 && sl == tls_slab) {
        /* Nothing is left on the current slab: drop it rather than keep a
         * mapping (and its split guard pages) around between runs. */
        if (munmap(sl->map, SLAB_STACKS * sl->slot_len) != 0)
            abort();
        tls_slab = NULL;
        free(sl);
    }
}

cb_coro_t *cb_coro_create(cb_coro_impl_t impl, size_t stack_size, cb_coro_fn_t fn, void *arg,
                          int *err)
{
    int rc;
    cb_coro_t *c = NULL;
    long page = sysconf(_SC_PAGESIZE);

    if (!fn || page <= 0 ||
        (impl != CB_CORO_ASM && impl != CB_CORO_UCONTEXT && impl != CB_CORO_FCONTEXT)) {
        rc = -EINVAL;
        goto err;
    }
    if (impl == CB_CORO_ASM && cb_coro_asm_unavailable()) {
        rc = -ENOTSUP;
        goto err;
    }
    if (stack_size == 0)
        stack_size = CB_CORO_DEFAULT_STACK;
    if (stack_size > SIZE_MAX / 2) {
        rc = -ENOMEM;
        goto err;
    }
    stack_size = (stack_size + (size_t)page - 1) & ~((size_t)page - 1);

    c = calloc(1, sizeof(*c));
    if (!c) {
        rc = -ENOMEM;
        goto err;
    }
    c->impl = impl;
    c->fn = fn;
    c->arg = arg;
    c->map = MAP_FAILED;
    if (impl == CB_CORO_UCONTEXT) {
        c->uc = calloc(2, sizeof(*c->uc));
        if (!c->uc) {
            rc = -ENOMEM;
            goto err;
        }
    }
    if ((rc = stack_alloc(c, stack_size, (size_t)page)) < 0)
        goto err;
    rc = coro_arm(c);
    if (rc < 0)
        goto err;
    c->state = CORO_FRESH;
    return c;

err:
    if (c) {
        stack_free(c);
        tsan_fiber_free(c);
        free(c->uc);
        free(c);
    }
    if (err)
        *err = rc;
    return NULL;
}

int cb_coro_reset(cb_coro_t *c, cb_coro_fn_t fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    if (c->state != CORO_DONE && c->state != CORO_FRESH)
        return -EBUSY;
    asan_unpoison_stack(c);
    c->fn = fn;
    c->arg = arg;
    c->resumer = NULL;
    int rc = coro_arm(c);
    if (rc < 0)
        return rc;
    c->state = CORO_FRESH;
    return 0;
}

void cb_coro_resume(cb_coro_t *c)
{
    /* RUNNING covers resuming oneself and resuming a coroutine further up
     * the chain of resumers: both would overwrite a live caller context. */
    if (c->state != CORO_FRESH && c->state != CORO_SUSPENDED)
        abort();
    c->resumer = tls_current;
    c->state = CORO_RUNNING;
    tls_current = c;
    asan_start(&c->caller_fake_stack, c->stack_lo, c->stack_len);
    tsan_switch(c, 1);
    coro_switch(c, 1);
    asan_finish_in_caller(c);
}

void cb_coro_yield(void)
{
    cb_coro_t *c = tls_current;
    if (!c)
        abort();
    c->state = CORO_SUSPENDED;
    tls_current = c->resumer;
    asan_start(&c->fake_stack, c->caller_bottom, c->caller_size);
    tsan_switch(c, 0);
    coro_switch(c, 0);
    asan_finish_in_coro(c);
}

cb_coro_t *cb_coro_current(void)
{
    return tls_current;
}

int cb_coro_done(const cb_coro_t *c)
{
    return c->state == CORO_DONE;
}

void cb_coro_destroy(cb_coro_t *c)
{
    if (!c)
        return;
    if (c->state == CORO_RUNNING)
        abort();
    asan_unpoison_stack(c);
    stack_free(c);
    tsan_fiber_free(c);
    free(c->uc);
    free(c);
}

static void pingpong(void *arg)
{
    const volatile int *stop = arg;
    while (!*stop)
        cb_coro_yield();
}

double cb_coro_measure_switch_ns(cb_coro_impl_t impl, uint64_t iters)
{
    int err = 0;
    volatile int stop = 0;

    if (iters == 0)
        return -EINVAL;
    cb_coro_t *c = cb_coro_create(impl, 0, pingpong, (void *)&stop, &err);
    if (!c)
        return err;
    /* Warm-up: faults in the stack page and trains the branch predictors,
     * which the steady state of a long-running program has done too. */
    for (int i = 0; i < 1000; i++)
        cb_coro_resume(c);

    /* Timed region: iters resume/yield round trips, two one-way switches
     * each. It captures the whole public path of a switch: the call into
     * cb_coro_resume / cb_coro_yield, the state and current-pointer
     * bookkeeping, the register save/restore (and for ucontext its signal
     * mask system call), plus the loop's increment and branch. It leaves out
     * creating the coroutine and faulting in its stack (done above), and the
     * two clock reads, whose cost is spread over 2 * iters switches. */
    cb_counters_start();
    uint64_t t0 = cb_now_ns();
    for (uint64_t i = 0; i < iters; i++)
        cb_coro_resume(c);
    uint64_t t1 = cb_now_ns();
    cb_counters_stop();

    stop = 1;
    cb_coro_resume(c);
    cb_coro_destroy(c);
    return (double)(t1 - t0) / (2.0 * (double)iters);
}
