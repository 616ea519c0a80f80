// dYdX parser (feeds/dydx_parser.cc): the real v3 capture and the
// hand-written v4 fixture (tests/data/fixtures/dydx_v4.txt, from the
// indexer's documented shapes: no public v4 capture exists) checked against
// an independent reference (tests/tools/dydx_reference.py); liquidations,
// ids, malformed input and the allocation-free trade path.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
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
  Harness() : parser(make_parser("DYDX", registry)) {}
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

// v3 capture (trimmed: every v3_orderbook channel_data frame past the first
// 500 dropped): 10 v3_trades snapshots on subscribe, 26 live trades in 25
// frames over 10 markets.
TEST(DydxCapture, V3MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = test::test_data("cryptofeed/DYDX.ws.1.0.gz");
  const auto ref = test::run_reference("dydx_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h;
  const test::Totals totals = test::replay(*h.parser, capture);
  test::expect_matches_reference(totals, h.parser->stats(), ref, /*numeric_ids=*/false);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(totals.trades, 26u);
  EXPECT_EQ(totals.taker_buys, 13u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 10u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 510u);
  EXPECT_EQ(h.parser->stats().frames, 546u);
  ASSERT_FALSE(totals.first_trades.empty());
  const Trade& first = totals.first_trades[0];  // {"size":"0.1","side":"BUY","price":"4215.6",..18:03:51.833Z}
  EXPECT_EQ(h.registry.info(first.market).name, "DYDX:ETH-USD");
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_DOUBLE_EQ(first.qty, 0.1);
  EXPECT_DOUBLE_EQ(first.price, 4215.6);
  EXPECT_EQ(first.exchange_ts_ns, 1635444231833000000);
  EXPECT_EQ(first.flags, kTradeIdHashed);
  EXPECT_EQ(h.parser->stats().liquidations, 0u);
}

TEST(DydxFixture, V4MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string fixture = test::test_data("fixtures/dydx_v4.txt");
  const auto ref = test::run_reference("dydx_reference.py", "'" + fixture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h;
  const test::Totals totals = test::replay(*h.parser, fixture);
  test::expect_matches_reference(totals, h.parser->stats(), ref, /*numeric_ids=*/false);
  // Counted by hand from the fixture: 8 live trades (2 in the batch frame
  // plus 1), 2 liquidations (LIQUIDATED, DELEVERAGED), 2 snapshots.
  EXPECT_EQ(totals.trades, 8u);
  EXPECT_EQ(totals.liquidations, 2u);
  EXPECT_EQ(totals.taker_buys, 5u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 2u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 2u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 2u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kOtherChannel], 1u);
  EXPECT_NEAR(totals.sum_qty, 4.23, 1e-12);
}

constexpr std::string_view kV4 =
    R"({"type":"channel_data","connection_id":"c","message_id":4,"id":"BTC-USD","channel":"v4_trades",)"
    R"("version":"2.1.0","contents":{"trades":[)"
    R"({"id":"0a1b2c3d-0000-4000-8000-000000000004","side":"BUY","size":"0.25","price":"64000","type":"LIMIT",)"
    R"("createdAt":"2024-05-01T12:00:00.123Z","createdAtHeight":"14200010"},)"
    R"({"id":"0a1b2c3d-0000-4000-8000-000000000006","side":"SELL","size":"0.8","price":"63950","type":"LIQUIDATED",)"
    R"("createdAt":"2024-05-01T12:00:01.789Z","createdAtHeight":"14200011"}]}})";

TEST(DydxTrades, V4FieldsLiquidationsAndIds) {
  Harness h;
  ASSERT_EQ(h.parse(kV4), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "DYDX:BTC-USD");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.25);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 64000);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714564800123000000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
  // LIQUIDATED: the liquidation order took liquidity, so its side is the
  // taker side as sent (SELL: a long was liquidated), as aggr-server keeps it.
  EXPECT_EQ(h.trade(1).flags, kTradeIdHashed | kTradeLiquidation);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.8);
  EXPECT_EQ(h.parser->stats().liquidations, 1u);
  // The same frame again: the same ids (de-duplication works on replays).
  const std::uint64_t id1 = h.trade(1).trade_id;
  ASSERT_EQ(h.parse(kV4), ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(1).trade_id, id1);
}

