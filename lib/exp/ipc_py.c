#include "lib/exp/ipc_py.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/helper.h"
#include "lib/exp/pyref.h"

static const char *no_python(void)
{
    char *py = cb_helper_find("python3");
    free(py);
    return py ? NULL : "python3 not found on PATH";
}

static const cb_name_t py_executors[] = {
    {"py_thread", "CPython: two threading.Threads of one interpreter", no_python, 0},
    {"py_process", "CPython: two multiprocessing.Process (fork)", no_python, 0},
};

/* What scripts/python_ipc.py runs, and on which executor. */
static const struct {
    cb_name_t name;
    const char *executor;
} py_mechs[] = {
    {{"queue", "threads: bounded queue (C); CPython: queue.Queue(64) (py_thread)", NULL, 0},
     "py_thread"},
    {{"mp_queue", "CPython: multiprocessing.Queue (pickled, a feeder thread, a pipe)", no_python,
      0},
     "py_process"},
    {{"mp_pipe", "CPython: multiprocessing.Pipe, Connection.send / recv (pickled)", no_python, 0},
     "py_process"},
    {{"manager_list", "CPython: Manager().list() proxy, append / pop(0), polled", no_python, 0},
     "py_process"},
    {{"shared_memory",
      "CPython: shared_memory.SharedMemory rings, lock-free hand-off, sched_yield waits", no_python,
      0},
     "py_process"},
};
#define NPY (sizeof(py_mechs) / sizeof(py_mechs[0]))

size_t cb_ipc_py_executor_names(const cb_name_t **out)
{
    *out = py_executors;
    return sizeof(py_executors) / sizeof(py_executors[0]);
}

size_t cb_ipc_py_mech_names(const cb_name_t **out)
{
    static cb_name_t tab[NPY];
    for (size_t i = 0; i < NPY; i++)
        tab[i] = py_mechs[i].name;
    *out = tab;
    return NPY;
}

int cb_ipc_py_runs(const char *e, const char *mech)
{
    for (size_t i = 0; i < NPY; i++)
        if (strcmp(py_mechs[i].name.name, mech) == 0)
            return strcmp(py_mechs[i].executor, e) == 0;
    return 0;
}

static const char *executor_of(const char *mech)
{
    for (size_t i = 0; i < NPY; i++)
        if (strcmp(py_mechs[i].name.name, mech) == 0)
            return py_mechs[i].executor;
    return "py_process";
}

void cb_ipc_py_select(cb_ipc_py_t *p, const char *mech, const char *pin, int pu0, int pu1)
{
    char spec[64];
    if (pu0 < 0)
        snprintf(spec, sizeof(spec), "none");
    else
        snprintf(spec, sizeof(spec), "%s:%d:%d", pin, pu0, pu1);
    cb_pyref_select(p->mechs, sizeof(p->mechs), mech);
    cb_pyref_select(p->pins, sizeof(p->pins), spec);
}

void cb_ipc_py_prepare(cb_ipc_py_t *p, const char *argv0)
{
    p->python = cb_helper_find("python3");
    p->script = cb_runner_find_data(argv0, "scripts/python_ipc.py");
    if (!p->python)
        p->why = "python3 not found on PATH";
    else if (!p->script)
        p->why = "scripts/python_ipc.py not found";
}

static size_t count_items(const char *list)
{
    size_t n = *list ? 1 : 0;
    for (; *list; list++)
        n += *list == ',';
    return n;
}

