#include "lib/core/results.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "lib/core/meta.h"
#include "lib/core/cb_version.h"
#include "lib/core/csv.h"

namespace
{

using Rows = std::vector<std::vector<std::string>>;

std::string FreshDir()
{
    const char *base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/results_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr)
        ADD_FAILURE() << "mkdtemp: " << strerror(errno);
    return buf.data();
}

void WriteFile(const std::string &path, const std::string &data)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    ASSERT_TRUE(out.good()) << path;
}

std::string ReadFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Rows ReadCsv(const std::string &path)
{
    Rows rows;
    int err = 0;
    cb_csv_reader_t *r = cb_csv_open(path.c_str(), &err);
    EXPECT_NE(r, nullptr) << path << ": " << strerror(-err);
    if (r == nullptr)
        return rows;
    const char *const *f;
    size_t line;
    int n;
    while ((n = cb_csv_next(r, &f, &line)) > 0)
        rows.emplace_back(f, f + n);
    EXPECT_EQ(n, 0);
    cb_csv_close(r);
    return rows;
}

std::vector<std::string> Split(const std::string &s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        out.push_back(item);
    return out;
}

// What "%.9g" gives back after a trip through text.
double Through9g(double v)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.9g", v);
    return strtod(buf, nullptr);
}

cb_sample_t Sample(const char *executor, long workers, int rep, const char *metric, double value,
                   cb_status_t status = CB_OK, const char *workload = "spin", long tasks = 8)
{
    cb_sample_t s = {};
    s.key.experiment = "cpu_vs_io";
    s.key.executor = executor;
    s.key.workload = workload;
    s.key.workers = workers;
    s.key.tasks = tasks;
    s.key.pin = "compact";
    s.rep = rep;
    s.metric = metric;
    s.value = value;
    s.unit = strcmp(metric, "wall_s") == 0 ? "s" : "count";
    s.status = status;
    s.detail = status == CB_OK ? nullptr : "timed out";
    return s;
}

void ExpectSameSample(const cb_sample_t *a, const cb_sample_t *b)
{
    EXPECT_STREQ(a->key.experiment, b->key.experiment);
    EXPECT_STREQ(a->key.executor, b->key.executor);
    EXPECT_STREQ(a->key.workload, b->key.workload);
    EXPECT_EQ(a->key.workers, b->key.workers);
    EXPECT_EQ(a->key.tasks, b->key.tasks);
    EXPECT_STREQ(a->key.pin, b->key.pin);
    EXPECT_EQ(a->rep, b->rep);
    EXPECT_STREQ(a->metric, b->metric);
    if (isnan(a->value))
        EXPECT_TRUE(isnan(b->value));
    else
        EXPECT_EQ(Through9g(a->value), b->value);
    EXPECT_STREQ(a->unit, b->unit);
    EXPECT_EQ(a->status, b->status);
    EXPECT_STREQ(a->detail ? a->detail : "", b->detail ? b->detail : "");
}

struct Results {
    cb_results_t *r = cb_results_new();
    ~Results()
    {
        cb_results_free(r);
    }
};

TEST(Results, AddCopiesTheStrings)
{
    Results t;
    ASSERT_NE(t.r, nullptr);
    std::string exec = "thread";
    cb_sample_t s = Sample(exec.c_str(), 2, 0, "wall_s", 1.5);
    s.detail = nullptr;
    ASSERT_EQ(cb_results_add(t.r, &s), 0);
    exec[0] = 'X';
    ASSERT_EQ(cb_results_count(t.r), 1u);
    const cb_sample_t *g = cb_results_get(t.r, 0);
    EXPECT_STREQ(g->key.executor, "thread");
    EXPECT_STREQ(g->detail, "");
    EXPECT_EQ(cb_results_get(t.r, 1), nullptr);
}

