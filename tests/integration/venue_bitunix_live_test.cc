// tests/integration/venue_bitunix_live_test.cc
//
// The Bitunix live feed (feeds/venues/bitunix.cc + feeds/bitunix_parser.cc)
// against the local TLS websocket server playing fapi.bitunix.com/public/,
// with frames hand-written in the shapes of Bitunix's docs (no capture
// exists). Every connection greets with {"op":"connect"} and, after the
// subscription, a batch of recent trades (history); the client's pings
// {"op":"ping","ping":0} are answered. Asserted: the exact subscribe
// message on both connections, pings answered, the history skipped on each
// connection (kSnapshot twice), and after a drop the live trades exactly
// once: Bitunix trades carry no id, so the server resends nothing.
// Bitunix sends no server pings, so only the client direction is tested.
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

bool is_ping(const std::string& m) { return m.find(R"("op":"ping")") != std::string::npos; }

TEST(VenueBitunixLive, SubscribesPingsSkipsHistoryAndReconnects) {
  // 16 live frames of one trade each, BTCUSDT and ETHUSDT alternating.
  std::vector<std::string> frames;
  for (int k = 0; k < 16; ++k) {
    const char* symbol = k % 2 == 0 ? "BTCUSDT" : "ETHUSDT";
    frames.push_back(R"({"ch":"trade","symbol":")" + std::string(symbol) + R"(","ts":1733312300000,"data":[{"t":)" +
                     std::to_string(1733312300000 + k * 250) + R"(,"p":")" + std::to_string(1000 + k) + R"(","v":"0.)" +
                     std::to_string(k + 1) + R"(","s":")" + (k % 4 == 0 ? "sell" : "buy") + R"("}]})");
  }
  // History for both symbols, sent after each subscription: skipped.
  const std::string history_btc =
      R"({"ch":"trade","symbol":"BTCUSDT","ts":1733312299000,"data":[{"t":"2024-12-04T11:38:10.000Z","p":"999",)"
      R"("v":"1","s":"buy"},{"t":"2024-12-04T11:38:11.000Z","p":"998","v":"2","s":"sell"}]})";
  const std::string history_eth =
      R"({"ch":"trade","symbol":"ETHUSDT","ts":1733312299000,"data":[{"t":"2024-12-04T11:38:12.000Z","p":"99",)"
      R"("v":"3","s":"buy"}]})";
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 7,
      .script = WsVenueScript{.subscribe_messages = 1,
                              .answer = [](const std::string& m) -> std::string {
                                if (is_ping(m)) return R"({"op":"ping","pong":1733312300,"ping":0})";
                                return "";
                              },
                              .is_ping = &is_ping,
                              .greeting = {R"({"op":"connect","data":{"result":true}})", history_btc, history_eth}},
  });

  LiveFeedConfig config;
  config.venue = Venue::kBitunix;
  config.symbols = {"BTCUSDT", "ETHUSDT"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 100ms;  // the venue's is 20 s: short here so that pings happen
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 7;

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
      [&](std::string_view line) { log += std::string(line) + "\n"; });
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((trades.size() < 16 || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 16u) << log;

  const std::string sub =
      R"({"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"trade"},{"symbol":"ETHUSDT","ch":"trade"}]})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{sub, sub}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/public/", "/public/"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 16u);
  EXPECT_EQ(c.duplicates.load(), 0u);
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 16u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 4u);      // both symbols' history, on both connections
  EXPECT_GE(s[SkipKind::kControl], 2u + 2u);  // 2 connects, the pongs
  EXPECT_EQ(s.total_errors(), 0u);
  for (int k = 0; k < 16; ++k) {
    const Trade& t = trades[static_cast<std::size_t>(k)];
    EXPECT_EQ(registry.info(t.market).name, k % 2 == 0 ? "BITUNIX:BTCUSDT" : "BITUNIX:ETHUSDT") << k;
    EXPECT_DOUBLE_EQ(t.price, 1000 + k) << k;
    EXPECT_EQ(t.side, k % 4 == 0 ? Side::kSell : Side::kBuy) << k;
    EXPECT_EQ(t.exchange_ts_ns, (1733312300000 + k * 250) * 1'000'000) << k;
  }
  EXPECT_DOUBLE_EQ(trades[9].qty, 0.10);  // "0.10"
  feed.stop();
}

}  // namespace
}  // namespace tickflow