/* The rows of every selected configuration, failed with why. */
static int add_failed(const cb_ipc_py_t *p, int rep, cb_results_t *r, cb_status_t st,
                      const char *why)
{
    static const char *const metric[3][2] = {
        {"bytes_per_s", "B/s"}, {"msgs_per_s", "1/s"}, {"us_per_roundtrip", "us"}};
    char pins[sizeof(p->pins)], *s1 = NULL;
    snprintf(pins, sizeof(pins), "%s", p->pins);
    for (char *pin = strtok_r(pins, ",", &s1); pin; pin = strtok_r(NULL, ",", &s1)) {
        pin[strcspn(pin, ":")] = '\0';
        char mechs[sizeof(p->mechs)], *s2 = NULL;
        snprintf(mechs, sizeof(mechs), "%s", p->mechs);
        for (char *m = strtok_r(mechs, ",", &s2); m; m = strtok_r(NULL, ",", &s2)) {
            char sizes[sizeof(p->sizes)], *s3 = NULL;
            snprintf(sizes, sizeof(sizes), "%s", p->sizes);
            for (char *n = strtok_r(sizes, ",", &s3); n; n = strtok_r(NULL, ",", &s3))
                for (int k = 0; k < 3; k++) {
                    cb_sample_t s = {
                        .key = {"ipc", executor_of(m), m, 2, atol(n), pin},
                        .rep = rep,
                        .metric = metric[k][0],
                        .value = NAN,
                        .unit = metric[k][1],
                        .status = st,
                        .detail = why,
                    };
                    if (cb_results_add(r, &s) < 0)
                        return -ENOMEM;
                }
        }
    }
    return 0;
}

int cb_ipc_py_rep(cb_ipc_py_t *p, int rep, cb_results_t *r)
{
    if (rep < 0 || !p->mechs[0] || !p->pins[0])
        return 0;
    if (p->why)
        return add_failed(p, rep, r, CB_SKIPPED, p->why);
    const char *td = getenv("TMPDIR");
    char tmp[4096], why[256] = "";
    snprintf(tmp, sizeof(tmp), "%s/cb_pyipc_XXXXXX", td && *td ? td : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot make a temp file in %s (TMPDIR): %s",
                 td && *td ? td : "/tmp", strerror(errno));
        return add_failed(p, rep, r, CB_ERROR, why);
    }
    close(fd);
    char ms[32], reps[32], out[256], errpath[sizeof(tmp) + 8];
    snprintf(ms, sizeof(ms), "%g", p->min_ms);
    snprintf(reps, sizeof(reps), "%d", rep);
    snprintf(errpath, sizeof(errpath), "%s.err", tmp);
    char *argv[24] = {p->python, p->script, "--mechs", p->mechs,   "--msg-bytes",
                      p->sizes,  "--pins",  p->pins,   "--min-ms", ms,
                      "--rep",   reps,      "--out",   tmp,        NULL};
    size_t a = 14;
    if (p->fault_corrupt)
        argv[a++] = "--fault-corrupt";
    if (p->fault_die)
        argv[a++] = "--fault-receiver-dies";
    argv[a] = NULL;
    /* Measured like the configurations: each of its configurations gets the
     * limit, plus the interpreter's start. */
    size_t nconf = count_items(p->mechs) * count_items(p->pins) * count_items(p->sizes);
    double limit = p->timeout_s > 0 ? p->timeout_s * (double)nconf + 10 : 0;
    int rc = cb_helper_run(argv, out, sizeof(out), errpath, limit);
    cb_status_t st = cb_pyref_status("python_ipc.py", rc, limit, errpath, why, sizeof(why));
    unlink(errpath);
    /* Exit 3: rows written, some failed (they say why). */
    if (rc == 3)
        st = CB_OK;
    cb_results_t *py = NULL;
    if (st == CB_OK) {
        char err[256];
        if (!(py = cb_results_new())) {
            unlink(tmp);
            return -ENOMEM;
        }
        if (cb_results_read_raw(py, tmp, err, sizeof(err)) < 0) {
            snprintf(why, sizeof(why), "python_ipc.py wrote an unreadable CSV: %.160s", err);
            st = CB_ERROR;
        }
    }
    unlink(tmp);
    if (st != CB_OK) {
        cb_results_free(py);
        return add_failed(p, rep, r, st, why);
    }
    int arc = 0;
    for (size_t i = 0; i < cb_results_count(py) && arc == 0; i++) {
        cb_sample_t s = *cb_results_get(py, i);
        s.rep = rep;
        arc = cb_results_add(r, &s);
    }
    cb_results_free(py);
    return arc;
}

void cb_ipc_py_free(cb_ipc_py_t *p)
{
    free(p->python);
    free(p->script);
    p->python = p->script = NULL;
}
