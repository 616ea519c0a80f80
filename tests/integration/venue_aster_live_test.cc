// tests/integration/venue_aster_live_test.cc
//
// The Aster live feed (feeds/venues/aster.cc, the Binance parser under the
// id ASTER) against the local TLS websocket server playing
// fstream.asterdex.com, with Binance USD-M-shaped frames (aggTrade and
// forceOrder, hand-written). Asserted: the combined-stream URL on both
// connections (Aster subscribes in the URL: no messages), liquidations on
// by default and flagged, upper-case market names, and after a drop a
// reconnect whose resent overlap is de-duplicated by aggTrade id: every
// trade exactly once. Keepalive is websocket ping frames (answered by the
// websocket layer, not counted by the server).
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

std::string agg_trade(int id, bool buyer_maker) {
  const std::string ms = std::to_string(1723161256000 + id * 10);
  return R"({"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":)" + ms + R"(,"a":)" + std::to_string(id) +
         R"(,"s":"BTCUSDT","p":")" + std::to_string(61800 + id) + R"(","q":"0.00)" + std::to_string(id % 9 + 1) +
         R"(","f":)" + std::to_string(id) + R"(,"l":)" + std::to_string(id) + R"(,"T":)" + ms + R"(,"m":)" +
         (buyer_maker ? "true" : "false") + "}}";
}

TEST(VenueAsterLive, CombinedStreamsLiquidationsReconnectAndDeduplicate) {
  // aggTrade ids 1..40; a forceOrder after id 10 and after id 30.
  std::vector<std::string> frames;
  for (int id = 1; id <= 40; ++id) {
    frames.push_back(agg_trade(id, id % 2 == 0));
    if (id == 10 || id == 30)
      frames.push_back(R"({"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1723161256500,"o":{)"
                       R"("s":"BTCUSDT","S":")" +
                       std::string(id == 10 ? "SELL" : "BUY") +
                       R"(","o":"LIMIT","f":"IOC","q":"0.5","p":"61700","ap":"61750","X":"FILLED","l":"0.5",)"
                       R"("z":"0.5","T":)" +
                       std::to_string(1723161256000 + id * 10 + 5) + "}}}");
  }
  // 42 frames; the first connection ends after 20 (ids 1..19 and one
  // liquidation), the second resends the last 4 (ids 16..19).
  WsTestServer server(WsServerBehavior{
      .frames = frames, .drop_after = 20, .resume_overlap = 4, .script = WsVenueScript{.subscribe_messages = 0}});

  LiveFeedConfig config;
  config.venue = Venue::kAster;
  config.symbols = {"btcusdt"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 11;

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
  while (trades.size() < 42 && std::chrono::steady_clock::now() < deadline) loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 42u) << log;

  const std::string target = "/stream?streams=btcusdt@aggTrade/btcusdt@forceOrder";
  EXPECT_EQ(server.targets(), (std::vector<std::string>{target, target}));
  EXPECT_TRUE(server.received().empty());  // nothing to send after the handshake
  EXPECT_EQ(server.connections(), 2u);
  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 42u);
  EXPECT_EQ(c.duplicates.load(), 4u);  // ids 16..19, resent
  EXPECT_EQ(c.gaps.load(), 0u);        // ids continue: no gap
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 46u);
  EXPECT_EQ(s.liquidations, 2u);
  EXPECT_EQ(s.total_errors(), 0u);

  int next_id = 1, liquidations = 0;
  for (const Trade& t : trades) {
    EXPECT_EQ(registry.info(t.market).name, "ASTER:BTCUSDT");
    if (t.is_liquidation()) {
      EXPECT_EQ(t.side, liquidations == 0 ? Side::kSell : Side::kBuy);
      EXPECT_DOUBLE_EQ(t.price, 61750.0);
      EXPECT_DOUBLE_EQ(t.qty, 0.5);
      EXPECT_EQ(next_id, liquidations == 0 ? 11 : 31);
      ++liquidations;
      continue;
    }
    EXPECT_EQ(t.trade_id, static_cast<std::uint64_t>(next_id));
    EXPECT_EQ(t.side, next_id % 2 == 0 ? Side::kSell : Side::kBuy);
    ++next_id;
  }
  EXPECT_EQ(next_id, 41);
  EXPECT_EQ(liquidations, 2);
  feed.stop();
}

}  // namespace
}  // namespace tickflow
