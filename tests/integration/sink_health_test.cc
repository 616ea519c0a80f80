// tests/integration/sink_health_test.cc
//
// "Loss is never silent" and an honest /health, against a real influxd
// (influxd_process.h) and, for the end-to-end cases, `tickflow run` fed by
// local websocket servers replaying the Binance captures of
// tests/data/binance-20240808-trades (re-timed as run_pipeline_test does).
//
//  * DownThenUpDropsCountedAndRecovers: InfluxDB down from the start, a
//    64 KiB spool with drop_oldest, health_max_undelivered_ms = 1000.
//    /health turns 503 "degraded" naming the unreachable server; the spool
//    directory never holds more than 65536 bytes (sampled on every poll);
//    drop_oldest drops points, counted in tickflow_sink_points_dropped_total
//    and logged. influxd starts: /health is 200 "ok" again, stderr has the
//    "recovered" line. SIGTERM: exit 1 (points were dropped), the summary's
//    counts agree with /metrics' (dropped, and written + dropped = accepted
//    = the 689 1 s bars plus the rollups), and InfluxDB holds exactly the
//    written points.
//  * WrongCredentialsAre503UntilTheUserExists: influxd with auth on,
//    tickflow's user does not exist: 503 "degraded" naming the 401; the
//    user is created: 200; SIGTERM: exit 0, nothing dropped, every accepted
//    point written.
//  * SigtermWithInfluxDownSaysWhatIsSpooledAndWhy: InfluxDB never up,
//    shutdown deadline 1.5 s: exit 0 (spooled is not lost), 0 written,
//    0 dropped, spooled = accepted, and the last lines say "<accepted>
//    points (B batches) still spooled in <dir>: InfluxDB at <url>
//    unreachable: ..." and "clean shutdown: nothing lost", never "see the
//    errors above".
//  * WriterSettledBarsCountsSpooledBars: InfluxWriter with influxd down:
//    the 100 bars handed on are settled once spooled; influxd up: all are
//    acknowledged, settled stays 100.
//  * SinkSettledBarsIsAPrefix: bar 3 acknowledged before bar 1 (which is
//    still in an open batch) leaves settled_bars() at 0; the flush makes it 3.
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/timeframe.h"
#include "runtime/influx_writer.h"
#include "sinks/influx_sink.h"
#include "tests/integration/capture_frames.h"
#include "tests/integration/influx_points.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::http_get;
using testing::InfluxdProcess;
using testing::metric;
using testing::poll_until;
using testing::TempDir;
using testing::Tickflow;
using testing::WsProtocol;
using testing::WsTestServer;
namespace fs = std::filesystem;

constexpr std::size_t kSpotTrades = 9757;  // tests/data/README.md
constexpr std::size_t kUsdmTrades = 21313;
constexpr std::uint64_t kOneSecondBars = 345 + 344;  // seconds with trades, spot + USD-M
constexpr std::uint64_t kSpoolCap = 64 << 10;

struct Streams {
  std::vector<std::string> spot, usdm;
};

// Both captures, shifted by whole seconds so that the first trade is 10 s ago.
Streams shifted_streams() {
  static const std::vector<std::string> spot = testing::binance_0808_frames("spot_btcusdt.gz");
  static const std::vector<std::string> usdm = testing::binance_0808_frames("usdm_btcusdt.gz");
  std::int64_t first = INT64_MAX;
  for (const auto* frames : {&spot, &usdm})
    for (const std::string& f : *frames) first = std::min(first, testing::trade_time_ms(f));
  const std::int64_t shift = (testing::now_ms() / 1000) * 1000 - (first / 1000) * 1000 - 10'000;
  return Streams{testing::shift_frames(spot, shift), testing::shift_frames(usdm, shift)};
}

