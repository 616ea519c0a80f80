// tests/integration/venue_hyperliquid_live_test.cc
//
// The Hyperliquid live feed (feeds/venues/hyperliquid.cc +
// feeds/hyperliquid_parser.cc) against the local TLS websocket server
// playing api.hyperliquid.xyz/ws: the exact subscribe messages, each
// acknowledged (subscriptionResponse) and followed by the coin's recent
// trades, skipped as a snapshot on every connection; client pings
// {"method":"ping"} answered {"channel":"pong"}; exact trades from the
// replayed frames, whose tids are unique but unordered (none may be taken
// for a duplicate); after a drop, a reconnect that subscribes again and
// delivers every trade exactly once. Frames are hand-written in the shapes
// Hyperliquid documents (no public capture).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
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

constexpr std::string_view kPing = R"({"method":"ping"})";

// Trade n: BTC for even n, ETH for odd. tids jump around (not ordered), as
// Hyperliquid's do.
std::uint64_t tid_of(int n) { return 900000000000000ull + static_cast<std::uint64_t>((n * 7919) % 101) * 1000 + n; }

std::string trade_object(int n) {
  const bool btc = n % 2 == 0;
  return std::string(R"({"coin":")") + (btc ? "BTC" : "ETH") + R"(","side":")" + (n % 3 == 0 ? "A" : "B") +
         R"(","px":")" + std::to_string(btc ? 97000 + n : 3800 + n) + R"(.5","sz":")" + std::to_string(n + 1) +
         R"(","time":)" + std::to_string(1733500000000 + 100 * n) + R"(,"hash":"0x)" + std::to_string(n) +
         R"(","tid":)" + std::to_string(tid_of(n)) + R"(,"users":["0xa","0xb"]})";
}

std::string trades_frame(const std::vector<int>& ns) {
  std::string s = R"({"channel":"trades","data":[)";
  for (std::size_t i = 0; i < ns.size(); ++i) {
    if (i != 0) s += ',';
    s += trade_object(ns[i]);
  }
  return s + "]}";
}

std::string answer(const std::string& message) {
  if (message == kPing) return R"({"channel":"pong"})";
  const bool btc = message.find(R"("coin":"BTC")") != std::string::npos;
  return std::string(R"({"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":)") +
         R"({"type":"trades","coin":")" + (btc ? "BTC" : "ETH") + R"("}}})";
}

TEST(VenueHyperliquidLive, SubscribesSkipsSnapshotsPingsReconnectsAndDeliversEveryTradeOnce) {
  constexpr int kTrades = 30;  // one frame each: 15 BTC, 15 ETH
  std::vector<std::string> frames;
  for (int n = 0; n < kTrades; ++n) frames.push_back(trades_frame({n}));
  // The snapshots sent after the acks: each coin's recent trades (history,
  // here the first trades of the replay again).
  const std::vector<std::string> snapshots = {trades_frame({2, 0}), trades_frame({3, 1})};
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 11,
      .script = WsVenueScript{.subscribe_messages = 2,
                              .answer = &answer,
                              .is_ping = [](const std::string& m) { return m == kPing; },
                              .greeting = snapshots},
  });

  LiveFeedConfig config;
  config.venue = Venue::kHyperliquid;
  config.symbols = {"BTC", "ETH"};
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // the venue's is 30 s: short here so that pings happen
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
  // Every trade, and at least two pings answered after the replay.
  while ((trades.size() < static_cast<std::size_t>(kTrades) || server.pings_answered() < 2 ||
          feed.parse_stats()[SkipKind::kControl] < 4 + 2) &&
         std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
  ASSERT_EQ(trades.size(), static_cast<std::size_t>(kTrades)) << log_text();

  const std::string btc = R"({"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}})";
  const std::string eth = R"({"method":"subscribe","subscription":{"type":"trades","coin":"ETH"}})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{btc, eth, btc, eth}));  // pings are not kept
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/ws", "/ws"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), static_cast<std::uint64_t>(kTrades));
  EXPECT_EQ(c.duplicates.load(), 0u);
  EXPECT_EQ(c.implausible_ids.load(), 0u);
  EXPECT_EQ(c.gaps.load(), 2u);  // one time gap per coin after the reconnect
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s[SkipKind::kSnapshot], 4u);  // two per connection
  // 4 acks, and one pong per ping answered (the last may still be on its way).
  EXPECT_GE(s[SkipKind::kControl], 4u + 2u);
  EXPECT_LE(s[SkipKind::kControl], 4u + server.pings_answered());
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s.liquidations, 0u);

  std::set<std::uint64_t> tids;
  for (int n = 0; n < kTrades; ++n) {
    const Trade& t = trades[static_cast<std::size_t>(n)];
    EXPECT_EQ(t.trade_id, tid_of(n)) << n;
    EXPECT_EQ(registry.info(t.market).name, n % 2 == 0 ? "HYPERLIQUID:BTC" : "HYPERLIQUID:ETH") << n;
    EXPECT_DOUBLE_EQ(t.qty, n + 1.0) << n;
    EXPECT_EQ(t.side, n % 3 == 0 ? Side::kSell : Side::kBuy) << n;
    tids.insert(t.trade_id);
  }
  EXPECT_EQ(tids.size(), static_cast<std::size_t>(kTrades));
  feed.stop();
}

}  // namespace
}  // namespace tickflow
