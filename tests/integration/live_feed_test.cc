// tests/integration/live_feed_test.cc
//
// LiveFeed + WebSocketClient against WsTestServer (a local TLS websocket
// server with a certificate made at test time): exact trade counts from
// real captures, reconnect with resubscription after a drop, stale
// detection, garbage and oversized frames, refused TLS and an untrusted
// certificate, and each venue's subscribe and ping protocol.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "feeds/live_feed.h"
#include "feeds/parser_factory.h"
#include "tests/integration/capture_frames.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::WsInjection;
using testing::WsProtocol;
using testing::WsServerBehavior;
using testing::WsTestServer;

constexpr std::size_t kSpotTrades = 9757;  // binance-20240808-trades/spot_btcusdt.gz (shared/data/README.md)
constexpr std::uint64_t kSpotFirstId = 3735683259;
constexpr std::uint64_t kSpotLastId = 3735693015;

const std::vector<std::string>& spot_frames() {
  static const std::vector<std::string> frames =
      testing::capture_text_frames("binance-20240808-trades/spot_btcusdt.gz");
  return frames;
}

// Trades a parser makes of `frames`, parsed directly: the expectation for
// the same frames sent over the wire.
std::uint64_t direct_trades(const std::string& exchange, const std::vector<std::string>& frames) {
  MarketRegistry registry;
  auto parser = make_parser(exchange, registry);
  EventBuffer out;
  PaddedFrame padded;
  for (const auto& f : frames) {
    padded.assign(f);
    out.clear();
    parser->parse(padded.view(), 1, out);
  }
  return parser->stats().trades;
}

// One feed on its own loop, collecting what it delivers.
struct Harness {
  explicit Harness(LiveFeedConfig config) {
    feed = std::make_unique<LiveFeed>(
        loop, registry, std::move(config),
        [this](const EventBuffer& events) {
          for (const FeedEvent& e : events) {
            if (e.type == FeedEventType::kTrade) trades.push_back(e.trade);
            if (e.type == FeedEventType::kStatus) statuses.push_back(e.status.kind);
          }
        },
        [this](std::string_view line) { log.emplace_back(line); });
  }
  // Runs the loop until `done` or `timeout`; false on timeout.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop.run_for(10ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }
  std::string log_text() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }

  IoLoop loop;
  MarketRegistry registry;
  std::vector<Trade> trades;
  std::vector<FeedStatusKind> statuses;
  std::vector<std::string> log;
  std::unique_ptr<LiveFeed> feed;
};

LiveFeedConfig local_config(const WsTestServer& server, Venue venue, std::vector<std::string> symbols) {
  LiveFeedConfig c;
  c.venue = venue;
  c.symbols = std::move(symbols);
  c.host = "127.0.0.1";
  c.port = server.port();
  c.ca_file = server.ca_file();
  c.connect_timeout = 2s;
  c.handshake_timeout = 2s;
  c.stale_after = 5s;
  c.backoff_initial = 20ms;
  c.backoff_max = 200ms;
  c.jitter_seed = 42;
  return c;
}

// Every spot trade exactly once, in id order, with no gap.
void expect_all_spot_trades(const Harness& h) {
  ASSERT_EQ(h.trades.size(), kSpotTrades);
  EXPECT_EQ(h.trades.front().trade_id, kSpotFirstId);
  EXPECT_EQ(h.trades.back().trade_id, kSpotLastId);
  for (std::size_t i = 1; i < h.trades.size(); ++i)
    ASSERT_EQ(h.trades[i].trade_id, h.trades[i - 1].trade_id + 1) << "at " << i;
  EXPECT_EQ(h.registry.info(h.trades.front().market).name, "BINANCE:btcusdt");
}

