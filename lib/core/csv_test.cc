#include "lib/core/csv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "lib/core/afile.h"

namespace
{

using Rows = std::vector<std::vector<std::string>>;

// A fresh directory under $TEST_TMPDIR for one test.
std::string FreshDir()
{
    const char *base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/csv_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr)
        ADD_FAILURE() << "mkdtemp: " << strerror(errno);
    return buf.data();
}

std::string ReadFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void WriteFile(const std::string &path, const std::string &data)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> ListDir(const std::string &dir)
{
    std::vector<std::string> names;
    DIR *d = opendir(dir.c_str());
    if (d == nullptr) {
        ADD_FAILURE() << "opendir " << dir << ": " << strerror(errno);
        return names;
    }
    while (struct dirent *e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..")
            names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

std::string WriteRowsToString(const Rows &rows)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    EXPECT_NE(f, nullptr);
    for (const auto &row : rows) {
        std::vector<const char *> p;
        for (const auto &s : row)
            p.push_back(s.c_str());
        EXPECT_EQ(cb_csv_write_row(f, p.data(), p.size()), 0);
    }
    EXPECT_EQ(fclose(f), 0);
    std::string out(buf, len);
    free(buf);
    return out;
}

// Reads every row; a malformed row ends the list and sets *rc, *line, *why.
Rows ReadAll(cb_csv_reader_t *r, int *rc = nullptr, size_t *line = nullptr,
             std::vector<size_t> *lines = nullptr, std::string *why = nullptr)
{
    Rows rows;
    for (;;) {
        const char *const *fields;
        size_t l = 0;
        int n = cb_csv_next(r, &fields, &l);
        if (n <= 0) {
            if (rc)
                *rc = n;
            if (n < 0 && line)
                *line = l;
            if (n < 0 && why)
                *why = cb_csv_error(r) ? cb_csv_error(r) : "(null)";
            return rows;
        }
        rows.emplace_back(fields, fields + n);
        if (lines)
            lines->push_back(l);
    }
}

Rows ReadString(const std::string &s, int *rc = nullptr, size_t *line = nullptr,
                std::vector<size_t> *lines = nullptr, std::string *why = nullptr)
{
    cb_csv_reader_t *r = cb_csv_open_mem(s.data(), s.size());
    EXPECT_NE(r, nullptr);
    Rows rows = ReadAll(r, rc, line, lines, why);
    cb_csv_close(r);
    return rows;
}

// Awkward fields: every case the writer must quote, and some it must not.
const Rows kAwkward = {
    {"experiment", "text", "n"},
    {"comma", "a,b", "1"},
    {"quotes", "say \"hi\"", "2"},
    {"only quote", "\"", "3"},
    {"newline", "two\nlines", "4"},
    {"crlf", "dos\r\nline", "5"},
    {"formula", "=SUM(A1:A3)", "6"},
    {"lead space", " lead", "7"},
    {"trail space", "trail ", "8"},
    {"empty", "", ""},
    {"", "", ""},
    {"utf-8", "并发基准测试，线程与进程", "9"},
    {"utf-8 comma", "协程,事件循环", "10"},
};

TEST(CsvWrite, QuotesExactlyWhenNeeded)
{
    Rows rows = {{"plain", "a,b", "say \"hi\"", "x\ny", "cr\r", " lead", "trail ", "=1+2", "",
                  "中文", "in side"}};
    // RFC 4180 2.6/2.7 and the rules in csv.h: quote on , " CR LF or an edge
    // space, double the quotes, leave '=' and inner spaces alone.
    EXPECT_EQ(WriteRowsToString(rows),
              "plain,\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"cr\r\",\" lead\","
              "\"trail \",=1+2,,中文,in side\n");
}

TEST(CsvWrite, NullFieldIsEmpty)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ASSERT_NE(f, nullptr);
    const char *fields[] = {"a", nullptr, "c"};
    EXPECT_EQ(cb_csv_write_row(f, fields, 3), 0);
    ASSERT_EQ(fclose(f), 0);
    EXPECT_EQ(std::string(buf, len), "a,,c\n");
    free(buf);
}

