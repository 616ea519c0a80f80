// tests/integration/run_pipeline_test.cc
//
// `tickflow run` end to end, as a child process, with nothing leaving
// loopback: WsTestServer instances (local TLS websocket servers) replay the
// full Binance @trade captures of tests/data/binance-20240808-trades (spot
// btcusdt, USD-M btcusdt), a real influxd (influxd_process.h) takes the bars,
// and the test reads /health and /metrics with libcurl while it runs.
//
// The live aggregator's clock is the wall clock and the captures are from
// 2024, so every frame is re-timed first: a whole number of seconds is added
// to its "E" and "T" milliseconds (1 s bucketing unchanged), putting the first
// trade ~10 s in the past. The reference is computed here from the same
// shifted frames with the project's own parsers: per market, the seconds and
// minutes that have trades, their trade counts and notionals.
//
//  * EveryTradeLandsInExactBars: clean run; after every frame is written and
//    the aggregator has taken every trade, /health is 200 with both feeds
//    connected, /metrics has the bar, latency and ring families; SIGTERM ->
//    exit 0; trades_1s and trades_1m in InfluxDB equal the reference point
//    for point (counts exact, notionals to 1e-9).
//  * MisbehavingServersStillGiveExactBars: the spot server drops the stream
//    after 3000 frames and resends 100 on reconnect; the USD-M server injects
//    two garbage frames. Reconnects and duplicates show in /metrics and the
//    bars are still exact.
//  * GapIsBackfilledIntoExactBars: backfill on; the spot server drops the
//    stream after 3000 frames and skips 500 on reconnect (a hole of trade
//    ids); a local REST server serves historicalTrades from the same shifted
//    capture. The gap and the 500 backfilled trades show in /metrics, every
//    trade reaches the aggregator once, and trades_1s / trades_1m for
//    BINANCE:btcusdt equal the full capture's reference.
//  * ProfilePinnedToMissingCpuIsRefused: cpu = 63 -> exit 2 naming CPU 63 and
//    --unpinned; with --unpinned --duration 1 --no-influx: exit 0, log says so.
//  * SigintShutsDownCleanly: SIGINT -> exit 0, like SIGTERM.
//  * UnknownConfigKeyIsRejected: exit 2, stderr names the file and the key.
//  * RecordWritesReplayableCaptures: `tickflow record --plain --no-http`;
//    after SIGTERM (exit 0) DIR holds only <EXCHANGE>-<YYYYMMDD>-<HH>.log
//    files (the receive hour, UTC) whose frames are the served frames byte
//    for byte, in order; `tickflow replay` of them gives every trade once.
//  * ThreadsAreNamedAsConfigured: two feed threads (the first unnamed, so
//    "tf-feed-0"; the second "tf-feed-btc"), backfill and InfluxDB on:
//    /proc/<pid>/task/*/comm has tf-feed-0, tf-feed-btc, tf-agg, tf-writer,
//    tf-http, tf-backfill and tf-log; every trade arrives once, no gap.
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "tests/integration/capture_frames.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/rest_test_server.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

extern char** environ;

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::http_get;
using testing::HttpResult;
using testing::InfluxdProcess;
using testing::metric;
using testing::now_ms;
using testing::poll_until;
using testing::read_file;
using testing::run_to_exit;
using testing::shift_frames;
using testing::TempDir;
using testing::Tickflow;
using testing::trade_time_ms;
using testing::WsInjection;
using testing::WsProtocol;
using testing::WsServerBehavior;
using testing::WsTestServer;
namespace fs = std::filesystem;

constexpr std::size_t kSpotTrades = 9757;   // tests/data/README.md
constexpr std::size_t kUsdmTrades = 21313;  // tests/data/README.md
constexpr std::size_t kSpotSeconds = 345;   // seconds with trades (with cm_btcusd_perp's 202: replay's 891 bars)
constexpr std::size_t kUsdmSeconds = 344;

// ---------------------------------------------------------------- frames

struct Streams {
  std::vector<std::string> spot, usdm;
  std::int64_t shift_ms = 0;
};

// Both captures, shifted by one whole-second amount so that the earliest
// trade is 10 s before now.
Streams shifted_streams() {
  static const std::vector<std::string> spot = testing::binance_0808_frames("spot_btcusdt.gz");
  static const std::vector<std::string> usdm = testing::binance_0808_frames("usdm_btcusdt.gz");
  std::int64_t first = INT64_MAX;
  for (const auto* frames : {&spot, &usdm})
    for (const std::string& f : *frames) first = std::min(first, trade_time_ms(f));
  Streams s;
  s.shift_ms = (now_ms() / 1000) * 1000 - (first / 1000) * 1000 - 10'000;
  s.spot = shift_frames(spot, s.shift_ms);
  s.usdm = shift_frames(usdm, s.shift_ms);
  return s;
}

// ---------------------------------------------------------------- reference

struct Cell {
  std::uint64_t trades = 0;
  double notional = 0;
};
// market -> bar open time (s) -> what the bar must hold.
using Reference = std::map<std::string, std::map<std::int64_t, Cell>>;

