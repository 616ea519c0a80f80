// tests/integration/hostile_feed_test.cc
//
// Hostile input is contained (issue 15): LiveFeed against WsTestServer
// replaying the real Binance BTCUSDT capture with hostile frames mixed in,
// a real influxd, and `tickflow run` end to end.
//  * Unconfigured symbols (Binance, Bybit spot's -SPOT names) are counted
//    per connection and never become markets.
//  * A rejected frame is quoted escaped in the log (no forged line, no ESC).
//  * One bogus trade id (9e18, or far below) is dropped as implausible and
//    does not silence the market; a confirmed jump (forward, or a real
//    sequence overtaking a bogus first id) is adopted and its gap reported.
//  * resume_market() seeds de-duplication and gap detection as a reconnect
//    would: duplicates dropped, the id gap (or, on Bybit, the time gap)
//    reported, a long restart's jump confirmed rather than rejected.
//  * Market names with backslashes, commas, spaces and '=' reach influxd
//    and read back intact; a trailing backslash is refused (influxd cannot
//    store it).
//  * `tickflow run` survives trades on 65,537 distinct unconfigured symbols
//    mixed with real configured traffic: bounded RSS, exact counts, bars
//    for the configured market only and exact.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <cstdlib>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/live_feed.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/line_protocol.h"
#include "sinks/influx_http.h"
#include "tests/integration/influx_points.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/tickflow_child.h"
#include "tests/integration/ws_test_server.h"

extern char** environ;

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::WsInjection;
using testing::WsProtocol;
using testing::WsTestServer;

constexpr std::uint64_t kSpotFirstId = 3735683259;  // binance-20240808-trades/spot_btcusdt.gz
constexpr std::size_t kFrames = 1000;               // the capture's first 1000 trades, one per frame

const std::vector<std::string>& spot_frames() {
  static const std::vector<std::string> frames = [] {
    CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/binance-20240808-trades/spot_btcusdt.gz");
    CaptureRecord rec;
    std::vector<std::string> out;
    while (out.size() < kFrames && reader.next(rec))
      if (!rec.binary) out.emplace_back(rec.frame);
    return out;
  }();
  return frames;
}

// `frame` with its trade id ("t") replaced.
std::string with_id(std::string frame, std::uint64_t id) {
  const auto at = frame.find("\"t\":") + 4;
  const auto end = frame.find(',', at);
  return frame.substr(0, at) + std::to_string(id) + frame.substr(end);
}

// The exchange time (ns) of a spot frame ("T", ms).
std::int64_t exchange_ns(const std::string& frame) {
  const auto at = frame.find("\"T\":") + 4;
  return std::stoll(frame.substr(at, frame.find(',', at) - at)) * 1'000'000;
}

std::vector<std::string> renumbered(std::size_t from, std::size_t to, std::uint64_t first_id) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < to; ++i) out.push_back(with_id(spot_frames()[i], first_id + (i - from)));
  return out;
}

struct Harness {
  Harness(const WsTestServer& server, Venue venue, std::vector<std::string> symbols) {
    config.venue = venue;
    config.symbols = std::move(symbols);
    config.host = "127.0.0.1";
    config.port = server.port();
    config.ca_file = server.ca_file();
    config.backoff_initial = 20ms;
    config.backoff_max = 200ms;
    config.jitter_seed = 42;
  }
  void make() {
    feed = std::make_unique<LiveFeed>(
        loop, registry, config,
        [this](const EventBuffer& events) {
          for (const FeedEvent& e : events) {
            if (e.type == FeedEventType::kTrade) trades.push_back(e.trade);
            if (e.type == FeedEventType::kStatus && e.status.kind == FeedStatusKind::kGap)
              gap_events.push_back(e.status);
          }
        },
        [this](std::string_view line) { log += std::string(line) + "\n"; });
    feed->set_gap_handler([this](const TradeGap& gap) { gaps.push_back(gap); });
  }
  bool run_until_frames(std::uint64_t frames) {
    feed->start();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (feed->counters().frames.load() < frames) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop.run_for(10ms);
    }
    loop.run_for(30ms);
    return true;
  }
  std::vector<std::uint64_t> ids() const {
    std::vector<std::uint64_t> out;
    for (const Trade& t : trades) out.push_back(t.trade_id);
    return out;
  }

  LiveFeedConfig config;
  IoLoop loop;
  MarketRegistry registry;
  std::unique_ptr<LiveFeed> feed;
  std::vector<Trade> trades;
  std::vector<FeedStatus> gap_events;
  std::vector<TradeGap> gaps;
  std::string log;
};

