// tests/unit/strategy/squeezeflow_test.cc: the evaluator (strategy/
// squeezeflow.h) end to end on hand-built series per timeframe.
#include "strategy/squeezeflow.h"

#include <gtest/gtest.h>

#include <string>

#include "strategy_test_support.h"

namespace tickflow {
namespace {

// 5m: 20 quiet bars, 10 divergent (D climbs to 200), 5 converging (D falls
// 10 a bar), then 5 more converging bars that dip to 94 and close 101 at
// their high. Worked out in the test below.
std::vector<test::BarSpec> analysis_bars() {
  std::vector<test::BarSpec> v = test::divergent_bars(1);
  for (int i = 0; i < 5; ++i) v.push_back({.close = 100, .ds = -5, .df = 5});
  for (int i = 0; i < 5; ++i) v.push_back({.close = 101, .ds = -5, .df = 5, .open = 100, .high = 101, .low = 94});
  return v;
}

void load_long_setup(SqueezeFlow& sf) {
  test::push_bars(*sf.series(300), analysis_bars());
  test::push_bars(*sf.series(900), test::divergent_bars(1));
  test::push_bars(*sf.series(1800), test::divergent_bars(1));
  test::push_bars(*sf.series(3600), test::quiet_bars(30));
  test::push_bars(*sf.series(14400), test::quiet_bars(30));
}

TEST(SqueezeFlow, UsesEveryTimeframeOfTheSpec) {
  SqueezeFlow sf{SqueezeFlowParams{}};
  for (std::uint32_t tf : {300u, 900u, 1800u, 3600u, 14400u}) EXPECT_NE(sf.series(tf), nullptr) << tf;
  EXPECT_EQ(sf.series(60), nullptr);
  Bar bar;
  bar.timeframe_s = 60;  // not used: ignored
  sf.on_bar(bar, MarketClass::kSpot);
  bar.timeframe_s = 300;
  bar.open_time_s = test::kT0;
  bar.vbuy = 4;
  bar.cbuy = 1;
  bar.open = bar.high = bar.low = bar.close = 100;
  sf.on_bar(bar, MarketClass::kPerp);
  sf.on_closed(test::kT0 + 300);
  ASSERT_EQ(sf.series(300)->size(), 1u);
  EXPECT_DOUBLE_EQ(sf.series(300)->back(0).df, 4);
  EXPECT_EQ(sf.series(900)->size(), 0u);  // its window has not ended
}

TEST(SqueezeFlow, NoSetupAndNeutralBiasIsNoTradeThereIsNoDefaultDirection) {
  SqueezeFlow sf{SqueezeFlowParams{}};
  for (std::uint32_t tf : {300u, 900u, 1800u, 3600u, 14400u}) test::push_bars(*sf.series(tf), test::quiet_bars(40));
  const Decision& d = sf.evaluate(test::kT0);
  EXPECT_EQ(d.context.bias, Bias::kNeutral);
  EXPECT_EQ(d.divergence.setup, Setup::kNone);
  EXPECT_EQ(d.direction, Direction::kNone);
  EXPECT_DOUBLE_EQ(d.score.total, 0);
  EXPECT_EQ(d.action, Decision::kNone);
  EXPECT_FALSE(sf.in_position());
}

TEST(SqueezeFlow, DivergenceResetAndScoreGiveALongEntry) {
  SqueezeFlow sf{SqueezeFlowParams{}};
  load_long_setup(sf);
  const Decision& d = sf.evaluate(test::kT0 + 40 * 300);
  EXPECT_EQ(d.divergence.setup, Setup::kLongSetup);
  EXPECT_EQ(d.divergence.timeframe_index, 0);  // 15m
  EXPECT_TRUE(d.reset.reset_detected);
  EXPECT_TRUE(d.reset.per_timeframe[0].converging);  // 5m: |D| 200 -> 100, strength 0.5
  // reset 3.5 (80 % + spot deceleration 5/10 = 0.5: 40 %) + absorption 2.5
  // (5 up-closes at the high) + failed breakdown 1.2 (5 wicks through 99)
  // + bias 0.2 (neutral context only) = 7.4; x 1.2 = 8.88.
  EXPECT_DOUBLE_EQ(d.score.reset, 3.5);
  EXPECT_DOUBLE_EQ(d.score.absorption, 2.5);
  EXPECT_NEAR(d.score.failed_breakdown, 1.2, 1e-12);
  EXPECT_NEAR(d.score.bias, 0.2, 1e-12);
  EXPECT_NEAR(d.score.total, 8.88, 1e-12);
  EXPECT_EQ(d.sizing.tier, Tier::kPremium);
  EXPECT_EQ(d.action, Decision::kLong);
  EXPECT_EQ(d.direction, Direction::kLong);
  const std::string why(d.reasoning.view());
  EXPECT_NE(why.find("P2 15m LONG_SETUP STABLE"), std::string::npos) << why;
  EXPECT_NE(why.find("P3 5m A:conv 0.50"), std::string::npos) << why;
  EXPECT_NE(why.find("P4 8.88=reset 3.50+abs 2.50+fb 1.20+bias 0.20 x1.2 PREMIUM"), std::string::npos) << why;
  ASSERT_TRUE(sf.in_position());
  EXPECT_DOUBLE_EQ(sf.position().entry_price, 101);
  EXPECT_DOUBLE_EQ(sf.position().reset_low, 94);

  const Signal s = sf.make_signal(d, "BTCUSDT", "BTC");
  EXPECT_EQ(s.action, SignalAction::kLong);
  EXPECT_DOUBLE_EQ(s.confidence, 0.9);
  EXPECT_DOUBLE_EQ(s.position_size_factor, 1.5);
  EXPECT_DOUBLE_EQ(s.leverage, 5);
  EXPECT_DOUBLE_EQ(s.divergence, 100);  // D after convergence
  EXPECT_EQ(std::string(s.reasoning), why);

  // While in the position, a second evaluation does not enter again.
  EXPECT_EQ(sf.evaluate(test::kT0 + 40 * 300 + 1).action, Decision::kNone);
}

TEST(SqueezeFlow, AnExitClosesAndStartsTheCooldown) {
  SqueezeFlow sf{SqueezeFlowParams{}};
  load_long_setup(sf);
  const std::int64_t t = test::kT0 + 40 * 300;
  ASSERT_EQ(sf.evaluate(t).action, Decision::kLong);
  // The 1h context turns bearish: price falling, spot selling into perp buying.
  std::vector<test::BarSpec> bearish;
  for (int i = 0; i <= 20; ++i)
    bearish.push_back({.close = 100.0 - i, .ds = i % 2 ? -1.0 : -3.0, .df = i % 2 ? 3.0 : 1.0});
  test::push_bars(*sf.series(3600), bearish);
  const Decision& d = sf.evaluate(t + 10);
  EXPECT_EQ(d.exit_bias, Bias::kBearish);
  EXPECT_EQ(d.action, Decision::kClose);
  EXPECT_EQ(d.exit, ExitReason::kTimeframeInvalidation);
  EXPECT_EQ(std::string(d.reasoning.view()), "P5 exit timeframe_invalidation LONG from 101.00 at 101.00; held 10s");
  EXPECT_FALSE(sf.in_position());
  EXPECT_EQ(sf.make_signal(d, "BTCUSDT", "BTC").action, SignalAction::kClose);

  // Same setup, 14 min later: the 15 min cooldown holds it back.
  const Decision& blocked = sf.evaluate(t + 10 + 899);
  EXPECT_EQ(blocked.action, Decision::kNone);
  EXPECT_EQ(blocked.blocked, Decision::kCooldown);
  EXPECT_EQ(sf.evaluate(t + 10 + 900).action, Decision::kLong);
}

TEST(SqueezeFlow, AtMostNSignalsPerHour) {
  SqueezeFlowParams p;
  p.max_signals_per_hour = 2;
  SqueezeFlow sf{p};
  load_long_setup(sf);
  const std::int64_t t = test::kT0 + 40 * 300;
  ASSERT_EQ(sf.evaluate(t).action, Decision::kLong);
  sf.cancel_position();
  ASSERT_EQ(sf.evaluate(t + 1).action, Decision::kLong);
  sf.cancel_position();
  EXPECT_EQ(sf.evaluate(t + 2).blocked, Decision::kRateLimit);
  EXPECT_EQ(sf.evaluate(t + 3600).action, Decision::kLong);
}

TEST(SqueezeFlow, MinEntryScoreIsConfigurable) {
  SqueezeFlowParams p;
  p.min_entry_score = 9.0;
  SqueezeFlow sf{p};
  load_long_setup(sf);
  const Decision& d = sf.evaluate(test::kT0 + 40 * 300);
  EXPECT_NEAR(d.score.total, 8.88, 1e-12);
  EXPECT_EQ(d.action, Decision::kNone);
}

TEST(SqueezeFlow, BadParamsAreRejected) {
  SqueezeFlowParams p;
  p.history_bars = 40;  // the structure break reads 50 bars
  EXPECT_THROW(SqueezeFlow{p}, std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
