// strategy/window_math.h
//
// The short fixed-window statistics the phases share: mean and sample
// standard deviation of at most a few dozen values read from a
// TimeframeSeries, a least-squares slope, a small median. Evaluations call
// these on windows of <= 20 bars (50 for the structure-break median), so a
// scan is cheaper than keeping one more rolling state per statistic.
//
// Promises: no allocation; NaN for too few values (a mean of none, a std of
// fewer than 2), never a made-up 0.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

namespace tickflow::window_math {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Mean and sample std of f(k) for k in [from, to) (k = bars back).
struct MeanStd {
  double mean = kNaN;
  double stddev = kNaN;
};

template <class F>
MeanStd mean_std(std::size_t from, std::size_t to, F&& f) noexcept {
  MeanStd r;
  if (to <= from) return r;
  const double n = static_cast<double>(to - from);
  double sum = 0;
  for (std::size_t k = from; k < to; ++k) sum += f(k);
  r.mean = sum / n;
  if (to - from < 2) return r;
  // Two passes: the values are few, and this never cancels.
  double ss = 0;
  for (std::size_t k = from; k < to; ++k) {
    const double e = f(k) - r.mean;
    ss += e * e;
  }
  r.stddev = std::sqrt(ss / (n - 1));
  return r;
}

template <class F>
double mean(std::size_t from, std::size_t to, F&& f) noexcept {
  if (to <= from) return kNaN;
  double sum = 0;
  for (std::size_t k = from; k < to; ++k) sum += f(k);
  return sum / static_cast<double>(to - from);
}

// Least-squares slope of y against time over the points k = w, w-1, ..., 0
// bars back (oldest first, x = 0..w), per bar.
template <class F>
double slope(std::size_t w, F&& y) noexcept {
  const std::size_t n = w + 1;
  if (n < 2) return kNaN;
  const double xm = static_cast<double>(w) / 2.0;
  double ym = 0;
  for (std::size_t k = 0; k <= w; ++k) ym += y(k);
  ym /= static_cast<double>(n);
  double sxy = 0, sxx = 0;
  for (std::size_t k = 0; k <= w; ++k) {
    const double dx = static_cast<double>(w - k) - xm;
    sxy += dx * (y(k) - ym);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

}  // namespace tickflow::window_math
