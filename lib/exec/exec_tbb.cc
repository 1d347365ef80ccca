/* tbb: oneTBB (libtbb-dev). A run is one task_group in a task_arena of W
 * slots: the calling thread enters the arena (execute), hands every task to
 * the group (run) and waits (wait), running tasks itself while it waits, as
 * TBB code does; W - 1 of TBB's workers join it. So W threads run tasks:
 * the caller, pinned to plan slot 0 from open to close (as serial is), and
 * workers, each bound to the slot of its arena index by a
 * task_scheduler_observer when it enters the arena. open runs W tasks that
 * meet at a barrier, so TBB starts its workers and they join (and bind)
 * before anything is timed. A global_control sets TBB's worker count to
 * W - 1 (also past the hardware threads). TBB has no completion callbacks.
 *
 * close ends TBB's workers (finalize through a task_scheduler_handle taken
 * in open), so none outlives close, and a later fork does not inherit a
 * scheduler whose threads it lacks. The global_control goes only after
 * finalize: dropped first, with W above TBB's default (W = 2 in a process
 * bound to one PU, as spawn binds its measurements), oneTBB 2021.8's
 * finalize waited forever for a worker it was retiring at that moment.
 * C++ behind the C executor interface; no exception crosses it. */

#include <cxxabi.h>

#include <cerrno>
#include <new>
#include <memory>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <oneapi/tbb/task_scheduler_observer.h>

#include "lib/exec/exec_internal.h"
#include "lib/exec/peer_internal.h"

namespace
{

/* Binds each worker that enters the arena to the plan slot of its arena
 * index (the caller, in the slot reserved for it, was pinned in open). */
class Pinner final : public tbb::task_scheduler_observer
{
  public:
    Pinner(tbb::task_arena &arena, cb_peer_pin_t *pin)
        : tbb::task_scheduler_observer(arena), pin_(pin)
    {
        observe(true);
    }
    ~Pinner() override
    {
        observe(false);
    }
    void on_scheduler_entry(bool worker) override
    {
        if (worker)
            cb_peer_pin_slot(pin_, tbb::this_task_arena::current_thread_index());
    }

  private:
    cb_peer_pin_t *pin_;
};

/* C++11 (a project that uses the harness may compile with the
 * compiler's default standard): unique_ptr where optional would do. */
struct TbbExec {
    /* Taken first, released last: finalize waits for the workers. */
    tbb::task_scheduler_handle handle{tbb::attach{}};
    std::unique_ptr<tbb::global_control> workers;
    std::unique_ptr<tbb::task_arena> arena;
    std::unique_ptr<Pinner> pinner;
    cb_exec_caller_pin_t caller{};
    cb_peer_pin_t pin{};
    cb_gil_t *gil = nullptr;
};

void tbb_close(void *state)
{
    auto *x = static_cast<TbbExec *>(state);
    if (!x)
        return;
    x->pinner.reset();
    x->arena.reset();
    /* false: something else in the process holds TBB (another handle, an
     * arena of its own); its workers then stay, which only a test sees. */
    (void)tbb::finalize(x->handle, std::nothrow);
    x->workers.reset();
    cb_exec_unpin_caller(&x->caller);
    if (x->gil)
        cb_gil_free(x->gil);
    cb_peer_pin_free(&x->pin);
    delete x;
}

int tbb_open(const cb_exec_cfg_t *cfg, void **state)
{
    int rc = cb_exec_check(cfg, 1);
    if (rc < 0)
        return rc;
    TbbExec *x = nullptr;
    try {
        x = new TbbExec();
        if (cfg->gil_interval_ns && !(x->gil = cb_gil_new(cfg->gil_interval_ns, &rc)))
            throw rc;
        if ((rc = cb_peer_pin_init(&x->pin, cfg)) < 0)
            throw rc;
        x->workers.reset(new tbb::global_control(tbb::global_control::max_allowed_parallelism,
                                                 (size_t)cfg->workers));
        x->arena.reset(new tbb::task_arena(cfg->workers));
        x->arena->initialize();
        x->pinner.reset(new Pinner(*x->arena, &x->pin));
    } catch (int err) {
        rc = err;
    } catch (const std::bad_alloc &) {
        rc = -ENOMEM;
    } catch (...) {
        rc = -EIO;
    }
    if (rc == 0 && x)
        rc = cb_exec_pin_caller(cfg, &x->caller);
    if (rc == 0) {
        /* W tasks that wait for one another: every worker joins the arena
         * (and binds) here. A barrier that times out (TBB kept a worker
         * away) only leaves that worker to join later. */
        cb_peer_barrier_t warm;
        cb_peer_barrier_init(&warm, (unsigned)cfg->workers);
        try {
            x->arena->execute([&] {
                tbb::task_group tg;
                for (int i = 0; i < cfg->workers; i++)
                    tg.run([&warm] { (void)cb_peer_barrier_wait(&warm, 2000000000ull); });
                tg.wait();
            });
        } catch (...) {
            rc = -EIO;
        }
        if (rc == 0)
            rc = cb_peer_pin_error(&x->pin);
    }
    if (rc < 0) {
        tbb_close(x);
        return rc;
    }
    *state = x;
    return 0;
}

void run_one(TbbExec *x, const cb_exec_cfg_t *cfg, cb_task_result_t *results, size_t i)
{
    uint64_t v = 0;
    cb_peer_task_begin("tbb", i);
    try {
        v = cb_exec_call(cfg, x->gil, i);
    } catch (...) {
        /* pthread_exit in the task is glibc's forced unwind, an exception
         * with no C++ type (caught as abi::__forced_unwind &, it would bind
         * a reference to nothing). TBB would catch it and swallow it, which
         * aborts the process. A C++ exception of the task's goes on to the
         * group, which hands it to wait(). */
        if (!abi::__cxa_current_exception_type())
            cb_peer_lost_worker("tbb", i);
        throw;
    }
    cb_peer_task_end();
    results[i] = cb_task_result_t{v, CB_OK, 0};
}

/* Timed: entering the arena, handing every task to the group (a task object
 * each, from TBB's allocator), the workers taking them, and the wait. */
int tbb_run(void *state, const cb_exec_cfg_t *cfg, cb_task_result_t *results)
{
    auto *x = static_cast<TbbExec *>(state);
    const size_t n = cfg->tasks;
    if (n == 0)
        return 0;
    try {
        x->arena->execute([&] {
            tbb::task_group tg;
            for (size_t i = 0; i < n; i++)
                tg.run([x, cfg, results, i] { run_one(x, cfg, results, i); });
            tg.wait();
        });
    } catch (const std::bad_alloc &) {
        return -ENOMEM;
    } catch (...) {
        return -EIO;
    }
    return cb_peer_pin_error(&x->pin);
}

const char *tbb_unavailable()
{
    return CB_PEER_TSAN ? "ThreadSanitizer cannot see oneTBB's synchronisation (its scheduler's "
                          "own atomics): every task would read as a race"
                        : nullptr;
}

} // namespace

extern "C" const cb_executor_t cb_exec_tbb = {
    .name = "tbb",
    .summary = "oneTBB: a task_group in a task_arena of W threads (the caller and W-1 workers); "
               "no completion callbacks",
    .parallel = 1,
    .callbacks = 0,
    .unit = "pthread",
    .pool = 1,
    .task_bytes = 128, /* a task object */
    .per_process = 0,
    .unavailable = tbb_unavailable,
    .open = tbb_open,
    .run = tbb_run,
    .close = tbb_close,
};
