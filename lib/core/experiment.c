#include "lib/core/experiment.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/core/clock.h"
#include "lib/core/python.h"

/* ---- flags ---- */

typedef struct flag_ctx {
    const cb_flag_t *f;
    void *params;
    unsigned char *given;
} flag_ctx_t;

static int set_flag(void *ctx, const char *arg, char *err, size_t len)
{
    const flag_ctx_t *c = ctx;
    const cb_flag_t *f = c->f;
    void *field = (char *)c->params + f->offset;
    *c->given = 1;
    switch (f->type) {
    case CB_FLAG_T_BOOL:
        *(int *)field = 1;
        return 0;
    case CB_FLAG_T_LONG:
        return cb_parse_long(f->name, arg, (long)f->lo, (long)f->hi, field, err, len);
    case CB_FLAG_T_DOUBLE:
        return cb_parse_double(f->name, arg, f->lo, f->hi, field, err, len);
    case CB_FLAG_T_LIST: {
        cb_long_list_t *l = field;
        return cb_parse_long_list(f->name, arg, (long)f->lo, (long)f->hi, NULL, &l->v, &l->n, err,
                                  len);
    }
    case CB_FLAG_T_CUSTOM:
        return f->parse(field, arg, err, len);
    }
    return -1;
}

/* Returns 0, or -1 when a default list does not parse (a bad declaration,
 * named on stderr). */
static int apply_defaults(const cb_experiment_def_t *d, void *params, const unsigned char *given,
                          int quick)
{
    for (size_t i = 0; i < d->nflags; i++) {
        const cb_flag_t *f = &d->flags[i];
        const char *dl = quick && f->quick_list ? f->quick_list : f->def_list;
        if (f->type == CB_FLAG_T_LIST && !given[i] && dl) {
            cb_long_list_t *l = (cb_long_list_t *)((char *)params + f->offset);
            char err[256];
            if (cb_parse_long_list(f->name, dl, (long)f->lo, (long)f->hi, NULL, &l->v, &l->n, err,
                                   sizeof(err)) < 0) {
                fprintf(stderr, "%s: default of %s\n", d->name, err);
                return -1;
            }
            continue;
        }
        double v = quick ? f->quick : f->def;
        if (given[i] || isnan(v))
            continue;
        void *field = (char *)params + f->offset;
        if (f->type == CB_FLAG_T_LONG)
            *(long *)field = (long)v;
        else if (f->type == CB_FLAG_T_DOUBLE)
            *(double *)field = v;
    }
    return 0;
}

static void free_lists(const cb_experiment_def_t *d, void *params)
{
    for (size_t i = 0; params && i < d->nflags; i++)
        if (d->flags[i].type == CB_FLAG_T_LIST) {
            cb_long_list_t *l = (cb_long_list_t *)((char *)params + d->flags[i].offset);
            free(l->v);
            *l = (cb_long_list_t){0};
        }
}

static int meta_flags(cb_exp_t *x)
{
    for (size_t i = 0; i < x->def->nflags; i++) {
        const cb_flag_t *f = &x->def->flags[i];
        const void *field = (const char *)x->params + f->offset;
        char buf[512] = "";
        switch (f->type) {
        case CB_FLAG_T_BOOL:
            snprintf(buf, sizeof(buf), "%d", *(const int *)field);
            break;
        case CB_FLAG_T_LONG:
            snprintf(buf, sizeof(buf), "%ld", *(const long *)field);
            break;
        case CB_FLAG_T_DOUBLE:
            snprintf(buf, sizeof(buf), "%g", *(const double *)field);
            break;
        case CB_FLAG_T_LIST: {
            const cb_long_list_t *l = field;
            size_t w = 0;
            for (size_t k = 0; k < l->n && w < sizeof(buf); k++)
                w += (size_t)snprintf(buf + w, sizeof(buf) - w, "%s%ld", k ? "," : "", l->v[k]);
            break;
        }
        case CB_FLAG_T_CUSTOM:
            if (!f->format)
                continue;
            f->format(field, buf, sizeof(buf));
            break;
        }
        if (cb_exp_meta(x, f->field, "%s", buf) < 0)
            return -ENOMEM;
    }
    return 0;
}

