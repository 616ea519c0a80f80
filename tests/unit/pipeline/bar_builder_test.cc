// BarBuilder: the time rules on hand-made trades. Bucketing and OHLC order,
// closing by watermark (a trade's, a market's, a connection's), closing
// quiet markets by clock, the end-of-input flush, late trades that amend
// (in order, out of order, one that becomes the new open, one that fills an
// empty second), the drop past the horizon, liquidation-only bars, gaps and
// the other counters.
#include "pipeline/bar_builder.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/unit/pipeline/bar_test_support.h"

namespace tickflow {
namespace {

using test::CollectingSink;
using test::kMilli;
using test::kSecond;
using test::make_trade;

// 2024-08-09 00:00:00 UTC; any whole second would do.
constexpr std::int64_t kT0 = 1'723'161'600;
constexpr std::int64_t ns(std::int64_t second, std::int64_t ms = 0) { return second * kSecond + ms * kMilli; }

BarBuilderConfig small_config() {
  BarBuilderConfig config;
  config.max_markets = 8;
  return config;  // lateness 250 ms, horizon 10 min, quiet delay 2 s: the defaults
}

TEST(BarBuilder, OneSecondOhlcSumsAndCounts) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(3, ns(kT0, 100), 100.0, 2.0, Side::kBuy));
  builder.on_trade(make_trade(3, ns(kT0, 200), 104.0, 0.5, Side::kSell));
  builder.on_trade(make_trade(3, ns(kT0, 300), 98.0, 1.0, Side::kSell));
  builder.on_trade(make_trade(3, ns(kT0, 400), 101.0, 3.0, Side::kBuy));
  builder.on_trade(make_trade(3, ns(kT0, 500), 500.0, 7.0, Side::kSell, /*liquidation=*/true));
  builder.on_trade(make_trade(3, ns(kT0, 600), 90.0, 1.0, Side::kBuy, /*liquidation=*/true));
  EXPECT_TRUE(sink.bars.empty()) << "the second is still open";
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 1u);
  const Bar& b = sink.bars[0];
  EXPECT_EQ(b.market, 3u);
  EXPECT_EQ(b.open_time_s, kT0);
  EXPECT_EQ(b.timeframe_s, 1u);
  EXPECT_EQ(b.flags, kBarFinal);
  EXPECT_EQ(b.open, 100.0);
  EXPECT_EQ(b.high, 104.0) << "liquidation prices never reach OHLC";
  EXPECT_EQ(b.low, 98.0);
  EXPECT_EQ(b.close, 101.0);
  EXPECT_EQ(b.vbuy, 100.0 * 2.0 + 101.0 * 3.0);
  EXPECT_EQ(b.vsell, 104.0 * 0.5 + 98.0 * 1.0);
  EXPECT_EQ(b.cbuy, 2.0);
  EXPECT_EQ(b.csell, 2.0);
  EXPECT_EQ(b.qbuy, 5.0);
  EXPECT_EQ(b.qsell, 1.5);
  EXPECT_EQ(b.lbuy, 90.0);
  EXPECT_EQ(b.lsell, 3500.0);
}

TEST(BarBuilder, BucketsOnExchangeTimeNotReceiveTime) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  Trade t = make_trade(0, ns(kT0, 999), 10.0, 1.0, Side::kBuy);
  t.receive_ts_ns = ns(kT0 + 5);  // received much later: still second kT0
  builder.on_trade(t);
  t = make_trade(0, ns(kT0 + 1, 0), 11.0, 1.0, Side::kBuy);
  t.receive_ts_ns = ns(kT0 - 2);  // a receive clock behind the exchange's
  builder.on_trade(t);
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(sink.bars[0].open_time_s, kT0);
  EXPECT_EQ(sink.bars[0].close, 10.0);
  EXPECT_EQ(sink.bars[1].open_time_s, kT0 + 1);
}

