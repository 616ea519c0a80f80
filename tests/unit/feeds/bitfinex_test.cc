// tests/unit/feeds/bitfinex_test.cc: the Bitfinex v2 parser.
//
//  * The bundled capture (cryptofeed's BITFINEX.ws.11.0, whole) has no trade
//    frames: acks, tickers, books, trade snapshots and heartbeats only. It
//    must give zero trades, zero errors and exactly the skip counts that the
//    independent Python reference (tests/tools/bitfinex_reference.py) derives.
//  * Trade frames: HAND-WRITTEN fixtures in the documented shapes
//    (../shared/docs/exchanges.md, Bitfinex), with hand-computed expectations.
//  * Malformed input: each case is counted under exactly one reason, and the
//    parser parses a good frame right afterwards.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <random>
#include <string>

#include "feeds/live_feed.h"
#include "feeds/parser_factory.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"

namespace tickflow {
namespace {

using test::parse_frame;

constexpr std::string_view kInfo = R"({"event":"info","version":2,"serverId":"x","platform":{"status":1}})";
constexpr std::string_view kSubscribedBtc =
    R"({"event":"subscribed","channel":"trades","chanId":17,"symbol":"tBTCUSD","pair":"BTCUSD"})";
constexpr std::string_view kSubscribedTest =
    R"({"event":"subscribed","channel":"trades","chanId":18,"symbol":"tTESTBTC:TESTUSD","pair":"TESTBTC:TESTUSD"})";
constexpr std::string_view kSubscribedBook =
    R"({"event":"subscribed","channel":"book","chanId":19,"symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25","pair":"BTCUSD"})";
constexpr std::string_view kSubscribedTicker =
    R"({"event":"subscribed","channel":"ticker","chanId":20,"symbol":"tBTCUSD","pair":"BTCUSD"})";
constexpr std::string_view kGoodTrade = R"([17,"te",[1002,1618677030123,-0.75,60010.5]])";

class BitfinexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    parser_ = make_parser("BITFINEX", registry_);
    ASSERT_NE(parser_, nullptr);
    for (auto frame : {kInfo, kSubscribedBtc, kSubscribedTest, kSubscribedBook, kSubscribedTicker})
      ASSERT_EQ(parse_frame(*parser_, frame, out_), ParseOutcome::kSkipped) << frame;
    ASSERT_EQ(parser_->stats()[SkipKind::kControl], 5u);
    parser_->reset_stats();
  }

  const Trade& last_trade() const { return out_[out_.size() - 1].trade; }

  // `frame` is counted once under `reason`, and a good trade parses right after.
  void expect_error(std::string_view frame, ParseError reason) {
    SCOPED_TRACE(std::string(frame));
    const ParseStats before = parser_->stats();
    out_.clear();
    EXPECT_EQ(parse_frame(*parser_, frame, out_), ParseOutcome::kError);
    EXPECT_EQ(out_.size(), 0u);
    EXPECT_EQ(parser_->stats()[reason], before[reason] + 1) << to_string(reason);
    EXPECT_EQ(parser_->stats().total_errors(), before.total_errors() + 1);
    EXPECT_EQ(parser_->stats().total_skipped(), before.total_skipped());
    EXPECT_EQ(parse_frame(*parser_, kGoodTrade, out_), ParseOutcome::kEvents);
    ASSERT_EQ(out_.size(), 1u);
    EXPECT_EQ(last_trade().trade_id, 1002u);
  }

  MarketRegistry registry_;
  std::unique_ptr<ExchangeParser> parser_;
  EventBuffer out_;
};

TEST(BitfinexFactory, KnownName) {
  MarketRegistry registry;
  auto parser = make_parser("BITFINEX", registry);
  ASSERT_NE(parser, nullptr);
  EXPECT_EQ(parser->exchange(), "BITFINEX");
  EXPECT_EQ(make_bitfinex_parser("BINANCE", registry, {}), nullptr);
}