int cb_exp_meta(cb_exp_t *x, const char *key, const char *fmt, ...)
{
    char **m = realloc(x->meta, (x->nmeta + 3) * sizeof(*m));
    if (!m)
        return -ENOMEM;
    x->meta = m;
    va_list ap;
    va_start(ap, fmt);
    char *v = NULL;
    int n = vasprintf(&v, fmt, ap);
    va_end(ap);
    char *k = strdup(key);
    if (n < 0 || !k) {
        free(k);
        if (n >= 0)
            free(v);
        return -ENOMEM;
    }
    m[x->nmeta++] = k;
    m[x->nmeta++] = v;
    m[x->nmeta] = NULL;
    x->run.meta = (const char *const *)m; /* the runner writes them at the end */
    return 0;
}

int cb_exp_fact(cb_exp_t *x, const char *name, double value, const char *unit, double reference,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    int rc = cb_facts_add(&x->run.facts, name, value, unit, reference, "%s", text);
    free(text);
    return rc;
}

/* ---- axes ---- */

static int cb_name_in(const char *const *list, const char *name)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

static size_t axis_names(const cb_axis_t *a, const cb_name_t **out)
{
    if (a->names_fn)
        return a->names_fn(out);
    *out = a->names;
    return a->n;
}

/* The names an axis accepts (all), or its defaults, NULL-terminated and
 * pointing into the axis's table. */
static const char **axis_list(const cb_axis_t *a, int defaults_only)
{
    const cb_name_t *names;
    size_t n = axis_names(a, &names);
    const char **l = calloc(n + 1, sizeof(*l));
    size_t k = 0;
    for (size_t i = 0; l && i < n; i++) {
        const char *nm = names[i].name;
        if (defaults_only && (names[i].hidden || (a->defaults && !cb_name_in(a->defaults, nm)) ||
                              (a->is_default && !a->is_default(nm))))
            continue;
        l[k++] = nm;
    }
    return l;
}

static void print_axis(const char *heading, const cb_axis_t *a, int hidden, FILE *out)
{
    const cb_name_t *names;
    size_t n = axis_names(a, &names), shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (names[i].hidden != hidden)
            continue;
        if (shown++ == 0)
            fprintf(out, "%s%s:\n", hidden ? "\n" : "", heading);
        const char *why = names[i].unavailable ? names[i].unavailable() : NULL;
        fprintf(out, "  %-18s %s%s%s\n", names[i].name, names[i].summary,
                why ? " -- unavailable: " : "", why ? why : "");
    }
}

void cb_exp_print_list(const cb_experiment_def_t *def, FILE *out)
{
    print_axis("executors", &def->executors, 0, out);
    fprintf(out, "\n");
    print_axis("workloads", &def->workloads, 0, out);
    print_axis("workloads for testing the harness itself (never run by default)", &def->workloads,
               1, out);
}

/* ---- pins and plans ---- */

long *cb_exp_workers_one(cb_exp_t *x, size_t *n)
{
    (void)x;
    long *w = calloc(1, sizeof(*w));
    if (w)
        w[0] = 1;
    *n = w ? 1 : 0;
    return w;
}

int cb_exp_flag_given(const cb_exp_t *x, const char *name)
{
    for (size_t i = 0; i < x->def->nflags; i++)
        if (strcmp(x->def->flags[i].name, name) == 0)
            return x->given[i] != 0;
    return 0;
}

size_t cb_exp_pins_given(cb_exp_t *x, cb_pin_choice_t *out)
{
    out[0] = (cb_pin_choice_t){x->opts.pin, cb_runner_pin_name(&x->opts)};
    return 1;
}