std::vector<std::uint64_t> id_range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t id = first; id <= last; ++id) out.push_back(id);
  return out;
}

// A spot frame moved to another symbol (stream and "s").
std::string on_symbol(std::string frame, const std::string& lower_symbol) {
  std::string upper = lower_symbol;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto stream = frame.find("btcusdt");
  frame = frame.substr(0, stream) + lower_symbol + frame.substr(stream + 7);
  const auto s = frame.find("BTCUSDT");
  return frame.substr(0, s) + upper + frame.substr(s + 7);
}

TEST(HostileFeed, UnconfiguredSymbolsAreCountedAndNeverBecomeMarkets) {
  std::vector<WsInjection> injections;
  for (std::size_t i = 0; i < 500; ++i) {
    std::string symbol = "h";  // not "h" + std::string: GCC 12's -Wrestrict false positive
    symbol += std::to_string(i);
    symbol += "usdt";
    injections.push_back({.before_frame = i * 2, .payload = on_symbol(spot_frames()[i], symbol)});
  }
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames(), .injections = injections});
  Harness h(server, Venue::kBinanceSpot, {"BTCUSDT"});  // spelled upper case in the config: still Binance's btcusdt
  h.make();
  ASSERT_TRUE(h.run_until_frames(kFrames + 500)) << h.log;
  EXPECT_EQ(h.ids(), id_range(kSpotFirstId, kSpotFirstId + kFrames - 1));
  const auto& c = h.feed->counters();
  EXPECT_EQ(c.unconfigured.load(), 500u);
  EXPECT_EQ(c.parse_errors.load(), 0u);
  EXPECT_EQ(c.market_overflow.load(), 0u);
  EXPECT_EQ(h.feed->parse_stats()[SkipKind::kUnconfigured], 500u);
  EXPECT_EQ(h.registry.size(), 1u);
  EXPECT_EQ(h.registry.info(0).name, "BINANCE:btcusdt");
  EXPECT_EQ(h.log.find("rejected"), std::string::npos) << h.log;
}

TEST(HostileFeed, RejectedFrameIsQuotedEscapedInTheLog) {
  // A frame that would forge a log line and colour the terminal (text
  // frames are UTF-8 by the websocket protocol: bad UTF-8 never gets here,
  // the client drops the connection; log_escape_test covers it).
  const std::string hostile = "{\"stream\":\"x\n2026-01-01T00:00:00.000Z error [tf-main] forged\x1b[31m";
  WsTestServer server({.protocol = WsProtocol::kBinance,
                       .frames = std::vector<std::string>(spot_frames().begin(), spot_frames().begin() + 10),
                       .injections = {{.before_frame = 5, .payload = hostile}}});
  Harness h(server, Venue::kBinanceSpot, {"btcusdt"});
  h.make();
  ASSERT_TRUE(h.run_until_frames(11)) << h.log;
  EXPECT_EQ(h.feed->counters().parse_errors.load(), 1u);
  EXPECT_EQ(h.trades.size(), 10u);
  const std::string expected =
      "binance-spot: frame rejected (truncated): {\"stream\":\"x\\n2026-01-01T00:00:00.000Z error [tf-main] "
      "forged\\x1b[31m\n";
  EXPECT_NE(h.log.find(expected), std::string::npos) << h.log;
  EXPECT_EQ(h.log.find('\x1b'), std::string::npos);
  EXPECT_EQ(h.log.find("\n2026"), std::string::npos);  // no line starts with the forged time stamp
}