TEST(CsvWrite, ReportsTheWriteError)
{
    // /dev/full fails every write with ENOSPC; unbuffered, the field write
    // itself sees it.
    FILE *f = fopen("/dev/full", "w");
    ASSERT_NE(f, nullptr) << strerror(errno);
    ASSERT_EQ(setvbuf(f, nullptr, _IONBF, 0), 0);
    EXPECT_EQ(cb_csv_write_field(f, "plain"), -ENOSPC);
    EXPECT_EQ(cb_csv_write_field(f, "needs,quotes"), -ENOSPC);
    const char *fields[] = {"a", "b"};
    EXPECT_EQ(cb_csv_write_row(f, fields, 2), -ENOSPC);
    fclose(f);
}

TEST(CsvRoundTrip, AwkwardFieldsInMemory)
{
    std::string text = WriteRowsToString(kAwkward);
    int rc = 1;
    EXPECT_EQ(ReadString(text, &rc), kAwkward);
    EXPECT_EQ(rc, 0);
}

TEST(CsvRoundTrip, AwkwardFieldsThroughAFile)
{
    std::string path = FreshDir() + "/awkward.csv";
    WriteFile(path, WriteRowsToString(kAwkward));
    int err = 1;
    cb_csv_reader_t *r = cb_csv_open(path.c_str(), &err);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(err, 0);
    int rc = 1;
    EXPECT_EQ(ReadAll(r, &rc), kAwkward);
    EXPECT_EQ(rc, 0);
    cb_csv_close(r);
}

TEST(CsvRoundTrip, LargeFileGrowsTheBuffers)
{
    // More than the reader's first 64 KiB read and a field longer than its
    // first 256-byte field buffer.
    Rows rows;
    std::string long_field(100000, 'x');
    long_field[500] = ',';
    rows.push_back({long_field, "\"" + long_field + "\""});
    for (int i = 0; i < 5000; i++)
        rows.push_back({std::to_string(i), "row,with,commas", "q\"q"});
    std::string path = FreshDir() + "/large.csv";
    WriteFile(path, WriteRowsToString(rows));
    int err = 1;
    cb_csv_reader_t *r = cb_csv_open(path.c_str(), &err);
    ASSERT_NE(r, nullptr);
    int rc = 1;
    EXPECT_EQ(ReadAll(r, &rc), rows);
    EXPECT_EQ(rc, 0);
    cb_csv_close(r);
}

TEST(CsvRead, OpenMissingFile)
{
    int err = 0;
    std::string path = FreshDir() + "/absent.csv";
    EXPECT_EQ(cb_csv_open(path.c_str(), &err), nullptr);
    EXPECT_EQ(err, -ENOENT);
}

TEST(CsvRead, CrlfAndLineNumbers)
{
    // Line 1: a,b; line 2: c,d; lines 3-5: one row with a quoted field that
    // spans three lines (two embedded line breaks, one of them CRLF); line 6.
    std::string in = "a,b\r\nc,d\r\n\"x\r\ny\nz\",w\r\nlast,row";
    std::vector<size_t> lines;
    int rc = 1;
    Rows rows = ReadString(in, &rc, nullptr, &lines);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(rows, (Rows{{"a", "b"}, {"c", "d"}, {"x\r\ny\nz", "w"}, {"last", "row"}}));
    EXPECT_EQ(lines, (std::vector<size_t>{1, 2, 3, 6}));
}

