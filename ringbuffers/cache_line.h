// ringbuffers/cache_line.h
//
// The cache-line size tickflow pads and aligns to.
//
// It is 128, not 64: Intel cores since Sandy Bridge prefetch the adjacent
// line of every 128-byte-aligned pair ("spatial prefetcher"), so two hot
// variables 64 bytes apart still ping-pong between cores. We use a project
// constant rather than std::hardware_destructive_interference_size, whose
// value GCC warns may change between compiler versions and flags (-Winterference-size),
// which would silently change struct layouts across translation units.
#pragma once

#include <cstddef>

namespace tickflow {

inline constexpr std::size_t kCacheLineSize = 128;

static_assert((kCacheLineSize & (kCacheLineSize - 1)) == 0, "cache line size must be a power of two");

}  // namespace tickflow
