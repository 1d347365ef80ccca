#include "lib/core/counters.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

const cb_counter_def_t cb_counter_defs[CB_NCOUNTERS] = {
    [CB_CTR_TASK_CLOCK] = {"task_clock_s", "s", "task-clock", 0},
    [CB_CTR_CONTEXT_SWITCHES] = {"context_switches", "count", "context-switches", 0},
    [CB_CTR_CPU_MIGRATIONS] = {"cpu_migrations", "count", "cpu-migrations", 0},
    [CB_CTR_PAGE_FAULTS] = {"page_faults", "count", "page-faults", 0},
    [CB_CTR_MAJOR_FAULTS] = {"major_faults", "count", "major-faults", 0},
    [CB_CTR_CYCLES] = {"cycles", "count", "cycles", 1},
    [CB_CTR_INSTRUCTIONS] = {"instructions", "count", "instructions", 1},
    [CB_CTR_CACHE_MISSES] = {"cache_misses", "count", "cache-misses", 1},
    [CB_CTR_BRANCH_MISSES] = {"branch_misses", "count", "branch-misses", 1},
    [CB_CTR_IPC] = {"ipc", "ratio", "insn per cycle", 1},
};

/* perf's type and config of each counted event (IPC is derived). */
static const struct {
    uint32_t type;
    uint64_t config;
    int kernel_only; /* counts nothing with exclude_kernel (a kernel event) */
} events[CB_CTR_IPC] = {
    [CB_CTR_TASK_CLOCK] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, 0},
    [CB_CTR_CONTEXT_SWITCHES] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, 1},
    [CB_CTR_CPU_MIGRATIONS] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, 1},
    [CB_CTR_PAGE_FAULTS] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, 0},
    [CB_CTR_MAJOR_FAULTS] = {PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, 0},
    [CB_CTR_CYCLES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 0},
    [CB_CTR_INSTRUCTIONS] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, 0},
    [CB_CTR_CACHE_MISSES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, 0},
    [CB_CTR_BRANCH_MISSES] = {PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, 0},
};

static int sys_open(struct perf_event_attr *attr, int group_fd)
{
    return (int)syscall(SYS_perf_event_open, attr, 0, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

static cb_perf_open_fn open_fn = sys_open;

void cb_counters_set_open_hook(cb_perf_open_fn fn)
{
    open_fn = fn ? fn : sys_open;
}

/* The open set of this process (the sandbox child's). */
static struct {
    int open;
    int fd[CB_CTR_IPC];
    int leader[2]; /* software, hardware group leaders (-1: none) */
    int regions;
    int user_only; /* opened with exclude_kernel */
    char why_sw[96], why_hw[96];
    char why_kernel[96]; /* kernel-side events under user_only */
} S = {.fd = {-1, -1, -1, -1, -1, -1, -1, -1, -1}, .leader = {-1, -1}};

static int paranoid(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
    int v = -100;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -100;
        fclose(f);
    }
    return v;
}

/* Why an event could not be opened, in words a user can act on. */
static void reason(char *buf, size_t len, int err, int hardware)
{
    switch (err) {
    case ENOENT:
    case EOPNOTSUPP:
        snprintf(buf, len, hardware ? "no PMU" : "event not supported by this kernel");
        break;
    case ENOSYS:
        snprintf(buf, len, "perf_event_open unavailable (ENOSYS: seccomp or no perf events)");
        break;
    case EACCES:
    case EPERM: {
        int p = paranoid();
        if (p > 1 || p == -100)
            snprintf(buf, len, "perf_event_open refused (%s; perf_event_paranoid=%d)",
                     err == EACCES ? "EACCES" : "EPERM", p);
        else
            snprintf(buf, len, "perf_event_open refused (%s: seccomp or container policy)",
                     err == EACCES ? "EACCES" : "EPERM");
        break;
    }
    default:
        snprintf(buf, len, "perf_event_open: %s", strerror(err));
    }
}

static int open_one(int i, int group, int user_only)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = events[i].type;
    a.config = events[i].config;
    a.disabled = group < 0; /* the leader; members follow it */
    a.inherit = 1;
    a.exclude_hv = 1;
    a.exclude_kernel = (unsigned)user_only;
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return open_fn(&a, group);
}

/* Opens one group (software: first..last without hardware; or hardware).
 * Returns 0, or the errno of the leader. */