TEST(CsvRead, EmptyInputBlankLinesAndTrailingComma)
{
    int rc = 1;
    EXPECT_TRUE(ReadString("", &rc).empty());
    EXPECT_EQ(rc, 0);
    // A blank line is a row of one empty field (RFC 4180 has no blank rows);
    // a trailing comma ends with an empty field.
    EXPECT_EQ(ReadString("\na,\n,\n\"\"\n", &rc), (Rows{{""}, {"a", ""}, {"", ""}, {""}}));
    EXPECT_EQ(rc, 0);
}

struct Malformed {
    std::string in;
    size_t line;     // the line where the bad row starts
    size_t good;     // rows read before it
    const char *why; // substring of cb_csv_error
};

TEST(CsvRead, MalformedInputIsRefusedWithTheLine)
{
    const std::vector<Malformed> cases = {
        {"a,b\nc,\"d\n", 2, 1, "unterminated"},
        {"a,b\nc,\"d\ne,f\n", 2, 1, "unterminated"},
        {"\"ab\"c,d\n", 1, 0, "after a closing quote"},
        {"x\ny\n\"multi\nline\" ,z\n", 3, 2, "after a closing quote"},
        {"ab\"c,d\n", 1, 0, "quote inside an unquoted field"},
        {"a\rb\n", 1, 0, "CR not followed by LF"},
        {"ok\nlone,cr\r", 2, 1, "CR not followed by LF"},
        {std::string("a,b\nc,d\0e\n", 11), 2, 1, "NUL"},
    };
    for (const auto &c : cases) {
        SCOPED_TRACE(c.in);
        int rc = 0;
        size_t line = 0;
        std::string why;
        cb_csv_reader_t *r = cb_csv_open_mem(c.in.data(), c.in.size());
        ASSERT_NE(r, nullptr);
        EXPECT_EQ(cb_csv_error(r), nullptr);
        Rows rows = ReadAll(r, &rc, &line, nullptr, &why);
        EXPECT_EQ(rc, -EINVAL);
        EXPECT_EQ(line, c.line);
        EXPECT_EQ(rows.size(), c.good);
        EXPECT_NE(why.find(c.why), std::string::npos) << why;
        // The error is sticky: the reader does not resynchronise mid-row.
        const char *const *fields;
        size_t again = 0;
        EXPECT_EQ(cb_csv_next(r, &fields, &again), -EINVAL);
        EXPECT_EQ(again, c.line);
        cb_csv_close(r);
    }
}

// ---- cb_afile ---------------------------------------------------------------

const char kOldBytes[] = "old,contents\r\n\"keep\nme\",\xff\x00 bytes\n";
const std::string kOld(kOldBytes, sizeof(kOldBytes) - 1);

TEST(Afile, CommitReplacesTheTarget)
{
    std::string dir = FreshDir();
    std::string path = dir + "/E.csv";
    WriteFile(path, kOld);
    mode_t old_mask = umask(022);
    cb_afile_t a;
    ASSERT_EQ(cb_afile_open(&a, path.c_str()), 0);
    umask(old_mask);
    ASSERT_NE(a.f, nullptr);
    EXPECT_EQ(a.path, path);
    // The temp file lies beside the target, named .E.csv.tmp.PID.N.
    std::string prefix = dir + "/.E.csv.tmp." + std::to_string(getpid()) + ".";
    EXPECT_EQ(std::string(a.tmp).compare(0, prefix.size(), prefix), 0) << a.tmp;
    struct stat st;
    ASSERT_EQ(stat(a.tmp, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    EXPECT_EQ(fputs("new,contents\n", a.f) >= 0, true);
    // Until commit the target is untouched.
    EXPECT_EQ(ReadFile(path), kOld);
    EXPECT_EQ(cb_afile_commit(&a), 0);
    EXPECT_EQ(ReadFile(path), "new,contents\n");
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
    // Commit released the handle; abort after it does nothing.
    EXPECT_EQ(a.f, nullptr);
    cb_afile_abort(&a);
    EXPECT_EQ(ReadFile(path), "new,contents\n");
}

TEST(Afile, CommitCreatesAMissingTargetAndRelativePathsWork)
{
    std::string dir = FreshDir();
    char cwd[PATH_MAX];
    ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
    ASSERT_EQ(chdir(dir.c_str()), 0);
    cb_afile_t a;
    int rc = cb_afile_open(&a, "fresh.csv");
    if (rc == 0) {
        fputs("x\n", a.f);
        rc = cb_afile_commit(&a);
    }
    ASSERT_EQ(chdir(cwd), 0);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(ReadFile(dir + "/fresh.csv"), "x\n");
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"fresh.csv"});
}

