// tuning/host_check.h
//
// What a host offers the pipeline, and whether a profile fits it.
//
// HostInfo is read from sysfs/procfs under an injectable root (tests point it
// at a fake tree) plus the process's affinity mask (injectable too), so every
// decision below is a pure function of data a test can write down:
//   * CPUs online, and the CPUs this process may use (sched_getaffinity:
//     taskset, cgroups and systemd's CPUAffinity all narrow it);
//   * isolated cores (isolcpus=) and nohz_full cores;
//   * the cpufreq governor per CPU (VMs often expose none: "not exposed");
//   * SMT on or off, transparent huge pages, the clocksource.
//
// check_cpus() compares a PipelineConfig with a HostInfo: a thread pinned to
// a CPU this process cannot use makes the profile unrunnable pinned (`tickflow
// run` refuses it and names the CPUs; `--unpinned` runs it anyway); softer
// findings (a spinning thread on a core the kernel also schedules other work
// on, two threads pinned to one CPU, more spinners than CPUs, SCHED_FIFO or
// memory locking this process would not be granted) are warnings.
//
// spin_report() is `tickflow host`'s view of the spin loops: the PAUSE cost
// this process measured (ringbuffers/cpu_relax.h) and the poll interval and
// spin budget it turns into, as PAUSE counts and as nanoseconds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/pipeline_config.h"
#include "ringbuffers/pause_calibration.h"
#include "ringbuffers/wait_strategy.h"

namespace tickflow {

struct HostInfo {
  std::vector<int> online_cpus;                        // /sys/devices/system/cpu/online
  std::vector<int> allowed_cpus;                       // this process's affinity mask
  std::optional<std::vector<int>> isolated;            // /sys/devices/system/cpu/isolated; none: not exposed
  std::optional<std::vector<int>> nohz_full;           // /sys/devices/system/cpu/nohz_full; none: not exposed
  std::vector<std::pair<int, std::string>> governors;  // (cpu, governor) for CPUs that expose cpufreq
  std::optional<bool> smt_active;                      // /sys/devices/system/cpu/smt/active
  std::optional<std::string> thp;                      // the selected transparent_hugepage mode: always, madvise, never
  std::optional<std::string> clocksource;              // current_clocksource: tsc, kvm-clock, hpet, ...
  // Whether SCHED_FIFO will be granted: root (CAP_SYS_NICE), or the
  // RLIMIT_RTPRIO soft limit. Always read from this process.
  bool privileged = false;
  int rtprio_limit = 0;
  // Whether mlockall ([memory] lock = true) will be allowed: CAP_IPC_LOCK
  // (root's), or an RLIMIT_MEMLOCK soft limit large enough (UINT64_MAX:
  // unlimited). Always read from this process.
  bool ipc_lock = false;
  std::uint64_t memlock_limit = UINT64_MAX;
};

// Reads the host below `root` ("/" for this machine). `allowed_cpus`: the
// affinity mask to report; none reads sched_getaffinity() of this process.
// Missing files leave their fields empty; never throws on a missing file.
HostInfo read_host_info(const std::filesystem::path& root = "/",
                        std::optional<std::vector<int>> allowed_cpus = std::nullopt);

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; empty or whitespace -> {}.
// Throws std::invalid_argument naming the text when it is not a CPU list.
std::vector<int> parse_cpu_list(std::string_view text);

// {0,1,2,3,8} -> "0-3,8", {0,1} -> "0-1" (the kernel's notation); {} -> "none".
std::string format_cpu_list(const std::vector<int>& cpus);

struct PinnedThread {
  std::string thread;  // tf-feed-0, tf-agg, ...
  int cpu = -1;
  WaitKind wait = WaitKind::kPark;
};

struct CpuPlan {
  std::vector<PinnedThread> pinned;   // every pinned thread, in the config's thread order
  std::vector<int> missing_cpus;      // pinned CPUs this process cannot use, ascending, unique
  std::vector<std::string> problems;  // one line per thread pinned to a missing CPU
  std::vector<std::string> warnings;  // fits, but will not perform as the profile intends

  // Whether `tickflow run` may pin as the profile says.
  bool fits() const noexcept { return missing_cpus.empty(); }
};

CpuPlan check_cpus(const PipelineConfig& config, const HostInfo& host);

// The host's side of `tickflow tuning check`, one line per item, e.g.
//   "cpus online:        0-1"
//   "scaling governor:   not exposed (no cpufreq; usual on VMs)"
std::vector<std::string> host_report(const HostInfo& host);

// The profile's side: its thread plan, then what it needs from the host and
// whether the host gives it (problems and warnings from check_cpus()).
std::vector<std::string> profile_report(const PipelineConfig& config, const HostInfo& host, const CpuPlan& plan);

// The spin loops' calibration, one line per item, e.g. for an 18.2 ns PAUSE:
//   "pause:              18.2 ns (measured at start-up)"
//   "poll interval:      10 PAUSEs = 182 ns (target 185 ns)"
//   "spin before yield:  33 polls = 6.0 us (target 6000 ns)"
// `spin_ns`: the WaitStrategy budget to describe (its default unless given).
std::vector<std::string> spin_report(const PauseCalibration& pause, std::uint32_t spin_ns = kDefaultSpinNs);

}  // namespace tickflow
