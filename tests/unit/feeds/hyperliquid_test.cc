// Hyperliquid parser (feeds/hyperliquid_parser.cc). No public capture
// exists: the frames are hand-written from Hyperliquid's websocket
// documentation (tests/data/fixtures/hyperliquid.txt and below), checked
// against an independent reference (tests/tools/hyperliquid_reference.py);
// snapshots after a subscription, malformed input, the allocation-free path.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/event_buffer.h"
#include "feeds/live_feed.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "feeds/venue_protocol.h"
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  Harness() : parser(make_parser("HYPERLIQUID", registry)) {}
  ParseOutcome parse(std::string_view bytes) {
    out.clear();
    frame.assign(bytes);
    return parser->parse(frame.view(), kRecv, out);
  }
  const Trade& trade(std::size_t i) const { return out[i].trade; }
  std::string market_name(std::size_t i) const { return registry.info(trade(i).market).name; }

  MarketRegistry registry;
  std::unique_ptr<ExchangeParser> parser;
  EventBuffer out;
  PaddedFrame frame;
};

TEST(HyperliquidFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string fixture = test::test_data("fixtures/hyperliquid.txt");
  const auto ref = test::run_reference("hyperliquid_reference.py", "'" + fixture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h;
  const test::Totals totals = test::replay(*h.parser, fixture);
  test::expect_matches_reference(totals, h.parser->stats(), ref, /*numeric_ids=*/true);
  // Counted by hand: 5 live trades (BTC 2+1, ETH 1, spot @107 1), 2
  // snapshots (BTC, ETH), 3 control (2 acks, pong), 1 book, 1 other.
  EXPECT_EQ(totals.trades, 5u);
  EXPECT_EQ(totals.taker_buys, 3u);
  EXPECT_EQ(totals.first_id, 1051390461446390u);
  EXPECT_EQ(totals.last_id, 1051390461446402u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 2u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 3u);
  EXPECT_NEAR(totals.sum_qty, 13.9653, 1e-12);
  EXPECT_EQ(totals.liquidations, 0u);  // the public feed does not mark them
}

constexpr std::string_view kTrades =
    R"({"channel":"trades","data":[)"
    R"({"coin":"BTC","side":"B","px":"97012.0","sz":"0.0153","time":1733500000123,"hash":"0xab",)"
    R"("tid":1051390461446390,"users":["0x1","0x2"]},)"
    R"({"coin":"BTC","side":"A","px":"97011.5","sz":"0.5","time":1733500000124,"hash":"0xac",)"
    R"("tid":1051390461446391,"users":["0x3","0x4"]}]})";

TEST(HyperliquidTrades, FieldsAndSides) {
  Harness h;
  ASSERT_EQ(h.parse(kTrades), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "HYPERLIQUID:BTC");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_EQ(h.trade(0).trade_id, 1051390461446390u);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);  // tids are unique but unordered
  EXPECT_DOUBLE_EQ(h.trade(0).price, 97012.0);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.0153);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1733500000123000000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(1).side, Side::kSell);  // "A": the ask side took
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.5);
  // Spot coins: "@107" and "PURR/USDC".
  ASSERT_EQ(
      h.parse(R"({"channel":"trades","data":[{"coin":"@107","side":"B","px":"23.45","sz":"10","time":1733500000200,)"
              R"("hash":"0x1","tid":5,"users":[]},{"coin":"PURR/USDC","side":"A","px":"0.2","sz":"100",)"
              R"("time":1733500000201,"hash":"0x2","tid":6,"users":[]}]})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "HYPERLIQUID:@107");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kSpot);
  EXPECT_EQ(h.market_name(1), "HYPERLIQUID:PURR/USDC");
  EXPECT_DOUBLE_EQ(h.trade(1).notional(), 20.0);
}

constexpr std::string_view kAckBtc =
    R"({"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}}})";

TEST(HyperliquidSnapshots, FirstTradesFrameAfterTheAckIsHistory) {
  Harness h;
  // Before any acknowledgement: live.
  ASSERT_EQ(h.parse(kTrades), ParseOutcome::kEvents);
  EXPECT_EQ(h.parse(kAckBtc), ParseOutcome::kSkipped);
  // An ack for another channel or coin arms nothing for BTC.
  EXPECT_EQ(h.parse(R"({"channel":"subscriptionResponse","data":{"method":"subscribe",)"
                    R"("subscription":{"type":"l2Book","coin":"BTC"}}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"channel":"subscriptionResponse","data":{"method":"unsubscribe",)"
                    R"("subscription":{"type":"trades","coin":"ETH"}}})"),
            ParseOutcome::kSkipped);
  // ETH trades are live (ETH was unsubscribed, not armed).
  ASSERT_EQ(h.parse(R"({"channel":"trades","data":[{"coin":"ETH","side":"A","px":"3800","sz":"1","time":1733500000300,)"
                    R"("hash":"0x","tid":9,"users":[]}]})"),
            ParseOutcome::kEvents);
  // The next BTC frame is the snapshot; the one after is live.
  EXPECT_EQ(h.parse(kTrades), ParseOutcome::kSkipped);
  EXPECT_TRUE(h.out.empty());
  EXPECT_EQ(h.parse(kTrades), ParseOutcome::kEvents);
  EXPECT_EQ(h.out.size(), 2u);
  // A reconnect re-subscribes: the new ack arms BTC again.
  EXPECT_EQ(h.parse(kAckBtc), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(kTrades), ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kSnapshot], 2u);
  EXPECT_EQ(s[SkipKind::kControl], 4u);
  EXPECT_EQ(s.trades, 5u);
  EXPECT_EQ(s.total_errors(), 0u);
}

