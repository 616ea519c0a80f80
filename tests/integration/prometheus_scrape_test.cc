// tests/integration/prometheus_scrape_test.cc
//
// Prometheus, for real: a `prometheus` server (prometheus_process.h) scrapes
// a running `tickflow run` every second and evaluates the shipped alert
// rules; afterwards every query of the shipped Grafana dashboard runs
// against that Prometheus and the run's influxd.
//
// The exchange: two local TLS websocket servers (paced_ws_server.h) play
// Binance spot and USD-M BTCUSDT in real time, from the bundled
// 2024-08-08 trade captures re-timed (whole seconds) to start now. Spot
// stops after kSpotSeconds: that is the stall. USD-M goes on, and carries
// hand-written forceOrder liquidations (Binance USD-M's documented shape)
// every 2 s, so the dashboard's liquidation panel has data. tickflow runs
// with [metrics] max_trade_age_ms = 4000, the strategy on for BTC, signals
// to InfluxDB.
//
// Asserted, against Prometheus' HTTP API:
//  * the series are there: process_*, tickflow_thread_cpu_seconds_total for
//    tf-agg, tf-feed-0 and tf-writer, frames, bars, evaluations;
//  * rates are plausible: each connection's rate() of frames over 10 s is
//    within [1/4, 2] of the frames the server published in those 10 s
//    (rate() extrapolates from the samples it has, and a loaded machine
//    delays scrapes), and the last scraped frame counter is exactly what was
//    published up to its scrape time, give or take the frames of the
//    second around it; 1 s bars close at [1/4, 2] of the seconds with
//    trades per second; the strategy evaluates; tf-agg's CPU rate is in
//    [0, 1.2];
//  * every shipped rule evaluates without error on real series
//    (/api/v1/rules health), and before the stall TickflowFeedStale is
//    neither pending nor firing; after it, it fires for the spot connection
//    (labels and summary name it) and not for USD-M.
//
// The rules are the shipped file with every `for:` replaced by `for: 1s`
// (the shipped ones are minutes); the expressions are the file's, byte for
// byte, and the test checks that only `for:` lines differ.
//
// The dashboard (tuning/grafana/tickflow.json): every panel target, the
// annotation and the query variables are extracted and Grafana's macros
// replaced as Grafana would expand them for this run:
//   InfluxQL: $timeFilter -> time > now() - 10m; $__interval -> 1s;
//     $market -> (BINANCE:btcusdt|BINANCE_FUTURES:btcusdt) (a multi-value
//     regex, as Grafana formats one); $group -> (BTC); $flow_tf -> 1s (the
//     only flow timeframe with more than two intervals in a one-minute run:
//     the z-score needs two of baseline);
//   PromQL: $__rate_interval -> 10s; $instance -> this tickflow's target;
//     label_values(metric, label) -> `metric`, whose samples must carry the
//     label.
// A `$` left after that fails the test (a new macro must be added here).
// Prometheus queries run while tickflow runs; InfluxQL ones after its
// SIGTERM, when the shutdown has written every open bar and interval. Each
// must return a non-empty series; Prometheus ones also a finite value.
// One exception, stated: the `signals` queries. A signal needs hours of
// bars (history_bars of the analysis timeframe), so this run emits none and
// they must come back EMPTY; then one signal encoded by the writer's own
// encoder (strategy/signal_line.h) is written, and they must return it.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "feeds/capture_reader.h"
#include "sinks/influx_http.h"
#include "strategy/signal.h"
#include "strategy/signal_line.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/paced_ws_server.h"
#include "tests/integration/prometheus_process.h"
#include "tests/integration/tickflow_child.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::http_get;
using testing::InfluxdProcess;
using testing::PacedFrame;
using testing::PacedWsServer;
using testing::poll_until;
using testing::PrometheusProcess;
using testing::PromSample;
using testing::read_file;
using testing::TempDir;
using testing::Tickflow;
namespace fs = std::filesystem;

constexpr std::int64_t kSpotSeconds = 20;     // spot publishes this long, then stalls
constexpr std::int64_t kFuturesSeconds = 90;  // longer than the test
// [metrics] max_trade_age_ms: over 3x the captures' longest pause between
// trades (1.2 s), so only the stall is stale, even on a loaded machine.
constexpr std::int64_t kMaxTradeAgeMs = 4000;
constexpr const char* kMarkets = "(BINANCE:btcusdt|BINANCE_FUTURES:btcusdt)";

