// BitMart parser (feeds/bitmart_parser.cc), spot and futures: the
// hand-written fixture (tests/data/fixtures/bitmart.txt; BitMart publishes no
// capture we can bundle) checked against an independent reference
// (tests/tools/bitmart_reference.py), raw-deflate frames, contract sizes,
// liquidations, malformed input and allocation-free parsing. The live plans
// (feeds/venues/bitmart.cc) are in bitmart_plan_test.cc.
#include <gtest/gtest.h>
#include <zlib.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "feeds/live_feed.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"
#include "tests/unit/feeds/reference_totals.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'733'312'207'999'000'000;

// Raw deflate (no header), as BitMart compresses market data.
std::string deflate_raw(std::string_view text) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(text.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct Harness {
  explicit Harness(std::string_view exchange = "BITMART", ParserOptions options = {})
      : parser(make_parser(exchange, registry, options)) {}
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

constexpr std::string_view kSpot =
    R"({"data":[{"ms_t":1733312207120,"price":"96231.55","s_t":1733312207,"side":"sell","size":"0.01307",)"
    R"("symbol":"BTC_USDT"},{"ms_t":1733312207125,"price":"96231.60","s_t":1733312207,"side":"buy","size":"0.5",)"
    R"("symbol":"BTC_USDT"}],"table":"spot/trade"})";

constexpr std::string_view kFutures =
    R"({"group":"futures/trade:BTCUSDT","data":[{"trade_id":3000000245258663,"symbol":"BTCUSDT",)"
    R"("deal_price":"96210.4","deal_vol":"1445","way":1,"m":true,"created_at":"2024-12-04T11:36:48.124940968Z"},)"
    R"({"trade_id":"3000000245258662","symbol":"BTCUSDT","deal_price":"96210.3","deal_vol":"20","way":2,"m":false,)"
    R"("created_at":"2024-12-04T11:36:48.100000000Z"},{"trade_id":3000000245258661,"symbol":"BTCUSDT",)"
    R"("deal_price":"96210.3","deal_vol":"3","way":6,"created_at":"2024-12-04T11:36:48.000000001Z"}]})";

// ---------------------------------------------------------------------------
// The hand-written fixture: spot and futures trades (text and raw deflate),
// liquidations, a filtered type, acks, pongs, errors, tickers and books.

TEST(BitmartFixture, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("fixtures/bitmart.txt");
  const auto ref = test::run_reference("bitmart_reference.py", "'" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script failed";
  MarketRegistry registry;
  auto parser = make_parser("BITMART_FUTURES", registry);
  const test::Totals totals = test::replay(*parser, path);
  test::expect_matches_reference(totals, parser->stats(), ref, /*numeric_ids=*/false);
  EXPECT_EQ(totals.last_id, test::u64(ref, "last_id"));  // a futures trade: BitMart's own id
  // The figures the reference printed when this test was written.
  EXPECT_EQ(parser->stats().frames, 16u);
  EXPECT_EQ(parser->stats().trades, 13u);
  EXPECT_EQ(parser->stats().liquidations, 2u);
  EXPECT_EQ(totals.taker_buys, 7u);
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 4u);
  EXPECT_EQ(parser->stats()[SkipKind::kBook], 3u);
  EXPECT_EQ(parser->stats()[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kFiltered], 1u);
  EXPECT_EQ(parser->stats().total_errors(), 0u);
  EXPECT_NEAR(totals.sum_qty, 4.80217, 1e-12);
  EXPECT_EQ(totals.first_ts, 1733312207120 * 1'000'000);
  EXPECT_EQ(totals.last_ts, 1733312212999 * 1'000'000);
  std::map<std::string, int> per_market;
  test::CaptureRun run = test::run_capture(*make_parser("BITMART", registry), path);
  for (const Trade& t : run.trades) ++per_market[registry.info(t.market).name];
  EXPECT_EQ((per_market ==
             std::map<std::string, int>{{"BITMART:BTC_USDT", 4}, {"BITMART:ETH_USDT", 2}, {"BITMART:BTCUSDT", 7}}),
            true);
}

// ---------------------------------------------------------------------------
// Normalization, values computed by hand.

TEST(BitmartSpot, TakerSideBaseSizeAndMsTime) {
  Harness h;
  ASSERT_EQ(h.parse(kSpot), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.market_name(0), "BITMART:BTC_USDT");
  EXPECT_EQ(h.registry.info(h.trade(0).market).kind, InstrumentKind::kSpot);
  EXPECT_EQ(h.trade(0).side, Side::kSell);
  EXPECT_DOUBLE_EQ(h.trade(0).price, 96231.55);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 0.01307);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1733312207120 * 1'000'000);
  EXPECT_EQ(h.trade(0).receive_ts_ns, kRecv);
  EXPECT_EQ(h.trade(0).flags, kTradeIdHashed);
  EXPECT_EQ(h.trade(1).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.5);
  EXPECT_NE(h.trade(0).trade_id, h.trade(1).trade_id);
  // Without ms_t, s_t (seconds) is the time.
  ASSERT_EQ(h.parse(R"({"data":[{"price":"1","s_t":1733312211,"side":"buy","size":"2","symbol":"X_USDT"}],)"
                    R"("table":"spot/trade"})"),
            ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1733312211LL * 1'000'000'000);
}

TEST(BitmartSpot, IdenticalPrintsStayTwoTradesAndReplaysKeepTheirIds) {
  Harness h;
  constexpr std::string_view kTwice =
      R"({"data":[{"ms_t":1733312207301,"price":"3650.12","side":"buy","size":"1.25","symbol":"ETH_USDT"},)"
      R"({"ms_t":1733312207301,"price":"3650.12","side":"buy","size":"1.25","symbol":"ETH_USDT"}],"table":"spot/trade"})";
  ASSERT_EQ(h.parse(kTwice), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);
  const std::uint64_t a = h.trade(0).trade_id, b = h.trade(1).trade_id;
  EXPECT_NE(a, b);
  ASSERT_EQ(h.parse(kTwice), ParseOutcome::kEvents);  // a resend: same ids, so de-duplication drops it
  EXPECT_EQ(h.trade(0).trade_id, a);
  EXPECT_EQ(h.trade(1).trade_id, b);
}

TEST(BitmartFutures, ContractsTimesSizeIdsAndNanosecondTimes) {
  Harness h("BITMART_FUTURES");
  ASSERT_EQ(h.parse(kFutures), ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 3u);
  // The frame lists 663, 662, 661: handed on oldest first.
  EXPECT_EQ(h.trade(0).trade_id, 3000000245258661u);
  EXPECT_EQ(h.trade(1).trade_id, 3000000245258662u);  // a numeric string
  EXPECT_EQ(h.trade(2).trade_id, 3000000245258663u);
  EXPECT_EQ(h.market_name(2), "BITMART:BTCUSDT");
  EXPECT_EQ(h.registry.info(h.trade(2).market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(h.trade(2).flags, kTradeNone);
  EXPECT_EQ(h.trade(2).side, Side::kSell);  // m: buyer is maker
  EXPECT_DOUBLE_EQ(h.trade(2).qty, 1.445);  // 1445 contracts x 0.001 BTC
  EXPECT_DOUBLE_EQ(h.trade(2).price, 96210.4);
  EXPECT_EQ(h.trade(2).exchange_ts_ns, 1733312208124940968);
  EXPECT_EQ(h.trade(1).side, Side::kBuy);
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.02);
  EXPECT_EQ(h.trade(0).side, Side::kSell);  // no m: way 6 (5-8) is a sell
  EXPECT_EQ(h.trade(0).exchange_ts_ns, 1733312208000000001);
  // Ascending frames stay as they are.
  ASSERT_EQ(
      h.parse(
          R"({"group":"futures/trade:BTCUSDT","data":[)"
          R"({"trade_id":1,"symbol":"BTCUSDT","deal_price":"1","deal_vol":"1","m":true,"created_at":"2024-12-04T11:36:48Z"},)"
          R"({"trade_id":2,"symbol":"BTCUSDT","deal_price":"1","deal_vol":"1","m":true,"created_at":"2024-12-04T11:36:49Z"}]})"),
      ParseOutcome::kEvents);
  EXPECT_EQ(h.trade(0).trade_id, 1u);
  EXPECT_EQ(h.trade(1).trade_id, 2u);
}

TEST(BitmartFutures, LiquidationsAreFlaggedAndOtherTypesFiltered) {
  Harness h("BITMART_FUTURES");
  ASSERT_EQ(h.parse(R"({"group":"futures/trade:BTCUSDT","data":[)"
                    R"({"trade_id":7,"symbol":"BTCUSDT","deal_price":"96148.5","deal_vol":"250","way":5,"m":true,)"
                    R"("type":1,"created_at":"2024-12-04T11:36:49.5Z"},)"
                    R"({"trade_id":6,"symbol":"BTCUSDT","deal_price":"96148.7","deal_vol":"40","way":3,"m":false,)"
                    R"("type":8,"created_at":"2024-12-04T11:36:49.4Z"},)"
                    R"({"trade_id":5,"symbol":"BTCUSDT","deal_price":"96148.7","deal_vol":"10","way":3,"m":false,)"
                    R"("type":2,"created_at":"2024-12-04T11:36:49.3Z"}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 2u);  // ids 7, 6 handed on as 6, 7
  EXPECT_EQ(h.trade(1).trade_id, 7u);
  EXPECT_EQ(h.trade(1).flags, kTradeLiquidation);
  EXPECT_EQ(h.trade(1).side, Side::kSell);  // the liquidation order sold: a long was liquidated
  EXPECT_DOUBLE_EQ(h.trade(1).qty, 0.25);
  EXPECT_EQ(h.trade(0).flags, kTradeNone);
  EXPECT_EQ(h.parser->stats().liquidations, 1u);
  // A frame of other types only is filtered, not an error.
  EXPECT_EQ(
      h.parse(R"({"group":"futures/trade:BTCUSDT","data":[{"trade_id":8,"symbol":"BTCUSDT",)"
              R"("deal_price":"1","deal_vol":"5","way":4,"m":false,"type":3,"created_at":"2024-12-04T11:36:50Z"}]})"),
      ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kFiltered], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(BitmartFutures, UnknownContractSizeIsNeverGuessed) {
  Harness h("BITMART_FUTURES");
  EXPECT_EQ(h.parse(R"({"group":"futures/trade:ETHUSDT","data":[{"trade_id":1,"symbol":"ETHUSDT",)"
                    R"("deal_price":"3648.5","deal_vol":"250","m":true,"created_at":"2024-12-04T11:36:49.5Z"}]})"),
            ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kUnknownInstrument], 1u);
  EXPECT_EQ(h.parser->stats().total_errors(), 1u);
}

// ---------------------------------------------------------------------------
// Raw deflate.

TEST(BitmartCompression, DeflatedFramesParseAsTheirText) {
  Harness text, packed;
  ASSERT_EQ(text.parse(kFutures), ParseOutcome::kEvents);
  ASSERT_EQ(packed.parse(deflate_raw(kFutures)), ParseOutcome::kEvents);
  ASSERT_EQ(packed.out.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(packed.trade(i).trade_id, text.trade(i).trade_id);
    EXPECT_EQ(packed.trade(i).qty, text.trade(i).qty);
    EXPECT_EQ(packed.trade(i).exchange_ts_ns, text.trade(i).exchange_ts_ns);
  }
  EXPECT_EQ(packed.parse(deflate_raw("pong")), ParseOutcome::kSkipped);
  EXPECT_EQ(packed.parser->stats()[SkipKind::kControl], 1u);
}

TEST(BitmartCompression, CorruptAndOversizeAreCounted) {
  Harness h("BITMART", ParserOptions{.max_frame_bytes = 4096});
  EXPECT_EQ(h.parse("\xff\xfe\x01\x02garbage"), ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kDecompress], 1u);
  std::string packed = deflate_raw(kSpot);
  packed.resize(packed.size() / 2);  // truncated stream
  EXPECT_EQ(h.parse(packed), ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kDecompress], 2u);
  // 100 kB of whitespace inflates past max_frame_bytes: refused, buffer not grown.
  const std::string bomb = deflate_raw(std::string(100'000, ' ') + std::string(kSpot));
  ASSERT_LT(bomb.size(), 4096u);
  EXPECT_EQ(h.parse(bomb), ParseOutcome::kError);
  EXPECT_EQ(h.parser->stats()[ParseError::kOversize], 1u);
  EXPECT_EQ(h.parser->stats().trades, 0u);
}

// ---------------------------------------------------------------------------
// Control frames and malformed input: every frame in exactly one bucket.

TEST(BitmartFrames, ControlBookAndOtherChannels) {
  Harness h;
  EXPECT_EQ(h.parse("pong"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"subscribe","topic":"spot/trade:BTC_USDT"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"action":"subscribe","group":"futures/trade:BTCUSDT","success":true,)"
                    R"("request":{"action":"subscribe","args":["futures/trade:BTCUSDT"]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"event":"error","message":"Unrecognized request","errorCode":30039})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kControl], 4u);
  EXPECT_EQ(h.parse(R"({"group":"futures/depth20:BTCUSDT@200ms","data":{"symbol":"BTCUSDT","way":1,"depths":[]}})"),
            ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"data":{"symbol":"BTCUSDT"},"group":"futures/bookticker:BTCUSDT"})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kBook], 2u);
  EXPECT_EQ(h.parse(R"({"table":"spot/ticker","data":[{"symbol":"BTC_USDT"}]})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parse(R"({"group":"futures/klineBin1m:BTCUSDT","data":{"symbol":"BTCUSDT"}})"), ParseOutcome::kSkipped);
  EXPECT_EQ(h.parser->stats()[SkipKind::kOtherChannel], 2u);
  EXPECT_EQ(h.parser->stats().total_errors(), 0u);
}

TEST(BitmartFrames, MalformedFramesAreCountedByReason) {
  const std::string spot_head = R"({"table":"spot/trade","data":[)";
  const std::string fut_head = R"({"group":"futures/trade:BTCUSDT","data":[)";
  const test::Malformed cases[] = {
      {"empty", "", ParseError::kTruncated},
      {"not json", "{not json", ParseError::kTruncated},
      {"array root", "[1,2]", ParseError::kBadType},
      {"no channel", R"({"data":[]})", ParseError::kMissingField},
      {"unknown family", R"({"table":"margin/trade","data":[]})", ParseError::kUnknownChannel},
      {"data not array", R"({"table":"spot/trade","data":{}})", ParseError::kBadType},
      {"no trades", spot_head + "]}", ParseError::kMissingField},
      {"price not number", spot_head + R"({"ms_t":1733312207120,"price":"x","side":"buy","size":"1","symbol":"A_B"}]})",
       ParseError::kBadType},
      {"zero size", spot_head + R"({"ms_t":1733312207120,"price":"1","side":"buy","size":"0","symbol":"A_B"}]})",
       ParseError::kBadValue},
      {"bad side", spot_head + R"({"ms_t":1733312207120,"price":"1","side":"hold","size":"1","symbol":"A_B"}]})",
       ParseError::kBadValue},
      {"no time", spot_head + R"({"price":"1","side":"buy","size":"1","symbol":"A_B"}]})", ParseError::kMissingField},
      {"time in 1970", spot_head + R"({"ms_t":5,"price":"1","side":"buy","size":"1","symbol":"A_B"}]})",
       ParseError::kBadValue},
      {"no symbol", spot_head + R"({"ms_t":1733312207120,"price":"1","side":"buy","size":"1"}]})",
       ParseError::kMissingField},
      {"bad created_at",
       fut_head +
           R"({"trade_id":1,"symbol":"BTCUSDT","deal_price":"1","deal_vol":"1","m":true,"created_at":"yesterday"}]})",
       ParseError::kBadValue},
      {"id not a number",
       fut_head +
           R"({"trade_id":"x1","symbol":"BTCUSDT","deal_price":"1","deal_vol":"1","m":true,"created_at":"2024-12-04T11:36:49Z"}]})",
       ParseError::kBadType},
      {"way out of range",
       fut_head +
           R"({"trade_id":1,"symbol":"BTCUSDT","deal_price":"1","deal_vol":"1","way":9,"created_at":"2024-12-04T11:36:49Z"}]})",
       ParseError::kBadValue},
      {"negative contracts",
       fut_head +
           R"({"trade_id":1,"symbol":"BTCUSDT","deal_price":"1","deal_vol":"-3","m":true,"created_at":"2024-12-04T11:36:49Z"}]})",
       ParseError::kBadValue},
      {"truncated", fut_head + R"({"trade_id":1,"symbol":"BTCU)", ParseError::kTruncated},
  };
  for (const auto& c : cases) {
    Harness h;
    EXPECT_EQ(h.parse(c.text), ParseOutcome::kError) << c.name;
    EXPECT_EQ(h.parser->stats()[c.expected], 1u) << c.name;
    EXPECT_EQ(h.parser->stats().total_errors(), 1u) << c.name;
    EXPECT_EQ(h.parser->stats().trades, 0u) << c.name;
  }
}

TEST(BitmartFrames, ABadTradeDoesNotSinkItsFrame) {
  Harness h;
  ASSERT_EQ(h.parse(R"({"table":"spot/trade","data":[{"ms_t":1733312207120,"price":"1","side":"buy","size":"-1",)"
                    R"("symbol":"A_B"},{"ms_t":1733312207120,"price":"2","side":"sell","size":"3","symbol":"A_B"}]})"),
            ParseOutcome::kEvents);
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_DOUBLE_EQ(h.trade(0).qty, 3.0);
  EXPECT_EQ(h.parser->stats()[ParseError::kBadValue], 1u);
}

TEST(BitmartFrames, RandomBytesNeverCrash) {
  Harness h;
  for (std::uint32_t seed = 1; seed <= 200; ++seed) h.parse(test::random_bytes(seed % 97, seed));
  EXPECT_EQ(h.parser->stats().frames, 200u);
  EXPECT_EQ(h.parser->stats().trades, 0u);
}

TEST(BitmartAllocation, SteadyStateParsingAllocatesNothing) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under ASan";
  MarketRegistry registry;
  auto parser = make_parser("BITMART_FUTURES", registry);
  PaddedFrame spot, futures, packed, book;
  spot.assign(kSpot);
  futures.assign(kFutures);
  packed.assign(deflate_raw(kSpot));
  book.assign(R"({"group":"futures/depth20:BTCUSDT@200ms","data":{"symbol":"BTCUSDT","way":1,"depths":[]}})");
  EventBuffer out;
  ASSERT_EQ(parser->parse(spot.view(), 1, out), ParseOutcome::kEvents);  // warm-up: markets resolved
  ASSERT_EQ(parser->parse(futures.view(), 1, out), ParseOutcome::kEvents);
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    parser->parse(spot.view(), 1, out);
    parser->parse(futures.view(), 1, out);
    parser->parse(packed.view(), 1, out);
    parser->parse(book.view(), 1, out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(parser->stats().trades, 5u + 1000u * 7u);
}

// ---------------------------------------------------------------------------
// The live plans (feeds/venues/bitmart.cc).

LiveFeedConfig bitmart_config(Venue venue, std::vector<std::string> symbols) {
  LiveFeedConfig c;
  c.venue = venue;
  c.symbols = std::move(symbols);
  return c;
}

TEST(BitmartPlan, SpotUrlSubscribeKeepaliveAndPacing) {
  const LiveFeedPlan p = plan_for(bitmart_config(Venue::kBitmartSpot, {"BTC_USDT", "eth_usdt"}));
  EXPECT_EQ(p.host, "ws-manager-compress.bitmart.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/api?protocol=1.1");
  EXPECT_EQ(p.parser_name, "BITMART");
  ASSERT_EQ(p.subscribe.size(), 1u);
  EXPECT_EQ(p.subscribe[0], R"({"op":"subscribe","args":["spot/trade:BTC_USDT","spot/trade:ETH_USDT"]})");
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{15'000});
  EXPECT_EQ(p.ping_text, "ping");
  EXPECT_EQ(p.subscribe_interval, std::chrono::milliseconds{150});
  // No liquidation channel exists: the defaults are the trades alone either way.
  LiveFeedConfig c = bitmart_config(Venue::kBitmartSpot, {"BTC_USDT"});
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade"});
  c.liquidations = false;
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade"});
  EXPECT_EQ(venue_protocol(Venue::kBitmartSpot).market_pair("btc_usdt"), "BTC_USDT");
  EXPECT_EQ(venue_protocol(Venue::kBitmartSpot).gaps({"trade"}), GapDetection::kTime);
}

TEST(BitmartPlan, FuturesUrlSubscribeAndPing) {
  const LiveFeedPlan p = plan_for(bitmart_config(Venue::kBitmartFutures, {"BTCUSDT"}));
  EXPECT_EQ(p.host, "openapi-ws-v2.bitmart.com");
  EXPECT_EQ(p.target, "/api?protocol=1.1");
  EXPECT_EQ(p.parser_name, "BITMART_FUTURES");
  ASSERT_EQ(p.subscribe.size(), 1u);
  EXPECT_EQ(p.subscribe[0], R"({"action":"subscribe","args":["futures/trade:BTCUSDT"]})");
  EXPECT_EQ(p.ping_text, R"({"action":"ping"})");
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{15'000});
  EXPECT_EQ(venue_protocol(Venue::kBitmartFutures).exchange, "BITMART_FUTURES");
  EXPECT_EQ(venue_protocol(Venue::kBitmartFutures).market_pair("BTCUSDT"), "BTCUSDT");
}

std::size_t topics(std::string_view message) {
  std::size_t n = 0;
  for (auto at = message.find("futures/trade:"); at != std::string_view::npos;
       at = message.find("futures/trade:", at + 1))
    ++n;
  return n;
}

TEST(BitmartPlan, TwentyArgsPerMessageAnd115ChannelsPerSpotConnection) {
  std::vector<std::string> symbols;
  for (int i = 0; i < 45; ++i) symbols.push_back("C" + std::to_string(i) + "_USDT");
  const LiveFeedPlan p = plan_for(bitmart_config(Venue::kBitmartFutures, symbols));
  ASSERT_EQ(p.subscribe.size(), 3u);  // 20 + 20 + 5
  EXPECT_EQ(topics(p.subscribe[0]), 20u);
  EXPECT_EQ(topics(p.subscribe[2]), 5u);
  EXPECT_TRUE(p.subscribe[2].ends_with(R"("futures/trade:C44_USDT"]})")) << p.subscribe[2];
  EXPECT_EQ(venue_protocol(Venue::kBitmartSpot).max_topics, 115u);
  symbols.resize(115, "X_USDT");
  EXPECT_NO_THROW(plan_for(bitmart_config(Venue::kBitmartSpot, symbols)));
  symbols.push_back("Y_USDT");
  EXPECT_THROW(plan_for(bitmart_config(Venue::kBitmartSpot, symbols)), std::invalid_argument);
  EXPECT_THROW(plan_for(bitmart_config(Venue::kBitmartSpot, {"BTC\"USDT"})), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
