// Bitstamp parser (feeds/bitstamp_parser.cc): the real capture checked
// against an independent reference (tests/tools/bitstamp_reference.py),
// hand-written frames in the documented shapes, malformed input, and the
// allocation-free trade path.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
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
  Harness() : parser(make_parser("BITSTAMP", registry)) {}
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

// The capture (whole): 20 diff_order_book/live_trades subscriptions on 10
// pairs, 10 ethusd trades, 717 book frames.
TEST(BitstampCapture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = test::test_data("cryptofeed/BITSTAMP.ws.1.0.gz");
  const auto ref = test::run_reference("bitstamp_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h;
  const test::Totals totals = test::replay(*h.parser, capture);
  test::expect_matches_reference(totals, h.parser->stats(), ref, /*numeric_ids=*/true);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(totals.trades, 10u);
  EXPECT_EQ(totals.taker_buys, 1u);
  EXPECT_EQ(totals.first_id, 216000477u);
  EXPECT_EQ(totals.last_id, 216000506u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 717u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 20u);
  EXPECT_EQ(h.parser->stats().frames, 747u);
  EXPECT_EQ(ref.at("per_market"), "BITSTAMP:ethusd:10");
  ASSERT_FALSE(totals.first_trades.empty());
  const Trade& first = totals.first_trades[0];
  EXPECT_EQ(h.registry.info(first.market).name, "BITSTAMP:ethusd");
  EXPECT_EQ(h.registry.info(first.market).kind, InstrumentKind::kSpot);
  EXPECT_EQ(first.side, Side::kBuy);  // type 0
  EXPECT_DOUBLE_EQ(first.price, 3805.44);
  EXPECT_DOUBLE_EQ(first.qty, 0.0792);
  EXPECT_EQ(first.exchange_ts_ns, 1641343699596000000);
  EXPECT_EQ(first.flags, kTradeNone);
  EXPECT_EQ(h.parser->stats().liquidations, 0u);
}

constexpr std::string_view kTrade =
    R"({"data":{"id":311000001,"timestamp":"1714567890","amount":0.015,"amount_str":"0.01500000",)"
    R"("price":63250.5,"price_str":"63250.5","type":1,"microtimestamp":"1714567890123456",)"
    R"("buy_order_id":1,"sell_order_id":2},"channel":"live_trades_btcusd","event":"trade"})";

TEST(BitstampTrades, FieldsAndSide) {
  Harness h;
  ASSERT_EQ(h.parse(kTrade), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "BITSTAMP:btcusd");
  EXPECT_EQ(h.trade(0).trade_id, 311000001u);
  EXPECT_EQ(h.trade(0).side, Side::kSell);  // type 1
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.015);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 63250.5);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890123456000);  // microseconds, exact
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  // Strings are accepted for price and amount too.
  ASSERT_EQ(h.parse(R"({"data":{"id":7,"amount":"2","price":"10.5","type":0,"microtimestamp":"1714567890000001"},)"
                    R"("channel":"live_trades_ethbtc","event":"trade"})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "BITSTAMP:ethbtc");
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).notional(), 21.0);
}

TEST(BitstampSkips, ControlBookOtherAndReconnectRequests) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"event":"bts:subscription_succeeded","channel":"live_trades_btcusd","data":{}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"bts:heartbeat","channel":"","data":{"status":"success"}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"bts:request_reconnect","channel":"","data":""})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"bts:error","channel":"","data":{"code":null,"message":"Bad subscription string."}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"data":{"bids":[["1","2"]]},"channel":"diff_order_book_btcusd","event":"data"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"data":{"bids":[]},"channel":"order_book_btcusd","event":"data"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"data":{"id":1},"channel":"live_orders_btcusd","event":"order_created"})"),
            ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 4u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s.trades, 0u);
}

void expect_error(Harness& h, std::string_view bad, ParseError reason) {
  SCOPED_TRACE(std::string(bad.substr(0, 160)));
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(bad), ParseOutcome::kError);
  EXPECT_TRUE(h.out.empty());
  const ParseStats after = h.parser->stats();
  EXPECT_EQ(after[reason] - before[reason], 1u) << "expected " << to_string(reason);
  EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
  ASSERT_EQ(h.parse(kTrade), ParseOutcome::kEvents);  // the next good frame parses
  EXPECT_EQ(h.trade(0).trade_id, 311000001u);
}

std::string trade_with(std::string_view data) {
  return std::string(R"({"data":{)") + std::string(data) + R"(},"channel":"live_trades_btcusd","event":"trade"})";
}

