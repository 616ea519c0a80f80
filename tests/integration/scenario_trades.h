// tests/integration/scenario_trades.h
//
// Hours of trades from minutes of real ones, at the trade level (the bar
// level twin is tests/unit/runtime/scenario_bars.h), for tests that need a
// long trade stream: the live aggregator takes trades, not bars.
//
//  * CaptureFrames: the captures parsed once by the real parsers
//    (feeds/parser_factory.h), merged by receive time exactly as
//    CaptureBarSource merges them (a k-way heap, ties to the earlier file),
//    kept as frames (input, receive time, trades), with the span of one pass
//    computed as CaptureBarSource computes it (first to last receive time,
//    rounded up to a whole minute). pass_trade() applies CaptureBarSource's
//    per-pass shift: + pass x period to both clocks, + pass x 10^12 to the id.
//  * TradeScript: a CaptureBarOptions::transform (Trade&, pass) that moves
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
// TradeScript (CaptureBarSource calls it after its shift, pass_trade()
// before it, in the same order).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/parser_factory.h"
#include "pipeline/events.h"
#include "pipeline/market_registry.h"
#include "runtime/replay.h"

namespace tickflow::test {

inline constexpr std::int64_t kSecondNs = 1'000'000'000;
inline constexpr std::uint64_t kPassIdOffset = 1'000'000'000'000ull;  // as runtime/capture_bar_source.cc

struct CaptureFrame {
  std::size_t input = 0;  // index into the captures (one connection each)
  std::int64_t receive_ns = 0;
  std::vector<Trade> trades;
};

struct CaptureFrames {
  std::vector<CaptureFrame> frames;  // merged by receive time
  std::int64_t period_s = 0;         // one pass, whole minutes
  std::int64_t first_receive_ns = 0;
  std::int64_t last_receive_ns = 0;
  std::size_t trades = 0;
};

inline CaptureFrames load_capture_frames(const std::vector<CaptureSpec>& captures, MarketRegistry& registry) {
  struct Input {
    std::unique_ptr<ExchangeParser> parser;
    std::unique_ptr<CaptureReader> reader;
    CaptureRecord record;
  };
  std::vector<Input> inputs(captures.size());
  CaptureFrames out;
  out.first_receive_ns = INT64_MAX;
  out.last_receive_ns = INT64_MIN;
  auto later = [](const Input* a, const Input* b) {
    return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                              : a > b;
  };
  std::priority_queue<Input*, std::vector<Input*>, decltype(later)> heap(later);
  for (std::size_t i = 0; i < captures.size(); ++i) {
    inputs[i].parser = make_parser(captures[i].exchange, registry);
    if (!inputs[i].parser) throw std::runtime_error("no parser for " + captures[i].exchange);
    inputs[i].reader = std::make_unique<CaptureReader>(captures[i].path);
    if (inputs[i].reader->next(inputs[i].record)) heap.push(&inputs[i]);
  }
  EventBuffer events;
  while (!heap.empty()) {
    Input* in = heap.top();
    heap.pop();
    out.first_receive_ns = std::min(out.first_receive_ns, in->record.receive_ts_ns);
    out.last_receive_ns = std::max(out.last_receive_ns, in->record.receive_ts_ns);
    events.clear();
    in->parser->parse(in->record.frame, in->record.receive_ts_ns, events);
    CaptureFrame frame;
    frame.input = static_cast<std::size_t>(in - inputs.data());
    frame.receive_ns = in->record.receive_ts_ns;
    for (const FeedEvent& e : events)
      if (e.type == FeedEventType::kTrade) frame.trades.push_back(e.trade);
    out.trades += frame.trades.size();
    if (!frame.trades.empty()) out.frames.push_back(std::move(frame));
    if (in->reader->next(in->record)) heap.push(in);
  }
  out.period_s = out.first_receive_ns <= out.last_receive_ns
                     ? ((out.last_receive_ns - out.first_receive_ns) / kSecondNs / 60 + 1) * 60
                     : 60;
  return out;
}

// CaptureBarSource's shift of pass `pass`.
inline Trade pass_trade(const Trade& original, int pass, std::int64_t period_s) {
  Trade t = original;
  const std::int64_t shift_ns = static_cast<std::int64_t>(pass) * period_s * kSecondNs;
  t.exchange_ts_ns += shift_ns;
  t.receive_ts_ns += shift_ns;
  t.trade_id += static_cast<std::uint64_t>(pass) * kPassIdOffset;
  return t;
}

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