// Hand-written fixture frames (no trade frame exists in the capture).
TEST_F(BitfinexTest, HandWrittenTradeTe) {
  ASSERT_EQ(parse_frame(*parser_, kGoodTrade, out_, 42), ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 1u);
  ASSERT_EQ(out_[0].type, FeedEventType::kTrade);
  const Trade& t = out_[0].trade;
  EXPECT_EQ(t.trade_id, 1002u);
  EXPECT_EQ(t.exchange_ts_ns, 1618677030123'000'000);
  EXPECT_EQ(t.receive_ts_ns, 42);
  EXPECT_EQ(t.price, 60010.5);
  EXPECT_EQ(t.qty, 0.75);          // |AMOUNT|
  EXPECT_EQ(t.side, Side::kSell);  // AMOUNT < 0
  EXPECT_EQ(t.flags, kTradeNone);
  EXPECT_EQ(registry_.info(t.market).name, "BITFINEX:BTCUSD");
  EXPECT_EQ(registry_.info(t.market).kind, InstrumentKind::kSpot);
  EXPECT_EQ(parser_->stats().trades, 1u);
}

TEST_F(BitfinexTest, HandWrittenBuyWithSequenceNumberOnColonPair) {
  // conf flag SEQ_ALL appends a sequence number; the pair drops its ':'.
  ASSERT_EQ(parse_frame(*parser_, R"([18,"te",[5,1618677031000,2,0.5],42])", out_), ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 1u);
  const Trade& t = out_[0].trade;
  EXPECT_EQ(t.trade_id, 5u);
  EXPECT_EQ(t.side, Side::kBuy);
  EXPECT_EQ(t.qty, 2.0);
  EXPECT_EQ(t.price, 0.5);
  EXPECT_EQ(t.notional(), 1.0);
  EXPECT_EQ(registry_.info(t.market).name, "BITFINEX:TESTBTCTESTUSD");
}

// simdjson 3.0.1 reads "0.95000000000000000000" as 0.0277 (its issue #2093).
TEST_F(BitfinexTest, LongDecimalsAreExact) {
  ASSERT_EQ(
      parse_frame(*parser_, R"([17,"te",[9,1618677031000,-0.95000000000000000000,60000.000000000000000001]])", out_),
      ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].trade.qty, 0.95);
  EXPECT_EQ(out_[0].trade.side, Side::kSell);
  EXPECT_EQ(out_[0].trade.price, 60000.0);
}

