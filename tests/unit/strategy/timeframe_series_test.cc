// tests/unit/strategy/timeframe_series_test.cc: per-timeframe history of
// summed spot/perp bars (strategy/timeframe_series.h).
#include "strategy/timeframe_series.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "strategy_test_support.h"

namespace tickflow {
namespace {

Bar market_bar(std::int64_t t, double open, double high, double low, double close, double vbuy, double vsell) {
  Bar b;
  b.open_time_s = t;
  b.timeframe_s = 300;
  b.open = open;
  b.high = high;
  b.low = low;
  b.close = close;
  b.vbuy = vbuy;
  b.vsell = vsell;
  b.cbuy = 1;
  b.csell = 1;
  return b;
}

TEST(StrategyTimeframeSeries, SumsSpotAndPerpSeparately) {
  TimeframeSeries s(300, 100);
  const std::int64_t t = test::kT0;
  s.add(market_bar(t, 100, 102, 99, 101, 30, 10), MarketClass::kSpot);  // ds +20, v 40
  s.add(market_bar(t, 100, 103, 98, 100, 5, 25), MarketClass::kPerp);   // df -20, v 30
  s.add(market_bar(t, 100, 101, 99, 100, 10, 0), MarketClass::kSpot);   // ds +10, v 10
  EXPECT_EQ(s.size(), 0u);
  s.close_until(t + 299);
  EXPECT_EQ(s.size(), 0u);  // the window has not ended
  s.close_until(t + 300);
  ASSERT_EQ(s.size(), 1u);
  const SeriesBar& b = s.back(0);
  EXPECT_DOUBLE_EQ(b.ds, 30);
  EXPECT_DOUBLE_EQ(b.df, -20);
  EXPECT_DOUBLE_EQ(b.volume, 80);
  EXPECT_DOUBLE_EQ(b.high, 103);
  EXPECT_DOUBLE_EQ(b.low, 98);
  // Volume-weighted close: (101*40 + 100*30 + 100*10) / 80.
  EXPECT_DOUBLE_EQ(b.close, (101.0 * 40 + 100.0 * 30 + 100.0 * 10) / 80);
  EXPECT_DOUBLE_EQ(s.d(0), 50);  // D = Cs − Cf = 30 − (−20)
}

TEST(StrategyTimeframeSeries, GapsCarryThePriceAndAmendmentsAreIgnored) {
  TimeframeSeries s(300, 100);
  const std::int64_t t = test::kT0;
  s.add(market_bar(t, 100, 100, 100, 100, 1, 0), MarketClass::kSpot);
  s.close_until(t + 300);
  s.close_until(t + 1000);  // windows t+300 and t+600 end by t+900: empty
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s.back(0).close, 100);
  EXPECT_DOUBLE_EQ(s.back(0).ds, 0);
  EXPECT_EQ(s.back(0).open_time_s, t + 600);
  s.add(market_bar(t, 100, 100, 100, 100, 5, 0), MarketClass::kSpot);  // late, window committed
  EXPECT_EQ(s.ignored_bars(), 1u);
  EXPECT_DOUBLE_EQ(s.cs(0), 1);
}

TEST(StrategyTimeframeSeries, CvdIsAnchoredAtTheStartOfTheTrailingHistory) {
  TimeframeSeries s(300, 4);
  test::push_bars(s, {{.ds = 5}, {.ds = 1}, {.ds = 2}, {.ds = 3}});
  EXPECT_DOUBLE_EQ(s.cs(0), 11);
  test::push_bars(s, {{.ds = 4}});  // the 5 leaves the 4-bar history
  EXPECT_EQ(s.size(), 4u);
  EXPECT_DOUBLE_EQ(s.cs(0), 10);  // 1 + 2 + 3 + 4
  EXPECT_DOUBLE_EQ(s.cs(3), 1);
  EXPECT_DOUBLE_EQ(s.spot_change(2), 7);  // anchor-free: 3 + 4
}

TEST(StrategyTimeframeSeries, ProvisionalBarIsTheNewestAndIsReplacedByTheClose) {
  TimeframeSeries s(300, 100);
  test::push_bars(s, {{.close = 100, .ds = 2, .df = 1}});
  const std::int64_t open = s.back(0).open_time_s + 300;
  s.clear_provisional();
  s.add_provisional(market_bar(open, 100, 104, 99, 103, 7, 2), MarketClass::kSpot);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.has_provisional());
  EXPECT_DOUBLE_EQ(s.close(0), 103);
  EXPECT_DOUBLE_EQ(s.cs(0), 7);  // 2 + 5
  EXPECT_DOUBLE_EQ(s.momentum(1), 0.03);
  s.add(market_bar(open, 100, 104, 99, 102, 9, 2), MarketClass::kSpot);
  s.close_until(open + 300);
  EXPECT_FALSE(s.has_provisional());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s.close(0), 102);
  EXPECT_DOUBLE_EQ(s.cs(0), 9);
}

TEST(StrategyTimeframeSeries, MeanBarRangeRollsWithTheHistory) {
  TimeframeSeries s(300, 3);
  test::push_bars(s, {{.high = 110, .low = 90}, {}, {}});  // ranges 20, 2, 2
  EXPECT_DOUBLE_EQ(s.mean_bar_range(), 8);
  test::push_bars(s, {{}});  // the 20 leaves
  EXPECT_DOUBLE_EQ(s.mean_bar_range(), 2);
}

TEST(StrategyTimeframeSeries, TheMirroredRingReadsBackEveryBarAcrossManyWraps) {
  TimeframeSeries s(300, 5);
  double total = 0;
  for (int i = 1; i <= 300; ++i) {
    // A provisional bar between commits must neither corrupt nor survive them.
    s.set_provisional(test::make_bar(test::kT0 + 300 * (i - 1), {.close = 1000.0 + i, .ds = 1000}));
    test::push_bars(s, {{.close = static_cast<double>(i), .ds = static_cast<double>(i)}});
    total += i;
    ASSERT_FALSE(s.has_provisional());
    ASSERT_EQ(s.size(), static_cast<std::size_t>(std::min(i, 5))) << i;
    for (int k = 0; k < static_cast<int>(s.size()); ++k) ASSERT_DOUBLE_EQ(s.close(k), i - k) << i << " " << k;
    ASSERT_DOUBLE_EQ(s.back(0).cum_ds, total);
    // Cs(0) = the sum of the bars still in the history.
    const int first = std::max(1, i - 4);
    ASSERT_DOUBLE_EQ(s.cs(0), (first + i) * (i - first + 1) / 2.0);
    s.set_provisional(test::make_bar(test::kT0 + 300 * i, {.close = -1, .ds = 2}));
    ASSERT_EQ(s.size(), static_cast<std::size_t>(std::min(i, 5) + 1));
    ASSERT_DOUBLE_EQ(s.close(1), i);
    ASSERT_DOUBLE_EQ(s.cs(0), (first + i) * (i - first + 1) / 2.0 + 2);
    s.clear_provisional();
  }
}

}  // namespace
}  // namespace tickflow
