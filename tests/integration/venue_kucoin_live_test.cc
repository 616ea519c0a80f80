// tests/integration/venue_kucoin_live_test.cc
//
// The KuCoin live feed (feeds/venues/kucoin.cc + feeds/kucoin_parser.cc)
// against a local REST server playing bullet-public and the local TLS
// websocket server playing the endpoint it names, replaying the real spot
// capture (tests/data/cryptofeed/KUCOIN.ws.1.0.gz: 85 frames after its acks,
// 18 trades on 3 symbols). Checked: the bootstrap POST before every
// connection, each connection using the token of its own bootstrap and the
// pingInterval the REST reply gives; the exact subscribe message, each
// acknowledged; client pings answered with pongs the parser skips (KuCoin
// sends no server pings); after a drop, a reconnect that bootstraps and
// subscribes again, and the resent overlap de-duplicated by sequence: every
// trade exactly once. A failed bootstrap is counted and retried.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/live_feed.h"
#include "tests/integration/rest_test_server.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::RestReply;
using testing::RestTestServer;
using testing::WsServerBehavior;
using testing::WsTestServer;
using testing::WsVenueScript;

// The capture's received frames without its acks (the server answers the
// subscription itself); frame 0 is the welcome.
std::vector<std::string> capture_frames() {
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/KUCOIN.ws.1.0.gz");
  CaptureRecord record;
  std::vector<std::string> frames;
  while (reader.next(record))
    if (std::string_view(record.frame).find(R"("type":"ack")") == std::string_view::npos)
      frames.emplace_back(record.frame);
  return frames;
}

bool is_ping(const std::string& message) { return message.find(R"("type":"ping")") != std::string::npos; }
std::string answer(const std::string& message) {
  if (is_ping(message)) return R"({"id":"tickflow","type":"pong"})";
  const auto at = message.find(R"("id":")") + 6;
  return R"({"id":")" + message.substr(at, message.find('"', at) - at) + R"(","type":"ack"})";
}

TEST(VenueKucoinLive, BootstrapsEachConnectionSubscribesPingsAndDeduplicatesTheRealCapture) {
  const std::vector<std::string> frames = capture_frames();
  ASSERT_EQ(frames.size(), 85u);
  // Trades are frames 61..70, 73, 74, 76, 78, 80..83. The first connection
  // ends after 70 frames (9 trades); the second resends the last 5 (65..69).
  WsTestServer ws(WsServerBehavior{
      .frames = frames,
      .drop_after = 70,
      .resume_overlap = 5,
      .script = WsVenueScript{.subscribe_messages = 1, .answer = &answer, .is_ping = &is_ping},
  });
  std::atomic<int> tokens{0};
  RestTestServer rest([&](const std::string&) {
    const int n = ++tokens;
    if (n == 1) return RestReply{503, R"({"code":"503000","msg":"busy"})"};  // the first attempt fails
    return RestReply{200, R"({"code":"200000","data":{"token":"tok)" + std::to_string(n) +
                              R"(+/=","instanceServers":[{"endpoint":"wss://127.0.0.1:)" + std::to_string(ws.port()) +
                              R"(/endpoint","encrypt":true,"protocol":"websocket","pingInterval":150,)"
                              R"("pingTimeout":10000}]}})"};
  });

  LiveFeedConfig config;
  config.venue = Venue::kKucoinSpot;
  config.symbols = {"DAPPT-BTC", "BCHSV-USDT", "FET-BTC"};
  config.bootstrap_url = rest.base_url() + "/api/v1/bullet-public";
  // Where an attempt goes while no bootstrap has succeeded: a closed
  // loopback port (never the real KuCoin).
  config.host = "127.0.0.1";
  config.port = RestTestServer::closed_port();
  config.ca_file = ws.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 5;

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
  while ((trades.size() < 18 || ws.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 18u) << log_text();

  // Three bootstraps: the failed one (its attempt connects nowhere new and
  // fails), then one per connection; each connection carries its token.
  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.bootstrap_failures.load(), 1u) << log_text();
  EXPECT_EQ(rest.targets(), (std::vector<std::string>(tokens.load(), "/api/v1/bullet-public")));
  ASSERT_EQ(ws.targets().size(), 2u) << log_text();
  const int first_token = tokens.load() - 1;
  EXPECT_EQ(ws.targets()[0], "/endpoint?token=tok" + std::to_string(first_token) + "%2B%2F%3D");
  EXPECT_EQ(ws.targets()[1], "/endpoint?token=tok" + std::to_string(first_token + 1) + "%2B%2F%3D");
  const std::string subscribe =
      R"({"id":"1","type":"subscribe","topic":"/market/match:DAPPT-BTC,BCHSV-USDT,FET-BTC","response":true})";
  EXPECT_EQ(ws.received(), (std::vector<std::string>{subscribe, subscribe}));  // pings are not kept
  EXPECT_EQ(ws.connections(), 2u);
  EXPECT_GE(ws.pings_answered(), 2u);  // every 150 ms, the REST reply's pingInterval

  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 18u);
  EXPECT_EQ(c.duplicates.load(), 5u);  // frames 65..69, resent
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 23u);
  EXPECT_EQ(s.total_errors(), 0u);
  // The welcome, 2 acks and at least 2 pongs.
  EXPECT_GE(s[SkipKind::kControl], 1u + 2u + 2u);

  std::vector<std::uint64_t> ids;
  for (const Trade& t : trades) ids.push_back(t.trade_id);
  EXPECT_EQ(ids.front(), 1612701563869u);
  EXPECT_EQ(ids.back(), 1613277185940u);
  EXPECT_EQ(registry.info(trades.front().market).name, "KUCOIN:DAPPT-BTC");
  EXPECT_EQ(registry.info(trades.back().market).name, "KUCOIN:BCHSV-USDT");
  EXPECT_DOUBLE_EQ(trades.front().qty, 81.8814);
  feed.stop();
}

TEST(VenueKucoinLive, FuturesPlanOneExecutionTopicPerSymbol) {
  LiveFeedConfig config;
  config.venue = Venue::kKucoinFutures;
  config.symbols = {"XBTUSDTM", "ETHUSDTM"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.subscribe,
            (std::vector<std::string>{
                R"({"id":"1","type":"subscribe","topic":"/contractMarket/execution:XBTUSDTM","response":true})",
                R"({"id":"2","type":"subscribe","topic":"/contractMarket/execution:ETHUSDTM","response":true})"}));
  EXPECT_EQ(plan.parser_name, "KUCOIN_FUTURES");
  EXPECT_NE(plan.bootstrap, nullptr);
  EXPECT_EQ(plan.subscribe_interval, 110ms);
  EXPECT_EQ(plan.ping_text, R"({"id":"tickflow","type":"ping"})");
  EXPECT_EQ(channels_for(config), (std::vector<std::string>{"execution"}));  // no public liquidations
}

}  // namespace
}  // namespace tickflow
