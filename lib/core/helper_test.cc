#include "lib/core/helper.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "lib/core/clock.h"
#include "lib/testing/leak_probe.h"

/* The helpers the harness starts (gnuplot, python3) end with their whole
 * process group, at their exit or at the time limit, and nothing they
 * start outlives the call. */

namespace
{

/* 1 while a process whose command line holds tag runs. */
bool Running(const std::string &tag)
{
    /* "[c]b_..." matches the tag but not this pgrep's own shell. */
    std::string cmd = "pgrep -f '[" + tag.substr(0, 1) + "]" + tag.substr(1) + "' >/dev/null";
    return system(cmd.c_str()) == 0;
}

double Secs(uint64_t t0)
{
    return (double)(cb_now_ns() - t0) / 1e9;
}

} // namespace

TEST(Helper, OutputAndStatus)
{
    char out[64];
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo hello; exit 3", nullptr};
    EXPECT_EQ(cb_helper_run(argv, out, sizeof(out), nullptr, 10), 3);
    EXPECT_STREQ(out, "hello\n");
    char *missing[] = {(char *)"/nonexistent/helper", nullptr};
    EXPECT_EQ(cb_helper_run(missing, nullptr, 0, nullptr, 10), 127);
    char *sig[] = {(char *)"sh", (char *)"-c", (char *)"kill -SEGV $$", nullptr};
    EXPECT_EQ(cb_helper_run(sig, nullptr, 0, nullptr, 10), 128 + SIGSEGV);
    EXPECT_TRUE(NoChildren());
}

TEST(Helper, AnOrphanHoldingStdoutIsNotWaitedForAndDies)
{
    std::string tag = "cb_helper_orphan_" + std::to_string(getpid());
    std::string script = "(exec -a " + tag + " sleep 300) & echo started";
    char out[64];
    char *argv[] = {(char *)"bash", (char *)"-c", (char *)script.c_str(), nullptr};
    uint64_t t0 = cb_now_ns();
    EXPECT_EQ(cb_helper_run(argv, out, sizeof(out), nullptr, 0), 0);
    EXPECT_LT(Secs(t0), 5.0);
    EXPECT_STREQ(out, "started\n");
    usleep(100000);
    EXPECT_FALSE(Running(tag));
    EXPECT_TRUE(NoChildren());
}

TEST(Helper, AHangIsEndedAtTheLimitWithItsGroup)
{
    std::string tag = "cb_helper_hang_" + std::to_string(getpid());
    /* Ignores SIGTERM, closes its stdout, and has a child: all three must
     * not matter. */
    std::string script =
        "trap '' TERM; (exec -a " + tag + " sleep 300) & exec >&-; exec -a " + tag + " sleep 300";
    char out[64];
    char *argv[] = {(char *)"bash", (char *)"-c", (char *)script.c_str(), nullptr};
    uint64_t t0 = cb_now_ns();
    EXPECT_EQ(cb_helper_run(argv, out, sizeof(out), nullptr, 0.5), -ETIMEDOUT);
    double took = Secs(t0);
    EXPECT_GE(took, 0.5);
    EXPECT_LT(took, 5.0); /* the limit, 1 s of grace after SIGTERM, and slack */
    usleep(100000);
    EXPECT_FALSE(Running(tag));
    EXPECT_TRUE(NoChildren());
}