TEST(BarBuilder, ClosesWhenWatermarkPassesEndPlusLateness) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 500), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 1, 249), 11.0, 1.0, Side::kBuy));
  EXPECT_TRUE(sink.bars.empty()) << "watermark end + 249 ms: within the lateness";
  builder.on_trade(make_trade(0, ns(kT0 + 1, 249) + 999'999, 12.0, 1.0, Side::kBuy));
  EXPECT_TRUE(sink.bars.empty()) << "one ns short of end + 250 ms";
  builder.on_trade(make_trade(0, ns(kT0 + 1, 250), 13.0, 1.0, Side::kBuy));
  ASSERT_EQ(sink.bars.size(), 1u) << "watermark reached end + lateness";
  EXPECT_EQ(sink.bars[0].open_time_s, kT0);
  EXPECT_EQ(sink.bars[0].close, 10.0);
  EXPECT_EQ(builder.closed_until_s(0), kT0 + 1);
  EXPECT_EQ(builder.watermark_ns(0), ns(kT0 + 1, 250));
}

TEST(BarBuilder, OutOfOrderTradeWithinLatenessJoinsTheOpenBar) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 500), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 1, 100), 20.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0, 900), 11.0, 1.0, Side::kSell));  // late by exchange time, not by rule
  builder.on_trade(make_trade(0, ns(kT0, 200), 9.0, 1.0, Side::kSell));   // older than the open
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 2u);
  const Bar& b = sink.bars[0];
  EXPECT_EQ(b.flags, kBarFinal);
  EXPECT_EQ(b.open, 9.0) << "the earliest exchange time opens the bar, whatever its arrival";
  EXPECT_EQ(b.close, 11.0) << "the latest exchange time closes it";
  EXPECT_EQ(b.csell, 2.0);
  EXPECT_EQ(builder.counters(0).amendments, 0u);
}

TEST(BarBuilder, TiesOnExchangeTimeGoByArrival) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 100), 1.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0, 100), 2.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0, 700), 3.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0, 700), 4.0, 1.0, Side::kBuy));
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].open, 1.0) << "first arrival of the earliest time";
  EXPECT_EQ(sink.bars[0].close, 4.0) << "last arrival of the latest time";
  // Late ties: one at the open's time does not take the open; one at the
  // close's time, arriving last, takes the close.
  builder.on_trade(make_trade(0, ns(kT0, 100), 5.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0, 700), 6.0, 1.0, Side::kBuy));
  ASSERT_EQ(sink.bars.size(), 3u);
  EXPECT_EQ(sink.bars[2].open, 1.0);
  EXPECT_EQ(sink.bars[2].close, 6.0);
  EXPECT_EQ(sink.bars[2].high, 6.0);
}

TEST(BarBuilder, LateTradeAmendsTheClosedBarWithTheWholeCorrectedBar) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 500), 100.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0, 600), 101.0, 2.0, Side::kSell));
  builder.on_trade(make_trade(0, ns(kT0 + 2), 110.0, 1.0, Side::kBuy));  // closes kT0 (and kT0 + 1, empty)
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].flags, kBarFinal);

  builder.on_trade(make_trade(0, ns(kT0, 100), 99.0, 4.0, Side::kBuy));  // late, and older than the open
  ASSERT_EQ(sink.bars.size(), 2u);
  const Bar& a = sink.bars[1];
  EXPECT_EQ(a.flags, kBarAmendment);
  EXPECT_TRUE(a.is_amendment());
  EXPECT_EQ(a.open_time_s, kT0);
  EXPECT_EQ(a.open, 99.0) << "the late trade is the earliest: it becomes the new open";
  EXPECT_EQ(a.high, 101.0);
  EXPECT_EQ(a.low, 99.0);
  EXPECT_EQ(a.close, 101.0);
  EXPECT_EQ(a.vbuy, 100.0 + 99.0 * 4.0);
  EXPECT_EQ(a.vsell, 202.0);
  EXPECT_EQ(a.cbuy, 2.0);
  EXPECT_EQ(a.csell, 1.0);
  EXPECT_EQ(a.qbuy, 5.0);
  EXPECT_EQ(a.qsell, 2.0);

  builder.on_trade(make_trade(0, ns(kT0, 900), 120.0, 1.0, Side::kSell));  // late, the newest of its second
  ASSERT_EQ(sink.bars.size(), 3u);
  EXPECT_EQ(sink.bars[2].open, 99.0);
  EXPECT_EQ(sink.bars[2].close, 120.0);
  EXPECT_EQ(sink.bars[2].high, 120.0);
  EXPECT_EQ(sink.bars[2].csell, 2.0);

  const BarCounters& c = builder.counters(0);
  EXPECT_EQ(c.bars, 1u);
  EXPECT_EQ(c.amendments, 2u);
  EXPECT_EQ(c.late_drops, 0u);
  EXPECT_EQ(c.seconds_with_data, 2u);
}

