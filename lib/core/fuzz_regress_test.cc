/* Replays what scripts/fuzz.sh found (inputs kept in lib/fuzz/regressions/)
 * through the property the fuzz target checks, reduced to the bytes that
 * mattered so the test needs no data files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/cli.h"
#include "lib/core/results.h"

namespace
{

std::string TempPath(const char *name)
{
    const char *base = getenv("TEST_TMPDIR");
    return std::string(base ? base : "/tmp") + "/" + name;
}

/* Reads csv, writes it, reads that, writes and reads again. Returns the
 * values of the three reads. */
std::vector<std::vector<double>> RoundTrips(const std::string &csv)
{
    std::vector<std::vector<double>> vals(3);
    std::string path[3] = {TempPath("fuzz_0.csv"), TempPath("fuzz_1.csv"), TempPath("fuzz_2.csv")};
    {
        std::ofstream f(path[0], std::ios::binary | std::ios::trunc);
        f << csv;
    }
    for (int k = 0; k < 3; k++) {
        cb_results_t *r = cb_results_new();
        char err[256] = "";
        EXPECT_EQ(cb_results_read_raw(r, path[k].c_str(), err, sizeof(err)), 0) << err;
        for (size_t i = 0; i < cb_results_count(r); i++)
            vals[k].push_back(cb_results_get(r, i)->value);
        if (k < 2) {
            EXPECT_EQ(cb_results_write_raw(r, path[k + 1].c_str()), 0);
        }
        cb_results_free(r);
    }
    return vals;
}

} // namespace

/* results_value_precision.csv: the fuzz target first demanded values back
 * bit for bit and stopped on a 66-digit value (on a crashed row, which the
 * reader accepts). The writer keeps 9 significant digits by design (the
 * tests in results_test.cc pin that format; 9 digits are 1 ns in 1 s), so
 * the property is now: one write rounds to 9 digits, and rewriting (as
 * --append does with the old rows) changes nothing more. */
TEST(FuzzRegressions, RewritingRoundsOnceThenNeverDrifts)
{
    auto v = RoundTrips("experiment,executor,workload,workers,tasks,pin,rep,metric,value,unit,"
                        "status,l\n"
                        "e,serial,cpu,1,4,compact,0,sys_s,"
                        "222222222222222222222222222222222222222222222222222222222222222222,s,"
                        "crashed,x\n"
                        "e,serial,cpu,1,4,compact,0,wall_s,0.12345678901234568,s,ok,\n"
                        "e,serial,cpu,1,4,compact,1,wall_s,,s,timeout,\n");
    ASSERT_EQ(v[0].size(), 3u);
    ASSERT_EQ(v[1].size(), 3u);
    ASSERT_EQ(v[2].size(), 3u);
    EXPECT_EQ(v[0][0], strtod(std::string(66, '2').c_str(), nullptr));
    EXPECT_EQ(v[1][0], 2.22222222e65); /* "%.9g" */
    EXPECT_EQ(v[1][1], 0.123456789);
    EXPECT_TRUE(isnan(v[1][2]));
    for (size_t i = 0; i < 2; i++)
        EXPECT_EQ(v[2][i], v[1][i]) << "row " << i;
    EXPECT_TRUE(isnan(v[2][2]));
}

/* What the harness writes itself keeps its short form: 9 significant
 * digits when they read back exactly. */
TEST(FuzzRegressions, MeasuredValuesStayShort)
{
    std::string out = TempPath("short.csv");
    cb_results_t *r = cb_results_new();
    ASSERT_NE(r, nullptr);
    cb_sample_t s = {};
    s.key = {"e", "serial", "cpu", 1, 4, "compact"};
    s.metric = "wall_s";
    s.value = 0.076095319; /* a wall time with ns resolution, as measured */
    s.unit = "s";
    s.status = CB_OK;
    ASSERT_EQ(cb_results_add(r, &s), 0);
    ASSERT_EQ(cb_results_write_raw(r, out.c_str()), 0);
    std::ifstream f(out);
    std::string header, row;
    std::getline(f, header);
    std::getline(f, row);
    EXPECT_EQ(row, "e,serial,cpu,1,4,compact,0,wall_s,0.076095319,s,ok,");
    cb_results_free(r);
}

/* Found while checking cli_fuzz's inputs (its property does not read the
 * messages): an unknown short flag at the start of a cluster ("-xh") was
 * reported as the program's own name, argv[optind - 1] with optind not yet
 * moved on. And getopt_long was reset with optind = 1, which leaves glibc's
 * pointer into the rest of that cluster ("h", in the caller's argv) for the
 * next parse to continue from. */
TEST(FuzzRegressions, UnknownShortFlagIsNamedAndTheNextParseStartsClean)
{
    const char *const names[] = {"serial", nullptr};
    cb_cli_spec_t spec = {};
    spec.prog = "prog";
    spec.executor_names = names;
    spec.workload_names = names;
    std::string a0 = "prog", a1 = "-xh";
    char *argv1[] = {&a0[0], &a1[0], nullptr};
    cb_opts_t o;
    testing::internal::CaptureStderr();
    EXPECT_EQ(cb_cli_parse(&spec, 2, argv1, &o), CB_EXIT_USAGE);
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "prog: unknown flag '-x': see --help for the flags\n");
    cb_cli_free(&o);

    std::string b0 = "prog", b1 = "--reps", b2 = "3";
    char *argv2[] = {&b0[0], &b1[0], &b2[0], nullptr};
    a1.assign("XXX"); /* the old argv changes, as freed memory would */
    ASSERT_EQ(cb_cli_parse(&spec, 3, argv2, &o), 0);
    EXPECT_EQ(o.help, 0);
    EXPECT_EQ(o.reps, 3);
    cb_cli_free(&o);
}
