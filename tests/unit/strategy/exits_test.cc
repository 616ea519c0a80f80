// tests/unit/strategy/exits_test.cc: Phase 5 (strategy/exits.h), each exit
// on a series built to fire it and nothing before it.
#include "strategy/exits.h"

#include <gtest/gtest.h>

#include "strategy_test_support.h"

namespace tickflow {
namespace {

// A long entered at the newest bar: no CVD move since entry, the reset
// window far away (range break off), entry price 100.
OpenPosition long_at(const TimeframeSeries& s, Direction d = Direction::kLong) {
  OpenPosition pos;
  pos.direction = d;
  pos.entry_price = 100;
  pos.entry_cum_ds = s.back(0).cum_ds;
  pos.entry_cum_df = s.back(0).cum_df;
  pos.reset_low = 0;
  pos.reset_high = 1e9;
  return pos;
}

TEST(StrategyExits, NothingFiresOnAQuietMarket) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  test::push_bars(s, test::quiet_bars(60));
  EXPECT_EQ(check_exits(s, long_at(s), Bias::kNeutral, p), ExitReason::kNone);
  EXPECT_EQ(check_exits(s, long_at(s), Bias::kBullish, p), ExitReason::kNone);
}

TEST(StrategyExits, FlowReversal) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  test::push_bars(s, test::quiet_bars(60));
  const OpenPosition pos = long_at(s);
  // Spot sells 3 a bar, perp buys 3 a bar: against a long, and 3 >
  // 0.5 x std(ds over 20 bars).
  test::push_bars(s, {{.ds = -3, .df = 3}});
  EXPECT_EQ(check_exits(s, pos, Bias::kNeutral, p), ExitReason::kFlowReversal);
  // The same flows favour a short.
  EXPECT_EQ(check_exits(s, long_at(s, Direction::kShort), Bias::kNeutral, p), ExitReason::kNone);
}

TEST(StrategyExits, RangeBreakBothWays) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  test::push_bars(s, test::quiet_bars(60));
  test::push_bars(s, {{.close = 99, .ds = 1, .df = -1}});
  OpenPosition pos = long_at(s);
  pos.reset_low = 99.5;
  EXPECT_EQ(check_exits(s, pos, Bias::kNeutral, p), ExitReason::kRangeBreak);

  TimeframeSeries up(300, 100);
  test::push_bars(up, test::quiet_bars(60));
  test::push_bars(up, {{.close = 101, .ds = 1, .df = -1}});
  OpenPosition short_pos = long_at(up, Direction::kShort);
  short_pos.reset_high = 100.5;
  EXPECT_EQ(check_exits(up, short_pos, Bias::kNeutral, p), ExitReason::kRangeBreak);
}

TEST(StrategyExits, CvdInvalidation) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  test::push_bars(s, test::quiet_bars(40));
  std::vector<test::BarSpec> selling(20, test::BarSpec{.ds = -1, .df = -1});
  test::push_bars(s, selling);
  EXPECT_EQ(check_exits(s, long_at(s), Bias::kNeutral, p), ExitReason::kCvdInvalidation);
  EXPECT_EQ(check_exits(s, long_at(s, Direction::kShort), Bias::kNeutral, p), ExitReason::kNone);
}

TEST(StrategyExits, StructureBreak) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  test::push_bars(s, test::quiet_bars(60));  // lows 99, median range 2
  test::push_bars(s, {{.close = 96.5, .ds = 1, .df = -1, .open = 100, .high = 100, .low = 96.4}});
  EXPECT_EQ(check_exits(s, long_at(s), Bias::kNeutral, p), ExitReason::kStructureBreak);
  // 97 is exactly min low (99) − median range (2): not below it.
  TimeframeSeries edge(300, 100);
  test::push_bars(edge, test::quiet_bars(60));
  test::push_bars(edge, {{.close = 97, .ds = 1, .df = -1, .open = 100, .high = 100, .low = 96.9}});
  EXPECT_EQ(check_exits(edge, long_at(edge), Bias::kNeutral, p), ExitReason::kNone);
}

TEST(StrategyExits, LargerTimeframeInvalidation) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);
  test::push_bars(s, test::quiet_bars(60));
  EXPECT_EQ(check_exits(s, long_at(s), Bias::kBearish, p), ExitReason::kTimeframeInvalidation);
  EXPECT_EQ(check_exits(s, long_at(s, Direction::kShort), Bias::kBullish, p), ExitReason::kTimeframeInvalidation);
}

TEST(StrategyExits, HardStopIsTheBackstop) {
  SqueezeFlowParams p;
  TimeframeSeries s(300, 100);  // 30 bars: too few for the structure break
  test::push_bars(s, test::quiet_bars(29));
  test::push_bars(s, {{.close = 92, .ds = 1, .df = -1}});
  EXPECT_EQ(check_exits(s, long_at(s), Bias::kNeutral, p), ExitReason::kHardStop);  // −8 %
  TimeframeSeries t(300, 100);
  test::push_bars(t, test::quiet_bars(29));
  test::push_bars(t, {{.close = 92.01, .ds = 1, .df = -1}});
  EXPECT_EQ(check_exits(t, long_at(t), Bias::kNeutral, p), ExitReason::kNone);
}

}  // namespace
}  // namespace tickflow
