// tests/integration/venue_dydx_live_test.cc
//
// The dYdX v4 live feed (feeds/venues/dydx.cc + feeds/dydx_parser.cc)
// against the local TLS websocket server playing the indexer: the exact
// subscribe messages (paced 500 ms apart), the "subscribed" reply's trade
// history skipped as a snapshot on every connection, exact trades and
// liquidations from the replayed frames, and after a drop a reconnect that
// subscribes again and delivers every trade exactly once (the history the
// indexer resends comes as a snapshot, which is skipped). The frames are
// hand-written in the indexer's documented shapes (no public v4 capture).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
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

// Trade n of the replay: BTC-USD for even n, ETH-USD for odd; every 7th is
// LIQUIDATED. One trade per channel_data frame.
std::string trade_object(int n, bool liquidated) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                R"({"id":"%s-%04d","side":"%s","size":"0.%02d","price":"%d","type":"%s",)"
                R"("createdAt":"2024-05-01T12:00:%02d.%03dZ","createdAtHeight":"%d"})",
                n % 2 == 0 ? "btc" : "eth", n, n % 3 == 0 ? "SELL" : "BUY", n + 1, n % 2 == 0 ? 64000 + n : 3000 + n,
                liquidated ? "LIQUIDATED" : "LIMIT", n / 10, n * 7 % 1000, 14200000 + n);
  return buf;
}

std::vector<std::string> replay_frames(int count) {
  std::vector<std::string> frames;
  for (int n = 0; n < count; ++n) {
    frames.push_back(R"({"type":"channel_data","connection_id":"c","message_id":)" + std::to_string(n + 2) +
                     R"(,"id":")" + (n % 2 == 0 ? "BTC-USD" : "ETH-USD") +
                     R"(","channel":"v4_trades","version":"2.1.0","contents":{"trades":[)" +
                     trade_object(n, n % 7 == 6) + "]}}");
  }
  return frames;
}

// The indexer's reply to a subscription: the market's recent trades
// (history, the same trades the replay delivered first).
std::string subscribed_reply(const std::string& message) {
  const bool btc = message.find("BTC-USD") != std::string::npos;
  return std::string(R"({"type":"subscribed","connection_id":"c","message_id":1,"channel":"v4_trades","id":")") +
         (btc ? "BTC-USD" : "ETH-USD") + R"(","contents":{"trades":[)" + trade_object(btc ? 2 : 3, false) + "," +
         trade_object(btc ? 0 : 1, false) + "]}}";
}

TEST(VenueDydxLive, SubscribesSkipsHistoryReconnectsAndDeliversEveryTradeOnce) {
  constexpr int kFrames = 40;     // 40 trades: 20 BTC-USD, 20 ETH-USD
  constexpr int kLiquidated = 5;  // n = 6, 13, 20, 27, 34
  constexpr std::size_t kDrop = 17;
  WsTestServer server(WsServerBehavior{
      .frames = replay_frames(kFrames),
      .drop_after = kDrop,
      .script = WsVenueScript{.subscribe_messages = 2, .answer = &subscribed_reply},
  });

  LiveFeedConfig config;
  config.venue = Venue::kDydx;
  config.symbols = {"BTC-USD", "ETH-USD"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 7;

  IoLoop loop;
  MarketRegistry registry;
  std::vector<Trade> trades;
  std::vector<std::string> log;
  LiveFeed feed(
      loop, registry, config,
      [&](const EventBuffer& events) {
        for (const FeedEvent& e : events)
          if (e.type == FeedEventType::kTrade) trades.push_back(e.trade);
      },
      [&](std::string_view line) { log.emplace_back(line); });
  auto log_text = [&] {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  };
  const auto start = std::chrono::steady_clock::now();
  feed.start();
  const auto deadline = start + 30s;
  while (trades.size() < static_cast<std::size_t>(kFrames) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);  // anything extra would arrive now
  ASSERT_EQ(trades.size(), static_cast<std::size_t>(kFrames)) << log_text();

  // Subscribed twice, the same two messages each time.
  const std::string btc = R"({"type":"subscribe","channel":"v4_trades","id":"BTC-USD"})";
  const std::string eth = R"({"type":"subscribe","channel":"v4_trades","id":"ETH-USD"})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{btc, eth, btc, eth}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/v4/ws", "/v4/ws"}));
  EXPECT_EQ(server.connections(), 2u);
  // Paced: two connections, each waiting 500 ms before its second message.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.subscribe_messages.load(), 4u);
  EXPECT_EQ(c.trades.load(), static_cast<std::uint64_t>(kFrames));
  EXPECT_EQ(c.duplicates.load(), 0u);
  EXPECT_EQ(c.gaps.load(), 2u);  // one time gap per market after the reconnect
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s[SkipKind::kSnapshot], 4u);  // the history, on both connections
  EXPECT_EQ(s.liquidations, static_cast<std::uint64_t>(kLiquidated));
  EXPECT_EQ(s.total_errors(), 0u);

  // In replay order, each once; liquidations flagged, sides as sent.
  std::size_t liquidations = 0;
  for (int n = 0; n < kFrames; ++n) {
    const Trade& t = trades[static_cast<std::size_t>(n)];
    EXPECT_EQ(registry.info(t.market).name, n % 2 == 0 ? "DYDX:BTC-USD" : "DYDX:ETH-USD") << n;
    EXPECT_DOUBLE_EQ(t.qty, (n + 1) / 100.0) << n;
    EXPECT_EQ(t.side, n % 3 == 0 ? Side::kSell : Side::kBuy) << n;
    EXPECT_EQ(t.is_liquidation(), n % 7 == 6) << n;
    liquidations += t.is_liquidation() ? 1 : 0;
  }
  EXPECT_EQ(liquidations, static_cast<std::size_t>(kLiquidated));
  feed.stop();
}

}  // namespace
}  // namespace tickflow
