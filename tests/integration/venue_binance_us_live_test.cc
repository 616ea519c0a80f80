// tests/integration/venue_binance_us_live_test.cc
//
// The Binance US live feed (feeds/venues/binance_us.cc, the Binance parser
// under the id BINANCE_US) against the local TLS websocket server playing
// stream.binance.us:9443 with the fixture derived from the Binance spot
// capture (tests/data/fixtures/binance_us.txt: 150 btcusd trades, ids
// 3735683259..3735683408). Asserted: the combined-stream URL on both
// connections (no messages to send, so none to pace), the market
// BINANCE_US:btcusd, and after a drop a reconnect whose resent overlap is
// de-duplicated by trade id: 150 trades exactly once, in id order.
// Keepalive is websocket ping frames (answered by the websocket layer).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/live_feed.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::WsServerBehavior;
using testing::WsTestServer;
using testing::WsVenueScript;

TEST(VenueBinanceUsLive, CombinedStreamReconnectAndDeduplicate) {
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/fixtures/binance_us.txt");
  CaptureRecord record;
  std::vector<std::string> frames;
  while (reader.next(record)) frames.emplace_back(record.frame);
  ASSERT_EQ(frames.size(), 151u);  // the subscribe reply, then 150 trades
  WsTestServer server(WsServerBehavior{
      .frames = frames, .drop_after = 60, .resume_overlap = 15, .script = WsVenueScript{.subscribe_messages = 0}});

  LiveFeedConfig config;
  config.venue = Venue::kBinanceUs;
  config.symbols = {"btcusd"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 13;

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
  while (trades.size() < 150 && std::chrono::steady_clock::now() < deadline) loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 150u) << log;

  EXPECT_EQ(server.targets(),
            (std::vector<std::string>{"/stream?streams=btcusd@trade", "/stream?streams=btcusd@trade"}));
  EXPECT_TRUE(server.received().empty());
  EXPECT_EQ(server.connections(), 2u);
  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 150u);
  EXPECT_EQ(c.duplicates.load(), 15u);  // frames 45..59 resent: 15 trades
  EXPECT_EQ(c.gaps.load(), 0u);
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 165u);
  EXPECT_EQ(s[SkipKind::kControl], 1u);  // {"result":null,"id":1}
  EXPECT_EQ(s.total_errors(), 0u);
  for (std::size_t i = 0; i < trades.size(); ++i) {
    EXPECT_EQ(trades[i].trade_id, 3735683259u + i) << i;
    EXPECT_EQ(registry.info(trades[i].market).name, "BINANCE_US:btcusd");
  }
  feed.stop();
}

}  // namespace
}  // namespace tickflow
