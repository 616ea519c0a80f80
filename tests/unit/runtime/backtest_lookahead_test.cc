// tests/unit/runtime/backtest_lookahead_test.cc
//
// No look-ahead, proved: a backtest over hours of real-flow bars is run
// once as is, then again with every bar that becomes visible after time t
// corrupted (prices tripled, flows flipped and scaled, liquidations
// invented). Every decision at or before t must be identical, field for
// field, in both runs; the first decision after t is checked to differ
// (so the corruption is visible at all and the test can fail).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/market_registry.h"
#include "runtime/capture_bar_source.h"
#include "strategy/backtester.h"
#include "tests/unit/runtime/scenario_bars.h"

namespace tickflow {
namespace {

std::string bundled(const std::string& file) { return TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/" + file; }

struct Seen {
  std::int64_t time_s;
  int action;
  int direction;
  double score, price, spot_cvd, perp_cvd, divergence;
  int setup;
  std::string reasoning;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> run(const std::vector<Bar>& bars, MarketRegistry& registry) {
  BacktestConfig config;
  config.symbols = {{"BTC", "BTCUSDT", "BINANCE_FUTURES:btcusdt"}};
  Backtester bt(config, registry);
  std::vector<Seen> seen;
  bt.on_decision = [&](const std::string&, const Decision& d) {
    const Decision& copy = d;
    seen.push_back({copy.time_s, static_cast<int>(copy.action), static_cast<int>(copy.direction), copy.score.total,
                    copy.price, copy.spot_cvd, copy.perp_cvd, copy.divergence_value,
                    static_cast<int>(copy.divergence.setup), std::string(copy.reasoning.view())});
  };
  BarSpanSource source(bars);
  bt.run(source);
  return seen;
}

TEST(BacktestNoLookAhead, CorruptingEveryBarAfterTLeavesEveryDecisionUpToTUnchanged) {
  MarketRegistry registry;
  CaptureBarSource pass({{"BINANCE", bundled("spot_btcusdt.gz")},
                         {"BINANCE_FUTURES", bundled("usdm_btcusdt.gz")},
                         {"BINANCE_FUTURES", bundled("cm_btcusd_perp.gz")}},
                        registry);
  const std::vector<test::Segment> script = {
      {14 * 3600, 0, 0, 0.0},     {150 * 60, 0.35, -0.35, 0.005}, {60 * 60, -0.1, 0.2, 0.008},
      {60 * 60, 0.2, 0.2, 0.015}, {120 * 60, -0.4, 0.3, -0.01},
  };
  test::ScenarioBars scenario(pass.bars(), pass.period_s(), 1723161600, script, registry);
  const std::vector<Bar> bars = scenario.bars();
  const std::vector<Seen> clean = run(bars, registry);
  ASSERT_GT(clean.size(), 70'000u);  // one evaluation per second of ~20 h
  std::size_t actions = 0;
  for (const Seen& s : clean) actions += s.action != 0;
  ASSERT_GE(actions, 2u) << "the scenario should enter and exit at least once";

  // Several cut points: in the warm-up, just before and just after the
  // first entry, and late.
  std::vector<std::int64_t> cuts = {clean.front().time_s + 3600, clean[clean.size() / 2].time_s,
                                    clean.back().time_s - 600};
  for (const Seen& s : clean)
    if (s.action != 0) {
      cuts.push_back(s.time_s - 1);
      cuts.push_back(s.time_s);
      break;
    }
  for (const std::int64_t t : cuts) {
    std::vector<Bar> corrupted = bars;
    std::size_t changed = 0;
    for (Bar& b : corrupted) {
      if (b.open_time_s + b.timeframe_s <= t) continue;  // visible at or before t: untouched
      b.open *= 3;
      b.high *= 3;
      b.low *= 3;
      b.close *= 3;
      std::swap(b.vbuy, b.vsell);
      b.vbuy *= 7;
      b.lbuy += 1e6;
      ++changed;
    }
    ASSERT_GT(changed, 0u);
    const std::vector<Seen> dirty = run(corrupted, registry);
    std::size_t compared = 0;
    for (std::size_t i = 0; i < clean.size() && clean[i].time_s <= t; ++i) {
      ASSERT_LT(i, dirty.size());
      ASSERT_EQ(clean[i], dirty[i]) << "decision at " << clean[i].time_s << " changed when bars after " << t
                                    << " were corrupted";
      ++compared;
    }
    EXPECT_GT(compared, 0u);
    // The corruption is visible right after t (the test can fail).
    ASSERT_LT(compared, dirty.size());
    EXPECT_NE(clean[compared].price, dirty[compared].price) << "cut " << t;
  }
}

}  // namespace
}  // namespace tickflow
