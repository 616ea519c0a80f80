// Deribit parser (feeds/deribit_parser.cc). The bundled capture has no
// trade frames (an RPC response, tickers and books only): it checks that
// everything else is skipped by kind. Trade frames are HAND-WRITTEN fixtures
// in the documented JSON-RPC shape (../shared/docs/exchanges.md), with
// hand-computed expectations.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/live_feed.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/feed_test_support.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  Harness() : parser(make_parser("DERIBIT", registry)) {}
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

const std::string kCapture = std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/DERIBIT.ws.1.0.gz";

ParseStats parse_capture() {
  Harness h;
  CaptureReader reader(kCapture);
  CaptureRecord record;
  while (reader.next(record)) {
    h.out.clear();
    h.parser->parse(record.frame, record.receive_ts_ns, h.out);
    EXPECT_TRUE(h.out.empty());
  }
  EXPECT_EQ(h.parser->stats().frames, reader.counts().frames);
  return h.parser->stats();
}

TEST(DeribitCapture, NoTradesEverythingSkippedByKind) {
  const ParseStats s = parse_capture();
  EXPECT_EQ(s.frames, 136u);
  EXPECT_EQ(s.trades, 0u);
  EXPECT_EQ(s.quotes, 0u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(s[SkipKind::kControl], 1u);        // the public/subscribe response
  EXPECT_EQ(s[SkipKind::kBook], 46u);          // book.*.raw
  EXPECT_EQ(s[SkipKind::kOtherChannel], 89u);  // ticker.*.raw
  EXPECT_EQ(s.total_skipped(), 136u);
}

TEST(DeribitCapture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const auto ref = test::run_reference("deribit_reference.py", "'" + kCapture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  const ParseStats s = parse_capture();
  EXPECT_EQ(s.frames, std::stoull(ref.at("frames")));
  EXPECT_EQ(s.trades, std::stoull(ref.at("trades")));
  EXPECT_EQ(s[SkipKind::kControl], std::stoull(ref.at("skip_control")));
  EXPECT_EQ(s[SkipKind::kBook], std::stoull(ref.at("skip_book")));
  EXPECT_EQ(s[SkipKind::kOtherChannel], std::stoull(ref.at("skip_other")));
}

// ---------------------------------------------------------------------------
// Hand-written trade fixtures.

std::string trades_frame(std::string_view channel, std::string_view trades) {
  return std::string(R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":")") + std::string(channel) +
         R"(","data":[)" + std::string(trades) + "]}}";
}

TEST(DeribitTrades, UnitsByInstrumentKind) {
  Harness h;
  // BTC-PERPETUAL: inverse, 2500 USD at 50000 -> 0.05 BTC, numeric id.
  // BTC-24SEP21 (dated future): inverse, 100 USD at 40000 -> 0.0025 BTC.
  // BTC-24SEP21-8000-P (option): amount 1.5 is BTC, price 0.0125 (in BTC) as quoted.
  // BTC_USDC-PERPETUAL (linear USDC): amount 0.2 is BTC.
  // ETH-PERPETUAL: 10 USD at 2000 -> 0.005 ETH; id "ETH-98765" is not numeric: hashed.
  const std::string frame = trades_frame(
      "trades.future.any.100ms",
      R"({"trade_seq":30289432,"trade_id":"123456789","timestamp":1626993723632,"tick_direction":0,)"
      R"("price":50000.0,"mark_price":50001.2,"iv":0,"instrument_name":"BTC-PERPETUAL","index_price":50000.5,)"
      R"("direction":"buy","amount":2500.0},)"
      R"({"trade_seq":1,"trade_id":"123456790","timestamp":1626993723633,"price":40000,)"
      R"("instrument_name":"BTC-24SEP21","direction":"sell","amount":100},)"
      R"({"trade_seq":2,"trade_id":"123456791","timestamp":1626993723634,"price":0.0125,)"
      R"("instrument_name":"BTC-24SEP21-8000-P","direction":"sell","amount":1.5},)"
      R"({"trade_seq":3,"trade_id":"USDC-1234","timestamp":1626993723635,"price":30000,)"
      R"("instrument_name":"BTC_USDC-PERPETUAL","direction":"buy","amount":0.2},)"
      R"({"trade_seq":4,"trade_id":"ETH-98765","timestamp":1626993723636,"price":2000,)"
      R"("instrument_name":"ETH-PERPETUAL","direction":"buy","amount":10})");
  ASSERT_EQ(h.parse(frame), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 5u);
  EXPECT_EQ(h.market_name(0), "DERIBIT:BTC-PERPETUAL");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kInverse);
  EXPECT_EQ(h.trade(0).trade_id, 123456789u);
  EXPECT_EQ(h.trade(0).flags, kTradeNone);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.05);
  EXPECT_DOUBLE_EQ(h.trade(0).notional(), 2500.0);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1626993723632 * 1'000'000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.market_name(1), "DERIBIT:BTC-24SEP21");
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.0025);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_EQ(h.market_name(2), "DERIBIT:BTC-24SEP21-8000-P");
  EXPECT_DOUBLE_EQ(h.trade(2).qty, 1.5);
  EXPECT_DOUBLE_EQ(h.trade(2).price, 0.0125);
  EXPECT_EQ(h.registry.info(h.trade(3).market).kind, InstrumentKind::kLinear);
  EXPECT_DOUBLE_EQ(h.trade(3).qty, 0.2);
  EXPECT_EQ(h.trade(3).flags, kTradeIdHashed);
  EXPECT_DOUBLE_EQ(h.trade(4).qty, 0.005);
  EXPECT_EQ(h.trade(4).flags, kTradeIdHashed);
  EXPECT_NE(h.trade(3).trade_id, h.trade(4).trade_id);
  EXPECT_EQ(h.parser->stats().trades, 5u);
  EXPECT_EQ(h.parser->stats().liquidations, 0u);
}

