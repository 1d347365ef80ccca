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

/* ---- Atomically replaced files ----------------------------------------- */

/* Every open temp file has a slot here, so that cb_afile_cleanup_all can find
 * its path from a signal handler without touching the heap. The slot is also
 * the cookie of the temp file's stream: it keeps the descriptor (for fsync)
 * and the first write error (errno is gone by the time commit runs, and
 * ferror says only that something failed). */
#define AFILE_SLOTS 16

enum { SLOT_FREE = 0, SLOT_CLAIMED, SLOT_ACTIVE };

struct afile_slot {
    int state; /* SLOT_*, accessed with __atomic builtins */
    pid_t pid; /* the process that created the temp file */
    int fd;
    int err; /* first write error (positive errno), 0 when none */
    FILE *f; /* the stream this slot backs */
    char path[PATH_MAX];
};

static struct afile_slot slots[AFILE_SLOTS];
static unsigned long afile_seq;

static struct afile_slot *slot_claim(void)
{
    for (int i = 0; i < AFILE_SLOTS; i++) {
        int expect = SLOT_FREE;
        if (__atomic_compare_exchange_n(&slots[i].state, &expect, SLOT_CLAIMED, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return &slots[i];
    }
    return NULL;
}

static void slot_release(struct afile_slot *s)
{
    s->f = NULL;
    s->fd = -1;
    __atomic_store_n(&s->state, SLOT_FREE, __ATOMIC_RELEASE);
}

static struct afile_slot *slot_of(FILE *f)
{
    for (int i = 0; i < AFILE_SLOTS; i++)
        if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) == SLOT_ACTIVE && slots[i].f == f)
            return &slots[i];
    return NULL;
}

static ssize_t slot_write(void *cookie, const char *buf, size_t size)
{
    struct afile_slot *s = cookie;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(s->fd, buf + done, size - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (s->err == 0)
                s->err = errno;
            /* glibc marks the stream as failed when fewer bytes than asked
             * come back; fopencookie(3) asks for 0, not -1, on error. */
            return 0;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int slot_close(void *cookie)
{
    struct afile_slot *s = cookie;
    int fd = s->fd;
    s->fd = -1;
    if (fd >= 0 && close(fd) != 0) {
        if (s->err == 0)
            s->err = errno;
        return EOF;
    }
    return 0;
}

/* The directory part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int cb_afile_open(cb_afile_t *a, const char *path)
{
    struct afile_slot *s = NULL;
    int rc;
    memset(a, 0, sizeof(*a));
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dirlen = (size_t)(base - path);
    if (*base == '\0')
        return -EISDIR;
    a->path = strdup(path);
    if (a->path == NULL)
        return -ENOMEM;
    s = slot_claim();
    if (s == NULL) {
        rc = -EMFILE;
        goto err;
    }
    s->pid = getpid();
    s->err = 0;
    s->fd = -1;
    s->f = NULL;
    for (int tries = 0;; tries++) {
        unsigned long seq = __atomic_fetch_add(&afile_seq, 1, __ATOMIC_RELAXED);
        int len = snprintf(s->path, sizeof(s->path), "%.*s.%s.tmp.%ld.%lu", (int)dirlen, path, base,
                           (long)s->pid, seq);
        if (len < 0 || (size_t)len >= sizeof(s->path)) {
            rc = -ENAMETOOLONG;
            goto err;
        }
        /* Marked active before the file exists: a signal in between unlinks
         * a name that is not there yet, which is harmless; marked after, it
         * would leave the file behind. */
        __atomic_store_n(&s->state, SLOT_ACTIVE, __ATOMIC_RELEASE);
        s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (s->fd >= 0)
            break;
        rc = -errno;
        __atomic_store_n(&s->state, SLOT_CLAIMED, __ATOMIC_RELEASE);
        /* A name left by a dead process with our pid: take the next one. */
        if (rc != -EEXIST || tries >= 100)
            goto err;
    }
    a->tmp = strdup(s->path);
    if (a->tmp == NULL) {
        rc = -ENOMEM;
        goto err_unlink;
    }
    cookie_io_functions_t io = {.write = slot_write, .close = slot_close};
    a->f = fopencookie(s, "w", io);
    if (a->f == NULL) {
        rc = errno > 0 ? -errno : -ENOMEM;
        goto err_unlink;
    }
    s->f = a->f;
    return 0;
err_unlink:
    unlink(s->path);
    close(s->fd);
err:
    if (s != NULL)
        slot_release(s);
    free(a->tmp);
    free(a->path);
    memset(a, 0, sizeof(*a));
    return rc;
}

int cb_afile_write_error(const cb_afile_t *a)
{
    if (a->f == NULL)
        return -EBADF;
    struct afile_slot *s = slot_of(a->f);
    if (s != NULL && s->err != 0)
        return -s->err;
    return -EIO;
}

/* fsync of the directory makes the rename itself durable. */
static int sync_dir(const char *path)
{
    char *dir = dir_of(path);
    if (dir == NULL)
        return -ENOMEM;
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -errno;
    /* Some file systems cannot sync a directory (EINVAL); they cannot make
     * the rename more durable than it is, so that is not a failure. */
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

static void afile_drop(cb_afile_t *a)
{
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof(*a));
}

int cb_afile_commit(cb_afile_t *a)
{
    if (a->f == NULL)
        return -EBADF;
    struct afile_slot *s = slot_of(a->f);
    if (s == NULL)
        abort(); /* an open afile always has its slot */
    int rc = 0;
    errno = 0;
    if (fflush(a->f) != 0 || ferror(a->f)) {
        rc = s->err ? -s->err : stdio_err();
        goto err;
    }
    if (fsync(s->fd) != 0) {
        rc = -errno;
        goto err;
    }
    FILE *f = a->f;
    a->f = NULL;
    if (fclose(f) != 0) {
        rc = s->err ? -s->err : stdio_err();
        goto err;
    }
    if (rename(a->tmp, a->path) != 0) {
        rc = -errno;
        goto err;
    }
    slot_release(s);
    /* The new file is in place; a failure here means only that the rename
     * may not survive a power loss. */
    rc = sync_dir(a->path);
    afile_drop(a);
    return rc;
err:
    if (a->f != NULL)
        fclose(a->f);
    unlink(a->tmp);
    slot_release(s);
    afile_drop(a);
    return rc;
}

void cb_afile_abort(cb_afile_t *a)
{
    if (a->f == NULL) {
        afile_drop(a);
        return;
    }
    struct afile_slot *s = slot_of(a->f);
    fclose(a->f); /* its errors do not matter: the file is going away */
    unlink(a->tmp);
    if (s != NULL)
        slot_release(s);
    afile_drop(a);
}

void cb_afile_cleanup_all(void)
{
    pid_t self = getpid();
    for (int i = 0; i < AFILE_SLOTS; i++)
        if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) == SLOT_ACTIVE &&
            slots[i].pid == self)
            unlink(slots[i].path);
}