TEST(Results, RawRoundTrip)
{
    Results t;
    std::vector<cb_sample_t> in = {
        Sample("serial", 1, 0, "wall_s", 0.1),
        Sample("thread", 2, 0, "wall_s", 1.0 / 3.0),
        Sample("thread", 2, 0, "vol_cs", 123456789),
        Sample("process", 2, 0, "wall_s", 1e-9),
        Sample("process_pool", 2, 0, "wall_s", NAN, CB_TIMEOUT),
        Sample("coroutine", 2, 0, "wall_s", NAN, CB_CRASHED),
        Sample("thread_pool", 2, 0, "wall_s", NAN, CB_ERROR),
        Sample("openmp", 2, 0, "wall_s", NAN, CB_SKIPPED),
        Sample("thread+gil", 2, 1, "req_per_s", -2.5e300),
    };
    // Text fields that need quoting, everywhere text goes.
    in[1].detail = "a, \"quoted\"\nmultiline detail";
    in[2].key.workload = "io,sleep";
    in[3].key.pin = "0,2,4-7";
    in[5].detail = "SIGSEGV";
    in[6].key.experiment = " padded ";
    for (const auto &s : in)
        ASSERT_EQ(cb_results_add(t.r, &s), 0);

    std::string path = FreshDir() + "/E.csv";
    ASSERT_EQ(cb_results_write_raw(t.r, path.c_str()), 0);

    // Header first, then one row per sample, every column on every row.
    Rows rows = ReadCsv(path);
    ASSERT_EQ(rows.size(), in.size() + 1);
    EXPECT_EQ(rows[0], Split(CB_RAW_COLUMNS));
    for (const auto &row : rows)
        EXPECT_EQ(row.size(), rows[0].size());
    // Spot checks of the text: "%.9g", an empty value on failed rows, the
    // status names of status.h.
    EXPECT_EQ(rows[1][8], "0.1");
    EXPECT_EQ(rows[2][8], "0.333333333");
    EXPECT_EQ(rows[3][8], "123456789");
    EXPECT_EQ(rows[4][8], "1e-09");
    EXPECT_EQ(rows[5][8], "");
    EXPECT_EQ(rows[5][10], "timeout");
    EXPECT_EQ(rows[6][10], "crashed");
    EXPECT_EQ(rows[7][10], "error");
    EXPECT_EQ(rows[8][10], "skipped");
    EXPECT_EQ(rows[1][10], "ok");
    EXPECT_EQ(rows[2][11], "a, \"quoted\"\nmultiline detail");

    Results back;
    char err[256] = "";
    ASSERT_EQ(cb_results_read_raw(back.r, path.c_str(), err, sizeof(err)), 0) << err;
    ASSERT_EQ(cb_results_count(back.r), in.size());
    for (size_t i = 0; i < in.size(); i++) {
        SCOPED_TRACE(i);
        ExpectSameSample(&in[i], cb_results_get(back.r, i));
    }
}

TEST(Results, ReadRawMatchesColumnsByName)
{
    // Columns shuffled, an extra one, no `detail`; CRLF line ends; a blank
    // line; a failed row with an empty value.
    std::string path = FreshDir() + "/other.csv";
    WriteFile(path, "host,status,value,metric,rep,pin,tasks,workers,workload,executor,unit,"
                    "experiment\r\n"
                    "box1,ok,2.5,wall_s,3,scatter,16,4,spin,thread,s,cpu_vs_io\r\n"
                    "\r\n"
                    "box1,timeout,,wall_s,4,scatter,16,4,spin,thread,s,cpu_vs_io\r\n");
    Results t;
    char err[256] = "";
    ASSERT_EQ(cb_results_read_raw(t.r, path.c_str(), err, sizeof(err)), 0) << err;
    ASSERT_EQ(cb_results_count(t.r), 2u);
    const cb_sample_t *s = cb_results_get(t.r, 0);
    EXPECT_STREQ(s->key.experiment, "cpu_vs_io");
    EXPECT_STREQ(s->key.executor, "thread");
    EXPECT_STREQ(s->key.workload, "spin");
    EXPECT_EQ(s->key.workers, 4);
    EXPECT_EQ(s->key.tasks, 16);
    EXPECT_STREQ(s->key.pin, "scatter");
    EXPECT_EQ(s->rep, 3);
    EXPECT_STREQ(s->metric, "wall_s");
    EXPECT_EQ(s->value, 2.5);
    EXPECT_STREQ(s->unit, "s");
    EXPECT_EQ(s->status, CB_OK);
    EXPECT_STREQ(s->detail, "");
    s = cb_results_get(t.r, 1);
    EXPECT_EQ(s->status, CB_TIMEOUT);
    EXPECT_TRUE(isnan(s->value));
}

