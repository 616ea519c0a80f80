// tests/integration/flow_stats_run_test.cc
//
// `tickflow run` writes the flow statistics: flow_1s ... flow_4h, one point
// per symbol group per closed interval, in retention policy aggr_<tf> with
// tag `group`, and they are what the bars it wrote say they must be.
//
// Setup as in run_pipeline_test.cc: two local TLS websocket servers
// (ws_test_server.h) play Binance spot and USD-M, each serving the BTCUSDT
// and ETHUSDT captures of tests/data/binance-20240808-trades merged by trade
// time and re-timed to end ~now (whole seconds added to "E" and "T"), and a
// real influxd (influxd_process.h) on a free loopback port takes the
// output. Once the aggregator has taken every trade, SIGTERM; the shutdown
// closes every open bar and interval, so even the one 4h interval is
// written.
//
// The reference is computed here, plainly, from the 1 s bars read back from
// trades_1s, not from the engine: per group (BTC, ETH) and second, the spot
// market's vbuy - vsell is ds, the perp's is df, volume and base quantity
// are summed, the price is the volume-weighted close; per timeframe the
// seconds are summed into aligned intervals [k T, (k + 1) T) from the first
// second with a bar to the last second flow_1s has, empty intervals
// included; then CVDs over the last 100 intervals, divergence, the mean and
// sample std of the 20 intervals before each (ds, df, D, |D|) and their
// z-scores, VWAP over 20, volume surge (5 against 20) and the EMA of the
// close (span 20): FlowSeriesConfig's defaults, written out here.
//
// Exactness. Each group has one spot and one perp market here, so a
// second's sums have at most two terms and the per-interval sums are taken
// in time order by both sides: ds, df and volume must be EQUAL, bit for
// bit (InfluxDB returns the shortest round-trip doubles written; unless a
// bar was amended, whose change new - old is then added: within rounding), close
// within 1e-15 (a product and a sum may be fused into an FMA). The
// rolling statistics use compensated, re-based sums in the engine and
// naive ones here: they must agree within 1e-11 of the window's total
// volume (the scale of their rounding error), and z-scores within that
// divided by the std. Undefined statistics (NaN: a baseline of < 2
// intervals) and infinite z-scores must be absent from the point.
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/capture_frames.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

extern char** environ;

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::InfluxdProcess;
using testing::metric;
using testing::now_ms;
using testing::poll_until;
using testing::read_file;
using testing::shift_frames;
using testing::TempDir;
using testing::Tickflow;
using testing::trade_time_ms;
using testing::WsProtocol;
using testing::WsTestServer;
namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- frames

// Two captures as one connection's stream: merged by trade time, each
// market's own order kept.
std::vector<std::string> merged(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  out.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out),
             [](const std::string& x, const std::string& y) { return trade_time_ms(x) < trade_time_ms(y); });
  return out;
}

// ---------------------------------------------------------------- InfluxDB

// One point: its tag, time and fields (absent fields are absent here too).
struct Point {
  std::string tag;
  std::int64_t time = 0;
  std::map<std::string, double> fields;
  double get(const std::string& f) const {
    const auto it = fields.find(f);
    return it == fields.end() ? kNaN : it->second;
  }
};

