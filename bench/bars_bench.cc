// bench/bars_bench.cc: the aggregator's bar stages on real trades.
//
//   BM_BarBuilder_Update  ns per trade: the trades of the binance-20240808
//                         captures, each market's stream replayed for 100
//                         markets (market k takes file k % 6, shifted by k ms)
//                         and interleaved by exchange time, as the aggregator
//                         sees a busy feed: per trade the clock check and
//                         on_trade (bucket, OHLC, sums, watermark, closes and
//                         the virtual call per emitted bar).
//   BM_Rollup_Update      ns per 1 s bar: the 1 s bars and closed frontiers
//                         that the BarBuilder emitted for that stream, into
//                         Rollups with all six default timeframes.
//
// Trades come from ../shared/data/binance-20240808 when present, else from
// the bundled tests/data/binance-20240808-trades (three of the six files).
// Before timing, each benchmark checks its output against a plain count
// (bars = distinct market-seconds, rollups = distinct windows) and the
// notional against Σ price * qty, and refuses to run on a mismatch.
// Building the stage (its rings are allocated and touched then) is outside
// the timed region.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_builder.h"
#include "pipeline/rollup.h"

namespace tickflow::bench {
namespace {

constexpr std::size_t kMarkets = 100;

bool file_exists(const std::string& path) {
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fclose(f);
    return true;
  }
  return false;
}

// Every trade of one capture, in file order.
std::vector<Trade> load_trades(const std::string& exchange, const std::string& path) {
  MarketRegistry registry;
  auto parser = make_parser(exchange, registry);
  CaptureReader reader(path);
  CaptureRecord record;
  EventBuffer events;
  std::vector<Trade> out;
  while (reader.next(record)) {
    events.clear();
    parser->parse(record.frame, record.receive_ts_ns, events);
    for (const FeedEvent& e : events)
      if (e.type == FeedEventType::kTrade) out.push_back(e.trade);
  }
  return out;
}

// The 100-market stream, built once.
const std::vector<Trade>& hundred_market_stream() {
  static const std::vector<Trade> stream = [] {
    const std::string shared = TICKFLOW_SOURCE_DIR "/../shared/data/binance-20240808/";
    const std::string bundled = TICKFLOW_SOURCE_DIR "/tests/data/binance-20240808-trades/";
    std::vector<std::vector<Trade>> files;
    if (file_exists(shared + "spot_btcusdt.gz")) {
      for (auto [exchange, file] : {std::pair{"BINANCE", "spot_btcusdt.gz"},
                                    {"BINANCE", "spot_ethusdt.gz"},
                                    {"BINANCE_FUTURES", "usdm_btcusdt.gz"},
                                    {"BINANCE_FUTURES", "usdm_ethusdt.gz"},
                                    {"BINANCE_FUTURES", "cm_btcusd_perp.gz"},
                                    {"BINANCE_FUTURES", "cm_ethusd_perp.gz"}})
        files.push_back(load_trades(exchange, shared + file));
    } else {
      for (auto [exchange, file] : {std::pair{"BINANCE", "spot_btcusdt.gz"},
                                    {"BINANCE_FUTURES", "usdm_btcusdt.gz"},
                                    {"BINANCE_FUTURES", "cm_btcusd_perp.gz"}})
        files.push_back(load_trades(exchange, bundled + file));
    }
    std::vector<Trade> out;
    for (std::size_t k = 0; k < kMarkets; ++k) {
      const std::int64_t shift = static_cast<std::int64_t>(k) * 1'000'000;  // k ms
      for (Trade t : files[k % files.size()]) {
        t.market = static_cast<MarketId>(k);
        t.exchange_ts_ns += shift;
        t.receive_ts_ns += shift;
        out.push_back(t);
      }
    }
    // Interleaved by exchange time; a market's own trades keep their order.
    std::stable_sort(out.begin(), out.end(),
                     [](const Trade& a, const Trade& b) { return a.exchange_ts_ns < b.exchange_ts_ns; });
    return out;
  }();
  return stream;
}

BarBuilderConfig builder_config() {
  BarBuilderConfig config;
  config.max_markets = kMarkets;
  return config;
}

// Counts what comes out and keeps a checksum, so nothing is optimized away.
struct CountingSink final : BarSink {
  std::uint64_t bars = 0;
  std::uint64_t closes = 0;
  double notional = 0;
  void on_bar(const Bar& bar) override {
    ++bars;
    notional += bar.vbuy + bar.vsell;
  }
  void on_closed(MarketId, std::int64_t) override { ++closes; }
};

// One run of the builder, as the benchmark times it.
void run_builder(BarBuilder& builder, const std::vector<Trade>& stream) {
  for (const Trade& t : stream) {
    builder.advance_clock(t.receive_ts_ns);
    builder.on_trade(t);
  }
  builder.flush();
}

std::unique_ptr<BarBuilder> fresh_builder(BarSink& sink) {
  auto builder = std::make_unique<BarBuilder>(builder_config(), sink);
  for (std::size_t k = 0; k < kMarkets; ++k)
    builder->set_connection(static_cast<MarketId>(k), static_cast<std::uint16_t>(k));  // rings allocated here
  return builder;
}

void BM_BarBuilder_Update(benchmark::State& state) {
  const std::vector<Trade>& stream = hundred_market_stream();
  {
    // The reference: one bar per distinct (market, second), and the bars'
    // notional is the trades' notional.
    std::set<std::pair<MarketId, std::int64_t>> seconds;
    double notional = 0;
    for (const Trade& t : stream) {
      seconds.emplace(t.market, t.exchange_ts_ns / 1'000'000'000);
      notional += t.price * t.qty;
    }
    CountingSink sink;
    auto builder = fresh_builder(sink);
    run_builder(*builder, stream);
    if (sink.bars != seconds.size() || builder->totals().amendments != 0 ||
        std::abs(sink.notional - notional) > 1e-9 * notional) {
      state.SkipWithError("bars differ from the reference count or notional");
      return;
    }
  }
  CountingSink sink;
  for (auto _ : state) {
    state.PauseTiming();
    auto builder = fresh_builder(sink);
    state.ResumeTiming();
    run_builder(*builder, stream);
    state.PauseTiming();
    builder.reset();
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(sink.notional);
  const auto trades = static_cast<double>(state.iterations()) * static_cast<double>(stream.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(trades));
  state.counters["ns_per_trade"] =
      benchmark::Counter(trades * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["markets"] = static_cast<double>(kMarkets);
  state.counters["trades"] = static_cast<double>(stream.size());
}
BENCHMARK(BM_BarBuilder_Update)->Unit(benchmark::kMillisecond);

// What the BarBuilder hands the rollups, recorded once: bars and frontiers.
struct Recorded {
  struct Event {
    Bar bar;  // market and open_time_s carry the frontier when !is_bar
    bool is_bar;
  };
  std::vector<Event> events;
  std::size_t bars = 0;
};

const Recorded& recorded_seconds() {
  static const Recorded recorded = [] {
    struct Recorder final : BarSink {
      Recorded out;
      void on_bar(const Bar& bar) override {
        out.events.push_back({bar, true});
        ++out.bars;
      }
      void on_closed(MarketId market, std::int64_t closed_until_s) override {
        Bar b;
        b.market = market;
        b.open_time_s = closed_until_s;
        out.events.push_back({b, false});
      }
    } recorder;
    auto builder = fresh_builder(recorder);
    run_builder(*builder, hundred_market_stream());
    return recorder.out;
  }();
  return recorded;
}

RollupConfig rollup_config() {
  RollupConfig config;  // 1m, 5m, 15m, 30m, 1h, 4h
  config.max_markets = kMarkets;
  return config;
}

void run_rollups(Rollups& rollups, const Recorded& recorded) {
  for (const Recorded::Event& e : recorded.events) {
    if (e.is_bar)
      rollups.on_bar(e.bar);
    else
      rollups.on_closed(e.bar.market, e.bar.open_time_s);
  }
  rollups.flush();
}

void BM_Rollup_Update(benchmark::State& state) {
  const Recorded& recorded = recorded_seconds();
  {
    // The reference: one rollup bar per distinct (market, timeframe, window).
    std::set<std::tuple<MarketId, std::uint32_t, std::int64_t>> windows;
    for (const Recorded::Event& e : recorded.events)
      if (e.is_bar)
        for (const Timeframe& tf : default_rollup_timeframes())
          windows.emplace(e.bar.market, tf.seconds(), tf.window_start(e.bar.open_time_s));
    CountingSink sink;
    Rollups rollups(rollup_config(), sink);
    run_rollups(rollups, recorded);
    if (sink.bars != windows.size()) {
      state.SkipWithError("rollups differ from the reference count");
      return;
    }
  }
  CountingSink sink;
  for (auto _ : state) {
    state.PauseTiming();
    auto rollups = std::make_unique<Rollups>(rollup_config(), sink);
    for (std::size_t k = 0; k < kMarkets; ++k) rollups->add_market(static_cast<MarketId>(k));
    state.ResumeTiming();
    run_rollups(*rollups, recorded);
    state.PauseTiming();
    rollups.reset();
    state.ResumeTiming();
  }
  benchmark::DoNotOptimize(sink.notional);
  const auto bars = static_cast<double>(state.iterations()) * static_cast<double>(recorded.bars);
  state.SetItemsProcessed(static_cast<std::int64_t>(bars));
  state.counters["ns_per_bar"] =
      benchmark::Counter(bars * 1e-9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bars_1s"] = static_cast<double>(recorded.bars);
}
BENCHMARK(BM_Rollup_Update)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tickflow::bench
