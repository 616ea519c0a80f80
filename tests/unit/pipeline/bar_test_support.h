// tests/unit/pipeline/bar_test_support.h: what the bar and rollup tests share.
//
//  * make_trade(): a Trade from the few fields a bar reads.
//  * CollectingSink: keeps every emitted bar and every closed-frontier call;
//    ChainSink forwards to a collector and to the next stage (Rollups).
//  * Offline references, written as plainly as possible and independently of
//    pipeline/: last_versions() (the last emission per bar wins, as in
//    InfluxDB), reference_second_bars() (1 s bars straight from trades) and
//    reference_rollup() (windows from 1 s bars in time order).
//  * expect_same_bar(): every field, exactly.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/bar_sink.h"
#include "pipeline/events.h"

namespace tickflow::test {

inline constexpr std::int64_t kSecond = 1'000'000'000;
inline constexpr std::int64_t kMilli = 1'000'000;

inline Trade make_trade(MarketId market, std::int64_t exchange_ts_ns, double price, double qty, Side side,
                        bool liquidation = false) {
  Trade t;
  t.market = market;
  t.exchange_ts_ns = exchange_ts_ns;
  t.receive_ts_ns = exchange_ts_ns;
  t.price = price;
  t.qty = qty;
  t.side = side;
  t.flags = liquidation ? kTradeLiquidation : kTradeNone;
  return t;
}

struct CollectingSink : BarSink {
  std::vector<Bar> bars;
  std::vector<std::pair<MarketId, std::int64_t>> closes;
  void on_bar(const Bar& bar) override { bars.push_back(bar); }
  void on_closed(MarketId market, std::int64_t closed_until_s) override { closes.emplace_back(market, closed_until_s); }

