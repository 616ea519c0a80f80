// ringbuffers/cpu_relax.h
//
// cpu_relax(): the body of every spin loop; spin_pause(): one poll interval
// of them, sized in nanoseconds for the CPU the process runs on.
//
// On x86 cpu_relax() is PAUSE, which tells the core this is a spin-wait: it
// stops the core from speculating a flood of loads down the loop (and paying
// a memory-order machine clear when the awaited line changes), and it yields
// execution slots to the sibling hyper-thread. How long one PAUSE takes
// varies ~10x between x86 models (pause_calibration.h), so spin loops never
// count PAUSEs directly: they wait kPollIntervalNs per poll, converted to a
// PAUSE count measured once per process (pause_calibration()).
//
// Threads: any. pause_calibration() measures on its first call (~0.1 ms) and
// is a function-local static after that (thread-safe initialisation, then
// read-only); call it once at start-up to keep the measurement off the first
// spin. Nothing here allocates.
#pragma once

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "ringbuffers/pause_calibration.h"

namespace tickflow {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

// Exactly `pauses` cpu_relax() calls (the benchmarks' explicit intervals).
inline void spin_pause(std::uint32_t pauses) noexcept {
  for (std::uint32_t i = 0; i < pauses; ++i) cpu_relax();
}

// This process's PAUSE cost and the counts derived from it: measured on the
// first call, cached after.
inline const PauseCalibration& pause_calibration() noexcept {
  static const PauseCalibration calibration = calibration_from(measure_pause_ns([] { cpu_relax(); }));
  return calibration;
}

// PAUSEs in one kPollIntervalNs poll interval on this CPU (10 on this
// project's AMD EPYC, 8 on its Xeon).
inline std::uint32_t pauses_per_poll() noexcept { return pause_calibration().pauses_per_poll; }

// Pauses for one poll interval (kPollIntervalNs): what a thread does between
// two looks at a ring it found empty or full. Polling faster than a cache
// line can cross cores buys no latency (the data cannot arrive sooner) but
// steals the other side's line on every poll, which serialises its stores
// behind one cross-core round trip each ("lockstep").
inline void spin_pause() noexcept { spin_pause(pauses_per_poll()); }

}  // namespace tickflow
