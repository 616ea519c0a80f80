// Coinbase Exchange parser (feeds/coinbase_parser.cc): the bundled real
// capture (tests/data/cryptofeed/COINBASE.ws.28.0.gz, trimmed from
// cryptofeed's sample_data) checked against figures that
// tests/tools/coinbase_reference.py derives from the same file with Python's
// json module, plus hand-made frames for skips and malformed input.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/exchange_parser.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"

#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

using test::expect_matches_reference;
using test::Malformed;
using test::random_bytes;
using test::replay;
using test::Totals;

const std::string kCapture = std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/COINBASE.ws.28.0.gz";

// Frames built in tests live in a PaddedFrame, as the parser requires.
struct Harness {
  MarketRegistry registry;
  std::unique_ptr<ExchangeParser> parser = make_coinbase_parser("COINBASE", registry, {});
  PaddedFrame frame;
  EventBuffer buffer{64};

  ParseOutcome parse(std::string_view text, std::int64_t receive_ts_ns = 1'700'000'000'000'000'000) {
    frame.assign(text);
    buffer.clear();
    return parser->parse(frame.view(), receive_ts_ns, buffer);
  }
  const Trade& trade(std::size_t i = 0) const { return buffer[i].trade; }
  std::string market_name(std::size_t i = 0) const { return registry.info(trade(i).market).name; }
};

constexpr std::string_view kGoodMatch =
    R"({"type":"match","trade_id":7,"maker_order_id":"a","taker_order_id":"b","side":"buy","size":"0.25",)"
    R"("price":"63248.17","product_id":"BTC-USD","sequence":1,"time":"2024-05-01T12:51:30.512345Z"})";

void expect_good_match_parses(Harness& h) {
  ASSERT_EQ(h.parse(kGoodMatch), ParseOutcome::kEvents);
  ASSERT_EQ(h.buffer.size(), 1u);
  const Trade& t = h.trade();
  EXPECT_EQ(t.trade_id, 7u);
  EXPECT_EQ(t.side, Side::kSell);  // maker bought: the taker sold
  EXPECT_DOUBLE_EQ(t.price, 63248.17);
  EXPECT_DOUBLE_EQ(t.qty, 0.25);
  EXPECT_EQ(t.exchange_ts_ns, 1714567890512345000);  // 2024-05-01T12:51:30.512345Z
  EXPECT_EQ(h.market_name(), "COINBASE:BTC-USD");
}

TEST(Coinbase, CaptureMatchesPythonReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not found";
  const auto ref = test::run_reference("coinbase_reference.py", "'" + kCapture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_coinbase_parser("COINBASE", registry, {});
  const Totals t = replay(*parser, kCapture);
  expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/true);
  // Every frame is in exactly one bucket: a match gives one trade.
  EXPECT_EQ(parser->stats().trades + parser->stats().total_skipped() + parser->stats().total_errors(),
            parser->stats().frames);
}