TEST(DeribitTrades, LiquidationFieldFlagsAndSetsTheOrderSide) {
  Harness h;
  // "T": the taker (here a seller) was liquidated -> sell liquidation.
  // "M": the maker was liquidated; the taker bought, so the maker's forced order sold -> sell.
  // "MT": both; the taker's side (buy) is kept.
  const std::string frame =
      trades_frame("trades.BTC-PERPETUAL.raw",
                   R"({"trade_seq":10,"trade_id":"200","timestamp":1626993723640,"price":32000,)"
                   R"("instrument_name":"BTC-PERPETUAL","direction":"sell","amount":3200,"liquidation":"T"},)"
                   R"({"trade_seq":11,"trade_id":"201","timestamp":1626993723641,"price":32000,)"
                   R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":6400,"liquidation":"M"},)"
                   R"({"trade_seq":12,"trade_id":"202","timestamp":1626993723642,"price":32000,)"
                   R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":320,"liquidation":"MT"},)"
                   R"({"trade_seq":13,"trade_id":"203","timestamp":1626993723643,"price":32000,)"
                   R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":32})");
  ASSERT_EQ(h.parse(frame), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 4u);
  EXPECT_EQ(h.trade(0).flags, kTradeLiquidation);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.1);
  EXPECT_EQ(h.trade(1).flags, kTradeLiquidation);
  EXPECT_EQ(h.trade(1).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.2);
  EXPECT_EQ(h.trade(2).flags, kTradeLiquidation);
  EXPECT_EQ(h.trade(2).side, Side::kBuy);
  EXPECT_EQ(h.trade(3).flags, kTradeNone);
  EXPECT_EQ(h.trade(3).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(3).qty, 0.001);
  EXPECT_EQ(h.parser->stats().liquidations, 3u);
}

TEST(DeribitSkips, ResponsesHeartbeatsAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","id":7,"result":["trades.BTC-PERPETUAL.raw"],"usIn":1,"usOut":2})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","id":8,"error":{"code":11050,"message":"bad_request"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms",)"
                    R"("data":{"bids":[],"asks":[]}}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.BTC-PERPETUAL.100ms",)"
                    R"("data":{"best_bid_price":1}}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","method":"subscription","params":{"channel":"quote.BTC-PERPETUAL",)"
                    R"("data":{"best_bid_price":1}}})"),
            ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s[SkipKind::kBook], 1u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 2u);
  EXPECT_EQ(s.total_errors(), 0u);
}

