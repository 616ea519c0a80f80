// tests/unit/feeds/htx_test.cc: the HTX (Huobi) parser, spot and swaps.
//
//  * Bundled captures (trimmed cryptofeed HUOBI.ws.44.0 and HUOBI_SWAP.ws.1.0,
//    every frame a gzip member in a bytes literal): trade count, first/last
//    id, sums of qty and notional, taker buys and skip counts must equal what
//    the independent Python reference (tests/tools/htx_reference.py: gzip,
//    json, ast.literal_eval) derives: counts exactly, sums to 1e-9 relative.
//  * Hand-written frames (gzip-compressed here with zlib, or plain JSON):
//    normalization rules, keepalive, and malformed input, each case counted
//    under exactly one reason with a good frame parsed right afterwards.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <ostream>
#include <random>
#include <string>

#include "feeds/live_feed.h"
#include "feeds/parser_factory.h"
#include "tests/unit/feeds/allocation_counter.h"
#include "tests/unit/feeds/feed_test_support.h"

namespace tickflow {
namespace {

using test::parse_frame;

// One gzip member, as HTX sends.
std::string gzip(std::string_view text) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
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

constexpr std::string_view kSpotTrade =
    R"({"ch":"market.btcusdt.trade.detail","ts":1618678027942,"tick":{"id":100182534526,"ts":1618678027940,"data":[)"
    R"({"id":100182534526255757567432481,"ts":1618678027940,"tradeId":100045088885,"amount":0.0125,"price":63248.12,"direction":"sell"}]}})";

std::string spot_frame(std::string_view trades) {
  return std::string(
             R"({"ch":"market.btcusdt.trade.detail","ts":1618678027942,"tick":{"id":1,"ts":1618678027940,"data":[)") +
         std::string(trades) + "]}}";
}
constexpr std::string_view kT1 = R"({"ts":1618678027940,"tradeId":11,"amount":0.5,"price":60000,"direction":"buy"})";
constexpr std::string_view kT2 = R"({"ts":1618678027941,"tradeId":12,"amount":1.5,"price":60010,"direction":"sell"})";

class HtxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spot_ = make_parser("HUOBI", registry_);
    swap_ = make_parser("HUOBI_SWAP", registry_);
    ASSERT_NE(spot_, nullptr);
    ASSERT_NE(swap_, nullptr);
    good_ = gzip(kSpotTrade);
  }

  // `frame` is counted once under `reason`, and a good gzip trade parses right after.
  void expect_error(ExchangeParser& parser, std::string_view frame, ParseError reason) {
    const ParseStats before = parser.stats();
    out_.clear();
    EXPECT_EQ(parse_frame(parser, frame, out_), ParseOutcome::kError);
    EXPECT_EQ(out_.size(), 0u);
    EXPECT_EQ(parser.stats()[reason], before[reason] + 1) << to_string(reason);
    EXPECT_EQ(parser.stats().total_errors(), before.total_errors() + 1);
    EXPECT_EQ(parser.stats().total_skipped(), before.total_skipped());
    out_.clear();
    EXPECT_EQ(parse_frame(parser, good_, out_), ParseOutcome::kEvents);
    ASSERT_EQ(out_.size(), 1u);
    EXPECT_EQ(out_[0].trade.trade_id, 100045088885u);
  }
  void expect_spot_error(std::string_view frame, ParseError reason) {
    SCOPED_TRACE(std::string(frame.substr(0, 200)));
    expect_error(*spot_, frame, reason);
  }

  MarketRegistry registry_;
  std::unique_ptr<ExchangeParser> spot_, swap_;
  EventBuffer out_;
  std::string good_;
};

TEST(HtxFactory, KnownNames) {
  MarketRegistry registry;
  auto spot = make_parser("HUOBI", registry);
  auto swap = make_parser("HUOBI_SWAP", registry);
  ASSERT_NE(spot, nullptr);
  ASSERT_NE(swap, nullptr);
  EXPECT_EQ(spot->exchange(), "HUOBI");
  EXPECT_EQ(swap->exchange(), "HUOBI");
  EXPECT_EQ(make_htx_parser("OKX", registry, {}), nullptr);
}

