// Gate.io parser (feeds/gateio_parser.cc): the real v4 spot capture checked
// against an independent reference (tests/tools/gateio_reference.py), the
// real futures capture (it holds no trades: subscribe acks, books and a
// candlestick, all skipped), hand-written futures trade and liquidation
// fixtures (from Gate's futures websocket v4 docs), skips, malformed input
// and the allocation-free trade path.
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
  explicit Harness(std::string_view exchange = "GATEIO") : parser(make_parser(exchange, registry)) {}
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

std::string markets_of(ExchangeParser& parser, MarketRegistry& registry, const std::string& capture) {
  std::map<std::string, std::uint64_t> per_market;
  CaptureReader reader(capture);
  CaptureRecord record;
  EventBuffer out;
  while (reader.next(record)) {
    out.clear();
    parser.parse(record.frame, record.receive_ts_ns, out);
    for (const FeedEvent& e : out) ++per_market[registry.info(e.trade.market).name];
  }
  std::string joined;
  for (const auto& [name, n] : per_market) joined += (joined.empty() ? "" : ",") + name + ":" + std::to_string(n);
  return joined;
}

// ---------------------------------------------------------------------------
// Real captures (tests/data/cryptofeed/GATEIO*.ws.1.0.gz: every trade frame
// of ../shared/data's, most book frames dropped).

