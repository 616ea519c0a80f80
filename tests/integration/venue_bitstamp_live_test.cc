// tests/integration/venue_bitstamp_live_test.cc
//
// The Bitstamp live feed (feeds/venues/bitstamp.cc +
// feeds/bitstamp_parser.cc) against the local TLS websocket server playing
// ws.bitstamp.net with the real capture (tests/data/cryptofeed/
// BITSTAMP.ws.1.0.gz: 727 frames after its acks, 10 ethusd trades among
// book frames): the exact subscribe messages, each acknowledged; client
// heartbeats {"event":"bts:heartbeat"} answered; a bts:request_reconnect
// counted as control; after a drop, a reconnect that subscribes again, and
// the resent overlap de-duplicated by id: every trade exactly once.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/live_feed.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::WsInjection;
using testing::WsServerBehavior;
using testing::WsTestServer;
using testing::WsVenueScript;

constexpr std::string_view kHeartbeat = R"({"event":"bts:heartbeat"})";

// The capture's received frames after its 20 subscription acks.
std::vector<std::string> capture_frames() {
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/BITSTAMP.ws.1.0.gz");
  CaptureRecord record;
  std::vector<std::string> frames;
  while (reader.next(record))
    if (std::string_view(record.frame).find(R"("event":"bts:)") == std::string_view::npos)
      frames.emplace_back(record.frame);
  return frames;
}

std::string answer(const std::string& message) {
  if (message == kHeartbeat) return R"({"event":"bts:heartbeat","channel":"","data":{"status":"success"}})";
  const auto at = message.find("live_trades_");
  const std::string channel = message.substr(at, message.find('"', at) - at);
  return R"({"event":"bts:subscription_succeeded","channel":")" + channel + R"(","data":{}})";
}

TEST(VenueBitstampLive, SubscribesHeartbeatsReconnectsAndDeduplicatesTheRealCapture) {
  const std::vector<std::string> frames = capture_frames();
  ASSERT_EQ(frames.size(), 727u);
  // Trades are frames 178, 393, 394 and 704..711. The first connection ends
  // after 400 frames; the second resends the last 10 (390..399), so 393 and
  // 394 arrive twice.
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 400,
      .resume_overlap = 10,
      .injections = {WsInjection{.before_frame = 399,
                                 .payload = R"({"event":"bts:request_reconnect","channel":"","data":""})"}},
      .script = WsVenueScript{.subscribe_messages = 2,
                              .answer = &answer,
                              .is_ping = [](const std::string& m) { return m == kHeartbeat; }},
  });

  LiveFeedConfig config;
  config.venue = Venue::kBitstamp;
  config.symbols = {"btcusd", "ethusd"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // the venue's is 30 s: short here so that heartbeats happen
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 3;

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
  while ((trades.size() < 10 || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), 10u) << log_text();

  const std::string btc = R"({"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}})";
  const std::string eth = R"({"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{btc, eth, btc, eth}));  // heartbeats are not kept
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/", "/"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 10u);
  EXPECT_EQ(c.duplicates.load(), 2u);  // trades 393 and 394, resent
  EXPECT_EQ(c.gaps.load(), 1u);        // ethusd's time gap after the reconnect
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 12u);
  EXPECT_EQ(s[SkipKind::kBook], 717u + 8u);  // 717 book frames, 8 of them resent
  // 4 acks, the reconnect request, and the heartbeat answers.
  EXPECT_GE(s[SkipKind::kControl], 4u + 1u + 2u);
  EXPECT_EQ(s.total_errors(), 0u);

  // The capture's ids in order, each once.
  const std::vector<std::uint64_t> ids = {216000477, 216000484, 216000485, 216000500, 216000501,
                                          216000502, 216000503, 216000504, 216000505, 216000506};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(trades[i].trade_id, ids[i]) << i;
    EXPECT_EQ(registry.info(trades[i].market).name, "BITSTAMP:ethusd");
  }
  EXPECT_EQ(trades[0].side, Side::kBuy);
  EXPECT_DOUBLE_EQ(trades[0].qty, 0.0792);
  feed.stop();
}

}  // namespace
}  // namespace tickflow
