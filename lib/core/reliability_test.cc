/* Issue 8, the cases that need a process the test controls: a grandchild
 * that keeps a pipe open after everything above it died (case 4), results
 * files over RLIMIT_FSIZE (case 8), and odd text through a results file
 * (case 12). The command-line cases are in bench/reliability_test.sh. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lib/core/meta.h"
#include "lib/core/results.h"
#include "lib/core/sandbox.h"

namespace
{

constexpr uint64_t kMs = 1000000;

/* The pipe the grandchild holds, and its pid, set before the fork so that
 * the sandbox child inherits them. */
int pipe_fds[2] = {-1, -1};

struct Shm {
    pid_t grandchild;
};

/* Forks a process that sleeps forever holding the pipe's write end, and
 * gives it no death signal: the worst a task can leave behind. Returns its
 * pid (in the caller) or -1. */
pid_t ForkHolder()
{
    pid_t g = fork();
    if (g == 0) {
        /* Not from the sandbox's handlers: a plain process that never ends
         * unless killed. */
        signal(SIGTERM, SIG_IGN);
        for (;;)
            pause();
    }
    return g;
}

/* How a sandboxed run ends after the holder exists. */
enum End { kReturn, kCrash, kExit, kIgnoreTerm, kHangTerm };
End end_mode;

/* A middle process forks the holder and dies (so the holder is an orphan,
 * adopted by the sandbox child); then the sandbox child ends as end_mode
 * says. */
int Body(void *shm, void *)
{
    pid_t mid = fork();
    if (mid < 0)
        return 1;
    if (mid == 0) {
        pid_t g = ForkHolder();
        static_cast<Shm *>(shm)->grandchild = g;
        _exit(g > 0 ? 0 : 1);
    }
    if (waitpid(mid, nullptr, 0) != mid)
        return 2;
    switch (end_mode) {
    case kReturn:
        return 0;
    case kCrash:
        signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would exit instead */
        raise(SIGSEGV);
        return 3;
    case kExit:
        _exit(0);
    case kIgnoreTerm:
        signal(SIGTERM, SIG_IGN);
        for (;;)
            pause();
    case kHangTerm:
        for (;;)
            pause();
    }
    return 4;
}

/* Waits up to 10 s for EOF on fd: true when every writer is gone. */
bool EofSoon(int fd)
{
    char c;
    for (int i = 0; i < 100; i++) {
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, 100);
        if (n > 0)
            return read(fd, &c, 1) == 0;
    }
    return false;
}

bool Gone(pid_t pid)
{
    return kill(pid, 0) != 0 && errno == ESRCH;
}

void RunHolder(End mode, cb_status_t want)
{
    ASSERT_EQ(pipe(pipe_fds), 0);
    Shm *shm = static_cast<Shm *>(cb_sandbox_shm_alloc(sizeof(Shm)));
    ASSERT_NE(shm, nullptr);
    end_mode = mode;
    cb_sandbox_result_t res;
    ASSERT_EQ(cb_sandbox_run(Body, nullptr, shm, 200 * kMs, &res), 0);
    EXPECT_EQ(res.status, want) << res.detail;
    ASSERT_EQ(close(pipe_fds[1]), 0);
    ASSERT_GT(shm->grandchild, 0);
    /* The pipe closes only when the holder is dead: a harness reading its
     * children's output would not block on it. */
    EXPECT_TRUE(EofSoon(pipe_fds[0])) << "the grandchild still holds the pipe";
    for (int i = 0; i < 1000 && !Gone(shm->grandchild); i++)
        usleep(10000);
    EXPECT_TRUE(Gone(shm->grandchild)) << "pid " << shm->grandchild;
    if (!Gone(shm->grandchild))
        kill(shm->grandchild, SIGKILL);
    close(pipe_fds[0]);
    cb_sandbox_shm_free(shm, sizeof(Shm));
    /* Nothing of the run is left to reap either. */
    EXPECT_TRUE(waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD);
}

} // namespace

TEST(Orphans, KilledWhenTheWorkReturns)
{
    RunHolder(kReturn, CB_OK);
}

TEST(Orphans, KilledWhenTheSandboxChildCrashes)
{
    RunHolder(kCrash, CB_CRASHED);
}

TEST(Orphans, KilledWhenTheSandboxChildExits)
{
    RunHolder(kExit, CB_ERROR);
}

TEST(Orphans, KilledAtTheTimeout)
{
    RunHolder(kHangTerm, CB_TIMEOUT);
}

TEST(Orphans, KilledWhenSigtermIsIgnored)
{
    RunHolder(kIgnoreTerm, CB_TIMEOUT);
}

/* ---- Results files under RLIMIT_FSIZE (case 8) ---- */

