// Kraken parsers (feeds/kraken_parser.cc): spot ws v1 and Kraken Futures.
// The bundled real captures (tests/data/cryptofeed/KRAKEN.ws.48.0.gz, whole;
// KRAKEN_FUTURES.ws.1.0.gz, trimmed; from cryptofeed's sample_data) are
// checked against figures that tests/tools/kraken_reference.py derives from
// the same files with Python's json module; hand-made frames (in the shapes
// of ../shared/docs/exchanges.md and the captures) cover book/other skips,
// liquidations, PF_ linear contracts and malformed input.
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

const std::string kSpotCapture = std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/KRAKEN.ws.48.0.gz";
const std::string kFuturesCapture = std::string(TICKFLOW_TEST_DATA_DIR) + "/cryptofeed/KRAKEN_FUTURES.ws.1.0.gz";

struct Harness {
  explicit Harness(std::string_view exchange) : parser(make_kraken_parser(exchange, registry, {})) {}
  MarketRegistry registry;
  std::unique_ptr<ExchangeParser> parser;
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

void expect_malformed(Harness& h, const Malformed& c, void (*good)(Harness&)) {
  SCOPED_TRACE(c.name);
  const ParseStats before = h.parser->stats();
  EXPECT_EQ(h.parse(c.text), ParseOutcome::kError);
  EXPECT_TRUE(h.buffer.empty());
  EXPECT_EQ(h.parser->stats()[c.expected], before[c.expected] + 1)
      << "counted as something else; errors now " << h.parser->stats().total_errors();
  EXPECT_EQ(h.parser->stats().total_errors(), before.total_errors() + 1);
  EXPECT_EQ(h.parser->stats().trades, before.trades);
  good(h);
}

// ------------------------------------------------------------------ spot

constexpr std::string_view kGoodSpot =
    R"([993,[["354.11000000","0.89594024","1618678142.557535","s","l",""]],"trade","XMR/USD"])";

void expect_good_spot_parses(Harness& h) {
  ASSERT_EQ(h.parse(kGoodSpot), ParseOutcome::kEvents);
  ASSERT_EQ(h.buffer.size(), 1u);
  const Trade& t = h.trade();
  EXPECT_EQ(h.market_name(), "KRAKEN:XMR/USD");
  EXPECT_DOUBLE_EQ(t.price, 354.11);
  EXPECT_DOUBLE_EQ(t.qty, 0.89594024);
  EXPECT_EQ(t.side, Side::kSell);
  EXPECT_EQ(t.exchange_ts_ns, 1618678142557535000);
  EXPECT_EQ(t.flags, kTradeIdHashed);
  // hash_trade_id("XMR/USD|354.11000000|0.89594024|1618678142.557535|s|l"),
  // also computed by tests/tools/kraken_reference.py.
  EXPECT_EQ(t.trade_id, 12055203347983825700ull);
}

TEST(KrakenSpot, CaptureMatchesPythonReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not found";
  const auto ref = test::run_reference("kraken_reference.py", "spot '" + kSpotCapture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_kraken_parser("KRAKEN", registry, {});
  const Totals t = replay(*parser, kSpotCapture);
  // Spot ids are hashes; the reference recomputes the same hash.
  expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/true);
}

TEST(KrakenSpot, CaptureFiguresAreTheKnownOnes) {
  MarketRegistry registry;
  auto parser = make_kraken_parser("KRAKEN", registry, {});
  const Totals t = replay(*parser, kSpotCapture);
  const ParseStats& s = parser->stats();
  EXPECT_EQ(s.frames, 49u);
  EXPECT_EQ(t.trades, 10u);  // in 8 frames
  EXPECT_EQ(t.taker_buys, 5u);
  EXPECT_EQ(s[SkipKind::kControl], 41u);  // 30 heartbeats, 10 subscriptionStatus, 1 systemStatus
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_NEAR(t.sum_qty, 52948.76340787, 1e-6);
  ASSERT_FALSE(t.first_trades.empty());
  EXPECT_EQ(t.first_trades[0].trade_id, 12055203347983825700ull);
  EXPECT_EQ(t.first_trades[0].exchange_ts_ns, 1618678142557535000);
  EXPECT_EQ(t.first_trades[0].receive_ts_ns, 1618678142592855000);
  EXPECT_EQ(registry.info(t.first_trades[0].market).name, "KRAKEN:XMR/USD");
}

TEST(KrakenSpot, FactoryMakesIt) {
  MarketRegistry registry;
  auto spot = make_parser("KRAKEN", registry);
  auto futures = make_parser("KRAKEN_FUTURES", registry);
  ASSERT_NE(spot, nullptr);
  ASSERT_NE(futures, nullptr);
  EXPECT_EQ(spot->exchange(), "KRAKEN");
  EXPECT_EQ(futures->exchange(), "KRAKEN");
}

TEST(KrakenSpot, MultiTradeFrameKeepsGoodTradesAndCountsTheBadOne) {
  Harness h("KRAKEN");
  EXPECT_EQ(h.parse(R"([119930881,[["63247.50000","0.00210000","1714567890.512345","b","m",""],)"
                    R"(["63247.40000","-1","1714567890.612345","s","l",""],)"
                    R"(["63247.30000","0.5","1714567890.7","s","l",""]],"trade","XBT/USD"])"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.buffer.size(), 2u);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
  EXPECT_EQ(h.parser->stats().trades, 2u);
  EXPECT_EQ(h.trade(0).side, Side::kBuy);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1714567890512345000);
  EXPECT_EQ(h.trade(1).exchange_ts_ns, 1714567890700000000);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.5);
  EXPECT_EQ(h.market_name(1), "KRAKEN:XBT/USD");
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);

  // Every trade bad: each is counted once, the frame is an error.
  EXPECT_EQ(h.parse(R"([1,[["0","1","1714567890.5","b","m",""],["1","1","1714567890.5","x","m",""]],)"
                    R"("trade","XBT/USD"])"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 3u);
  EXPECT_EQ(h.parser->stats().total_errors(), 3u);
}

