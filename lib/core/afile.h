#ifndef CB_AFILE_H
#define CB_AFILE_H

/* Files replaced atomically: the CSVs, the meta and every export are
 * written beside their target and renamed into place, so a reader never sees
 * half a file and a failed run leaves the old one. */

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An atomically replaced file: data goes to a temp file beside the target
 * (same directory, so rename is atomic; named .NAME.tmp.PID.N, mode 0644),
 * which is flushed, fsynced and renamed over the target on commit. On any
 * failure, or on abort, the temp file is removed and the target is left as it
 * was.
 *
 * Write errors (ENOSPC, EFBIG, EIO) are kept and reported by commit even when
 * the caller did not check each write. A file-size limit (ulimit -f) kills
 * the process with SIGXFSZ unless that signal is ignored: a program that
 * wants EFBIG back instead must set SIGXFSZ to SIG_IGN itself. At most 16
 * afiles may be open at once in a process (-EMFILE beyond). */
typedef struct cb_afile {
    FILE *f;    /* write here (a stdio stream with no descriptor) */
    char *path; /* target */
    char *tmp;  /* temp file beside it */
} cb_afile_t;

/* Opens the temp file. Returns 0 or a negative errno (then *a is zeroed, and
 * cb_afile_abort on it does nothing). */
int cb_afile_open(cb_afile_t *a, const char *path);
/* After a write to a->f failed: the negative errno of the first failed write,
 * or -EIO when none was recorded. For callers that stop at the first error. */
int cb_afile_write_error(const cb_afile_t *a);
/* Flushes, fsyncs, renames into place, fsyncs the directory. Returns 0 or a
 * negative errno: the first write error if any write failed; then the temp
 * file is gone and the target untouched. The one exception is a failed fsync
 * of the directory, after the rename: the new file is then in place, but the
 * rename may not survive a power loss. Either way *a is released. */
int cb_afile_commit(cb_afile_t *a);
/* Drops the temp file; the target stays as it was. Safe after commit. */
void cb_afile_abort(cb_afile_t *a);

/* Before a run: whether path can be replaced atomically later (its folder
 * exists, is a folder and takes files; path itself is not a folder).
 * Returns 0, or -1 after writing why ("its folder F does not exist", ...)
 * to why. */
int cb_afile_check_target(const char *path, char *why, size_t len);

/* Async-signal-safe (only getpid and unlink): unlinks every temp file still
 * open in this process, not those a parent process had open before a fork
 * (for a signal handler that is about to exit). */
void cb_afile_cleanup_all(void);

#ifdef __cplusplus
}
#endif
#endif
