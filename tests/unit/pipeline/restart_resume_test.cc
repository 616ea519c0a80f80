// Restart and gap holds in the bar stage (issue 15): BarBuilder::resume()
// drops trades for seconds a previous run sealed, tracks the sealed trade id
// and exchange time a checkpoint stores, holds a market's seconds from kGap
// to kBackfilled (or the hold's deadline) so a backfilled second is written
// once and complete, and does not write the incomplete seconds of a resumed
// market whose first gap stays open. Rollups::resume() continues an open
// window so that it equals the window of an uninterrupted run.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <vector>

#include "pipeline/bar_builder.h"
#include "pipeline/rollup.h"
#include "tests/unit/pipeline/bar_test_support.h"

namespace tickflow {
namespace {

using test::CollectingSink;
using test::kMilli;
using test::kSecond;
using test::make_trade;

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09 00:00:00 UTC
constexpr std::int64_t ns(std::int64_t second, std::int64_t ms = 0) { return second * kSecond + ms * kMilli; }

Trade with_id(Trade t, std::uint64_t id, std::uint8_t extra_flags = 0) {
  t.trade_id = id;
  t.flags = static_cast<std::uint8_t>(t.flags | extra_flags);
  return t;
}

FeedStatus status(FeedStatusKind kind, MarketId market, std::int64_t receive_ns, std::int64_t watermark_ns = 0,
                  std::uint8_t detail = 0) {
  FeedStatus s;
  s.kind = kind;
  s.market = market;
  s.receive_ts_ns = receive_ns;
  s.watermark_ns = watermark_ns;
  s.detail = detail;
  return s;
}

BarBuilderConfig config(std::int64_t gap_hold_ns) {
  BarBuilderConfig c;
  c.max_markets = 4;
  c.gap_hold_ns = gap_hold_ns;
  return c;
}

std::vector<std::int64_t> seconds_of(const std::vector<Bar>& bars) {
  std::vector<std::int64_t> out;
  for (const Bar& b : bars) out.push_back(b.open_time_s - kT0);
  return out;
}

TEST(BarBuilderResume, SealedTradeIdAndTimeFollowTheClosedSeconds) {
  CollectingSink sink;
  BarBuilder builder(config(0), sink);
  builder.on_trade(with_id(make_trade(1, ns(kT0, 100), 10, 1, Side::kBuy), 10));
  builder.on_trade(with_id(make_trade(1, ns(kT0, 900), 11, 1, Side::kSell), 11));
  builder.on_trade(with_id(make_trade(1, ns(kT0 + 1, 100), 12, 1, Side::kBuy), 12));
  EXPECT_EQ(builder.sealed_trade_id(1), 0u);                                          // nothing closed yet
  builder.on_trade(with_id(make_trade(1, ns(kT0 + 1, 300), 12, 1, Side::kBuy), 13));  // watermark closes kT0
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(builder.sealed_trade_id(1), 11u);
  EXPECT_EQ(builder.sealed_exchange_ns(1), ns(kT0, 900));
  EXPECT_EQ(builder.closed_until_s(1), kT0 + 1);
}

TEST(BarBuilderResume, TradesForSealedSecondsAreDroppedNotAmended) {
  CollectingSink sink;
  BarBuilder builder(config(0), sink);
  builder.resume(2, kT0 + 10, 500, ns(kT0 + 9, 800));
  EXPECT_EQ(builder.closed_until_s(2), kT0 + 10);
  EXPECT_EQ(builder.sealed_trade_id(2), 500u);
  // The re-sent tail of a reconnect: seconds 8 and 9 are stored already.
  builder.on_trade(with_id(make_trade(2, ns(kT0 + 8, 100), 10, 1, Side::kBuy), 499));
  builder.on_trade(with_id(make_trade(2, ns(kT0 + 9, 900), 10, 1, Side::kBuy), 500));
  EXPECT_TRUE(sink.bars.empty());
  EXPECT_EQ(builder.counters(2).resumed_drops, 2u);
  EXPECT_EQ(builder.counters(2).amendments, 0u);
  builder.on_trade(with_id(make_trade(2, ns(kT0 + 10, 100), 10, 1, Side::kBuy), 501));
  builder.on_trade(with_id(make_trade(2, ns(kT0 + 11, 300), 10, 1, Side::kBuy), 502));
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].open_time_s, kT0 + 10);
  EXPECT_EQ(sink.bars[0].flags, kBarFinal);
  EXPECT_EQ(builder.sealed_trade_id(2), 501u);
}

