// tests/unit/strategy/reset_phase_test.cc: Phase 3 (strategy/reset_phase.h).
#include "strategy/reset_phase.h"

#include <gtest/gtest.h>

#include "strategy_test_support.h"

namespace tickflow {
namespace {

// 20 bars (w = min(10, 20 / 2) = 10): D = Cs (perp flat) holds 100 for 10
// bars, then falls by `step` per bar over the last 10.
TimeframeSeries converging(double step) {
  TimeframeSeries s(300, 100);
  std::vector<test::BarSpec> bars = {{.ds = 100}};
  for (int i = 1; i < 10; ++i) bars.push_back({});
  for (int i = 0; i < 10; ++i) bars.push_back({.ds = -step});
  test::push_bars(s, bars);
  return s;
}

TEST(StrategyResetPhase, ConvergenceRateAndStrength) {
  SqueezeFlowParams p;
  const TimeframeSeries s = converging(5);  // |D|: 100, 95, ..., 50 over the last 11 points
  const ResetReading r = read_reset(s, Direction::kLong, p);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.window, 10u);
  EXPECT_NEAR(r.rate, 5, 1e-12);      // −slope of a straight line falling 5 a bar
  EXPECT_DOUBLE_EQ(r.strength, 0.5);  // (100 − 50) / 100
  EXPECT_TRUE(r.converging);
  EXPECT_TRUE(r.type_a);
  EXPECT_TRUE(r.reset);
  EXPECT_DOUBLE_EQ(r.window_low, 99);  // flat closes at 100, lows 99
  EXPECT_DOUBLE_EQ(r.window_high, 101);
}

TEST(StrategyResetPhase, WeakConvergenceIsNotConverging) {
  SqueezeFlowParams p;
  const TimeframeSeries s = converging(1);  // strength 0.1 <= 0.2
  const ResetReading r = read_reset(s, Direction::kLong, p);
  EXPECT_NEAR(r.rate, 1, 1e-12);
  EXPECT_DOUBLE_EQ(r.strength, 0.1);
  EXPECT_FALSE(r.converging);
  EXPECT_FALSE(r.reset);  // flat price: no deceleration (0 < 0 fails), no explosion
}

TEST(StrategyResetPhase, ExhaustionWithSmallStrengthIsTypeA) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  // 10 wide bars (range 20), then 20 narrow ones (range 2): the last 20
  // bars' range (2) < 0.5 x the mean bar range (8): stagnant.
  std::vector<test::BarSpec> bars;
  for (int i = 0; i < 10; ++i) bars.push_back({.ds = i == 0 ? 100.0 : 0.0, .high = 110, .low = 90});
  for (int i = 0; i < 20; ++i) bars.push_back({.ds = i >= 10 ? -0.5 : 0.0});  // strength 0.05
  test::push_bars(s, bars);
  const ResetReading r = read_reset(s, Direction::kLong, p);
  EXPECT_DOUBLE_EQ(s.mean_bar_range(), 8);
  EXPECT_TRUE(r.stagnant);
  EXPECT_TRUE(r.exhausted);
  EXPECT_DOUBLE_EQ(r.strength, 0.05);
  EXPECT_FALSE(r.converging);
  EXPECT_TRUE(r.type_a);
}

TEST(StrategyResetPhase, ExplosiveMoveInTheSetupsDirectionIsTypeB) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  test::push_bars(s, test::quiet_bars(20));
  test::push_bars(s, {{.close = 103}});  // +3 % over 5 bars
  EXPECT_TRUE(read_reset(s, Direction::kLong, p).type_b);
  EXPECT_FALSE(read_reset(s, Direction::kShort, p).type_b);  // the move is against a short

  TimeframeSeries d(300, 100);
  test::push_bars(d, test::quiet_bars(20));
  test::push_bars(d, {{.ds = -10}});  // D jumps to −10 against a mean |D| of 1
  EXPECT_TRUE(read_reset(d, Direction::kShort, p).type_b);
  EXPECT_FALSE(read_reset(d, Direction::kLong, p).type_b);
}

}  // namespace
}  // namespace tickflow