static int open_group(int hw, int user_only)
{
    int first = hw ? CB_CTR_CYCLES : CB_CTR_TASK_CLOCK;
    int last = hw ? CB_CTR_BRANCH_MISSES : CB_CTR_MAJOR_FAULTS;
    int lead = open_one(first, -1, user_only);
    if (lead < 0)
        return errno;
    S.leader[hw] = S.fd[first] = lead;
    for (int i = first + 1; i <= last; i++)
        S.fd[i] = open_one(i, lead, user_only); /* -1: that one is not counted */
    return 0;
}

static void close_all(void)
{
    for (int i = 0; i < CB_CTR_IPC; i++) {
        if (S.fd[i] >= 0)
            close(S.fd[i]);
        S.fd[i] = -1;
    }
    S.leader[0] = S.leader[1] = -1;
    S.open = 0;
}

int cb_counters_open(void)
{
    close_all();
    S.regions = 0;
    S.user_only = 0;
    S.why_sw[0] = S.why_hw[0] = S.why_kernel[0] = '\0';
    int err = open_group(0, 0);
    if (err == EACCES || err == EPERM) {
        /* perf_event_paranoid 2 and up allows user-space counting only:
         * events the kernel itself raises then count nothing. */
        char why[64];
        reason(why, sizeof(why), err, 0);
        if (open_group(0, 1) == 0) {
            S.user_only = 1;
            snprintf(S.why_kernel, sizeof(S.why_kernel), "kernel-side event: %s", why);
        } else {
            snprintf(S.why_sw, sizeof(S.why_sw), "%s", why);
        }
    } else if (err != 0) {
        reason(S.why_sw, sizeof(S.why_sw), err, 0);
    }
    err = open_group(1, S.user_only);
    if (err == EACCES && !S.user_only && open_group(1, 1) == 0)
        err = 0; /* the hardware counts user space only, like perf stat :u */
    if (err != 0)
        reason(S.why_hw, sizeof(S.why_hw), err, 1);
    S.open = 1;
    return 0;
}

static void ioctl_all(unsigned long req)
{
    for (int g = 0; g < 2; g++)
        if (S.leader[g] >= 0)
            (void)ioctl(S.leader[g], req, PERF_IOC_FLAG_GROUP);
}

void cb_counters_start(void)
{
    if (!S.open)
        return;
    S.regions++;
    ioctl_all(PERF_EVENT_IOC_ENABLE);
}

void cb_counters_stop(void)
{
    if (S.open)
        ioctl_all(PERF_EVENT_IOC_DISABLE);
}

void cb_counters_close(cb_counts_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!S.open)
        return;
    cb_counters_stop();
    out->used = S.regions > 0;
    snprintf(out->why_sw, sizeof(out->why_sw), "%s", S.why_sw);
    snprintf(out->why_hw, sizeof(out->why_hw), "%s", S.why_hw);
    for (int i = 0; i < CB_CTR_IPC; i++) {
        uint64_t v[3]; /* value, time enabled, time running */
        if (S.fd[i] < 0 || read(S.fd[i], v, sizeof(v)) != (ssize_t)sizeof(v))
            continue;
        if (S.user_only && events[i].kernel_only)
            continue;
        double x = (double)v[0];
        /* Hardware counters are shared, and multiplexed when too many are
         * asked for: scaled, as perf stat does. Software events are not
         * (the group's members report a shorter running time than its
         * leader around context switches, yet count every event). */
        int hw = events[i].type == PERF_TYPE_HARDWARE;
        if (hw && v[1] > 0 && v[2] == 0)
            continue; /* enabled but never on the PMU */
        if (hw && v[2] > 0 && v[2] < v[1])
            x *= (double)v[1] / (double)v[2];
        out->values[i] = i == CB_CTR_TASK_CLOCK ? x / 1e9 : x;
        out->counting |= 1 << i;
    }
    int cyc = 1 << CB_CTR_CYCLES, ins = 1 << CB_CTR_INSTRUCTIONS;
    if ((out->counting & cyc) && (out->counting & ins) && out->values[CB_CTR_CYCLES] > 0) {
        out->values[CB_CTR_IPC] = out->values[CB_CTR_INSTRUCTIONS] / out->values[CB_CTR_CYCLES];
        out->counting |= 1 << CB_CTR_IPC;
    }
    /* A member of an opened group that failed alone: say so. */
    if (!out->why_sw[0] && S.why_kernel[0])
        snprintf(out->why_sw, sizeof(out->why_sw), "%s", S.why_kernel);
    close_all();
}

cb_status_t cb_counts_status(const cb_counts_t *c, int i, const char **why)
{
    if (c->counting & (1 << i)) {
        *why = "";
        return CB_OK;
    }
    const char *w = cb_counter_defs[i].hardware ? c->why_hw : c->why_sw;
    *why = w[0] ? w : "not counted";
    return CB_SKIPPED;
}