TEST(BarBuilderGapHold, BackfilledSecondsAreWrittenOnceAndComplete) {
  CollectingSink sink;
  BarBuilder builder(config(10 * kSecond), sink);
  builder.on_trade(with_id(make_trade(0, ns(kT0, 100), 100, 1, Side::kBuy), 1));
  // Trades 2..4 missed; trade 5 reveals the gap.
  builder.on_status(status(FeedStatusKind::kGap, 0, ns(kT0 + 3, 150), ns(kT0 + 3, 100)));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 100), 105, 1, Side::kSell), 5));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 4, 500), 106, 1, Side::kBuy), 6));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 6, 0), 107, 1, Side::kBuy), 7));
  builder.advance_clock(ns(kT0 + 8));
  EXPECT_TRUE(builder.held(0));
  EXPECT_TRUE(sink.bars.empty()) << "nothing closes while the backfill runs";
  // The backfill: trades 2, 3, 4 (one in the revealing trade's second), then done.
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 1, 500), 101, 1, Side::kBuy, false), 2, kTradeBackfill));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 2, 500), 102, 1, Side::kBuy, false), 3, kTradeBackfill));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 50), 104, 2, Side::kBuy, false), 4, kTradeBackfill));
  builder.on_status(status(FeedStatusKind::kBackfilled, 0, ns(kT0 + 8, 100), 0, 1));
  EXPECT_FALSE(builder.held(0));
  // Released: the watermark (kT0 + 6) closes through second 5.
  EXPECT_EQ(seconds_of(sink.bars), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  for (const Bar& b : sink.bars) EXPECT_EQ(b.flags, kBarFinal) << b.open_time_s - kT0;
  const Bar& third = sink.bars[3];
  EXPECT_EQ(third.cbuy, 1);
  EXPECT_EQ(third.csell, 1);
  EXPECT_EQ(third.open, 104);  // the backfilled trade is older: the open
  EXPECT_EQ(third.close, 105);
  EXPECT_EQ(builder.counters(0).amendments, 0u);
  EXPECT_EQ(builder.counters(0).gap_holds, 1u);
  EXPECT_EQ(builder.counters(0).gap_hold_timeouts, 0u);
}

TEST(BarBuilderGapHold, TheClockEndsAHoldNobodyReleases) {
  CollectingSink sink;
  BarBuilder builder(config(5 * kSecond), sink);
  builder.on_trade(with_id(make_trade(0, ns(kT0, 100), 100, 1, Side::kBuy), 1));
  builder.on_status(status(FeedStatusKind::kGap, 0, ns(kT0 + 1), ns(kT0 + 1, 0)));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 1, 0), 100, 1, Side::kBuy), 9));
  builder.advance_clock(ns(kT0 + 5, 900));
  EXPECT_TRUE(sink.bars.empty());
  builder.advance_clock(ns(kT0 + 6, 0));  // receive + 5 s
  EXPECT_FALSE(builder.held(0));
  EXPECT_EQ(builder.counters(0).gap_hold_timeouts, 1u);
  EXPECT_EQ(seconds_of(sink.bars), (std::vector<std::int64_t>{0, 1}));
}

TEST(BarBuilderGapHold, AResumedMarketsUnhealedGapIsNotWrittenPartially) {
  CollectingSink sink;
  BarBuilder builder(config(10 * kSecond), sink);
  builder.resume(0, kT0, 100, ns(kT0 - 1, 900));
  // The first live trade is id 150: 101..149 missing, and the venue has no history.
  builder.on_status(status(FeedStatusKind::kGap, 0, ns(kT0 + 3, 600), ns(kT0 + 3, 500)));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 500), 100, 1, Side::kBuy), 150));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 700), 100, 1, Side::kBuy), 151));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 4, 200), 100, 1, Side::kBuy), 152));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 6, 0), 100, 1, Side::kBuy), 153));
  builder.on_status(status(FeedStatusKind::kBackfilled, 0, ns(kT0 + 6, 100), 0, /*covered=*/0));
  // Second 3 held only the trades after the gap: not written. Second 4 is whole.
  EXPECT_EQ(seconds_of(sink.bars), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(builder.counters(0).incomplete_seconds, 1u);
  EXPECT_EQ(builder.counters(0).incomplete_trades, 2u);
  // A late trade for the incomplete second is not written either.
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 900), 100, 1, Side::kBuy), 149, kTradeBackfill));
  EXPECT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(builder.counters(0).incomplete_trades, 3u);
}