fs::path write_config(const fs::path& dir, const WsTestServer& spot, const WsTestServer& usdm,
                      const std::string& influx_url, const std::string& influx_extra, int shutdown_ms = 10000) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = false\n\n"
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << spot.port() << "\nca_file = \"" << spot.ca_file()
    << "\"\n\n"
    << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << usdm.port() << "\nca_file = \""
    << usdm.ca_file() << "\"\n\n"
    << "[bars]\nflow_stats = false\n\n"
    << "[influx]\nurl = \"" << influx_url << "\"\nbatch_lines = 20\nbatch_age_ms = 20\n"
    << "spool_dir = \"" << (dir / "spool").string() << "\"\nhealth_max_undelivered_ms = 1000\n"
    << influx_extra
    << "\n"
    // Trades arrive in one burst at the start: the markets' staleness is
    // not what these tests are about.
    << "[metrics]\nbind = \"127.0.0.1\"\nmax_trade_age_ms = 600000\nmax_bar_age_ms = 600000\n\n"
    << "[shutdown]\ndeadline_ms = " << shutdown_ms << "\n";
  const fs::path path = dir / "run.toml";
  std::ofstream(path) << c.str();
  return path;
}

std::uint64_t dir_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    const auto size = it->is_regular_file(size_ec) ? it->file_size(size_ec) : 0;
    if (!size_ec) total += size;
  }
  return total;
}

std::uint64_t count_of(const std::string& metrics, const std::string& family) {
  const auto v = metric(metrics, family);
  return v ? static_cast<std::uint64_t>(*v) : UINT64_MAX;
}

// The summary's "influx: W points written, S spooled, D dropped, X
// dead-lettered, R refused (NaN/Inf) of A accepted" and "bars: N 1s, M
// rollups, K amendments".
struct Summary {
  std::uint64_t written = 0, spooled = 0, dropped = 0, dead = 0, refused = 0, accepted = 0;
  std::uint64_t bars = 0, rollups = 0, amendments = 0;
};

Summary parse_summary(const std::string& log) {
  Summary s;
  std::smatch m;
  const std::regex influx(
      R"(influx: (\d+) points written, (\d+) spooled, (\d+) dropped, (\d+) dead-lettered, (\d+) refused \(NaN/Inf\) of (\d+) accepted)");
  EXPECT_TRUE(std::regex_search(log, m, influx)) << log;
  if (m.size() == 7) {
    s.written = std::stoull(m[1]);
    s.spooled = std::stoull(m[2]);
    s.dropped = std::stoull(m[3]);
    s.dead = std::stoull(m[4]);
    s.refused = std::stoull(m[5]);
    s.accepted = std::stoull(m[6]);
  }
  const std::regex bars(R"(bars: (\d+) 1s, (\d+) rollups, (\d+) amendments)");
  EXPECT_TRUE(std::regex_search(log, m, bars)) << log;
  if (m.size() == 4) {
    s.bars = std::stoull(m[1]);
    s.rollups = std::stoull(m[2]);
    s.amendments = std::stoull(m[3]);
  }
  return s;
}

// The sink took every bar the aggregator emitted: exactly the closed 1 s
// bars and rollups when nothing was amended (the summary counts 1 s
// amendments, not rollup ones, which only amendments cause).
void expect_bars_accepted(const Summary& s) {
  if (s.amendments == 0) {
    EXPECT_EQ(s.bars, kOneSecondBars);
    EXPECT_EQ(s.accepted, s.bars + s.rollups);
  } else {
    EXPECT_GE(s.accepted, s.bars + s.rollups + s.amendments);
  }
}

// Every trades_<tf> point in InfluxDB, all retention policies.
std::uint64_t points_in_influx(const InfluxdProcess& influx) {
  testing::Points points;
  std::vector<Timeframe> timeframes = {Timeframe::from_seconds(1)};
  for (const Timeframe& tf : default_rollup_timeframes()) timeframes.push_back(tf);
  for (const Timeframe& tf : timeframes)
    testing::query_points(influx, retention_policy_name(tf.seconds()), "trades_" + std::string(tf.name()), points);
  return points.size();
}