TEST(KrakenSpot, OtherFramesAreSkippedByKind) {
  Harness h("KRAKEN");
  const std::pair<std::string_view, SkipKind> cases[] = {
      {R"({"event":"heartbeat"})", SkipKind::kControl},
      {R"({"connectionID":18239578009413566319,"event":"systemStatus","status":"online","version":"1.8.3"})",
       SkipKind::kControl},
      {R"({"channelID":993,"channelName":"trade","event":"subscriptionStatus","pair":"XMR/USD",)"
       R"("status":"subscribed","subscription":{"name":"trade"}})",
       SkipKind::kControl},
      {R"({"event":"pong","reqid":42})", SkipKind::kControl},
      {R"([336,{"as":[["5541.30000","2.50700000","1534614248.123678"]],"bs":[["5541.20000","1.52900000",)"
       R"("1534614248.765567"]]},"book-10","XBT/USD"])",
       SkipKind::kBook},
      {R"([1234,{"a":[["5541.30000","2.50700000","1534614248.456738"]]},{"b":[["5541.30000","0.00000000",)"
       R"("1534614335.345903"]]},"book-10","XBT/USD"])",
       SkipKind::kBook},
      {R"([42,["1542057314.748456","1542057360.435743","3586.70000","3586.70000","3586.60000","3586.60000",)"
       R"("3586.68894","0.03373000",2],"ohlc-5","XBT/USD"])",
       SkipKind::kOtherChannel},
      {R"([0,["5698.40000","5700.00000","1542057299.545897","1.01234567","0.98765433"],"spread","XBT/USD"])",
       SkipKind::kOtherChannel},
  };
  for (const auto& [text, kind] : cases) {
    const std::uint64_t before = h.parser->stats()[kind];
    EXPECT_EQ(h.parse(text), ParseOutcome::kSkipped) << text;
    EXPECT_EQ(h.parser->stats()[kind], before + 1) << text;
  }
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(KrakenSpot, MalformedFramesAreCountedOnceAndParsingContinues) {
  const std::string tail = R"(],"trade","XBT/USD"])";
  const Malformed cases[] = {
      {"empty", "", ParseError::kTruncated},
      {"truncated", std::string(kGoodSpot.substr(0, 40)), ParseError::kTruncated},
      {"truncated at the end", std::string(kGoodSpot.substr(0, kGoodSpot.size() - 1)), ParseError::kTruncated},
      {"invalid UTF-8",
       R"([1,[["1.0","1.0","1714567890.5","b","m",""]],"trade","XBT/)"
       "\xc3\x28"
       R"("])",
       ParseError::kTruncated},
      {"random bytes", random_bytes(300, 7), ParseError::kTruncated},
      {"not JSON", "hello world", ParseError::kTruncated},
      {"number frame", "12345", ParseError::kBadType},
      {"price is an object", R"([1,[[{"p":1},"1.0","1714567890.5","b","m",""])" + tail, ParseError::kBadType},
      {"price is not a number", R"([1,[["abc","1.0","1714567890.5","b","m",""])" + tail, ParseError::kBadType},
      {"time is a number", R"([1,[["1.0","1.0",1714567890.5,"b","m",""])" + tail, ParseError::kBadType},
      {"trade is not an array", R"([1,["1.0"],"trade","XBT/USD"])", ParseError::kBadType},
      {"trades are not an array", R"([1,{"a":1},"trade","XBT/USD"])", ParseError::kBadType},
      {"huge volume", R"([1,[["1.0","1e300","1714567890.5","b","m",""])" + tail, ParseError::kBadValue},
      {"negative price", R"([1,[["-3.5","1.0","1714567890.5","b","m",""])" + tail, ParseError::kBadValue},
      {"time in ms", R"([1,[["1.0","1.0","1714567890512","b","m",""])" + tail, ParseError::kBadValue},
      {"time not a number", R"([1,[["1.0","1.0","noon","b","m",""])" + tail, ParseError::kBadValue},
      {"bad side", R"([1,[["1.0","1.0","1714567890.5","q","m",""])" + tail, ParseError::kBadValue},
      {"short trade", R"([1,[["1.0","1.0","1714567890.5"])" + tail, ParseError::kMissingField},
      {"no pair", R"([1,[["1.0","1.0","1714567890.5","b","m",""]],"trade"])", ParseError::kMissingField},
      {"object without event", R"({"status":"online"})", ParseError::kMissingField},
      {"unknown event", R"({"event":"surprise"})", ParseError::kUnknownChannel},
      {"unknown channel", R"([1,[["1.0","1.0","1714567890.5","b","m",""]],"mystery","XBT/USD"])",
       ParseError::kUnknownChannel},
      {"empty pair", R"([1,[["1.0","1.0","1714567890.5","b","m",""]],"trade",""])", ParseError::kUnknownMarket},
  };
  Harness h("KRAKEN");
  for (const Malformed& c : cases) expect_malformed(h, c, expect_good_spot_parses);
}