struct Expected {
  Reference seconds, minutes;
  std::uint64_t trades = 0;
};

// Parses `frames` with the exchange's parser (as the live feed does) and
// buckets the trades by exchange second and minute.
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

Expected reference(const Streams& s) {
  Expected e;
  add_reference("BINANCE", s.spot, e);
  add_reference("BINANCE_FUTURES", s.usdm, e);
  return e;
}

// ---------------------------------------------------------------- config

struct ConfigSpec {
  std::uint16_t spot_port = 0;
  std::uint16_t usdm_port = 0;
  std::string spot_ca{};
  std::string usdm_ca{};
  std::string influx_url{};  // empty: influx disabled
  std::optional<int> feed_cpu{};
  std::string extra{};  // appended verbatim
};

fs::path write_config(const fs::path& dir, const ConfigSpec& s) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n";
  if (s.feed_cpu) c << "cpu = " << *s.feed_cpu << "\n";
  c << "\n[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = false\n\n"
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << s.spot_port << "\nca_file = \"" << s.spot_ca
    << "\"\n\n"
    << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << s.usdm_port << "\nca_file = \""
    << s.usdm_ca << "\"\n\n"
    << "[influx]\nenabled = " << (s.influx_url.empty() ? "false" : "true") << "\n"
    << "url = \"" << (s.influx_url.empty() ? std::string("http://127.0.0.1:9") : s.influx_url) << "\"\n"
    << "batch_age_ms = 20\nspool_dir = \"" << (dir / "spool").string() << "\"\n\n"
    << "[metrics]\nbind = \"127.0.0.1\"\nport = 9464\n\n"
    << "[shutdown]\ndeadline_ms = 10000\n"
    << s.extra;
  const fs::path path = dir / "run.toml";
  std::ofstream(path) << c.str();
  return path;
}

// ---------------------------------------------------------------- InfluxDB

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
    for (simdjson::dom::element s : series) {
      const std::string market(std::string_view(s["tags"]["market"].get_string()));
      std::vector<std::string> columns;
      for (simdjson::dom::element c : s["columns"].get_array()) columns.emplace_back(std::string_view(c.get_string()));
      for (simdjson::dom::element row : s["values"].get_array()) {
        std::int64_t ts = 0;
        double cbuy = 0, csell = 0, vbuy = 0, vsell = 0;
        std::size_t i = 0;
        for (simdjson::dom::element v : row.get_array()) {
          double d = 0;
          if (columns[i] == "time") {
            ts = v.get_int64();
          } else if (!v.is_null()) {
            if (v.get_double().get(d) != simdjson::SUCCESS) d = static_cast<double>(v.get_int64().value());
          }
          if (columns[i] == "cbuy") cbuy = d;
          if (columns[i] == "csell") csell = d;
          if (columns[i] == "vbuy") vbuy = d;
          if (columns[i] == "vsell") vsell = d;
          ++i;
        }
        Cell& cell = out[market][ts];
        cell.trades = static_cast<std::uint64_t>(std::llround(cbuy + csell));
        cell.notional = vbuy + vsell;
      }
    }
  }
  return out;
}