TEST(LiveFeed, PlansFollowEachVenue) {
  LiveFeedConfig c;
  c.venue = Venue::kBinanceSpot;
  c.symbols = {"BTCUSDT", "ethusdt"};
  c.channels = {"trade", "bookTicker"};
  LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "stream.binance.com");
  EXPECT_EQ(p.port, 9443);
  EXPECT_EQ(p.target, "/stream?streams=btcusdt@trade/btcusdt@bookTicker/ethusdt@trade/ethusdt@bookTicker");
  EXPECT_TRUE(p.subscribe.empty());

  c = {};
  c.venue = Venue::kBinanceCoinm;
  c.symbols = {"btcusd_perp"};
  p = plan_for(c);
  EXPECT_EQ(p.host, "dstream.binance.com");
  // Liquidations are on by default wherever the venue publishes them.
  EXPECT_EQ(p.target, "/stream?streams=btcusd_perp@trade/btcusd_perp@forceOrder");
  EXPECT_EQ(p.parser_name, "BINANCE_FUTURES");
  c.liquidations = false;
  EXPECT_EQ(plan_for(c).target, "/stream?streams=btcusd_perp@trade");
  c.venue = Venue::kBinanceSpot;  // spot has no liquidation stream
  c.liquidations = true;
  EXPECT_EQ(plan_for(c).target, "/stream?streams=btcusd_perp@trade");

  c = {};
  c.venue = Venue::kBybitLinear;
  c.symbols = {"BTCUSDT"};
  c.channels = {"publicTrade", "allLiquidation"};
  p = plan_for(c);
  EXPECT_EQ(p.target, "/v5/public/linear");
  ASSERT_EQ(p.subscribe.size(), 1u);
  EXPECT_EQ(p.subscribe[0], R"({"op":"subscribe","args":["publicTrade.BTCUSDT","allLiquidation.BTCUSDT"]})");
  EXPECT_EQ(p.ping_text, R"({"op":"ping"})");
  EXPECT_EQ(p.ping_interval, 20s);

  c = {};
  c.venue = Venue::kBybitInverse;
  c.symbols = {"BTCUSD"};
  EXPECT_EQ(plan_for(c).subscribe.at(0), R"({"op":"subscribe","args":["publicTrade.BTCUSD","allLiquidation.BTCUSD"]})");
  c.venue = Venue::kBybitSpot;
  EXPECT_EQ(plan_for(c).subscribe.at(0), R"({"op":"subscribe","args":["publicTrade.BTCUSD"]})");

  c = {};
  c.venue = Venue::kOkx;
  c.symbols = {"BTC-USDT-SWAP"};
  p = plan_for(c);
  EXPECT_EQ(p.host, "ws.okx.com");
  EXPECT_EQ(p.port, 8443);
  // liquidation-orders is keyed by instType, not instId.
  EXPECT_EQ(p.subscribe.at(0), R"({"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT-SWAP"},)"
                               R"({"channel":"liquidation-orders","instType":"SWAP"}]})");
  c.symbols = {"BTC-USDT", "BTC-USDT-SWAP", "ETH-USDT-SWAP", "BTC-USD-240927"};
  EXPECT_EQ(
      plan_for(c).subscribe.at(0),
      R"({"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},)"
      R"({"channel":"trades","instId":"BTC-USDT-SWAP"},{"channel":"trades","instId":"ETH-USDT-SWAP"},)"
      R"({"channel":"trades","instId":"BTC-USD-240927"},)"
      R"({"channel":"liquidation-orders","instType":"SWAP"},{"channel":"liquidation-orders","instType":"FUTURES"}]})");
  c.symbols = {"BTC-USDT"};  // spot only: no liquidation stream to ask for
  EXPECT_EQ(plan_for(c).subscribe.at(0), R"({"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"}]})");
  c.symbols = {"BTC-USDT-SWAP"};
  c.liquidations = false;
  p = plan_for(c);
  EXPECT_EQ(p.subscribe.at(0), R"({"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT-SWAP"}]})");
  EXPECT_EQ(p.ping_text, "ping");
  EXPECT_EQ(p.ping_interval, 25s);

  c = {};
  c.venue = Venue::kCoinbase;
  c.symbols = {"BTC-USD", "ETH-USD"};
  p = plan_for(c);
  EXPECT_EQ(p.subscribe.at(0),
            R"({"type":"subscribe","channels":[{"name":"matches","product_ids":["BTC-USD","ETH-USD"]}]})");
}

