// Rollups: windows from 1 s bars (first open, max high, min low, last close,
// sums), closing by frontier and by later bars, liquidation-only children,
// alignment across midnight UTC, amendments that re-emit exactly (also after
// their window's first children left the horizon), provisional bars, the
// flush, and the property that the emitted rollups equal an offline rollup
// of the emitted 1 s bars, on randomized streams with late trades.
#include "pipeline/rollup.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

#include "pipeline/bar_builder.h"
#include "tests/unit/pipeline/bar_test_support.h"

namespace tickflow {
namespace {

using test::BarKey;
using test::CollectingSink;
using test::expect_same_bar;
using test::expect_same_bars;
using test::kMilli;
using test::kSecond;
using test::last_versions;
using test::make_trade;
using test::reference_rollup;

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09 00:00:00 UTC: midnight, a 4h and a 1d boundary

Bar second_bar(MarketId market, std::int64_t s, double open, double high, double low, double close, double vbuy,
               double vsell, double cbuy = 1, double csell = 1) {
  Bar b;
  b.market = market;
  b.open_time_s = s;
  b.timeframe_s = 1;
  b.open = open;
  b.high = high;
  b.low = low;
  b.close = close;
  b.vbuy = vbuy;
  b.vsell = vsell;
  b.cbuy = cbuy;
  b.csell = csell;
  b.qbuy = vbuy / open;
  b.qsell = vsell / open;
  return b;
}

Bar liquidation_bar(MarketId market, std::int64_t s, double lbuy, double lsell) {
  Bar b;
  b.market = market;
  b.open_time_s = s;
  b.timeframe_s = 1;
  b.lbuy = lbuy;
  b.lsell = lsell;
  return b;
}

Bar amended(Bar b) {
  b.flags = kBarAmendment;
  return b;
}

RollupConfig config_of(const char* timeframes, std::int64_t horizon_s = 600) {
  RollupConfig config;
  config.timeframes = parse_timeframe_list(timeframes);
  config.max_markets = 4;
  config.amend_horizon_s = horizon_s;
  return config;
}

TEST(Rollups, OneMinuteIsFirstOpenMaxHighMinLowLastCloseAndSums) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m"), out);
  rollups.on_bar(second_bar(1, kT0 + 5, 10, 12, 9, 11, 100, 50, 2, 1));
  rollups.on_bar(second_bar(1, kT0 + 20, 11, 15, 8, 9, 30, 70, 1, 3));
  EXPECT_TRUE(out.bars.empty());
  rollups.on_bar(second_bar(1, kT0 + 59, 13, 14, 12.5, 14, 5, 5, 1, 1));
  // A 1 s bar is emitted only for a closed second: second 59 closed, so
  // the minute did.
  ASSERT_EQ(out.bars.size(), 1u);
  const Bar& m = out.bars[0];
  EXPECT_EQ(m.timeframe_s, 60u);
  EXPECT_EQ(m.open_time_s, kT0);
  EXPECT_EQ(m.market, 1u);
  EXPECT_EQ(m.flags, kBarFinal);
  EXPECT_EQ(m.open, 10);
  EXPECT_EQ(m.high, 15);
  EXPECT_EQ(m.low, 8);
  EXPECT_EQ(m.close, 14);
  EXPECT_EQ(m.vbuy, 135);
  EXPECT_EQ(m.vsell, 125);
  EXPECT_EQ(m.cbuy, 4);
  EXPECT_EQ(m.csell, 5);
  EXPECT_EQ(m.qbuy, 100.0 / 10 + 30.0 / 11 + 5.0 / 13);
  EXPECT_EQ(rollups.counters(0).bars, 1u);
  EXPECT_EQ(rollups.counters(1).bars, 0u);
}

TEST(Rollups, FrontierClosesWindowsWithoutLaterBars) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m"), out);
  rollups.on_bar(second_bar(0, kT0 + 5, 10, 12, 9, 11, 100, 50));
  rollups.on_closed(0, kT0 + 59);
  EXPECT_TRUE(out.bars.empty());
  rollups.on_closed(0, kT0 + 60);
  ASSERT_EQ(out.bars.size(), 1u);
  EXPECT_EQ(out.bars[0].timeframe_s, 60u);
  rollups.on_closed(0, kT0 + 300);
  ASSERT_EQ(out.bars.size(), 2u);
  EXPECT_EQ(out.bars[1].timeframe_s, 300u);
  EXPECT_EQ(out.bars[1].open, 10);
  rollups.on_closed(2, kT0 + 900);  // a market that never had a bar: nothing
  EXPECT_EQ(out.bars.size(), 2u);
}

