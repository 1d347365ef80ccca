#ifndef CB_CSV_H
#define CB_CSV_H

/* RFC 4180 CSV, and files that are replaced atomically.
 *
 * Writing: a field is quoted when it holds ',', '"', CR or LF, or starts or
 * ends with a space; quotes are doubled. Rows end with "\n" (gnuplot, Python's
 * csv module and spreadsheets all read it; the reader accepts CRLF too).
 * A field that starts with '=', '+', '-' or '@' is written as it is (quoted
 * only when it also needs quoting): the CSV holds data, not spreadsheet
 * formulas, and the reader gives it back unchanged.
 *
 * Reading: accepts LF and CRLF, quoted fields with doubled quotes and
 * embedded newlines. */

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes one field (quoted when needed), no separator. Returns 0 or -EIO. */
int cb_csv_write_field(FILE *f, const char *s);

/* Writes n fields separated by ',' and ends the row with "\n". */
int cb_csv_write_row(FILE *f, const char *const *fields, size_t n);

typedef struct cb_csv_reader cb_csv_reader_t;

/* Opens a reader on a file path. NULL with *err = -errno on failure. */
cb_csv_reader_t *cb_csv_open(const char *path, int *err);
/* Reader over a memory buffer (not copied; must outlive the reader). */
cb_csv_reader_t *cb_csv_open_mem(const char *buf, size_t len);
void cb_csv_close(cb_csv_reader_t *r);

/* Reads the next row. Returns the number of fields (>= 1), 0 at end of
 * input, or -EINVAL for malformed input (an unterminated quote, a character
 * after a closing quote). fields[i] point into the reader and stay valid
 * until the next call. *line is the 1-based line where the row started. */
int cb_csv_next(cb_csv_reader_t *r, const char *const **fields, size_t *line);

/* An atomically replaced file: data goes to a temp file beside the target
 * (same directory, so rename is atomic), which is flushed, fsynced and
 * renamed over the target on commit. On any failure, or on abort, the temp
 * file is removed and the target is left as it was. */
typedef struct cb_afile {
    FILE *f;         /* write here */
    char *path;      /* target */
    char *tmp;       /* temp file beside it */
} cb_afile_t;

/* Opens the temp file. Returns 0 or a negative errno. */
int cb_afile_open(cb_afile_t *a, const char *path);
/* Flushes, fsyncs, renames into place, fsyncs the directory. Returns 0 or a
 * negative errno (then the temp file is gone and the target untouched). */
int cb_afile_commit(cb_afile_t *a);
/* Drops the temp file; the target stays as it was. Safe after commit. */
void cb_afile_abort(cb_afile_t *a);

/* Async-signal-safe: unlinks every temp file still open in this process
 * (for a signal handler that is about to exit). */
void cb_afile_cleanup_all(void);

#ifdef __cplusplus
}
#endif
#endif
