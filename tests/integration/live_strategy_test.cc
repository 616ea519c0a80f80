// The live strategy path end to end, and proof that it is the backtester's
// code path.
//
// Input: ~19.5 h of trades made from the bundled six-minute BTC captures
// (spot, USD-M and COIN-M perp; tests/integration/scenario_trades.h): the
// real parsers, repeated passes shifted by the pass length (trade ids
// offset as CaptureBarSource does), moved by whole days to end about an
// hour before now (Redis drops signals older than their TTL), and sides
// redrawn per trade by a fixed hash: 14 h balanced (each trade a buy with
// probability 0.5), 2.5 h squeeze (spot 80 % buys, perps 80 % sells), 1 h
// balanced again (convergence), 2 h reversal (spot sells, perps buy).
//
// Live: one producer thread (the test's) publishes every frame's trades
// through a FeedPublisher (one connection per capture, so watermarks are
// per connection as live) into a FeedChannel; an Aggregator (wall_clock
// off: the clock is the trades' receive time; default rollups) runs on its
// own thread with a StrategyEngine (group BTC, execution
// BINANCE_FUTURES:btcusdt) and a SignalPublisher, whose signals go through
// the InfluxWriter's signal ring to a SignalDispatch with all three sinks:
// a real influxd, a JSONL file and a real redis-server.
//
// Backtest: CaptureBarSource over the same captures with the same shift and
// the same TradeScript transform, into a Backtester with the same params
// and symbol.
//
// Asserts: the live aggregator's final 1 s bars equal the backtest source's
// bars (same input); the live signals equal Backtester::signals() exactly
// (every field, through their JSON); there is an entry and a CLOSE; and
// every sink holds exactly those signals: `SELECT * FROM signals`, the JSONL
// lines, Redis' latest key, history (newest first) and counter.
//
// When the two paths differ, one line says where: how many seconds the live
// engine evaluated (the backtester evaluates every one), and how many live
// evaluations at a second t ran while some market of the group was already
// closed past t (StrategyEngine::poll reads Rollups::provisional(), the open
// window at each market's own frontier, so those evaluations see data of
// seconds after t, which the backtester's step t never does).
// TICKFLOW_SCENARIO_PRINT=1 prints both lists of signals.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "feeds/event_buffer.h"
#include "pipeline/market_registry.h"
#include "pipeline/wall_clock.h"
#include "ringbuffers/spsc_ring.h"
#include "runtime/aggregator.h"
#include "runtime/capture_bar_source.h"
#include "runtime/capture_stream.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "runtime/influx_writer.h"
#include "runtime/signal_dispatch.h"
#include "runtime/signal_publisher.h"
#include "strategy/backtester.h"
#include "strategy/signal.h"
#include "strategy/strategy_engine.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/redis_process.h"
#include "tests/integration/scenario_trades.h"
#include "tests/integration/signal_sink_checks.h"

