/* io_file: file IO per task. Each task writes file_bytes of a pattern fixed
 * by (seed, task index) to its own file, fsyncs it, reads it back, compares,
 * and unlinks it. The files live in a temp directory made at setup (mkdtemp
 * under tmp_dir) and removed at teardown with anything a failed task left.
 *
 * The file calls block the calling thread: task_env.h routes sleeps and fd
 * readiness waits, and a regular file is always "ready". So under the
 * coroutine executor a task blocks its event loop (as asyncio without a
 * thread pool does), and under the interpreter-lock emulation the lock stays
 * held across the calls (CPython releases it around os.write and os.fsync;
 * task_env.h has no hook for a blocking call). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/wl/workload_internal.h"

#define CB_FILE_CHUNK (64u * 1024u)

typedef struct {
    char *dir;
    uint64_t bytes;
    uint64_t seed;
} file_arg_t;

/* The pattern's bytes [off, off + n) for one task; off is a multiple of 8. */
static void fill(uint8_t *buf, uint64_t seed, size_t index, uint64_t off, size_t n)
{
    uint64_t s = seed ^ ((uint64_t)index * 0xd6e8feb86659fd93ull);
    for (size_t k = 0; k < n; k += 8) {
        uint64_t v = cb_wl_splitmix64(s, (off + k) / 8);
        for (size_t b = 0; b < 8 && k + b < n; b++)
            buf[k + b] = (uint8_t)(v >> (8 * b));
    }
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads up to n bytes, fewer only at end of file. Returns the count or -1. */
static ssize_t read_full(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int file_setup(const cb_wl_params_t *p, void **arg)
{
    const char *base = p->tmp_dir && p->tmp_dir[0] ? p->tmp_dir : getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    file_arg_t *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    int rc = -ENOMEM;
    if (asprintf(&a->dir, "%s/cb-io_file-XXXXXX", base) < 0) {
        a->dir = NULL;
        goto err;
    }
    if (!mkdtemp(a->dir)) {
        rc = -errno;
        goto err;
    }
    a->bytes = p->file_bytes;
    a->seed = p->seed;
    *arg = a;
    return 0;
err:
    free(a->dir);
    free(a);
    return rc;
}

static uint64_t file_task(void *arg, size_t index)
{
    const file_arg_t *a = arg;
    uint64_t result = CB_WL_FAILED;
    int fd = -1;
    char *path = NULL;
    uint8_t *want = malloc(CB_FILE_CHUNK);
    uint8_t *got = malloc(CB_FILE_CHUNK);
    if (!want || !got || asprintf(&path, "%s/task-%zu", a->dir, index) < 0) {
        path = NULL;
        goto out;
    }

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    for (uint64_t off = 0; off < a->bytes; off += CB_FILE_CHUNK) {
        size_t n = a->bytes - off < CB_FILE_CHUNK ? (size_t)(a->bytes - off) : CB_FILE_CHUNK;
        fill(want, a->seed, index, off, n);
        if (write_all(fd, want, n) != 0)
            goto out;
    }
    if (fsync(fd) != 0)
        goto out;
    int c = close(fd);
    fd = -1;
    if (c != 0)
        goto out;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    uint64_t verified = 0;
    for (uint64_t off = 0; off < a->bytes; off += CB_FILE_CHUNK) {
        size_t n = a->bytes - off < CB_FILE_CHUNK ? (size_t)(a->bytes - off) : CB_FILE_CHUNK;
        if (read_full(fd, got, n) != (ssize_t)n)
            goto out;
        fill(want, a->seed, index, off, n);
        if (memcmp(want, got, n) != 0)
            goto out;
        verified += n;
    }
    /* A file longer than what was written is wrong too. */
    if (read_full(fd, got, 1) != 0)
        goto out;
    result = verified;
out:
    if (fd >= 0 && close(fd) != 0)
        result = CB_WL_FAILED;
    if (path && unlink(path) != 0 && errno != ENOENT)
        result = CB_WL_FAILED;
    free(path);
    free(want);
    free(got);
    return result;
}

static int file_check(void *arg, size_t index, uint64_t value)
{
    (void)index;
    return value == ((file_arg_t *)arg)->bytes ? 0 : -1;
}

static void file_teardown(void *arg)
{
    file_arg_t *a = arg;
    /* Tasks that crashed or were killed may have left their files. */
    DIR *d = opendir(a->dir);
    if (!d) {
        fprintf(stderr, "io_file: cannot open %s: %s\n", a->dir, strerror(errno));
    } else {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (unlinkat(dirfd(d), e->d_name, 0) != 0)
                fprintf(stderr, "io_file: cannot remove %s/%s: %s\n", a->dir, e->d_name,
                        strerror(errno));
        }
        if (closedir(d) != 0)
            fprintf(stderr, "io_file: cannot close %s: %s\n", a->dir, strerror(errno));
    }
    if (rmdir(a->dir) != 0)
        fprintf(stderr, "io_file: cannot remove %s: %s\n", a->dir, strerror(errno));
    free(a->dir);
    free(a);
}

const cb_workload_t cb_wl_io_file = {
    .name = "io_file",
    .summary = "write file_bytes to a temp file, fsync, read back and compare, unlink",
    .setup = file_setup,
    .task = file_task,
    .check = file_check,
    .teardown = file_teardown,
};
