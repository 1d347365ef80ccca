#include "lib/core/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- Writer ------------------------------------------------------------ */

/* The error of a failed stdio call: stdio sets errno on a failed write, but
 * not on every path (an already failed stream), hence the fallback. */
static int stdio_err(void)
{
    return errno > 0 ? -errno : -EIO;
}

static int needs_quotes(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    if (s[0] == ' ' || s[len - 1] == ' ')
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

int cb_csv_write_field(FILE *f, const char *s)
{
    if (s == NULL)
        s = "";
    size_t len = strlen(s);
    errno = 0;
    if (!needs_quotes(s, len)) {
        if (len > 0 && fwrite(s, 1, len, f) != len)
            return stdio_err();
        return 0;
    }
    if (putc('"', f) == EOF)
        return stdio_err();
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"' && putc('"', f) == EOF)
            return stdio_err();
        if (putc(*p, f) == EOF)
            return stdio_err();
    }
    if (putc('"', f) == EOF)
        return stdio_err();
    return 0;
}

int cb_csv_write_row(FILE *f, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            errno = 0;
            if (putc(',', f) == EOF)
                return stdio_err();
        }
        int rc = cb_csv_write_field(f, fields[i]);
        if (rc < 0)
            return rc;
    }
    errno = 0;
    if (putc('\n', f) == EOF)
        return stdio_err();
    return 0;
}

/* ---- Reader ------------------------------------------------------------ */

struct cb_csv_reader {
    const char *buf; /* input */
    size_t len;
    size_t pos;
    char *owned; /* buf when the reader read a file, else NULL */
    size_t line; /* 1-based line at pos */
    char *data;  /* the current row's field bytes, each NUL-terminated */
    size_t data_len;
    size_t data_cap;
    size_t *offs; /* offsets of the fields in data */
    const char **fields;
    size_t fields_cap;
    int err;         /* sticky: once malformed, every later call fails */
    size_t err_line; /* the line of the row that was malformed */
    const char *why;
};

cb_csv_reader_t *cb_csv_open_mem(const char *buf, size_t len)
{
    cb_csv_reader_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->buf = buf;
    r->len = len;
    r->line = 1;
    return r;
}

cb_csv_reader_t *cb_csv_open(const char *path, int *err)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto err;
    }
    for (;;) {
        if (cap - len < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nbuf = realloc(buf, ncap);
            if (nbuf == NULL) {
                rc = -ENOMEM;
                goto err;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto err;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = -errno;
        goto err;
    }
    fd = -1;
    cb_csv_reader_t *r = cb_csv_open_mem(buf, len);
    if (r == NULL) {
        rc = -ENOMEM;
        goto err;
    }
    r->owned = buf;
    /* A file's UTF-8 byte order mark (spreadsheets write one) is not data.
     * (A reader over memory keeps every byte: the fuzzer's round trip of a
     * row that starts with those bytes must give them back.) */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    if (err != NULL)
        *err = 0;
    return r;
err:
    if (fd >= 0)
        close(fd);
    free(buf);
    if (err != NULL)
        *err = rc;
    return NULL;
}

void cb_csv_close(cb_csv_reader_t *r)
{
    if (r == NULL)
        return;
    free(r->owned);
    free(r->data);
    free(r->offs);
    free(r->fields);
    free(r);
}

static int put_byte(cb_csv_reader_t *r, char c)
{
    if (r->data_len == r->data_cap) {
        size_t ncap = r->data_cap ? r->data_cap * 2 : 256;
        char *n = realloc(r->data, ncap);
        if (n == NULL)
            return -ENOMEM;
        r->data = n;
        r->data_cap = ncap;
    }
    r->data[r->data_len++] = c;
    return 0;
}

static int start_field(cb_csv_reader_t *r, size_t nfields)
{
    if (nfields == r->fields_cap) {
        size_t ncap = r->fields_cap ? r->fields_cap * 2 : 16;
        size_t *o = realloc(r->offs, ncap * sizeof(*o));
        if (o == NULL)
            return -ENOMEM;
        r->offs = o;
        const char **f = realloc(r->fields, ncap * sizeof(*f));
        if (f == NULL)
            return -ENOMEM;
        r->fields = f;
        r->fields_cap = ncap;
    }
    r->offs[nfields] = r->data_len;
    return 0;
}

/* Reads one field at r->pos into r->data. Returns 0, -ENOMEM, or -EINVAL
 * with r->why set. */
static int read_field(cb_csv_reader_t *r, int *quoted)
{
    int rc;
    *quoted = r->pos < r->len && r->buf[r->pos] == '"';
    if (!*quoted) {
        while (r->pos < r->len) {
            char c = r->buf[r->pos];
            if (c == ',' || c == '\n' || c == '\r')
                break;
            if (c == '"') {
                r->why = "a quote inside an unquoted field";
                return -EINVAL;
            }
            if (c == '\0') {
                r->why = "a NUL byte";
                return -EINVAL;
            }
            if ((rc = put_byte(r, c)) < 0)
                return rc;
            r->pos++;
        }
        return put_byte(r, '\0');
    }
    r->pos++;
    for (;;) {
        if (r->pos >= r->len) {
            r->why = "an unterminated quoted field";
            return -EINVAL;
        }
        char c = r->buf[r->pos++];
        if (c == '"') {
            if (r->pos < r->len && r->buf[r->pos] == '"')
                r->pos++;
            else
                break;
        } else if (c == '\0') {
            r->why = "a NUL byte";
            return -EINVAL;
        } else if (c == '\n') {
            r->line++;
        }
        if ((rc = put_byte(r, c)) < 0)
            return rc;
    }
    return put_byte(r, '\0');
}

int cb_csv_next(cb_csv_reader_t *r, const char *const **fields, size_t *line)
{
    if (r->err != 0) {
        *line = r->err_line;
        return r->err;
    }
    if (r->pos >= r->len)
        return 0;
    size_t start = r->line;
    size_t n = 0;
    int rc, quoted;
    r->data_len = 0;
    for (;;) {
        if ((rc = start_field(r, n)) < 0)
            goto err;
        if ((rc = read_field(r, &quoted)) < 0)
            goto err;
        n++;
        if (r->pos >= r->len)
            break;
        char c = r->buf[r->pos];
        if (c == ',') {
            r->pos++;
            continue;
        }
        if (c == '\n') {
            r->pos++;
            r->line++;
            break;
        }
        if (c == '\r' && r->pos + 1 < r->len && r->buf[r->pos + 1] == '\n') {
            r->pos += 2;
            r->line++;
            break;
        }
        r->why = quoted ? "a character after a closing quote" : "a CR not followed by LF";
        rc = -EINVAL;
        goto err;
    }
    if (n > INT_MAX) {
        r->why = "too many fields";
        rc = -EINVAL;
        goto err;
    }
    /* data may have moved while the row grew, so the pointers are made last. */
    for (size_t i = 0; i < n; i++)
        r->fields[i] = r->data + r->offs[i];
    *fields = r->fields;
    *line = start;
    return (int)n;
err:
    if (rc == -ENOMEM)
        r->why = "out of memory";
    r->err = rc;
    r->err_line = start;
    *line = start;
    return rc;
}

const char *cb_csv_error(const cb_csv_reader_t *r)
{
    return r->err != 0 ? r->why : NULL;
}