bool close_enough(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

// Every expected point with its count and notional, and nothing else.
void expect_bars(const Reference& expected, const Reference& actual, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what << ": markets";
  for (const auto& [market, bars] : expected) {
    SCOPED_TRACE(what + " " + market);
    const auto it = actual.find(market);
    ASSERT_NE(it, actual.end()) << "no points for " << market;
    EXPECT_EQ(it->second.size(), bars.size()) << "points";
    std::uint64_t trades = 0, got_trades = 0;
    double notional = 0, got_notional = 0;
    std::size_t mismatches = 0;
    for (const auto& [ts, cell] : bars) {
      trades += cell.trades;
      notional += cell.notional;
      const auto got = it->second.find(ts);
      if (got == it->second.end()) {
        if (mismatches++ < 5) ADD_FAILURE() << "missing bar at " << ts;
        continue;
      }
      if (got->second.trades != cell.trades || !close_enough(got->second.notional, cell.notional))
        if (mismatches++ < 5)
          ADD_FAILURE() << "bar at " << ts << ": " << got->second.trades << " trades, notional " << got->second.notional
                        << "; expected " << cell.trades << ", " << cell.notional;
    }
    for (const auto& [ts, cell] : it->second) {
      got_trades += cell.trades;
      got_notional += cell.notional;
    }
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(got_trades, trades) << "cbuy + csell over every point";
    EXPECT_TRUE(close_enough(got_notional, notional)) << got_notional << " vs " << notional;
  }
}

// ---------------------------------------------------------------- the live run

struct LiveRun {
  std::string metrics_before_stop;
  std::string health_before_stop;
  long health_status = 0;
};

// Runs tickflow against the two servers and `influx` until every trade is
// in the aggregator, scrapes /health and /metrics, then SIGTERMs it and
// expects exit status 0.
void run_live(WsTestServer& spot_server, std::size_t spot_frames, WsTestServer& usdm_server, std::size_t usdm_frames,
              const InfluxdProcess& influx, std::uint64_t trades, const TempDir& dir, LiveRun& out) {
  const int http_port = testing::free_loopback_port();
  const fs::path config = write_config(dir.path, {.spot_port = spot_server.port(),
                                                  .usdm_port = usdm_server.port(),
                                                  .spot_ca = spot_server.ca_file(),
                                                  .usdm_ca = usdm_server.ca_file(),
                                                  .influx_url = influx.url(),
                                                  .extra = "\n[strategy]\nenabled = true\n[[strategy.symbols]]\n"
                                                           "base = \"BTC\"\n\n[signals]\ninflux = true\n"
                                                           "jsonl = \"" +
                                                           (dir.path / "signals.jsonl").string() + "\"\n"});
  Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
                    dir.path / "stderr");
  std::string metrics;
  const bool all_in = poll_until(
      [&] {
        if (!tickflow.running()) return true;
        if (spot_server.frames_written() < spot_frames || usdm_server.frames_written() < usdm_frames) return false;
        metrics = http_get(http_port, "/metrics").body;
        const auto taken = metric(metrics, "tickflow_aggregator_trades_total");
        return taken && *taken >= static_cast<double>(trades);
      },
      40s);
  ASSERT_TRUE(tickflow.running()) << "tickflow exited early:\n" << tickflow.log();
  ASSERT_TRUE(all_in) << "spot frames written " << spot_server.frames_written() << "/" << spot_frames << ", usdm "
                      << usdm_server.frames_written() << "/" << usdm_frames << "\n"
                      << metrics << "\n"
                      << tickflow.log();
  const HttpResult health = http_get(http_port, "/health");
  const HttpResult final_metrics = http_get(http_port, "/metrics");
  out.health_status = health.status;
  out.health_before_stop = health.body;
  out.metrics_before_stop = final_metrics.body;

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(25s);
  ASSERT_TRUE(status.has_value()) << "no exit within 25 s of SIGTERM (deadline_ms 10000):\n" << tickflow.log();
  EXPECT_EQ(*status, 0) << tickflow.log();
  const std::string log = tickflow.log();
  EXPECT_NE(log.find("SIGTERM: shutting down"), std::string::npos) << log;
  EXPECT_NE(log.find("clean shutdown"), std::string::npos) << log;
  // The strategy ran on the aggregator thread (minutes of data: too short
  // for a 5m..4h signal, so the signal file exists and is empty).
  EXPECT_NE(log.find("strategy: SqueezeFlow on BTCUSDT"), std::string::npos) << log;
  EXPECT_NE(log.find(" entries, "), std::string::npos) << "the exit summary counts the strategy's work\n" << log;
  EXPECT_TRUE(fs::exists(dir.path / "signals.jsonl"));
}

void expect_health_and_metrics(const LiveRun& run, std::uint64_t trades) {
  EXPECT_EQ(run.health_status, 200) << run.health_before_stop;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(run.health_before_stop).get(doc), simdjson::SUCCESS) << run.health_before_stop;
  EXPECT_EQ(std::string_view(doc["status"].get_string()), "ok") << run.health_before_stop;
  std::map<std::string, std::string> states;
  for (simdjson::dom::element feed : doc["feeds"].get_array())
    states[std::string(std::string_view(feed["venue"].get_string()))] = std::string_view(feed["state"].get_string());
  EXPECT_EQ(states.size(), 2u) << run.health_before_stop;
  for (const auto& [venue, state] : states) EXPECT_EQ(state, "connected") << venue;

  const std::string& m = run.metrics_before_stop;
  EXPECT_EQ(metric(m, "tickflow_aggregator_trades_total"), static_cast<double>(trades)) << m;
  EXPECT_EQ(metric(m, "tickflow_late_drops_total"), 0.0) << m;
  EXPECT_TRUE(metric(m, "tickflow_bars_total", {"timeframe=\"1s\""}).has_value()) << m;
  EXPECT_GT(metric(m, "tickflow_bars_total", {"timeframe=\"1s\""}).value_or(0), 0.0) << m;
  EXPECT_NE(m.find("# TYPE tickflow_latency_receive_to_bar_seconds"), std::string::npos) << m;
  // The BTC group is evaluated each time its frontier moves (the replayed
  // frames arrive faster than real time, so it moves by several seconds at once).
  EXPECT_GT(metric(m, "tickflow_strategy_evaluations_total").value_or(0), 50.0) << m;
  EXPECT_EQ(metric(m, "tickflow_strategy_signals_lost_total"), 0.0) << m;
  EXPECT_NE(m.find("# TYPE tickflow_latency_strategy_evaluation_seconds"), std::string::npos) << m;
  EXPECT_TRUE(metric(m, "tickflow_ring_depth", {"ring=\"tf-feed-0\""}).has_value()) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_trades_total", {"exchange=\"BINANCE\""}), static_cast<double>(kSpotTrades));
  EXPECT_EQ(metric(m, "tickflow_feed_trades_total", {"exchange=\"BINANCE_FUTURES\""}),
            static_cast<double>(kUsdmTrades));
}

