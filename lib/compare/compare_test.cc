#include "lib/compare/compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/meta.h"
#include "lib/core/cli.h"

namespace
{

// One configuration's rows: every value is one repetition.
struct Cfg {
    std::string executor;
    long workers;
    std::string metric;
    std::string unit;
    std::vector<double> values;
    std::string status = "ok";
};

const char *const kHeader =
    "experiment,executor,workload,workers,tasks,pin,rep,metric,value,unit,status,detail";

// Five repetitions, CV about 1.6%: stable.
const std::vector<double> kWall = {1.00, 1.01, 1.02, 1.03, 1.04};
const std::vector<double> kRate = {1000, 1010, 1020, 1030, 1040};

std::vector<double> scaled(const std::vector<double> &v, double k)
{
    std::vector<double> out;
    for (double x : v)
        out.push_back(x * k);
    return out;
}

std::string fmt(double v)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.15g", v);
    return buf;
}

// A raw CSV in the contract's column order.
std::string raw_csv(const std::vector<Cfg> &cfgs)
{
    std::string s = std::string(kHeader) + "\n";
    for (const Cfg &c : cfgs)
        for (size_t rep = 0; rep < c.values.size(); rep++)
            s += "e1," + c.executor + ",cpu," + std::to_string(c.workers) + ",100,compact," +
                 std::to_string(rep) + "," + c.metric + "," + fmt(c.values[rep]) + "," + c.unit +
                 "," + c.status + ",\n";
    return s;
}

// The usual configurations: wall time and throughput for two executors, and
// a count that is a fact of the run.
std::vector<Cfg> standard(double wall_k = 1, double rate_k = 1)
{
    return {
        {"serial", 1, "wall_s", "s", kWall},
        {"thread", 2, "wall_s", "s", scaled(kWall, wall_k)},
        {"thread", 2, "tasks_per_s", "1/s", scaled(kRate, rate_k)},
        {"thread", 2, "tasks", "count", {100, 100, 100, 100, 100}},
    };
}

class Compare : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        const char *t = getenv("TEST_TMPDIR");
        dir_ = std::string(t ? t : "/tmp") + "/" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::string cmd = "mkdir -p '" + dir_ + "'";
        ASSERT_EQ(system(cmd.c_str()), 0);
    }
    void TearDown() override
    {
        cb_comparison_free(c_);
    }

    std::string write(const std::string &name, const std::string &text)
    {
        std::string p = dir_ + "/" + name;
        FILE *f = fopen(p.c_str(), "w");
        EXPECT_NE(f, nullptr) << p;
        if (f) {
            fputs(text.c_str(), f);
            fclose(f);
        }
        return p;
    }

    // Compares two CSV texts through the files; the comparison is kept in c_.
    void compare(const std::string &base, const std::string &cur,
                 const cb_compare_opts_t *o = nullptr)
    {
        char err[512] = "";
        std::string b = write("base.csv", base), n = write("new.csv", cur);
        cb_comparison_free(c_);
        c_ = nullptr;
        ASSERT_EQ(cb_compare_files(b.c_str(), n.c_str(), o, &c_, err, sizeof(err)), 0) << err;
    }

    // Runs the command line; its stdout and stderr are kept in out_ / err_.
    int run(std::vector<std::string> args)
    {
        args.insert(args.begin(), "compare");
        std::vector<char *> argv;
        for (std::string &a : args)
            argv.push_back(&a[0]);
        argv.push_back(nullptr);
        char *ob = nullptr, *eb = nullptr;
        size_t ol = 0, el = 0;
        FILE *o = open_memstream(&ob, &ol), *e = open_memstream(&eb, &el);
        int rc = cb_compare_main((int)args.size(), argv.data(), o, e);
        fclose(o);
        fclose(e);
        out_ = ob;
        err_ = eb;
        free(ob);
        free(eb);
        return rc;
    }

    const cb_compare_row_t *row(const char *exec, long workers, const char *metric)
    {
        return cb_comparison_find(c_, exec, "cpu", workers, metric);
    }

    int lines(const std::string &s)
    {
        int n = 0;
        for (char ch : s)
            n += ch == '\n';
        return n;
    }

    std::string dir_;
    cb_comparison_t *c_ = nullptr;
    std::string out_, err_;
};

