// Bybit parser (feeds/bybit_parser.cc): the real v2 capture checked against
// an independent reference (tests/tools/bybit_reference.py), hand-written v5
// fixtures, and malformed input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/feed_test_support.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  explicit Harness(std::string_view exchange, ParserOptions options = {})
      : parser(make_parser(exchange, registry, options)) {}
  ParseOutcome parse(std::string_view bytes, std::int64_t receive_ts_ns = kRecv) {
    out.clear();
    frame.assign(bytes);  // frames built here always go through a PaddedFrame
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
// The real capture: Bybit's v2 trade.* topic (USDT linear symbols: size is
// base), trimmed to its first 2000 lines.

TEST(BybitCapture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/BYBIT.ws.25.0.gz";
  const auto ref = test::run_reference("bybit_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";

  Harness h("BYBIT");
  CaptureReader reader(capture);
  CaptureRecord record;
  std::uint64_t trades = 0, taker_buys = 0, first_id = 0, last_id = 0;
  std::int64_t first_ts = 0, last_ts = 0;
  double sum_qty = 0, sum_notional = 0;
  while (reader.next(record)) {
    h.out.clear();
    h.parser->parse(record.frame, record.receive_ts_ns, h.out);
    for (const FeedEvent& e : h.out) {
      ASSERT_EQ(e.type, FeedEventType::kTrade);
      const Trade& t = e.trade;
      EXPECT_EQ(t.flags, kTradeIdHashed);
      EXPECT_EQ(t.receive_ts_ns, record.receive_ts_ns);
      const MarketInfo& info = h.registry.info(t.market);
      EXPECT_TRUE(info.name.starts_with("BYBIT:") && info.name.ends_with("USDT")) << info.name;
      EXPECT_EQ(info.kind, InstrumentKind::kLinear) << info.name;
      if (trades == 0) {
        first_id = t.trade_id;
        first_ts = t.exchange_ts_ns;
      }
      last_id = t.trade_id;
      last_ts = t.exchange_ts_ns;
      ++trades;
      taker_buys += t.is_buy() ? 1 : 0;
      sum_qty += t.qty;
      sum_notional += t.notional();
    }
  }
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s.frames, std::stoull(ref.at("frames")));
  EXPECT_EQ(s.frames, reader.counts().frames);
  EXPECT_EQ(s.trades, std::stoull(ref.at("trades")));
  EXPECT_EQ(trades, std::stoull(ref.at("trades")));
  EXPECT_EQ(taker_buys, std::stoull(ref.at("taker_buys")));
  EXPECT_EQ(first_id, std::stoull(ref.at("first_id")));
  EXPECT_EQ(last_id, std::stoull(ref.at("last_id")));
  EXPECT_EQ(first_ts, std::stoll(ref.at("first_ts_ms")) * 1'000'000);
  EXPECT_EQ(last_ts, std::stoll(ref.at("last_ts_ms")) * 1'000'000);
  const double ref_qty = std::stod(ref.at("sum_qty"));
  const double ref_notional = std::stod(ref.at("sum_notional"));
  EXPECT_NEAR(sum_qty, ref_qty, 1e-9 * std::abs(ref_qty));
  EXPECT_NEAR(sum_notional, ref_notional, 1e-9 * std::abs(ref_notional));
  EXPECT_EQ(s[SkipKind::kControl], std::stoull(ref.at("skip_control")));
  EXPECT_EQ(s[SkipKind::kBook], std::stoull(ref.at("skip_book")));
  EXPECT_EQ(s[SkipKind::kOtherChannel], std::stoull(ref.at("skip_other")));
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s.liquidations, 0u);
  // The figures the reference printed when this test was written (guards
  // against the trimmed capture changing under the test).
  EXPECT_EQ(s.trades, 54u);
  EXPECT_EQ(s[SkipKind::kBook], 1925u);
  EXPECT_EQ(s[SkipKind::kControl], 16u);
}

// ---------------------------------------------------------------------------
// Hand-written fixtures in the documented v5 shapes (Bybit v5 has no public
// bulk capture). Expected values are computed by hand in the comments.