TEST_F(HtxTest, SpotTradeFromGzipAndPlainJsonAgree) {
  ASSERT_EQ(parse_frame(*spot_, good_, out_, 7), ParseOutcome::kEvents);
  ASSERT_EQ(parse_frame(*spot_, kSpotTrade, out_, 7), ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 2u);
  for (const FeedEvent& e : out_) {
    ASSERT_EQ(e.type, FeedEventType::kTrade);
    const Trade& t = e.trade;
    EXPECT_EQ(t.trade_id, 100045088885u);  // tradeId, not the >64-bit id
    EXPECT_EQ(t.flags, kTradeNone);
    EXPECT_EQ(t.exchange_ts_ns, 1618678027940'000'000);
    EXPECT_EQ(t.receive_ts_ns, 7);
    EXPECT_EQ(t.price, 63248.12);
    EXPECT_EQ(t.qty, 0.0125);
    EXPECT_EQ(t.side, Side::kSell);
    EXPECT_EQ(registry_.info(t.market).name, "HUOBI:btcusdt");
    EXPECT_EQ(registry_.info(t.market).kind, InstrumentKind::kSpot);
  }
  EXPECT_EQ(spot_->stats().trades, 2u);
  EXPECT_EQ(spot_->stats().total_errors(), 0u);
}

TEST_F(HtxTest, SpotIdWithoutTradeIdIsReadOrHashed) {
  // No tradeId: `id` is used when it fits 64 bits, else hashed and flagged.
  ASSERT_EQ(
      parse_frame(*spot_, spot_frame(R"({"id":123456789,"ts":1618678027940,"amount":1,"price":2,"direction":"buy"})"),
                  out_),
      ParseOutcome::kEvents);
  ASSERT_EQ(
      parse_frame(
          *spot_,
          spot_frame(R"({"id":100182534526255757567432481,"ts":1618678027940,"amount":1,"price":2,"direction":"buy"})"),
          out_),
      ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].trade.trade_id, 123456789u);
  EXPECT_EQ(out_[0].trade.flags, kTradeNone);
  EXPECT_EQ(out_[1].trade.flags, kTradeIdHashed);
  EXPECT_EQ(out_[1].trade.side, Side::kBuy);
  // The hash is stable (same digits, same id) and tells ids apart.
  ASSERT_EQ(
      parse_frame(
          *spot_,
          spot_frame(R"({"id":100182534526255757567432481,"ts":1618678027940,"amount":1,"price":2,"direction":"buy"})"),
          out_),
      ParseOutcome::kEvents);
  ASSERT_EQ(
      parse_frame(
          *spot_,
          spot_frame(R"({"id":100182534526255757567432482,"ts":1618678027940,"amount":1,"price":2,"direction":"buy"})"),
          out_),
      ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 4u);
  EXPECT_EQ(out_[2].trade.trade_id, out_[1].trade.trade_id);
  EXPECT_NE(out_[3].trade.trade_id, out_[1].trade.trade_id);
  EXPECT_EQ(out_[3].trade.flags, kTradeIdHashed);
}

TEST_F(HtxTest, SwapUsesQuantityElseContractTable) {
  // Hand-written, in the shape of the HUOBI_SWAP capture: quantity is base coins.
  constexpr std::string_view kSwap =
      R"({"ch":"market.BTC-USD.trade.detail","ts":1645289382234,"tick":{"id":1,"ts":1645289382216,"data":[)"
      R"({"amount":6,"quantity":0.015,"ts":1645289382216,"id":743774717120000,"price":40000,"direction":"buy"}]}})";
  ASSERT_EQ(parse_frame(*swap_, gzip(kSwap), out_), ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 1u);
  const Trade& t = out_[0].trade;
  EXPECT_EQ(t.trade_id, 743774717120000u);
  EXPECT_EQ(t.qty, 0.015);
  EXPECT_DOUBLE_EQ(t.notional(), 600.0);  // 6 contracts x 100 USD
  EXPECT_EQ(t.side, Side::kBuy);
  EXPECT_EQ(registry_.info(t.market).name, "HUOBI:BTC-USD");
  EXPECT_EQ(registry_.info(t.market).kind, InstrumentKind::kInverse);
  // Without quantity the contract size must come from the shipped table,
  // which lists no HTX contract: never guessed.
  const ParseStats before = swap_->stats();
  EXPECT_EQ(
      parse_frame(
          *swap_,
          R"({"ch":"market.ETH-USDT.trade.detail","tick":{"data":[{"amount":6,"ts":1645289382216,"id":9,"price":3000,"direction":"sell"}]}})",
          out_),
      ParseOutcome::kError);
  EXPECT_EQ(swap_->stats()[ParseError::kUnknownInstrument], before[ParseError::kUnknownInstrument] + 1);
  EXPECT_EQ(registry_.info(*registry_.find("HUOBI:ETH-USDT")).kind, InstrumentKind::kLinear);
}

