// tests/integration/bus_roles_test.cc
//
// The [bus] roles of `tickflow run` (issue 19) in one test process: real
// LivePipelines (a collector, an aggregator) joined by a real `nats-server
// -js` (nats_process.h), the collectors reading the full Binance @trade
// captures of tests/data/binance-20240808-trades (spot btcusdt, USD-M
// btcusdt) from local TLS websocket servers (ws_test_server.h), as
// run_pipeline_test.cc does for the single-host mode.
//
// Every frame is re-timed as in run_pipeline_test.cc (whole seconds added,
// first trade ~10 s in the past), and the reference is computed here from
// the same frames with the project's parsers: per market and 1 s / 1 min
// bar, the trade count and notional. run_pipeline_test.cc holds the
// single-host run of the same captures to this reference exactly, so equal
// to it here means equal to the single-host bars.
//
//  * CollectorToAggregatorGivesSingleHostBars: one collector, one aggregator;
//    the aggregator takes every trade once; its 1 s and 1 min bars equal the
//    reference (counts exact, notionals to 1e-9); messages are acknowledged
//    once their bars are handed on; /health and /metrics show the bus. Bad
//    input already in the stream (a malformed message, another wire
//    format, a market not configured here) is counted and skipped.
//  * StreamMismatchFailsStart: the events stream exists with another
//    duplicate window: start() fails naming the thread, stream and field.
//  * ABCollectorsCountEveryTradeOnce: two collectors on the same captures;
//    A's spot server drops the stream after 3000 frames (resending 100 on
//    reconnect), B's USD-M server stalls for 3 s after 5000 frames and then
//    drops. The aggregator still takes every trade exactly once (the
//    duplicates show in /metrics) and the bars equal the reference.
//  * CollectorAggregatorMirrorsToTheBus: roles = [collector, aggregator]
//    aggregates in process and mirrors to the bus; an aggregator on the bus
//    beside it: both give the reference bars.
//  * CollectorBackfillsItsGapIntoHeldBars: one collector whose spot stream
//    drops after 3000 frames and skips 500 trade ids on reconnect; it
//    backfills them from a local REST server (as run_pipeline_test.cc's
//    single-host GapIsBackfilledIntoExactBars) and publishes them. The
//    aggregator holds the market from the kGap to the kBackfilled that came
//    over the bus: every trade once, the bars equal the reference, and no
//    bar of the gap's seconds was amended.
//  * ABCollectorsOneWithAGapCountEveryTradeOnce: the same gap on A only; B
//    delivers every trade live. Every trade once, bars the reference.
//  * BusThreadsRunOnTheConfiguredCpu: [threads.bus] cpu = the last allowed
//    CPU, pinning on: every tf-bus-* thread (tf-bus-in, tf-bus-bars, and
//    the libnats threads they start, which inherit their name and mask)
//    runs on that CPU only; the unpinned aggregator keeps the whole mask.
#include <gtest/gtest.h>
#include <sched.h>
#include <simdjson.h>
#include <sys/types.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "bus/bus_publisher.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/subjects.h"
#include "bus/wire_codec.h"
#include "config/pipeline_config.h"
#include "feeds/capture_reader.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_sink.h"
#include "pipeline/market_registry.h"
#include "runtime/bus_specs.h"
#include "runtime/live_pipeline.h"
#include "runtime/thread_affinity.h"
#include "tests/integration/capture_frames.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/nats_process.h"
#include "tests/integration/rest_test_server.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::InfluxdProcess;
using testing::metric;
using testing::NatsProcess;
using testing::now_ms;
using testing::poll_until;
using testing::shift_frames;
using testing::trade_time_ms;
using testing::WsProtocol;
using testing::WsTestServer;

class NatsLibraryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { bus::close_nats_library(); }
};
const auto* const kNatsEnvironment = ::testing::AddGlobalTestEnvironment(new NatsLibraryEnvironment);

// ---------------------------------------------------------------- frames and reference

struct Streams {
  std::vector<std::string> spot, usdm;
};

Streams shifted_streams() {
  static const std::vector<std::string> spot = testing::binance_0808_frames("spot_btcusdt.gz");
  static const std::vector<std::string> usdm = testing::binance_0808_frames("usdm_btcusdt.gz");
  std::int64_t first = INT64_MAX;
  for (const auto* frames : {&spot, &usdm})
    for (const std::string& f : *frames) first = std::min(first, trade_time_ms(f));
  const std::int64_t shift_ms = (now_ms() / 1000) * 1000 - (first / 1000) * 1000 - 10'000;
  return Streams{shift_frames(spot, shift_ms), shift_frames(usdm, shift_ms)};
}

struct Cell {
  std::uint64_t trades = 0;
  double notional = 0;
};
using Reference = std::map<std::string, std::map<std::int64_t, Cell>>;  // market -> open time -> cell

struct Expected {
  Reference seconds, minutes;
  std::uint64_t trades = 0;
};

void add_reference(const std::string& exchange, const std::vector<std::string>& frames, Expected& out) {
  MarketRegistry registry;
  auto parser = make_parser(exchange, registry);
  EventBuffer events;
  PaddedFrame padded;
  for (const std::string& f : frames) {
    padded.assign(f);
    events.clear();
    parser->parse(padded.view(), 1, events);
    for (const FeedEvent& e : events) {
      if (e.type != FeedEventType::kTrade) continue;
      const Trade& t = e.trade;
      const std::string& market = registry.info(t.market).name;
      const std::int64_t second = t.exchange_ts_ns / 1'000'000'000;
      for (auto [ref, open] : {std::pair{&out.seconds, second}, std::pair{&out.minutes, second / 60 * 60}}) {
        Cell& c = (*ref)[market][open];
        ++c.trades;
        if (!t.is_liquidation()) c.notional += t.notional();
      }
      ++out.trades;
    }
  }
}

// ---------------------------------------------------------------- the aggregator's bars

