// bench/backtest_bench.cc: the backtester's speed, one 1 s step at a time,
// for one symbol group of 6 markets (the bar the backtest issue set:
// >= 300,000 steps/s from in-memory bars; the Python backtester it replaces
// did ~100 windows/s).
//
// Data: one pass of real 1 s bars from the bundled captures
// (tests/data/binance-20240808-trades: BTC spot, USD-M and COIN-M, through
// the real parsers and BarBuilder via CaptureBarSource), plus three more BTC
// markets replaying the same bars under other names (OKEX:BTC-USDT and
// COINBASE:BTC-USD spot, BYBIT:BTCUSDT perp: 3 spot + 3 perp), tiled to 24 h
// by shifting whole passes. Each tile varies the flow (each side's real
// taker imbalance times a fixed pseudo-random factor per tile, so the CVDs
// random-walk instead of drifting) and the price (detrended per pass, times
// a level that random-walks from tile to tile), so the strategy meets
// setups, entries and exits rather than one repeated pattern.
//
//   BM_Backtest_Steps        the whole Backtester (Rollups, StrategyEngine,
//                            portfolio) over the 24 h from an in-memory
//                            BarSource; items = steps (1 s of data time).
//   BM_Backtest_RollupsOnly  the baseline: the same bars through Rollups
//                            alone (into a sink that drops them), every
//                            market closed at every step as the backtester
//                            does; items = steps as well.
//
// The ratio of the two is what the strategy (evaluation, provisional bars,
// portfolio) costs on top of building 5m..4h bars. A Backtester is built per
// iteration (construction is part of the figure; it is a few allocations
// against ~86,400 steps).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/tiled_bars.h"
#include "pipeline/bar.h"
#include "pipeline/market_registry.h"
#include "pipeline/rollup.h"
#include "runtime/capture_bar_source.h"
#include "strategy/backtester.h"

