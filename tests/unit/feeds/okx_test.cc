// OKX parser (feeds/okx_parser.cc): the real v5 capture checked against an
// independent reference (tests/tools/okx_reference.py), hand-written
// fixtures for swaps and liquidations, and malformed input.
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
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'700'000'000'123'456'789;

struct Harness {
  explicit Harness(std::string_view exchange = "OKX") : parser(make_parser(exchange, registry)) {}
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
// The real capture (whole): spot BTC-USDT, the inverse dated future
// BTC-USD-220527 and the inverse swap UNI-USD-SWAP (contract terms from the
// shipped instruments table), with tickers, books and subscribe acks.

TEST(OkxCapture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string capture = std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/OKX.ws.1.0.gz";
  const auto ref = test::run_reference("okx_reference.py", "'" + capture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";

  Harness h("OKX");
  CaptureReader reader(capture);
  CaptureRecord record;
  std::uint64_t trades = 0, taker_buys = 0, first_id = 0, last_id = 0;
  std::int64_t first_ts = 0, last_ts = 0;
  double sum_qty = 0, sum_notional = 0;
  std::map<std::string, std::uint64_t> per_market;
  while (reader.next(record)) {
    h.out.clear();
    h.parser->parse(record.frame, record.receive_ts_ns, h.out);
    for (const FeedEvent& e : h.out) {
      ASSERT_EQ(e.type, FeedEventType::kTrade);
      const Trade& t = e.trade;
      EXPECT_EQ(t.flags, kTradeNone);
      EXPECT_EQ(t.receive_ts_ns, record.receive_ts_ns);
      ++per_market[h.registry.info(t.market).name];
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
  // The figures the reference printed when this test was written.
  EXPECT_EQ(s.trades, 74u);
  EXPECT_EQ((per_market == std::map<std::string, std::uint64_t>{{"OKEX:BTC-USDT", 69},
                                                                {"OKEX:BTC-USD-220527", 4},
                                                                {"OKEX:UNI-USD-SWAP", 1}}),
            true);
}

// ---------------------------------------------------------------------------
// Hand-written fixtures in the documented v5 shapes (no liquidation or
// linear-swap trades in the capture). Expected values computed by hand.

TEST(OkxTrades, SwapsUseTheInstrumentsTable) {
  Harness h("OKEX");
  // BTC-USDT-SWAP: ctVal 0.01 BTC, sz 15 -> 0.15 BTC.
  // BTC-USD-SWAP: ctVal 100 USD, sz 10 at 50000 -> 1000 USD -> 0.02 BTC.
  // BTC-USDT (spot): sz is base, 0.5.
  ASSERT_EQ(
      h.parse(R"({"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[)"
              R"({"instId":"BTC-USDT-SWAP","tradeId":"123","px":"63241.3","sz":"15","side":"sell",)"
              R"("ts":"1714567890400","count":"2"},)"
              R"({"instId":"BTC-USD-SWAP","tradeId":"124","px":"50000","sz":"10","side":"buy",)"
              R"("ts":"1714567890401"},)"
              R"({"instId":"BTC-USDT","tradeId":"125","px":"63000","sz":"0.5","side":"buy","ts":"1714567890402"}]})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 3u);
  EXPECT_EQ(h.market_name(0), "OKEX:BTC-USDT-SWAP");
  EXPECT_EQ(h.trade(0).trade_id, 123u);
  EXPECT_EQ(h.trade(0).flags, kTradeNone);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 63241.3);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.15);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890400 * 1'000'000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.market_name(1), "OKEX:BTC-USD-SWAP");
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.02);
  EXPECT_DOUBLE_EQ(h.trade(1).notional(), 1000.0);
  EXPECT_EQ(h.trade(1).side, Side::kBuy);
  EXPECT_EQ(h.market_name(2), "OKEX:BTC-USDT");
  EXPECT_EQ(h.registry.info(h.trade(2).market).kind, InstrumentKind::kSpot);
  EXPECT_DOUBLE_EQ(h.trade(2).qty, 0.5);
}

TEST(OkxTrades, UnknownSwapIsNeverGuessed) {
  Harness h;
  EXPECT_EQ(
      h.parse(R"({"arg":{"channel":"trades","instId":"XYZ-USDT-SWAP"},"data":[)"
              R"({"instId":"XYZ-USDT-SWAP","tradeId":"1","px":"2","sz":"3","side":"buy","ts":"1714567890400"}]})"),
      ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kUnknownInstrument], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
  EXPECT_EQ(h.parser->stats().trades, 0u);
}

TEST(OkxLiquidations, DetailsBecomeLiquidationTrades) {
  Harness h;
  // BTC-USDT-SWAP sz 40 -> 0.4 BTC at 62950.1, a sell order (a long liquidated).
  // BTC-USD-SWAP sz 5 -> 500 USD at 50000 -> 0.01 BTC, a buy order.
  constexpr std::string_view kLiq =
      R"({"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[)"
      R"({"instId":"BTC-USDT-SWAP","instType":"SWAP","uly":"BTC-USDT","details":[)"
      R"({"bkLoss":"0","bkPx":"62950.1","ccy":"","posSide":"long","side":"sell","sz":"40","ts":"1714567890400"}]},)"
      R"({"instId":"BTC-USD-SWAP","instType":"SWAP","uly":"BTC-USD","details":[)"
      R"({"bkLoss":"0","bkPx":"50000","ccy":"","posSide":"short","side":"buy","sz":"5","ts":"1714567890500"},)"
      R"({"bkLoss":"0","bkPx":"50010","ccy":"","posSide":"short","side":"buy","sz":"1","ts":"1714567890600"}]}]})";
  ASSERT_EQ(h.parse(kLiq), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 3u);
  EXPECT_EQ(h.market_name(0), "OKEX:BTC-USDT-SWAP");
  EXPECT_EQ(h.trade(0).flags, kTradeLiquidation | kTradeIdHashed);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.4);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 62950.1);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890400 * 1'000'000);
  EXPECT_EQ(h.market_name(1), "OKEX:BTC-USD-SWAP");
  EXPECT_EQ(h.trade(1).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.01);
  EXPECT_NE(h.trade(1).trade_id, h.trade(2).trade_id);
  const std::uint64_t id0 = h.trade(0).trade_id;
  ASSERT_EQ(h.parse(kLiq), ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).trade_id, id0);  // stable: duplicates de-duplicate
  EXPECT_EQ(h.parser->stats().liquidations, 6u);
}

