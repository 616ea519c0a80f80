// Aster (Binance USD-M protocol) through the Binance parser under the id
// ASTER (feeds/binance_parser.cc): a fixture derived from the bundled
// Binance USD-M capture (tests/data/fixtures/aster.txt: the trades rewritten
// as aggTrade, forceOrder frames hand-written) checked against an independent
// reference (tests/tools/binance_fixture_reference.py), aggr-server's upper-case market
// names, liquidations and allocation-free parsing. The live plan
// (feeds/venues/aster.cc) is in aster_plan_test.cc.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/live_feed.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

constexpr std::string_view kAggTrade =
    R"({"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161256322,"a":5266583935,"s":"BTCUSDT",)"
    R"("p":"61800.30","q":"0.006","f":5266583935,"l":5266583935,"T":1723161256322,"m":false}})";
constexpr std::string_view kForceOrder =
    R"({"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1723161256400,"o":{"s":"BTCUSDT","S":"SELL",)"
    R"("o":"LIMIT","f":"IOC","q":"0.014","p":"61700.10","ap":"61755.20","X":"FILLED","l":"0.014","z":"0.014",)"
    R"("T":1723161256399}}})";

TEST(AsterFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/aster.txt");
  const auto ref = test::run_reference("binance_fixture_reference.py", "'" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("ASTER", registry);
  const test::Totals totals = test::replay(*parser, path);
  test::expect_matches_reference(totals, parser->stats(), ref, /*numeric_ids=*/true);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(parser->stats().frames, 154u);
  EXPECT_EQ(parser->stats().trades, 152u);
  EXPECT_EQ(parser->stats().liquidations, 2u);
  EXPECT_EQ(totals.taker_buys, 95u);
  EXPECT_EQ(totals.first_id, 5266583935u);
  EXPECT_EQ(totals.last_id, 5266584084u);
  ASSERT_FALSE(totals.first_trades.empty());
  EXPECT_EQ(registry.info(totals.first_trades[0].market).name, "ASTER:BTCUSDT");
  EXPECT_EQ(registry.size(), 1u);
}

TEST(AsterTrades, AggTradeIsLinearBaseWithUpperCasePair) {
  MarketRegistry registry;
  auto parser = make_parser("ASTER", registry);
  EventBuffer out;
  ASSERT_EQ(test::parse_frame(*parser, kAggTrade, out), ParseOutcome::kEvents);
  ASSERT_EQ(out.size(), 1u);
  const Trade& t = out[0].trade;
  EXPECT_EQ(registry.info(t.market).name, "ASTER:BTCUSDT");
  EXPECT_EQ(registry.info(t.market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(t.trade_id, 5266583935u);
  EXPECT_DOUBLE_EQ(t.qty, 0.006);
  EXPECT_DOUBLE_EQ(t.price, 61800.30);
  EXPECT_EQ(t.side, Side::kBuy);  // m false: the buyer took
  EXPECT_EQ(t.exchange_ts_ns, 1723161256322 * 1'000'000);
  EXPECT_EQ(t.flags, kTradeNone);
}

TEST(AsterTrades, ForceOrderIsALiquidationOfTheOrderSide) {
  MarketRegistry registry;
  auto parser = make_parser("ASTER", registry);
  EventBuffer out;
  ASSERT_EQ(test::parse_frame(*parser, kForceOrder, out), ParseOutcome::kEvents);
  ASSERT_EQ(out.size(), 1u);
  const Trade& t = out[0].trade;
  EXPECT_EQ(registry.info(t.market).name, "ASTER:BTCUSDT");
  EXPECT_EQ(t.flags, kTradeLiquidation | kTradeIdHashed);
  EXPECT_EQ(t.side, Side::kSell);       // a SELL liquidation order: a long was liquidated
  EXPECT_DOUBLE_EQ(t.price, 61755.20);  // the average fill price
  EXPECT_DOUBLE_EQ(t.qty, 0.014);
  EXPECT_EQ(t.exchange_ts_ns, 1723161256399 * 1'000'000);
  EXPECT_EQ(parser->stats().liquidations, 1u);
}

TEST(AsterTrades, SymbolsEndingInUsdAreNotCoinMargined) {
  // Binance's rule (a root ending in "usd" is COIN-M) does not apply: Aster
  // lists USDT-margined contracts only, so a *USD symbol is linear base.
  MarketRegistry registry;
  auto parser = make_parser("ASTER", registry);
  EventBuffer out;
  ASSERT_EQ(test::parse_frame(*parser,
                              R"({"stream":"xyzusd@aggTrade","data":{"e":"aggTrade","E":1723161256322,"a":1,)"
                              R"("s":"XYZUSD","p":"2","q":"3","f":1,"l":1,"T":1723161256322,"m":true}})",
                              out),
            ParseOutcome::kEvents);
  EXPECT_DOUBLE_EQ(out[0].trade.qty, 3.0);
  EXPECT_EQ(registry.info(out[0].trade.market).name, "ASTER:XYZUSD");
}

TEST(AsterAllocation, SteadyStateParsingAllocatesNothing) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under ASan";
  MarketRegistry registry;
  auto parser = make_parser("ASTER", registry);
  PaddedFrame trade, liquidation;
  trade.assign(kAggTrade);
  liquidation.assign(kForceOrder);
  EventBuffer out;
  parser->parse(trade.view(), 1, out);
  parser->parse(liquidation.view(), 1, out);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    parser->parse(trade.view(), 1, out);
    parser->parse(liquidation.view(), 1, out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(parser->stats().trades, 2002u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/aster.cc).

TEST(AsterPlan, CombinedStreamsWithLiquidationsByDefault) {
  LiveFeedConfig c;
  c.venue = Venue::kAster;
  c.symbols = {"BTCUSDT", "ethusdt"};
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "fstream.asterdex.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/stream?streams=btcusdt@aggTrade/btcusdt@forceOrder/ethusdt@aggTrade/ethusdt@forceOrder");
  EXPECT_EQ(p.parser_name, "ASTER");
  EXPECT_TRUE(p.subscribe.empty());  // streams in the URL: nothing to send, nothing to pace
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_TRUE(p.ping_text.empty());  // websocket ping frames
  c.liquidations = false;
  EXPECT_EQ(plan_for(c).target, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade");
  const VenueProtocol& v = venue_protocol(Venue::kAster);
  EXPECT_EQ(v.market_pair("btcusdt"), "BTCUSDT");
  EXPECT_EQ(v.rest_symbol("BTCUSDT"), "BTCUSDT");
  EXPECT_EQ(v.gaps({"aggTrade", "forceOrder"}), GapDetection::kIds);
  EXPECT_EQ(v.gaps({"aggTrade", "trade"}), GapDetection::kNone);
  EXPECT_EQ(v.max_topics, 1024u);
  c.liquidations = true;
  c.symbols.assign(513, "btcusdt");  // 1026 streams
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
