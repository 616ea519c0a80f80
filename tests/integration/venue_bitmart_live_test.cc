// tests/integration/venue_bitmart_live_test.cc
//
// The BitMart live feeds (feeds/venues/bitmart.cc + feeds/bitmart_parser.cc)
// against the local TLS websocket server playing BitMart, with frames
// hand-written in the shapes of BitMart's docs (no capture exists):
//
//  * futures: the exact subscribe message (acknowledged as BitMart does),
//    client pings {"action":"ping"} answered "pong", 30 frames of two trades
//    each listed newest first (as BitMart sends them), one a liquidation;
//    after a drop, a reconnect that subscribes again and a resent overlap
//    de-duplicated by id: 60 trades exactly once, in id order.
//  * spot: raw-deflate binary frames (BitMart compresses market data), the
//    text "ping" answered "pong", a reconnect that subscribes again. Spot
//    trades carry no id, so the server resends nothing (no overlap): 12
//    trades exactly once.
// BitMart sends no server pings, so only the client direction is tested.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
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

std::string deflate_raw(const std::string& text) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(text.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

LiveFeedConfig local_config(Venue venue, std::vector<std::string> symbols, const WsTestServer& server) {
  LiveFeedConfig config;
  config.venue = venue;
  config.symbols = std::move(symbols);
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 100ms;  // the venue's is 15 s: short here so that pings happen
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 5;
  return config;
}

struct Collected {
  std::vector<Trade> trades;
  std::string log;
};

// Runs `feed` until `want` trades and 2 answered pings (or 30 s).
void run_until(IoLoop& loop, LiveFeed& feed, const WsTestServer& server, const Collected& run, std::size_t want) {
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((run.trades.size() < want || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    loop.run_for(10ms);
  loop.run_for(100ms);
}

std::string futures_trade(std::uint64_t id, double price, int contracts, bool buyer_maker, int type, int second) {
  return R"({"trade_id":)" + std::to_string(id) + R"(,"symbol":"BTCUSDT","deal_price":")" + std::to_string(price) +
         R"(","deal_vol":")" + std::to_string(contracts) + R"(","way":1,"m":)" + (buyer_maker ? "true" : "false") +
         (type != 0 ? R"(,"type":)" + std::to_string(type) : std::string()) + R"(,"created_at":"2024-12-04T11:)" +
         std::to_string(10 + second / 60) + ":" + (second % 60 < 10 ? "0" : "") + std::to_string(second % 60) +
         R"(.5Z"})";
}

TEST(VenueBitmartLive, FuturesSubscribePingReconnectAndDeduplicate) {
  // Frame k (0..29) holds ids 2k+2 and 2k+1, newest first; id 52 (frame
  // 25) is a liquidation fill (type 1).
  std::vector<std::string> frames;
  for (int k = 0; k < 30; ++k) {
    const std::string data = futures_trade(2 * k + 2, 96000 + k, 10 + k, k % 2 == 0, k == 25 ? 1 : 0, k) + "," +
                             futures_trade(2 * k + 1, 96000 + k, 5, false, 8, k);
    frames.push_back(R"({"group":"futures/trade:BTCUSDT","data":[)" + data + "]}");
  }
  // The first connection ends after 20 frames; the second resends 15..19.
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 20,
      .resume_overlap = 5,
      .script = WsVenueScript{
          .subscribe_messages = 1,
          .answer = [](const std::string& m) -> std::string {
            if (m == R"({"action":"ping"})") return "pong";
            return R"({"action":"subscribe","group":"futures/trade:BTCUSDT","success":true,"request":)" + m + "}";
          },
          .is_ping = [](const std::string& m) { return m == R"({"action":"ping"})"; }},
  });
  IoLoop loop;
  MarketRegistry registry;
  Collected run;
  LiveFeed feed(
      loop, registry, local_config(Venue::kBitmartFutures, {"BTCUSDT"}, server),
      [&](const EventBuffer& events) {
        for (const FeedEvent& e : events)
          if (e.type == FeedEventType::kTrade) run.trades.push_back(e.trade);
      },
      [&](std::string_view line) { run.log += std::string(line) + "\n"; });
  run_until(loop, feed, server, run, 60);
  ASSERT_EQ(run.trades.size(), 60u) << run.log;

  const std::string sub = R"({"action":"subscribe","args":["futures/trade:BTCUSDT"]})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{sub, sub}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/api?protocol=1.1", "/api?protocol=1.1"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);

  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 60u);
  EXPECT_EQ(c.duplicates.load(), 10u);  // frames 15..19 resent: 10 trades
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 70u);
  EXPECT_EQ(s.liquidations, 1u);
  EXPECT_GE(s[SkipKind::kControl], 2u + 2u);  // 2 acks, the pongs
  EXPECT_EQ(s.total_errors(), 0u);

  // Ids 1..60 in order, each once; 52 the liquidation.
  for (std::size_t i = 0; i < run.trades.size(); ++i) {
    const Trade& t = run.trades[i];
    EXPECT_EQ(t.trade_id, i + 1) << i;
    EXPECT_EQ(registry.info(t.market).name, "BITMART:BTCUSDT");
    EXPECT_EQ(t.is_liquidation(), t.trade_id == 52) << i;
  }
  EXPECT_DOUBLE_EQ(run.trades[51].qty, 0.035);  // 35 contracts x 0.001
  EXPECT_EQ(run.trades[51].side, Side::kBuy);   // m false: the liquidation order bought
  EXPECT_DOUBLE_EQ(run.trades[1].qty, 0.010);   // id 2: 10 contracts
  EXPECT_EQ(run.trades[1].side, Side::kSell);   // m true
  feed.stop();
}