TEST(GateioCapture, SpotMatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = test::test_data("cryptofeed/GATEIO.ws.1.0.gz");
  const auto ref = test::run_reference("gateio_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h("GATEIO");
  const test::Totals t = test::replay(*h.parser, capture);
  test::expect_matches_reference(t, h.parser->stats(), ref, /*numeric_ids=*/true);
  Harness again("GATEIO");
  EXPECT_EQ(markets_of(*again.parser, again.registry, capture), ref.at("markets"));
  // The figures the reference printed when this test was written.
  EXPECT_EQ(t.trades, 9u);
  EXPECT_EQ(t.taker_buys, 2u);
  EXPECT_EQ(t.first_id, 816995772u);
  EXPECT_EQ(t.last_id, 816997068u);
  EXPECT_EQ(t.first_ts, 1619093543708264200);  // "1619093543708.2642" ms, to the ns
  EXPECT_EQ(h.parser->stats().frames, 53u);
  ASSERT_FALSE(t.first_trades.empty());
  EXPECT_EQ(t.first_trades[0].flags, kTradeNone);
  EXPECT_EQ(t.first_trades[0].side, Side::kSell);
  EXPECT_DOUBLE_EQ(t.first_trades[0].qty, 0.201);
  EXPECT_DOUBLE_EQ(t.first_trades[0].price, 121.58);
}

TEST(GateioCapture, FuturesCaptureHasNoTradesAndNoErrors) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = test::test_data("cryptofeed/GATEIO_FUTURES.ws.1.0.gz");
  const auto ref = test::run_reference("gateio_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h("GATEIO_FUTURES");
  const test::Totals t = test::replay(*h.parser, capture);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s.frames, test::u64(ref, "frames"));
  EXPECT_EQ(s[SkipKind::kControl], test::u64(ref, "skip_control"));
  EXPECT_EQ(s[SkipKind::kBook], test::u64(ref, "skip_book"));
  EXPECT_EQ(s[SkipKind::kOtherChannel], test::u64(ref, "skip_other"));
  EXPECT_EQ(t.trades, 0u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s.frames, 35u);
  EXPECT_EQ(s[SkipKind::kControl], 22u);
  EXPECT_EQ(s[SkipKind::kBook], 12u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
}

// ---------------------------------------------------------------------------
// Futures, hand-written from Gate's futures websocket v4 docs (the capture
// has no futures.trades updates). Expected values by hand.

// The hand-written futures fixture file (also the fuzz seed and the bench
// corpus): trades, an internal fill, a liquidation, acks, a pong.
TEST(GateioFixture, FuturesFixtureMatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string fixture = test::test_data("fixtures/gateio_futures.txt");
  const auto ref = test::run_reference("gateio_reference.py", "'" + fixture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  Harness h("GATEIO_FUTURES");
  const test::Totals t = test::replay(*h.parser, fixture);
  test::expect_matches_reference(t, h.parser->stats(), ref, /*numeric_ids=*/true);
  Harness again("GATEIO_FUTURES");
  EXPECT_EQ(markets_of(*again.parser, again.registry, fixture), ref.at("markets"));
  EXPECT_EQ(t.trades, 5u);
  EXPECT_EQ(t.liquidations, 1u);
  EXPECT_EQ(t.taker_buys, 2u);
  EXPECT_NEAR(t.sum_qty, 0.4264, 1e-12);  // (108+25+124+7) x 0.0001 + 40 x 0.01
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 3u);
}

TEST(GateioFutures, SignedContractsTimesQuantoMultiplier) {
  Harness h("GATEIO_FUTURES");
  // BTC_USDT: 0.0001 BTC per contract; ETH_USDT: 0.01 ETH.
  ASSERT_EQ(h.parse(R"({"time":1700000000,"time_ms":1700000000123,"channel":"futures.trades","event":"update",)"
                    R"("result":[{"size":-108,"id":27753479,"create_time":1700000000,"create_time_ms":1700000000100,)"
                    R"("price":"37000.5","contract":"BTC_USDT"},)"
                    R"({"size":25,"id":27753480,"create_time":1700000000,"create_time_ms":1700000000101,)"
                    R"("price":"2000","contract":"ETH_USDT"},)"
                    R"({"size":3,"id":27753481,"create_time":1700000000,"create_time_ms":1700000000102,)"
                    R"("price":"37000","contract":"BTC_USDT","is_internal":true}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);  // the internal fill is dropped, as aggr-server does
  EXPECT_EQ(h.market_name(0), "GATEIO:BTC_USDT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.0108);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 37000.5);
  EXPECT_EQ(h.trade(0).trade_id, 27753479u);
  EXPECT_EQ(h.trade(0).flags, kTradeNone);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1700000000100000000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.market_name(1), "GATEIO:ETH_USDT");
  EXPECT_EQ(h.trade(1).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.25);
  EXPECT_DOUBLE_EQ(h.trade(1).notional(), 500.0);
  // Only internal fills: filtered, not an error.
  EXPECT_EQ(h.parse(R"({"channel":"futures.trades","event":"update","result":[{"size":3,"id":9,)"
                    R"("create_time_ms":1700000000102,"price":"37000","contract":"BTC_USDT","is_internal":true}]})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kFiltered], 1u);
}

TEST(GateioFutures, SpotAndPerpNamesDoNotCollide) {
  Harness h("GATEIO");
  ASSERT_EQ(
      h.parse(
          R"({"time":1700000000,"channel":"spot.trades","event":"update","result":{"id":1,"create_time":1700000000,)"
          R"("create_time_ms":"1700000000100.5","side":"buy","currency_pair":"BTC_USDT","amount":"0.5","price":"37000"}})"),
      ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "GATEIO:BTC_USDT-SPOT");
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1700000000100500000);
  ASSERT_EQ(h.parse(R"({"channel":"futures.trades","event":"update","result":[{"size":10,"id":2,)"
                    R"("create_time_ms":1700000000101,"price":"37000","contract":"BTC_USDT"}]})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "GATEIO:BTC_USDT");
  EXPECT_EQ(h.registry.size(), 2u);
}

TEST(GateioFutures, UnknownContractIsNeverGuessed) {
  Harness h("GATEIO_FUTURES");
  EXPECT_EQ(h.parse(R"({"channel":"futures.trades","event":"update","result":[{"size":10,"id":2,)"
                    R"("create_time_ms":1700000000101,"price":"1.5","contract":"XYZ_USDT"}]})"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kUnknownInstrument], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
}

TEST(GateioLiquidations, PublicLiquidatesBecomeLiquidationTrades) {
  Harness h("GATEIO_FUTURES");
  // size -124 BTC_USDT contracts: a sell order (a long liquidated), 0.0124 BTC.
  // size 50 ETH_USDT: a buy order (a short liquidated), 0.5 ETH.
  constexpr std::string_view kLiq =
      R"({"time":1730181111,"time_ms":1730181111123,"channel":"futures.public_liquidates","event":"update",)"
      R"("result":[{"price":68000.1,"size":-124,"time_ms":1730181111000,"contract":"BTC_USDT"},)"
      R"({"price":"2500","size":50,"time_ms":1730181111500,"contract":"ETH_USDT"}]})";
  ASSERT_EQ(h.parse(kLiq), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "GATEIO:BTC_USDT");
  EXPECT_EQ(h.trade(0).flags, kTradeLiquidation | kTradeIdHashed);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.0124);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 68000.1);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1730181111000000000);
  EXPECT_EQ(h.market_name(1), "GATEIO:ETH_USDT");
  EXPECT_EQ(h.trade(1).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.5);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
  const std::uint64_t id0 = h.trade(0).trade_id;
  ASSERT_EQ(h.parse(kLiq), ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).trade_id, id0);  // stable: duplicates de-duplicate
  EXPECT_EQ(h.parser->stats().liquidations, 4u);
  EXPECT_EQ(h.parser->stats().trades, 4u);
}

TEST(GateioSkips, ControlBookAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"time":1619093532,"channel":"spot.trades","event":"subscribe","result":{"status":"success"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"time":1700000000,"time_ms":1700000000123,"channel":"spot.pong","event":"","result":null})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"time":1700000000,"channel":"futures.pong","result":null})"), ParseOutcome::kSkipped);
  EXPECT_EQ(
      h.parse(
          R"({"time":1,"channel":"spot.trades","event":"subscribe","error":{"code":2,"message":"unknown currency pair"},"result":null})"),
      ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"time":1,"channel":"spot.order_book_update","event":"update","result":{"s":"BTC_USDT"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"time":1,"channel":"futures.book_ticker","event":"update","result":{"s":"BTC_USDT"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"time":1,"channel":"spot.tickers","event":"update","result":{"currency_pair":"BTC_USDT"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"time":1,"channel":"futures.candlesticks","event":"update","result":[{"t":1}]})"),
            ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 4u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 2u);
  EXPECT_EQ(s.total_errors(), 0u);
}

// ---------------------------------------------------------------------------
// Malformed input: each frame counted once by reason; a good frame parses
// right afterwards.

constexpr std::string_view kGood =
    R"({"time":1619093543,"channel":"spot.trades","event":"update","result":{"id":816995772,"create_time":1619093543,)"
    R"("create_time_ms":"1619093543708.2642","side":"sell","currency_pair":"DIS_USDT","amount":"0.2010000000",)"
    R"("price":"121.5800000000"}})";

std::string spot(std::string_view fields) {
  return std::string(R"({"time":1,"channel":"spot.trades","event":"update","result":{)") + std::string(fields) + "}}";
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
  EXPECT_EQ(h.trade(0).trade_id, 816995772u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.201);
}

TEST(GateioMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error_then_recovers(h, kGood.substr(0, kGood.size() - 5), ParseError::kTruncated);
  expect_error_then_recovers(h, "", ParseError::kTruncated);
  expect_error_then_recovers(h, "hello", ParseError::kTruncated);
  expect_error_then_recovers(h, "[1,2]", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"time":1,"channel":7,"event":"update","result":{}})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"time":1,"event":"update","result":{}})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"time":1,"channel":"spot.trades","event":"update"})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"time":1,"channel":"margin.trades","event":"update","result":{}})",
                             ParseError::kUnknownChannel);
  expect_error_then_recovers(h, R"({"time":1,"channel":"spot.trades","event":"update","result":"x"})",
                             ParseError::kBadType);
  expect_error_then_recovers(h, R"({"time":1,"channel":"futures.trades","event":"update","result":[]})",
                             ParseError::kMissingField);
  expect_error_then_recovers(
      h,
      spot(R"("id":1,"create_time_ms":"1619093543708.2","side":"sell","currency_pair":"A_B","amount":"1","price":"x")"),
      ParseError::kBadType);
  expect_error_then_recovers(
      h,
      spot(
          R"("id":"z","create_time_ms":"1619093543708.2","side":"sell","currency_pair":"A_B","amount":"1","price":"1")"),
      ParseError::kBadType);
  expect_error_then_recovers(
      h,
      spot(
          R"("id":1,"create_time_ms":"1619093543708.2","side":"sell","currency_pair":"A_B","amount":"-1","price":"1")"),
      ParseError::kBadValue);
  expect_error_then_recovers(
      h, spot(R"("id":1,"create_time_ms":"1619093543.2","side":"sell","currency_pair":"A_B","amount":"1","price":"1")"),
      ParseError::kBadValue);  // seconds, not ms
  expect_error_then_recovers(
      h,
      spot(R"("id":1,"create_time_ms":"16190x3543708","side":"sell","currency_pair":"A_B","amount":"1","price":"1")"),
      ParseError::kBadValue);
  expect_error_then_recovers(
      h,
      spot(R"("id":1,"create_time_ms":"1619093543708.2","side":"up","currency_pair":"A_B","amount":"1","price":"1")"),
      ParseError::kBadValue);
  expect_error_then_recovers(
      h, spot(R"("id":1,"create_time_ms":"1619093543708.2","side":"sell","amount":"1","price":"1")"),
      ParseError::kMissingField);
  expect_error_then_recovers(h,
                             R"({"channel":"futures.trades","event":"update","result":[{"size":0,"id":2,)"
                             R"("create_time_ms":1700000000101,"price":"37000","contract":"BTC_USDT"}]})",
                             ParseError::kBadValue);
  EXPECT_EQ(h.parser->stats().frames, 2u * 18u);
}