TEST(LiveFeed, BackoffIsCappedFullJitter) {
  IoLoop loop;
  MarketRegistry registry;
  LiveFeedConfig c;
  c.symbols = {"btcusdt"};
  c.backoff_initial = 100ms;
  c.backoff_max = 1000ms;
  c.jitter_seed = 7;
  LiveFeed feed(loop, registry, c, {});
  std::chrono::milliseconds max_seen{0};
  for (int i = 0; i < 200; ++i) {
    EXPECT_LE(feed.next_backoff(0), 100ms);
    EXPECT_LE(feed.next_backoff(3), 800ms);
    const auto d = feed.next_backoff(30);  // 2^30 * 100 ms, capped
    EXPECT_LE(d, 1000ms);
    max_seen = std::max(max_seen, d);
  }
  EXPECT_GT(max_seen, 800ms);  // the cap is reached, not just the first steps
}

TEST(LiveFeed, BinanceSpotDeliversEveryTradeOfTheCapture) {
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames()});
  Harness h(local_config(server, Venue::kBinanceSpot, {"btcusdt"}));
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.trades.size() >= kSpotTrades; })) << h.log_text();
  h.run_for(50ms);  // nothing more arrives
  expect_all_spot_trades(h);
  const auto& c = h.feed->counters();
  EXPECT_EQ(c.frames.load(), kSpotTrades);
  EXPECT_EQ(c.trades.load(), kSpotTrades);
  EXPECT_EQ(c.connects.load(), 1u);
  EXPECT_EQ(c.disconnects.load(), 0u);
  EXPECT_EQ(h.feed->parse_stats().total_errors(), 0u);
  EXPECT_EQ(server.targets(), std::vector<std::string>{"/stream?streams=btcusdt@trade"});
  EXPECT_GT(h.feed->last_trade_receive_ns(h.trades.back().market), 0);
  ASSERT_FALSE(h.statuses.empty());
  EXPECT_EQ(h.statuses.front(), FeedStatusKind::kConnected);
  h.feed->stop();
  h.run_for(20ms);
  EXPECT_EQ(h.feed->counters().disconnects.load(), 0u) << "stop() is not a disconnect";
}

TEST(LiveFeed, DropMidStreamReconnectsResubscribesAndDeduplicates) {
  // The server cuts the TCP stream after 3000 frames and, on the reconnect,
  // resends the last 50 it wrote: the overlap must not be counted twice.
  WsTestServer server(
      {.protocol = WsProtocol::kBinance, .frames = spot_frames(), .drop_after = 3000, .resume_overlap = 50});
  Harness h(local_config(server, Venue::kBinanceSpot, {"btcusdt"}));
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.trades.size() >= kSpotTrades; })) << h.log_text();
  h.run_for(50ms);
  expect_all_spot_trades(h);
  const auto& c = h.feed->counters();
  EXPECT_EQ(c.disconnects.load(), 1u);
  EXPECT_EQ(c.reason(WsCloseReason::kEndOfStream), 1u) << h.feed->last_disconnect();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.duplicates.load(), 50u);
  EXPECT_EQ(c.frames.load(), kSpotTrades + 50);
  EXPECT_EQ(server.connections(), 2u);
  // Resubscribed: the second connection asked for the same streams.
  EXPECT_EQ(server.targets(),
            (std::vector<std::string>{"/stream?streams=btcusdt@trade", "/stream?streams=btcusdt@trade"}));
  EXPECT_NE(h.log_text().find("reconnected"), std::string::npos) << h.log_text();
  EXPECT_NE(std::find(h.statuses.begin(), h.statuses.end(), FeedStatusKind::kDisconnected), h.statuses.end());
}

