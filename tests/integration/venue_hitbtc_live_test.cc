// tests/integration/venue_hitbtc_live_test.cc
//
// The HitBTC live feed (feeds/venues/hitbtc.cc + feeds/hitbtc_parser.cc)
// against the local TLS websocket server playing api.hitbtc.com/api/3/ws/public.
// No capture exists: the frames are hand-written in the documented v3
// shapes (as tests/data/fixtures/hitbtc.txt). Checked: the exact subscribe
// message (every symbol, upper-cased, "limit":0), its result; a trade
// snapshot after it (history, skipped on every connection); keepalive by
// websocket pings only (no application message is sent); after a drop, a
// reconnect that subscribes again, the resent overlap de-duplicated by
// trade id: every trade exactly once, a time gap per market.
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

std::string trade(std::uint64_t id, const char* price, const char* qty, const char* side, std::int64_t ms) {
  return R"({"t":)" + std::to_string(ms) + R"(,"i":)" + std::to_string(id) + R"(,"p":")" + price + R"(","q":")" + qty +
         R"(","s":")" + side + "\"}";
}
std::string update(const std::string& symbols) { return R"({"ch":"trades","update":{)" + symbols + "}}"; }

std::vector<std::string> frames() {
  return {
      update(R"("BTCUSDT":[)" + trade(2210339531, "63241.3", "0.015", "buy", 1714567890400) + "," +
             trade(2210339540, "63241.1", "0.2", "sell", 1714567890412) + "]"),  // 0
      R"({"ch":"orderbook/top/1000ms","data":{"BTCUSDT":{"t":1714567890450,"a":"63241.5","A":"0.8","b":"63241.4","B":"1.1"}}})",  // 1
      update(R"("BTCUSDT":[)" + trade(2210339562, "63245", "0.004", "buy", 1714567890600) + R"(],"ETHUSDT":[)" +
             trade(2210339563, "3050.12", "0.5", "sell", 1714567890601) + "]"),  // 2
      update(R"("ETHUSDT":[)" + trade(2210339580, "3050.15", "2.75", "buy", 1714567890700) + "," +
             trade(2210339581, "3050.1", "0.25", "sell", 1714567890703) + "]"),                    // 3
      R"({"ch":"ticker/1s","data":{"BTCUSDT":{"t":1714567890750,"c":"63245"}}})",                  // 4
      update(R"("BTCUSDT":[)" + trade(2210339590, "63246.5", "0.3", "buy", 1714567890800) + "]"),  // 5
      update(R"("ETHUSDT":[)" + trade(2210339600, "3050.2", "1", "sell", 1714567890900) + "]"),    // 6
  };
}

std::string answer(const std::string&) {
  return R"({"result":{"ch":"trades","subscriptions":["BTCUSDT","ETHUSDT"]},"id":1})";
}

TEST(VenueHitbtcLive, SubscribesSkipsSnapshotsReconnectsAndDeduplicates) {
  // The first connection ends after frames 0..3; the second resends 2 and 3
  // (resume_overlap 2): ids ...562, ...563, ...580, ...581 arrive twice.
  WsTestServer server(WsServerBehavior{
      .frames = frames(),
      .drop_after = 4,
      .resume_overlap = 2,
      .script = WsVenueScript{.subscribe_messages = 1,
                              .answer = &answer,
                              .greeting = {R"({"ch":"trades","snapshot":{"BTCUSDT":[)" +
                                           trade(2210339520, "63230", "0.01", "sell", 1714567890100) + "]}}"}},
  });
  LiveFeedConfig config;
  config.venue = Venue::kHitbtc;
  config.symbols = {"btcusdt", "ETHUSDT"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // websocket pings
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 31;

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
  while (trades.size() < 8 && std::chrono::steady_clock::now() < deadline) loop.run_for(10ms);
  loop.run_for(400ms);  // a few websocket pings go by
  ASSERT_EQ(trades.size(), 8u) << log;

  const std::string subscribe =
      R"({"method":"subscribe","ch":"trades","params":{"symbols":["BTCUSDT","ETHUSDT"],"limit":0},"id":1})";
  EXPECT_EQ(plan_for(config).subscribe, std::vector<std::string>{subscribe});
  EXPECT_EQ(server.received(), (std::vector<std::string>{subscribe, subscribe}));  // nothing else: no app pings
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/api/3/ws/public", "/api/3/ws/public"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_EQ(server.pings_answered(), 0u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 8u);
  EXPECT_EQ(c.duplicates.load(), 4u);  // 562, 563, 580, 581 resent
  EXPECT_EQ(c.gaps.load(), 2u);        // a time gap per market after the reconnect
  EXPECT_EQ(c.replies.load(), 0u);
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 12u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 2u);  // one per connection
  EXPECT_EQ(s[SkipKind::kControl], 2u);   // the subscribe results
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.total_errors(), 0u);

  const std::vector<std::uint64_t> ids = {2210339531, 2210339540, 2210339562, 2210339563,
                                          2210339580, 2210339581, 2210339590, 2210339600};
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(trades[i].trade_id, ids[i]) << i;
  EXPECT_EQ(registry.info(trades[0].market).name, "HITBTC:BTCUSDT");
  EXPECT_EQ(registry.info(trades[3].market).name, "HITBTC:ETHUSDT");
  EXPECT_DOUBLE_EQ(trades[4].qty, 2.75);
  EXPECT_EQ(trades[0].side, Side::kBuy);
  EXPECT_EQ(trades[1].side, Side::kSell);
  feed.stop();
}

}  // namespace
}  // namespace tickflow