TEST(Direction, KnownMetrics)
{
    int assumed = -1;
    // The spec's lists: times and costs lower is better, rates higher.
    for (const char *m : {"wall_s", "user_s", "sys_s", "us_per_spawn", "ns_per_switch", "p50_us",
                          "p99_us", "vol_cs", "invol_cs", "relative", "us_per_roundtrip"}) {
        EXPECT_EQ(cb_compare_direction(m, "count", &assumed), CB_DIR_LOWER) << m;
        EXPECT_EQ(assumed, 0) << m;
    }
    for (const char *m :
         {"tasks_per_s", "req_per_s", "items_per_s", "speedup", "efficiency", "msgs_per_s"}) {
        EXPECT_EQ(cb_compare_direction(m, "1/s", &assumed), CB_DIR_HIGHER) << m;
        EXPECT_EQ(assumed, 0) << m;
    }
    for (const char *m : {"final_counter", "lost_updates", "order_errors", "peak_concurrency",
                          "roundtrips", "spawns", "tasks"}) {
        EXPECT_EQ(cb_compare_direction(m, "count", &assumed), CB_DIR_FACT) << m;
        EXPECT_EQ(assumed, 0) << m;
    }
    // Any other count is bookkeeping; an unknown non-count is assumed lower.
    EXPECT_EQ(cb_compare_direction("pages", "count", &assumed), CB_DIR_FACT);
    EXPECT_EQ(assumed, 0);
    EXPECT_EQ(cb_compare_direction("widgets", "x", &assumed), CB_DIR_LOWER);
    EXPECT_EQ(assumed, 1);
    EXPECT_EQ(cb_compare_direction("widgets", NULL, NULL), CB_DIR_LOWER);
}

TEST_F(Compare, IdenticalInputsAreAllSame)
{
    std::string csv = raw_csv(standard());
    compare(csv, csv);
    ASSERT_EQ(c_->nrows, 4u);
    for (size_t i = 0; i < c_->nrows; i++) {
        EXPECT_EQ(c_->rows[i].verdict, CB_VERDICT_SAME) << c_->rows[i].metric;
        EXPECT_EQ(c_->rows[i].base.n, 5u);
        EXPECT_EQ(c_->rows[i].cur.n, 5u);
    }
    // Identical samples: every value tied with its twin, no evidence (p = 1).
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    EXPECT_DOUBLE_EQ(r->ratio, 1);
    EXPECT_DOUBLE_EQ(r->factor, 1);
    EXPECT_DOUBLE_EQ(r->p, 1);
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);

    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_OK) << err_;
    EXPECT_NE(out_.find("0 slower"), std::string::npos) << out_;
    EXPECT_EQ(err_, "");
}

TEST_F(Compare, ScaledByOneAndAHalfIsSlower)
{
    compare(raw_csv(standard()), raw_csv(standard(1.5)));
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->verdict, CB_VERDICT_SLOWER);
    // Medians 1.02 and 1.53.
    EXPECT_DOUBLE_EQ(r->base.median, 1.02);
    EXPECT_DOUBLE_EQ(r->cur.median, 1.53);
    EXPECT_NEAR(r->ratio, 1.5, 1e-12);
    EXPECT_NEAR(r->factor, 1.5, 1e-12);
    // 5 vs 5, fully separated: U = 0, and P(U = 0) = 1 / C(10, 5) = 1/252
    // (every arrangement of the ranks equally likely), two-sided 2/252
    // (Mann & Whitney 1947; scipy.stats.mannwhitneyu(range(1, 6),
    // range(6, 11), method="exact").pvalue == 0.007936507936507936).
    EXPECT_EQ(r->exact, 1);
    EXPECT_DOUBLE_EQ(r->p, 2.0 / 252);
    EXPECT_LT(r->p, 0.01);
    // Worst first.
    EXPECT_EQ(c_->rows[0].verdict, CB_VERDICT_SLOWER);
    EXPECT_EQ(c_->count[CB_VERDICT_SLOWER], 1u);
    EXPECT_EQ(row("serial", 1, "wall_s")->verdict, CB_VERDICT_SAME);
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_REGRESSION);

    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_REGRESSION);
    EXPECT_NE(out_.find("1.50x slower"), std::string::npos) << out_;
    // The reverse direction is faster, with the same p, and no regression.
    EXPECT_EQ(run({dir_ + "/new.csv", dir_ + "/base.csv"}), CB_EXIT_OK);
    EXPECT_NE(out_.find("1.50x faster"), std::string::npos) << out_;
}

