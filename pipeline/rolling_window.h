// pipeline/rolling_window.h
//
// Rolling-window statistics over one series, each O(1) per update, each
// backed by a fixed-capacity ring allocated once at construction:
//
//   RingWindow          the last N values
//   RollingSum          sum of the last N values
//   RollingStats        mean, sample standard deviation and z-score over the last N
//   Ema                 exponential moving average
//   RollingVwap         sum(notional) / sum(qty) over the last N bars
//   RealizedVolatility  sqrt(sum r^2) of the last N log returns of a price
//   VolumeSurge         mean of the last S volumes / mean of the last L (S <= L)
//
// These are the scalar, one-series-at-a-time forms. The flow statistics
// engine keeps the same statistics for every symbol group side by side and
// updates them with SIMD (pipeline/flow_series.h); its scalar backend is
// built from these classes, and both produce the same bits because they
// perform the same IEEE operations in the same order (see compensated_sum.h),
// with one exception: the log of RealizedVolatility is glibc's std::log
// here and pipeline/vector_log.h's (within 1 ulp of it) in the SIMD code.
//
// Promises:
//  * push() never allocates, never throws, and costs O(1) (RollingStats
//    adds an O(N) recomputation once every N pushes: O(1) amortized);
//  * every `*_after(x)` query returns exactly (bit for bit) what the same
//    getter would return after push(x), without changing the window: the
//    flow statistics use it for the provisional, still-open bar;
//  * a statistic with too few values is NaN, never a made-up 0: mean() of
//    an empty window, stddev() of fewer than 2 values, the z-score against
//    such a baseline. Division by a zero spread is IEEE (+-inf, or NaN for
//    0/0), so a first trade after a flat stretch reads as infinitely
//    unusual rather than as "normal"; consumers test std::isfinite.
//
// Numerical stability: sums are CompensatedSums, so adding a value and
// later subtracting it leaves no residue (a 1e12 spike passing through a
// window of unit values leaves the later sums exact to ~1e-16). The sum of
// squares behind the standard deviation is the classic failure: at values
// around 1e9 with unit variation, x^2 ~ 1e18 and sum(x^2) - n*mean^2
// cancels 18 digits of a 16-digit number. RollingStats therefore sums
// y = x - K and y^2 for a shift K taken from the window, which bounds the
// cancellation: for any value K of the window, (mean - K)^2 <= (n - 1) * var,
// so at most a factor n of relative precision is lost (about one digit for
// n = 20), whatever the offset. A series that drifts (a CVD, a price) would
// leave a fixed K behind, so every N pushes the window is re-summed exactly
// around its newest value: O(1) amortized, and it also resets whatever
// residue the compensated sums had. Welford's sliding update was the
// alternative; it has no such restart, so its M2 accumulates a random walk
// of rounding errors over millions of updates, and it cannot be shared bit
// for bit with a vectorized layout as easily as plain sums.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>

#include "pipeline/compensated_sum.h"

namespace tickflow {

// The last `capacity` doubles, oldest first.
class RingWindow {
 public:
  // Throws std::invalid_argument when capacity is 0.
  explicit RingWindow(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("rolling window capacity must be at least 1");
    values_ = std::make_unique<double[]>(capacity);
  }

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return size_; }
  bool full() const noexcept { return size_ == capacity_; }

  // Appends x. If the window was full, the oldest value leaves: returns
  // true and stores it in *evicted.
  bool push(double x, double* evicted) noexcept {
    const bool was_full = full();
    if (was_full) *evicted = values_[head_];
    values_[head_] = x;
    head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
    if (!was_full) ++size_;
    return was_full;
  }

  // i-th value, 0 = oldest. Precondition: i < size().
  double operator[](std::size_t i) const noexcept { return values_[index(size_ - 1 - i)]; }
  // The value `back` pushes ago, 0 = newest. Precondition: back < size().
  double from_newest(std::size_t back) const noexcept { return values_[index(back)]; }
  double newest() const noexcept { return from_newest(0); }
  double oldest() const noexcept { return from_newest(size_ - 1); }

 private:
  std::size_t index(std::size_t back) const noexcept {
    return head_ > back ? head_ - 1 - back : head_ + capacity_ - 1 - back;
  }

  std::size_t capacity_;
  std::size_t head_ = 0;  // where the next value goes
  std::size_t size_ = 0;
  std::unique_ptr<double[]> values_;
};

