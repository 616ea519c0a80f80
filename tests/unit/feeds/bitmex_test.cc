// BitMEX parser (feeds/bitmex_parser.cc): the bundled real capture
// (tests/data/cryptofeed/BITMEX.ws.1.0.gz, whole, from cryptofeed's
// sample_data) checked against figures that tests/tools/bitmex_reference.py
// derives from the same file with Python's json module. The capture has no
// liquidation table: liquidation frames here are hand-written in the shape
// of ../shared/docs/exchanges.md and BitMEX's API docs.
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

using test::expect_matches_reference;
using test::Malformed;
using test::random_bytes;
using test::replay;
using test::Totals;

const std::string kCapture = std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/BITMEX.ws.1.0.gz";

struct Harness {
  MarketRegistry registry;
  std::unique_ptr<ExchangeParser> parser = make_bitmex_parser("BITMEX", registry, {});
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

constexpr std::string_view kGoodTrade =
    R"({"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:11.685Z","symbol":"XBTUSD",)"
    R"("side":"Buy","size":100,"price":32180.5,"tickDirection":"PlusTick",)"
    R"("trdMatchID":"6e70bebe-235e-08a6-d11b-e1042bf1f2ed","grossValue":310747,"homeNotional":0.00310747,)"
    R"("foreignNotional":100}]})";

void expect_good_trade_parses(Harness& h) {
  ASSERT_EQ(h.parse(kGoodTrade), ParseOutcome::kEvents);
  ASSERT_EQ(h.buffer.size(), 1u);
  const Trade& t = h.trade();
  EXPECT_EQ(h.market_name(), "BITMEX:XBTUSD");
  EXPECT_EQ(t.side, Side::kBuy);
  EXPECT_DOUBLE_EQ(t.price, 32180.5);
  EXPECT_DOUBLE_EQ(t.qty, 0.00310747);
  EXPECT_EQ(t.exchange_ts_ns, 1626993371685000000);
  EXPECT_EQ(t.flags, kTradeIdHashed);
  EXPECT_EQ(t.trade_id, hash_trade_id("6e70bebe-235e-08a6-d11b-e1042bf1f2ed"));
}

void expect_malformed(Harness& h, const Malformed& c) {
  SCOPED_TRACE(c.name);
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(c.text), ParseOutcome::kError);
  EXPECT_TRUE(h.buffer.empty());
  EXPECT_EQ(h.parser->stats()[c.expected], before[c.expected] + 1)
      << "counted as something else; errors now " << h.parser->stats().total_errors();
  EXPECT_EQ(h.parser->stats().total_errors(), before.total_errors() + 1);
  EXPECT_EQ(h.parser->stats().trades, before.trades);
  expect_good_trade_parses(h);
}

TEST(Bitmex, CaptureMatchesPythonReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not found";
  const auto ref = test::run_reference("bitmex_reference.py", "'" + kCapture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_bitmex_parser("BITMEX", registry, {});
  const Totals t = replay(*parser, kCapture);
  // trdMatchID hashes, recomputed by the reference.
  expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/true);
}

TEST(Bitmex, CaptureFiguresAreTheKnownOnes) {
  MarketRegistry registry;
  auto parser = make_bitmex_parser("BITMEX", registry, {});
  const Totals t = replay(*parser, kCapture);
  const ParseStats& s = parser->stats();
  EXPECT_EQ(s.frames, 2120u);
  EXPECT_EQ(t.trades, 17u);  // in 7 insert frames
  EXPECT_EQ(t.taker_buys, 16u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 10u);  // trade partials
  EXPECT_EQ(s[SkipKind::kBook], 1979u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 93u);  // quote table
  EXPECT_EQ(s[SkipKind::kControl], 31u);       // welcome + 30 subscribe acks
  EXPECT_EQ(s.total_errors(), 0u);
  ASSERT_FALSE(t.first_trades.empty());
  // {"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT","side":"Buy","size":52,"price":17.297,
  //  "trdMatchID":"39744121-c20e-44ba-8cc8-a6b8cdf72885","homeNotional":16.73101673101673}
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(registry.info(first.market).name, "BITMEX:UNIUSDT");
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_DOUBLE_EQ(first.price, 17.297);
  EXPECT_DOUBLE_EQ(first.qty, 16.73101673101673);
  EXPECT_EQ(first.exchange_ts_ns, 1626993370014000000);
  EXPECT_EQ(first.receive_ts_ns, 1626993370146107000);
  EXPECT_EQ(first.trade_id, 730726591232998760ull);
  EXPECT_EQ(first.flags, kTradeIdHashed);
}

