// KuCoin parser (feeds/kucoin_parser.cc): the real spot capture checked
// against an independent reference (tests/tools/kucoin_reference.py),
// hand-written futures fixtures in the documented /contractMarket/execution
// shape (no futures capture exists), skips, malformed input, the allowlist,
// and allocation-free parsing.
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
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  explicit Harness(std::string_view exchange = "KUCOIN") : parser(make_parser(exchange, registry)) {}
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

// A spot match as the capture has it (data first).
constexpr std::string_view kSpot =
    R"({"data":{"symbol":"BTC-USDT","sequence":"1612701563869","side":"sell","size":"0.0267","price":"63241.3",)"
    R"("takerOrderId":"6085c097587c2000060cde57","time":"1619378327739050725","type":"match",)"
    R"("makerOrderId":"6085c06144b3790006512a4d","tradeId":"6085c09769bc506996295e36"},)"
    R"("subject":"trade.l3match","topic":"/market/match:BTC-USDT","type":"message"})";

// ---------------------------------------------------------------------------
// The real capture (trimmed: every match frame kept, see tests/data/README.md).

TEST(KucoinCapture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = test::test_data("cryptofeed/KUCOIN.ws.1.0.gz");
  const auto ref = test::run_reference("kucoin_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h;
  const test::Totals t = test::replay(*h.parser, capture);
  test::expect_matches_reference(t, h.parser->stats(), ref, /*numeric_ids=*/true);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(t.trades, 18u);
  EXPECT_EQ(t.taker_buys, 15u);
  EXPECT_EQ(t.first_id, 1612701563869u);
  EXPECT_EQ(t.last_id, 1613277185940u);
  EXPECT_EQ(h.parser->stats().frames, 98u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 14u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 40u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kOtherChannel], 26u);
  ASSERT_FALSE(t.first_trades.empty());
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(h.registry.info(first.market).name, "KUCOIN:DAPPT-BTC");
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_DOUBLE_EQ(first.price, 0.0000001117);
  EXPECT_DOUBLE_EQ(first.qty, 81.8814);
  EXPECT_EQ(first.exchange_ts_ns, 1619378327739050725);
  EXPECT_EQ(first.flags, kTradeNone);
  std::map<std::string, int> per_market;
  const test::CaptureRun run = [&] {
    Harness again;
    test::CaptureRun r = test::run_capture(*again.parser, capture);
    for (const Trade& trade : r.trades) ++per_market[again.registry.info(trade.market).name];
    return r;
  }();
  EXPECT_EQ(run.trades.size(), 18u);
  EXPECT_EQ((per_market ==
             std::map<std::string, int>{{"KUCOIN:DAPPT-BTC", 12}, {"KUCOIN:BCHSV-USDT", 5}, {"KUCOIN:FET-BTC", 1}}),
            true);
}

// ---------------------------------------------------------------------------
// Spot and futures fixtures (hand-written; values computed by hand).

TEST(KucoinTrades, SpotFieldsInEitherOrder) {
  Harness h;
  ASSERT_EQ(h.parse(kSpot), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "KUCOIN:BTC-USDT");
  EXPECT_EQ(h.trade(0).trade_id, 1612701563869u);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 63241.3);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.0267);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1619378327739050725);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kSpot);
  // Today's order: type, topic, subject, data.
  ASSERT_EQ(
      h.parse(R"({"type":"message","topic":"/market/match:ETH-USDT","subject":"trade.l3match","data":{)"
              R"("makerOrderId":"a","price":"3100.5","sequence":"77","side":"buy","size":"2","symbol":"ETH-USDT",)"
              R"("takerOrderId":"b","time":"1714567890400000000","tradeId":"c","type":"match"}})"),
      ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "KUCOIN:ETH-USDT");
  EXPECT_EQ(h.trade(0).trade_id, 77u);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 2.0);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890400000000);
}

