// Poloniex parser (feeds/poloniex_parser.cc). No capture exists: the
// hand-written fixture tests/data/fixtures/poloniex.txt (Poloniex v3 docs'
// shapes) checked against an independent reference
// (tests/tools/poloniex_reference.py), plus skips, malformed input and
// allocation-free parsing.
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
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  Harness() : parser(make_parser("POLONIEX", registry)) {}
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

// Poloniex's documented trades sample (hand-written).
constexpr std::string_view kTrade =
    R"({"channel":"trades","data":[{"symbol":"BTC_USDT","amount":"70","takerSide":"buy","quantity":"4",)"
    R"("createTime":1648059516810,"price":"17.5","id":1648059516810,"ts":1648059516832}]})";

TEST(PoloniexFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string fixture = test::test_data("fixtures/poloniex.txt");
  const auto ref = test::run_reference("poloniex_reference.py", "'" + fixture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h;
  const test::Totals t = test::replay(*h.parser, fixture);
  test::expect_matches_reference(t, h.parser->stats(), ref, /*numeric_ids=*/true);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(t.trades, 7u);
  EXPECT_EQ(t.taker_buys, 4u);
  EXPECT_EQ(t.first_id, 120447001u);
  EXPECT_EQ(t.last_id, 120447005u);
  EXPECT_DOUBLE_EQ(t.sum_qty, 2.867);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 3u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 1u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kOtherChannel], 1u);
  ASSERT_FALSE(t.first_trades.empty());
  EXPECT_EQ(h.registry.info(t.first_trades[0].market).name, "POLONIEX:BTC_USDT");
  EXPECT_DOUBLE_EQ(t.first_trades[0].price, 96406.25);
  EXPECT_DOUBLE_EQ(t.first_trades[0].qty, 0.01);
  EXPECT_EQ(t.first_trades[0].exchange_ts_ns, 1733312300150000000);
  EXPECT_EQ(t.first_trades[0].receive_ts_ns, 1733312300200000000);
}

TEST(PoloniexTrades, DocumentedSample) {
  Harness h;
  ASSERT_EQ(h.parse(kTrade), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "POLONIEX:BTC_USDT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kSpot);
  EXPECT_EQ(h.trade(0).trade_id, 1648059516810u);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 17.5);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 4.0);  // quantity (base); amount / price is the same 70 / 17.5
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1648059516810 * 1'000'000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(0).flags, kTradeNone);
}

TEST(PoloniexSkips, ControlBookAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"event":"subscribe","channel":"trades","symbols":["BTC_USDT"]})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"pong"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"error","message":"Subscription failed"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"channel":"book","data":[{"symbol":"BTC_USDT","asks":[],"bids":[]}]})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"channel":"candles_minute_1","data":[{"symbol":"BTC_USDT"}]})"), ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.total_errors(), 0u);
}