const char *kHeader = CB_RAW_COLUMNS "\n";

struct BadFile {
    std::string body;      // after the header
    std::string want;      // a substring of the error
    std::string want_also; // another one
};

TEST(Results, ReadRawRefusesBadRowsNamingLineAndColumn)
{
    const std::vector<BadFile> cases = {
        {"e,serial,spin,1,8,compact,0,wall_s,abc,s,ok,\n", ":2:", "column 'value': 'abc'"},
        {"e,serial,spin,1,8,compact,0,wall_s,1,s,ok,\n"
         "e,serial,spin,1,8,compact,1,wall_s,1.5x,s,ok,\n",
         ":3:", "column 'value': '1.5x'"},
        {"e,serial,spin,1,8,compact,0,wall_s,,s,ok,\n", ":2:", "'value' is empty on an ok row"},
        {"e,serial,spin,1,8,compact,0,wall_s,nan,s,ok,\n", ":2:", "'value': 'nan'"},
        {"e,serial,spin,1,8,compact,0,wall_s, 1,s,ok,\n", ":2:", "'value': ' 1'"},
        {"e,serial,spin,4x,8,compact,0,wall_s,1,s,ok,\n", ":2:", "column 'workers': '4x'"},
        {"e,serial,spin,1,-8,compact,0,wall_s,1,s,ok,\n", ":2:", "column 'tasks': '-8'"},
        {"e,serial,spin,1,8,compact,,wall_s,1,s,ok,\n", ":2:", "column 'rep': ''"},
        {"e,serial,spin,1,8,compact,99999999999,wall_s,1,s,ok,\n", ":2:", "column 'rep'"},
        {"e,serial,spin,1,8,compact,0,wall_s,1,s,fine,\n", ":2:", "column 'status': 'fine'"},
        {"e,serial,spin,1,8,compact,0,wall_s,x,s,timeout,\n", ":2:", "column 'value': 'x'"},
        {"e,serial,spin,1,8,compact,0,wall_s,1,s,ok\n", ":2:", "11 fields, the header has 12"},
        {"\"multi\nline\",serial,spin,1,8,compact,0,wall_s,1,s,ok,\n"
         "e,serial,spin,1,8,compact,0,wall_s,1,s,ok,\"open\n",
         ":4:", "unterminated"},
    };
    std::string dir = FreshDir();
    for (const auto &c : cases) {
        SCOPED_TRACE(c.body);
        std::string path = dir + "/bad.csv";
        WriteFile(path, kHeader + c.body);
        Results t;
        // A row already in the table stays; none of the bad file's rows do.
        cb_sample_t keep = Sample("serial", 1, 0, "wall_s", 1.0);
        ASSERT_EQ(cb_results_add(t.r, &keep), 0);
        char err[256] = "";
        EXPECT_EQ(cb_results_read_raw(t.r, path.c_str(), err, sizeof(err)), -EINVAL);
        EXPECT_NE(std::string(err).find(c.want), std::string::npos) << err;
        EXPECT_NE(std::string(err).find(c.want_also), std::string::npos) << err;
        EXPECT_NE(std::string(err).find(path), std::string::npos) << err;
        EXPECT_EQ(cb_results_count(t.r), 1u);
    }
}