// Every bar the aggregator hands on; an amendment replaces its bar.
class BarTap final : public BarSink {
 public:
  void on_bar(const Bar& bar) override {
    std::lock_guard lock(mutex_);
    bars_[{bar.market, bar.timeframe_s, bar.open_time_s}] = bar;
    if (bar.is_amendment()) amended_.push_back({bar.market, bar.timeframe_s, bar.open_time_s});
  }
  // The (market, timeframe, open time) of every amendment handed on.
  std::vector<std::tuple<MarketId, std::uint32_t, std::int64_t>> amended() const {
    std::lock_guard lock(mutex_);
    return amended_;
  }
  Reference by_timeframe(const LivePipeline& pipeline, std::uint32_t timeframe_s) const {
    std::lock_guard lock(mutex_);
    Reference out;
    for (const auto& [key, bar] : bars_) {
      if (std::get<1>(key) != timeframe_s || !bar.has_ohlc()) continue;
      Cell& c = out[pipeline.market_name(std::get<0>(key))][std::get<2>(key)];
      c.trades = static_cast<std::uint64_t>(std::llround(bar.cbuy + bar.csell));
      c.notional = bar.vbuy + bar.vsell;
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<MarketId, std::uint32_t, std::int64_t>, Bar> bars_;
  std::vector<std::tuple<MarketId, std::uint32_t, std::int64_t>> amended_;
};

bool close_enough(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

void expect_bars(const Reference& expected, const Reference& actual, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what << ": markets";
  for (const auto& [market, bars] : expected) {
    SCOPED_TRACE(what + " " + market);
    const auto it = actual.find(market);
    ASSERT_NE(it, actual.end()) << "no bars for " << market;
    EXPECT_EQ(bars.size(), it->second.size()) << "bars";
    std::size_t mismatches = 0;
    for (const auto& [open, cell] : bars) {
      const auto got = it->second.find(open);
      if (got == it->second.end()) {
        if (++mismatches <= 5) ADD_FAILURE() << "missing bar at " << open;
        continue;
      }
      if (got->second.trades != cell.trades || !close_enough(got->second.notional, cell.notional))
        if (++mismatches <= 5)
          ADD_FAILURE() << "bar " << open << ": " << got->second.trades << " trades, " << got->second.notional
                        << " notional; expected " << cell.trades << ", " << cell.notional;
    }
    EXPECT_EQ(mismatches, 0u);
  }
}

// ---------------------------------------------------------------- configs

struct Endpoints {
  std::uint16_t spot_port = 0, usdm_port = 0;
  std::string spot_ca, usdm_ca;
};

std::string common() {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[influx]\nenabled = false\n\n"
    << "[bars]\ncheckpoint = \"off\"\n\n";
  return c.str();
}

// The [bus] servers list of one or more URLs, and the replicas line (R3 on a
// three-node cluster).
std::string servers_lines(const std::vector<std::string>& urls) {
  std::string line = "servers = [";
  for (std::size_t i = 0; i < urls.size(); ++i) line += (i ? ", \"" : "\"") + urls[i] + "\"";
  line += "]\n";
  if (urls.size() >= 3) line += "replicas = 3\n";
  return line;
}

// `spot_rest_url` set: the REST backfill on, BINANCE's history served there.
PipelineConfig collector_config(const std::vector<std::string>& urls, const std::string& name, const Endpoints& e,
                                const std::string& spot_rest_url = "") {
  std::ostringstream c;
  c << common() << "[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = "
    << (spot_rest_url.empty() ? "false" : "true") << "\n\n"
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << e.spot_port << "\nca_file = \"" << e.spot_ca
    << "\"\n";
  if (!spot_rest_url.empty()) c << "rest_url = \"" << spot_rest_url << "\"\n";
  c << "\n"
    << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << e.usdm_port << "\nca_file = \""
    << e.usdm_ca << "\"\n\n"
    << "[bus]\nroles = [\"collector\"]\n"
    << servers_lines(urls) << "collector_name = \"" << name << "\"\n";
  return parse_pipeline_config(c.str(), "collector-" + name + ".toml");
}

PipelineConfig collector_config(const std::string& nats_url, const std::string& name, const Endpoints& e,
                                const std::string& spot_rest_url = "") {
  return collector_config(std::vector<std::string>{nats_url}, name, e, spot_rest_url);
}

// `collectors_backfill`: [feeds] backfill = true, i.e. gap holds until the
// collectors' backfills arrive over the bus.
PipelineConfig aggregator_config(const std::vector<std::string>& urls, bool collectors_backfill = false) {
  std::ostringstream c;
  c << common() << "[feeds]\nbackfill = " << (collectors_backfill ? "true" : "false") << "\n\n"
    << "[bus]\nroles = [\"aggregator\"]\n"
    << servers_lines(urls) << "durable = \"test-aggregator\"\n";
  return parse_pipeline_config(c.str(), "aggregator.toml");
}

PipelineConfig aggregator_config(const std::string& nats_url, bool collectors_backfill = false) {
  return aggregator_config(std::vector<std::string>{nats_url}, collectors_backfill);
}

// An aggregator that stores its bars in InfluxDB at `influx_url`, with the
// restart checkpoint beside its spool in `dir`; few messages per fetch (a
// slower run to stop in the middle of), redelivery after 3 s.
std::string stored_aggregator_toml(const std::string& nats_url, const std::string& influx_url,
                                   const std::filesystem::path& dir, int fetch_batch = 2, int metrics_port = 0) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[influx]\nenabled = true\nurl = \"" << influx_url << "\"\nbatch_age_ms = 20\nspool_dir = \""
    << (dir / "spool").string()
    << "\"\n\n"
    // The captures span 345 s: a horizon below that lets the ack floor move
    // (it stays below every second a late trade could still amend).
    << "[bars]\namend_horizon_s = 60\n\n"
    << "[feeds]\nbackfill = false\n\n"
    << "[bus]\nroles = [\"aggregator\"]\nservers = [\"" << nats_url
    << "\"]\ndurable = \"stored\"\nfetch_batch = " << fetch_batch << "\nack_wait_s = 3\n";
  if (metrics_port != 0)
    c << "\n[metrics]\nbind = \"127.0.0.1\"\nport = " << metrics_port << "\n\n[shutdown]\ndeadline_ms = 10000\n";
  return c.str();
}

PipelineConfig stored_aggregator_config(const std::string& nats_url, const std::string& influx_url,
                                        const std::filesystem::path& dir) {
  return parse_pipeline_config(stored_aggregator_toml(nats_url, influx_url, dir), "stored-aggregator.toml");
}

// market -> time (s) -> (trades, notional) of every point of `measurement`.
Reference query_bars(const InfluxdProcess& influx, const std::string& rp, const std::string& measurement) {
  const std::string body =
      influx.query("SELECT cbuy, csell, vbuy, vsell FROM \"" + rp + "\".\"" + measurement + "\" GROUP BY market");
  Reference out;
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(body);
  for (simdjson::dom::element result : doc["results"].get_array()) {
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element one : series) {
      const std::string market(std::string_view(one["tags"]["market"].get_string()));
      std::vector<std::string> columns;
      for (simdjson::dom::element c : one["columns"].get_array())
        columns.emplace_back(std::string_view(c.get_string()));
      for (simdjson::dom::element row : one["values"].get_array()) {
        std::int64_t ts = 0;
        double values[4] = {0, 0, 0, 0};  // cbuy csell vbuy vsell
        std::size_t i = 0;
        for (simdjson::dom::element v : row.get_array()) {
          double d = 0;
          if (columns[i] == "time") {
            ts = v.get_int64();
          } else if (!v.is_null()) {
            if (v.get_double().get(d) != simdjson::SUCCESS) d = static_cast<double>(v.get_int64().value());
          }
          const char* names[4] = {"cbuy", "csell", "vbuy", "vsell"};
          for (int k = 0; k < 4; ++k)
            if (columns[i] == names[k]) values[k] = d;
          ++i;
        }
        Cell& cell = out[market][ts];
        cell.trades = static_cast<std::uint64_t>(std::llround(values[0] + values[1]));
        cell.notional = values[2] + values[3];
      }
    }
  }
  return out;
}

LivePipelineOptions options(BarSink* tap = nullptr) {
  LivePipelineOptions o;
  o.pin = false;
  o.serve_http = false;
  o.bar_tap = tap;
  return o;
}

double metric_of(const LivePipeline& p, const std::string& family, const std::vector<std::string>& labels = {}) {
  return metric(p.metrics().body, family, labels).value_or(-1);
}

// ---------------------------------------------------------------- tests

TEST(BusRoles, CollectorToAggregatorGivesSingleHostBars) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  add_reference("BINANCE_FUTURES", streams.usdm, expected);