TEST(BarBuilder, LateTradesOutOfOrderAcrossSeconds) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  for (int s = 0; s < 5; ++s) builder.on_trade(make_trade(0, ns(kT0 + s, 500), 10.0 + s, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 10), 50.0, 1.0, Side::kBuy));
  ASSERT_EQ(sink.bars.size(), 5u);
  // Late trades for seconds 3, 1 and 3 again, in that order.
  builder.on_trade(make_trade(0, ns(kT0 + 3, 900), 40.0, 1.0, Side::kSell));
  builder.on_trade(make_trade(0, ns(kT0 + 1, 0), 41.0, 1.0, Side::kSell));
  builder.on_trade(make_trade(0, ns(kT0 + 3, 0), 42.0, 1.0, Side::kSell));
  ASSERT_EQ(sink.bars.size(), 8u);
  EXPECT_EQ(sink.bars[5].open_time_s, kT0 + 3);
  EXPECT_EQ(sink.bars[5].close, 40.0);
  EXPECT_EQ(sink.bars[5].open, 13.0);
  EXPECT_EQ(sink.bars[6].open_time_s, kT0 + 1);
  EXPECT_EQ(sink.bars[6].open, 41.0);
  EXPECT_EQ(sink.bars[6].close, 11.0);
  EXPECT_EQ(sink.bars[7].open_time_s, kT0 + 3);
  EXPECT_EQ(sink.bars[7].open, 42.0) << "both late trades are in the second amendment";
  EXPECT_EQ(sink.bars[7].close, 40.0);
  EXPECT_EQ(sink.bars[7].cbuy + sink.bars[7].csell, 3.0);
  for (std::size_t i = 5; i < 8; ++i) EXPECT_EQ(sink.bars[i].flags, kBarAmendment);
  EXPECT_EQ(builder.counters(0).amendments, 3u);
}

TEST(BarBuilder, LateTradeIntoAnEmptyClosedSecondEmitsItAsAnAmendment) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 500), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 5), 11.0, 1.0, Side::kBuy));
  ASSERT_EQ(sink.bars.size(), 1u);
  builder.on_trade(make_trade(0, ns(kT0 + 2, 300), 12.0, 1.0, Side::kSell));
  ASSERT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(sink.bars[1].open_time_s, kT0 + 2);
  EXPECT_EQ(sink.bars[1].flags, kBarAmendment);
  EXPECT_EQ(sink.bars[1].open, 12.0);
  EXPECT_EQ(sink.bars[1].csell, 1.0);
  EXPECT_EQ(builder.counters(0).seconds_with_data, 3u);
  EXPECT_EQ(builder.counters(0).amendments, 1u);
  EXPECT_EQ(builder.counters(0).bars, 1u);
}