namespace tickflow {
namespace {

using testing::expect_row_matches;
using testing::file_lines;
using testing::InfluxdProcess;
using testing::query_signals;
using testing::redis_get;
using testing::redis_history;
using testing::RedisProcess;
using testing::Row;
using Clock = std::chrono::steady_clock;

constexpr const char* kDb = "live_strategy_test";
constexpr std::size_t kMaxMarkets = 64;
constexpr const char* kExecution = "BINANCE_FUTURES:btcusdt";
constexpr std::uint64_t kPassTrades = 9757 + 21313 + 2286;  // one pass of the three captures (tests/data/README.md)

std::string bundled(const std::string& file) { return TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/" + file; }

std::vector<CaptureSpec> btc_captures() {
  return {{"BINANCE", bundled("spot_btcusdt.gz")},
          {"BINANCE_FUTURES", bundled("usdm_btcusdt.gz")},
          {"BINANCE_FUTURES", bundled("cm_btcusd_perp.gz")}};
}

std::vector<test::TradeSegment> squeeze_script() {
  return {{14 * 3600, 0.5, 0.5}, {9000, 0.8, 0.2}, {3600, 0.5, 0.5}, {7200, 0.2, 0.8}};
}

SqueezeFlowParams params() {
  SqueezeFlowParams p;
  p.signal_ttl_s = 4 * 86400;  // the stream ends within a day before now: every signal is still alive for Redis
  return p;
}

InfluxSinkConfig influx_config(const InfluxdProcess& influx) {
  InfluxSinkConfig c;
  c.endpoint = influx.endpoint(kDb);
  c.endpoint.connect_timeout = std::chrono::milliseconds(300);
  c.endpoint.request_timeout = std::chrono::milliseconds(5000);
  c.max_batch_age = std::chrono::milliseconds(20);
  c.backoff_initial = std::chrono::milliseconds(20);
  c.backoff_max = std::chrono::milliseconds(200);
  c.log = [](std::string_view line) { std::fprintf(stderr, "influx: %.*s\n", int(line.size()), line.data()); };
  return c;
}

RedisSinkConfig redis_config(const RedisProcess& redis) {
  RedisSinkConfig c;
  c.port = redis.port();
  c.connect_timeout = std::chrono::milliseconds(300);
  c.command_timeout = std::chrono::milliseconds(1000);
  c.backoff_initial = std::chrono::milliseconds(20);
  c.backoff_max = std::chrono::milliseconds(200);
  c.log = [](std::string_view line) { std::fprintf(stderr, "redis: %.*s\n", int(line.size()), line.data()); };
  return c;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::path(::testing::TempDir()) / ("tickflow-live-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The aggregator's output: the newest emission of every 1 s bar (to compare
// with the backtest's source), and how many rollup bars went by.
class LatestSecondBars final : public BarSink {
 public:
  void on_bar(const Bar& bar) override {
    if (bar.timeframe_s != 1) {
      ++rollup_bars;
      return;
    }
    const std::uint64_t key = (std::uint64_t{bar.market} << 40) ^ static_cast<std::uint64_t>(bar.open_time_s);
    bars[key] = bar;
  }
  std::unordered_map<std::uint64_t, Bar> bars;
  std::uint64_t rollup_bars = 0;
};

// One evaluation, for the diagnosis when the two paths differ.
struct Evaluation {
  std::int64_t t = 0;
  int action = 0;
  double score = 0;
  double price = 0;
  bool ahead = false;  // live: some market of the group was closed past t
};

// The live listener with a recorder around it: what SignalPublisher was
// asked to publish, and every evaluation.
class RecordingListener final : public StrategyListener {
 public:
  RecordingListener(StrategyListener& inner, const StrategyEngine& engine) : inner_(inner), engine_(engine) {}
  bool on_entry(std::size_t group, const Decision& d) override {
    const bool taken = inner_.on_entry(group, d);
    if (taken) signals.push_back(engine_.make_signal(group, d));
    return taken;
  }
  void on_exit(std::size_t group, const Decision& d) override {
    inner_.on_exit(group, d);
    signals.push_back(engine_.make_signal(group, d));
  }
  void on_evaluation(std::size_t group, const Decision& d) override {
    inner_.on_evaluation(group, d);
    bool ahead = false;
    if (aggregator != nullptr)
      for (MarketId m = 0; m < aggregator->markets_seen(); ++m)
        ahead = ahead || aggregator->closed_until_s(m) > d.time_s;
    ahead_of_frontier += ahead;
    evaluations.push_back({d.time_s, static_cast<int>(d.action), d.score.total, d.price, ahead});
  }
  std::vector<Signal> signals;
  std::vector<Evaluation> evaluations;
  // Evaluations at a second t while some market was already closed past t.
  const Aggregator* aggregator = nullptr;
  std::uint64_t ahead_of_frontier = 0;

 private:
  StrategyListener& inner_;
  const StrategyEngine& engine_;
};

std::string encoded(const Signal& s) {
  char buffer[kSignalJsonCapacity];
  return std::string(buffer, encode_json(s, buffer, sizeof buffer));
}

std::string describe(const Signal& s, std::int64_t start_s) {
  char line[512];
  std::snprintf(line, sizeof line, "%s t=+%lld score=%.17g entry=%.17g | %s", std::string(to_string(s.action)).c_str(),
                static_cast<long long>(s.timestamp_s - start_s), s.score, s.entry_price, s.reasoning);
  return line;
}

class LiveStrategy : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("REDIS_PASSWORD"); }
};

TEST_F(LiveStrategy, LiveSignalsEqualTheBacktestersAndReachInfluxJsonlAndRedis) {
  const auto started = Clock::now();
  MarketRegistry registry;
  const std::vector<CaptureSpec> captures = btc_captures();
  // One pass first: its span, and the markets interned in the order their
  // first trades come (TradeScript's hash takes the market id).
  CaptureStream one_pass(captures, registry);
  CaptureFrame frame;
  while (one_pass.next(frame)) {
  }
  ASSERT_EQ(one_pass.trades(), kPassTrades);

  // The scenario, ending about an hour before now, whole days moved.
  const std::vector<test::TradeSegment> segments = squeeze_script();
  std::int64_t total_s = 0;
  for (const auto& s : segments) total_s += s.seconds;
  const std::int64_t period_s = one_pass.period_s();
  const int repeat = static_cast<int>((total_s + period_s - 1) / period_s);
  const std::int64_t first_s = one_pass.first_receive_ns() / test::kSecondNs;
  const std::int64_t end_s = first_s + repeat * period_s;
  const std::int64_t offset_days = (realtime_ns() / test::kSecondNs - 3600 - end_s) / 86400;
  const std::int64_t start_s = first_s + offset_days * 86400;
  const test::TradeScript script(segments, registry, offset_days, start_s);

  // --- The live path ---------------------------------------------------------
  InfluxdProcess influx;
  RedisProcess redis;
  const auto dir = temp_dir("signals");
  const auto jsonl = dir / "signals.jsonl";

  AggregatorOptions options;
  options.max_markets = kMaxMarkets;
  options.wall_clock = false;
  options.measure_latency = false;
  LatestSecondBars live_bars;
  Aggregator aggregator(options, registry, {}, live_bars);
  FeedChannel channel("tf-feed-0", 1u << 14, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&channel});

  StrategyEngine engine(params(), kMaxMarkets);
  engine.add_group("BTCUSDT", "BTC", registry.intern(kExecution));
  engine.attach_markets(registry);

  InfluxWriterOptions writer_options;
  writer_options.ring_capacity = 1024;
  InfluxWriter writer(influx_config(influx), LineProtocolOptions{}, aggregator.names(), writer_options);
  SignalDispatchOptions sinks;
  sinks.influx = true;
  sinks.jsonl = jsonl;
  sinks.redis = redis_config(redis);
  sinks.log = [](std::string_view line) { std::fprintf(stderr, "signals: %.*s\n", int(line.size()), line.data()); };
  SignalDispatch dispatch(sinks);
  SpscRing<Signal> signal_ring(256);
  writer.set_signal_input(&signal_ring, &dispatch);
  SignalPublisher publisher(engine, &writer, params().max_open_positions);
  RecordingListener listener(publisher, engine);
  listener.aggregator = &aggregator;
  aggregator.set_strategy(&engine, &listener);
  writer.start();

  std::thread aggregator_thread([&aggregator] { aggregator.run(); });
  {
    FeedPublisher feed(channel, kMaxMarkets);
    std::vector<FeedPublisher::Connection> connections(captures.size());
    for (std::size_t i = 0; i < connections.size(); ++i) connections[i].id = static_cast<std::uint16_t>(i);
    CaptureStreamOptions stream_options;
    stream_options.repeat = repeat;
    stream_options.transform = script.as_function();
    CaptureStream stream(captures, registry, stream_options);
    EventBuffer events;
    while (stream.next(frame)) {
      events.clear();
      for (const FeedEvent& e : frame.events)
        if (e.type == FeedEventType::kTrade) events.push(e.trade);
      if (!events.empty()) feed.publish(connections[frame.input], events, frame.receive_ns);
    }
    EXPECT_EQ(stream.trades(), kPassTrades * static_cast<std::uint64_t>(repeat));
    channel.close();
  }
  aggregator_thread.join();
  const auto live_done = Clock::now();
  ASSERT_EQ(aggregator.error(), "");
  EXPECT_EQ(channel.counters().dropped.load(), 0u);
  EXPECT_EQ(aggregator.counters().trades.load(), kPassTrades * static_cast<std::uint64_t>(repeat));
  EXPECT_EQ(aggregator.counters().late_drops.load(), 0u);
  EXPECT_EQ(publisher.counters().ring_full.load(), 0u);
  EXPECT_EQ(publisher.counters().refused.load(), 0u);
  EXPECT_EQ(engine.buffer_overflows(), 0u);
  const std::vector<Signal>& live = listener.signals;
  ASSERT_TRUE(wait_for([&] { return writer.signal_counters().redis_delivered == live.size(); }))
      << writer.signal_counters().redis_delivered << " of " << live.size();
  ASSERT_TRUE(writer.finish(Clock::now() + std::chrono::seconds(20)));

  // --- The backtest ------------------------------------------------------------
  CaptureBarOptions source_options;
  source_options.repeat = repeat;
  source_options.period_s = period_s;
  source_options.transform = script.as_function();
  CaptureBarSource source(captures, registry, source_options);
  EXPECT_EQ(source.trades(), kPassTrades * static_cast<std::uint64_t>(repeat));

  BacktestConfig config;
  config.params = params();
  config.symbols = {{"BTC", "BTCUSDT", kExecution}};
  config.max_markets = kMaxMarkets;
  Backtester backtester(config, registry);
  std::vector<Evaluation> backtest_evaluations;
  backtester.on_decision = [&](const std::string&, const Decision& d) {
    backtest_evaluations.push_back({d.time_s, static_cast<int>(d.action), d.score.total, d.price});
  };
  backtester.run(source);
  const std::vector<Signal>& expected = backtester.signals();
  const auto backtest_done = Clock::now();

  // Same input: the live aggregator's final 1 s bars are the source's.
  std::size_t bar_mismatches = 0;
  EXPECT_EQ(live_bars.bars.size(), source.bars().size());
  for (const Bar& b : source.bars()) {
    const auto it = live_bars.bars.find((std::uint64_t{b.market} << 40) ^ static_cast<std::uint64_t>(b.open_time_s));
    const bool same = it != live_bars.bars.end() && it->second.open == b.open && it->second.high == b.high &&
                      it->second.low == b.low && it->second.close == b.close && it->second.vbuy == b.vbuy &&
                      it->second.vsell == b.vsell && it->second.cbuy == b.cbuy && it->second.csell == b.csell &&
                      it->second.qbuy == b.qbuy && it->second.qsell == b.qsell;
    if (!same && bar_mismatches++ < 5) ADD_FAILURE() << "1 s bar of market " << b.market << " at " << b.open_time_s;
  }
  EXPECT_EQ(bar_mismatches, 0u);

  const bool verbose = std::getenv("TICKFLOW_SCENARIO_PRINT") != nullptr;
  std::printf(
      "live: %zu signals, %zu evaluations; backtest: %zu signals, %zu evaluations; %d passes of %lld s; "
      "%.1f s live, %.1f s backtest\n",
      live.size(), listener.evaluations.size(), expected.size(), backtest_evaluations.size(), repeat,
      static_cast<long long>(period_s), std::chrono::duration<double>(live_done - started).count(),
      std::chrono::duration<double>(backtest_done - live_done).count());
  if (verbose) {
    for (const Signal& s : live) std::printf("  live     %s\n", describe(s, start_s).c_str());
    for (const Signal& s : expected) std::printf("  backtest %s\n", describe(s, start_s).c_str());
  }

  // Where the two differ: the seconds each evaluated, and the decisions at
  // the seconds both evaluated (the backtester evaluates every second).
  {
    std::unordered_map<std::int64_t, Evaluation> by_second;
    for (const Evaluation& e : backtest_evaluations) by_second[e.t] = e;
    std::size_t common = 0, differing = 0, differing_in_step = 0, gaps = 0;
    std::int64_t previous = 0, widest = 0;
    for (const Evaluation& e : listener.evaluations) {
      if (previous != 0 && e.t - previous > 1) ++gaps, widest = std::max(widest, e.t - previous);
      previous = e.t;
      const auto it = by_second.find(e.t);
      if (it == by_second.end()) continue;
      ++common;
      if (it->second.action != e.action || it->second.score != e.score || it->second.price != e.price) {
        differing_in_step += !e.ahead;
        if (differing++ < 5 && verbose)
          std::printf("  at +%lld live action %d score %.17g price %.17g, backtest action %d score %.17g price %.17g\n",
                      static_cast<long long>(e.t - start_s), e.action, e.score, e.price, it->second.action,
                      it->second.score, it->second.price);
      }
    }
    std::printf(
        "live evaluated %zu of the backtest's %zu seconds (%zu skips, widest %lld s); %zu of those decided "
        "differently; %llu live evaluations ran while a market of the group had closed seconds past the evaluated "
        "one (its provisional bars hold them); %zu differing ones had every market closed exactly to it\n",
        common, backtest_evaluations.size(), gaps, static_cast<long long>(widest), differing,
        static_cast<unsigned long long>(listener.ahead_of_frontier), differing_in_step);
  }

  // --- Live = backtest, signal for signal ----------------------------------------
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(
      std::any_of(expected.begin(), expected.end(), [](const Signal& s) { return s.action != SignalAction::kClose; }));
  EXPECT_TRUE(
      std::any_of(expected.begin(), expected.end(), [](const Signal& s) { return s.action == SignalAction::kClose; }));
  EXPECT_EQ(live.size(), expected.size());
  for (std::size_t i = 0; i < std::min(live.size(), expected.size()); ++i) {
    SCOPED_TRACE("signal " + std::to_string(i) + ": live " + describe(live[i], start_s) + " / backtest " +
                 describe(expected[i], start_s));
    EXPECT_EQ(live[i].action, expected[i].action);
    EXPECT_EQ(live[i].timestamp_s, expected[i].timestamp_s);
    EXPECT_EQ(live[i].score, expected[i].score);
    EXPECT_EQ(live[i].entry_price, expected[i].entry_price);
    EXPECT_STREQ(live[i].reasoning, expected[i].reasoning);
    EXPECT_EQ(encoded(live[i]), encoded(expected[i]));  // every field
  }

  // --- Every sink holds exactly the live signals ---------------------------------
  const SignalDispatchCounters c = writer.signal_counters();
  EXPECT_EQ(c.signals, live.size());
  EXPECT_EQ(c.influx_points, live.size());
  EXPECT_EQ(c.jsonl_lines, live.size());
  EXPECT_EQ(c.redis_delivered, live.size());
  EXPECT_EQ(c.redis_expired, 0u);

  const std::vector<Row> rows = query_signals(influx, kDb);
  ASSERT_EQ(rows.size(), live.size());
  for (std::size_t i = 0; i < rows.size(); ++i) expect_row_matches(rows[i], live[i]);  // time order = emission order

  const std::vector<std::string> lines = file_lines(jsonl);
  ASSERT_EQ(lines.size(), live.size());
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], encoded(live[i]));

  ASSERT_FALSE(live.empty());
  EXPECT_EQ(redis_get(redis, "squeezeflow:signal:BTCUSDT"), encoded(live.back()));
  std::vector<std::string> newest_first;
  for (auto it = live.rbegin(); it != live.rend() && newest_first.size() < 100; ++it)  // LTRIM keeps 100
    newest_first.push_back(encoded(*it));
  EXPECT_EQ(redis_history(redis, "BTCUSDT"), newest_first);
  EXPECT_EQ(redis_get(redis, "squeezeflow:stats:signals_published"), std::to_string(live.size()));
}

}  // namespace
}  // namespace tickflow