// Sum of the last `window` values.
class RollingSum {
 public:
  explicit RollingSum(std::size_t window) : ring_(window) {}

  void push(double x) noexcept {
    sum_ = next(x);
    double evicted;
    ring_.push(x, &evicted);
  }
  double value() const noexcept { return sum_.value(); }
  double value_after(double x) const noexcept { return next(x).value(); }

  std::size_t size() const noexcept { return ring_.size(); }
  std::size_t window() const noexcept { return ring_.capacity(); }
  const RingWindow& ring() const noexcept { return ring_; }

 private:
  // The new value enters first, then the leaving one is subtracted: the
  // vectorized engine uses the same order, so the bits agree.
  CompensatedSum<double> next(double x) const noexcept {
    CompensatedSum<double> s = sum_;
    s.add(x);
    if (ring_.full()) s.add(-ring_.oldest());
    return s;
  }

  RingWindow ring_;
  CompensatedSum<double> sum_;
};

// Mean, sample standard deviation and z-score over the last `window`
// values (see the banner for the shifted sums and the periodic re-sum).
class RollingStats {
 public:
  // Throws std::invalid_argument when window is 0.
  explicit RollingStats(std::size_t window) : ring_(window) {}

  void push(double x) noexcept {
    if (pushes_ == 0) shift_ = x;
    const double y = x - shift_;
    s1_.add(y);
    s2_.add(rounded_product(y, y));
    if (ring_.full()) {
      const double old = ring_.oldest() - shift_;
      s1_.add(-old);
      s2_.add(-rounded_product(old, old));
    }
    double evicted;
    ring_.push(x, &evicted);
    if (++pushes_ % ring_.capacity() == 0) resum();
  }

  std::size_t size() const noexcept { return ring_.size(); }
  std::size_t window() const noexcept { return ring_.capacity(); }

  // NaN when empty. Divisions by the count are multiplications by its
  // reciprocal (one rounding more, but a division is the costliest
  // operation of the vectorized form, and the count is the same in every
  // lane); the flow statistics' SIMD code does exactly the same.
  double mean() const noexcept {
    if (size() == 0) return std::numeric_limits<double>::quiet_NaN();
    return shift_ + rounded_product(s1_.value(), 1.0 / static_cast<double>(size()));
  }
  // Sample variance (n - 1 in the denominator); NaN below 2 values.
  double variance() const noexcept {
    const std::size_t n = size();
    if (n < 2) return std::numeric_limits<double>::quiet_NaN();
    const double dn = static_cast<double>(n);
    const double s1 = s1_.value();
    double var = (s2_.value() - rounded_product(rounded_product(s1, s1), 1.0 / dn)) * (1.0 / (dn - 1.0));
    if (var < 0.0) var = 0.0;  // rounding of an exactly flat window
    return var;
  }
  double stddev() const noexcept { return std::sqrt(variance()); }
  // How many standard deviations x lies from the window's mean. To score a
  // new value against the bars before it (the strategy's "against the
  // previous 20 bars"), call this before push(x).
  double zscore(double x) const noexcept { return (x - mean()) / stddev(); }
  // The newest value scored against the window that includes it.
  double newest_zscore() const noexcept {
    return size() == 0 ? std::numeric_limits<double>::quiet_NaN() : zscore(ring_.newest());
  }

  const RingWindow& ring() const noexcept { return ring_; }

 private:
  // Re-sums the window exactly around its newest value (see the banner).
  void resum() noexcept {
    shift_ = ring_.newest();
    s1_ = {};
    s2_ = {};
    for (std::size_t i = 0; i < ring_.size(); ++i) {
      const double y = ring_[i] - shift_;
      s1_.add(y);
      s2_.add(rounded_product(y, y));
    }
  }

  RingWindow ring_;
  double shift_ = 0;
  CompensatedSum<double> s1_;  // sum of (x - shift)
  CompensatedSum<double> s2_;  // sum of (x - shift)^2
  std::uint64_t pushes_ = 0;
};

// Exponential moving average: value += alpha * (x - value), seeded with
// the first value. NaN before the first push.
class Ema {
 public:
  // Throws std::invalid_argument unless 0 < alpha <= 1.
  explicit Ema(double alpha) : alpha_(alpha) {
    if (!(alpha > 0.0 && alpha <= 1.0)) throw std::invalid_argument("EMA alpha must be in (0, 1]");
  }
  // The usual "N-period" EMA: alpha = 2 / (span + 1).
  static double alpha_for_span(double span) noexcept { return 2.0 / (span + 1.0); }