TEST(BarBuilder, DropsTradesPastTheHorizonAndCountsThem) {
  BarBuilderConfig config = small_config();
  config.amend_horizon_ns = 10 * kSecond;
  CollectingSink sink;
  BarBuilder builder(config, sink);
  builder.on_trade(make_trade(0, ns(kT0, 0), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 30, 250), 10.0, 1.0, Side::kBuy));  // closes every second before kT0 + 30
  ASSERT_EQ(builder.closed_until_s(0), kT0 + 30);
  const std::size_t before = sink.bars.size();
  builder.on_trade(make_trade(0, ns(kT0 + 20, 999), 11.0, 1.0, Side::kBuy));  // 10 s before the frontier: kept
  ASSERT_EQ(sink.bars.size(), before + 1);
  EXPECT_EQ(sink.bars.back().open_time_s, kT0 + 20);
  EXPECT_EQ(sink.bars.back().flags, kBarAmendment);
  builder.on_trade(make_trade(0, ns(kT0 + 19, 999), 12.0, 1.0, Side::kBuy));  // 11 s before: dropped
  builder.on_trade(make_trade(0, ns(kT0, 500), 13.0, 1.0, Side::kBuy));       // its bar is long gone: dropped
  EXPECT_EQ(sink.bars.size(), before + 1);
  EXPECT_EQ(builder.counters(0).late_drops, 2u);
  EXPECT_EQ(builder.counters(0).amendments, 1u);
}

TEST(BarBuilder, QuietMarketClosesByClock) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);  // lateness 250 ms + quiet delay 2 s
  builder.on_trade(make_trade(1, ns(kT0, 400), 10.0, 1.0, Side::kBuy));
  builder.advance_clock(ns(kT0 + 1, 2249));
  EXPECT_TRUE(sink.bars.empty()) << "the clock is 1 ms short of end + lateness + quiet delay";
  builder.advance_clock(ns(kT0 + 1, 2250));
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].open_time_s, kT0);
  EXPECT_EQ(sink.bars[0].flags, kBarFinal);
  EXPECT_EQ(builder.closed_until_s(1), kT0 + 1);
  EXPECT_EQ(builder.watermark_ns(1), ns(kT0, 400)) << "the clock closes; it does not move the watermark";

  // A trade that then arrives for the closed second amends it.
  builder.on_trade(make_trade(1, ns(kT0, 900), 11.0, 1.0, Side::kBuy));
  ASSERT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(sink.bars[1].flags, kBarAmendment);
  EXPECT_EQ(sink.bars[1].close, 11.0);

  // The clock keeps every market's frontier moving, with or without bars.
  builder.advance_clock(ns(kT0 + 100));
  EXPECT_EQ(builder.closed_until_s(1), kT0 + 97);  // floor(100 - 2.25) s
  EXPECT_EQ(sink.closes.back(), (std::pair<MarketId, std::int64_t>{1, kT0 + 97}));
  builder.advance_clock(ns(kT0 + 50));  // time never goes backwards
  EXPECT_EQ(builder.closed_until_s(1), kT0 + 97);
}

TEST(BarBuilder, ClockOnlyClosesTheQuietMarket) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 100), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(1, ns(kT0, 200), 20.0, 1.0, Side::kBuy));
  for (int ms = 0; ms <= 3000; ms += 100) {
    builder.on_trade(make_trade(0, ns(kT0 + 1, ms), 10.0, 1.0, Side::kBuy));
    builder.advance_clock(ns(kT0 + 1, ms));  // a receive clock in step with the exchange
  }
  // Market 0 closed kT0..kT0+2 by its own watermark (4.0 s - 250 ms); market
  // 1 had one trade and its second closed by the clock at kT0 + 3.25 s.
  ASSERT_EQ(sink.bars.size(), 4u);
  EXPECT_EQ(sink.bars[0].market, 0u);
  EXPECT_EQ(sink.bars[0].open_time_s, kT0);
  EXPECT_EQ(sink.bars[1].market, 0u);
  EXPECT_EQ(sink.bars[1].open_time_s, kT0 + 1);
  EXPECT_EQ(sink.bars[2].market, 0u);
  EXPECT_EQ(sink.bars[2].open_time_s, kT0 + 2);
  EXPECT_EQ(sink.bars[3].market, 1u);
  EXPECT_EQ(sink.bars[3].open_time_s, kT0);
}