TEST(Rollups, OhlcComesOnlyFromChildrenThatHaveIt) {
  CollectingSink out;
  Rollups rollups(config_of("1m"), out);
  rollups.on_bar(liquidation_bar(0, kT0 + 1, 500, 0));
  rollups.on_bar(second_bar(0, kT0 + 2, 20, 21, 19, 20.5, 10, 10));
  rollups.on_bar(liquidation_bar(0, kT0 + 3, 0, 700));
  rollups.on_bar(second_bar(0, kT0 + 4, 22, 30, 21, 23, 10, 10));
  rollups.on_bar(liquidation_bar(0, kT0 + 5, 1, 1));
  // A window of liquidations only carries no OHLC at all.
  rollups.on_bar(liquidation_bar(0, kT0 + 61, 0, 300));
  rollups.on_bar(liquidation_bar(0, kT0 + 62, 200, 0));
  rollups.on_closed(0, kT0 + 120);
  ASSERT_EQ(out.bars.size(), 2u);
  const Bar& mixed = out.bars[0];
  EXPECT_TRUE(mixed.has_ohlc());
  EXPECT_EQ(mixed.open, 20);
  EXPECT_EQ(mixed.high, 30);
  EXPECT_EQ(mixed.low, 19);
  EXPECT_EQ(mixed.close, 23);
  EXPECT_EQ(mixed.lbuy, 501);
  EXPECT_EQ(mixed.lsell, 701);
  EXPECT_EQ(mixed.cbuy, 2);
  const Bar& liquidations = out.bars[1];
  EXPECT_FALSE(liquidations.has_ohlc());
  EXPECT_EQ(liquidations.open, 0);
  EXPECT_EQ(liquidations.high, 0);
  EXPECT_EQ(liquidations.low, 0);
  EXPECT_EQ(liquidations.close, 0);
  EXPECT_EQ(liquidations.lbuy, 200);
  EXPECT_EQ(liquidations.lsell, 300);
}

TEST(Rollups, WindowsAlignToUtcAcrossMidnight) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m,15m,30m,1h,4h,1d,7m"), out);
  rollups.on_bar(second_bar(0, kT0 - 1, 10, 10, 10, 10, 1, 1));  // 2024-08-08 23:59:59
  rollups.on_bar(second_bar(0, kT0, 20, 20, 20, 20, 2, 2));      // 2024-08-09 00:00:00
  rollups.flush();
  const auto bars = last_versions(out.bars);
  for (std::uint32_t tf : {60u, 300u, 900u, 1800u, 3600u, 14'400u, 86'400u}) {
    SCOPED_TRACE(tf);
    ASSERT_TRUE(bars.count({0, tf, kT0 - tf})) << "the day before ends at midnight";
    ASSERT_TRUE(bars.count({0, tf, kT0})) << "the new day starts at midnight";
    EXPECT_EQ(bars.at({0, tf, kT0 - tf}).close, 10);
    EXPECT_EQ(bars.at({0, tf, kT0}).open, 20);
  }
  // 7 minutes do not divide a day: the epoch-aligned window straddles
  // midnight and holds both seconds.
  const std::int64_t start = kT0 - kT0 % 420;
  ASSERT_LT(start, kT0 - 1);
  ASSERT_TRUE(bars.count({0, 420u, start}));
  EXPECT_EQ(bars.at({0, 420u, start}).open, 10);
  EXPECT_EQ(bars.at({0, 420u, start}).close, 20);
  EXPECT_EQ(bars.at({0, 420u, start}).vbuy, 3);
  EXPECT_EQ(bars.size(), 15u);
}

