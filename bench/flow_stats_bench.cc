// bench/flow_stats_bench.cc: the flow statistics, SIMD against scalar, same
// input, same run.
//
//   BM_FlowStats_Simd / BM_FlowStats_Scalar
//       One iteration is one second of live operation for 100 symbol groups
//       (300 markets: one spot and two perps each) on the 6 rollup
//       timeframes (1m 5m 15m 30m 1h 4h): the second's 300 bars go in, the
//       second closes (folding into every timeframe, closing the intervals
//       that end), and every timeframe's open interval is previewed as the
//       strategy sees it. items = groups x timeframes updated (600 a second).
//   BM_FlowSeriesCommit_Simd / BM_FlowSeriesCommit_Scalar
//       The vector kernel alone: every iteration commits one interval of all
//       100 groups on 6 FlowSeries whose windows are full. items = 600.
//
// Before anything is timed, both backends run the same 2 hours of data and
// their snapshots are compared, bit for bit but for realized_vol (1e-14);
// a mismatch reports an error instead of a figure (simdjson's habit:
// check, then time).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "pipeline/flow_series.h"
#include "pipeline/flow_stats.h"
#include "pipeline/market_registry.h"
#include "pipeline/symbol_groups.h"

namespace tickflow::bench {
namespace {

constexpr std::size_t kGroups = 100;
constexpr std::size_t kSeconds = 256;  // distinct seconds of bars, replayed in a loop
constexpr std::int64_t kStart = 1'723'161'600;
constexpr std::int64_t kWarmupSeconds = 7'200;  // fills the 1m windows (cvd_window = 100 bars)

const std::vector<std::uint32_t>& rollup_timeframes() {
  static const std::vector<std::uint32_t> tfs = {60, 300, 900, 1800, 3600, 14400};
  return tfs;
}

// 100 base assets, each with BINANCE spot, BINANCE_FUTURES and OKEX swaps,
// and kSeconds seconds of bars for every market: random-walk prices,
// log-normal volumes, about one market-second in ten without trades.
struct Workload {
  MarketRegistry registry;
  std::vector<std::vector<Bar>> seconds;  // [second][bar]