  NatsProcess nats;
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  const Endpoints endpoints{spot.port(), usdm.port(), spot.ca_file(), usdm.ca_file()};

  // Bad input already in the stream: a malformed message, one of an
  // unknown wire version, and a batch for a market this aggregator is not
  // configured for.
  {
    const PipelineConfig config = aggregator_config(nats.url());
    bus::NatsConnection connection(bus_connection_config(config.bus, "test"));
    bus::ensure_stream(connection, bus_events_stream(config.bus));
    bus::BusPublisher publisher(connection, {});
    const std::vector<std::uint8_t> garbage{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    publisher.publish("tickflow.trades.BINANCE.btcusdt", "garbage-1", garbage);
    bus::EventBatchEncoder encoder;
    Trade t;
    t.exchange_ts_ns = now_ms() * 1'000'000;
    t.receive_ts_ns = t.exchange_ts_ns;
    t.trade_id = 7;
    t.price = 3000;
    t.qty = 1;
    encoder.start("other", "BINANCE", "ethusdt", 0);
    encoder.add(FeedEvent::of(t));
    const auto bytes = encoder.finish();
    publisher.publish(bus::trades_subject("BINANCE", "ethusdt"), "eth-1", bytes);
    std::vector<std::uint8_t> future(bytes.begin(), bytes.end());
    future[4] = 'X';  // another file identifier: another wire format
    publisher.publish(bus::trades_subject("BINANCE", "btcusdt"), "future-1", future);
    ASSERT_TRUE(publisher.flush(10s));
  }

  BarTap tap;
  LivePipeline aggregator(aggregator_config(nats.url()), options(&tap));
  aggregator.start();
  LivePipeline collector(collector_config(nats.url(), "solo", endpoints), options());
  collector.start();

  const bool all = poll_until(
      [&] { return metric_of(aggregator, "tickflow_aggregator_trades_total") >= double(expected.trades); }, 45s);
  // The bars of the first messages are handed on: the aggregator acks
  // them (its floor, about once a second).
  EXPECT_TRUE(poll_until([&] { return metric_of(aggregator, "tickflow_bus_acked_seq") > 0; }, 15s));
  const std::string collector_metrics = collector.metrics().body;
  const std::string health = aggregator.health().body;
  EXPECT_TRUE(collector.stop(std::chrono::steady_clock::now() + 10s));
  // Every message's bars handed on: the aggregator acks (about once a second).
  const std::uint64_t published = static_cast<std::uint64_t>(
      metric(collector_metrics, "tickflow_bus_messages_total", {"role=\"collector\""}).value_or(0));
  EXPECT_GT(published, 0u);
  const std::string aggregator_metrics = aggregator.metrics().body;
  EXPECT_TRUE(aggregator.stop(std::chrono::steady_clock::now() + 10s));
  ASSERT_TRUE(all) << "aggregator took " << metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1)
                   << " of " << expected.trades << " trades";

  EXPECT_EQ(metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1), double(expected.trades));
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_duplicates_total", {"where=\"aggregator\""}).value_or(-1), 0);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_bad_messages_total").value_or(-1), 2);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_unknown_market_messages_total").value_or(-1), 1);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_connected", {"role=\"aggregator\""}).value_or(-1), 1);
  EXPECT_EQ(metric(collector_metrics, "tickflow_bus_connected", {"role=\"collector\""}).value_or(-1), 1);
  EXPECT_NE(health.find("\"bus\":{\"aggregator\":{\"connected\":true"), std::string::npos) << health;

  expect_bars(expected.seconds, tap.by_timeframe(aggregator, 1), "1s");
  expect_bars(expected.minutes, tap.by_timeframe(aggregator, 60), "1m");
}