TEST(GateioMalformed, OneBadTradeAmongGoodOnes) {
  Harness h("GATEIO_FUTURES");
  ASSERT_EQ(h.parse(R"({"channel":"futures.trades","event":"update","result":[)"
                    R"({"size":10,"id":1,"create_time_ms":1700000000101,"price":"37000","contract":"BTC_USDT"},)"
                    R"({"size":10,"id":2,"create_time_ms":1700000000101,"price":"0","contract":"BTC_USDT"},7,)"
                    R"({"size":-20,"id":3,"create_time_ms":1700000000102,"price":"37001","contract":"BTC_USDT"}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).trade_id, 1u);
  EXPECT_EQ(h.trade(1).trade_id, 3u);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.002);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadType], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 2u);
}

TEST(GateioMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h("GATEIO_FUTURES");
  const std::string good = R"({"time":1730181111,"channel":"futures.public_liquidates","event":"update",)"
                           R"("result":[{"price":68000.1,"size":-124,"time_ms":1730181111000,"contract":"BTC_USDT"},)"
                           R"({"price":"2500","size":50,"time_ms":1730181111500,"contract":"ETH_USDT"}]})";
  for (std::size_t n = 0; n < good.size(); ++n) {
    const ParseOutcome outcome = h.parse(std::string_view(good).substr(0, n));
    EXPECT_LE(h.out.size(), 2u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(17);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = good;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 2u);
  }
  EXPECT_EQ(h.parser->stats().frames, good.size() + 2000);
  ASSERT_EQ(h.parse(good), ParseOutcome::kEvents);
  EXPECT_EQ(h.out.size(), 2u);
}