TEST(Results, ReadRawNamesTheMissingColumn)
{
    std::string path = FreshDir() + "/E.csv";
    // The contract's columns without `metric`.
    WriteFile(path, "experiment,executor,workload,workers,tasks,pin,rep,value,unit,status\n"
                    "e,serial,spin,1,8,compact,0,1,s,ok\n");
    Results t;
    char err[256] = "";
    EXPECT_EQ(cb_results_read_raw(t.r, path.c_str(), err, sizeof(err)), -EINVAL);
    EXPECT_NE(std::string(err).find("missing column 'metric'"), std::string::npos) << err;
    EXPECT_EQ(cb_results_count(t.r), 0u);

    WriteFile(path, "");
    EXPECT_EQ(cb_results_read_raw(t.r, path.c_str(), err, sizeof(err)), -EINVAL);
    EXPECT_NE(std::string(err).find("no header"), std::string::npos) << err;

    // No error buffer is fine too.
    EXPECT_EQ(cb_results_read_raw(t.r, path.c_str(), nullptr, 0), -EINVAL);
    std::string absent = FreshDir() + "/absent.csv";
    EXPECT_EQ(cb_results_read_raw(t.r, absent.c_str(), err, sizeof(err)), -ENOENT);
    EXPECT_NE(std::string(err).find(absent), std::string::npos) << err;
}

struct Derived {
    std::string executor;
    long workers;
    int rep;
    std::string metric;
    double value;
    bool operator==(const Derived &o) const
    {
        return executor == o.executor && workers == o.workers && rep == o.rep &&
               metric == o.metric && value == o.value;
    }
};

std::ostream &operator<<(std::ostream &os, const Derived &d)
{
    return os << d.executor << "/" << d.workers << "/rep" << d.rep << "/" << d.metric << "="
              << d.value;
}

TEST(Results, DeriveSpeedupPairsRepetitions)
{
    Results t;
    std::vector<cb_sample_t> in = {
        Sample("serial", 1, 0, "wall_s", 2.0),
        Sample("thread", 2, 0, "wall_s", 1.0),
        Sample("thread", 4, 0, "wall_s", 0.8),
        Sample("serial", 1, 1, "wall_s", 4.0),
        Sample("thread", 2, 1, "wall_s", 1.0),
        Sample("thread", 4, 1, "wall_s", NAN, CB_TIMEOUT),
        // Not wall_s: no derived rows.
        Sample("thread", 2, 0, "vol_cs", 10),
        // No serial row for rep 2.
        Sample("thread", 2, 2, "wall_s", 1.0),
        // Another workload, another task count: their own serial or none.
        Sample("thread", 2, 0, "wall_s", 3.0, CB_OK, "sleep"),
        Sample("serial", 1, 0, "wall_s", 6.0, CB_OK, "sleep"),
        Sample("thread", 2, 0, "wall_s", 1.0, CB_OK, "spin", 16),
        // A failed serial repetition is no baseline.
        Sample("serial", 1, 3, "wall_s", NAN, CB_CRASHED),
        Sample("thread", 2, 3, "wall_s", 1.0),
    };
    for (const auto &s : in)
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
    ASSERT_EQ(cb_results_derive_speedup(t.r), 0);

    std::vector<Derived> got;
    for (size_t i = in.size(); i < cb_results_count(t.r); i++) {
        const cb_sample_t *s = cb_results_get(t.r, i);
        EXPECT_STREQ(s->unit, "ratio");
        EXPECT_EQ(s->status, CB_OK);
        EXPECT_STREQ(s->key.pin, "compact");
        got.push_back({s->key.executor, s->key.workers, s->rep, s->metric, s->value});
        if (std::string(s->key.workload) == "sleep")
            got.back().executor += "/sleep";
    }
    // speedup = serial wall / wall of the same rep; efficiency = speedup /
    // workers: rep 0: 2.0/1.0 = 2 (eff 1), 2.0/0.8 = 2.5 (eff 0.625);
    // rep 1: 4.0/1.0 = 4 (eff 2); sleep rep 0: 6.0/3.0 = 2 (eff 1).
    std::vector<Derived> want = {
        {"thread", 2, 0, "speedup", 2.0},       {"thread", 2, 0, "efficiency", 1.0},
        {"thread", 4, 0, "speedup", 2.5},       {"thread", 4, 0, "efficiency", 0.625},
        {"thread", 2, 1, "speedup", 4.0},       {"thread", 2, 1, "efficiency", 2.0},
        {"thread/sleep", 2, 0, "speedup", 2.0}, {"thread/sleep", 2, 0, "efficiency", 1.0},
    };
    EXPECT_EQ(got, want);
}

