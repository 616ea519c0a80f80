// pipeline/rolling_window.h against references that recompute every
// statistic from the whole window each time, plus the numerical-stability
// cases the O(1) updates exist to survive: a large offset over millions of
// updates, a drifting level, and a spike passing through.
#include "pipeline/rolling_window.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

namespace tickflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Exact sums of squares of 64-bit integers (GCC's extension, hence the keyword).
__extension__ typedef __int128 Int128;

std::uint64_t bits(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// |a - b| <= rel * max(|b|, scale): relative to the size of the numbers
// the result was computed from, the honest measure for sums and spreads.
void expect_close(double a, double b, double rel, double scale, const char* what, std::size_t step) {
  if (std::isnan(b)) {
    EXPECT_TRUE(std::isnan(a)) << what << " at step " << step << ": " << a << " (expected NaN)";
    return;
  }
  EXPECT_LE(std::fabs(a - b), rel * std::max(std::fabs(b), scale))
      << what << " at step " << step << ": " << a << " vs " << b;
}

// --- the simplest possible references --------------------------------------

double ref_sum(const std::deque<double>& w) {
  double s = 0;
  for (double x : w) s += x;
  return s;
}
double ref_mean(const std::deque<double>& w) { return w.empty() ? kNaN : ref_sum(w) / static_cast<double>(w.size()); }
double ref_std(const std::deque<double>& w) {
  if (w.size() < 2) return kNaN;
  const double m = ref_mean(w);
  double ss = 0;
  for (double x : w) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(w.size() - 1));
}
double ref_rms(const std::deque<double>& w) {
  double ss = 0;
  for (double x : w) ss += x * x;
  return w.empty() ? 0.0 : std::sqrt(ss / static_cast<double>(w.size()));
}
void slide(std::deque<double>& w, std::size_t n, double x) {
  w.push_back(x);
  if (w.size() > n) w.pop_front();
}

// --- RingWindow -------------------------------------------------------------

TEST(RingWindow, KeepsTheLastNValuesOldestFirstAcrossManyLaps) {
  RingWindow ring(3);
  double evicted = -1;
  EXPECT_FALSE(ring.push(1, &evicted));
  EXPECT_FALSE(ring.push(2, &evicted));
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.oldest(), 1);
  EXPECT_EQ(ring.newest(), 2);
  EXPECT_FALSE(ring.push(3, &evicted));
  EXPECT_TRUE(ring.full());
  EXPECT_EQ(evicted, -1) << "nothing left before the window was full";
  for (int x = 4; x <= 100; ++x) {
    EXPECT_TRUE(ring.push(x, &evicted));
    EXPECT_EQ(evicted, x - 3);
    EXPECT_EQ(ring[0], x - 2);
    EXPECT_EQ(ring[1], x - 1);
    EXPECT_EQ(ring[2], x);
    EXPECT_EQ(ring.from_newest(0), x);
    EXPECT_EQ(ring.from_newest(2), x - 2);
  }
  EXPECT_THROW(RingWindow(0), std::invalid_argument);
}

// --- each statistic against its reference, on random data with spikes -------

TEST(RollingStatistics, MatchRecomputationFromTheWholeWindowThroughWraparound) {
  for (std::size_t window : {1u, 2u, 3u, 7u, 20u}) {
    std::mt19937_64 rng(42 + window);
    std::normal_distribution<double> noise(0.0, 1000.0);
    std::uniform_int_distribution<int> spike(0, 50);
    RollingSum sum(window);
    RollingStats stats(std::max<std::size_t>(window, 2));
    std::deque<double> w_sum, w_stats;
    for (std::size_t step = 0; step < 2000; ++step) {
      double x = 5000.0 + noise(rng);
      if (spike(rng) == 0) x *= 1e6;  // a 1e9-sized bar among 1e3-sized ones
      const std::size_t stats_window = stats.window();

      // z of the new value against the window before it, as the engine uses it.
      const double z_before = stats.zscore(x);
      expect_close(z_before, (x - ref_mean(w_stats)) / ref_std(w_stats), 1e-9, std::fabs(x) / ref_std(w_stats) + 1.0,
                   "zscore", step);

      const double after = sum.value_after(x);
      sum.push(x);
      stats.push(x);
      slide(w_sum, window, x);
      slide(w_stats, stats_window, x);
      EXPECT_EQ(bits(after), bits(sum.value())) << "value_after() is push() without the push";

      double abs_sum = 0;
      for (double v : w_sum) abs_sum += std::fabs(v);
      expect_close(sum.value(), ref_sum(w_sum), 1e-12, abs_sum, "sum", step);
      expect_close(stats.mean(), ref_mean(w_stats), 1e-12, ref_rms(w_stats), "mean", step);
      expect_close(stats.stddev(), ref_std(w_stats), 1e-9, ref_rms(w_stats) * 1e-3, "stddev", step);
      if (w_stats.size() >= 2 && ref_std(w_stats) > 0) {
        expect_close(stats.newest_zscore(), (x - ref_mean(w_stats)) / ref_std(w_stats), 1e-9,
                     ref_rms(w_stats) / ref_std(w_stats), "newest_zscore", step);
      }
    }
  }
}