  void push(double x) noexcept { value_ = value_after(x); }
  double value() const noexcept { return value_; }
  double value_after(double x) const noexcept {
    return std::isnan(value_) ? x : value_ + rounded_product(alpha_, x - value_);
  }
  double alpha() const noexcept { return alpha_; }

 private:
  double alpha_;
  double value_ = std::numeric_limits<double>::quiet_NaN();
};

// Volume-weighted average price over the last `window` bars: sum of quote
// notional / sum of base quantity. NaN (0/0) while the window has no volume.
class RollingVwap {
 public:
  explicit RollingVwap(std::size_t window) : notional_(window), qty_(window) {}

  void push(double notional, double qty) noexcept {
    notional_.push(notional);
    qty_.push(qty);
  }
  double value() const noexcept { return notional_.value() / qty_.value(); }
  double value_after(double notional, double qty) const noexcept {
    return notional_.value_after(notional) / qty_.value_after(qty);
  }

 private:
  RollingSum notional_;
  RollingSum qty_;
};

// Realized volatility of a price series: sqrt(sum of r^2) over the last
// `window` log returns r = log(p_t / p_{t-1}), per bar, not annualized. A
// bar without a positive price (or the first price) contributes r = 0: no
// trade is no price change.
class RealizedVolatility {
 public:
  explicit RealizedVolatility(std::size_t window) : r2_(window) {}

  void push_price(double price) noexcept {
    r2_.push(squared_return(price));
    if (price > 0.0) last_ = price;
  }
  double value() const noexcept { return root(r2_.value()); }
  double value_after(double price) const noexcept { return root(r2_.value_after(squared_return(price))); }

  static double log_return(double previous, double price) noexcept {
    return previous > 0.0 && price > 0.0 ? std::log(price / previous) : 0.0;
  }

 private:
  double squared_return(double price) const noexcept {
    const double r = log_return(last_, price);
    return rounded_product(r, r);
  }
  static double root(double sum) noexcept { return std::sqrt(sum < 0.0 ? 0.0 : sum); }

  RollingSum r2_;
  double last_ = std::numeric_limits<double>::quiet_NaN();
};

// Volume surge: mean volume of the last `short_window` bars over the mean of
// the last `long_window` (the strategy's "mean volume of 5 bars > 1.5 x the
// 20-bar mean"). While fewer bars exist, each mean is over those present.
// NaN (0/0) when the long window has no volume.
class VolumeSurge {
 public:
  // Throws std::invalid_argument unless 1 <= short_window <= long_window.
  VolumeSurge(std::size_t short_window, std::size_t long_window)
      : short_window_(short_window), ring_(checked_long(short_window, long_window)) {}

  void push(double volume) noexcept {
    const Sums s = next(volume);
    short_ = s.short_sum;
    long_ = s.long_sum;
    double evicted;
    ring_.push(volume, &evicted);
  }
  double ratio() const noexcept { return ratio_of(short_, long_, ring_.size()); }
  double ratio_after(double volume) const noexcept {
    const Sums s = next(volume);
    return ratio_of(s.short_sum, s.long_sum, std::min(ring_.size() + 1, ring_.capacity()));
  }

 private:
  struct Sums {
    CompensatedSum<double> short_sum, long_sum;
  };
  static std::size_t checked_long(std::size_t short_window, std::size_t long_window) {
    if (short_window == 0 || short_window > long_window)
      throw std::invalid_argument("volume surge windows must satisfy 1 <= short <= long");
    return long_window;
  }
  Sums next(double volume) const noexcept {
    Sums s{short_, long_};
    s.short_sum.add(volume);
    if (ring_.size() >= short_window_) s.short_sum.add(-ring_.from_newest(short_window_ - 1));
    s.long_sum.add(volume);
    if (ring_.full()) s.long_sum.add(-ring_.oldest());
    return s;
  }
  double ratio_of(const CompensatedSum<double>& s, const CompensatedSum<double>& l, std::size_t n) const noexcept {
    // (short / n_short) / (long / n_long), with one division.
    const double n_short = static_cast<double>(std::min(n, short_window_));
    const double n_long = static_cast<double>(n);
    return s.value() * (n_long / n_short) / l.value();
  }

  std::size_t short_window_;
  RingWindow ring_;  // the last long_window volumes
  CompensatedSum<double> short_;
  CompensatedSum<double> long_;
};

}  // namespace tickflow
