// tests/integration/venue_gateio_live_test.cc
//
// The Gate.io live feeds (feeds/venues/gateio.cc + feeds/gateio_parser.cc)
// against the local TLS websocket server:
//  * spot, playing api.gateio.ws/ws/v4/ with the real capture
//    (tests/data/cryptofeed/GATEIO.ws.1.0.gz: 31 frames after its acks, 9
//    trades on 5 of the 10 subscribed pairs);
//  * USDT futures, playing fx-ws.gateio.ws/v4/ws/usdt with hand-written
//    frames (the futures capture has no trades): futures.trades and
//    futures.public_liquidates, subscribed by default.
// Checked: the exact subscribe messages, each acknowledged; client pings
// ({"channel":"spot.ping"} / futures.ping) answered with a pong the parser
// skips (Gate sends no application-level server pings); after a drop, a
// reconnect that subscribes again, and the resent overlap de-duplicated by
// id: every trade exactly once.
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

// Gate's ack for a subscribe, a pong for a ping.
std::string answer(const std::string& message) {
  const auto at = message.find(R"("channel":")") + 11;
  const std::string channel = message.substr(at, message.find('"', at) - at);
  if (channel.ends_with(".ping")) {
    const std::string pong = channel.substr(0, channel.size() - 4) + "pong";
    return R"({"time":1700000000,"time_ms":1700000000000,"channel":")" + pong + R"(","event":"","result":null})";
  }
  return R"({"time":1700000000,"time_ms":0,"channel":")" + channel +
         R"(","event":"subscribe","result":{"status":"success"}})";
}
bool is_ping(const std::string& message) { return message.find(R"(.ping")") != std::string::npos; }

struct FeedRun {
  IoLoop loop;
  MarketRegistry registry;
  std::vector<Trade> trades;
  std::vector<std::string> log;
  std::string log_text() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }
};

LiveFeedConfig local_config(Venue venue, const WsTestServer& server) {
  LiveFeedConfig config;
  config.venue = venue;
  config.host = "127.0.0.1";
  config.port = server.port();
  config.ca_file = server.ca_file();
  config.connect_timeout = 2s;
  config.handshake_timeout = 2s;
  config.stale_after = 5s;
  config.ping_interval = 150ms;  // the venue's is 18 s: short here so that pings happen
  config.backoff_initial = 20ms;
  config.backoff_max = 200ms;
  config.jitter_seed = 17;
  return config;
}

void run_until(FeedRun& run, LiveFeed& feed, const WsTestServer& server, std::size_t trades) {
  feed.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while ((run.trades.size() < trades || server.pings_answered() < 2) && std::chrono::steady_clock::now() < deadline)
    run.loop.run_for(10ms);
  run.loop.run_for(100ms);
}

TEST(VenueGateioLive, SpotRealCaptureReconnectsAndDeduplicates) {
  std::vector<std::string> frames;
  {
    CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/GATEIO.ws.1.0.gz");
    CaptureRecord record;
    while (reader.next(record))
      if (std::string_view(record.frame).find(R"("event":"subscribe")") == std::string_view::npos)
        frames.emplace_back(record.frame);
  }
  ASSERT_EQ(frames.size(), 31u);
  // Trades are frames 22..30. The first connection ends after frames 0..24;
  // the second resends 21..24 (resume_overlap 4): trades 22, 23, 24 twice.
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 25,
      .resume_overlap = 4,
      .script = WsVenueScript{.subscribe_messages = 1, .answer = &answer, .is_ping = &is_ping},
  });
  LiveFeedConfig config = local_config(Venue::kGateioSpot, server);
  config.symbols = {"INK_USDT", "HAI_ETH", "BTC_USDC",  "NANO_USDT", "QTUM3S_USDT",
                    "DIS_USDT", "NEO_BTC", "FAST_USDT", "ZKS_ETH",   "OMG_USDT"};
  FeedRun run;
  LiveFeed feed(
      run.loop, run.registry, config,
      [&](const EventBuffer& events) {
        for (const FeedEvent& e : events)
          if (e.type == FeedEventType::kTrade) run.trades.push_back(e.trade);
      },
      [&](std::string_view line) { run.log.emplace_back(line); });
  run_until(run, feed, server, 9);
  ASSERT_EQ(run.trades.size(), 9u) << run.log_text();

  const std::string subscribe =
      R"({"channel":"spot.trades","event":"subscribe","payload":["INK_USDT","HAI_ETH","BTC_USDC","NANO_USDT",)"
      R"("QTUM3S_USDT","DIS_USDT","NEO_BTC","FAST_USDT","ZKS_ETH","OMG_USDT"]})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{subscribe, subscribe}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/ws/v4/", "/ws/v4/"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);
  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 9u);
  EXPECT_EQ(c.duplicates.load(), 3u);
  EXPECT_EQ(c.gaps.load(), 1u);  // NEO_BTC traded on both connections: a time gap
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 12u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_GE(s[SkipKind::kControl], 2u + 2u);  // 2 acks, and the pongs
  const std::vector<std::uint64_t> ids = {816995772, 816995970, 816995982, 816996516, 816996524,
                                          816996977, 816996982, 816996983, 816997068};
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(run.trades[i].trade_id, ids[i]) << i;
  EXPECT_EQ(run.registry.info(run.trades[0].market).name, "GATEIO:DIS_USDT-SPOT");
  EXPECT_DOUBLE_EQ(run.trades[0].qty, 0.201);
  EXPECT_EQ(run.trades[0].side, Side::kSell);
  feed.stop();
}