TEST(DydxTrades, V3LiquidationFlagAndIdsPerPosition) {
  Harness h;
  // v3: no ids. Two identical fills in one frame stay two trades.
  constexpr std::string_view kV3 =
      R"({"type":"channel_data","connection_id":"c","message_id":9,"id":"BTC-USD","channel":"v3_trades",)"
      R"("contents":{"trades":[{"size":"0.5","side":"SELL","price":"60000","createdAt":"2021-10-28T18:03:51.833Z",)"
      R"("liquidation":true},{"size":"0.5","side":"SELL","price":"60000","createdAt":"2021-10-28T18:03:51.833Z"}]}})";
  ASSERT_EQ(h.parse(kV3), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed | kTradeLiquidation);
  EXPECT_EQ(h.trade(1).flags, kTradeIdHashed);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
  const std::uint64_t id0 = h.trade(0).trade_id;
  ASSERT_EQ(h.parse(kV3), ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).trade_id, id0);
}

TEST(DydxSkips, SnapshotsBooksControlAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"type":"connected","connection_id":"c","message_id":0})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"type":"subscribed","connection_id":"c","message_id":1,"channel":"v4_trades","id":"BTC-USD",)"
                    R"("contents":{"trades":[{"id":"x","side":"BUY","size":"1","price":"2","type":"LIMIT",)"
                    R"("createdAt":"2024-05-01T12:00:00.123Z"}]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"type":"subscribed","channel":"v4_orderbook","id":"BTC-USD","contents":{"bids":[]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"type":"channel_data","id":"BTC-USD","channel":"v4_orderbook","contents":{"bids":[]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"type":"channel_data","id":"BTC-USD","channel":"v4_candles","contents":{}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"type":"error","message":"Invalid subscribe message","connection_id":"c","message_id":2})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"type":"unsubscribed","channel":"v4_trades","id":"BTC-USD"})"), ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s.trades, 0u);
}

void expect_error(Harness& h, std::string_view bad, ParseError reason) {
  SCOPED_TRACE(std::string(bad.substr(0, 200)));
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(bad), ParseOutcome::kError);
  EXPECT_TRUE(h.out.empty());
  const ParseStats after = h.parser->stats();
  EXPECT_EQ(after[reason] - before[reason], 1u) << "expected " << to_string(reason);
  EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
  ASSERT_EQ(h.parse(kV4), ParseOutcome::kEvents);  // the next good frame parses
  EXPECT_EQ(h.out.size(), 2u);
}

std::string v4_with(std::string_view trade) {
  return std::string(R"({"type":"channel_data","id":"BTC-USD","channel":"v4_trades","contents":{"trades":[{)") +
         std::string(trade) + "}]}}";
}

TEST(DydxMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error(h, kV4.substr(0, 120), ParseError::kTruncated);
  expect_error(h, "", ParseError::kTruncated);
  expect_error(h, test::random_bytes(300, 3), ParseError::kTruncated);
  expect_error(h, "\"pong\"", ParseError::kBadType);
  expect_error(h, R"({"type":5})", ParseError::kBadType);
  expect_error(h, R"({"channel":"v4_trades"})", ParseError::kMissingField);
  expect_error(h, R"({"type":"channel_data","channel":"v4_trades","contents":{"trades":[]}})",
               ParseError::kMissingField);  // no id
  expect_error(h, R"({"type":"channel_data","id":"BTC-USD","channel":"v4_trades","contents":{"trades":[]}})",
               ParseError::kMissingField);  // no trades at all
  expect_error(h, R"({"type":"channel_data","id":"BTC-USD","channel":"v4_trades","contents":{"trades":{}}})",
               ParseError::kBadType);
  expect_error(h, R"({"type":"channel_data","id":"BTC-USD","channel":"v4_trades","contents":[]})",
               ParseError::kBadType);
  expect_error(h, R"({"type":"mystery"})", ParseError::kUnknownChannel);
  expect_error(h, v4_with(R"("id":"a","side":"BUY","size":"1","price":"2","type":"LIMIT")"),
               ParseError::kMissingField);  // no createdAt
  expect_error(h, v4_with(R"("id":"a","side":"BUY","size":"1","price":null,"createdAt":"2024-05-01T12:00:00.123Z")"),
               ParseError::kBadType);
  expect_error(h, v4_with(R"("id":"a","side":"HOLD","size":"1","price":"2","createdAt":"2024-05-01T12:00:00.123Z")"),
               ParseError::kBadValue);
  expect_error(h, v4_with(R"("id":"a","side":"BUY","size":"0","price":"2","createdAt":"2024-05-01T12:00:00.123Z")"),
               ParseError::kBadValue);
  expect_error(h, v4_with(R"("id":"a","side":"BUY","size":"1","price":"1e16","createdAt":"2024-05-01T12:00:00.123Z")"),
               ParseError::kBadValue);
  expect_error(h, v4_with(R"("id":"a","side":"BUY","size":"1","price":"2","createdAt":"2024-13-01T12:00:00.123Z")"),
               ParseError::kBadValue);
  expect_error(h, v4_with(R"("id":"a","side":"BUY","size":"1","price":"2","createdAt":"1714564800123")"),
               ParseError::kBadValue);
  expect_error(h, v4_with(R"("id":7,"side":"BUY","size":"1","price":"2","createdAt":"2024-05-01T12:00:00.123Z")"),
               ParseError::kBadType);
  expect_error(h,
               R"({"type":"channel_data","id":"BTC:USD","channel":"v4_trades","contents":{"trades":[{"id":"a",)"
               R"("side":"BUY","size":"1","price":"2","createdAt":"2024-05-01T12:00:00.123Z"}]}})",
               ParseError::kUnknownMarket);  // ':' cannot be in a market's pair
  EXPECT_EQ(h.parser->stats().frames, 2u * 20u);
}