namespace tickflow::bench {
namespace {

constexpr std::int64_t kSpanS = 24 * 3600;

// The 6-market BTC group over 24 h, built once per process.
struct GroupBars {
  MarketRegistry registry;
  std::vector<Bar> bars;
  std::int64_t steps = 0;  // data seconds from the first visible bar to the last
};

std::string capture(const char* file) {
  return std::string(TICKFLOW_SOURCE_DIR "/tests/data/binance-20240808-trades/") + file;
}

const GroupBars& group_bars() {
  static const std::unique_ptr<GroupBars> data = [] {
    auto g = std::make_unique<GroupBars>();
    CaptureBarSource pass({{"BINANCE", capture("spot_btcusdt.gz")},
                           {"BINANCE_FUTURES", capture("usdm_btcusdt.gz")},
                           {"BINANCE_FUTURES", capture("cm_btcusd_perp.gz")}},
                          g->registry);
    const auto id = [&](const char* name) {
      const std::optional<MarketId> m = g->registry.find(name);
      if (!m) throw std::runtime_error(std::string("backtest bench: no market ") + name + " in the captures");
      return *m;
    };
    const auto add = [&](const char* name) {
      MarketSpec spec;
      spec.name = name;
      return g->registry.add(spec);
    };
    const MarketId spot = id("BINANCE:btcusdt"), usdm = id("BINANCE_FUTURES:btcusdt"),
                   cm = id("BINANCE_FUTURES:btcusd_perp");
    const MarketId okex = add("OKEX:BTC-USDT");
    const MarketId coinbase = add("COINBASE:BTC-USD");
    const MarketId bybit = add("BYBIT:BTCUSDT");
    std::vector<Replay> replays = {{spot, spot, true, 11}, {usdm, usdm, false, 12},    {cm, cm, false, 13},
                                   {spot, okex, true, 14}, {spot, coinbase, true, 15}, {usdm, bybit, false, 16}};
    int spots = 0;
    for (const Replay& r : replays) {
      const MarketInfo& info = g->registry.info(r.target);
      if (info.base != "BTC" || (info.market_class == MarketClass::kSpot) != r.spot)
        throw std::runtime_error("backtest bench: " + info.name + " is not classified as intended");
      spots += r.spot;
    }
    if (spots != 3) throw std::runtime_error("backtest bench: want 3 spot + 3 perp markets");
    Tiler tiler(pass.bars(), replays);
    const std::int64_t tiles = kSpanS / tiler.period_s();
    g->bars.reserve(pass.bars().size() * 2 * static_cast<std::size_t>(tiles));
    for (std::int64_t k = 0; k < tiles; ++k) tiler.tile(k, tiler.pass_start(), g->bars);
    g->steps = (g->bars.back().open_time_s + 1) - (g->bars.front().open_time_s + 1) + 1;
    return g;
  }();
  return *data;
}

BacktestConfig btc_config() {
  BacktestConfig config;
  config.symbols = {{"BTC", "BTCUSDT", ""}};
  return config;
}

void BM_Backtest_Steps(benchmark::State& state) {
  const GroupBars& g = group_bars();
  // The registry is only read by the backtester (its markets exist already).
  MarketRegistry& registry = const_cast<MarketRegistry&>(g.registry);
  BacktestStats stats;
  std::size_t signals = 0, trades = 0, markets = 0;
  for (auto _ : state) {
    Backtester bt(btc_config(), registry);
    BarSpanSource source(g.bars);
    bt.run(source);
    stats = bt.stats();
    signals = bt.signals().size();
    trades = bt.portfolio().trades().size();
    markets = bt.engine().markets(0);
    benchmark::DoNotOptimize(stats);
  }
  if (static_cast<std::int64_t>(stats.steps) != g.steps || markets != 6)
    return state.SkipWithError("backtest did not step every second of the bars");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * stats.steps));
  state.counters["steps"] = static_cast<double>(stats.steps);
  state.counters["bars"] = static_cast<double>(stats.bars);
  state.counters["evals"] = static_cast<double>(stats.evaluations);
  state.counters["signals"] = static_cast<double>(signals);
  state.counters["trades"] = static_cast<double>(trades);
}

void BM_Backtest_RollupsOnly(benchmark::State& state) {
  struct Drop final : BarSink {
    std::uint64_t bars = 0;
    void on_bar(const Bar&) override { ++bars; }
  };
  const GroupBars& g = group_bars();
  std::uint64_t steps = 0, emitted = 0;
  for (auto _ : state) {
    Drop drop;
    RollupConfig rc;
    rc.timeframes = default_rollup_timeframes();
    rc.max_markets = 256;
    rc.minute_bases = true;
    Rollups rollups(rc, drop);
    std::vector<MarketId> markets;
    std::vector<bool> seen(256, false);
    steps = 0;
    std::size_t i = 0;
    const std::size_t n = g.bars.size();
    // The backtester's loop without the strategy: feed what is visible at
    // t, close every market seen so far up to t, next second.
    for (std::int64_t t = g.bars.front().open_time_s + 1;; ++t) {
      for (; i < n && g.bars[i].open_time_s + g.bars[i].timeframe_s <= t; ++i) {
        const Bar& b = g.bars[i];
        if (!seen[b.market]) {
          seen[b.market] = true;
          markets.push_back(b.market);
        }
        rollups.on_bar(b);
      }
      for (MarketId m : markets) rollups.on_closed(m, t);
      ++steps;
      if (i == n) break;
    }
    emitted = drop.bars;
    benchmark::DoNotOptimize(emitted);
  }
  if (static_cast<std::int64_t>(steps) != g.steps) return state.SkipWithError("rollups baseline missed steps");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * steps));
  state.counters["steps"] = static_cast<double>(steps);
  state.counters["rollup_bars"] = static_cast<double>(emitted);
}

BENCHMARK(BM_Backtest_Steps)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Backtest_RollupsOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tickflow::bench