// CI gates on the ratios only (--metrics): a slower wall time on another run
// of the same machine class is then not looked at.
TEST_F(Compare, MetricsListLimitsTheComparison)
{
    cb_compare_opts_t o;
    cb_compare_opts_default(&o);
    o.metrics = "speedup,efficiency";
    compare(raw_csv(standard()), raw_csv(standard(1.5)), &o);
    EXPECT_EQ(c_->nrows, 0u);
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);
    o.metrics = "user_s,wall_s";
    compare(raw_csv(standard()), raw_csv(standard(1.5)), &o);
    ASSERT_NE(row("thread", 2, "wall_s"), nullptr);
    EXPECT_EQ(row("thread", 2, "wall_s")->verdict, CB_VERDICT_SLOWER);
    for (size_t i = 0; i < c_->nrows; i++)
        EXPECT_TRUE(strcmp(c_->rows[i].metric, "wall_s") == 0 ||
                    strcmp(c_->rows[i].metric, "user_s") == 0)
            << c_->rows[i].metric;

    /* Nothing to compare (no serial row to derive a speedup from): its own
     * exit status, never "no regression". */
    EXPECT_EQ(run({"--metrics", "speedup", dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_NOTHING)
        << err_;
    EXPECT_NE(err_.find("nothing compared"), std::string::npos) << err_;
    /* A metric neither file has is a typo, refused. */
    EXPECT_EQ(run({"--metrics", "wall_s,nosuch", dir_ + "/base.csv", dir_ + "/new.csv"}),
              CB_EXIT_USAGE);
    EXPECT_NE(err_.find("'nosuch' is in neither"), std::string::npos) << err_;
    EXPECT_EQ(run({"--metrics", "wall_s", dir_ + "/base.csv", dir_ + "/new.csv"}),
              CB_EXIT_REGRESSION);
    EXPECT_EQ(run({"--metrics", "wall_s,", dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("'wall_s,'"), std::string::npos) << err_;
}

// The inputs a gate must not take quietly: a NEW file with no rows (every
// configuration lost), values that are not finite decimals or are negative
// times, a byte order mark, a report path that is an input.
TEST_F(Compare, AGateCannotBeSwitchedOffByAccident)
{
    compare(raw_csv(standard()), raw_csv(standard()), nullptr);
    std::string header = raw_csv(standard()).substr(0, raw_csv(standard()).find('\n') + 1);
    write("empty.csv", header);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/empty.csv"}), CB_EXIT_NOTHING) << err_;
    EXPECT_NE(err_.find("nothing compared"), std::string::npos) << err_;
    for (const char *bad : {"inf", "1e309", "0x10", "nan", "-1.5"}) {
        std::string csv = header + "cpu_vs_io,thread,cpu,2,4,compact,0,wall_s," + bad + ",s,ok,\n";
        write("bad.csv", csv);
        EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/bad.csv"}), CB_EXIT_USAGE) << bad;
        EXPECT_NE(err_.find("bad.csv:2"), std::string::npos) << bad << ": " << err_;
    }
    write("bom.csv", "\xEF\xBB\xBF" + raw_csv(standard()));
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/bom.csv"}), CB_EXIT_OK) << err_;
    auto slurp = [](const std::string &path) {
        std::string text;
        FILE *f = fopen(path.c_str(), "r");
        for (int ch; f && (ch = fgetc(f)) != EOF;)
            text += (char)ch;
        if (f)
            fclose(f);
        return text;
    };
    std::string before = slurp(dir_ + "/base.csv");
    EXPECT_EQ(run({"--report", dir_ + "/base.csv", dir_ + "/base.csv", dir_ + "/new.csv"}),
              CB_EXIT_USAGE);
    EXPECT_NE(err_.find("is the BASE input"), std::string::npos) << err_;
    EXPECT_EQ(slurp(dir_ + "/base.csv"), before);
}

// One repetition a busy machine preempted does not hide a real change: the
// robust CV ignores a lone outlier, where stddev / mean would not.
TEST_F(Compare, OneOutlierDoesNotMakeARowUnstable)
{
    std::vector<Cfg> b = {{"thread", 2, "wall_s", "s", {1.00, 1.01, 1.02, 1.03, 1.04, 1.45}}};
    std::vector<Cfg> n = {{"thread", 2, "wall_s", "s", {1.50, 1.51, 1.52, 1.53, 1.54, 1.55}}};
    compare(raw_csv(b), raw_csv(n));
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    // base: median 1.025; deviations 0.025, 0.015, 0.005, 0.005, 0.015, 0.425;
    // MAD 0.015; robust CV = 1.4826 * 0.015 / 1.025 = 0.0217 (stddev / mean
    // would be 0.176 / 1.092 = 0.16, "unstable"). Every new value is above
    // every base value: U = 0, exact two-sided p = 2 / C(12, 6) = 2/924.
    EXPECT_NEAR(r->base.cv, 1.4826 * 0.015 / 1.025, 1e-9);
    EXPECT_DOUBLE_EQ(r->p, 2.0 / 924);
    EXPECT_EQ(r->verdict, CB_VERDICT_SLOWER);
}

TEST_F(Compare, SmallChangeBelowThresholdIsSame)
{
    // 5% slower and fully separated: significant, but under the 10% threshold.
    compare(raw_csv(standard()), raw_csv(standard(1.05)));
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    EXPECT_DOUBLE_EQ(r->p, 2.0 / 252);
    EXPECT_EQ(r->verdict, CB_VERDICT_SAME);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_OK);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv", "--threshold", "0.04"}),
              CB_EXIT_REGRESSION);
}

TEST_F(Compare, AlphaDecidesOnAnOverlapOfOne)
{
    // base 100..103,105 against 104,106..109: one pair out of order (105 >
    // 104), so U = 1 and P(U <= 1) = 2/252 (U = 0 or 1 each arise from one
    // arrangement), two-sided p = 4/252 = 0.0159: above alpha 0.01, below 0.02.
    std::vector<Cfg> b = {{"thread", 2, "wall_s", "s", {100, 101, 102, 103, 105}}};
    std::vector<Cfg> n = {{"thread", 2, "wall_s", "s", {104, 106, 107, 108, 109}}};
    cb_compare_opts_t o;
    cb_compare_opts_default(&o);
    o.threshold = 0.01; // medians 102 -> 107: a factor of 1.049
    compare(raw_csv(b), raw_csv(n), &o);
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->exact, 1);
    EXPECT_DOUBLE_EQ(r->p, 4.0 / 252);
    EXPECT_EQ(r->verdict, CB_VERDICT_SAME);
    std::string bp = dir_ + "/base.csv", np = dir_ + "/new.csv";
    EXPECT_EQ(run({bp, np, "--threshold", "0.01"}), CB_EXIT_OK);
    EXPECT_EQ(run({bp, np, "--threshold", "0.01", "--alpha", "0.02"}), CB_EXIT_REGRESSION);
}

