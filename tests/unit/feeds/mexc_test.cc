// MEXC parsers (feeds/mexc_parser.cc): spot protobuf deals and futures JSON
// deals. MEXC has no public capture: the fixtures tests/data/fixtures/mexc.txt
// and mexc_futures.txt are HAND-WRITTEN in the documented shapes (spot:
// encoded by tests/tools/mexc_spot_fixture.py from the protobuf schema) and
// checked against an independent reference (tests/tools/mexc_reference.py).
// Malformed protobuf is built here with a few lines of wire-format encoding.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

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
  explicit Harness(std::string_view exchange) : parser(make_parser(exchange, registry)) {}
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

// --- protobuf wire format, for test frames -------------------------------------

std::string varint(std::uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string key(std::uint32_t number, std::uint32_t wire) { return varint(std::uint64_t{number} << 3 | wire); }
std::string len(std::uint32_t number, std::string_view body) {
  return key(number, 2) + varint(body.size()) + std::string(body);
}
std::string num(std::uint32_t number, std::uint64_t v) { return key(number, 0) + varint(v); }

std::string deal(std::string_view price, std::string_view qty, std::uint64_t side, std::uint64_t ms,
                 std::string_view trade_id = {}) {
  std::string body = len(1, price) + len(2, qty) + num(3, side) + num(4, ms);
  if (!trade_id.empty()) body += len(5, trade_id);
  return len(1, body);
}
std::string spot_frame(std::string_view symbol, const std::string& deals) {
  return len(1, std::string("spot@public.aggre.deals.v3.api.pb@100ms@") + std::string(symbol)) + len(3, symbol) +
         num(6, 1714567890500) + len(314, deals + len(2, "spot@public.aggre.deals.v3.api.pb@100ms"));
}

// ---------------------------------------------------------------------------
// The hand-written fixtures against the independent reference.

TEST(MexcFixture, SpotMatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/mexc.txt");  // hand-written (protobuf deals)
  const auto ref = test::run_reference("mexc_reference.py", "spot '" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("MEXC", registry);
  const test::Totals t = test::replay(*parser, path);
  test::expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/false);
  // The figures the reference printed when this test was written.
  EXPECT_EQ(t.trades, 8u);
  EXPECT_EQ(t.taker_buys, 5u);
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 3u);  // two acks, one PONG
  EXPECT_EQ(parser->stats()[SkipKind::kBook], 2u);     // aggre.depth, aggre.bookTicker
  ASSERT_EQ(t.first_trades.size(), 4u);
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(registry.info(first.market).name, "MEXC:BTCUSDT");
  EXPECT_EQ(registry.info(first.market).kind, InstrumentKind::kSpot);
  EXPECT_DOUBLE_EQ(first.price, 63241.30);
  EXPECT_DOUBLE_EQ(first.qty, 0.015);
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_EQ(first.exchange_ts_ns, 1714567890400 * 1'000'000);
  EXPECT_EQ(first.receive_ts_ns, 1714567890700000000);
  // No tradeId: a hash of symbol|time|price|qty|side as sent.
  EXPECT_EQ(first.flags, kTradeIdHashed);
  EXPECT_EQ(first.trade_id, IdKey{}
                                .add(std::string_view("BTCUSDT"))
                                .add(std::int64_t{1714567890400})
                                .add(std::string_view("63241.30"))
                                .add(std::string_view("0.015"))
                                .add(std::int64_t{1})
                                .hash());
  EXPECT_EQ(t.first_trades[1].side, Side::kSell);
  EXPECT_DOUBLE_EQ(t.first_trades[2].qty, 1.25);
  // ETHUSDT carries numeric tradeIds: used as they are.
  const Trade& eth = t.first_trades[3];
  EXPECT_EQ(registry.info(eth.market).name, "MEXC:ETHUSDT");
  EXPECT_EQ(eth.trade_id, 880011u);
  EXPECT_EQ(eth.flags, kTradeNone);
  EXPECT_EQ(t.last_ts, 1714567890860 * 1'000'000);
}

