// ringbuffers/pause_calibration.h
//
// How long one PAUSE (cpu_relax()) takes on this CPU, measured once per
// process, and the spin-loop counts derived from it.
//
// Why: every spin loop in tickflow is meant to wait a time (a poll interval
// of ~185 ns, a spin budget of ~6 us before yielding), but it can only count
// PAUSEs, and one PAUSE costs very different times on different x86 cores:
// ~23 ns on the Xeon the ring was first tuned on, ~18 ns on this host's AMD
// EPYC (family 26), ~40 ns on Skylake client parts (140 cycles), ~3 ns on
// Intel cores before Skylake and on Zen 1-2 (~10 cycles). A count tuned on
// one vendor polls 6-10x too fast or too slow on another. So intervals are
// written in nanoseconds (kPollIntervalNs, WaitStrategy::spin_ns) and turned
// into counts with the PAUSE cost measured here.
//
// This file is the measurement and the arithmetic; cpu_relax.h holds the
// process's cached calibration (pause_calibration()) and spin_pause().
//
// Promises
//  * measure_pause_ns() times 5 trials of 1,000 PAUSEs with steady_clock
//    (~0.1 ms here, ~0.2 ms on a 40 ns-PAUSE CPU) and keeps the fastest
//    trial: preemption only ever makes a trial slower. It allocates nothing.
//  * pauses_for_ns() and calibration_from() are pure arithmetic, for tests:
//    round to nearest, at least 1, at most kMaxPausesPerPoll.
//  * A measurement that is absurd (a clock that did not move, a PAUSE that
//    seems to take over 1 us because the VM was descheduled in every trial)
//    falls back to kFallbackPauseNs, and `measured` says so.
//
// Threads: any; nothing here has state.
#pragma once

#include <chrono>
#include <cstdint>

namespace tickflow {

// The product's poll interval in spin loops: how long a thread that found a
// ring empty (or full) pauses before it looks again. Polling faster than a
// cache line can cross cores buys no latency but steals the line the other
// side is writing. 185 ns was 8 PAUSEs on the Xeon where it was tuned (about
// two cross-core transfers there); on this AMD host it is 10 PAUSEs, and a
// 1-PAUSE poll did not win consistently (bench/README.md, "Rings").
inline constexpr std::uint32_t kPollIntervalNs = 185;

// Used when the measurement fails: the Xeon's PAUSE, the cost the original
// counts were tuned for.
inline constexpr double kFallbackPauseNs = 23.0;

// Upper bound on one poll interval in PAUSEs: even a ~1 ns PAUSE (non-x86,
// where cpu_relax() is a compiler barrier) polls at least every ~4 us.
inline constexpr std::uint32_t kMaxPausesPerPoll = 4096;

// PAUSEs that take about `target_ns` when one takes `pause_ns`: round to
// nearest, at least 1 (a target of 0 means "the tightest poll", one PAUSE),
// at most kMaxPausesPerPoll. A non-positive `pause_ns` is treated as the
// fallback cost.
constexpr std::uint32_t pauses_for_ns(double pause_ns, double target_ns) noexcept {
  if (!(pause_ns > 0.0)) pause_ns = kFallbackPauseNs;
  const double pauses = target_ns / pause_ns + 0.5;
  if (!(pauses >= 1.0)) return 1;
  if (pauses >= static_cast<double>(kMaxPausesPerPoll)) return kMaxPausesPerPoll;
  return static_cast<std::uint32_t>(pauses);
}

struct PauseCalibration {
  double pause_ns = kFallbackPauseNs;  // one cpu_relax(), the fastest of the trials
  bool measured = false;               // false: the measurement was absurd, pause_ns is the fallback
  std::uint32_t pauses_per_poll = pauses_for_ns(kFallbackPauseNs, kPollIntervalNs);

  // One poll interval's length in ns as actually spun (a whole number of PAUSEs).
  double poll_interval_ns() const noexcept { return pauses_per_poll * pause_ns; }
};

// The arithmetic half of the calibration, for tests: what a measured
// `pause_ns` turns into (absurd values, <= 0 or > 1 us, fall back).
constexpr PauseCalibration calibration_from(double pause_ns) noexcept {
  PauseCalibration c;
  c.measured = pause_ns > 0.0 && pause_ns <= 1000.0;
  c.pause_ns = c.measured ? pause_ns : kFallbackPauseNs;
  c.pauses_per_poll = pauses_for_ns(c.pause_ns, kPollIntervalNs);
  return c;
}

// Times `trials` runs of `pauses` calls of `relax` (cpu_relax) each; returns
// the fastest trial's ns per call (0 when the clock did not move).
template <typename Relax>
double measure_pause_ns(Relax&& relax, unsigned trials = 5, unsigned pauses = 1000) noexcept {
  using Clock = std::chrono::steady_clock;
  double best = 0.0;
  for (unsigned t = 0; t < trials; ++t) {
    const auto t0 = Clock::now();
    for (unsigned i = 0; i < pauses; ++i) relax();
    const auto t1 = Clock::now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / pauses;
    if (ns > 0.0 && (best == 0.0 || ns < best)) best = ns;
  }
  return best;
}

}  // namespace tickflow