// One of three NATS nodes dies mid-run: the leader of the R3 events stream,
// while the USD-M feed is stalled half-way, so that the collector has more
// to publish after the kill and the aggregator more to consume. Both
// clients go on through the other nodes once a new leader is elected (5-7 s
// here), and the bars are still exactly the captures'.
TEST(BusRoles, KillingOneOfThreeNatsNodesMidRunLosesNothing) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  add_reference("BINANCE_FUTURES", streams.usdm, expected);

  testing::NatsCluster cluster;
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance,
                     .frames = streams.usdm,
                     .stall_after = streams.usdm.size() / 2,
                     .stall_for = 4000ms,
                     .resume_overlap = 50});
  const Endpoints endpoints{spot.port(), usdm.port(), spot.ca_file(), usdm.ca_file()};

  BarTap tap;
  LivePipeline aggregator(aggregator_config(cluster.url_list()), options(&tap));
  aggregator.start();
  LivePipeline collector(collector_config(cluster.url_list(), "solo", endpoints), options());
  collector.start();

  // Half-way: the spot stream and half of USD-M are in; kill the events
  // stream's leader.
  ASSERT_TRUE(poll_until(
      [&] { return metric_of(aggregator, "tickflow_aggregator_trades_total") >= double(expected.trades) / 2; }, 45s));
  std::string leader;
  {
    bus::NatsConnectionConfig admin_config;
    admin_config.servers = cluster.url_list();
    admin_config.name = "test-admin";
    bus::NatsConnection admin(admin_config);
    leader = bus::stream_state(admin, "TICKFLOW_EVENTS").leader;
  }
  const int victim = cluster.index_of(leader);
  ASSERT_GE(victim, 0) << "stream leader '" << leader << "'";
  cluster.kill(victim);
  const double trades_at_kill = metric_of(aggregator, "tickflow_aggregator_trades_total");

  const bool all = poll_until(
      [&] {
        return usdm.frames_written() >= streams.usdm.size() &&
               metric_of(aggregator, "tickflow_aggregator_trades_total") >= double(expected.trades);
      },
      90s);
  const std::string collector_metrics = collector.metrics().body;
  EXPECT_TRUE(collector.stop(std::chrono::steady_clock::now() + 20s));
  const std::string aggregator_metrics = aggregator.metrics().body;
  EXPECT_TRUE(aggregator.stop(std::chrono::steady_clock::now() + 20s));
  ASSERT_TRUE(all) << "aggregator took " << metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1)
                   << " of " << expected.trades << " trades (" << trades_at_kill << " when " << leader
                   << " was killed)";
  EXPECT_LT(trades_at_kill, double(expected.trades));  // the kill was mid-run
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1), double(expected.trades));
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_bad_messages_total").value_or(-1), 0);
  std::printf("killed %s after %.0f of %llu trades; collector resent %.0f, aggregator dropped %.0f duplicate trades\n",
              leader.c_str(), trades_at_kill, static_cast<unsigned long long>(expected.trades),
              metric(collector_metrics, "tickflow_bus_resent_total").value_or(-1),
              metric(aggregator_metrics, "tickflow_bus_duplicates_total", {"where=\"aggregator\""}).value_or(-1));
  expect_bars(expected.seconds, tap.by_timeframe(aggregator, 1), "1s");
  expect_bars(expected.minutes, tap.by_timeframe(aggregator, 60), "1m");
}

TEST(BusRoles, ABCollectorsCountEveryTradeOnce) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  add_reference("BINANCE_FUTURES", streams.usdm, expected);

  NatsProcess nats;
  // A: the spot stream drops mid-way (100 frames resent on reconnect).
  WsTestServer a_spot(
      {.protocol = WsProtocol::kBinance, .frames = streams.spot, .drop_after = 3000, .resume_overlap = 100});
  WsTestServer a_usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  // B: the USD-M stream stalls for 3 s, then drops.
  WsTestServer b_spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer b_usdm(
      {.protocol = WsProtocol::kBinance, .frames = streams.usdm, .stall_after = 5000, .stall_for = 3000ms});

  BarTap tap;
  LivePipeline aggregator(aggregator_config(nats.url()), options(&tap));
  aggregator.start();
  LivePipeline a(collector_config(nats.url(), "a", {a_spot.port(), a_usdm.port(), a_spot.ca_file(), a_usdm.ca_file()}),
                 options());
  LivePipeline b(collector_config(nats.url(), "b", {b_spot.port(), b_usdm.port(), b_spot.ca_file(), b_usdm.ca_file()}),
                 options());
  a.start();
  b.start();

  // Both collectors done: every frame written (B's stalled stream resumed
  // on its second connection) and the aggregator has every trade.
  const bool all = poll_until(
      [&] {
        return a_spot.frames_written() >= streams.spot.size() && b_usdm.frames_written() >= streams.usdm.size() &&
               metric_of(aggregator, "tickflow_aggregator_trades_total") >= double(expected.trades);
      },
      50s);
  EXPECT_GE(a_spot.connections(), 2u);
  EXPECT_GE(b_usdm.connections(), 2u);
  EXPECT_TRUE(a.stop(std::chrono::steady_clock::now() + 10s));
  EXPECT_TRUE(b.stop(std::chrono::steady_clock::now() + 10s));
  // The two collectors cut the same frames: the stream stored most of the
  // second copies once (Nats-Msg-Id), the aggregator dropped the rest.
  const double stream_duplicates = metric_of(a, "tickflow_bus_duplicates_total", {"where=\"stream\""}) +
                                   metric_of(b, "tickflow_bus_duplicates_total", {"where=\"stream\""});
  // What B published after its stall reached the aggregator too.
  // (lag = undelivered + delivered but unacked; the latter wait for their bars.)
  EXPECT_TRUE(poll_until(
      [&] {
        const double lag = metric_of(aggregator, "tickflow_bus_consumer_lag");
        return lag >= 0 && lag <= metric_of(aggregator, "tickflow_bus_unacked_messages");
      },
      15s));
  const std::string aggregator_metrics = aggregator.metrics().body;
  EXPECT_TRUE(aggregator.stop(std::chrono::steady_clock::now() + 10s));
  ASSERT_TRUE(all) << "aggregator took " << metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1)
                   << " of " << expected.trades << " trades";

  EXPECT_EQ(metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1), double(expected.trades));
  // Two collectors' worth of trades reached the stream or the aggregator:
  // what the stream did not drop as a duplicate message, the aggregator did.
  const double aggregator_duplicates =
      metric(aggregator_metrics, "tickflow_bus_duplicates_total", {"where=\"aggregator\""}).value_or(-1);
  EXPECT_GE(aggregator_duplicates, 0);
  EXPECT_GT(stream_duplicates, 0);
  std::printf("A/B: %.0f duplicate messages dropped by the stream, %.0f duplicate trades by the aggregator\n",
              stream_duplicates, aggregator_duplicates);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_too_old_total").value_or(-1), 0);

  expect_bars(expected.seconds, tap.by_timeframe(aggregator, 1), "1s");
  expect_bars(expected.minutes, tap.by_timeframe(aggregator, 60), "1m");
}

