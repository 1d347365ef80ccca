/* gthreadpool: GLib's GThreadPool (libglib2.0-dev), exclusive, with W
 * threads: g_thread_pool_new starts them all in open, and they serve only
 * this pool. A run pushes every task (its index + 1 as the data pointer, so
 * a push allocates nothing of ours; GLib's queue takes a node per push) and
 * waits on a latch the last task releases. Each pool thread binds itself to
 * the next plan slot, round robin, in a first task open gives each of them
 * (they meet at a barrier, so every thread takes one). GThreadPool has no
 * completion callbacks (GLib code hands a result to its main loop with
 * g_idle_add, which is not a pool's callback).
 *
 * close frees the pool after its queue is empty; with GLib's limit of
 * unused threads set to 0 (process-wide) its threads then exit instead of
 * waiting for another pool, and close waits until they are gone (GLib has
 * no join). */

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/exec/exec_internal.h"
#include "lib/exec/peer_internal.h"

/* The data pointer of open's first task for each thread (a task's is its
 * index + 1). */
#define WARM_UP ((gpointer)UINTPTR_MAX)

typedef struct gtp_exec {
    GThreadPool *pool;
    cb_peer_pin_t pin;
    cb_peer_barrier_t warm;
    cb_peer_latch_t latch;
    cb_gil_t *gil;
    const cb_exec_cfg_t *cfg;  /* the run's, set before its first push */
    cb_task_result_t *results; /* likewise */
} gtp_exec_t;

static void gtp_task(gpointer data, gpointer user)
{
    gtp_exec_t *x = user;
    if (data == WARM_UP) {
        cb_peer_pin_claim(&x->pin);
        (void)cb_peer_barrier_wait(&x->warm, 2000000000ull);
        cb_peer_latch_count(&x->latch);
        return;
    }
    size_t i = (size_t)(uintptr_t)data - 1;
    cb_peer_pin_claim(&x->pin);
    cb_peer_task_begin("gthreadpool", i);
    uint64_t v = cb_exec_call(x->cfg, x->gil, i);
    cb_peer_task_end();
    x->results[i] = (cb_task_result_t){v, CB_OK, 0};
    cb_peer_latch_count(&x->latch);
}

static void gtp_close(void *state)
{
    gtp_exec_t *x = state;
    if (!x)
        return;
    /* Not immediate, and waiting: every queued task runs first. */
    if (x->pool) {
        g_thread_pool_free(x->pool, FALSE, TRUE);
        cb_peer_pin_wait_gone(&x->pin, 5000000000ull);
    }
    if (x->gil)
        cb_gil_free(x->gil);
    cb_peer_pin_free(&x->pin);
    free(x);
}

static int gtp_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    gtp_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 1)) < 0)
        goto err;
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    if (cfg->gil_interval_ns && !(x->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        goto err;
    if ((rc = cb_peer_pin_init(&x->pin, cfg)) < 0)
        goto err;
    g_thread_pool_set_max_unused_threads(0);
    GError *error = NULL;
    x->pool = g_thread_pool_new(gtp_task, x, cfg->workers, TRUE, &error);
    if (!x->pool) {
        /* GLib says why only in words; a thread it could not start is the
         * usual reason. */
        g_clear_error(&error);
        rc = -EAGAIN;
        goto err;
    }
    /* Each thread's first task: it takes a slot and binds there. */
    cb_peer_barrier_init(&x->warm, (unsigned)cfg->workers);
    cb_peer_latch_reset(&x->latch, (size_t)cfg->workers);
    for (int i = 0; i < cfg->workers; i++)
        if (!g_thread_pool_push(x->pool, WARM_UP, &error)) {
            g_clear_error(&error);
            cb_peer_latch_count(&x->latch);
        }
    cb_peer_latch_wait(&x->latch);
    if ((rc = cb_peer_pin_error(&x->pin)) < 0)
        goto err;
    *state = x;
    return 0;
err:
    gtp_close(x);
    return rc;
}

/* Timed: pushing every task (a lock and a node each; a sleeping thread is
 * signalled), the threads taking and running them, and the wait. */
static int gtp_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    gtp_exec_t *x = state;
    size_t n = cfg->tasks, pushed = 0;
    x->cfg = cfg;
    x->results = results;
    cb_peer_latch_reset(&x->latch, n);
    int rc = 0;
    for (; pushed < n; pushed++) {
        GError *error = NULL;
        if (!g_thread_pool_push(x->pool, (gpointer)(uintptr_t)(pushed + 1), &error)) {
            g_clear_error(&error);
            rc = -EAGAIN;
            break;
        }
    }
    /* The tasks that were pushed still run; those that were not count as
     * failed, so the latch still opens. */
    for (size_t i = pushed; i < n; i++) {
        results[i] = (cb_task_result_t){0, CB_ERROR, 0};
        cb_peer_latch_count(&x->latch);
    }
    cb_peer_latch_wait(&x->latch);
    if (rc < 0)
        return rc;
    return cb_peer_pin_error(&x->pin);
}

static const char *gthreadpool_unavailable(void)
{
    return CB_PEER_TSAN ? "ThreadSanitizer cannot see GLib's synchronisation (its own futexes): "
                          "every task would read as a race"
                        : NULL;
}

const cb_executor_t cb_exec_gthreadpool = {
    .name = "gthreadpool",
    .summary = "GLib's GThreadPool, exclusive, W threads, a push per task; no completion "
               "callbacks",
    .parallel = 1,
    .unit = "pthread",
    .pool = 1,
    .task_bytes = 32, /* GLib's queue node */
    .unavailable = gthreadpool_unavailable,
    .open = gtp_open,
    .run = gtp_run,
    .close = gtp_close,
};
