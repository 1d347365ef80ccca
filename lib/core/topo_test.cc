#include "lib/core/topo.h"

#include <errno.h>
#include <hwloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace
{

/* The synthetic machines the tests use. hwloc numbers PUs (OS index) in tree
 * order, so in every one of them core c holds PUs 2c and 2c+1 (one PU in
 * kOneCore).
 *
 * kTwoPkgSmt: 2 packages x 4 cores x 2 PUs. Package p holds cores 4p..4p+3
 *   and PUs 8p..8p+7. hwloc adds one NUMA node when the description has none.
 * kOneCore: 1 package x 2 cores x 1 PU. Core c holds PU c.
 * kNuma: 2 packages x 2 NUMA groups x 8 cores x 2 PUs. NUMA group g (0..3)
 *   holds cores 8g..8g+7 and PUs 16g..16g+15; package p holds groups 2p and
 *   2p+1, so cores 16p..16p+15 and PUs 32p..32p+31. lstopo -i shows that
 *   hwloc 2.9 loads "numa:2" as a Group per NUMA node under each package. */
const char kTwoPkgSmt[] = "pack:2 core:4 pu:2";
const char kOneCore[] = "pack:1 core:2 pu:1";
const char kNuma[] = "pack:2 numa:2 core:8 pu:2";

struct Topo {
    cb_topo_t *t = nullptr;
    int err = 0;
    explicit Topo(const char *desc)
    {
        t = desc ? cb_topo_load_synthetic(desc, &err) : cb_topo_load(&err);
    }
    ~Topo()
    {
        cb_topo_free(t);
    }
};

struct Plan {
    cb_pin_plan_t p{};
    int rc = 0;
    char err[256] = "";
    Plan(const cb_topo_t *t, cb_pin_policy_t policy, int nworkers, std::vector<int> pus = {})
    {
        rc = cb_pin_plan_make(t, policy, pus.empty() ? nullptr : pus.data(), (int)pus.size(),
                              nworkers, &p, err, sizeof(err));
    }
    ~Plan()
    {
        cb_pin_plan_free(&p);
    }
};

struct Slot {
    int pu, core, package;
};

void ExpectSlots(const cb_pin_plan_t &p, const std::vector<Slot> &want)
{
    ASSERT_EQ(p.nworkers, (int)want.size());
    for (size_t i = 0; i < want.size(); i++) {
        EXPECT_EQ(p.slots[i].pu_os, want[i].pu) << "worker " << i;
        EXPECT_EQ(p.slots[i].core, want[i].core) << "worker " << i;
        EXPECT_EQ(p.slots[i].package, want[i].package) << "worker " << i;
    }
}

std::string AllowedStr(const cb_topo_t *t)
{
    char buf[256];
    cb_topo_allowed_str(t, buf, sizeof(buf));
    return buf;
}

std::string PrintPlan(const cb_topo_t *t, const cb_pin_plan_t &p)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return "open_memstream failed";
    cb_pin_plan_print(t, &p, f);
    if (fclose(f) != 0)
        return "fclose failed";
    std::string s(buf, len);
    free(buf);
    return s;
}

/* Topology loading and counts. */

TEST(TopoSynthetic, CountsTwoPackagesSmt)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    EXPECT_EQ(cb_topo_is_this_system(t.t), 0);
    EXPECT_EQ(cb_topo_packages(t.t), 2);
    EXPECT_EQ(cb_topo_numa_nodes(t.t), 1); /* the one node hwloc inserts */
    EXPECT_EQ(cb_topo_cores(t.t), 8);      /* 2 x 4 */
    EXPECT_EQ(cb_topo_pus(t.t), 16);       /* 2 x 4 x 2 */
    EXPECT_EQ(cb_topo_allowed_pus(t.t), 16);
    EXPECT_EQ(cb_topo_allowed_cores(t.t), 8);
    EXPECT_EQ(AllowedStr(t.t), "0-15");
    EXPECT_EQ(cb_topo_pu_allowed(t.t, 0), 1);
    EXPECT_EQ(cb_topo_pu_allowed(t.t, 15), 1);
    EXPECT_EQ(cb_topo_pu_allowed(t.t, 16), 0);
    EXPECT_EQ(cb_topo_pu_allowed(t.t, -1), 0);
    EXPECT_NE(cb_topo_hwloc(t.t), nullptr);
}