std::int64_t now_ms() { return testing::now_ms(); }
double now_s() { return static_cast<double>(now_ms()) / 1000.0; }

// A capture's trade frames re-timed so its first trade is at or just after
// start_ms (whole seconds added), up to end_ms.
std::vector<PacedFrame> paced_capture(const std::string& file, std::int64_t start_ms, std::int64_t end_ms) {
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/binance-20240808-trades/" + file);
  CaptureRecord rec;
  std::vector<std::string> frames;
  while (reader.next(rec))
    if (!rec.binary) frames.emplace_back(rec.frame);
  if (frames.empty()) throw std::runtime_error("no frames in " + file);
  const std::int64_t first = testing::trade_time_ms(frames.front());
  const std::int64_t shift = (start_ms - first + 999) / 1000 * 1000;
  std::vector<PacedFrame> out;
  for (std::string& f : testing::shift_frames(std::move(frames), shift)) {
    const std::int64_t t = testing::trade_time_ms(f);
    if (t > end_ms) break;
    out.push_back({t, std::move(f)});
  }
  return out;
}

// A USD-M liquidation (forceOrder) at `time_ms`, in the shape Binance documents.
PacedFrame liquidation(std::int64_t time_ms, const char* side) {
  const std::string t = std::to_string(time_ms);
  return {time_ms, std::string("{\"stream\":\"btcusdt@forceOrder\",\"data\":{\"e\":\"forceOrder\",\"E\":") + t +
                       ",\"o\":{\"s\":\"BTCUSDT\",\"S\":\"" + side +
                       "\",\"o\":\"LIMIT\",\"f\":\"IOC\",\"q\":\"0.014\",\"p\":\"61700.10\",\"ap\":\"61755.20\","
                       "\"X\":\"FILLED\",\"l\":\"0.014\",\"z\":\"0.014\",\"T\":" +
                       t + "}}}"};
}

std::size_t published_between(const std::vector<PacedFrame>& frames, double from_s, double to_s) {
  return static_cast<std::size_t>(std::count_if(frames.begin(), frames.end(), [&](const PacedFrame& f) {
    const double t = static_cast<double>(f.time_ms) / 1000.0;
    return t > from_s && t <= to_s;
  }));
}

// How many distinct whole seconds of (from_s, to_s] have a frame.
std::size_t seconds_between(const std::vector<PacedFrame>& frames, double from_s, double to_s) {
  std::vector<std::int64_t> seconds;
  for (const PacedFrame& f : frames) {
    const double t = static_cast<double>(f.time_ms) / 1000.0;
    if (t > from_s && t <= to_s) seconds.push_back(f.time_ms / 1000);
  }
  return static_cast<std::size_t>(std::unique(seconds.begin(), seconds.end()) - seconds.begin());
}

fs::path write_config(const fs::path& dir, const PacedWsServer& spot, const PacedWsServer& usdm,
                      const InfluxdProcess& influx) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    // The stall must show as stale data, not end in a reconnect.
    << "[feeds]\nstale_after_ms = 120000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = false\n\n"
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << spot.port() << "\nca_file = \"" << spot.ca_file()
    << "\"\n\n"
    << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << usdm.port() << "\nca_file = \""
    << usdm.ca_file() << "\"\n\n"
    << "[influx]\nenabled = true\nurl = \"" << influx.url() << "\"\nbatch_age_ms = 20\nspool_dir = \""
    << (dir / "spool").string() << "\"\n\n"
    << "[metrics]\nbind = \"127.0.0.1\"\nmax_trade_age_ms = " << kMaxTradeAgeMs << "\nmax_bar_age_ms = 5000\n\n"
    << "[strategy]\nenabled = true\n[[strategy.symbols]]\nbase = \"BTC\"\n\n"
    << "[signals]\ninflux = true\njsonl = \"" << (dir / "signals.jsonl").string() << "\"\n\n"
    << "[shutdown]\ndeadline_ms = 10000\n";
  const fs::path path = dir / "run.toml";
  std::ofstream(path) << c.str();
  return path;
}

