/* Replays inputs through a fuzz target without libFuzzer: each file named
 * on the command line is read and given to LLVMFuzzerTestOneInput once, as
 * libFuzzer would. The target aborts when its property fails, so a file
 * that reproduces a bug fails the run. Built by lib/fuzz/BUILD for the
 * replay test; scripts/fuzz.sh builds the real fuzzers with clang. */
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 2;
        }
        unsigned char *buf = NULL;
        size_t len = 0, cap = 0, k;
        do {
            if (len == cap) {
                unsigned char *n = realloc(buf, cap = cap ? 2 * cap : 4096);
                if (!n) {
                    fprintf(stderr, "%s: out of memory\n", argv[i]);
                    return 2;
                }
                buf = n;
            }
            k = fread(buf + len, 1, cap - len, f);
            len += k;
        } while (k > 0);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        printf("ok %s (%zu bytes)\n", argv[i], len);
    }
    return 0;
}