// The aggregator stopped in the middle of the stream and started again
// (same durable consumer, same restart checkpoint): it resumes from its ack
// floor, and the bars in InfluxDB are the reference, none lost, none
// doubled.
TEST(BusRoles, AggregatorRestartResumesFromItsAckFloor) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  add_reference("BINANCE_FUTURES", streams.usdm, expected);

  NatsProcess nats;
  InfluxdProcess influx;
  const testing::TempDir dir("bus-restart");
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});

  // The whole capture into the stream first.
  LivePipeline collector(
      collector_config(nats.url(), "solo", {spot.port(), usdm.port(), spot.ca_file(), usdm.ca_file()}), options());
  collector.start();
  ASSERT_TRUE(poll_until(
      [&] {
        return spot.frames_written() >= streams.spot.size() && usdm.frames_written() >= streams.usdm.size() &&
               metric_of(collector, "tickflow_bus_acked_total") >= metric_of(collector, "tickflow_bus_messages_total");
      },
      30s));
  EXPECT_TRUE(collector.stop(std::chrono::steady_clock::now() + 10s));

  const PipelineConfig config = stored_aggregator_config(nats.url(), influx.url(), dir.path);
  double first_trades = 0, first_acked = 0;
  {
    LivePipeline first(config, options());
    first.start();
    EXPECT_TRUE(poll_until(
        [&] {
          return metric_of(first, "tickflow_bus_acked_seq") > 0 &&
                 metric_of(first, "tickflow_aggregator_trades_total") >= double(expected.trades) / 3;
        },
        90s));  // ASan on 2 loaded cores: fetch_batch 2 is slow
    first_acked = metric_of(first, "tickflow_bus_acked_seq");
    EXPECT_TRUE(first.stop(std::chrono::steady_clock::now() + 10s));
    first_trades = metric(first.metrics().body, "tickflow_aggregator_trades_total").value_or(-1);
  }
  {
    PipelineConfig full_speed = config;
    full_speed.bus.fetch_batch = 256;
    LivePipeline second(full_speed, options());
    second.start();
    // Until it has applied the stream's last message.
    bus::NatsConnection connection(bus_connection_config(config.bus, "test"));
    const double last_seq = static_cast<double>(bus::stream_state(connection, config.bus.events_stream).last_seq);
    EXPECT_TRUE(poll_until([&] { return metric_of(second, "tickflow_bus_applied_seq") >= last_seq; }, 40s));
    const std::string metrics = second.metrics().body;
    EXPECT_TRUE(second.stop(std::chrono::steady_clock::now() + 10s));
    std::printf("restart: first run %.0f trades (acked through seq %.0f), second run %.0f trades, %.0f resumed drops\n",
                first_trades, first_acked, metric(metrics, "tickflow_aggregator_trades_total").value_or(-1),
                metric(metrics, "tickflow_resumed_drops_total").value_or(-1));
  }
  EXPECT_LT(first_trades, double(expected.trades));
  expect_bars(expected.seconds, query_bars(influx, "aggr_1s", "trades_1s"), "trades_1s");
  expect_bars(expected.minutes, query_bars(influx, "aggr_1m", "trades_1m"), "trades_1m");
}

// `tickflow run` as the aggregator, SIGKILLed at three points of the
// stream (a quarter, a half, three quarters of its messages applied) and
// started again each time; a fourth run finishes the stream and exits on
// SIGTERM. The bars in InfluxDB are the reference: none lost, none doubled.
TEST(BusRoles, AggregatorKilledThreeTimesStoresExactBars) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  add_reference("BINANCE_FUTURES", streams.usdm, expected);

  NatsProcess nats;
  InfluxdProcess influx;
  const testing::TempDir dir("bus-kill");
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  LivePipeline collector(
      collector_config(nats.url(), "solo", {spot.port(), usdm.port(), spot.ca_file(), usdm.ca_file()}), options());
  collector.start();
  ASSERT_TRUE(poll_until(
      [&] {
        return spot.frames_written() >= streams.spot.size() && usdm.frames_written() >= streams.usdm.size() &&
               metric_of(collector, "tickflow_bus_acked_total") >= metric_of(collector, "tickflow_bus_messages_total");
      },
      30s));
  EXPECT_TRUE(collector.stop(std::chrono::steady_clock::now() + 10s));
  const PipelineConfig config = aggregator_config(nats.url());
  bus::NatsConnection connection(bus_connection_config(config.bus, "test"));
  const double last_seq = static_cast<double>(bus::stream_state(connection, config.bus.events_stream).last_seq);

  const int port = testing::free_loopback_port();
  const std::filesystem::path file = dir.path / "aggregator.toml";
  std::ofstream(file) << stored_aggregator_toml(nats.url(), influx.url(), dir.path, 8, port);
  auto scrape = [&](const char* family) {
    return metric(testing::http_get(port, "/metrics").body, family).value_or(-1);
  };
  for (int kill = 1; kill <= 4; ++kill) {
    SCOPED_TRACE("run " + std::to_string(kill));
    testing::Tickflow child({"run", "--config", file.string(), "--unpinned"}, dir.path / "stderr.log");
    const double target = kill <= 3 ? last_seq * kill / 4 : last_seq;
    const bool reached = poll_until(
        [&] { return scrape("tickflow_bus_applied_seq") >= target && scrape("tickflow_bus_acked_seq") > 0; }, 40s);
    ASSERT_TRUE(reached) << child.log();
    if (kill <= 3) {
      child.signal(SIGKILL);
      ASSERT_TRUE(child.wait(10s).has_value());
    } else {
      child.signal(SIGTERM);
      EXPECT_EQ(child.wait(20s), std::optional<int>(0)) << child.log();
    }
  }
  expect_bars(expected.seconds, query_bars(influx, "aggr_1s", "trades_1s"), "trades_1s");
  expect_bars(expected.minutes, query_bars(influx, "aggr_1m", "trades_1m"), "trades_1m");
}

