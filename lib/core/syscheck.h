#ifndef CB_SYSCHECK_H
#define CB_SYSCHECK_H

/* What on this machine can disturb a measurement, as pyperf's `system
 * show` reports it: the CPU frequency governor, turbo / boost, ASLR, SMT,
 * isolated CPUs, the load average per allowed PU, transparent huge pages,
 * a hypervisor, swap in use, and perf_event_paranoid (what the counters
 * can count). Each item has a value ("unknown" where the kernel exposes
 * nothing, as on many VMs) and, when it can disturb a measurement, a
 * one-line warning with what to do about it.
 *
 * Every run records the values in .meta (keys sys_*) and prints the
 * warnings before measuring; --check-system prints the report alone. */

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CB_SYSCHECK_MAX 16

typedef struct cb_sys_item {
    const char *key;   /* "sys_governor": the .meta key */
    const char *label; /* "CPU frequency governor" */
    char value[128];   /* "performance", "unknown (no cpufreq in sysfs)" */
    char warning[200]; /* "" when nothing to warn about */
} cb_sys_item_t;

typedef struct cb_syscheck {
    cb_sys_item_t items[CB_SYSCHECK_MAX];
    size_t n;
    int warnings; /* the items with a warning */
} cb_syscheck_t;

/* The machine's facts under root ("/" for this machine; a directory with
 * the same layout of proc/ and sys/ for tests), judged for a run on
 * allowed_pus PUs of which smt_pus_per_core share a core at most (from the
 * topology). With root "/", the hypervisor is also asked for with the x86
 * CPUID instruction where the files say nothing. */
void cb_syscheck_run(const char *root, int allowed_pus, int smt_pus_per_core, cb_syscheck_t *out);

/* The report of --check-system: one line per item, its warning beside it,
 * and a closing line with the count. */
void cb_syscheck_print(const cb_syscheck_t *s, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
