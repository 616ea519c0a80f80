// tests/integration/bus_strategy_test.cc
//
// A strategy host on the bus (issue 19) gives the single-host signals: an
// aggregator publishes its bars through the aggregator role's
// BusBarPublisher (runtime/bus_bar_publisher.h) to a real `nats-server -js`
// (nats_process.h), and a LivePipeline with roles = ["strategy"] (no feeds,
// runtime/bus_strategy.h) runs the StrategyEngine on them.
//
// Input: the scenario of live_strategy_test.cc (~19.5 h of trades made from
// the bundled six-minute BTC captures: spot, USD-M and COIN-M perp, sides
// redrawn by a fixed hash into a balanced stretch, a squeeze, convergence
// and a reversal), through a FeedPublisher into an Aggregator (the event
// clock: the run depends on the input only).
//
// Reference: the all-in-one path in the same run: a StrategyEngine on the
// aggregator's own thread (Aggregator::set_strategy) with a SignalPublisher.
// live_strategy_test.cc holds that path to the backtester of the same
// captures signal for signal, so equal to it here means equal to the
// backtest.
//
// Asserts: the strategy host's signals equal the reference's exactly (every
// field, through their JSON): in its JSONL sink and on the signals stream
// (tickflow.signals.BTCUSDT, decoded with decode_signal); it consumed every
// 1 s bar the aggregator published, once; /metrics counts bars consumed
// and signals published. Bad input first in the bars stream (a malformed
// message, one of another wire version, one for an unconfigured market) is
// counted and skipped, and the consumer goes on.
//
// AggregatorAndStrategyInOneProcessPublishTheirSignals: roles =
// ["aggregator", "strategy"] in one LivePipeline: the StrategyEngine runs on
// the aggregator thread (single-host path) and its signals go to the sinks
// and, through runtime/bus_signal_publisher.h, to the signals stream. The
// same scenario, cut into runs of one market's trades (a few seconds each,
// so a run is one bus message), goes through the collector role's
// BusCollector into the events stream and, frame for frame, into an
// all-in-one Aggregator with the same bar timing beside it. The data lie a
// day ahead and the quiet close waits 10 min, so the live wall clock never
// closes a second (both close on the watermarks alone). Asserts: the
// signals on the stream equal the process's JSONL signals exactly (count,
// ids, every field), and both equal the all-in-one ones; /metrics counts
// them, none dropped; /health shows the signal publisher connected.
//
// BarsOfTheAggregatorRoleReachTheBus: `tickflow run`'s wiring of the same:
// a collector (the bundled spot and USD-M captures from local websocket
// servers), an aggregator role and a strategy host, three LivePipelines on
// one nats-server. Every bar the aggregator hands on (1 s, 1 min and the
// other rollups, amendments included) is in the bars stream, field for
// field, with each market's closed frontier; the strategy host took every
// 1 s bar once. Then the same 1 s bars are handed on again, as by an
// aggregator restarted from an older checkpoint: the stream drops the
// messages cut as before (same Nats-Msg-Id), the host the other final bars
// of seconds it already has; it never takes a second twice.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "bus/bus_publisher.h"
#include "bus/bus_subscriber.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/subjects.h"
#include "bus/wire_codec.h"
#include "config/pipeline_config.h"
#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "pipeline/wall_clock.h"
#include "runtime/aggregator.h"
#include "runtime/bus_bar_publisher.h"
#include "runtime/bus_collector.h"
#include "runtime/capture_stream.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "runtime/live_pipeline.h"
#include "runtime/live_plan.h"
#include "runtime/signal_publisher.h"
#include "strategy/signal.h"
#include "strategy/strategy_engine.h"
#include "tests/integration/nats_process.h"
#include "tests/integration/scenario_trades.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::metric;
using testing::NatsProcess;
using testing::poll_until;
using testing::WsProtocol;
using testing::WsTestServer;
using Clock = std::chrono::steady_clock;

class NatsLibraryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { bus::close_nats_library(); }
};
const auto* const kNatsEnvironment = ::testing::AddGlobalTestEnvironment(new NatsLibraryEnvironment);

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
  p.signal_ttl_s = 86'400;  // what the strategy host's config says
  return p;
}

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::path(::testing::TempDir()) / ("tickflow-bus-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::vector<std::string> file_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string encoded(const Signal& s) {
  char buffer[kSignalJsonCapacity];
  return std::string(buffer, encode_json(s, buffer, sizeof buffer));
}

// The aggregator's output: the bus publisher, counting the 1 s bars.
class CountingTee final : public BarSink {
 public:
  void on_bar(const Bar& bar) override {
    seconds += bar.timeframe_s == 1;
    ++bars;
    target->on_bar(bar);
  }
  void on_closed(MarketId market, std::int64_t closed_until_s) override { target->on_closed(market, closed_until_s); }
  BarSink* target = nullptr;
  std::uint64_t seconds = 0, bars = 0;
};

// The all-in-one listener with a recorder around it.
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
  std::vector<Signal> signals;

 private:
  StrategyListener& inner_;
  const StrategyEngine& engine_;
};

