// pipeline/latency_histogram.h
//
// LatencyHistogram: a fixed-size, allocation-free, log-linear histogram of
// nanosecond values (HdrHistogram's layout with 6 significant bits): values
// below 128 are exact, larger values land in one of 64 buckets per power of
// two, so any reported percentile is within 1/64 (1.6 %) of the truth.
// record() is a few instructions and never allocates, so it can sit on a hot
// path; percentiles are computed on demand by the reader.
//
// Not thread-safe: one histogram per thread, merge() them to report.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace tickflow {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 6;                            // 64 buckets per power of two
  static constexpr std::uint64_t kExactBelow = 2u << kSubBucketBits;  // 128
  static constexpr std::size_t kBuckets = kExactBelow + (64 - (kSubBucketBits + 1)) * (1u << kSubBucketBits);

  void record(std::uint64_t value_ns) noexcept {
    ++counts_[index_of(value_ns)];
    ++count_;
    sum_ += value_ns;
    min_ = std::min(min_, value_ns);
    max_ = std::max(max_, value_ns);
  }

  void merge(const LatencyHistogram& other) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  void reset() noexcept { *this = LatencyHistogram{}; }

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }

  // The value at quantile q in [0, 1]: the midpoint of the bucket holding the
  // ceil(q * count)-th smallest sample, clamped to [min, max] so that p0 and
  // p100 are exact. 0 when empty.
  std::uint64_t percentile(double q) const noexcept {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.999999999);
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const std::uint64_t mid = lower_bound_of(i) + (width_of(i) - 1) / 2;
        return std::clamp(mid, min_, max_);
      }
    }
    return max_;
  }

  // Bucket geometry, public for tests.
  static constexpr std::size_t index_of(std::uint64_t v) noexcept {
    if (v < kExactBelow) return static_cast<std::size_t>(v);
    const int exponent = 63 - std::countl_zero(v);  // >= 7
    const int shift = exponent - kSubBucketBits;    // keeps the top 7 bits: [64, 128)
    const auto mantissa = static_cast<std::size_t>(v >> shift);
    return kExactBelow + static_cast<std::size_t>(exponent - (kSubBucketBits + 1)) * (1u << kSubBucketBits) +
           (mantissa - (1u << kSubBucketBits));
  }
  static constexpr std::uint64_t lower_bound_of(std::size_t index) noexcept {
    if (index < kExactBelow) return index;
    const std::size_t k = index - kExactBelow;
    const int exponent = static_cast<int>(k >> kSubBucketBits) + kSubBucketBits + 1;
    const std::uint64_t mantissa = (k & ((1u << kSubBucketBits) - 1)) + (1u << kSubBucketBits);
    return mantissa << (exponent - kSubBucketBits);
  }
  static constexpr std::uint64_t width_of(std::size_t index) noexcept {
    if (index < kExactBelow) return 1;
    const int exponent = static_cast<int>((index - kExactBelow) >> kSubBucketBits) + kSubBucketBits + 1;
    return std::uint64_t{1} << (exponent - kSubBucketBits);
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

static_assert(LatencyHistogram::index_of(127) == 127);
static_assert(LatencyHistogram::index_of(128) == 128);
static_assert(LatencyHistogram::lower_bound_of(LatencyHistogram::index_of(1000)) <= 1000);
static_assert(LatencyHistogram::index_of(UINT64_MAX) == LatencyHistogram::kBuckets - 1);

}  // namespace tickflow
