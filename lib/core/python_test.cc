#include "lib/core/python.h"

#include <fcntl.h>
#include <signal.h>
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

/* The shared CPython driver on a toy declaration with a CPython side
 * (testdata/python_toy.py, whose TOY_MODE picks what it does): its rows
 * merged beside the C rows with the run's flags and pin plans, the skipped
 * paths (no script, an interpreter that is not there, fails at start or is
 * too old, a missing module), and a script that crashes, hangs, leaves a
 * metric out or writes a bad file: rows with the status and the reason,
 * the C rows kept, nothing left behind. */

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace
{

struct Params {
    long n;
};

const cb_flag_t kFlags[] = {
    CB_FLAG_LONG(Params, n, "toy-n", "N", 1, 1000, 7, 5, "a count"),
};

const cb_name_t kExecs[] = {
    {"alpha", "a C executor", nullptr, 0},
    {"py_alpha", "its CPython counterpart", nullptr, 0},
};

const cb_name_t kWls[] = {
    {"w1", "a workload", nullptr, 0},
    {"w2", "a workload whose CPython side needs a module that is not there", nullptr, 0},
};

const cb_metric_def_t kMetrics[] = {{"value", "count"}, {"twice", "count"}};

int Measure(const cb_config_t *c, const cb_opts_t *, cb_measurement_t *m)
{
    (void)c;
    m->values[0] = 1;
    m->values[1] = 2;
    return 0;
}

int Build(cb_exp_t *x, const cb_point_t *pt, cb_config_t *cfg)
{
    cfg->key = {nullptr, pt->executor, pt->workload, pt->workers, 3, pt->pin->name};
    cfg->metrics = kMetrics;
    cfg->nmetrics = 2;
    if (strncmp(pt->executor, "py_", 3) == 0) {
        if (cb_exp_no_python(x))
            return CB_BUILD_SKIP;
        cfg->python = 1;
        cfg->python_plan = cb_exp_plan(x, pt->pin, (int)pt->workers);
        return cfg->python_plan ? (int)CB_BUILD_ADD : (int)CB_EXIT_USAGE;
    }
    cfg->measure = Measure;
    return CB_BUILD_ADD;
}

const cb_python_def_t kPython = {"lib/core/testdata/python_toy.py", "cb_no_such_module", 0};
const cb_python_def_t kNoScript = {"lib/core/testdata/no_such_script.py", nullptr, 0};

/* The C side's figure for the calibration: --param toy_base=10. */
int ToyCalibrate(cb_exp_t *x)
{
    return cb_python_param(x, "toy_base", "%d", 10);
}

const cb_python_def_t kCalib = {"lib/core/testdata/python_toy.py", "cb_no_such_module", 0,
                                ToyCalibrate};

cb_experiment_def_t Def(const cb_python_def_t *py)
{
    cb_experiment_def_t d{};
    d.name = "toy";
    d.summary = "A toy experiment with a CPython side.";
    d.flags = kFlags;
    d.nflags = 1;
    d.params_size = sizeof(Params);
    d.executors = {kExecs, 2, nullptr, nullptr, nullptr, nullptr};
    d.workloads = {kWls, 2, nullptr, nullptr, nullptr, nullptr};
    d.reps = 2;
    d.quick_reps = 1;
    d.no_warmup = 1;
    d.timeout_s = 5;
    d.build = Build;
    d.python = py;
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
    std::string err, csv;
    std::map<std::string, std::string> meta;
};

/* Runs the toy with TOY_MODE=mode and args, stderr captured; its CSV and meta. */
Outcome Main(const char *mode, std::vector<std::string> args, const cb_python_def_t *py = &kPython)
{
    static int k;
    std::string dir = testing::TempDir() + "/py" + std::to_string(k++);
    mkdir(dir.c_str(), 0700);
    setenv("TOY_MODE", mode, 1);
    cb_experiment_def_t d = Def(py);
    args.insert(args.begin(), "toy");
    args.push_back("--no-plot");
    args.push_back("--out");
    args.push_back(dir);
    std::vector<char *> argv;
    for (std::string &a : args)
        argv.push_back(&a[0]);
    argv.push_back(nullptr);
    std::string e = dir + "/stderr";
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fn = open("/dev/null", O_WRONLY);
    int fe = open(e.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fn, 1);
    dup2(fe, 2);
    close(fn);
    close(fe);
    Outcome r;
    r.rc = cb_experiment_main(&d, (int)args.size(), argv.data());
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    r.err = Slurp(e);
    r.csv = Slurp(dir + "/toy.csv");
    std::ifstream f(dir + "/toy.meta");
    for (std::string line; std::getline(f, line);) {
        size_t eq = line.find('=');
        if (eq != std::string::npos)
            r.meta[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return r;
}

/* The CSV's rows of one executor and workload. */
std::vector<std::string> Rows(const std::string &csv, const std::string &e, const std::string &w)
{
    std::vector<std::string> out;
    std::istringstream s(csv);
    std::string needle = "toy," + e + "," + w + ",";
    for (std::string line; std::getline(s, line);)
        if (line.compare(0, needle.size(), needle) == 0)
            out.push_back(line);
    return out;
}

size_t Count(const std::string &s, const std::string &what)
{
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
        n++;
    return n;
}

} // namespace

TEST(PythonDriver, ProbeLine)
{
    int ma = 0, mi = 0;
    char missing[64];
    EXPECT_EQ(cb_python_parse_probe("3.11.2\tgevent,greenlet\n", &ma, &mi, missing, 64), 0);
    EXPECT_EQ(ma, 3);
    EXPECT_EQ(mi, 11);
    EXPECT_STREQ(missing, "gevent,greenlet");
    EXPECT_EQ(cb_python_parse_probe("3.8.0\t\n", &ma, &mi, missing, 64), 0);
    EXPECT_STREQ(missing, "");
    EXPECT_EQ(cb_python_parse_probe("Python 3.11\n", &ma, &mi, missing, 64), -1);
    EXPECT_EQ(cb_python_parse_probe("3.11.2x\n", &ma, &mi, missing, 64), -1);
}

TEST(PythonDriver, RowsMergedWithTheRunsFlagsAndPlans)
{
    Outcome r = Main("ok", {"--reps", "2", "--workers", "2", "--toy-n", "42", "--workloads", "w1"});
    ASSERT_EQ(r.rc, 0) << r.err;
    /* C rows kept: 2 reps x 2 metrics. */
    EXPECT_EQ(Rows(r.csv, "alpha", "w1").size(), 4u) << r.csv;
    std::vector<std::string> py = Rows(r.csv, "py_alpha", "w1");
    ASSERT_EQ(py.size(), 4u) << r.csv;
    /* --toy-n reached the script as --param n=42; the compact plan of 2
     * workers as 2 PUs; each repetition's rows carry its number. */
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,2,3,compact,0,value,42,count,ok,"), 1u) << r.csv;
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,2,3,compact,1,value,42,count,ok,"), 1u) << r.csv;
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,2,3,compact,1,twice,2,count,ok,"), 1u) << r.csv;
    EXPECT_FALSE(r.meta["python"].empty());
    EXPECT_FALSE(r.meta["python_version"].empty());
    EXPECT_NE(r.meta["python_missing"].find("cb_no_such_module"), std::string::npos);
    /* Unpinned: no PUs. */
    r = Main("ok", {"--quick", "--workers", "2", "--pin", "none", "--workloads", "w1"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,2,3,none,0,twice,0,count,ok,"), 1u) << r.csv;
}

TEST(PythonDriver, MissingModuleSkipsThatPointOnly)
{
    Outcome r = Main("ok", {"--quick", "--workers", "1"});
    EXPECT_EQ(r.rc, CB_EXIT_OK) << r.err; /* skipped is not a failure */
    std::vector<std::string> w2 = Rows(r.csv, "py_alpha", "w2");
    ASSERT_EQ(w2.size(), 2u) << r.csv;
    for (const std::string &row : w2)
        EXPECT_NE(row.find(",skipped,No module named 'cb_no_such_module'"), std::string::npos)
            << row;
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,1,3,compact,0,value,5,count,ok,"), 1u) << r.csv;
}

TEST(PythonDriver, NoPythonLeavesTheRowsOut)
{
    Outcome r = Main("ok", {"--quick", "--no-python"});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(Count(r.csv, "py_alpha"), 0u) << r.csv;
    EXPECT_FALSE(Rows(r.csv, "alpha", "w1").empty());
    /* Only CPython points and --no-python: nothing to run. */
    r = Main("ok", {"--quick", "--no-python", "--executors", "py_alpha"});
    EXPECT_EQ(r.rc, CB_EXIT_USAGE) << r.err;
}

/* Every CPython row has status st and a detail containing why; the C rows are ok. */
void ExpectAllPy(const Outcome &r, const char *st, const std::string &why)
{
    size_t n = 0;
    std::istringstream s(r.csv);
    for (std::string line; std::getline(s, line);) {
        if (line.find(",py_alpha,") == std::string::npos)
            continue;
        n++;
        EXPECT_NE(line.find(std::string(",") + st + ","), std::string::npos) << line;
        EXPECT_NE(line.find(why), std::string::npos) << line;
    }
    EXPECT_EQ(n, 4u) << r.csv; /* 2 workloads x 2 metrics, one repetition */
    EXPECT_EQ(Count(r.csv, ",alpha,w1,1,3,compact,0,value,1,count,ok,"), 1u) << r.csv;
}

TEST(PythonDriver, InterpretersThatCannotRunSkipTheRows)
{
    Outcome r = Main("ok", {"--quick", "--workers", "1", "--python", "/no/such/python3"});
    EXPECT_EQ(r.rc, CB_EXIT_OK) << r.err;
    ExpectAllPy(r, "skipped", "--python /no/such/python3: not found");
    r = Main("ok", {"--quick", "--workers", "1", "--python", "/bin/false"});
    ExpectAllPy(r, "skipped", "/bin/false could not start");
    std::string old = std::string(getenv("TEST_SRCDIR") ? getenv("TEST_SRCDIR") : ".") + "/" +
                      (getenv("TEST_WORKSPACE") ? getenv("TEST_WORKSPACE") : "concbench") +
                      "/lib/core/testdata/old_python.sh";
    r = Main("ok", {"--quick", "--workers", "1", "--python", old});
    ExpectAllPy(r, "skipped", "is Python 3.6.9: the CPython rows need 3.8 or later");
    r = Main("ok", {"--quick", "--workers", "1"}, &kNoScript);
    ExpectAllPy(r, "skipped", "lib/core/testdata/no_such_script.py not found");
}

TEST(PythonDriver, ScriptFailuresBecomeRowsWithTheReason)
{
    Outcome r = Main("crash", {"--quick", "--workers", "1"});
    EXPECT_EQ(r.rc, CB_EXIT_FAILED) << r.err;
    ExpectAllPy(r, "crashed", "python_toy.py died of SIGSEGV");
    r = Main("hang", {"--quick", "--workers", "1", "--timeout", "1"});
    EXPECT_EQ(r.rc, CB_EXIT_FAILED) << r.err;
    ExpectAllPy(r, "timeout", "python_toy.py: timeout after 12 s");
    r = Main("bad_csv", {"--quick", "--workers", "1"});
    ExpectAllPy(r, "error", "python_toy.py wrote an unreadable CSV");
    r = Main("no_metric", {"--quick", "--workers", "1", "--workloads", "w1"});
    EXPECT_EQ(r.rc, CB_EXIT_FAILED) << r.err;
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,1,3,compact,0,twice,,count,error,python_toy.py wrote no "
                           "twice row for this point"),
              1u)
        << r.csv;
    r = Main("stray", {"--quick", "--workers", "1", "--workloads", "w1"});
    EXPECT_EQ(r.rc, CB_EXIT_OK) << r.err;
    EXPECT_EQ(Count(r.csv, "py_nobody"), 0u) << r.csv;
    EXPECT_NE(r.err.find("python_toy.py wrote 1 rows of points it was not given"),
              std::string::npos)
        << r.err;
}

int AddLine(void *ctx, const char *key, const char *value)
{
    *static_cast<std::string *>(ctx) += std::string(key) + "|" + value + ";";
    return 0;
}

TEST(PythonDriver, CalibrationLines)
{
    std::string got;
    char bad[64] = "";
    EXPECT_EQ(cb_python_parse_calibration("python_cpu_iters=178991\n\nb_2=x=y\nc=", AddLine, &got,
                                          bad, sizeof(bad)),
              3);
    EXPECT_EQ(got, "python_cpu_iters|178991;b_2|x=y;c|;");
    EXPECT_EQ(cb_python_parse_calibration("", AddLine, &got, bad, sizeof(bad)), 0);
    EXPECT_EQ(cb_python_parse_calibration("a=1\n178991\n", AddLine, &got, bad, sizeof(bad)), -1);
    EXPECT_STREQ(bad, "178991");
    EXPECT_EQ(cb_python_parse_calibration("=1\n", AddLine, &got, bad, sizeof(bad)), -1);
    EXPECT_EQ(cb_python_parse_calibration("a b=1\n", AddLine, &got, bad, sizeof(bad)), -1);
    EXPECT_STREQ(bad, "a b=1");
}

TEST(PythonDriver, CalibrationRunsOnceIntoMetaAndEveryRepetition)
{
    std::string log = testing::TempDir() + "/calib.log";
    unlink(log.c_str());
    setenv("TOY_CALIB_LOG", log.c_str(), 1);
    /* Two repetitions after a warm-up: one calibration, given the C side's
     * --param and the points; its figure in meta and in both repetitions. */
    Outcome r = Main(
        "ok",
        {"--reps", "2", "--warmup", "1", "--workers", "1", "--toy-n", "4", "--workloads", "w1"},
        &kCalib);
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(Slurp(log), "calibrated 1 points, toy_base=10\n");
    EXPECT_EQ(r.meta["toy_scale"], "40");
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,1,3,compact,0,value,40,count,ok,"), 1u) << r.csv;
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,1,3,compact,1,value,40,count,ok,"), 1u) << r.csv;
    EXPECT_EQ(Count(r.csv, ",alpha,w1,1,3,compact,1,value,1,count,ok,"), 1u) << r.csv;
    /* No CPython point, or --no-python: no calibration. */
    unlink(log.c_str());
    r = Main("ok", {"--quick", "--executors", "alpha"}, &kCalib);
    EXPECT_EQ(r.rc, 0) << r.err;
    r = Main("ok", {"--quick", "--no-python"}, &kCalib);
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(access(log.c_str(), F_OK), -1);
    EXPECT_EQ(r.meta.count("toy_scale"), 0u);
    unsetenv("TOY_CALIB_LOG");
    /* A declaration without one: no --calibrate run, the value as given. */
    r = Main("ok", {"--quick", "--workers", "1", "--workloads", "w1"});
    EXPECT_EQ(Count(r.csv, ",py_alpha,w1,1,3,compact,0,value,5,count,ok,"), 1u) << r.csv;
}

TEST(PythonDriver, CalibrationFailuresBecomeRowsWithTheReason)
{
    Outcome r = Main("calib_fail", {"--quick", "--workers", "1"}, &kCalib);
    EXPECT_EQ(r.rc, CB_EXIT_FAILED) << r.err;
    ExpectAllPy(r, "error",
                "python_toy.py --calibrate failed (exit 1): python_toy.py --calibrate: no clock "
                "here");
    r = Main("calib_bad", {"--quick", "--workers", "1"}, &kCalib);
    ExpectAllPy(r, "error",
                "python_toy.py --calibrate printed 'garbage line': expected KEY=VALUE lines");
    r = Main("crash", {"--quick", "--workers", "1"}, &kCalib);
    ExpectAllPy(r, "crashed", "python_toy.py --calibrate died of SIGSEGV");
    r = Main("hang", {"--quick", "--workers", "1", "--timeout", "1"}, &kCalib);
    EXPECT_EQ(r.rc, CB_EXIT_FAILED) << r.err;
    ExpectAllPy(r, "timeout", "python_toy.py --calibrate: timeout after 11 s");
}

TEST(PythonDriver, LeavesNoFdsOrChildren)
{
    int fds = CountFds();
    Main("ok", {"--quick", "--workers", "1"});
    Main("hang", {"--quick", "--workers", "1", "--timeout", "1"});
    Main("ok", {"--help"});
    EXPECT_EQ(CountFds(), fds);
    EXPECT_TRUE(NoChildren());
}