constexpr std::string_view kV5Linear =
    R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1714567890500,"data":[)"
    R"({"T":1714567890400,"s":"BTCUSDT","S":"Buy","v":"0.120","p":"63245.10","L":"PlusTick",)"
    R"("i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false},)"
    R"({"T":1714567890401,"s":"BTCUSDT","S":"Sell","v":"1.5","p":"63245.00","L":"MinusTick",)"
    R"("i":"3f1c8b5a-0d34-5e1b-8c21-5f0d7f1e9a10","BT":false}]})";

TEST(BybitV5, LinearTradesAreBaseWithHashedUuid) {
  Harness h("BYBIT");
  ASSERT_EQ(h.parse(kV5Linear), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "BYBIT:BTCUSDT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890400 * 1'000'000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 63245.10);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.120);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 1.5);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
  // Same uuid, same id: across frames and across parser instances.
  const std::uint64_t id0 = h.trade(0).trade_id;
  Harness other("BYBIT");
  ASSERT_EQ(other.parse(kV5Linear), ParseOutcome::kEvents);
  EXPECT_EQ(other.trade(0).trade_id, id0);
  EXPECT_EQ(h.parser->stats().trades, 2u);
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(BybitV5, InverseSizesAreUsd) {
  Harness h("BYBIT");
  // BTCUSD perpetual: v = 1000 USD at 50000 -> 0.02 BTC.
  // BTCUSDM24 (dated inverse): v = 500 USD at 62500 -> 0.008 BTC.
  // ETHUSDC (linear, USDC): v = 2 -> 2 ETH. BTCPERP (USDC perp): v = 0.5.
  // BTC-27DEC24 (USDC dated future, linear): v = 0.25.
  ASSERT_EQ(h.parse(R"({"topic":"publicTrade.BTCUSD","type":"snapshot","ts":1714567890500,"data":[)"
                    R"({"T":1714567890400,"s":"BTCUSD","S":"Sell","v":"1000","p":"50000","i":"a"},)"
                    R"({"T":1714567890400,"s":"BTCUSDM24","S":"Buy","v":"500","p":"62500","i":"b"},)"
                    R"({"T":1714567890400,"s":"ETHUSDC","S":"Buy","v":"2","p":"3000","i":"c"},)"
                    R"({"T":1714567890400,"s":"BTCPERP","S":"Buy","v":"0.5","p":"60000","i":"d"},)"
                    R"({"T":1714567890400,"s":"BTC-27DEC24","S":"Buy","v":"0.25","p":"61000","i":"e"}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 5u);
  EXPECT_EQ(h.market_name(0), "BYBIT:BTCUSD");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kInverse);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.02);
  EXPECT_DOUBLE_EQ(h.trade(0).notional(), 1000.0);
  EXPECT_EQ(h.market_name(1), "BYBIT:BTCUSDM24");
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.008);
  EXPECT_EQ(h.registry.info(h.trade(2).market).kind, InstrumentKind::kLinear);
  EXPECT_DOUBLE_EQ(h.trade(2).qty, 2.0);
  EXPECT_DOUBLE_EQ(h.trade(3).qty, 0.5);
  EXPECT_EQ(h.registry.info(h.trade(4).market).kind, InstrumentKind::kLinear);
  EXPECT_DOUBLE_EQ(h.trade(4).qty, 0.25);
}

TEST(BybitV5, SpotMarketsGetSpotSuffix) {
  Harness h("BYBIT_SPOT");
  ASSERT_NE(h.parser, nullptr);
  EXPECT_EQ(h.parser->exchange(), "BYBIT");
  ASSERT_EQ(h.parse(R"({"topic":"publicTrade.BTCUSDT","ts":1714567890500,"type":"snapshot","data":[)"
                    R"({"i":"2290000000061666327","T":1714567890400,"p":"63000.5","v":"0.003","S":"Sell",)"
                    R"("s":"BTCUSDT","BT":false}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "BYBIT:BTCUSDT-SPOT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kSpot);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.003);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
}

TEST(BybitV5, LiquidationSideIsOppositeOfPosition) {
  Harness h("BYBIT");
  // S:"Buy" = a long was liquidated -> a Sell liquidation order, and vice versa.
  constexpr std::string_view kLiq = R"({"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1714567890500,"data":[)"
                                    R"({"T":1714567890450,"s":"BTCUSDT","S":"Buy","v":"0.350","p":"62980.50"},)"
                                    R"({"T":1714567890460,"s":"BTCUSDT","S":"Sell","v":"0.010","p":"62990.00"}]})";
  ASSERT_EQ(h.parse(kLiq), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_EQ(h.trade(1).side, Side::kBuy);
  EXPECT_EQ(h.trade(0).flags, kTradeLiquidation | kTradeIdHashed);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.35);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 62980.50);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890450 * 1'000'000);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
  const std::uint64_t id0 = h.trade(0).trade_id;
  ASSERT_EQ(h.parse(kLiq), ParseOutcome::kEvents);  // the same liquidation again: the same id
  EXPECT_EQ(h.trade(0).trade_id, id0);
  EXPECT_EQ(h.parser->stats().liquidations, 4u);
}