PipelineConfig strategy_config(const std::string& nats_url, const std::filesystem::path& jsonl) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\", \"btcusd_perp\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[influx]\nenabled = false\n\n"
    << "[bars]\ncheckpoint = \"off\"\n\n"
    << "[feeds]\nbackfill = false\n\n"
    << "[strategy]\nenabled = true\nsignal_ttl_s = 86400\n\n"
    << "[[strategy.symbols]]\nbase = \"BTC\"\nsymbol = \"BTCUSDT\"\nexecution_market = \"" << kExecution << "\"\n\n"
    << "[signals]\njsonl = \"" << jsonl.string() << "\"\n\n"
    << "[bus]\nroles = [\"strategy\"]\nservers = [\"" << nats_url << "\"]\ndurable = \"test-strategy\"\n";
  return parse_pipeline_config(c.str(), "strategy.toml");
}

PipelineConfig aggregator_config(const std::string& nats_url) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\", \"btcusd_perp\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[influx]\nenabled = false\n\n"
    << "[bars]\ncheckpoint = \"off\"\n\n"
    << "[bus]\nroles = [\"aggregator\"]\nservers = [\"" << nats_url << "\"]\ndurable = \"test-aggregator\"\n";
  return parse_pipeline_config(c.str(), "aggregator.toml");
}

double metric_of(const LivePipeline& p, const std::string& family, const std::vector<std::string>& labels = {}) {
  return metric(p.metrics().body, family, labels).value_or(-1);
}

// Bad input in the bars stream, published before the real bars: a
// malformed message, a valid one under another file identifier (another
// wire version), and one for a market the strategy host is not configured
// for. Returns how many of each kind: {bad, unknown market}.
std::pair<int, int> publish_bad_input(const std::string& nats_url, const PipelineConfig& config) {
  bus::NatsConnectionConfig connection_config;
  connection_config.servers = {nats_url};
  connection_config.name = "bus-strategy-test";
  bus::NatsConnection connection(connection_config);
  bus::StreamSpec stream;
  stream.name = config.bus.bars_stream;
  stream.subjects = {"tickflow.bars.>"};
  bus::ensure_stream(connection, stream);
  bus::BusPublisher publisher(connection, bus::BusPublisherConfig{});

  const std::string garbage = "not a flatbuffer, not a bar";
  publisher.publish(bus::bars_subject(1, "BINANCE:btcusdt"), "bad-1",
                    std::span(reinterpret_cast<const std::uint8_t*>(garbage.data()), garbage.size()));

  Bar bar;
  bar.open_time_s = 1'700'000'000;
  bar.open = bar.high = bar.low = bar.close = 50'000;
  bar.cbuy = 1;
  bar.vbuy = 50'000;
  bar.qbuy = 1;
  std::vector<std::uint8_t> bytes;
  bus::encode_bars("BINANCE:btcusdt", 1, bar.open_time_s + 1, std::span(&bar, 1), bytes);
  std::vector<std::uint8_t> other_version = bytes;
  std::memcpy(other_version.data() + 4, "TFB9", 4);
  publisher.publish(bus::bars_subject(1, "BINANCE:btcusdt"), "bad-2", other_version);

  bus::encode_bars("BINANCE:dogeusdt", 1, bar.open_time_s + 1, std::span(&bar, 1), bytes);
  publisher.publish(bus::bars_subject(1, "BINANCE:dogeusdt"), "bad-3", bytes);
  EXPECT_TRUE(publisher.flush(10s));
  return {2, 1};
}

// Every signal on the signals stream, in stream order, decoded.
std::vector<Signal> read_signal_stream(const std::string& nats_url, const PipelineConfig& config,
                                       std::size_t expected) {
  bus::NatsConnectionConfig connection_config;
  connection_config.servers = {nats_url};
  connection_config.name = "bus-strategy-test-reader";
  bus::NatsConnection connection(connection_config);
  bus::ConsumerSpec consumer;
  consumer.stream = config.bus.signals_stream;
  consumer.durable = "test-signal-reader";
  consumer.filter_subject = "tickflow.signals.>";
  bus::ensure_consumer(connection, consumer);
  bus::BusSubscriber subscriber(connection, consumer, 64);
  std::vector<Signal> out;
  std::size_t bad = 0;
  const auto deadline = Clock::now() + 10s;
  while (out.size() + bad < expected && Clock::now() < deadline) {
    subscriber.fetch(200ms, [&](const bus::BusMessage& m) {
      Signal s;
      if (bus::decode_signal(m.data, s) == bus::WireError::kNone && m.subject == "tickflow.signals.BTCUSDT")
        out.push_back(s);
      else
        ++bad;
    });
  }
  EXPECT_EQ(bad, 0u);
  // Nothing more than expected.
  subscriber.fetch(200ms, [&](const bus::BusMessage&) { ++bad; });
  EXPECT_EQ(bad, 0u);
  return out;
}