TEST(Bitmex, FactoryMakesIt) {
  MarketRegistry registry;
  auto parser = make_parser("BITMEX", registry);
  ASSERT_NE(parser, nullptr);
  EXPECT_EQ(parser->exchange(), "BITMEX");
}

TEST(Bitmex, MultiTradeFrameKeepsGoodTradesAndCountsTheBadOne) {
  Harness h;
  ASSERT_EQ(h.parse(R"({"table":"trade","action":"insert","data":[)"
                    R"({"timestamp":"2021-07-22T22:36:11.685Z","symbol":"XBTUSD","side":"Sell","price":32180.5,)"
                    R"("trdMatchID":"a","homeNotional":0.1},)"
                    R"({"timestamp":"2021-07-22T22:36:11.685Z","symbol":"XBTUSD","side":"Sell","price":"oops",)"
                    R"("trdMatchID":"b","homeNotional":0.2},)"
                    R"({"timestamp":"2021-07-22T22:36:11.686Z","symbol":"ETHUSD","side":"Buy","price":2000.5,)"
                    R"("trdMatchID":"c","homeNotional":0.3}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.buffer.size(), 2u);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadType], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_EQ(h.trade(0).trade_id, hash_trade_id("a"));
  EXPECT_EQ(h.market_name(1), "BITMEX:ETHUSD");
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.3);  // homeNotional: base whatever the contract
  EXPECT_EQ(h.trade(1).exchange_ts_ns, 1626993371686000000);
}

TEST(Bitmex, DataBeforeTableAndActionIsStillRead) {
  Harness h;
  ASSERT_EQ(h.parse(R"({"data":[{"timestamp":"2021-07-22T22:36:11.685Z","symbol":"XBTUSD","side":"Buy",)"
                    R"("price":32180.5,"trdMatchID":"z","homeNotional":0.5}],"action":"insert","table":"trade"})"),
            ParseOutcome::kEvents);
  EXPECT_DOUBLE_EQ(h.trade().qty, 0.5);
  EXPECT_EQ(h.market_name(), "BITMEX:XBTUSD");
  EXPECT_EQ(h.parse(R"({"data":[],"table":"orderBookL2","action":"update"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 1u);
}

TEST(Bitmex, Liquidations) {
  Harness h;
  const std::int64_t now = 1'714'567'890'123'456'789;
  // XBTUSD is inverse (1 USD contracts): base = leavesQty / price. No time in
  // the message: exchange time is the receive time.
  ASSERT_EQ(h.parse(R"({"table":"liquidation","action":"insert","data":[{"orderID":"bc1a1ab3-6d3b-4f0e-9c28",)"
                    R"("symbol":"XBTUSD","side":"Sell","price":50000,"leavesQty":1000}]})",
                    now),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.buffer.size(), 1u);
  const Trade& t = h.trade();
  EXPECT_TRUE(t.is_liquidation());
  EXPECT_EQ(t.flags, kTradeLiquidation | kTradeIdHashed);
  EXPECT_EQ(t.side, Side::kSell);  // a long was liquidated
  EXPECT_DOUBLE_EQ(t.qty, 0.02);
  EXPECT_DOUBLE_EQ(t.notional(), 1000);
  EXPECT_EQ(t.exchange_ts_ns, now);
  EXPECT_EQ(t.receive_ts_ns, now);
  EXPECT_EQ(t.trade_id, hash_trade_id("bc1a1ab3-6d3b-4f0e-9c28"));
  EXPECT_EQ(h.parser->stats().liquidations, 1u);

  // ETHUSD is quanto on BitMEX and XBTUSDT's terms are not known: never guessed.
  EXPECT_EQ(h.parse(R"({"table":"liquidation","action":"insert","data":[{"orderID":"e","symbol":"ETHUSD",)"
                    R"("side":"Buy","price":2000,"leavesQty":10}]})"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parse(R"({"table":"liquidation","action":"insert","data":[{"orderID":"f","symbol":"XBTUSDT",)"
                    R"("side":"Buy","price":50000,"leavesQty":1000}]})"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kUnknownInstrument], 2u);

  // With the terms configured (linear, base per contract), it converts.
  Harness configured;
  configured.registry.add({"BITMEX:SOLUSDT", InstrumentKind::kLinear, 0.1, "SOL", "USDT"});
  ASSERT_EQ(configured.parse(R"({"table":"liquidation","action":"insert","data":[{"orderID":"g",)"
                             R"("symbol":"SOLUSDT","side":"Buy","price":27.5,"leavesQty":30}]})"),
            ParseOutcome::kEvents);
  EXPECT_DOUBLE_EQ(configured.trade().qty, 3.0);
  EXPECT_EQ(configured.trade().side, Side::kBuy);

  // Partial (on subscribe) is a snapshot; updates/deletes are not new liquidations.
  EXPECT_EQ(h.parse(R"({"table":"liquidation","action":"partial","keys":["orderID"],"data":[]})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"table":"liquidation","action":"update","data":[{"orderID":"x","leavesQty":5}]})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"table":"liquidation","action":"delete","data":[{"orderID":"x"}]})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(h.parser->stats()[SkipKind::kFiltered], 2u);
}

TEST(Bitmex, OtherFramesAreSkippedByKind) {
  Harness h;
  const std::pair<std::string_view, SkipKind> cases[] = {
      {R"({"info":"Welcome to the BitMEX Realtime API.","version":"2021-07-14T01:26:29.000Z",)"
       R"("timestamp":"2021-07-22T22:36:07.865Z","docs":"https://www.bitmex.com/app/wsAPI","limit":{"remaining":39}})",
       SkipKind::kControl},
      {R"({"success":true,"subscribe":"trade:XBTUSD","request":{"op":"subscribe","args":["trade:XBTUSD"]}})",
       SkipKind::kControl},
      {R"({"status":400,"error":"Unknown table: foo","meta":{},"request":{"op":"subscribe","args":["foo"]}})",
       SkipKind::kControl},
      {R"({"table":"trade","action":"partial","keys":[],"data":[{"timestamp":"2021-07-22T22:24:15.328Z"}]})",
       SkipKind::kSnapshot},
      {R"({"table":"orderBookL2","action":"update","data":[{"symbol":"UNIUSDT","id":51999982703,"side":"Sell",)"
       R"("size":123}]})",
       SkipKind::kBook},
      {R"({"table":"orderBookL2_25","action":"partial","data":[]})", SkipKind::kBook},
      {R"({"table":"quote","action":"insert","data":[{"timestamp":"2021-07-22T22:36:10.014Z","symbol":"UNIUSDT",)"
       R"("bidSize":750,"bidPrice":17.277,"askPrice":17.297,"askSize":123}]})",
       SkipKind::kOtherChannel},
      {R"({"table":"instrument","action":"update","data":[{"symbol":"XBTUSD","lastPrice":32180.5}]})",
       SkipKind::kOtherChannel},
      {R"({"table":"funding","action":"partial","data":[]})", SkipKind::kOtherChannel},
      {R"({"table":"trade","action":"insert","data":[]})", SkipKind::kFiltered},
      {"pong", SkipKind::kControl},  // the answer to the live feed's text "ping"
  };
  for (const auto& [text, kind] : cases) {
    const std::uint64_t before = h.parser->stats()[kind];
    EXPECT_EQ(h.parse(text), ParseOutcome::kSkipped) << text;
    EXPECT_EQ(h.parser->stats()[kind], before + 1) << text;
  }
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(Bitmex, MalformedFramesAreCountedOnceAndParsingContinues) {
  const std::string head = R"({"table":"trade","action":"insert","data":[{"timestamp":"2021-07-22T22:36:11.685Z",)";
  const std::string item_tail = R"("trdMatchID":"m","homeNotional":0.1}]})";
  const Malformed cases[] = {
      {"empty", "", ParseError::kTruncated},
      {"truncated", std::string(kGoodTrade.substr(0, 80)), ParseError::kTruncated},
      {"invalid UTF-8", head + R"("symbol":"XBT)" + "\x80" + R"(USD","side":"Buy","price":1,)" + item_tail,
       ParseError::kTruncated},
      {"random bytes", random_bytes(300, 2024), ParseError::kTruncated},
      {"not JSON", "hello world", ParseError::kTruncated},
      {"array frame", R"(["table","trade"])", ParseError::kBadType},
      {"table is a number", R"({"table":5,"action":"insert","data":[]})", ParseError::kBadType},
      {"data is an object", R"({"table":"trade","action":"insert","data":{"a":1}})", ParseError::kBadType},
      {"item is a number", R"({"table":"trade","action":"insert","data":[5]})", ParseError::kBadType},
      {"price is a string of letters", head + R"("symbol":"XBTUSD","side":"Buy","price":"x",)" + item_tail,
       ParseError::kBadType},
      {"timestamp is a number",
       R"({"table":"trade","action":"insert","data":[{"timestamp":1626993371685,)"
       R"("symbol":"XBTUSD","side":"Buy","price":1,)" +
           item_tail,
       ParseError::kBadType},
      {"huge price", head + R"("symbol":"XBTUSD","side":"Buy","price":1e300,)" + item_tail, ParseError::kBadValue},
      {"negative homeNotional",
       head + R"("symbol":"XBTUSD","side":"Buy","price":1,"trdMatchID":"m",)"
              R"("homeNotional":-0.1}]})",
       ParseError::kBadValue},
      {"bad timestamp",
       R"({"table":"trade","action":"insert","data":[{"timestamp":"2021-02-30T00:00:00.000Z",)"
       R"("symbol":"XBTUSD","side":"Buy","price":1,)" +
           item_tail,
       ParseError::kBadValue},
      {"bad side", head + R"("symbol":"XBTUSD","side":"Up","price":1,)" + item_tail, ParseError::kBadValue},
      {"missing homeNotional", head + R"("symbol":"XBTUSD","side":"Buy","price":1,"trdMatchID":"m"}]})",
       ParseError::kMissingField},
      {"missing data", R"({"table":"trade","action":"insert"})", ParseError::kMissingField},
      {"missing table", R"({"foo":1})", ParseError::kMissingField},
      {"unknown table", R"({"table":"mystery","action":"insert","data":[]})", ParseError::kUnknownChannel},
      {"unknown action", R"({"table":"trade","action":"upsert","data":[]})", ParseError::kUnknownChannel},
      {"empty symbol", head + R"("symbol":"","side":"Buy","price":1,)" + item_tail, ParseError::kUnknownMarket},
  };
  Harness h;
  for (const Malformed& c : cases) expect_malformed(h, c);
}

TEST(Bitmex, TruncatedAfterCompleteTradesKeepsThemAndCountsOnce) {
  // The frame loses its closing "]}" after a complete item: the item is
  // kept (as any good trade next to a bad one), the truncation counted once.
  Harness h;
  EXPECT_EQ(h.parse(kGoodTrade.substr(0, kGoodTrade.size() - 2)), ParseOutcome::kEvents);
  EXPECT_EQ(h.buffer.size(), 1u);
  EXPECT_EQ(h.parser->stats()[ParseError::kTruncated], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
  expect_good_trade_parses(h);
}

TEST(Bitmex, ParsingAllocatesNothingPerFrame) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness h;
  expect_good_trade_parses(h);  // first sight of the market allocates, once
  PaddedFrame trade, book, quote;
  trade.assign(kGoodTrade);
  book.assign(
      R"({"table":"orderBookL2","action":"update","data":[{"symbol":"XBTUSD","id":1,"side":"Sell","size":1}]})");
  quote.assign(R"({"table":"quote","action":"insert","data":[{"symbol":"XBTUSD","bidSize":1}]})");
  EventBuffer buffer;
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    buffer.clear();
    h.parser->parse(trade.view(), i, buffer);
    h.parser->parse(book.view(), i, buffer);
    h.parser->parse(quote.view(), i, buffer);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(h.parser->stats().trades, 1001u);
}

// The live endpoint (feeds/venues/bitmex.cc).
TEST(BitmexPlan, Endpoint) {
  LiveFeedConfig c;
  c.venue = Venue::kBitmex;
  c.symbols = {"XBTUSD", "ETHUSD"};
  EXPECT_EQ(channels_for(c), (std::vector<std::string>{"trade", "liquidation"}));
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "ws.bitmex.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/realtime");
  EXPECT_EQ(p.parser_name, "BITMEX");
  EXPECT_EQ(
      p.subscribe,
      std::vector<std::string>{
          R"({"op":"subscribe","args":["trade:XBTUSD","liquidation:XBTUSD","trade:ETHUSD","liquidation:ETHUSD"]})"});
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{15'000});
  EXPECT_EQ(p.ping_text, "ping");
  c.liquidations = false;
  EXPECT_EQ(plan_for(c).subscribe,
            std::vector<std::string>{R"({"op":"subscribe","args":["trade:XBTUSD","trade:ETHUSD"]})"});
  c.path = "/elsewhere";
  EXPECT_EQ(plan_for(c).target, "/elsewhere");
  EXPECT_EQ(venue_protocol(Venue::kBitmex).gaps({"trade"}), GapDetection::kTime);
  c.symbols = {"XBT\\USD"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
