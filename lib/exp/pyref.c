#include "lib/exp/pyref.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/helper.h"
#include "lib/core/python.h"

static const char *no_python(void)
{
    char *py = cb_helper_find("python3");
    free(py);
    return py ? NULL : "python3 not found on PATH";
}

/* The registry of the CPython rows: what scripts/python_reference.py runs. */
static const cb_name_t py_names[] = {
    {"py_serial", "CPython: the tasks one after another", no_python, 0},
    {"py_thread", "CPython: one threading.Thread per task", no_python, 0},
    {"py_process", "CPython: one multiprocessing.Process per task", no_python, 0},
    {"py_thread_pool", "CPython: concurrent.futures.ThreadPoolExecutor(W)", no_python, 0},
    {"py_process_pool", "CPython: concurrent.futures.ProcessPoolExecutor(W)", no_python, 0},
    {"py_asyncio", "CPython: one asyncio task per task on one event loop", no_python, 0},
};

size_t cb_pyref_names(const cb_name_t **out)
{
    *out = py_names;
    return sizeof(py_names) / sizeof(py_names[0]);
}

int cb_pyref_is_py(const char *name)
{
    return strncmp(name, "py_", 3) == 0;
}

void cb_pyref_select(char *list, size_t len, const char *name)
{
    size_t l = strlen(list), n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return;
    snprintf(list + l, len - l, "%s%s", l ? "," : "", name);
}

/* The workers column python_reference.py writes: the harness's one rule,
 * as for the C rows (W, 1 for the serial reference). */
static long py_workers(const char *e, const cb_pyref_t *p)
{
    return strcmp(e, "py_serial") == 0 ? 1 : p->workers;
}