TEST(BusStrategy, StrategyHostOnTheBusGivesTheAllInOneSignals) {
  const auto started = Clock::now();
  NatsProcess nats;
  const auto dir = temp_dir("strategy");
  const auto jsonl = dir / "signals.jsonl";
  const PipelineConfig host_config = strategy_config(nats.url(), jsonl);
  PipelineConfig bars_config = aggregator_config(nats.url());
  bars_config.bus.spool_dir = dir / "bus-spool";

  // The markets in the strategy host's order (its config's), so that both
  // engines hold the group's markets in the same order.
  MarketRegistry registry;
  for (const auto& [exchange, symbols] : host_config.markets)
    for (const std::string& symbol : symbols) registry.intern(live_market_name(exchange, symbol));
  ASSERT_EQ(registry.size(), 3u);
  const std::vector<CaptureSpec> captures = btc_captures();
  CaptureStream one_pass(captures, registry);
  CaptureFrame frame;
  while (one_pass.next(frame)) {
  }
  ASSERT_EQ(one_pass.trades(), kPassTrades);
  ASSERT_EQ(registry.size(), 3u) << "the captures' market names are the live ones";

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

  // --- The strategy host: no feeds, bars from the bus -------------------------
  LivePipelineOptions host_options;
  host_options.pin = false;
  host_options.serve_http = false;
  LivePipeline host(host_config, host_options);
  host.start();
  const auto [bad_messages, unknown_markets] = publish_bad_input(nats.url(), host_config);

  // --- The aggregator, its bars to the bus, the all-in-one strategy beside ---
  AggregatorOptions options;
  options.max_markets = kMaxMarkets;
  options.wall_clock = false;
  options.measure_latency = false;
  CountingTee tee;
  Aggregator aggregator(options, registry, {}, tee);
  BusBarPublisher bars(bars_config, aggregator.names());
  tee.target = &bars;
  FeedChannel channel("tf-feed-0", 1u << 14, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&channel});

  StrategyEngine engine(params(), kMaxMarkets);
  engine.add_group("BTCUSDT", "BTC", registry.intern(kExecution));
  engine.attach_markets(registry);
  SignalPublisher publisher(engine, nullptr, params().max_open_positions);
  RecordingListener reference(publisher, engine);
  aggregator.set_strategy(&engine, &reference);

  std::future<std::string> bars_setup;
  bars.start(false, bars_setup);
  ASSERT_EQ(bars_setup.get(), "");
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
  ASSERT_EQ(aggregator.error(), "");
  EXPECT_TRUE(bars.stop(Clock::now() + 20s)) << "every bar message acked";
  const auto aggregated = Clock::now();
  EXPECT_EQ(bars.counters().bars.load(), tee.bars);
  EXPECT_EQ(bars.counters().dropped.load(), 0u);
  EXPECT_EQ(engine.buffer_overflows(), 0u);

  // The host took every 1 s bar once (the bad input skipped).
  const bool consumed = poll_until(
      [&] { return metric_of(host, "tickflow_bus_bars_consumed_total") >= static_cast<double>(tee.seconds); }, 40s);
  const std::size_t expected_signals = reference.signals.size();
  EXPECT_TRUE(poll_until(
      [&] { return metric_of(host, "tickflow_bus_signals_published_total") >= double(expected_signals); }, 10s));
  const std::string host_metrics = host.metrics().body;
  EXPECT_TRUE(host.stop(Clock::now() + 20s));
  const auto consumed_at = Clock::now();
  ASSERT_TRUE(consumed) << metric(host_metrics, "tickflow_bus_bars_consumed_total").value_or(-1) << " of "
                        << tee.seconds << " 1 s bars";
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_bars_consumed_total").value_or(-1), double(tee.seconds));
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_bars_duplicate_total").value_or(-1), 0);
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_bad_messages_total").value_or(-1), bad_messages);
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_unknown_market_messages_total").value_or(-1), unknown_markets);
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_signals_published_total").value_or(-1), double(expected_signals));
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_connected", {"role=\"strategy\""}).value_or(-1), 1);
  EXPECT_EQ(metric(host_metrics, "tickflow_strategy_signals_lost_total").value_or(-1), 0);
  EXPECT_EQ(metric(host_metrics, "tickflow_strategy_buffer_overflows_total").value_or(-1), 0);
  EXPECT_EQ(metric(host_metrics, "tickflow_strategy_late_bars_total").value_or(-1), double(engine.late_bars()));

  std::printf("%llu bars (%llu of 1 s) in %llu messages; %zu signals; %.1f s aggregating, %.1f s until consumed\n",
              static_cast<unsigned long long>(tee.bars), static_cast<unsigned long long>(tee.seconds),
              static_cast<unsigned long long>(bars.counters().messages.load()), expected_signals,
              std::chrono::duration<double>(aggregated - started).count(),
              std::chrono::duration<double>(consumed_at - aggregated).count());

  // --- The host's signals are the all-in-one ones -----------------------------
  const std::vector<Signal>& expected = reference.signals;
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(
      std::any_of(expected.begin(), expected.end(), [](const Signal& s) { return s.action != SignalAction::kClose; }));
  EXPECT_TRUE(
      std::any_of(expected.begin(), expected.end(), [](const Signal& s) { return s.action == SignalAction::kClose; }));

  const std::vector<std::string> lines = file_lines(jsonl);
  ASSERT_EQ(lines.size(), expected.size()) << "JSONL sink";
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], encoded(expected[i])) << "JSONL line " << i;

  const std::vector<Signal> on_bus = read_signal_stream(nats.url(), host_config, expected.size());
  ASSERT_EQ(on_bus.size(), expected.size()) << "signals stream";
  for (std::size_t i = 0; i < on_bus.size(); ++i) {
    SCOPED_TRACE("signal " + std::to_string(i));
    EXPECT_EQ(on_bus[i].action, expected[i].action);
    EXPECT_STREQ(on_bus[i].symbol, expected[i].symbol);
    EXPECT_EQ(on_bus[i].timestamp_s, expected[i].timestamp_s);
    EXPECT_EQ(on_bus[i].score, expected[i].score);
    EXPECT_EQ(encoded(on_bus[i]), encoded(expected[i]));  // every field
  }
}