size_t cb_exp_pins_and_none(cb_exp_t *x, cb_pin_choice_t *out)
{
    size_t n = cb_exp_pins_given(x, out);
    if (x->opts.pin != CB_PIN_NONE)
        out[n++] = (cb_pin_choice_t){CB_PIN_NONE, "none"};
    return n;
}

const cb_pin_plan_t *cb_exp_plan(cb_exp_t *x, const cb_pin_choice_t *pin, int workers)
{
    /* Each plan is allocated on its own: configurations keep pointers to
     * them while more are added (a realloc'ed array would move them). */
    if (x->nplans == x->cap_plans) {
        size_t cap = x->cap_plans ? 2 * x->cap_plans : 16;
        cb_pin_plan_t **p = realloc(x->plans, cap * sizeof(*p));
        if (!p) {
            fprintf(stderr, "%s: out of memory\n", x->def->name);
            return NULL;
        }
        x->plans = p;
        x->cap_plans = cap;
    }
    cb_pin_plan_t *plan = calloc(1, sizeof(*plan));
    if (!plan) {
        fprintf(stderr, "%s: out of memory\n", x->def->name);
        return NULL;
    }
    cb_opts_t o = x->opts;
    if (pin)
        o.pin = pin->policy;
    if (cb_runner_plan(&o, x->topo, workers, plan) != 0) {
        free(plan);
        return NULL;
    }
    return x->plans[x->nplans++] = plan;
}

/* ---- the main ---- */

typedef struct built {
    cb_config_t *cfgs;
    char *ctx;
    size_t n;
} built_t;

static void free_exp(cb_exp_t *x)
{
    for (size_t i = 0; i < x->nplans; i++) {
        cb_pin_plan_free(x->plans[i]);
        free(x->plans[i]);
    }
    free(x->plans);
    for (size_t i = 0; i < x->nmeta; i++)
        free(x->meta[i]);
    free(x->meta);
    free(x->workers);
    free(x->out_dir);
    free_lists(x->def, x->params);
    free(x->params);
    free(x->given);
    free(x->params_keys);
    cb_python_free(x->py);
    x->py = NULL;
    if (x->topo)
        cb_topo_free(x->topo);
    cb_cli_free(&x->opts);
}

/* Enumerates the points; each build() fills at most one configuration.
 * Returns 0, CB_EXIT_USAGE or a negative errno. */
static int build_all(cb_exp_t *x, built_t *b)
{
    const cb_experiment_def_t *d = x->def;
    cb_pin_choice_t pins[4];
    size_t np = d->pins ? d->pins(x, pins) : cb_exp_pins_given(x, pins);
    size_t nv = d->variants ? d->variants(x) : 1;
    const char **dex = axis_list(&d->executors, 1), **dwl = axis_list(&d->workloads, 1);
    size_t ne, nw;
    const char *const *sel = cb_cli_names(x->opts.executors, dex, &ne);
    const char *const *wls = cb_cli_names(x->opts.workloads, dwl, &nw);
    /* The reference first, then the selection without it. */
    const char **execs = calloc(ne + 2, sizeof(*execs));
    size_t k0 = 0;
    if (execs && d->executors.always)
        execs[k0++] = d->executors.always;
    for (size_t i = 0; execs && i < ne; i++)
        if (!d->executors.always || strcmp(sel[i], d->executors.always) != 0)
            execs[k0++] = sel[i];
    ne = k0;
    size_t cap = np * ne * nw * x->nworkers * nv + 1;
    b->cfgs = calloc(cap, sizeof(*b->cfgs));
    b->ctx = calloc(cap, d->ctx_size ? d->ctx_size : 1);
    int rc = !dex || !dwl || !execs || !b->cfgs || !b->ctx ? -ENOMEM : 0;
    for (size_t pi = 0; pi < np && rc == 0; pi++)
        for (size_t wi = 0; wi < nw && rc == 0; wi++)
            for (size_t ei = 0; ei < ne && rc == 0; ei++)
                for (size_t k = 0; k < x->nworkers && rc == 0; k++)
                    for (size_t v = 0; v < nv && rc == 0; v++) {
                        cb_point_t pt = {execs[ei], wls[wi], x->workers[k], k, v, &pins[pi]};
                        cb_config_t *c = &b->cfgs[b->n];
                        c->ctx = b->ctx + b->n * d->ctx_size;
                        rc = d->build(x, &pt, c);
                        if (rc == CB_BUILD_ADD)
                            b->n++;
                        else if (rc == CB_BUILD_SKIP)
                            rc = 0, memset(c->ctx, 0, d->ctx_size), *c = (cb_config_t){0};
                    }
    free(execs);
    free(dex);
    free(dwl);
    return rc;
}

