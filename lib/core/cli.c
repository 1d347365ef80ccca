#include "lib/core/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/export.h"

#include "lib/core/cb_version.h"

#define MAX_WORKERS 4096L
#define MAX_TASKS 100000000L

enum {
    OPT_EXECUTORS = 1000,
    OPT_WORKLOADS,
    OPT_WORKERS,
    OPT_TASKS,
    OPT_REPS,
    OPT_WARMUP,
    OPT_PIN,
    OPT_PLAN,
    OPT_QUICK,
    OPT_OUT,
    OPT_TIMEOUT,
    OPT_NO_PLOT,
    OPT_LIST,
    OPT_VERSION,
    OPT_HELP,
    OPT_HISTORY,
    OPT_GIL,
    OPT_GIL_INTERVAL,
    OPT_APPEND,
    OPT_EXPORT,
    OPT_NO_COUNTERS,
    OPT_CHECK_SYSTEM,
    OPT_EXTRA0, /* the experiment's own flags follow */
};

static const struct {
    const char *name;
    int has_arg;
    int val;
    const char *metavar;
    const char *help;
} common[] = {
    {"executors", 1, OPT_EXECUTORS, "LIST", "comma list of executors (default: all that apply)"},
    {"workloads", 1, OPT_WORKLOADS, "LIST", "comma list of workloads (default: the experiment's)"},
    {"workers", 1, OPT_WORKERS, "LIST", "comma list of counts, or cores / pus (default cores)"},
    {"tasks", 1, OPT_TASKS, "N", "tasks per configuration (default: the experiment's)"},
    {"reps", 1, OPT_REPS, "N", "measured repetitions (default 5)"},
    {"warmup", 1, OPT_WARMUP, "N", "unmeasured warm-up repetitions (default 1)"},
    {"pin", 1, OPT_PIN, "POLICY",
     "none, compact, scatter or a PU list like 0,2,4-7 (default compact)"},
    {"plan", 0, OPT_PLAN, NULL, "print the topology and the pin plan, run nothing"},
    {"quick", 0, OPT_QUICK, NULL, "CI-sized run: same shape, small sizes"},
    {"out", 1, OPT_OUT, "DIR", "where results go (default results/ of the workspace)"},
    {"timeout", 1, OPT_TIMEOUT, "SEC", "per-configuration limit; over it: killed, status timeout"},
    {"no-plot", 0, OPT_NO_PLOT, NULL, "skip gnuplot"},
    {"no-counters", 0, OPT_NO_COUNTERS, NULL,
     "do not count the kernel's events (task-clock, context switches, ...) per configuration"},
    {"check-system", 0, OPT_CHECK_SYSTEM, NULL,
     "print what on this machine can disturb a measurement, run nothing (exit 0: nothing to "
     "warn about, 1: warnings)"},
    {"list", 0, OPT_LIST, NULL, "list executors and workloads"},
    {"version", 0, OPT_VERSION, NULL, "print version and git revision"},
    {"help", 0, OPT_HELP, NULL, "this help"},
    {"history", 1, OPT_HISTORY, "FILE",
     "append the summary to a history CSV (e.g. results/history.csv)"},
    {"gil", 0, OPT_GIL, NULL, "add the interpreter-lock emulation rows (+gil)"},
    {"gil-interval", 1, OPT_GIL_INTERVAL, "MS", "switch interval of the emulated lock (default 5)"},
    {"append", 0, OPT_APPEND, NULL, "add to an existing CSV whose header and .meta match"},
    {"export", 1, OPT_EXPORT, "FORMAT=FILE",
     "also write the run as json, bmf (Bencher), gbench (Google Benchmark JSON), md, "
     "gab-smaller or gab-bigger (github-action-benchmark); repeatable"},
};
#define NCOMMON (sizeof(common) / sizeof(common[0]))