void expect_influx_bars(const InfluxdProcess& influx, const Expected& expected) {
  expect_bars(expected.seconds, query_bars(influx, "aggr_1s", "trades_1s"), "trades_1s");
  expect_bars(expected.minutes, query_bars(influx, "aggr_1m", "trades_1m"), "trades_1m");
}

class CurlGlobal : public ::testing::Environment {
 public:
  void SetUp() override { curl_global_init(CURL_GLOBAL_DEFAULT); }
  void TearDown() override { curl_global_cleanup(); }
};
[[maybe_unused]] ::testing::Environment* const curl_env = ::testing::AddGlobalTestEnvironment(new CurlGlobal);

TEST(RunPipeline, EveryTradeLandsInExactBars) {
  const Streams streams = shifted_streams();
  const Expected expected = reference(streams);
  ASSERT_EQ(expected.trades, kSpotTrades + kUsdmTrades);
  ASSERT_EQ(expected.seconds.size(), 2u);
  ASSERT_EQ(streams.shift_ms % 1000, 0) << "whole seconds: the 1 s buckets stay the same";
  // Seconds with trades do not depend on a whole-second shift (minutes do:
  // 6 or 7 of them, by where the shift puts the minute boundaries).
  ASSERT_EQ(expected.seconds.at("BINANCE:btcusdt").size(), kSpotSeconds);
  ASSERT_EQ(expected.seconds.at("BINANCE_FUTURES:btcusdt").size(), kUsdmSeconds);
  for (const auto& [market, minutes] : expected.minutes) {
    EXPECT_GE(minutes.size(), 6u) << market;
    EXPECT_LE(minutes.size(), 7u) << market;
  }

  InfluxdProcess influx;
  TempDir dir("exact");
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  LiveRun run;
  ASSERT_NO_FATAL_FAILURE(
      run_live(spot, streams.spot.size(), usdm, streams.usdm.size(), influx, expected.trades, dir, run));
  expect_health_and_metrics(run, expected.trades);
  EXPECT_EQ(metric(run.metrics_before_stop, "tickflow_feed_reconnects_total", {"exchange=\"BINANCE\""}), 0.0);
  EXPECT_EQ(spot.connections(), 1u);
  EXPECT_EQ(usdm.connections(), 1u);
  expect_influx_bars(influx, expected);
}

TEST(RunPipeline, MisbehavingServersStillGiveExactBars) {
  const Streams streams = shifted_streams();
  const Expected expected = reference(streams);
  InfluxdProcess influx;
  TempDir dir("misbehave");
  WsTestServer spot(
      {.protocol = WsProtocol::kBinance, .frames = streams.spot, .drop_after = 3000, .resume_overlap = 100});
  WsTestServer usdm({.protocol = WsProtocol::kBinance,
                     .frames = streams.usdm,
                     .injections = {{.before_frame = 5000, .payload = "garbage{{{ not json"},
                                    {.before_frame = 15000, .payload = R"({"stream":"btcusdt@trade","data":{)"}}});
  LiveRun run;
  ASSERT_NO_FATAL_FAILURE(
      run_live(spot, streams.spot.size(), usdm, streams.usdm.size(), influx, expected.trades, dir, run));
  expect_health_and_metrics(run, expected.trades);
  const std::string& m = run.metrics_before_stop;
  // Spot: one drop, one reconnect, the 100 resent frames dropped as duplicates.
  EXPECT_EQ(spot.connections(), 2u);
  EXPECT_EQ(metric(m, "tickflow_feed_reconnects_total", {"exchange=\"BINANCE\""}), 1.0) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_duplicates_total", {"exchange=\"BINANCE\""}), 100.0) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_frames_total", {"exchange=\"BINANCE\""}), kSpotTrades + 100.0) << m;
  // USD-M: the garbage is received and skipped, the connection kept.
  EXPECT_EQ(usdm.connections(), 1u);
  EXPECT_EQ(metric(m, "tickflow_feed_reconnects_total", {"exchange=\"BINANCE_FUTURES\""}), 0.0) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_frames_total", {"exchange=\"BINANCE_FUTURES\""}), kUsdmTrades + 2.0) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_duplicates_total", {"exchange=\"BINANCE_FUTURES\""}), 0.0) << m;
  expect_influx_bars(influx, expected);
}

// The text of the field `"key":` of a Binance frame (a number or a literal).
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
// capture: rows with id >= N, at most L, "time" = the frame's shifted "T".
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

