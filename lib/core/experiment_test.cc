#include "lib/core/experiment.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/testing/leak_probe.h"

/* cb_experiment_main on a toy declaration: the flag table's ranges and
 * refusals, --list from the axes, --quick defaults, every flag in meta, the
 * points build() sees, and nothing left behind (fds, children; ASan's leak
 * check under --config=asan). */

/* The flag macros are C designated initializers that leave the fields a
 * row does not use at zero; C++ warns about exactly that. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace
{

struct Params {
    long n;
    double d;
    int b;
    cb_long_list_t l;
};

const cb_flag_t kFlags[] = {
    CB_FLAG_LONG(Params, n, "toy-n", "N", 1, 10, 3, 2, "a count from 1 to 10"),
    CB_FLAG_DOUBLE(Params, d, "toy-d", "X", 0.5, 2.5, 1.5, 0.75, "a fraction"),
    CB_FLAG_BOOL(Params, b, "toy-b", "a switch"),
    CB_FLAG_LIST(Params, l, "toy-list", "L", 1, 100, "1,2", "5", "a list of counts"),
};

const cb_name_t kExecs[] = {
    {"alpha", "the first executor", nullptr, 0},
    {"beta", "the second executor", nullptr, 0},
};

const char *NotHere()
{
    return "not on this host";
}

const cb_name_t kWls[] = {
    {"w1", "the first workload", nullptr, 0},
    {"w2", "the second workload", NotHere, 0},
    {"fault_x", "a self-test workload", nullptr, 1},
};

const cb_metric_def_t kMetrics[] = {{"value", "count"}, {"twice", "count"}};

struct Ctx {
    long n;
    long v;
};

int g_points;
int g_beta_reps;   /* cfg->reps of beta's configurations */
bool g_tutorial;   /* Def() declares a --tutorial with tutorial_how */
double g_expected; /* cfg->expected_s of every configuration */

int Measure(const cb_config_t *c, const cb_opts_t *, cb_measurement_t *m)
{
    const Ctx *x = static_cast<const Ctx *>(c->ctx);
    m->values[0] = (double)(x->n + x->v);
    m->values[1] = 2.0 * (double)(x->n + x->v);
    return 0;
}

/* One configuration per point; the variant axis walks the list flag. */
size_t Variants(cb_exp_t *x)
{
    return static_cast<Params *>(x->params)->l.n;
}

int Build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    const Params *p = static_cast<const Params *>(x->params);
    g_points++;
    Ctx *c = static_cast<Ctx *>(cfg->ctx);
    c->n = p->n;
    c->v = p->l.v[pt->variant];
    *cfg = cb_config_t{};
    cfg->key = {nullptr, pt->executor, pt->workload, pt->workers, c->v, pt->pin->name};
    cfg->metrics = kMetrics;
    cfg->nmetrics = 2;
    cfg->measure = Measure;
    cfg->ctx = c;
    cfg->reps = strcmp(pt->executor, "beta") == 0 ? g_beta_reps : 0;
    cfg->expected_s = g_expected;
    return CB_BUILD_ADD;
}

/* Which flags prepare saw given: one '1' or '0' per name of kGivenNames. */
const char *const kGivenNames[] = {"toy-n", "toy-d", "toy-b", "toy-list", "no-such-flag"};
std::string g_given;

int Prepare(cb_exp_t *x)
{
    g_given.clear();
    for (const char *n : kGivenNames)
        g_given += cb_exp_flag_given(x, n) ? '1' : '0';
    return -1;
}

cb_experiment_def_t Def()
{
    cb_experiment_def_t d{};
    d.name = "toy";
    d.summary = "A toy experiment for the tests of cb_experiment_main.";
    d.flags = kFlags;
    d.nflags = sizeof(kFlags) / sizeof(kFlags[0]);
    d.params_size = sizeof(Params);
    d.ctx_size = sizeof(Ctx);
    d.executors = {kExecs, 2, nullptr, nullptr, nullptr, nullptr};
    d.workloads = {kWls, 3, nullptr, nullptr, nullptr, nullptr};
    d.reps = 2;
    d.quick_reps = 1;
    d.no_warmup = 1;
    d.timeout_s = 30;
    d.prepare = Prepare;
    d.variants = Variants;
    d.build = Build;
    static const char *const tutorial[] = {"--toy-list", "5", nullptr};
    if (g_tutorial) {
        d.tutorial = tutorial;
        d.tutorial_how = "the toy's work";
    }
    return d;
}

