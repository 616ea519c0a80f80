// Rollups over 1 m base bars (the backtester's 1m-base markets, with
// RollupConfig::minute_bases; live rollups keep ignoring them): a 1 m bar
// is emitted as the market's 1m bar and folds into 5m/15m/1h exactly as the
// same minute's 1 s bars would; provisional() and amendments work on 1 m
// children; timeframes that are not whole minutes are not produced; a market
// that mixes 1 s and 1 m bars is refused and counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "pipeline/rollup.h"
#include "tests/unit/pipeline/bar_test_support.h"

namespace tickflow {
namespace {

using test::BarKey;
using test::CollectingSink;
using test::expect_same_bar;
using test::last_versions;

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09 00:00:00 UTC, a 4h boundary

RollupConfig config_of(const char* timeframes, std::int64_t horizon_s = 600) {
  RollupConfig config;
  config.timeframes = parse_timeframe_list(timeframes);
  config.max_markets = 4;
  config.amend_horizon_s = horizon_s;
  config.minute_bases = true;
  return config;
}

Bar minute_bar(MarketId market, std::int64_t s, double open, double high, double low, double close, double vbuy,
               double vsell, double cbuy = 1, double csell = 1) {
  Bar b;
  b.market = market;
  b.open_time_s = s;
  b.timeframe_s = 60;
  b.open = open;
  b.high = high;
  b.low = low;
  b.close = close;
  b.vbuy = vbuy;
  b.vsell = vsell;
  b.cbuy = cbuy;
  b.csell = csell;
  b.qbuy = vbuy / 4;
  b.qsell = vsell / 4;
  return b;
}

// Random 1 s bars over `seconds` seconds, some seconds empty, some
// liquidation-only. With `dyadic` every value is a small multiple of 1/8, so
// every sum is exact and the order of folding cannot matter.
std::vector<Bar> random_seconds(MarketId market, std::int64_t from, std::int64_t seconds, bool dyadic,
                                std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> eighths(1, 8000);
  std::uniform_real_distribution<double> real(0.001, 1000.0);
  std::uniform_int_distribution<int> kind(0, 9);
  auto value = [&] { return dyadic ? eighths(rng) / 8.0 : real(rng); };
  std::vector<Bar> out;
  for (std::int64_t s = from; s < from + seconds; ++s) {
    const int k = kind(rng);
    if (k < 3) continue;  // no trade this second
    Bar b;
    b.market = market;
    b.open_time_s = s;
    b.timeframe_s = 1;
    if (k == 3) {  // liquidations only
      b.lbuy = value();
      b.lsell = value();
    } else {
      b.open = value();
      b.close = value();
      b.high = std::max(b.open, b.close) + value();
      b.low = std::min(b.open, b.close) - value();
      b.vbuy = value();
      b.vsell = value();
      b.cbuy = eighths(rng) % 5 + 1;
      b.csell = eighths(rng) % 5;
      b.qbuy = value();
      b.qsell = value();
      if (k == 9) b.lsell = value();
    }
    out.push_back(b);
  }
  return out;
}

// The offline rollup of any children, in time order: the left fold the
// header promises.
std::map<BarKey, Bar> fold_offline(const std::vector<Bar>& children, std::uint32_t timeframe_s) {
  std::map<BarKey, Bar> out;
  for (const Bar& c : children) {
    const std::int64_t start = floor_div(c.open_time_s, timeframe_s) * timeframe_s;
    auto [it, fresh] = out.try_emplace({c.market, timeframe_s, start});
    Bar& acc = it->second;
    if (fresh) {
      acc.market = c.market;
      acc.timeframe_s = timeframe_s;
      acc.open_time_s = start;
    }
    if (c.has_ohlc()) {
      if (acc.has_ohlc()) {
        acc.high = std::max(acc.high, c.high);
        acc.low = std::min(acc.low, c.low);
      } else {
        acc.open = c.open;
        acc.high = c.high;
        acc.low = c.low;
      }
      acc.close = c.close;
    }
    acc.vbuy += c.vbuy;
    acc.vsell += c.vsell;
    acc.cbuy += c.cbuy;
    acc.csell += c.csell;
    acc.lbuy += c.lbuy;
    acc.lsell += c.lsell;
    acc.qbuy += c.qbuy;
    acc.qsell += c.qsell;
  }
  return out;
}

TEST(RollupsMinuteBase, AMinuteBarIsEmittedAsTheMarketsOneMinuteBar) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m"), out);
  const Bar m = minute_bar(2, kT0 + 120, 10, 12, 9, 11, 100, 50, 3, 2);
  rollups.on_bar(m);
  EXPECT_EQ(rollups.base_seconds(2), 60u);
  ASSERT_EQ(out.bars.size(), 1u) << "the frontier is at open + 60: the minute is closed";
  expect_same_bar(out.bars[0], m);
  EXPECT_EQ(rollups.counters(0).bars, 1u);
  EXPECT_EQ(rollups.counters(1).bars, 0u) << "5m window still open";
}

TEST(RollupsMinuteBase, MinuteBarsGiveExactlyTheRollupsOfTheirSeconds) {
  // Live path: 1 s bars -> 1m, 5m, 15m, 1h. Backtest path: the 1m bars of
  // the live path, fed as base bars -> the same timeframes. Dyadic values
  // make every sum exact, so the two must agree bit for bit.
  const char* timeframes = "1m,5m,15m,1h";
  CollectingSink from_seconds;
  Rollups live(config_of(timeframes), from_seconds);
  for (const Bar& b : random_seconds(0, kT0 - 1800, 3 * 3600, /*dyadic=*/true, 7)) live.on_bar(b);
  live.flush();

  CollectingSink from_minutes;
  Rollups backtest(config_of(timeframes), from_minutes);
  const std::vector<Bar> minutes = from_seconds.of_timeframe(60);
  ASSERT_GT(minutes.size(), 170u);
  for (const Bar& m : minutes) backtest.on_bar(m);
  backtest.flush();

  for (std::uint32_t tf : {60u, 300u, 900u, 3600u}) {
    const std::vector<Bar> want = from_seconds.of_timeframe(tf);
    const std::vector<Bar> got = from_minutes.of_timeframe(tf);
    ASSERT_EQ(got.size(), want.size()) << "timeframe " << tf;
    for (std::size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE(testing::Message() << "timeframe " << tf << " bar " << i);
      expect_same_bar(got[i], want[i]);
    }
  }
  EXPECT_EQ(backtest.mixed_base_bars(), 0u);
  EXPECT_EQ(backtest.ignored_bars(), 0u);
}

TEST(RollupsMinuteBase, RollupsOfMinuteBarsAreTheLeftFoldOfTheMinutes) {
  // Arbitrary doubles: the promise is the fold of the 1 m children in time
  // order (how the "equivalent 1 s bars summed into minutes" roll up).
  CollectingSink seconds_out;
  Rollups minutes_maker(config_of("1m"), seconds_out);
  for (const Bar& b : random_seconds(1, kT0, 2 * 3600 + 77, /*dyadic=*/false, 11)) minutes_maker.on_bar(b);
  minutes_maker.flush();
  const std::vector<Bar> minutes = seconds_out.of_timeframe(60);

  CollectingSink out;
  Rollups rollups(config_of("5m,15m,1h"), out);
  for (const Bar& m : minutes) rollups.on_bar(m);
  rollups.flush();
  for (std::uint32_t tf : {300u, 900u, 3600u}) {
    const auto want = fold_offline(minutes, tf);
    const auto got = last_versions(out.of_timeframe(tf));
    ASSERT_EQ(got.size(), want.size()) << "timeframe " << tf;
    for (const auto& [key, bar] : want) {
      SCOPED_TRACE(testing::Message() << "timeframe " << tf << " open " << std::get<2>(key));
      ASSERT_TRUE(got.count(key));
      expect_same_bar(got.at(key), bar);
    }
  }
}

TEST(RollupsMinuteBase, ProvisionalCoversTheMinutesSoFar) {
  CollectingSink out;
  Rollups rollups(config_of("30s,1m,5m"), out);
  EXPECT_FALSE(rollups.provisional(0, 2).has_value()) << "no bar yet";
  const Bar a = minute_bar(0, kT0, 10, 12, 9, 11, 100, 50);
  const Bar b = minute_bar(0, kT0 + 60, 11, 15, 8, 9, 30, 70, 2, 3);
  const Bar c = minute_bar(0, kT0 + 180, 9, 10, 7.5, 8, 5, 6);  // minute 2 had no trade
  for (const Bar& m : {a, b, c}) rollups.on_bar(m);

  const auto five = rollups.provisional(0, 2);
  ASSERT_TRUE(five.has_value());
  Bar want = minute_bar(0, kT0, 10, 15, 7.5, 8, 135, 126, 4, 5);
  want.timeframe_s = 300;
  want.flags = kBarProvisional;
  want.qbuy = a.qbuy + b.qbuy + c.qbuy;
  want.qsell = a.qsell + b.qsell + c.qsell;
  expect_same_bar(*five, want);
  EXPECT_FALSE(rollups.provisional(0, 1).has_value()) << "the frontier's minute (open + 240) has no child yet";
  EXPECT_FALSE(rollups.provisional(0, 0).has_value()) << "30s is not built from 1 m bars";
  EXPECT_TRUE(out.of_timeframe(30).empty());
  EXPECT_EQ(out.of_timeframe(60).size(), 3u);
  EXPECT_TRUE(out.of_timeframe(300).empty());

  rollups.on_bar(minute_bar(0, kT0 + 240, 8, 9, 8, 9, 1, 1));  // the window's last minute closes it
  ASSERT_EQ(out.of_timeframe(300).size(), 1u);
  EXPECT_FALSE(rollups.provisional(0, 2).has_value()) << "the new 5m window holds no minute yet";
}

TEST(RollupsMinuteBase, AnAmendedMinuteReEmitsItsClosedWindows) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m"), out);
  for (int i = 0; i < 6; ++i) rollups.on_bar(minute_bar(0, kT0 + 60 * i, 10, 11, 9, 10, 1, 1));
  ASSERT_EQ(out.of_timeframe(300).size(), 1u);
  Bar late = minute_bar(0, kT0 + 120, 10, 20, 9, 10, 5, 1);
  late.flags = kBarAmendment;
  rollups.on_bar(late);
  const auto five = out.of_timeframe(300);
  ASSERT_EQ(five.size(), 2u);
  EXPECT_TRUE(five[1].is_amendment());
  EXPECT_EQ(five[1].high, 20);
  EXPECT_EQ(five[1].vbuy, 9);
  const auto one = out.of_timeframe(60);
  ASSERT_EQ(one.size(), 7u);
  EXPECT_TRUE(one.back().is_amendment());
  EXPECT_EQ(one.back().open_time_s, kT0 + 120);
  EXPECT_EQ(rollups.counters(1).amendments, 1u);
}

