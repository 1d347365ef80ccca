/* libFuzzer target: the command-line parser (lib/core/cli.h). The input is split
 * at NUL bytes into arguments. Every outcome must be 0 (go on), 0 after
 * --help / --version, or 2 (refused); a refusal and a success both free
 * cleanly. --out is dropped: its check probes a directory by creating a file
 * in it. Built and run by scripts/fuzz.sh, not by Bazel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/cli.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int set_flag(void *ctx, const char *arg, char *err, size_t errlen)
{
    (void)ctx;
    if (arg && strcmp(arg, "bad") == 0) {
        snprintf(err, errlen, "--extra: bad value 'bad'");
        return -1;
    }
    return 0;
}

static const cb_cli_extra_t extra[] = {
    {"extra", 1, "X", "an experiment's flag with a value", set_flag, NULL},
    {"switch", 0, NULL, "an experiment's flag without", set_flag, NULL},
};
static const char *const executors[] = {"serial",       "thread",    "process", "thread_pool",
                                        "process_pool", "coroutine", NULL};
static const char *const workloads[] = {"cpu", "io", "fault_crash", NULL};

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = strdup("fuzz");
    size_t start = 0;
    for (size_t i = 0; i <= size && argc < MAX_ARGS; i++) {
        if (i == size || data[i] == '\0') {
            char *a = strndup((const char *)data + start, i - start);
            if (strncmp(a, "--o", 3) == 0 || strcmp(a, "-o") == 0) {
                free(a); /* --out and its abbreviations */
                for (int j = 1; j < argc; j++)
                    free(argv[j]);
                free(argv[0]);
                return 0;
            }
            argv[argc++] = a;
            start = i + 1;
        }
    }
    argv[argc] = NULL;
    char *copy[MAX_ARGS + 2];
    memcpy(copy, argv, sizeof(argv)); /* getopt_long permutes argv */
    cb_cli_spec_t spec = {
        .prog = "fuzz",
        .summary = "fuzzing",
        .extra = extra,
        .nextra = 2,
        .executor_names = executors,
        .workload_names = workloads,
    };
    cb_opts_t o;
    int rc = cb_cli_parse(&spec, argc, argv, &o);
    if (rc != 0 && rc != 2)
        abort();
    if (rc == 0) {
        if (o.reps == 0 || o.warmup < -1 || o.tasks < 0 || o.timeout_s < 0)
            abort(); /* accepted but out of range */
        for (size_t i = 0; i < o.nworkers; i++)
            if (o.workers[i] <= 0)
                abort();
    }
    cb_cli_free(&o);
    for (int i = 0; i < argc; i++)
        free(copy[i]);
    return 0;
}
