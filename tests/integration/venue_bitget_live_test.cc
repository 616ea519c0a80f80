// tests/integration/venue_bitget_live_test.cc
//
// The Bitget live feed (feeds/venues/bitget.cc + feeds/bitget_parser.cc)
// against the local TLS websocket server playing ws.bitget.com/v2/ws/public.
// No v2 capture exists: the frames are hand-written in the documented v2
// shapes (as tests/data/fixtures/bitget_v2.txt). Checked: the exact
// subscribe messages (12 symbols: two messages of at most 10 args, paced),
// each acknowledged and the subscribe snapshot skipped; client "ping"
// keepalives answered "pong" (Bitget sends no server pings); after a drop,
// a reconnect that subscribes again, and the resent overlap de-duplicated by
// tradeId: every trade exactly once, with a time gap per market.
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

std::string update(const std::string& inst, const std::string& trades) {
  return R"({"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":")" + inst + R"("},"data":[)" +
         trades + R"(],"ts":1695709840000})";
}
std::string trade(std::uint64_t id, const char* price, const char* size, const char* side, std::int64_t ts) {
  return R"({"ts":")" + std::to_string(ts) + R"(","price":")" + price + R"(","size":")" + size + R"(","side":")" +
         side + R"(","tradeId":")" + std::to_string(id) + "\"}";
}

std::vector<std::string> frames() {
  return {
      // 0: the snapshot of recent trades sent on subscribe: history, skipped.
      R"({"action":"snapshot","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[)" +
          trade(100, "26290", "0.1", "buy", 1695709830000) + "," + trade(101, "26291", "0.2", "sell", 1695709830001) +
          R"(],"ts":1695709835000})",
      // 1: a book frame.
      R"({"action":"snapshot","arg":{"instType":"SPOT","channel":"books5","instId":"BTCUSDT"},"data":[{"asks":[],"bids":[]}]})",
      update("BTCUSDT", trade(102, "26293.4", "0.0013", "buy", 1695709835822)),  // 2
      update("ETHUSDT", trade(500, "1590.1", "1", "sell", 1695709835900) + "," +
                            trade(501, "1590.2", "2", "buy", 1695709835901)),  // 3
      R"({"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"BTCUSDT"},"data":[{"lastPr":"1"}]})",  // 4
      update("BTCUSDT", trade(103, "26293.5", "0.5", "sell", 1695709836000)),  // 5
      update("BTCUSDT", trade(104, "26293.6", "0.25", "buy", 1695709836100) + "," +
                            trade(105, "26293.7", "0.75", "buy", 1695709836101)),  // 6
      update("ETHUSDT", trade(502, "1590.3", "3", "sell", 1695709836200)),         // 7
      R"({"action":"update","arg":{"instType":"SPOT","channel":"books5","instId":"ETHUSDT"},"data":[{"asks":[],"bids":[]}]})",  // 8
      update("BTCUSDT", trade(106, "26294", "1.5", "sell", 1695709836300)),  // 9
  };
}

std::string answer(const std::string& message) {
  if (message == "ping") return "pong";
  // One ack per arg, as Bitget sends them; the server sends one message, so
  // the first arg's ack stands for the others.
  const auto at = message.find(R"({"instType")");
  const auto end = message.find('}', at);
  return R"({"event":"subscribe","arg":)" + message.substr(at, end - at + 1) + "}";
}

TEST(VenueBitgetLive, SubscribesPingsReconnectsAndDeduplicates) {
  // The first connection ends after frames 0..6; the second resends 4..6
  // (resume_overlap 3): trades 103, 104 and 105 arrive twice.
  WsTestServer server(WsServerBehavior{
      .frames = frames(),
      .drop_after = 7,
      .resume_overlap = 3,
      .script =
          WsVenueScript{
              .subscribe_messages = 2, .answer = &answer, .is_ping = [](const std::string& m) { return m == "ping"; }},
  });

  LiveFeedConfig config;
  config.venue = Venue::kBitgetSpot;
  config.symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT",
                    "TRXUSDT", "LTCUSDT", "DOTUSDT", "BCHUSDT", "LINKUSDT", "AVAXUSDT"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // the venue's is 30 s: short here so that pings happen
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 16;

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
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((trades.size() < 8 || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 8u) << log_text();

  const LiveFeedPlan plan = plan_for(config);
  ASSERT_EQ(plan.subscribe.size(), 2u);
  EXPECT_EQ(plan.subscribe[1], R"({"op":"subscribe","args":[{"instType":"SPOT","channel":"trade","instId":"LINKUSDT"},)"
                               R"({"instType":"SPOT","channel":"trade","instId":"AVAXUSDT"}]})");
  EXPECT_EQ(server.received(),
            (std::vector<std::string>{plan.subscribe[0], plan.subscribe[1], plan.subscribe[0], plan.subscribe[1]}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/v2/ws/public", "/v2/ws/public"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 8u);
  EXPECT_EQ(c.duplicates.load(), 3u);  // 103, 104, 105 resent
  EXPECT_EQ(c.gaps.load(), 2u);        // a time gap per market after the reconnect
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 11u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 2u);  // the ticker, sent twice
  EXPECT_GE(s[SkipKind::kControl], 4u + 2u);  // 4 acks, and the pongs
  EXPECT_EQ(s.total_errors(), 0u);

  const std::vector<std::uint64_t> ids = {102, 500, 501, 103, 104, 105, 502, 106};
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(trades[i].trade_id, ids[i]) << i;
  EXPECT_EQ(registry.info(trades[0].market).name, "BITGET:BTCUSDT-SPOT");
  EXPECT_EQ(registry.info(trades[1].market).name, "BITGET:ETHUSDT-SPOT");
  EXPECT_DOUBLE_EQ(trades[0].qty, 0.0013);
  EXPECT_EQ(trades[0].side, Side::kBuy);
  EXPECT_EQ(trades[1].side, Side::kSell);
  feed.stop();
}

}  // namespace
}  // namespace tickflow