std::string Slurp(const std::string &path)
{
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

struct Outcome {
    int rc;
    std::string out, err;
};

/* Runs cb_experiment_main with argv, stdout and stderr captured. */
Outcome Main(std::vector<std::string> args)
{
    cb_experiment_def_t d = Def();
    args.insert(args.begin(), "toy");
    std::vector<char *> argv;
    for (std::string &a : args)
        argv.push_back(&a[0]);
    argv.push_back(nullptr);
    std::string dir = testing::TempDir();
    std::string o = dir + "/toy.stdout", e = dir + "/toy.stderr";
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(o.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(e.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    Outcome r;
    r.rc = cb_experiment_main(&d, (int)args.size(), argv.data());
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    r.out = Slurp(o);
    r.err = Slurp(e);
    return r;
}

std::string OutDir(const char *name)
{
    std::string d = testing::TempDir() + "/" + name;
    mkdir(d.c_str(), 0700);
    return d;
}

std::map<std::string, std::string> Meta(const std::string &dir)
{
    std::map<std::string, std::string> m;
    std::ifstream f(dir + "/toy.meta");
    for (std::string line; std::getline(f, line);) {
        size_t eq = line.find('=');
        if (eq != std::string::npos)
            m[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return m;
}

size_t Lines(const std::string &s)
{
    size_t n = 0;
    for (char c : s)
        n += c == '\n';
    return n;
}

/* One line on stderr naming the flag and the bad value, exit 2, no files. */
void ExpectRefused(std::vector<std::string> args, const char *flag, const char *value)
{
    std::string dir = OutDir("refused");
    args.push_back("--out");
    args.push_back(dir);
    Outcome r = Main(args);
    EXPECT_EQ(r.rc, CB_EXIT_USAGE) << r.err;
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(value), std::string::npos) << r.err;
    EXPECT_EQ(Slurp(dir + "/toy.csv"), "");
}

} // namespace

TEST(ExperimentMain, RefusesValuesOutsideTheFlagsRanges)
{
    ExpectRefused({"--toy-n", "11"}, "--toy-n", "11");
    ExpectRefused({"--toy-n", "0"}, "--toy-n", "0");
    ExpectRefused({"--toy-n", "3x"}, "--toy-n", "3x");
    ExpectRefused({"--toy-d", "2.6"}, "--toy-d", "2.6");
    ExpectRefused({"--toy-d", "nan"}, "--toy-d", "nan");
    ExpectRefused({"--toy-list", "1,,2"}, "--toy-list", "1,,2");
    ExpectRefused({"--toy-list", "101"}, "--toy-list", "101");
    ExpectRefused({"--executors", "gamma"}, "--executors", "gamma");
    ExpectRefused({"--workloads", "w3"}, "--workloads", "w3");
    ExpectRefused({"--toy-b", "--nonsense"}, "--nonsense", "nonsense");
}

TEST(ExperimentMain, UnknownNameMessageListsWhatTheAxisAccepts)
{
    Outcome r = Main({"--executors", "gamma"});
    EXPECT_NE(r.err.find("alpha"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("beta"), std::string::npos) << r.err;
}

TEST(ExperimentMain, ListShowsExactlyTheAxes)
{
    g_points = 0;
    Outcome r = Main({"--list"});
    EXPECT_EQ(r.rc, 0);
    EXPECT_EQ(g_points, 0);
    for (const char *s : {"alpha", "the first executor", "beta", "w1", "w2",
                          "unavailable: not on this host", "fault_x", "never run by default"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s << " in\n" << r.out;
    /* The hidden workload comes after the heading that sets it apart. */
    EXPECT_GT(r.out.find("fault_x"), r.out.find("never run by default"));
}

TEST(ExperimentMain, HelpListsEveryFlag)
{
    Outcome r = Main({"--help"});
    EXPECT_EQ(r.rc, 0);
    std::string all = r.out + r.err;
    for (const char *s : {"--toy-n", "--toy-d", "--toy-b", "--toy-list", "a count from 1 to 10"})
        EXPECT_NE(all.find(s), std::string::npos) << s;
}

TEST(ExperimentMain, DefaultsQuickDefaultsAndGivenValuesReachMeta)
{
    std::string full = OutDir("full"), quick = OutDir("quick"), given = OutDir("given");
    ASSERT_EQ(Main({"--no-plot", "--out", full}).rc, 0);
    ASSERT_EQ(Main({"--quick", "--no-plot", "--out", quick}).rc, 0);
    ASSERT_EQ(Main({"--quick", "--no-plot", "--toy-n", "7", "--toy-b", "--toy-list", "9,4", "--out",
                    given})
                  .rc,
              0);
    std::map<std::string, std::string> f = Meta(full), q = Meta(quick), g = Meta(given);
    EXPECT_EQ(f["n"], "3");
    EXPECT_EQ(f["d"], "1.5");
    EXPECT_EQ(f["b"], "0");
    EXPECT_EQ(f["l"], "1,2");
    EXPECT_EQ(q["n"], "2");
    EXPECT_EQ(q["d"], "0.75");
    EXPECT_EQ(q["l"], "5");
    EXPECT_EQ(g["n"], "7");
    EXPECT_EQ(g["d"], "0.75");
    EXPECT_EQ(g["b"], "1");
    EXPECT_EQ(g["l"], "9,4");
    /* The runner's own keys are there too. */
    for (const char *k : {"host", "command_line", "harness_version", "utc_start"})
        EXPECT_EQ(f.count(k), 1u) << k;
    /* The values the measurement saw: n + the list's value, per variant. */
    std::string csv = Slurp(given + "/toy.csv");
    EXPECT_NE(csv.find(",alpha,w1,"), std::string::npos);
    EXPECT_NE(csv.find(",value,16,"), std::string::npos) << csv; /* 7 + 9 */
    EXPECT_NE(csv.find(",value,11,"), std::string::npos) << csv; /* 7 + 4 */
}

TEST(ExperimentMain, FlagGivenToldApartFromItsDefault)
{
    std::string dir = OutDir("given_flags");
    ASSERT_EQ(Main({"--quick", "--no-plot", "--out", dir}).rc, 0);
    EXPECT_EQ(g_given, "00000");
    /* Given with its default's value, and a switch: both given. */
    ASSERT_EQ(Main({"--quick", "--no-plot", "--toy-n", "2", "--toy-b", "--out", dir}).rc, 0);
    EXPECT_EQ(g_given, "10100");
    ASSERT_EQ(Main({"--quick", "--no-plot", "--toy-d", "1", "--toy-list", "5", "--out", dir}).rc,
              0);
    EXPECT_EQ(g_given, "01010");
}

TEST(ExperimentMain, PointsCoverTheDefaultAxesWithoutHiddenNames)
{
    std::string dir = OutDir("points");
    g_points = 0;
    ASSERT_EQ(Main({"--quick", "--no-plot", "--workers", "1,2", "--out", dir}).rc, 0);
    /* 2 executors x 2 workloads (not fault_x) x 2 worker counts x 1 variant. */
    EXPECT_EQ(g_points, 8);
    std::string csv = Slurp(dir + "/toy.csv");
    EXPECT_EQ(csv.find("fault_x"), std::string::npos);
    /* Quick: one repetition of each configuration, two metrics. */
    EXPECT_EQ(Lines(csv), 1u + 8u * 2u) << csv;
    g_points = 0;
    ASSERT_EQ(Main({"--quick", "--no-plot", "--executors", "beta", "--workloads", "fault_x",
                    "--out", dir})
                  .rc,
              0);
    EXPECT_GE(g_points, 1); /* the detected worker count(s) x 1 */
    csv = Slurp(dir + "/toy.csv");
    EXPECT_NE(csv.find(",beta,fault_x,"), std::string::npos) << csv;
    EXPECT_EQ(csv.find(",alpha,"), std::string::npos) << csv;
}

TEST(ExperimentMain, AConfigurationsRepsLimitItsRepetitionsAndDropItsWarmUps)
{
    std::string dir = OutDir("config_reps");
    g_beta_reps = 2;
    Outcome r = Main({"--reps", "3", "--warmup", "1", "--workers", "1", "--workloads", "w1",
                      "--toy-list", "5", "--no-plot", "--out", dir});
    g_beta_reps = 0;
    ASSERT_EQ(r.rc, 0) << r.err;
    std::string csv = Slurp(dir + "/toy.csv");
    size_t alpha = 0, beta = 0;
    std::stringstream in(csv);
    for (std::string line; std::getline(in, line);) {
        alpha += line.find(",alpha,") != std::string::npos;
        beta += line.find(",beta,") != std::string::npos;
    }
    /* 2 metrics a repetition: alpha in all 3, beta in the first 2. */
    EXPECT_EQ(alpha, 6u) << csv;
    EXPECT_EQ(beta, 4u) << csv;
    EXPECT_EQ(csv.find(",beta,w1,1,5,compact,2,"), std::string::npos) << csv;
    EXPECT_NE(r.err.find("[warm-up] alpha"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("[warm-up] beta"), std::string::npos) << r.err;
}

/* Without an estimate hook, --tutorial sums the configurations' expected_s
 * over the repetitions each runs in: alpha in 3 and the warm-up, beta
 * (reps 2) in 2: 1.5 s x (4 + 2) = 9 s. */
TEST(ExperimentMain, TutorialEstimateSumsTheConfigurationsExpectedSeconds)
{
    std::string dir = OutDir("tutorial_estimate");
    g_tutorial = true;
    g_beta_reps = 2;
    g_expected = 1.5;
    Outcome r = Main({"--tutorial", "--reps", "3", "--warmup", "1", "--workers", "1", "--workloads",
                      "w1", "--no-plot", "--out", dir});
    g_tutorial = false;
    g_beta_reps = 0;
    g_expected = 0;
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("expected to take about 9 s on this machine (the toy's work; 3 "
                         "repetition(s), 1 warm-up)"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(Meta(dir)["tutorial_estimate_s"], "9.0");
    EXPECT_NE(r.out.find("--tutorial: took"), std::string::npos) << r.out;
}

TEST(ExperimentMain, LeavesNoFdsOrChildrenOnAnyPath)
{
    int fds = CountFds();
    std::string dir = OutDir("leaks");
    Main({"--list"});
    Main({"--help"});
    Main({"--toy-n", "99", "--out", dir});
    Main({"--executors", "gamma", "--out", dir});
    Main({"--quick", "--no-plot", "--out", dir});
    EXPECT_EQ(CountFds(), fds);
    EXPECT_TRUE(NoChildren());
}
