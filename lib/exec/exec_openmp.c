/* openmp: GNU OpenMP (libgomp, which comes with gcc). A run is one parallel
 * region of W threads (num_threads(W), dynamic adjustment off) whose loop
 * over the tasks is scheduled dynamically with chunks of one: each thread
 * takes the next index when it is done with its last, as `#pragma omp
 * parallel for schedule(dynamic)` code does. The calling thread is thread 0
 * of the team (pinned to plan slot 0 from open to close, as serial is);
 * each other thread binds itself to its slot, by its thread number, in a
 * first region that open runs (libgomp starts the team there, untimed), and
 * again at each region only if it moved (a compare). OpenMP has no
 * completion callbacks.
 *
 * libgomp keeps the team's threads between regions (that is the pool); close
 * ends them (omp_pause_resource_all) and waits until they are gone, so
 * nothing of it outlives close and a later fork does not inherit a pool
 * whose threads it lacks. */

#include <errno.h>
#include <omp.h>
#include <stdlib.h>

#include "lib/exec/exec_internal.h"
#include "lib/exec/peer_internal.h"

typedef struct omp_exec {
    cb_exec_caller_pin_t caller;
    cb_peer_pin_t pin;
    cb_gil_t *gil;
} omp_exec_t;

static void omp_close(void *state)
{
    omp_exec_t *x = state;
    if (!x)
        return;
    cb_exec_unpin_caller(&x->caller);
    if (x->gil)
        cb_gil_free(x->gil);
    /* Fails only inside a parallel region of the caller's, whose team is
     * not ours to end. The threads end after it returns (libgomp detaches
     * them). */
    if (omp_pause_resource_all(omp_pause_hard) == 0)
        cb_peer_pin_wait_gone(&x->pin, 5000000000ull);
    cb_peer_pin_free(&x->pin);
    free(x);
}

static int omp_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc;
    omp_exec_t *x = NULL;
    if ((rc = cb_exec_check(cfg, 1)) < 0)
        goto err;
    /* OMP_THREAD_LIMIT would give a smaller team than asked for. */
    if (cfg->workers > omp_get_thread_limit()) {
        rc = -EAGAIN;
        goto err;
    }
    x = calloc(1, sizeof(*x));
    if (!x) {
        rc = -ENOMEM;
        goto err;
    }
    if (cfg->gil_interval_ns && !(x->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
        goto err;
    if ((rc = cb_exec_pin_caller(cfg, &x->caller)) < 0)
        goto err;
    if ((rc = cb_peer_pin_init(&x->pin, cfg)) < 0)
        goto err;
    /* A team of exactly W: libgomp may otherwise shrink it under load. */
    omp_set_dynamic(0);
    /* The team's first region: its threads start and take their slots. */
    int team = 0;
#pragma omp parallel num_threads(cfg->workers) shared(team)
    {
        int t = omp_get_thread_num();
        if (t == 0)
            team = omp_get_num_threads();
        else
            cb_peer_pin_slot(&x->pin, t);
    }
    if (team != cfg->workers) {
        rc = -EAGAIN;
        goto err;
    }
    if ((rc = cb_peer_pin_error(&x->pin)) < 0)
        goto err;
    *state = x;
    return 0;
err:
    omp_close(x);
    return rc;
}

/* Timed: waking the team (started and pinned in open), the tasks, and the
 * region's closing barrier. */
static int omp_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    omp_exec_t *x = state;
    const int w = cfg->workers;
    const size_t n = cfg->tasks;
    int team = w;
    if (n == 0)
        return 0;
#pragma omp parallel num_threads(w) shared(team)
    {
        int t = omp_get_thread_num();
        if (t == 0)
            team = omp_get_num_threads();
        else
            cb_peer_pin_slot(&x->pin, t);
#pragma omp for schedule(dynamic)
        for (size_t i = 0; i < n; i++) {
            cb_peer_task_begin("openmp", i);
            uint64_t v = cb_exec_call(cfg, x->gil, i);
            cb_peer_task_end();
            results[i] = (cb_task_result_t){v, CB_OK, 0};
        }
    }
    if (team != w)
        return -EAGAIN;
    return cb_peer_pin_error(&x->pin);
}

static const char *openmp_unavailable(void)
{
    return CB_PEER_TSAN ? "ThreadSanitizer cannot see libgomp's synchronisation (its own futexes): "
                          "every task would read as a race"
                        : NULL;
}

const cb_executor_t cb_exec_openmp = {
    .name = "openmp",
    .summary = "GNU OpenMP (libgomp): one parallel loop, schedule(dynamic), on W threads (the "
               "caller is thread 0); no completion callbacks",
    .parallel = 1,
    .unit = "pthread",
    .pool = 1,
    .task_bytes = 0, /* the loop hands out indexes: nothing per task */
    .unavailable = openmp_unavailable,
    .open = omp_open,
    .run = omp_run,
    .close = omp_close,
};
