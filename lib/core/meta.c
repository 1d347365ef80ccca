#include "lib/core/meta.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/core/afile.h"
#include "lib/core/cb_version.h"

/* ---- Meta --------------------------------------------------------------- */

struct cb_meta {
    char **keys; /* in the order first set */
    char **vals;
    size_t n;
    size_t cap;
};

cb_meta_t *cb_meta_new(void)
{
    return calloc(1, sizeof(cb_meta_t));
}

void cb_meta_free(cb_meta_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    free(m);
}

static int valid_key(const char *key)
{
    return key != NULL && *key != '\0' && *key != '#' && strpbrk(key, "=\r\n") == NULL;
}

int cb_meta_set(cb_meta_t *m, const char *key, const char *value)
{
    if (!valid_key(key))
        return -EINVAL;
    char *v = strdup(value != NULL ? value : "");
    if (v == NULL)
        return -ENOMEM;
    for (char *p = v; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            free(m->vals[i]);
            m->vals[i] = v;
            return 0;
        }
    }
    if (m->n == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        char **k = realloc(m->keys, ncap * sizeof(*k));
        if (k == NULL)
            goto nomem;
        m->keys = k;
        char **vv = realloc(m->vals, ncap * sizeof(*vv));
        if (vv == NULL)
            goto nomem;
        m->vals = vv;
        m->cap = ncap;
    }
    char *k = strdup(key);
    if (k == NULL)
        goto nomem;
    m->keys[m->n] = k;
    m->vals[m->n] = v;
    m->n++;
    return 0;
nomem:
    free(v);
    return -ENOMEM;
}

const char *cb_meta_get(const cb_meta_t *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
    return NULL;
}

size_t cb_meta_count(const cb_meta_t *m)
{
    return m->n;
}

const char *cb_meta_key(const cb_meta_t *m, size_t i)
{
    return i < m->n ? m->keys[i] : NULL;
}

int cb_meta_write(const cb_meta_t *m, const char *path)
{
    cb_afile_t a;
    int rc = cb_afile_open(&a, path);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < m->n; i++) {
        if (fprintf(a.f, "%s=%s\n", m->keys[i], m->vals[i]) < 0) {
            rc = cb_afile_write_error(&a);
            cb_afile_abort(&a);
            return rc;
        }
    }
    return cb_afile_commit(&a);
}

