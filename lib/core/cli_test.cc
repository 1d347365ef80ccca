// The shared command line: every bad value of the contract is refused with
// exit status 2 and one line that names it.
#include "lib/core/cli.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace
{

const char *const kExecs[] = {"serial", "thread", "process", nullptr};
const char *const kWls[] = {"cpu", "io", nullptr};

struct Parsed {
    int rc;
    std::string err;
    cb_opts_t o;
};

Parsed Parse(std::vector<std::string> args)
{
    std::vector<char *> argv;
    static char prog[] = "cpu_vs_io";
    argv.push_back(prog);
    for (auto &a : args)
        argv.push_back(&a[0]);
    argv.push_back(nullptr);
    cb_cli_spec_t spec = {};
    spec.prog = "cpu_vs_io";
    spec.summary = "test";
    spec.executor_names = kExecs;
    spec.workload_names = kWls;
    Parsed p;
    fflush(stderr);
    const char *tmpdir = getenv("TEST_TMPDIR");
    std::string tpl = std::string(tmpdir ? tmpdir : "/tmp") + "/cli_err_XXXXXX";
    std::vector<char> buf(tpl.begin(), tpl.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    int saved = dup(2);
    dup2(fd, 2);
    p.rc = cb_cli_parse(&spec, (int)argv.size() - 1, argv.data(), &p.o);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    char text[1024] = "";
    ssize_t n = read(fd, text, sizeof(text) - 1);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(buf.data());
    p.err = text;
    return p;
}

void ExpectRefused(std::vector<std::string> args, const std::string &names)
{
    Parsed p = Parse(args);
    EXPECT_EQ(p.rc, CB_EXIT_USAGE) << args[0] << " " << (args.size() > 1 ? args[1] : "");
    EXPECT_NE(p.err.find(names), std::string::npos) << "message: " << p.err;
    // One line.
    EXPECT_EQ(std::count(p.err.begin(), p.err.end(), '\n'), 1) << p.err;
    cb_cli_free(&p.o);
}

TEST(Cli, Defaults)
{
    Parsed p = Parse({});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.o.executors, nullptr);
    EXPECT_EQ(p.o.workers_kind, CB_WORKERS_CORES);
    EXPECT_EQ(p.o.reps, -1);
    EXPECT_EQ(p.o.pin, CB_PIN_COMPACT);
    cb_cli_free(&p.o);
}

TEST(Cli, GoodValues)
{
    Parsed p = Parse({"--executors", "thread,process", "--workers", "1,2,8", "--tasks", "7",
                      "--reps", "3", "--warmup", "0", "--pin", "scatter", "--timeout", "2.5"});
    ASSERT_EQ(p.rc, 0) << p.err;
    ASSERT_NE(p.o.executors, nullptr);
    EXPECT_STREQ(p.o.executors[0], "thread");
    EXPECT_STREQ(p.o.executors[1], "process");
    EXPECT_EQ(p.o.executors[2], nullptr);
    ASSERT_EQ(p.o.nworkers, 3u);
    EXPECT_EQ(p.o.workers[2], 8);
    EXPECT_EQ(p.o.tasks, 7);
    EXPECT_EQ(p.o.reps, 3);
    EXPECT_EQ(p.o.warmup, 0);
    EXPECT_EQ(p.o.pin, CB_PIN_SCATTER);
    EXPECT_DOUBLE_EQ(p.o.timeout_s, 2.5);
    cb_cli_free(&p.o);
}

TEST(Cli, RefusesBadCounts)
{
    for (const char *flag : {"--tasks", "--reps"}) {
        for (const char *bad : {"0", "-1", "abc", "4x", "99999999999999999999999", "", " 4"})
            ExpectRefused({flag, bad}, std::string("'") + bad + "'");
    }
    ExpectRefused({"--warmup", "-1"}, "'-1'");
    ExpectRefused({"--workers", "0"}, "'0'");
    ExpectRefused({"--workers", "2,abc"}, "'abc'");
    ExpectRefused({"--workers", "4x"}, "'4x'");
    ExpectRefused({"--workers", "1,,2"}, "''");
    ExpectRefused({"--timeout", "0"}, "'0'");
    ExpectRefused({"--timeout", "nan"}, "'nan'");
    ExpectRefused({"--timeout", "1e999"}, "'1e999'");
}

TEST(Cli, RefusesUnknownNames)
{
    ExpectRefused({"--executors", "threads"}, "'threads'");
    ExpectRefused({"--executors", "thread,"}, "'thread,'");
    ExpectRefused({"--workloads", "cpu,disk"}, "'disk'");
    ExpectRefused({"--pin", "sideways"}, "sideways");
    ExpectRefused({"--pin", "0,2,4x"}, "4x");
    ExpectRefused({"--bogus"}, "--bogus");
    ExpectRefused({"stray"}, "'stray'");
}

TEST(Cli, RefusesUnwritableOut)
{
    ExpectRefused({"--out", "/nonexistent/dir"}, "/nonexistent/dir");
    // A regular file is not a directory.
    ExpectRefused({"--out", "/proc/self/status"}, "/proc/self/status");
    // Read-only even for root.
    ExpectRefused({"--out", "/proc"}, "/proc");
}

TEST(Cli, HelpAndVersionExitZero)
{
    Parsed h = Parse({"--help"});
    EXPECT_EQ(h.rc, CB_EXIT_OK);
    EXPECT_EQ(h.o.help, 1);
    cb_cli_free(&h.o);
    Parsed v = Parse({"--version"});
    EXPECT_EQ(v.rc, CB_EXIT_OK);
    cb_cli_free(&v.o);
}

TEST(Cli, StrictNumbers)
{
    char err[128];
    long v;
    EXPECT_EQ(cb_parse_long("n", "42", 1, 100, &v, err, sizeof(err)), 0);
    EXPECT_EQ(v, 42);
    EXPECT_EQ(cb_parse_long("n", "+42", 1, 100, &v, err, sizeof(err)), -1);
    EXPECT_EQ(cb_parse_long("n", "101", 1, 100, &v, err, sizeof(err)), -1);
    EXPECT_NE(strstr(err, "'101'"), nullptr);
    double d;
    EXPECT_EQ(cb_parse_double("x", "0.5", 0, 1, &d, err, sizeof(err)), 0);
    EXPECT_EQ(cb_parse_double("x", "0.5s", 0, 1, &d, err, sizeof(err)), -1);
    EXPECT_EQ(cb_parse_double("x", "-0.5", 0, 1, &d, err, sizeof(err)), -1);
}

TEST(Cli, NamesGivenOrDefaults)
{
    const char *const defaults[] = {"serial", "thread", "process", nullptr};
    size_t n = 0;
    EXPECT_EQ(cb_cli_names(nullptr, defaults, &n), defaults);
    EXPECT_EQ(n, 3u);
    char a[] = "thread", b[] = "coroutine";
    char *given[] = {a, b, nullptr};
    const char *const *got = cb_cli_names(given, defaults, &n);
    EXPECT_EQ(n, 2u);
    EXPECT_STREQ(got[1], "coroutine");
}
} // namespace
