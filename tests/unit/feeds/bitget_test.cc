// Bitget parser (feeds/bitget_parser.cc): the real ws v1 spot capture
// checked against an independent reference (tests/tools/bitget_reference.py),
// hand-written v2 fixtures (spot and USDT futures, from Bitget's v2 public
// websocket docs: no v2 capture exists), skips, malformed input and the
// allocation-free trade path.
#include "tests/unit/feeds/allocation_counter.h"
// (allocation_counter.h first: it replaces operator new for this executable.)

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
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  explicit Harness(std::string_view exchange = "BITGET") : parser(make_parser(exchange, registry)) {}
  ParseOutcome parse(std::string_view bytes, std::int64_t receive_ts_ns = kRecv) {
    out.clear();
    frame.assign(bytes);
    return parser->parse(frame.view(), receive_ts_ns, out);
  }
  const Trade& trade(std::size_t i) const { return out[i].trade; }
  std::string market_name(std::size_t i) const { return registry.info(trade(i).market).name; }

  MarketRegistry registry;
  std::unique_ptr<ExchangeParser> parser;
  EventBuffer out;
  PaddedFrame frame;
};

// ---------------------------------------------------------------------------
// The real capture (tests/data/cryptofeed/BITGET.ws.1.0.gz: every trade frame
// of ../shared/data's, most book frames dropped): ws v1, instType "sp".