// A stream that exists with another definition is refused at start,
// naming the field: start() throws (`tickflow run` exits 2).
TEST(BusRoles, StreamMismatchFailsStart) {
  NatsProcess nats;
  {
    LivePipeline first(aggregator_config(nats.url()), options());
    first.start();
    EXPECT_TRUE(first.stop(std::chrono::steady_clock::now() + 10s));
  }
  PipelineConfig other = aggregator_config(nats.url());
  other.bus.duplicate_window = std::chrono::seconds(60);
  LivePipeline second(other, options());
  try {
    second.start();
    ADD_FAILURE() << "start() accepted a stream with another duplicate window";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("tf-bus-in"), std::string::npos) << what;
    EXPECT_NE(what.find("TICKFLOW_EVENTS"), std::string::npos) << what;
    EXPECT_NE(what.find("dup"), std::string::npos) << what;
  }
}

// Collector and aggregator in one process (the feed rings unchanged, a
// mirror ring to the bus) and an aggregator on the bus beside it: both
// give the reference bars.
TEST(BusRoles, CollectorAggregatorMirrorsToTheBus) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  add_reference("BINANCE_FUTURES", streams.usdm, expected);

  NatsProcess nats;
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  PipelineConfig both =
      collector_config(nats.url(), "local", {spot.port(), usdm.port(), spot.ca_file(), usdm.ca_file()});
  both.bus.roles = {BusRole::kCollector, BusRole::kAggregator};

  BarTap remote_tap, local_tap;
  LivePipeline remote(aggregator_config(nats.url()), options(&remote_tap));
  remote.start();
  LivePipeline local(both, options(&local_tap));
  local.start();
  const bool all = poll_until(
      [&] {
        return metric_of(local, "tickflow_aggregator_trades_total") >= double(expected.trades) &&
               metric_of(remote, "tickflow_aggregator_trades_total") >= double(expected.trades);
      },
      45s);
  const std::string local_metrics = local.metrics().body;
  EXPECT_TRUE(local.stop(std::chrono::steady_clock::now() + 10s));
  const std::string remote_metrics = remote.metrics().body;
  EXPECT_TRUE(remote.stop(std::chrono::steady_clock::now() + 10s));
  ASSERT_TRUE(all);
  EXPECT_EQ(metric(local_metrics, "tickflow_aggregator_trades_total").value_or(-1), double(expected.trades));
  EXPECT_EQ(metric(remote_metrics, "tickflow_aggregator_trades_total").value_or(-1), double(expected.trades));
  EXPECT_GT(metric(local_metrics, "tickflow_bus_messages_total", {"role=\"collector\""}).value_or(-1), 0);
  expect_bars(expected.seconds, local_tap.by_timeframe(local, 1), "local 1s");
  expect_bars(expected.seconds, remote_tap.by_timeframe(remote, 1), "remote 1s");
  expect_bars(expected.minutes, remote_tap.by_timeframe(remote, 60), "remote 1m");
}

// ---------------------------------------------------------------- gaps: the collector's backfill

std::string frame_token(const std::string& frame, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const std::size_t at = frame.find(needle);
  if (at == std::string::npos) throw std::runtime_error("no " + needle + " in " + frame);
  const std::size_t start = at + needle.size();
  return frame.substr(start, frame.find_first_of(",}", start) - start);
}

std::uint64_t query_number(const std::string& target, const std::string& key) {
  const std::size_t at = target.find(key + "=");
  return at == std::string::npos ? 0 : std::stoull(target.substr(at + key.size() + 1));
}

// /api/v3/historicalTrades?symbol=BTCUSDT&fromId=N&limit=L from the shifted
// spot capture (run_pipeline_test.cc's): rows with id >= N, at most L.
testing::RestReply binance_history(const std::vector<std::string>& frames, const std::string& target) {
  if (target.rfind("/api/v3/historicalTrades?symbol=BTCUSDT&", 0) != 0) return {400, R"({"code":-1100})"};
  const std::uint64_t from = query_number(target, "fromId");
  const std::size_t limit = std::min<std::size_t>(query_number(target, "limit"), 1000);
  std::string body = "[";
  std::size_t rows = 0;
  for (const std::string& f : frames) {
    if (std::stoull(frame_token(f, "t")) < from) continue;
    if (rows++ == limit) break;
    if (body.size() > 1) body += ',';
    body += "{\"id\":" + frame_token(f, "t") + ",\"price\":" + frame_token(f, "p") + ",\"qty\":" + frame_token(f, "q") +
            ",\"quoteQty\":\"0\",\"time\":" + frame_token(f, "T") + ",\"isBuyerMaker\":" + frame_token(f, "m") +
            ",\"isBestMatch\":true}";
  }
  return {200, body + "]"};
}

// The spot capture with a hole: kHoleLength frames (one trade each,
// consecutive ids) left out after kHoleAt, where the server drops the
// stream; the seconds the hole spans (from the last trade before it to the
// trade that reveals it).
constexpr std::size_t kHoleAt = 3000;
constexpr std::size_t kHoleLength = 500;

struct Hole {
  std::vector<std::string> served;
  std::int64_t first_s = 0, last_s = 0;
};