TEST(BybitV2, InverseSizeIsUsd) {
  Harness h("BYBIT");
  // v2 inverse (realtime endpoint): size 5000 USD at 62500 -> 0.08 BTC.
  ASSERT_EQ(h.parse(R"({"topic":"trade.BTCUSD","data":[{"trade_time_ms":1618677785116,)"
                    R"("timestamp":"2021-04-17T16:43:05.000Z","symbol":"BTCUSD","side":"Sell","size":5000,)"
                    R"("price":62500,"tick_direction":"ZeroMinusTick",)"
                    R"("trade_id":"8241a632-9f07-5fa0-a63d-06cefd570d75","cross_seq":6169452432}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "BYBIT:BTCUSD");
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.08);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1618677785116 * 1'000'000);
}

TEST(BybitV5, ControlBookAndOtherTopicsAreSkippedByKind) {
  Harness h("BYBIT");
  EXPECT_EQ(h.parse(R"({"success":true,"ret_msg":"","conn_id":"x","req_id":"","op":"subscribe"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"op":"pong","args":["1675418560633"],"conn_id":"x"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"topic":"tickers.BTCUSDT","type":"snapshot","ts":1,"data":{"symbol":"BTCUSDT"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"topic":"kline.1.BTCUSDT","data":[]})"), ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 2u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s.frames, 6u);
}

// ---------------------------------------------------------------------------
// Malformed input: each frame is counted once, by its reason, and the parser
// parses a good frame right afterwards.

constexpr std::string_view kGood = R"({"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1714567890500,"data":[)"
                                   R"({"T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"2.5","p":"3100.25","i":"u-1"}]})";