TEST(Topo, CpuModelComesFromHwloc)
{
    // A synthetic topology has no processor to name.
    Topo syn(kTwoPkgSmt);
    ASSERT_NE(syn.t, nullptr) << syn.err;
    EXPECT_EQ(cb_topo_cpu_model(syn.t), nullptr);
#if defined(__x86_64__) || defined(__i386__)
    // On x86 hwloc reads CPUID's brand string, on every machine.
    Topo me(nullptr);
    ASSERT_NE(me.t, nullptr) << me.err;
    const char *m = cb_topo_cpu_model(me.t);
    ASSERT_NE(m, nullptr);
    EXPECT_GT(strlen(m), 3u) << m;
#endif
}

TEST(TopoSynthetic, CountsOneCore)
{
    Topo t(kOneCore);
    ASSERT_NE(t.t, nullptr) << t.err;
    EXPECT_EQ(cb_topo_packages(t.t), 1);
    EXPECT_EQ(cb_topo_numa_nodes(t.t), 1);
    EXPECT_EQ(cb_topo_cores(t.t), 2);
    EXPECT_EQ(cb_topo_pus(t.t), 2);
    EXPECT_EQ(cb_topo_allowed_pus(t.t), 2);
    EXPECT_EQ(cb_topo_allowed_cores(t.t), 2);
    EXPECT_EQ(AllowedStr(t.t), "0-1");
}

TEST(TopoSynthetic, CountsNuma)
{
    Topo t(kNuma);
    ASSERT_NE(t.t, nullptr) << t.err;
    EXPECT_EQ(cb_topo_packages(t.t), 2);
    EXPECT_EQ(cb_topo_numa_nodes(t.t), 4); /* 2 x 2 */
    EXPECT_EQ(cb_topo_cores(t.t), 32);     /* 2 x 2 x 8 */
    EXPECT_EQ(cb_topo_pus(t.t), 64);       /* 2 x 2 x 8 x 2 */
    EXPECT_EQ(cb_topo_allowed_pus(t.t), 64);
    EXPECT_EQ(cb_topo_allowed_cores(t.t), 32);
    EXPECT_EQ(AllowedStr(t.t), "0-63");
}

TEST(TopoSynthetic, AllowedStrTruncatesLikeSnprintf)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    char buf[3];
    /* "0-15" needs 4 characters; 2 fit with the NUL. */
    EXPECT_EQ(cb_topo_allowed_str(t.t, buf, sizeof(buf)), 4);
    EXPECT_STREQ(buf, "0-");
    EXPECT_EQ(cb_topo_allowed_str(t.t, nullptr, 0), 4);
}

TEST(TopoSynthetic, BadDescriptionIsEinval)
{
    Topo t("pack:2 bogus:3");
    EXPECT_EQ(t.t, nullptr);
    EXPECT_EQ(t.err, -EINVAL);
}

/* HWLOC_SYNTHETIC and HWLOC_XMLFILE reach cb_topo_load through hwloc. */
TEST(TopoEnv, SyntheticEnvironment)
{
    ASSERT_EQ(setenv("HWLOC_SYNTHETIC", kTwoPkgSmt, 1), 0);
    Topo t(nullptr);
    ASSERT_EQ(unsetenv("HWLOC_SYNTHETIC"), 0);
    ASSERT_NE(t.t, nullptr) << t.err;
    EXPECT_EQ(cb_topo_is_this_system(t.t), 0);
    EXPECT_EQ(cb_topo_pus(t.t), 16);
    EXPECT_EQ(cb_topo_cores(t.t), 8);
    /* Not this machine, so this process's affinity must not shrink it. */
    EXPECT_EQ(cb_topo_allowed_pus(t.t), 16);
    EXPECT_EQ(cb_pin_bind_thread(t.t, 0), -EXDEV);
}