// --------------------------------------------------------------- futures

constexpr std::string_view kGoodFutures =
    R"({"feed":"trade","product_id":"PI_XBTUSD","uid":"05af78ac-a774-478c-a50c-8b9c234e071e","side":"sell",)"
    R"("type":"fill","seq":653355,"time":1612266317519,"qty":5000.0,"price":50000.0})";

void expect_good_futures_parses(Harness& h) {
  ASSERT_EQ(h.parse(kGoodFutures), ParseOutcome::kEvents);
  ASSERT_EQ(h.buffer.size(), 1u);
  const Trade& t = h.trade();
  EXPECT_EQ(h.market_name(), "KRAKEN:PI_XBTUSD");
  EXPECT_EQ(t.trade_id, 653355u);
  EXPECT_EQ(t.flags, kTradeNone);
  EXPECT_EQ(t.side, Side::kSell);
  EXPECT_DOUBLE_EQ(t.price, 50000.0);
  EXPECT_DOUBLE_EQ(t.qty, 0.1);  // 5000 USD / 50000
  EXPECT_EQ(t.exchange_ts_ns, 1612266317519000000);
}

TEST(KrakenFutures, CaptureMatchesPythonReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not found";
  const auto ref = test::run_reference("kraken_reference.py", "futures '" + kFuturesCapture + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_kraken_parser("KRAKEN_FUTURES", registry, {});
  const Totals t = replay(*parser, kFuturesCapture);
  expect_matches_reference(t, parser->stats(), ref, /*numeric_ids=*/true);
  EXPECT_EQ(parser->stats().trades + parser->stats().total_skipped() + parser->stats().total_errors(),
            parser->stats().frames);
}

TEST(KrakenFutures, CaptureFiguresAreTheKnownOnes) {
  MarketRegistry registry;
  auto parser = make_kraken_parser("KRAKEN_FUTURES", registry, {});
  const Totals t = replay(*parser, kFuturesCapture);
  const ParseStats& s = parser->stats();
  EXPECT_EQ(s.frames, 3661u);
  EXPECT_EQ(t.trades, 3u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 10u);  // one trade_snapshot per product
  EXPECT_EQ(s[SkipKind::kBook], 3510u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 107u);
  EXPECT_EQ(s[SkipKind::kControl], 31u);
  EXPECT_EQ(s.total_errors(), 0u);
  ASSERT_EQ(t.first_trades.size(), 3u);
  // {"product_id":"PI_LTCUSD","side":"buy","type":"fill","seq":5956,"time":1626994929946,"qty":320.0,"price":119.44}
  const Trade& first = t.first_trades[0];
  EXPECT_EQ(registry.info(first.market).name, "KRAKEN:PI_LTCUSD");
  EXPECT_EQ(registry.info(first.market).kind, InstrumentKind::kInverse);
  EXPECT_EQ(first.trade_id, 5956u);
  EXPECT_EQ(first.side, Side::kBuy);
  EXPECT_DOUBLE_EQ(first.qty, 320.0 / 119.44);
  EXPECT_NEAR(first.notional(), 320.0, 1e-9);
  EXPECT_EQ(first.exchange_ts_ns, 1626994929946000000);
  EXPECT_EQ(registry.info(t.first_trades[1].market).name, "KRAKEN:FI_BCHUSD_210730");
  EXPECT_EQ(t.first_trades[2].trade_id, 103832u);
}

TEST(KrakenFutures, LinearLiquidationLowerCaseAndUnknownProducts) {
  Harness h("KRAKEN_FUTURES");
  // PF_ linear: qty is base.
  ASSERT_EQ(h.parse(R"({"feed":"trade","product_id":"PF_XBTUSD","side":"buy","type":"fill","seq":9,)"
                    R"("time":1714567890400,"qty":0.0125,"price":63240.5})"),
            ParseOutcome::kEvents);
  EXPECT_DOUBLE_EQ(h.trade().qty, 0.0125);
  EXPECT_EQ(h.market_name(), "KRAKEN:PF_XBTUSD");
  EXPECT_EQ(h.registry.info(h.trade().market).kind, InstrumentKind::kLinear);
  // Liquidation, lower-case product id: upper-cased market name.
  ASSERT_EQ(h.parse(R"({"feed":"trade","product_id":"pi_xbtusd","side":"sell","type":"liquidation","seq":10,)"
                    R"("time":1714567890400,"qty":5000,"price":62500})"),
            ParseOutcome::kEvents);
  EXPECT_TRUE(h.trade().is_liquidation());
  EXPECT_EQ(h.trade().side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade().qty, 0.08);
  EXPECT_EQ(h.market_name(), "KRAKEN:PI_XBTUSD");
  EXPECT_EQ(h.parser->stats().liquidations, 1u);
  // A prefix whose units are unknown is never guessed.
  EXPECT_EQ(h.parse(R"({"feed":"trade","product_id":"IN_XBTUSD","side":"sell","type":"fill","seq":11,)"
                    R"("time":1714567890400,"qty":1,"price":62500})"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kUnknownInstrument], 1u);
  // Non-market trade types are filtered.
  EXPECT_EQ(h.parse(R"({"feed":"trade","product_id":"PI_XBTUSD","side":"sell","type":"termination","seq":12,)"
                    R"("time":1714567890400,"qty":1,"price":62500})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kFiltered], 1u);
}

TEST(KrakenFutures, OtherFramesAreSkippedByKind) {
  Harness h("KRAKEN_FUTURES");
  const std::pair<std::string_view, SkipKind> cases[] = {
      {R"({"event":"info","version":1})", SkipKind::kControl},
      {R"({"event":"subscribed","feed":"trade","product_ids":["PI_XBTUSD"]})", SkipKind::kControl},
      {R"({"event":"alert","message":"Bad request"})", SkipKind::kControl},
      {R"({"feed":"heartbeat","time":1534262350627})", SkipKind::kControl},
      {R"({"feed":"trade_snapshot","product_id":"PI_XBTUSD","trades":[{"feed":"trade","seq":1}]})",
       SkipKind::kSnapshot},
      {R"({"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":26660860,"price":2004.85,"qty":4787.0})",
       SkipKind::kBook},
      {R"({"feed":"book_snapshot","product_id":"PI_ETHUSD","bids":[],"asks":[]})", SkipKind::kBook},
      {R"({"feed":"ticker_lite","product_id":"FI_BCHUSD_210730","bid":439.3,"ask":439.6})", SkipKind::kOtherChannel},
  };
  for (const auto& [text, kind] : cases) {
    const std::uint64_t before = h.parser->stats()[kind];
    EXPECT_EQ(h.parse(text), ParseOutcome::kSkipped) << text;
    EXPECT_EQ(h.parser->stats()[kind], before + 1) << text;
  }
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(KrakenFutures, MalformedFramesAreCountedOnceAndParsingContinues) {
  const std::string head = R"({"feed":"trade","product_id":"PI_XBTUSD","side":"sell","type":"fill",)";
  const Malformed cases[] = {
      {"empty", "", ParseError::kTruncated},
      {"truncated", std::string(kGoodFutures.substr(0, 50)), ParseError::kTruncated},
      {"truncated at the end", std::string(kGoodFutures.substr(0, kGoodFutures.size() - 1)), ParseError::kTruncated},
      {"invalid UTF-8", head + R"("seq":1,"time":1612266317519,"qty":5,"price":5,"uid":")" + "\xed\xa0\x80" + R"("})",
       ParseError::kTruncated},
      {"random bytes", random_bytes(300, 99), ParseError::kTruncated},
      {"not JSON", "hello world", ParseError::kTruncated},
      {"array frame", "[1,2]", ParseError::kBadType},
      {"feed is a number", R"({"feed":1})", ParseError::kBadType},
      {"qty is a string of letters", head + R"("seq":1,"time":1612266317519,"qty":"lots","price":5})",
       ParseError::kBadType},
      {"seq is negative", head + R"("seq":-1,"time":1612266317519,"qty":5,"price":5})", ParseError::kBadType},
      {"time is a float", head + R"("seq":1,"time":1612266317519.5,"qty":5,"price":5})", ParseError::kBadType},
      {"huge price", head + R"("seq":1,"time":1612266317519,"qty":5,"price":1e200})", ParseError::kBadValue},
      {"negative qty", head + R"("seq":1,"time":1612266317519,"qty":-5,"price":5})", ParseError::kBadValue},
      {"time in seconds", head + R"("seq":1,"time":1612266317,"qty":5,"price":5})", ParseError::kBadValue},
      {"missing seq", head + R"("time":1612266317519,"qty":5,"price":5})", ParseError::kMissingField},
      {"no feed", R"({"product_id":"PI_XBTUSD"})", ParseError::kMissingField},
      {"unknown feed", R"({"feed":"mystery"})", ParseError::kUnknownChannel},
      {"empty product",
       R"({"feed":"trade","product_id":"","side":"sell","type":"fill","seq":1,)"
       R"("time":1612266317519,"qty":5,"price":5})",
       ParseError::kUnknownMarket},
  };
  Harness h("KRAKEN_FUTURES");
  for (const Malformed& c : cases) expect_malformed(h, c, expect_good_futures_parses);
}

TEST(Kraken, ParsingAllocatesNothingPerFrame) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  Harness spot("KRAKEN");
  Harness futures("KRAKEN_FUTURES");
  expect_good_spot_parses(spot);  // first sight of each market allocates, once
  expect_good_futures_parses(futures);
  PaddedFrame s, f, heartbeat, book;
  s.assign(kGoodSpot);
  f.assign(kGoodFutures);
  heartbeat.assign(R"({"event":"heartbeat"})");
  book.assign(R"({"feed":"book","product_id":"PI_ETHUSD","side":"sell","seq":2,"price":2004.85,"qty":4787.0})");
  EventBuffer buffer;
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    buffer.clear();
    spot.parser->parse(s.view(), i, buffer);
    spot.parser->parse(heartbeat.view(), i, buffer);
    futures.parser->parse(f.view(), i, buffer);
    futures.parser->parse(book.view(), i, buffer);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(spot.parser->stats().trades, 1001u);
  EXPECT_EQ(futures.parser->stats().trades, 1001u);
}

// The live endpoints (feeds/venues/kraken.cc): URL, subscribe messages,
// keepalive, market names and gaps, exactly.
TEST(KrakenPlan, SpotEndpoint) {
  LiveFeedConfig c;
  c.venue = Venue::kKraken;
  c.symbols = {"XBT/USD", "ETH/USD"};
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade"});
  c.liquidations = false;
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade"});  // spot publishes none
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "ws.kraken.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/");
  EXPECT_EQ(p.parser_name, "KRAKEN");
  EXPECT_EQ(p.subscribe, std::vector<std::string>{
                             R"({"event":"subscribe","pair":["XBT/USD","ETH/USD"],"subscription":{"name":"trade"}})"});
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(p.ping_text, R"({"event":"ping"})");
  EXPECT_EQ(p.subscribe_interval, std::chrono::milliseconds{0});
  const VenueProtocol& v = venue_protocol(Venue::kKraken);
  EXPECT_EQ(v.exchange, "KRAKEN");
  EXPECT_EQ(v.market_pair, nullptr);  // KRAKEN:XBT/USD, as subscribed
  EXPECT_EQ(v.rest_symbol("XBT/USD"), "XBTUSD");
  EXPECT_EQ(v.gaps({"trade"}), GapDetection::kTime);  // hashed ids
  c.symbols = {"XBT\"USD"};
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

TEST(KrakenPlan, FuturesEndpoint) {
  LiveFeedConfig c;
  c.venue = Venue::kKrakenFutures;
  c.symbols = {"PI_XBTUSD", "PF_XBTUSD"};
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade"});  // liquidations ride in the trade feed
  c.host = "127.0.0.1";
  c.port = 4443;
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 4443);
  EXPECT_EQ(p.target, "/ws/v1");
  EXPECT_EQ(p.parser_name, "KRAKEN_FUTURES");
  const std::vector<std::string> expected = {
      R"({"event":"subscribe","feed":"trade","product_ids":["PI_XBTUSD","PF_XBTUSD"]})",
      R"({"event":"subscribe","feed":"heartbeat"})"};
  EXPECT_EQ(p.subscribe, expected);
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(p.ping_text, "");  // websocket pings
  const VenueProtocol& v = venue_protocol(Venue::kKrakenFutures);
  EXPECT_EQ(v.exchange, "KRAKEN_FUTURES");
  EXPECT_EQ(v.market_pair("pi_xbtusd"), "PI_XBTUSD");
  // seq is consecutive per product, but liquidations share it and LiveFeed
  // keeps them out of id sequences: ids would show false gaps.
  EXPECT_EQ(v.gaps({"trade"}), GapDetection::kTime);
}

}  // namespace
}  // namespace tickflow