TEST(LiveFeed, WithoutDeduplicationTheOverlapIsDeliveredTwice) {
  WsTestServer server(
      {.protocol = WsProtocol::kBinance, .frames = spot_frames(), .drop_after = 3000, .resume_overlap = 50});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.deduplicate = false;
  config.connection = 7;
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.trades.size() >= kSpotTrades + 50; })) << h.log_text();
  h.run_for(50ms);
  EXPECT_EQ(h.trades.size(), kSpotTrades + 50);
  EXPECT_EQ(h.feed->counters().duplicates.load(), 0u);
  EXPECT_EQ(h.trades[3000].trade_id, kSpotFirstId + 2950);  // the resent overlap
}

TEST(LiveFeed, StallPastTheStaleThresholdReconnects) {
  WsTestServer server(
      {.protocol = WsProtocol::kBinance, .frames = spot_frames(), .stall_after = 2000, .stall_for = 1500ms});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.stale_after = 300ms;
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.trades.size() >= kSpotTrades; })) << h.log_text();
  expect_all_spot_trades(h);
  const auto& c = h.feed->counters();
  EXPECT_EQ(c.disconnects.load(), 1u);
  EXPECT_EQ(c.reason(WsCloseReason::kStale), 1u) << h.feed->last_disconnect();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_NE(std::find(h.statuses.begin(), h.statuses.end(), FeedStatusKind::kStale), h.statuses.end());
}

TEST(LiveFeed, GarbageAndOversizedFramesAreCountedAndTheConnectionSurvives) {
  // Oversized for the parser (64 KiB) but under the client's message limit:
  // counted as kOversize, not parsed, connection kept.
  WsTestServer server(
      {.protocol = WsProtocol::kBinance,
       .frames = spot_frames(),
       .injections = {{.before_frame = 100, .payload = "garbage{{{ not json"},
                      {.before_frame = 200, .payload = std::string(100 * 1024, '[')},
                      {.before_frame = 300, .payload = R"({"stream":"btcusdt@trade","data":{"e":"trade"}})"}}});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.parser_options.max_frame_bytes = 64 * 1024;
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.trades.size() >= kSpotTrades; })) << h.log_text();
  h.run_for(50ms);
  expect_all_spot_trades(h);
  const ParseStats& stats = h.feed->parse_stats();
  EXPECT_EQ(stats.frames, kSpotTrades + 3);
  EXPECT_EQ(stats.total_errors(), 3u);
  EXPECT_EQ(stats[ParseError::kOversize], 1u);
  EXPECT_EQ(h.feed->counters().disconnects.load(), 0u);
  EXPECT_EQ(server.connections(), 1u);
}

TEST(LiveFeed, FrameAboveTheClientLimitDisconnectsAndRecovers) {
  // Above max_message_bytes Beast refuses to buffer the message: the
  // connection ends (kMessageTooBig) and LiveFeed reconnects.
  WsTestServer server(
      {.protocol = WsProtocol::kBinance,
       .frames = spot_frames(),
       .injections = {{.before_frame = 500, .payload = std::string(2 << 20, 'x'), .end_connection = true}}});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.max_message_bytes = 1 << 20;
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.trades.size() >= kSpotTrades; })) << h.log_text();
  expect_all_spot_trades(h);
  EXPECT_EQ(h.feed->counters().disconnects.load(), 1u);
  EXPECT_EQ(h.feed->counters().reason(WsCloseReason::kMessageTooBig), 1u) << h.feed->last_disconnect();
  EXPECT_EQ(h.feed->counters().reconnects.load(), 1u);
}

