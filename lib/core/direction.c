#include "lib/core/direction.h"

#include <string.h>

static int in_list(const char *s, const char *const *l)
{
    for (; *l; l++)
        if (strcmp(s, *l) == 0)
            return 1;
    return 0;
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int has_suffix(const char *s, const char *x)
{
    size_t n = strlen(s), m = strlen(x);
    return n > m && strcmp(s + n - m, x) == 0;
}

cb_direction_t cb_metric_direction(const char *metric, const char *unit, int *assumed)
{
    /* The kernel's counters (counters.h) are costs too: fewer switches,
     * migrations, faults, cycles or misses for the same work is better. */
    static const char *const lower[] = {"wall_s",           "user_s",         "sys_s",
                                        "vol_cs",           "invol_cs",       "relative",
                                        "p50_us",           "p99_us",         "task_clock_s",
                                        "context_switches", "cpu_migrations", "page_faults",
                                        "major_faults",     "cycles",         "instructions",
                                        "cache_misses",     "branch_misses",  NULL};
    static const char *const higher[] = {"tasks_per_s", "req_per_s", "items_per_s", "speedup",
                                         "efficiency",  "ipc",       NULL};
    /* Counts of work done or of events that a correct run fixes: a change
     * means the runs did different things, not that one was slower. */
    static const char *const facts[] = {"final_counter",
                                        "lost_updates",
                                        "order_errors",
                                        "peak_concurrency",
                                        "roundtrips",
                                        "spawns",
                                        "tasks",
                                        "items",
                                        NULL};
    static const char *const time_prefixes[] = {"us_per_", "ns_per_", "ms_per_", "s_per_", NULL};
    static const char *const time_suffixes[] = {"_s", "_ms", "_us", "_ns", NULL};
    int dummy;
    if (assumed == NULL)
        assumed = &dummy;
    *assumed = 0;
    if (unit == NULL)
        unit = "";
    if (in_list(metric, lower))
        return CB_DIR_LOWER;
    if (in_list(metric, higher))
        return CB_DIR_HIGHER;
    if (in_list(metric, facts))
        return CB_DIR_FACT;
    /* A rate per second is throughput; checked before the _s suffix. */
    if (has_suffix(metric, "_per_s") || strcmp(unit, "1/s") == 0)
        return CB_DIR_HIGHER;
    for (const char *const *p = time_prefixes; *p; p++)
        if (has_prefix(metric, *p) && metric[strlen(*p)] != '\0')
            return CB_DIR_LOWER;
    for (const char *const *p = time_suffixes; *p; p++)
        if (has_suffix(metric, *p))
            return CB_DIR_LOWER;
    if (strcmp(unit, "count") == 0)
        return CB_DIR_FACT;
    *assumed = 1;
    return CB_DIR_LOWER;
}