TEST(BarBuilderGapHold, WithoutABackfillAResumedMarketsGapSecondIsNotWritten) {
  CollectingSink sink;
  BarBuilder builder(config(0), sink);  // no hold: no backfill runs
  builder.resume(0, kT0, 100, ns(kT0 - 1, 900));
  builder.on_status(status(FeedStatusKind::kGap, 0, ns(kT0 + 2, 600), ns(kT0 + 2, 500)));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 2, 500), 100, 1, Side::kBuy), 150));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 500), 100, 1, Side::kBuy), 151));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 5, 0), 100, 1, Side::kBuy), 152));
  EXPECT_EQ(seconds_of(sink.bars), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(builder.counters(0).incomplete_seconds, 1u);
}

TEST(BarBuilderGapHold, AGapOnAResumedMarketThatTheBackfillCoversIsWrittenWhole) {
  CollectingSink sink;
  BarBuilder builder(config(10 * kSecond), sink);
  builder.resume(0, kT0, 100, ns(kT0 - 1, 900));
  builder.on_status(status(FeedStatusKind::kGap, 0, ns(kT0 + 1, 600), ns(kT0 + 1, 500)));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 1, 500), 100, 1, Side::kBuy), 103));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 0), 100, 1, Side::kBuy), 104));
  builder.on_trade(with_id(make_trade(0, ns(kT0, 300), 100, 1, Side::kSell), 101, kTradeBackfill));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 1, 100), 100, 1, Side::kSell), 102, kTradeBackfill));
  builder.on_status(status(FeedStatusKind::kBackfilled, 0, ns(kT0 + 3, 100), 0, /*covered=*/1));
  EXPECT_EQ(seconds_of(sink.bars), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(sink.bars[1].cbuy + sink.bars[1].csell, 2);
  EXPECT_EQ(builder.counters(0).incomplete_seconds, 0u);
}

// Rollups: a run interrupted at second `cut` and resumed from provisional()
// gives the same windows as one uninterrupted run.
TEST(RollupsResume, AWindowSpanningTheRestartEqualsTheUninterruptedOne) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> price(60'000, 61'000), qty(0.001, 2);
  std::vector<Bar> children;
  for (std::int64_t s = kT0; s < kT0 + 900; ++s) {
    if (rng() % 4 == 0) continue;  // empty seconds
    Bar b;
    b.market = 0;
    b.timeframe_s = 1;
    b.open_time_s = s;
    b.open = price(rng);
    b.high = b.open + 5;
    b.low = b.open - 5;
    b.close = price(rng);
    b.vbuy = qty(rng) * b.open;
    b.vsell = qty(rng) * b.open;
    b.qbuy = qty(rng);
    b.qsell = qty(rng);
    b.cbuy = static_cast<double>(rng() % 7 + 1);
    b.csell = static_cast<double>(rng() % 7);
    children.push_back(b);
  }
  RollupConfig rc;
  rc.max_markets = 2;
  rc.timeframes = {Timeframe::from_seconds(60), Timeframe::from_seconds(300), Timeframe::from_seconds(3600)};

  CollectingSink whole_out;
  Rollups whole(rc, whole_out);
  for (const Bar& b : children) whole.on_bar(b);
  whole.on_closed(0, kT0 + 900);
  whole.flush();  // the open hour too

  const std::int64_t cut = kT0 + 437;  // mid-minute, mid-5-minute
  CollectingSink before_out, after_out;
  Rollups before(rc, before_out);
  for (const Bar& b : children)
    if (b.open_time_s < cut) before.on_bar(b);
  before.on_closed(0, cut);
  std::vector<std::optional<Bar>> open;
  for (std::size_t k = 0; k < rc.timeframes.size(); ++k) open.push_back(before.provisional(0, k));
  ASSERT_TRUE(open[0] && open[1] && open[2]);

  Rollups after(rc, after_out);
  after.resume(0, cut, open);
  for (const Bar& b : children)
    if (b.open_time_s >= cut) after.on_bar(b);
  after.on_closed(0, kT0 + 900);
  after.flush();

  // Every window of the uninterrupted run: from `before` if it ended by the
  // cut, else from `after`, bit for bit.
  auto key = [](const Bar& b) { return std::make_pair(b.timeframe_s, b.open_time_s); };
  std::map<std::pair<std::uint32_t, std::int64_t>, Bar> resumed;
  for (const Bar& b : before_out.bars) resumed[key(b)] = b;
  for (const Bar& b : after_out.bars) resumed[key(b)] = b;
  std::size_t compared = 0;
  for (const Bar& w : whole_out.bars) {
    const auto it = resumed.find(key(w));
    ASSERT_NE(it, resumed.end()) << w.timeframe_s << " " << w.open_time_s - kT0;
    const Bar& r = it->second;
    EXPECT_EQ(r.open, w.open);
    EXPECT_EQ(r.high, w.high);
    EXPECT_EQ(r.low, w.low);
    EXPECT_EQ(r.close, w.close);
    EXPECT_EQ(r.vbuy, w.vbuy) << w.timeframe_s << " " << w.open_time_s - kT0;
    EXPECT_EQ(r.vsell, w.vsell);
    EXPECT_EQ(r.qbuy, w.qbuy);
    EXPECT_EQ(r.cbuy, w.cbuy);
    EXPECT_EQ(r.csell, w.csell);
    ++compared;
  }
  EXPECT_EQ(compared, 15u + 3u + 1u);  // 900 s: 15 minutes, 3 five-minute windows, the (flushed) hour
}