TEST(LiveFeed, RefusedTlsHandshakeBacksOffWithoutHanging) {
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames(), .refuse_tls = true});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.backoff_initial = 20ms;
  config.backoff_max = 160ms;
  Harness h(config);
  h.feed->start();
  const auto t0 = std::chrono::steady_clock::now();
  h.run_for(1500ms);
  const auto& c = h.feed->counters();
  EXPECT_GE(c.disconnects.load(), 3u) << h.log_text();
  EXPECT_EQ(c.reason(WsCloseReason::kTlsHandshake), c.disconnects.load()) << h.log_text();
  EXPECT_EQ(c.connects.load(), 0u);
  EXPECT_TRUE(h.trades.empty());
  // Backoff: average gap >= ~ half the cap once it is reached, so far fewer
  // attempts than 1.5 s of back-to-back handshakes would give.
  EXPECT_LT(c.disconnects.load(), 60u);
  EXPECT_NE(h.feed->last_disconnect().find("tls handshake"), std::string::npos) << h.feed->last_disconnect();
  h.feed->stop();
  h.run_for(20ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_FALSE(h.feed->connected());
}

TEST(LiveFeed, SilentServerHitsTheHandshakeTimeout) {
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames(), .silent_tls = true});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.handshake_timeout = 200ms;
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.feed->counters().disconnects.load() >= 2; }, 10s)) << h.log_text();
  EXPECT_EQ(h.feed->counters().reason(WsCloseReason::kHandshakeTimeout), h.feed->counters().disconnects.load())
      << h.log_text();
  EXPECT_EQ(h.feed->counters().connects.load(), 0u);
  h.feed->stop();
}

TEST(LiveFeed, ConnectionRefusedIsCountedAndRetried) {
  std::uint16_t port = 0;
  {
    WsTestServer gone({.protocol = WsProtocol::kBinance, .frames = {}});
    port = gone.port();
  }  // closed: nothing listens on `port` now
  LiveFeedConfig config;
  config.symbols = {"btcusdt"};
  config.host = "127.0.0.1";
  config.port = port;
  config.backoff_initial = 10ms;
  config.backoff_max = 50ms;
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.feed->counters().disconnects.load() >= 3; }, 10s)) << h.log_text();
  EXPECT_EQ(h.feed->counters().reason(WsCloseReason::kConnect), h.feed->counters().disconnects.load());
  EXPECT_NE(h.feed->last_disconnect().find("refused"), std::string::npos) << h.feed->last_disconnect();
  EXPECT_NE(h.log_text().find("reconnecting in"), std::string::npos);
  h.feed->stop();
}

TEST(LiveFeed, UntrustedCertificateFailsCleanly) {
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames()});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.ca_file.clear();  // the system store does not know the test's self-signed certificate
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.feed->counters().disconnects.load() >= 2; }, 10s)) << h.log_text();
  EXPECT_EQ(h.feed->counters().reason(WsCloseReason::kTlsHandshake), h.feed->counters().disconnects.load());
  EXPECT_NE(h.feed->last_disconnect().find("certificate verify failed"), std::string::npos)
      << h.feed->last_disconnect();
  EXPECT_EQ(h.feed->counters().connects.load(), 0u);
  EXPECT_TRUE(h.trades.empty());
  h.feed->stop();
}

TEST(LiveFeed, CertificateForAnotherHostIsRejected) {
  // Trusted CA, wrong name: the client connects to "localhost", the
  // certificate names only IP:127.0.0.1.
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_frames()});
  LiveFeedConfig config = local_config(server, Venue::kBinanceSpot, {"btcusdt"});
  config.host = "localhost";
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.feed->counters().disconnects.load() >= 1; }, 10s)) << h.log_text();
  EXPECT_EQ(h.feed->counters().reason(WsCloseReason::kTlsHandshake), h.feed->counters().disconnects.load())
      << h.feed->last_disconnect();
  EXPECT_EQ(h.feed->counters().connects.load(), 0u);
  h.feed->stop();
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