// public/set_heartbeat's test_request must be answered with public/test,
// or Deribit closes the connection; plain heartbeats need no answer.
TEST(DeribitKeepalive, TestRequestLeavesPublicTestAsTheReply) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","method":"heartbeat","params":{"type":"heartbeat"}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->pending_reply(), "");
  EXPECT_EQ(h.parse(R"({"params":{"type":"test_request"},"method":"heartbeat","jsonrpc":"2.0"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->pending_reply(), R"({"jsonrpc":"2.0","id":9,"method":"public/test","params":{}})");
  h.parser->clear_reply();
  EXPECT_EQ(h.parse(R"({"jsonrpc":"2.0","id":9,"result":{"version":"1.2.26"},"usIn":1,"usOut":2})"),
            ParseOutcome::kSkipped);  // Deribit's answer to public/test
  EXPECT_EQ(h.parser->pending_reply(), "");
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 3u);
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

// ---------------------------------------------------------------------------
// Malformed input: each frame counted once by reason; a good frame parses
// right afterwards.

const std::string kGood = trades_frame("trades.BTC-PERPETUAL.raw",
                                       R"({"trade_seq":1,"trade_id":"999","timestamp":1626993723632,"price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400})");

std::string one_trade(std::string_view fields) {
  std::string trade = "{";
  trade.append(fields).append("}");
  return trades_frame("trades.BTC-PERPETUAL.raw", trade);
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
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.01);  // 400 USD at 40000
  EXPECT_EQ(h.trade(0).trade_id, 999u);
}

TEST(DeribitMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error_then_recovers(h, std::string_view(kGood).substr(0, kGood.size() - 4), ParseError::kTruncated);
  expect_error_then_recovers(h, std::string_view(kGood).substr(0, 50), ParseError::kTruncated);
  expect_error_then_recovers(h, "", ParseError::kTruncated);
  expect_error_then_recovers(h, one_trade("\"trade_id\":\"9\xe2\x82\""), ParseError::kTruncated);
  {
    std::mt19937 rng(99);
    std::string noise(300, '\0');
    for (char& c : noise) c = static_cast<char>(rng() & 0xff);
    expect_error_then_recovers(h, noise, ParseError::kTruncated);
  }
  expect_error_then_recovers(h, "}{", ParseError::kTruncated);
  // Wrong types.
  expect_error_then_recovers(h, "3.14", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"method":1})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"method":"subscription","params":[]})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"method":"subscription","params":{"channel":"trades.X.raw","data":{}}})",
                             ParseError::kBadType);
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":999,"timestamp":1626993723632,"price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400)"),
                             ParseError::kBadType);
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":"1626993723632","price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400)"),
                             ParseError::kBadType);
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":1626993723632,"price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400,)"
                                       R"("liquidation":true)"),
                             ParseError::kBadType);
  // Huge or negative numbers.
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":1626993723632,"price":-40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400)"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":1626993723632,"price":1e300,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400)"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":1626993723632,"price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":-400)"),
                             ParseError::kBadValue);
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":1626993723632000,"price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400)"),
                             ParseError::kBadValue);  // microseconds, not ms
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"","timestamp":1626993723632,"price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400)"),
                             ParseError::kBadValue);
  // Missing fields.
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":1626993723632,"price":40000,)"
                                       R"("instrument_name":"BTC-PERPETUAL","amount":400)"),
                             ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"jsonrpc":"2.0","method":"subscription"})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"method":"subscription","params":{"data":[]}})", ParseError::kMissingField);
  expect_error_then_recovers(h, trades_frame("trades.BTC-PERPETUAL.raw", ""), ParseError::kMissingField);
  // Unknown method, unknown instrument shape.
  expect_error_then_recovers(h, R"({"jsonrpc":"2.0","method":"private/whatever","params":{}})",
                             ParseError::kUnknownChannel);
  expect_error_then_recovers(h, R"({"jsonrpc":"2.0"})", ParseError::kUnknownChannel);
  expect_error_then_recovers(h,
                             one_trade(R"("trade_id":"1","timestamp":1626993723632,"price":40000,)"
                                       R"("instrument_name":"BTC-SOMETHING-ELSE","direction":"buy","amount":400)"),
                             ParseError::kUnknownInstrument);
  EXPECT_EQ(h.parser->stats().frames, 2u * 25u);
}

