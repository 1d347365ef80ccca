#ifndef CONCBENCH_H
#define CONCBENCH_H

/* concbench: your own work on every concurrency model.
 *
 * The one header a user includes. Write a workload the way the harness's
 * own are written: an untimed setup, a task of its index that does one
 * unit of your work and returns a 64-bit value, a check of that value, and
 * an untimed teardown. Register it with CONCBENCH_WORKLOAD, link
 * @concbench//:concbench_main, and your binary is a full harness: every
 * executor (serial, thread, process, both pools, coroutine, and the +gil
 * rows), pinned by hwloc, with --reps, --pin, --export, --history, the CSV,
 * summary and .meta files, the plot, and `compare` and the CI gate on the
 * result, exactly as the built-in experiments.
 *
 *   #include <concbench/concbench.h>
 *
 *   static uint64_t task(void *state, size_t index) { ... return value; }
 *   static int check(void *state, size_t index, uint64_t value) { return value == ... ? 0 : -1; }
 *   CONCBENCH_WORKLOAD(mine, .name = "mine", .summary = "what one task does",
 *                      .task = task, .check = check);
 *
 * The rules every task follows, so the same function runs on every model:
 *  - it may run on any thread, in a forked child, or in a coroutine;
 *  - it returns a value that check() can verify (that is what keeps the
 *    compiler from optimising the work away, and a lost task from passing);
 *  - a wait that should let a coroutine yield uses concbench_wait_ns();
 *  - files go under params->tmp_dir, which the harness creates and removes.
 * A task that returns a wrong value is an `error` row naming the task, one
 * that crashes is `crashed` with its signal, one that hangs is stopped at
 * --timeout: the run goes on. */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CONCBENCH_API_VERSION 1

/* What a setup is given, per configuration (one executor, worker count
 * and pin choice). */
typedef struct concbench_params {
    size_t tasks;        /* the tasks this configuration runs: indices 0 .. tasks - 1 */
    uint64_t size;       /* --size, else the workload's default_size (--quick: quick_size) */
    const char *arg;     /* --arg STRING, else NULL */
    const char *tmp_dir; /* a fresh folder for this configuration's files (under --out) */
} concbench_params_t;

typedef struct concbench_workload {
    const char *name;                  /* the CSV's workload column: letters, digits, '_' and '-' */
    const char *summary;               /* one line, for --list */
    uint64_t default_size, quick_size; /* what params->size means is yours */
    /* Untimed, before the configuration's executor starts: build the state
     * the tasks share (read-only while they run). Optional. Returns 0 or a
     * negative errno (the row is then `error`). */
    int (*setup)(const concbench_params_t *params, void **state);
    /* Timed: task index of the configuration. Required. */
    uint64_t (*task)(void *state, size_t index);
    /* 0 when value is right for task index, else -1. Required. */
    int (*check)(void *state, size_t index, uint64_t value);
    /* Untimed, after the configuration. Optional. */
    void (*teardown)(void *state);
} concbench_workload_t;

/* Registers a workload before main runs (CONCBENCH_WORKLOAD does it).
 * Returns 0, or a negative errno; a bad definition (no name, a name with
 * other characters, no task or check, a name taken twice) is also reported
 * by concbench_main, which then exits 2. */
int concbench_register(const concbench_workload_t *w);

#define CONCBENCH_WORKLOAD(var, ...)                                                               \
    static const concbench_workload_t var = {__VA_ARGS__};                                         \
    __attribute__((constructor)) static void concbench_register_##var(void)                        \
    {                                                                                              \
        concbench_register(&var);                                                                  \
    }

/* Waits ns nanoseconds: sleeps on threads and processes, and yields to
 * the other coroutines under the coroutine executor (as an asyncio await). */
void concbench_wait_ns(uint64_t ns);

/* The harness's main over the registered workloads (what
 * @concbench//:concbench_main calls): the results' name is the binary's
 * name. Returns the exit status of the contract (0 ok, 2 bad usage, 3 some
 * configurations failed, ...). */
int concbench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