// simdjson 3.0.1 reads "0.95000000000000000000" as 0.0277 (its issue #2093);
// the HUOBI_SWAP capture has such a quantity (ICP-USD, 37 digits).
TEST_F(HtxTest, LongDecimalsAreExact) {
  constexpr std::string_view kLong =
      R"({"ch":"market.ICP-USD.trade.detail","tick":{"data":[)"
      R"({"amount":2,"quantity":0.9920634920634920634920634920634920635,"ts":1645289370906,"id":660977160620000,"price":20.16,"direction":"buy"},)"
      R"({"amount":2,"quantity":"0.95000000000000000000","ts":1645289370906,"id":660977160620001,"price":0.95000000000000000000,"direction":"buy"},)"
      R"({"amount":2,"quantity":1234.5678901234567890123,"ts":1645289370906,"id":660977160620002,"price":1e-5,"direction":"sell"}]}})";
  ASSERT_EQ(parse_frame(*swap_, gzip(kLong), out_), ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 3u);
  EXPECT_EQ(out_[0].trade.qty, 0.9920634920634921);
  EXPECT_EQ(out_[1].trade.qty, 0.95);
  EXPECT_EQ(out_[1].trade.price, 0.95);
  EXPECT_EQ(out_[2].trade.qty, 1234.5678901234568);
  EXPECT_EQ(out_[2].trade.price, 1e-5);
  EXPECT_EQ(swap_->stats().total_errors(), 0u);
}

TEST_F(HtxTest, MultiTradeFrameKeepsGoodTradesAndCountsBadOnes) {
  const std::string frame = spot_frame(
      std::string(kT1) + "," + R"({"ts":1618678027940,"tradeId":99,"amount":-3,"price":60000,"direction":"buy"})" +
      "," + std::string(kT2) + "," + R"({"ts":1618678027940,"tradeId":98,"amount":1,"price":60000})" + ",7");
  ASSERT_EQ(parse_frame(*spot_, gzip(frame), out_), ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].trade.trade_id, 11u);
  EXPECT_EQ(out_[0].trade.side, Side::kBuy);
  EXPECT_EQ(out_[1].trade.trade_id, 12u);
  EXPECT_EQ(out_[1].trade.side, Side::kSell);
  EXPECT_EQ(out_[0].trade.notional() + out_[1].trade.notional(), 0.5 * 60000 + 1.5 * 60010);
  const ParseStats& s = spot_->stats();
  EXPECT_EQ(s[ParseError::kBadValue], 1u);      // amount -3
  EXPECT_EQ(s[ParseError::kMissingField], 1u);  // no direction
  EXPECT_EQ(s[ParseError::kBadType], 1u);       // 7 is not a trade object
  EXPECT_EQ(s.total_errors(), 3u);
  // A frame whose only trade is bad is an error frame, counted once.
  expect_spot_error(spot_frame(R"({"ts":1618678027940,"tradeId":99,"amount":1,"price":0,"direction":"buy"})"),
                    ParseError::kBadValue);
}

TEST_F(HtxTest, TickBeforeChannelIsStillParsed) {
  ASSERT_EQ(parse_frame(*spot_,
                        std::string(R"({"tick":{"data":[)") + std::string(kT1) +
                            R"(]},"ts":1,"ch":"market.ethbtc.trade.detail"})",
                        out_),
            ParseOutcome::kEvents);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(registry_.info(out_[0].trade.market).name, "HUOBI:ethbtc");
  EXPECT_EQ(out_[0].trade.trade_id, 11u);
}

