// Crypto.com Exchange v1 parser (feeds/cryptocom_parser.cc). Crypto.com has
// no public capture: tests/data/fixtures/cryptocom.txt is HAND-WRITTEN in the
// documented v1 shapes and checked against an independent reference
// (tests/tools/cryptocom_reference.py); the heartbeat reply, snapshots,
// malformed frames, allocation-free parse.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/event_buffer.h"
#include "feeds/json_support.h"
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
  Harness() : parser(make_parser("CRYPTOCOM", registry)) {}
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

TEST(CryptoComFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/cryptocom.txt");  // hand-written
  const auto ref = test::run_reference("cryptocom_reference.py", "'" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("CRYPTOCOM", registry);
  const test::Totals t = test::replay(*parser, path);
  test::expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/true);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(t.trades, 6u);
  EXPECT_EQ(t.first_id, 4611686018455979970u);
  EXPECT_EQ(t.last_id, 4611686018455979995u);
  EXPECT_EQ(parser->stats()[SkipKind::kSnapshot], 1u);  // the subscribe reply's recent trades
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 2u);   // heartbeat, error reply
  EXPECT_EQ(parser->stats()[SkipKind::kBook], 1u);
  // The last heartbeat seen is waiting to be answered.
  EXPECT_EQ(parser->pending_reply(), R"({"id":1714567890590,"method":"public/respond-heartbeat"})");
  ASSERT_EQ(t.first_trades.size(), 4u);
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(registry.info(first.market).name, "CRYPTOCOM:BTC_USDT");
  EXPECT_EQ(registry.info(first.market).kind, InstrumentKind::kSpot);
  EXPECT_DOUBLE_EQ(first.price, 63241.30);
  EXPECT_DOUBLE_EQ(first.qty, 0.015);
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_EQ(first.flags, kTradeIdHashed);  // numeric, but not a sequence (parser banner)
  EXPECT_EQ(first.exchange_ts_ns, 1714567890400 * 1'000'000);
  EXPECT_EQ(first.receive_ts_ns, 1714567890700000000);
  EXPECT_EQ(t.first_trades[1].side, Side::kSell);
  // The perpetual: q is base already.
  const Trade& perp = t.first_trades[2];
  EXPECT_EQ(registry.info(perp.market).name, "CRYPTOCOM:BTCUSD-PERP");
  EXPECT_EQ(registry.info(perp.market).kind, InstrumentKind::kLinear);
  EXPECT_DOUBLE_EQ(perp.qty, 0.125);
  EXPECT_EQ(perp.trade_id, 5755600460447917311u);
  EXPECT_EQ(perp.side, Side::kSell);
}

