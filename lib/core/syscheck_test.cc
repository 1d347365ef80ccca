// The system check reads the kernel's files under a root, so each state a
// machine can be in is a small tree here: a tuned machine (nothing to warn
// about), an untuned one (every warning), and a bare VM (nothing exposed:
// "unknown", which is not a warning). And this machine, read for real.

#include "lib/core/syscheck.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <string>

namespace
{

class SysCheck : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        const char *tmp = getenv("TEST_TMPDIR");
        char tmpl[512];
        snprintf(tmpl, sizeof(tmpl), "%s/sysXXXXXX", tmp ? tmp : "/tmp");
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void put(const std::string &rel, const std::string &text)
    {
        std::string p = root_;
        size_t i = 0;
        while ((i = rel.find('/', i)) != std::string::npos) {
            mkdir((root_ + "/" + rel.substr(0, i)).c_str(), 0755);
            i++;
        }
        p += "/" + rel;
        FILE *f = fopen(p.c_str(), "w");
        ASSERT_NE(f, nullptr) << p;
        fputs(text.c_str(), f);
        fclose(f);
    }
    const cb_sys_item_t *item(const cb_syscheck_t &s, const char *key)
    {
        for (size_t i = 0; i < s.n; i++)
            if (std::string(s.items[i].key) == key)
                return &s.items[i];
        ADD_FAILURE() << "no item " << key;
        static cb_sys_item_t none;
        return &none;
    }
    std::string root_;
};