TEST_F(HtxTest, ControlAndOtherChannels) {
  EXPECT_EQ(htx_last_ping(*spot_), 0u);
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"ping":1618678073643})"), out_), ParseOutcome::kSkipped);
  EXPECT_EQ(htx_last_ping(*spot_), 1618678073643u);
  EXPECT_EQ(spot_->pending_reply(), R"({"pong":1618678073643})");  // LiveFeed sends it, then clears it
  EXPECT_EQ(htx_last_ping(*swap_), 0u);
  EXPECT_EQ(swap_->pending_reply(), "");
  EXPECT_EQ(parse_frame(*swap_, gzip(R"({"ping":18446744073709551615})"), out_), ParseOutcome::kSkipped);
  EXPECT_EQ(swap_->pending_reply(), R"({"pong":18446744073709551615})");  // the widest N fits
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"id":1,"status":"ok","subbed":"market.btcusdt.trade.detail","ts":1})"), out_),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"status":"error","err-code":"bad-request","err-msg":"invalid topic","ts":1})"),
                        out_),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"ch":"market.btcusdt.depth.step0","ts":1,"tick":{"bids":[[1,2]],"asks":[]}})"),
                        out_),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"ch":"market.btcusdt.bbo","ts":1,"tick":{}})"), out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"ch":"market.btcusdt.kline.1min","ts":1,"tick":{}})"), out_),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"rep":"market.btcusdt.trade.detail","status":"ok","data":[]})"), out_),
            ParseOutcome::kSkipped);  // a reply carrying "status": counted as an ack
  EXPECT_EQ(parse_frame(*spot_, gzip(R"({"rep":"market.btcusdt.kline.1min","data":[]})"), out_),
            ParseOutcome::kSkipped);
  const ParseStats& s = spot_->stats();
  EXPECT_EQ(s[SkipKind::kControl], 4u);
  EXPECT_EQ(s[SkipKind::kBook], 2u);
  EXPECT_EQ(s[SkipKind::kOtherChannel], 2u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_TRUE(out_.empty());
}

