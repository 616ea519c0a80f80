// tuning/host_check: reads a fake sysfs tree (the root is injectable) and
// checks profiles against host descriptions written down here, so nothing
// depends on the machine the tests run on.
#include "tuning/host_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tickflow {
namespace {

const std::filesystem::path kTuningDir = std::filesystem::path(TICKFLOW_SOURCE_DIR) / "tuning";

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("tickflow_host_check_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void write(const std::string& relative, const std::string& content) {
    const auto path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }

  std::filesystem::path root_;
};

TEST(CpuList, ParsesAndFormats) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list(" \n"), std::vector<int>{});
  EXPECT_EQ(parse_cpu_list("5"), std::vector<int>{5});
  EXPECT_THROW(parse_cpu_list("0-"), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("3-1"), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("a"), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("1,"), std::invalid_argument);
  EXPECT_EQ(format_cpu_list({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(format_cpu_list({3, 1, 2}), "1-3");
  EXPECT_EQ(format_cpu_list({}), "none");
}

TEST_F(FakeSysfs, TuningHostReport) {
  write("sys/devices/system/cpu/online", "0-7\n");
  write("sys/devices/system/cpu/isolated", "4-7\n");
  write("sys/devices/system/cpu/nohz_full", "4-6\n");
  for (int cpu = 0; cpu < 8; ++cpu)
    write("sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_governor",
          cpu < 4 ? "powersave\n" : "performance\n");
  write("sys/devices/system/cpu/smt/active", "0\n");
  write("sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
  write("sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n");

  const HostInfo host = read_host_info(root_, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(host.online_cpus, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(host_report(host), (std::vector<std::string>{
                                   "cpus online:        0-7",
                                   "cpus allowed:       0-7 (this process's affinity mask)",
                                   "isolated cores:     4-7",
                                   "nohz_full:          4-6",
                                   "scaling governor:   performance (cpus 4-7), powersave (cpus 0-3); performance "
                                   "recommended",
                                   "smt:                off",
                                   "transparent hugepages: madvise",
                                   "clocksource:        tsc",
                               }));
}

TEST_F(FakeSysfs, VmWithoutCpufreqSaysNotExposed) {
  write("sys/devices/system/cpu/online", "0-1\n");
  write("sys/devices/system/cpu/isolated", "\n");
  write("sys/devices/system/cpu/smt/active", "1\n");
  write("sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
  write("sys/devices/system/clocksource/clocksource0/current_clocksource", "kvm-clock\n");

  const HostInfo host = read_host_info(root_, std::vector<int>{0, 1});
  EXPECT_EQ(host_report(host),
            (std::vector<std::string>{
                "cpus online:        0-1",
                "cpus allowed:       0-1 (this process's affinity mask)",
                "isolated cores:     none",
                "nohz_full:          not exposed",
                "scaling governor:   not exposed (no cpufreq; usual on VMs)",
                "smt:                on (siblings share a core's caches and ports; off recommended)",
                "transparent hugepages: always (khugepaged compaction can stall; madvise recommended)",
                "clocksource:        kvm-clock (tsc gives the cheapest timestamps)",
            }));
}

TEST_F(FakeSysfs, EmptyRootHasNothingExposed) {
  const HostInfo host = read_host_info(root_, std::vector<int>{0});
  EXPECT_TRUE(host.online_cpus.empty());
  EXPECT_FALSE(host.isolated.has_value());
  EXPECT_FALSE(host.smt_active.has_value());
  EXPECT_FALSE(host.thp.has_value());
  EXPECT_FALSE(host.clocksource.has_value());
  EXPECT_EQ(host_report(host)[0], "cpus online:        not exposed");
}

TEST(SpinReport, ShowsThePauseCostAndWhatItBecomes) {
  // This AMD EPYC's PAUSE (family 26): 10 per 185 ns poll, 33 polls of 182 ns.
  EXPECT_EQ(spin_report(calibration_from(18.2)), (std::vector<std::string>{
                                                     "pause:              18.2 ns (measured at start-up)",
                                                     "poll interval:      10 PAUSEs = 182 ns (target 185 ns)",
                                                     "spin before yield:  33 polls = 6.0 us (target 6000 ns)",
                                                 }));
  // Unmeasurable: the Xeon's 23 ns is assumed, and said so.
  EXPECT_EQ(spin_report(calibration_from(0.0), 1000), (std::vector<std::string>{
                                                          "pause:              23.0 ns (not measurable: assumed, "
                                                          "the Xeon's)",
                                                          "poll interval:      8 PAUSEs = 184 ns (target 185 ns)",
                                                          "spin before yield:  6 polls = 1.1 us (target 1000 ns)",
                                                      }));
}

TEST(HostCheck, ThisMachineIsReadable) {
  const HostInfo host = read_host_info();
  EXPECT_FALSE(host.allowed_cpus.empty());
  EXPECT_EQ(host_report(host).size(), 8u);
}

HostInfo two_cpu_vm() {
  HostInfo host;
  host.online_cpus = {0, 1};
  host.allowed_cpus = {0, 1};
  host.isolated = std::vector<int>{};
  return host;
}

TEST(CheckCpus, Host16CoreOnATwoCpuHostNamesTheMissingCpus) {
  const PipelineConfig config = load_pipeline_config(kTuningDir / "host-16core-isolated.toml");
  const CpuPlan plan = check_cpus(config, two_cpu_vm());
  EXPECT_FALSE(plan.fits());
  EXPECT_EQ(plan.missing_cpus, (std::vector<int>{3, 4, 5, 6, 7}));
  EXPECT_EQ(plan.problems, (std::vector<std::string>{
                               "profile pins tf-feed-0 to CPU 4, but this host has CPUs 0-1",
                               "profile pins tf-feed-1 to CPU 5, but this host has CPUs 0-1",
                               "profile pins tf-feed-2 to CPU 6, but this host has CPUs 0-1",
                               "profile pins tf-agg to CPU 7, but this host has CPUs 0-1",
                               "profile pins tf-writer to CPU 3, but this host has CPUs 0-1",
                           }));
  const std::vector<std::string> report = profile_report(config, two_cpu_vm(), plan);
  EXPECT_EQ(report[0], "profile:            " + (kTuningDir / "host-16core-isolated.toml").string());
  EXPECT_EQ(report[1], "  tf-feed-0       cpu 4    spin   -        BINANCE,BINANCE_FUTURES");
  EXPECT_EQ(report[5], "  tf-writer       cpu 3    park   -");
  EXPECT_EQ(report[6], "needs cpus:         3-7");
  EXPECT_EQ(report[7],
            "verdict:            CPUs 3-7 missing: `tickflow run` refuses this profile; `--unpinned` runs it without "
            "pinning");
  EXPECT_EQ(report[8], "problem: profile pins tf-feed-0 to CPU 4, but this host has CPUs 0-1");
}

TEST(CheckCpus, Host16CoreFitsTheHostItWasWrittenFor) {
  const PipelineConfig config = load_pipeline_config(kTuningDir / "host-16core-isolated.toml");
  HostInfo host;
  for (int cpu = 0; cpu < 16; ++cpu) host.online_cpus.push_back(cpu);
  host.allowed_cpus = host.online_cpus;
  host.isolated = parse_cpu_list("4-15");
  host.nohz_full = parse_cpu_list("4-15");
  const CpuPlan plan = check_cpus(config, host);
  EXPECT_TRUE(plan.fits());
  EXPECT_TRUE(plan.problems.empty());
  EXPECT_EQ(plan.warnings, std::vector<std::string>{});
  EXPECT_EQ(plan.pinned.size(), 5u);
  EXPECT_EQ(profile_report(config, host, plan)[7], "verdict:            fits this host");
}

TEST(CheckCpus, SpinningOnCoresThatAreNotIsolatedIsAWarning) {
  const PipelineConfig config = load_pipeline_config(kTuningDir / "host-16core-isolated.toml");
  HostInfo host;
  for (int cpu = 0; cpu < 16; ++cpu) host.online_cpus.push_back(cpu);
  host.allowed_cpus = host.online_cpus;
  host.isolated = parse_cpu_list("5-15");
  host.nohz_full = parse_cpu_list("4-5,7-15");
  const CpuPlan plan = check_cpus(config, host);
  EXPECT_TRUE(plan.fits());
  EXPECT_EQ(
      plan.warnings,
      (std::vector<std::string>{
          "tf-feed-0 spins on CPU 4, which is not isolated (isolcpus): other tasks and kernel work will preempt it",
          "tf-feed-2 spins on isolated CPU 6, which is not in nohz_full: the scheduler tick still interrupts it",
      }));
}

TEST(CheckCpus, AffinityMaskNarrowerThanTheHost) {
  const PipelineConfig config = load_pipeline_config(kTuningDir / "bench-2core-spin.toml");
  HostInfo host = two_cpu_vm();
  host.allowed_cpus = {0};  // taskset -c 0
  const CpuPlan plan = check_cpus(config, host);
  EXPECT_EQ(plan.missing_cpus, std::vector<int>{1});
  EXPECT_EQ(plan.problems, (std::vector<std::string>{
                               "profile pins tf-agg to CPU 1, but this process may only run on CPUs 0 (its affinity "
                               "mask: taskset, cgroup cpuset or CPUAffinity=)",
                           }));
}

TEST(CheckCpus, LaptopFitsAndBenchSpinWarnsOnAVm) {
  const CpuPlan laptop = check_cpus(load_pipeline_config(kTuningDir / "laptop-2core.toml"), two_cpu_vm());
  EXPECT_TRUE(laptop.fits());
  EXPECT_TRUE(laptop.pinned.empty());
  EXPECT_TRUE(laptop.warnings.empty());

  const CpuPlan bench = check_cpus(load_pipeline_config(kTuningDir / "bench-2core-spin.toml"), two_cpu_vm());
  EXPECT_TRUE(bench.fits());
  EXPECT_EQ(
      bench.warnings,
      (std::vector<std::string>{
          "tf-feed-0 spins on CPU 0, which is not isolated (isolcpus): other tasks and kernel work will preempt it",
          "tf-agg spins on CPU 1, which is not isolated (isolcpus): other tasks and kernel work will preempt it",
      }));
}

TEST(CheckCpus, SharedCoresUnpinnedSpinnersAndFifo) {
  const PipelineConfig config = parse_pipeline_config(
      "[[threads.feed]]\ncpu = 1\nwait = \"spin\"\n[threads.aggregator]\ncpu = 1\n"
      "[threads.writer]\nwait = \"yield\"\npriority = 10\n",
      "shared.toml");
  HostInfo host = two_cpu_vm();
  host.allowed_cpus = {0, 1};
  host.privileged = false;
  host.rtprio_limit = 0;
  host.isolated = std::vector<int>{1};
  host.nohz_full.reset();
  const CpuPlan plan = check_cpus(config, host);
  EXPECT_TRUE(plan.fits());
  EXPECT_EQ(plan.warnings,
            (std::vector<std::string>{
                "tf-feed-0 and tf-agg are pinned to CPU 1 and tf-feed-0 spins: they will starve each other",
                "tf-writer yields but is not pinned: the scheduler will move it and share its core",
                "tf-writer asks for SCHED_FIFO priority 10, but RLIMIT_RTPRIO is 0 and the process is not root: "
                "setting it will fail (LimitRTPRIO= or CAP_SYS_NICE)",
            }));
}

TEST(CheckCpus, MemoryLockWithoutTheLimitOrTheCapabilityIsAWarning) {
  const PipelineConfig locked = parse_pipeline_config("[memory]\nlock = true\n", "locked.toml");
  HostInfo host = two_cpu_vm();
  host.ipc_lock = false;
  host.memlock_limit = 8 << 20;  // a desktop's default
  EXPECT_EQ(check_cpus(locked, host).warnings,
            (std::vector<std::string>{
                "[memory] lock = true, but RLIMIT_MEMLOCK is only 8388608 bytes and this process lacks CAP_IPC_LOCK: "
                "locking needs a few hundred MiB, so `tickflow run` will likely refuse to start "
                "(LimitMEMLOCK=infinity in the systemd unit, or `ulimit -l unlimited`)",
            }));
  EXPECT_TRUE(check_cpus(parse_pipeline_config("", "unlocked.toml"), host).warnings.empty()) << "lock = false";
  host.memlock_limit = UINT64_MAX;  // LimitMEMLOCK=infinity
  EXPECT_TRUE(check_cpus(locked, host).warnings.empty());
  host.memlock_limit = 8 << 20;
  host.ipc_lock = true;  // root
  EXPECT_TRUE(check_cpus(locked, host).warnings.empty());
}

}  // namespace
}  // namespace tickflow