TEST(SinkHealth, DownThenUpDropsCountedAndRecovers) {
  const Streams streams = shifted_streams();
  InfluxdProcess influx;
  influx.stop();  // down from the start; same port when it comes back
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  TempDir dir("sink-health-down");
  const fs::path spool = dir.path / "spool";
  const fs::path config =
      write_config(dir.path, spot, usdm, influx.url(),
                   "spool_max_bytes = " + std::to_string(kSpoolCap) + "\nspool_full_policy = \"drop_oldest\"\n");
  const int port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--http-port", std::to_string(port)}, dir.path / "stderr");

  std::uint64_t max_spool_bytes = 0;
  auto sample_spool = [&] { max_spool_bytes = std::max(max_spool_bytes, dir_bytes(spool)); };

  // 1. Every trade in, the spool over its cap: drops, counted; 503 degraded.
  std::string metrics;
  ASSERT_TRUE(poll_until(
      [&] {
        sample_spool();
        if (!tickflow.running()) return true;
        metrics = http_get(port, "/metrics").body;
        return count_of(metrics, "tickflow_aggregator_trades_total") == kSpotTrades + kUsdmTrades &&
               count_of(metrics, "tickflow_sink_points_dropped_total") > 0;
      },
      30s))
      << tickflow.log();
  ASSERT_TRUE(tickflow.running()) << tickflow.log();
  // 503 for the age too (health_max_undelivered_ms = 1000), not only for
  // the spool's fill, and the counts settled (every closed bar taken).
  // The writer publishes its counters every 250 ms: settled means unchanged
  // for a whole second.
  testing::HttpResult health;
  std::pair<std::uint64_t, std::uint64_t> counts{UINT64_MAX, UINT64_MAX};
  auto changed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(poll_until(
      [&] {
        sample_spool();
        health = http_get(port, "/health");
        metrics = http_get(port, "/metrics").body;
        const std::pair<std::uint64_t, std::uint64_t> now{count_of(metrics, "tickflow_sink_points_accepted_total"),
                                                          count_of(metrics, "tickflow_sink_points_dropped_total")};
        if (now != counts) {
          counts = now;
          changed_at = std::chrono::steady_clock::now();
        }
        return health.status == 503 && health.body.find("nothing delivered to InfluxDB for ") != std::string::npos &&
               std::chrono::steady_clock::now() - changed_at >= 1s;
      },
      15s))
      << health.body;
  EXPECT_NE(health.body.find("\"status\":\"degraded\""), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("\"reason\":\"influx: "), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("unreachable"), std::string::npos) << health.body;
  metrics = http_get(port, "/metrics").body;
  const std::uint64_t dropped_down = count_of(metrics, "tickflow_sink_points_dropped_total");
  EXPECT_GT(dropped_down, 0u);
  EXPECT_GT(count_of(metrics, "tickflow_spool_dropped_records_total"), 0u);
  EXPECT_EQ(count_of(metrics, "tickflow_sink_points_written_total"), 0u);
  EXPECT_NE(health.body.find("\"points_dropped\":"), std::string::npos);
  EXPECT_NE(tickflow.log().find("-- spool full (spool_full_policy = drop_oldest)"), std::string::npos)
      << tickflow.log();

  // 2. InfluxDB back: delivery resumes, /health is 200 again, "recovered" logged.
  influx.start();
  ASSERT_TRUE(poll_until(
      [&] {
        sample_spool();
        health = http_get(port, "/health");
        metrics = http_get(port, "/metrics").body;
        return health.status == 200 && count_of(metrics, "tickflow_sink_pending_batches") == 0;
      },
      30s))
      << health.body << tickflow.log();
  EXPECT_NE(health.body.find("\"status\":\"ok\""), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("\"last_problem\":\"\""), std::string::npos) << health.body;
  const std::string log = tickflow.log();
  EXPECT_NE(log.find("recovered: InfluxDB at " + influx.url() + " accepts writes again after "), std::string::npos)
      << log;
  // Nothing dropped once the server was back, and nothing is unaccounted for.
  EXPECT_EQ(count_of(metrics, "tickflow_sink_points_dropped_total"), dropped_down);
  EXPECT_EQ(count_of(metrics, "tickflow_sink_points_accepted_total"),
            count_of(metrics, "tickflow_sink_points_written_total") + dropped_down);

  // 3. SIGTERM: the open bars are flushed; points were lost, so exit 1.
  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1) << tickflow.log();
  sample_spool();
  EXPECT_LE(max_spool_bytes, kSpoolCap);
  EXPECT_GT(max_spool_bytes, kSpoolCap / 2);  // it did fill

  const std::string final_log = tickflow.log();
  const Summary s = parse_summary(final_log);
  expect_bars_accepted(s);
  EXPECT_EQ(s.dropped, dropped_down);
  EXPECT_EQ(s.dead + s.refused, 0u);
  EXPECT_EQ(s.written + s.dropped, s.accepted);
  EXPECT_NE(final_log.find("data was lost: " + std::to_string(dropped_down) + " points lost (" +
                           std::to_string(dropped_down) + " dropped"),
            std::string::npos)
      << final_log;
  // Every written point is in InfluxDB; an amendment overwrites its bar's
  // point, so only without amendments (a slow sanitizer build can close a
  // quiet second early) is the count the written count.
  if (s.amendments == 0) {
    EXPECT_EQ(points_in_influx(influx), s.written);
  } else {
    const std::uint64_t points = points_in_influx(influx);
    EXPECT_LE(points, s.written);
    EXPECT_GE(points + s.amendments, s.written);
  }
}