TEST(Results, DeriveSpeedupAddsNothingTwice)
{
    // A run with --append reads its old raw CSV (derived rows included), adds
    // new repetitions and derives again: only the new reps get new rows.
    Results t;
    for (int rep = 0; rep < 2; rep++) {
        cb_sample_t s = Sample("serial", 1, rep, "wall_s", 3.0);
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
        s = Sample("thread", 3, rep, "wall_s", 1.5);
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
    }
    ASSERT_EQ(cb_results_derive_speedup(t.r), 0);
    // 4 samples + (speedup, efficiency) for 2 thread reps.
    ASSERT_EQ(cb_results_count(t.r), 8u);
    ASSERT_EQ(cb_results_derive_speedup(t.r), 0);
    EXPECT_EQ(cb_results_count(t.r), 8u);

    std::string path = FreshDir() + "/E.csv";
    ASSERT_EQ(cb_results_write_raw(t.r, path.c_str()), 0);
    Results again;
    char err[256] = "";
    ASSERT_EQ(cb_results_read_raw(again.r, path.c_str(), err, sizeof(err)), 0) << err;
    cb_sample_t s = Sample("serial", 1, 2, "wall_s", 3.0);
    ASSERT_EQ(cb_results_add(again.r, &s), 0);
    s = Sample("thread", 3, 2, "wall_s", 1.0);
    ASSERT_EQ(cb_results_add(again.r, &s), 0);
    ASSERT_EQ(cb_results_derive_speedup(again.r), 0);
    // 8 read back + 2 new samples + 2 derived rows for rep 2 only:
    // speedup 3.0/1.0 = 3, efficiency 3/3 = 1.
    ASSERT_EQ(cb_results_count(again.r), 12u);
    const cb_sample_t *sp = cb_results_get(again.r, 10), *ef = cb_results_get(again.r, 11);
    EXPECT_STREQ(sp->metric, "speedup");
    EXPECT_EQ(sp->rep, 2);
    EXPECT_EQ(sp->value, 3.0);
    EXPECT_STREQ(ef->metric, "efficiency");
    EXPECT_EQ(ef->value, 1.0);
}

std::map<std::string, std::string> Named(const std::vector<std::string> &header,
                                         const std::vector<std::string> &row)
{
    std::map<std::string, std::string> m;
    for (size_t i = 0; i < header.size() && i < row.size(); i++)
        m[header[i]] = row[i];
    return m;
}