TEST(KucoinTrades, FuturesContractsBecomeBase) {
  Harness h("KUCOIN_FUTURES");
  EXPECT_EQ(h.parser->exchange(), "KUCOIN");
  // XBTUSDTM: 12 contracts of 0.001 BTC (instruments table) -> 0.012 BTC.
  ASSERT_EQ(h.parse(R"({"topic":"/contractMarket/execution:XBTUSDTM","type":"message","subject":"match","sn":1,)"
                    R"("data":{"symbol":"XBTUSDTM","sequence":36,"side":"sell","size":12,"price":"63200.5",)"
                    R"("takerOrderId":"x","makerOrderId":"y","tradeId":"z","ts":1714567890400123456}})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "KUCOIN:XBTUSDTM");
  EXPECT_EQ(h.trade(0).trade_id, 36u);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.012);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 63200.5);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890400123456);
  // XBTUSDM (inverse, 1 USD a contract): 500 contracts at 50000 -> 0.01 BTC.
  ASSERT_EQ(h.parse(R"({"topic":"/contractMarket/execution:XBTUSDM","type":"message","subject":"match",)"
                    R"("data":{"symbol":"XBTUSDM","sequence":9,"side":"buy","size":500,"price":50000,)"
                    R"("ts":1714567890500000000}})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "KUCOIN:XBTUSDM");
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.01);
  EXPECT_DOUBLE_EQ(h.trade(0).notional(), 500.0);
  // A linear contract the table does not list is never guessed.
  EXPECT_EQ(h.parse(R"({"topic":"/contractMarket/execution:SOLUSDTM","type":"message","subject":"match",)"
                    R"("data":{"symbol":"SOLUSDTM","sequence":5,"side":"buy","size":3,"price":"150",)"
                    R"("ts":1714567890500000000}})"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kUnknownInstrument], 1u);
  EXPECT_EQ(h.parser->stats().trades, 2u);
  EXPECT_EQ(h.parser->stats().liquidations, 0u);
}

TEST(KucoinSkips, ControlBookAndOtherTopics) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"id":"NSkIrWGB1s","type":"welcome"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"id":"1","type":"ack"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"id":"1714567890","type":"pong"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"id":"1","type":"error","code":404,"data":"topic /market/match:X-Y is not found"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"data":{"changes":{"asks":[],"bids":[]}},"subject":"trade.l2update",)"
                    R"("topic":"/market/level2:BTC-USDT","type":"message"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"type":"message","topic":"/contractMarket/level2:XBTUSDTM","data":{}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"data":{"price":"1"},"subject":"trade.ticker","topic":"/market/ticker:BTC-USDT",)"
                    R"("type":"message"})"),
            ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 4u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.total_errors(), 0u);
}

TEST(KucoinTrades, AllowlistSkipsOtherSymbols) {
  Harness h;
  h.parser->markets().set_allowlist({"ETH-USDT"});
  EXPECT_EQ(h.parse(kSpot), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kUnconfigured], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
  EXPECT_EQ(h.registry.size(), 0u);
}

// ---------------------------------------------------------------------------
// Malformed input: each frame counted once by reason; a good frame parses
// right afterwards.

std::string spot_with(std::string_view data_fields) {
  return R"({"type":"message","topic":"/market/match:BTC-USDT","subject":"trade.l3match","data":{)" +
         std::string(data_fields) + "}}";
}

TEST(KucoinMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  const std::vector<test::Malformed> cases = {
      {"cut short", std::string(kSpot.substr(0, kSpot.size() - 9)), ParseError::kTruncated},
      {"empty", "", ParseError::kTruncated},
      {"noise", test::random_bytes(200, 7), ParseError::kTruncated},
      {"not an object", "[1,2]", ParseError::kBadType},
      {"no type", R"({"topic":"/market/match:BTC-USDT","data":{}})", ParseError::kMissingField},
      {"type not a string", R"({"type":1})", ParseError::kBadType},
      {"no topic", R"({"type":"message","data":{}})", ParseError::kMissingField},
      {"no data", R"({"type":"message","topic":"/market/match:BTC-USDT"})", ParseError::kMissingField},
      {"data not an object", R"({"type":"message","topic":"/market/match:BTC-USDT","data":[]})", ParseError::kBadType},
      {"no price",
       spot_with(R"("symbol":"BTC-USDT","sequence":"1","side":"buy","size":"1","time":"1619378327739050725")"),
       ParseError::kMissingField},
      {"price not a number",
       spot_with(
           R"("symbol":"BTC-USDT","sequence":"1","side":"buy","size":"1","price":"x","time":"1619378327739050725")"),
       ParseError::kBadType},
      {"sequence not numeric",
       spot_with(
           R"("symbol":"BTC-USDT","sequence":"abc","side":"buy","size":"1","price":"2","time":"1619378327739050725")"),
       ParseError::kBadType},
      {"zero price",
       spot_with(
           R"("symbol":"BTC-USDT","sequence":"1","side":"buy","size":"1","price":"0","time":"1619378327739050725")"),
       ParseError::kBadValue},
      {"negative size",
       spot_with(
           R"("symbol":"BTC-USDT","sequence":"1","side":"buy","size":"-1","price":"2","time":"1619378327739050725")"),
       ParseError::kBadValue},
      {"time in ms",
       spot_with(R"("symbol":"BTC-USDT","sequence":"1","side":"buy","size":"1","price":"2","time":"1619378327739")"),
       ParseError::kBadValue},
      {"bad side",
       spot_with(
           R"("symbol":"BTC-USDT","sequence":"1","side":"up","size":"1","price":"2","time":"1619378327739050725")"),
       ParseError::kBadValue},
      {"symbol with a colon",
       spot_with(
           R"("symbol":"BTC:USDT","sequence":"1","side":"buy","size":"1","price":"2","time":"1619378327739050725")"),
       ParseError::kUnknownMarket},
  };
  for (const test::Malformed& c : cases) {
    SCOPED_TRACE(c.name);
    const ParseStats before = h.parser->stats();
    EXPECT_EQ(h.parse(c.text), ParseOutcome::kError);
    EXPECT_TRUE(h.out.empty());
    const ParseStats after = h.parser->stats();
    EXPECT_EQ(after[c.expected] - before[c.expected], 1u) << "expected " << to_string(c.expected);
    EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
    ASSERT_EQ(h.parse(kSpot), ParseOutcome::kEvents);
    EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.0267);
  }
  EXPECT_EQ(h.parser->stats().frames, 2 * cases.size());
  EXPECT_EQ(h.parser->stats().trades, cases.size());
}

