// runtime/shared_histogram.h
//
// SharedHistogram: a LatencyHistogram that one pipeline thread records into
// and any other thread (the metrics endpoint, the end-of-run report) reads.
//
// The owner records into its private histogram with no synchronisation at
// all (record() is a few instructions on the hot path). Every `interval` it
// copies the histogram (~30 KB, about a microsecond) into a snapshot under
// a mutex it only try_locks: if a reader holds the lock, the owner skips
// this round instead of waiting. Readers copy the snapshot under the lock.
// So readers see data at most `interval` old (plus the final publish()),
// and the hot thread never blocks and never allocates.
#pragma once

#include <cstdint>
#include <mutex>

#include "pipeline/latency_histogram.h"

namespace tickflow {

// The pipeline's per-event latency histograms (frame receive -> published,
// receive -> bar) time one event in this many: a clock read per event was
// 35-39 % of the aggregator's CPU (bench/README.md, "The live edge"), and
// every 8th event's latency has the same quantiles.
inline constexpr std::uint64_t kLatencySampleEvery = 8;

class SharedHistogram {
 public:
  explicit SharedHistogram(std::int64_t interval_ns = 250'000'000) : interval_ns_(interval_ns) {}

  // --- owner thread ---
  void record(std::uint64_t value_ns) noexcept { local_.record(value_ns); }
  LatencyHistogram& local() noexcept { return local_; }
  // Publishes if `now_ns` is an interval past the last publish.
  void maybe_publish(std::int64_t now_ns) noexcept {
    if (now_ns - published_ns_ < interval_ns_) return;
    if (mutex_.try_lock()) {
      snapshot_ = local_;
      mutex_.unlock();
      published_ns_ = now_ns;
    }
  }
  // Publishes now, waiting for the lock (end of run).
  void publish() noexcept {
    const std::lock_guard lock(mutex_);
    snapshot_ = local_;
  }

  // --- any thread ---
  LatencyHistogram snapshot() const {
    const std::lock_guard lock(mutex_);
    return snapshot_;
  }

 private:
  LatencyHistogram local_;
  std::int64_t published_ns_ = 0;
  const std::int64_t interval_ns_;
  mutable std::mutex mutex_;
  LatencyHistogram snapshot_;
};

}  // namespace tickflow
