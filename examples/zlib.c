/* examples/zlib: a CPU-bound workload of your own, as a user writes one.
 * Each task compresses the same buffer (--size bytes of text-like data,
 * default 4 MiB) with zlib at level 6 into a buffer of its own and returns
 * the CRC-32 of the result; the check compares it with the one setup
 * computed. `bazel run //examples:zlib` runs it on every model. */

#include <concbench/concbench.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct zstate {
    unsigned char *in;
    size_t n;
    uint64_t want; /* CRC-32 of the compressed buffer, and its length above bit 32 */
} zstate_t;

/* The compressed buffer's CRC-32 and length, or 0 on failure. */
static uint64_t deflate_sum(const unsigned char *in, size_t n)
{
    uLongf cap = compressBound((uLong)n);
    unsigned char *out = malloc(cap);
    if (!out)
        return 0;
    uLongf len = cap;
    uint64_t v = 0;
    if (compress2(out, &len, in, (uLong)n, 6) == Z_OK)
        v = ((uint64_t)len << 32) | crc32(0L, out, (uInt)len);
    free(out);
    return v;
}

static int setup(const concbench_params_t *p, void **state)
{
    static const char *const words[] = {"thread", "process", "pool", "coroutine", "lock",
                                        "queue",  "the",     "of",   "a",         "and",
                                        "is",     "work",    "wait", "run",       "join"};
    zstate_t *s = calloc(1, sizeof(*s));
    if (!s || !(s->in = malloc(p->size ? p->size : 1))) {
        free(s);
        return -ENOMEM;
    }
    s->n = p->size;
    /* Words picked by a fixed generator: text that compresses about 3:1. */
    uint64_t x = 88172645463325252ull;
    for (size_t w = 0; w < s->n;) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *word = words[x % 15];
        for (size_t k = 0; word[k] && w < s->n; k++)
            s->in[w++] = (unsigned char)word[k];
        if (w < s->n)
            s->in[w++] = (x >> 40) % 11 ? ' ' : '\n';
    }
    if (!(s->want = deflate_sum(s->in, s->n))) {
        free(s->in);
        free(s);
        return -EIO;
    }
    *state = s;
    return 0;
}

static uint64_t task(void *state, size_t index)
{
    (void)index;
    const zstate_t *s = state;
    return deflate_sum(s->in, s->n);
}

static int check(void *state, size_t index, uint64_t value)
{
    (void)index;
    return value == ((const zstate_t *)state)->want ? 0 : -1;
}

static void teardown(void *state)
{
    zstate_t *s = state;
    free(s->in);
    free(s);
}

CONCBENCH_WORKLOAD(zlib_deflate, .name = "deflate",
                   .summary = "zlib compress2 (level 6) of a text-like buffer of --size bytes",
                   .default_size = 4 << 20, .quick_size = 256 << 10, .setup = setup, .task = task,
                   .check = check, .teardown = teardown);
