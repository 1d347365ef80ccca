/* A user's binary whose workloads misbehave on purpose, for
 * bench:user_test: a right one, a wrong result, a crash, a hang, a setup
 * that fails, and an empty task (the harness's own overhead). */

#include <concbench/concbench.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint64_t right(void *state, size_t index)
{
    (void)state;
    return 3 * index + 1;
}

static int check_right(void *state, size_t index, uint64_t value)
{
    (void)state;
    return value == 3 * index + 1 ? 0 : -1;
}

/* Task 2 returns one too many. */
static uint64_t wrong(void *state, size_t index)
{
    return right(state, index) + (index == 2);
}

static uint64_t crash(void *state, size_t index)
{
    if (index == 1)
        raise(SIGSEGV);
    return right(state, index);
}

/* Task 0 never finishes (in waits a coroutine could yield through). */
static uint64_t hang(void *state, size_t index)
{
    while (index == 0)
        concbench_wait_ns(10000000);
    return right(state, index);
}

static int failing_setup(const concbench_params_t *p, void **state)
{
    (void)p, (void)state;
    return -EIO;
}

/* Writes a file per task in the folder the harness made, as a real
 * workload would: the run must leave nothing behind. */
static int files_setup(const concbench_params_t *p, void **state)
{
    *state = (void *)p->tmp_dir;
    return p->tmp_dir && access(p->tmp_dir, W_OK) == 0 ? 0 : -ENOENT;
}

static uint64_t files(void *state, size_t index)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/task-%zu", (const char *)state, index);
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    fprintf(f, "%zu\n", index);
    fclose(f);
    return right(state, index);
}

static uint64_t empty(void *state, size_t index)
{
    (void)state;
    return index + 1;
}

static int check_empty(void *state, size_t index, uint64_t value)
{
    (void)state;
    return value == index + 1 ? 0 : -1;
}

CONCBENCH_WORKLOAD(w_right, .name = "right", .summary = "3i+1", .task = right,
                   .check = check_right);
CONCBENCH_WORKLOAD(w_wrong, .name = "wrong", .summary = "task 2 is off by one", .task = wrong,
                   .check = check_right);
CONCBENCH_WORKLOAD(w_crash, .name = "crash", .summary = "task 1 raises SIGSEGV", .task = crash,
                   .check = check_right);
CONCBENCH_WORKLOAD(w_hang, .name = "hang", .summary = "task 0 never returns", .task = hang,
                   .check = check_right);
CONCBENCH_WORKLOAD(w_setup, .name = "setup_fails", .summary = "setup returns -EIO",
                   .setup = failing_setup, .task = right, .check = check_right);
CONCBENCH_WORKLOAD(w_files, .name = "files", .summary = "a file per task in params->tmp_dir",
                   .setup = files_setup, .task = files, .check = check_right);
CONCBENCH_WORKLOAD(w_empty, .name = "empty", .summary = "returns index + 1", .task = empty,
                   .check = check_empty);