TEST(HostileFeed, OneBogusIdDoesNotSilenceTheMarket) {
  // The issue's case: a well-formed trade with id 9e18 mid-stream, then one
  // far below the window: both dropped, every real trade still delivered.
  WsTestServer server(
      {.protocol = WsProtocol::kBinance,
       .frames = spot_frames(),
       .injections = {{.before_frame = 300, .payload = with_id(spot_frames()[299], 9'000'000'000'000'000'000u)},
                      {.before_frame = 600, .payload = with_id(spot_frames()[599], 5)}}});
  Harness h(server, Venue::kBinanceSpot, {"btcusdt"});
  h.make();
  ASSERT_TRUE(h.run_until_frames(kFrames + 2)) << h.log;
  EXPECT_EQ(h.ids(), id_range(kSpotFirstId, kSpotFirstId + kFrames - 1));
  const auto& c = h.feed->counters();
  EXPECT_EQ(c.trades.load(), kFrames);
  EXPECT_EQ(c.implausible_ids.load(), 2u);
  EXPECT_EQ(c.duplicates.load(), 0u);
  EXPECT_EQ(c.gaps.load(), 0u);
  EXPECT_EQ(c.jumps_adopted.load(), 0u);
  EXPECT_TRUE(h.gaps.empty());
}

TEST(HostileFeed, ConfirmedJumpForwardIsAdoptedAndItsGapReported) {
  // 500 real trades, then the sequence continues 10,000,000 ids later (a
  // long outage on a busy market): the first two are held back as
  // implausible, the third confirms the jump and reports the gap that
  // includes them, so the backfill recovers them.
  const std::uint64_t jump = kSpotFirstId + 10'000'000;
  std::vector<std::string> frames(spot_frames().begin(), spot_frames().begin() + 500);
  for (auto& f : renumbered(500, kFrames, jump)) frames.push_back(f);
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = frames});
  Harness h(server, Venue::kBinanceSpot, {"btcusdt"});
  h.make();
  ASSERT_TRUE(h.run_until_frames(kFrames)) << h.log;
  std::vector<std::uint64_t> expected = id_range(kSpotFirstId, kSpotFirstId + 499);
  for (std::uint64_t id : id_range(jump + 2, jump + 499)) expected.push_back(id);
  EXPECT_EQ(h.ids(), expected);
  const auto& c = h.feed->counters();
  EXPECT_EQ(c.implausible_ids.load(), 2u);
  EXPECT_EQ(c.jumps_adopted.load(), 1u);
  EXPECT_EQ(c.gaps.load(), 1u);
  ASSERT_EQ(h.gaps.size(), 1u);
  EXPECT_EQ(h.gaps[0].first_missing_id, kSpotFirstId + 500);
  EXPECT_EQ(h.gaps[0].last_missing_id, jump + 1);
  EXPECT_EQ(c.gap_trades.load(), jump + 1 - (kSpotFirstId + 500) + 1);
  ASSERT_EQ(h.gap_events.size(), 1u);
  EXPECT_EQ(h.gap_events[0].gap_first_id, kSpotFirstId + 500);
}

TEST(HostileFeed, BogusFirstIdIsOvertakenByTheRealSequence) {
  // The very first trade is bogus (nothing to compare it with, so it is
  // delivered); the real sequence, far below it, is confirmed after three
  // trades and the two held back are reported as a gap.
  std::vector<std::string> frames = {with_id(spot_frames()[0], 9'000'000'000'000'000'000u)};
  for (std::size_t i = 0; i < 100; ++i) frames.push_back(spot_frames()[i]);
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = frames});
  Harness h(server, Venue::kBinanceSpot, {"btcusdt"});
  h.make();
  ASSERT_TRUE(h.run_until_frames(101)) << h.log;
  std::vector<std::uint64_t> expected = {9'000'000'000'000'000'000u};
  for (std::uint64_t id : id_range(kSpotFirstId + 2, kSpotFirstId + 99)) expected.push_back(id);
  EXPECT_EQ(h.ids(), expected);
  EXPECT_EQ(h.feed->counters().implausible_ids.load(), 2u);
  EXPECT_EQ(h.feed->counters().jumps_adopted.load(), 1u);
  ASSERT_EQ(h.gaps.size(), 1u);
  EXPECT_EQ(h.gaps[0].first_missing_id, kSpotFirstId);
  EXPECT_EQ(h.gaps[0].last_missing_id, kSpotFirstId + 1);
}

