// tests/unit/strategy/score_test.cc: Phase 4 (strategy/score.h) and the
// tiers and sizing (strategy/sizing.h).
#include "strategy/score.h"

#include <gtest/gtest.h>

#include "strategy/sizing.h"
#include "strategy_test_support.h"

namespace tickflow {
namespace {

// 20 bars. Bars [−20, −10): |ds| 10. Bars [−10, −5): ds ±8, the range
// 95..105. The last 5: ds +2, df +1, each opens 100, dips to 94 (through
// the range's low) and closes 101 at its high, back inside the range.
TimeframeSeries textbook_long() {
  TimeframeSeries s(300, 100);
  std::vector<test::BarSpec> bars;
  for (int i = 0; i < 10; ++i) bars.push_back({.close = 100, .ds = i % 2 ? -10.0 : 10.0, .high = 105, .low = 95});
  for (int i = 0; i < 5; ++i) bars.push_back({.close = 100, .ds = i % 2 ? -8.0 : 8.0, .high = 105, .low = 95});
  for (int i = 0; i < 5; ++i) bars.push_back({.close = 101, .ds = 2, .df = 1, .open = 100, .high = 101, .low = 94});
  test::push_bars(s, bars);
  return s;
}

TEST(StrategyScore, EveryComponentAtItsCapAndTheTotalClampedToTen) {
  SqueezeFlowParams p;
  const TimeframeSeries s = textbook_long();
  ScoreInputs in;
  in.direction = Direction::kLong;
  in.reset.strength = 0.5;  // 80 %
  in.reset_detected = true;
  in.bias = Bias::kBullish;
  const ScoreBreakdown b = compute_score(s, in, p);
  EXPECT_DOUBLE_EQ(b.spot_deceleration, 0.2);  // mean |ds| 2 / 10
  EXPECT_DOUBLE_EQ(b.reset, 3.5);              // 80 + 40 % -> capped
  EXPECT_EQ(b.directional_closes, 5);
  EXPECT_EQ(b.favourable_closes, 5);
  EXPECT_DOUBLE_EQ(b.absorption, 2.5);  // 75 + 100 % -> capped
  EXPECT_EQ(b.wicks, 5);
  EXPECT_DOUBLE_EQ(b.failed_breakdown, 2.0);  // 60 + 40 %
  EXPECT_DOUBLE_EQ(b.bias, 2.0);              // 50 + 40 + 20 % -> capped
  EXPECT_DOUBLE_EQ(b.total, 10.0);            // 10 x 1.2 = 12, clamped
  EXPECT_TRUE(b.flags & kScoreClamped);
  EXPECT_TRUE(b.flags & kScoreResetBoost);
}

TEST(StrategyScore, MirroredDirectionScoresOnlyWhatPointsItsWay) {
  SqueezeFlowParams p;
  const TimeframeSeries s = textbook_long();
  ScoreInputs in;
  in.direction = Direction::kShort;
  in.reset.strength = 0.05;  // 30 %
  in.bias = Bias::kBullish;  // disagrees
  const ScoreBreakdown b = compute_score(s, in, p);
  EXPECT_NEAR(b.reset, 0.7 * 3.5, 1e-12);           // 30 + 40 %
  EXPECT_DOUBLE_EQ(b.absorption, 0);                // up-closes at the high favour no short
  EXPECT_EQ(b.wicks, 0);                            // no high pierced 105
  EXPECT_DOUBLE_EQ(b.failed_breakdown, 0.4 * 2.0);  // calmer delta only
  EXPECT_DOUBLE_EQ(b.bias, 0.4 * 2.0);              // price moved with spot only
  EXPECT_NEAR(b.total, 4.05, 1e-12);
  EXPECT_FALSE(b.flags & kScoreClamped);
}

TEST(StrategyScore, NoDirectionOrTooLittleHistoryScoresZero) {
  SqueezeFlowParams p;
  const TimeframeSeries s = textbook_long();
  EXPECT_DOUBLE_EQ(compute_score(s, ScoreInputs{}, p).total, 0);
  TimeframeSeries shorter(300, 100);
  test::push_bars(shorter, test::quiet_bars(19));
  EXPECT_DOUBLE_EQ(compute_score(shorter, ScoreInputs{.direction = Direction::kLong}, p).total, 0);
}

TEST(StrategyScore, OpenInterestAdjustsOnlyWhenEnabled) {
  SqueezeFlowParams p;
  const TimeframeSeries s = textbook_long();
  ScoreInputs in;
  in.direction = Direction::kShort;
  in.reset.strength = 0.05;
  in.bias = Bias::kBullish;
  in.oi_change = 0.12;
  const double base = compute_score(s, in, p).total;
  p.use_open_interest = true;
  EXPECT_DOUBLE_EQ(compute_score(s, in, p).total, base + 2);
  in.oi_change = -0.05;
  EXPECT_DOUBLE_EQ(compute_score(s, in, p).total, base - 1);
}

TEST(StrategySizing, TiersAndSizingByScore) {
  EXPECT_EQ(sizing_for(3.99).tier, Tier::kNone);
  const Sizing medium = sizing_for(4.0);
  EXPECT_EQ(medium.tier, Tier::kMedium);
  EXPECT_DOUBLE_EQ(medium.confidence, 0.6);
  EXPECT_DOUBLE_EQ(medium.size_factor, 0.5);
  EXPECT_DOUBLE_EQ(medium.leverage, 2);
  const Sizing high = sizing_for(7.9);
  EXPECT_EQ(high.tier, Tier::kHigh);
  EXPECT_DOUBLE_EQ(high.confidence, 0.75);
  EXPECT_DOUBLE_EQ(high.size_factor, 1.0);
  EXPECT_DOUBLE_EQ(high.leverage, 3);
  const Sizing premium = sizing_for(8.0);
  EXPECT_EQ(premium.tier, Tier::kPremium);
  EXPECT_DOUBLE_EQ(premium.confidence, 0.9);
  EXPECT_DOUBLE_EQ(premium.size_factor, 1.5);
  EXPECT_DOUBLE_EQ(premium.leverage, 5);

  SqueezeFlowParams p;
  // 10 000 x 2 % x 1.5 x 5 = 1 500 USD of BTC at 50 000.
  EXPECT_DOUBLE_EQ(position_quantity(10'000, 10'000, 50'000, premium, p), 0.03);
  // 1 000 000 x 2 % x 1.5 x 5 = 150 000, capped at 20 % x 10 000 x 5 = 10 000.
  EXPECT_DOUBLE_EQ(position_quantity(1'000'000, 10'000, 50'000, premium, p), 0.2);
  EXPECT_DOUBLE_EQ(position_quantity(10'000, 10'000, 0, premium, p), 0);
}

}  // namespace
}  // namespace tickflow