TEST(RunPipeline, GapIsBackfilledIntoExactBars) {
  constexpr std::size_t kHoleAt = 3000;  // frames served before the drop
  constexpr std::size_t kHoleLength = 500;
  const Streams streams = shifted_streams();
  Expected expected;  // the whole spot capture, the hole included
  add_reference("BINANCE", streams.spot, expected);
  ASSERT_EQ(expected.trades, kSpotTrades);
  ASSERT_EQ(expected.seconds.at("BINANCE:btcusdt").size(), kSpotSeconds);
  // One trade per frame, consecutive ids: the hole is exactly kHoleLength ids.
  ASSERT_EQ(std::stoull(frame_token(streams.spot[kHoleAt + kHoleLength], "t")) -
                std::stoull(frame_token(streams.spot[kHoleAt - 1], "t")) - 1,
            kHoleLength);

  // The spot server drops the stream after kHoleAt frames and resumes
  // kHoleLength frames later; USD-M says nothing (only spot is checked).
  std::vector<std::string> served(streams.spot.begin(), streams.spot.begin() + kHoleAt);
  served.insert(served.end(), streams.spot.begin() + kHoleAt + kHoleLength, streams.spot.end());
  const std::size_t served_frames = served.size();
  testing::RestTestServer rest([&](const std::string& target) { return binance_history(streams.spot, target); });
  InfluxdProcess influx;
  TempDir dir("backfill");
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = std::move(served), .drop_after = kHoleAt});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = {}});

  // write_config turns the backfill off: on, with the local REST server.
  const fs::path config = write_config(dir.path, {.spot_port = spot.port(),
                                                  .usdm_port = usdm.port(),
                                                  .spot_ca = spot.ca_file(),
                                                  .usdm_ca = usdm.ca_file(),
                                                  .influx_url = influx.url()});
  std::string text = read_file(config);
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"backfill = false\n", "backfill = true\n"},
        {"[feeds.endpoints.BINANCE]\n", "[feeds.endpoints.BINANCE]\nrest_url = \"" + rest.base_url() + "\"\n"}}) {
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in\n" << text;
    text.replace(at, from.size(), to);
  }
  std::ofstream(config, std::ios::trunc) << text;

  const int http_port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
                    dir.path / "stderr");
  std::string m;
  const bool all_in = poll_until(
      [&] {
        if (!tickflow.running()) return true;
        if (spot.frames_written() < served_frames) return false;
        m = http_get(http_port, "/metrics").body;
        return metric(m, "tickflow_aggregator_trades_total").value_or(0) >= static_cast<double>(kSpotTrades);
      },
      15s);
  ASSERT_TRUE(tickflow.running()) << "tickflow exited early:\n" << tickflow.log();
  ASSERT_TRUE(all_in) << "spot frames written " << spot.frames_written() << "/" << served_frames << "\n"
                      << m << "\n"
                      << tickflow.log();
  std::this_thread::sleep_for(200ms);  // a trade taken twice would show by now
  m = http_get(http_port, "/metrics").body;

  const std::vector<std::string> binance = {"exchange=\"BINANCE\""};
  const auto hole = static_cast<double>(kHoleLength);
  EXPECT_EQ(spot.connections(), 2u);
  EXPECT_EQ(metric(m, "tickflow_feed_reconnects_total", binance), 1.0) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_gaps_total", binance), 1.0) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_gap_trades_total", binance), hole) << m;
  EXPECT_EQ(metric(m, "tickflow_feed_trades_total", binance), static_cast<double>(kSpotTrades - kHoleLength)) << m;
  EXPECT_EQ(metric(m, "tickflow_backfill_requests_total"), 1.0) << m;
  EXPECT_EQ(metric(m, "tickflow_backfill_failed_total"), 0.0) << m;
  EXPECT_EQ(metric(m, "tickflow_backfill_trades_total"), hole) << m;
  EXPECT_EQ(metric(m, "tickflow_aggregator_backfilled_trades_total"), hole) << m;
  EXPECT_EQ(metric(m, "tickflow_aggregator_trades_total"), static_cast<double>(kSpotTrades)) << m;
  EXPECT_EQ(metric(m, "tickflow_late_drops_total"), 0.0) << m;
  const std::vector<std::string> targets = rest.targets();
  ASSERT_FALSE(targets.empty());
  EXPECT_EQ(targets.front(), "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=" +
                                 frame_token(streams.spot[kHoleAt], "t") + "&limit=1000");

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(25s);
  ASSERT_TRUE(status.has_value()) << "no exit within 25 s of SIGTERM:\n" << tickflow.log();
  EXPECT_EQ(*status, 0) << tickflow.log();
  EXPECT_NE(tickflow.log().find("clean shutdown"), std::string::npos) << tickflow.log();
  expect_influx_bars(influx, expected);
}

// A few frames for the runs that do not look at bars.
std::vector<std::string> few_frames(const std::vector<std::string>& frames) {
  return {frames.begin(), frames.begin() + 200};
}

