// ringbuffers/cpu_relax.h
//
// cpu_relax(): the body of every spin loop.
//
// On x86 it is PAUSE, which tells the core this is a spin-wait: it stops the
// core from speculating a flood of loads down the loop (and paying a memory-order
// machine clear when the awaited line changes), and it yields execution slots
// to the sibling hyper-thread. On Skylake and later one PAUSE is ~140 cycles,
// so spin counts in wait strategies are counts of PAUSEs, not of cycles
// (and PAUSE length varies by CPU model: measure, as bench/ does).
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

// Pauses between two polls of a shared index in spin loops. Polling faster
// than a cache line can cross cores buys no latency (the data cannot arrive
// sooner) but steals the producer's line on every poll, which serialises the
// producer's stores behind one cross-core round trip each ("lockstep").
// Eight PAUSEs are ~185 ns on the 2-vCPU Xeon this was measured on (~23 ns
// per PAUSE), about two cross-core transfers: long enough for the producer to
// publish a few items per poll, short next to a ~1 us ring round trip.
// bench/README.md shows throughput with this interval and with 1 PAUSE.
inline constexpr unsigned kPausesPerPoll = 8;

inline void spin_pause(unsigned pauses = kPausesPerPoll) noexcept {
  for (unsigned i = 0; i < pauses; ++i) cpu_relax();
}

}  // namespace tickflow