TEST(SinkHealth, WrongCredentialsAre503UntilTheUserExists) {
  const Streams streams = shifted_streams();
  InfluxdProcess influx({.auth = true});
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  TempDir dir("sink-health-401");
  const fs::path config = write_config(dir.path, spot, usdm, influx.url(), "");
  const int port = testing::free_loopback_port();
  ::setenv("INFLUX_USERNAME", "late_writer", 1);
  ::setenv("INFLUX_PASSWORD", "not-yet", 1);  // test-only
  Tickflow tickflow({"run", "--config", config.string(), "--http-port", std::to_string(port)}, dir.path / "stderr");
  ::unsetenv("INFLUX_USERNAME");
  ::unsetenv("INFLUX_PASSWORD");

  testing::HttpResult health;
  ASSERT_TRUE(poll_until(
      [&] {
        health = http_get(port, "/health");
        return !tickflow.running() || health.status == 503;
      },
      15s))
      << health.body << tickflow.log();
  EXPECT_NE(health.body.find("\"status\":\"degraded\""), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("refuses tickflow's credentials (HTTP 401)"), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("\"last_status\":401"), std::string::npos) << health.body;

  influx.query("CREATE USER \"late_writer\" WITH PASSWORD 'not-yet' WITH ALL PRIVILEGES");
  std::string metrics;
  ASSERT_TRUE(poll_until(
      [&] {
        health = http_get(port, "/health");
        metrics = http_get(port, "/metrics").body;
        return health.status == 200 &&
               count_of(metrics, "tickflow_aggregator_trades_total") == kSpotTrades + kUsdmTrades &&
               count_of(metrics, "tickflow_sink_pending_batches") == 0;
      },
      30s))
      << health.body << tickflow.log();
  EXPECT_NE(health.body.find("\"status\":\"ok\""), std::string::npos) << health.body;
  EXPECT_NE(tickflow.log().find("recovered: InfluxDB at " + influx.url()), std::string::npos) << tickflow.log();

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << tickflow.log();
  const Summary s = parse_summary(tickflow.log());
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.written, s.accepted);
  expect_bars_accepted(s);
  EXPECT_NE(tickflow.log().find("clean shutdown"), std::string::npos);
}

