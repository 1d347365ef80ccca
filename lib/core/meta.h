#ifndef CB_META_H
#define CB_META_H

/* A run's description (E.meta): key=value lines, and the host facts every
 * run records. */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* key=value lines for E.meta, in the order the keys were first set. */
typedef struct cb_meta cb_meta_t;
cb_meta_t *cb_meta_new(void);
void cb_meta_free(cb_meta_t *m);
/* Sets (or replaces, keeping its place) a key. Values are written on one
 * line (newlines become spaces; NULL is ""). Returns 0, -ENOMEM, or -EINVAL
 * for a key that is empty, starts with '#' or holds '=', CR or LF. */
int cb_meta_set(cb_meta_t *m, const char *key, const char *value);
/* The value of key, or NULL. Valid until the key is set again. */
const char *cb_meta_get(const cb_meta_t *m, const char *key);
/* The number of keys, and the i-th in order (NULL past the end). */
size_t cb_meta_count(const cb_meta_t *m);
const char *cb_meta_key(const cb_meta_t *m, size_t i);
/* Writes "key=value" lines atomically (afile.h). Returns 0 or a
 * negative errno. */
int cb_meta_write(const cb_meta_t *m, const char *path);
/* Reads a .meta file into m (set in file order; blank lines and lines
 * starting with '#' skipped; a value runs from the first '=' to the end of
 * the line, CRLF accepted). Returns 0 or a negative errno: -EINVAL for a
 * line without a key and '=', and then m is unchanged. */
int cb_meta_read(cb_meta_t *m, const char *path);
/* Fills the host facts under these keys: host (gethostname), kernel
 * (uname -r and -v), clock_source (current_clocksource of clocksource0),
 * utc_start (ISO 8601, e.g. 2024-05-01T12:00:00Z), compiler (name and
 * __VERSION__), compiler_flags (cb_meta_compiler_flags), harness_version
 * (CB_VERSION). A fact that cannot be read is "unknown". The CPU model and
 * topology facts (from hwloc), the system check, the git revision and the
 * command line are set by the caller. Returns 0 or -ENOMEM. */
int cb_meta_fill_host(cb_meta_t *m);

/* The flags the running binary was compiled with, as the compiler recorded
 * them (-frecord-gcc-switches: the .GCC.command.line section of
 * /proc/self/exe; gcc writes the code-generating options, clang the whole
 * command line): the distinct records joined with " | ", in buf. Returns 0,
 * or -1 (buf "unknown") for a binary built without the flag. */
int cb_meta_compiler_flags(char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