TEST(Rollups, AmendmentReemitsClosedWindowsAndUpdatesOpenOnes) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m"), out);
  const Bar first = second_bar(0, kT0 + 1, 10, 11, 9, 10.5, 100, 50);
  rollups.on_bar(first);
  rollups.on_bar(second_bar(0, kT0 + 2, 10.5, 12, 10, 11, 10, 20));
  rollups.on_closed(0, kT0 + 61);
  ASSERT_EQ(out.bars.size(), 1u);
  EXPECT_EQ(out.bars[0].vbuy, 110);

  // The builder amends second 1: a late trade at 8.0, the new low and open.
  Bar fixed = first;
  fixed.open = 8;
  fixed.low = 8;
  fixed.vbuy += 8;
  fixed.cbuy += 1;
  rollups.on_bar(amended(fixed));
  ASSERT_EQ(out.bars.size(), 2u) << "the closed minute again; the open 5m window only updates";
  const Bar& m = out.bars[1];
  EXPECT_EQ(m.flags, kBarAmendment);
  EXPECT_EQ(m.timeframe_s, 60u);
  EXPECT_EQ(m.open_time_s, kT0);
  EXPECT_EQ(m.open, 8);
  EXPECT_EQ(m.low, 8);
  EXPECT_EQ(m.high, 12);
  EXPECT_EQ(m.close, 11);
  EXPECT_EQ(m.vbuy, 118);
  EXPECT_EQ(m.cbuy, 3);
  EXPECT_EQ(rollups.counters(0).amendments, 1u);

  const auto five = rollups.provisional(0, 1);
  ASSERT_TRUE(five.has_value());
  EXPECT_EQ(five->flags, kBarProvisional);
  EXPECT_EQ(five->open, 8);
  EXPECT_EQ(five->vbuy, 118);

  rollups.on_closed(0, kT0 + 300);
  ASSERT_EQ(out.bars.size(), 3u);
  EXPECT_EQ(out.bars[2].timeframe_s, 300u);
  EXPECT_EQ(out.bars[2].flags, kBarFinal);
  EXPECT_EQ(out.bars[2].open, 8);
}

TEST(Rollups, LateSecondsReemitInTimeOrder) {
  CollectingSink out;
  Rollups rollups(config_of("1m"), out);
  rollups.on_bar(second_bar(0, kT0 + 10, 10, 10, 10, 10, 1, 1));
  rollups.on_bar(second_bar(0, kT0 + 50, 50, 50, 50, 50, 1, 1));
  rollups.on_closed(0, kT0 + 120);
  ASSERT_EQ(out.bars.size(), 1u);
  // A late bar for an empty second in the middle of the closed minute.
  rollups.on_bar(amended(second_bar(0, kT0 + 30, 30, 60, 5, 30, 1, 1)));
  ASSERT_EQ(out.bars.size(), 2u);
  EXPECT_EQ(out.bars[1].open, 10) << "still the earliest second's open";
  EXPECT_EQ(out.bars[1].close, 50) << "still the latest second's close";
  EXPECT_EQ(out.bars[1].high, 60);
  EXPECT_EQ(out.bars[1].low, 5);
  // A late bar for the minute that closed empty: its first emission, late.
  rollups.on_bar(amended(second_bar(0, kT0 + 90, 90, 90, 90, 90, 1, 1)));
  ASSERT_EQ(out.bars.size(), 3u);
  EXPECT_EQ(out.bars[2].open_time_s, kT0 + 60);
  EXPECT_EQ(out.bars[2].flags, kBarAmendment);
  EXPECT_EQ(out.bars[2].open, 90);
}