std::vector<Point> query_points(const InfluxdProcess& influx, const std::string& rp, const std::string& measurement,
                                const std::string& tag) {
  const std::string body =
      influx.query("SELECT * FROM \"" + rp + "\".\"" + measurement + "\" GROUP BY \"" + tag + "\"");
  std::vector<Point> out;
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(body);
  for (simdjson::dom::element result : doc["results"].get_array()) {
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) {
      const std::string tag_value(std::string_view(s["tags"][tag].get_string()));
      std::vector<std::string> columns;
      for (simdjson::dom::element c : s["columns"].get_array()) columns.emplace_back(std::string_view(c.get_string()));
      for (simdjson::dom::element row : s["values"].get_array()) {
        Point p;
        p.tag = tag_value;
        std::size_t i = 0;
        for (simdjson::dom::element v : row.get_array()) {
          if (columns[i] == "time") {
            p.time = v.get_int64();
          } else if (!v.is_null()) {
            double d = 0;
            if (v.get_double().get(d) != simdjson::SUCCESS) d = static_cast<double>(v.get_int64().value());
            p.fields[columns[i]] = d;
          }
          ++i;
        }
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- the reference

// What one group sums to over one second or one interval.
struct Sums {
  double ds = 0, df = 0, volume = 0, qty = 0, close_volume = 0;
};

// Group of a market of this test: "BINANCE:btcusdt" -> "BTC"; spot on
// BINANCE, perp on BINANCE_FUTURES.
std::string group_of(const std::string& market) {
  std::string base = market.substr(market.find(':') + 1);
  base = base.substr(0, base.size() - 4);  // "usdt"
  for (char& c : base) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return base;
}
bool is_spot(const std::string& market) { return market.rfind("BINANCE:", 0) == 0; }

// The statistics of one group on one timeframe, interval by interval.
struct Expected {
  std::int64_t time = 0;
  std::map<std::string, double> v;  // field -> value (NaN: must be absent)
  double window_volume = 0;         // sum of volume over the CVD window: the rounding scale
  double d_std = 0;                 // the stds the z-scores divide by
  double ds_std = 0, df_std = 0, absd_std = 0;
};

double mean_of(const std::vector<double>& x, std::size_t from, std::size_t to) {
  double s = 0;
  for (std::size_t i = from; i < to; ++i) s += x[i];
  return to > from ? s / static_cast<double>(to - from) : kNaN;
}
double std_of(const std::vector<double>& x, std::size_t from, std::size_t to) {
  if (to - from < 2) return kNaN;
  const double m = mean_of(x, from, to);
  double s = 0;
  for (std::size_t i = from; i < to; ++i) s += (x[i] - m) * (x[i] - m);
  return std::sqrt(s / static_cast<double>(to - from - 1));
}

// seconds: group's per-second sums (only seconds with bars). first_s, last_s:
// the engine's first and last closed second.
std::vector<Expected> expected_series(const std::map<std::int64_t, Sums>& seconds, std::int64_t first_s,
                                      std::int64_t last_s, std::int64_t tf) {
  constexpr std::size_t kCvd = 100, kStats = 20, kVwap = 20, kShort = 5, kLong = 20;
  const double alpha = 2.0 / (20.0 + 1.0);
  std::vector<double> ds, df, d, absd, volume, qty;
  std::vector<Expected> out;
  double price = kNaN, ema = kNaN;
  for (std::int64_t open = first_s / tf * tf; open <= last_s; open += tf) {
    Sums in;  // summed in time order, from 0, as the engine does
    double interval_price = 0;
    for (auto it = seconds.lower_bound(std::max(open, first_s)); it != seconds.end() && it->first < open + tf; ++it) {
      if (it->first > last_s) break;
      in.ds += it->second.ds;
      in.df += it->second.df;
      in.volume += it->second.volume;
      in.qty += it->second.qty;
      const double p = it->second.close_volume / it->second.volume;
      if (p > 0) interval_price = p;
    }
    if (interval_price > 0) price = interval_price;
    ds.push_back(in.ds);
    df.push_back(in.df);
    volume.push_back(in.volume);
    qty.push_back(in.qty);
    const std::size_t n = ds.size();
    const std::size_t cvd_from = n > kCvd ? n - kCvd : 0;
    double cs = 0, cf = 0, window_volume = 0;
    for (std::size_t i = cvd_from; i < n; ++i) {
      cs += ds[i];
      cf += df[i];
      window_volume += volume[i];
    }
    d.push_back(cs - cf);
    absd.push_back(std::fabs(cs - cf));
    Expected e;
    e.time = open;
    e.window_volume = window_volume;
    e.v["ds"] = in.ds;
    e.v["df"] = in.df;
    e.v["volume"] = in.volume;
    e.v["close"] = price;
    e.v["cvd_spot"] = cs;
    e.v["cvd_perp"] = cf;
    e.v["divergence"] = cs - cf;
    // Baselines: the stats window BEFORE this interval.
    const std::size_t base_to = n - 1, base_from = base_to > kStats ? base_to - kStats : 0;
    const auto baseline = [&](const std::vector<double>& x, const std::string& name, double& std_out) {
      const double m = mean_of(x, base_from, base_to), s = std_of(x, base_from, base_to);
      e.v[name + "_mean"] = m;
      e.v[name + "_std"] = s;
      e.v[name + "_z"] = (x[n - 1] - m) / s;
      std_out = s;
    };
    baseline(ds, "ds", e.ds_std);
    baseline(df, "df", e.df_std);
    baseline(d, "d", e.d_std);
    baseline(absd, "absd", e.absd_std);
    // EMA of the close, seeded with the first price.
    if (!std::isnan(price)) ema = std::isnan(ema) ? price : ema + alpha * (price - ema);
    e.v["ema"] = ema;
    const std::size_t vwap_from = n > kVwap ? n - kVwap : 0;
    double notional = 0, base_qty = 0;
    for (std::size_t i = vwap_from; i < n; ++i) notional += volume[i], base_qty += qty[i];
    e.v["vwap"] = notional / base_qty;
    const std::size_t n_long = std::min(n, kLong), n_short = std::min(n, kShort);
    const double short_mean = mean_of(volume, n - n_short, n), long_mean = mean_of(volume, n - n_long, n);
    e.v["volume_surge"] = short_mean / long_mean;
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------- the test

class CurlGlobal : public ::testing::Environment {
 public:
  void SetUp() override { curl_global_init(CURL_GLOBAL_DEFAULT); }
  void TearDown() override { curl_global_cleanup(); }
};
[[maybe_unused]] ::testing::Environment* const curl_env = ::testing::AddGlobalTestEnvironment(new CurlGlobal);

TEST(FlowStatsRun, RunWritesFlowStatisticsEqualToTheBars) {
  const std::vector<std::string> spot_btc = testing::binance_0808_frames("spot_btcusdt.gz"),
                                 spot_eth = testing::binance_0808_frames("spot_ethusdt.gz");
  const std::vector<std::string> usdm_btc = testing::binance_0808_frames("usdm_btcusdt.gz"),
                                 usdm_eth = testing::binance_0808_frames("usdm_ethusdt.gz");
  std::int64_t first = INT64_MAX;
  for (const auto* frames : {&spot_btc, &spot_eth, &usdm_btc, &usdm_eth})
    for (const std::string& f : *frames) first = std::min(first, trade_time_ms(f));
  const std::int64_t shift_ms = (now_ms() / 1000) * 1000 - (first / 1000) * 1000 - 10'000;
  const std::vector<std::string> spot = shift_frames(merged(spot_btc, spot_eth), shift_ms);
  const std::vector<std::string> usdm = shift_frames(merged(usdm_btc, usdm_eth), shift_ms);
  const std::size_t trades = spot.size() + usdm.size();  // one trade per frame in these captures

  InfluxdProcess influx;
  WsTestServer spot_server({.protocol = WsProtocol::kBinance, .frames = spot});
  WsTestServer usdm_server({.protocol = WsProtocol::kBinance, .frames = usdm});
  TempDir dir("run");
  const int http_port = testing::free_loopback_port();
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\", \"ethusdt\"]\nBINANCE_FUTURES = [\"btcusdt\", \"ethusdt\"]\n\n"
    << "[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[bars]\nflow_stats = true\n\n"
    << "[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = false\n\n"
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << spot_server.port() << "\nca_file = \""
    << spot_server.ca_file() << "\"\n\n"
    << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << usdm_server.port() << "\nca_file = \""
    << usdm_server.ca_file() << "\"\n\n"
    << "[influx]\nenabled = true\nurl = \"" << influx.url() << "\"\nbatch_age_ms = 20\nspool_dir = \""
    << (dir.path / "spool").string() << "\"\n\n"
    << "[shutdown]\ndeadline_ms = 10000\n";
  const fs::path config = dir.path / "run.toml";
  std::ofstream(config) << c.str();

  std::string metrics;
  {
    Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
                      dir.path / "stderr");
    const bool all_in = poll_until(
        [&] {
          if (!tickflow.running()) return true;
          if (spot_server.frames_written() < spot.size() || usdm_server.frames_written() < usdm.size()) return false;
          metrics = testing::http_get(http_port, "/metrics").body;
          const auto taken = metric(metrics, "tickflow_aggregator_trades_total");
          return taken && *taken >= static_cast<double>(trades);
        },
        60s);
    ASSERT_TRUE(tickflow.running()) << "tickflow exited early:\n" << tickflow.log();
    ASSERT_TRUE(all_in) << metrics << "\n" << tickflow.log();
    // The statistics start once the start-up hold (10 s, FlowStage) is
    // over. The captures' seconds reach ~6 minutes past now (re-timed to
    // start 10 s ago), so their watermarks, not the clock, close them:
    // wait for the records of (nearly) all of them; SIGTERM closes the rest.
    const bool flowing = poll_until(
        [&] {
          metrics = testing::http_get(http_port, "/metrics").body;
          return metric(metrics, "tickflow_flow_records_total").value_or(0) >= 2 * 340.0;
        },
        40s);
    EXPECT_TRUE(flowing) << metrics;
    tickflow.signal(SIGTERM);
    const auto status = tickflow.wait(25s);
    ASSERT_TRUE(status.has_value()) << tickflow.log();
    EXPECT_EQ(*status, 0) << tickflow.log();
  }
  // One record per group per closed second at least (the six minutes of data).
  EXPECT_GE(metric(metrics, "tickflow_flow_records_total").value_or(0), 2 * 340.0) << metrics;
  EXPECT_EQ(metric(metrics, "tickflow_flow_dropped_bars_total"), 0.0) << metrics;
  EXPECT_EQ(metric(metrics, "tickflow_flow_late_bars_total"), 0.0) << metrics;
  // An amended bar (a straggler trade after its second closed by the clock,
  // which a loaded machine can cause) is applied as its change, new - old:
  // its second's sums are then a rounding apart, no longer bit for bit.
  const double replaced = metric(metrics, "tickflow_flow_replaced_bars_total").value_or(-1);
  ASSERT_GE(replaced, 0.0) << metrics;
  if (replaced > 0) std::printf("note: %.0f amended bars; ds, df and volume compared within rounding\n", replaced);
  EXPECT_EQ(metric(metrics, "tickflow_writer_flows_dropped_total"), 0.0) << metrics;

  // The bars, as the database has them, per group and second.
  std::map<std::string, std::map<std::int64_t, Sums>> seconds;  // group -> second -> sums
  std::int64_t first_s = INT64_MAX, last_bar_s = INT64_MIN;
  std::size_t bars = 0;
  for (const Point& b : query_points(influx, "aggr_1s", "trades_1s", "market")) {
    const double vbuy = b.get("vbuy"), vsell = b.get("vsell"), v = vbuy + vsell;
    Sums& s = seconds[group_of(b.tag)][b.time];
    (is_spot(b.tag) ? s.ds : s.df) += vbuy - vsell;
    s.volume += v;
    s.qty += b.get("qbuy") + b.get("qsell");
    if (b.get("cbuy") + b.get("csell") > 0) s.close_volume += b.get("close") * v;
    first_s = std::min(first_s, b.time);
    last_bar_s = std::max(last_bar_s, b.time);
    ++bars;
  }
  ASSERT_GT(bars, 1000u);
  ASSERT_EQ(seconds.size(), 2u);

  // flow_1s: every second from the first bar's to the last closed, per group.
  const std::vector<Point> flow_1s = query_points(influx, "aggr_1s", "flow_1s", "group");
  std::map<std::string, std::vector<std::int64_t>> times;
  for (const Point& p : flow_1s) times[p.tag].push_back(p.time);
  ASSERT_EQ(times.size(), 2u) << "groups in flow_1s";
  ASSERT_TRUE(times.count("BTC") && times.count("ETH"));
  const std::int64_t last_s = times["BTC"].back();
  for (auto& [group, t] : times) {
    SCOPED_TRACE(group);
    EXPECT_EQ(t.front(), first_s) << "the first second with a bar";
    EXPECT_EQ(t.back(), last_s);
    EXPECT_EQ(t.size(), static_cast<std::size_t>(last_s - first_s + 1)) << "one point per second, gaps included";
    EXPECT_GE(last_s, last_bar_s);
  }

  // Every timeframe, every group, every interval, every field.
  const std::vector<std::pair<std::string, std::int64_t>> timeframes = {
      {"1s", 1}, {"1m", 60}, {"5m", 300}, {"15m", 900}, {"30m", 1800}, {"1h", 3600}, {"4h", 14400}};
  std::size_t compared = 0;
  for (const auto& [name, tf] : timeframes) {
    const std::vector<Point> points = query_points(influx, "aggr_" + name, "flow_" + name, "group");
    for (const std::string group : {"BTC", "ETH"}) {
      SCOPED_TRACE("flow_" + name + " " + group);
      std::map<std::int64_t, const Point*> got;
      for (const Point& p : points)
        if (p.tag == group) got[p.time] = &p;
      const std::vector<Expected> want = expected_series(seconds[group], first_s, last_s, tf);
      ASSERT_EQ(got.size(), want.size()) << "intervals";
      std::size_t mismatches = 0;
      for (const Expected& e : want) {
        const auto it = got.find(e.time);
        if (it == got.end()) {
          ADD_FAILURE() << "no point at " << e.time;
          continue;
        }
        const Point& p = *it->second;
        for (const auto& [field, value] : e.v) {
          const double actual = p.get(field);
          bool ok;
          if (!std::isfinite(value)) {
            ok = !p.fields.count(field);  // NaN / inf are never written
          } else if (field == "ds" || field == "df" || field == "volume") {
            // Same two terms, same order: bit for bit, unless a bar was
            // amended: then within the rounding of the interval's volume.
            ok = replaced == 0 ? actual == value : std::fabs(actual - value) <= 1e-14 * std::max(1.0, e.window_volume);
          } else if (field == "close") {
            // (c1 v1 + c2 v2) / (v1 + v2): the compiler may fuse a product
            // and a sum (FMA) on either side, a rounding apart. An amended
            // bar enters as (new - old), which rounds on the window's sum.
            ok = std::fabs(actual - value) <= (replaced == 0 ? 1e-15 : 1e-13) * std::fabs(value);
          } else {
            double tol = 1e-11 * std::max(1.0, e.window_volume) + 1e-12 * std::fabs(value);
            if (field.ends_with("_z")) {
              const double s = field == "ds_z"   ? e.ds_std
                               : field == "df_z" ? e.df_std
                               : field == "d_z"  ? e.d_std
                                                 : e.absd_std;
              tol = 1e-11 * std::max(1.0, e.window_volume) / s + 1e-12 * std::fabs(value);
            }
            if (field == "ema" || field == "vwap" || field == "volume_surge") tol = 1e-12 * std::fabs(value);
            ok = p.fields.count(field) && std::fabs(actual - value) <= tol;
          }
          ++compared;
          if (!ok && mismatches++ < 10)
            ADD_FAILURE() << "t=" << e.time << " " << field << ": stored " << actual << " (present "
                          << p.fields.count(field) << "), expected " << value;
        }
      }
      EXPECT_EQ(mismatches, 0u);
    }
  }
  EXPECT_GT(compared, 15'000u);
}

}  // namespace
}  // namespace tickflow