TEST(HyperliquidSkips, ControlBookAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"channel":"pong"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"channel":"error","data":"Invalid subscription"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"channel":"l2Book","data":{"coin":"BTC","levels":[[],[]]}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"channel":"bbo","data":{"coin":"BTC"}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"channel":"allMids","data":{"mids":{}}})"), ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 2u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.total_errors(), 0u);
}

void expect_error(Harness& h, std::string_view bad, ParseError reason) {
  SCOPED_TRACE(std::string(bad.substr(0, 200)));
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(bad), ParseOutcome::kError);
  EXPECT_TRUE(h.out.empty());
  const ParseStats after = h.parser->stats();
  EXPECT_EQ(after[reason] - before[reason], 1u) << "expected " << to_string(reason);
  EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
  ASSERT_EQ(h.parse(kTrades), ParseOutcome::kEvents);  // the next good frame parses
  EXPECT_EQ(h.out.size(), 2u);
}

std::string trade_with(std::string_view fields) {
  return std::string(R"({"channel":"trades","data":[{)") + std::string(fields) + "}]}";
}

TEST(HyperliquidMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error(h, kTrades.substr(0, 90), ParseError::kTruncated);
  expect_error(h, "", ParseError::kTruncated);
  expect_error(h, test::random_bytes(256, 9), ParseError::kTruncated);
  expect_error(h, "[]", ParseError::kBadType);
  expect_error(h, R"({"channel":["trades"]})", ParseError::kBadType);
  expect_error(h, R"({"data":[]})", ParseError::kMissingField);
  expect_error(h, R"({"channel":"trades"})", ParseError::kMissingField);
  expect_error(h, R"({"channel":"trades","data":[]})", ParseError::kMissingField);  // no trades at all
  expect_error(h, R"({"channel":"trades","data":{}})", ParseError::kBadType);
  expect_error(h, trade_with(R"("coin":"BTC","side":"B","px":"1","sz":"1","time":1733500000123)"),
               ParseError::kMissingField);  // no tid
  expect_error(h, trade_with(R"("coin":"BTC","side":"X","px":"1","sz":"1","time":1733500000123,"tid":1)"),
               ParseError::kBadValue);
  expect_error(h, trade_with(R"("coin":"BTC","side":"B","px":"0","sz":"1","time":1733500000123,"tid":1)"),
               ParseError::kBadValue);
  expect_error(h, trade_with(R"("coin":"BTC","side":"B","px":"1","sz":"-1","time":1733500000123,"tid":1)"),
               ParseError::kBadValue);
  expect_error(h, trade_with(R"("coin":"BTC","side":"B","px":"1","sz":"1","time":1733500000,"tid":1)"),
               ParseError::kBadValue);  // seconds, not ms
  expect_error(h, trade_with(R"("coin":"BTC","side":"B","px":"1","sz":"1","time":1733500000123,"tid":-1)"),
               ParseError::kBadType);
  expect_error(h, trade_with(R"("coin":7,"side":"B","px":"1","sz":"1","time":1733500000123,"tid":1)"),
               ParseError::kBadType);
  expect_error(h, trade_with(R"("coin":"A:B","side":"B","px":"1","sz":"1","time":1733500000123,"tid":1)"),
               ParseError::kUnknownMarket);
  EXPECT_EQ(h.parser->stats().frames, 2u * 17u);
}

TEST(HyperliquidMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  for (std::size_t n = 0; n < kTrades.size(); ++n) {
    const ParseOutcome outcome = h.parse(kTrades.substr(0, n));
    EXPECT_LE(h.out.size(), 2u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(17);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated(kTrades);
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 2u);
  }
  EXPECT_EQ(h.parser->stats().frames, kTrades.size() + 2000);
}

TEST(HyperliquidAllocation, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame trades, ack, pong;
  trades.assign(kTrades);
  ack.assign(kAckBtc);
  pong.assign(R"({"channel":"pong"})");
  ASSERT_EQ(h.parser->parse(trades.view(), 1, h.out), ParseOutcome::kEvents);  // warm-up: market resolved
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(ack.view(), 1, h.out);     // arms BTC: the next frame is a snapshot
    h.parser->parse(trades.view(), 1, h.out);  // snapshot
    h.parser->parse(trades.view(), 1, h.out);  // live
    h.parser->parse(pong.view(), 1, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 2002u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 1000u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/hyperliquid.cc).

TEST(HyperliquidPlan, UrlSubscribeMessagesPacingKeepaliveAndLimits) {
  LiveFeedConfig c;
  c.venue = Venue::kHyperliquid;
  c.symbols = {"BTC", "ETH", "@107"};
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "api.hyperliquid.xyz");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/ws");
  EXPECT_EQ(p.parser_name, "HYPERLIQUID");
  ASSERT_EQ(p.subscribe.size(), 3u);
  EXPECT_EQ(p.subscribe[0], R"({"method":"subscribe","subscription":{"type":"trades","coin":"BTC"}})");
  EXPECT_EQ(p.subscribe[2], R"({"method":"subscribe","subscription":{"type":"trades","coin":"@107"}})");
  EXPECT_EQ(p.subscribe_interval, std::chrono::milliseconds{50});
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});  // the server closes after 60 s of silence
  EXPECT_EQ(p.ping_text, R"({"method":"ping"})");
  // No public liquidation stream: trades only, whatever `liquidations` says.
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trades"});
  const VenueProtocol& d = venue_protocol(Venue::kHyperliquid);
  EXPECT_EQ(d.exchange, "HYPERLIQUID");
  EXPECT_EQ(d.market_pair, nullptr);  // coins as subscribed
  EXPECT_EQ(d.gaps({"trades"}), GapDetection::kTime);
  EXPECT_EQ(d.max_topics, 1000u);
  c.channels = {"l2Book"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
  c.channels.clear();
  c.symbols = {"BT\\C"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