TEST_F(Compare, NoisySideIsUnstable)
{
    std::vector<Cfg> b = standard(), n = standard();
    // new: median 2.04 (2x slower), but spread: the absolute deviations from
    // the median are 1.02, 0.51, 0, 0.51, 1.02, so MAD = 0.51 and the robust
    // CV = 1.4826 * 0.51 / 2.04 = 0.371.
    n[1].values = {1.02, 1.53, 2.04, 2.55, 3.06};
    compare(raw_csv(b), raw_csv(n));
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->verdict, CB_VERDICT_UNSTABLE);
    EXPECT_GT(r->cur.cv, 0.10);
    EXPECT_NEAR(r->cur.cv, 1.4826 * 0.51 / 2.04, 1e-9);
    EXPECT_NE(strstr(r->why, "new: robust CV"), nullptr) << r->why;
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_OK);
}

TEST_F(Compare, FewerThanFiveOkSamplesIsUnstable)
{
    std::vector<Cfg> b = standard(), n = standard(3);
    // Four ok repetitions of the 3x slower thread, and one that timed out.
    n[1].values = {3.06, 3.09, 3.12, 3.15};
    std::string cur = raw_csv(n) + "e1,thread,cpu,2,100,compact,4,wall_s,,s,timeout,\n";
    compare(raw_csv(b), cur);
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->verdict, CB_VERDICT_UNSTABLE);
    EXPECT_EQ(r->cur.n, 4u);
    EXPECT_EQ(r->cur.nfailed, 1u);
    EXPECT_NE(strstr(r->why, "new: 4 ok samples"), nullptr) << r->why;
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);
}

TEST_F(Compare, ConfigurationOnOneSideIsMissingOrNew)
{
    std::vector<Cfg> b = standard(), n = standard();
    b.push_back({"process", 2, "wall_s", "s", kWall});
    n.push_back({"coroutine", 2, "wall_s", "s", kWall});
    // Same executor, other worker count: another configuration.
    n.push_back({"thread", 4, "wall_s", "s", kWall});
    compare(raw_csv(b), raw_csv(n));
    ASSERT_NE(row("process", 2, "wall_s"), nullptr);
    EXPECT_EQ(row("process", 2, "wall_s")->verdict, CB_VERDICT_MISSING);
    EXPECT_EQ(row("coroutine", 2, "wall_s")->verdict, CB_VERDICT_NEW);
    EXPECT_EQ(row("thread", 4, "wall_s")->verdict, CB_VERDICT_NEW);
    EXPECT_FALSE(row("process", 2, "wall_s")->cur.present);
    EXPECT_FALSE(row("coroutine", 2, "wall_s")->base.present);
    EXPECT_EQ(c_->count[CB_VERDICT_MISSING], 1u);
    EXPECT_EQ(c_->count[CB_VERDICT_NEW], 2u);
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);
}

