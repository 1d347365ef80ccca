#include "lib/core/python.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/core/helper.h"

/* A CPython point: its configuration (key, metrics, plan) as build() made it. */
typedef struct point {
    cb_config_t cfg;
    char spec[512]; /* EXECUTOR/WORKLOAD/WORKERS/TASKS/PIN/PUS */
} point_t;

struct cb_python_run {
    const cb_experiment_def_t *def;
    int no_python;
    char *python_arg; /* --python PATH, or NULL */
    point_t *points;
    size_t npoints;
    char *python, *script; /* the chosen interpreter and the script */
    char version[32];
    const char *why;        /* set when the rows cannot be measured */
    cb_status_t why_status; /* and then their status */
    char why_buf[400];
    const char *script_name; /* the script's file name, for reasons */
    char **extra;            /* "KEY=VALUE": cb_python_param's, then the calibration's */
    size_t nextra;
    int calibrated; /* the calibration ran (or was not needed) */
};

static int set_no_python(void *ctx, const char *arg, char *err, size_t len)
{
    (void)arg, (void)err, (void)len;
    ((cb_python_run_t *)ctx)->no_python = 1;
    return 0;
}

static int set_python(void *ctx, const char *arg, char *err, size_t len)
{
    cb_python_run_t *p = ctx;
    if (!arg || !*arg) {
        snprintf(err, len, "--python: bad value '': expected the path or name of a python3");
        return -1;
    }
    char *c = strdup(arg);
    if (!c) {
        snprintf(err, len, "--python: out of memory");
        return -1;
    }
    free(p->python_arg);
    p->python_arg = c;
    return 0;
}

cb_python_run_t *cb_python_new(const cb_experiment_def_t *d, int *oom)
{
    *oom = 0;
    if (!d->python)
        return NULL;
    cb_python_run_t *p = calloc(1, sizeof(*p));
    if (!p) {
        *oom = 1;
        return NULL;
    }
    p->def = d;
    const char *s = strrchr(d->python->script, '/');
    p->script_name = s ? s + 1 : d->python->script;
    return p;
}

size_t cb_python_flags(cb_python_run_t *p, cb_cli_extra_t *extra)
{
    if (!p)
        return 0;
    extra[0] = (cb_cli_extra_t){"no-python",   0, NULL, "leave out the CPython rows (py_*)",
                                set_no_python, p};
    extra[1] = (cb_cli_extra_t){"python",
                                1,
                                "PATH",
                                "the interpreter of the CPython rows (default: python3 on PATH, "
                                "or /usr/bin/python3 when only it has the optional modules)",
                                set_python,
                                p};
    return 2;
}

int cb_exp_no_python(const cb_exp_t *x)
{
    return !x->py || x->py->no_python;
}

size_t cb_python_points(const cb_exp_t *x)
{
    return x->py ? x->py->npoints : 0;
}

void cb_python_last_line(const char *path, char *out, size_t len)
{
    char *line = NULL;
    size_t cap = 0;
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    while (f && getline(&line, &cap, f) > 0)
        if (line[0] != '\n')
            snprintf(out, len, "%s", line);
    if (f)
        fclose(f);
    free(line);
    out[strcspn(out, "\n")] = '\0';
}

cb_status_t cb_python_status(const char *script, int rc, double limit_s, const char *errpath,
                             char *why, size_t len)
{
    char last[160] = "";
    if (rc == 0)
        return CB_OK;
    if (errpath)
        cb_python_last_line(errpath, last, sizeof(last));
    if (rc == -ETIMEDOUT) {
        snprintf(why, len, "%s: timeout after %g s (killed with its processes)", script, limit_s);
        return CB_TIMEOUT;
    }
    if (rc >= 128 && rc < 128 + NSIG) {
        const char *sig = sigabbrev_np(rc - 128);
        snprintf(why, len, "%s died of SIG%s", script, sig ? sig : "NAL");
        return CB_CRASHED;
    }
    if (rc < 0)
        snprintf(why, len, "%s: %s", script, strerror(-rc));
    else
        snprintf(why, len, "%s failed (exit %d): %s", script, rc,
                 last[0] ? last : "nothing on stderr");
    return CB_ERROR;
}

