#ifndef CB_CSV_H
#define CB_CSV_H

/* RFC 4180 CSV (atomically replaced files are lib/core/afile.h).
 *
 * Writing: a field is quoted when it holds ',', '"', CR or LF, or starts or
 * ends with a space; quotes are doubled. Rows end with "\n" (gnuplot, Python's
 * csv module and spreadsheets all read it; the reader accepts CRLF too).
 * A field that starts with '=', '+', '-' or '@' is written as it is (quoted
 * only when it also needs quoting): the CSV holds data, not spreadsheet
 * formulas, and the reader gives it back unchanged.
 *
 * Reading: accepts LF and CRLF, quoted fields with doubled quotes and
 * embedded newlines. Anything else outside RFC 4180 is refused rather than
 * guessed at: a quote inside an unquoted field, a CR not followed by LF, a
 * NUL byte. */

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes one field (quoted when needed), no separator; NULL writes an empty
 * field. Returns 0 or the negative errno of the failed write (-EIO when stdio
 * gives none). With buffering, a failure may surface only at fflush. */
int cb_csv_write_field(FILE *f, const char *s);

/* Writes n fields separated by ',' and ends the row with "\n". */
int cb_csv_write_row(FILE *f, const char *const *fields, size_t n);

typedef struct cb_csv_reader cb_csv_reader_t;

/* Opens a reader on a file path (a leading UTF-8 byte order mark is
 * skipped). NULL with *err = -errno on failure. */
cb_csv_reader_t *cb_csv_open(const char *path, int *err);
/* Reader over a memory buffer (not copied; must outlive the reader). */
cb_csv_reader_t *cb_csv_open_mem(const char *buf, size_t len);
void cb_csv_close(cb_csv_reader_t *r);

/* Reads the next row. Returns the number of fields (>= 1), 0 at end of
 * input, or -EINVAL for malformed input (an unterminated quote, a character
 * after a closing quote). fields[i] point into the reader and stay valid
 * until the next call. *line is the 1-based line where the row started. */
int cb_csv_next(cb_csv_reader_t *r, const char *const **fields, size_t *line);

/* After cb_csv_next failed: what was wrong ("an unterminated quoted field",
 * ...), a static string; NULL while nothing has failed. Once a row is
 * malformed every later cb_csv_next fails the same way. */
const char *cb_csv_error(const cb_csv_reader_t *r);

#ifdef __cplusplus
}
#endif
#endif