// The bus's restart (runtime/restart_checkpoint.h, replay_from_s): resumed
// at a point before the frontier with fold_before() of each window, the
// rollups take the children from that point on again (as a replay of the
// stream rebuilds them), including an amendment of a child between that
// point and the old frontier, and every window equals the uninterrupted
// run's, bit for bit.
TEST(RollupsResume, AReplayFromInsideTheHorizonEqualsTheUninterruptedRun) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> price(60'000, 61'000), qty(0.001, 2);
  auto child = [&](std::int64_t s) {
    Bar b;
    b.market = 0;
    b.timeframe_s = 1;
    b.open_time_s = s;
    b.open = price(rng);
    b.high = b.open + 5;
    b.low = b.open - 5;
    b.close = price(rng);
    b.vbuy = qty(rng) * b.open;
    b.vsell = qty(rng) * b.open;
    b.qbuy = qty(rng);
    b.qsell = qty(rng);
    b.cbuy = static_cast<double>(rng() % 7 + 1);
    b.csell = static_cast<double>(rng() % 7);
    return b;
  };
  std::vector<Bar> children;
  for (std::int64_t s = kT0; s < kT0 + 900; ++s)
    if (rng() % 4 != 0) children.push_back(child(s));
  const std::int64_t cut = kT0 + 437;   // the frontier at the checkpoint
  const std::int64_t from = cut - 100;  // the replay: inside the 120 s horizon
  Bar amended = child(cut - 30);        // a late trade after the checkpoint, for a sealed second
  amended.flags = kBarAmendment;
  RollupConfig rc;
  rc.max_markets = 2;
  rc.amend_horizon_s = 120;
  rc.timeframes = {Timeframe::from_seconds(60), Timeframe::from_seconds(300), Timeframe::from_seconds(3600)};

  CollectingSink whole_out;
  Rollups whole(rc, whole_out);
  for (const Bar& b : children) {
    if (b.open_time_s == cut) whole.on_bar(amended);
    whole.on_bar(b);
  }
  whole.on_closed(0, kT0 + 900);
  whole.flush();

  CollectingSink before_out, after_out;
  Rollups before(rc, before_out);
  for (const Bar& b : children)
    if (b.open_time_s < cut) before.on_bar(b);
  before.on_closed(0, cut);
  std::vector<std::optional<Bar>> open;
  for (std::size_t k = 0; k < rc.timeframes.size(); ++k) {
    open.push_back(before.fold_before(0, k, from));
    // At the frontier it is what the strategy sees; below the frozen floor
    // it cannot be split any more.
    const auto at_frontier = before.fold_before(0, k, cut);
    const auto provisional = before.provisional(0, k);
    ASSERT_TRUE(at_frontier && provisional);
    EXPECT_EQ(at_frontier->vbuy, provisional->vbuy);
    EXPECT_EQ(at_frontier->close, provisional->close);
    EXPECT_FALSE(before.fold_before(0, k, cut - 121).has_value());
  }
  ASSERT_TRUE(open[0] && open[1] && open[2]);  // 5:37 is mid-minute, mid-5-minute, mid-hour

  Rollups after(rc, after_out);
  after.resume(0, from, open);
  for (const Bar& b : children) {
    if (b.open_time_s < from) continue;
    if (b.open_time_s == cut) after.on_bar(amended);
    after.on_bar(b);
  }
  after.on_closed(0, kT0 + 900);
  after.flush();

  auto key = [](const Bar& b) { return std::make_pair(b.timeframe_s, b.open_time_s); };
  std::map<std::pair<std::uint32_t, std::int64_t>, Bar> stored, uninterrupted;
  for (const Bar& b : whole_out.bars) uninterrupted[key(b)] = b;
  for (const Bar& b : before_out.bars) stored[key(b)] = b;
  for (const Bar& b : after_out.bars) stored[key(b)] = b;
  ASSERT_EQ(stored.size(), uninterrupted.size());
  for (const auto& [k, w] : uninterrupted) {
    const auto it = stored.find(k);
    ASSERT_NE(it, stored.end()) << k.first << " " << k.second - kT0;
    test::expect_same_bar(it->second, w);
  }
  EXPECT_EQ(uninterrupted.size(), 15u + 3u + 1u);
}