// The shipped rules with every `for:` made 1s; checks nothing else changed.
fs::path write_test_rules(const fs::path& dir) {
  const std::string shipped = read_file(fs::path(TICKFLOW_SOURCE_DIR) / "tuning/prometheus/tickflow-rules.yml");
  static const std::regex kFor(R"(^(\s*)for: \S+\s*$)");
  std::istringstream in(shipped);
  std::string out;
  std::size_t alerts = 0, fors = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("- alert: ") != std::string::npos) ++alerts;
    if (std::regex_match(line, kFor)) {
      line = std::regex_replace(line, kFor, "$1for: 1s");
      ++fors;
    } else if (!line.starts_with("#")) {
      EXPECT_EQ(line.find("for:"), std::string::npos) << "a `for:` the test cannot shorten: " << line;
    }
    out += line + "\n";
  }
  EXPECT_GT(alerts, 0u);
  EXPECT_EQ(fors, alerts) << "every alert has its own `for:` line";
  const fs::path path = dir / "tickflow-rules.yml";
  std::ofstream(path) << out;
  return path;
}

bool has_finite(const std::vector<PromSample>& samples) {
  return std::any_of(samples.begin(), samples.end(), [](const PromSample& s) { return std::isfinite(s.value); });
}

std::optional<double> value_of(const std::vector<PromSample>& samples, const std::string& label,
                               const std::string& value) {
  for (const PromSample& s : samples) {
    const auto it = s.labels.find(label);
    if (it != s.labels.end() && it->second == value) return s.value;
  }
  return std::nullopt;
}

// ------------------------------------------------------------ the dashboard

struct DashboardQuery {
  std::string where;     // panel title / annotation / variable, for messages
  std::string language;  // "influxql", "promql", "influx-variable", "prometheus-variable"
  std::string text;
};

