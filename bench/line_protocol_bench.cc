// bench/line_protocol_bench.cc: encoding bars as InfluxDB line protocol on
// the writer thread.
//
//   BM_LineProtocol_Encode    ns per bar: one full 1 s bar (12 float fields,
//                             shortest round-trip to_chars), appended to a
//                             warm batch buffer, as InfluxSink does
//   BM_ToChars_TwelveDoubles  the floor under it: the twelve to_chars calls
//                             alone, into a stack buffer
//
// Bars look like real ones: prices on a 0.01 tick and quantities on a 1e-5
// lot (short shortest forms), notionals as their products (full 15-17 digit
// mantissas, the slow case), counts as small integers; cycled over 1024 bars
// so the branch predictor cannot learn one value.
#include <benchmark/benchmark.h>

#include <charconv>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "pipeline/line_protocol.h"

namespace tickflow::bench {
namespace {

std::vector<Bar> sample_bars() {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Bar> bars(1024);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    Bar& b = bars[i];
    b.market = static_cast<MarketId>(i % 16);
    b.open_time_s = 1'723'161'255 + static_cast<std::int64_t>(i);
    auto tick = [](double v) { return std::round(v * 100) / 100; };
    auto lot = [](double v) { return std::round(v * 1e5) / 1e5; };
    b.open = tick(61837.63 + unit(rng) * 10);
    b.high = tick(b.open + unit(rng));
    b.low = tick(b.open - unit(rng));
    b.close = tick(b.low + unit(rng));
    b.qbuy = lot(unit(rng) * 3);
    b.qsell = lot(unit(rng) * 3);
    b.vbuy = b.qbuy * b.close;
    b.vsell = b.qsell * b.close;
    b.cbuy = static_cast<double>(i % 37);
    b.csell = static_cast<double>(i % 23);
    b.lbuy = i % 50 == 0 ? unit(rng) * 1e5 : 0;
    b.lsell = 0;
  }
  return bars;
}

void BM_LineProtocol_Encode(benchmark::State& state) {
  const std::vector<Bar> bars = sample_bars();
  BarLineEncoder encoder;
  for (MarketId m = 0; m < 16; ++m) encoder.set_market(m, "BINANCE_FUTURES:btcusdt" + std::to_string(m));
  std::string batch;
  batch.reserve(5000 * 300);
  std::size_t i = 0;
  for (auto _ : state) {
    if (batch.size() > 4000 * 300) batch.clear();  // a sealed batch; the buffer stays warm
    encoder.append(batch, bars[i++ & 1023]);
    benchmark::DoNotOptimize(batch.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LineProtocol_Encode);

void BM_ToChars_TwelveDoubles(benchmark::State& state) {
  const std::vector<Bar> bars = sample_bars();
  char out[32 * 12];
  std::size_t i = 0;
  for (auto _ : state) {
    const Bar& b = bars[i++ & 1023];
    char* p = out;
    for (double v :
         {b.open, b.high, b.low, b.close, b.vbuy, b.vsell, b.cbuy, b.csell, b.lbuy, b.lsell, b.qbuy, b.qsell})
      p = std::to_chars(p, p + 32, v).ptr;
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToChars_TwelveDoubles);

}  // namespace
}  // namespace tickflow::bench
