// Phemex parser (feeds/phemex_parser.cc): the real capture checked against
// an independent reference (tests/tools/phemex_reference.py), hand-written
// fixtures for the inverse BTCUSD contract, spot, and the trade_p (USDT
// perpetual) shape from Phemex's docs, skips, malformed input and
// allocation-free parsing.
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
  Harness() : parser(make_parser("PHEMEX", registry)) {}
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

// Inverse BTCUSD (1 USD a contract, priceScale 4): 1000 contracts at 63241.5.
constexpr std::string_view kInverse =
    R"({"sequence":1188273,"symbol":"BTCUSD","trades":[[1714567890400123456,"Sell",632415000,1000]],)"
    R"("type":"incremental"})";

// ---------------------------------------------------------------------------
// The real capture (trimmed: every trade frame kept, see tests/data/README.md):
// spot sGRTUSDT, sSUSHIUSDT, sENJUSDT, sBCHUSDT, sLINKUSDT and the v1
// contracts YFIUSD, XMRUSD, ENJUSD, XTZUSD, ATOMUSD, whose contract sizes
// the instruments table does not list (counted, never guessed).

TEST(PhemexCapture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = test::test_data("cryptofeed/PHEMEX.ws.1.0.gz");
  const auto ref = test::run_reference("phemex_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h;
  const test::Totals t = test::replay(*h.parser, capture);
  // Ids are hashes, recomputed by the reference: compared too.
  test::expect_matches_reference(t, h.parser->stats(), ref, /*numeric_ids=*/true);
  const ParseStats& s = h.parser->stats();
  // The figures the reference printed when this test was written.
  EXPECT_EQ(s.frames, 98u);
  EXPECT_EQ(t.trades, 17u);
  EXPECT_EQ(t.taker_buys, 11u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 10u);
  EXPECT_EQ(s[SkipKind::kControl], 20u);
  EXPECT_EQ(s[SkipKind::kBook], 43u);
  EXPECT_EQ(s[ParseError::kUnknownInstrument], 8u);
  EXPECT_EQ(s.total_errors(), 8u);
  EXPECT_EQ(t.first_id, 233390590802108435u);
  EXPECT_EQ(t.last_id, 434145266561635430u);
  ASSERT_FALSE(t.first_trades.empty());
  // {"sequence":146074875,"symbol":"sSUSHIUSDT","trades":[[1625342244127840967,"Buy",769100000,168200000]],..}
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(h.registry.info(first.market).name, "PHEMEX:sSUSHIUSDT");
  EXPECT_EQ(h.registry.info(first.market).kind, InstrumentKind::kSpot);
  EXPECT_DOUBLE_EQ(first.price, 7.691);
  EXPECT_DOUBLE_EQ(first.qty, 1.682);
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_EQ(first.exchange_ts_ns, 1625342244127840967);
  EXPECT_EQ(first.flags, kTradeIdHashed);
}

// ---------------------------------------------------------------------------
// Hand-written fixtures (values computed by hand).

TEST(PhemexTrades, InverseContractSpotAndUsdtPerpetual) {
  Harness h;
  ASSERT_EQ(h.parse(kInverse), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "PHEMEX:BTCUSD");
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 63241.5);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 1000.0 / 63241.5);
  EXPECT_DOUBLE_EQ(h.trade(0).notional(), 1000.0);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890400123456);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);
  // The id: the hash of the element's text between its brackets, XOR the
  // symbol's hash.
  EXPECT_EQ(h.trade(0).trade_id,
            hash_trade_id(R"(1714567890400123456,"Sell",632415000,1000)") ^ hash_trade_id("BTCUSD"));

  // Spot: priceEp and base quantity both scaled by 10^8.
  ASSERT_EQ(h.parse(R"({"sequence":5,"symbol":"sBTCUSDT","trades":[[1714567890500000000,"Buy",6324150000000,1500000],)"
                    R"([1714567890500000001,"Sell",6324100000000,250000000]],"type":"incremental"})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "PHEMEX:sBTCUSDT");
  EXPECT_DOUBLE_EQ(h.trade(0).price, 63241.5);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.015);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(1).price, 63241.0);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 2.5);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);

  // USDT perpetual (trade_p.subscribe, Phemex's documented sample): real values.
  ASSERT_EQ(h.parse(R"({"sequence":77702250,"symbol":"BTCUSDT","trades_p":[[1666856076819029800,"Sell","20700.3",)"
                    R"("0.649"]],"type":"incremental"})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "PHEMEX:BTCUSDT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kLinear);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 20700.3);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.649);
  EXPECT_EQ(h.trade(0).trade_id,
            hash_trade_id(R"(1666856076819029800,"Sell","20700.3","0.649")") ^ hash_trade_id("BTCUSDT"));

  // Linear v1 contract: XRPUSD, 5 XRP a contract, priceScale 4.
  ASSERT_EQ(h.parse(R"({"sequence":6,"symbol":"XRPUSD","trades":[[1714567890600000000,"Buy",5012,100]],)"
                    R"("type":"incremental"})"),
            ParseOutcome::kEvents);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 0.5012);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 500.0);
  EXPECT_EQ(h.parser->stats().trades, 5u);
  EXPECT_EQ(h.parser->stats().liquidations, 0u);
}

