// ringbuffers/wait_strategy.h
//
// WaitStrategy: what a thread does when its rings are empty (or full), chosen
// per thread at run time, as in Aeron's idle strategies and the Disruptor's
// wait strategies.
//
//   kBusySpin   PAUSE in a loop, polling every kPollIntervalNs (cpu_relax.h,
//               ~185 ns). Lowest latency; burns its core. Only for a
//               thread pinned to an isolated core of its own.
//   kSpinYield  Spin for `spin_ns`, then sched_yield() in a loop.
//               Gives the core away to runnable threads, but still shows as
//               100 % CPU and still competes on an oversubscribed host.
//   kPark       Spin, yield `yield_iterations` times, then sleep on the
//               consumer's Doorbell until notified or the deadline. Almost no
//               CPU while idle; the wake costs a futex round trip (tens of us
//               in a VM). The default: on a 2-core host with more pipeline
//               threads than cores, spinning threads would starve each other.
//
// Spin budgets are nanoseconds, not PAUSE counts: a PAUSE costs ~18 ns on
// this project's AMD EPYC, ~23 ns on its Xeon and ~3-40 ns elsewhere, so a
// count tuned on one CPU spins 1-10x longer or shorter on another. The
// budget is spent in whole poll intervals (spin_polls()).
//
// Every strategy honours a deadline, so a consumer that waits for several
// rings also wakes for wall-clock work (bar closes) and for shutdown.
#pragma once

#include <sched.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/doorbell.h"

namespace tickflow {

enum class WaitKind : std::uint8_t { kBusySpin, kSpinYield, kPark };

constexpr std::string_view to_string(WaitKind kind) noexcept {
  switch (kind) {
    case WaitKind::kBusySpin: return "spin";
    case WaitKind::kSpinYield: return "yield";
    case WaitKind::kPark: return "park";
  }
  return "?";
}

// Accepts the names to_string() produces; used by config parsing.
constexpr std::optional<WaitKind> parse_wait_kind(std::string_view name) noexcept {
  if (name == "spin") return WaitKind::kBusySpin;
  if (name == "yield") return WaitKind::kSpinYield;
  if (name == "park") return WaitKind::kPark;
  return std::nullopt;
}

// WaitStrategy::spin_ns's default.
inline constexpr std::uint32_t kDefaultSpinNs = 6000;

// Poll intervals (kPollIntervalNs each) in a spin of `spin_ns`, rounded up so
// that any non-zero budget polls at least once.
constexpr std::uint32_t spin_polls(std::uint32_t spin_ns) noexcept {
  return static_cast<std::uint32_t>((std::uint64_t{spin_ns} + kPollIntervalNs - 1) / kPollIntervalNs);
}

struct WaitStrategy {
  using Clock = Doorbell::Clock;

  WaitKind kind = WaitKind::kPark;
  // How long to spin before the first yield (kSpinYield, kPark), in ns. The
  // default is what the original 256 PAUSEs took on the Xeon they were tuned
  // on (~23 ns each): long enough to catch the next item of a burst without
  // a system call, short next to a park and wake (a membarrier of a few us,
  // then a futex wake: 16.8 us at p50 on the Xeon, bench/README.md,
  // "Parking"), so spinning first costs at most a fraction of what it may
  // save, and it does not matter when idle.
  std::uint32_t spin_ns = kDefaultSpinNs;
  // sched_yield() calls before parking (kPark only).
  std::uint32_t yield_iterations = 4;

  // Waits until `ready()` or `deadline`; returns the last `ready()`.
  // `doorbell` is required for kPark and ignored otherwise.
  template <typename Ready>
  bool wait_until(Ready&& ready, Clock::time_point deadline, Doorbell* doorbell = nullptr) const noexcept {
    if (ready()) return true;
    switch (kind) {
      case WaitKind::kBusySpin: {
        const std::uint32_t pauses = pauses_per_poll();
        for (std::uint32_t i = 1;; ++i) {
          spin_pause(pauses);
          if (ready()) return true;
          // Reading the clock costs ~20 ns; do it every 256 polls.
          if ((i & 255) == 0 && Clock::now() >= deadline) return false;
        }
      }
      case WaitKind::kSpinYield:
        if (spin(ready)) return true;
        for (;;) {
          sched_yield();
          if (ready()) return true;
          if (Clock::now() >= deadline) return false;
        }
      case WaitKind::kPark:
        if (spin(ready)) return true;
        for (std::uint32_t i = 0; i < yield_iterations; ++i) {
          sched_yield();
          if (ready()) return true;
        }
        if (doorbell == nullptr) [[unlikely]] {
          // Misuse (park without a doorbell): degrade to yielding, never hang.
          for (;;) {
            sched_yield();
            if (ready()) return true;
            if (Clock::now() >= deadline) return false;
          }
        }
        return doorbell->wait_until(ready, deadline);
    }
    return ready();
  }

  template <typename Ready>
  bool wait_for(Ready&& ready, std::chrono::nanoseconds timeout, Doorbell* doorbell = nullptr) const noexcept {
    return wait_until(ready, Clock::now() + timeout, doorbell);
  }

 private:
  template <typename Ready>
  bool spin(Ready& ready) const noexcept {
    const std::uint32_t polls = spin_polls(spin_ns);
    if (polls == 0) return false;
    const std::uint32_t pauses = pauses_per_poll();
    for (std::uint32_t i = 0; i < polls; ++i) {
      spin_pause(pauses);
      if (ready()) return true;
    }
    return false;
  }
};

}  // namespace tickflow