static void usage(const cb_cli_spec_t *spec, FILE *out)
{
    fprintf(out, "usage: %s [flags]\n%s\n\nflags:\n", spec->prog, spec->summary);
    for (size_t i = 0; i < NCOMMON; i++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", common[i].name, common[i].metavar ? " " : "",
                 common[i].metavar ? common[i].metavar : "");
        fprintf(out, "  %-24s %s\n", left, common[i].help);
    }
    for (size_t i = 0; i < spec->nextra; i++) {
        const cb_cli_extra_t *x = &spec->extra[i];
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", x->name, x->has_arg ? " " : "",
                 x->has_arg && x->metavar ? x->metavar : "");
        fprintf(out, "  %-24s %s\n", left, x->help);
    }
    fprintf(out,
            "\nexit status: 0 all ok, 1 could not run, 2 bad usage or input, 3 results written but "
            "some configurations failed, 130 interrupted\n");
}

int cb_parse_long(const char *flag, const char *s, long lo, long hi, long *out, char *err,
                  size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    /* strtol accepts leading spaces and a sign; a count is digits only. */
    int digits_only = s[0] >= '0' && s[0] <= '9';
    if (!digits_only || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
        snprintf(err, errlen, "--%s: bad value '%s': expected an integer from %ld to %ld", flag, s,
                 lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cb_parse_double(const char *flag, const char *s, double lo, double hi, double *out, char *err,
                    size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int starts_ok = (s[0] >= '0' && s[0] <= '9') || s[0] == '.';
    if (!starts_ok || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        snprintf(err, errlen, "--%s: bad value '%s': expected a number from %g to %g", flag, s, lo,
                 hi);
        return -1;
    }
    *out = v;
    return 0;
}

static void free_list(char **l)
{
    if (!l)
        return;
    for (char **p = l; *p; p++)
        free(*p);
    free(l);
}

/* Splits a comma list; every item must be in names (when names is set). */
static int parse_names(const char *flag, const char *arg, const char *const *names, char ***out,
                       char *err, size_t errlen)
{
    size_t cap = 1;
    for (const char *p = arg; *p; p++)
        cap += *p == ',';
    char **l = calloc(cap + 1, sizeof(*l));
    char *copy = strdup(arg);
    if (!l || !copy)
        goto nomem;
    size_t n = 0;
    char *save = NULL;
    if (arg[0] == '\0' || arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,"))
        goto bad_list;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int known = names == NULL;
        for (const char *const *q = names; q && *q && !known; q++)
            known = strcmp(*q, tok) == 0;
        if (!known) {
            int w = snprintf(err, errlen, "--%s: unknown name '%s': expected one of", flag, tok);
            for (const char *const *q = names; *q && w > 0 && (size_t)w < errlen; q++)
                w += snprintf(err + w, errlen - (size_t)w, "%s%s", q == names ? " " : ", ", *q);
            goto fail;
        }
        for (size_t k = 0; k < n; k++)
            if (strcmp(l[k], tok) == 0) {
                snprintf(err, errlen,
                         "--%s: '%s' given twice in '%s': name each once (--reps repeats a "
                         "configuration)",
                         flag, tok, arg);
                goto fail;
            }
        if (!(l[n++] = strdup(tok)))
            goto nomem;
    }
    free(copy);
    free_list(*out);
    *out = l;
    return 0;
bad_list:
    snprintf(err, errlen, "--%s: bad list '%s': expected names separated by single commas", flag,
             arg);
    goto fail;
nomem:
    snprintf(err, errlen, "--%s: out of memory", flag);
fail:
    free(copy);
    free_list(l);
    return -1;
}

int cb_parse_long_list(const char *flag, const char *arg, long lo, long hi, const char *also,
                       long **out, size_t *n, char *err, size_t errlen)
{
    size_t cap = 1;
    for (const char *p = arg; *p; p++)
        cap += *p == ',';
    long *v = calloc(cap, sizeof(*v));
    char *copy = strdup(arg);
    if (!v || !copy) {
        free(v);
        free(copy);
        snprintf(err, errlen, "--%s: out of memory", flag);
        return -1;
    }
    size_t k = 0;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char one[32];
        if (cb_parse_long(flag, p, lo, hi, &v[k], one, sizeof(one)) < 0) {
            snprintf(err, errlen,
                     "--%s: bad value '%s' in '%s': expected counts from %ld to %ld separated "
                     "by commas%s%s",
                     flag, p, arg, lo, hi, also ? ", or " : "", also ? also : "");
            free(v);
            free(copy);
            return -1;
        }
        k++;
        if (!comma)
            break;
        p = comma + 1;
    }
    free(copy);
    free(*out);
    *out = v;
    *n = k;
    return 0;
}

static int parse_workers(const char *arg, cb_opts_t *o, char *err, size_t errlen)
{
    if (strcmp(arg, "cores") == 0 || strcmp(arg, "pus") == 0) {
        o->workers_kind = arg[0] == 'c' ? CB_WORKERS_CORES : CB_WORKERS_PUS;
        return 0;
    }
    if (cb_parse_long_list("workers", arg, 1, MAX_WORKERS, "cores or pus", &o->workers,
                           &o->nworkers, err, errlen) < 0)
        return -1;
    o->workers_kind = CB_WORKERS_LIST;
    return 0;
}

/* --export FORMAT=FILE: checked now (format, folder), and no file twice. */
static int add_export(cb_opts_t *o, const char *arg, char *err, size_t errlen)
{
    cb_export_format_t fmt;
    const char *path;
    if (cb_export_check(arg, &fmt, &path, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < o->nexports; i++) {
        const char *other = strchr(o->exports[i], '=') + 1;
        struct stat a, b;
        if (strcmp(other, path) == 0 || (stat(other, &a) == 0 && stat(path, &b) == 0 &&
                                         a.st_dev == b.st_dev && a.st_ino == b.st_ino)) {
            snprintf(err, errlen, "--export %s: already the file of the %.*s export", arg,
                     (int)(strchr(o->exports[i], '=') - o->exports[i]), o->exports[i]);
            return -1;
        }
    }
    char **l = realloc(o->exports, (o->nexports + 2) * sizeof(*l));
    if (!l || !(l[o->nexports] = strdup(arg))) {
        if (l)
            o->exports = l;
        snprintf(err, errlen, "--export: out of memory");
        return -1;
    }
    o->exports = l;
    l[++o->nexports] = NULL;
    return 0;
}

/* A writable directory, proved by creating and removing a file in it (root
 * passes access(2) checks on read-only mounts and 0555 directories). */
static int check_out_dir(const char *dir, const char *prog, char *err, size_t errlen)
{
    struct stat st;
    /* The longest name a run writes there: DIR/.PROG.summary.csv.new (and
     * the gnuplot temp files, shorter); refused now, not after the run. */
    size_t longest = strlen(dir) + strlen(prog) + sizeof("/..summary.csv.new");
    if (longest > PATH_MAX - 1) {
        snprintf(err, errlen,
                 "--out: '%.64s...' is too long: the results' names would be %zu bytes, the "
                 "system allows %d",
                 dir, longest, PATH_MAX - 1);
        return -1;
    }
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "--out: '%s': %s: expected an existing writable directory", dir,
                 strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen,
                 "--out: '%s' is not a directory: expected an existing writable "
                 "directory",
                 dir);
        return -1;
    }
    char probe[PATH_MAX];
    snprintf(probe, sizeof(probe), "%s/.cb_probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "--out: '%s' is not writable: %s", dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

char *cb_cli_out_dir(const cb_opts_t *o)
{
    if (o->out_dir)
        return strdup(o->out_dir);
    const char *ws = getenv("BUILD_WORKSPACE_DIRECTORY");
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s/results", ws && *ws ? ws : ".");
    return strdup(buf);
}

int cb_cli_parse(const cb_cli_spec_t *spec, int argc, char **argv, cb_opts_t *o)
{
    char err[512] = "";
    memset(o, 0, sizeof(*o));
    o->reps = -1;
    o->warmup = -1;
    o->pin = CB_PIN_COMPACT;
    o->gil_interval_ms = 5.0;

    size_t nopt = NCOMMON + spec->nextra;
    struct option *lo = calloc(nopt + 1, sizeof(*lo));
    if (!lo) {
        fprintf(stderr, "%s: out of memory\n", spec->prog);
        return CB_EXIT_USAGE;
    }
    for (size_t i = 0; i < NCOMMON; i++)
        lo[i] = (struct option){common[i].name, common[i].has_arg, NULL, common[i].val};
    for (size_t i = 0; i < spec->nextra; i++)
        lo[NCOMMON + i] =
            (struct option){spec->extra[i].name, spec->extra[i].has_arg, NULL, OPT_EXTRA0 + (int)i};

    int rc = 0;
    opterr = 0;
    /* 0, not 1: glibc then also forgets where it was inside a cluster of
     * short flags ("-xh") of a previous parse, in that parse's argv. */
    optind = 0;
    for (;;) {
        int idx = -1;
        int c = getopt_long(argc, argv, "h", lo, &idx);
        if (c == -1)
            break;
        long v;
        switch (c) {
        case OPT_EXECUTORS:
            rc = parse_names("executors", optarg, spec->executor_names, &o->executors, err,
                             sizeof(err));
            break;
        case OPT_WORKLOADS:
            rc = parse_names("workloads", optarg, spec->workload_names, &o->workloads, err,
                             sizeof(err));
            break;
        case OPT_WORKERS:
            rc = parse_workers(optarg, o, err, sizeof(err));
            break;
        case OPT_TASKS:
            rc = cb_parse_long("tasks", optarg, 1, MAX_TASKS, &o->tasks, err, sizeof(err));
            break;
        case OPT_REPS:
            rc = cb_parse_long("reps", optarg, 1, 100000, &v, err, sizeof(err));
            o->reps = (int)v;
            break;
        case OPT_WARMUP:
            rc = cb_parse_long("warmup", optarg, 0, 100000, &v, err, sizeof(err));
            o->warmup = (int)v;
            break;
        case OPT_PIN:
            free(o->pin_pus);
            o->pin_pus = NULL;
            rc = cb_pin_parse(optarg, &o->pin, &o->pin_pus, &o->npin_pus, err, sizeof(err));
            if (rc == 0) {
                free(o->pin_arg);
                o->pin_arg = strdup(optarg);
            }
            break;
        case OPT_PLAN:
            o->plan = 1;
            break;
        case OPT_QUICK:
            o->quick = 1;
            break;
        case OPT_OUT:
            free(o->out_dir);
            o->out_dir = strdup(optarg);
            rc = check_out_dir(optarg, spec->prog, err, sizeof(err));
            break;
        case OPT_TIMEOUT:
            rc = cb_parse_double("timeout", optarg, 0.001, 1e6, &o->timeout_s, err, sizeof(err));
            break;
        case OPT_NO_PLOT:
            o->no_plot = 1;
            break;
        case OPT_NO_COUNTERS:
            o->no_counters = 1;
            break;
        case OPT_CHECK_SYSTEM:
            o->check_system = 1;
            break;
        case OPT_LIST:
            o->list = 1;
            break;
        case OPT_VERSION:
            o->version = 1;
            break;
        case 'h':
        case OPT_HELP:
            o->help = 1;
            break;
        case OPT_HISTORY:
            free(o->history);
            o->history = strdup(optarg);
            if (optarg[0] == '\0') {
                snprintf(err, sizeof(err), "--history: empty path: expected a file name");
                rc = -1;
            }
            break;
        case OPT_GIL:
            o->gil_given = 1;
            break;
        case OPT_GIL_INTERVAL:
            rc = cb_parse_double("gil-interval", optarg, 0.001, 10000, &o->gil_interval_ms, err,
                                 sizeof(err));
            break;
        case OPT_APPEND:
            o->append = 1;
            break;
        case OPT_EXPORT:
            rc = add_export(o, optarg, err, sizeof(err));
            break;
        case '?':
            if (optopt >= OPT_EXECUTORS)
                snprintf(err, sizeof(err), "%s: needs a value (see --help)", argv[optind - 1]);
            else if (optopt > 0)
                /* A short flag: optind has not moved on when more flags
                 * follow in its cluster ("-xh"). */
                snprintf(err, sizeof(err), "unknown flag '-%c': see --help for the flags", optopt);
            else
                snprintf(err, sizeof(err), "unknown flag '%s': see --help for the flags",
                         argv[optind - 1]);
            rc = -1;
            break;
        default:
            if (c >= OPT_EXTRA0 && (size_t)(c - OPT_EXTRA0) < spec->nextra) {
                const cb_cli_extra_t *x = &spec->extra[c - OPT_EXTRA0];
                rc = x->set(x->ctx, x->has_arg ? optarg : NULL, err, sizeof(err));
            } else {
                snprintf(err, sizeof(err), "unknown flag: see --help");
                rc = -1;
            }
        }
        if (rc != 0)
            break;
    }
    if (rc == 0 && optind < argc) {
        snprintf(err, sizeof(err), "unexpected argument '%s': this program takes flags only",
                 argv[optind]);
        rc = -1;
    }
    free(lo);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", spec->prog, err);
        return CB_EXIT_USAGE;
    }
    if (o->help) {
        usage(spec, stdout);
        return CB_EXIT_OK;
    }
    if (o->version) {
        printf("%s %s (git %s)\n", spec->prog, CB_VERSION, cb_git_revision());
        return CB_EXIT_OK;
    }
    return 0;
}

int cb_cli_check_topo(const cb_opts_t *o, const cb_topo_t *t)
{
    if (o->pin != CB_PIN_LIST)
        return 0;
    for (int i = 0; i < o->npin_pus; i++) {
        if (!cb_topo_pu_allowed(t, o->pin_pus[i])) {
            char allowed[256];
            cb_topo_allowed_str(t, allowed, sizeof(allowed));
            fprintf(stderr, "--pin: PU %d is not in the allowed set %s: use PUs from that set\n",
                    o->pin_pus[i], allowed);
            return CB_EXIT_USAGE;
        }
    }
    return 0;
}

long *cb_cli_worker_counts(const cb_opts_t *o, const cb_topo_t *t, size_t *n)
{
    if (o->workers_kind == CB_WORKERS_LIST) {
        long *w = malloc(o->nworkers * sizeof(*w));
        if (w)
            memcpy(w, o->workers, o->nworkers * sizeof(*w));
        *n = o->nworkers;
        return w;
    }
    long *w = malloc(sizeof(*w));
    if (!w)
        return NULL;
    w[0] = o->workers_kind == CB_WORKERS_PUS ? cb_topo_allowed_pus(t) : cb_topo_allowed_cores(t);
    if (w[0] < 1)
        w[0] = 1;
    *n = 1;
    return w;
}

const char *const *cb_cli_names(char **given, const char *const *defaults, size_t *n)
{
    const char *const *names = given ? (const char *const *)given : defaults;
    for (*n = 0; names[*n]; (*n)++)
        ;
    return names;
}

void cb_cli_free(cb_opts_t *o)
{
    free_list(o->executors);
    free_list(o->workloads);
    free(o->workers);
    free(o->pin_pus);
    free(o->pin_arg);
    free(o->out_dir);
    free(o->history);
    for (size_t i = 0; i < o->nexports; i++)
        free(o->exports[i]);
    free(o->exports);
    memset(o, 0, sizeof(*o));
}

const char *cb_git_revision(void)
{
    static char rev[64];
    if (rev[0])
        return rev;
    snprintf(rev, sizeof(rev), "unknown");
    const char *ws = getenv("BUILD_WORKSPACE_DIRECTORY");
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof(cmd),
             "git -C '%s' rev-parse --short=12 HEAD 2>/dev/null && "
             "(git -C '%s' diff --quiet HEAD 2>/dev/null || echo dirty)",
             ws && *ws ? ws : ".", ws && *ws ? ws : ".");
    FILE *p = popen(cmd, "r");
    if (!p)
        return rev;
    char line[64], out[64] = "";
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        if (out[0] == '\0')
            snprintf(out, sizeof(out), "%s", line);
        else if (strcmp(line, "dirty") == 0)
            strncat(out, "-dirty", sizeof(out) - strlen(out) - 1);
    }
    if (pclose(p) == 0 && out[0])
        snprintf(rev, sizeof(rev), "%s", out);
    return rev;
}