TEST_F(Compare, ThroughputHalvedIsSlowerDoubledIsFaster)
{
    compare(raw_csv(standard()), raw_csv(standard(1, 0.5)));
    const cb_compare_row_t *r = row("thread", 2, "tasks_per_s");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->dir, CB_DIR_HIGHER);
    EXPECT_EQ(r->verdict, CB_VERDICT_SLOWER);
    EXPECT_NEAR(r->ratio, 0.5, 1e-12); // new / base as it is
    EXPECT_NEAR(r->factor, 2, 1e-12);  // base / new: 2x worse
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_REGRESSION);

    compare(raw_csv(standard()), raw_csv(standard(1, 2)));
    r = row("thread", 2, "tasks_per_s");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->verdict, CB_VERDICT_FASTER);
    EXPECT_NEAR(r->factor, 0.5, 1e-12);
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_OK);
    EXPECT_NE(out_.find("2.00x faster"), std::string::npos) << out_;
}

TEST_F(Compare, ReorderedAndExtraColumnsMatch)
{
    std::string base = raw_csv(standard(1.5));
    // The same rows with the columns in another order, an extra column and
    // no `detail`.
    std::string cur = "host,metric,value,status,rep,pin,tasks,workers,workload,executor,unit,"
                      "experiment\n";
    for (const Cfg &c : standard(1.5))
        for (size_t rep = 0; rep < c.values.size(); rep++)
            cur += "box," + c.metric + "," + fmt(c.values[rep]) + ",ok," + std::to_string(rep) +
                   ",compact,100," + std::to_string(c.workers) + ",cpu," + c.executor + "," +
                   c.unit + ",e1\n";
    compare(base, cur);
    ASSERT_EQ(c_->nrows, 4u);
    for (size_t i = 0; i < c_->nrows; i++) {
        EXPECT_EQ(c_->rows[i].verdict, CB_VERDICT_SAME) << c_->rows[i].metric;
        EXPECT_TRUE(c_->rows[i].base.present && c_->rows[i].cur.present);
    }
}

TEST_F(Compare, FactChangedIsFlaggedNotARegression)
{
    std::vector<Cfg> b = standard(), n = standard();
    n[3].values = {99, 99, 99, 99, 99};
    compare(raw_csv(b), raw_csv(n));
    const cb_compare_row_t *r = row("thread", 2, "tasks");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->dir, CB_DIR_FACT);
    EXPECT_EQ(r->verdict, CB_VERDICT_CHANGED);
    EXPECT_NE(strstr(r->why, "100 -> 99"), nullptr) << r->why;
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);
}

TEST_F(Compare, UnitChangeIsNotComparable)
{
    std::vector<Cfg> b = standard(), n = standard();
    n[1].unit = "ms";
    n[1].values = scaled(kWall, 1000);
    compare(raw_csv(b), raw_csv(n));
    const cb_compare_row_t *r = row("thread", 2, "wall_s");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->verdict, CB_VERDICT_CHANGED);
    EXPECT_NE(strstr(r->why, "unit"), nullptr) << r->why;
    EXPECT_EQ(cb_compare_exit_code(c_), CB_EXIT_OK);
}

TEST_F(Compare, UnknownMetricIsLowerAndSaidSo)
{
    std::vector<Cfg> b = {{"thread", 2, "widgets", "x", kWall}};
    std::vector<Cfg> n = {{"thread", 2, "widgets", "x", scaled(kWall, 2)}};
    write("base.csv", raw_csv(b));
    write("new.csv", raw_csv(n));
    std::string md = dir_ + "/r.md";
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv", "--report", md}), CB_EXIT_REGRESSION);
    EXPECT_NE(out_.find("unknown direction, compared as lower is better: widgets"),
              std::string::npos)
        << out_;
    FILE *f = fopen(md.c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::string text;
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
        text.append(buf, k);
    fclose(f);
    EXPECT_NE(text.find("| slower | e1 | thread | cpu | 2 | 100 | compact | widgets |"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("unknown direction, compared as lower is better**: widgets"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("REGRESSION (exit 4)"), std::string::npos);
}

TEST_F(Compare, MissingColumnIsExit2NamingIt)
{
    std::string csv = raw_csv(standard());
    write("base.csv", csv);
    // Drop the `metric` column from the header and every row.
    std::string bad;
    size_t pos = 0;
    while (pos < csv.size()) {
        size_t nl = csv.find('\n', pos);
        std::string line = csv.substr(pos, nl - pos);
        std::vector<std::string> f;
        size_t s = 0, c;
        while ((c = line.find(',', s)) != std::string::npos) {
            f.push_back(line.substr(s, c - s));
            s = c + 1;
        }
        f.push_back(line.substr(s));
        f.erase(f.begin() + 7); // experiment .. rep, then metric
        for (size_t i = 0; i < f.size(); i++)
            bad += (i ? "," : "") + f[i];
        bad += "\n";
        pos = nl + 1;
    }
    write("new.csv", bad);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("missing column 'metric'"), std::string::npos) << err_;
    EXPECT_NE(err_.find("new.csv"), std::string::npos) << err_;
    EXPECT_EQ(lines(err_), 1) << err_;
    EXPECT_EQ(out_, "");
}

TEST_F(Compare, EmptyValueOnOkRowIsExit2WithLine)
{
    std::string csv = raw_csv(standard());
    write("base.csv", csv);
    // Line 3 (header, then rep 0, then rep 1 of serial wall_s) loses its value.
    std::string bad = csv;
    size_t l3 = bad.find('\n', bad.find('\n') + 1) + 1;
    size_t v = bad.find(",1.01,", l3);
    ASSERT_NE(v, std::string::npos);
    bad.replace(v, 6, ",,");
    write("new.csv", bad);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("new.csv:3:"), std::string::npos) << err_;
    EXPECT_NE(err_.find("empty"), std::string::npos) << err_;
    EXPECT_EQ(lines(err_), 1) << err_;
}

TEST_F(Compare, NonNumericValueIsExit2WithLine)
{
    std::string csv = raw_csv(standard());
    std::string bad = csv;
    size_t v = bad.find(",1.02,");
    ASSERT_NE(v, std::string::npos); // line 4: serial wall_s rep 2
    bad.replace(v, 6, ",fast,");
    write("base.csv", bad);
    write("new.csv", csv);
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("base.csv:4:"), std::string::npos) << err_;
    EXPECT_NE(err_.find("'fast'"), std::string::npos) << err_;
    EXPECT_EQ(lines(err_), 1) << err_;
}