int cb_python_parse_probe(const char *line, int *major, int *minor, char *missing,
                          size_t missing_len)
{
    int micro, n = 0;
    if (sscanf(line, "%d.%d.%d%n", major, minor, &micro, &n) != 3 || *major < 0 || *minor < 0)
        return -1;
    const char *rest = line + n;
    if (*rest != '\t' && *rest != '\n' && *rest != '\0')
        return -1;
    if (*rest == '\t')
        rest++;
    snprintf(missing, missing_len, "%.*s", (int)strcspn(rest, "\n"), rest);
    return 0;
}

/* ---- the interpreter ---- */

typedef struct probe {
    int ok; /* it answered */
    int major, minor;
    char version[32];
    char missing[160];
    char fail[320]; /* why it did not answer */
} probe_t;

static void run_probe(const char *python, const char *script, const char *name, probe_t *pr)
{
    *pr = (probe_t){0};
    char errpath[64], out[256] = "";
    snprintf(errpath, sizeof(errpath), "/tmp/cb_pyprobe_%d.err", (int)getpid());
    char *argv[] = {(char *)python, (char *)script, "--probe", NULL};
    int rc = cb_helper_run(argv, out, sizeof(out), errpath, 30);
    if (rc == 0 &&
        cb_python_parse_probe(out, &pr->major, &pr->minor, pr->missing, sizeof(pr->missing)) == 0) {
        pr->ok = 1;
        snprintf(pr->version, sizeof(pr->version), "%.*s", (int)strcspn(out, "\t\n"), out);
    } else if (rc == 0) {
        snprintf(pr->fail, sizeof(pr->fail), "%s %s --probe printed no version: '%.60s'", python,
                 name, out);
    } else {
        char why[200];
        cb_python_status(name, rc, 30, errpath, why, sizeof(why));
        snprintf(pr->fail, sizeof(pr->fail), "%s could not start: %s", python, why);
    }
    unlink(errpath);
}

/* Chooses the interpreter: --python alone when given; else python3 on
 * PATH, or /usr/bin/python3 when PATH's lacks an optional module that it
 * has. */
static void choose(cb_exp_t *x, cb_python_run_t *p)
{
    char *cand[2] = {NULL, NULL};
    size_t nc = 0;
    if (p->python_arg) {
        int path = strchr(p->python_arg, '/') != NULL;
        cand[nc++] = path ? (access(p->python_arg, X_OK) == 0 ? strdup(p->python_arg) : NULL)
                          : cb_helper_find(p->python_arg);
        if (!cand[0]) {
            snprintf(p->why_buf, sizeof(p->why_buf), "--python %s: not found%s", p->python_arg,
                     path ? " (or not executable)" : " on PATH");
            p->why = p->why_buf;
            return;
        }
    } else {
        if ((cand[0] = cb_helper_find("python3")))
            nc++;
        if (access("/usr/bin/python3", X_OK) == 0) {
            char a[PATH_MAX], b[PATH_MAX];
            if (!nc || !realpath(cand[0], a) || !realpath("/usr/bin/python3", b) ||
                strcmp(a, b) != 0)
                cand[nc++] = strdup("/usr/bin/python3");
        }
        if (nc == 0) {
            p->why = "python3 not found on PATH";
            return;
        }
    }
    probe_t pr[2];
    int pick = -1;
    for (size_t i = 0; i < nc; i++) {
        if (!cand[i]) {
            snprintf(pr[i].fail, sizeof(pr[i].fail), "out of memory");
            pr[i].ok = 0;
            continue;
        }
        run_probe(cand[i], p->script, p->script_name, &pr[i]);
        if (pr[i].ok && (pr[i].major > 3 || (pr[i].major == 3 && pr[i].minor >= 8))) {
            if (pick < 0)
                pick = (int)i;
            if (!pr[i].missing[0]) {
                pick = (int)i;
                break;
            }
        }
    }
    if (pick < 0) {
        /* The first one's reason: an old interpreter, or one that fails. */
        if (pr[0].ok)
            snprintf(p->why_buf, sizeof(p->why_buf),
                     "%s is Python %s: the CPython rows need 3.8 or later (--python PATH)", cand[0],
                     pr[0].version);
        else
            snprintf(p->why_buf, sizeof(p->why_buf), "%s", pr[0].fail);
        p->why = p->why_buf;
        cb_exp_meta(x, "python_skipped", "%s", p->why);
    } else {
        p->python = cand[pick];
        cand[pick] = NULL;
        snprintf(p->version, sizeof(p->version), "%s", pr[pick].version);
        cb_exp_meta(x, "python", "%s", p->python);
        cb_exp_meta(x, "python_version", "%s", p->version);
        if (pr[pick].missing[0])
            cb_exp_meta(x, "python_missing", "%s", pr[pick].missing);
    }
    for (size_t i = 0; i < nc; i++)
        free(cand[i]);
}