TEST(LiveFeed, BybitSubscribesAndPingsKeepTheConnectionFresh) {
  const auto frames = bybit_v5_frames(500);
  WsTestServer server({.protocol = WsProtocol::kBybit, .frames = frames});
  LiveFeedConfig config = local_config(server, Venue::kBybitLinear, {"BTCUSDT"});
  config.ping_interval = 50ms;
  config.stale_after = 300ms;  // only the pongs keep it alive once the replay is over
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.trades.size() >= 500; })) << h.log_text();
  h.run_for(1000ms);
  EXPECT_EQ(h.trades.size(), 500u);
  ASSERT_FALSE(server.received().empty());
  EXPECT_EQ(server.received().front(), R"({"op":"subscribe","args":["publicTrade.BTCUSDT","allLiquidation.BTCUSDT"]})");
  EXPECT_EQ(server.targets().front(), "/v5/public/linear");
  EXPECT_GE(server.pings_answered(), 5u);
  EXPECT_EQ(h.feed->counters().disconnects.load(), 0u) << h.feed->last_disconnect();
  EXPECT_EQ(h.feed->parse_stats().total_errors(), 0u);
  EXPECT_GE(h.feed->parse_stats()[SkipKind::kControl], 5u);  // the ack and the pongs
  EXPECT_EQ(h.registry.info(h.trades.front().market).name, "BYBIT:BTCUSDT");
}

TEST(LiveFeed, OkxSubscribesAndAnswersTextPings) {
  const auto frames = testing::capture_text_frames("cryptofeed/OKX.ws.1.0.gz");
  const std::uint64_t expected = direct_trades("OKX", frames);
  ASSERT_GT(expected, 0u);
  WsTestServer server({.protocol = WsProtocol::kOkx, .frames = frames});
  LiveFeedConfig config = local_config(server, Venue::kOkx, {"BTC-USDT-SWAP"});
  config.ping_interval = 50ms;
  config.stale_after = 300ms;
  Harness h(config);
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.feed->counters().frames.load() >= frames.size(); })) << h.log_text();
  h.run_for(600ms);
  // Trades on the capture's other instruments are not subscribed: unconfigured.
  EXPECT_EQ(
      h.feed->counters().trades.load() + h.feed->counters().duplicates.load() + h.feed->counters().unconfigured.load(),
      expected);
  EXPECT_EQ(h.trades.size(), h.feed->counters().trades.load());
  EXPECT_EQ(server.received().front(), R"({"op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT-SWAP"},)"
                                       R"({"channel":"liquidation-orders","instType":"SWAP"}]})");
  EXPECT_EQ(server.targets().front(), "/ws/v5/public");
  EXPECT_GE(server.pings_answered(), 3u);
  EXPECT_EQ(h.feed->counters().disconnects.load(), 0u) << h.feed->last_disconnect();
}

TEST(LiveFeed, CoinbaseSubscribesAndDeliversMatches) {
  const auto frames = testing::capture_text_frames("cryptofeed/COINBASE.ws.28.0.gz");
  const std::uint64_t expected = direct_trades("COINBASE", frames);
  ASSERT_GT(expected, 0u);
  WsTestServer server({.protocol = WsProtocol::kCoinbase, .frames = frames});
  Harness h(local_config(server, Venue::kCoinbase, {"BTC-USD"}));
  h.feed->start();
  ASSERT_TRUE(h.run_until([&] { return h.feed->counters().frames.load() >= frames.size() + 1; })) << h.log_text();
  // Trades on the capture's other instruments are not subscribed: unconfigured.
  EXPECT_EQ(
      h.feed->counters().trades.load() + h.feed->counters().duplicates.load() + h.feed->counters().unconfigured.load(),
      expected);
  EXPECT_EQ(server.received().front(),
            R"({"type":"subscribe","channels":[{"name":"matches","product_ids":["BTC-USD"]}]})");
  EXPECT_EQ(h.feed->counters().disconnects.load(), 0u) << h.feed->last_disconnect();
}

}  // namespace
}  // namespace tickflow
