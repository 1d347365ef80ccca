#ifndef CB_USER_H
#define CB_USER_H

/* The user layer (on core, exec, wl, exp): include/concbench/concbench.h's
 * workloads in the registry, the --command workload, and concbench_main.
 * Internal to the harness; users include concbench.h alone. */

#include <stddef.h>
#include <stdint.h>

#include "lib/wl/workload.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The first refused registration, in one line, or NULL. */
const char *cb_user_bad_registration(void);
/* How many workloads were registered through concbench.h. */
size_t cb_user_count(void);
/* A registered workload's default size (quick: its quick_size when set). */
uint64_t cb_user_size_default(const char *workload, int quick);

/* Makes parent/.STEM.XXXXXX (parent NULL or "": /tmp) into out. Returns 0
 * or a negative errno. */
int cb_user_mkdtemp(const char *parent, const char *stem, char *out, size_t len);
/* Removes dir and everything in it (absent: 0). Returns 0 or -errno. */
int cb_user_rmtree(const char *dir);

/* --command: the workload, its command line, and the check made before
 * the run (empty, or a first word that names no program). */
extern const cb_workload_t cb_wl_command;
void cb_user_set_command(const char *cmd);
int cb_user_check_command(const char *cmd, char *err, size_t len);

#ifdef __cplusplus
}
#endif
#endif