  Workload() {
    std::vector<MarketId> markets;
    for (std::size_t g = 0; g < kGroups; ++g) {
      const std::string base = std::string("Q") + static_cast<char>('a' + g / 26) + static_cast<char>('a' + g % 26);
      std::string upper = base;
      for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
      markets.push_back(registry.intern("BINANCE:" + base + "usdt"));
      markets.push_back(registry.intern("BINANCE_FUTURES:" + base + "usdt"));
      markets.push_back(registry.intern("OKEX:" + upper + "-USDT-SWAP"));
    }
    std::mt19937_64 rng(20240808);
    std::lognormal_distribution<double> notional(9.0, 1.5);
    std::normal_distribution<double> step(0.0, 2e-4);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> price(kGroups);
    for (std::size_t g = 0; g < kGroups; ++g) price[g] = 10.0 * static_cast<double>(g + 1);
    seconds.resize(kSeconds);
    for (std::size_t s = 0; s < kSeconds; ++s) {
      for (std::size_t i = 0; i < markets.size(); ++i) {
        const std::size_t g = i / 3;
        if (i % 3 == 0) price[g] *= 1.0 + step(rng);
        if (u(rng) < 0.1) continue;
        Bar b;
        b.market = markets[i];
        b.timeframe_s = 1;
        b.vbuy = notional(rng);
        b.vsell = notional(rng);
        b.close = price[g] * (1.0 + 1e-4 * (u(rng) - 0.5));
        b.open = b.high = b.low = b.close;
        b.qbuy = b.vbuy / b.close;
        b.qsell = b.vsell / b.close;
        b.cbuy = b.csell = 1;
        seconds[s].push_back(b);
      }
    }
  }
};

const Workload& workload() {
  static const Workload w;
  return w;
}

FlowStatsConfig config_for(FlowBackend backend) {
  FlowStatsConfig c;
  c.timeframes_s = rollup_timeframes();
  c.backend = backend;
  return c;
}

// One second of live operation: bars in, the second closes, previews.
// `bars` is the benchmark's own copy of the workload's bars, re-timed in place.
void run_second(FlowStats& stats, std::vector<std::vector<Bar>>& bars, std::int64_t t) {
  for (Bar& b : bars[static_cast<std::size_t>(t - kStart) % kSeconds]) {
    b.open_time_s = t;
    stats.add_bar(b);
  }
  stats.advance_to(t + 1);
  stats.preview();
}

// The timed loops call these, and only they do: separate symbols so that
// callgrind can count the timed work alone (--toggle-collect, see
// bench/README.md, "Flow statistics").
[[gnu::noinline]] void timed_second(FlowStats& stats, std::vector<std::vector<Bar>>& bars, std::int64_t t) {
  run_second(stats, bars, t);
}

bool same_bits(const FlowSnapshot& a, const FlowSnapshot& b) {
  const double x[] = {a.ds,        a.df,       a.cvd_spot, a.cvd_perp, a.divergence, a.volume,      a.close, a.ds_mean,
                      a.ds_std,    a.ds_z,     a.df_mean,  a.df_std,   a.df_z,       a.d_mean,      a.d_std, a.d_z,
                      a.absd_mean, a.absd_std, a.absd_z,   a.ema,      a.vwap,       a.volume_surge};
  const double y[] = {b.ds,        b.df,       b.cvd_spot, b.cvd_perp, b.divergence, b.volume,      b.close, b.ds_mean,
                      b.ds_std,    b.ds_z,     b.df_mean,  b.df_std,   b.df_z,       b.d_mean,      b.d_std, b.d_z,
                      b.absd_mean, b.absd_std, b.absd_z,   b.ema,      b.vwap,       b.volume_surge};
  return a.open_time_s == b.open_time_s && a.bars == b.bars && std::memcmp(x, y, sizeof x) == 0 &&
         std::fabs(a.realized_vol - b.realized_vol) <= 1e-14 * std::fabs(b.realized_vol);
}

// Runs both backends through the warm-up and compares every snapshot once.
// Empty when they agree, else what differs.
const std::string& backends_disagree() {
  static const std::string verdict = [] {
    const SymbolGroups groups(workload().registry);
    FlowStats simd(groups, config_for(FlowBackend::kSimd));
    FlowStats scalar(groups, config_for(FlowBackend::kScalar));
    std::vector<std::vector<Bar>> bars = workload().seconds;
    for (std::int64_t t = kStart; t < kStart + kWarmupSeconds; ++t) {
      run_second(simd, bars, t);
      run_second(scalar, bars, t);
      if ((t - kStart) % 97 != 0 && t + 1 != kStart + kWarmupSeconds) continue;
      for (std::size_t k = 0; k < rollup_timeframes().size(); ++k)
        for (GroupId g = 0; g < groups.size(); ++g)
          if (!same_bits(simd.snapshot(g, k), scalar.snapshot(g, k)))
            return "SIMD and scalar snapshots differ at second " + std::to_string(t) + ", timeframe index " +
                   std::to_string(k) + ", group " + std::to_string(g);
    }
    return std::string();
  }();
  return verdict;
}

void BM_FlowStats(benchmark::State& state, FlowBackend backend) {
  if (!backends_disagree().empty()) return state.SkipWithError(backends_disagree().c_str());
  ScopedPin pin(0);
  const SymbolGroups groups(workload().registry);
  FlowStats stats(groups, config_for(backend));
  std::vector<std::vector<Bar>> bars = workload().seconds;
  std::int64_t t = kStart;
  for (; t < kStart + kWarmupSeconds; ++t) run_second(stats, bars, t);
  for (auto _ : state) {
    timed_second(stats, bars, t++);
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(stats.snapshot(0, 0).d_z);
  const double per_second = static_cast<double>(kGroups * rollup_timeframes().size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * per_second));
}

void BM_FlowStats_Simd(benchmark::State& state) { BM_FlowStats(state, FlowBackend::kSimd); }
void BM_FlowStats_Scalar(benchmark::State& state) { BM_FlowStats(state, FlowBackend::kScalar); }
BENCHMARK(BM_FlowStats_Simd)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FlowStats_Scalar)->Unit(benchmark::kMicrosecond);

void commit_all(std::vector<std::unique_ptr<FlowSeries>>& series, const FlowIntervalInput& in, std::int64_t i) {
  for (auto& s : series) s->update(in, i * s->timeframe_s(), /*commit=*/true);
}
[[gnu::noinline]] void timed_commit(std::vector<std::unique_ptr<FlowSeries>>& series, const FlowIntervalInput& in,
                                    std::int64_t i) {
  commit_all(series, in, i);
}

// The kernel alone: 6 FlowSeries, 100 groups, full windows, commits only.
void BM_FlowSeriesCommit(benchmark::State& state, FlowBackend backend) {
  if (!backends_disagree().empty()) return state.SkipWithError(backends_disagree().c_str());
  ScopedPin pin(0);
  constexpr std::size_t kInputs = 64;
  const std::size_t lanes = (kGroups + kFlowLanePadding - 1) / kFlowLanePadding * kFlowLanePadding;
  struct Input {
    std::vector<double> ds, df, volume, qty, price;
  };
  std::vector<Input> inputs(kInputs);
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> notional(12.0, 1.5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (Input& in : inputs) {
    for (auto* v : {&in.ds, &in.df, &in.volume, &in.qty, &in.price}) v->assign(lanes, 0.0);
    for (std::size_t g = 0; g < kGroups; ++g) {
      const double buy = notional(rng), sell = notional(rng), perp_buy = notional(rng), perp_sell = notional(rng);
      const double p = 10.0 * static_cast<double>(g + 1) * (1.0 + 0.01 * (u(rng) - 0.5));
      in.ds[g] = buy - sell;
      in.df[g] = perp_buy - perp_sell;
      in.volume[g] = buy + sell + perp_buy + perp_sell;
      in.qty[g] = in.volume[g] / p;
      in.price[g] = p;
    }
  }
  std::vector<std::unique_ptr<FlowSeries>> series;
  for (std::uint32_t tf : rollup_timeframes())
    series.push_back(make_flow_series(backend, kGroups, tf, FlowSeriesConfig{}));
  std::vector<FlowIntervalInput> views;
  for (const Input& in : inputs)
    views.push_back({in.ds.data(), in.df.data(), in.volume.data(), in.qty.data(), in.price.data()});
  std::int64_t i = 0;
  for (; i < 256; ++i) commit_all(series, views[static_cast<std::size_t>(i) % kInputs], i);  // every window full
  for (auto _ : state) {
    timed_commit(series, views[static_cast<std::size_t>(i) % kInputs], i);
    ++i;
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(series[0]->snapshot(0).d_z);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kGroups * series.size()));
}

void BM_FlowSeriesCommit_Simd(benchmark::State& state) { BM_FlowSeriesCommit(state, FlowBackend::kSimd); }
void BM_FlowSeriesCommit_Scalar(benchmark::State& state) { BM_FlowSeriesCommit(state, FlowBackend::kScalar); }
BENCHMARK(BM_FlowSeriesCommit_Simd)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FlowSeriesCommit_Scalar)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tickflow::bench