TEST_F(HtxTest, MalformedFramesAreCountedOnceAndParsingContinues) {
  const std::string good_text(kSpotTrade);
  // Empty, truncated, invalid UTF-8, random bytes.
  expect_spot_error("", ParseError::kTruncated);
  expect_spot_error(good_text.substr(0, good_text.size() - 20), ParseError::kTruncated);  // plain, cut short
  expect_spot_error(gzip(good_text.substr(0, good_text.size() - 2)), ParseError::kTruncated);
  expect_spot_error(good_.substr(0, good_.size() / 2), ParseError::kDecompress);  // gzip cut short
  expect_spot_error(good_.substr(0, good_.size() - 4), ParseError::kDecompress);  // no length trailer
  expect_spot_error(gzip("{\"ch\":\"market.btc\xff\xfe.trade.detail\",\"tick\":{}}"), ParseError::kTruncated);
  expect_spot_error("{\"ch\":\"market.btc\xc3(usdt.trade.detail\",\"tick\":{}}", ParseError::kTruncated);
  std::mt19937 rng(12345);
  std::string noise(300, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  noise[0] = 'x';
  expect_spot_error(noise, ParseError::kDecompress);  // not '{', not gzip
  noise[0] = '{';
  expect_spot_error(noise, ParseError::kTruncated);  // claims to be JSON
  expect_spot_error(gzip(noise), ParseError::kTruncated);
  // Corrupt gzip: flipped bytes in the deflate data, then a bad CRC.
  std::string corrupt = good_;
  for (std::size_t i = 12; i < corrupt.size() - 8; i += 3) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  expect_spot_error(corrupt, ParseError::kDecompress);
  std::string bad_crc = good_;
  bad_crc[bad_crc.size() - 6] = static_cast<char>(bad_crc[bad_crc.size() - 6] ^ 1);
  expect_spot_error(bad_crc, ParseError::kDecompress);
  std::string bad_magic = good_;
  bad_magic[1] = 'x';
  expect_spot_error(bad_magic, ParseError::kDecompress);
  // Wrong JSON types.
  expect_spot_error(gzip(R"(["market.btcusdt.trade.detail"])"), ParseError::kBadType);
  expect_spot_error(gzip(R"({"ch":5,"tick":{}})"), ParseError::kBadType);
  expect_spot_error(gzip(R"({"ch":"market.btcusdt.trade.detail","tick":[]})"), ParseError::kBadType);
  expect_spot_error(gzip(R"({"ch":"market.btcusdt.trade.detail","tick":{"data":{}}})"), ParseError::kBadType);
  expect_spot_error(gzip(R"({"ping":"soon"})"), ParseError::kBadType);
  expect_spot_error(
      gzip(spot_frame(R"({"ts":1618678027940,"tradeId":11,"amount":0.5,"price":"abc","direction":"buy"})")),
      ParseError::kBadType);
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"tradeId":11,"amount":0.5,"price":60000,"direction":1})")),
                    ParseError::kBadType);
  expect_spot_error(gzip(spot_frame(R"({"ts":"1618678027940","tradeId":11,"amount":0.5,"price":6,"direction":"buy"})")),
                    ParseError::kBadType);
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"tradeId":-11,"amount":0.5,"price":6,"direction":"buy"})")),
                    ParseError::kBadType);
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"id":"abc","amount":0.5,"price":6,"direction":"buy"})")),
                    ParseError::kBadType);
  // Huge, negative, impossible values.
  expect_spot_error(
      gzip(spot_frame(R"({"ts":1618678027940,"tradeId":11,"amount":0.5,"price":1e300,"direction":"buy"})")),
      ParseError::kBadValue);
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"tradeId":11,"amount":-0.5,"price":6,"direction":"buy"})")),
                    ParseError::kBadValue);
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"tradeId":11,"amount":1e16,"price":6,"direction":"buy"})")),
                    ParseError::kBadValue);
  expect_spot_error(gzip(spot_frame(R"({"ts":99999999999999,"tradeId":11,"amount":0.5,"price":6,"direction":"buy"})")),
                    ParseError::kBadValue);
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"tradeId":11,"amount":0.5,"price":6,"direction":"hold"})")),
                    ParseError::kBadValue);
  // Missing fields.
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"tradeId":11,"price":6,"direction":"buy"})")),
                    ParseError::kMissingField);
  expect_spot_error(gzip(spot_frame(R"({"ts":1618678027940,"amount":0.5,"price":6,"direction":"buy"})")),
                    ParseError::kMissingField);
  expect_spot_error(gzip(spot_frame("")), ParseError::kMissingField);  // empty data
  expect_spot_error(gzip(R"({"ch":"market.btcusdt.trade.detail","ts":1})"), ParseError::kMissingField);
  expect_spot_error(gzip(R"({"ch":"market.btcusdt.trade.detail","tick":{"id":1}})"), ParseError::kMissingField);
  // Unknown channels and frames.
  expect_spot_error(gzip(R"({"ch":"orders.btcusdt","tick":{}})"), ParseError::kUnknownChannel);
  expect_spot_error(gzip(R"({"hello":"world"})"), ParseError::kUnknownChannel);
  expect_spot_error(gzip(R"({"ch":"market..trade.detail","tick":{}})"), ParseError::kUnknownChannel);
  EXPECT_EQ(spot_->stats().total_errors(), 36u);
}

TEST_F(HtxTest, GzipBombIsOversize) {
  // 8 MiB inflated (a few KiB compressed) against the default 4 MiB limit.
  std::string big = R"({"ch":"market.btcusdt.depth.step0","pad":")";
  big.append(std::size_t{8} << 20, ' ');
  big += "\"}";
  const std::string bomb = gzip(big);
  ASSERT_LT(bomb.size(), std::size_t{64} << 10);
  expect_spot_error(bomb, ParseError::kOversize);
  // Exactly at the limit still inflates (and is then a book frame).
  MarketRegistry registry;
  auto small = make_parser("HUOBI", registry, ParserOptions{.max_frame_bytes = 4096});
  std::string fits = R"({"ch":"market.btcusdt.depth.step0","pad":")";
  fits.append(4096 - fits.size() - 2, ' ');
  fits += "\"}";
  ASSERT_EQ(fits.size(), 4096u);
  EXPECT_EQ(parse_frame(*small, gzip(fits), out_), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*small, gzip(fits + " "), out_), ParseOutcome::kError);
  EXPECT_EQ(small->stats()[ParseError::kOversize], 1u);
  EXPECT_EQ(small->stats()[SkipKind::kBook], 1u);
}