TEST(BitgetCapture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = test::test_data("cryptofeed/BITGET.ws.1.0.gz");
  const auto ref = test::run_reference("bitget_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h("BITGET");
  const test::Totals t = test::replay(*h.parser, capture);
  test::expect_matches_reference(t, h.parser->stats(), ref, /*numeric_ids=*/false);
  // v1 trades carry no id: hashed.
  ASSERT_FALSE(t.first_trades.empty());
  EXPECT_EQ(t.first_trades[0].flags, kTradeIdHashed);
  // Per market, as the reference names them.
  std::map<std::string, std::uint64_t> per_market;
  {
    CaptureReader reader(capture);
    CaptureRecord record;
    Harness again("BITGET_FUTURES");  // the instType decides, not the parser name
    while (reader.next(record)) {
      again.out.clear();
      again.parser->parse(record.frame, record.receive_ts_ns, again.out);
      for (const FeedEvent& e : again.out) ++per_market[again.registry.info(e.trade.market).name];
    }
  }
  std::string joined;
  for (const auto& [name, n] : per_market) joined += (joined.empty() ? "" : ",") + name + ":" + std::to_string(n);
  EXPECT_EQ(joined, ref.at("markets"));
  // The figures the reference printed when this test was written.
  EXPECT_EQ(t.trades, 30u);
  EXPECT_EQ(t.taker_buys, 20u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 8u);
  EXPECT_EQ(h.parser->stats().frames, 92u);
  EXPECT_EQ(per_market.at("BITGET:HOTUSDT-SPOT"), 3u);
  EXPECT_EQ(t.first_ts, 1649290077777000000);
  EXPECT_EQ(t.liquidations, 0u);
}

// The hand-written v2 fixture file (also the fuzz seed and the bench corpus):
// spot and USDT-futures snapshots (skipped) and updates, acks, a pong.
TEST(BitgetFixture, V2FixtureMatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string fixture = test::test_data("fixtures/bitget_v2.txt");
  const auto ref = test::run_reference("bitget_reference.py", "'" + fixture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h("BITGET_FUTURES");
  const test::Totals t = test::replay(*h.parser, fixture);
  test::expect_matches_reference(t, h.parser->stats(), ref, /*numeric_ids=*/false);
  EXPECT_EQ(t.trades, 4u);
  EXPECT_EQ(t.taker_buys, 2u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 2u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 3u);
  EXPECT_EQ(t.first_id, 1116461060594286593u);
  EXPECT_EQ(t.last_id, 1111468664328270001u);
  EXPECT_NEAR(t.sum_qty, 4.7133, 1e-12);
  Harness again("BITGET");
  CaptureReader reader(fixture);
  CaptureRecord record;
  std::map<std::string, std::uint64_t> per_market;
  while (reader.next(record)) {
    again.out.clear();
    again.parser->parse(record.frame, record.receive_ts_ns, again.out);
    for (const FeedEvent& e : again.out) ++per_market[again.registry.info(e.trade.market).name];
  }
  EXPECT_EQ(
      (per_market ==
       std::map<std::string, std::uint64_t>{{"BITGET:BTCUSDT", 2}, {"BITGET:BTCUSDT-SPOT", 1}, {"BITGET:ETHUSDT", 1}}),
      true);
}

TEST(BitgetV1, RowsAreTsPriceSizeSide) {
  Harness h;
  ASSERT_EQ(h.parse(R"({"action":"update","arg":{"instType":"sp","channel":"trade","instId":"HOTUSDT"},)"
                    R"("data":[["1649290077777","0.005613","890.8","buy"],["1649290077778","0.005612","10","sell"]]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "BITGET:HOTUSDT-SPOT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kSpot);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 0.005613);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 890.8);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1649290077777000000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
  const std::uint64_t id0 = h.trade(0).trade_id;
  ASSERT_EQ(h.parse(R"({"action":"update","arg":{"instType":"sp","channel":"trade","instId":"HOTUSDT"},)"
                    R"("data":[["1649290077777","0.005613","890.8","buy"]]})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).trade_id, id0);  // stable: a re-sent trade de-duplicates
}

// ---------------------------------------------------------------------------
// v2 (the live endpoint), hand-written from Bitget's v2 public "trade"
// channel docs. Expected values by hand.

TEST(BitgetV2, SpotAndUsdtFuturesTrades) {
  Harness h("BITGET");
  ASSERT_EQ(
      h.parse(
          R"({"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[)"
          R"({"ts":"1695709835822","price":"26293.4","size":"0.0013","side":"buy","tradeId":"1116461060594286593"},)"
          R"({"ts":"1695709835823","price":"26293.3","size":"0.5","side":"sell","tradeId":"1116461060594286594"}],)"
          R"("ts":1695709835830})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "BITGET:BTCUSDT-SPOT");
  EXPECT_EQ(h.trade(0).trade_id, 1116461060594286593u);
  EXPECT_EQ(h.trade(0).flags, kTradeNone);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.0013);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 26293.4);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1695709835822000000);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.5);

  // USDT-FUTURES: size is base coins; the perp is BITGET:BTCUSDT, apart from spot.
  ASSERT_EQ(
      h.parse(
          R"({"action":"update","arg":{"instType":"USDT-FUTURES","channel":"trade","instId":"BTCUSDT"},"data":[)"
          R"({"ts":"1695716760565","price":"27000.5","side":"sell","size":"0.012","tradeId":"1111468664328269825"}],)"
          R"("ts":1695716761589})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "BITGET:BTCUSDT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kLinear);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.012);
  EXPECT_DOUBLE_EQ(h.trade(0).notional(), 0.012 * 27000.5);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_EQ(h.trade(0).trade_id, 1111468664328269825u);
  EXPECT_EQ(h.registry.size(), 2u);
  EXPECT_EQ(h.parser->stats().trades, 3u);
}

TEST(BitgetV2, CoinFuturesAreNeverGuessed) {
  Harness h("BITGET_FUTURES");
  EXPECT_EQ(h.parse(R"({"action":"update","arg":{"instType":"COIN-FUTURES","channel":"trade","instId":"BTCUSD"},)"
                    R"("data":[{"ts":"1695716760565","price":"27000.5","side":"sell","size":"1","tradeId":"1"}]})"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kUnknownInstrument], 1u);
  EXPECT_EQ(h.parser->stats().trades, 0u);
}

TEST(BitgetSkips, SnapshotControlBookAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse("pong"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"subscribe","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"error","code":30001,"msg":"instType:SPOT,channel:trade,instId:XX doesn't exist"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"action":"snapshot","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[)"
                    R"({"ts":"1695709835822","price":"26293.4","size":"0.0013","side":"buy","tradeId":"1"}]})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"action":"snapshot","arg":{"instType":"SPOT","channel":"books5","instId":"BTCUSDT"},)"
                    R"("data":[{"asks":[],"bids":[]}]})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"BTCUSDT"},)"
                    R"("data":[{"lastPr":"1"}]})"),
            ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s.trades, 0u);
}