Hole spot_with_hole(const std::vector<std::string>& spot) {
  Hole hole;
  hole.served.assign(spot.begin(), spot.begin() + kHoleAt);
  hole.served.insert(hole.served.end(), spot.begin() + kHoleAt + kHoleLength, spot.end());
  hole.first_s = trade_time_ms(spot[kHoleAt - 1]) / 1000;
  hole.last_s = trade_time_ms(spot[kHoleAt + kHoleLength]) / 1000;
  return hole;
}

// Once the collectors stopped (every message published and acked, the
// backfill's kBackfilled among them): until the aggregator applied the
// stream's last message, and closed the second of the trade that revealed
// the gap. A hold closes nothing of its market, so that bar is out only
// once the hold ended: by the kBackfilled, or by the clock after
// gap_hold_ms (10 s, counted in gap_hold_timeouts, which the tests expect
// to be 0).
bool applied_everything(const LivePipeline& aggregator, const PipelineConfig& config, const BarTap& tap,
                        std::int64_t revealing_s) {
  bus::NatsConnection connection(bus_connection_config(config.bus, "test"));
  const double last_seq = static_cast<double>(bus::stream_state(connection, config.bus.events_stream).last_seq);
  return poll_until(
      [&] {
        return metric_of(aggregator, "tickflow_bus_applied_seq") >= last_seq &&
               tap.by_timeframe(aggregator, 1)["BINANCE:btcusdt"].count(revealing_s) == 1;
      },
      20s);
}

// A single collector's spot stream drops and resumes past a hole of trade
// ids; the collector backfills the hole from REST and publishes it; the
// aggregator holds the market's seconds until the kBackfilled comes over
// the bus, so the bars are the reference and the gap's were never amended.
TEST(BusRoles, CollectorBackfillsItsGapIntoHeldBars) {
  const Streams streams = shifted_streams();
  Expected expected;  // the whole spot capture, the hole included (USD-M says nothing)
  add_reference("BINANCE", streams.spot, expected);
  ASSERT_EQ(std::stoull(frame_token(streams.spot[kHoleAt + kHoleLength], "t")) -
                std::stoull(frame_token(streams.spot[kHoleAt - 1], "t")) - 1,
            kHoleLength);
  Hole hole = spot_with_hole(streams.spot);
  const std::size_t served_frames = hole.served.size();

  NatsProcess nats;
  testing::RestTestServer rest([&](const std::string& target) { return binance_history(streams.spot, target); });
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = std::move(hole.served), .drop_after = kHoleAt});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = {}});

  BarTap tap;
  const PipelineConfig aggregator_cfg = aggregator_config(nats.url(), /*collectors_backfill=*/true);
  LivePipeline aggregator(aggregator_cfg, options(&tap));
  aggregator.start();
  LivePipeline collector(
      collector_config(nats.url(), "solo", {spot.port(), usdm.port(), spot.ca_file(), usdm.ca_file()}, rest.base_url()),
      options());
  collector.start();

  const bool all = poll_until(
      [&] {
        return spot.frames_written() >= served_frames &&
               metric_of(aggregator, "tickflow_aggregator_trades_total") >= double(expected.trades);
      },
      45s);
  const std::string collector_metrics = collector.metrics().body;
  EXPECT_TRUE(collector.stop(std::chrono::steady_clock::now() + 10s));
  EXPECT_TRUE(applied_everything(aggregator, aggregator_cfg, tap, hole.last_s));
  EXPECT_TRUE(aggregator.stop(std::chrono::steady_clock::now() + 10s));
  const std::string aggregator_metrics = aggregator.metrics().body;  // the final counters
  ASSERT_TRUE(all) << "aggregator took " << metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1)
                   << " of " << expected.trades << " trades\n"
                   << collector_metrics << aggregator_metrics;

  const auto holed = static_cast<double>(kHoleLength);
  const std::vector<std::string> binance = {"exchange=\"BINANCE\""};
  // The collector found the gap and backfilled it.
  EXPECT_EQ(spot.connections(), 2u);
  EXPECT_EQ(metric(collector_metrics, "tickflow_feed_gaps_total", binance).value_or(-1), 1) << collector_metrics;
  EXPECT_EQ(metric(collector_metrics, "tickflow_feed_gap_trades_total", binance).value_or(-1), holed);
  EXPECT_EQ(metric(collector_metrics, "tickflow_backfill_requests_total").value_or(-1), 1);
  EXPECT_EQ(metric(collector_metrics, "tickflow_backfill_failed_total").value_or(-1), 0);
  EXPECT_EQ(metric(collector_metrics, "tickflow_backfill_trades_total").value_or(-1), holed);
  ASSERT_FALSE(rest.targets().empty());
  EXPECT_EQ(rest.targets().front(), "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=" +
                                        frame_token(streams.spot[kHoleAt], "t") + "&limit=1000");
  // The aggregator took every trade once, the backfilled ones over the bus,
  // and held the market from the kGap until the kBackfilled (not the clock).
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1), double(expected.trades));
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_aggregator_backfilled_trades_total").value_or(-1), holed);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_duplicates_total", {"where=\"aggregator\""}).value_or(-1), 0);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_gap_holds_total").value_or(-1), 1) << aggregator_metrics;
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_gap_hold_timeouts_total").value_or(-1), 0) << aggregator_metrics;
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_late_drops_total").value_or(-1), 0);
  // Written once, complete: no bar of the gap's seconds was amended.
  std::size_t gap_amendments = 0;
  for (const auto& [market, timeframe, open] : tap.amended())
    if (open + static_cast<std::int64_t>(timeframe) > hole.first_s && open <= hole.last_s) ++gap_amendments;
  EXPECT_EQ(gap_amendments, 0u) << "seconds " << hole.first_s << ".." << hole.last_s;
  std::printf("gap: seconds %lld..%lld, %zu amendments in all, %zu of them in the gap's seconds\n",
              static_cast<long long>(hole.first_s), static_cast<long long>(hole.last_s), tap.amended().size(),
              gap_amendments);

  expect_bars(expected.seconds, tap.by_timeframe(aggregator, 1), "1s");
  expect_bars(expected.minutes, tap.by_timeframe(aggregator, 60), "1m");
}