TEST(HostileFeed, ResumeDeduplicatesAgainstTheSeededId) {
  // Seeded at the capture's 100th trade: the 100 re-sent trades are
  // duplicates, the rest is delivered with no gap.
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames()});
  Harness h(server, Venue::kBinanceSpot, {"btcusdt"});
  h.make();
  const MarketId m = h.registry.intern("BINANCE:btcusdt");
  h.feed->resume_market(m, kSpotFirstId + 99, exchange_ns(spot_frames()[99]));
  ASSERT_TRUE(h.run_until_frames(kFrames)) << h.log;
  EXPECT_EQ(h.ids(), id_range(kSpotFirstId + 100, kSpotFirstId + kFrames - 1));
  EXPECT_EQ(h.feed->counters().duplicates.load(), 100u);
  EXPECT_EQ(h.feed->counters().gaps.load(), 0u);
  EXPECT_TRUE(h.gaps.empty());
}

TEST(HostileFeed, ResumeRevealsTheIdGapAsAReconnectDoes) {
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames()});
  Harness h(server, Venue::kBinanceSpot, {"btcusdt"});
  h.config.connection = 4;
  h.make();
  const MarketId m = h.registry.intern("BINANCE:btcusdt");
  const std::int64_t before = exchange_ns(spot_frames()[0]) - 5'000'000'000;
  h.feed->resume_market(m, kSpotFirstId - 51, before);
  ASSERT_TRUE(h.run_until_frames(kFrames)) << h.log;
  EXPECT_EQ(h.ids(), id_range(kSpotFirstId, kSpotFirstId + kFrames - 1));
  ASSERT_EQ(h.gaps.size(), 1u);
  const TradeGap& gap = h.gaps[0];
  EXPECT_EQ(gap.market, m);
  EXPECT_EQ(gap.symbol, "BTCUSDT");
  EXPECT_EQ(gap.first_missing_id, kSpotFirstId - 50);
  EXPECT_EQ(gap.last_missing_id, kSpotFirstId - 1);
  EXPECT_EQ(gap.after_exchange_ns, before);
  EXPECT_EQ(gap.before_exchange_ns, exchange_ns(spot_frames()[0]));
  EXPECT_EQ(gap.connection, 4u);
  EXPECT_EQ(h.feed->counters().gap_trades.load(), 50u);
  ASSERT_EQ(h.gap_events.size(), 1u);
  EXPECT_EQ(h.gap_events[0].gap_last_id, kSpotFirstId - 1);
}

TEST(HostileFeed, ResumeAfterALongRestartIsConfirmedNotRejected) {
  // Seeded 5,000,000 ids back (beyond the implausible-id span): the jump is
  // confirmed by three trades and the whole gap, including the two held
  // back, goes to the backfill.
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames()});
  Harness h(server, Venue::kBinanceSpot, {"btcusdt"});
  h.make();
  const MarketId m = h.registry.intern("BINANCE:btcusdt");
  const std::uint64_t seeded = kSpotFirstId - 5'000'000;
  h.feed->resume_market(m, seeded, exchange_ns(spot_frames()[0]) - 3'600'000'000'000);
  ASSERT_TRUE(h.run_until_frames(kFrames)) << h.log;
  EXPECT_EQ(h.ids(), id_range(kSpotFirstId + 2, kSpotFirstId + kFrames - 1));
  EXPECT_EQ(h.feed->counters().implausible_ids.load(), 2u);
  ASSERT_EQ(h.gaps.size(), 1u);
  EXPECT_EQ(h.gaps[0].first_missing_id, seeded + 1);
  EXPECT_EQ(h.gaps[0].last_missing_id, kSpotFirstId + 1);
  EXPECT_EQ(h.feed->counters().gap_trades.load(), 5'000'001u);
}

std::vector<std::string> bybit_v5_frames(std::size_t n) {
  std::vector<std::string> frames;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string ms = std::to_string(1714567890000 + i);
    frames.push_back(R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":)" + ms + R"(,"data":[{"T":)" + ms +
                     R"(,"s":"BTCUSDT","S":"Buy","v":"0.120","p":"63245.10","L":"PlusTick","i":"0b1c2d3e-)" +
                     std::to_string(i) + R"(","BT":false}]})");
  }
  return frames;
}

