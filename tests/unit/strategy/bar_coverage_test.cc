// tests/unit/strategy/bar_coverage_test.cc
//
// BarCoverage: seconds present and gaps per market, the edges of the range
// included, exactly as the backtest's coverage report prints them.
#include "strategy/bar_coverage.h"

#include <gtest/gtest.h>

namespace tickflow {
namespace {

constexpr std::int64_t kT0 = 1723161600;  // 2024-08-09T00:00:00Z

TEST(BarCoverage, CountsSecondsAndFindsGapsAtTheThreshold) {
  BarCoverage c(kT0, kT0 + 600, 60);
  // Seconds 0..99, a hole of 59 s (not a gap), 159..199, a hole of 60 s (a
  // gap), 260..539, then nothing up to 600: 60 s, a gap.
  for (std::int64_t s = 0; s < 100; ++s) c.add("BINANCE:btcusdt", kT0 + s, 1);
  for (std::int64_t s = 159; s < 200; ++s) c.add("BINANCE:btcusdt", kT0 + s, 1);
  for (std::int64_t s = 260; s < 540; ++s) c.add("BINANCE:btcusdt", kT0 + s, 1);
  c.add("BINANCE:btcusdt", kT0 + 600, 1);  // outside the range: ignored
  const auto markets = c.markets();
  ASSERT_EQ(markets.size(), 1u);
  const BarCoverage::Market& m = markets.at("BINANCE:btcusdt");
  EXPECT_EQ(m.bars, 100u + 41u + 280u);
  EXPECT_EQ(m.present_s, 421);
  ASSERT_EQ(m.gaps.size(), 2u);
  EXPECT_EQ(m.gaps[0].from_s, kT0 + 200);
  EXPECT_EQ(m.gaps[0].to_s, kT0 + 260);
  EXPECT_EQ(m.gaps[1].from_s, kT0 + 540);
  EXPECT_EQ(m.gaps[1].to_s, kT0 + 600);
  EXPECT_EQ(c.text(),
            "  BINANCE:btcusdt (1s bars): 421 of 600 s present (70.2%), 2 gaps of 60 s or more, 120 s in all:\n"
            "    2024-08-09T00:03:20Z .. 2024-08-09T00:04:20Z (60 s)\n"
            "    2024-08-09T00:09:00Z .. 2024-08-09T00:10:00Z (60 s)\n");
}

TEST(BarCoverage, OneMinuteBarsAnExpectedMarketWithoutBarsAndTheListLimit) {
  BarCoverage c(kT0, kT0 + 3600, 60);
  // 1 m bars every other minute: 30 bars, 1800 s present, each missing
  // minute a gap of 60 s; the last minute (59) missing too.
  for (int minute = 0; minute < 60; minute += 2) c.add("BINANCE_FUTURES:btcusdt", kT0 + 60 * minute, 60);
  c.expect("OKEX:BTC-USDT", 1);
  const std::string text = c.text();
  EXPECT_EQ(text,
            "  BINANCE_FUTURES:btcusdt (60s bars): 1800 of 3600 s present (50.0%), 30 gaps of 60 s or more, 1800 s "
            "in all:\n"
            "    2024-08-09T00:01:00Z .. 2024-08-09T00:02:00Z (60 s)\n"
            "    2024-08-09T00:03:00Z .. 2024-08-09T00:04:00Z (60 s)\n"
            "    2024-08-09T00:05:00Z .. 2024-08-09T00:06:00Z (60 s)\n"
            "    2024-08-09T00:07:00Z .. 2024-08-09T00:08:00Z (60 s)\n"
            "    2024-08-09T00:09:00Z .. 2024-08-09T00:10:00Z (60 s)\n"
            "    ... and 25 more\n"
            "  OKEX:BTC-USDT (1s bars): 0 of 3600 s present (0.0%), 1 gap of 60 s or more, 3600 s in all:\n"
            "    2024-08-09T00:00:00Z .. 2024-08-09T01:00:00Z (3600 s)\n");
  EXPECT_EQ(c.bars(), 30u);
}

TEST(BarCoverage, NoGapIsSaid) {
  BarCoverage c(kT0, kT0 + 120, 30);
  for (std::int64_t s = 0; s < 120; s += 20) c.add("BINANCE:ethusdt", kT0 + s, 1);
  EXPECT_EQ(c.text(), "  BINANCE:ethusdt (1s bars): 6 of 120 s present (5.0%), no gap of 30 s or more\n");
}

}  // namespace
}  // namespace tickflow
