// tests/unit/strategy/strategy_test_support.h
//
// Hand-built summed bars for the strategy's unit tests: each test states a
// series bar by bar (price, spot delta, perp delta) so that the expected
// phase readings can be worked out by hand.
#pragma once

#include <cstdint>
#include <vector>

#include "strategy/timeframe_series.h"

namespace tickflow::test {

inline constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09T00:00:00Z

struct BarSpec {
  double close = 100;
  double ds = 0;
  double df = 0;
  double open = -1;  // -1: equal to close
  double high = -1;  // -1: close + 1
  double low = -1;   // -1: close - 1
  double volume = 1;
};

inline SeriesBar make_bar(std::int64_t open_time_s, const BarSpec& b) {
  SeriesBar s;
  s.open_time_s = open_time_s;
  s.close = b.close;
  s.open = b.open < 0 ? b.close : b.open;
  s.high = b.high < 0 ? b.close + 1 : b.high;
  s.low = b.low < 0 ? b.close - 1 : b.low;
  s.ds = b.ds;
  s.df = b.df;
  s.volume = b.volume;
  return s;
}

// Pushes `bars` (oldest first) as closed bars after whatever the series has.
inline void push_bars(TimeframeSeries& s, const std::vector<BarSpec>& bars) {
  std::int64_t t = s.closed_size() == 0 ? kT0 : s.back(s.has_provisional() ? 1 : 0).open_time_s + s.timeframe_s();
  for (const BarSpec& b : bars) {
    s.push(make_bar(t, b));
    t += s.timeframe_s();
  }
}

// `n` quiet bars: price flat at `price`, ds alternating +1/−1 and df the
// opposite, so both flows have a small, non-zero spread and no trend.
inline std::vector<BarSpec> quiet_bars(std::size_t n, double price = 100) {
  std::vector<BarSpec> v;
  for (std::size_t i = 0; i < n; ++i) {
    const double sgn = i % 2 == 0 ? 1.0 : -1.0;
    v.push_back({.close = price, .ds = sgn, .df = -sgn});
  }
  return v;
}

// 20 quiet bars, then 10 bars of spot buying (+10) against perp selling
// (−10) with the price flat: the textbook LONG_SETUP. `sign` −1 mirrors the
// flows; `price_step` moves the close per divergent bar.
inline std::vector<BarSpec> divergent_bars(double sign = 1, double price_step = 0) {
  std::vector<BarSpec> v = quiet_bars(20);
  double price = 100;
  for (int i = 0; i < 10; ++i) {
    price += price_step;
    v.push_back({.close = price, .ds = 10 * sign, .df = -10 * sign});
  }
  return v;
}

}  // namespace tickflow::test
