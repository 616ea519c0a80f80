// bench/backtest_memory.cc: the backtester's memory over a long span read
// from InfluxDB in chunks (the bar the backtest issue set: peak RSS under
// 200 MB over 7 days of 1 s bars, chunks of 2 h by default). Not a Google
// Benchmark: it needs a server and runs once.
//
//   backtest_memory --influx URL [--days 7] [--db NAME] [--chunk 2h]
//                   [--write-only | --skip-write]
//
// Write phase (skipped by --skip-write): the 6-market BTC group of
// bench/backtest_bench.cc (the bundled Binance BTC captures through
// CaptureBarSource, plus OKEX:BTC-USDT, COINBASE:BTC-USD and BYBIT:BTCUSDT
// replaying them), tiled over --days by shifting whole passes, with the same
// per-tile flow and price variation, written as trades_1s line protocol
// (pipeline/line_protocol.h) through InfluxHttp in batches of 5,000 lines.
// The database is created if absent. Bars are made one tile at a time, so
// the write phase holds one pass, not the span. Progress on stderr.
//
// Backtest phase (skipped by --write-only): the Backtester, BTC group, over
// an InfluxBarSource for the whole span in --chunk queries. Prints JSON with
// bars written, steps, steps/s, wall time, peak RSS (getrusage ru_maxrss and
// /proc/self/status VmHWM), signals and trades.
//
// ru_maxrss is the whole process's peak and cannot be reset, so run the
// phases as two invocations (--write-only, then --skip-write) for a clean
// backtest figure. In one invocation, VmHWM is reset (clear_refs 5) after
// the write phase, so vmhwm_kb is still the backtest phase's own peak.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/tiled_bars.h"
#include "pipeline/bar.h"
#include "pipeline/line_protocol.h"
#include "pipeline/market_registry.h"
#include "runtime/capture_bar_source.h"
#include "sinks/influx_http.h"
#include "strategy/backtester.h"
#include "strategy/influx_bar_source.h"

namespace tickflow {
namespace {

using bench::Replay;
using bench::Tiler;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// "2h", "30m", "7200s", "7200": seconds.
std::int64_t parse_duration(const std::string& text) {
  std::size_t used = 0;
  const long long n = std::stoll(text, &used);
  const std::string unit = text.substr(used);
  const std::int64_t scale = unit.empty() || unit == "s" ? 1
                             : unit == "m"               ? 60
                             : unit == "h"               ? 3600
                             : unit == "d"               ? 86400
                                                         : 0;
  if (scale == 0 || n <= 0) throw std::invalid_argument("bad duration '" + text + "' (e.g. 2h, 30m, 7200s)");
  return static_cast<std::int64_t>(n) * scale;
}

// A /proc/self/status field in kB, or -1.
long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) return std::stol(line.substr(key.size()));
  return -1;
}

long maxrss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// The group: one pass of the captures, and the six replays of it.
struct Group {
  MarketRegistry registry;
  std::unique_ptr<CaptureBarSource> pass;
  std::vector<Replay> replays;
};

std::unique_ptr<Group> make_group() {
  auto g = std::make_unique<Group>();
  const std::string dir = TICKFLOW_SOURCE_DIR "/tests/data/binance-20240808-trades/";
  g->pass = std::make_unique<CaptureBarSource>(std::vector<CaptureSpec>{{"BINANCE", dir + "spot_btcusdt.gz"},
                                                                        {"BINANCE_FUTURES", dir + "usdm_btcusdt.gz"},
                                                                        {"BINANCE_FUTURES", dir + "cm_btcusd_perp.gz"}},
                                               g->registry);
  const auto id = [&](const char* name) {
    const std::optional<MarketId> m = g->registry.find(name);
    if (!m) throw std::runtime_error(std::string("no market ") + name + " in the captures");
    return *m;
  };
  const auto add = [&](const char* name) {
    MarketSpec spec;
    spec.name = name;
    return g->registry.add(spec);
  };
  const MarketId spot = id("BINANCE:btcusdt"), usdm = id("BINANCE_FUTURES:btcusdt"),
                 cm = id("BINANCE_FUTURES:btcusd_perp");
  g->replays = {{spot, spot, true, 11},
                {usdm, usdm, false, 12},
                {cm, cm, false, 13},
                {spot, add("OKEX:BTC-USDT"), true, 14},
                {spot, add("COINBASE:BTC-USD"), true, 15},
                {usdm, add("BYBIT:BTCUSDT"), false, 16}};
  for (const Replay& r : g->replays) {
    const MarketInfo& info = g->registry.info(r.target);
    if (info.base != "BTC" || (info.market_class == MarketClass::kSpot) != r.spot)
      throw std::runtime_error(info.name + " is not classified as intended");
  }
  return g;
}

