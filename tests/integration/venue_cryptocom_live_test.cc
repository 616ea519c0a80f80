// tests/integration/venue_cryptocom_live_test.cc
//
// The Crypto.com live feed (feeds/venues/cryptocom.cc +
// feeds/cryptocom_parser.cc) against the local TLS websocket server playing
// stream.crypto.com/exchange/v1/market. No capture exists: the frames are
// hand-written in the documented v1 shapes (as tests/data/fixtures/cryptocom.txt).
// Checked: the exact subscribe message; its reply carrying recent trades
// (skipped as a snapshot on every connection); the server's
// public/heartbeat answered with the exact public/respond-heartbeat and its
// id (websocket pings go the other way); after a drop, a reconnect that
// subscribes again and a time gap per market; every trade exactly once
// (Crypto.com resends nothing live on a reconnect).
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

std::string trade(std::uint64_t id, const char* price, const char* qty, const char* side, std::int64_t ms,
                  const char* instrument) {
  return R"({"d":")" + std::to_string(id) + R"(","t":)" + std::to_string(ms) + R"(,"q":")" + qty + R"(","p":")" +
         price + R"(","s":")" + side + R"(","i":")" + instrument + "\"}";
}
std::string push(std::int64_t id, const char* instrument, const std::string& trades) {
  return R"({"id":)" + std::to_string(id) + R"(,"method":"subscribe","code":0,"result":{"instrument_name":")" +
         instrument + R"(","subscription":"trade.)" + instrument + R"(","channel":"trade","data":[)" + trades + "]}}";
}

std::vector<std::string> frames() {
  return {
      push(-1, "BTC_USDT",
           trade(100, "63241.3", "0.015", "BUY", 1714567890400, "BTC_USDT") + "," +
               trade(101, "63241.1", "0.2", "SELL", 1714567890412, "BTC_USDT")),  // 0
      R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT","subscription":"book.BTC_USDT.10",)"
      R"("channel":"book","depth":10,"data":[{"asks":[],"bids":[],"t":1714567890450}]}})",            // 1
      push(-1, "BTCUSD-PERP", trade(900, "63260.5", "0.125", "SELL", 1714567890500, "BTCUSD-PERP")),  // 2
      push(-1, "BTC_USDT", trade(102, "63245", "0.004", "BUY", 1714567890600, "BTC_USDT")),           // 3
      push(-1, "BTC_USDT",
           trade(103, "63244", "1.5", "SELL", 1714567890700, "BTC_USDT") + "," +
               trade(104, "63246.5", "0.3", "BUY", 1714567890701, "BTC_USDT")),                  // 4
      push(-1, "BTCUSD-PERP", trade(901, "63262", "0.5", "BUY", 1714567890800, "BTCUSD-PERP")),  // 5
      push(-1, "BTC_USDT", trade(105, "63247", "0.05", "SELL", 1714567890900, "BTC_USDT")),      // 6
  };
}

constexpr const char* kHeartbeat = R"({"id":1714567890590,"method":"public/heartbeat","code":0})";
constexpr const char* kHeartbeatReply = R"({"id":1714567890590,"method":"public/respond-heartbeat"})";

// The subscribe request is answered with its id and the recent trades.
std::string answer(const std::string& message) {
  if (message.find("respond-heartbeat") != std::string::npos) return "";
  return push(1, "BTC_USDT",
              trade(98, "63230", "0.01", "SELL", 1714567890100, "BTC_USDT") + "," +
                  trade(99, "63231", "0.02", "BUY", 1714567890050, "BTC_USDT"));
}

TEST(VenueCryptoComLive, SubscribesAnswersHeartbeatsAndReconnects) {
  // The first connection ends after frames 0..3; the second sends 4..6.
  WsTestServer server(WsServerBehavior{
      .frames = frames(),
      .drop_after = 4,
      .script = WsVenueScript{.subscribe_messages = 1,
                              .answer = &answer,
                              // Only the exact answer counts: any other text lands in received().
                              .is_ping = [](const std::string& m) { return m == kHeartbeatReply; },
                              .greeting = {kHeartbeat}},
  });
  LiveFeedConfig config;
  config.venue = Venue::kCryptoCom;
  config.symbols = {"BTC_USDT", "btcusd-perp"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // websocket pings
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 28;

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
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((trades.size() < 8 || server.pings_answered() < 1) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 8u) << log;

  const std::string subscribe =
      R"({"id":1,"method":"subscribe","params":{"channels":["trade.BTC_USDT","trade.BTCUSD-PERP"]}})";
  EXPECT_EQ(plan_for(config).subscribe, std::vector<std::string>{subscribe});
  // The heartbeat answers are not in received(): they matched kHeartbeatReply exactly.
  EXPECT_EQ(server.received(), (std::vector<std::string>{subscribe, subscribe}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/exchange/v1/market", "/exchange/v1/market"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 1u);  // the first connection's answer may arrive after its drop

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.replies.load(), 2u);  // one heartbeat per connection, each answered
  EXPECT_EQ(c.trades.load(), 8u);
  EXPECT_EQ(c.duplicates.load(), 0u);
  EXPECT_EQ(c.gaps.load(), 2u);  // a time gap per market after the reconnect
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 8u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 2u);  // the subscribe reply's recent trades, per connection
  EXPECT_EQ(s[SkipKind::kControl], 2u);   // the heartbeats
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_EQ(s.total_errors(), 0u);

  const std::vector<std::uint64_t> ids = {100, 101, 900, 102, 103, 104, 901, 105};
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(trades[i].trade_id, ids[i]) << i;
  EXPECT_EQ(registry.info(trades[0].market).name, "CRYPTOCOM:BTC_USDT");
  EXPECT_EQ(registry.info(trades[2].market).name, "CRYPTOCOM:BTCUSD-PERP");
  EXPECT_DOUBLE_EQ(trades[2].qty, 0.125);
  EXPECT_EQ(trades[0].side, Side::kBuy);
  EXPECT_EQ(trades[1].side, Side::kSell);
  feed.stop();
}

}  // namespace
}  // namespace tickflow
