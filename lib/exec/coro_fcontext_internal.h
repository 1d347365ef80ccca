#ifndef CB_CORO_FCONTEXT_INTERNAL_H
#define CB_CORO_FCONTEXT_INTERNAL_H

/* Boost.Context's fcontext switch (libboost-context-dev), for coro.c's
 * CB_CORO_FCONTEXT. boost/context/detail/fcontext.hpp is a C++ header, but
 * the switch itself, jump_fcontext, is an extern "C" function in
 * libboost_context: coro.c calls it as Boost's own C++ code does, through
 * the declaration below, which coro_fcontext.cc checks against the header
 * (same parameters, a transfer record of the same layout). Creating a
 * context goes through coro_fcontext.cc, which makes it with the header's
 * make_fcontext and an entry that calls cb_coro_fctx_entry. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Boost's transfer_t: the context that was left, and the pointer handed
 * over. */
typedef struct cb_fctx_transfer {
    void *fctx;
    void *data;
} cb_fctx_transfer_t;

#ifndef __cplusplus
/* Suspends the running context and continues in `to`, handing it vp;
 * returns, once something jumps back here, with the context that did and
 * the pointer it handed over. Boost's own name and signature. */
cb_fctx_transfer_t jump_fcontext(void *to, void *vp);
#endif

/* make_fcontext over the stack [top - size, top): a context whose first
 * jump calls cb_coro_fctx_entry with the jumper's context and pointer. */
void *cb_fctx_make(void *top, size_t size);

/* coro.c: the first function of every fcontext coroutine (never returns). */
void cb_coro_fctx_entry(cb_fctx_transfer_t t);

#ifdef __cplusplus
}
#endif
#endif
