// ringbuffers/single_writer.h
//
// single_writer_add(): adds to an atomic counter that exactly one thread
// writes and any thread may read (metrics, health, tests).
//
// Memory ordering: a relaxed load and a relaxed store. With one writer the
// sum is exact, and a reader on another thread sees some recent value,
// which is all a statistic needs. It costs what a plain add costs;
// fetch_add would be a locked read-modify-write (~20 cycles on x86) on
// every call for nothing. Never use it for a counter two threads write.
#pragma once

#include <atomic>
#include <cstdint>

namespace tickflow {

inline void single_writer_add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace tickflow