TEST(Results, SummaryInFirstSeenOrderWithFailedConfigsAtZero)
{
    Results t;
    // Configurations interleaved within each repetition, as a run adds them.
    // thread: 5 ok reps (1..5); process_pool: every rep timed out;
    // process: 2 ok, 1 crashed.
    const double thread_wall[] = {3, 1, 5, 2, 4};
    for (int rep = 0; rep < 5; rep++) {
        cb_sample_t s = Sample("thread", 2, rep, "wall_s", thread_wall[rep]);
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
        s = Sample("process_pool", 2, rep, "wall_s", NAN, CB_TIMEOUT);
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
        if (rep < 3) {
            s = Sample("process", 2, rep, "wall_s", rep == 1 ? NAN : 10.0 * (rep + 1),
                       rep == 1 ? CB_CRASHED : CB_OK);
            ASSERT_EQ(cb_results_add(t.r, &s), 0);
        }
        s = Sample("thread", 2, rep, "vol_cs", 7);
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
    }
    std::string path = FreshDir() + "/E.summary.csv";
    ASSERT_EQ(cb_results_write_summary(t.r, path.c_str()), 0);
    Rows rows = ReadCsv(path);
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0], Split(CB_SUMMARY_COLUMNS));
    for (const auto &row : rows)
        EXPECT_EQ(row.size(), rows[0].size());

    auto thread = Named(rows[0], rows[1]);
    auto pool = Named(rows[0], rows[2]);
    auto process = Named(rows[0], rows[3]);
    auto vol = Named(rows[0], rows[4]);
    EXPECT_EQ(thread["executor"], "thread");
    EXPECT_EQ(thread["metric"], "wall_s");
    EXPECT_EQ(pool["executor"], "process_pool");
    EXPECT_EQ(process["executor"], "process");
    EXPECT_EQ(vol["executor"], "thread");
    EXPECT_EQ(vol["metric"], "vol_cs");

    // thread wall_s over {1,2,3,4,5}: median 3, mean 3, min 1, max 5,
    // sample stddev sqrt(10/4) = 1.58113883, cv = 1.58113883/3 = 0.527046277;
    // the CI is stats.c's, formatted the same way.
    EXPECT_EQ(thread["experiment"], "cpu_vs_io");
    EXPECT_EQ(thread["workload"], "spin");
    EXPECT_EQ(thread["workers"], "2");
    EXPECT_EQ(thread["tasks"], "8");
    EXPECT_EQ(thread["pin"], "compact");
    EXPECT_EQ(thread["unit"], "s");
    EXPECT_EQ(thread["n"], "5");
    EXPECT_EQ(thread["median"], "3");
    EXPECT_EQ(thread["mean"], "3");
    EXPECT_EQ(thread["min"], "1");
    EXPECT_EQ(thread["max"], "5");
    EXPECT_EQ(thread["stddev"], "1.58113883");
    EXPECT_EQ(thread["cv"], "0.527046277");
    cb_summary_t st;
    ASSERT_EQ(cb_stats_summarize(thread_wall, 5, &st), 0);
    char lo[32] = "", hi[32] = "";
    if (!isnan(st.ci95_lo))
        snprintf(lo, sizeof(lo), "%.9g", st.ci95_lo);
    if (!isnan(st.ci95_hi))
        snprintf(hi, sizeof(hi), "%.9g", st.ci95_hi);
    EXPECT_EQ(thread["ci95_lo"], lo);
    EXPECT_EQ(thread["ci95_hi"], hi);

    // Every repetition timed out: n = 0 and every statistic empty.
    EXPECT_EQ(pool["n"], "0");
    for (const char *k : {"median", "mean", "stddev", "min", "max", "ci95_lo", "ci95_hi", "cv"})
        EXPECT_EQ(pool[k], "") << k;

    // Only the ok repetitions count: {10, 30}, median = mean = 20.
    EXPECT_EQ(process["n"], "2");
    EXPECT_EQ(process["median"], "20");
    EXPECT_EQ(process["min"], "10");
    EXPECT_EQ(process["max"], "30");

    EXPECT_EQ(vol["n"], "5");
    EXPECT_EQ(vol["median"], "7");
    EXPECT_EQ(vol["stddev"], "0");
    EXPECT_EQ(vol["unit"], "count");
}

TEST(Results, SummaryIncludesDerivedRows)
{
    Results t;
    for (int rep = 0; rep < 3; rep++) {
        cb_sample_t s = Sample("serial", 1, rep, "wall_s", 4.0);
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
        s = Sample("thread", 4, rep, "wall_s", 2.0);
        ASSERT_EQ(cb_results_add(t.r, &s), 0);
    }
    ASSERT_EQ(cb_results_derive_speedup(t.r), 0);
    std::string path = FreshDir() + "/E.summary.csv";
    ASSERT_EQ(cb_results_write_summary(t.r, path.c_str()), 0);
    Rows rows = ReadCsv(path);
    ASSERT_EQ(rows.size(), 5u);
    // 4.0 / 2.0 = 2 on every rep; efficiency 2 / 4 workers = 0.5.
    auto speedup = Named(rows[0], rows[3]);
    auto eff = Named(rows[0], rows[4]);
    EXPECT_EQ(speedup["metric"], "speedup");
    EXPECT_EQ(speedup["unit"], "ratio");
    EXPECT_EQ(speedup["n"], "3");
    EXPECT_EQ(speedup["median"], "2");
    EXPECT_EQ(eff["metric"], "efficiency");
    EXPECT_EQ(eff["median"], "0.5");
}

