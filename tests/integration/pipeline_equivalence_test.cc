// tests/integration/pipeline_equivalence_test.cc
//
// One aggregation path, three clocks: the same frames give the same bars,
// field by field, whichever way they reach the aggregator.
//
//  (a) `tickflow replay --bars-out` of capture files (event clock), its
//      line protocol read back with last-write-wins, as InfluxDB keeps it;
//  (b) `tickflow run` fed the same frames by local TLS websocket servers
//      (wall clock), its bars read back from a real influxd;
//  (c) CaptureBarSource, the backtester's capture input (event clock).
//
// (a) and (b) must hold the same points in trades_1s and every rollup
// (1m ... 4h); (c) must hold (a)'s trades_1s. Same keys (measurement,
// market, time), same fields, bit-identical values.
//
// The frames, re-timed by whole seconds so that the wall-clock aggregator of
// (b) takes them as live (bucketing unchanged), and written to capture files
// for (a) and (c):
//  * BINANCE:btcusdt: the full spot @trade capture (9757 trades);
//  * BINANCE_FUTURES:btcusdt: the full USD-M @trade capture (21313 trades)
//    with HAND-MADE forceOrder frames inserted (they are not from the
//    capture: tests/data has no Binance liquidations): one inside a busy
//    second, one alone in a second of its own 2 s after the last trade (a
//    liquidation-only bar, no OHLC), and one stamped 3 s ahead of the
//    trades around it (the watermark must not move on it: liquidations are
//    left out of the connection watermark, live and in replay alike);
//  * COINBASE: the cryptofeed Coinbase session (tests/data/cryptofeed), 97
//    matches over 30 s on 8 thin books: quiet markets, whose seconds close
//    on the quiet timeout rather than a busy watermark.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/line_protocol.h"
#include "pipeline/market_registry.h"
#include "pipeline/timeframe.h"
#include "runtime/capture_bar_source.h"
#include "tests/integration/influx_points.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::InfluxdProcess;
using testing::metric;
using testing::TempDir;
using testing::Tickflow;
using testing::WsProtocol;
using testing::WsTestServer;
namespace fs = std::filesystem;

constexpr std::uint64_t kSpotTrades = 9757;   // tests/data/README.md
constexpr std::uint64_t kUsdmTrades = 21313;  // tests/data/README.md
constexpr std::uint64_t kCoinbaseMatches = 97;

struct Frame {
  std::int64_t receive_ns = 0;
  std::string text;
};

std::vector<Frame> load(const std::string& path) {
  CaptureReader reader(path);
  CaptureRecord rec;
  std::vector<Frame> out;
  while (reader.next(rec))
    if (!rec.binary) out.push_back({rec.receive_ts_ns, std::string(rec.frame)});
  return out;
}

// ------------------------------------------------------------------ re-timing