// The same hole on collector A only; B reads the whole capture live. Both
// backfill where they find gaps (A does, B finds none). Every trade once:
// B's live copies of the hole and A's backfill of it are one trade each.
TEST(BusRoles, ABCollectorsOneWithAGapCountEveryTradeOnce) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  Hole hole = spot_with_hole(streams.spot);
  const std::size_t served_frames = hole.served.size();

  NatsProcess nats;
  testing::RestTestServer rest([&](const std::string& target) { return binance_history(streams.spot, target); });
  WsTestServer a_spot({.protocol = WsProtocol::kBinance, .frames = std::move(hole.served), .drop_after = kHoleAt});
  WsTestServer b_spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer a_usdm({.protocol = WsProtocol::kBinance, .frames = {}});
  WsTestServer b_usdm({.protocol = WsProtocol::kBinance, .frames = {}});

  BarTap tap;
  const PipelineConfig aggregator_cfg = aggregator_config(nats.url(), /*collectors_backfill=*/true);
  LivePipeline aggregator(aggregator_cfg, options(&tap));
  aggregator.start();
  LivePipeline a(collector_config(nats.url(), "a", {a_spot.port(), a_usdm.port(), a_spot.ca_file(), a_usdm.ca_file()},
                                  rest.base_url()),
                 options());
  LivePipeline b(collector_config(nats.url(), "b", {b_spot.port(), b_usdm.port(), b_spot.ca_file(), b_usdm.ca_file()},
                                  rest.base_url()),
                 options());
  a.start();
  b.start();

  const bool all = poll_until(
      [&] {
        return a_spot.frames_written() >= served_frames && b_spot.frames_written() >= streams.spot.size() &&
               metric_of(a, "tickflow_backfill_trades_total") >= double(kHoleLength) &&
               metric_of(aggregator, "tickflow_aggregator_trades_total") >= double(expected.trades);
      },
      45s);
  const std::string a_metrics = a.metrics().body;
  const std::string b_metrics = b.metrics().body;
  EXPECT_TRUE(a.stop(std::chrono::steady_clock::now() + 10s));
  EXPECT_TRUE(b.stop(std::chrono::steady_clock::now() + 10s));
  EXPECT_TRUE(applied_everything(aggregator, aggregator_cfg, tap, hole.last_s));
  EXPECT_TRUE(aggregator.stop(std::chrono::steady_clock::now() + 10s));
  const std::string aggregator_metrics = aggregator.metrics().body;  // the final counters
  ASSERT_TRUE(all) << "aggregator took " << metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1)
                   << " of " << expected.trades << " trades\n"
                   << a_metrics << aggregator_metrics;

  EXPECT_EQ(metric(a_metrics, "tickflow_backfill_trades_total").value_or(-1), double(kHoleLength));
  EXPECT_EQ(metric(b_metrics, "tickflow_backfill_requests_total").value_or(-1), 0);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_aggregator_trades_total").value_or(-1), double(expected.trades));
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_gap_holds_total").value_or(-1), 1);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_gap_hold_timeouts_total").value_or(-1), 0);
  EXPECT_EQ(metric(aggregator_metrics, "tickflow_bus_too_old_total").value_or(-1), 0);
  expect_bars(expected.seconds, tap.by_timeframe(aggregator, 1), "1s");
  expect_bars(expected.minutes, tap.by_timeframe(aggregator, 60), "1m");
}

// Every thread of this process: its name (comm) and the CPUs it may run on.
struct TaskCpus {
  std::string name;
  std::vector<int> cpus;
};

std::vector<TaskCpus> task_cpus() {
  std::vector<TaskCpus> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    TaskCpus task;
    std::ifstream comm(entry.path() / "comm");
    if (!std::getline(comm, task.name)) continue;  // the thread has just exited
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(static_cast<pid_t>(std::stol(entry.path().filename().string())), sizeof(set), &set) != 0)
      continue;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) task.cpus.push_back(cpu);
    out.push_back(std::move(task));
  }
  return out;
}

TEST(BusRoles, BusThreadsRunOnTheConfiguredCpu) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_GE(allowed.size(), 2u) << "pinning one thread apart needs two CPUs";
  const int cpu = allowed.back();
  NatsProcess nats;
  const PipelineConfig config =
      parse_pipeline_config(common() + "[threads.bus]\ncpu = " + std::to_string(cpu) +
                                "\n\n[feeds]\nbackfill = false\n\n[bus]\nroles = [\"aggregator\"]\n" +
                                servers_lines({nats.url()}) + "durable = \"pinned\"\n",
                            "pinned.toml");
  ASSERT_EQ(config.bus_threads.cpu, cpu);
  LivePipelineOptions pinned = options();
  pinned.pin = true;
  LivePipeline pipeline(config, pinned);
  pipeline.start();  // returns once every thread has applied its config and connected

  std::map<std::string, int> bus_threads;  // name -> threads of that name
  bool saw_aggregator = false;
  for (const TaskCpus& task : task_cpus()) {
    SCOPED_TRACE(task.name);
    if (task.name.rfind("tf-bus-", 0) == 0) {
      ++bus_threads[task.name];
      EXPECT_EQ(task.cpus, std::vector<int>{cpu});
    } else if (task.name == "tf-agg") {
      saw_aggregator = true;
      EXPECT_EQ(task.cpus, allowed) << "[threads.aggregator] sets no cpu";
    }
  }
  EXPECT_TRUE(saw_aggregator);
  EXPECT_GE(bus_threads["tf-bus-in"], 1);
  EXPECT_GE(bus_threads["tf-bus-bars"], 1);
  // Each connection's libnats threads (its reader, at least) were started
  // by a bus thread after it was pinned: same name, same CPU.
  EXPECT_GE(bus_threads["tf-bus-in"] + bus_threads["tf-bus-bars"], 3);
  EXPECT_EQ(bus_threads.size(), 2u) << "no other bus thread in an aggregator";
  EXPECT_TRUE(pipeline.stop(std::chrono::steady_clock::now() + 10s));
}

}  // namespace
}  // namespace tickflow