TEST(RunPipeline, ProfilePinnedToMissingCpuIsRefused) {
  const Streams streams = shifted_streams();
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = few_frames(streams.spot)});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = few_frames(streams.usdm)});
  TempDir dir("cpu63");
  const fs::path config = write_config(dir.path, {.spot_port = spot.port(),
                                                  .usdm_port = usdm.port(),
                                                  .spot_ca = spot.ca_file(),
                                                  .usdm_ca = usdm.ca_file(),
                                                  .feed_cpu = 63});
  const std::string port = std::to_string(testing::free_loopback_port());
  EXPECT_EQ(run_to_exit({"run", "--config", config.string(), "--http-port", port}, dir.path / "refused"), 2);
  const std::string refused = read_file(dir.path / "refused");
  EXPECT_NE(refused.find("CPU 63"), std::string::npos) << refused;
  EXPECT_NE(refused.find("--unpinned"), std::string::npos) << refused;
  EXPECT_NE(refused.find(config.string()), std::string::npos) << refused;
  EXPECT_EQ(spot.connections() + usdm.connections(), 0u) << "a refused profile connects nowhere";

  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run_to_exit({"run", "--config", config.string(), "--unpinned", "--duration", "1", "--no-influx",
                         "--http-port", port},
                        dir.path / "unpinned"),
            0)
      << read_file(dir.path / "unpinned");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
  const std::string unpinned = read_file(dir.path / "unpinned");
  EXPECT_NE(unpinned.find("asks for CPUs 63 that this host lacks"), std::string::npos) << unpinned;
  EXPECT_NE(unpinned.find("running every thread unpinned"), std::string::npos) << unpinned;
  EXPECT_NE(unpinned.find("--duration reached"), std::string::npos) << unpinned;
  EXPECT_NE(unpinned.find("clean shutdown"), std::string::npos) << unpinned;
}

TEST(RunPipeline, SigintShutsDownCleanly) {
  const Streams streams = shifted_streams();
  const std::vector<std::string> spot_frames = few_frames(streams.spot), usdm_frames = few_frames(streams.usdm);
  Expected expected;
  add_reference("BINANCE", spot_frames, expected);
  add_reference("BINANCE_FUTURES", usdm_frames, expected);
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = spot_frames});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = usdm_frames});
  TempDir dir("sigint");
  const fs::path config = write_config(
      dir.path,
      {.spot_port = spot.port(), .usdm_port = usdm.port(), .spot_ca = spot.ca_file(), .usdm_ca = usdm.ca_file()});
  const int http_port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
                    dir.path / "stderr");
  std::string metrics;
  ASSERT_TRUE(poll_until(
      [&] {
        metrics = http_get(http_port, "/metrics").body;
        return metric(metrics, "tickflow_aggregator_trades_total").value_or(0) >= static_cast<double>(expected.trades);
      },
      30s))
      << metrics << tickflow.log();
  EXPECT_EQ(metric(metrics, "tickflow_aggregator_trades_total"), static_cast<double>(expected.trades));
  tickflow.signal(SIGINT);
  const auto status = tickflow.wait(25s);
  ASSERT_TRUE(status.has_value()) << tickflow.log();
  EXPECT_EQ(*status, 0) << tickflow.log();
  EXPECT_NE(tickflow.log().find("SIGINT: shutting down"), std::string::npos) << tickflow.log();
  EXPECT_NE(tickflow.log().find("clean shutdown"), std::string::npos) << tickflow.log();
}