namespace
{

std::string FreshDir()
{
    const char *base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/reliability_test.XXXXXX";
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

std::vector<std::string> DirEntries(const std::string &dir)
{
    std::vector<std::string> v;
    DIR *d = opendir(dir.c_str());
    if (!d)
        return v;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            v.push_back(e->d_name);
    closedir(d);
    return v;
}

cb_sample_t Sample(int rep, const char *detail)
{
    cb_sample_t s = {};
    s.key = {"e", "serial", "cpu", 1, 4, "compact"};
    s.rep = rep;
    s.metric = "wall_s";
    s.value = 1.5;
    s.unit = "s";
    s.status = CB_OK;
    s.detail = detail;
    return s;
}

} // namespace

/* Over the file-size limit a write gives EFBIG (with SIGXFSZ ignored, as
 * the runner does): the writer returns it, the old file stays, no temp
 * file is left. Runs in a child so the limit does not outlive the test. */
TEST(Results, FileSizeLimitKeepsThePreviousFile)
{
    std::string dir = FreshDir();
    std::string path = dir + "/e.csv";
    {
        std::ofstream out(path);
        out << "previous\n";
    }
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {1024, 1024};
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(10);
        cb_results_t *r = cb_results_new();
        if (!r)
            _exit(11);
        /* 200 rows of ~60 bytes: over 1 KiB. */
        for (int i = 0; i < 200; i++) {
            cb_sample_t s = Sample(i, "");
            if (cb_results_add(r, &s) != 0)
                _exit(12);
        }
        int rc = cb_results_write_raw(r, path.c_str());
        cb_results_free(r);
        _exit(rc == -EFBIG ? 0 : 13);
    }
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 0) << "10-12: set-up failed; 13: not EFBIG";
    EXPECT_EQ(ReadFile(path), "previous\n");
    EXPECT_EQ(DirEntries(dir), std::vector<std::string>{"e.csv"});
}

/* ---- Odd text through a results file (case 12) ---- */

/* Every text column takes ',', '"', CR LF, LF and a leading '=' and reads
 * back byte for byte. */
TEST(Results, OddTextRoundTripsThroughARawFile)
{
    const char *odd[] = {"a,b",  "say \"hi\"", "two\nlines",        "crlf\r\nline",
                         "=1+2", " pad ",      "=cmd|' /C calc'!A0"};
    std::string dir = FreshDir();
    std::string path = dir + "/odd.csv";
    cb_results_t *w = cb_results_new();
    ASSERT_NE(w, nullptr);
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        cb_sample_t s = Sample((int)i, odd[i]);
        s.key.executor = odd[i];
        s.key.workload = odd[i];
        s.key.pin = odd[i];
        s.metric = odd[i];
        s.unit = odd[i];
        s.status = CB_ERROR;
        s.value = NAN;
        ASSERT_EQ(cb_results_add(w, &s), 0);
    }
    ASSERT_EQ(cb_results_write_raw(w, path.c_str()), 0);
    cb_results_t *r = cb_results_new();
    ASSERT_NE(r, nullptr);
    char err[256] = "";
    ASSERT_EQ(cb_results_read_raw(r, path.c_str(), err, sizeof(err)), 0) << err;
    ASSERT_EQ(cb_results_count(r), cb_results_count(w));
    for (size_t i = 0; i < cb_results_count(r); i++) {
        const cb_sample_t *s = cb_results_get(r, i);
        EXPECT_STREQ(s->key.executor, odd[i]);
        EXPECT_STREQ(s->key.workload, odd[i]);
        EXPECT_STREQ(s->key.pin, odd[i]);
        EXPECT_STREQ(s->metric, odd[i]);
        EXPECT_STREQ(s->unit, odd[i]);
        EXPECT_STREQ(s->detail, odd[i]);
        EXPECT_EQ(s->status, CB_ERROR);
        EXPECT_TRUE(std::isnan(s->value));
    }
    cb_results_free(r);
    cb_results_free(w);
}

/* A .meta value with a newline stays on its line (newlines become spaces),
 * so a command line with a newline cannot forge another key. */
TEST(Meta, NewlineInAValueCannotForgeAKey)
{
    std::string path = FreshDir() + "/e.meta";
    cb_meta_t *m = cb_meta_new();
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(cb_meta_set(m, "command_line", "bench --x\npartial=1\r\nhost=evil"), 0);
    ASSERT_EQ(cb_meta_write(m, path.c_str()), 0);
    cb_meta_t *back = cb_meta_new();
    ASSERT_NE(back, nullptr);
    ASSERT_EQ(cb_meta_read(back, path.c_str()), 0);
    EXPECT_EQ(cb_meta_count(back), 1u);
    EXPECT_EQ(cb_meta_get(back, "partial"), nullptr);
    EXPECT_EQ(cb_meta_get(back, "host"), nullptr);
    cb_meta_free(back);
    cb_meta_free(m);
}
