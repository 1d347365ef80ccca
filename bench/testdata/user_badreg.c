/* A user's binary that registers one name twice: refused, exit 2. */

#include <concbench/concbench.h>

static uint64_t task(void *state, size_t index)
{
    (void)state;
    return index;
}

static int check(void *state, size_t index, uint64_t value)
{
    (void)state;
    return value == index ? 0 : -1;
}

CONCBENCH_WORKLOAD(one, .name = "twice", .task = task, .check = check);
CONCBENCH_WORKLOAD(two, .name = "twice", .task = task, .check = check);
