// strategy/bar_coverage.h
//
// BarCoverage: how much of a backtest's range the base bars cover, per
// market, and where the long gaps are: the check SqueezeFlow's seeds make
// on 1 s data before a backtest, since a hole of minutes silently flattens
// every CVD and z-score that spans it. A 1 s market has a bar only for
// seconds with a trade, so a few missing seconds are normal; a gap is a run
// of missing seconds at least `gap_threshold_s` long, counting the stretch
// before a market's first bar and after its last.
//
// Promises:
//  * per market: expected seconds = the range's length, present seconds =
//    bars x their timeframe, gaps in time order; markets sorted by name;
//  * add() takes each market's bars in increasing open time (BarSource
//    order) and ignores bars outside [from_s, to_s);
//  * text() lists at most kMaxListedGaps gaps per market, then the count and
//    total length of the rest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tickflow {

class BarCoverage {
 public:
  static constexpr std::size_t kMaxListedGaps = 5;

  struct Gap {
    std::int64_t from_s, to_s;  // [from_s, to_s): no bar opens in it
  };
  struct Market {
    std::uint32_t timeframe_s = 0;
    std::uint64_t bars = 0;
    std::int64_t present_s = 0;
    std::int64_t covered_to_s = 0;  // the last bar's end (or from_s)
    std::vector<Gap> gaps;          // closed ones; finish() adds the tail
  };

  BarCoverage(std::int64_t from_s, std::int64_t to_s, std::int64_t gap_threshold_s);

  // A market with no bars in the range is still reported (0 present).
  void expect(const std::string& market, std::uint32_t timeframe_s);
  void add(const std::string& market, std::int64_t open_time_s, std::uint32_t timeframe_s);

  // Every market, the gap up to to_s included.
  std::map<std::string, Market> markets() const;
  std::int64_t expected_s() const noexcept { return to_s_ - from_s_; }
  std::uint64_t bars() const noexcept { return bars_; }

  // "  BINANCE:btcusdt (1s): 357 of 357 s present (100.0%), no gap of 60 s or more\n" per market.
  std::string text() const;

 private:
  std::int64_t from_s_, to_s_, threshold_s_;
  std::uint64_t bars_ = 0;
  std::map<std::string, Market> markets_;
};

}  // namespace tickflow
