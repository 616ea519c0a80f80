// Binance US (Binance spot protocol) through the Binance parser under the id
// BINANCE_US (feeds/binance_parser.cc): a fixture derived from the bundled
// Binance spot capture (tests/data/fixtures/binance_us.txt: the pair renamed
// btcusd) checked against an independent reference
// (tests/tools/binance_fixture_reference.py), market names and allocation-free
// parsing. The live plan (feeds/venues/binance_us.cc) is in
// binance_us_plan_test.cc.
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

constexpr std::string_view kTrade =
    R"({"stream":"btcusd@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSD","t":3735683259,)"
    R"("p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}})";

TEST(BinanceUsFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/binance_us.txt");
  const auto ref = test::run_reference("binance_fixture_reference.py", "'" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_US", registry);
  const test::Totals totals = test::replay(*parser, path);
  test::expect_matches_reference(totals, parser->stats(), ref, /*numeric_ids=*/true);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(parser->stats().frames, 151u);
  EXPECT_EQ(parser->stats().trades, 150u);
  EXPECT_EQ(totals.taker_buys, 46u);
  EXPECT_EQ(totals.first_id, 3735683259u);
  EXPECT_EQ(totals.last_id, 3735683408u);
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 1u);
  EXPECT_EQ(parser->stats().liquidations, 0u);  // spot: no liquidations
  ASSERT_FALSE(totals.first_trades.empty());
  EXPECT_EQ(registry.info(totals.first_trades[0].market).name, "BINANCE_US:btcusd");
  EXPECT_EQ(registry.size(), 1u);
}

TEST(BinanceUsTrades, SpotTradeUnderItsOwnId) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_US", registry);
  EXPECT_EQ(parser->exchange(), "BINANCE_US");
  EventBuffer out;
  ASSERT_EQ(test::parse_frame(*parser, kTrade, out), ParseOutcome::kEvents);
  ASSERT_EQ(out.size(), 1u);
  const Trade& t = out[0].trade;
  EXPECT_EQ(registry.info(t.market).name, "BINANCE_US:btcusd");
  EXPECT_EQ(registry.info(t.market).kind, InstrumentKind::kSpot);
  EXPECT_EQ(t.trade_id, 3735683259u);
  EXPECT_EQ(t.side, Side::kSell);  // m true: the buyer was the maker
  EXPECT_DOUBLE_EQ(t.qty, 0.02);
  EXPECT_DOUBLE_EQ(t.price, 61837.63);
  EXPECT_EQ(t.exchange_ts_ns, 1723161255342 * 1'000'000);
  // The same frame under BINANCE is a different market: the ids never mix.
  auto binance = make_parser("BINANCE", registry);
  out.clear();
  ASSERT_EQ(test::parse_frame(*binance, kTrade, out), ParseOutcome::kEvents);
  EXPECT_EQ(registry.info(out[0].trade.market).name, "BINANCE:btcusd");
}

TEST(BinanceUsAllocation, SteadyStateParsingAllocatesNothing) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under ASan";
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_US", registry);
  PaddedFrame trade, reply;
  trade.assign(kTrade);
  reply.assign(R"({"result":null,"id":1})");
  EventBuffer out;
  parser->parse(trade.view(), 1, out);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    parser->parse(trade.view(), 1, out);
    parser->parse(reply.view(), 1, out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(parser->stats().trades, 1001u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/binance_us.cc).

TEST(BinanceUsPlan, CombinedTradeStreams) {
  LiveFeedConfig c;
  c.venue = Venue::kBinanceUs;
  c.symbols = {"BTCUSD", "ethusd"};
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "stream.binance.us");
  EXPECT_EQ(p.port, 9443);
  EXPECT_EQ(p.target, "/stream?streams=btcusd@trade/ethusd@trade");
  EXPECT_EQ(p.parser_name, "BINANCE_US");
  EXPECT_TRUE(p.subscribe.empty());
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade"});  // spot: no liquidations
  const VenueProtocol& v = venue_protocol(Venue::kBinanceUs);
  EXPECT_EQ(v.market_pair("BTCUSD"), "btcusd");
  EXPECT_EQ(v.rest_symbol("btcusd"), "BTCUSD");
  EXPECT_EQ(v.gaps({"trade"}), GapDetection::kIds);
  c.path = "/custom";
  EXPECT_EQ(plan_for(c).target, "/custom?streams=btcusd@trade/ethusd@trade");
}

}  // namespace
}  // namespace tickflow