TEST(PhemexTrades, SameTradeSameIdSoDuplicatesDeduplicate) {
  Harness h;
  ASSERT_EQ(h.parse(kInverse), ParseOutcome::kEvents);
  const std::uint64_t id = h.trade(0).trade_id;
  ASSERT_EQ(h.parse(kInverse), ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).trade_id, id);
}

TEST(PhemexSkips, SnapshotsRepliesBooksAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"sequence":1,"symbol":"BTCUSD","trades":[[1714567890400123456,"Sell",632415000,1000]],)"
                    R"("type":"snapshot"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"sequence":1,"symbol":"BTCUSDT","trades_p":[[1666856062351916300,"Sell","20703.6","0.669"]],)"
                    R"("type":"snapshot"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"error":null,"id":1,"result":{"status":"success"}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"error":null,"id":0,"result":"pong"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"error":{"code":6001,"message":"invalid argument"},"id":3,"result":null})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"book":{"asks":[[329915000,1559]],"bids":[]},"depth":0,"sequence":1,"symbol":"YFIUSD",)"
                    R"("timestamp":1625342241977011395,"type":"snapshot"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"orderbook_p":{"asks":[["20700.3","1"]],"bids":[]},"depth":30,"sequence":1,)"
                    R"("symbol":"BTCUSDT","timestamp":1,"type":"incremental"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"kline":[[1590019200,300,95165000,95160000,95165000,95160000,95160000,38,38,399]],)"
                    R"("sequence":1,"symbol":"BTCUSD","type":"incremental"})"),
            ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kSnapshot], 2u);
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.trades, 0u);
  EXPECT_EQ(s.total_errors(), 0u);
}

TEST(PhemexTrades, AllowlistSkipsOtherSymbols) {
  Harness h;
  h.parser->markets().set_allowlist({"sBTCUSDT"});
  EXPECT_EQ(h.parse(kInverse), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kUnconfigured], 1u);
  EXPECT_EQ(h.registry.size(), 0u);
}

// ---------------------------------------------------------------------------
// Malformed input.

std::string btcusd(std::string_view trades) {
  return R"({"sequence":1,"symbol":"BTCUSD","trades":[)" + std::string(trades) + R"(],"type":"incremental"})";
}

