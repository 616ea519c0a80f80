// bench/bench_support.h: what every tickflow benchmark shares.
//
//  * Two-thread benchmarks pin the benchmark thread and the worker thread to
//    different CPUs (the first two this process may use), so that the
//    figures measure cross-core traffic, as in production, and not the
//    scheduler. With a single allowed CPU they run unpinned.
//  * TscClock reads the time stamp counter (~20 cycles in a VM) for
//    per-operation latency samples; steady_clock would add ~25 ns per read.
//  * report_latency() publishes a LatencyHistogram as p50/p99/p99.9/max
//    counters, since Google Benchmark only knows per-iteration means.
//  * Every run's context (the header Google Benchmark prints, and the
//    "context" of --benchmark_format=json) names the CPU: /proc/cpuinfo's
//    model name, vendor, family, model and stepping (a VM may only say
//    "AMD EPYC"), and the measured cost of one PAUSE with the poll interval
//    it gives (ringbuffers/cpu_relax.h). bench/README.md keeps one table per
//    CPU model, and figures from two models are not comparable.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <x86intrin.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/latency_histogram.h"
#include "ringbuffers/cache_line.h"
#include "ringbuffers/cpu_relax.h"
#include "runtime/thread_affinity.h"

namespace tickflow::bench {

// "AMD EPYC (AuthenticAMD family 26 model 2 stepping 1)" from /proc/cpuinfo's
// first processor; "unknown" without one.
inline std::string cpu_model_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name, vendor, family, model, stepping;
  const auto value = [&line] {
    const auto colon = line.find(':');
    return colon == std::string::npos ? std::string() : line.substr(line.find_first_not_of(" \t", colon + 1));
  };
  while (std::getline(in, line) && !line.empty()) {  // the first processor's block ends at a blank line
    const std::string key = line.substr(0, line.find_first_of("\t:"));
    if (key == "model name")
      name = value();
    else if (key == "vendor_id")
      vendor = value();
    else if (key == "cpu family")
      family = value();
    else if (key == "model")
      model = value();
    else if (key == "stepping")
      stepping = value();
  }
  if (name.empty() && vendor.empty()) return "unknown";
  return name + " (" + vendor + " family " + family + " model " + model + " stepping " + stepping + ")";
}

// Adds the CPU and its PAUSE calibration to the benchmark context, once per
// process, before main (an inline variable's initialiser runs once however
// many files include this header).
inline bool add_cpu_context() {
  benchmark::AddCustomContext("cpu_model", cpu_model_description());
  const PauseCalibration& pause = pause_calibration();
  char text[96];
  std::snprintf(text, sizeof text, "%.1f ns%s; poll interval %u PAUSEs = %.0f ns", pause.pause_ns,
                pause.measured ? "" : " (fallback: not measurable)", pause.pauses_per_poll, pause.poll_interval_ns());
  benchmark::AddCustomContext("pause", text);
  return true;
}
inline const bool kCpuContextAdded = add_cpu_context();

// Times the calling thread has been preempted so far (involuntary context
// switches). Two-thread benchmarks report the sum over both threads as
// "preempted": on a shared host a run in which a thread lost its core
// measures the scheduler, not the code (bench/README.md, "Rings").
inline long thread_preemptions() noexcept {
  rusage usage{};
  return getrusage(RUSAGE_THREAD, &usage) == 0 ? usage.ru_nivcsw : 0;
}

// A flag the two threads of a benchmark share, alone on its 128-byte block.
// A plain local std::atomic<bool> would sit on the benchmark thread's stack
// next to the item it pushes by reference, and the worker polling the flag
// would steal that line on every push: measured, that false sharing cut
// 8-byte single-item throughput by 5-10x and made the benchmark measure it.
struct alignas(kCacheLineSize) SharedFlag {
  std::atomic<bool> value{false};
};

// CPU for role 0 (benchmark thread) and role 1 (worker), or -1 for "don't pin".
inline int cpu_for_role(int role) {
  static const std::vector<int> cpus = allowed_cpus();
  if (cpus.size() < 2) return -1;
  return cpus[static_cast<std::size_t>(role) % cpus.size()];
}

inline void pin_role(int role) {
  if (const int cpu = cpu_for_role(role); cpu >= 0) (void)pin_current_thread(cpu);
}

// Restores the benchmark thread's affinity when a benchmark ends, so that the
// next one (and the Google Benchmark machinery) is not left pinned.
class ScopedPin {
 public:
  explicit ScopedPin(int role) : saved_(allowed_cpus()) { pin_role(role); }
  ~ScopedPin() {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : saved_) CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }

 private:
  std::vector<int> saved_;
};

class TscClock {
 public:
  static std::uint64_t now() noexcept {
    _mm_lfence();  // keep rdtsc from running ahead of earlier loads
    const std::uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
  }
  // Nanoseconds per TSC tick, calibrated once against steady_clock over 50 ms.
  static double ns_per_tick() {
    static const double value = [] {
      const auto t0 = std::chrono::steady_clock::now();
      const std::uint64_t c0 = now();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const auto t1 = std::chrono::steady_clock::now();
      const std::uint64_t c1 = now();
      return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(c1 - c0);
    }();
    return value;
  }
  static std::uint64_t to_ns(std::uint64_t ticks) { return static_cast<std::uint64_t>(ticks * ns_per_tick()); }
};

// `ns_per_unit` converts the histogram's unit to ns (TscClock::ns_per_tick()
// for a histogram of TSC ticks; 1 for one already in ns).
inline void report_latency(benchmark::State& state, const LatencyHistogram& h, double ns_per_unit = 1.0) {
  state.counters["p50_ns"] = static_cast<double>(h.percentile(0.50)) * ns_per_unit;
  state.counters["p99_ns"] = static_cast<double>(h.percentile(0.99)) * ns_per_unit;
  state.counters["p99.9_ns"] = static_cast<double>(h.percentile(0.999)) * ns_per_unit;
  state.counters["max_ns"] = static_cast<double>(h.max()) * ns_per_unit;
}

}  // namespace tickflow::bench