TEST(HostileFeed, BybitSpotAllowlistKeepsTheSpotSuffix) {
  // Bybit spot names its markets BYBIT:<symbol>-SPOT: the allowlist made
  // from the subscribed "BTCUSDT" must match that spelling.
  std::vector<std::string> frames = bybit_v5_frames(10);
  for (const std::string& f : bybit_v5_frames(5)) {
    std::string eth = f;
    for (std::size_t at; (at = eth.find("BTCUSDT")) != std::string::npos;)
      eth = eth.substr(0, at) + "ETHUSDT" + eth.substr(at + 7);
    frames.push_back(eth);
  }
  WsTestServer server({.protocol = WsProtocol::kBybit, .frames = frames});
  Harness h(server, Venue::kBybitSpot, {"BTCUSDT"});
  h.make();
  ASSERT_TRUE(h.run_until_frames(16)) << h.log;  // the ack and 15 frames
  EXPECT_EQ(h.trades.size(), 10u);
  EXPECT_EQ(h.feed->counters().unconfigured.load(), 5u);
  EXPECT_EQ(h.feed->parse_stats()[SkipKind::kUnconfigured], 5u);
  EXPECT_EQ(h.feed->counters().parse_errors.load(), 0u);
  ASSERT_EQ(h.registry.size(), 1u);
  EXPECT_EQ(h.registry.info(0).name, "BYBIT:BTCUSDT-SPOT");
}

TEST(HostileFeed, ResumeOnATimeGapVenueReportsTheTimeGap) {
  WsTestServer server({.protocol = WsProtocol::kBybit, .frames = bybit_v5_frames(20)});
  Harness h(server, Venue::kBybitLinear, {"BTCUSDT"});
  h.make();
  const MarketId m = h.registry.intern("BYBIT:BTCUSDT");
  h.feed->resume_market(m, 0, 1'714'567'000'000'000'000);
  ASSERT_TRUE(h.run_until_frames(21)) << h.log;  // the ack and 20 trades
  EXPECT_EQ(h.trades.size(), 20u);
  ASSERT_EQ(h.gaps.size(), 1u);
  EXPECT_TRUE(h.gaps[0].is_time_gap());
  EXPECT_EQ(h.gaps[0].after_exchange_ns, 1'714'567'000'000'000'000);
  EXPECT_EQ(h.gaps[0].before_exchange_ns, 1'714'567'890'000'000'000);
  EXPECT_EQ(h.feed->counters().gap_trades.load(), 0u);
}

// ------------------------------------------------- tickflow run, end to end

class CurlGlobal : public ::testing::Environment {
 public:
  void SetUp() override { curl_global_init(CURL_GLOBAL_DEFAULT); }
  void TearDown() override { curl_global_cleanup(); }
};
[[maybe_unused]] ::testing::Environment* const curl_env = ::testing::AddGlobalTestEnvironment(new CurlGlobal);

// Resident memory of `pid` in kB: "VmRSS" now, or "VmHWM" (the peak).
long status_kb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

TEST(HostileFeed, MarketNamesWithBackslashesReachInfluxIntact) {
  // Names a network could make (printable, so the resolver lets them
  // through): each point is accepted by a real influxd and its tag reads
  // back as the name. A trailing backslash cannot be carried by the line
  // protocol at all (influxd refuses the point): such names are refused
  // before they become markets.
  testing::InfluxdProcess influx;
  influx.query("CREATE DATABASE hostile");
  InfluxHttp http(influx.endpoint("hostile"));
  const std::vector<std::string> names = {"BINANCE:a\\b", "X:a\\,b c=d", "X:end\\ ", "X:\\\\x"};
  Bar bar;
  bar.timeframe_s = 1;
  bar.open = bar.high = bar.low = bar.close = 100;
  bar.cbuy = 1;
  bar.vbuy = 100;
  std::string lines;
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(valid_market_name(names[i])) << names[i];
    bar.open_time_s = 1'700'000'000 + static_cast<std::int64_t>(i);
    append_bar_line(lines, bar, escape_tag_value(names[i]));
  }
  const auto written = http.write("autogen", "s", lines);
  EXPECT_EQ(written.status, 204) << written.body << written.error << "\n" << lines;
  testing::Points points;
  testing::query_points(influx, "autogen", "trades_1s", points, "hostile");
  std::vector<std::string> read_back(names.size());
  for (const auto& [key, fields] : points) read_back[std::get<2>(key) - 1'700'000'000] = std::get<1>(key);
  EXPECT_EQ(read_back, names);

  // Why the trailing backslash is refused: influxd rejects the point.
  EXPECT_FALSE(valid_market_name("BINANCE:abc\\"));
  std::string trailing;
  append_bar_line(trailing, bar, escape_tag_value("BINANCE:abc\\"));
  EXPECT_EQ(http.write("autogen", "s", trailing).status, 400);
}