  std::vector<Bar> of_timeframe(std::uint32_t timeframe_s) const {
    std::vector<Bar> out;
    for (const Bar& b : bars)
      if (b.timeframe_s == timeframe_s) out.push_back(b);
    return out;
  }
};

// Records what passes and hands it on: BarBuilder -> ChainSink -> Rollups.
struct ChainSink : BarSink {
  explicit ChainSink(BarSink& next) : next(next) {}
  BarSink& next;
  std::vector<Bar> bars;
  void on_bar(const Bar& bar) override {
    bars.push_back(bar);
    next.on_bar(bar);
  }
  void on_closed(MarketId market, std::int64_t closed_until_s) override { next.on_closed(market, closed_until_s); }
};

// (market, timeframe_s, open_time_s)
using BarKey = std::tuple<MarketId, std::uint32_t, std::int64_t>;

inline std::map<BarKey, Bar> last_versions(const std::vector<Bar>& bars) {
  std::map<BarKey, Bar> out;
  for (const Bar& b : bars) out[{b.market, b.timeframe_s, b.open_time_s}] = b;
  return out;
}

// 1 s bars from trades, the plain way: group by (market, second); within a
// group sums in arrival order; open = earliest exchange time (first arrival
// on a tie), close = latest (last arrival on a tie); liquidations only in l.
inline std::map<BarKey, Bar> reference_second_bars(const std::vector<Trade>& trades) {
  std::map<BarKey, std::vector<std::size_t>> groups;  // indices in arrival order
  for (std::size_t i = 0; i < trades.size(); ++i) {
    const std::int64_t ts = trades[i].exchange_ts_ns;
    const std::int64_t second = ts >= 0 ? ts / kSecond : -((-ts + kSecond - 1) / kSecond);
    groups[{trades[i].market, 1u, second}].push_back(i);
  }
  std::map<BarKey, Bar> out;
  for (const auto& [key, indices] : groups) {
    Bar bar;
    bar.market = std::get<0>(key);
    bar.timeframe_s = 1;
    bar.open_time_s = std::get<2>(key);
    bool have_first = false;
    std::int64_t open_ts = 0, close_ts = 0;
    for (std::size_t i : indices) {
      const Trade& t = trades[i];
      const double notional = t.price * t.qty;
      if (t.is_liquidation()) {
        (t.is_buy() ? bar.lbuy : bar.lsell) += notional;
        continue;
      }
      if (t.is_buy()) {
        bar.vbuy += notional;
        bar.qbuy += t.qty;
        bar.cbuy += 1;
      } else {
        bar.vsell += notional;
        bar.qsell += t.qty;
        bar.csell += 1;
      }
      if (!have_first) {
        have_first = true;
        bar.open = bar.high = bar.low = bar.close = t.price;
        open_ts = close_ts = t.exchange_ts_ns;
        continue;
      }
      if (t.exchange_ts_ns < open_ts) {
        open_ts = t.exchange_ts_ns;
        bar.open = t.price;
      }
      if (t.exchange_ts_ns >= close_ts) {
        close_ts = t.exchange_ts_ns;
        bar.close = t.price;
      }
      bar.high = std::max(bar.high, t.price);
      bar.low = std::min(bar.low, t.price);
    }
    out[key] = bar;
  }
  return out;
}

// Rollup of 1 s bars (a map, so in (market, time) order) into windows of
// `timeframe_s`, aligned to the epoch.
inline std::map<BarKey, Bar> reference_rollup(const std::map<BarKey, Bar>& seconds, std::uint32_t timeframe_s) {
  std::map<BarKey, std::vector<Bar>> windows;
  for (const auto& [key, bar] : seconds) {
    if (std::get<1>(key) != 1) continue;
    const std::int64_t s = std::get<2>(key);
    const std::int64_t tf = timeframe_s;
    const std::int64_t start = (s >= 0 ? s / tf : -((-s + tf - 1) / tf)) * tf;
    windows[{std::get<0>(key), timeframe_s, start}].push_back(bar);
  }
  std::map<BarKey, Bar> out;
  for (const auto& [key, children] : windows) {
    Bar bar;
    bar.market = std::get<0>(key);
    bar.timeframe_s = timeframe_s;
    bar.open_time_s = std::get<2>(key);
    std::vector<const Bar*> traded;
    for (const Bar& c : children)
      if (c.cbuy + c.csell > 0) traded.push_back(&c);
    if (!traded.empty()) {
      bar.open = traded.front()->open;
      bar.close = traded.back()->close;
      bar.high = traded.front()->high;
      bar.low = traded.front()->low;
      for (const Bar* c : traded) {
        bar.high = std::max(bar.high, c->high);
        bar.low = std::min(bar.low, c->low);
      }
    }
    for (const Bar& c : children) {
      bar.vbuy += c.vbuy;
      bar.vsell += c.vsell;
      bar.cbuy += c.cbuy;
      bar.csell += c.csell;
      bar.lbuy += c.lbuy;
      bar.lsell += c.lsell;
      bar.qbuy += c.qbuy;
      bar.qsell += c.qsell;
    }
    out[key] = bar;
  }
  return out;
}

// Every field but the flags, exactly (doubles compared with ==).
inline void expect_same_bar(const Bar& actual, const Bar& expected, const char* what = "") {
  SCOPED_TRACE(::testing::Message() << what << " market " << expected.market << " tf " << expected.timeframe_s
                                    << " open_time_s " << expected.open_time_s);
  EXPECT_EQ(actual.market, expected.market);
  EXPECT_EQ(actual.timeframe_s, expected.timeframe_s);
  EXPECT_EQ(actual.open_time_s, expected.open_time_s);
  EXPECT_EQ(actual.has_ohlc(), expected.has_ohlc());
  if (expected.has_ohlc()) {
    EXPECT_EQ(actual.open, expected.open);
    EXPECT_EQ(actual.high, expected.high);
    EXPECT_EQ(actual.low, expected.low);
    EXPECT_EQ(actual.close, expected.close);
  }
  EXPECT_EQ(actual.vbuy, expected.vbuy);
  EXPECT_EQ(actual.vsell, expected.vsell);
  EXPECT_EQ(actual.cbuy, expected.cbuy);
  EXPECT_EQ(actual.csell, expected.csell);
  EXPECT_EQ(actual.lbuy, expected.lbuy);
  EXPECT_EQ(actual.lsell, expected.lsell);
  EXPECT_EQ(actual.qbuy, expected.qbuy);
  EXPECT_EQ(actual.qsell, expected.qsell);
}

// Both maps hold the same keys, and every bar is the same.
inline void expect_same_bars(const std::map<BarKey, Bar>& actual, const std::map<BarKey, Bar>& expected,
                             const char* what = "") {
  EXPECT_EQ(actual.size(), expected.size()) << what;
  for (const auto& [key, bar] : expected) {
    auto it = actual.find(key);
    if (it == actual.end()) {
      ADD_FAILURE() << what << ": missing bar market " << std::get<0>(key) << " tf " << std::get<1>(key) << " at "
                    << std::get<2>(key);
      continue;
    }
    expect_same_bar(it->second, bar, what);
  }
  for (const auto& [key, bar] : actual)
    if (!expected.count(key))
      ADD_FAILURE() << what << ": unexpected bar market " << std::get<0>(key) << " tf " << std::get<1>(key) << " at "
                    << std::get<2>(key);
}

}  // namespace tickflow::test