TEST(BarBuilder, FlushEmitsEveryOpenBarInOrder) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(2, ns(kT0, 900), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(2, ns(kT0 + 1, 100), 11.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(5, ns(kT0 + 7, 100), 12.0, 1.0, Side::kSell));
  EXPECT_TRUE(sink.bars.empty());
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 3u);
  EXPECT_EQ(sink.bars[0].market, 2u);
  EXPECT_EQ(sink.bars[0].open_time_s, kT0);
  EXPECT_EQ(sink.bars[1].market, 2u);
  EXPECT_EQ(sink.bars[1].open_time_s, kT0 + 1);
  EXPECT_EQ(sink.bars[2].market, 5u);
  EXPECT_EQ(sink.bars[2].open_time_s, kT0 + 7);
  for (const Bar& b : sink.bars) EXPECT_EQ(b.flags, kBarFinal);
  EXPECT_EQ(builder.closed_until_s(2), kT0 + 2);
  builder.flush();  // nothing left open
  EXPECT_EQ(sink.bars.size(), 3u);
  EXPECT_EQ(builder.totals().bars, 3u);
}

TEST(BarBuilder, LiquidationOnlyBarHasNoOhlc) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 100), 60000.0, 0.5, Side::kSell, true));
  builder.on_trade(make_trade(0, ns(kT0, 200), 60100.0, 0.25, Side::kBuy, true));
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 1u);
  const Bar& b = sink.bars[0];
  EXPECT_FALSE(b.has_ohlc());
  EXPECT_EQ(b.open, 0.0);
  EXPECT_EQ(b.high, 0.0);
  EXPECT_EQ(b.low, 0.0);
  EXPECT_EQ(b.close, 0.0);
  EXPECT_EQ(b.lsell, 30000.0);
  EXPECT_EQ(b.lbuy, 15025.0);
  EXPECT_EQ(b.vbuy + b.vsell + b.cbuy + b.csell + b.qbuy + b.qsell, 0.0);
  EXPECT_EQ(builder.counters(0).bars, 1u);
}

TEST(BarBuilder, MarketWatermarkStatusClosesItsBar) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(4, ns(kT0, 100), 10.0, 1.0, Side::kBuy));
  FeedStatus status;
  status.kind = FeedStatusKind::kWatermark;
  status.market = 4;
  status.watermark_ns = ns(kT0 + 1, 249);
  builder.on_status(status);
  EXPECT_TRUE(sink.bars.empty());
  status.watermark_ns = ns(kT0 + 1, 250);
  builder.on_status(status);
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(builder.watermark_ns(4), ns(kT0 + 1, 250));
}

TEST(BarBuilder, ConnectionWatermarkClosesEveryMarketOfTheConnection) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  FeedStatus connected;
  connected.kind = FeedStatusKind::kConnected;
  connected.connection = 7;
  for (MarketId m : {1u, 2u}) {
    connected.market = m;
    builder.on_status(connected);
  }
  builder.set_connection(3, 8);  // another connection
  builder.on_trade(make_trade(1, ns(kT0, 100), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(2, ns(kT0, 200), 20.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(3, ns(kT0, 300), 30.0, 1.0, Side::kBuy));
  FeedStatus watermark;
  watermark.kind = FeedStatusKind::kWatermark;
  watermark.market = kInvalidMarket;
  watermark.connection = 7;
  watermark.watermark_ns = ns(kT0 + 2);  // e.g. a quote's exchange time on that connection
  builder.on_status(watermark);
  ASSERT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(sink.bars[0].market, 1u);
  EXPECT_EQ(sink.bars[1].market, 2u);
  EXPECT_EQ(builder.watermark_ns(3), ns(kT0, 300)) << "connection 8 is untouched";
  // A market moved to connection 8 leaves connection 7's list.
  builder.set_connection(2, 8);
  builder.on_trade(make_trade(2, ns(kT0 + 3, 0), 21.0, 1.0, Side::kBuy));
  watermark.watermark_ns = ns(kT0 + 9);
  builder.on_status(watermark);
  EXPECT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(builder.watermark_ns(2), ns(kT0 + 3));
}

TEST(BarBuilder, CountsGapsOnlyWhileConnected) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  for (std::int64_t s : {0, 1, 5, 6}) builder.on_trade(make_trade(0, ns(kT0 + s, 10), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 7, 500), 10.0, 1.0, Side::kBuy));  // closes 6
  EXPECT_EQ(builder.counters(0).gaps, 1u) << "seconds 2..4";
  EXPECT_EQ(builder.counters(0).gap_seconds, 3u);
  FeedStatus status;
  status.kind = FeedStatusKind::kDisconnected;
  status.market = 0;
  builder.on_status(status);
  // The news came during second 7 (watermark 7.5 s): the run 8..11 that
  // follows it is no gap; 13, between 12 and 14, is one again.
  builder.on_trade(make_trade(0, ns(kT0 + 12, 10), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 14, 10), 10.0, 1.0, Side::kBuy));
  builder.flush();
  const BarCounters& c = builder.counters(0);
  EXPECT_EQ(c.bars, 7u);
  EXPECT_EQ(c.seconds_with_data, 7u);
  EXPECT_EQ(c.gaps, 2u);
  EXPECT_EQ(c.gap_seconds, 4u);
}

