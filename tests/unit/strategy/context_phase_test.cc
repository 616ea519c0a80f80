// tests/unit/strategy/context_phase_test.cc: Phase 1 (strategy/context_phase.h).
#include "strategy/context_phase.h"

#include <gtest/gtest.h>

#include <cmath>

#include "strategy_test_support.h"

namespace tickflow {
namespace {

// 21 bars: the price rises 1 per bar from 100, spot buys (ds alternating
// 3, 1), perp sells (df alternating −1, −3). `sign` −1 mirrors it all.
std::vector<test::BarSpec> trending(double sign) {
  std::vector<test::BarSpec> v;
  for (int i = 0; i <= 20; ++i) {
    const bool even = i % 2 == 0;
    v.push_back({.close = 100 + sign * i, .ds = sign * (even ? 3.0 : 1.0), .df = sign * (even ? -1.0 : -3.0)});
  }
  return v;
}

TEST(StrategyContextPhase, RisingPriceWithSpotBuyingIsBullish) {
  SqueezeFlowParams p;
  TimeframeSeries s(3600, 100);
  test::push_bars(s, trending(1));
  const ContextReading r = read_context(s, p);
  ASSERT_TRUE(r.valid);
  // m_p = mean of (120 − 115) / 115, (120 − 110) / 110, (120 − 100) / 100.
  EXPECT_DOUBLE_EQ(r.momentum, (5.0 / 115 + 10.0 / 110 + 20.0 / 100) / 3);
  // ΔCs over 20 bars = 10 × 1 + 10 × 3 = 40 (bars 1..20); std of those 20 ds.
  const double sd = std::sqrt(20.0 / 19.0);  // ten 3s and ten 1s: variance 20/19
  EXPECT_NEAR(r.spot_momentum, 40 / sd, 1e-12);
  EXPECT_NEAR(r.perp_momentum, -40 / sd, 1e-12);
  EXPECT_DOUBLE_EQ(r.dominance, 0.5);
  EXPECT_FALSE(r.spot_led);
  EXPECT_GT(r.mean_d, 0);
  EXPECT_EQ(r.bias, Bias::kBullish);
}

TEST(StrategyContextPhase, FallingPriceWithSpotSellingIsBearish) {
  SqueezeFlowParams p;
  TimeframeSeries s(3600, 100);
  test::push_bars(s, trending(-1));
  const ContextReading r = read_context(s, p);
  ASSERT_TRUE(r.valid);
  EXPECT_LT(r.momentum, 0);  // signed: a fall is negative, not |change|
  EXPECT_EQ(r.bias, Bias::kBearish);
}

TEST(StrategyContextPhase, RisingPriceLedByPerpIsNeutralAndDominanceSaysWho) {
  SqueezeFlowParams p;
  TimeframeSeries s(3600, 100);
  std::vector<test::BarSpec> v;
  for (int i = 0; i <= 20; ++i) v.push_back({.close = 100.0 + i, .ds = i % 2 ? 0.5 : 1.5, .df = i % 2 ? 3.5 : 4.5});
  test::push_bars(s, v);
  const ContextReading r = read_context(s, p);
  ASSERT_TRUE(r.valid);
  EXPECT_DOUBLE_EQ(r.dominance, 20.0 / (20.0 + 80.0));
  EXPECT_LT(r.spot_momentum, r.perp_momentum);  // same spread, 4x the change
  EXPECT_EQ(r.bias, Bias::kNeutral);            // rising, but not spot-led: no bias
}

TEST(StrategyContextPhase, TooLittleHistoryVotesForNothing) {
  SqueezeFlowParams p;
  TimeframeSeries s(3600, 100);
  test::push_bars(s, test::quiet_bars(20));
  EXPECT_FALSE(read_context(s, p).valid);
}

TEST(StrategyContextPhase, TimeframesCombineByVote) {
  ContextReading bull{.valid = true, .bias = Bias::kBullish};
  ContextReading bear{.valid = true, .bias = Bias::kBearish};
  ContextReading neutral{.valid = true};
  ContextReading invalid{};
  {
    const ContextReading r[] = {bull, bull, bear};
    EXPECT_EQ(combine_context(r, 3).bias, Bias::kBullish);
  }
  {
    const ContextReading r[] = {bull, neutral, neutral};
    EXPECT_EQ(combine_context(r, 3).bias, Bias::kNeutral);  // 1 of 3 is not half
  }
  {
    const ContextReading r[] = {bear, invalid, invalid};
    EXPECT_EQ(combine_context(r, 3).bias, Bias::kBearish);  // the only valid timeframe
  }
  {
    const ContextReading r[] = {bull, bear, invalid};
    EXPECT_EQ(combine_context(r, 3).bias, Bias::kNeutral);
  }
}

}  // namespace
}  // namespace tickflow