TEST(MexcFixture, FuturesMatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/mexc_futures.txt");  // hand-written
  const auto ref = test::run_reference("mexc_reference.py", "futures '" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("MEXC_FUTURES", registry);
  const test::Totals t = test::replay(*parser, path);
  test::expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/false);
  EXPECT_EQ(t.trades, 6u);
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 2u);  // rs.sub.deal, pong
  EXPECT_EQ(parser->stats()[SkipKind::kBook], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kOtherChannel], 1u);
  ASSERT_EQ(t.first_trades.size(), 4u);
  // 150 contracts of 0.0001 BTC; 2000 contracts; then ETH_USDT 75 x 0.01 ETH
  // (the older single-object data form).
  EXPECT_EQ(registry.info(t.first_trades[0].market).name, "MEXC:BTC_USDT");
  EXPECT_EQ(registry.info(t.first_trades[0].market).kind, InstrumentKind::kLinear);
  EXPECT_DOUBLE_EQ(t.first_trades[0].qty, 0.015);
  EXPECT_EQ(t.first_trades[0].side, Side::kBuy);
  EXPECT_DOUBLE_EQ(t.first_trades[1].qty, 0.2);
  EXPECT_EQ(t.first_trades[1].side, Side::kSell);
  EXPECT_EQ(registry.info(t.first_trades[2].market).name, "MEXC:ETH_USDT");
  EXPECT_DOUBLE_EQ(t.first_trades[2].qty, 0.75);
  EXPECT_DOUBLE_EQ(t.first_trades[2].price, 3050.12);
  EXPECT_EQ(t.first_trades[0].flags, kTradeIdHashed);
  // No id on the wire: a hash of time, price, volume and side (4 words).
  const std::uint64_t words[4] = {1714567890400, std::bit_cast<std::uint64_t>(63241.3),
                                  std::bit_cast<std::uint64_t>(150.0), 1};
  EXPECT_EQ(t.first_trades[0].trade_id, hash_trade_id({reinterpret_cast<const char*>(words), sizeof words}));
  EXPECT_NE(t.first_trades[0].trade_id, t.first_trades[1].trade_id);
}

// ---------------------------------------------------------------------------
// Spot protobuf: malformed input, each frame counted once by reason, and a
// good frame right after.

void expect_spot_error(Harness& h, const std::string& bad, ParseError reason) {
  SCOPED_TRACE(to_string(reason));
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(bad), ParseOutcome::kError);
  EXPECT_TRUE(h.out.empty());
  const ParseStats after = h.parser->stats();
  EXPECT_EQ(after[reason] - before[reason], 1u) << "expected " << to_string(reason);
  EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
  ASSERT_EQ(h.parse(spot_frame("BTCUSDT", deal("63000.5", "0.25", 2, 1714567890400, "77"))), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.trade(0).trade_id, 77u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.25);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
}

