// HitBTC ws v3 parser (feeds/hitbtc_parser.cc). HitBTC has no public
// capture: tests/data/fixtures/hitbtc.txt is HAND-WRITTEN in the documented
// v3 shapes and checked against an independent reference
// (tests/tools/hitbtc_reference.py); malformed frames, allocation-free parse.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/event_buffer.h"
#include "feeds/live_feed.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  Harness() : parser(make_parser("HITBTC", registry)) {}
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

TEST(HitbtcFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/hitbtc.txt");  // hand-written
  const auto ref = test::run_reference("hitbtc_reference.py", "'" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("HITBTC", registry);
  const test::Totals t = test::replay(*parser, path);
  test::expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/true);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(t.trades, 6u);
  EXPECT_EQ(t.first_id, 2210339531u);
  EXPECT_EQ(t.last_id, 2210339581u);
  EXPECT_EQ(parser->stats()[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kBook], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kOtherChannel], 1u);
  ASSERT_EQ(t.first_trades.size(), 4u);
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(registry.info(first.market).name, "HITBTC:BTCUSDT");
  EXPECT_EQ(registry.info(first.market).kind, InstrumentKind::kSpot);
  EXPECT_DOUBLE_EQ(first.price, 63241.30);
  EXPECT_DOUBLE_EQ(first.qty, 0.015);
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_EQ(first.flags, kTradeNone);
  EXPECT_EQ(first.exchange_ts_ns, 1714567890400 * 1'000'000);
  EXPECT_EQ(first.receive_ts_ns, 1714567890700000000);
  EXPECT_EQ(t.first_trades[1].side, Side::kSell);
  // One update frame with two symbols: both kept, in order.
  EXPECT_EQ(registry.info(t.first_trades[2].market).name, "HITBTC:BTCUSDT");
  EXPECT_EQ(registry.info(t.first_trades[3].market).name, "HITBTC:ETHUSDT");
  EXPECT_EQ(t.first_trades[3].trade_id, 2210339563u);
  EXPECT_DOUBLE_EQ(t.first_trades[3].qty, 0.5);
}

constexpr std::string_view kGood =
    R"({"ch":"trades","update":{"ETHUSDT":[{"t":1714567890400,"i":555,"p":"3100.5","q":"2.5","s":"sell"}]}})";

void expect_error_then_recovers(Harness& h, std::string_view bad, ParseError reason) {
  SCOPED_TRACE(std::string(bad));
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(bad), ParseOutcome::kError);
  EXPECT_TRUE(h.out.empty());
  const ParseStats after = h.parser->stats();
  EXPECT_EQ(after[reason] - before[reason], 1u) << "expected " << to_string(reason);
  EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
  ASSERT_EQ(h.parse(kGood), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.trade(0).trade_id, 555u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 2.5);
}

std::string update(std::string_view trade) {
  return R"({"ch":"trades","update":{"BTCUSDT":[{)" + std::string(trade) + "}]}}";
}

