#ifndef CB_HELPER_H
#define CB_HELPER_H

/* Helper programs the harness starts (gnuplot, python3): one place that
 * forks and execs them as tracked children, which die with the harness
 * (parent-death signal, and the SIGINT / SIGTERM handler kills them). */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Runs argv (argv[0] is looked up on PATH when it has no slash) in a
 * process group of its own and waits for it, at most timeout_s seconds (0:
 * no limit). Its stdout goes into out (outlen bytes, NUL-terminated; NULL:
 * inherited), its stderr to the file errpath (NULL: inherited). When it
 * exits, or at the limit (SIGTERM, then SIGKILL after 1 s), its whole group
 * is killed: nothing it started outlives the call, and an orphan holding
 * its stdout is not waited for. Returns its exit status, 128 + the signal
 * that killed it, 127 when it could not be started, -ETIMEDOUT at the
 * limit, or another negative errno. */
int cb_helper_run(char *const *argv, char *out, size_t outlen, const char *errpath,
                  double timeout_s);

/* The first executable NAME in a directory of $PATH, malloc'ed, or NULL. */
char *cb_helper_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif
