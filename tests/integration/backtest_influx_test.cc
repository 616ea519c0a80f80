// tests/integration/backtest_influx_test.cc
//
// The backtester's InfluxDB source gives the same backtest as the capture
// source. Hours of 1 s bars are built from the bundled captures through the
// real parsers and BarBuilder (CaptureBarSource, the captures replayed pass
// after pass with shifted timestamps, the trades' sides varied so the
// strategy has something to trade), written to a real influxd as
// `aggr_1s.trades_1s` (where the sink writes them) with the sink's
// line-protocol encoder, then backtested twice:
// once straight from the capture bars, once read back from InfluxDB in
// chunks (2 h, the default, and 25 min, which cuts windows mid-way). Every
// decision, the trade list, the equity curve and report.json must be
// identical.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/line_protocol.h"
#include "pipeline/market_registry.h"
#include "pipeline/timeframe.h"
#include "runtime/capture_bar_source.h"
#include "sinks/influx_http.h"
#include "strategy/backtest_report.h"
#include "strategy/backtester.h"
#include "strategy/influx_bar_source.h"
#include "tests/integration/influxd_process.h"

namespace tickflow {
namespace {

using testing::InfluxdProcess;

std::string bundled(const std::string& file) { return TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/" + file; }

constexpr int kPasses = 150;  // ~6 min each: 15 h

// Which passes push which way: balanced noise for 12 h, then spot buying
// while perps sell for 2.5 h, then the flow turns.
void vary(Trade& t, int pass, const MarketRegistry& registry) {
  const bool spot = registry.info(t.market).market_class == MarketClass::kSpot;
  const std::uint64_t h = (t.trade_id * 0x9E3779B97F4A7C15ull) >> 40;  // deterministic per trade
  const double u = static_cast<double>(h % 1000) / 1000.0;
  double buy_share = 0.5;
  if (pass >= 120 && pass < 145) buy_share = spot ? 0.8 : 0.2;
  if (pass >= 145) buy_share = spot ? 0.25 : 0.7;
  t.side = u < buy_share ? Side::kBuy : Side::kSell;
}

struct Outcome {
  std::vector<std::string> decisions;  // every evaluation, as text
  std::string report, trades, equity;
  std::size_t signals = 0, entries = 0;
};

Outcome backtest(BarSource& source, MarketRegistry& registry) {
  BacktestConfig config;
  config.symbols = {{"BTC", "BTCUSDT", "BINANCE_FUTURES:btcusdt"}};
  Backtester bt(config, registry);
  Outcome out;
  bt.on_decision = [&](const std::string&, const Decision& d) {
    char line[512];
    std::snprintf(line, sizeof line, "%lld %d %.17g %.17g %.17g %.17g %s", static_cast<long long>(d.time_s),
                  static_cast<int>(d.action), d.score.total, d.price, d.spot_cvd, d.perp_cvd,
                  std::string(d.reasoning.view()).c_str());
    out.decisions.emplace_back(line);
  };
  bt.run(source);
  const BacktestMetrics m = compute_metrics(bt.portfolio(), bt.stats().steps);
  out.report = report_json(m, bt.portfolio(), {});
  out.trades = trades_csv(bt.portfolio().trades());
  out.equity = equity_csv(bt.portfolio().equity_samples());
  out.signals = bt.signals().size();
  out.entries = bt.stats().entries;
  return out;
}

TEST(BacktestInflux, ChunkedInfluxSourceGivesTheSameBacktestAsTheCaptures) {
  MarketRegistry capture_registry;
  CaptureBarOptions options;
  options.repeat = kPasses;
  options.transform = [&](Trade& t, int pass) { vary(t, pass, capture_registry); };
  CaptureBarSource captures({{"BINANCE", bundled("spot_btcusdt.gz")},
                             {"BINANCE_FUTURES", bundled("usdm_btcusdt.gz")},
                             {"BINANCE_FUTURES", bundled("cm_btcusd_perp.gz")}},
                            capture_registry, options);
  ASSERT_EQ(captures.trades(), static_cast<std::uint64_t>(kPasses) * (9757 + 21313 + 2286));
  const std::vector<Bar>& bars = captures.bars();
  ASSERT_FALSE(bars.empty());
  const std::int64_t from = bars.front().open_time_s;
  const std::int64_t to = bars.back().open_time_s + 1;

  InfluxdProcess influx;
  {
    InfluxHttp http(influx.endpoint());
    ASSERT_EQ(http.query("CREATE DATABASE significant_trades").status, 200);
    // Where the sink writes 1 s bars (not the default policy, which a
    // backtest reading the wrong policy would find full).
    ASSERT_EQ(http.query("CREATE RETENTION POLICY " + retention_policy_name(1) +
                         " ON significant_trades DURATION INF REPLICATION 1")
                  .status,
              200);
    std::vector<std::string> tags;
    for (std::size_t m = 0; m < capture_registry.size(); ++m)
      tags.push_back(escape_tag_value(capture_registry.info(static_cast<MarketId>(m)).name));
    std::string lines;
    for (std::size_t i = 0; i < bars.size(); ++i) {
      append_bar_line(lines, bars[i], tags[bars[i].market]);
      if ((i + 1) % 20000 == 0 || i + 1 == bars.size()) {
        const HttpResult r = http.write(retention_policy_name(1), "s", lines);
        ASSERT_EQ(r.status, 204) << r.body << r.error;
        lines.clear();
      }
    }
  }

  BarSpanSource direct(bars);
  const Outcome reference = backtest(direct, capture_registry);
  ASSERT_GT(reference.decisions.size(), 50'000u);
  EXPECT_GE(reference.entries, 1u) << "the varied flow should make the strategy trade";

  for (const std::int64_t chunk : {7200, 1500}) {
    SCOPED_TRACE("chunk_s " + std::to_string(chunk));
    MarketRegistry registry;  // the InfluxDB run learns its markets from the data
    InfluxBarQuery q;
    q.url = influx.url();
    q.from_s = from;
    q.to_s = to;
    q.chunk_s = chunk;
    q.retention_policy = retention_policy_name(1);
    InfluxBarSource source(q, registry);
    const Outcome got = backtest(source, registry);
    ASSERT_EQ(got.decisions.size(), reference.decisions.size());
    for (std::size_t i = 0; i < got.decisions.size(); ++i)
      ASSERT_EQ(got.decisions[i], reference.decisions[i]) << "evaluation " << i;
    EXPECT_EQ(got.trades, reference.trades);
    EXPECT_EQ(got.equity, reference.equity);
    EXPECT_EQ(got.report, reference.report);
    EXPECT_EQ(got.signals, reference.signals);
  }
}

}  // namespace
}  // namespace tickflow
