#ifndef CB_TASK_H
#define CB_TASK_H

/* The task type every layer shares: a function of its index returning a
 * 64-bit result that the caller checks, so no work is optimised away or
 * silently lost. Workloads (lib/wl) provide tasks, executors (lib/exec) run
 * them; both include only this header of each other's world. */

#include <stddef.h>
#include <stdint.h>

#include "lib/core/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t (*cb_task_fn_t)(void *arg, size_t index);

/* Completion callback (pools): thread_pool runs it in the worker thread that
 * ran the task; process_pool runs it in the parent, one at a time, in
 * completion order (as Python's ThreadPoolExecutor / ProcessPoolExecutor). */
typedef void (*cb_callback_fn_t)(void *arg, size_t index, uint64_t value);

typedef struct cb_task_result {
    uint64_t value;
    cb_status_t status; /* CB_OK, CB_CRASHED, CB_TIMEOUT, CB_ERROR */
    int signo;          /* CB_CRASHED: the signal that ended the task */
} cb_task_result_t;

#ifdef __cplusplus
}
#endif
#endif