TEST(GateioAllocation, TradeFramesAllocateNothing) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under ASan";
  Harness h;
  PaddedFrame s, f, liq, pong;
  s.assign(kGood);
  f.assign(R"({"channel":"futures.trades","event":"update","result":[{"size":10,"id":1,)"
           R"("create_time_ms":1700000000101,"price":"37000","contract":"BTC_USDT"}]})");
  liq.assign(R"({"channel":"futures.public_liquidates","event":"update","result":[{"price":68000.1,"size":-124,)"
             R"("time_ms":1730181111000,"contract":"BTC_USDT"}]})");
  pong.assign(R"({"time":1700000000,"channel":"spot.pong","event":"","result":null})");
  EventBuffer buffer;
  h.parser->parse(s.view(), 1, buffer);  // first sight of each market allocates, once
  h.parser->parse(f.view(), 1, buffer);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    buffer.clear();
    h.parser->parse(s.view(), i, buffer);
    h.parser->parse(f.view(), i, buffer);
    h.parser->parse(liq.view(), i, buffer);
    h.parser->parse(pong.view(), i, buffer);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 3002u);
  EXPECT_EQ(h.parser->stats().liquidations, 1000u);
}

}  // namespace
}  // namespace tickflow

namespace tickflow {
namespace {

// ---------------------------------------------------------------------------
// The live endpoints (feeds/venues/gateio.cc): plan_for() is pure.

TEST(GateioPlan, SpotOneMessagePerChannel) {
  LiveFeedConfig config;
  config.venue = Venue::kGateioSpot;
  config.symbols = {"BTC_USDT", "ETH_USDT"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "api.gateio.ws");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/ws/v4/");
  EXPECT_EQ(plan.parser_name, "GATEIO");
  EXPECT_EQ(plan.subscribe, std::vector<std::string>{
                                R"({"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]})"});
  EXPECT_EQ(plan.ping_text, R"({"channel":"spot.ping"})");
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{18'000});
  EXPECT_EQ(channels_for(config), std::vector<std::string>{"spot.trades"});  // spot: no liquidations
  const VenueProtocol& spot = venue_protocol(Venue::kGateioSpot);
  EXPECT_EQ(spot.market_pair("BTC_USDT"), "BTC_USDT-SPOT");
  EXPECT_EQ(spot.rest_symbol("BTC_USDT-SPOT"), "BTC_USDT");
  EXPECT_EQ(spot.gaps({"spot.trades"}), GapDetection::kTime);  // ids are global, not per pair
}

TEST(GateioPlan, FuturesTradesAndLiquidationsByDefault) {
  LiveFeedConfig config;
  config.venue = Venue::kGateioFutures;
  config.symbols = {"BTC_USDT", "ETH_USDT"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "fx-ws.gateio.ws");
  EXPECT_EQ(plan.target, "/v4/ws/usdt");
  EXPECT_EQ(plan.parser_name, "GATEIO_FUTURES");
  EXPECT_EQ(plan.subscribe,
            (std::vector<std::string>{
                R"({"channel":"futures.trades","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]})",
                R"({"channel":"futures.public_liquidates","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]})"}));
  EXPECT_EQ(plan.ping_text, R"({"channel":"futures.ping"})");
  config.liquidations = false;
  EXPECT_EQ(plan_for(config).subscribe.size(), 1u);
  // 120 symbols: 50 per message.
  config.symbols.clear();
  for (int i = 0; i < 120; ++i) config.symbols.push_back("C" + std::to_string(i) + "_USDT");
  const LiveFeedPlan big = plan_for(config);
  ASSERT_EQ(big.subscribe.size(), 3u);
  EXPECT_TRUE(
      big.subscribe[2].starts_with(R"({"channel":"futures.trades","event":"subscribe","payload":["C100_USDT",)"));
  const VenueProtocol& futures = venue_protocol(Venue::kGateioFutures);
  EXPECT_TRUE(futures.carries("BTC_USDT"));
  EXPECT_FALSE(futures.carries("BTC_USD"));  // BTC-settled: another endpoint
  EXPECT_EQ(futures.market_pair, nullptr);
  config.symbols = {"BTC\\_USDT"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