TEST(DydxMalformed, OneBadTradeAmongGoodOnes) {
  Harness h;
  ASSERT_EQ(h.parse(R"({"type":"channel_data","id":"BTC-USD","channel":"v4_trades","contents":{"trades":[)"
                    R"({"id":"a","side":"BUY","size":"1","price":"2","createdAt":"2024-05-01T12:00:00.123Z"},)"
                    R"({"id":"b","side":"BUY","size":"-1","price":"2","createdAt":"2024-05-01T12:00:00.123Z"},)"
                    R"({"id":"c","side":"SELL","size":"3","price":"2","createdAt":"2024-05-01T12:00:00.124Z"}]}})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 3.0);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
}

TEST(DydxMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  for (std::size_t n = 0; n < kV4.size(); ++n) {
    const ParseOutcome outcome = h.parse(kV4.substr(0, n));
    EXPECT_LE(h.out.size(), 2u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated(kV4);
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 2u);
  }
  EXPECT_EQ(h.parser->stats().frames, kV4.size() + 2000);
}

TEST(DydxAllocation, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame trade, book, snapshot;
  trade.assign(kV4);
  book.assign(R"({"type":"channel_data","id":"BTC-USD","channel":"v4_orderbook","contents":{"bids":[["1","2"]]}})");
  snapshot.assign(R"({"type":"subscribed","channel":"v4_trades","id":"BTC-USD","contents":{"trades":[]}})");
  ASSERT_EQ(h.parser->parse(trade.view(), 1, h.out), ParseOutcome::kEvents);  // warm-up: market resolved
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(trade.view(), 1, h.out);
    h.parser->parse(book.view(), 1, h.out);
    h.parser->parse(snapshot.view(), 1, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 2002u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/dydx.cc).

TEST(DydxPlan, UrlSubscribeMessagesPacingAndLimits) {
  LiveFeedConfig c;
  c.venue = Venue::kDydx;
  c.symbols = {"BTC-USD", "eth-usd"};
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "indexer.dydx.trade");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/v4/ws");
  EXPECT_EQ(p.parser_name, "DYDX");
  ASSERT_EQ(p.subscribe.size(), 2u);
  EXPECT_EQ(p.subscribe[0], R"({"type":"subscribe","channel":"v4_trades","id":"BTC-USD"})");
  EXPECT_EQ(p.subscribe[1], R"({"type":"subscribe","channel":"v4_trades","id":"ETH-USD"})");
  EXPECT_EQ(p.subscribe_interval, std::chrono::milliseconds{500});  // 2 subscribe messages/s
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(p.ping_text, "");  // websocket ping frames
  // Liquidations ride on v4_trades: the same channel either way.
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"v4_trades"});
  c.liquidations = false;
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"v4_trades"});
  const VenueProtocol& d = venue_protocol(Venue::kDydx);
  EXPECT_EQ(d.exchange, "DYDX");
  EXPECT_EQ(d.market_pair("eth-usd"), "ETH-USD");
  EXPECT_EQ(d.gaps({"v4_trades"}), GapDetection::kTime);
  EXPECT_EQ(d.max_topics, 32u);
  // Refused at start: 33 markets on one connection, other channels, quotes.
  c.symbols.clear();
  for (int i = 0; i < 33; ++i) c.symbols.push_back("C" + std::to_string(i) + "-USD");
  EXPECT_THROW(plan_for(c), std::invalid_argument);
  c.symbols = {"BTC-USD"};
  c.channels = {"v4_orderbook"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
  c.channels.clear();
  c.symbols = {"BTC\"-USD"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