// Input tags (the bus's stream sequences): each second keeps the tag of its
// first trade, amendments included; lowest_tag_from() is the floor a
// restart must replay from.
TEST(BarBuilderInputTags, EachSecondKeepsTheTagOfItsFirstTrade) {
  CollectingSink sink;
  BarBuilder builder(config(0), sink);
  constexpr std::uint64_t kNone = UINT64_MAX;
  EXPECT_EQ(builder.lowest_tag_from(0, kT0), kNone);
  builder.set_input_tag(10);
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 1, 100), 100.0, 1.0, Side::kBuy), 1));
  builder.set_input_tag(11);
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 1, 900), 100.0, 1.0, Side::kBuy), 2));
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 2, 100), 100.0, 1.0, Side::kBuy), 3));
  builder.set_input_tag(12);
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 5, 100), 100.0, 1.0, Side::kBuy), 4));
  EXPECT_EQ(builder.lowest_tag_from(0, kT0), 10u);
  EXPECT_EQ(builder.lowest_tag_from(0, kT0 + 2), 11u);
  EXPECT_EQ(builder.lowest_tag_from(0, kT0 + 3), 12u);
  EXPECT_EQ(builder.lowest_tag_from(0, kT0 + 6), kNone);
  EXPECT_EQ(builder.lowest_tag_from(1, kT0), kNone);
  // Closed seconds keep their tags (still amendable): a late trade for one
  // leaves its tag, one for an empty second opens it with the current tag.
  builder.on_status(status(FeedStatusKind::kWatermark, 0, ns(kT0 + 5, 500), ns(kT0 + 5, 500)));
  ASSERT_EQ(builder.closed_until_s(0), kT0 + 5);
  builder.set_input_tag(13);
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 2, 500), 100.0, 1.0, Side::kBuy), 5));
  EXPECT_EQ(builder.counters(0).amendments, 1u);
  EXPECT_EQ(builder.lowest_tag_from(0, kT0 + 2), 11u);
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 3, 100), 100.0, 1.0, Side::kBuy), 6));
  EXPECT_EQ(builder.counters(0).amendments, 2u);
  EXPECT_EQ(builder.lowest_tag_from(0, kT0 + 3), 12u);  // second 5's
  builder.set_input_tag(14);
  builder.on_trade(with_id(make_trade(0, ns(kT0 + 6, 100), 100.0, 1.0, Side::kBuy), 7));
  EXPECT_EQ(builder.lowest_tag_from(0, kT0 + 6), 14u);
  EXPECT_EQ(builder.lowest_tag_from(0, kT0 + 1), 10u);

  // A replay that must start above a tag: closed seconds 1 (10), 2 (11),
  // 3 (13); open 5 (12) and 6 (14).
  std::uint64_t lowest = 0;
  EXPECT_EQ(builder.replay_start_above(0, kT0, 9, lowest), kT0);  // nothing to give up
  EXPECT_EQ(lowest, 10u);
  EXPECT_EQ(builder.replay_start_above(0, kT0, 11, lowest), kT0 + 3);  // seconds 1 and 2 given up
  EXPECT_EQ(lowest, 12u);
  EXPECT_EQ(builder.replay_start_above(0, kT0, 12, lowest), kT0 + 5);  // open second 5 is 12: the frontier
  EXPECT_EQ(lowest, 12u);
  EXPECT_EQ(builder.replay_start_above(1, kT0, 12, lowest), kT0);  // a market with nothing
  EXPECT_EQ(lowest, UINT64_MAX);
}

}  // namespace
}  // namespace tickflow