struct Options {
  std::string url;
  std::string db = "backtest_memory";
  int days = 7;
  std::string chunk = "2h";
  bool skip_write = false;
  bool write_only = false;
};

// Writes the span; returns bars written.
std::uint64_t write_span(const Options& o, Group& g, Tiler& tiler, std::int64_t from_s, std::int64_t to_s) {
  InfluxEndpoint endpoint;
  endpoint.url = o.url;
  endpoint.database = o.db;
  endpoint.request_timeout = std::chrono::milliseconds(60'000);
  InfluxHttp http(endpoint);
  const HttpResult created = http.query("CREATE DATABASE \"" + o.db + "\"");
  if (created.status != 200)
    throw std::runtime_error("CREATE DATABASE at " + o.url + ": " +
                             (created.transport_failed() ? created.error : influx_error_text(created.body)));
  BarLineEncoder encoder;
  for (const Replay& r : g.replays) encoder.set_market(r.target, g.registry.info(r.target).name);
  std::string body;
  body.reserve(5000 * 400);
  std::uint64_t written = 0, lines = 0;
  const auto flush = [&] {
    if (lines == 0) return;
    const HttpResult r = http.write("", "s", body);
    if (r.status != 204)
      throw std::runtime_error("write to " + o.url + ": " +
                               (r.transport_failed() ? r.error : influx_error_text(r.body)));
    written += lines;
    lines = 0;
    body.clear();
  };
  std::vector<Bar> tile;
  const std::int64_t tiles = (to_s - from_s + tiler.period_s() - 1) / tiler.period_s();
  const Clock::time_point t0 = Clock::now();
  for (std::int64_t k = 0; k < tiles; ++k) {
    tile.clear();
    tiler.tile(k, from_s, tile);
    for (const Bar& b : tile) {
      if (b.open_time_s >= to_s) continue;
      encoder.append(body, b);
      if (++lines == 5000) flush();
    }
    if ((k + 1) % 240 == 0 || k + 1 == tiles)
      std::fprintf(stderr, "write: %lld/%lld tiles, %llu bars, %.1f s\n", static_cast<long long>(k + 1),
                   static_cast<long long>(tiles), static_cast<unsigned long long>(written + lines), seconds_since(t0));
  }
  flush();
  return written;
}

int run(const Options& o) {
  const std::int64_t chunk_s = parse_duration(o.chunk);
  if (o.days < 1) throw std::invalid_argument("--days must be at least 1");
  std::unique_ptr<Group> group = make_group();
  std::unique_ptr<Tiler> tiler = std::make_unique<Tiler>(group->pass->bars(), group->replays);
  // The span starts at the captures' first second (2024-08-08), aligned
  // down to the day so that chunks and rollup windows start at midnight.
  const std::int64_t from_s = tiler->pass_start() / 86400 * 86400;
  const std::int64_t to_s = from_s + static_cast<std::int64_t>(o.days) * 86400;

  std::uint64_t written = 0;
  double write_s = 0;
  const long write_hwm_kb = status_kb("VmHWM");
  if (!o.skip_write) {
    const Clock::time_point t0 = Clock::now();
    written = write_span(o, *group, *tiler, from_s, to_s);
    write_s = seconds_since(t0);
  }
  const long after_write_hwm_kb = status_kb("VmHWM");
  if (o.write_only) {
    std::printf(
        "{\"phase\": \"write\", \"days\": %d, \"db\": \"%s\", \"from_s\": %lld, \"to_s\": %lld, "
        "\"bars_written\": %llu, \"write_s\": %.3f, \"bars_per_s\": %.0f, \"vmhwm_kb\": %ld, "
        "\"ru_maxrss_kb\": %ld}\n",
        o.days, o.db.c_str(), static_cast<long long>(from_s), static_cast<long long>(to_s),
        static_cast<unsigned long long>(written), write_s, write_s > 0 ? written / write_s : 0.0, after_write_hwm_kb,
        maxrss_kb());
    return 0;
  }
  // The backtest phase starts clean: the pass and the write phase's buffers
  // go, and VmHWM restarts from the current RSS.
  tiler.reset();
  group.reset();
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  const long start_rss_kb = status_kb("VmRSS");

  MarketRegistry registry;
  InfluxBarQuery query;
  query.url = o.url;
  query.database = o.db;
  query.from_s = from_s;
  query.to_s = to_s;
  query.chunk_s = chunk_s;
  InfluxBarSource source(query, registry);
  BacktestConfig config;
  config.symbols = {{"BTC", "BTCUSDT", ""}};
  const Clock::time_point t0 = Clock::now();
  config.progress = [&](std::int64_t t, double fraction) {
    std::fprintf(stderr, "backtest: %.1f%% (data day %.2f), %.1f s, VmRSS %ld kB\n", 100 * fraction,
                 static_cast<double>(t - from_s) / 86400, seconds_since(t0), status_kb("VmRSS"));
  };
  Backtester bt(config, registry);
  bt.run(source);
  const double wall_s = seconds_since(t0);
  const BacktestStats& s = bt.stats();
  std::printf(
      "{\"phase\": \"%s\", \"days\": %d, \"db\": \"%s\", \"chunk_s\": %lld, \"from_s\": %lld, \"to_s\": %lld, "
      "\"bars_written\": %llu, \"write_s\": %.3f, \"bars_read\": %llu, \"queries\": %llu, \"steps\": %llu, "
      "\"evaluations\": %llu, \"wall_s\": %.3f, \"steps_per_s\": %.0f, \"signals\": %zu, \"entries\": %llu, "
      "\"exits\": %llu, \"trades\": %zu, \"ru_maxrss_kb\": %ld, \"vmhwm_kb\": %ld, \"rss_before_backtest_kb\": %ld, "
      "\"vmhwm_at_start_kb\": %ld, \"vmhwm_after_write_kb\": %ld}\n",
      o.skip_write ? "backtest" : "write+backtest", o.days, o.db.c_str(), static_cast<long long>(chunk_s),
      static_cast<long long>(from_s), static_cast<long long>(to_s), static_cast<unsigned long long>(written), write_s,
      static_cast<unsigned long long>(s.bars), static_cast<unsigned long long>(source.queries()),
      static_cast<unsigned long long>(s.steps), static_cast<unsigned long long>(s.evaluations), wall_s,
      wall_s > 0 ? static_cast<double>(s.steps) / wall_s : 0.0, bt.signals().size(),
      static_cast<unsigned long long>(s.entries), static_cast<unsigned long long>(s.exits),
      bt.portfolio().trades().size(), maxrss_kb(), status_kb("VmHWM"), start_rss_kb, write_hwm_kb, after_write_hwm_kb);
  return 0;
}

}  // namespace
}  // namespace tickflow

int main(int argc, char** argv) {
  tickflow::Options o;
  CLI::App app{"backtest_memory: 7 days of 1 s bars into InfluxDB, then the backtester over them in chunks; JSON out"};
  app.add_option("--influx", o.url, "InfluxDB 1.x URL, e.g. http://127.0.0.1:18087")->required();
  app.add_option("--days", o.days, "span in days (default 7)");
  app.add_option("--db", o.db, "database (created if absent; default backtest_memory)");
  app.add_option("--chunk", o.chunk, "query chunk, e.g. 2h (default), 30m");
  app.add_flag("--skip-write", o.skip_write, "backtest what is already in the database");
  app.add_flag("--write-only", o.write_only, "write the span and stop (run --skip-write next for a clean RSS)");
  CLI11_PARSE(app, argc, argv);
  if (o.skip_write && o.write_only) {
    std::fprintf(stderr, "backtest_memory: --skip-write and --write-only exclude each other\n");
    return 2;
  }
  try {
    return tickflow::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "backtest_memory: %s\n", e.what());
    return 1;
  }
}
