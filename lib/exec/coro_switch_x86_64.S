/* The coroutine context switch for x86-64 System V (Linux, ELF).
 *
 * void cb_coro_switch_x86_64(cb_coro_ctx_t *from, cb_coro_ctx_t *to);
 *
 * Saves the caller's callee-saved state into *from and continues in the
 * context saved in *to: either where that context last called this function
 * (it returns from its own call), or, for a fresh coroutine, at
 * cb_coro_start_x86_64 below.
 *
 * Offset map (must match cb_coro_ctx_t in coro.c, which checks every offset
 * with _Static_assert):
 *
 *    0  rsp    stack pointer as the caller sees it after this call returns
 *    8  rip    where to continue (the caller's return address)
 *   16  rbx
 *   24  rbp
 *   32  r12
 *   40  r13
 *   48  r14
 *   56  r15
 *   64  mxcsr  32 bits (SSE control and status)
 *   68  x87cw  16 bits (x87 FPU control word)
 *
 * ABI reference: System V AMD64 psABI, section 3.2.1 "Registers" and figure
 * 3.4: rbx, rbp, rsp, r12-r15 are callee-saved ("belong to the calling
 * function"); the control bits of MXCSR and the x87 control word are
 * callee-saved too, while their status bits and every other register
 * (rax, rcx, rdx, rsi, rdi, r8-r11, xmm0-15, x87 stack, flags) are
 * caller-saved, so the C compiler has already spilled whatever it still
 * needs from those before it calls us. The direction flag is clear at every
 * call, and stays clear here. We store the whole MXCSR and restore it, so a
 * context also keeps its own sticky exception flags; that is a superset of
 * what the ABI asks.
 *
 * Deliberately not saved: the signal mask (ucontext's swapcontext makes a
 * rt_sigprocmask system call per switch for it, which is most of why it is
 * slow), the x87 status/tag words and the vector registers (caller-saved).
 *
 * We continue with `jmp *rip`, not `push rip; ret`: a `ret` is predicted
 * from the return stack buffer, which holds the other context's return
 * address, so it would mispredict on every switch (measured on this
 * project's AMD EPYC: 14.6 ns per switch with ret, 5.3 ns with jmp).
 *
 * Pitfalls:
 * - Red zone: the 128 bytes below rsp may hold the caller's live data in a
 *   leaf function. This is a real call, so the caller has given the red zone
 *   up; we write only through the context pointers and never below rsp.
 * - Stack alignment: rsp + 8 must be a multiple of 16 at a function's first
 *   instruction (rsp is 16-aligned at the call). coro.c starts a fresh
 *   coroutine with a 16-aligned rsp, and cb_coro_start_x86_64 reaches C
 *   through a `call`, which pushes 8 bytes, so the C entry sees the ABI's
 *   alignment. A misaligned stack shows up only later, as a crash in an
 *   aligned SSE spill (movaps) somewhere deep in libc.
 * - Signal stacks: a signal that arrives while a coroutine runs is delivered
 *   on the coroutine's stack (unless the handler was installed with
 *   SA_ONSTACK and a sigaltstack), so stacks must leave room for handlers.
 *   The sigaltstack itself is per thread and is not switched here.
 * - CET: we continue with `jmp *rip` instead of `ret`, which a shadow stack
 *   would not balance, and the target of that jump is a return address
 *   without `endbr64`, which IBT would refuse. This file therefore carries
 *   no .note.gnu.property (no IBT/SHSTK marks), so the linker marks the
 *   whole binary as not CET-ready and the kernel/glibc do not enable shadow
 *   stacks or IBT for it. Supporting them would need shadow-stack tokens per
 *   coroutine (rstorssp/saveprevssp), as Boost.Context does.
 * - .note.GNU-stack: without it the linker assumes this object needs an
 *   executable stack and gives the whole process one. It is emitted at the
 *   end of the file, outside the architecture guard, for every ELF target.
 * - Unwinding: cb_coro_start_x86_64 marks rip undefined in its CFI, so gdb
 *   and unwinders stop at the bottom of a coroutine stack instead of
 *   wandering into whatever lies above it.
 */

#if defined(__x86_64__)

    .text

    .globl  cb_coro_switch_x86_64
    .hidden cb_coro_switch_x86_64
    .type   cb_coro_switch_x86_64, @function
    .p2align 4
cb_coro_switch_x86_64:
    .cfi_startproc
    /* rdi = from, rsi = to. Save: the return address becomes rip, and
     * rsp is stored as it will be after that return (past the address). */
    movq    (%rsp), %rax
    leaq    8(%rsp), %rcx
    movq    %rcx, 0(%rdi)
    movq    %rax, 8(%rdi)
    movq    %rbx, 16(%rdi)
    movq    %rbp, 24(%rdi)
    movq    %r12, 32(%rdi)
    movq    %r13, 40(%rdi)
    movq    %r14, 48(%rdi)
    movq    %r15, 56(%rdi)
    stmxcsr 64(%rdi)
    fnstcw  68(%rdi)

    /* Restore. MXCSR is loaded unconditionally: comparing first would have
     * to read back the value stmxcsr just stored, and on the AMD EPYC this
     * was tuned on that store does not forward to the load, which stalls
     * longer than ldmxcsr takes (measured: 6.7 ns per switch with the
     * compare, 5.3 without). fnstcw's store does forward, and fldcw is
     * microcoded and slow, so the x87 control word is loaded only when it
     * differs, which in practice it almost never does. */
    ldmxcsr 64(%rsi)
    movzwl  68(%rsi), %eax
    cmpw    %ax, 68(%rdi)
    jne     .Lload_x87cw
.Lx87cw_done:
    movq    16(%rsi), %rbx
    movq    24(%rsi), %rbp
    movq    32(%rsi), %r12
    movq    40(%rsi), %r13
    movq    48(%rsi), %r14
    movq    56(%rsi), %r15
    movq    0(%rsi), %rsp
    jmpq    *8(%rsi)

.Lload_x87cw:
    fldcw   68(%rsi)
    jmp     .Lx87cw_done
    .cfi_endproc
    .size   cb_coro_switch_x86_64, .-cb_coro_switch_x86_64

/* First code a fresh coroutine runs. coro.c sets r12 = argument, r13 =
 * entry function, rsp 16-aligned, rbp = 0 (end of the frame-pointer chain).
 * The entry function never returns: a finished coroutine switches back to
 * its resumer instead. */
    .globl  cb_coro_start_x86_64
    .hidden cb_coro_start_x86_64
    .type   cb_coro_start_x86_64, @function
    .p2align 4
cb_coro_start_x86_64:
    .cfi_startproc
    .cfi_undefined rip
    movq    %r12, %rdi
    callq   *%r13
    ud2
    .cfi_endproc
    .size   cb_coro_start_x86_64, .-cb_coro_start_x86_64

#endif /* __x86_64__ */

#if defined(__linux__) && defined(__ELF__)
#if defined(__arm__)
    .section .note.GNU-stack, "", %progbits
#else
    .section .note.GNU-stack, "", @progbits
#endif
#endif