TEST(RollupsMinuteBase, LiveRollupsStillIgnoreMinuteBars) {
  CollectingSink out;
  RollupConfig config = config_of("1m,5m");
  config.minute_bases = false;  // the default
  Rollups rollups(config, out);
  rollups.on_bar(minute_bar(0, kT0, 10, 11, 9, 10, 1, 1));
  rollups.flush();
  EXPECT_TRUE(out.bars.empty());
  EXPECT_EQ(rollups.ignored_bars(), 1u);
  EXPECT_EQ(rollups.mixed_base_bars(), 0u);
  EXPECT_EQ(rollups.base_seconds(0), 0u);
}

TEST(RollupsMinuteBase, AMarketThatMixesBasesIsRefusedAndCounted) {
  CollectingSink out;
  Rollups rollups(config_of("1m,5m"), out);
  rollups.on_bar(minute_bar(0, kT0, 10, 11, 9, 10, 1, 1));
  Bar second;
  second.market = 0;
  second.open_time_s = kT0 + 60;
  second.timeframe_s = 1;
  second.open = second.high = second.low = second.close = 10;
  second.cbuy = 1;
  rollups.on_bar(second);  // a 1 s bar for a 1m-base market
  EXPECT_EQ(rollups.mixed_base_bars(), 1u);

  Bar other = second;
  other.market = 1;
  rollups.on_bar(other);                                       // market 1: 1 s base
  rollups.on_bar(minute_bar(1, kT0 + 120, 1, 1, 1, 1, 1, 1));  // refused
  EXPECT_EQ(rollups.mixed_base_bars(), 2u);
  EXPECT_EQ(rollups.base_seconds(0), 60u);
  EXPECT_EQ(rollups.base_seconds(1), 1u);

  rollups.on_bar(minute_bar(0, kT0 + 90, 1, 1, 1, 1, 1, 1));  // not aligned to the minute
  EXPECT_EQ(rollups.ignored_bars(), 1u);
  EXPECT_EQ(rollups.mixed_base_bars(), 2u);

  rollups.flush();
  // Market 0: its one minute; market 1: the 1m window of its 1 s bar only.
  ASSERT_EQ(out.of_timeframe(60).size(), 2u);
  EXPECT_EQ(out.of_timeframe(60)[0].market, 0u);
  EXPECT_EQ(out.of_timeframe(60)[1].market, 1u);
  EXPECT_EQ(out.of_timeframe(60)[1].vbuy, 0);
  EXPECT_EQ(out.of_timeframe(300).size(), 2u);
}

}  // namespace
}  // namespace tickflow