TEST_F(BitfinexTest, HandWrittenSkips) {
  // Snapshot on a trades channel, tu duplicate, heartbeats, book and ticker payloads.
  EXPECT_EQ(parse_frame(*parser_, R"([17,[[1001,1618677027100,-0.5,60000],[1000,1618677027000,0.25,59990]]])", out_),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([17,"tu",[1002,1618677030123,-0.75,60010.5]])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([17,"hb"])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([19,"hb",128])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([19,[[60000,1,0.5],[60010,2,-1.5]]])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([19,[60000,0,1],7])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([19,"cs",-12345678])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([20,[60000,1,60001,2,10,0.01,60000.5,100,61000,59000]])", out_),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"({"event":"conf","status":"OK","flags":65536})", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"({"event":"error","msg":"subscribe: dup","code":10301})", out_),
            ParseOutcome::kSkipped);
  const ParseStats& s = parser_->stats();
  EXPECT_EQ(s[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(s[SkipKind::kFiltered], 1u);
  EXPECT_EQ(s[SkipKind::kControl], 4u);  // 2 hb, conf, error
  EXPECT_EQ(s[SkipKind::kBook], 3u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(s.trades, 0u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_TRUE(out_.empty());
}

TEST_F(BitfinexTest, ChannelTableFollowsSubscriptions) {
  expect_error(R"([99,"te",[1,1618677031000,1,1]])", ParseError::kUnknownMarket);
  // unsubscribed forgets the channel.
  EXPECT_EQ(parse_frame(*parser_, R"({"event":"unsubscribed","status":"OK","chanId":18})", out_),
            ParseOutcome::kSkipped);
  out_.clear();
  EXPECT_EQ(parse_frame(*parser_, R"([18,"te",[5,1618677031000,2,0.5]])", out_), ParseOutcome::kError);
  EXPECT_EQ(parser_->stats()[ParseError::kUnknownMarket], 2u);
  // A new connection ("info" with version) clears every channel.
  EXPECT_EQ(parse_frame(*parser_, kInfo, out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, kGoodTrade, out_), ParseOutcome::kError);
  EXPECT_EQ(parser_->stats()[ParseError::kUnknownMarket], 3u);
  // Re-subscribing maps the channel again; a perpetual is linear.
  EXPECT_EQ(parse_frame(*parser_, kSubscribedBtc, out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, kGoodTrade, out_), ParseOutcome::kEvents);
  EXPECT_EQ(parse_frame(
                *parser_,
                R"({"event":"subscribed","channel":"trades","chanId":30,"symbol":"tBTCF0:USTF0","pair":"BTCF0:USTF0"})",
                out_),
            ParseOutcome::kSkipped);
  out_.clear();
  ASSERT_EQ(parse_frame(*parser_, R"([30,"te",[7,1618677031000,-0.01,60000]])", out_), ParseOutcome::kEvents);
  EXPECT_EQ(registry_.info(out_[0].trade.market).name, "BITFINEX:BTCF0USTF0");
  EXPECT_EQ(registry_.info(out_[0].trade.market).kind, InstrumentKind::kLinear);
  EXPECT_EQ(out_[0].trade.qty, 0.01);
  // Funding trades (symbol 'f...') are another channel kind.
  EXPECT_EQ(parse_frame(*parser_, R"({"event":"subscribed","channel":"trades","chanId":31,"symbol":"fUSD"})", out_),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([31,"fte",[1,1618677031000,100,0.0002,2]])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parser_->stats()[SkipKind::kOtherChannel], 1u);
}

TEST_F(BitfinexTest, ChannelTableIsBounded) {
  // 256 channels fit (4 learned in SetUp); the next subscribe overflows and is counted.
  std::size_t learned = 4;
  for (std::uint64_t id = 1000; learned < 256; ++id, ++learned) {
    const std::string frame = R"({"event":"subscribed","channel":"book","chanId":)" + std::to_string(id) + "}";
    ASSERT_EQ(parse_frame(*parser_, frame, out_), ParseOutcome::kSkipped);
  }
  expect_error(R"({"event":"subscribed","channel":"book","chanId":5000})", ParseError::kOverflow);
  expect_error(R"([5000,[60000,1,0.5]])", ParseError::kUnknownMarket);
}

TEST_F(BitfinexTest, MalformedFramesAreCountedOnceAndParsingContinues) {
  expect_error("", ParseError::kTruncated);                                          // empty frame
  expect_error(R"([17,"te",[1002,1618677030123,-0.75,60)", ParseError::kTruncated);  // truncated
  expect_error(R"([17,"te",[1002,1618677030123,-0.75,60010.5])", ParseError::kTruncated);
  expect_error("[17,\"te\xff\",[1002,1618677030123,-0.75,60010.5]]", ParseError::kTruncated);  // invalid UTF-8
  expect_error("\x8a\x01\xfe\x13zq#\x7f\x00\x9c", ParseError::kTruncated);                     // random bytes
  expect_error("hello", ParseError::kTruncated);
  // Wrong JSON types.
  expect_error(R"(["17","te",[1002,1618677030123,-0.75,60010.5]])", ParseError::kBadType);
  expect_error(R"([17,"te",{"id":1002}])", ParseError::kBadType);
  expect_error(R"([17,"te",[1002,"1618677030123",-0.75,60010.5]])", ParseError::kBadType);
  expect_error(R"([17,"te",[1002,1618677030123,true,60010.5]])", ParseError::kBadType);
  expect_error(R"([17,"te",[1002,1618677030123,-0.75,"abc"]])", ParseError::kBadType);
  expect_error(R"([17,"te",[-1002,1618677030123,-0.75,60010.5]])", ParseError::kBadType);  // negative id
  expect_error(R"([17,17,[1002,1618677030123,-0.75,60010.5]])", ParseError::kBadType);
  expect_error(R"("te")", ParseError::kBadType);
  expect_error(R"({"event":7})", ParseError::kBadType);
  // Huge, negative, zero values.
  expect_error(R"([17,"te",[1002,1618677030123,-0.75,1e300]])", ParseError::kBadValue);
  expect_error(R"([17,"te",[1002,1618677030123,-0.75,-60010.5]])", ParseError::kBadValue);
  expect_error(R"([17,"te",[1002,1618677030123,-1e20,60010.5]])", ParseError::kBadValue);
  expect_error(R"([17,"te",[1002,1618677030123,0,60010.5]])", ParseError::kBadValue);
  expect_error(R"([17,"te",[1002,1618677030,-0.75,60010.5]])", ParseError::kBadValue);  // seconds, not ms
  expect_error(R"([17,"te",[1002,-1618677030123,-0.75,60010.5]])", ParseError::kBadValue);
  expect_error(R"([17,"te",[123456789012345678901234567890,1618677030123,-0.75,60010.5]])", ParseError::kBadType);
  // Missing fields.
  expect_error(R"([17,"te",[1002,1618677030123,-0.75]])", ParseError::kMissingField);
  expect_error(R"([17,"te"])", ParseError::kMissingField);
  expect_error("[17]", ParseError::kMissingField);
  expect_error("[]", ParseError::kMissingField);
  expect_error(R"({"event":"subscribed","channel":"trades","symbol":"tETHUSD"})", ParseError::kMissingField);
  expect_error(R"({"event":"subscribed","channel":"trades","chanId":40})", ParseError::kMissingField);
  expect_error(R"({"channel":"trades","chanId":40})", ParseError::kUnknownChannel);  // no "event"
  expect_error(R"([17,"xx",[1002,1618677030123,-0.75,60010.5]])", ParseError::kUnknownChannel);
  expect_error(R"({"event":"subscribed","channel":"trades","chanId":41,"symbol":"BTCUSD"})",
               ParseError::kUnknownMarket);
  EXPECT_EQ(parser_->stats().total_errors(), 31u);
}

TEST_F(BitfinexTest, OversizeFrameIsCountedNotParsed) {
  MarketRegistry registry;
  auto small = make_parser("BITFINEX", registry, ParserOptions{.max_frame_bytes = 64});
  EventBuffer out;
  EXPECT_EQ(parse_frame(*small, std::string(65, ' '), out), ParseOutcome::kError);
  EXPECT_EQ(small->stats()[ParseError::kOversize], 1u);
}

TEST_F(BitfinexTest, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  PaddedFrame te, hb, tu;
  te.assign(kGoodTrade);
  hb.assign(R"([17,"hb"])");
  tu.assign(R"([17,"tu",[1002,1618677030123,-0.75,60010.5]])");
  ASSERT_EQ(parser_->parse(te.view(), 1, out_), ParseOutcome::kEvents);  // warm-up
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    out_.clear();
    parser_->parse(te.view(), 1, out_);
    parser_->parse(hb.view(), 1, out_);
    parser_->parse(tu.view(), 1, out_);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(parser_->stats().trades, 1001u);
}

// Liquidations (status channel, key liq:global): HAND-WRITTEN frames in the
// shape of Bitfinex's "ws public status" reference, read as aggr-server
// reads them (see the parser's banner).
constexpr std::string_view kSubscribedPerp =
    R"({"event":"subscribed","channel":"trades","chanId":21,"symbol":"tBTCF0:USTF0","pair":"BTCF0:USTF0"})";
constexpr std::string_view kSubscribedLiq =
    R"({"event":"subscribed","channel":"status","chanId":30,"key":"liq:global"})";
// Entry 1: a long trigger (kept); 2: the same position's market execution
// (IS_MATCH 1: filtered); 3: a short trigger on a market without a trades
// channel (priced at BASE_PRICE); 4: a POS_ID that is a string (kBadType).
constexpr std::string_view kLiquidations =
    R"([30,[["pos",145400868,1618677031000.2002,null,"tBTCF0:USTF0",0.25,59000.5,null,0,0,null,null],)"
    R"(["pos",145400868,1618677031100,null,"tBTCF0:USTF0",0.25,59000.5,null,1,1,null,61010.0],)"
    R"(["pos",145400900,1618677031200,null,"tETHF0:USTF0",-3,2100,null,0,0,null,null],)"
    R"(["pos","x",1618677031300,null,"tBTCF0:USTF0",1,59000,null,0,0,null,null]]])";

TEST_F(BitfinexTest, HandWrittenLiquidationsAsAggrServerReadsThem) {
  ASSERT_EQ(parse_frame(*parser_, kSubscribedPerp, out_), ParseOutcome::kSkipped);
  ASSERT_EQ(parse_frame(*parser_, kSubscribedLiq, out_), ParseOutcome::kSkipped);
  // The first payload after subscribing is history.
  EXPECT_EQ(parse_frame(*parser_, kLiquidations, out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parser_->stats()[SkipKind::kSnapshot], 1u);
  EXPECT_EQ(out_.size(), 0u);
  // A trade on the perp: its price is what the next BTC liquidation borrows.
  ASSERT_EQ(parse_frame(*parser_, R"([21,"te",[2001,1618677030000,0.5,61000.5]])", out_), ParseOutcome::kEvents);
  out_.clear();
  ASSERT_EQ(parse_frame(*parser_, kLiquidations, out_), ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 2u);
  const Trade& btc = out_[0].trade;
  EXPECT_EQ(registry_.info(btc.market).name, "BITFINEX:BTCF0USTF0");
  EXPECT_EQ(btc.flags, kTradeLiquidation);
  EXPECT_EQ(btc.side, Side::kSell);  // a long position liquidated
  EXPECT_EQ(btc.qty, 0.25);
  EXPECT_EQ(btc.price, 61000.5);  // the last trade's, not BASE_PRICE 59000.5
  EXPECT_EQ(btc.trade_id, 145400868u);
  EXPECT_EQ(btc.exchange_ts_ns, 1618677031000'000'000);  // the fraction of a ms dropped
  const Trade& eth = out_[1].trade;
  EXPECT_EQ(registry_.info(eth.market).name, "BITFINEX:ETHF0USTF0");
  EXPECT_EQ(eth.side, Side::kBuy);  // a short position liquidated
  EXPECT_EQ(eth.qty, 3.0);
  EXPECT_EQ(eth.price, 2100.0);  // no trade seen on it: BASE_PRICE
  EXPECT_EQ(eth.trade_id, 145400900u);
  EXPECT_EQ(parser_->stats().liquidations, 2u);
  EXPECT_EQ(parser_->stats().trades, 3u);
  EXPECT_EQ(parser_->stats()[ParseError::kBadType], 1u);
  EXPECT_EQ(parser_->stats().total_errors(), 1u);

  // Executions only: nothing to count.
  out_.clear();
  EXPECT_EQ(
      parse_frame(*parser_, R"([30,[["pos",7,1618677031100,null,"tBTCF0:USTF0",0.25,59000.5,null,1,1,null,61010.0]]])",
                  out_),
      ParseOutcome::kSkipped);
  EXPECT_EQ(parser_->stats()[SkipKind::kFiltered], 1u);
  // Heartbeats and an empty update on the liquidation channel.
  EXPECT_EQ(parse_frame(*parser_, R"([30,"hb"])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser_, R"([30,[]])", out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parser_->stats()[SkipKind::kFiltered], 2u);
  // Broken entries: counted by reason.
  expect_error(R"([30,[["pos",8,1618677031100,null,"tBTCF0:USTF0",0,59000,null,0,0,null,null]]])",
               ParseError::kBadValue);  // zero amount
  expect_error(R"([30,[["pos",8,12,null,"tBTCF0:USTF0",1,59000,null,0,0,null,null]]])",
               ParseError::kBadValue);  // not a time
  expect_error(R"([30,[["pos",8,1618677031100,null,"BTCF0:USTF0",1,59000,null,0,0,null,null]]])",
               ParseError::kBadValue);  // not a trading symbol
  expect_error(R"([30,[["pos",8,1618677031100,null]]])", ParseError::kMissingField);
  expect_error(R"([30,[7]])", ParseError::kBadType);
  EXPECT_EQ(out_.size(), 1u);  // expect_error's good trade only
  EXPECT_EQ(parser_->stats().liquidations, 2u);
  // A resubscription starts the history rule again.
  ASSERT_EQ(parse_frame(*parser_, kSubscribedLiq, out_), ParseOutcome::kSkipped);
  out_.clear();
  EXPECT_EQ(parse_frame(*parser_, kLiquidations, out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parser_->stats()[SkipKind::kSnapshot], 2u);
}

// The liquidation path is out of the fuzzer's reach (it needs a
// "subscribed" first, and the fuzzer feeds one frame to a fresh parser):
// every prefix and 3000 random byte flips of a liquidation frame, each
// landing in exactly one bucket, with only sane events.
TEST(BitfinexLiquidations, EveryPrefixAndByteFlipIsAccountedFor) {
  MarketRegistry registry;
  auto parser = make_parser("BITFINEX", registry);
  EventBuffer out;
  ASSERT_EQ(parse_frame(*parser, kSubscribedLiq, out), ParseOutcome::kSkipped);
  ASSERT_EQ(parse_frame(*parser, R"([30,[]])", out), ParseOutcome::kSkipped);  // history
  const std::string good(kLiquidations);
  auto check = [&](std::string_view frame) {
    const ParseStats before = parser->stats();
    out.clear();
    const ParseOutcome outcome = parse_frame(*parser, frame, out);
    const ParseStats& after = parser->stats();
    EXPECT_EQ(outcome == ParseOutcome::kEvents, !out.empty());
    EXPECT_LE(out.size(), 2u);
    if (outcome == ParseOutcome::kSkipped) {
      EXPECT_EQ(after.total_skipped(), before.total_skipped() + 1);
    }
    if (outcome == ParseOutcome::kError) {
      EXPECT_GT(after.total_errors(), before.total_errors());
    }
    for (const FeedEvent& e : out) {
      EXPECT_GT(e.trade.price, 0);
      EXPECT_GT(e.trade.qty, 0);
      EXPECT_EQ(e.trade.flags, kTradeLiquidation);
    }
  };
  for (std::size_t n = 0; n < good.size(); ++n) check(std::string_view(good).substr(0, n));
  std::mt19937 rng(16);
  for (int i = 0; i < 3000; ++i) {
    std::string mutated = good;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    check(mutated);
  }
  EXPECT_EQ(parser->stats().frames, 2 + good.size() + 3000);
  out.clear();
  ASSERT_EQ(parse_frame(*parser, kLiquidations, out), ParseOutcome::kEvents);
  EXPECT_EQ(out.size(), 2u);
}

TEST(BitfinexLiquidations, OnlyConfiguredMarketsAndNoAllocation) {
  MarketRegistry registry;
  auto parser = make_parser("BITFINEX", registry);
  parser->markets().set_allowlist({"BTCF0USTF0"});
  EventBuffer out;
  ASSERT_EQ(parse_frame(*parser, kSubscribedLiq, out), ParseOutcome::kSkipped);
  ASSERT_EQ(parse_frame(*parser, R"([30,[]])", out), ParseOutcome::kSkipped);  // history
  // Only the ETH entry: unconfigured, skipped without an error.
  EXPECT_EQ(
      parse_frame(*parser, R"([30,[["pos",9,1618677031200,null,"tETHF0:USTF0",-3,2100,null,0,0,null,null]]])", out),
      ParseOutcome::kSkipped);
  EXPECT_EQ(parser->stats()[SkipKind::kUnconfigured], 1u);
  EXPECT_EQ(parser->stats().total_errors(), 0u);
  PaddedFrame frame;
  frame.assign(kLiquidations);
  ASSERT_EQ(parser->parse(frame.view(), 1, out), ParseOutcome::kEvents);  // warm-up: the market is interned
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].trade.price, 59000.5);  // no trades channel: BASE_PRICE
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    out.clear();
    parser->parse(frame.view(), 1, out);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(parser->stats().liquidations, 1001u);
}

TEST(BitfinexCapture, MatchesPythonReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data("cryptofeed/BITFINEX.ws.11.0.gz");
  auto ref = test::run_reference("bitfinex_reference.py", "'" + path + "'");
  ASSERT_FALSE(ref.empty()) << "reference script produced nothing";
  MarketRegistry registry;
  auto parser = make_parser("BITFINEX", registry);
  const test::CaptureRun run = test::run_capture(*parser, path);
  const ParseStats& s = parser->stats();
  auto figure = [&](const char* key) { return std::stoull(ref.at(key)); };
  // Reference (BITFINEX.ws.11.0): 1693 frames, 0 trades; skipped: 65 control
  // (23 events + 42 heartbeats), 1600 book, 21 ticker, 7 trade snapshots.
  EXPECT_EQ(s.frames, figure("frames"));
  EXPECT_EQ(run.lines.frames, figure("frames"));
  EXPECT_EQ(s.trades, 0u);
  EXPECT_EQ(figure("trades"), 0u);
  EXPECT_TRUE(run.trades.empty());
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(figure("errors"), 0u);
  EXPECT_EQ(s[SkipKind::kControl], figure("skip_control"));
  EXPECT_EQ(s[SkipKind::kBook], figure("skip_book"));
  EXPECT_EQ(s[SkipKind::kOtherChannel], figure("skip_other"));
  EXPECT_EQ(s[SkipKind::kSnapshot], figure("skip_snapshot"));
  EXPECT_EQ(s[SkipKind::kFiltered], figure("skip_filtered"));
  EXPECT_EQ(s.total_skipped(), s.frames);
  // The seven trades channels became markets (snapshots skipped, no trades).
  EXPECT_TRUE(registry.find("BITFINEX:DOGUSD").has_value());
  EXPECT_TRUE(registry.find("BITFINEX:TESTBTCTESTUSD").has_value());
}

// The live endpoint (feeds/venues/bitfinex.cc).
TEST(BitfinexPlan, Endpoint) {
  LiveFeedConfig c;
  c.venue = Venue::kBitfinex;
  c.symbols = {"tBTCUSD", "tBTCF0:USTF0"};
  EXPECT_EQ(channels_for(c), (std::vector<std::string>{"trades", "liq:global"}));
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "api-pub.bitfinex.com");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/ws/2");
  EXPECT_EQ(p.parser_name, "BITFINEX");
  const std::vector<std::string> expected = {R"({"event":"subscribe","channel":"trades","symbol":"tBTCUSD"})",
                                             R"({"event":"subscribe","channel":"trades","symbol":"tBTCF0:USTF0"})",
                                             R"({"event":"subscribe","channel":"status","key":"liq:global"})"};
  EXPECT_EQ(p.subscribe, expected);
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{30'000});
  EXPECT_EQ(p.ping_text, R"({"event":"ping","cid":1})");
  c.liquidations = false;
  EXPECT_EQ(plan_for(c).subscribe.size(), 2u);
  const VenueProtocol& v = venue_protocol(Venue::kBitfinex);
  EXPECT_EQ(v.max_topics, 25u);
  EXPECT_EQ(v.market_pair("tBTCUSD"), "BTCUSD");
  EXPECT_EQ(v.market_pair("tBTCF0:USTF0"), "BTCF0USTF0");
  EXPECT_EQ(v.rest_symbol("BTCUSD"), "tBTCUSD");
  EXPECT_EQ(v.gaps({"trades"}), GapDetection::kTime);
  // 13 symbols x 2 channels is over the limit for one connection.
  c.liquidations = true;
  c.symbols.assign(13, "tBTCUSD");
  EXPECT_THROW(plan_for(c), std::invalid_argument);
  c.symbols = {"fUSD"};  // funding, not a trading pair
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

// tests/data/fixtures/bitfinex.txt (hand-written; the fuzz seeds for the
// trade and liquidation paths): exact figures by construction.
TEST(BitfinexFixture, TradesAndLiquidations) {
  MarketRegistry registry;
  auto parser = make_parser("BITFINEX", registry);
  const test::CaptureRun run = test::run_capture(*parser, test::test_data("fixtures/bitfinex.txt"));
  EXPECT_EQ(run.lines.frames, 12u);
  EXPECT_EQ(run.lines.malformed_lines, 1u);  // the comment line
  ASSERT_EQ(run.trades.size(), 4u);
  EXPECT_EQ(run.trades[0].trade_id, 5000u);
  EXPECT_EQ(run.trades[1].side, Side::kSell);
  EXPECT_EQ(run.trades[2].price, 97001.0);  // BTC perp liquidation: its last trade's price
  EXPECT_EQ(run.trades[2].qty, 0.75);
  EXPECT_EQ(run.trades[2].exchange_ts_ns, 1733500000200'000'000);
  EXPECT_EQ(run.trades[3].price, 3600.0);  // ETH perp: no trades channel, BASE_PRICE
  EXPECT_EQ(run.trades[3].side, Side::kBuy);
  const ParseStats& s = parser->stats();
  EXPECT_EQ(s.liquidations, 2u);
  EXPECT_EQ(s[SkipKind::kSnapshot], 2u);
  EXPECT_EQ(s[SkipKind::kFiltered], 1u);
  EXPECT_EQ(s[SkipKind::kControl], 6u);  // info, 3 subscribed, hb, pong
  EXPECT_EQ(s.total_errors(), 0u);
}

}  // namespace
}  // namespace tickflow
