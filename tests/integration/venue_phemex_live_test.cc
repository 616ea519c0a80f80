// tests/integration/venue_phemex_live_test.cc
//
// The Phemex live feed (feeds/venues/phemex.cc + feeds/phemex_parser.cc)
// against the local TLS websocket server playing ws.phemex.com with the real
// capture (tests/data/cryptofeed/PHEMEX.ws.1.0.gz: 78 frames after its acks:
// 10 trade snapshots, 25 incremental trade frames, books). The five spot
// symbols are subscribed; the capture's contract trades are not (counted as
// unconfigured). Checked: the exact subscribe messages (trade.subscribe, one
// per symbol), each acknowledged; client server.ping messages answered with
// a pong the parser skips (Phemex sends no server pings); snapshots skipped;
// after the server closes the connection, a reconnect that subscribes again
// and every trade exactly once. Phemex ids are hashes, which LiveFeed does
// not de-duplicate: Phemex resends nothing live (history comes back as a
// skipped snapshot), so the second connection resumes without overlap.
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

std::vector<std::string> capture_frames() {
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/PHEMEX.ws.1.0.gz");
  CaptureRecord record;
  std::vector<std::string> frames;
  while (reader.next(record))
    if (std::string_view(record.frame).find(R"("result":)") == std::string_view::npos)
      frames.emplace_back(record.frame);
  return frames;
}

bool is_ping(const std::string& message) { return message.find("server.ping") != std::string::npos; }
std::string answer(const std::string& message) {
  if (is_ping(message)) return R"({"error":null,"id":0,"result":"pong"})";
  const auto at = message.find(R"("id":)") + 5;
  return R"({"error":null,"id":)" + message.substr(at, message.find(',', at) - at) +
         R"(,"result":{"status":"success"}})";
}

TEST(VenuePhemexLive, SubscribesPingsSkipsSnapshotsAndReconnectsOnTheRealCapture) {
  const std::vector<std::string> frames = capture_frames();
  ASSERT_EQ(frames.size(), 78u);
  // Spot trades are frames 47 and 54, 56, 58, 60..62, 66..72, 74, 76, 77,
  // after 10 snapshots (3..12) and books. LiveFeed does not de-duplicate
  // hashed ids, so no frame may arrive twice, and a reset stream can lose
  // the frames the client had not read yet: the first connection goes
  // silent after 50 frames (the client reads them all) and is closed 300 ms
  // later; the second goes on from frame 50.
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .stall_after = 50,
      .stall_for = 300ms,
      .script = WsVenueScript{.subscribe_messages = 5, .answer = &answer, .is_ping = &is_ping},
  });

  LiveFeedConfig config;
  config.venue = Venue::kPhemex;
  config.symbols = {"sGRTUSDT", "sSUSHIUSDT", "sENJUSDT", "sBCHUSDT", "sLINKUSDT"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // the venue's is 5 s
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
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((trades.size() < 17 || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 17u) << log_text();

  std::vector<std::string> subscribes;
  for (std::size_t i = 0; i < config.symbols.size(); ++i)
    subscribes.push_back(R"({"id":)" + std::to_string(i + 1) + R"(,"method":"trade.subscribe","params":[")" +
                         config.symbols[i] + "\"]}");
  std::vector<std::string> twice = subscribes;
  twice.insert(twice.end(), subscribes.begin(), subscribes.end());
  EXPECT_EQ(server.received(), twice);  // pings are not kept
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/", "/"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 17u);
  EXPECT_EQ(c.duplicates.load(), 0u);
  EXPECT_EQ(c.unconfigured.load(), 8u) << log_text();  // the contract trades, all after the drop
  EXPECT_EQ(c.gaps.load(), 1u);  // a time gap for sSUSHIUSDT, the one market that traded before the drop
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 17u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 10u);
  EXPECT_EQ(s[SkipKind::kUnconfigured], 8u);
  EXPECT_GE(s[SkipKind::kControl], 10u + 2u);  // 10 acks and the pongs
  EXPECT_EQ(s.total_errors(), 0u);

  // The first trade: sSUSHIUSDT [1625342244127840967,"Buy",769100000,168200000].
  EXPECT_EQ(registry.info(trades[0].market).name, "PHEMEX:sSUSHIUSDT");
  EXPECT_DOUBLE_EQ(trades[0].price, 7.691);
  EXPECT_DOUBLE_EQ(trades[0].qty, 1.682);
  EXPECT_EQ(trades[0].flags, kTradeIdHashed);
  EXPECT_EQ(registry.info(trades.back().market).name, "PHEMEX:sLINKUSDT");
  feed.stop();
}

TEST(VenuePhemexLive, PlanPerSymbolMethodPacingAndLimit) {
  LiveFeedConfig config;
  config.venue = Venue::kPhemex;
  config.symbols = {"BTCUSD", "sBTCUSDT", "BTCUSDT"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "ws.phemex.com");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/");
  EXPECT_EQ(plan.subscribe,
            (std::vector<std::string>{R"({"id":1,"method":"trade.subscribe","params":["BTCUSD"]})",
                                      R"({"id":2,"method":"trade.subscribe","params":["sBTCUSDT"]})",
                                      R"({"id":3,"method":"trade_p.subscribe","params":["BTCUSDT"]})"}));
  EXPECT_EQ(plan.subscribe_interval, 100ms);
  EXPECT_EQ(plan.ping_interval, 5s);
  EXPECT_EQ(plan.ping_text, R"({"id":0,"method":"server.ping","params":[]})");
  EXPECT_EQ(channels_for(config), (std::vector<std::string>{"trade"}));  // no public liquidations
  config.symbols.assign(21, "BTCUSD");
  EXPECT_THROW(plan_for(config), std::invalid_argument);  // 20 subscriptions per connection
}

}  // namespace
}  // namespace tickflow