TEST(CryptoComHeartbeat, AnsweredWithItsId) {
  Harness h;
  EXPECT_TRUE(h.parser->pending_reply().empty());
  EXPECT_EQ(h.parse(R"({"id":1587523073344,"method":"public/heartbeat","code":0})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->pending_reply(), R"({"id":1587523073344,"method":"public/respond-heartbeat"})");
  h.parser->clear_reply();
  // Fields in another order; the id is still the one echoed.
  EXPECT_EQ(h.parse(R"({"method":"public/heartbeat","code":0,"id":42})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->pending_reply(), R"({"id":42,"method":"public/respond-heartbeat"})");
  h.parser->clear_reply();
  // Trades and acks leave nothing to answer.
  EXPECT_EQ(h.parse(R"({"id":1,"method":"subscribe","code":0})"), ParseOutcome::kSkipped);
  EXPECT_TRUE(h.parser->pending_reply().empty());
  // A heartbeat without an id cannot be answered: counted, nothing sent.
  EXPECT_EQ(h.parse(R"({"method":"public/heartbeat","code":0})"), ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kMissingField], 1u);
  EXPECT_TRUE(h.parser->pending_reply().empty());
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 3u);
}

constexpr std::string_view kGood =
    R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"ETH_USDT","subscription":"trade.ETH_USDT",)"
    R"("channel":"trade","data":[{"d":"555","t":1714567890400,"q":"2.5","p":"3100.5","s":"SELL","i":"ETH_USDT"}]}})";

std::string trade_frame(std::string_view trade) {
  return R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT",)"
         R"("subscription":"trade.BTC_USDT","channel":"trade","data":[{)" +
         std::string(trade) + "}]}}";
}

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

TEST(CryptoComMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error_then_recovers(h, "", ParseError::kTruncated);
  expect_error_then_recovers(h, kGood.substr(0, kGood.size() - 6), ParseError::kTruncated);
  expect_error_then_recovers(h, test::random_bytes(200, 11), ParseError::kTruncated);
  expect_error_then_recovers(h, "\"pong\"", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"id":1,"method":"public/auth","code":0})", ParseError::kUnknownChannel);
  expect_error_then_recovers(h, R"({"id":1,"code":0})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"id":"1","method":"subscribe","code":0})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"id":-1,"method":"subscribe","code":0,"result":[]})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"id":-1,"method":"subscribe","code":0,"result":{"channel":"trade","data":[]}})",
                             ParseError::kMissingField);  // no instrument_name
  expect_error_then_recovers(
      h,
      R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT","channel":"trade","data":[]}})",
      ParseError::kMissingField);  // no trades
  expect_error_then_recovers(h, trade_frame(R"("d":"1","t":1714567890400,"q":"1","p":"1","s":"HOLD")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, trade_frame(R"("d":"1","t":1714567890400,"q":"0","p":"1","s":"BUY")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, trade_frame(R"("d":"1","t":1714567890,"q":"1","p":"1","s":"BUY")"),
                             ParseError::kBadValue);  // seconds, not ms
  expect_error_then_recovers(h, trade_frame(R"("d":1,"t":1714567890400,"q":"1","p":"1","s":"BUY")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, trade_frame(R"("d":"1","t":1714567890400,"q":"x","p":"1","s":"BUY")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, trade_frame(R"("d":"1","t":1714567890400,"p":"1","s":"BUY")"),
                             ParseError::kMissingField);
  expect_error_then_recovers(
      h,
      R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC:USDT","channel":"trade","data":[{"d":"1"}]}})",
      ParseError::kUnknownMarket);
  EXPECT_EQ(h.parser->stats().trades, 17u);
}

TEST(CryptoComTrades, SnapshotsErrorsAndMixedFrames) {
  Harness h;
  // The reply to our subscribe request (id 1) carries recent trades: history.
  EXPECT_EQ(h.parse(R"({"id":1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT",)"
                    R"("subscription":"trade.BTC_USDT","channel":"trade","data":[{"d":"7","t":1714567890400,)"
                    R"("q":"1","p":"63000","s":"BUY","i":"BTC_USDT"}]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(h.parser->stats().trades, 0u);
  // The venue's errors are control frames.
  EXPECT_EQ(h.parse(R"({"id":2,"method":"subscribe","code":10004,"message":"BAD_REQUEST"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 1u);
  EXPECT_EQ(h.parse(R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT",)"
                    R"("subscription":"ticker.BTC_USDT","channel":"ticker","data":[{"h":"1"}]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kOtherChannel], 1u);
  // A bad trade among good ones; a non-numeric id is hashed.
  ASSERT_EQ(h.parse(R"({"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT",)"
                    R"("subscription":"trade.BTC_USDT","channel":"trade","data":[)"
                    R"({"d":"10","t":1714567890400,"q":"0.5","p":"63000","s":"BUY"},)"
                    R"({"d":"11","t":1714567890401,"q":"0.5","p":"-1","s":"BUY"},)"
                    R"({"d":"x12","t":1714567890402,"q":"0.25","p":"63001","s":"sell"}]}})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).trade_id, 10u);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);
  EXPECT_EQ(h.trade(1).trade_id, hash_trade_id("x12"));
  EXPECT_EQ(h.trade(1).flags, kTradeIdHashed);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
}

TEST(CryptoComTrades, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame trades, heartbeat;
  trades.assign(kGood);
  heartbeat.assign(R"({"id":1587523073344,"method":"public/heartbeat","code":0})");
  ASSERT_EQ(h.parser->parse(trades.view(), 1, h.out), ParseOutcome::kEvents);  // market resolved
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(trades.view(), 1, h.out);
    h.parser->parse(heartbeat.view(), 1, h.out);
    h.parser->clear_reply();
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 1001u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/cryptocom.cc).

TEST(CryptoComPlan, TenChannelsPerMessagePaced) {
  LiveFeedConfig config;
  config.venue = Venue::kCryptoCom;
  config.symbols = {"BTC_USDT", "btcusd-perp"};
  LiveFeedPlan plan = plan_for(config);  // liquidations on: Crypto.com has none to add
  EXPECT_EQ(plan.host, "stream.crypto.com");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/exchange/v1/market");
  EXPECT_EQ(plan.parser_name, "CRYPTOCOM");
  EXPECT_EQ(plan.subscribe,
            (std::vector<std::string>{
                R"({"id":1,"method":"subscribe","params":{"channels":["trade.BTC_USDT","trade.BTCUSD-PERP"]}})"}));
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{100});
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(plan.ping_text, "");  // websocket pings; server heartbeats answered by the parser
  // 12 symbols: two messages, 10 + 2 channels, ids 1 and 2.
  config.symbols.clear();
  for (int i = 0; i < 12; ++i) config.symbols.push_back("C" + std::to_string(i) + "_USDT");
  plan = plan_for(config);
  ASSERT_EQ(plan.subscribe.size(), 2u);
  EXPECT_TRUE(plan.subscribe[0].starts_with(R"({"id":1,"method":"subscribe","params":{"channels":["trade.C0_USDT",)"));
  EXPECT_TRUE(plan.subscribe[0].ends_with(R"("trade.C9_USDT"]}})"));
  EXPECT_EQ(plan.subscribe[1],
            R"({"id":2,"method":"subscribe","params":{"channels":["trade.C10_USDT","trade.C11_USDT"]}})");
  const VenueProtocol& venue = venue_protocol(Venue::kCryptoCom);
  EXPECT_EQ(venue.exchange, "CRYPTOCOM");
  EXPECT_EQ(venue.market_pair("btcusd-perp"), "BTCUSD-PERP");
  EXPECT_EQ(venue.gaps({"trade"}), GapDetection::kTime);
  EXPECT_EQ(venue.max_topics, 200u);
  config.symbols.assign(201, "BTC_USDT");
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