TEST(Results, EmptyTableWritesHeadersOnly)
{
    Results t;
    std::string dir = FreshDir();
    ASSERT_EQ(cb_results_write_raw(t.r, (dir + "/E.csv").c_str()), 0);
    ASSERT_EQ(cb_results_write_summary(t.r, (dir + "/E.summary.csv").c_str()), 0);
    EXPECT_EQ(ReadFile(dir + "/E.csv"), CB_RAW_COLUMNS "\n");
    EXPECT_EQ(ReadFile(dir + "/E.summary.csv"), CB_SUMMARY_COLUMNS "\n");
}

TEST(Results, WriteIntoAMissingDirectoryFails)
{
    Results t;
    cb_sample_t s = Sample("serial", 1, 0, "wall_s", 1.0);
    ASSERT_EQ(cb_results_add(t.r, &s), 0);
    std::string dir = FreshDir() + "/absent";
    EXPECT_EQ(cb_results_write_raw(t.r, (dir + "/E.csv").c_str()), -ENOENT);
    EXPECT_EQ(cb_results_write_summary(t.r, (dir + "/E.summary.csv").c_str()), -ENOENT);
    cb_meta_t *m = cb_meta_new();
    EXPECT_EQ(cb_meta_write(m, (dir + "/E.meta").c_str()), -ENOENT);
    cb_meta_free(m);
}

// ---- Meta -------------------------------------------------------------------

struct Meta {
    cb_meta_t *m = cb_meta_new();
    ~Meta()
    {
        cb_meta_free(m);
    }
};

std::vector<std::pair<std::string, std::string>> Entries(const cb_meta_t *m)
{
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i < cb_meta_count(m); i++)
        out.emplace_back(cb_meta_key(m, i), cb_meta_get(m, cb_meta_key(m, i)));
    return out;
}

TEST(Meta, RoundTripKeepsOrderAndValues)
{
    Meta a;
    ASSERT_EQ(cb_meta_set(a.m, "host", "box1"), 0);
    ASSERT_EQ(cb_meta_set(a.m, "command_line", "cpu_vs_io --workers=1,2 --pin 0,2"), 0);
    ASSERT_EQ(cb_meta_set(a.m, "cpu_model", "two\nlines\r\nhere"), 0);
    ASSERT_EQ(cb_meta_set(a.m, "allowed", "0-3"), 0);
    ASSERT_EQ(cb_meta_set(a.m, "empty", ""), 0);
    ASSERT_EQ(cb_meta_set(a.m, "utf8", "并发基准 "), 0);
    // Replacing keeps the key's place.
    ASSERT_EQ(cb_meta_set(a.m, "host", "box2"), 0);
    EXPECT_EQ(cb_meta_key(a.m, 6), nullptr);
    EXPECT_EQ(cb_meta_get(a.m, "absent"), nullptr);

    std::vector<std::pair<std::string, std::string>> want = {
        {"host", "box2"},
        {"command_line", "cpu_vs_io --workers=1,2 --pin 0,2"},
        {"cpu_model", "two lines  here"},
        {"allowed", "0-3"},
        {"empty", ""},
        {"utf8", "并发基准 "},
    };
    EXPECT_EQ(Entries(a.m), want);

    std::string path = FreshDir() + "/E.meta";
    ASSERT_EQ(cb_meta_write(a.m, path.c_str()), 0);
    EXPECT_EQ(ReadFile(path), "host=box2\ncommand_line=cpu_vs_io --workers=1,2 --pin 0,2\n"
                              "cpu_model=two lines  here\nallowed=0-3\nempty=\nutf8=并发基准 \n");
    Meta b;
    ASSERT_EQ(cb_meta_read(b.m, path.c_str()), 0);
    EXPECT_EQ(Entries(b.m), want);
}

