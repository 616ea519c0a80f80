// log_positive() against std::log: within 1 ulp over the whole normal
// range, near 1 (where the flow statistics use it: ratios of consecutive
// prices) and at exact powers of two.
#include "pipeline/vector_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace tickflow {
namespace {

// Distance in units in the last place of the reference.
double ulps(double got, double want) {
  if (got == want) return 0;
  const double ulp = std::nextafter(std::fabs(want), std::numeric_limits<double>::infinity()) - std::fabs(want);
  return std::fabs(got - want) / ulp;
}

TEST(VectorLog, WithinOneUlpOfStdLogAcrossTheNormalRange) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> exponent(-1020, 1020), mantissa(1, 2);
  double worst = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const double x = std::ldexp(mantissa(rng), static_cast<int>(exponent(rng)));
    worst = std::max(worst, ulps(log_positive(x), std::log(x)));
  }
  EXPECT_LE(worst, 1.0);
}

TEST(VectorLog, WithinOneUlpNearOneWhereLogReturnsLive) {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> r(-0.05, 0.05);
  double worst = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const double x = 1.0 + r(rng) * std::pow(10.0, -static_cast<double>(i % 12));
    worst = std::max(worst, ulps(log_positive(x), std::log(x)));
  }
  EXPECT_LE(worst, 1.0);
  EXPECT_EQ(log_positive(1.0), 0.0);
  EXPECT_LE(ulps(log_positive(std::nextafter(1.0, 2.0)), std::log(std::nextafter(1.0, 2.0))), 1.0);
  EXPECT_LE(ulps(log_positive(std::nextafter(1.0, 0.0)), std::log(std::nextafter(1.0, 0.0))), 1.0);
}

TEST(VectorLog, PowersOfTwoAndTheRangeEnds) {
  for (int k = -1022; k <= 1023; ++k) {
    const double x = std::ldexp(1.0, k);
    EXPECT_LE(ulps(log_positive(x), std::log(x)), 1.0) << "2^" << k;
  }
  EXPECT_LE(ulps(log_positive(std::numeric_limits<double>::max()), std::log(std::numeric_limits<double>::max())), 1.0);
  EXPECT_LE(ulps(log_positive(std::numeric_limits<double>::min()), std::log(std::numeric_limits<double>::min())), 1.0);
  EXPECT_LE(ulps(log_positive(std::sqrt(2.0)), std::log(std::sqrt(2.0))), 1.0);
}

}  // namespace
}  // namespace tickflow
