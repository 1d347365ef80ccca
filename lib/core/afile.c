#include "lib/core/afile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* The error of a failed stdio call (errno, or EIO when stdio set none). */
static int stdio_err(void)
{
    return errno > 0 ? -errno : -EIO;
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

int cb_afile_check_target(const char *path, char *why, size_t len)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    struct stat st;
    const char *bad = stat(dir, &st) != 0    ? "does not exist"
                      : !S_ISDIR(st.st_mode) ? "is not a folder"
                      : access(dir, W_OK)    ? "is not writable"
                                             : NULL;
    if (bad) {
        snprintf(why, len, "its folder %s %s", dir, bad);
        return -1;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(why, len, "%s is a folder: expected a file name", path);
        return -1;
    }
    return 0;
}