TEST(Meta, BadKeysAndBadFiles)
{
    Meta a;
    EXPECT_EQ(cb_meta_set(a.m, "", "x"), -EINVAL);
    EXPECT_EQ(cb_meta_set(a.m, "a=b", "x"), -EINVAL);
    EXPECT_EQ(cb_meta_set(a.m, "a\nb", "x"), -EINVAL);
    EXPECT_EQ(cb_meta_set(a.m, "#comment", "x"), -EINVAL);
    EXPECT_EQ(cb_meta_count(a.m), 0u);

    std::string dir = FreshDir();
    // Comments, blank lines and CRLF are fine.
    WriteFile(dir + "/ok.meta", "# written by hand\r\n\r\nhost=box\r\nflags=-O2 -DX=1\n");
    ASSERT_EQ(cb_meta_read(a.m, (dir + "/ok.meta").c_str()), 0);
    EXPECT_EQ(Entries(a.m), (std::vector<std::pair<std::string, std::string>>{
                                {"host", "box"}, {"flags", "-O2 -DX=1"}}));
    // A line without '=' leaves m as it was.
    WriteFile(dir + "/bad.meta", "host=other\nno equals sign\n");
    EXPECT_EQ(cb_meta_read(a.m, (dir + "/bad.meta").c_str()), -EINVAL);
    WriteFile(dir + "/bad.meta", "=novalue\n");
    EXPECT_EQ(cb_meta_read(a.m, (dir + "/bad.meta").c_str()), -EINVAL);
    EXPECT_STREQ(cb_meta_get(a.m, "host"), "box");
    EXPECT_EQ(cb_meta_read(a.m, (dir + "/absent.meta").c_str()), -ENOENT);
}

bool Matches(const char *s, const char *pattern)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, s, 0, nullptr, 0) == 0;
    regfree(&re);
    return ok;
}

TEST(Meta, FillHost)
{
    Meta a;
    ASSERT_EQ(cb_meta_fill_host(a.m), 0);
    std::vector<std::string> keys;
    for (size_t i = 0; i < cb_meta_count(a.m); i++)
        keys.push_back(cb_meta_key(a.m, i));
    EXPECT_EQ(keys, (std::vector<std::string>{"host", "kernel", "clock_source", "utc_start",
                                              "compiler", "compiler_flags", "harness_version"}));
    char host[256] = "";
    ASSERT_EQ(gethostname(host, sizeof(host)), 0);
    EXPECT_STREQ(cb_meta_get(a.m, "host"), host);
    EXPECT_TRUE(Matches(cb_meta_get(a.m, "utc_start"),
                        "^[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z$"))
        << cb_meta_get(a.m, "utc_start");
    EXPECT_STREQ(cb_meta_get(a.m, "harness_version"), CB_VERSION);
    // The library is compiled by the same compiler as this test.
    EXPECT_NE(std::string(cb_meta_get(a.m, "compiler")).find(__VERSION__), std::string::npos);
    for (const auto &k : keys)
        EXPECT_STRNE(cb_meta_get(a.m, k.c_str()), "") << k;
    // The flags the compiler recorded in this binary (-frecord-gcc-switches
    // is among the harness's flags): the optimisation level at least.
    EXPECT_NE(std::string(cb_meta_get(a.m, "compiler_flags")).find(" -O"), std::string::npos)
        << cb_meta_get(a.m, "compiler_flags");
    // The kernel is "release version", both from uname(2).
    EXPECT_TRUE(Matches(cb_meta_get(a.m, "kernel"), "^[^ ]+ .+$")) << cb_meta_get(a.m, "kernel");
}

} // namespace
