#ifndef CB_CLOCK_H
#define CB_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic wall clock (CLOCK_MONOTONIC) in nanoseconds. Any thread. */
uint64_t cb_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif
