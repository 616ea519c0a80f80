// bench/strategy_bench.cc: one SqueezeFlow evaluation of one symbol group,
// the work the aggregator does per group every second (budget: 2 µs).
//
//   BM_Strategy_Evaluate/0  idle: 100 bars of random-walk flow and price on
//                           every timeframe (5m 15m 30m 1h 4h) plus a
//                           provisional bar each; no setup, so Phases 1-3 run
//                           and the score gate stops there (the common case).
//   BM_Strategy_Evaluate/1  setup: the last 40 bars hold a spot-up/perp-down
//                           divergence and its reset, so Phase 4 scores on
//                           every step; min_entry_score 10 keeps it from
//                           entering, so the state stays the same.
//   BM_Strategy_Evaluate/2  in position: the same setup entered once; every
//                           step checks Phase 5's exits (the 50-bar median
//                           included) and none fires.
//
// Each case checks its decision before anything is timed (a case that does
// not reach the path it claims reports an error instead of a figure).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "strategy/squeezeflow.h"

namespace tickflow::bench {
namespace {

constexpr std::int64_t kStart = 1'723'161'600;
constexpr std::uint32_t kTimeframes[] = {300, 900, 1800, 3600, 14400};

SeriesBar bar_at(std::int64_t t, double open, double close, double high, double low, double ds, double df) {
  SeriesBar b;
  b.open_time_s = t;
  b.open = open;
  b.close = close;
  b.high = high;
  b.low = low;
  b.ds = ds;
  b.df = df;
  b.volume = 1e6;
  return b;
}

// `n` random-walk bars around 100 (flows ~ N(0, 1), price steps ~ 0.1 %).
void random_walk(TimeframeSeries& s, std::size_t n, std::mt19937_64& rng, std::int64_t& t) {
  std::normal_distribution<double> flow(0, 1), step(0, 0.1);
  double price = 100;
  for (std::size_t i = 0; i < n; ++i) {
    const double open = price;
    price += step(rng);
    s.push(bar_at(t, open, price, std::max(open, price) + 0.2, std::min(open, price) - 0.2, flow(rng), flow(rng)));
    t += s.timeframe_s();
  }
}

// Quiet bars, then spot buying against perp selling (D climbs by 20 a bar);
// with `reset`, 10 more bars where it converges and price dips and recovers.
void divergence(TimeframeSeries& s, bool reset, std::int64_t& t) {
  const auto push = [&](const SeriesBar& b) {
    s.push(b);
    t += s.timeframe_s();
  };
  for (int i = 0; i < 20; ++i) push(bar_at(t, 100, 100, 101, 99, i % 2 ? -1 : 1, i % 2 ? 1 : -1));
  for (int i = 0; i < 10; ++i) push(bar_at(t, 100, 100, 101, 99, 10, -10));
  if (!reset) return;
  for (int i = 0; i < 5; ++i) push(bar_at(t, 100, 100, 101, 99, -5, 5));
  for (int i = 0; i < 5; ++i) push(bar_at(t, 100, 101, 101, 94, -5, 5));
}

void BM_Strategy_Evaluate(benchmark::State& state) {
  const int scenario = static_cast<int>(state.range(0));
  SqueezeFlowParams params;
  if (scenario == 1) params.min_entry_score = 10;  // scores (8.88) every step, never enters
  SqueezeFlow sf(params);
  std::mt19937_64 rng(42);
  std::int64_t now = 0;
  for (std::uint32_t tf : kTimeframes) {
    TimeframeSeries& s = *sf.series(tf);
    std::int64_t t = kStart;
    if (scenario == 0) {
      random_walk(s, 100, rng, t);
      s.set_provisional(bar_at(t, 100, 100.1, 100.3, 99.9, 0.5, -0.5));
    } else {
      const bool analysis = tf == 300;
      random_walk(s, analysis ? 60 : 70, rng, t);
      if (tf == 300 || tf == 900 || tf == 1800)
        divergence(s, analysis, t);
      else
        random_walk(s, 30, rng, t);
    }
    if (tf == 300) now = t;
  }

  const Decision& first = sf.evaluate(now);
  const char* error = nullptr;
  if (scenario == 0 && (first.divergence.has_divergence || first.action != Decision::kNone))
    error = "idle scenario found a setup";
  if (scenario == 1 && !(first.divergence.has_divergence && first.score.total > 0 && first.action == Decision::kNone))
    error = "setup scenario does not score";
  if (scenario == 2 && first.action != Decision::kLong) error = "position scenario did not enter";
  if (scenario == 2 && (sf.evaluate(now + 1).action != Decision::kNone || !sf.in_position()))
    error = "position scenario exits";
  if (error) return state.SkipWithError(error);

  std::int64_t step = now;
  for (auto _ : state) {
    const Decision& d = sf.evaluate(++step);
    benchmark::DoNotOptimize(d.score.total);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel(scenario == 0 ? "idle" : scenario == 1 ? "setup scored" : "in position");
}
BENCHMARK(BM_Strategy_Evaluate)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace tickflow::bench
