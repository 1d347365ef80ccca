#include "lib/core/syscheck.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* The prefix of root's paths: "" for this machine's "/". */
static const char *pre(const char *root)
{
    return strcmp(root, "/") == 0 ? "" : root;
}

/* The first line of root/rel without its newline and surrounding blanks,
 * in buf; 0, or -1 when the file cannot be read. */
static int read_line(const char *root, const char *rel, char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", pre(root), rel);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        free(line);
        buf[0] = '\0';
        return 0; /* an empty file (sysfs' "isolated" with none) */
    }
    char *s = line;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t l = strlen(s);
    while (l > 0 && isspace((unsigned char)s[l - 1]))
        s[--l] = '\0';
    snprintf(buf, len, "%s", s);
    free(line);
    return 0;
}

static cb_sys_item_t *add(cb_syscheck_t *s, const char *key, const char *label)
{
    cb_sys_item_t *it = &s->items[s->n++];
    memset(it, 0, sizeof(*it));
    it->key = key;
    it->label = label;
    return it;
}

__attribute__((format(printf, 2, 3))) static void warn(cb_sys_item_t *it, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->warning, sizeof(it->warning), fmt, ap);
    va_end(ap);
}

/* The distinct scaling governors of the CPUs sysfs lists. */
static void governor(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_governor", "CPU frequency governor");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/sys/devices/system/cpu", pre(root));
    DIR *d = opendir(dir);
    size_t w = 0;
    int other = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, "cpu", 3) != 0 || !isdigit((unsigned char)e->d_name[3]))
                continue;
            char rel[320], g[64];
            snprintf(rel, sizeof(rel), "sys/devices/system/cpu/%.32s/cpufreq/scaling_governor",
                     e->d_name);
            if (read_line(root, rel, g, sizeof(g)) < 0 || !g[0])
                continue;
            /* Listed once each. */
            char needle[70];
            snprintf(needle, sizeof(needle), "%s ", g);
            char cur[sizeof(it->value) + 1];
            snprintf(cur, sizeof(cur), "%s ", it->value);
            if (strstr(cur, needle) != NULL)
                continue;
            if (w < sizeof(it->value))
                w +=
                    (size_t)snprintf(it->value + w, sizeof(it->value) - w, "%s%s", w ? " " : "", g);
            other |= strcmp(g, "performance") != 0;
        }
        closedir(d);
    }
    if (!it->value[0])
        snprintf(it->value, sizeof(it->value), "unknown (no cpufreq in sysfs)");
    else if (other)
        warn(it,
             "governor '%s' changes the clock under load: set 'performance' (cpupower "
             "frequency-set -g performance)",
             it->value);
}

static void turbo(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_turbo", "Turbo / boost");
    char v[32];
    int on = -1;
    const char *via = "";
    if (read_line(root, "sys/devices/system/cpu/intel_pstate/no_turbo", v, sizeof(v)) == 0) {
        on = strcmp(v, "0") == 0;
        via = "intel_pstate no_turbo";
    } else if (read_line(root, "sys/devices/system/cpu/cpufreq/boost", v, sizeof(v)) == 0) {
        on = strcmp(v, "1") == 0;
        via = "cpufreq boost";
    } else if (read_line(root, "sys/devices/system/cpu/cpufreq/policy0/boost", v, sizeof(v)) == 0) {
        on = strcmp(v, "1") == 0;
        via = "cpufreq policy0 boost";
    }
    if (on < 0) {
        snprintf(it->value, sizeof(it->value), "unknown (no intel_pstate or cpufreq boost)");
        return;
    }
    snprintf(it->value, sizeof(it->value), "%s (%s=%s)", on ? "on" : "off", via, v);
    if (on)
        warn(it, "turbo is on: the clock depends on temperature and on how many cores are busy; "
                 "turn it off for stable figures");
}

static void aslr(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_aslr", "ASLR");
    char v[16];
    if (read_line(root, "proc/sys/kernel/randomize_va_space", v, sizeof(v)) < 0) {
        snprintf(it->value, sizeof(it->value), "unknown");
        return;
    }
    const char *what = strcmp(v, "0") == 0   ? "off"
                       : strcmp(v, "1") == 0 ? "on (partial)"
                       : strcmp(v, "2") == 0 ? "on (full)"
                                             : "on";
    snprintf(it->value, sizeof(it->value), "%s (randomize_va_space=%s)", what, v);
    if (strcmp(v, "0") != 0)
        warn(it, "ASLR is on: stack and heap addresses, so cache and TLB placement, change from "
                 "run to run (sysctl kernel.randomize_va_space=0 while measuring)");
}

