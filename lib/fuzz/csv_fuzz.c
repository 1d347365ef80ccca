/* libFuzzer target: the CSV reader (lib/core/csv.h) on any bytes, and the
 * writer's round trip: every row the reader accepts, written back with
 * cb_csv_write_row and read again, gives the same fields. Built and run by
 * scripts/fuzz.sh, not by Bazel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/csv.h"

#define MAX_FIELDS 4096

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cb_csv_reader_t *r = cb_csv_open_mem((const char *)data, size);
    if (!r)
        return 0;
    const char *const *f;
    size_t line;
    int n;
    while ((n = cb_csv_next(r, &f, &line)) > 0) {
        if (n > MAX_FIELDS)
            continue;
        /* Fields may hold NUL bytes from the input; the writer takes C
         * strings, so compare what it can be given. */
        char *copy[MAX_FIELDS];
        for (int i = 0; i < n; i++)
            copy[i] = strdup(f[i]);
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
            abort();
        if (cb_csv_write_row(m, (const char *const *)copy, (size_t)n) != 0)
            abort();
        if (fclose(m) != 0)
            abort();
        cb_csv_reader_t *back = cb_csv_open_mem(buf, len);
        const char *const *g;
        size_t l2;
        int k = cb_csv_next(back, &g, &l2);
        /* One empty field is written as an empty line, which a reader may
         * take as no row at all. */
        if (!(n == 1 && copy[0][0] == '\0' && k == 0)) {
            if (k != n) {
                fprintf(stderr, "round trip: %d fields became %d\n", n, k);
                abort();
            }
            for (int i = 0; i < n; i++)
                if (strcmp(g[i], copy[i]) != 0) {
                    fprintf(stderr, "round trip: field %d '%s' became '%s'\n", i, copy[i], g[i]);
                    abort();
                }
            if (cb_csv_next(back, &g, &l2) != 0)
                abort();
        }
        cb_csv_close(back);
        free(buf);
        for (int i = 0; i < n; i++)
            free(copy[i]);
    }
    if (n < 0 && !cb_csv_error(r))
        abort(); /* a failure must say why */
    cb_csv_close(r);
    return 0;
}
