// tests/integration/venue_mexc_live_test.cc
//
// The MEXC live feeds (feeds/venues/mexc.cc + feeds/mexc_parser.cc) against
// the local TLS websocket server playing wbs-api.mexc.com/ws (spot) and
// contract.mexc.com/edge (futures). No capture exists: the frames are
// hand-written in the documented shapes (spot deals as protobuf binary
// frames, encoded here as tests/tools/mexc_spot_fixture.py does). Checked:
// the exact subscribe messages (one per symbol, upper-cased, paced),
// acknowledged; the client pings ({"method":"PING"} / {"method":"ping"})
// answered (MEXC sends no server pings); after a drop, a reconnect that
// subscribes again. Spot: the resent overlap de-duplicated by numeric
// tradeId, every trade exactly once. Futures deals carry no id (hashed,
// never de-duplicated): nothing is resent, every trade exactly once. A time
// gap per market after each reconnect.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "feeds/live_feed.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::WsServerBehavior;
using testing::WsTestServer;
using testing::WsVenueScript;

// --- protobuf, for the spot frames --------------------------------------------
std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string len(std::uint32_t number, const std::string& body) {
  return varint(std::uint64_t{number} << 3 | 2) + varint(body.size()) + body;
}
std::string num(std::uint32_t number, std::uint64_t v) { return varint(std::uint64_t{number} << 3) + varint(v); }
std::string deal(const char* price, const char* qty, int side, std::uint64_t ms, std::uint64_t id) {
  return len(1, len(1, price) + len(2, qty) + num(3, static_cast<std::uint64_t>(side)) + num(4, ms) +
                    len(5, std::to_string(id)));
}
std::string deals(const std::string& symbol, const std::string& items) {
  return len(1, "spot@public.aggre.deals.v3.api.pb@100ms@" + symbol) + len(3, symbol) + num(6, 1714567890999) +
         len(314, items + len(2, "spot@public.aggre.deals.v3.api.pb@100ms"));
}

std::vector<std::string> spot_frames() {
  return {
      deals("BTCUSDT",
            deal("63241.3", "0.015", 1, 1714567890400, 1001) + deal("63241.1", "0.2", 2, 1714567890412, 1002)),  // 0
      len(1, "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT") + len(3, "BTCUSDT") +
          len(313, len(1, len(1, "63241.5") + len(2, "0.8"))),           // 1: book
      deals("ETHUSDT", deal("3050.12", "0.5", 2, 1714567890500, 5001)),  // 2
      deals("BTCUSDT", deal("63240", "1.25", 2, 1714567890600, 1003)),   // 3
      deals("BTCUSDT",
            deal("63245", "0.004", 1, 1714567890700, 1004) + deal("63245.5", "0.3", 1, 1714567890701, 1005)),  // 4
      deals("ETHUSDT", deal("3050.15", "2.75", 1, 1714567890800, 5002)),                                       // 5
      deals("BTCUSDT", deal("63246.5", "0.1", 2, 1714567890900, 1006)),                                        // 6
  };
}

std::string spot_answer(const std::string& message) {
  if (message == R"({"method":"PING"})") return R"({"id":0,"code":0,"msg":"PONG"})";
  // {"method":"SUBSCRIPTION","params":["<topic>"]} -> {"id":0,"code":0,"msg":"<topic>"}
  const auto at = message.find("[\"") + 2;
  return R"({"id":0,"code":0,"msg":")" + message.substr(at, message.find('"', at) - at) + "\"}";
}

std::vector<std::string> futures_frames() {
  return {
      R"({"channel":"push.deal","data":[{"M":2,"O":1,"T":1,"p":63241.3,"t":1714567890400,"v":150},)"
      R"({"M":2,"O":2,"T":2,"p":63241.1,"t":1714567890412,"v":2000}],"symbol":"BTC_USDT","ts":1714567890560})",  // 0
      R"({"channel":"push.depth","data":{"asks":[[63241.5,1200,1]],"bids":[],"version":1},"symbol":"BTC_USDT","ts":1})",  // 1
      R"({"channel":"push.deal","data":[{"M":2,"O":1,"T":2,"p":3050.12,"t":1714567890600,"v":75}],"symbol":"ETH_USDT","ts":1})",  // 2
      R"({"channel":"push.deal","data":[{"M":2,"O":1,"T":1,"p":63245,"t":1714567890700,"v":10}],"symbol":"BTC_USDT","ts":1})",  // 3
      R"({"channel":"push.ticker","data":{"lastPrice":63245,"symbol":"BTC_USDT"},"symbol":"BTC_USDT","ts":1})",  // 4
      R"({"channel":"push.deal","data":[{"M":2,"O":2,"T":1,"p":63245.5,"t":1714567890800,"v":33},)"
      R"({"M":2,"O":2,"T":2,"p":63244,"t":1714567890801,"v":4200}],"symbol":"BTC_USDT","ts":1})",  // 5
      R"({"channel":"push.deal","data":[{"M":2,"O":1,"T":1,"p":3050.2,"t":1714567890900,"v":5}],"symbol":"ETH_USDT","ts":1})",  // 6
  };
}

std::string futures_answer(const std::string& message) {
  if (message == R"({"method":"ping"})") return R"({"channel":"pong","data":1714567890790})";
  return R"({"channel":"rs.sub.deal","data":"success","ts":1714567890450})";
}

LiveFeedConfig local(Venue venue, std::vector<std::string> symbols, const WsTestServer& server) {
  LiveFeedConfig config;
  config.venue = venue;
  config.symbols = std::move(symbols);
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // the venue's is 15-20 s: short here so that pings happen
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 26;
  return config;
}