// liquidation-orders is market-wide (keyed by instType): a live feed
// subscribes SWAP once and its allowlist keeps the configured markets. The
// others are counted as unconfigured, never interned, never allocated for.
TEST(OkxLiquidations, MarketWideStreamIsFilteredToTheAllowlistWithoutAllocating) {
  Harness h;
  h.parser->markets().set_allowlist({"BTC-USDT-SWAP"});
  constexpr std::string_view kWide =
      R"({"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[)"
      R"({"instId":"DOGE-USDT-SWAP","instType":"SWAP","uly":"DOGE-USDT","details":[)"
      R"({"bkLoss":"0","bkPx":"0.1","ccy":"","posSide":"long","side":"sell","sz":"10","ts":"1714567890300"}]},)"
      R"({"instId":"BTC-USDT-SWAP","instType":"SWAP","uly":"BTC-USDT","details":[)"
      R"({"bkLoss":"0","bkPx":"62950.1","ccy":"","posSide":"long","side":"sell","sz":"40","ts":"1714567890400"}]},)"
      R"({"instId":"ETH-USDT-SWAP","instType":"SWAP","uly":"ETH-USDT","details":[)"
      R"({"bkLoss":"0","bkPx":"3000","ccy":"","posSide":"short","side":"buy","sz":"3","ts":"1714567890500"}]}]})";
  ASSERT_EQ(h.parse(kWide), ParseOutcome::kEvents);  // first sight of BTC-USDT-SWAP may allocate
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.market_name(0), "OKEX:BTC-USDT-SWAP");
  EXPECT_EQ(h.registry.size(), 1u);  // the other instruments never became markets
  EXPECT_EQ(h.parser->markets().unconfigured(), 2u);
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  const long before = test::allocation_count();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(h.parse(kWide), ParseOutcome::kEvents);
  EXPECT_EQ(test::allocation_count(), before);
  EXPECT_EQ(h.parser->markets().unconfigured(), 202u);
  EXPECT_EQ(h.registry.size(), 1u);
}

TEST(OkxSkips, ControlBookAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse("pong"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"error","code":"60012","msg":"Invalid request"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[],"bids":[]}]})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[]})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":"1"}]})"),
            ParseOutcome::kSkipped);
  const ParseStats& s = h.parser->stats();
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.total_errors(), 0u);
}

// ---------------------------------------------------------------------------
// Malformed input: each frame counted once by reason; a good frame parses
// right afterwards.

constexpr std::string_view kGood =
    R"({"arg":{"channel":"trades","instId":"ETH-USDT-SWAP"},"data":[)"
    R"({"instId":"ETH-USDT-SWAP","tradeId":"555","px":"3100.5","sz":"25","side":"buy","ts":"1714567890400"}]})";

std::string trade_frame(std::string_view fields) {
  return std::string(R"({"arg":{"channel":"trades","instId":"ETH-USDT-SWAP"},"data":[{)") + std::string(fields) + "}]}";
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
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 2.5);  // 25 contracts of 0.1 ETH
  EXPECT_EQ(h.trade(0).trade_id, 555u);
}

