// tests/integration/venue_poloniex_live_test.cc
//
// The Poloniex live feed (feeds/venues/poloniex.cc +
// feeds/poloniex_parser.cc) against the local TLS websocket server playing
// ws.poloniex.com/ws/public with the hand-written fixture
// (tests/data/fixtures/poloniex.txt: no capture exists; 7 frames after its
// acks and pong, 7 trades on BTC_USDT and ETH_USDT). Checked: the exact
// subscribe messages, each acknowledged; client {"event":"ping"} answered
// with {"event":"pong"}, which the parser skips (Poloniex sends no server
// pings); after a drop, a reconnect that subscribes again, and the resent
// overlap de-duplicated by id: every trade exactly once.
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

std::vector<std::string> fixture_frames() {
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/fixtures/poloniex.txt");
  CaptureRecord record;
  std::vector<std::string> frames;
  while (reader.next(record))
    if (std::string_view(record.frame).find(R"("event":)") == std::string_view::npos) frames.emplace_back(record.frame);
  return frames;
}

bool is_ping(const std::string& message) { return message == R"({"event":"ping"})"; }
std::string answer(const std::string& message) {
  if (is_ping(message)) return R"({"event":"pong"})";
  const auto at = message.find(R"("symbols":)");
  return R"({"event":"subscribe","channel":"trades",)" + message.substr(at);
}

TEST(VenuePoloniexLive, SubscribesPingsReconnectsAndDeduplicates) {
  const std::vector<std::string> frames = fixture_frames();
  ASSERT_EQ(frames.size(), 7u);
  // Frames: BTC 1 trade, BTC 2, book, ETH 1, ticker, BTC+ETH, BTC 1. The
  // first connection ends after 4 frames (4 trades); the second resends the
  // book and the ETH frame (1 duplicate trade).
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 4,
      .resume_overlap = 2,
      .script = WsVenueScript{.subscribe_messages = 2, .answer = &answer, .is_ping = &is_ping},
  });

  LiveFeedConfig config;
  config.venue = Venue::kPoloniex;
  config.symbols = {"BTC_USDT", "ETH_USDT"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // the venue's is 20 s
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 11;

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
  while ((trades.size() < 7 || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 7u) << log_text();

  const std::string btc = R"({"event":"subscribe","channel":["trades"],"symbols":["BTC_USDT"]})";
  const std::string eth = R"({"event":"subscribe","channel":["trades"],"symbols":["ETH_USDT"]})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{btc, eth, btc, eth}));  // pings are not kept
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/ws/public", "/ws/public"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 7u);
  EXPECT_EQ(c.duplicates.load(), 1u);  // ETH 80112501, resent
  EXPECT_EQ(c.gaps.load(), 2u);        // both markets traded before the drop: a time gap each
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 8u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_GE(s[SkipKind::kControl], 4u + 2u);  // 4 acks and the pongs
  EXPECT_EQ(s.total_errors(), 0u);

  const std::vector<std::uint64_t> ids = {120447001, 120447002, 120447003, 80112501, 120447004, 80112502, 120447005};
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(trades[i].trade_id, ids[i]) << i;
  EXPECT_EQ(registry.info(trades[0].market).name, "POLONIEX:BTC_USDT");
  EXPECT_EQ(registry.info(trades[3].market).name, "POLONIEX:ETH_USDT");
  EXPECT_DOUBLE_EQ(trades[2].qty, 0.25);
  EXPECT_EQ(trades[2].side, Side::kSell);
  feed.stop();
}

TEST(VenuePoloniexLive, Plan) {
  LiveFeedConfig config;
  config.venue = Venue::kPoloniex;
  config.symbols = {"BTC_USDT"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "ws.poloniex.com");
  EXPECT_EQ(plan.target, "/ws/public");
  EXPECT_EQ(plan.subscribe_interval, 100ms);
  EXPECT_EQ(plan.ping_interval, 20s);
  EXPECT_EQ(plan.ping_text, R"({"event":"ping"})");
  EXPECT_EQ(channels_for(config), (std::vector<std::string>{"trades"}));
  config.channels = {"book"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