std::string v5_trade(std::string_view fields) {
  return std::string(R"({"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1714567890500,"data":[{)") +
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
  EXPECT_EQ(after.trades, before.trades);
  ASSERT_EQ(h.parse(kGood), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 2.5);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 3100.25);
  EXPECT_EQ(h.market_name(0), "BYBIT:ETHUSDT");
}

TEST(BybitMalformed, EachFrameCountedOnceByReason) {
  Harness h("BYBIT");
  // Truncated: cut inside the data array, and cut inside a string.
  expect_error_then_recovers(h, kGood.substr(0, kGood.size() - 10), ParseError::kTruncated);
  expect_error_then_recovers(h, kGood.substr(0, 40), ParseError::kTruncated);
  // Empty frame, invalid UTF-8, random bytes, text that is not JSON.
  expect_error_then_recovers(h, "", ParseError::kTruncated);
  expect_error_then_recovers(h, v5_trade("\"T\":1714567890400,\"s\":\"ETH\xff\xfeUSDT\""), ParseError::kTruncated);
  {
    std::mt19937 rng(12345);
    std::string noise(300, '\0');
    for (char& c : noise) c = static_cast<char>(rng() & 0xff);
    expect_error_then_recovers(h, noise, ParseError::kTruncated);
  }
  expect_error_then_recovers(h, "hello bybit", ParseError::kTruncated);
  // Wrong JSON types.
  expect_error_then_recovers(h, "[1,2,3]", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"topic":42,"data":[]})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"topic":"publicTrade.ETHUSDT","data":{"T":1}})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"topic":"publicTrade.ETHUSDT","data":[7]})", ParseError::kBadType);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"2.5","p":true,"i":"u")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, v5_trade(R"("T":"soon","s":"ETHUSDT","S":"Buy","v":"2.5","p":"1","i":"u")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"abc","p":"1","i":"u")"),
                             ParseError::kBadType);
  // Huge or negative numbers.
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"1e20","p":"3100","i":"u")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"2","p":"-3100","i":"u")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"0","p":"3100","i":"u")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, v5_trade(R"("T":-5,"s":"ETHUSDT","S":"Buy","v":"2","p":"3100","i":"u")"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h, v5_trade(R"("T":99999999999999,"s":"ETHUSDT","S":"Buy","v":"2","p":"3100","i":"u")"),
                             ParseError::kBadValue);  // year 5138: not a ms time
  // A number that does not fit int64, and one that overflows a double: type errors (simdjson's NUMBER_ERROR).
  expect_error_then_recovers(
      h, v5_trade(R"("T":99999999999999999999999,"s":"ETHUSDT","S":"Buy","v":"2","p":"3100","i":"u")"),
      ParseError::kBadType);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"2","p":"1e400","i":"u")"),
                             ParseError::kBadType);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Hold","v":"2","p":"3100","i":"u")"),
                             ParseError::kBadValue);
  // Missing fields.
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"2.5","i":"u")"),
                             ParseError::kMissingField);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"2.5","p":"1")"),
                             ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"topic":"publicTrade.ETHUSDT","type":"snapshot"})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"topic":"publicTrade.ETHUSDT","data":[]})", ParseError::kMissingField);
  // Unknown: no topic and no op/success; a symbol whose units the rule cannot tell; a symbol that cannot be a name.
  expect_error_then_recovers(h, R"({"hello":"world"})", ParseError::kUnknownChannel);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"BTCEUR","S":"Buy","v":"1","p":"60000","i":"u")"),
                             ParseError::kUnknownInstrument);
  expect_error_then_recovers(h, v5_trade(R"("T":1714567890400,"s":"BTC:USDT","S":"Buy","v":"1","p":"60000","i":"u")"),
                             ParseError::kUnknownMarket);
  EXPECT_EQ(h.parser->stats().frames, 2u * 28u);
}

TEST(BybitMalformed, OneBadTradeAmongGoodOnesIsCountedAndTheOthersKept) {
  Harness h("BYBIT");
  const std::string frame = R"({"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1,"data":[)"
                            R"({"T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"1","p":"3000","i":"a"},)"
                            R"({"T":1714567890400,"s":"ETHUSDT","S":"Buy","v":"-1","p":"3000","i":"b"},)"
                            R"({"T":1714567890400,"s":"ETHUSDT","S":"Sell","p":"3000","i":"c"},)"
                            R"({"T":1714567890400,"s":"ETHUSDT","S":"Sell","v":"3","p":"3001","i":"d"}]})";
  ASSERT_EQ(h.parse(frame), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 1.0);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 3.0);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats()[ParseError::kMissingField], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 2u);
}

TEST(BybitMalformed, OversizeFrameIsNotParsed) {
  ParserOptions options;
  options.max_frame_bytes = 256;
  Harness h("BYBIT", options);
  std::string big(kGood);
  big.insert(big.size() - 1, std::string(300, ' '));
  EXPECT_EQ(h.parse(big), ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kOversize], 1u);
  EXPECT_EQ(h.parse(kGood), ParseOutcome::kEvents);
}

TEST(BybitMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  // No crash, no stall, every frame lands in a bucket, and never more trades
  // than the intact frame holds.
  Harness h("BYBIT");
  const std::string good(kV5Linear);
  for (std::size_t n = 0; n < good.size(); ++n) {
    const ParseOutcome outcome = h.parse(std::string_view(good).substr(0, n));
    EXPECT_LE(h.out.size(), 2u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = good;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    h.parse(mutated);
    EXPECT_LE(h.out.size(), 2u);
  }
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s.frames, good.size() + 2000);
  ASSERT_EQ(h.parse(kGood), ParseOutcome::kEvents);
  EXPECT_EQ(h.out.size(), 1u);
}

TEST(BybitFactory, NamesAndUnknown) {
  MarketRegistry registry;
  EXPECT_NE(make_parser("BYBIT", registry), nullptr);
  EXPECT_NE(make_parser("BYBIT_SPOT", registry), nullptr);
  EXPECT_EQ(make_bybit_parser("BYBIT_NOPE", registry, {}), nullptr);
}

}  // namespace
}  // namespace tickflow