TEST(RunPipeline, UnknownConfigKeyIsRejected) {
  TempDir dir("badkey");
  const fs::path config = write_config(dir.path, {.spot_port = 1,
                                                  .usdm_port = 1,
                                                  .spot_ca = "/nonexistent",
                                                  .usdm_ca = "/nonexistent",
                                                  .extra = "\n[bars]\nlateness_msec = 250\n"});
  EXPECT_EQ(run_to_exit({"run", "--config", config.string()}, dir.path / "stderr"), 2);
  const std::string err = read_file(dir.path / "stderr");
  EXPECT_NE(err.find(config.string()), std::string::npos) << err;
  EXPECT_NE(err.find("bars.lateness_msec"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key"), std::string::npos) << err;
  EXPECT_NE(err.find("lateness_ms"), std::string::npos) << err;
}

// ---------------------------------------------------------------- record

// The number of lines of `path`.
std::size_t count_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return static_cast<std::size_t>(
      std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

// The recorder's plain files for `exchange` in `dir` ("<EXCHANGE>-<YYYYMMDD>-<HH>.log"), oldest hour first.
std::vector<fs::path> capture_files(const fs::path& dir, const std::string& exchange) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const std::string prefix = exchange + "-";
    if (name.size() != prefix.size() + 15 || name.compare(0, prefix.size(), prefix) != 0 || !name.ends_with(".log"))
      continue;
    const std::string stamp = name.substr(prefix.size(), 11);  // YYYYMMDD-HH
    bool digits = stamp[8] == '-';
    for (std::size_t i = 0; i < stamp.size(); ++i) digits = digits && (i == 8 || (stamp[i] >= '0' && stamp[i] <= '9'));
    if (digits) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The file a frame received at `ns` belongs in: the receive hour in UTC.
std::string hourly_name(const std::string& exchange, std::int64_t ns) {
  const time_t seconds = static_cast<time_t>(ns / 1'000'000'000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H", &utc);
  return exchange + "-" + stamp + ".log";
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(RunPipeline, RecordWritesReplayableCaptures) {
  const Streams streams = shifted_streams();
  Expected expected;
  add_reference("BINANCE", streams.spot, expected);
  add_reference("BINANCE_FUTURES", streams.usdm, expected);
  ASSERT_EQ(expected.trades, kSpotTrades + kUsdmTrades);
  const std::size_t total_frames = streams.spot.size() + streams.usdm.size();
  const std::map<std::string, const std::vector<std::string>*> served = {{"BINANCE", &streams.spot},
                                                                         {"BINANCE_FUTURES", &streams.usdm}};

  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  TempDir dir("record");
  const fs::path out = dir.path / "captures";  // record creates it
  const fs::path config = write_config(
      dir.path,
      {.spot_port = spot.port(), .usdm_port = usdm.port(), .spot_ca = spot.ca_file(), .usdm_ca = usdm.ca_file()});
  const std::int64_t started_ns = now_ns();
  Tickflow tickflow(
      {"record", "--config", config.string(), "--out", out.string(), "--plain", "--no-http", "--unpinned"},
      dir.path / "stderr");
  // Every frame written by the servers, then every frame in the files (a
  // plain block reaches the file within the recorder's flush interval).
  std::size_t lines = 0;
  const bool all_in = poll_until(
      [&] {
        if (!tickflow.running()) return true;
        if (spot.frames_written() < streams.spot.size() || usdm.frames_written() < streams.usdm.size()) return false;
        lines = 0;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(out, ec)) lines += count_lines(entry.path());
        return lines >= total_frames;
      },
      15s);
  ASSERT_TRUE(tickflow.running()) << "tickflow record exited early:\n" << tickflow.log();
  ASSERT_TRUE(all_in) << "frames written: spot " << spot.frames_written() << "/" << streams.spot.size() << ", usdm "
                      << usdm.frames_written() << "/" << streams.usdm.size() << "; lines recorded " << lines << "/"
                      << total_frames << "\n"
                      << tickflow.log();
  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(15s);
  const std::int64_t stopped_ns = now_ns();
  ASSERT_TRUE(status.has_value()) << "no exit within 15 s of SIGTERM:\n" << tickflow.log();
  EXPECT_EQ(*status, 0) << tickflow.log();
  const std::string log = tickflow.log();
  EXPECT_NE(log.find("recording to " + out.string()), std::string::npos) << log;
  EXPECT_NE(log.find("clean shutdown"), std::string::npos) << log;
  EXPECT_EQ(spot.connections(), 1u);
  EXPECT_EQ(usdm.connections(), 1u);

  // Read back: per exchange, every served frame, byte for byte, in order,
  // each in the file of its receive hour.
  std::size_t files = 0;
  std::vector<std::string> replay = {"replay", "--quiet", "--trades-out", (dir.path / "trades.csv").string()};
  for (const auto& [exchange, frames] : served) {
    SCOPED_TRACE(exchange);
    const std::vector<fs::path> paths = capture_files(out, exchange);
    ASSERT_FALSE(paths.empty()) << "no " << exchange << "-YYYYMMDD-HH.log in " << out;
    EXPECT_LE(paths.size(), 2u) << "a run of seconds spans at most two hours";
    files += paths.size();
    std::size_t i = 0, mismatches = 0, misplaced = 0, out_of_range = 0;
    std::int64_t previous_ns = 0;
    for (const fs::path& path : paths) {
      replay.push_back(exchange + "=" + path.string());
      CaptureReader reader(path.string());
      CaptureRecord rec;
      while (reader.next(rec)) {
        EXPECT_FALSE(rec.binary);
        if (path.filename().string() != hourly_name(exchange, rec.receive_ts_ns) && misplaced++ < 3)
          ADD_FAILURE() << "frame " << i << " received at " << rec.receive_ts_ns << " ns is in " << path.filename();
        if ((rec.receive_ts_ns < started_ns || rec.receive_ts_ns > stopped_ns || rec.receive_ts_ns < previous_ns) &&
            out_of_range++ < 3)
          ADD_FAILURE() << "frame " << i << ": receive time " << rec.receive_ts_ns << " not in [" << started_ns << ", "
                        << stopped_ns << "] after " << previous_ns;
        previous_ns = rec.receive_ts_ns;
        if ((i >= frames->size() || rec.frame != (*frames)[i]) && mismatches++ < 3)
          ADD_FAILURE() << "frame " << i << " recorded as\n  " << rec.frame << "\nserved as\n  "
                        << (i < frames->size() ? (*frames)[i] : std::string("(nothing)"));
        ++i;
      }
      EXPECT_EQ(reader.counts().lines, reader.counts().frames) << path;
    }
    EXPECT_EQ(i, frames->size()) << "frames recorded";
    EXPECT_EQ(mismatches, 0u);
    EXPECT_EQ(misplaced, 0u);
    EXPECT_EQ(out_of_range, 0u);
  }
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(out)) ++entries;
  EXPECT_EQ(entries, files) << "only the hourly .log files in " << out;

  // And `tickflow replay` of the recording gives every trade once.
  EXPECT_EQ(run_to_exit(replay, dir.path / "replay"), 0) << read_file(dir.path / "replay");
  std::istringstream csv(read_file(dir.path / "trades.csv"));
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  EXPECT_EQ(line.rfind("market,", 0), 0u) << line;
  std::map<std::string, std::size_t> rows;
  while (std::getline(csv, line)) ++rows[line.substr(0, line.find(','))];
  EXPECT_EQ(rows["BINANCE:btcusdt"], kSpotTrades);
  EXPECT_EQ(rows["BINANCE_FUTURES:btcusdt"], kUsdmTrades);
  std::size_t all_rows = 0;
  for (const auto& [market, n] : rows) all_rows += n;
  EXPECT_EQ(all_rows, expected.trades);
}

// ---------------------------------------------------------------- thread names

// The names (comm) of the threads of `pid`.
std::set<std::string> thread_names(pid_t pid) {
  std::set<std::string> names;
  try {
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
      std::string comm = read_file(task.path() / "comm");
      while (!comm.empty() && comm.back() == '\n') comm.pop_back();
      if (!comm.empty()) names.insert(comm);
    }
  } catch (const fs::filesystem_error&) {
    // A thread (or the process) went away while listing: a partial set.
  }
  return names;
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

TEST(RunPipeline, ThreadsAreNamedAsConfigured) {
  const Streams streams = shifted_streams();
  const std::vector<std::string> spot_frames = few_frames(streams.spot), usdm_frames = few_frames(streams.usdm);
  Expected expected;
  add_reference("BINANCE", spot_frames, expected);
  add_reference("BINANCE_FUTURES", usdm_frames, expected);
  InfluxdProcess influx;  // for the writer thread
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = spot_frames});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = usdm_frames});
  TempDir dir("threads");
  const fs::path config = write_config(dir.path, {.spot_port = spot.port(),
                                                  .usdm_port = usdm.port(),
                                                  .spot_ca = spot.ca_file(),
                                                  .usdm_ca = usdm.ca_file(),
                                                  .influx_url = influx.url()});
  // Two feed threads: the first unnamed (so "tf-feed-0"), the second named
  // here; and the backfill on (its own thread).
  std::string text = read_file(config);
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"[[threads.feed]]\nname = \"tf-feed-0\"\n",
                                                                     "[[threads.feed]]\nexchanges = [\"BINANCE\"]\n"
                                                                     "wait = \"park\"\n\n[[threads.feed]]\n"
                                                                     "name = \"tf-feed-btc\"\n"
                                                                     "exchanges = [\"BINANCE_FUTURES\"]\n"},
                                 {"backfill = false\n", "backfill = true\n"}}) {
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in\n" << text;
    text.replace(at, from.size(), to);
  }
  std::ofstream(config, std::ios::trunc) << text;

  const int http_port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
                    dir.path / "stderr");
  const std::set<std::string> wanted = {"tf-feed-0", "tf-feed-btc", "tf-agg", "tf-writer",
                                        "tf-http",   "tf-backfill", "tf-log"};
  // Every thread is up once both feeds have delivered a trade.
  std::set<std::string> names;
  std::string metrics;
  const bool named = poll_until(
      [&] {
        if (!tickflow.running()) return true;
        metrics = http_get(http_port, "/metrics").body;
        if (metric(metrics, "tickflow_feed_trades_total", {"exchange=\"BINANCE\""}).value_or(0) == 0 ||
            metric(metrics, "tickflow_feed_trades_total", {"exchange=\"BINANCE_FUTURES\""}).value_or(0) == 0)
          return false;
        names = thread_names(tickflow.pid());
        return std::includes(names.begin(), names.end(), wanted.begin(), wanted.end());
      },
      8s);
  ASSERT_TRUE(tickflow.running()) << "tickflow exited early:\n" << tickflow.log();
  EXPECT_TRUE(named) << metrics << "\n" << tickflow.log();
  for (const std::string& name : wanted)
    EXPECT_EQ(names.count(name), 1u) << name << " not in {" << joined(names) << "}";
  // The feed rings are named after their threads.
  EXPECT_TRUE(metric(metrics, "tickflow_ring_depth", {"ring=\"tf-feed-btc\""}).has_value()) << metrics;
  EXPECT_TRUE(metric(metrics, "tickflow_ring_depth", {"ring=\"tf-feed-0\""}).has_value()) << metrics;

  // And with two feed threads every trade still arrives once, with no gap.
  poll_until(
      [&] {
        metrics = http_get(http_port, "/metrics").body;
        return metric(metrics, "tickflow_aggregator_trades_total").value_or(0) >= static_cast<double>(expected.trades);
      },
      4s);
  for (const char* exchange : {"exchange=\"BINANCE\"", "exchange=\"BINANCE_FUTURES\""}) {
    EXPECT_EQ(metric(metrics, "tickflow_feed_frames_total", {exchange}), 200.0) << exchange;
    EXPECT_EQ(metric(metrics, "tickflow_feed_trades_total", {exchange}), 200.0) << exchange;
    EXPECT_EQ(metric(metrics, "tickflow_feed_gaps_total", {exchange}), 0.0) << exchange;
  }
  EXPECT_EQ(metric(metrics, "tickflow_aggregator_trades_total"), static_cast<double>(expected.trades))
      << metrics << "\n"
      << tickflow.log();

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(15s);
  ASSERT_TRUE(status.has_value()) << "no exit within 15 s of SIGTERM:\n" << tickflow.log();
  EXPECT_EQ(*status, 0) << tickflow.log();
}

}  // namespace
}  // namespace tickflow
