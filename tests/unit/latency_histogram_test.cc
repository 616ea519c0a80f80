// LatencyHistogram: exact small values, bounded relative error, exact extremes.
#include "pipeline/latency_histogram.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tickflow {
namespace {

TEST(LatencyHistogram, EmptyReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0.5), 50u);
  EXPECT_EQ(h.percentile(0.99), 99u);
  EXPECT_EQ(h.percentile(0.0), 1u);
  EXPECT_EQ(h.percentile(1.0), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogram, LargeValuesWithinOneBucketWidth) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 1'000'000; ++v) h.record(v * 1000);  // 1 us .. 1 s
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = q * 1e9;
    EXPECT_NEAR(static_cast<double>(h.percentile(q)), truth, truth / 64) << q;
  }
  EXPECT_EQ(h.max(), 1'000'000'000u);
  EXPECT_EQ(h.min(), 1000u);
}

TEST(LatencyHistogram, BucketsTileTheRangeWithoutGaps) {
  for (std::size_t i = 0; i + 1 < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::lower_bound_of(i) + LatencyHistogram::width_of(i),
              LatencyHistogram::lower_bound_of(i + 1))
        << i;
    ASSERT_EQ(LatencyHistogram::index_of(LatencyHistogram::lower_bound_of(i)), i);
  }
}

TEST(LatencyHistogram, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.record(10);
  b.record(5000);
  b.record(7);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.min(), 7u);
  EXPECT_EQ(a.max(), 5000u);
  EXPECT_EQ(a.percentile(0.5), 10u);
}

}  // namespace
}  // namespace tickflow