TEST(Coinbase, CaptureFiguresAreTheKnownOnes) {
  // Figures of the bundled capture, as the reference script prints them
  // (checked here too so they hold without python3).
  MarketRegistry registry;
  auto parser = make_coinbase_parser("COINBASE", registry, {});
  const Totals t = replay(*parser, kCapture);
  const ParseStats& s = parser->stats();
  EXPECT_EQ(s.frames, 3227u);
  EXPECT_EQ(t.trades, 97u);
  EXPECT_EQ(t.taker_buys, 45u);
  EXPECT_EQ(t.first_id, 280232u);
  EXPECT_EQ(t.last_id, 1568319u);
  EXPECT_EQ(s[SkipKind::kFiltered], 10u);  // one last_match per product
  EXPECT_EQ(s[SkipKind::kBook], 3010u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 107u);
  EXPECT_EQ(s[SkipKind::kControl], 3u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_NEAR(t.sum_qty, 54901.547, 1e-6);

  // First match: {"trade_id":280232,"side":"sell","size":"985",
  // "price":"0.00001305","product_id":"SKL-BTC","time":"2021-04-17T16:43:37.089723Z"}
  ASSERT_FALSE(t.first_trades.empty());
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(first.trade_id, 280232u);
  EXPECT_EQ(first.side, Side::kBuy);  // maker sold
  EXPECT_DOUBLE_EQ(first.price, 0.00001305);
  EXPECT_DOUBLE_EQ(first.qty, 985);
  EXPECT_EQ(first.exchange_ts_ns, 1618677817089723000);
  EXPECT_EQ(first.receive_ts_ns, 1618677817129516100);  // "1618677817.1295161: "
  EXPECT_EQ(first.flags, kTradeNone);
  EXPECT_EQ(registry.info(first.market).name, "COINBASE:SKL-BTC");
  EXPECT_EQ(registry.info(first.market).kind, InstrumentKind::kSpot);
}

TEST(Coinbase, FactoryMakesIt) {
  MarketRegistry registry;
  auto parser = make_parser("COINBASE", registry);
  ASSERT_NE(parser, nullptr);
  EXPECT_EQ(parser->exchange(), "COINBASE");
}

TEST(Coinbase, MatchSideIsMakerSide) {
  Harness h;
  expect_good_match_parses(h);
  ASSERT_EQ(h.parse(R"({"type":"match","trade_id":8,"side":"sell","size":"1","price":"2","product_id":"ETH-EUR",)"
                    R"("time":"2024-05-01T12:51:30Z"})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.trade().side, Side::kBuy);
  EXPECT_EQ(h.trade().exchange_ts_ns, 1714567890000000000);
  EXPECT_EQ(h.market_name(), "COINBASE:ETH-EUR");
}

TEST(Coinbase, LastMatchIsFilteredNotCounted) {
  Harness h;
  EXPECT_EQ(h.parse(R"({"type":"last_match","trade_id":881613,"side":"sell","size":"0.04","price":"14.7775",)"
                    R"("product_id":"BAND-GBP","time":"2021-04-17T16:43:30.244075Z"})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kFiltered], 1u);
  EXPECT_EQ(h.parser->stats().trades, 0u);
  EXPECT_TRUE(h.buffer.empty());
}

TEST(Coinbase, OtherTypesAreSkippedByKind) {
  Harness h;
  const std::pair<std::string_view, SkipKind> cases[] = {
      {R"({"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]}]})", SkipKind::kControl},
      {R"({"type":"heartbeat","sequence":1,"last_trade_id":2,"product_id":"BTC-USD","time":"x"})", SkipKind::kControl},
      {R"({"type":"error","message":"Failed to subscribe"})", SkipKind::kControl},
      {R"({"type":"snapshot","product_id":"BTC-USD","asks":[["1","2"]],"bids":[]})", SkipKind::kBook},
      {R"({"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.00001306","660.5"]]})", SkipKind::kBook},
      {R"({"type":"received","order_id":"x"})", SkipKind::kBook},
      {R"({"type":"open","order_id":"x"})", SkipKind::kBook},
      {R"({"type":"done","order_id":"x"})", SkipKind::kBook},
      {R"({"type":"ticker","product_id":"BAND-GBP","price":"14.7775"})", SkipKind::kOtherChannel},
  };
  for (const auto& [text, kind] : cases) {
    const std::uint64_t before = h.parser->stats()[kind];
    EXPECT_EQ(h.parse(text), ParseOutcome::kSkipped) << text;
    EXPECT_EQ(h.parser->stats()[kind], before + 1) << text;
  }
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(Coinbase, MalformedFramesAreCountedOnceAndParsingContinues) {
  const std::string match_head = R"({"type":"match","trade_id":1,"side":"sell",)";
  const std::string good_tail = R"("product_id":"BTC-USD","time":"2021-04-17T16:43:37.312313Z"})";
  const Malformed cases[] = {
      {"empty", "", ParseError::kTruncated},
      {"truncated mid-string", std::string(kGoodMatch.substr(0, 60)), ParseError::kTruncated},
      {"truncated before the brace", std::string(kGoodMatch.substr(0, kGoodMatch.size() - 1)), ParseError::kTruncated},
      {"invalid UTF-8",
       match_head + R"("size":"1","price":"2","product_id":"BTC-)" + "\xff\xfe" + R"(","time":"2021-04-17T16:43:37Z"})",
       ParseError::kTruncated},
      {"random bytes", random_bytes(300, 42), ParseError::kTruncated},
      {"not JSON", "hello world", ParseError::kTruncated},
      {"array frame", "[1,2,3]", ParseError::kBadType},
      {"string frame", R"("match")", ParseError::kBadType},
      {"type is a number", R"({"type":5})", ParseError::kBadType},
      {"trade_id is a string", R"({"type":"match","trade_id":"abc","side":"sell","size":"1","price":"2",)" + good_tail,
       ParseError::kBadType},
      {"price is an object", match_head + R"("size":"1","price":{"v":2},)" + good_tail, ParseError::kBadType},
      {"price is not a number", match_head + R"("size":"1","price":"abc",)" + good_tail, ParseError::kBadType},
      {"time is a number", match_head + R"("size":"1","price":"2","product_id":"BTC-USD","time":1618677817})",
       ParseError::kBadType},
      {"trade_id beyond 64 bits",
       R"({"type":"match","trade_id":123456789012345678901234,"side":"sell",)"
       R"("size":"1","price":"2",)" +
           good_tail,
       ParseError::kBadType},
      {"negative trade_id", R"({"type":"match","trade_id":-5,"side":"sell","size":"1","price":"2",)" + good_tail,
       ParseError::kBadType},
      {"huge price", match_head + R"("size":"1","price":"1e300",)" + good_tail, ParseError::kBadValue},
      {"negative size", match_head + R"("size":"-1","price":"2",)" + good_tail, ParseError::kBadValue},
      {"zero price", match_head + R"("size":"1","price":"0",)" + good_tail, ParseError::kBadValue},
      {"bad side", R"({"type":"match","trade_id":1,"side":"x","size":"1","price":"2",)" + good_tail,
       ParseError::kBadValue},
      {"bad month", match_head + R"("size":"1","price":"2","product_id":"BTC-USD","time":"2021-13-17T16:43:37Z"})",
       ParseError::kBadValue},
      {"time before 2000",
       match_head + R"("size":"1","price":"2","product_id":"BTC-USD","time":"1999-12-31T23:59:59Z"})",
       ParseError::kBadValue},
      {"time not ISO", match_head + R"("size":"1","price":"2","product_id":"BTC-USD","time":"yesterday"})",
       ParseError::kBadValue},
      {"missing price", match_head + R"("size":"1",)" + good_tail, ParseError::kMissingField},
      {"missing type", R"({"trade_id":1,"side":"sell","size":"1","price":"2",)" + good_tail, ParseError::kMissingField},
      {"empty object", "{}", ParseError::kMissingField},
      {"unknown type", R"({"type":"mystery"})", ParseError::kUnknownChannel},
      {"empty product", match_head + R"("size":"1","price":"2","product_id":"","time":"2021-04-17T16:43:37Z"})",
       ParseError::kUnknownMarket},
  };
  Harness h;
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.name);
    const ParseStats before = h.parser->stats();
    EXPECT_EQ(h.parse(c.text), ParseOutcome::kError);
    EXPECT_TRUE(h.buffer.empty());
    EXPECT_EQ(h.parser->stats()[c.expected], before[c.expected] + 1)
        << "counted as something else; errors now " << h.parser->stats().total_errors();
    EXPECT_EQ(h.parser->stats().total_errors(), before.total_errors() + 1);
    EXPECT_EQ(h.parser->stats().trades, before.trades);
    expect_good_match_parses(h);
  }
}

TEST(Coinbase, OversizeFrameIsCountedNotParsed) {
  MarketRegistry registry;
  ParserOptions options;
  options.max_frame_bytes = 64;
  auto parser = make_coinbase_parser("COINBASE", registry, options);
  PaddedFrame frame;
  EventBuffer buffer;
  frame.assign(kGoodMatch);
  EXPECT_EQ(parser->parse(frame.view(), 0, buffer), ParseOutcome::kError);
  EXPECT_EQ(parser->stats()[ParseError::kOversize], 1u);
}

TEST(Coinbase, ParsingAllocatesNothingPerFrame) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  expect_good_match_parses(h);  // first sight of the market allocates, once
  const std::string l2 = R"({"type":"l2update","product_id":"SKL-BTC","changes":[["sell","0.1","660.5"]]})";
  PaddedFrame match, update, bad;
  match.assign(kGoodMatch);
  update.assign(l2);
  bad.assign(R"({"type":"match","trade_id":"x"})");
  EventBuffer buffer;
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    buffer.clear();
    h.parser->parse(match.view(), i, buffer);
    h.parser->parse(update.view(), i, buffer);
    h.parser->parse(bad.view(), i, buffer);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 1001u);
}

}  // namespace
}  // namespace tickflow
