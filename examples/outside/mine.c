/* A newcomer's own project, outside the harness's repository: one workload
 * (sum the squares of the task's index range: CPU-bound, checked by the
 * closed form), one BUILD target, and this binary is a full harness.
 * scripts/outside_test.sh builds and runs it from a copy of this folder,
 * with the harness as a Bazel local_repository, as README shows. */

#include <concbench/concbench.h>

static uint64_t task(void *state, size_t index)
{
    (void)state;
    uint64_t n = 2000000 + index, s = 0;
    for (uint64_t i = 1; i <= n; i++)
        s += i * i;
    return s;
}

static int check(void *state, size_t index, uint64_t value)
{
    (void)state;
    unsigned __int128 n = 2000000 + index;
    return value == (uint64_t)(n * (n + 1) * (2 * n + 1) / 6) ? 0 : -1;
}

CONCBENCH_WORKLOAD(squares, .name = "squares", .summary = "sum of i*i up to two million",
                   .task = task, .check = check);