/* The keys --append must find equal in the base: every flag with a value
 * (sizes, times, lists). The switches (BOOL) choose rows, not what a row
 * measures. */
static const char *const *params_of(const cb_experiment_def_t *d, const char **keys)
{
    size_t k = 0;
    for (size_t i = 0; keys && i < d->nflags; i++)
        if (d->flags[i].type != CB_FLAG_T_BOOL)
            keys[k++] = d->flags[i].field;
    if (keys)
        keys[k] = NULL;
    return keys;
}

/* A repetition's CPython points, then the declaration's own rows (which
 * may derive figures from the repetition's C and CPython rows). */
static int per_rep(int rep, cb_results_t *r, const cb_opts_t *o, void *ctx)
{
    (void)o;
    cb_exp_t *x = ctx;
    int prc = cb_python_rep(x, rep, r);
    int rc = x->def->per_rep ? x->def->per_rep(x, rep, r) : 0;
    return prc < 0 ? prc : rc;
}

static void verdict(const cb_results_t *r, FILE *out, void *ctx)
{
    cb_exp_t *x = ctx;
    if (x->def->verdict)
        x->def->verdict(x, r, out);
    if (x->tutorial) {
        double took = (double)(cb_now_ns() - x->start_ns) / 1e9;
        if (x->tutorial_est_s > 0)
            fprintf(out, "\n--tutorial: took %.0f s, estimated %.0f s (%.2fx the estimate)\n", took,
                    x->tutorial_est_s, took / x->tutorial_est_s);
        else
            fprintf(out, "\n--tutorial: took %.0f s\n", took);
    }
}

int cb_exp_reps(const cb_exp_t *x, int *warmup)
{
    *warmup = x->opts.warmup >= 0 ? x->opts.warmup : x->run.warmup;
    return x->opts.reps > 0 ? x->opts.reps : x->run.reps;
}

int cb_exp_tutorial(const cb_exp_t *x)
{
    return x->tutorial;
}

static int no_op(void *ctx, const char *arg, char *err, size_t len)
{
    (void)ctx, (void)arg, (void)err, (void)len;
    return 0;
}

/* --tutorial: the declaration's flags, then the user's (without it), into
 * *out (malloc'ed; NULL when not given). Returns -1 to go on, or an exit
 * status after the one line. */
static int tutorial_argv(const cb_experiment_def_t *d, int argc, char **argv, char ***out,
                         int *outc)
{
    int given = 0, quick = 0;
    *out = NULL;
    for (int i = 1; i < argc; i++) {
        given |= strcmp(argv[i], "--tutorial") == 0;
        quick |= strcmp(argv[i], "--quick") == 0;
    }
    if (!given)
        return -1;
    if (!d->tutorial) {
        fprintf(stderr,
                "%s: --tutorial: this experiment measures no experiment of the tutorials as "
                "written (docs/tutorials.md lists those that do)\n",
                d->name);
        return CB_EXIT_USAGE;
    }
    if (quick) {
        fprintf(stderr,
                "%s: --tutorial: not with --quick (--tutorial runs the tutorials' own "
                "sizes, --quick CI's)\n",
                d->name);
        return CB_EXIT_USAGE;
    }
    int nt = 0;
    while (d->tutorial[nt])
        nt++;
    char **v = calloc((size_t)(argc + nt + 1), sizeof(*v));
    if (!v) {
        fprintf(stderr, "%s: could not run: out of memory\n", d->name);
        return CB_EXIT_NORUN;
    }
    int k = 0;
    v[k++] = argv[0];
    for (int i = 0; i < nt; i++)
        v[k++] = (char *)d->tutorial[i];
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--tutorial") != 0)
            v[k++] = argv[i];
    v[k] = NULL;
    *out = v;
    *outc = k;
    return -1;
}