TEST_F(SysCheck, ATunedMachineHasNothingToWarnAbout)
{
    put("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n");
    put("sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
    put("sys/devices/system/cpu/intel_pstate/no_turbo", "1\n");
    put("proc/sys/kernel/randomize_va_space", "0\n");
    put("sys/devices/system/cpu/smt/control", "off\n");
    put("sys/devices/system/cpu/smt/active", "0\n");
    put("sys/devices/system/cpu/isolated", "1\n");
    put("sys/devices/system/cpu/nohz_full", "1\n");
    put("proc/loadavg", "0.40 0.30 0.20 1/100 1234\n");
    put("sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n");
    put("proc/meminfo", "MemTotal: 100 kB\nSwapTotal: 2048 kB\nSwapFree: 2048 kB\n");
    put("proc/sys/kernel/perf_event_paranoid", "-1\n");
    cb_syscheck_t s;
    cb_syscheck_run(root_.c_str(), 2, 1, &s);
    for (size_t i = 0; i < s.n; i++)
        EXPECT_EQ(std::string(s.items[i].warning), "") << s.items[i].key;
    EXPECT_EQ(s.warnings, 0);
    EXPECT_EQ(std::string(item(s, "sys_governor")->value), "performance");
    EXPECT_EQ(std::string(item(s, "sys_turbo")->value), "off (intel_pstate no_turbo=1)");
    EXPECT_EQ(std::string(item(s, "sys_aslr")->value), "off (randomize_va_space=0)");
    EXPECT_EQ(std::string(item(s, "sys_isolated_cpus")->value), "1, nohz_full 1");
    EXPECT_EQ(std::string(item(s, "sys_load_per_pu")->value), "0.20 (load 0.40 on 2 PUs)");
    EXPECT_EQ(std::string(item(s, "sys_thp")->value), "never");
    EXPECT_EQ(std::string(item(s, "sys_swap_used")->value), "0 MiB of 2 MiB");
    EXPECT_EQ(std::string(item(s, "sys_perf_event_paranoid")->value), "-1");
    // Files say nothing of a hypervisor, and a test root never asks CPUID.
    EXPECT_EQ(std::string(item(s, "sys_hypervisor")->value), "unknown");
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    cb_syscheck_print(&s, f);
    fclose(f);
    EXPECT_NE(std::string(text).find("\n0 warnings\n"), std::string::npos) << text;
    free(text);
}

TEST_F(SysCheck, AnUntunedMachineGetsOneWarningPerItem)
{
    put("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "powersave\n");
    put("sys/devices/system/cpu/cpu1/cpufreq/scaling_governor", "performance\n");
    put("sys/devices/system/cpu/cpufreq/boost", "1\n");
    put("proc/sys/kernel/randomize_va_space", "2\n");
    put("sys/devices/system/cpu/smt/control", "on\n");
    put("sys/devices/system/cpu/smt/active", "1\n");
    put("sys/devices/system/cpu/isolated", "\n");
    put("proc/loadavg", "3.00 2.00 1.00 5/300 999\n");
    put("sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
    put("sys/hypervisor/type", "xen\n");
    put("proc/meminfo", "SwapTotal: 4096 kB\nSwapFree: 1024 kB\n");
    cb_syscheck_t s;
    cb_syscheck_run(root_.c_str(), 4, 2, &s);
    const char *warned[] = {"sys_governor", "sys_turbo",         "sys_aslr",
                            "sys_smt",      "sys_isolated_cpus", "sys_load_per_pu",
                            "sys_thp",      "sys_hypervisor",    "sys_swap_used"};
    for (const char *k : warned)
        EXPECT_NE(std::string(item(s, k)->warning), "") << k;
    EXPECT_EQ(s.warnings, 9);
    // Each governor once, in the order the directory lists them.
    std::string g = item(s, "sys_governor")->value;
    EXPECT_TRUE(g == "powersave performance" || g == "performance powersave") << g;
    EXPECT_EQ(std::string(item(s, "sys_turbo")->value), "on (cpufreq boost=1)");
    EXPECT_EQ(std::string(item(s, "sys_smt")->value), "on (control=on, 2 PUs per core)");
    EXPECT_EQ(std::string(item(s, "sys_isolated_cpus")->value), "none");
    EXPECT_EQ(std::string(item(s, "sys_load_per_pu")->value), "0.75 (load 3.00 on 4 PUs)");
    EXPECT_EQ(std::string(item(s, "sys_hypervisor")->value), "xen (sys/hypervisor)");
    EXPECT_EQ(std::string(item(s, "sys_swap_used")->value), "3 MiB of 4 MiB");
    EXPECT_NE(std::string(item(s, "sys_load_per_pu")->warning).find("0.75 per PU"),
              std::string::npos);
}

TEST_F(SysCheck, WhatTheKernelDoesNotExposeIsUnknownNotAWarning)
{
    // An empty root: no sysfs, no procfs.
    cb_syscheck_t s;
    cb_syscheck_run(root_.c_str(), 2, 1, &s);
    EXPECT_EQ(s.warnings, 0);
    EXPECT_EQ(std::string(item(s, "sys_governor")->value), "unknown (no cpufreq in sysfs)");
    EXPECT_EQ(std::string(item(s, "sys_turbo")->value),
              "unknown (no intel_pstate or cpufreq boost)");
    for (const char *k : {"sys_aslr", "sys_isolated_cpus", "sys_load_per_pu", "sys_thp",
                          "sys_hypervisor", "sys_swap_used"})
        EXPECT_EQ(std::string(item(s, k)->value), "unknown") << k;
}

TEST_F(SysCheck, ThisMachineIsReadForReal)
{
    cb_syscheck_t s;
    cb_syscheck_run("/", 1, 1, &s);
    ASSERT_EQ(s.n, 10u);
    int warned = 0;
    for (size_t i = 0; i < s.n; i++) {
        EXPECT_NE(std::string(s.items[i].value), "") << s.items[i].key;
        warned += s.items[i].warning[0] != '\0';
    }
    EXPECT_EQ(warned, s.warnings);
    // Linux always has these two files.
    EXPECT_EQ(std::string(item(s, "sys_aslr")->value).find("unknown"), std::string::npos);
    EXPECT_EQ(std::string(item(s, "sys_load_per_pu")->value).find("unknown"), std::string::npos);
}

} // namespace