TEST_F(Compare, UnreadableFileIsExit2WithPathAndErrno)
{
    write("base.csv", raw_csv(standard()));
    std::string nope = dir_ + "/nope.csv";
    EXPECT_EQ(run({dir_ + "/base.csv", nope}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find(nope), std::string::npos) << err_;
    EXPECT_NE(err_.find(strerror(ENOENT)), std::string::npos) << err_;
    EXPECT_EQ(lines(err_), 1) << err_;
}

TEST_F(Compare, BadFlagsAreExit2NamingTheValue)
{
    std::string b = write("base.csv", raw_csv(standard()));
    std::string n = write("new.csv", raw_csv(standard()));
    const std::vector<std::vector<std::string>> cases = {
        {"--threshold", "abc"}, {"--threshold", "-1"}, {"--threshold", "0.1x"},
        {"--alpha", "0"},       {"--alpha", "2"},      {"--alpha", "nan"},
    };
    for (const auto &c : cases) {
        EXPECT_EQ(run({b, n, c[0], c[1]}), CB_EXIT_USAGE) << c[0] << " " << c[1];
        EXPECT_NE(err_.find("'" + c[1] + "'"), std::string::npos) << err_;
        EXPECT_NE(err_.find(c[0]), std::string::npos) << err_;
        EXPECT_EQ(lines(err_), 1) << err_;
        EXPECT_EQ(out_, "");
    }
    EXPECT_EQ(run({b, n, "--frobnicate"}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("--frobnicate"), std::string::npos) << err_;
    EXPECT_EQ(run({b, n, "--threshold"}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("--threshold"), std::string::npos) << err_;
    EXPECT_EQ(run({b}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("got 1"), std::string::npos) << err_;
    EXPECT_EQ(run({b, n, n}), CB_EXIT_USAGE);
    EXPECT_EQ(run({b, n, "--report", dir_ + "/no/such/dir/r.md"}), CB_EXIT_USAGE);
    EXPECT_NE(err_.find("no/such/dir/r.md"), std::string::npos) << err_;
    EXPECT_EQ(out_, ""); // refused before comparing
}

TEST_F(Compare, RelativePathsFromTheBazelRunDirectory)
{
    write("base.csv", raw_csv(standard()));
    write("new.csv", raw_csv(standard(1.5)));
    // What `bazel run` sets: the directory the user typed the command in.
    ASSERT_EQ(setenv("BUILD_WORKING_DIRECTORY", dir_.c_str(), 1), 0);
    int rc = run({"base.csv", "new.csv", "--report", "r.md"});
    unsetenv("BUILD_WORKING_DIRECTORY");
    EXPECT_EQ(rc, CB_EXIT_REGRESSION) << err_;
    FILE *f = fopen((dir_ + "/r.md").c_str(), "r");
    EXPECT_NE(f, nullptr);
    if (f)
        fclose(f);
    EXPECT_NE(out_.find("report: " + dir_ + "/r.md"), std::string::npos) << out_;
}

TEST_F(Compare, HelpMentionsTheSmallestExactP)
{
    EXPECT_EQ(run({"--help"}), CB_EXIT_OK);
    EXPECT_NE(out_.find("2/252 = 0.0079"), std::string::npos) << out_;
    EXPECT_NE(out_.find("--threshold"), std::string::npos);
    EXPECT_NE(out_.find("--alpha"), std::string::npos);
    EXPECT_NE(out_.find("--report"), std::string::npos);
    EXPECT_EQ(err_, "");
}

TEST_F(Compare, DifferentMachinesAreWarnedLoudly)
{
    std::string csv = raw_csv(standard());
    write("base.csv", csv);
    write("new.csv", csv);
    write("base.meta", "cpu_model=Alpha 1\ncores=2\npus=2\nallowed_cpuset=0-1\nkernel=6.1\n");
    write("new.meta", "cpu_model=Beta 2\ncores=2\npus=4\nallowed_cpuset=0-1\nkernel=6.2\n");
    std::string md = dir_ + "/r.md";
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv", "--report", md}), CB_EXIT_OK);
    EXPECT_NE(out_.find("WARNING: different machines: cpu_model 'Alpha 1' (base) vs 'Beta 2'"),
              std::string::npos)
        << out_;
    EXPECT_NE(out_.find("WARNING: different machines: pus '2' (base) vs '4' (new)"),
              std::string::npos)
        << out_;
    EXPECT_EQ(out_.find("WARNING: different machines: cores"), std::string::npos) << out_;

    compare(csv, csv);
    EXPECT_EQ(c_->nwarnings, 2u);
    ASSERT_GE(c_->nnotes, 1u);
    EXPECT_NE(strstr(c_->notes[0], "kernel differs"), nullptr) << c_->notes[0];
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ASSERT_EQ(cb_compare_write_report(c_, f), 0);
    fclose(f);
    std::string text = buf;
    free(buf);
    EXPECT_NE(text.find("> **WARNING: different machines: cpu_model"), std::string::npos) << text;
    EXPECT_NE(text.find("| cpu_model | Alpha 1 | Beta 2 |"), std::string::npos) << text;
}

TEST_F(Compare, DifferentSystemStatesAreWarnedAbout)
{
    std::string csv = raw_csv(standard());
    write("base.csv", csv);
    write("new.csv", csv);
    // The same machine, tuned for the base run and not for the new one;
    // the load differs as it always does, which alone is no warning.
    write("base.meta", "cpu_model=Alpha 1\nsys_aslr=off (randomize_va_space=0)\n"
                       "sys_load_per_pu=0.10 (load 0.20 on 2 PUs)\nsys_warnings=none\n");
    write("new.meta", "cpu_model=Alpha 1\nsys_aslr=on (full) (randomize_va_space=2)\n"
                      "sys_load_per_pu=0.20 (load 0.40 on 2 PUs)\nsys_warnings=sys_aslr\n");
    EXPECT_EQ(run({dir_ + "/base.csv", dir_ + "/new.csv"}), CB_EXIT_OK);
    EXPECT_NE(out_.find("WARNING: different system states: sys_aslr 'off (randomize_va_space=0)' "
                        "(base) vs 'on (full) (randomize_va_space=2)' (new)"),
              std::string::npos)
        << out_;
    EXPECT_NE(out_.find("WARNING: different system states: sys_warnings 'none' (base) vs "
                        "'sys_aslr' (new)"),
              std::string::npos)
        << out_;
    EXPECT_EQ(out_.find("sys_load_per_pu '"), std::string::npos) << out_;
    EXPECT_EQ(out_.find("different machines"), std::string::npos) << out_;
}

TEST_F(Compare, SameMachineOrNoMetaIsQuiet)
{
    std::string csv = raw_csv(standard());
    compare(csv, csv);
    EXPECT_EQ(c_->nwarnings, 0u);
    EXPECT_EQ(c_->nnotes, 2u); // "no .../base.meta", "no .../new.meta"
    write("base.meta", "cpu_model=Alpha 1\ncores=2\n");
    write("new.meta", "cpu_model=Alpha 1\ncores=2\n");
    compare(csv, csv);
    EXPECT_EQ(c_->nwarnings, 0u);
    EXPECT_EQ(c_->nnotes, 0u);
}

TEST_F(Compare, FilesFromTheHarnessWriter)
{
    // The files a bench binary writes (cb_results_write_raw, cb_meta_write),
    // with a failed row and the writer's own number format.
    cb_results_t *r[2] = {cb_results_new(), cb_results_new()};
    cb_meta_t *m[2] = {cb_meta_new(), cb_meta_new()};
    const char *names[2] = {"w_base", "w_new"};
    for (int side = 0; side < 2; side++) {
        ASSERT_TRUE(r[side] && m[side]);
        for (int rep = 0; rep < 6; rep++) {
            cb_sample_t s = {};
            s.key = {"e1", "thread", "cpu", 2, 100, "compact"};
            s.rep = rep;
            s.metric = "us_per_spawn";
            s.unit = "us";
            s.status = rep == 5 ? CB_CRASHED : CB_OK;
            s.detail = rep == 5 ? "SIGSEGV" : "";
            s.value = rep == 5 ? NAN : (side ? 30.0 : 20.0) + 0.1 * rep;
            ASSERT_EQ(cb_results_add(r[side], &s), 0);
        }
        std::string csv = dir_ + "/" + names[side] + ".csv";
        ASSERT_EQ(cb_results_write_raw(r[side], csv.c_str()), 0);
        ASSERT_EQ(cb_meta_set(m[side], "cpu_model", side ? "Beta 2" : "Alpha 1"), 0);
        ASSERT_EQ(cb_meta_write(m[side], (dir_ + "/" + names[side] + ".meta").c_str()), 0);
        cb_results_free(r[side]);
        cb_meta_free(m[side]);
    }
    char err[512] = "";
    ASSERT_EQ(cb_compare_files((dir_ + "/w_base.csv").c_str(), (dir_ + "/w_new.csv").c_str(),
                               nullptr, &c_, err, sizeof(err)),
              0)
        << err;
    ASSERT_EQ(c_->nrows, 1u);
    const cb_compare_row_t *x = &c_->rows[0];
    EXPECT_EQ(x->base.n, 5u);
    EXPECT_EQ(x->base.nfailed, 1u);
    // Medians of 20.0 .. 20.4 and 30.0 .. 30.4.
    EXPECT_DOUBLE_EQ(x->base.median, 20.2);
    EXPECT_DOUBLE_EQ(x->cur.median, 30.2);
    EXPECT_DOUBLE_EQ(x->p, 2.0 / 252);
    EXPECT_EQ(x->verdict, CB_VERDICT_SLOWER);
    ASSERT_EQ(c_->nwarnings, 1u);
    EXPECT_NE(strstr(c_->warnings[0], "cpu_model 'Alpha 1' (base) vs 'Beta 2' (new)"), nullptr)
        << c_->warnings[0];
}

TEST(CompareResults, FromMemoryZeroMediansAndEmptyInputs)
{
    cb_results_t *b = cb_results_new(), *n = cb_results_new();
    ASSERT_TRUE(b && n);
    cb_comparison_t *c = nullptr;
    // Nothing on either side: nothing to say, no regression.
    ASSERT_EQ(cb_compare_results(b, n, nullptr, &c), 0);
    EXPECT_EQ(c->nrows, 0u);
    EXPECT_EQ(cb_compare_exit_code(c), CB_EXIT_OK);
    cb_comparison_free(c);

    // A p99 latency of 0 in base and 5 in new: infinitely slower, the
    // ratio is +inf, never NaN; the table prints it.
    for (int rep = 0; rep < 5; rep++) {
        cb_sample_t s = {};
        s.key = {"e1", "thread", "cpu", 2, 100, "compact"};
        s.rep = rep;
        s.metric = "p99_us";
        s.unit = "us";
        s.status = CB_OK;
        s.value = 0;
        ASSERT_EQ(cb_results_add(b, &s), 0);
        s.value = 5;
        ASSERT_EQ(cb_results_add(n, &s), 0);
    }
    ASSERT_EQ(cb_compare_results(b, n, nullptr, &c), 0);
    ASSERT_EQ(c->nrows, 1u);
    EXPECT_TRUE(isinf(c->rows[0].factor));
    // Both sides all tied at one value each: normal approximation with tie
    // correction, sigma^2 = 25/12 (11 - 240/90) = 17.36, |U - 12.5| - 0.5 =
    // 12, z = 2.880, p = erfc(2.880 / sqrt 2) = 0.00398.
    EXPECT_EQ(c->rows[0].exact, 0);
    EXPECT_NEAR(c->rows[0].p, 0.00398, 0.00001);
    EXPECT_EQ(c->rows[0].verdict, CB_VERDICT_SLOWER);
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ASSERT_EQ(cb_compare_print_table(c, f), 0);
    fclose(f);
    EXPECT_NE(strstr(buf, "inf slower"), nullptr) << buf;
    free(buf);
    cb_comparison_free(c);
    // The other way round: to 0 is infinitely faster, a factor of 0.
    ASSERT_EQ(cb_compare_results(n, b, nullptr, &c), 0);
    ASSERT_EQ(c->nrows, 1u);
    EXPECT_EQ(c->rows[0].factor, 0);
    EXPECT_EQ(c->rows[0].verdict, CB_VERDICT_FASTER);
    f = open_memstream(&buf, &len);
    ASSERT_EQ(cb_compare_print_table(c, f), 0);
    fclose(f);
    EXPECT_NE(strstr(buf, "inf faster"), nullptr) << buf;
    free(buf);
    cb_comparison_free(c);
    cb_results_free(b);
    cb_results_free(n);
}

} // namespace