TEST(Rollups, AmendmentsStayExactAfterChildrenLeaveTheHorizon) {
  // A 5 s horizon: most of the minute's children are folded into its
  // checkpoint before the amendments arrive. Values with long binary
  // expansions make any change of summation order visible.
  CollectingSink out;
  Rollups rollups(config_of("1m,1h", 5), out);
  std::vector<Bar> seconds;
  for (int i = 0; i < 60; ++i) {
    const double p = 100 + 0.1 * i;
    seconds.push_back(second_bar(0, kT0 + i, p, p + 0.3, p - 0.7, p + 0.01, 0.1 * (i + 1) + 1e-3 * i * i, 0.7 / (i + 1),
                                 1 + i % 3, 2));
  }
  for (int i = 0; i <= 20; ++i) rollups.on_bar(seconds[i]);
  seconds[18].vbuy += 0.123456789;  // within the horizon (floor = 16), window still open
  seconds[18].high = 200;
  rollups.on_bar(amended(seconds[18]));
  for (int i = 21; i < 60; ++i) rollups.on_bar(seconds[i]);
  seconds[57].vsell += 1.0 / 3;  // within the horizon of the closed minute (floor = 55)
  seconds[57].low = 1;
  rollups.on_bar(amended(seconds[57]));
  seconds[40].vsell += 1;  // 20 s old: beyond the horizon, cannot be folded in exactly
  rollups.on_bar(amended(seconds[40]));
  seconds[40].vsell -= 1;
  EXPECT_EQ(rollups.stale_bars(), 1u);
  rollups.flush();

  std::map<BarKey, Bar> truth;
  for (const Bar& b : seconds) truth[{b.market, 1u, b.open_time_s}] = b;
  const auto emitted = last_versions(out.bars);
  expect_same_bar(emitted.at({0, 60u, kT0}), reference_rollup(truth, 60).at({0, 60u, kT0}), "1m");
  expect_same_bar(emitted.at({0, 3600u, kT0}), reference_rollup(truth, 3600).at({0, 3600u, kT0}), "1h");
  EXPECT_EQ(emitted.at({0, 60u, kT0}).high, 200);
  EXPECT_EQ(emitted.at({0, 60u, kT0}).low, 1);
  EXPECT_EQ(rollups.counters(0).bars, 1u);
  EXPECT_EQ(rollups.counters(0).amendments, 1u) << "only the amendment of second 57 reached the closed minute";
}

TEST(Rollups, ProvisionalIsTheOpenWindowOfTheFrontier) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m"), out);
  EXPECT_FALSE(rollups.provisional(0, 0).has_value()) << "no bar yet";
  rollups.on_bar(second_bar(0, kT0 + 1, 10, 10, 10, 10, 1, 1));
  rollups.on_bar(second_bar(0, kT0 + 2, 11, 11, 11, 11, 1, 1));
  auto one = rollups.provisional(0, 0);
  ASSERT_TRUE(one.has_value());
  EXPECT_TRUE(one->is_provisional());
  EXPECT_EQ(one->open_time_s, kT0);
  EXPECT_EQ(one->timeframe_s, 60u);
  EXPECT_EQ(one->close, 11);
  EXPECT_EQ(one->cbuy, 2);
  EXPECT_TRUE(out.bars.empty()) << "asking emits nothing";
  rollups.on_closed(0, kT0 + 60);
  EXPECT_FALSE(rollups.provisional(0, 0).has_value()) << "the new minute has no bar yet";
  ASSERT_TRUE(rollups.provisional(0, 1).has_value());
  EXPECT_EQ(rollups.provisional(0, 1)->close, 11);
  EXPECT_FALSE(rollups.provisional(0, 2).has_value()) << "no such timeframe";
  EXPECT_FALSE(rollups.provisional(9, 0).has_value()) << "no such market";
}

TEST(Rollups, FlushEmitsEveryOpenWindowOnce) {
  CollectingSink out;
  Rollups rollups(config_of("1m,1h"), out);
  rollups.on_bar(second_bar(0, kT0 + 1, 10, 10, 10, 10, 1, 1));
  rollups.on_bar(second_bar(1, kT0 + 61, 20, 20, 20, 20, 1, 1));
  EXPECT_TRUE(out.bars.empty());
  rollups.flush();
  EXPECT_EQ(out.bars.size(), 4u);
  for (const Bar& b : out.bars) EXPECT_EQ(b.flags, kBarFinal);
  rollups.flush();
  EXPECT_EQ(out.bars.size(), 4u);
}

TEST(Rollups, IgnoresWhatIsNotAOneSecondBar) {
  CollectingSink out;
  Rollups rollups(config_of("1m"), out);
  Bar b = second_bar(0, kT0, 1, 1, 1, 1, 1, 1);
  b.timeframe_s = 60;
  rollups.on_bar(b);
  b.timeframe_s = 1;
  b.market = 4;  // max_markets is 4
  rollups.on_bar(b);
  rollups.flush();
  EXPECT_TRUE(out.bars.empty());
  EXPECT_EQ(rollups.ignored_bars(), 2u);
}