static int add_failed(cb_results_t *r, int rep, const cb_pyref_t *p, cb_status_t st,
                      const char *why)
{
    char execs[sizeof(p->execs)], *save = NULL;
    snprintf(execs, sizeof(execs), "%s", p->execs);
    for (char *e = strtok_r(execs, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        char wls[sizeof(p->wls)], *s2 = NULL;
        snprintf(wls, sizeof(wls), "%s", p->wls);
        for (char *w = strtok_r(wls, ",", &s2); w; w = strtok_r(NULL, ",", &s2)) {
            cb_sample_t s = {
                .key = {p->experiment, e, w, py_workers(e, p), p->tasks, "none"},
                .rep = rep,
                .metric = "wall_s",
                .value = NAN,
                .unit = "s",
                .status = st,
                .detail = why,
            };
            if (cb_results_add(r, &s) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* The user's Python task (--py-task and its path and arguments), after
 * the NULL that ends argv's fixed part. */
static void append_py_task(const cb_pyref_t *p, char **argv, size_t cap)
{
    size_t n = 0;
    while (argv[n])
        n++;
    const char *kv[][2] = {
        {"--py-task", p->py_task}, {"--py-path", p->py_path}, {"--py-args", p->py_args}};
    for (size_t i = 0; i < 3 && n + 3 < cap; i++)
        if (kv[i][1]) {
            argv[n++] = (char *)kv[i][0];
            argv[n++] = (char *)kv[i][1];
        }
    argv[n] = NULL;
}

/* How many configurations one reference run measures. */
static int nconfigs(const cb_pyref_t *p)
{
    int ne = 1, nw = 1;
    for (const char *c = p->execs; *c; c++)
        ne += *c == ',';
    for (const char *c = p->wls; *c; c++)
        nw += *c == ',';
    return ne * nw;
}

cb_status_t cb_pyref_status(const char *script, int rc, double limit_s, const char *errpath,
                            char *why, size_t len)
{
    return cb_python_status(script, rc, limit_s, errpath, why, len);
}

int cb_pyref_rep(cb_pyref_t *p, int rep, cb_results_t *r)
{
    if (p->why)
        return rep < 0 ? 0 : add_failed(r, rep, p, p->why_status, p->why);
    /* The script's CSV goes to a temp file (TMPDIR: the test sandbox's under
     * bazel test). */
    const char *td = getenv("TMPDIR");
    char tmp[4096], why[256] = "";
    snprintf(tmp, sizeof(tmp), "%s/cb_pyref_XXXXXX", td && *td ? td : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot make a temp file in %s (TMPDIR): %s",
                 td && *td ? td : "/tmp", strerror(errno));
        return rep < 0 ? 0 : add_failed(r, rep, p, CB_ERROR, why);
    }
    close(fd);
    char tasks[32], iters[32], io[32], jit[32], workers[32], out[256];
    snprintf(tasks, sizeof(tasks), "%ld", p->tasks);
    snprintf(iters, sizeof(iters), "%llu", (unsigned long long)p->py_iters);
    snprintf(io, sizeof(io), "%.17g", p->io_ms);
    snprintf(jit, sizeof(jit), "%.17g", p->io_jitter);
    snprintf(workers, sizeof(workers), "%ld", p->workers);
    char *argv[40] = {p->python,     p->script, "--tasks", tasks,         "--cpu-iters",
                      iters,         "--io-ms", io,        "--io-jitter", jit,
                      "--workers",   workers,   "--reps",  "1",           "--warmup",
                      "0",           "--out",   tmp,       "--executors", p->execs,
                      "--workloads", p->wls,    "--seed",  "1",           NULL};
    append_py_task(p, argv, 40);
    char errpath[sizeof(tmp) + 8];
    snprintf(errpath, sizeof(errpath), "%s.err", tmp);
    /* The reference is measured like a configuration: each of its
     * configurations gets the limit, plus the interpreter's start. */
    double limit = p->timeout_s > 0 ? p->timeout_s * nconfigs(p) + 10 : 0;
    int rc = cb_helper_run(argv, out, sizeof(out), errpath, limit);
    cb_status_t st = cb_pyref_status("python_reference.py", rc, limit, errpath, why, sizeof(why));
    unlink(errpath);
    cb_results_t *py = NULL;
    if (st == CB_OK && rep >= 0) {
        char err[256];
        py = cb_results_new();
        if (!py) {
            unlink(tmp);
            return -ENOMEM;
        }
        if (cb_results_read_raw(py, tmp, err, sizeof(err)) < 0) {
            snprintf(why, sizeof(why), "python_reference.py wrote an unreadable CSV: %.160s", err);
            st = CB_ERROR;
        }
    }
    unlink(tmp);
    if (rep < 0 || st != CB_OK) {
        cb_results_free(py);
        return rep < 0 ? 0 : add_failed(r, rep, p, st, why);
    }
    for (size_t i = 0; i < cb_results_count(py); i++) {
        cb_sample_t s = *cb_results_get(py, i);
        s.rep = rep;
        if (cb_results_add(r, &s) < 0) {
            cb_results_free(py);
            return -ENOMEM;
        }
    }
    cb_results_free(py);
    return 0;
}

int cb_pyref_check_task(cb_pyref_t *p, const char *argv0, char *why, size_t len)
{
    if (!p->python)
        p->python = cb_helper_find("python3");
    if (!p->script)
        p->script = cb_runner_find_data(argv0, "scripts/python_reference.py");
    if (!p->python || !p->script) {
        snprintf(why, len, "--py-task: %s",
                 !p->python ? "python3 not found on PATH"
                            : "scripts/python_reference.py not found");
        return -1;
    }
    char *argv[12] = {p->python, p->script, "--check-py-task", NULL};
    append_py_task(p, argv, 12);
    char out[512] = "";
    char errpath[64];
    snprintf(errpath, sizeof(errpath), "/tmp/cb_pycheck_%d.err", (int)getpid());
    int rc = cb_helper_run(argv, out, sizeof(out), errpath, 60);
    if (rc != 0) {
        char last[400] = "";
        cb_python_last_line(errpath, last, sizeof(last));
        unlink(errpath);
        if (rc == -ETIMEDOUT)
            snprintf(why, len, "--py-task %s: importing it took over 60 s", p->py_task);
        else
            snprintf(why, len, "%s", last[0] ? last : "--py-task: the check failed");
        return -1;
    }
    unlink(errpath);
    return 0;
}

void cb_pyref_free(cb_pyref_t *p)
{
    free(p->python);
    free(p->script);
    p->python = p->script = NULL;
}