TEST(BarBuilder, ReportsTheClosedFrontier) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 0), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 3, 300), 10.0, 1.0, Side::kBuy));
  ASSERT_FALSE(sink.closes.empty());
  EXPECT_EQ(sink.closes.back(), (std::pair<MarketId, std::int64_t>{0, kT0 + 3}));
  for (std::size_t i = 1; i < sink.closes.size(); ++i) EXPECT_GT(sink.closes[i].second, sink.closes[i - 1].second);
}

TEST(BarBuilder, AJumpFarAheadLosesNoOpenBar) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, ns(kT0, 100), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 1, 100), 11.0, 1.0, Side::kBuy));
  // 1024 s later: the slot ring (1024 slots for the default horizon) wraps.
  builder.on_trade(make_trade(0, ns(kT0 + 1024, 100), 12.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(0, ns(kT0 + 5000, 100), 13.0, 1.0, Side::kBuy));
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 4u);
  EXPECT_EQ(sink.bars[0].open_time_s, kT0);
  EXPECT_EQ(sink.bars[0].close, 10.0);
  EXPECT_EQ(sink.bars[1].open_time_s, kT0 + 1);
  EXPECT_EQ(sink.bars[2].open_time_s, kT0 + 1024);
  EXPECT_EQ(sink.bars[2].close, 12.0);
  EXPECT_EQ(sink.bars[3].open_time_s, kT0 + 5000);
}

TEST(BarBuilder, IgnoresMarketsOutOfRange) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(8, ns(kT0), 10.0, 1.0, Side::kBuy));
  builder.on_trade(make_trade(kInvalidMarket, ns(kT0), 10.0, 1.0, Side::kBuy));
  builder.flush();
  EXPECT_TRUE(sink.bars.empty());
  EXPECT_EQ(builder.ignored_trades(), 2u);
}

TEST(BarBuilder, TimesBefore1970FloorToTheirSecond) {
  CollectingSink sink;
  BarBuilder builder(small_config(), sink);
  builder.on_trade(make_trade(0, -1, 10.0, 1.0, Side::kBuy));  // 1969-12-31 23:59:59.999999999
  builder.on_trade(make_trade(0, 0, 11.0, 1.0, Side::kBuy));
  builder.flush();
  ASSERT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(sink.bars[0].open_time_s, -1);
  EXPECT_EQ(sink.bars[1].open_time_s, 0);
}

TEST(BarBuilder, RejectsConfigurationsItCannotHonour) {
  CollectingSink sink;
  BarBuilderConfig config;
  config.max_markets = 0;
  EXPECT_THROW((BarBuilder{config, sink}), std::invalid_argument);
  config = {};
  config.lateness_ns = -1;
  EXPECT_THROW((BarBuilder{config, sink}), std::invalid_argument);
  config = {};
  config.amend_horizon_ns = 2 * 86'400 * kSecond;
  EXPECT_THROW((BarBuilder{config, sink}), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