std::string str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  return e[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

void collect_panels(simdjson::dom::array panels, std::vector<DashboardQuery>& out) {
  for (simdjson::dom::element p : panels) {
    simdjson::dom::array nested;
    if (p["panels"].get(nested) == simdjson::SUCCESS) collect_panels(nested, out);
    simdjson::dom::array targets;
    if (p["targets"].get(targets) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element t : targets) {
      simdjson::dom::element ds;
      const std::string type =
          t["datasource"].get(ds) == simdjson::SUCCESS ? str(ds, "type") : str(p["datasource"], "type");
      const std::string where = "panel '" + str(p, "title") + "' target " + str(t, "refId");
      if (type == "influxdb") {
        EXPECT_TRUE(t["rawQuery"].get_bool().value_unsafe()) << where << ": raw InfluxQL, so this test can run it";
        out.push_back({where, "influxql", str(t, "query")});
      } else if (type == "prometheus") {
        out.push_back({where, "promql", str(t, "expr")});
      } else {
        ADD_FAILURE() << where << ": unknown data source type '" << type << "'";
      }
    }
  }
}

std::vector<DashboardQuery> dashboard_queries(const std::string& json) {
  simdjson::dom::parser parser;
  const simdjson::dom::element d = parser.parse(json);
  std::vector<DashboardQuery> out;
  collect_panels(d["panels"].get_array(), out);
  for (simdjson::dom::element a : d["annotations"]["list"].get_array())
    if (str(a["datasource"], "type") == "influxdb")
      out.push_back({"annotation '" + str(a, "name") + "'", "influxql", str(a, "query")});
  for (simdjson::dom::element v : d["templating"]["list"].get_array()) {
    if (str(v, "type") != "query") continue;
    const std::string type = str(v["datasource"], "type");
    out.push_back({"variable $" + str(v, "name"), type == "influxdb" ? "influx-variable" : "prometheus-variable",
                   str(v, "query")});
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// A Grafana macro or variable left in a query: `$` then a name or `{`
// (a regex's `$` anchor is followed by `/`).
bool has_macro(const std::string& q) {
  static const std::regex kMacro(R"(\$[A-Za-z_{])");
  return std::regex_search(q, kMacro);
}

std::string expand_influxql(std::string q) {
  q = replace_all(q, "$timeFilter", "time > now() - 10m");
  q = replace_all(q, "$__interval", "1s");
  q = replace_all(q, "$market", kMarkets);
  q = replace_all(q, "$group", "(BTC)");
  q = replace_all(q, "$flow_tf", "1s");
  return q;
}

std::string expand_promql(std::string q, const std::string& instance) {
  q = replace_all(q, "$__rate_interval", "10s");
  q = replace_all(q, "$instance", instance);
  return q;
}

// The number of rows over all series of an InfluxQL answer; fails on an error.
std::size_t influx_rows(const InfluxdProcess& influx, const std::string& statement, const std::string& where) {
  const std::string body = influx.query(statement);
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(body);
  std::size_t rows = 0;
  for (simdjson::dom::element r : doc["results"].get_array()) {
    std::string_view error;
    if (r["error"].get(error) == simdjson::SUCCESS) ADD_FAILURE() << where << ": " << error << "\n" << statement;
    simdjson::dom::array series;
    if (r["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) rows += s["values"].get_array().size();
  }
  return rows;
}

// ------------------------------------------------------------ the test

TEST(PrometheusScrape, SeriesRatesStaleAlertAndDashboardQueries) {
  InfluxdProcess influx;
  TempDir dir("prometheus-scrape");

  const std::int64_t start_ms = now_ms() + 1500;
  const std::vector<PacedFrame> spot = paced_capture("spot_btcusdt.gz", start_ms, start_ms + kSpotSeconds * 1000);
  std::vector<PacedFrame> usdm = paced_capture("usdm_btcusdt.gz", start_ms, start_ms + kFuturesSeconds * 1000);
  for (std::int64_t t = start_ms + 2000; t < start_ms + kFuturesSeconds * 1000; t += 2000)
    usdm.push_back(liquidation(t + 137, (t / 2000) % 2 ? "SELL" : "BUY"));
  std::stable_sort(usdm.begin(), usdm.end(),
                   [](const PacedFrame& a, const PacedFrame& b) { return a.time_ms < b.time_ms; });
  ASSERT_GT(published_between(spot, 0, 1e12), 200u);

  PacedWsServer spot_server({.frames = spot});
  PacedWsServer usdm_server({.frames = usdm});
  const int http_port = testing::free_loopback_port();
  const std::string instance = "127.0.0.1:" + std::to_string(http_port);
  Tickflow tickflow({"run", "--config", write_config(dir.path, spot_server, usdm_server, influx).string(), "--unpinned",
                     "--http-port", std::to_string(http_port)},
                    dir.path / "stderr");
  ASSERT_TRUE(poll_until([&] { return !tickflow.running() || http_get(http_port, "/metrics").status == 200; }, 30s));
  ASSERT_TRUE(tickflow.running()) << tickflow.log();

  PrometheusProcess prom({.targets = {instance}, .rule_files = {write_test_rules(dir.path).string()}});
  const auto log = [&] { return "tickflow:\n" + tickflow.log() + "\nprometheus:\n" + prom.log(); };

  // ---------------------------------------------------------- series
  ASSERT_TRUE(poll_until([&] { return prom.query("tickflow_feed_frames_total").size() == 2; }, 30s)) << log();
  EXPECT_EQ(value_of(prom.query("up"), "instance", instance), std::optional<double>(1));
  for (const char* series : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                             "process_max_fds", "process_start_time_seconds", "process_virtual_memory_bytes",
                             "tickflow_bars_total", "tickflow_strategy_evaluations_total",
                             "tickflow_feed_last_trade_age_seconds", "tickflow_market_last_bar_age_seconds"})
    EXPECT_FALSE(prom.query(series).empty()) << series;
  EXPECT_GT(prom.query("process_resident_memory_bytes").at(0).value, 1e6);
  EXPECT_GT(prom.query("process_open_fds").at(0).value, 3);
  EXPECT_NEAR(prom.query("process_start_time_seconds").at(0).value, now_s(), 120);
  const auto threads = prom.query("tickflow_thread_cpu_seconds_total");
  for (const char* name : {"tf-agg", "tf-feed-0", "tf-writer"})
    EXPECT_TRUE(value_of(threads, "thread", name)) << name << " has no tickflow_thread_cpu_seconds_total";

  // ---------------------------------------------------------- rates
  // 10 s windows inside both streams: wait until spot has published 16 s.
  while (now_ms() < start_ms + 16'000) std::this_thread::sleep_for(100ms);
  const double at = now_s() - 1;  // a second for the last scrape to land
  const auto frames = prom.query("rate(tickflow_feed_frames_total[10s])", at);
  for (const auto& [exchange, published] :
       {std::pair{"BINANCE", &spot}, std::pair{"BINANCE_FUTURES", &std::as_const(usdm)}}) {
    const double sent = static_cast<double>(published_between(*published, at - 10, at)) / 10.0;
    const auto got = value_of(frames, "exchange", exchange);
    ASSERT_TRUE(got) << exchange;
    EXPECT_GT(sent, 5) << exchange << ": the capture trades every second";
    // rate() extrapolates from the samples in the window: a loaded machine
    // that delays scrapes lowers it. An order of magnitude, then ...
    EXPECT_GT(*got, sent / 4) << exchange << ": frames/s scraped vs published";
    EXPECT_LT(*got, sent * 2) << exchange << ": frames/s scraped vs published";
    std::fprintf(stderr, "%s: %.1f frames/s published, rate() %.1f\n", exchange, sent, *got);
  }
  // ... and exactly: the last scraped counter is every frame published up to
  // its scrape time (give or take the frames of the second around it).
  const auto counters = prom.query("tickflow_feed_frames_total", at);
  const auto stamps = prom.query("timestamp(tickflow_feed_frames_total)", at);
  for (const auto& [exchange, published] :
       {std::pair{"BINANCE", &spot}, std::pair{"BINANCE_FUTURES", &std::as_const(usdm)}}) {
    const auto counter = value_of(counters, "exchange", exchange);
    const auto stamp = value_of(stamps, "exchange", exchange);
    ASSERT_TRUE(counter && stamp) << exchange;
    const double expected = static_cast<double>(published_between(*published, 0, *stamp));
    const double slack = static_cast<double>(published_between(*published, *stamp - 1, *stamp + 1)) + 2;
    EXPECT_NEAR(*counter, expected, slack) << exchange << ": frames counted at the scrape at " << *stamp;
  }
  const auto bars = value_of(prom.query("rate(tickflow_bars_total[10s])", at), "timeframe", "1s");
  ASSERT_TRUE(bars);
  // A market's 1 s bar closes for every second it traded in.
  const double bar_seconds =
      static_cast<double>(seconds_between(spot, at - 10, at) + seconds_between(usdm, at - 10, at)) / 10.0;
  EXPECT_GT(*bars, bar_seconds / 4) << "1 s bars/s scraped vs seconds with trades";
  EXPECT_LT(*bars, bar_seconds * 2) << "1 s bars/s scraped vs seconds with trades";
  std::fprintf(stderr, "1 s bars: %.1f seconds with trades per second, rate() %.2f\n", bar_seconds, *bars);
  const auto evaluations = prom.query("rate(tickflow_strategy_evaluations_total[10s])", at);
  ASSERT_EQ(evaluations.size(), 1u);
  EXPECT_GT(evaluations[0].value, 0.2) << "one per closed second for the BTC group";
  const auto agg_cpu = value_of(prom.query("rate(tickflow_thread_cpu_seconds_total[10s])", at), "thread", "tf-agg");
  ASSERT_TRUE(agg_cpu);
  EXPECT_GE(*agg_cpu, 0);
  EXPECT_LE(*agg_cpu, 1.2) << "one thread, at most one CPU (plus tick rounding)";

  // ---------------------------------------------------------- rules and the stale alert
  const auto stale_alerts = [&](const std::string& state) {
    std::vector<testing::PromAlert> out;
    for (const auto& a : prom.alerts())
      if (a.labels.at("alertname") == "TickflowFeedStale" && (state.empty() || a.state == state)) out.push_back(a);
    return out;
  };
  EXPECT_TRUE(stale_alerts("").empty()) << "stale before the stall";
  for (const auto& [rule, health] : prom.rule_health())
    EXPECT_TRUE(health == "ok" || health == "unknown") << rule << ": " << health;

  ASSERT_TRUE(poll_until([&] { return !stale_alerts("firing").empty(); }, 30s)) << log();
  const auto firing = stale_alerts("firing");
  ASSERT_EQ(firing.size(), 1u) << "only the stalled spot connection";
  EXPECT_EQ(firing[0].labels.at("exchange"), "BINANCE");
  EXPECT_EQ(firing[0].labels.at("severity"), "warning");
  EXPECT_EQ(firing[0].labels.at("instance"), instance);
  EXPECT_TRUE(firing[0].annotations.at("summary").starts_with("BINANCE connection "))
      << firing[0].annotations.at("summary");
  EXPECT_GT(now_ms(), spot.back().time_ms + kMaxTradeAgeMs) << "fired before the stall was max_trade_age_ms old";
  for (const auto& [rule, health] : prom.rule_health()) EXPECT_TRUE(health == "ok") << rule << ": " << health;

  // ---------------------------------------------------------- dashboard: PromQL
  const std::vector<DashboardQuery> queries =
      dashboard_queries(read_file(fs::path(TICKFLOW_SOURCE_DIR) / "tuning/grafana/tickflow.json"));
  std::size_t promql = 0, influxql = 0;
  for (const DashboardQuery& q : queries) {
    if (q.language == "promql") {
      const std::string expr = expand_promql(q.text, instance);
      EXPECT_FALSE(has_macro(expr)) << q.where << ": unexpanded macro in " << expr;
      const auto result = prom.query(expr);
      EXPECT_TRUE(has_finite(result)) << q.where << ": no data for " << expr;
      ++promql;
    } else if (q.language == "prometheus-variable") {
      static const std::regex kLabelValues(R"(^label_values\((\w+), *(\w+)\)$)");
      std::smatch m;
      ASSERT_TRUE(std::regex_match(q.text, m, kLabelValues)) << q.where << ": " << q.text;
      const auto result = prom.query(m[1].str());
      EXPECT_FALSE(result.empty()) << q.where;
      for (const PromSample& s : result) EXPECT_TRUE(s.labels.count(m[2].str())) << q.where;
      ++promql;
    }
  }
  EXPECT_GE(promql, 20u);

  // ---------------------------------------------------------- dashboard: InfluxQL
  tickflow.signal(SIGTERM);
  EXPECT_EQ(tickflow.wait(30s), std::optional<int>(0)) << log();
  const auto is_signals = [](const std::string& q) { return q.find("FROM \"signals\"") != std::string::npos; };
  for (const DashboardQuery& q : queries) {
    if (q.language != "influxql" && q.language != "influx-variable") continue;
    const std::string statement = expand_influxql(q.text);
    EXPECT_FALSE(has_macro(statement)) << q.where << ": unexpanded macro in " << statement;
    const std::size_t rows = influx_rows(influx, statement, q.where);
    if (is_signals(statement))
      EXPECT_EQ(rows, 0u) << q.where << ": this run cannot have produced a signal";
    else
      EXPECT_GT(rows, 0u) << q.where << ": no data for " << statement;
    ++influxql;
  }
  EXPECT_GE(influxql, 10u);

  // The signals queries against a signal as the writer encodes it.
  Signal s;
  s.timestamp_s = now_ms() / 1000 - 5;
  s.action = SignalAction::kLong;
  copy_text(s.symbol, "BTCUSDT");
  copy_text(s.base_symbol, "BTC");
  s.score = 6.5;
  s.confidence = 0.8;
  s.entry_price = 61755.2;
  s.signal_id = signal_uuid("BTCUSDT", s.timestamp_s, s.action);
  copy_text(s.reasoning, "test signal");
  std::string line;
  ASSERT_TRUE(append_signal_line(line, s));
  InfluxHttp http(influx.endpoint());
  ASSERT_EQ(http.write(kSignalRetentionPolicy, kSignalLinePrecision, line).status, 204);
  std::size_t signal_queries = 0;
  for (const DashboardQuery& q : queries) {
    const std::string statement = expand_influxql(q.text);
    if (q.language != "influxql" || !is_signals(statement)) continue;
    EXPECT_EQ(influx_rows(influx, statement, q.where), 1u) << q.where << ": " << statement;
    ++signal_queries;
  }
  EXPECT_EQ(signal_queries, 2u) << "the signals table and the annotation";
}

}  // namespace
}  // namespace tickflow