TEST(PoloniexTrades, AllowlistSkipsOtherSymbols) {
  Harness h;
  h.parser->markets().set_allowlist({"ETH_USDT"});
  EXPECT_EQ(h.parse(kTrade), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kUnconfigured], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

std::string trades_with(std::string_view fields) {
  return R"({"channel":"trades","data":[{)" + std::string(fields) + "}]}";
}

TEST(PoloniexMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  const std::vector<test::Malformed> cases = {
      {"cut short", std::string(kTrade.substr(0, 50)), ParseError::kTruncated},
      {"empty", "", ParseError::kTruncated},
      {"noise", test::random_bytes(200, 11), ParseError::kTruncated},
      {"not an object", "[1]", ParseError::kBadType},
      {"neither channel nor event", R"({"data":[]})", ParseError::kMissingField},
      {"channel not a string", R"({"channel":1,"data":[]})", ParseError::kBadType},
      {"no data", R"({"channel":"trades"})", ParseError::kMissingField},
      {"empty data", R"({"channel":"trades","data":[]})", ParseError::kMissingField},
      {"element not an object", R"({"channel":"trades","data":[1]})", ParseError::kBadType},
      {"no price",
       trades_with(R"("symbol":"BTC_USDT","takerSide":"buy","quantity":"4","createTime":1648059516810,"id":1)"),
       ParseError::kMissingField},
      {"price not numeric",
       trades_with(
           R"("symbol":"BTC_USDT","takerSide":"buy","quantity":"4","createTime":1648059516810,"price":"x","id":1)"),
       ParseError::kBadType},
      {"negative quantity",
       trades_with(
           R"("symbol":"BTC_USDT","takerSide":"buy","quantity":"-4","createTime":1648059516810,"price":"1","id":1)"),
       ParseError::kBadValue},
      {"time in seconds",
       trades_with(
           R"("symbol":"BTC_USDT","takerSide":"buy","quantity":"4","createTime":1648059516,"price":"1","id":1)"),
       ParseError::kBadValue},
      {"bad side",
       trades_with(
           R"("symbol":"BTC_USDT","takerSide":"x","quantity":"4","createTime":1648059516810,"price":"1","id":1)"),
       ParseError::kBadValue},
  };
  for (const test::Malformed& c : cases) {
    SCOPED_TRACE(c.name);
    const ParseStats before = h.parser->stats();
    EXPECT_EQ(h.parse(c.text), ParseOutcome::kError);
    EXPECT_TRUE(h.out.empty());
    const ParseStats after = h.parser->stats();
    EXPECT_EQ(after[c.expected] - before[c.expected], 1u) << "expected " << to_string(c.expected);
    EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
    ASSERT_EQ(h.parse(kTrade), ParseOutcome::kEvents);
    EXPECT_DOUBLE_EQ(h.trade(0).qty, 4.0);
  }
  EXPECT_EQ(h.parser->stats().frames, 2 * cases.size());
}

TEST(PoloniexMalformed, OneBadTradeAmongGoodOnes) {
  Harness h;
  ASSERT_EQ(
      h.parse(
          R"({"channel":"trades","data":[)"
          R"({"symbol":"BTC_USDT","takerSide":"buy","quantity":"1","createTime":1648059516810,"price":"10","id":1},)"
          R"({"symbol":"BTC_USDT","takerSide":"buy","quantity":"1","createTime":1648059516810,"price":"0","id":2},)"
          R"({"symbol":"BTC_USDT","takerSide":"sell","quantity":"2","createTime":1648059516811,"price":"11","id":3}]})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(1).trade_id, 3u);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
}

TEST(PoloniexMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  for (std::size_t n = 0; n < kTrade.size(); ++n) {
    const ParseOutcome outcome = h.parse(kTrade.substr(0, n));
    EXPECT_LE(h.out.size(), 1u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(13);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated(kTrade);
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 1u);
  }
  EXPECT_EQ(h.parser->stats().frames, kTrade.size() + 2000);
}

TEST(PoloniexAllocation, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame frame;
  frame.assign(kTrade);
  ASSERT_EQ(h.parser->parse(frame.view(), kRecv, h.out), ParseOutcome::kEvents);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(frame.view(), kRecv, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/poloniex.cc).

TEST(PoloniexPlan, OneSubscriptionPerSymbolPacedWithClientPings) {
  LiveFeedConfig config;
  config.venue = Venue::kPoloniex;
  config.symbols = {"BTC_USDT", "ETH_USDT"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "ws.poloniex.com");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/ws/public");
  EXPECT_EQ(plan.subscribe,
            (std::vector<std::string>{R"({"event":"subscribe","channel":["trades"],"symbols":["BTC_USDT"]})",
                                      R"({"event":"subscribe","channel":["trades"],"symbols":["ETH_USDT"]})"}));
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{100});
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{20'000});
  EXPECT_EQ(plan.ping_text, R"({"event":"ping"})");
  EXPECT_EQ(channels_for(config), (std::vector<std::string>{"trades"}));  // spot: no liquidations
  config.symbols = {"BTC\"USDT"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