TEST(TopoEnv, XmlEnvironment)
{
    const char *dir = getenv("TEST_TMPDIR");
    ASSERT_NE(dir, nullptr);
    std::string path = std::string(dir) + "/numa.xml";
    {
        Topo src(kNuma);
        ASSERT_NE(src.t, nullptr) << src.err;
        ASSERT_EQ(
            hwloc_topology_export_xml((hwloc_topology_t)cb_topo_hwloc(src.t), path.c_str(), 0), 0);
    }
    ASSERT_EQ(setenv("HWLOC_XMLFILE", path.c_str(), 1), 0);
    Topo t(nullptr);
    ASSERT_EQ(unsetenv("HWLOC_XMLFILE"), 0);
    ASSERT_NE(t.t, nullptr) << t.err;
    EXPECT_EQ(cb_topo_is_this_system(t.t), 0);
    EXPECT_EQ(cb_topo_numa_nodes(t.t), 4); /* as CountsNuma */
    EXPECT_EQ(cb_topo_pus(t.t), 64);
    EXPECT_EQ(cb_pin_bind_process(t.t, 0), -EXDEV);
}

/* --pin parsing. */

TEST(PinParse, Names)
{
    const struct {
        const char *arg;
        cb_pin_policy_t policy;
    } cases[] = {{"none", CB_PIN_NONE}, {"compact", CB_PIN_COMPACT}, {"scatter", CB_PIN_SCATTER}};
    for (const auto &c : cases) {
        cb_pin_policy_t policy = CB_PIN_LIST;
        int sentinel = 0;
        int *pus = &sentinel; /* must be reset to NULL */
        int npus = -1;
        char err[256] = "";
        EXPECT_EQ(cb_pin_parse(c.arg, &policy, &pus, &npus, err, sizeof(err)), 0) << c.arg;
        EXPECT_EQ(policy, c.policy) << c.arg;
        EXPECT_EQ(pus, nullptr) << c.arg;
        EXPECT_EQ(npus, 0) << c.arg;
    }
}

TEST(PinParse, Lists)
{
    const struct {
        const char *arg;
        std::vector<int> want;
    } cases[] = {
        {"0", {0}},         {"0,2,4-7", {0, 2, 4, 5, 6, 7}},
        {"3-3", {3}},       {"7,1", {7, 1}}, /* order kept: worker 0 on PU 7 */
        {"1,1", {1, 1}},                     /* repeats allowed: two workers share PU 1 */
        {"65535", {65535}},                  /* the largest index accepted */
        {"0010", {10}},                      /* leading zeros are still decimal */
    };
    for (const auto &c : cases) {
        cb_pin_policy_t policy = CB_PIN_NONE;
        int *pus = nullptr;
        int npus = 0;
        char err[256] = "";
        ASSERT_EQ(cb_pin_parse(c.arg, &policy, &pus, &npus, err, sizeof(err)), 0)
            << c.arg << ": " << err;
        EXPECT_EQ(policy, CB_PIN_LIST);
        EXPECT_EQ(std::vector<int>(pus, pus + npus), c.want) << c.arg;
        free(pus);
    }
}

TEST(PinParse, BadValues)
{
    const std::string expected = "expected none, compact, scatter or a PU list like 0,2,4-7";
    const struct {
        const char *arg;
        const char *msg; /* the whole line, without the common ending */
    } cases[] = {
        {"", "--pin: empty value: "},
        {"abc", "--pin: bad value 'abc': "},
        {"4x", "--pin: bad value '4x': "},
        {"-1", "--pin: bad value '-1': "},
        {"Compact", "--pin: bad value 'Compact': "},
        {" 1", "--pin: bad value ' 1': "},
        {"1-", "--pin: bad value '1-': "},
        {"3-1", "--pin: bad value '3-1': '3-1' is a range that runs backwards; "},
        {"0,4x,5", "--pin: bad value '0,4x,5': '4x' is not a PU index or range; "},
        {"0,1,", "--pin: bad value '0,1,': empty item in the list; "},
        {",0", "--pin: bad value ',0': empty item in the list; "},
        {"0,,1", "--pin: bad value '0,,1': empty item in the list; "},
        {"65536", "--pin: bad value '65536': '65536' is above the largest PU index 65535; "},
        {"99999999999999999999",
         "--pin: bad value '99999999999999999999': '99999999999999999999' is above the largest "
         "PU index 65535; "},
        {"0-4294967296",
         "--pin: bad value '0-4294967296': '0-4294967296' is above the largest PU index 65535; "},
    };
    for (const auto &c : cases) {
        cb_pin_policy_t policy = CB_PIN_NONE;
        int *pus = nullptr;
        int npus = 0;
        char err[256] = "";
        EXPECT_EQ(cb_pin_parse(c.arg, &policy, &pus, &npus, err, sizeof(err)), -EINVAL) << c.arg;
        EXPECT_EQ(std::string(err), std::string(c.msg) + expected) << c.arg;
        EXPECT_EQ(pus, nullptr) << c.arg;
        EXPECT_EQ(strchr(err, '\n'), nullptr) << "one line: " << c.arg;
    }
}