TEST(KucoinMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  for (std::size_t n = 0; n < kSpot.size(); ++n) {
    const ParseOutcome outcome = h.parse(kSpot.substr(0, n));
    EXPECT_LE(h.out.size(), 1u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated(kSpot);
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 1u);
  }
  EXPECT_EQ(h.parser->stats().frames, kSpot.size() + 2000);
  ASSERT_EQ(h.parse(kSpot), ParseOutcome::kEvents);
}

TEST(KucoinAllocation, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame spot;
  spot.assign(kSpot);
  ASSERT_EQ(h.parser->parse(spot.view(), kRecv, h.out), ParseOutcome::kEvents);  // first sight interns
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(spot.view(), kRecv, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 1001u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/kucoin.cc).

TEST(KucoinPlan, SpotTopicsOfUpTo100SymbolsPacedWithABootstrap) {
  LiveFeedConfig config;
  config.venue = Venue::kKucoinSpot;
  for (int i = 0; i < 101; ++i) config.symbols.push_back("C" + std::to_string(i) + "-USDT");
  const LiveFeedPlan plan = plan_for(config);
  ASSERT_EQ(plan.subscribe.size(), 2u);  // 100 symbols, then 1
  EXPECT_TRUE(plan.subscribe[0].starts_with(R"({"id":"1","type":"subscribe","topic":"/market/match:C0-USDT,C1-USDT,)"));
  EXPECT_TRUE(plan.subscribe[0].ends_with(R"(C99-USDT","response":true})"));
  EXPECT_EQ(plan.subscribe[1], R"({"id":"2","type":"subscribe","topic":"/market/match:C100-USDT","response":true})");
  EXPECT_EQ(plan.parser_name, "KUCOIN");
  EXPECT_NE(plan.bootstrap, nullptr);
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{110});
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{18'000});  // until a bootstrap says otherwise
  EXPECT_EQ(plan.ping_text, R"({"id":"tickflow","type":"ping"})");
  EXPECT_EQ(channels_for(config), (std::vector<std::string>{"match"}));  // no liquidations on KuCoin
  config.liquidations = false;
  EXPECT_EQ(channels_for(config), (std::vector<std::string>{"match"}));
  config.symbols.assign(401, "BTC-USDT");
  EXPECT_THROW(plan_for(config), std::invalid_argument);  // 400 topics per connection
  config.symbols = {"BTC\"-USDT"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
  config.symbols = {"BTC-USDT"};
  config.channels = {"level2"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

TEST(KucoinPlan, AFailedBootstrapSaysWhyAndKeepsThePlan) {
  LiveFeedConfig config;
  config.venue = Venue::kKucoinSpot;
  config.symbols = {"BTC-USDT"};
  config.connect_timeout = std::chrono::milliseconds{500};
  config.bootstrap_url = "http://127.0.0.1:1/api/v1/bullet-public";  // nothing listens on port 1
  LiveFeedPlan plan = plan_for(config);
  const LiveFeedPlan before = plan;
  const std::string error = plan.bootstrap(config, plan);
  EXPECT_NE(error.find("http://127.0.0.1:1/api/v1/bullet-public"), std::string::npos) << error;
  EXPECT_EQ(plan.host, before.host);
  EXPECT_EQ(plan.port, before.port);
  EXPECT_EQ(plan.target, before.target);
}

}  // namespace
}  // namespace tickflow
