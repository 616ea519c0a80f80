// tests/unit/strategy/divergence_phase_test.cc: Phase 2 (strategy/divergence_phase.h).
#include "strategy/divergence_phase.h"

#include <gtest/gtest.h>

#include <cmath>

#include "strategy_test_support.h"

namespace tickflow {
namespace {

TEST(StrategyDivergencePhase, SpotUpPerpDownOverTenBarsIsALongSetup) {
  SqueezeFlowParams p;
  TimeframeSeries s(900, 100);
  test::push_bars(s, test::divergent_bars(1));
  const DivergenceReading r = read_divergence(s, p);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.price, PriceState::kStable);
  // ΔCs(10) = 100; the last 20 ds are five +1, five −1 and ten +10: sample
  // std sqrt(510 / 19); z = 100 / (std · √10).
  const double z = 100 / (std::sqrt(510.0 / 19.0) * std::sqrt(10.0));
  EXPECT_NEAR(r.z_spot, z, 1e-12);
  EXPECT_NEAR(r.z_spot, 6.103679378930737, 1e-12);
  EXPECT_NEAR(r.z_perp, -z, 1e-12);
  EXPECT_EQ(r.pattern, CvdPattern::kSpotUpPerpDown);
  // |D_t| = 200 against the previous 20 |D| (five 2s, six 0s, 20..180): mean 45.5.
  EXPECT_DOUBLE_EQ(r.abs_d, 200);
  EXPECT_DOUBLE_EQ(r.abs_d_mean, 45.5);
  EXPECT_NEAR(r.significance_z, 2.4991487912589485, 1e-12);
  EXPECT_TRUE(r.significant);
  EXPECT_EQ(r.setup, Setup::kLongSetup);
  EXPECT_TRUE(r.has_divergence);
}

TEST(StrategyDivergencePhase, AFallingMarketCanGiveAShortSetup) {
  SqueezeFlowParams p;
  TimeframeSeries s(900, 100);
  test::push_bars(s, test::divergent_bars(-1, -0.3));  // 100 -> 97: −3 %
  const DivergenceReading r = read_divergence(s, p);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.price, PriceState::kFalling);
  EXPECT_NEAR(r.price_move, -0.03, 1e-12);
  EXPECT_EQ(r.pattern, CvdPattern::kSpotDownPerpUp);
  EXPECT_EQ(r.setup, Setup::kShortSetup);
  EXPECT_TRUE(r.has_divergence);
}

TEST(StrategyDivergencePhase, SpotBuyingIntoAFallingPriceIsNoSetup) {
  SqueezeFlowParams p;
  TimeframeSeries s(900, 100);
  test::push_bars(s, test::divergent_bars(1, -0.3));
  const DivergenceReading r = read_divergence(s, p);
  EXPECT_EQ(r.pattern, CvdPattern::kSpotUpPerpDown);
  EXPECT_EQ(r.price, PriceState::kFalling);
  EXPECT_EQ(r.setup, Setup::kNone);
  EXPECT_FALSE(r.has_divergence);
}

TEST(StrategyDivergencePhase, SignificanceIsAZScoreAndAMultipleOfTheMean) {
  SqueezeFlowParams p;
  // Perp flat; Cs alternates 10, 12 for 20 bars, then jumps.
  std::vector<test::BarSpec> bars = {{.ds = 10}};
  for (int i = 1; i < 21; ++i) bars.push_back({.ds = i % 2 ? 2.0 : -2.0});
  // Previous 20 |D|: ten 12s and ten 10s: mean 11, std sqrt(20 / 19).
  TimeframeSeries s(900, 100);
  test::push_bars(s, bars);
  test::push_bars(s, {{.ds = 16 - s.cs(0)}});  // |D_t| = 16: z = 4.87, but 16 < 1.5 x 11
  DivergenceReading r = read_divergence(s, p);
  EXPECT_DOUBLE_EQ(r.abs_d, 16);
  EXPECT_DOUBLE_EQ(r.abs_d_mean, 11);
  EXPECT_NEAR(r.significance_z, 5 / std::sqrt(20.0 / 19.0), 1e-12);
  EXPECT_FALSE(r.significant);

  TimeframeSeries s2(900, 100);
  test::push_bars(s2, bars);
  test::push_bars(s2, {{.ds = 17 - s2.cs(0)}});  // 17 >= 16.5
  r = read_divergence(s2, p);
  EXPECT_NEAR(r.significance_z, 6 / std::sqrt(20.0 / 19.0), 1e-12);
  EXPECT_TRUE(r.significant);
  EXPECT_FALSE(r.has_divergence);  // significant, but no setup: perp never moved
}

TEST(StrategyDivergencePhase, QuietFlowsAreBalancedAndOneSidedFlowLeads) {
  SqueezeFlowParams p;
  TimeframeSeries s(900, 100);
  test::push_bars(s, test::quiet_bars(30));
  EXPECT_EQ(read_divergence(s, p).pattern, CvdPattern::kBalanced);
  test::push_bars(s, {{.ds = 30}});
  EXPECT_EQ(read_divergence(s, p).pattern, CvdPattern::kSpotLeading);
}

TEST(StrategyDivergencePhase, ConflictingTimeframesGiveNoSetup) {
  DivergenceReading up{.valid = true, .setup = Setup::kLongSetup, .has_divergence = true};
  DivergenceReading down{.valid = true, .setup = Setup::kShortSetup, .has_divergence = true};
  DivergenceReading none{.valid = true};
  {
    const DivergenceReading r[] = {none, up};
    const DivergenceResult c = combine_divergence(r, 2);
    EXPECT_EQ(c.setup, Setup::kLongSetup);
    EXPECT_EQ(c.timeframe_index, 1);
  }
  {
    const DivergenceReading r[] = {up, down};
    EXPECT_FALSE(combine_divergence(r, 2).has_divergence);
  }
}

}  // namespace
}  // namespace tickflow
