// Bitunix parser (feeds/bitunix_parser.cc): the hand-written fixture
// (tests/data/fixtures/bitunix.txt; no capture exists) checked against an
// independent reference (tests/tools/bitunix_reference.py), the history batch
// sent on subscribe, malformed input and allocation-free parsing. The live
// plan (feeds/venues/bitunix.cc) is in bitunix_plan_test.cc.
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

constexpr std::int64_t kRecv = 1'733'312'300'999'000'000;

struct Harness {
  Harness() : parser(make_parser("BITUNIX", registry)) {}
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

constexpr std::string_view kConnect = R"({"op":"connect","data":{"result":true}})";
constexpr std::string_view kHistory =
    R"({"ch":"trade","symbol":"BTCUSDT","ts":1733312299990,"data":[{"t":"2024-12-04T11:38:19.100Z","p":"96201.1",)"
    R"("v":"0.010","s":"buy"},{"t":"2024-12-04T11:38:19.500Z","p":"96201.2","v":"0.020","s":"sell"}]})";
constexpr std::string_view kLive =
    R"({"ch":"trade","symbol":"BTCUSDT","ts":1733312300500,"data":[{"t":"2024-12-04T11:38:20.480Z","p":"96202.5",)"
    R"("v":"0.125","s":"buy"},{"t":1733312301250,"p":"96203","v":"0.004","s":"sell"}]})";

TEST(BitunixFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/bitunix.txt");
  const auto ref = test::run_reference("bitunix_reference.py", "'" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("BITUNIX", registry);
  const test::Totals totals = test::replay(*parser, path);
  test::expect_matches_reference(totals, parser->stats(), ref, /*numeric_ids=*/false);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(parser->stats().frames, 12u);
  EXPECT_EQ(parser->stats().trades, 5u);
  EXPECT_EQ(parser->stats()[SkipKind::kSnapshot], 3u);
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 3u);
  EXPECT_EQ(parser->stats()[SkipKind::kBook], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(parser->stats().liquidations, 0u);  // Bitunix publishes none
  EXPECT_EQ(totals.taker_buys, 3u);
  EXPECT_NEAR(totals.sum_qty, 2.504, 1e-12);
  EXPECT_EQ(totals.first_ts, 1733312300480 * 1'000'000);
}

TEST(BitunixTrades, HistoryOnSubscribeIsSkippedOncePerConnection) {
  Harness h;
  EXPECT_EQ(h.parse(kConnect), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(kHistory), ParseOutcome::kSkipped);  // the first BTCUSDT frame: history
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 1u);
  ASSERT_EQ(h.parse(kLive), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "BITUNIX:BTCUSDT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 96202.5);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.125);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1733312300480 * 1'000'000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_EQ(h.trade(1).exchange_ts_ns, 1733312301250 * 1'000'000);  // t as a number of ms
  const std::uint64_t first_id = h.trade(0).trade_id;
  // A reconnect re-arms the history skip; the same trade keeps its id.
  EXPECT_EQ(h.parse(kConnect), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(kLive), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 2u);
  ASSERT_EQ(h.parse(kLive), ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).trade_id, first_id);
  EXPECT_EQ(h.parser->stats().trades, 4u);
}

TEST(BitunixTrades, IdenticalPrintsInOneFrameStayTwo) {
  Harness h;
  h.parse(kHistory);
  ASSERT_EQ(
      h.parse(R"({"ch":"trade","symbol":"BTCUSDT","data":[{"t":"2024-12-04T11:38:20.480Z","p":"1","v":"2","s":"buy"},)"
              R"({"t":"2024-12-04T11:38:20.480Z","p":"1","v":"2","s":"buy"}]})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
}

TEST(BitunixFrames, ControlBookAndOther) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"op":"ping","pong":1733312300,"ping":1733312300})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"trade"}]})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"code":10001,"msg":"bad request"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse("pong"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 4u);
  EXPECT_EQ(h.parse(R"({"ch":"depth_book1","symbol":"BTCUSDT","data":{"b":[],"a":[]}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 1u);
  EXPECT_EQ(h.parse(R"({"ch":"ticker","symbol":"BTCUSDT","data":{}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(BitunixFrames, MalformedFramesAreCountedByReason) {
  const std::string head = R"({"ch":"trade","symbol":"BTCUSDT","data":[)";
  const test::Malformed cases[] = {
      {"empty", "", ParseError::kTruncated},
      {"garbage", "hello", ParseError::kTruncated},
      {"array root", "[1]", ParseError::kBadType},
      {"no ch no op", R"({"data":[]})", ParseError::kMissingField},
      {"ch not string", R"({"ch":5})", ParseError::kBadType},
      {"no symbol", R"({"ch":"trade","data":[]})", ParseError::kMissingField},
      {"empty symbol", R"({"ch":"trade","symbol":"","data":[]})", ParseError::kUnknownMarket},
      {"no trades", head + "]}", ParseError::kMissingField},
      {"bad time", head + R"({"t":"soon","p":"1","v":"1","s":"buy"}]})", ParseError::kBadValue},
      {"time bool", head + R"({"t":true,"p":"1","v":"1","s":"buy"}]})", ParseError::kBadType},
      {"no price", head + R"({"t":1733312301250,"v":"1","s":"buy"}]})", ParseError::kMissingField},
      {"zero volume", head + R"({"t":1733312301250,"p":"1","v":"0","s":"buy"}]})", ParseError::kBadValue},
      {"bad side", head + R"({"t":1733312301250,"p":"1","v":"1","s":"up"}]})", ParseError::kBadValue},
      {"truncated", head + R"({"t":1733312301250,"p":"1)", ParseError::kTruncated},
  };
  for (const auto& c : cases) {
    Harness h;
    h.parse(kHistory);  // BTCUSDT's history: what follows is live
    EXPECT_EQ(h.parse(c.text), ParseOutcome::kError) << c.name;
    EXPECT_EQ(h.parser->stats()[c.expected], 1u) << c.name;
    EXPECT_EQ(h.parser->stats().total_errors(), 1u) << c.name;
  }
}

TEST(BitunixFrames, RandomBytesNeverCrash) {
  Harness h;
  for (std::uint32_t seed = 1; seed <= 200; ++seed) h.parse(test::random_bytes(seed % 97, seed));
  EXPECT_EQ(h.parser->stats().frames, 200u);
  EXPECT_EQ(h.parser->stats().trades, 0u);
}

TEST(BitunixAllocation, SteadyStateParsingAllocatesNothing) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under ASan";
  Harness h;
  PaddedFrame live, ping;
  live.assign(kLive);
  ping.assign(R"({"op":"ping","pong":1733312300,"ping":1733312300})");
  h.parse(kHistory);  // warm-up: the market resolved, its history seen
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(live.view(), 1, h.out);
    h.parser->parse(ping.view(), 1, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 2000u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/bitunix.cc).

TEST(BitunixPlan, UrlSubscribeKeepaliveAndPacing) {
  LiveFeedConfig c;
  c.venue = Venue::kBitunix;
  c.symbols = {"BTCUSDT", "ethusdt"};
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "fapi.bitunix.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/public/");
  EXPECT_EQ(p.parser_name, "BITUNIX");
  ASSERT_EQ(p.subscribe.size(), 1u);
  EXPECT_EQ(p.subscribe[0],
            R"({"op":"subscribe","args":[{"symbol":"BTCUSDT","ch":"trade"},{"symbol":"ETHUSDT","ch":"trade"}]})");
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{20'000});
  EXPECT_EQ(p.ping_text, R"({"op":"ping","ping":0})");
  EXPECT_EQ(p.subscribe_interval, std::chrono::milliseconds{100});
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade"});  // no public liquidation channel
  EXPECT_EQ(venue_protocol(Venue::kBitunix).market_pair("btcusdt"), "BTCUSDT");
  EXPECT_EQ(venue_protocol(Venue::kBitunix).gaps({"trade"}), GapDetection::kTime);
  // 10 args per message.
  c.symbols.clear();
  for (int i = 0; i < 25; ++i) c.symbols.push_back("S" + std::to_string(i) + "USDT");
  const LiveFeedPlan many = plan_for(c);
  ASSERT_EQ(many.subscribe.size(), 3u);
  EXPECT_TRUE(many.subscribe[2].starts_with(R"({"op":"subscribe","args":[{"symbol":"S20USDT","ch":"trade"},)"));
  c.symbols = {"BAD\\"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