TEST(MexcSpot, MalformedProtobufCountedByReason) {
  Harness h("MEXC");
  const std::string good = spot_frame("BTCUSDT", deal("63000.5", "0.25", 2, 1714567890400));
  expect_spot_error(h, "", ParseError::kTruncated);
  expect_spot_error(h, good.substr(0, good.size() - 7), ParseError::kTruncated);  // a length past the end
  expect_spot_error(h, "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", ParseError::kTruncated);  // 11-byte varint
  expect_spot_error(h, key(7, 3) + "x", ParseError::kTruncated);         // a group (wire type 3)
  expect_spot_error(h, std::string("\x08", 1), ParseError::kTruncated);  // a varint cut off
  expect_spot_error(h, len(1, "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT") + len(3, "BTCUSDT"),
                    ParseError::kMissingField);                                // no body
  expect_spot_error(h, spot_frame("BTCUSDT", ""), ParseError::kMissingField);  // no deals
  // Deal-level errors.
  expect_spot_error(h, spot_frame("BTCUSDT", len(1, len(1, "1") + len(2, "1") + num(3, 1))),
                    ParseError::kMissingField);  // no time
  expect_spot_error(h, spot_frame("BTCUSDT", deal("63000", "1", 3, 1714567890400)), ParseError::kBadValue);
  expect_spot_error(h, spot_frame("BTCUSDT", deal("63000", "1", 1, 17145678904)), ParseError::kBadValue);  // s
  expect_spot_error(h, spot_frame("BTCUSDT", deal("-63000", "1", 1, 1714567890400)), ParseError::kBadValue);
  expect_spot_error(h, spot_frame("BTCUSDT", deal("63000", "0", 1, 1714567890400)), ParseError::kBadValue);
  expect_spot_error(h, spot_frame("BTCUSDT", deal("6300O", "1", 1, 1714567890400)), ParseError::kBadType);
  expect_spot_error(h, spot_frame("BTCUSDT", deal("", "1", 1, 1714567890400)), ParseError::kBadType);
  expect_spot_error(h, spot_frame("BTCUSDT", len(1, num(1, 5) + len(2, "1") + num(3, 1) + num(4, 1714567890400))),
                    ParseError::kBadType);  // price as a varint
  expect_spot_error(h, spot_frame("BTC:USDT", deal("1", "1", 1, 1714567890400)), ParseError::kUnknownMarket);
  // JSON that is not a control reply.
  expect_spot_error(h, R"({"c":"spot@public.deals.v3.api@BTCUSDT","d":{}})", ParseError::kUnknownChannel);
  expect_spot_error(h, R"({"id":0,"code":0,"msg":"PONG")", ParseError::kTruncated);
  EXPECT_EQ(h.parser->stats().trades, 18u);
}

TEST(MexcSpot, OneBadDealAmongGoodOnesAndUnknownFieldsSkipped) {
  Harness h("MEXC");
  // An unknown fixed64 and fixed32 field in the wrapper and in a deal are
  // skipped as protobuf readers do; the bad middle deal is counted alone.
  const std::string frame =
      key(9, 1) + std::string(8, '\x01') + key(10, 5) + std::string(4, '\x02') +
      spot_frame("ETHUSDT",
                 deal("3050.5", "1.5", 1, 1714567890400) + deal("3050.5", "1.5", 9, 1714567890401) +
                     len(1, len(1, "3051") + len(2, "0.5") + num(3, 2) + num(4, 1714567890402) + key(12, 5) + "abcd"));
  ASSERT_EQ(h.parse(frame), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "MEXC:ETHUSDT");
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 1.5);
  EXPECT_DOUBLE_EQ(h.trade(1).price, 3051.0);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
  // The symbol from the channel when field 3 is absent.
  ASSERT_EQ(h.parse(len(1, "spot@public.aggre.deals.v3.api.pb@100ms@SOLUSDT") +
                    len(314, deal("150.25", "4", 1, 1714567890500))),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.market_name(0), "MEXC:SOLUSDT");
  // Other bodies by kind.
  EXPECT_EQ(h.parse(len(1, "spot@public.kline.v3.api.pb@BTCUSDT@Min1") + len(308, num(1, 1))), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(h.parse(len(1, "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT") + len(313, "")), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 1u);
}

TEST(MexcSpot, RandomBytesNeverCrash) {
  Harness h("MEXC");
  for (std::uint32_t seed = 1; seed <= 300; ++seed) h.parse(test::random_bytes(1 + seed % 97, seed));
  // Every one of them was decided: events, a skip or an error.
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s.frames, 300u);
  EXPECT_GE(s.total_errors() + s.total_skipped() + s.trades, 300u);
}

// ---------------------------------------------------------------------------
// Futures JSON.

