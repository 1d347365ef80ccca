/* libFuzzer target: reading a raw results CSV (what compare and --append
 * read) and a .meta file from any bytes. A file the reader accepts is
 * written back and must read back with the same rows, values rounded to the
 * 9 significant digits the writer keeps. Built and run by
 * scripts/fuzz.sh, not by Bazel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/core/meta.h"
#include "lib/core/results.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* On tmpfs: the writers fsync every file they commit. */
static char dir[] = "/dev/shm/results_fuzz.XXXXXX";
static char in_path[64], out_path[64];

static void put(const char *path, const unsigned char *data, size_t size)
{
    FILE *f = fopen(path, "w");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

/* Values are written with 9 significant digits (results.c fmt_value): what
 * a value reads back as after one write. */
static double as_written(double v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.9g", v);
    return strtod(buf, NULL);
}

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (!in_path[0]) {
        if (!mkdtemp(dir))
            abort();
        snprintf(in_path, sizeof(in_path), "%s/in.csv", dir);
        snprintf(out_path, sizeof(out_path), "%s/out.csv", dir);
    }
    put(in_path, data, size);
    cb_results_t *r = cb_results_new();
    char err[256] = "";
    if (cb_results_read_raw(r, in_path, err, sizeof(err)) == 0) {
        if (cb_results_write_raw(r, out_path) != 0)
            abort();
        cb_results_t *b = cb_results_new();
        if (cb_results_read_raw(b, out_path, err, sizeof(err)) != 0) {
            fprintf(stderr, "written file does not read back: %s\n", err);
            abort();
        }
        if (cb_results_count(b) != cb_results_count(r))
            abort();
        for (size_t i = 0; i < cb_results_count(r); i++) {
            const cb_sample_t *x = cb_results_get(r, i), *y = cb_results_get(b, i);
            if (!same(x->key.executor, y->key.executor) || !same(x->metric, y->metric) ||
                !same(x->detail, y->detail) || x->rep != y->rep || x->status != y->status ||
                x->key.workers != y->key.workers ||
                (isnan(x->value) ? !isnan(y->value) : as_written(x->value) != y->value)) {
                fprintf(stderr, "row %zu changed on the round trip\n", i);
                abort();
            }
        }
        cb_results_free(b);
        /* The derived rows and the summary of whatever was read. */
        cb_results_derive_speedup(r);
        if (cb_results_write_summary(r, out_path) != 0)
            abort();
    } else if (!err[0]) {
        abort(); /* a refusal must say why */
    }
    cb_results_free(r);

    cb_meta_t *m = cb_meta_new();
    if (cb_meta_read(m, in_path) == 0) {
        if (cb_meta_write(m, out_path) != 0)
            abort();
        cb_meta_t *b = cb_meta_new();
        if (cb_meta_read(b, out_path) != 0 || cb_meta_count(b) != cb_meta_count(m))
            abort();
        cb_meta_free(b);
    }
    cb_meta_free(m);
    return 0;
}