TEST(Afile, AbortLeavesTheOldFileByteForByte)
{
    std::string dir = FreshDir();
    std::string path = dir + "/E.csv";
    WriteFile(path, kOld);
    cb_afile_t a;
    ASSERT_EQ(cb_afile_open(&a, path.c_str()), 0);
    std::string big(200000, 'n');
    ASSERT_EQ(fwrite(big.data(), 1, big.size(), a.f), big.size());
    cb_afile_abort(&a);
    EXPECT_EQ(ReadFile(path), kOld);
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
    EXPECT_EQ(a.f, nullptr);
    cb_afile_abort(&a); // twice is harmless
}

// Runs fn in a forked child and returns its exit status (or 1000 + signal).
int InChild(const std::function<int()> &fn)
{
    fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        ADD_FAILURE() << "fork: " << strerror(errno);
        return -1;
    }
    if (pid == 0)
        _exit(fn());
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) {
        ADD_FAILURE() << "waitpid: " << strerror(errno);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

// A file-size limit of 4096 bytes with SIGXFSZ ignored, as csv.h asks of a
// program that wants EFBIG back.
int LimitFileSize()
{
    if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
        return 201;
    struct rlimit rl = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 202;
    return 0;
}

TEST(Afile, FileSizeLimitFailsTheCommitWithEfbig)
{
    std::string dir = FreshDir();
    std::string path = dir + "/E.csv";
    WriteFile(path, kOld);
    // The child writes 64 KiB past a 4 KiB limit without checking the writes;
    // commit must report EFBIG. Its exit status is -rc (EFBIG is 27).
    int st = InChild([&] {
        if (int e = LimitFileSize())
            return e;
        cb_afile_t a;
        if (cb_afile_open(&a, path.c_str()) != 0)
            return 203;
        std::string chunk(1024, 'z');
        for (int i = 0; i < 64; i++)
            fwrite(chunk.data(), 1, chunk.size(), a.f);
        return -cb_afile_commit(&a);
    });
    EXPECT_EQ(st, EFBIG);
    EXPECT_EQ(ReadFile(path), kOld);
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
}

TEST(Afile, FileSizeLimitSeenByACheckingWriter)
{
    std::string dir = FreshDir();
    std::string path = dir + "/E.csv";
    WriteFile(path, kOld);
    // The child checks every row as results.c does, stops at the first
    // failure, asks for its errno and aborts.
    int st = InChild([&] {
        if (int e = LimitFileSize())
            return e;
        cb_afile_t a;
        if (cb_afile_open(&a, path.c_str()) != 0)
            return 203;
        const char *row[] = {"serial", "spin", "wall_s", "0.123456789"};
        for (int i = 0; i < 100000; i++) {
            if (cb_csv_write_row(a.f, row, 4) != 0) {
                int rc = cb_afile_write_error(&a);
                cb_afile_abort(&a);
                return -rc;
            }
        }
        cb_afile_abort(&a);
        return 204; // 3.2 MB went through a 4 KiB limit
    });
    EXPECT_EQ(st, EFBIG);
    EXPECT_EQ(ReadFile(path), kOld);
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
}

TEST(Afile, UnwritableDirectory)
{
    std::string dir = FreshDir();
    std::string path = dir + "/E.csv";
    WriteFile(path, kOld);
    cb_afile_t a;
    if (geteuid() != 0) {
        ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
        int rc = cb_afile_open(&a, path.c_str());
        ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
        EXPECT_EQ(rc, -EACCES);
        EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
    } else {
        // Root writes into a 0555 directory regardless, so the temp file is
        // made to fail another way in the same existing directory: a target
        // name of 250 bytes is legal, its temp name (".NAME.tmp.PID.N") is
        // longer than NAME_MAX (255).
        std::string name(250, 'n');
        std::string longpath = dir + "/" + name;
        WriteFile(longpath, kOld);
        EXPECT_EQ(cb_afile_open(&a, longpath.c_str()), -ENAMETOOLONG);
        EXPECT_EQ(ReadFile(longpath), kOld);
        EXPECT_EQ(ListDir(dir), (std::vector<std::string>{"E.csv", name}));
    }
    EXPECT_EQ(a.f, nullptr);
    cb_afile_abort(&a); // harmless after a failed open
    EXPECT_EQ(ReadFile(path), kOld);
}

TEST(Afile, MissingDirectory)
{
    std::string dir = FreshDir();
    cb_afile_t a;
    EXPECT_EQ(cb_afile_open(&a, (dir + "/no/such/E.csv").c_str()), -ENOENT);
    EXPECT_EQ(cb_afile_open(&a, (dir + "/").c_str()), -EISDIR);
    EXPECT_TRUE(ListDir(dir).empty());
}

TEST(Afile, FailedRenameRemovesTheTemp)
{
    // The target is a non-empty directory: rename(2) refuses to replace it
    // (EISDIR), after the data was written and synced.
    std::string dir = FreshDir();
    std::string path = dir + "/E.csv";
    ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
    WriteFile(path + "/inside", kOld);
    cb_afile_t a;
    ASSERT_EQ(cb_afile_open(&a, path.c_str()), 0);
    fputs("data\n", a.f);
    EXPECT_EQ(cb_afile_commit(&a), -EISDIR);
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
    EXPECT_EQ(ReadFile(path + "/inside"), kOld);
}

TEST(Afile, CleanupAllUnlinksOpenTemps)
{
    std::string dir = FreshDir();
    std::string path = dir + "/E.csv";
    WriteFile(path, kOld);
    cb_afile_t a, b;
    ASSERT_EQ(cb_afile_open(&a, path.c_str()), 0);
    ASSERT_EQ(cb_afile_open(&b, (dir + "/E.summary.csv").c_str()), 0);
    fputs("partial", a.f);
    EXPECT_EQ(ListDir(dir).size(), 3u);

    // A forked child (a crashing pool worker, say) removes nothing of ours.
    EXPECT_EQ(InChild([] {
                  cb_afile_cleanup_all();
                  return 0;
              }),
              0);
    EXPECT_EQ(ListDir(dir).size(), 3u);

    cb_afile_cleanup_all();
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
    EXPECT_EQ(ReadFile(path), kOld);
    cb_afile_abort(&a);
    cb_afile_abort(&b);
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"E.csv"});
}

TEST(Afile, TooManyOpenAtOnce)
{
    std::string dir = FreshDir();
    std::vector<cb_afile_t> open(16);
    for (size_t i = 0; i < open.size(); i++)
        ASSERT_EQ(cb_afile_open(&open[i], (dir + "/f" + std::to_string(i)).c_str()), 0);
    cb_afile_t extra;
    EXPECT_EQ(cb_afile_open(&extra, (dir + "/extra").c_str()), -EMFILE);
    for (auto &a : open)
        cb_afile_abort(&a);
    // The slots are free again.
    ASSERT_EQ(cb_afile_open(&extra, (dir + "/extra").c_str()), 0);
    EXPECT_EQ(cb_afile_commit(&extra), 0);
    EXPECT_EQ(ListDir(dir), std::vector<std::string>{"extra"});
}

} // namespace
