// tests/unit/feeds/reference_totals.h: a capture's trade totals, and the
// check that they equal what an independent reference script printed
// (tests/tools/<exchange>_reference.py, read with test::run_reference()):
// frame and trade counts, first and last ids and times, taker buys, summed
// quantity and notional, and the parser's skip and error counts.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/exchange_parser.h"
#include "feeds/parse_stats.h"

namespace tickflow::test {

// Every trade of a capture through `parser`, summed.
struct Totals {
  std::uint64_t trades = 0, liquidations = 0, taker_buys = 0, first_id = 0, last_id = 0, reader_frames = 0;
  double sum_qty = 0, sum_notional = 0;
  std::int64_t first_ts = 0, last_ts = 0;
  std::vector<Trade> first_trades;  // the first few, for field checks
  std::vector<std::int64_t> first_receive;
};

inline Totals replay(ExchangeParser& parser, const std::string& path) {
  Totals t;
  CaptureReader reader(path);
  CaptureRecord record;
  EventBuffer buffer;
  while (reader.next(record)) {
    buffer.clear();
    parser.parse(record.frame, record.receive_ts_ns, buffer);
    for (const FeedEvent& e : buffer) {
      if (e.type != FeedEventType::kTrade) continue;
      const Trade& trade = e.trade;
      if (t.trades == 0) {
        t.first_id = trade.trade_id;
        t.first_ts = trade.exchange_ts_ns;
      }
      t.last_id = trade.trade_id;
      t.last_ts = trade.exchange_ts_ns;
      ++t.trades;
      t.liquidations += trade.is_liquidation() ? 1 : 0;
      t.taker_buys += trade.is_buy() ? 1 : 0;
      t.sum_qty += trade.qty;
      t.sum_notional += trade.notional();
      if (t.first_trades.size() < 4) {
        t.first_trades.push_back(trade);
        t.first_receive.push_back(record.receive_ts_ns);
      }
    }
  }
  t.reader_frames = reader.counts().frames;
  return t;
}

inline std::uint64_t u64(const std::map<std::string, std::string>& ref, const std::string& key) {
  const auto it = ref.find(key);
  EXPECT_NE(it, ref.end()) << key;
  return it == ref.end() ? 0 : std::stoull(it->second);
}
inline double f64(const std::map<std::string, std::string>& ref, const std::string& key) {
  const auto it = ref.find(key);
  EXPECT_NE(it, ref.end()) << key;
  return it == ref.end() ? 0 : std::stod(it->second);
}

inline void expect_matches_reference(const Totals& t, const ParseStats& stats,
                                     const std::map<std::string, std::string>& ref, bool numeric_ids) {
  EXPECT_EQ(t.reader_frames, u64(ref, "frames"));
  EXPECT_EQ(stats.frames, u64(ref, "frames"));
  EXPECT_EQ(t.trades, u64(ref, "trades"));
  EXPECT_EQ(stats.trades, u64(ref, "trades"));
  if (ref.count("liquidations")) {
    EXPECT_EQ(t.liquidations, u64(ref, "liquidations"));
  }
  EXPECT_EQ(t.taker_buys, u64(ref, "taker_buys"));
  if (numeric_ids) {
    EXPECT_EQ(t.first_id, u64(ref, "first_id"));
    EXPECT_EQ(t.last_id, u64(ref, "last_id"));
  }
  EXPECT_EQ(static_cast<std::uint64_t>(t.first_ts), u64(ref, "first_ts_ns"));
  EXPECT_EQ(static_cast<std::uint64_t>(t.last_ts), u64(ref, "last_ts_ns"));
  const double qty = f64(ref, "sum_qty"), notional = f64(ref, "sum_notional");
  EXPECT_NEAR(t.sum_qty, qty, 1e-9 * std::abs(qty));
  EXPECT_NEAR(t.sum_notional, notional, 1e-9 * std::abs(notional));
  EXPECT_EQ(stats[SkipKind::kControl], u64(ref, "skip_control"));
  EXPECT_EQ(stats[SkipKind::kBook], u64(ref, "skip_book"));
  EXPECT_EQ(stats[SkipKind::kOtherChannel], u64(ref, "skip_other"));
  EXPECT_EQ(stats[SkipKind::kSnapshot], u64(ref, "skip_snapshot"));
  EXPECT_EQ(stats[SkipKind::kFiltered], u64(ref, "skip_filtered"));
  EXPECT_EQ(stats.total_errors(), u64(ref, "errors"));
}

}  // namespace tickflow::test
