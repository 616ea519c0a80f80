// bench/flow_aggregator_bench.cc
//
// The aggregator thread's cost per closed second, flow statistics on
// against off, for 2, 16 and 64 symbol groups (bench/README.md, "Flow
// statistics on the aggregator thread").
//
// One iteration is `kSeconds` seconds of synthetic market data through the
// runtime's own Aggregator, exactly as `tickflow replay` runs it (event
// clock, FeedPublisher -> FeedChannel -> Aggregator: BarBuilder, the six
// rollups and, when on, the FlowStage with its FlowStats and a FlowRecord
// per group per closed interval to the output). Each group has three
// markets, a spot and two perps (USD-M, COIN-M, as BTC has on Binance),
// each trading kTradesPerSecond times a second, so every market closes a
// bar every second and every group every interval: the statistics' full
// per-second work. The events are published into the channel before the
// timed call (the ring holds them all), so the timed call is the
// aggregator thread's loop alone: Aggregator::run() until the input is
// drained and closed, flush included. The output counts bars and records.
//
// Counters: `seconds_per_iter` and `per_second` (time per closed second);
// `flow_records` per iteration. Compare Off/On at equal groups. For the
// stable figure, count instructions with callgrind, toggling on the one
// noinline function that runs the loop (`timed_run`): see bench/README.md.
#include <benchmark/benchmark.h>

#include <cstdio>

#include <bit>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "feeds/event_buffer.h"
#include "pipeline/market_registry.h"
#include "runtime/aggregator.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"

namespace tickflow {
namespace {

constexpr std::int64_t kSeconds = 300;          // 5 minutes: five 1m closes, one 5m close per iteration
constexpr int kTradesPerSecond = 2;             // per market
constexpr std::int64_t kStart = 1'723'161'600;  // 2024-08-09 00:00:00 UTC, a 4h boundary

struct Counting final : public BarSink {
  std::uint64_t bars = 0, flows = 0;
  double checksum = 0;
  void on_bar(const Bar& bar) override {
    ++bars;
    checksum += bar.vbuy;
  }
  void on_flow(const FlowRecord& r) override {
    ++flows;
    checksum += r.cvd_spot;
  }
};

// groups x 3 markets, registered as a live config would: spot, USD-M, COIN-M.
void register_markets(MarketRegistry& registry, int groups) {
  for (int g = 0; g < groups; ++g) {
    // Names with snprintf: GCC 12's -Wrestrict misfires on short std::string
    // concatenations here at -O3 (a false positive, an error under -Werror).
    char base[16], spot[48], linear[48], inverse[48];
    std::snprintf(base, sizeof base, "G%d", g);
    std::snprintf(spot, sizeof spot, "BINANCE:g%dusdt", g);
    std::snprintf(linear, sizeof linear, "BINANCE_FUTURES:g%dusdt", g);
    std::snprintf(inverse, sizeof inverse, "BINANCE_FUTURES:g%dusd_perp", g);
    registry.add({spot, InstrumentKind::kSpot, 1, base, "USDT"});
    registry.add({linear, InstrumentKind::kLinear, 1, base, "USDT"});
    registry.add({inverse, InstrumentKind::kInverse, 100, base, "USD"});
  }
}

// The trades of `seconds` seconds, one frame per market per trade instant.
std::vector<Trade> make_trades(int groups) {
  std::vector<Trade> trades;
  const int markets = groups * 3;
  trades.reserve(static_cast<std::size_t>(kSeconds * kTradesPerSecond * markets));
  std::uint64_t id = 1;
  for (std::int64_t s = 0; s < kSeconds; ++s)
    for (int k = 0; k < kTradesPerSecond; ++k)
      for (int m = 0; m < markets; ++m) {
        Trade t;
        t.exchange_ts_ns = (kStart + s) * 1'000'000'000 + k * (1'000'000'000 / kTradesPerSecond) + m * 1000;
        t.receive_ts_ns = t.exchange_ts_ns + 2'000'000;
        t.trade_id = id++;
        t.price = 100.0 + static_cast<double>((s * 7 + k * 3 + m) % 17) * 0.25;
        t.qty = 0.5 + static_cast<double>((s + m + k) % 5) * 0.1;
        t.market = static_cast<MarketId>(m);
        t.side = ((s + k + m) % 3 == 0) ? Side::kSell : Side::kBuy;
        trades.push_back(t);
      }
  return trades;
}

[[gnu::noinline]] void timed_run(Aggregator& aggregator) { aggregator.run(); }

void BM_AggregatorSecond(benchmark::State& state, bool flow_stats) {
  const int groups = static_cast<int>(state.range(0));
  const std::vector<Trade> trades = make_trades(groups);
  std::uint64_t flows = 0;
  for (auto _ : state) {
    state.PauseTiming();
    MarketRegistry registry;
    register_markets(registry, groups);
    Counting output;
    AggregatorOptions options;
    options.max_markets = static_cast<std::size_t>(groups) * 3 + 8;
    options.wall_clock = false;
    options.measure_latency = false;
    options.flow_stats = flow_stats;
    options.flow.min_group_capacity = 16;
    options.wait.kind = WaitKind::kBusySpin;
    auto aggregator = std::make_unique<Aggregator>(options, registry, std::vector<FeedChannel*>{}, output);
    // Room for every event (a trade and a watermark per frame, the
    // announcements): the publisher would otherwise wait for this thread.
    FeedChannel channel("bench", std::bit_ceil(3 * trades.size() + 1024), FullRingPolicy::kBlock,
                        aggregator->doorbell());
    aggregator->set_inputs({&channel});
    FeedPublisher publisher(channel, options.max_markets);
    FeedPublisher::Connection connection{.id = 0};
    EventBuffer events;
    for (const Trade& t : trades) {
      events.clear();
      events.push(t);
      publisher.publish(connection, events, t.receive_ts_ns);
    }
    channel.close();
    state.ResumeTiming();
    timed_run(*aggregator);
    state.PauseTiming();
    if (!aggregator->error().empty()) state.SkipWithError(aggregator->error().c_str());
    flows = output.flows;
    benchmark::DoNotOptimize(output.checksum);
    aggregator.reset();
    state.ResumeTiming();
  }
  state.counters["groups"] = groups;
  state.counters["flow_records"] = static_cast<double>(flows);
  state.counters["per_second"] = benchmark::Counter(static_cast<double>(kSeconds) * state.iterations(),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_AggregatorSecond_FlowOff(benchmark::State& state) { BM_AggregatorSecond(state, false); }
void BM_AggregatorSecond_FlowOn(benchmark::State& state) { BM_AggregatorSecond(state, true); }

BENCHMARK(BM_AggregatorSecond_FlowOff)->Arg(2)->Arg(16)->Arg(64)->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AggregatorSecond_FlowOn)->Arg(2)->Arg(16)->Arg(64)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tickflow