// Coinbase's "time":"2021-04-17T16:43:37.089723Z", every occurrence, plus
// `shift_s` whole seconds (the fraction is kept as written).
std::string shift_iso_times(std::string frame, std::int64_t shift_s) {
  static const std::string key = "\"time\":\"";
  for (std::size_t pos = frame.find(key); pos != std::string::npos; pos = frame.find(key, pos + 1)) {
    const std::size_t at = pos + key.size();
    if (frame.size() < at + 19) throw std::runtime_error("short time in " + frame);
    struct tm tm = {};
    if (::strptime(frame.substr(at, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr)
      throw std::runtime_error("bad time in " + frame);
    const time_t shifted = ::timegm(&tm) + shift_s;
    gmtime_r(&shifted, &tm);
    char text[20];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    frame.replace(at, 19, text);
  }
  return frame;
}

std::int64_t first_coinbase_time_s(const std::vector<Frame>& frames) {
  for (const Frame& f : frames) {
    if (f.text.find("\"type\":\"match\"") == std::string::npos) continue;
    const std::size_t at = f.text.find("\"time\":\"") + 8;
    struct tm tm = {};
    ::strptime(f.text.substr(at, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    return ::timegm(&tm);
  }
  throw std::runtime_error("no match frame");
}

// A Binance USD-M forceOrder frame, HAND-MADE (see the banner).
std::string force_order(std::int64_t time_ms, const char* side, const char* qty, const char* price) {
  return std::string(R"({"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":)") + std::to_string(time_ms) +
         R"(,"o":{"s":"BTCUSDT","S":")" + side + R"(","o":"LIMIT","f":"IOC","q":")" + qty + R"(","p":")" + price +
         R"(","ap":")" + price + R"(","X":"FILLED","l":")" + qty + R"(","z":")" + qty + R"(","T":)" +
         std::to_string(time_ms) + "}}}";
}

// The USD-M frames (2024 times) with the three hand-made liquidations.
std::vector<Frame> usdm_with_liquidations(std::vector<Frame> frames) {
  // Trade times of the frames, to place the liquidations between them.
  std::vector<std::int64_t> t(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) t[i] = testing::trade_time_ms(frames[i].text);
  std::vector<std::pair<std::size_t, Frame>> inserts;  // before index
  // 1. Inside a busy second: right after frame 1000, at its trade time.
  inserts.push_back({1001, {frames[1000].receive_ns + 1, force_order(t[1000], "SELL", "0.250", "61500.10")}});
  // 2. Alone in a second: every second of the six minutes has USD-M
  //    trades, so 2 s after the last one, as the last frame.
  const std::int64_t last_s = t.back() / 1000;
  inserts.push_back(
      {frames.size(),
       {frames.back().receive_ns + 2'000'000'000, force_order((last_s + 2) * 1000 + 500, "BUY", "0.004", "61700.00")}});
  // 3. Stamped 3 s ahead of the trades around frame 15000.
  inserts.push_back({15000, {frames[14999].receive_ns + 1, force_order(t[14999] + 3000, "SELL", "1.5", "61000.5")}});
  std::sort(inserts.begin(), inserts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [before, frame] : inserts)
    frames.insert(frames.begin() + static_cast<std::ptrdiff_t>(before), std::move(frame));
  return frames;
}

struct Inputs {
  std::vector<Frame> spot, usdm, coinbase;
  std::vector<std::string> coinbase_products;
};

// Every stream re-timed so that its first trade is 10 s before now.
Inputs live_inputs() {
  const std::string data = TICKFLOW_TEST_DATA_DIR;
  Inputs in;
  std::vector<Frame> spot = load(data + "/binance-20240808-trades/spot_btcusdt.gz");
  std::vector<Frame> usdm = usdm_with_liquidations(load(data + "/binance-20240808-trades/usdm_btcusdt.gz"));
  std::int64_t first_ms = INT64_MAX;
  for (const auto* frames : {&spot, &usdm})
    for (const Frame& f : *frames) first_ms = std::min(first_ms, testing::trade_time_ms(f.text));
  const std::int64_t now_ms = testing::now_ms();
  const std::int64_t shift_ms = (now_ms / 1000) * 1000 - (first_ms / 1000) * 1000 - 10'000;
  for (auto [from, to] : {std::pair{&spot, &in.spot}, std::pair{&usdm, &in.usdm}}) {
    std::vector<std::string> texts;
    for (const Frame& f : *from) texts.push_back(f.text);
    texts = testing::shift_frames(std::move(texts), shift_ms);
    for (std::size_t i = 0; i < texts.size(); ++i)
      to->push_back({(*from)[i].receive_ns + shift_ms * 1'000'000, std::move(texts[i])});
  }
  const std::vector<Frame> coinbase = load(data + "/cryptofeed/COINBASE.ws.28.0.gz");
  const std::int64_t shift_s = now_ms / 1000 - first_coinbase_time_s(coinbase) - 10;
  std::set<std::string> products;
  for (const Frame& f : coinbase) {
    in.coinbase.push_back({f.receive_ns + shift_s * 1'000'000'000, shift_iso_times(f.text, shift_s)});
    const std::size_t p = f.text.find("\"product_id\":\"");
    if (p != std::string::npos) products.insert(f.text.substr(p + 14, f.text.find('"', p + 14) - p - 14));
  }
  in.coinbase_products.assign(products.begin(), products.end());
  return in;
}

void write_capture(const fs::path& path, const std::vector<Frame>& frames) {
  std::ofstream out(path);
  for (const Frame& f : frames) out << f.receive_ns << ' ' << f.text << '\n';
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::string> texts(const std::vector<Frame>& frames) {
  std::vector<std::string> out;
  for (const Frame& f : frames) out.push_back(f.text);
  return out;
}

// What the parsers make of the frames: trades (liquidations apart) and
// liquidations per exchange.
struct Counts {
  std::uint64_t trades = 0, liquidations = 0;
};
Counts parse_counts(const std::string& exchange, const std::vector<Frame>& frames) {
  MarketRegistry registry;
  auto parser = make_parser(exchange, registry);
  EventBuffer events;
  PaddedFrame padded;
  Counts c;
  for (const Frame& f : frames) {
    padded.assign(f.text);
    events.clear();
    parser->parse(padded.view(), f.receive_ns, events);
    for (const FeedEvent& e : events)
      if (e.type == FeedEventType::kTrade) ++(e.trade.is_liquidation() ? c.liquidations : c.trades);
  }
  return c;
}

// ------------------------------------------------------------------ points

using testing::PointKey;
using testing::Points;

Points read_line_protocol(const fs::path& path) { return testing::parse_line_protocol(testing::read_file(path)); }

std::string describe(const PointKey& k) {
  return std::get<0>(k) + "," + std::get<1>(k) + " " + std::to_string(std::get<2>(k));
}

// Same keys, same fields, the same doubles to the bit. Reports the first
// few differences.
void expect_same_points(const Points& a, const Points& b, const std::string& what) {
  std::size_t differences = 0;
  auto report = [&](const std::string& text) {
    if (differences++ < 8) ADD_FAILURE() << what << ": " << text;
  };
  for (const auto& [key, fields] : a) {
    const auto it = b.find(key);
    if (it == b.end()) {
      report("only on the left: " + describe(key));
      continue;
    }
    if (it->second.size() != fields.size()) report("field sets differ at " + describe(key));
    for (const auto& [name, value] : fields) {
      const auto f = it->second.find(name);
      if (f == it->second.end()) {
        report("no " + name + " on the right at " + describe(key));
      } else if (std::memcmp(&f->second, &value, sizeof value) != 0) {
        std::ostringstream s;
        s.precision(17);
        s << name << " at " << describe(key) << ": " << value << " vs " << f->second;
        report(s.str());
      }
    }
  }
  for (const auto& [key, fields] : b)
    if (a.find(key) == a.end()) report("only on the right: " + describe(key));
  EXPECT_EQ(differences, 0u) << what;
}

Points only(const Points& points, const std::string& measurement) {
  Points out;
  for (const auto& [key, fields] : points)
    if (std::get<0>(key) == measurement) out.emplace(key, fields);
  return out;
}

double sum_field(const Points& points, const std::string& field) {
  double sum = 0;
  for (const auto& [key, fields] : points)
    if (const auto it = fields.find(field); it != fields.end()) sum += it->second;
  return sum;
}

// ------------------------------------------------------------------ the test

TEST(PipelineEquivalence, ReplayRunAndBacktestMakeTheSameBars) {
  const Inputs in = live_inputs();
  const Counts spot = parse_counts("BINANCE", in.spot);
  const Counts usdm = parse_counts("BINANCE_FUTURES", in.usdm);
  const Counts coinbase = parse_counts("COINBASE", in.coinbase);
  ASSERT_EQ(spot.trades, kSpotTrades);
  ASSERT_EQ(usdm.trades, kUsdmTrades);
  ASSERT_EQ(usdm.liquidations, 3u);
  ASSERT_GE(coinbase.trades, kCoinbaseMatches);  // the matches, plus each book's last_match
  const std::uint64_t total = spot.trades + usdm.trades + coinbase.trades + usdm.liquidations;

  TempDir dir("equivalence");
  const fs::path spot_file = dir.path / "spot.log", usdm_file = dir.path / "usdm.log",
                 coinbase_file = dir.path / "coinbase.log";
  write_capture(spot_file, in.spot);
  write_capture(usdm_file, in.usdm);
  write_capture(coinbase_file, in.coinbase);

  // (a) replay --bars-out.
  const fs::path bars_file = dir.path / "bars.lp";
  {
    const int status =
        testing::run_to_exit({"replay", "--quiet", "--bars-out", bars_file.string(), "BINANCE=" + spot_file.string(),
                              "BINANCE_FUTURES=" + usdm_file.string(), "COINBASE=" + coinbase_file.string()},
                             dir.path / "replay.stderr");
    ASSERT_EQ(status, 0) << testing::read_file(dir.path / "replay.stderr");
  }
  const Points replayed = read_line_protocol(bars_file);
  const Points replayed_1s = only(replayed, "trades_1s");

  // The inputs are what the banner says, in (a)'s bars: every trade, the
  // liquidations' notional, a liquidation-only bar, quiet Coinbase books.
  EXPECT_EQ(sum_field(replayed_1s, "cbuy") + sum_field(replayed_1s, "csell"),
            static_cast<double>(spot.trades + usdm.trades + coinbase.trades));
  EXPECT_DOUBLE_EQ(sum_field(replayed_1s, "lsell"), 0.25 * 61500.10 + 1.5 * 61000.5);
  EXPECT_DOUBLE_EQ(sum_field(replayed_1s, "lbuy"), 0.004 * 61700.00);
  std::size_t liquidation_only = 0, coinbase_bars = 0;
  std::set<std::string> coinbase_markets;
  std::int64_t coinbase_first = INT64_MAX, coinbase_last = INT64_MIN;
  for (const auto& [key, fields] : replayed_1s) {
    if (fields.count("open") == 0) ++liquidation_only;
    if (std::get<1>(key).rfind("COINBASE:", 0) == 0) {
      ++coinbase_bars;
      coinbase_markets.insert(std::get<1>(key));
      coinbase_first = std::min(coinbase_first, std::get<2>(key));
      coinbase_last = std::max(coinbase_last, std::get<2>(key));
    }
  }
  EXPECT_EQ(liquidation_only, 1u);
  EXPECT_GE(coinbase_markets.size(), 8u);
  // Quiet: far fewer bars than market-seconds in the session.
  EXPECT_LT(coinbase_bars, coinbase_markets.size() * static_cast<std::size_t>(coinbase_last - coinbase_first + 1) / 2);
  for (const Timeframe& tf : default_rollup_timeframes())
    EXPECT_FALSE(only(replayed, "trades_" + std::string(tf.name())).empty()) << tf.name();

  // (c) the backtester's capture input.
  {
    MarketRegistry registry;
    CaptureBarSource source({{"BINANCE", spot_file.string()},
                             {"BINANCE_FUTURES", usdm_file.string()},
                             {"COINBASE", coinbase_file.string()}},
                            registry);
    BarLineEncoder encoder;
    std::string lines;
    for (const Bar& bar : source.bars()) {
      if (!encoder.has_market(bar.market)) encoder.set_market(bar.market, registry.info(bar.market).name);
      encoder.append(lines, bar);
    }
    const Points backtest = testing::parse_line_protocol(lines);
    expect_same_points(replayed_1s, backtest, "replay vs backtest, trades_1s");
  }

  // (b) tickflow run against the websocket servers, into influxd.
  InfluxdProcess influx;
  WsTestServer spot_server({.protocol = WsProtocol::kBinance, .frames = texts(in.spot)});
  WsTestServer usdm_server({.protocol = WsProtocol::kBinance, .frames = texts(in.usdm)});
  WsTestServer coinbase_server({.protocol = WsProtocol::kCoinbase, .frames = texts(in.coinbase)});
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\nCOINBASE = [";
  for (std::size_t i = 0; i < in.coinbase_products.size(); ++i)
    c << (i ? ", " : "") << '"' << in.coinbase_products[i] << '"';
  c << "]\n\n[[threads.feed]]\nname = \"tf-feed-0\"\nwait = \"park\"\n\n"
    << "[feeds]\nstale_after_ms = 60000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\nbackfill = false\n\n"
    << "[feeds.channels]\nBINANCE_FUTURES = [\"trade\", \"forceOrder\"]\n\n";
  for (auto [name, server] : {std::pair{"BINANCE", &spot_server}, std::pair{"BINANCE_FUTURES", &usdm_server},
                              std::pair{"COINBASE", &coinbase_server}})
    c << "[feeds.endpoints." << name << "]\nhost = \"127.0.0.1\"\nport = " << server->port() << "\nca_file = \""
      << server->ca_file() << "\"\n\n";
  c << "[influx]\nenabled = true\nurl = \"" << influx.url() << "\"\nbatch_age_ms = 20\nspool_dir = \""
    << (dir.path / "spool").string() << "\"\n\n[shutdown]\ndeadline_ms = 10000\n";
  const fs::path config = dir.path / "run.toml";
  std::ofstream(config) << c.str();

  const int http_port = testing::free_loopback_port();
  {
    Tickflow tickflow({"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
                      dir.path / "run.stderr");
    std::string metrics;
    const bool all_in = testing::poll_until(
        [&] {
          if (!tickflow.running()) return true;
          metrics = testing::http_get(http_port, "/metrics").body;
          const auto taken = metric(metrics, "tickflow_aggregator_trades_total");
          return taken && *taken >= static_cast<double>(total);
        },
        60s);
    ASSERT_TRUE(tickflow.running()) << "tickflow exited early:\n" << tickflow.log();
    ASSERT_TRUE(all_in) << metrics << "\n" << tickflow.log();
    EXPECT_EQ(metric(metrics, "tickflow_aggregator_trades_total"), static_cast<double>(total)) << metrics;
    tickflow.signal(SIGTERM);
    const auto status = tickflow.wait(30s);
    ASSERT_TRUE(status.has_value()) << tickflow.log();
    ASSERT_EQ(*status, 0) << tickflow.log();
  }
  Points live;
  testing::query_points(influx, "aggr_1s", "trades_1s", live);
  for (const Timeframe& tf : default_rollup_timeframes())
    testing::query_points(influx, "aggr_" + std::string(tf.name()), "trades_" + std::string(tf.name()), live);
  expect_same_points(replayed, live, "replay vs tickflow run, trades_1s and every rollup");
}

}  // namespace
}  // namespace tickflow