const char *cb_exp_python(cb_exp_t *x, const char **why)
{
    cb_python_run_t *p = x->py;
    if (!p) {
        *why = "this experiment has no CPython side";
        return NULL;
    }
    if (p->no_python) {
        *why = "--no-python";
        return NULL;
    }
    if (!p->python && !p->why) {
        p->why_status = CB_SKIPPED;
        if (!p->script && !(p->script = cb_runner_find_data(x->argv0, p->def->python->script))) {
            snprintf(p->why_buf, sizeof(p->why_buf), "%s not found", p->def->python->script);
            p->why = p->why_buf;
        } else {
            choose(x, p);
        }
    }
    *why = p->why;
    return p->python;
}

/* ---- the points ---- */

static void make_spec(point_t *pt)
{
    const cb_config_key_t *k = &pt->cfg.key;
    int w = snprintf(pt->spec, sizeof(pt->spec), "%s/%s/%d/%ld/%s/", k->executor, k->workload,
                     (int)k->workers, (long)k->tasks, k->pin ? k->pin : "none");
    const struct cb_pin_plan *plan = pt->cfg.python_plan;
    if (!plan || plan->policy == CB_PIN_NONE || !plan->slots) {
        snprintf(pt->spec + w, sizeof(pt->spec) - (size_t)w, "-");
        return;
    }
    for (int i = 0; i < plan->nworkers && (size_t)w < sizeof(pt->spec) - 16; i++)
        w += snprintf(pt->spec + w, sizeof(pt->spec) - (size_t)w, "%s%d", i ? "," : "",
                      plan->slots[i].pu_os);
}

int cb_python_setup(cb_exp_t *x, cb_config_t *cfgs, size_t *n)
{
    cb_python_run_t *p = x->py;
    size_t k = 0, np = 0;
    for (size_t i = 0; i < *n; i++)
        np += cfgs[i].python != 0;
    if (!p) {
        if (np)
            fprintf(stderr, "%s: CPython points but no .python in the declaration: left out\n",
                    x->def->name);
    } else if (np) {
        p->points = calloc(np, sizeof(*p->points));
        if (!p->points)
            return -ENOMEM;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!cfgs[i].python) {
            cfgs[k++] = cfgs[i];
            continue;
        }
        if (!p || p->no_python)
            continue;
        point_t *pt = &p->points[p->npoints++];
        pt->cfg = cfgs[i];
        pt->cfg.key.experiment = x->def->name;
        make_spec(pt);
    }
    *n = k;
    if (!p || p->npoints == 0)
        return 0;
    const char *why;
    cb_exp_python(x, &why); /* chooses once */
    return 0;
}

double cb_python_expected_s(const cb_exp_t *x, int reps)
{
    const cb_python_run_t *p = x->py;
    if (!p || p->npoints == 0)
        return 0;
    int runs =
        p->def->python->reps > 0 && p->def->python->reps < reps ? p->def->python->reps : reps;
    double s = 0.3; /* the interpreter's start and imports */
    for (size_t i = 0; i < p->npoints; i++)
        s += p->points[i].cfg.expected_s;
    return s * runs;
}