// ---------------------------------------------------------------------------
// Malformed input: each frame counted once by reason; a good frame parses
// right afterwards.

constexpr std::string_view kGood =
    R"({"action":"update","arg":{"instType":"USDT-FUTURES","channel":"trade","instId":"ETHUSDT"},"data":[)"
    R"({"ts":"1695716760565","price":"1600.5","size":"2.5","side":"buy","tradeId":"555"}]})";

std::string v2(std::string_view fields) {
  return std::string(R"({"action":"update","arg":{"instType":"USDT-FUTURES","channel":"trade","instId":"ETHUSDT"},)"
                     R"("data":[{)") +
         std::string(fields) + "}]}";
}

void expect_error_then_recovers(Harness& h, std::string_view bad, ParseError reason) {
  SCOPED_TRACE(std::string(bad.substr(0, 200)));
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(bad), ParseOutcome::kError);
  EXPECT_TRUE(h.out.empty());
  const ParseStats after = h.parser->stats();
  EXPECT_EQ(after[reason] - before[reason], 1u) << "expected " << to_string(reason);
  EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
  ASSERT_EQ(h.parse(kGood), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 2.5);
  EXPECT_EQ(h.trade(0).trade_id, 555u);
}

TEST(BitgetMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error_then_recovers(h, kGood.substr(0, kGood.size() - 5), ParseError::kTruncated);
  expect_error_then_recovers(h, "", ParseError::kTruncated);
  expect_error_then_recovers(h, "hello", ParseError::kTruncated);
  expect_error_then_recovers(h, "[1,2]", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"action":"update","arg":"trade","data":[]})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"action":"update","data":[]})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"X"}})",
                             ParseError::kMissingField);
  expect_error_then_recovers(
      h, R"({"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[]})",
      ParseError::kMissingField);
  expect_error_then_recovers(
      h, R"({"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":"x"})",
      ParseError::kBadType);
  expect_error_then_recovers(h, v2(R"("ts":"1695716760565","price":"x","size":"1","side":"buy","tradeId":"1")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, v2(R"("ts":"1695716760565","price":"1600","size":"1","side":"buy","tradeId":"a1")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, v2(R"("ts":"1695716760565","price":"1600","size":"-1","side":"buy","tradeId":"1")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, v2(R"("ts":"1695716760","price":"1600","size":"1","side":"buy","tradeId":"1")"),
                             ParseError::kBadValue);  // seconds, not ms
  expect_error_then_recovers(h, v2(R"("ts":"1695716760565","price":"1600","size":"1","side":"?","tradeId":"1")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, v2(R"("ts":"1695716760565","price":"1600","size":"1","side":"buy")"),
                             ParseError::kMissingField);
  expect_error_then_recovers(
      h,
      R"({"action":"update","arg":{"instType":"sp","channel":"trade","instId":"HOTUSDT"},"data":[["1649290077777","0.1"]]})",
      ParseError::kMissingField);
  EXPECT_EQ(h.parser->stats().frames, 2u * 16u);
}

TEST(BitgetMalformed, OneBadTradeAmongGoodOnes) {
  Harness h;
  ASSERT_EQ(h.parse(R"({"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[)"
                    R"({"ts":"1695709835822","price":"26293.4","size":"1","side":"buy","tradeId":"1"},)"
                    R"({"ts":"1695709835822","price":"0","size":"1","side":"buy","tradeId":"2"},7,)"
                    R"({"ts":"1695709835823","price":"26293.5","size":"2","side":"sell","tradeId":"3"}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).trade_id, 1u);
  EXPECT_EQ(h.trade(1).trade_id, 3u);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadType], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 2u);
}

TEST(BitgetMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  const std::string good(kGood);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const ParseOutcome outcome = h.parse(std::string_view(good).substr(0, n));
    EXPECT_LE(h.out.size(), 1u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(16);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = good;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 1u);
  }
  EXPECT_EQ(h.parser->stats().frames, good.size() + 2000);
  ASSERT_EQ(h.parse(kGood), ParseOutcome::kEvents);
  EXPECT_EQ(h.out.size(), 1u);
}

TEST(BitgetAllocation, TradeFramesAllocateNothing) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under ASan";
  Harness h;
  PaddedFrame v1, v2frame, snapshot, pong;
  v1.assign(R"({"action":"update","arg":{"instType":"sp","channel":"trade","instId":"HOTUSDT"},)"
            R"("data":[["1649290077777","0.005613","890.8","buy"]]})");
  v2frame.assign(kGood);
  snapshot.assign(R"({"action":"snapshot","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[]})");
  pong.assign("pong");
  EventBuffer buffer;
  // First sight of each market allocates (once per market); then nothing.
  h.parser->parse(v1.view(), 1, buffer);
  h.parser->parse(v2frame.view(), 1, buffer);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    buffer.clear();
    h.parser->parse(v1.view(), i, buffer);
    h.parser->parse(v2frame.view(), i, buffer);
    h.parser->parse(snapshot.view(), i, buffer);
    h.parser->parse(pong.view(), i, buffer);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 2002u);
}

}  // namespace
}  // namespace tickflow