/* --tutorial's estimate from the configurations' expected_s: each over the
 * repetitions it runs in (warm-ups included, or its own reps), the CPython
 * points over the script's runs. */
static double expected_s(cb_exp_t *x, const cb_config_t *cfgs, size_t n, char *how, size_t len)
{
    int warmup, reps = cb_exp_reps(x, &warmup);
    double s = cb_python_expected_s(x, reps);
    for (size_t i = 0; i < n; i++) {
        int runs = cfgs[i].reps > 0 ? (cfgs[i].reps < reps ? cfgs[i].reps : reps) : reps + warmup;
        s += cfgs[i].expected_s * runs;
    }
    snprintf(how, len, "%s; %d repetition(s), %d warm-up", x->def->tutorial_how, reps, warmup);
    return s > 0 ? s : -1;
}

int cb_experiment_main(const cb_experiment_def_t *d, int argc, char **argv)
{
    cb_exp_t x = {.def = d, .argv0 = argv[0]};
    built_t b = {0};
    int rc = CB_EXIT_NORUN;
    x.params = calloc(1, d->params_size ? d->params_size : 1);
    x.given = calloc(d->nflags + 1, 1);
    x.params_keys = calloc(d->nflags + 1, sizeof(*x.params_keys));
    int oom = 0;
    x.py = cb_python_new(d, &oom);
    cb_cli_extra_t *extra = calloc(d->nflags + 4, sizeof(*extra));
    char **targv = NULL;
    int targc = 0;
    flag_ctx_t *fctx = calloc(d->nflags + 1, sizeof(*fctx));
    const char **all_e = axis_list(&d->executors, 0), **all_w = axis_list(&d->workloads, 0);
    if (oom || !x.params || !x.given || !x.params_keys || !extra || !fctx || !all_e || !all_w) {
        fprintf(stderr, "%s: could not run: out of memory\n", d->name);
        goto out_nocli;
    }
    for (size_t i = 0; i < d->nflags; i++) {
        fctx[i] = (flag_ctx_t){&d->flags[i], x.params, &x.given[i]};
        extra[i] = (cb_cli_extra_t){d->flags[i].name,
                                    d->flags[i].type != CB_FLAG_T_BOOL,
                                    d->flags[i].metavar,
                                    d->flags[i].help,
                                    set_flag,
                                    &fctx[i]};
    }
    cb_cli_spec_t spec = {
        .prog = d->name,
        .summary = d->summary,
        .extra = extra,
        .nextra = d->nflags + cb_python_flags(x.py, extra + d->nflags),
        .executor_names = all_e,
        .workload_names = all_w,
    };
    if (d->tutorial)
        extra[spec.nextra++] = (cb_cli_extra_t){
            "tutorial",
            0,
            NULL,
            "the tutorials' own experiment, sizes as they wrote them (not with --quick); says "
            "first how long it will take",
            no_op,
            NULL};
    if ((rc = tutorial_argv(d, argc, argv, &targv, &targc)) >= 0)
        goto out_nocli;
    x.tutorial = targv != NULL;
    rc = cb_runner_start(&spec, targv ? targc : argc, targv ? targv : argv, &x.opts, &x.topo);
    if (rc >= 0) {
        x.topo = NULL; /* the options are freed already */
        memset(&x.opts, 0, sizeof(x.opts));
        goto out_nocli;
    }
    if (x.opts.list) {
        cb_exp_print_list(d, stdout);
        rc = CB_EXIT_OK;
        goto out;
    }
    rc = CB_EXIT_NORUN;
    if (apply_defaults(d, x.params, x.given, x.opts.quick) < 0)
        goto out;
    x.run = (cb_experiment_t){
        .name = d->name,
        .plot = d->plot,
        .reps = x.opts.quick && d->quick_reps ? d->quick_reps
                : d->reps                     ? d->reps
                                              : 5,
        .warmup = d->no_warmup ? 0 : 1,
        .timeout_s = d->timeout_s > 0 ? d->timeout_s : 60,
        .derive_speedup = d->derive_speedup,
    };
    x.out_dir = cb_cli_out_dir(&x.opts);
    x.workers = d->worker_counts ? d->worker_counts(&x, &x.nworkers)
                                 : cb_cli_worker_counts(&x.opts, x.topo, &x.nworkers);
    rc = CB_EXIT_NORUN;
    if (!x.out_dir || !x.workers) {
        fprintf(stderr, "%s: could not run: out of memory\n", d->name);
        goto out;
    }
    /* prepare may settle defaults that depend on others; meta then records
     * what runs. */
    if (d->prepare && (rc = d->prepare(&x)) >= 0)
        goto out;
    rc = CB_EXIT_NORUN;
    if (meta_flags(&x) < 0) {
        fprintf(stderr, "%s: could not run: out of memory\n", d->name);
        goto out;
    }
    rc = build_all(&x, &b);
    if (rc < 0) {
        fprintf(stderr, "%s: could not run: %s\n", d->name, strerror(-rc));
        rc = CB_EXIT_NORUN;
        goto out;
    }
    if (rc != 0)
        goto out;
    if (cb_python_setup(&x, b.cfgs, &b.n) < 0) {
        fprintf(stderr, "%s: could not run: out of memory\n", d->name);
        rc = CB_EXIT_NORUN;
        goto out;
    }
    if (b.n == 0 && cb_python_points(&x) == 0 &&
        !(d->per_rep && d->per_rep_rows && d->per_rep_rows(&x))) {
        fprintf(stderr,
                "%s: nothing to run: no configuration matches these --executors and "
                "--workloads (see --list)\n",
                d->name);
        rc = CB_EXIT_USAGE;
        goto out;
    }
    x.tutorial_est_s = -1;
    if (x.tutorial) {
        char how[256] = "";
        x.tutorial_est_s = d->tutorial_estimate ? d->tutorial_estimate(&x, how, sizeof(how))
                           : d->tutorial_how    ? expected_s(&x, b.cfgs, b.n, how, sizeof(how))
                                                : -1;
        printf("%s --tutorial: the tutorials' own sizes;", d->name);
        if (x.tutorial_est_s > 0)
            printf(" expected to take about %.0f s on this machine (%s)\n", x.tutorial_est_s, how);
        else
            printf(" its duration here is not estimated\n");
        fflush(stdout);
        cb_exp_meta(&x, "tutorial", "1");
        cb_exp_meta(&x, "tutorial_estimate_s", "%.1f", x.tutorial_est_s);
    }
    x.start_ns = cb_now_ns();
    x.run.configs = b.cfgs;
    x.run.nconfigs = b.n;
    x.run.per_rep = d->per_rep || cb_python_points(&x) ? per_rep : NULL;
    x.run.per_rep_ctx = &x;
    x.run.verdict = d->verdict || x.tutorial ? verdict : NULL;
    x.run.verdict_ctx = &x;
    x.run.meta = (const char *const *)x.meta;
    x.run.params = params_of(d, x.params_keys);
    rc = cb_runner_run(&x.run, &x.opts, x.topo, argc, argv);
out:
    if (d->finish)
        d->finish(&x);
out_nocli:
    free(targv);
    free(b.cfgs);
    free(b.ctx);
    free(extra);
    free(fctx);
    free(all_e);
    free(all_w);
    free_exp(&x);
    return rc;
}