/* ---- a repetition ---- */

static int add_failed(const cb_python_run_t *p, int rep, cb_results_t *r, cb_status_t st,
                      const char *why)
{
    for (size_t i = 0; i < p->npoints; i++)
        for (int m = 0; m < p->points[i].cfg.nmetrics; m++) {
            cb_sample_t s = {
                .key = p->points[i].cfg.key,
                .rep = rep,
                .metric = p->points[i].cfg.metrics[m].name,
                .value = NAN,
                .unit = p->points[i].cfg.metrics[m].unit,
                .status = st,
                .detail = why,
            };
            if (cb_results_add(r, &s) < 0)
                return -ENOMEM;
        }
    return 0;
}

static int same_point(const cb_config_key_t *a, const cb_config_key_t *b)
{
    return strcmp(a->executor, b->executor) == 0 && strcmp(a->workload, b->workload) == 0 &&
           a->workers == b->workers && a->tasks == b->tasks &&
           strcmp(a->pin ? a->pin : "none", b->pin ? b->pin : "none") == 0;
}

/* The script's rows of the points it was given, and an error row for each
 * declared metric it wrote none of. */
static int merge(const cb_python_run_t *p, int rep, const cb_results_t *py, cb_results_t *r)
{
    size_t stray = 0;
    const char *stray_name = NULL;
    for (size_t i = 0; i < cb_results_count(py); i++) {
        const cb_sample_t *s = cb_results_get(py, i);
        size_t j = 0;
        while (j < p->npoints && !same_point(&p->points[j].cfg.key, &s->key))
            j++;
        if (j == p->npoints) {
            if (!stray++)
                stray_name = s->key.executor;
            continue;
        }
        cb_sample_t t = *s;
        t.key = p->points[j].cfg.key;
        t.rep = rep;
        if (cb_results_add(r, &t) < 0)
            return -ENOMEM;
    }
    if (stray)
        fprintf(stderr, "%s: %s wrote %zu rows of points it was not given (%s ...): left out\n",
                p->def->name, p->script_name, stray, stray_name);
    for (size_t j = 0; j < p->npoints; j++)
        for (int m = 0; m < p->points[j].cfg.nmetrics; m++) {
            const char *metric = p->points[j].cfg.metrics[m].name;
            size_t i = 0;
            for (; i < cb_results_count(py); i++) {
                const cb_sample_t *s = cb_results_get(py, i);
                if (same_point(&p->points[j].cfg.key, &s->key) && strcmp(s->metric, metric) == 0)
                    break;
            }
            if (i < cb_results_count(py))
                continue;
            char why[200];
            snprintf(why, sizeof(why), "%s wrote no %s row for this point", p->script_name, metric);
            cb_sample_t s = {
                .key = p->points[j].cfg.key,
                .rep = rep,
                .metric = metric,
                .value = NAN,
                .unit = p->points[j].cfg.metrics[m].unit,
                .status = CB_ERROR,
                .detail = why,
            };
            if (cb_results_add(r, &s) < 0)
                return -ENOMEM;
        }
    return 0;
}

/* The script's command line: malloc'ed argv and the strings it points to. */
typedef struct args {
    char **v;
    size_t n, cap;
} args_t;

static int push(args_t *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 32;
        char **v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    if (!(a->v[a->n] = strdup(s)))
        return -ENOMEM;
    a->v[++a->n] = NULL;
    return 0;
}