// ------------------------------------------------ aggregator and strategy in one process

// Bars nobody reads (the all-in-one reference only needs its strategy).
class DiscardBars final : public BarSink {
 public:
  void on_bar(const Bar&) override {}
};

TEST(BusStrategy, AggregatorAndStrategyInOneProcessPublishTheirSignals) {
  const auto started = Clock::now();
  NatsProcess nats;
  const auto dir = temp_dir("combined");
  const auto jsonl = dir / "signals.jsonl";
  const std::string markets =
      "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\", \"btcusd_perp\"]\n\n"
      "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n[influx]\nenabled = false\n\n"
      "[feeds]\nbackfill = false\n\n";
  std::ostringstream combined_toml, collector_toml;
  // Bar timing: closes by watermark only (live_lateness = the reference's
  // lateness; the data lie ahead of the wall clock, see the banner).
  combined_toml << markets
                << "[bars]\ncheckpoint = \"off\"\nlive_lateness_ms = 50\nquiet_close = \"fixed\"\n"
                   "quiet_delay_ms = 600000\n\n"
                << "[strategy]\nenabled = true\nsignal_ttl_s = 86400\n\n"
                << "[[strategy.symbols]]\nbase = \"BTC\"\nsymbol = \"BTCUSDT\"\nexecution_market = \"" << kExecution
                << "\"\n\n"
                << "[signals]\njsonl = \"" << jsonl.string() << "\"\n\n"
                << "[bus]\nroles = [\"aggregator\", \"strategy\"]\nservers = [\"" << nats.url()
                << "\"]\ndurable = \"test-combined\"\nspool_dir = \"" << (dir / "combined").string() << "\"\n";
  collector_toml << markets << "[bars]\ncheckpoint = \"off\"\n\n"
                 << "[bus]\nroles = [\"collector\"]\nservers = [\"" << nats.url()
                 << "\"]\ncollector_name = \"replay\"\nspool_dir = \"" << (dir / "collector").string() << "\"\n";
  const PipelineConfig combined_config = parse_pipeline_config(combined_toml.str(), "combined.toml");
  const PipelineConfig collector_config = parse_pipeline_config(collector_toml.str(), "collector.toml");

  // The markets in the process's order (its config's), as in the first test.
  MarketRegistry registry;
  for (const auto& [exchange, symbols] : combined_config.markets)
    for (const std::string& symbol : symbols) registry.intern(live_market_name(exchange, symbol));
  const std::vector<CaptureSpec> captures = btc_captures();
  CaptureStream one_pass(captures, registry);
  CaptureFrame frame;
  while (one_pass.next(frame)) {
  }
  ASSERT_EQ(one_pass.trades(), kPassTrades);
  ASSERT_EQ(registry.size(), 3u) << "the captures' market names are the live ones";

  // The scenario a whole number of days ahead: its first second at least
  // 10 min after now, so the wall clock stays behind every bar.
  // The first test's script (a 6 h warm-up instead of 14 h gives an
  // entry but not its CLOSE).
  const std::vector<test::TradeSegment> segments = squeeze_script();
  std::int64_t total_s = 0;
  for (const auto& s : segments) total_s += s.seconds;
  const std::int64_t period_s = one_pass.period_s();
  const int repeat = static_cast<int>((total_s + period_s - 1) / period_s);
  const std::int64_t first_s = one_pass.first_receive_ns() / test::kSecondNs;
  const std::int64_t ahead_s = realtime_ns() / test::kSecondNs + 600 - first_s;
  const std::int64_t offset_days = (ahead_s + 86399) / 86400;
  const std::int64_t start_s = first_s + offset_days * 86400;
  ASSERT_GT(start_s, realtime_ns() / test::kSecondNs + 600);
  const test::TradeScript script(segments, registry, offset_days, start_s);

  // --- The combined process: events from the bus, bars, strategy, signals ----
  LivePipelineOptions options;
  options.pin = false;
  options.serve_http = false;
  LivePipeline combined(combined_config, options);
  combined.start();

  // --- The collector role's publisher, fed as a feed thread feeds it ---------
  BusCollector collector(collector_config, registry, {"BINANCE", "BINANCE_FUTURES", "BINANCE_FUTURES"});
  FeedChannel bus_channel("tf-feed-0", 1u << 14, FullRingPolicy::kBlock, collector.doorbell());
  collector.set_inputs({&bus_channel});
  std::future<std::string> collector_setup;
  collector.start(false, collector_setup);
  ASSERT_EQ(collector_setup.get(), "");

  // --- The all-in-one reference: the same frames, the same bar timing --------
  AggregatorOptions aggregator_options;
  aggregator_options.max_markets = kMaxMarkets;
  aggregator_options.wall_clock = false;
  aggregator_options.measure_latency = false;
  aggregator_options.lateness_ns = std::chrono::nanoseconds(combined_config.bars.live_lateness).count();
  aggregator_options.quiet_close_delay_ns = 3600 * test::kSecondNs;  // the most: never here, as live
  DiscardBars discard;
  Aggregator aggregator(aggregator_options, registry, {}, discard);
  FeedChannel channel("tf-feed-0", 1u << 14, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&channel});
  StrategyEngine engine(params(), kMaxMarkets);
  engine.add_group("BTCUSDT", "BTC", registry.intern(kExecution));
  engine.attach_markets(registry);
  SignalPublisher publisher(engine, nullptr, params().max_open_positions);
  RecordingListener reference(publisher, engine);
  aggregator.set_strategy(&engine, &reference);
  std::thread aggregator_thread([&aggregator] { aggregator.run(); });

  // Runs: the merged trades in blocks of kBlock, each block one frame per
  // market (its trades in order, stamped with the block's last receive
  // time), so one run is one bus message; the markets stay within a block
  // (a few seconds) of each other, well inside the engine's buffer.
  constexpr std::size_t kBlock = 600;
  std::uint64_t trades = 0, frames = 0;
  {
    FeedPublisher reference_feed(channel, kMaxMarkets);
    FeedPublisher bus_feed(bus_channel, kMaxMarkets);
    std::vector<FeedPublisher::Connection> reference_connections(captures.size()), bus_connections(captures.size());
    for (std::size_t i = 0; i < captures.size(); ++i) {
      reference_connections[i].id = static_cast<std::uint16_t>(i);
      bus_connections[i].id = static_cast<std::uint16_t>(i);
    }
    std::vector<std::vector<Trade>> pending(captures.size());
    std::size_t pending_trades = 0;
    std::int64_t block_receive_ns = 0;
    EventBuffer events(kBlock + 16);
    auto flush = [&] {
      for (std::size_t input = 0; input < pending.size(); ++input) {
        if (pending[input].empty()) continue;
        events.clear();
        for (Trade t : pending[input]) {
          t.receive_ts_ns = block_receive_ns;
          events.push(t);
        }
        reference_feed.publish(reference_connections[input], events, block_receive_ns);
        bus_feed.publish(bus_connections[input], events, block_receive_ns);
        pending[input].clear();
        ++frames;
      }
      pending_trades = 0;
    };
    CaptureStreamOptions stream_options;
    stream_options.repeat = repeat;
    stream_options.transform = script.as_function();
    CaptureStream stream(captures, registry, stream_options);
    while (stream.next(frame)) {
      for (const FeedEvent& e : frame.events) {
        if (e.type != FeedEventType::kTrade) continue;
        pending[frame.input].push_back(e.trade);
        block_receive_ns = std::max(block_receive_ns, e.trade.receive_ts_ns);
        ++pending_trades;
        ++trades;
      }
      if (pending_trades >= kBlock) flush();
    }
    flush();
    EXPECT_EQ(trades, kPassTrades * static_cast<std::uint64_t>(repeat));
    channel.close();
    bus_channel.close();
  }
  aggregator_thread.join();
  ASSERT_EQ(aggregator.error(), "");
  EXPECT_TRUE(collector.stop(Clock::now() + 30s)) << "every event message acked";
  const auto published_at = Clock::now();

  // The process applied every trade once; then its stop flushes the open
  // bars (the last evaluations) and waits for the signals' acks.
  const bool applied = poll_until(
      [&] { return metric_of(combined, "tickflow_aggregator_trades_total") >= static_cast<double>(trades); }, 45s);
  const std::string health = combined.health().body;
  EXPECT_TRUE(combined.stop(Clock::now() + 30s));
  const auto stopped_at = Clock::now();
  const std::string metrics = combined.metrics().body;
  ASSERT_TRUE(applied) << metric(metrics, "tickflow_aggregator_trades_total").value_or(-1) << " of " << trades;
  EXPECT_EQ(metric(metrics, "tickflow_aggregator_trades_total").value_or(-1), double(trades));
  EXPECT_EQ(metric(metrics, "tickflow_bar_amendments_total", {"timeframe=\"1s\""}).value_or(-1), 0);
  EXPECT_NE(health.find("\"signals\":{\"connected\":true"), std::string::npos) << health;

  const std::vector<Signal>& expected = reference.signals;
  std::printf("%llu trades in %llu frames, %llu event messages; %zu signals; %.1f s publishing, %.1f s until stopped\n",
              static_cast<unsigned long long>(trades), static_cast<unsigned long long>(frames),
              static_cast<unsigned long long>(collector.counters().messages.load()), expected.size(),
              std::chrono::duration<double>(published_at - started).count(),
              std::chrono::duration<double>(stopped_at - published_at).count());
  ASSERT_FALSE(expected.empty());
  EXPECT_TRUE(
      std::any_of(expected.begin(), expected.end(), [](const Signal& s) { return s.action != SignalAction::kClose; }));
  EXPECT_TRUE(
      std::any_of(expected.begin(), expected.end(), [](const Signal& s) { return s.action == SignalAction::kClose; }));
  EXPECT_EQ(metric(metrics, "tickflow_bus_signals_published_total").value_or(-1), double(expected.size()));
  EXPECT_EQ(metric(metrics, "tickflow_bus_signals_dropped_total").value_or(-1), 0);
  EXPECT_EQ(metric(metrics, "tickflow_strategy_signals_lost_total").value_or(-1), 0);

  // --- The signals stream holds exactly what the JSONL sink got ---------------
  const std::vector<std::string> lines = file_lines(jsonl);
  const std::vector<Signal> on_bus = read_signal_stream(nats.url(), combined_config, lines.size());
  ASSERT_EQ(on_bus.size(), lines.size()) << "signals stream vs JSONL sink";
  for (std::size_t i = 0; i < on_bus.size(); ++i) {
    SCOPED_TRACE("signal " + std::to_string(i));
    char id[36];
    format_uuid(on_bus[i].signal_id, id);
    EXPECT_NE(lines[i].find(std::string(id, sizeof id)), std::string::npos) << lines[i];
    EXPECT_EQ(encoded(on_bus[i]), lines[i]);  // every field
  }

  // --- ... and they are the all-in-one signals --------------------------------
  ASSERT_EQ(lines.size(), expected.size()) << "JSONL sink vs all-in-one";
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], encoded(expected[i])) << "JSONL line " << i;
}

