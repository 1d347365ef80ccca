/* Boost.Context's fcontext for coro.c (coro_fcontext_internal.h): a new
 * context from make_fcontext, and the checks that the C declaration of
 * jump_fcontext coro.c calls is the header's. jump_fcontext saves the
 * callee-saved registers, MXCSR and the x87 control word on the stack it
 * leaves, switches stacks and jumps (not returns) to the other side: the
 * work of our assembly switch (coro_switch_x86_64.S), in Boost's code. */

#include "lib/exec/coro_fcontext_internal.h"

#include <cstddef>
#include <type_traits>

#include <boost/context/detail/fcontext.hpp>

namespace bcd = boost::context::detail;

static_assert(sizeof(bcd::transfer_t) == sizeof(cb_fctx_transfer_t), "transfer layout");
static_assert(offsetof(bcd::transfer_t, fctx) == offsetof(cb_fctx_transfer_t, fctx),
              "transfer layout");
static_assert(offsetof(bcd::transfer_t, data) == offsetof(cb_fctx_transfer_t, data),
              "transfer layout");
static_assert(std::is_same<bcd::fcontext_t, void *>::value, "fcontext_t");
/* coro.c's `cb_fctx_transfer_t jump_fcontext(void *to, void *vp)`. C++11:
 * a project that uses the harness may compile with the default standard. */
static_assert(std::is_same<decltype(bcd::jump_fcontext), bcd::transfer_t(void *, void *)>::value,
              "jump_fcontext's signature");

static void entry(bcd::transfer_t t)
{
    cb_coro_fctx_entry(cb_fctx_transfer_t{t.fctx, t.data});
}

extern "C" void *cb_fctx_make(void *top, size_t size)
{
    return bcd::make_fcontext(top, size, entry);
}