TEST(PhemexMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  const std::vector<test::Malformed> cases = {
      {"cut short", std::string(kInverse.substr(0, 60)), ParseError::kTruncated},
      {"empty", "", ParseError::kTruncated},
      {"noise", test::random_bytes(200, 9), ParseError::kTruncated},
      {"not an object", "\"pong\"", ParseError::kBadType},
      {"empty object", "{}", ParseError::kMissingField},
      {"no type", R"({"sequence":1,"symbol":"BTCUSD","trades":[]})", ParseError::kMissingField},
      {"no symbol", R"({"sequence":1,"trades":[],"type":"incremental"})", ParseError::kMissingField},
      {"trades not an array", R"({"sequence":1,"symbol":"BTCUSD","trades":{},"type":"incremental"})",
       ParseError::kBadType},
      {"unknown type", R"({"sequence":1,"symbol":"BTCUSD","trades":[],"type":"delta"})", ParseError::kBadValue},
      {"no trades", btcusd(""), ParseError::kMissingField},
      {"trade not an array", btcusd("{}"), ParseError::kBadType},
      {"three elements", btcusd(R"([1714567890400123456,"Sell",632415000])"), ParseError::kMissingField},
      {"time a string", btcusd(R"(["1714567890400123456","Sell",632415000,1000])"), ParseError::kBadType},
      {"time in ms", btcusd(R"([1714567890400,"Sell",632415000,1000])"), ParseError::kBadValue},
      {"bad side", btcusd(R"([1714567890400123456,"Up",632415000,1000])"), ParseError::kBadValue},
      {"zero price", btcusd(R"([1714567890400123456,"Sell",0,1000])"), ParseError::kBadValue},
      {"negative qty", btcusd(R"([1714567890400123456,"Sell",632415000,-5])"), ParseError::kBadValue},
      {"unknown contract",
       R"({"sequence":1,"symbol":"YFIUSD","trades":[[1625342246173227295,"Buy",330005000,10]],"type":"incremental"})",
       ParseError::kUnknownInstrument},
  };
  for (const test::Malformed& c : cases) {
    SCOPED_TRACE(c.name);
    const ParseStats before = h.parser->stats();
    EXPECT_EQ(h.parse(c.text), ParseOutcome::kError);
    EXPECT_TRUE(h.out.empty());
    const ParseStats after = h.parser->stats();
    EXPECT_EQ(after[c.expected] - before[c.expected], 1u) << "expected " << to_string(c.expected);
    EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
    ASSERT_EQ(h.parse(kInverse), ParseOutcome::kEvents);
    EXPECT_DOUBLE_EQ(h.trade(0).notional(), 1000.0);
  }
  EXPECT_EQ(h.parser->stats().frames, 2 * cases.size());
}

TEST(PhemexMalformed, OneBadTradeAmongGoodOnes) {
  Harness h;
  ASSERT_EQ(h.parse(btcusd(R"([1714567890400123456,"Sell",632415000,1000],)"
                           R"([1714567890400123457,"Sell",-1,1000],)"
                           R"([1714567890400123458,"Buy",632420000,2000])")),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_DOUBLE_EQ(h.trade(1).notional(), 2000.0);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
}

TEST(PhemexMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  const std::string good =
      btcusd(R"([1714567890400123456,"Sell",632415000,1000],[1714567890400123458,"Buy",632420000,2000])");
  for (std::size_t n = 0; n < good.size(); ++n) {
    const ParseOutcome outcome = h.parse(std::string_view(good).substr(0, n));
    EXPECT_LE(h.out.size(), 2u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = good;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 2u);
  }
  EXPECT_EQ(h.parser->stats().frames, good.size() + 2000);
  ASSERT_EQ(h.parse(kInverse), ParseOutcome::kEvents);
}

TEST(PhemexAllocation, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  PaddedFrame frame;
  frame.assign(kInverse);
  ASSERT_EQ(h.parser->parse(frame.view(), kRecv, h.out), ParseOutcome::kEvents);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    h.out.clear();
    h.parser->parse(frame.view(), kRecv, h.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 1001u);
}

// ---------------------------------------------------------------------------
// The live plan (feeds/venues/phemex.cc).

TEST(PhemexPlan, OneSubscriptionPerSymbolPacedAndAtMost20) {
  LiveFeedConfig config;
  config.venue = Venue::kPhemex;
  config.symbols = {"BTCUSD", "sBTCUSDT", "BTCUSDT"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "ws.phemex.com");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/");
  EXPECT_EQ(plan.subscribe,
            (std::vector<std::string>{R"({"id":1,"method":"trade.subscribe","params":["BTCUSD"]})",
                                      R"({"id":2,"method":"trade.subscribe","params":["sBTCUSDT"]})",
                                      R"({"id":3,"method":"trade_p.subscribe","params":["BTCUSDT"]})"}));
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{100});
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{5'000});
  EXPECT_EQ(plan.ping_text, R"({"id":0,"method":"server.ping","params":[]})");
  EXPECT_EQ(plan.bootstrap, nullptr);
  EXPECT_EQ(channels_for(config), (std::vector<std::string>{"trade"}));  // no public liquidation stream
  config.symbols.assign(21, "BTCUSD");
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