// SIGTERM while InfluxDB is unreachable: everything is in the spool, which
// is success (exit 0), and the last lines say where and why.
TEST(SinkHealth, SigtermWithInfluxDownSaysWhatIsSpooledAndWhy) {
  const Streams streams = shifted_streams();
  InfluxdProcess influx;
  influx.stop();
  WsTestServer spot({.protocol = WsProtocol::kBinance, .frames = streams.spot});
  WsTestServer usdm({.protocol = WsProtocol::kBinance, .frames = streams.usdm});
  TempDir dir("sink-health-sigterm");
  const fs::path config = write_config(dir.path, spot, usdm, influx.url(), "", 1500);
  const int port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--http-port", std::to_string(port)}, dir.path / "stderr");
  ASSERT_TRUE(poll_until(
      [&] {
        if (!tickflow.running()) return true;
        const std::string metrics = http_get(port, "/metrics").body;
        return count_of(metrics, "tickflow_aggregator_trades_total") == kSpotTrades + kUsdmTrades &&
               http_get(port, "/health").status == 503;
      },
      30s))
      << tickflow.log();
  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(20s);
  ASSERT_TRUE(status.has_value());
  const std::string log = tickflow.log();
  EXPECT_EQ(*status, 0) << log;
  const Summary s = parse_summary(log);
  expect_bars_accepted(s);
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.spooled, s.accepted);
  EXPECT_NE(log.find(std::to_string(s.accepted) + " points ("), std::string::npos) << log;
  EXPECT_NE(log.find("batches) still spooled in " + (dir.path / "spool").string() + ": InfluxDB at " + influx.url() +
                     " unreachable: "),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("clean shutdown: nothing lost"), std::string::npos) << log;
  EXPECT_EQ(log.find("see the errors above"), std::string::npos) << log;
}

Bar test_bar(std::int64_t t, std::uint32_t timeframe_s = 1) {
  Bar b;
  b.open_time_s = t;
  b.market = 0;
  b.timeframe_s = timeframe_s;
  b.open = b.high = b.low = b.close = 100.0 + static_cast<double>(t % 7);
  b.vbuy = 1.5;
  b.cbuy = 1;
  b.qbuy = 0.015;
  return b;
}

TEST(SinkHealth, WriterSettledBarsCountsSpooledBars) {
  InfluxdProcess influx;
  influx.stop();
  TempDir dir("sink-health-settled");
  InfluxSinkConfig config;
  config.endpoint = influx.endpoint();
  config.batch_lines = 7;
  config.max_batch_age = 20ms;
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.retention = retention_policies({}, {});
  config.spool = SpoolConfig{.dir = dir.path / "spool"};
  config.log = [](std::string_view) {};
  const std::vector<std::string> names = {"BINANCE:btcusdt"};
  InfluxWriter writer(std::move(config), LineProtocolOptions{}, names);
  writer.start();
  EXPECT_EQ(writer.settled_bars(), 0u);
  for (std::int64_t t = 0; t < 100; ++t) writer.on_bar(test_bar(1'700'000'000 + t));
  ASSERT_TRUE(poll_until([&] { return writer.settled_bars() == 100; }, 10s)) << writer.settled_bars();
  EXPECT_EQ(writer.snapshot().stats.points_written, 0u);  // settled by the spool alone
  influx.start();
  ASSERT_TRUE(writer.finish(std::chrono::steady_clock::now() + 20s));
  EXPECT_EQ(writer.settled_bars(), 100u);
  EXPECT_EQ(writer.sink().stats().points_written, 100u);
  EXPECT_EQ(writer.sink().stats().points_dropped, 0u);
}

TEST(SinkHealth, SinkSettledBarsIsAPrefix) {
  InfluxdProcess influx;
  InfluxSinkConfig config;
  config.endpoint = influx.endpoint();
  config.batch_lines = 2;
  config.max_batch_age = std::chrono::hours(1);  // batches seal only when full
  config.retention = retention_policies({Timeframe::from_seconds(60)}, {});
  config.log = [](std::string_view) {};
  InfluxSink sink(std::move(config));
  BarLineEncoder encoder(LineProtocolOptions{});
  encoder.set_market(0, "BINANCE:btcusdt");
  sink.add_bar(test_bar(1'700'000'000), encoder, 1);      // aggr_1s: stays open
  sink.add_bar(test_bar(1'700'000'040, 60), encoder, 2);  // aggr_1m
  sink.add_bar(test_bar(1'700'000'100, 60), encoder, 3);  // aggr_1m full: sealed and sent
  EXPECT_EQ(sink.stats().points_written, 2u);
  EXPECT_EQ(sink.settled_bars(), 0u);  // bar 1 is not settled, so neither are 2 and 3
  ASSERT_TRUE(sink.flush(std::chrono::steady_clock::now() + 10s));
  EXPECT_EQ(sink.stats().points_written, 3u);
  EXPECT_EQ(sink.settled_bars(), 3u);
}

}  // namespace
}  // namespace tickflow