TEST(PinParse, ListTooLong)
{
    /* 17 copies of 0-65535 are 17 x 65536 = 1114112 PUs, past the 1048576 cap;
     * the 17th copy is the one that crosses it. */
    std::string arg = "0-65535";
    for (int i = 1; i < 17; i++)
        arg += ",0-65535";
    cb_pin_policy_t policy = CB_PIN_NONE;
    int *pus = nullptr;
    int npus = 0;
    char err[512] = "";
    EXPECT_EQ(cb_pin_parse(arg.c_str(), &policy, &pus, &npus, err, sizeof(err)), -EINVAL);
    EXPECT_NE(strstr(err, "'0-65535' makes the list longer than 1048576 PUs"), nullptr) << err;
    EXPECT_EQ(pus, nullptr);
}

TEST(PinParse, ShortErrorBufferIsTerminated)
{
    cb_pin_policy_t policy = CB_PIN_NONE;
    int *pus = nullptr;
    int npus = 0;
    char err[8];
    memset(err, 'x', sizeof(err));
    EXPECT_EQ(cb_pin_parse("abc", &policy, &pus, &npus, err, sizeof(err)), -EINVAL);
    EXPECT_STREQ(err, "--pin: "); /* 7 characters and the NUL */
    EXPECT_EQ(cb_pin_parse("abc", &policy, &pus, &npus, nullptr, 0), -EINVAL);
}

/* Pin plans. */

TEST(PinPlan, CompactFillsSmtSiblingsFirst)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_COMPACT, 4);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.policy, CB_PIN_COMPACT);
    EXPECT_EQ(p.p.wrapped, 0);
    /* Logical order: PUs 0,1 are core 0's siblings, PUs 2,3 core 1's. */
    ExpectSlots(p.p, {{0, 0, 0}, {1, 0, 0}, {2, 1, 0}, {3, 1, 0}});
}

TEST(PinPlan, CompactWrapsAround)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_COMPACT, 18);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 1); /* 18 workers, 16 PUs */
    /* Worker i < 16 on PU i, core i/2, package i/8; then 16 -> slot 0 and
     * 17 -> slot 1. */
    std::vector<Slot> want;
    for (int i = 0; i < 16; i++)
        want.push_back({i, i / 2, i / 8});
    want.push_back({0, 0, 0});
    want.push_back({1, 0, 0});
    ExpectSlots(p.p, want);
}

TEST(PinPlan, CompactNumaCrossesPackages)
{
    Topo t(kNuma);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_COMPACT, 64);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 0);
    /* Logical order everywhere: worker i on PU i, core i/2, package i/32
     * (17 -> core 8 in package 0; 32 -> core 16, the first of package 1). */
    for (int i = 0; i < 64; i++) {
        EXPECT_EQ(p.p.slots[i].pu_os, i);
        EXPECT_EQ(p.p.slots[i].core, i / 2);
        EXPECT_EQ(p.p.slots[i].package, i / 32);
    }
}

TEST(PinPlan, ScatterAlternatesPackagesOneCoreEach)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_SCATTER, 4);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 0);
    /* The contract's example: 4 different cores, 2 per package, alternating.
     * Package 0's cores are 0..3 (first PUs 0,2,4,6), package 1's 4..7 (first
     * PUs 8,10,12,14): core 0, core 4, core 1, core 5. */
    ExpectSlots(p.p, {{0, 0, 0}, {8, 4, 1}, {2, 1, 0}, {10, 5, 1}});
}

TEST(PinPlan, ScatterUsesEveryCoreBeforeAnySibling)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_SCATTER, 17);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 1); /* 17 workers, 16 PUs */
    /* First round: the first PU of cores 0,4,1,5,2,6,3,7 (PU 2c). Second
     * round: the same cores' second PUs (2c+1). Worker 16 wraps to slot 0. */
    ExpectSlots(p.p, {{0, 0, 0},
                      {8, 4, 1},
                      {2, 1, 0},
                      {10, 5, 1},
                      {4, 2, 0},
                      {12, 6, 1},
                      {6, 3, 0},
                      {14, 7, 1},
                      {1, 0, 0},
                      {9, 4, 1},
                      {3, 1, 0},
                      {11, 5, 1},
                      {5, 2, 0},
                      {13, 6, 1},
                      {7, 3, 0},
                      {15, 7, 1},
                      {0, 0, 0}});
}

TEST(PinPlan, ScatterOneCoreWraps)
{
    Topo t(kOneCore);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_SCATTER, 3);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 1);
    /* One package, cores 0 and 1 with PUs 0 and 1; worker 2 wraps to PU 0. */
    ExpectSlots(p.p, {{0, 0, 0}, {1, 1, 0}, {0, 0, 0}});
}

TEST(PinPlan, ScatterSpreadsOverNumaGroups)
{
    Topo t(kNuma);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_SCATTER, 8);
    ASSERT_EQ(p.rc, 0) << p.err;
    /* Packages alternate; inside a package the two NUMA groups alternate
     * (package 0: group 0 from core 0, group 1 from core 8; package 1: group
     * 2 from core 16, group 3 from core 24). Core c's first PU is 2c:
     * cores 0,16,8,24,1,17,9,25. */
    ExpectSlots(p.p, {{0, 0, 0},
                      {32, 16, 1},
                      {16, 8, 0},
                      {48, 24, 1},
                      {2, 1, 0},
                      {34, 17, 1},
                      {18, 9, 0},
                      {50, 25, 1}});
}

TEST(PinPlan, ScatterIsAPermutation)
{
    Topo t(kNuma);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_SCATTER, 64);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 0);
    std::set<int> pus, cores;
    for (int i = 0; i < 64; i++) {
        pus.insert(p.p.slots[i].pu_os);
        if (i < 32) {
            cores.insert(p.p.slots[i].core);
            /* The first 32 workers get the 32 cores' first PUs (even), and
             * alternate packages. */
            EXPECT_EQ(p.p.slots[i].pu_os % 2, 0) << i;
            EXPECT_EQ(p.p.slots[i].package, i % 2) << i;
        } else {
            EXPECT_EQ(p.p.slots[i].pu_os % 2, 1) << i;
        }
    }
    EXPECT_EQ(pus.size(), 64u);   /* every PU once */
    EXPECT_EQ(cores.size(), 32u); /* every core once before any sibling */
}

TEST(PinPlan, ListInOrderAndWraps)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_LIST, 5, {1, 9, 4, 5});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.policy, CB_PIN_LIST);
    EXPECT_EQ(p.p.wrapped, 1); /* 5 workers, 4 listed PUs */
    /* PU 1: core 0 package 0; PU 9: core 4 package 1; PUs 4,5: core 2
     * package 0; worker 4 wraps to the first listed PU. */
    ExpectSlots(p.p, {{1, 0, 0}, {9, 4, 1}, {4, 2, 0}, {5, 2, 0}, {1, 0, 0}});
}

TEST(PinPlan, ListFewerWorkersDoesNotWrap)
{
    Topo t(kNuma);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_LIST, 2, {63, 20, 0});
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 0);
    /* PU 63: core 31 package 1; PU 20: core 10 package 0. */
    ExpectSlots(p.p, {{63, 31, 1}, {20, 10, 0}});
}

TEST(PinPlan, ListOutsideAllowedSetIsRefused)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_LIST, 2, {3, 16});
    EXPECT_EQ(p.rc, -EINVAL);
    EXPECT_STREQ(p.err, "--pin: PU 16 is not in the allowed set 0-15");
    EXPECT_EQ(p.p.slots, nullptr);
    Plan empty(t.t, CB_PIN_LIST, 2, {});
    EXPECT_EQ(empty.rc, -EINVAL);
}

TEST(PinPlan, NoneLeavesSlotsUnpinned)
{
    Topo t(kOneCore);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_NONE, 5);
    ASSERT_EQ(p.rc, 0) << p.err;
    EXPECT_EQ(p.p.wrapped, 0); /* nothing pinned, nothing shared */
    ExpectSlots(p.p, {{-1, -1, -1}, {-1, -1, -1}, {-1, -1, -1}, {-1, -1, -1}, {-1, -1, -1}});
}

TEST(PinPlan, ZeroWorkersIsRefused)
{
    Topo t(kOneCore);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_COMPACT, 0);
    EXPECT_EQ(p.rc, -EINVAL);
    EXPECT_STREQ(p.err, "pin plan: 0 workers: expected at least 1");
}

/* The --plan format. */

TEST(PinPrint, Compact)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_COMPACT, 3);
    ASSERT_EQ(p.rc, 0) << p.err;
    /* Counts as in CountsTwoPackagesSmt, slots as in CompactFillsSmtSiblingsFirst. */
    EXPECT_EQ(PrintPlan(t.t, p.p), "topology packages=2 numa=1 cores=8 pus=16 allowed=0-15\n"
                                   "worker 0 pu 0 core 0 package 0\n"
                                   "worker 1 pu 1 core 0 package 0\n"
                                   "worker 2 pu 2 core 1 package 0\n");
}

TEST(PinPrint, ScatterWrapped)
{
    Topo t(kOneCore);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_SCATTER, 3);
    ASSERT_EQ(p.rc, 0) << p.err;
    /* Slots as in ScatterOneCoreWraps; 3 workers share the 2 PUs. */
    EXPECT_EQ(PrintPlan(t.t, p.p),
              "topology packages=1 numa=1 cores=2 pus=2 allowed=0-1\n"
              "worker 0 pu 0 core 0 package 0\n"
              "worker 1 pu 1 core 1 package 0\n"
              "worker 2 pu 0 core 0 package 0\n"
              "# wrapped: 3 workers on 2 PUs, so some PUs run more than one worker\n");
}

TEST(PinPrint, None)
{
    Topo t(kNuma);
    ASSERT_NE(t.t, nullptr) << t.err;
    Plan p(t.t, CB_PIN_NONE, 2);
    ASSERT_EQ(p.rc, 0) << p.err;
    /* Counts as in CountsNuma. */
    EXPECT_EQ(PrintPlan(t.t, p.p), "topology packages=2 numa=4 cores=32 pus=64 allowed=0-63\n"
                                   "worker 0 pu none core none package none\n"
                                   "worker 1 pu none core none package none\n");
}

/* Binding. */

TEST(PinBind, RefusedOnSyntheticTopology)
{
    Topo t(kTwoPkgSmt);
    ASSERT_NE(t.t, nullptr) << t.err;
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    EXPECT_EQ(cb_pin_bind_thread(t.t, 0), -EXDEV);
    EXPECT_EQ(cb_pin_bind_process(t.t, 0), -EXDEV);
    EXPECT_EQ(cb_pin_attr(t.t, &attr, 0), -EXDEV);
    /* Unpinned workers (pu -1) are fine anywhere. */
    EXPECT_EQ(cb_pin_bind_thread(t.t, -1), 0);
    EXPECT_EQ(cb_pin_bind_process(t.t, -1), 0);
    EXPECT_EQ(cb_pin_attr(t.t, &attr, -1), 0);
    EXPECT_EQ(pthread_attr_destroy(&attr), 0);
}

/* What a pinned thread or child finds out about itself. */
struct Where {
    int rc = 1;     /* the binding call's return */
    int cpu = -1;   /* sched_getcpu() right after */
    int ncpus = -1; /* CPUs in its affinity mask */
};

Where Observe(int rc)
{
    Where w;
    cpu_set_t set;
    w.rc = rc;
    w.cpu = sched_getcpu();
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        w.ncpus = CPU_COUNT(&set);
    return w;
}

struct BindArg {
    const cb_topo_t *t;
    int pu;
    int bind; /* 1: call cb_pin_bind_thread; 0: already bound by cb_pin_attr */
    Where w;
};

void *BindThread(void *p)
{
    BindArg *a = (BindArg *)p;
    a->w = Observe(a->bind ? cb_pin_bind_thread(a->t, a->pu) : 0);
    return nullptr;
}

/* The PUs this process may use, from the kernel rather than from topo.c. */
std::vector<int> AffinityCpus()
{
    cpu_set_t set;
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return cpus;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set))
            cpus.push_back(i);
    return cpus;
}

TEST(RealHost, AllowedSetIsTheAffinityMask)
{
    Topo t(nullptr);
    ASSERT_NE(t.t, nullptr) << t.err;
    ASSERT_EQ(cb_topo_is_this_system(t.t), 1);
    std::vector<int> cpus = AffinityCpus();
    ASSERT_FALSE(cpus.empty());
    EXPECT_EQ(cb_topo_allowed_pus(t.t), (int)cpus.size());
    for (int c : cpus)
        EXPECT_EQ(cb_topo_pu_allowed(t.t, c), 1) << c;
    EXPECT_LE(cb_topo_allowed_pus(t.t), cb_topo_pus(t.t));
    EXPECT_LE(cb_topo_allowed_cores(t.t), cb_topo_cores(t.t));
    EXPECT_GE(cb_topo_allowed_cores(t.t), 1);
    EXPECT_GE(cb_topo_packages(t.t), 1);
    EXPECT_GE(cb_topo_numa_nodes(t.t), 1);
}

TEST(RealHost, BindThread)
{
    Topo t(nullptr);
    ASSERT_NE(t.t, nullptr) << t.err;
    for (int pu : AffinityCpus()) {
        BindArg a{t.t, pu, 1, {}};
        pthread_t th;
        ASSERT_EQ(pthread_create(&th, nullptr, BindThread, &a), 0);
        ASSERT_EQ(pthread_join(th, nullptr), 0);
        EXPECT_EQ(a.w.rc, 0) << pu;
        EXPECT_EQ(a.w.cpu, pu);
        EXPECT_EQ(a.w.ncpus, 1) << pu;
    }
    /* A PU that does not exist is refused before any system call. */
    EXPECT_EQ(cb_pin_bind_thread(t.t, 1 << 20), -EINVAL);
}

TEST(RealHost, BindAttr)
{
    Topo t(nullptr);
    ASSERT_NE(t.t, nullptr) << t.err;
    for (int pu : AffinityCpus()) {
        BindArg a{t.t, pu, 0, {}};
        pthread_attr_t attr;
        pthread_t th;
        ASSERT_EQ(pthread_attr_init(&attr), 0);
        ASSERT_EQ(cb_pin_attr(t.t, &attr, pu), 0) << pu;
        ASSERT_EQ(pthread_create(&th, &attr, BindThread, &a), 0);
        ASSERT_EQ(pthread_join(th, nullptr), 0);
        ASSERT_EQ(pthread_attr_destroy(&attr), 0);
        EXPECT_EQ(a.w.cpu, pu);
        EXPECT_EQ(a.w.ncpus, 1) << pu;
    }
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    EXPECT_EQ(cb_pin_attr(t.t, &attr, 1 << 20), -EINVAL);
    ASSERT_EQ(pthread_attr_destroy(&attr), 0);
}

/* A thread started with a set binding may run on every PU of the set and
 * on no other. */
TEST(RealHost, BindAttrSet)
{
    Topo t(nullptr);
    ASSERT_NE(t.t, nullptr) << t.err;
    std::vector<int> all = AffinityCpus();
    std::vector<std::vector<int>> sets = {all, {all.back()}, {-1, all.front()}};
    for (const std::vector<int> &set : sets) {
        BindArg a{t.t, -1, 0, {}};
        pthread_attr_t attr;
        pthread_t th;
        ASSERT_EQ(pthread_attr_init(&attr), 0);
        ASSERT_EQ(cb_pin_attr_set(t.t, &attr, set.data(), (int)set.size()), 0);
        ASSERT_EQ(pthread_create(&th, &attr, BindThread, &a), 0);
        ASSERT_EQ(pthread_join(th, nullptr), 0);
        ASSERT_EQ(pthread_attr_destroy(&attr), 0);
        int want = 0;
        for (int pu : set)
            want += pu >= 0;
        EXPECT_EQ(a.w.ncpus, want);
        bool in_set = false;
        for (int pu : set)
            in_set |= pu == a.w.cpu;
        EXPECT_TRUE(in_set) << a.w.cpu;
    }
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    int bad[] = {all.front(), 1 << 20};
    EXPECT_EQ(cb_pin_attr_set(t.t, &attr, bad, 2), -EINVAL);
    int none[] = {-1};
    EXPECT_EQ(cb_pin_attr_set(t.t, &attr, none, 1), 0);
    ASSERT_EQ(pthread_attr_destroy(&attr), 0);
    Topo syn("pack:1 core:2 pu:1");
    ASSERT_NE(syn.t, nullptr) << syn.err;
    int zero[] = {0};
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    EXPECT_EQ(cb_pin_attr_set(syn.t, &attr, zero, 1), -EXDEV);
    ASSERT_EQ(pthread_attr_destroy(&attr), 0);
}

/* Runs fn in a forked child, which writes a T back through a pipe; returns
 * what it wrote. The child is reaped and must exit 0. */
template <typename T, typename F> T InChild(F fn)
{
    T out{};
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    EXPECT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        T v = fn();
        ssize_t n = write(fds[1], &v, sizeof(v));
        _exit(n == (ssize_t)sizeof(v) ? 0 : 1);
    }
    close(fds[1]);
    EXPECT_EQ(read(fds[0], &out, sizeof(out)), (ssize_t)sizeof(out));
    close(fds[0]);
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    return out;
}

TEST(RealHost, BindProcess)
{
    Topo t(nullptr);
    ASSERT_NE(t.t, nullptr) << t.err;
    for (int pu : AffinityCpus()) {
        Where w = InChild<Where>([&] { return Observe(cb_pin_bind_process(t.t, pu)); });
        EXPECT_EQ(w.rc, 0) << pu;
        EXPECT_EQ(w.cpu, pu);
        EXPECT_EQ(w.ncpus, 1) << pu;
    }
}

/* Like `taskset -c X`: a process restricted to one CPU before it loads the
 * topology sees one allowed PU. */
TEST(RealHost, AffinityRestrictionIsHonoured)
{
    std::vector<int> cpus = AffinityCpus();
    ASSERT_FALSE(cpus.empty());
    const int x = cpus.back();

    struct Seen {
        int setaffinity = -1, load_err = 1, allowed_pus = -1, allowed_cores = -1, x_allowed = -1;
        int plan_rc = 1, wrapped = -1, pu[3] = {-1, -1, -1};
        int other = -1, other_rc = 1;
    };
    Seen s = InChild<Seen>([&] {
        Seen s;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(x, &one);
        s.setaffinity = sched_setaffinity(0, sizeof(one), &one);
        int err = 0;
        cb_topo_t *t = cb_topo_load(&err);
        s.load_err = err;
        if (!t)
            return s;
        s.allowed_pus = cb_topo_allowed_pus(t);
        s.allowed_cores = cb_topo_allowed_cores(t);
        s.x_allowed = cb_topo_pu_allowed(t, x);
        cb_pin_plan_t plan;
        char msg[256];
        s.plan_rc = cb_pin_plan_make(t, CB_PIN_SCATTER, nullptr, 0, 3, &plan, msg, sizeof(msg));
        if (s.plan_rc == 0) {
            s.wrapped = plan.wrapped;
            for (int i = 0; i < 3; i++)
                s.pu[i] = plan.slots[i].pu_os;
            cb_pin_plan_free(&plan);
        }
        /* Another PU: outside the affinity mask now (or, on a machine with
         * a single PU 0, a PU that does not exist, refused as well). */
        s.other = x == 0 ? 1 : 0;
        s.other_rc = cb_pin_plan_make(t, CB_PIN_LIST, &s.other, 1, 1, &plan, msg, sizeof(msg));
        if (s.other_rc == 0)
            cb_pin_plan_free(&plan);
        cb_topo_free(t);
        return s;
    });
    EXPECT_EQ(s.setaffinity, 0);
    EXPECT_EQ(s.load_err, 0);
    EXPECT_EQ(s.allowed_pus, 1);
    EXPECT_EQ(s.allowed_cores, 1);
    EXPECT_EQ(s.x_allowed, 1);
    EXPECT_EQ(s.plan_rc, 0);
    EXPECT_EQ(s.wrapped, 1); /* 3 workers on 1 PU */
    EXPECT_EQ(s.pu[0], x);
    EXPECT_EQ(s.pu[1], x);
    EXPECT_EQ(s.pu[2], x);
    EXPECT_EQ(s.other_rc, -EINVAL) << "PU " << s.other;
}

} // namespace
