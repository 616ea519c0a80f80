// ringbuffers/cpu_relax.h
//
// cpu_relax(): the body of every spin loop.
//
// On x86 it is PAUSE, which tells the core this is a spin-wait: it stops the
// core from speculating a flood of loads down the loop (and paying a memory-order
// machine clear when the awaited line changes), and it yields execution slots
// to the sibling hyper-thread. On Skylake and later one PAUSE is ~140 cycles,
// so spin counts in wait strategies are counts of PAUSEs, not of cycles.
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

}  // namespace tickflow