std::string futures_trade(const char* contract, std::uint64_t id, int size, const char* price, std::int64_t ms) {
  return R"({"time":1700000000,"time_ms":1700000000000,"channel":"futures.trades","event":"update","result":[{"size":)" +
         std::to_string(size) + R"(,"id":)" + std::to_string(id) + R"(,"create_time":1700000000,"create_time_ms":)" +
         std::to_string(ms) + R"(,"price":")" + price + R"(","contract":")" + contract + R"("}]})";
}

TEST(VenueGateioLive, FuturesTradesAndLiquidationsReconnectAndDeduplicate) {
  const std::vector<std::string> frames = {
      futures_trade("BTC_USDT", 100, 10, "37000", 1700000000100),                                           // 0
      R"({"time":1700000000,"channel":"futures.book_ticker","event":"update","result":{"s":"BTC_USDT"}})",  // 1
      futures_trade("ETH_USDT", 200, -5, "2000", 1700000000200),                                            // 2
      R"({"time":1700000000,"time_ms":1700000000300,"channel":"futures.public_liquidates","event":"update",)"
      R"("result":[{"price":36950.2,"size":-124,"time_ms":1700000000290,"contract":"BTC_USDT"}]})",  // 3
      R"({"time":1700000000,"channel":"futures.trades","event":"update","result":[)"
      R"({"size":-3,"id":101,"create_time_ms":1700000000400,"price":"36990","contract":"BTC_USDT"},)"
      R"({"size":4,"id":102,"create_time_ms":1700000000401,"price":"36991","contract":"BTC_USDT"}]})",            // 4
      R"({"time":1700000000,"channel":"futures.order_book_update","event":"update","result":{"s":"ETH_USDT"}})",  // 5
      futures_trade("ETH_USDT", 201, 7, "2001", 1700000000600),                                                   // 6
      futures_trade("BTC_USDT", 103, -1, "36995", 1700000000700),                                                 // 7
  };
  // The first connection ends after frames 0..4; the second resends 4
  // (resume_overlap 1): trades 101 and 102 twice.
  WsTestServer server(WsServerBehavior{
      .frames = frames,
      .drop_after = 5,
      .resume_overlap = 1,
      .script = WsVenueScript{.subscribe_messages = 2, .answer = &answer, .is_ping = &is_ping},
  });
  LiveFeedConfig config = local_config(Venue::kGateioFutures, server);
  config.symbols = {"BTC_USDT", "ETH_USDT"};
  FeedRun run;
  LiveFeed feed(
      run.loop, run.registry, config,
      [&](const EventBuffer& events) {
        for (const FeedEvent& e : events)
          if (e.type == FeedEventType::kTrade) run.trades.push_back(e.trade);
      },
      [&](std::string_view line) { run.log.emplace_back(line); });
  run_until(run, feed, server, 7);
  ASSERT_EQ(run.trades.size(), 7u) << run.log_text();

  const std::string trades_sub =
      R"({"channel":"futures.trades","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]})";
  const std::string liq_sub =
      R"({"channel":"futures.public_liquidates","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]})";
  EXPECT_EQ(server.received(), (std::vector<std::string>{trades_sub, liq_sub, trades_sub, liq_sub}));
  EXPECT_EQ(server.targets(), (std::vector<std::string>{"/v4/ws/usdt", "/v4/ws/usdt"}));
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_GE(server.pings_answered(), 2u);
  const LiveFeedCounters& c = feed.counters();
  EXPECT_EQ(c.reconnects.load(), 1u);
  EXPECT_EQ(c.trades.load(), 7u);
  EXPECT_EQ(c.duplicates.load(), 2u);
  EXPECT_EQ(c.gaps.load(), 2u);  // BTC_USDT and ETH_USDT: a time gap each
  const ParseStats& s = feed.parse_stats();
  EXPECT_EQ(s.trades, 9u);
  EXPECT_EQ(s.liquidations, 1u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s.total_errors(), 0u);
  const std::vector<std::uint64_t> ids = {100, 200, 0, 101, 102, 201, 103};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i != 2) {
      EXPECT_EQ(run.trades[i].trade_id, ids[i]) << i;
    }
  }
  const Trade& liq = run.trades[2];
  EXPECT_TRUE(liq.is_liquidation());
  EXPECT_EQ(liq.side, Side::kSell);  // a long liquidated
  EXPECT_DOUBLE_EQ(liq.qty, 0.0124);
  EXPECT_EQ(run.registry.info(liq.market).name, "GATEIO:BTC_USDT");
  EXPECT_DOUBLE_EQ(run.trades[0].qty, 0.001);  // 10 contracts of 0.0001 BTC
  EXPECT_EQ(run.trades[1].side, Side::kSell);
  EXPECT_DOUBLE_EQ(run.trades[1].qty, 0.05);  // 5 contracts of 0.01 ETH
  feed.stop();
}

}  // namespace
}  // namespace tickflow