TEST(DeribitMalformed, OneBadTradeAmongGoodOnes) {
  Harness h;
  const std::string frame = trades_frame(
      "trades.BTC-PERPETUAL.raw",
      R"({"trade_id":"1","timestamp":1626993723632,"price":40000,"instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400},)"
      R"({"trade_id":"2","timestamp":1626993723632,"price":40000,"instrument_name":"BTC-PERPETUAL","direction":"buy"},)"
      R"({"trade_id":"3","timestamp":1626993723632,"price":40000,"instrument_name":"BTC-PERPETUAL","direction":"sell","amount":800})");
  ASSERT_EQ(h.parse(frame), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).trade_id, 1u);
  EXPECT_EQ(h.trade(1).trade_id, 3u);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.02);
  EXPECT_EQ(h.parser->stats()[ParseError::kMissingField], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
}

TEST(DeribitMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  const std::string good = trades_frame(
      "trades.BTC-PERPETUAL.raw",
      R"({"trade_id":"1","timestamp":1626993723632,"price":40000,"instrument_name":"BTC-PERPETUAL","direction":"buy","amount":400},)"
      R"({"trade_id":"ETH-3","timestamp":1626993723632,"price":2000,"instrument_name":"ETH-PERPETUAL","direction":"sell","amount":8,"liquidation":"M"})");
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
  ASSERT_EQ(h.parse(kGood), ParseOutcome::kEvents);
  EXPECT_EQ(h.out.size(), 1u);
}

TEST(DeribitFactory, Name) {
  MarketRegistry registry;
  auto parser = make_parser("DERIBIT", registry);
  ASSERT_NE(parser, nullptr);
  EXPECT_EQ(parser->exchange(), "DERIBIT");
  EXPECT_EQ(make_deribit_parser("deribit", registry, {}), nullptr);
}

// The live endpoint (feeds/venues/deribit.cc).
TEST(DeribitPlan, Endpoint) {
  LiveFeedConfig c;
  c.venue = Venue::kDeribit;
  c.symbols = {"BTC-PERPETUAL", "ETH-PERPETUAL"};
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trades"});  // liquidations ride in trades
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "www.deribit.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/ws/api/v2");
  EXPECT_EQ(p.parser_name, "DERIBIT");
  const std::vector<std::string> expected = {
      R"({"jsonrpc":"2.0","id":1,"method":"public/set_heartbeat","params":{"interval":30}})",
      R"({"jsonrpc":"2.0","id":2,"method":"public/subscribe","params":{"channels":["trades.BTC-PERPETUAL.100ms","trades.ETH-PERPETUAL.100ms"]}})"};
  EXPECT_EQ(p.subscribe, expected);
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(p.ping_text, "");
  EXPECT_EQ(venue_protocol(Venue::kDeribit).gaps({"trades"}), GapDetection::kTime);
  c.symbols = {"BTC\"PERPETUAL"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

// tests/data/fixtures/deribit.txt (hand-written; the fuzz seeds for trades,
// liquidations and the heartbeat): exact figures by construction.
TEST(DeribitFixture, TradesLiquidationsAndHeartbeats) {
  Harness h;
  const test::CaptureRun run = test::run_capture(*h.parser, test::test_data("fixtures/deribit.txt"));
  EXPECT_EQ(run.lines.frames, 7u);
  ASSERT_EQ(run.trades.size(), 3u);
  EXPECT_DOUBLE_EQ(run.trades[0].qty, 0.025);  // 2500 USD at 100000
  EXPECT_EQ(run.trades[1].side, Side::kBuy);   // "M" of a taker sell: the maker bought
  EXPECT_TRUE(run.trades[1].is_liquidation());
  EXPECT_EQ(run.trades[2].side, Side::kSell);  // "MT" keeps the taker's side
  EXPECT_NE(run.trades[2].flags & kTradeIdHashed, 0);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s.liquidations, 2u);
  EXPECT_EQ(s[SkipKind::kControl], 5u);  // 3 results, 2 heartbeats
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(h.parser->pending_reply(), R"({"jsonrpc":"2.0","id":9,"method":"public/test","params":{}})");
}

}  // namespace
}  // namespace tickflow