// Runs the feed until `expected` trades arrived and two pings were answered.
void run_until(LiveFeed& feed, IoLoop& loop, std::vector<Trade>& trades, const WsTestServer& server,
               std::size_t expected) {
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((trades.size() < expected || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
}

TEST(VenueMexcLive, SpotProtobufSubscribesPingsReconnectsAndDeduplicates) {
  // The first connection ends after frames 0..4; the second resends 3 and 4
  // (resume_overlap 2): tradeIds 1003, 1004 and 1005 arrive twice.
  WsTestServer server(WsServerBehavior{
      .frames = spot_frames(),
      .drop_after = 5,
      .resume_overlap = 2,
      .script = WsVenueScript{.subscribe_messages = 2,
                              .answer = &spot_answer,
                              .is_ping = [](const std::string& m) { return m == R"({"method":"PING"})"; },
                              .binary_frames = true},
  });
  const LiveFeedConfig config = local(Venue::kMexcSpot, {"btcusdt", "ETHUSDT"}, server);
  IoLoop loop;
  MarketRegistry registry;
  std::vector<Trade> trades;
  std::string log;
  LiveFeed feed(
      loop, registry, config,
      [&](const EventBuffer& events) {
        for (const FeedEvent& e : events)
          if (e.type == FeedEventType::kTrade) trades.push_back(e.trade);
      },
      [&](std::string_view line) { (log += line) += "\n"; });
  run_until(feed, loop, trades, server, 8);
  ASSERT_EQ(trades.size(), 8u) << log;

  const std::vector<std::string> subscribe = {
      R"({"method":"SUBSCRIPTION","params":["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"]})",
      R"({"method":"SUBSCRIPTION","params":["spot@public.aggre.deals.v3.api.pb@100ms@ETHUSDT"]})"};
  EXPECT_EQ(plan_for(config).subscribe, subscribe);
  EXPECT_EQ(server.received(), (std::vector<std::string>{subscribe[0], subscribe[1], subscribe[0], subscribe[1]}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/ws", "/ws"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 8u);
  EXPECT_EQ(c.duplicates.load(), 3u);  // 1003, 1004, 1005 resent
  EXPECT_EQ(c.gaps.load(), 2u);        // a time gap per market after the reconnect
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 11u);
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_GE(s[SkipKind::kControl], 4u);  // 4 subscription replies, and the PONGs
  EXPECT_EQ(s.total_errors(), 0u);

  const std::vector<std::uint64_t> ids = {1001, 1002, 5001, 1003, 1004, 1005, 5002, 1006};
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(trades[i].trade_id, ids[i]) << i;
  EXPECT_EQ(registry.info(trades[0].market).name, "MEXC:BTCUSDT");
  EXPECT_EQ(registry.info(trades[2].market).name, "MEXC:ETHUSDT");
  EXPECT_DOUBLE_EQ(trades[0].qty, 0.015);
  EXPECT_EQ(trades[0].side, Side::kBuy);
  EXPECT_EQ(trades[2].side, Side::kSell);
  feed.stop();
}

TEST(VenueMexcLive, FuturesSubscribesPingsReconnects) {
  // The first connection ends after frames 0..3; the second sends 4..6.
  WsTestServer server(WsServerBehavior{
      .frames = futures_frames(),
      .drop_after = 4,
      .script = WsVenueScript{.subscribe_messages = 2,
                              .answer = &futures_answer,
                              .is_ping = [](const std::string& m) { return m == R"({"method":"ping"})"; }},
  });
  const LiveFeedConfig config = local(Venue::kMexcFutures, {"BTC_USDT", "eth_usdt"}, server);
  IoLoop loop;
  MarketRegistry registry;
  std::vector<Trade> trades;
  std::string log;
  LiveFeed feed(
      loop, registry, config,
      [&](const EventBuffer& events) {
        for (const FeedEvent& e : events)
          if (e.type == FeedEventType::kTrade) trades.push_back(e.trade);
      },
      [&](std::string_view line) { (log += line) += "\n"; });
  run_until(feed, loop, trades, server, 7);
  ASSERT_EQ(trades.size(), 7u) << log;

  const std::vector<std::string> subscribe = {R"({"method":"sub.deal","param":{"symbol":"BTC_USDT"}})",
                                              R"({"method":"sub.deal","param":{"symbol":"ETH_USDT"}})"};
  EXPECT_EQ(plan_for(config).subscribe, subscribe);
  EXPECT_EQ(server.received(), (std::vector<std::string>{subscribe[0], subscribe[1], subscribe[0], subscribe[1]}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/edge", "/edge"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 7u);
  EXPECT_EQ(c.duplicates.load(), 0u);
  EXPECT_EQ(c.gaps.load(), 2u);  // a time gap per market after the reconnect
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 7u);
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_GE(s[SkipKind::kControl], 4u);  // 4 rs.sub.deal, and the pongs
  EXPECT_EQ(s.total_errors(), 0u);

  // 150 contracts of 0.0001 BTC, 2000, ETH 75 x 0.01, 10, 33, 4200, 5.
  const std::vector<double> qty = {0.015, 0.2, 0.75, 0.001, 0.0033, 0.42, 0.05};
  for (std::size_t i = 0; i < qty.size(); ++i) EXPECT_DOUBLE_EQ(trades[i].qty, qty[i]) << i;
  EXPECT_EQ(registry.info(trades[0].market).name, "MEXC:BTC_USDT");
  EXPECT_EQ(registry.info(trades[2].market).name, "MEXC:ETH_USDT");
  EXPECT_EQ(trades[0].side, Side::kBuy);
  EXPECT_EQ(trades[1].side, Side::kSell);
  EXPECT_EQ(trades[0].flags, kTradeIdHashed);
  feed.stop();
}

}  // namespace
}  // namespace tickflow