void expect_futures_error(Harness& h, std::string_view bad, ParseError reason) {
  SCOPED_TRACE(std::string(bad));
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(bad), ParseOutcome::kError);
  EXPECT_TRUE(h.out.empty());
  const ParseStats after = h.parser->stats();
  EXPECT_EQ(after[reason] - before[reason], 1u) << "expected " << to_string(reason);
  EXPECT_EQ(after.total_errors() - before.total_errors(), 1u);
  ASSERT_EQ(
      h.parse(R"({"channel":"push.deal","data":[{"p":63000,"v":40,"T":2,"t":1714567890400}],"symbol":"BTC_USDT"})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.004);
}

TEST(MexcFutures, MalformedCountedByReason) {
  Harness h("MEXC_FUTURES");
  expect_futures_error(h, "", ParseError::kTruncated);
  expect_futures_error(h, R"({"channel":"push.deal","data":[{"p":63000,"v":40)", ParseError::kTruncated);
  expect_futures_error(h, "[1,2]", ParseError::kBadType);
  expect_futures_error(h, R"({"data":[],"symbol":"BTC_USDT"})", ParseError::kMissingField);
  expect_futures_error(h, R"({"channel":"sub.deal"})", ParseError::kUnknownChannel);
  expect_futures_error(h, R"({"channel":"push.deal","data":[{"p":63000,"v":40,"T":2,"t":1714567890400}]})",
                       ParseError::kMissingField);  // no symbol
  expect_futures_error(h, R"({"channel":"push.deal","data":[],"symbol":"BTC_USDT"})", ParseError::kMissingField);
  expect_futures_error(h, R"({"channel":"push.deal","data":"x","symbol":"BTC_USDT"})", ParseError::kBadType);
  expect_futures_error(
      h, R"({"channel":"push.deal","data":[{"p":63000,"v":40,"T":3,"t":1714567890400}],"symbol":"BTC_USDT"})",
      ParseError::kBadValue);
  expect_futures_error(
      h, R"({"channel":"push.deal","data":[{"p":63000,"v":-1,"T":1,"t":1714567890400}],"symbol":"BTC_USDT"})",
      ParseError::kBadValue);
  expect_futures_error(
      h, R"({"channel":"push.deal","data":[{"p":"x","v":1,"T":1,"t":1714567890400}],"symbol":"BTC_USDT"})",
      ParseError::kBadType);
  expect_futures_error(h, R"({"channel":"push.deal","data":[{"p":63000,"T":1,"t":1714567890400}],"symbol":"BTC_USDT"})",
                       ParseError::kMissingField);
  // A contract the instruments table does not list: never guessed.
  expect_futures_error(h,
                       R"({"channel":"push.deal","data":[{"p":2,"v":3,"T":1,"t":1714567890400}],"symbol":"XYZ_USDT"})",
                       ParseError::kUnknownInstrument);
  // One bad deal among good ones: the good ones are kept.
  ASSERT_EQ(h.parse(R"({"channel":"push.deal","data":[{"p":63000,"v":10,"T":1,"t":1714567890400},)"
                    R"({"p":63000,"v":10,"T":0,"t":1714567890401},{"p":63001,"v":20,"T":2,"t":1714567890402}],)"
                    R"("symbol":"BTC_USDT","ts":1})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.002);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 3u);
}

// ---------------------------------------------------------------------------

TEST(MexcParsers, TradePathsDoNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness spot("MEXC"), futures("MEXC_FUTURES");
  PaddedFrame spot_deals, pong, fut_deals, fut_pong;
  spot_deals.assign(spot_frame(
      "BTCUSDT", deal("63000.5", "0.25", 2, 1714567890400) + deal("63000.6", "0.5", 1, 1714567890401, "123")));
  pong.assign(R"({"id":0,"code":0,"msg":"PONG"})");
  fut_deals.assign(
      R"({"channel":"push.deal","data":[{"M":2,"O":1,"T":1,"p":63241.3,"t":1714567890400,"v":150},)"
      R"({"M":2,"O":2,"T":2,"p":63241.1,"t":1714567890412,"v":2000}],"symbol":"BTC_USDT","ts":1714567890560})");
  fut_pong.assign(R"({"channel":"pong","data":1714567890790})");
  ASSERT_EQ(spot.parser->parse(spot_deals.view(), 1, spot.out), ParseOutcome::kEvents);  // markets resolved
  ASSERT_EQ(futures.parser->parse(fut_deals.view(), 1, futures.out), ParseOutcome::kEvents);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    spot.out.clear();
    futures.out.clear();
    spot.parser->parse(spot_deals.view(), 1, spot.out);
    spot.parser->parse(pong.view(), 1, spot.out);
    futures.parser->parse(fut_deals.view(), 1, futures.out);
    futures.parser->parse(fut_pong.view(), 1, futures.out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(spot.parser->stats().trades, 2002u);
  EXPECT_EQ(futures.parser->stats().trades, 2002u);
}

// ---------------------------------------------------------------------------
// The live plans (feeds/venues/mexc.cc).

TEST(MexcPlan, SpotSubscribesEachSymbolPaced) {
  LiveFeedConfig config;
  config.venue = Venue::kMexcSpot;
  config.symbols = {"BTCUSDT", "ethusdt"};
  const LiveFeedPlan plan = plan_for(config);  // liquidations on: MEXC has none to add
  EXPECT_EQ(plan.host, "wbs-api.mexc.com");
  EXPECT_EQ(plan.port, 443);
  EXPECT_EQ(plan.target, "/ws");
  EXPECT_EQ(plan.parser_name, "MEXC");
  EXPECT_EQ(plan.subscribe,
            (std::vector<std::string>{
                R"({"method":"SUBSCRIPTION","params":["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"]})",
                R"({"method":"SUBSCRIPTION","params":["spot@public.aggre.deals.v3.api.pb@100ms@ETHUSDT"]})"}));
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{150});
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{20'000});
  EXPECT_EQ(plan.ping_text, R"({"method":"PING"})");
  const VenueProtocol& spot = venue_protocol(Venue::kMexcSpot);
  EXPECT_EQ(spot.exchange, "MEXC");
  EXPECT_EQ(spot.max_topics, 30u);
  EXPECT_TRUE(spot.carries("BTCUSDT"));
  EXPECT_FALSE(spot.carries("BTC_USDT"));
  EXPECT_EQ(spot.market_pair("ethusdt"), "ETHUSDT");
  EXPECT_EQ(spot.gaps({}), GapDetection::kTime);
  EXPECT_EQ(spot.default_channels(true), spot.default_channels(false));
  // 31 symbols exceed MEXC's 30 subscriptions per connection.
  config.symbols.assign(31, "BTCUSDT");
  EXPECT_THROW(plan_for(config), std::invalid_argument);
  config.symbols = {"BTC\"USDT"};
  EXPECT_THROW(plan_for(config), std::invalid_argument);
}

TEST(MexcPlan, FuturesSubscribesEachContractPaced) {
  LiveFeedConfig config;
  config.venue = Venue::kMexcFutures;
  config.symbols = {"BTC_USDT", "eth_usdt"};
  const LiveFeedPlan plan = plan_for(config);
  EXPECT_EQ(plan.host, "contract.mexc.com");
  EXPECT_EQ(plan.target, "/edge");
  EXPECT_EQ(plan.parser_name, "MEXC_FUTURES");
  EXPECT_EQ(plan.subscribe, (std::vector<std::string>{R"({"method":"sub.deal","param":{"symbol":"BTC_USDT"}})",
                                                      R"({"method":"sub.deal","param":{"symbol":"ETH_USDT"}})"}));
  EXPECT_EQ(plan.subscribe_interval, std::chrono::milliseconds{150});
  EXPECT_EQ(plan.ping_interval, std::chrono::milliseconds{15'000});
  EXPECT_EQ(plan.ping_text, R"({"method":"ping"})");
  const VenueProtocol& futures = venue_protocol(Venue::kMexcFutures);
  EXPECT_EQ(futures.exchange, "MEXC_FUTURES");
  EXPECT_TRUE(futures.carries("BTC_USDT"));
  EXPECT_FALSE(futures.carries("BTCUSDT"));
  EXPECT_EQ(futures.market_pair("eth_usdt"), "ETH_USDT");
  EXPECT_EQ(futures.max_topics, 50u);
  EXPECT_EQ(futures.gaps({"deal"}), GapDetection::kTime);
}

}  // namespace
}  // namespace tickflow