static void smt(const char *root, int per_core, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_smt", "SMT (hyper-threading)");
    char control[32] = "", active[8] = "";
    int have = read_line(root, "sys/devices/system/cpu/smt/control", control, sizeof(control));
    read_line(root, "sys/devices/system/cpu/smt/active", active, sizeof(active));
    int on = per_core > 1 || strcmp(active, "1") == 0;
    if (have < 0)
        snprintf(it->value, sizeof(it->value), "%s (%d PU%s per core)", on ? "on" : "off", per_core,
                 per_core == 1 ? "" : "s");
    else
        snprintf(it->value, sizeof(it->value), "%s (control=%s, %d PU%s per core)",
                 on ? "on" : "off", control, per_core, per_core == 1 ? "" : "s");
    if (on)
        warn(it, "SMT is on: two PUs of one core share its units, so a pinned result depends on "
                 "which PUs the plan picks (compare --pin compact with scatter)");
}

static void isolated(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_isolated_cpus", "Isolated CPUs");
    char v[100];
    if (read_line(root, "sys/devices/system/cpu/isolated", v, sizeof(v)) < 0) {
        snprintf(it->value, sizeof(it->value), "unknown");
        return;
    }
    char nohz[100] = "";
    read_line(root, "sys/devices/system/cpu/nohz_full", nohz, sizeof(nohz));
    if (!v[0]) {
        snprintf(it->value, sizeof(it->value), "none");
        warn(it, "no isolated CPUs: the run shares its PUs with every other task (isolcpus= "
                 "and nohz_full= on the kernel command line keep them quiet)");
    } else {
        snprintf(it->value, sizeof(it->value), "%s%s%s", v, nohz[0] ? ", nohz_full " : "",
                 nohz[0] && strcmp(nohz, "(null)") != 0 ? nohz : "");
    }
}

static void load(const char *root, int allowed, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_load_per_pu", "Load average (1 min) per allowed PU");
    char v[128];
    double l1;
    if (read_line(root, "proc/loadavg", v, sizeof(v)) < 0 || sscanf(v, "%lf", &l1) != 1 ||
        allowed < 1) {
        snprintf(it->value, sizeof(it->value), "unknown");
        return;
    }
    double per = l1 / allowed;
    snprintf(it->value, sizeof(it->value), "%.2f (load %.2f on %d PU%s)", per, l1, allowed,
             allowed == 1 ? "" : "s");
    if (per > 0.5)
        warn(it,
             "load average %.2f per PU (over 0.5): other work is running; measure on a quiet "
             "machine",
             per);
}

static void thp(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_thp", "Transparent huge pages");
    char v[100];
    if (read_line(root, "sys/kernel/mm/transparent_hugepage/enabled", v, sizeof(v)) < 0) {
        snprintf(it->value, sizeof(it->value), "unknown");
        return;
    }
    /* "always [madvise] never": the bracketed word is the setting. */
    char *a = strchr(v, '['), *b = a ? strchr(a, ']') : NULL;
    if (a && b) {
        *b = '\0';
        memmove(v, a + 1, strlen(a + 1) + 1);
    }
    snprintf(it->value, sizeof(it->value), "%s", v);
    if (strcmp(v, "always") == 0)
        warn(it, "transparent huge pages 'always': page faults and memory latency change with "
                 "khugepaged's work (echo madvise > /sys/kernel/mm/transparent_hugepage/enabled)");
}