static void free_args(args_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

static const char *meta_value(const cb_exp_t *x, const char *key)
{
    for (size_t i = 0; i + 1 < x->nmeta; i += 2)
        if (strcmp(x->meta[i], key) == 0)
            return x->meta[i + 1];
    return NULL;
}

static int build_args(const cb_exp_t *x, const cb_python_run_t *p, int rep, const char *out,
                      double limit, args_t *a)
{
    char buf[1024];
    int rc = push(a, p->python) || push(a, p->script) || (!out && push(a, "--calibrate")) ||
             push(a, "--experiment") || push(a, x->def->name);
    snprintf(buf, sizeof(buf), "%d", rep);
    if (out) /* else the calibration: no repetition, no CSV */
        rc = rc || push(a, "--rep") || push(a, buf) || push(a, "--out") || push(a, out);
    rc = rc || push(a, "--timeout");
    snprintf(buf, sizeof(buf), "%g", limit);
    rc = rc || push(a, buf);
    if (x->opts.quick)
        rc = rc || push(a, "--quick");
    for (size_t i = 0; i < x->def->nflags && !rc; i++) {
        const char *v = meta_value(x, x->def->flags[i].field);
        if (!v)
            continue;
        snprintf(buf, sizeof(buf), "%s=%s", x->def->flags[i].field, v);
        rc = push(a, "--param") || push(a, buf);
    }
    for (size_t i = 0; i < p->nextra && !rc; i++)
        rc = push(a, "--param") || push(a, p->extra[i]);
    for (size_t i = 0; i < p->npoints && !rc; i++)
        rc = push(a, "--point") || push(a, p->points[i].spec);
    return rc ? -ENOMEM : 0;
}

static int add_extra(cb_python_run_t *p, char *kv)
{
    char **e = realloc(p->extra, (p->nextra + 1) * sizeof(*e));
    if (!e) {
        free(kv);
        return -ENOMEM;
    }
    p->extra = e;
    p->extra[p->nextra++] = kv;
    return 0;
}

int cb_python_param(cb_exp_t *x, const char *key, const char *fmt, ...)
{
    cb_python_run_t *p = x->py;
    if (!p || !key[0] || strchr(key, '='))
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    char *v = NULL;
    int n = vasprintf(&v, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    char *kv = NULL;
    n = asprintf(&kv, "%s=%s", key, v);
    free(v);
    return n < 0 ? -ENOMEM : add_extra(p, kv);
}

int cb_python_parse_calibration(const char *out, int (*add)(void *, const char *, const char *),
                                void *ctx, char *bad, size_t len)
{
    int n = 0;
    for (const char *l = out; *l;) {
        size_t ll = strcspn(l, "\n");
        const char *eq = memchr(l, '=', ll);
        size_t k = 0;
        while (eq && l + k < eq && (isalnum((unsigned char)l[k]) || l[k] == '_'))
            k++;
        if (ll > 0) {
            if (!eq || k == 0 || l + k != eq) {
                snprintf(bad, len, "%.*s", (int)ll, l);
                return -1;
            }
            char key[128], val[512];
            snprintf(key, sizeof(key), "%.*s", (int)k, l);
            snprintf(val, sizeof(val), "%.*s", (int)(ll - k - 1), eq + 1);
            if (add(ctx, key, val) < 0)
                return -2;
            n++;
        }
        l += ll;
        if (*l == '\n')
            l++;
    }
    return n;
}

typedef struct calib_ctx {
    cb_exp_t *x;
    cb_python_run_t *p;
} calib_ctx_t;

static int calib_add(void *ctx, const char *key, const char *value)
{
    calib_ctx_t *c = ctx;
    char *kv = NULL;
    if (cb_exp_meta(c->x, key, "%s", value) < 0 || asprintf(&kv, "%s=%s", key, value) < 0)
        return -ENOMEM;
    return add_extra(c->p, kv);
}

/* The script's calibration, once (see cb_python_def_t.calibrate): its
 * KEY=VALUE lines into meta and every repetition's --param, or p->why set
 * with the status its failure gives every CPython row. Returns 0 or
 * -ENOMEM. */
static int calibrate(cb_exp_t *x, cb_python_run_t *p)
{
    p->calibrated = 1;
    if (!p->def->python->calibrate || p->npoints == 0 || p->why)
        return 0;
    int rc = p->def->python->calibrate(x);
    if (rc < 0)
        return rc;
    char name[160], errpath[64], out[4096] = "", bad[80];
    snprintf(name, sizeof(name), "%s --calibrate", p->script_name);
    snprintf(errpath, sizeof(errpath), "/tmp/cb_pycalib_%d.err", (int)getpid());
    double per = x->opts.timeout_s > 0 ? x->opts.timeout_s : x->run.timeout_s;
    double limit = per > 0 ? per + 10 : 0; /* one point's limit, plus the interpreter's start */
    args_t a = {0};
    if (build_args(x, p, -1, NULL, per, &a) < 0) {
        free_args(&a);
        return -ENOMEM;
    }
    rc = cb_helper_run(a.v, out, sizeof(out), errpath, limit);
    free_args(&a);
    cb_status_t st = cb_python_status(name, rc, limit, errpath, p->why_buf, sizeof(p->why_buf));
    unlink(errpath);
    if (st == CB_OK) {
        calib_ctx_t c = {x, p};
        int n = cb_python_parse_calibration(out, calib_add, &c, bad, sizeof(bad));
        if (n == -2)
            return -ENOMEM;
        st = CB_ERROR;
        if (n < 0)
            snprintf(p->why_buf, sizeof(p->why_buf), "%s printed '%s': expected KEY=VALUE lines",
                     name, bad);
        else if (n == 0)
            snprintf(p->why_buf, sizeof(p->why_buf), "%s printed no KEY=VALUE line", name);
        else
            st = CB_OK;
    }
    if (st != CB_OK) {
        p->why = p->why_buf;
        p->why_status = st;
    }
    return 0;
}

int cb_python_rep(cb_exp_t *x, int rep, cb_results_t *r)
{
    cb_python_run_t *p = x->py;
    if (p && !p->calibrated) {
        int crc = calibrate(x, p);
        if (crc < 0)
            return crc;
    }
    if (!p || rep < 0 || p->npoints == 0 ||
        (p->def->python->reps > 0 && rep >= p->def->python->reps))
        return 0;
    if (p->why)
        return add_failed(p, rep, r, p->why_status, p->why);
    const char *td = getenv("TMPDIR");
    char tmp[4096], why[320] = "";
    snprintf(tmp, sizeof(tmp), "%s/cb_py_XXXXXX", td && *td ? td : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot make a temp file in %s (TMPDIR): %s",
                 td && *td ? td : "/tmp", strerror(errno));
        return add_failed(p, rep, r, CB_ERROR, why);
    }
    close(fd);
    char errpath[sizeof(tmp) + 8], out[256];
    snprintf(errpath, sizeof(errpath), "%s.err", tmp);
    /* Measured like the configurations: each point gets the limit, plus the
     * interpreter's start. */
    double per = x->opts.timeout_s > 0 ? x->opts.timeout_s : x->run.timeout_s;
    double limit = per > 0 ? per * (double)p->npoints + 10 : 0;
    args_t a = {0};
    if (build_args(x, p, rep, tmp, per, &a) < 0) {
        free_args(&a);
        unlink(tmp);
        return -ENOMEM;
    }
    int rc = cb_helper_run(a.v, out, sizeof(out), errpath, limit);
    free_args(&a);
    cb_status_t st = cb_python_status(p->script_name, rc, limit, errpath, why, sizeof(why));
    unlink(errpath);
    if (rc == 3) /* rows written, some failed: they say why */
        st = CB_OK;
    cb_results_t *py = NULL;
    if (st == CB_OK) {
        char err[256];
        if (!(py = cb_results_new())) {
            unlink(tmp);
            return -ENOMEM;
        }
        if (cb_results_read_raw(py, tmp, err, sizeof(err)) < 0) {
            snprintf(why, sizeof(why), "%s wrote an unreadable CSV: %.200s", p->script_name, err);
            st = CB_ERROR;
        }
    }
    unlink(tmp);
    int arc = st == CB_OK ? merge(p, rep, py, r) : add_failed(p, rep, r, st, why);
    cb_results_free(py);
    return arc;
}

void cb_python_free(cb_python_run_t *p)
{
    if (!p)
        return;
    free(p->python_arg);
    free(p->python);
    free(p->script);
    free(p->points);
    for (size_t i = 0; i < p->nextra; i++)
        free(p->extra[i]);
    free(p->extra);
    free(p);
}