TEST(OkxMalformed, EachFrameCountedOnceByReason) {
  Harness h;
  expect_error_then_recovers(h, kGood.substr(0, kGood.size() - 5), ParseError::kTruncated);
  expect_error_then_recovers(h, kGood.substr(0, 30), ParseError::kTruncated);
  expect_error_then_recovers(h, "", ParseError::kTruncated);
  expect_error_then_recovers(h, trade_frame("\"instId\":\"ETH-\xc3\x28-SWAP\""), ParseError::kTruncated);
  {
    std::mt19937 rng(4242);
    std::string noise(300, '\0');
    for (char& c : noise) c = static_cast<char>(rng() & 0xff);
    expect_error_then_recovers(h, noise, ParseError::kTruncated);
  }
  expect_error_then_recovers(h, "ping pong", ParseError::kTruncated);
  // Wrong types.
  expect_error_then_recovers(h, "\"pong\"", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"arg":"trades","data":[]})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"arg":{"channel":["trades"]},"data":[]})", ParseError::kBadType);
  expect_error_then_recovers(h, R"({"arg":{"channel":"trades"},"data":"none"})", ParseError::kBadType);
  expect_error_then_recovers(
      h,
      trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"x9","px":"3100","sz":"1","side":"buy","ts":"1714567890400")"),
      ParseError::kBadType);
  expect_error_then_recovers(
      h, trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":null,"sz":"1","side":"buy","ts":"1714567890400")"),
      ParseError::kBadType);
  expect_error_then_recovers(
      h, trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":"3100","sz":"1","side":7,"ts":"1714567890400")"),
      ParseError::kBadType);
  // Huge or negative numbers.
  expect_error_then_recovers(
      h,
      trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":"1e16","sz":"1","side":"buy","ts":"1714567890400")"),
      ParseError::kBadValue);
  expect_error_then_recovers(
      h,
      trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":"3100","sz":"-1","side":"buy","ts":"1714567890400")"),
      ParseError::kBadValue);
  expect_error_then_recovers(
      h,
      trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":"3100","sz":"1","side":"buy","ts":"-1714567890400")"),
      ParseError::kBadValue);
  expect_error_then_recovers(
      h, trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":"3100","sz":"1","side":"buy","ts":"1714567890")"),
      ParseError::kBadValue);  // seconds, not ms
  expect_error_then_recovers(
      h, trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":"3100","sz":"1","side":"?","ts":"1714567890400")"),
      ParseError::kBadValue);
  // Missing fields.
  expect_error_then_recovers(
      h, trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","sz":"1","side":"buy","ts":"1714567890400")"),
      ParseError::kMissingField);
  expect_error_then_recovers(h,
                             trade_frame(R"("instId":"ETH-USDT-SWAP","tradeId":"9","px":"3100","sz":"1","side":"buy")"),
                             ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"arg":{"channel":"trades","instId":"ETH-USDT-SWAP"}})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"data":[]})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"arg":{"channel":"trades"},"data":[]})", ParseError::kMissingField);
  expect_error_then_recovers(h, R"({"arg":{"channel":"liquidation-orders"},"data":[{"instId":"BTC-USDT-SWAP"}]})",
                             ParseError::kMissingField);
  // Unknown instrument (a future missing from the table).
  expect_error_then_recovers(
      h,
      trade_frame(R"("instId":"ETH-USD-991231","tradeId":"9","px":"3100","sz":"1","side":"buy","ts":"1714567890400")"),
      ParseError::kUnknownInstrument);
  EXPECT_EQ(h.parser->stats().frames, 2u * 25u);
}

TEST(OkxMalformed, OneBadTradeAmongGoodOnes) {
  Harness h;
  ASSERT_EQ(
      h.parse(R"({"arg":{"channel":"trades","instId":"ETH-USDT-SWAP"},"data":[)"
              R"({"instId":"ETH-USDT-SWAP","tradeId":"1","px":"3100","sz":"10","side":"buy","ts":"1714567890400"},)"
              R"({"instId":"ETH-USDT-SWAP","tradeId":"2","px":"0","sz":"10","side":"buy","ts":"1714567890400"},)"
              R"({"instId":"ETH-USDT-SWAP","tradeId":"3","px":"3101","sz":"20","side":"sell","ts":"1714567890401"}]})"),
      ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.trade(0).trade_id, 1u);
  EXPECT_EQ(h.trade(1).trade_id, 3u);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 2.0);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
}

TEST(OkxMalformed, EveryPrefixAndByteFlipIsAccountedFor) {
  Harness h;
  const std::string good =
      R"({"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[)"
      R"({"instId":"BTC-USDT-SWAP","details":[{"bkPx":"62950.1","side":"sell","sz":"40","ts":"1714567890400"},)"
      R"({"bkPx":"62951","side":"buy","sz":"4","ts":"1714567890401"}]}]})";
  for (std::size_t n = 0; n < good.size(); ++n) {
    const ParseOutcome outcome = h.parse(std::string_view(good).substr(0, n));
    EXPECT_LE(h.out.size(), 2u);
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !h.out.empty());
  }
  std::mt19937 rng(11);
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

TEST(OkxFactory, BothNamesNameMarketsOkex) {
  Harness okx("OKX");
  Harness okex("OKEX");
  ASSERT_NE(okx.parser, nullptr);
  ASSERT_NE(okex.parser, nullptr);
  EXPECT_EQ(okx.parser->exchange(), "OKEX");
  EXPECT_EQ(okex.parser->exchange(), "OKEX");
  ASSERT_EQ(okx.parse(kGood), ParseOutcome::kEvents);
  EXPECT_EQ(okx.market_name(0), "OKEX:ETH-USDT-SWAP");
}

}  // namespace
}  // namespace tickflow