TEST(HostileFeed, RunSurvivesTradesOn65537UnconfiguredSymbols) {
  namespace fs = std::filesystem;
  using testing::metric;
  // The whole spot capture, re-timed to end near now (live bars), with a
  // trade on each of 65,537 distinct unsubscribed symbols mixed into its
  // second part: one more than the registry can hold. The server stalls
  // after the first 5000 real frames (then drops the connection; the feed
  // reconnects and gets the rest): the resident memory measured in that
  // pause is the baseline the hostile part may not grow.
  static const std::vector<std::string> capture = [] {
    CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/binance-20240808-trades/spot_btcusdt.gz");
    CaptureRecord rec;
    std::vector<std::string> out;
    while (reader.next(rec))
      if (!rec.binary) out.emplace_back(rec.frame);
    return out;
  }();
  ASSERT_EQ(capture.size(), 9757u);
  std::int64_t first_ms = INT64_MAX;
  for (const auto& f : capture) first_ms = std::min(first_ms, testing::trade_time_ms(f));
  const std::int64_t shift = (testing::now_ms() / 1000) * 1000 - (first_ms / 1000) * 1000 - 10'000;
  const std::vector<std::string> real = testing::shift_frames(capture, shift);
  constexpr std::size_t kBefore = 5000;
  constexpr std::size_t kHostile = 65'537;
  std::vector<std::string> frames(real.begin(), real.begin() + kBefore);
  std::size_t next_real = kBefore;
  for (std::size_t i = 0; i < kHostile; ++i) {
    std::string symbol = "zz";
    symbol += std::to_string(i);
    symbol += "usdt";
    frames.push_back(on_symbol(real[kBefore + i % (real.size() - kBefore)], symbol));
    if (i % 14 == 13 && next_real < real.size()) frames.push_back(real[next_real++]);
  }
  while (next_real < real.size()) frames.push_back(real[next_real++]);
  ASSERT_EQ(frames.size(), real.size() + kHostile);

  // The configured market's bars, from the real frames alone.
  std::map<std::int64_t, std::pair<std::uint64_t, double>> expected;  // second -> trades, notional
  {
    MarketRegistry registry;
    auto parser = make_parser("BINANCE", registry);
    EventBuffer events;
    PaddedFrame padded;
    for (const auto& f : real) {
      padded.assign(f);
      events.clear();
      parser->parse(padded.view(), 1, events);
      for (const FeedEvent& e : events) {
        auto& cell = expected[e.trade.exchange_ts_ns / 1'000'000'000];
        ++cell.first;
        cell.second += e.trade.notional();
      }
    }
  }

  testing::InfluxdProcess influx;
  testing::TempDir dir("hostile");
  WsTestServer server({.protocol = WsProtocol::kBinance,
                       .frames = frames,
                       .stall_after = kBefore,
                       .stall_for = std::chrono::milliseconds(3000)});
  const int http_port = testing::free_loopback_port();
  const fs::path config = dir.path / "run.toml";
  std::ofstream(config) << "[markets]\nBINANCE = [\"btcusdt\"]\n\n"
                        << "[feeds]\nstale_after_ms = 30000\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\n"
                        << "backfill = false\n\n[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = "
                        << server.port() << "\nca_file = \"" << server.ca_file() << "\"\n\n"
                        << "[influx]\nenabled = true\nurl = \"" << influx.url() << "\"\nbatch_age_ms = 20\n"
                        << "spool_dir = \"" << (dir.path / "spool").string() << "\"\n\n"
                        << "[metrics]\nbind = \"127.0.0.1\"\nport = 9464\n\n[shutdown]\ndeadline_ms = 10000\n";
#if defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in a quarantine (256 MB by default) that shows
  // as RSS growth; a small one leaves growth to what the process keeps.
  {
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string options = std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + "quarantine_size_mb=8";
    ::setenv("ASAN_OPTIONS", options.c_str(), 1);
  }
#endif
  testing::Tickflow tickflow(
      {"run", "--config", config.string(), "--unpinned", "--http-port", std::to_string(http_port)},
      dir.path / "stderr");
  auto taken = [&] {
    return metric(testing::http_get(http_port, "/metrics").body, "tickflow_aggregator_trades_total").value_or(0);
  };
  ASSERT_TRUE(testing::poll_until([&] { return !tickflow.running() || taken() >= kBefore; }, 20s)) << tickflow.log();
  ASSERT_TRUE(tickflow.running()) << tickflow.log();
  const long baseline_kb = status_kb(tickflow.pid(), "VmRSS");
  ASSERT_GT(baseline_kb, 0);
  ASSERT_EQ(server.connections(), 1u) << "the baseline must be taken in the stall";

  std::string metrics;
  const bool all_in = testing::poll_until(
      [&] {
        if (!tickflow.running()) return true;
        if (server.frames_written() < frames.size()) return false;
        metrics = testing::http_get(http_port, "/metrics").body;
        return metric(metrics, "tickflow_aggregator_trades_total").value_or(0) >= real.size();
      },
      40s);
  ASSERT_TRUE(tickflow.running()) << "tickflow died:\n" << tickflow.log();
  ASSERT_TRUE(all_in) << server.frames_written() << "/" << frames.size() << "\n" << metrics << tickflow.log();
  const long peak_kb = status_kb(tickflow.pid(), "VmHWM");
  RecordProperty("baseline_rss_kb", std::to_string(baseline_kb));
  RecordProperty("peak_rss_kb", std::to_string(peak_kb));
  metrics = testing::http_get(http_port, "/metrics").body;

  // Survived, counted exactly, nothing interned.
  const std::vector<std::string> binance = {"exchange=\"BINANCE\""};
  EXPECT_EQ(metric(metrics, "tickflow_feed_unconfigured_total", binance), static_cast<double>(kHostile)) << metrics;
  EXPECT_EQ(metric(metrics, "tickflow_feed_trades_total", binance), static_cast<double>(real.size()));
  EXPECT_EQ(metric(metrics, "tickflow_feed_frames_total", binance), static_cast<double>(frames.size()));
  EXPECT_EQ(metric(metrics, "tickflow_feed_market_overflow_total", binance), 0.0);
  EXPECT_EQ(metric(metrics, "tickflow_feed_parse_errors_total", binance), 0.0);
  EXPECT_EQ(metric(metrics, "tickflow_aggregator_trades_total"), static_cast<double>(real.size()));
  // Bounded memory: the 65,537 symbols may not grow the process (before
  // the allowlist they grew it by ~270 MB, then aborted it). The bound
  // leaves room for socket and TLS buffers, /metrics and, under ASan, its
  // quarantine.
#if defined(__SANITIZE_ADDRESS__)
  constexpr long kGrowthKb = 64 * 1024;
#else
  constexpr long kGrowthKb = 24 * 1024;
#endif
  EXPECT_LT(peak_kb - baseline_kb, kGrowthKb) << "baseline " << baseline_kb << " kB, peak " << peak_kb << " kB";

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(25s);
  ASSERT_TRUE(status.has_value()) << tickflow.log();
  EXPECT_EQ(*status, 0) << tickflow.log();
  EXPECT_NE(tickflow.log().find(std::to_string(kHostile) + " unconfigured"), std::string::npos) << tickflow.log();

  // Bars for the configured market only, and exact.
  testing::Points points;
  testing::query_points(influx, "aggr_1s", "trades_1s", points);
  std::set<std::string> tags;
  std::map<std::int64_t, std::pair<std::uint64_t, double>> got;
  for (const auto& [key, fields] : points) {
    tags.insert(std::get<1>(key));
    auto field = [&](const char* name) { return fields.count(name) ? fields.at(name) : 0.0; };
    got[std::get<2>(key)] = {static_cast<std::uint64_t>(std::llround(field("cbuy") + field("csell"))),
                             field("vbuy") + field("vsell")};
  }
  EXPECT_EQ(tags, std::set<std::string>{"BINANCE:btcusdt"});
  ASSERT_EQ(got.size(), expected.size());
  std::size_t mismatches = 0;
  for (const auto& [second, cell] : expected) {
    const auto it = got.find(second);
    if (it == got.end() || it->second.first != cell.first ||
        std::abs(it->second.second - cell.second) > 1e-9 * std::max(1.0, cell.second))
      if (mismatches++ < 5) ADD_FAILURE() << "bar at " << second;
  }
  EXPECT_EQ(mismatches, 0u);
}

}  // namespace
}  // namespace tickflow