TEST_F(HtxTest, TradePathDoesNotAllocate) {
  if (!test::kCountsAllocations) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  PaddedFrame trade, ping, book;
  trade.assign(gzip(spot_frame(std::string(kT1) + "," + std::string(kT2))));
  ping.assign(gzip(R"({"ping":1618678073643})"));
  book.assign(gzip(R"({"ch":"market.btcusdt.depth.step0","ts":1,"tick":{"bids":[[1,2]],"asks":[]}})"));
  ASSERT_EQ(spot_->parse(trade.view(), 1, out_), ParseOutcome::kEvents);  // warm-up: market resolved
  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    out_.clear();
    spot_->parse(trade.view(), 1, out_);
    spot_->parse(ping.view(), 1, out_);
    spot_->parse(book.view(), 1, out_);
  }
  EXPECT_EQ(test::allocation_count() - before, 0);
  EXPECT_EQ(spot_->stats().trades, 2002u);
}

struct CaptureCase {
  const char* exchange;
  const char* file;
  bool shared;  // the untrimmed capture in ../shared/data (skipped when absent)
};
void PrintTo(const CaptureCase& c, std::ostream* os) { *os << (c.shared ? "shared " : "bundled ") << c.file; }

class HtxCapture : public ::testing::TestWithParam<CaptureCase> {};

TEST_P(HtxCapture, MatchesPythonReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string relative = std::string("cryptofeed/") + GetParam().file;
  const std::string path = GetParam().shared ? test::shared_data(relative) : test::test_data(relative);
  if (!test::file_exists(path)) GTEST_SKIP() << path << " not present";
  const auto ref = test::run_reference("htx_reference.py", "'" + path + "' " + GetParam().exchange);
  ASSERT_FALSE(ref.empty()) << "reference script produced nothing";
  auto figure = [&](const char* key) { return std::stoull(ref.at(key)); };

  MarketRegistry registry;
  auto parser = make_parser(GetParam().exchange, registry);
  const test::CaptureRun run = test::run_capture(*parser, path);
  const ParseStats& s = parser->stats();

  EXPECT_EQ(s.frames, figure("frames"));
  EXPECT_EQ(run.lines.frames, figure("frames"));
  EXPECT_EQ(run.lines.malformed_lines, 0u);
  EXPECT_EQ(s.total_errors(), 0u);
  EXPECT_EQ(figure("errors"), 0u);
  ASSERT_EQ(run.trades.size(), figure("trades"));
  ASSERT_GT(run.trades.size(), 0u);
  EXPECT_EQ(s.trades, figure("trades"));
  EXPECT_EQ(run.trades.front().trade_id, figure("first_id"));
  EXPECT_EQ(run.trades.back().trade_id, figure("last_id"));
  double sum_qty = 0, sum_notional = 0;
  std::uint64_t buys = 0;
  for (const Trade& t : run.trades) {
    sum_qty += t.qty;
    sum_notional += t.notional();
    buys += t.is_buy() ? 1 : 0;
    EXPECT_EQ(t.flags, kTradeNone);
  }
  const double ref_qty = std::stod(ref.at("sum_qty"));
  const double ref_notional = std::stod(ref.at("sum_notional"));
  EXPECT_NEAR(sum_qty, ref_qty, 1e-9 * std::fabs(ref_qty));
  EXPECT_NEAR(sum_notional, ref_notional, 1e-9 * std::fabs(ref_notional));
  EXPECT_EQ(buys, figure("taker_buys"));
  EXPECT_EQ(s[SkipKind::kControl], figure("skip_control"));
  EXPECT_EQ(s[SkipKind::kBook], figure("skip_book"));
  EXPECT_EQ(s[SkipKind::kOtherChannel], figure("skip_other"));
  EXPECT_EQ(s[SkipKind::kSnapshot], figure("skip_snapshot"));
  EXPECT_EQ(s[SkipKind::kFiltered], figure("skip_filtered"));
  EXPECT_NE(htx_last_ping(*parser), 0u);  // both captures carry pings
}