// ---------------------------------------------------------------- the wiring in `tickflow run`

std::vector<std::string> load_frames(const std::string& name) {
  CaptureReader reader(bundled(name));
  CaptureRecord rec;
  std::vector<std::string> frames;
  while (reader.next(rec))
    if (!rec.binary) frames.emplace_back(rec.frame);
  return frames;
}

using BarKey = std::tuple<std::string, std::uint32_t, std::int64_t>;  // market, timeframe, open time

bool same_bar(const Bar& a, const Bar& b) {
  return a.open_time_s == b.open_time_s && a.timeframe_s == b.timeframe_s && a.flags == b.flags && a.open == b.open &&
         a.high == b.high && a.low == b.low && a.close == b.close && a.vbuy == b.vbuy && a.vsell == b.vsell &&
         a.cbuy == b.cbuy && a.csell == b.csell && a.lbuy == b.lbuy && a.lsell == b.lsell && a.qbuy == b.qbuy &&
         a.qsell == b.qsell;
}

// Every bar the aggregator hands on, in order, by market name.
class BarLog final : public BarSink {
 public:
  explicit BarLog(const LivePipeline*& pipeline) : pipeline_(pipeline) {}
  void on_bar(const Bar& bar) override {
    std::lock_guard lock(mutex_);
    bars_.push_back(bar);
  }
  std::vector<std::pair<std::string, Bar>> take() {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, Bar>> out;
    for (const Bar& b : bars_) out.emplace_back(pipeline_->market_name(b.market), b);
    return out;
  }