TEST(Rollups, RejectsOneSecondAndRepeatedTimeframes) {
  CollectingSink out;
  RollupConfig config;
  config.timeframes = {parse_timeframe("1s")};
  EXPECT_THROW((Rollups{config, out}), std::invalid_argument);
  config.timeframes = {parse_timeframe("1m"), parse_timeframe("60s")};
  EXPECT_THROW((Rollups{config, out}), std::invalid_argument);
}

// ---- property: emitted rollups == offline rollup of emitted 1 s bars ------------------

struct RandomRun {
  std::vector<Trade> trades;  // in arrival order
  CollectingSink seconds;     // what the builder emitted
  CollectingSink rollups;     // what the rollups emitted
  BarCounters counters;
  std::uint64_t stale = 0;
};

RandomRun random_run(std::uint64_t seed, const std::vector<Timeframe>& timeframes) {
  RandomRun run;
  std::mt19937_64 rng(seed);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
  };
  BarBuilderConfig builder_config;
  builder_config.max_markets = 3;
  builder_config.amend_horizon_ns = 20 * kSecond;
  RollupConfig rollup_config;
  rollup_config.timeframes = timeframes;
  rollup_config.max_markets = 3;
  rollup_config.amend_horizon_s = 20;
  Rollups rollups(rollup_config, run.rollups);
  test::ChainSink chain(rollups);
  BarBuilder builder(builder_config, chain);

  // Exchange time moves forward in small steps, with quiet stretches that
  // cross minute and hour boundaries; 8 % of trades arrive up to 8 s late
  // (never past the 20 s horizon), so some are amendments.
  std::int64_t now = (kT0 - 1800) * kSecond + uniform(0, 999) * kMilli;
  for (int i = 0; i < 6000; ++i) {
    now += uniform(0, 2) == 0 ? uniform(0, 900) * kMilli : uniform(0, 40) * kMilli;
    if (uniform(0, 400) == 0) now += uniform(60, 1500) * kSecond;
    const std::int64_t late = uniform(0, 99) < 8 ? uniform(1, 8000) * kMilli : 0;
    Trade t = make_trade(static_cast<MarketId>(uniform(0, 2)), now - late, 100.0 + 0.01 * uniform(-500, 500),
                         0.001 * uniform(1, 5000), uniform(0, 1) ? Side::kBuy : Side::kSell, uniform(0, 99) < 4);
    t.receive_ts_ns = now + uniform(0, 900) * kMilli;  // received up to 0.9 s after the newest exchange time
    builder.advance_clock(t.receive_ts_ns);
    builder.on_trade(t);
    run.trades.push_back(t);
  }
  builder.flush();
  rollups.flush();
  run.seconds.bars = chain.bars;
  run.counters = builder.totals();
  run.stale = rollups.stale_bars();
  return run;
}

TEST(RollupProperty, EmittedRollupsEqualOfflineRollupOfEmittedSecondsOnRandomStreams) {
  const auto timeframes = parse_timeframe_list("1m,5m,15m,30m,1h,4h,7m");
  std::uint64_t amendments = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const RandomRun run = random_run(seed, timeframes);
    ASSERT_EQ(run.counters.late_drops, 0u) << "late trades stay inside the horizon";
    EXPECT_EQ(run.stale, 0u);
    amendments += run.counters.amendments;

    // 1 s bars: the last version of each equals the bar built plainly from
    // every trade, so amendments carried whole corrected bars.
    const auto seconds = last_versions(run.seconds.bars);
    expect_same_bars(seconds, test::reference_second_bars(run.trades), "1s");

    const auto rollups = last_versions(run.rollups.bars);
    for (const Timeframe& tf : timeframes) {
      std::map<BarKey, Bar> emitted;
      for (const auto& [key, bar] : rollups)
        if (std::get<1>(key) == tf.seconds()) emitted[key] = bar;
      expect_same_bars(emitted, reference_rollup(seconds, tf.seconds()), std::string(tf.name()).c_str());
    }
    // A window's first emission is final unless it closed empty and got a
    // late child; every later one is an amendment.
    std::map<BarKey, int> seen;
    for (const Bar& b : run.rollups.bars) {
      const int n = seen[{b.market, b.timeframe_s, b.open_time_s}]++;
      if (n > 0) {
        EXPECT_TRUE(b.is_amendment());
      }
    }
  }
  EXPECT_GT(amendments, 100u) << "the streams must exercise amendments";
}

}  // namespace
}  // namespace tickflow