TEST(HitbtcMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error_then_recovers(h, "", ParseError::kTruncated);
  expect_error_then_recovers(h, kGood.substr(0, kGood.size() - 4), ParseError::kTruncated);
  expect_error_then_recovers(h, test::random_bytes(200, 7), ParseError::kTruncated);
  expect_error_then_recovers(h, "[1,2]", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"method":"ping"})", ParseError::kUnknownChannel);
  expect_error_then_recovers(h, R"({"ch":"trades"})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"update":{"BTCUSDT":[]},"ch":"trades"})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"ch":"trades","update":{"BTCUSDT":[]}})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"ch":"trades","update":[1]})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"ch":"trades","update":{"BTCUSDT":{"t":1}}})", ParseError::kBadType);
  expect_error_then_recovers(h, update(R"("t":1714567890400,"i":"x","p":"1","q":"1","s":"buy")"), ParseError::kBadType);
  expect_error_then_recovers(h, update(R"("t":"2024-05-01T12:51:30.400Z","i":1,"p":"1","q":"1","s":"buy")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, update(R"("t":1714567890400,"i":1,"p":"1","s":"buy")"), ParseError::kMissingField);
  expect_error_then_recovers(h, update(R"("t":1714567890400,"i":1,"p":"0","q":"1","s":"buy")"), ParseError::kBadValue);
  expect_error_then_recovers(h, update(R"("t":1714567890400,"i":1,"p":"1","q":"1","s":"hold")"), ParseError::kBadValue);
  expect_error_then_recovers(h, update(R"("t":17145678904,"i":1,"p":"1","q":"1","s":"buy")"), ParseError::kBadValue);
  expect_error_then_recovers(
      h, R"({"ch":"trades","update":{"BTC:USDT":[{"t":1714567890400,"i":1,"p":"1","q":"1","s":"buy"}]}})",
      ParseError::kUnknownMarket);
  EXPECT_EQ(h.parser->stats().trades, 17u);
}

TEST(HitbtcTrades, BadTradeAmongGoodOnesAndTheAllowlist) {
  Harness h;
  ASSERT_EQ(h.parse(R"({"ch":"trades","update":{"BTCUSDT":[{"t":1714567890400,"i":10,"p":"63000","q":"0.1","s":"buy"},)"
                    R"({"t":1714567890401,"i":11,"p":"63000","q":"-1","s":"buy"}],)"
                    R"("ETHUSDT":[{"t":1714567890402,"i":12,"p":"3000","q":"1","s":"sell"}]}})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).trade_id, 10u);
  EXPECT_EQ(h.trade(1).trade_id, 12u);
  EXPECT_EQ(h.market_name(1), "HITBTC:ETHUSDT");
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  // A connection subscribed to BTCUSDT only: ETHUSDT trades are unconfigured.
  h.parser->markets().set_allowlist({"BTCUSDT"});
  EXPECT_EQ(
      h.parse(R"({"ch":"trades","update":{"ETHUSDT":[{"t":1714567890402,"i":13,"p":"3000","q":"1","s":"sell"}]}})"),
      ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kUnconfigured], 1u);
  ASSERT_EQ(h.parse(R"({"ch":"trades","update":{"ETHUSDT":[{"t":1714567890402,"i":14,"p":"3000","q":"1","s":"sell"}],)"
                    R"("BTCUSDT":[{"t":1714567890403,"i":15,"p":"63001","q":"0.2","s":"sell"}]}})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.trade(0).trade_id, 15u);
  // Replies of any kind are control.
  EXPECT_EQ(h.parse(R"({"error":{"code":2001,"message":"Symbol not found"},"id":3})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"result":true,"id":4})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 2u);
}

TEST(HitbtcTrades, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame trades, book;
  trades.assign(R"({"ch":"trades","update":{"BTCUSDT":[{"t":1714567890400,"i":10,"p":"63000","q":"0.1","s":"buy"},)"
                R"({"t":1714567890401,"i":11,"p":"63000.5","q":"0.3","s":"sell"}]}})");
  book.assign(R"({"ch":"orderbook/top/1000ms","data":{"BTCUSDT":{"t":1,"a":"1","A":"1","b":"1","B":"1"}}})");
  ASSERT_EQ(h.parser->parse(trades.view(), 1, h.out), ParseOutcome::kEvents);  // market resolved
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(trades.view(), 1, h.out);
    h.parser->parse(book.view(), 1, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 2002u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/hitbtc.cc).

TEST(HitbtcPlan, OneMessageNamesEverySymbol) {
  LiveFeedConfig config;
  config.venue = Venue::kHitbtc;
  config.symbols = {"BTCUSDT", "ethusdt"};
  LiveFeedPlan plan = plan_for(config);  // liquidations on: HitBTC has none to add
  EXPECT_EQ(plan.host, "api.hitbtc.com");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/api/3/ws/public");
  EXPECT_EQ(plan.parser_name, "HITBTC");
  EXPECT_EQ(
      plan.subscribe,
      (std::vector<std::string>{
          R"({"method":"subscribe","ch":"trades","params":{"symbols":["BTCUSDT","ETHUSDT"],"limit":0},"id":1})"}));
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{0});
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(plan.ping_text, "");  // websocket pings
  const VenueProtocol& venue = venue_protocol(Venue::kHitbtc);
  EXPECT_EQ(venue.exchange, "HITBTC");
  EXPECT_EQ(venue.market_pair("ethusdt"), "ETHUSDT");
  EXPECT_EQ(venue.gaps({"trades"}), GapDetection::kTime);
  // An override path and port (tests), and a symbol that would break the JSON.
  config.path = "/ws";
  config.port = 9443;
  plan = plan_for(config);
  EXPECT_EQ(plan.target, "/ws");
  EXPECT_EQ(plan.port, 9443);
  config.symbols = {"BTC\\USDT"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