 private:
  const LivePipeline*& pipeline_;
  std::mutex mutex_;
  std::vector<Bar> bars_;
};

TEST(BusStrategy, BarsOfTheAggregatorRoleReachTheBus) {
  static const std::vector<std::string> spot_frames = load_frames("spot_btcusdt.gz");
  static const std::vector<std::string> usdm_frames = load_frames("usdm_btcusdt.gz");
  std::int64_t first = INT64_MAX;
  for (const auto* frames : {&spot_frames, &usdm_frames})
    for (const std::string& f : *frames) first = std::min(first, testing::trade_time_ms(f));
  const std::int64_t shift_ms = (testing::now_ms() / 1000) * 1000 - (first / 1000) * 1000 - 10'000;
  const std::vector<std::string> spot = testing::shift_frames(spot_frames, shift_ms);
  const std::vector<std::string> usdm = testing::shift_frames(usdm_frames, shift_ms);

  NatsProcess nats;
  WsTestServer spot_server({.protocol = WsProtocol::kBinance, .frames = spot});
  WsTestServer usdm_server({.protocol = WsProtocol::kBinance, .frames = usdm});
  const auto dir = temp_dir("wiring");
  const std::string markets = "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n";
  const std::string common = markets +
                             "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n[influx]\nenabled = "
                             "false\n\n[bars]\ncheckpoint = \"off\"\n\n";
  std::ostringstream collector_toml, aggregator_toml, host_toml;
  collector_toml << common
                 << "[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = "
                    "false\n\n"
                 << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << spot_server.port() << "\nca_file = \""
                 << spot_server.ca_file() << "\"\n\n"
                 << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << usdm_server.port()
                 << "\nca_file = \"" << usdm_server.ca_file() << "\"\n\n"
                 << "[bus]\nroles = [\"collector\"]\nservers = [\"" << nats.url()
                 << "\"]\ncollector_name = \"solo\"\nspool_dir = \"" << (dir / "collector").string() << "\"\n";
  aggregator_toml << common << "[feeds]\nbackfill = false\n\n[bus]\nroles = [\"aggregator\"]\nservers = [\""
                  << nats.url() << "\"]\ndurable = \"test-aggregator\"\nspool_dir = \"" << (dir / "aggregator").string()
                  << "\"\n";
  host_toml << common << "[feeds]\nbackfill = false\n\n[strategy]\nenabled = true\n\n"
            << "[signals]\njsonl = \"" << (dir / "signals.jsonl").string() << "\"\n\n"
            << "[bus]\nroles = [\"strategy\"]\nservers = [\"" << nats.url()
            << "\"]\ndurable = \"test-strategy\"\nspool_dir = \"" << (dir / "strategy").string() << "\"\n";

  LivePipelineOptions options;
  options.pin = false;
  options.serve_http = false;
  const LivePipeline* aggregator_ptr = nullptr;
  BarLog log(aggregator_ptr);
  LivePipelineOptions aggregator_options = options;
  aggregator_options.bar_tap = &log;
  LivePipeline aggregator(parse_pipeline_config(aggregator_toml.str(), "aggregator.toml"), aggregator_options);
  aggregator_ptr = &aggregator;
  LivePipeline host(parse_pipeline_config(host_toml.str(), "strategy.toml"), options);
  LivePipeline collector(parse_pipeline_config(collector_toml.str(), "collector.toml"), options);
  aggregator.start();
  host.start();
  collector.start();

  std::uint64_t trades = 0;
  for (const auto& [exchange, frames] : {std::pair{"BINANCE", &spot}, std::pair{"BINANCE_FUTURES", &usdm}}) {
    MarketRegistry registry;
    auto parser = make_parser(exchange, registry);
    EventBuffer events;
    PaddedFrame padded;
    for (const std::string& f : *frames) {
      padded.assign(f);
      events.clear();
      parser->parse(padded.view(), 1, events);
      for (const FeedEvent& e : events) trades += e.type == FeedEventType::kTrade;
    }
  }
  const bool all = poll_until(
      [&] { return metric_of(aggregator, "tickflow_aggregator_trades_total") >= static_cast<double>(trades); }, 45s);
  EXPECT_TRUE(collector.stop(Clock::now() + 10s));
  // The aggregator's stop flushes every open bar; they reach the bus too.
  EXPECT_TRUE(aggregator.stop(Clock::now() + 15s));
  ASSERT_TRUE(all);
  const std::string aggregator_metrics = aggregator.metrics().body;
  EXPECT_NE(aggregator.health().body.find("\"bars\":{\"connected\":false"), std::string::npos) << "stopped";
  const std::vector<std::pair<std::string, Bar>> handed = log.take();
  std::uint64_t handed_seconds = 0;
  for (const auto& [market, bar] : handed) handed_seconds += bar.timeframe_s == 1;
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_bars_published_total").value_or(-1), double(handed.size()));
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_bars_ring_waits_total").value_or(-1), 0);
  const bool consumed = poll_until(
      [&] { return metric_of(host, "tickflow_bus_bars_consumed_total") >= static_cast<double>(handed_seconds); }, 20s);
  const std::string host_metrics = host.metrics().body;
  const std::string host_health = host.health().body;
  EXPECT_TRUE(consumed);
  EXPECT_NE(host_health.find("\"bus\":{\"strategy\":{\"connected\":true"), std::string::npos) << host_health;
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_bars_consumed_total").value_or(-1), double(handed_seconds));
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_bars_duplicate_total").value_or(-1), 0);
  EXPECT_EQ(metric(host_metrics, "tickflow_bus_bad_messages_total").value_or(-1), 0);
  EXPECT_GT(metric(host_metrics, "tickflow_strategy_evaluations_total").value_or(-1), 0);

  // The bars stream: every bar handed on, in the same order per market and
  // timeframe, each message's frontier never ahead of a 1 s bar to come.
  bus::NatsConnectionConfig connection_config;
  connection_config.servers = {nats.url()};
  connection_config.name = "bus-strategy-test-bars";
  bus::NatsConnection connection(connection_config);
  bus::ConsumerSpec consumer;
  consumer.stream = "TICKFLOW_BARS";
  consumer.durable = "test-bars-reader";
  bus::ensure_consumer(connection, consumer);
  bus::BusSubscriber subscriber(connection, consumer, 256);
  std::map<std::pair<std::string, std::uint32_t>, std::vector<Bar>> on_bus, expected;
  for (const auto& [market, bar] : handed) expected[{market, bar.timeframe_s}].push_back(bar);
  std::map<std::string, std::int64_t> frontier;
  std::size_t bars_on_bus = 0, bad = 0, frontier_violations = 0;
  bus::BarBatchView view;
  const auto deadline = Clock::now() + 20s;
  while (bars_on_bus < handed.size() && bad == 0 && Clock::now() < deadline) {
    subscriber.fetch(200ms, [&](const bus::BusMessage& m) {
      if (bus::decode_bars(m.data, view) != bus::WireError::kNone) {
        ++bad;
        return;
      }
      const std::string market(view.market);
      if (m.subject != bus::bars_subject(view.timeframe_s, market)) ++bad;
      for (std::size_t i = 0; i < view.size(); ++i) {
        const Bar b = view.bar(i, 0);
        if (b.timeframe_s == 1 && !b.is_amendment() && b.open_time_s < frontier[market]) ++frontier_violations;
        on_bus[{market, b.timeframe_s}].push_back(b);
        ++bars_on_bus;
      }
      if (view.timeframe_s == 1) frontier[market] = std::max(frontier[market], view.closed_until_s);
    });
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(frontier_violations, 0u);
  EXPECT_EQ(bars_on_bus, handed.size());
  ASSERT_EQ(on_bus.size(), expected.size()) << "markets x timeframes";
  for (const auto& [key, bars] : expected) {
    SCOPED_TRACE(key.first + " " + std::to_string(key.second) + " s");
    const auto it = on_bus.find(key);
    ASSERT_NE(it, on_bus.end());
    ASSERT_EQ(it->second.size(), bars.size());
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < bars.size(); ++i)
      if (!same_bar(it->second[i], bars[i]) && mismatches++ < 5) {
        ADD_FAILURE() << "bar " << i;
      }
    EXPECT_EQ(mismatches, 0u);
    if (key.second == 1) {
      EXPECT_GT(frontier[key.first], bars.back().open_time_s) << "the last 1 s bar is closed";
    }
  }
  for (const char* market : {"BINANCE:btcusdt", "BINANCE_FUTURES:btcusdt"})
    for (std::uint32_t tf : {1u, 60u}) EXPECT_EQ(expected.count({market, tf}), 1u) << market << " " << tf;

  // An aggregator restarted from an older checkpoint hands the same 1 s
  // bars on again (each with its frontier, cut as its publisher drains):
  // the stream stores what has a known Nats-Msg-Id once, and the strategy
  // host drops the final bars of seconds it already has.
  std::vector<std::string> names(1024);
  std::uint64_t resent = 0, stream_duplicates = 0;
  for (const auto& [market, bar] : handed) names[bar.market] = market;
  {
    PipelineConfig again_config = parse_pipeline_config(aggregator_toml.str(), "aggregator.toml");
    again_config.bus.spool_dir = dir / "again";
    BusBarPublisher again(again_config, names);
    std::future<std::string> setup;
    again.start(false, setup);
    ASSERT_EQ(setup.get(), "");
    for (const auto& [market, bar] : handed) {
      if (bar.timeframe_s != 1 || bar.is_amendment()) continue;
      again.on_bar(bar);
      again.on_closed(bar.market, bar.open_time_s + 1);
      ++resent;
    }
    EXPECT_TRUE(again.stop(Clock::now() + 10s));
    EXPECT_EQ(again.counters().bars.load(), resent);
    stream_duplicates = again.publisher_counters()->duplicates.load();
  }
  const std::uint64_t last_seq = bus::stream_state(connection, "TICKFLOW_BARS").last_seq;
  EXPECT_TRUE(poll_until([&] { return metric_of(host, "tickflow_bus_acked_seq") >= double(last_seq); }, 20s));
  const std::string after_metrics = host.metrics().body;
  EXPECT_TRUE(host.stop(Clock::now() + 10s));
  EXPECT_EQ(metric(after_metrics, "tickflow_bus_bars_consumed_total").value_or(-1), double(handed_seconds))
      << "no second given twice";
  EXPECT_GT(metric(after_metrics, "tickflow_bus_bars_duplicate_total").value_or(-1), 0);
  EXPECT_LE(metric(after_metrics, "tickflow_bus_bars_duplicate_total").value_or(-1), double(resent));
  std::printf(
      "restart: %llu final 1 s bars handed on again; %llu messages dropped by the stream, %.0f bars by the strategy "
      "host\n",
      static_cast<unsigned long long>(resent), static_cast<unsigned long long>(stream_duplicates),
      metric(after_metrics, "tickflow_bus_bars_duplicate_total").value_or(-1));
}

}  // namespace
}  // namespace tickflow