int cb_meta_read(cb_meta_t *m, const char *path)
{
    /* Read into a scratch list first, so a bad file changes nothing. */
    cb_meta_t *tmp = cb_meta_new();
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    FILE *f = NULL;
    if (tmp == NULL)
        return -ENOMEM;
    f = fopen(path, "re");
    if (f == NULL) {
        rc = -errno;
        goto out;
    }
    for (;;) {
        errno = 0;
        ssize_t len = getline(&line, &cap, f);
        if (len < 0) {
            if (ferror(f))
                rc = errno > 0 ? -errno : -EIO;
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        if (eq == NULL || eq == line || (size_t)len != strlen(line)) {
            rc = -EINVAL;
            goto out;
        }
        *eq = '\0';
        if ((rc = cb_meta_set(tmp, line, eq + 1)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    for (size_t i = 0; i < tmp->n; i++)
        if ((rc = cb_meta_set(m, tmp->keys[i], tmp->vals[i])) < 0)
            goto out;
out:
    if (f != NULL)
        fclose(f);
    free(line);
    cb_meta_free(tmp);
    return rc;
}

/* The first line of a small file, without its newline; NULL when unreadable. */
static char *first_line(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    fclose(f);
    if (len <= 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

#if defined(__clang__)
#define CB_CC_NAME "clang"
#elif defined(__GNUC__)
#define CB_CC_NAME "gcc"
#else
#define CB_CC_NAME "cc"
#endif

/* Reads n bytes at off of fd. */
static int pread_all(int fd, void *buf, size_t n, off_t off)
{
    return pread(fd, buf, n, off) == (ssize_t)n ? 0 : -1;
}

int cb_meta_compiler_flags(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = -1;
    char *names = NULL, *sec = NULL;
    Elf64_Ehdr eh;
    Elf64_Shdr sh, strsh;
    if (pread_all(fd, &eh, sizeof(eh), 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        eh.e_shstrndx == SHN_UNDEF || eh.e_shstrndx >= eh.e_shnum)
        goto out;
    if (pread_all(fd, &strsh, sizeof(strsh), (off_t)(eh.e_shoff + eh.e_shstrndx * sizeof(sh))) <
            0 ||
        strsh.sh_size > (1u << 24) || (names = malloc(strsh.sh_size + 1)) == NULL ||
        pread_all(fd, names, strsh.sh_size, (off_t)strsh.sh_offset) < 0)
        goto out;
    names[strsh.sh_size] = '\0';
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        if (pread_all(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + i * sizeof(sh))) < 0)
            goto out;
        if (sh.sh_name >= strsh.sh_size || strcmp(names + sh.sh_name, ".GCC.command.line") != 0)
            continue;
        if (sh.sh_size > (1u << 24) || (sec = malloc(sh.sh_size + 1)) == NULL ||
            pread_all(fd, sec, sh.sh_size, (off_t)sh.sh_offset) < 0)
            goto out;
        sec[sh.sh_size] = '\0';
        /* NUL-separated records, one per object (identical ones merged by
         * the linker); each object's -frandom-seed=FILE is dropped, so the
         * records of objects built alike are one. */
        size_t w = 0;
        buf[0] = '\0';
        for (size_t p = 0; p < sh.sh_size; p += strlen(sec + p) + 1) {
            char rec[1024];
            size_t rw = 0;
            rec[0] = '\0';
            for (const char *t = sec + p; *t;) {
                size_t tl = strcspn(t, " ");
                if (tl && strncmp(t, "-frandom-seed=", 14) != 0 && rw + tl + 2 < sizeof(rec))
                    rw += (size_t)snprintf(rec + rw, sizeof(rec) - rw, "%s%.*s", rw ? " " : "",
                                           (int)tl, t);
                t += tl;
                t += strspn(t, " ");
            }
            if (!rec[0] || w >= len)
                continue;
            /* Already listed? */
            int seen = 0;
            for (const char *q = buf; !seen && q && *q;) {
                const char *e = strstr(q, " | ");
                size_t ql = e ? (size_t)(e - q) : strlen(q);
                seen = ql == rw && strncmp(q, rec, rw) == 0;
                q = e ? e + 3 : NULL;
            }
            if (!seen)
                w += (size_t)snprintf(buf + w, len - w, "%s%s", w ? " | " : "", rec);
        }
        rc = buf[0] ? 0 : -1;
        if (rc < 0)
            snprintf(buf, len, "unknown");
        break;
    }
out:
    free(names);
    free(sec);
    close(fd);
    return rc;
}

int cb_meta_fill_host(cb_meta_t *m)
{
    int rc;
    char host[256] = "unknown";
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    if ((rc = cb_meta_set(m, "host", host)) < 0)
        return rc;

    struct utsname u;
    char kernel[sizeof(u.release) + sizeof(u.version) + 1] = "unknown";
    if (uname(&u) == 0)
        snprintf(kernel, sizeof(kernel), "%s %s", u.release, u.version);
    if ((rc = cb_meta_set(m, "kernel", kernel)) < 0)
        return rc;

    char *cs = first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    rc = cb_meta_set(m, "clock_source", cs ? cs : "unknown");
    free(cs);
    if (rc < 0)
        return rc;

    char when[32] = "unknown";
    struct tm tm;
    time_t now = time(NULL);
    if (now != (time_t)-1 && gmtime_r(&now, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if ((rc = cb_meta_set(m, "utc_start", when)) < 0)
        return rc;

    if ((rc = cb_meta_set(m, "compiler", CB_CC_NAME " " __VERSION__)) < 0)
        return rc;
    char flags[2048];
    cb_meta_compiler_flags(flags, sizeof(flags));
    if ((rc = cb_meta_set(m, "compiler_flags", flags)) < 0)
        return rc;
    return cb_meta_set(m, "harness_version", CB_VERSION);
}