INSTANTIATE_TEST_SUITE_P(Captures, HtxCapture,
                         ::testing::Values(CaptureCase{"HUOBI", "HUOBI.ws.44.0.gz", false},
                                           CaptureCase{"HUOBI_SWAP", "HUOBI_SWAP.ws.1.0.gz", false},
                                           CaptureCase{"HUOBI", "HUOBI.ws.44.0.gz", true},
                                           CaptureCase{"HUOBI_SWAP", "HUOBI_SWAP.ws.1.0.gz", true}),
                         [](const auto& info) {
                           return std::string(info.param.shared ? "Shared_" : "Bundled_") + info.param.exchange;
                         });

TEST(HtxCaptureMarkets, NamesAndKinds) {
  MarketRegistry registry;
  auto spot = make_parser("HUOBI", registry);
  auto swap = make_parser("HUOBI_SWAP", registry);
  test::run_capture(*spot, test::test_data("cryptofeed/HUOBI.ws.44.0.gz"));
  test::run_capture(*swap, test::test_data("cryptofeed/HUOBI_SWAP.ws.1.0.gz"));
  ASSERT_TRUE(registry.find("HUOBI:trioeth").has_value());
  EXPECT_EQ(registry.info(*registry.find("HUOBI:trioeth")).kind, InstrumentKind::kSpot);
  ASSERT_TRUE(registry.find("HUOBI:ATOM-USD").has_value());
  EXPECT_EQ(registry.info(*registry.find("HUOBI:ATOM-USD")).kind, InstrumentKind::kInverse);
  EXPECT_TRUE(registry.find("HUOBI:SHIB-USD").has_value());
}

// The live endpoints (feeds/venues/htx.cc).
TEST(HtxPlan, SpotEndpoint) {
  LiveFeedConfig c;
  c.venue = Venue::kHtxSpot;
  c.symbols = {"btcusdt", "ETHUSDT"};
  EXPECT_EQ(channels_for(c), std::vector<std::string>{"trade.detail"});
  const LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "api.huobi.pro");
  EXPECT_EQ(p.port, 443);
  EXPECT_EQ(p.target, "/ws");
  EXPECT_EQ(p.parser_name, "HUOBI");
  const std::vector<std::string> expected = {R"({"sub":"market.btcusdt.trade.detail","id":"btcusdt"})",
                                             R"({"sub":"market.ethusdt.trade.detail","id":"ethusdt"})"};
  EXPECT_EQ(p.subscribe, expected);
  EXPECT_EQ(p.ping_interval, std::chrono::milliseconds{0});  // the server pings; the parser answers
  const VenueProtocol& v = venue_protocol(Venue::kHtxSpot);
  EXPECT_EQ(v.market_pair("ETHUSDT"), "ethusdt");
  EXPECT_EQ(v.gaps({"trade.detail"}), GapDetection::kIds);
}

TEST(HtxPlan, SwapEndpointsByMargin) {
  LiveFeedConfig c;
  c.venue = Venue::kHtxSwap;
  c.symbols = {"BTC-USD", "ETH-USD"};
  LiveFeedPlan p = plan_for(c);
  EXPECT_EQ(p.host, "api.hbdm.com");
  EXPECT_EQ(p.target, "/swap-ws");
  EXPECT_EQ(p.parser_name, "HUOBI_SWAP");
  const std::vector<std::string> expected = {R"({"sub":"market.BTC-USD.trade.detail","id":"BTC-USD"})",
                                             R"({"sub":"market.ETH-USD.trade.detail","id":"ETH-USD"})"};
  EXPECT_EQ(p.subscribe, expected);
  c.symbols = {"btc-usdt"};  // codes are sent, and named, upper case
  p = plan_for(c);
  EXPECT_EQ(p.target, "/linear-swap-ws");
  EXPECT_EQ(p.subscribe, std::vector<std::string>{R"({"sub":"market.BTC-USDT.trade.detail","id":"BTC-USDT"})"});
  EXPECT_EQ(venue_protocol(Venue::kHtxSwap).market_pair("btc-usdt"), "BTC-USDT");
  EXPECT_EQ(venue_protocol(Venue::kHtxSwap).gaps({"trade.detail"}), GapDetection::kTime);
  c.symbols = {"BTC-USD", "BTC-USDT"};  // two endpoints: refused, not half-subscribed
  EXPECT_THROW(plan_for(c), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