namespace tickflow {
namespace {

// ---------------------------------------------------------------------------
// The live endpoints (feeds/venues/bitget.cc): plan_for() is pure.

TEST(BitgetPlan, SpotSubscribesTheV2TradeChannelPaced) {
  LiveFeedConfig config;
  config.venue = Venue::kBitgetSpot;
  config.symbols = {"BTCUSDT", "ETHUSDT"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "ws.bitget.com");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/v2/ws/public");
  EXPECT_EQ(plan.parser_name, "BITGET");
  ASSERT_EQ(plan.subscribe.size(), 1u);
  EXPECT_EQ(plan.subscribe[0], R"({"op":"subscribe","args":[{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},)"
                               R"({"instType":"SPOT","channel":"trade","instId":"ETHUSDT"}]})");
  EXPECT_EQ(plan.ping_text, "ping");
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{150});
  // No public liquidation stream on v2: the defaults stay "trade" either way.
  EXPECT_EQ(channels_for(config), std::vector<std::string>{"trade"});
  config.liquidations = false;
  EXPECT_EQ(channels_for(config), std::vector<std::string>{"trade"});
  const VenueProtocol& spot = venue_protocol(Venue::kBitgetSpot);
  EXPECT_EQ(spot.exchange, "BITGET");
  EXPECT_EQ(spot.market_pair("BTCUSDT"), "BTCUSDT-SPOT");
  EXPECT_EQ(spot.rest_symbol("BTCUSDT-SPOT"), "BTCUSDT");
  EXPECT_EQ(spot.gaps({"trade"}), GapDetection::kTime);
  EXPECT_EQ(spot.max_topics, 50u);
}

TEST(BitgetPlan, FuturesTwelveSymbolsTakeTwoMessages) {
  LiveFeedConfig config;
  config.venue = Venue::kBitgetFutures;
  for (int i = 0; i < 12; ++i) config.symbols.push_back("S" + std::to_string(i) + "USDT");
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.parser_name, "BITGET_FUTURES");
  ASSERT_EQ(plan.subscribe.size(), 2u);  // 10 args per message
  EXPECT_EQ(plan.subscribe[1],
            R"({"op":"subscribe","args":[{"instType":"USDT-FUTURES","channel":"trade","instId":"S10USDT"},)"
            R"({"instType":"USDT-FUTURES","channel":"trade","instId":"S11USDT"}]})");
  const VenueProtocol& futures = venue_protocol(Venue::kBitgetFutures);
  EXPECT_EQ(futures.exchange, "BITGET_FUTURES");
  EXPECT_EQ(futures.market_pair, nullptr);  // BITGET:BTCUSDT as subscribed
  // Limits: 51 topics is over Bitget's recommended 50 per connection; a
  // quote in a symbol would break the JSON.
  config.symbols.assign(51, "BTCUSDT");
  EXPECT_THROW(plan_for(config), std::invalid_argument);
  config.symbols = {"BTC\"USDT"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
  config.symbols = {"BTCUSDT"};
  config.host = "127.0.0.1";
  config.port = 9999;
  config.path = "/x";
  const LiveFeedPlan local = plan_for(config);
  EXPECT_EQ(local.host, "127.0.0.1");
  EXPECT_EQ(local.port, 9999);
  EXPECT_EQ(local.target, "/x");
}

}  // namespace
}  // namespace tickflow