TEST(VenueBitmartLive, SpotDeflatedFramesPingAndReconnect) {
  std::vector<std::string> frames;
  for (int k = 0; k < 12; ++k) {
    const char* symbol = k % 2 == 0 ? "BTC_USDT" : "ETH_USDT";
    frames.push_back(deflate_raw(R"({"data":[{"ms_t":)" + std::to_string(1733312207000 + k * 100) + R"(,"price":")" +
                                 std::to_string(100 + k) + R"(","s_t":1733312207,"side":")" +
                                 (k % 3 == 0 ? "sell" : "buy") + R"(","size":"0.5","symbol":")" + symbol +
                                 R"("}],"table":"spot/trade"})"));
  }
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 6,
      .script = WsVenueScript{.subscribe_messages = 1,
                              .answer = [](const std::string& m) -> std::string {
                                if (m == "ping") return "pong";
                                return R"({"event":"subscribe","topic":"spot/trade:BTC_USDT"})";
                              },
                              .is_ping = [](const std::string& m) { return m == "ping"; },
                              .binary_frames = true},
  });
  IoLoop loop;
  MarketRegistry registry;
  Collected run;
  LiveFeed feed(
      loop, registry, local_config(Venue::kBitmartSpot, {"BTC_USDT", "ETH_USDT"}, server),
      [&](const EventBuffer& events) {
        for (const FeedEvent& e : events)
          if (e.type == FeedEventType::kTrade) run.trades.push_back(e.trade);
      },
      [&](std::string_view line) { run.log += std::string(line) + "\n"; });
  run_until(loop, feed, server, run, 12);
  ASSERT_EQ(run.trades.size(), 12u) << run.log;

  const std::string sub = R"({"op":"subscribe","args":["spot/trade:BTC_USDT","spot/trade:ETH_USDT"]})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{sub, sub}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);
  EXPECT_EQ(feed.counters().reconnects.load(), 1u);
  EXPECT_EQ(feed.counters().trades.load(), 12u);
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 12u);
  EXPECT_EQ(s.total_errors(), 0u);
  for (int k = 0; k < 12; ++k) {
    const Trade& t = run.trades[static_cast<std::size_t>(k)];
    EXPECT_EQ(registry.info(t.market).name, k % 2 == 0 ? "BITMART:BTC_USDT" : "BITMART:ETH_USDT") << k;
    EXPECT_DOUBLE_EQ(t.price, 100 + k) << k;
    EXPECT_EQ(t.side, k % 3 == 0 ? Side::kSell : Side::kBuy) << k;
    EXPECT_EQ(t.exchange_ts_ns, (1733312207000 + k * 100) * 1'000'000) << k;
    EXPECT_EQ(t.flags, kTradeIdHashed) << k;
  }
  feed.stop();
}

}  // namespace
}  // namespace tickflow
