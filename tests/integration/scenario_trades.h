// tests/integration/scenario_trades.h
//
// Hours of trades from minutes of real ones, at the trade level (the bar
// level twin is tests/unit/runtime/scenario_bars.h), for tests that need a
// long trade stream: the live aggregator takes trades, not bars.
//
// The trades themselves come from runtime/capture_stream.h (the
// captures through the real parsers, pass after pass, shifted), the same
// stream CaptureBarSource builds its bars from; this header adds
//  * TradeScript: a CaptureStreamOptions::transform (Trade&, pass) that moves
//    every trade by a whole number of days (so a test can put the stream
//    near now: Redis drops signals older than their TTL; whole days keep
//    every UTC window boundary where it was, so the decisions do not depend
//    on the day the test runs) and then redraws its side from a script of
//    segments: a trade is a taker buy with probability spot_buy or perp_buy
//    (by the market's class), drawn from a fixed hash of its market and
//    trade id (splitmix64). Probability 0.5 is "flip a pseudo-random half":
//    balanced flow with a real random walk; 0.8 / 0.2 is a squeeze.
//
// Deterministic: the same captures, script and day offset give the same
// trades. Both halves of a live-vs-backtest comparison must use the same
// TradeScript (the stream calls it after its shift, for both).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/events.h"
#include "pipeline/market_registry.h"

namespace tickflow::test {

inline constexpr std::int64_t kSecondNs = 1'000'000'000;

struct TradeSegment {
  std::int64_t seconds = 3600;
  double spot_buy = 0.5;  // probability that a spot trade is a taker buy
  double perp_buy = 0.5;  // the same for perps
};

// A fixed hash to [0, 1) (splitmix64).
inline double unit_hash(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

class TradeScript {
 public:
  // `start_s`: the scenario's first second, after the day offset (trades
  // before it get the first segment, after the end the last).
  TradeScript(std::vector<TradeSegment> script, const MarketRegistry& registry, std::int64_t offset_days,
              std::int64_t start_s)
      : script_(std::move(script)),
        registry_(registry),
        offset_ns_(offset_days * 86400 * kSecondNs),
        start_s_(start_s) {}

  std::int64_t total_s() const {
    std::int64_t total = 0;
    for (const TradeSegment& s : script_) total += s.seconds;
    return total;
  }
  std::int64_t offset_ns() const noexcept { return offset_ns_; }

  void operator()(Trade& t, int /*pass*/) const {
    t.exchange_ts_ns += offset_ns_;
    t.receive_ts_ns += offset_ns_;
    const std::int64_t at = t.receive_ts_ns / kSecondNs - start_s_;
    const TradeSegment* segment = &script_.back();
    std::int64_t end = 0;
    for (const TradeSegment& s : script_) {
      end += s.seconds;
      if (at < end) {
        segment = &s;
        break;
      }
    }
    const bool spot = registry_.info(t.market).market_class == MarketClass::kSpot;
    const double p = spot ? segment->spot_buy : segment->perp_buy;
    const double u = unit_hash(t.trade_id ^ (static_cast<std::uint64_t>(t.market) << 56));
    t.side = u < p ? Side::kBuy : Side::kSell;
  }

  std::function<void(Trade&, int)> as_function() const {
    return [this](Trade& t, int pass) { (*this)(t, pass); };
  }

 private:
  std::vector<TradeSegment> script_;
  const MarketRegistry& registry_;
  std::int64_t offset_ns_;
  std::int64_t start_s_;
};

}  // namespace tickflow::test