TEST(BitstampMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error(h, kTrade.substr(0, kTrade.size() - 3), ParseError::kTruncated);
  expect_error(h, "", ParseError::kTruncated);
  expect_error(h, test::random_bytes(200, 7), ParseError::kTruncated);
  expect_error(h, "[1,2]", ParseError::kBadType);
  expect_error(h, R"({"event":7})", ParseError::kBadType);
  expect_error(h, R"({"channel":"live_trades_btcusd"})", ParseError::kMissingField);
  expect_error(h, R"({"event":"trade"})", ParseError::kMissingField);
  expect_error(h, R"({"channel":"live_trades_btcusd","event":"trade","data":[]})", ParseError::kBadType);
  expect_error(h, R"({"channel":"live_trades_btcusd","event":"order_created","data":{}})", ParseError::kUnknownChannel);
  expect_error(h, trade_with(R"("id":1,"amount":1,"price":2,"type":0)"), ParseError::kMissingField);
  expect_error(h, trade_with(R"("id":"x","amount":1,"price":2,"type":0,"microtimestamp":"1714567890000000")"),
               ParseError::kBadType);
  expect_error(h, trade_with(R"("id":1,"amount":1,"price":2,"type":2,"microtimestamp":"1714567890000000")"),
               ParseError::kBadValue);
  expect_error(h, trade_with(R"("id":1,"amount":0,"price":2,"type":0,"microtimestamp":"1714567890000000")"),
               ParseError::kBadValue);
  expect_error(h, trade_with(R"("id":1,"amount":1,"price":-2,"type":0,"microtimestamp":"1714567890000000")"),
               ParseError::kBadValue);
  expect_error(h, trade_with(R"("id":1,"amount":1,"price":2,"type":0,"microtimestamp":"1714567890")"),
               ParseError::kBadValue);  // seconds, not microseconds
  expect_error(h, trade_with(R"("id":1,"amount":1,"price":2,"type":0,"microtimestamp":"17145678900x0000")"),
               ParseError::kBadValue);
  expect_error(h,
               R"({"data":{"id":1,"amount":1,"price":2,"type":0,"microtimestamp":"1714567890000000"},)"
               R"("channel":"live_trades_","event":"trade"})",
               ParseError::kUnknownMarket);  // no pair
  EXPECT_EQ(h.parser->stats().frames, 2u * 17u);
}

TEST(BitstampMalformed, EveryPrefixIsAccountedFor) {
  Harness h;
  for (std::size_t n = 0; n < kTrade.size(); ++n) {
    EXPECT_EQ(h.parse(kTrade.substr(0, n)), ParseOutcome::kError) << n;
    EXPECT_TRUE(h.out.empty());
  }
  EXPECT_EQ(h.parser->stats().total_errors(), kTrade.size());
}

TEST(BitstampAllocation, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame trade, book, ack;
  trade.assign(kTrade);
  book.assign(R"({"data":{"bids":[["1","2"]]},"channel":"diff_order_book_btcusd","event":"data"})");
  ack.assign(R"({"event":"bts:heartbeat","channel":"","data":{"status":"success"}})");
  ASSERT_EQ(h.parser->parse(trade.view(), 1, h.out), ParseOutcome::kEvents);  // warm-up: market resolved
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(trade.view(), 1, h.out);
    h.parser->parse(book.view(), 1, h.out);
    h.parser->parse(ack.view(), 1, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 1001u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/bitstamp.cc).

TEST(BitstampPlan, UrlSubscribeMessagesAndKeepalive) {
  LiveFeedConfig c;
  c.venue = Venue::kBitstamp;
  c.symbols = {"btcusd", "ETHUSD"};
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "ws.bitstamp.net");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/");
  EXPECT_EQ(p.parser_name, "BITSTAMP");
  ASSERT_EQ(p.subscribe.size(), 2u);
  EXPECT_EQ(p.subscribe[0], R"({"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}})");
  EXPECT_EQ(p.subscribe[1], R"({"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}})");
  EXPECT_EQ(p.subscribe_interval, std::chrono::milliseconds{0});
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(p.ping_text, R"({"event":"bts:heartbeat"})");
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"live_trades"});  // spot: no liquidations
  const VenueProtocol& d = venue_protocol(Venue::kBitstamp);
  EXPECT_EQ(d.exchange, "BITSTAMP");
  EXPECT_EQ(d.market_pair("ETHUSD"), "ethusd");
  EXPECT_EQ(d.gaps({"live_trades"}), GapDetection::kTime);  // one id counter across pairs
  EXPECT_EQ(d.max_topics, 0u);
  c.channels = {"diff_order_book"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
  c.channels.clear();
  c.symbols = {"btc\"usd"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