/* The hypervisor's name from the files Linux fills in, or CPUID. */
static void hypervisor(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_hypervisor", "Hypervisor");
    char v[100] = "";
    if (read_line(root, "sys/hypervisor/type", v, sizeof(v)) == 0 && v[0]) {
        snprintf(it->value, sizeof(it->value), "%s (sys/hypervisor)", v);
    } else if (read_line(root, "proc/device-tree/hypervisor/compatible", v, sizeof(v)) == 0 &&
               v[0]) {
        snprintf(it->value, sizeof(it->value), "%s (device tree)", v);
    }
#if defined(__x86_64__) || defined(__i386__)
    else if (strcmp(root, "/") == 0) {
        unsigned a, b, c, d;
        /* CPUID leaf 1, ECX bit 31: running under a hypervisor; its
         * vendor signature is at leaf 0x40000000. */
        if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 31))) {
            char sig[13] = "";
            __cpuid(0x40000000, a, b, c, d);
            memcpy(sig, &b, 4);
            memcpy(sig + 4, &c, 4);
            memcpy(sig + 8, &d, 4);
            sig[12] = '\0';
            for (int i = 0; i < 12; i++)
                if (!isprint((unsigned char)sig[i]))
                    sig[i] = '\0';
            const char *name = strcmp(sig, "KVMKVMKVM") == 0      ? "KVM"
                               : strcmp(sig, "Microsoft Hv") == 0 ? "Hyper-V"
                               : strcmp(sig, "VMwareVMware") == 0 ? "VMware"
                               : strcmp(sig, "XenVMMXenVMM") == 0 ? "Xen"
                               : strcmp(sig, "TCGTCGTCGTCG") == 0 ? "QEMU (TCG)"
                               : strcmp(sig, "ACRNACRNACRN") == 0 ? "ACRN"
                               : sig[0]                           ? sig
                                                                  : "unnamed";
            snprintf(it->value, sizeof(it->value), "%s (CPUID)", name);
        } else {
            snprintf(it->value, sizeof(it->value), "none (CPUID)");
            return;
        }
    }
#endif
    if (!it->value[0]) {
        snprintf(it->value, sizeof(it->value), "unknown");
        return;
    }
    char name[64];
    snprintf(name, sizeof(name), "%s", it->value);
    name[strcspn(name, " ")] = '\0';
    warn(it,
         "a virtual machine (%s): other guests and the host take the vCPUs away at any time "
         "(steal time); repeat more and judge by ratios measured in one run",
         name);
}

static void swap(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_swap_used", "Swap in use");
    char path[512];
    snprintf(path, sizeof(path), "%s/proc/meminfo", pre(root));
    FILE *f = fopen(path, "re");
    long total = -1, free_kb = -1;
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f)) {
            sscanf(line, "SwapTotal: %ld kB", &total);
            sscanf(line, "SwapFree: %ld kB", &free_kb);
        }
        fclose(f);
    }
    if (total < 0 || free_kb < 0) {
        snprintf(it->value, sizeof(it->value), "unknown");
        return;
    }
    long used = total - free_kb;
    snprintf(it->value, sizeof(it->value), "%ld MiB of %ld MiB", used / 1024, total / 1024);
    if (used > 0)
        warn(it,
             "%ld MiB of swap in use: memory is short, and a page may come back from disk "
             "during a measurement",
             used / 1024 > 0 ? used / 1024 : 1);
}

static void paranoid(const char *root, cb_syscheck_t *s)
{
    cb_sys_item_t *it = add(s, "sys_perf_event_paranoid", "perf_event_paranoid");
    char v[16];
    if (read_line(root, "proc/sys/kernel/perf_event_paranoid", v, sizeof(v)) < 0)
        snprintf(it->value, sizeof(it->value), "unknown (no perf events)");
    else
        snprintf(it->value, sizeof(it->value), "%s", v);
    /* Not a disturbance: it decides which counters a run can take, and the
     * counters' rows say so themselves. */
}

void cb_syscheck_run(const char *root, int allowed_pus, int smt_pus_per_core, cb_syscheck_t *out)
{
    memset(out, 0, sizeof(*out));
    if (root == NULL || !root[0])
        root = "/";
    governor(root, out);
    turbo(root, out);
    aslr(root, out);
    smt(root, smt_pus_per_core, out);
    isolated(root, out);
    load(root, allowed_pus, out);
    thp(root, out);
    hypervisor(root, out);
    swap(root, out);
    paranoid(root, out);
    for (size_t i = 0; i < out->n; i++)
        out->warnings += out->items[i].warning[0] != '\0';
}

void cb_syscheck_print(const cb_syscheck_t *s, FILE *out)
{
    fprintf(out, "System state (what can disturb a measurement):\n");
    for (size_t i = 0; i < s->n; i++)
        fprintf(out, "  %-38s %s\n", s->items[i].label, s->items[i].value);
    if (s->warnings) {
        fprintf(out, "\nWarnings:\n");
        for (size_t i = 0; i < s->n; i++)
            if (s->items[i].warning[0])
                fprintf(out, "  - %s\n", s->items[i].warning);
    }
    fprintf(out, "\n%d warning%s\n", s->warnings, s->warnings == 1 ? "" : "s");
}