TEST(RollingStats, TooFewValuesAreNaNAndAFlatWindowHasZeroSpread) {
  RollingStats stats(4);
  EXPECT_TRUE(std::isnan(stats.mean()));
  EXPECT_TRUE(std::isnan(stats.stddev()));
  EXPECT_TRUE(std::isnan(stats.zscore(1.0)));
  stats.push(7.5);
  EXPECT_EQ(stats.mean(), 7.5);
  EXPECT_TRUE(std::isnan(stats.stddev())) << "one value has no sample spread";
  for (int i = 0; i < 10; ++i) stats.push(7.5);
  EXPECT_EQ(stats.stddev(), 0.0) << "shifted sums give an exactly flat window exactly 0";
  EXPECT_EQ(stats.mean(), 7.5);
  EXPECT_TRUE(std::isnan(stats.zscore(7.5))) << "0 / 0";
  EXPECT_EQ(stats.zscore(8.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(stats.zscore(7.0), -std::numeric_limits<double>::infinity());
}

// --- numerical stability ----------------------------------------------------

// Values 1e9 + k / 1024 with integer k are exact doubles, so the exact mean
// and variance of any window follow from integer arithmetic on k.
struct ExactWindow {
  std::deque<std::int64_t> k;
  std::size_t n;
  void push(std::int64_t v) {
    k.push_back(v);
    if (k.size() > n) k.pop_front();
  }
  double mean(double offset) const {
    Int128 s = 0;
    for (auto v : k) s += v;
    return offset + static_cast<double>(static_cast<long double>(s) / k.size() / 1024.0L);
  }
  double stddev() const {
    Int128 s = 0, ss = 0;
    for (auto v : k) {
      s += v;
      ss += static_cast<Int128>(v) * v;
    }
    const auto m = static_cast<Int128>(k.size());
    const long double var =
        static_cast<long double>(m * ss - s * s) / static_cast<long double>(m * (m - 1)) / (1024.0L * 1024.0L);
    return static_cast<double>(std::sqrt(var));
  }
};

TEST(RollingStats, LargeOffsetOverMillionsOfUpdatesKeepsFullAccuracy) {
  constexpr double kOffset = 1e9;
  constexpr std::size_t kUpdates = 3'000'000;
  RollingStats stats(20);
  ExactWindow exact{{}, 20};
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::int64_t> unit(-2048, 2048);  // +-2 in steps of 1/1024
  // The textbook one-pass formula on the same data, to show what the test
  // would catch: sum(x^2) - n mean^2 at 1e18 has no digits left for a
  // variance of ~1.
  double naive_s = 0, naive_ss = 0;
  std::deque<double> naive_w;
  double worst_mean = 0, worst_std = 0, naive_worst_std = 0;
  for (std::size_t i = 0; i < kUpdates; ++i) {
    const std::int64_t k = unit(rng);
    const double x = kOffset + static_cast<double>(k) / 1024.0;
    stats.push(x);
    exact.push(k);
    naive_w.push_back(x);
    naive_s += x;
    naive_ss += x * x;
    if (naive_w.size() > 20) {
      naive_s -= naive_w.front();
      naive_ss -= naive_w.front() * naive_w.front();
      naive_w.pop_front();
    }
    if (i % 9973 == 0 || i + 1 == kUpdates) {
      if (exact.k.size() < 2) continue;
      const double std_exact = exact.stddev();
      worst_mean = std::max(worst_mean, std::fabs(stats.mean() - exact.mean(kOffset)));
      worst_std = std::max(worst_std, std::fabs(stats.stddev() - std_exact) / std_exact);
      const double naive_var = (naive_ss - naive_s * naive_s / 20.0) / 19.0;
      naive_worst_std =
          std::max(naive_worst_std, std::fabs(std::sqrt(std::max(naive_var, 0.0)) - std_exact) / std_exact);
    }
  }
  // The mean is a 1e9-sized number: one ulp is 1.2e-7.
  EXPECT_LE(worst_mean, 2.4e-7);
  EXPECT_LE(worst_std, 1e-12) << "relative error of the std after " << kUpdates << " updates";
  EXPECT_GT(naive_worst_std, 1e-3) << "the naive formula should have failed here: is the test still sensitive?";
}

TEST(RollingStats, DriftingLevelNeverLeavesTheShiftBehind) {
  // A random walk climbing from 0 to ~1e10 (a CVD since an anchor), unit-
  // sized steps: the window's level moves by orders of magnitude past any
  // fixed shift.
  RollingStats stats(20);
  std::deque<double> w;
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<std::int64_t> step(-500, 5500);
  double level = 0;
  double worst = 0;
  for (std::size_t i = 0; i < 2'000'000; ++i) {
    level += static_cast<double>(step(rng));  // integers: every level is exact
    stats.push(level);
    slide(w, 20, level);
    if (i % 7919 == 0 && w.size() == 20) {
      long double m = 0;
      for (double v : w) m += v;
      m /= 20;
      long double ss = 0;
      for (double v : w) ss += (v - m) * (v - m);
      const double ref = static_cast<double>(std::sqrt(ss / 19));
      worst = std::max(worst, std::fabs(stats.stddev() - ref) / ref);
    }
  }
  EXPECT_GT(level, 4e9);
  EXPECT_LE(worst, 1e-12);
}

TEST(RollingStats, SpikeLeavesNoResidueOnceItLeavesTheWindow) {
  RollingStats stats(5);
  RollingSum sum(5);
  std::deque<double> w;
  const double values[] = {1.25, 2.5, 0.75, 1e15, 3.0, 1.5, 2.25, 0.5, 1.75, 2.0, 1.0};
  for (double x : values) {
    stats.push(x);
    sum.push(x);
    slide(w, 5, x);
  }
  // The window is {2.25, 0.5, 1.75, 2.0, 1.0}, the spike long gone: all
  // dyadic, so the exact answers are exact doubles.
  EXPECT_EQ(sum.value(), 7.5);
  EXPECT_EQ(stats.mean(), 1.5);
  EXPECT_DOUBLE_EQ(stats.stddev(), ref_std(w));
}

// --- EMA, VWAP, realized volatility, volume surge ----------------------------

TEST(Ema, IsSeededByTheFirstValueAndFollowsItsRecurrence) {
  Ema ema(Ema::alpha_for_span(3));  // alpha = 0.5
  EXPECT_TRUE(std::isnan(ema.value()));
  EXPECT_EQ(ema.value_after(10), 10);
  ema.push(10);
  ema.push(20);
  EXPECT_EQ(ema.value(), 15);
  ema.push(5);
  EXPECT_EQ(ema.value(), 10);
  EXPECT_EQ(ema.value_after(30), 20);
  EXPECT_THROW(Ema(0.0), std::invalid_argument);
  EXPECT_THROW(Ema(1.5), std::invalid_argument);

  // Against the recurrence, recomputed from the start each time.
  Ema e2(0.1);
  std::vector<double> xs;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> price(60000, 62000);
  for (int i = 0; i < 500; ++i) {
    xs.push_back(price(rng));
    e2.push(xs.back());
    double ref = xs[0];
    for (std::size_t j = 1; j < xs.size(); ++j) ref = ref + 0.1 * (xs[j] - ref);
    EXPECT_NEAR(e2.value(), ref, 1e-9 * ref);
  }
}

TEST(RollingVwapAndSurge, MatchTheirDefinitions) {
  RollingVwap vwap(4);
  VolumeSurge surge(2, 5);
  std::deque<double> notional, qty, volume;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> q(0.0, 3.0), p(60000, 61000);
  EXPECT_TRUE(std::isnan(vwap.value()));
  EXPECT_TRUE(std::isnan(surge.ratio()));
  for (std::size_t i = 0; i < 300; ++i) {
    const double qi = (i % 17 == 3) ? 0.0 : q(rng);  // some bars without trades
    const double ni = qi * p(rng);
    const double vwap_after = vwap.value_after(ni, qi);
    const double surge_after = surge.ratio_after(ni);
    vwap.push(ni, qi);
    surge.push(ni);
    EXPECT_EQ(bits(vwap_after), bits(vwap.value()));
    EXPECT_EQ(bits(surge_after), bits(surge.ratio()));
    slide(notional, 4, ni);
    slide(qty, 4, qi);
    slide(volume, 5, ni);
    expect_close(vwap.value(), ref_sum(notional) / ref_sum(qty), 1e-12, 0, "vwap", i);
    std::deque<double> last2(volume.end() - static_cast<std::ptrdiff_t>(std::min<std::size_t>(2, volume.size())),
                             volume.end());
    expect_close(surge.ratio(), ref_mean(last2) / ref_mean(volume), 1e-12, 0, "surge", i);
  }
  EXPECT_THROW(VolumeSurge(3, 2), std::invalid_argument);
  EXPECT_THROW(VolumeSurge(0, 2), std::invalid_argument);
}

TEST(RealizedVolatility, IsTheRootSumOfSquaredLogReturnsAndSkipsBarsWithoutAPrice) {
  RealizedVolatility vol(3);
  const double prices[] = {100, 101, 0 /* no trade */, 99, kNaN /* no trade */, 100, 103};
  // Returns: (first) 0, log(101/100), 0, log(99/101), 0, log(100/99), log(103/100).
  std::vector<double> r = {
      0, std::log(101.0 / 100), 0, std::log(99.0 / 101), 0, std::log(100.0 / 99), std::log(103.0 / 100)};
  for (std::size_t i = 0; i < std::size(prices); ++i) {
    const double after = vol.value_after(prices[i]);
    vol.push_price(prices[i]);
    EXPECT_EQ(bits(after), bits(vol.value()));
    double ss = 0;
    for (std::size_t j = i >= 2 ? i - 2 : 0; j <= i; ++j) ss += r[j] * r[j];
    EXPECT_NEAR(vol.value(), std::sqrt(ss), 1e-15) << "bar " << i;
  }
}

}  // namespace
}  // namespace tickflow
