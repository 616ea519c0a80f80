// Binance parser: real captures (bundled subsets checked against an
// independent Python reference; the full ../shared files against the figures
// published in ../shared/data/README.md), hand-written forceOrder and raw
// frames, and malformed input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <numeric>
#include <string>

#include "feeds/parser_factory.h"
#include "tests/unit/feeds/feed_test_support.h"

namespace tickflow {
namespace {

using test::parse_frame;

double sum_qty(const std::vector<Trade>& trades) {
  return std::accumulate(trades.begin(), trades.end(), 0.0, [](double s, const Trade& t) { return s + t.qty; });
}
double sum_notional(const std::vector<Trade>& trades) {
  return std::accumulate(trades.begin(), trades.end(), 0.0,
                         [](double s, const Trade& t) { return s + t.qty * t.price; });
}
std::size_t taker_buys(const std::vector<Trade>& trades) {
  return static_cast<std::size_t>(
      std::count_if(trades.begin(), trades.end(), [](const Trade& t) { return t.is_buy(); }));
}
void expect_relative(double actual, double expected, double tolerance = 1e-9) {
  EXPECT_LE(std::abs(actual - expected), tolerance * std::abs(expected)) << actual << " vs " << expected;
}

// ---- bundled subsets vs the Python reference ---------------------------------------

struct BundledCase {
  const char* file;
  const char* exchange;
};

class BinanceBundled : public ::testing::TestWithParam<BundledCase> {};

TEST_P(BinanceBundled, MatchesIndependentReference) {
  if (!test::python_available()) GTEST_SKIP() << "python3 not available";
  const std::string path = test::test_data(std::string("binance-20240808/") + GetParam().file);
  const auto reference = test::run_reference("binance_reference.py", "'" + path + "'");
  ASSERT_FALSE(reference.empty()) << "reference script failed for " << path;

  MarketRegistry registry;
  auto parser = make_parser(GetParam().exchange, registry);
  ASSERT_NE(parser, nullptr);
  const test::CaptureRun run = test::run_capture(*parser, path);

  EXPECT_EQ(run.trades.size(), std::stoull(reference.at("trades")));
  EXPECT_EQ(taker_buys(run.trades), std::stoull(reference.at("taker_buys")));
  ASSERT_FALSE(run.trades.empty());
  EXPECT_EQ(run.trades.front().trade_id, std::stoull(reference.at("first_id")));
  EXPECT_EQ(run.trades.back().trade_id, std::stoull(reference.at("last_id")));
  expect_relative(sum_qty(run.trades), std::stod(reference.at("sum_base")));
  expect_relative(sum_notional(run.trades), std::stod(reference.at("sum_notional")));
  EXPECT_EQ(run.quotes.size(), std::stoull(reference.at("book_ticker")));
  EXPECT_EQ(parser->stats().total_skipped(), std::stoull(reference.at("skipped")));
  EXPECT_EQ(parser->stats().total_errors(), 0u);
  EXPECT_EQ(parser->stats().frames, run.lines.frames);
  for (std::size_t i = 1; i < run.trades.size(); ++i)
    ASSERT_EQ(run.trades[i].trade_id, run.trades[i - 1].trade_id + 1) << "ids rise with no gap";
}

INSTANTIATE_TEST_SUITE_P(Captures, BinanceBundled,
                         ::testing::Values(BundledCase{"spot_btcusdt.gz", "BINANCE"},
                                           BundledCase{"usdm_btcusdt.gz", "BINANCE_FUTURES"},
                                           BundledCase{"cm_btcusd_perp.gz", "BINANCE_FUTURES"}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           return name.substr(0, name.find('.'));
                         });

// ---- full captures vs ../shared/data/README.md ---------------------------------

struct PublishedFigures {
  const char* file;
  const char* exchange;
  std::size_t trades;
  std::uint64_t first_id, last_id;
  std::size_t taker_buys;
  double sum_q;  // the raw q field: contracts for COIN-M
  std::size_t book_ticker;
  double contract_usd;  // 0 for base quantities
};

class BinancePublished : public ::testing::TestWithParam<PublishedFigures> {};

TEST_P(BinancePublished, MatchesReadmeFigures) {
  const PublishedFigures& f = GetParam();
  const std::string path = test::shared_data(f.file);
  if (!test::file_exists(path)) GTEST_SKIP() << path << " not present";
  MarketRegistry registry;
  auto parser = make_parser(f.exchange, registry);
  const test::CaptureRun run = test::run_capture(*parser, path);
  ASSERT_EQ(run.trades.size(), f.trades);
  EXPECT_EQ(run.trades.front().trade_id, f.first_id);
  EXPECT_EQ(run.trades.back().trade_id, f.last_id);
  EXPECT_EQ(taker_buys(run.trades), f.taker_buys);
  double raw_q = 0;
  for (const Trade& t : run.trades) raw_q += f.contract_usd > 0 ? t.qty * t.price / f.contract_usd : t.qty;
  expect_relative(raw_q, f.sum_q);
  EXPECT_EQ(run.quotes.size(), f.book_ticker);
  EXPECT_EQ(parser->stats().total_errors(), 0u);
  EXPECT_EQ(run.lines.frames, run.lines.lines) << "every line is a frame";
}

INSTANTIATE_TEST_SUITE_P(Shared, BinancePublished,
                         ::testing::Values(PublishedFigures{"binance-20240808/spot_btcusdt.gz", "BINANCE", 9757,
                                                            3735683259, 3735693015, 4103, 212.03315, 28040, 0},
                                           PublishedFigures{"binance-20240808/spot_ethusdt.gz", "BINANCE", 6106,
                                                            1520538925, 1520545030, 3231, 2261.3149, 24077, 0},
                                           PublishedFigures{"binance-20240808/usdm_btcusdt.gz", "BINANCE_FUTURES",
                                                            21313, 5266583935, 5266605247, 9616, 2429.366, 66089, 0},
                                           PublishedFigures{"binance-20240808/usdm_ethusdt.gz", "BINANCE_FUTURES",
                                                            14076, 4308068523, 4308082598, 6984, 9164.948, 53992, 0},
                                           PublishedFigures{"binance-20240808/cm_btcusd_perp.gz", "BINANCE_FUTURES",
                                                            2286, 849714402, 849716687, 981, 83241, 19136, 100},
                                           PublishedFigures{"binance-20240808/cm_ethusd_perp.gz", "BINANCE_FUTURES",
                                                            1732, 805376266, 805377997, 724, 249559, 15812, 10},
                                           PublishedFigures{"binance-20240809/spot_btcusdt.gz", "BINANCE", 10147,
                                                            3735693016, 3735703162, 4990, 225.88237, 45134, 0},
                                           PublishedFigures{"binance-20240809/spot_ethusdt.gz", "BINANCE", 8409,
                                                            1520545031, 1520553439, 4361, 2011.4092, 34681, 0},
                                           PublishedFigures{"binance-20240809/cm_btcusd_perp.gz", "BINANCE_FUTURES",
                                                            2949, 849716688, 849719636, 1584, 98942, 29219, 100}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           for (char& c : name)
                             if (c == '/' || c == '.' || c == '-') c = '_';
                           return name;
                         });

// ---- hand-written frames -------------------------------------------------------------
// These frames are hand-written in the shapes of ../shared/docs/exchanges.md
// (no bulk capture has them); the expectations are computed by hand.

TEST(BinanceParser, ForceOrderUsdmIsALiquidationAtTheAveragePrice) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_FUTURES", registry);
  EventBuffer out;
  const char* frame =
      R"({"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1723161300000,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.250","p":"63010.00","ap":"63105.20","X":"FILLED","l":"0.250","z":"0.250","T":1723161299990}}})";
  ASSERT_EQ(parse_frame(*parser, frame, out), ParseOutcome::kEvents);
  ASSERT_EQ(out.size(), 1u);
  const Trade& t = out[0].trade;
  EXPECT_EQ(registry.info(t.market).name, "BINANCE_FUTURES:btcusdt");
  EXPECT_EQ(t.side, Side::kSell);  // a long was liquidated
  EXPECT_TRUE(t.is_liquidation());
  EXPECT_TRUE(t.flags & kTradeIdHashed);
  EXPECT_DOUBLE_EQ(t.price, 63105.20);
  EXPECT_DOUBLE_EQ(t.qty, 0.25);
  EXPECT_EQ(t.exchange_ts_ns, 1723161299990'000000);
  EXPECT_EQ(parser->stats().liquidations, 1u);

  // ap = 0 (not filled yet): the order price is used.
  out.clear();
  const char* unfilled =
      R"({"e":"forceOrder","E":1723161300000,"o":{"s":"BTCUSDT","S":"BUY","o":"LIMIT","f":"IOC","q":"1","p":"63000.5","ap":"0","X":"NEW","l":"0","z":"0","T":1723161299991}})";
  ASSERT_EQ(parse_frame(*parser, unfilled, out), ParseOutcome::kEvents);
  EXPECT_DOUBLE_EQ(out[0].trade.price, 63000.5);
  EXPECT_EQ(out[0].trade.side, Side::kBuy);
}

TEST(BinanceParser, ForceOrderCoinMConvertsContractsToBase) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_DELIVERY", registry);
  EventBuffer out;
  const char* frame =
      R"({"stream":"btcusd_perp@forceOrder","data":{"e":"forceOrder","E":1723161300000,"o":{"s":"BTCUSD_PERP","ps":"BTCUSD","S":"BUY","o":"LIMIT","f":"IOC","q":"50","p":"64000.0","ap":"62500.0","X":"FILLED","l":"50","z":"50","T":1723161299990}}})";
  ASSERT_EQ(parse_frame(*parser, frame, out), ParseOutcome::kEvents);
  const Trade& t = out[0].trade;
  EXPECT_EQ(registry.info(t.market).name, "BINANCE_FUTURES:btcusd_perp");
  EXPECT_DOUBLE_EQ(t.qty, 50 * 100 / 62500.0);  // 0.08 BTC
  EXPECT_DOUBLE_EQ(t.price * t.qty, 5000.0);    // notional = the USD size
}

TEST(BinanceParser, RawTradeAggTradeAndRawBookTicker) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE", registry);
  EventBuffer out;
  ASSERT_EQ(
      parse_frame(
          *parser,
          R"({"e":"trade","E":1723161255342,"s":"BTCUSDT","t":12345,"p":"61837.63","q":"0.02","T":1723161255341,"m":false,"M":true})",
          out),
      ParseOutcome::kEvents);
  EXPECT_EQ(out[0].trade.trade_id, 12345u);
  EXPECT_EQ(out[0].trade.side, Side::kBuy);
  EXPECT_EQ(registry.info(out[0].trade.market).name, "BINANCE:btcusdt");
  ASSERT_EQ(
      parse_frame(
          *parser,
          R"({"stream":"ethusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"ETHUSDT","a":777,"p":"2500.5","q":"1.5","f":10,"l":12,"T":1723161255341,"m":true,"M":true}})",
          out),
      ParseOutcome::kEvents);
  EXPECT_EQ(out[1].trade.trade_id, 777u);
  EXPECT_EQ(out[1].trade.side, Side::kSell);
  ASSERT_EQ(
      parse_frame(
          *parser,
          R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})",
          out),
      ParseOutcome::kEvents);
  ASSERT_EQ(out[2].type, FeedEventType::kQuote);
  EXPECT_DOUBLE_EQ(out[2].quote.bid_price, 25.3519);
  EXPECT_DOUBLE_EQ(out[2].quote.ask_qty, 40.66);
  EXPECT_EQ(out[2].quote.exchange_ts_ns, 0);  // spot bookTicker carries no time
}

TEST(BinanceParser, UsdmKeepsOnlyMarketAndRpiPrints) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_FUTURES", registry);
  EventBuffer out;
  auto frame = [](const char* x) {
    return std::string(
               R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1723161256322,"T":1723161256320,"s":"BTCUSDT","t":1,"p":"61837.6","q":"0.002","X":")") +
           x + R"(","m":true}})";
  };
  EXPECT_EQ(parse_frame(*parser, frame("MARKET"), out), ParseOutcome::kEvents);
  EXPECT_EQ(parse_frame(*parser, frame("RPI"), out), ParseOutcome::kEvents);
  EXPECT_EQ(parse_frame(*parser, frame("ADL"), out), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser, frame("INSURANCE_FUND"), out), ParseOutcome::kSkipped);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(parser->stats()[SkipKind::kFiltered], 2u);
}

TEST(BinanceParser, ControlFramesAreSkippedNotErrors) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE", registry);
  EventBuffer out;
  EXPECT_EQ(parse_frame(*parser, R"({"result":null,"id":1})", out), ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser, R"({"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[]})", out),
            ParseOutcome::kSkipped);
  EXPECT_EQ(parse_frame(*parser, R"({"stream":"btcusdt@kline_1m","data":{"e":"kline"}})", out), ParseOutcome::kSkipped);
  EXPECT_EQ(parser->stats()[SkipKind::kControl], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kBook], 1u);
  EXPECT_EQ(parser->stats()[SkipKind::kOtherChannel], 1u);
  EXPECT_EQ(parser->stats().total_errors(), 0u);
}

// ---- malformed input ---------------------------------------------------------------

constexpr const char* kGoodTrade =
    R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255342,"s":"BTCUSDT","t":3735683259,"p":"61837.63","q":"0.02","T":1723161255342,"m":true,"M":true}})";

struct MalformedCase {
  const char* name;
  std::string frame;
  ParseError reason;
};

class BinanceMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(BinanceMalformed, CountsTheReasonAndKeepsWorking) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE", registry);
  EventBuffer out;
  EXPECT_EQ(parse_frame(*parser, GetParam().frame, out), ParseOutcome::kError);
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(parser->stats()[GetParam().reason], 1u) << "reason " << to_string(GetParam().reason);
  EXPECT_EQ(parser->stats().total_errors(), 1u);
  // The next good frame parses.
  ASSERT_EQ(parse_frame(*parser, kGoodTrade, out), ParseOutcome::kEvents);
  EXPECT_EQ(out[0].trade.trade_id, 3735683259u);
}

std::string good_with(std::string_view from, std::string_view to) {
  std::string s = kGoodTrade;
  s.replace(s.find(from), from.size(), to);
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Frames, BinanceMalformed,
    ::testing::Values(
        MalformedCase{"empty", "", ParseError::kTruncated},
        MalformedCase{"truncated", std::string(kGoodTrade).substr(0, 90), ParseError::kTruncated},
        MalformedCase{"random_bytes", std::string("\x8f\x01{[\"\xff\x00zz", 10), ParseError::kTruncated},
        MalformedCase{"invalid_utf8_in_stream", good_with("btcusdt@trade", "btc\xc3\x28usdt@trade"),
                      ParseError::kTruncated},
        MalformedCase{"price_is_a_number_not_string", good_with("\"p\":\"61837.63\"", "\"p\":61837.63"),
                      ParseError::kBadType},
        MalformedCase{"price_not_numeric", good_with("\"p\":\"61837.63\"", "\"p\":\"abc\""), ParseError::kBadType},
        MalformedCase{"id_is_a_string", good_with("\"t\":3735683259", "\"t\":\"x\""), ParseError::kBadType},
        MalformedCase{"negative_qty", good_with("\"q\":\"0.02\"", "\"q\":\"-0.02\""), ParseError::kBadValue},
        MalformedCase{"huge_price", good_with("\"p\":\"61837.63\"", "\"p\":\"1e300\""), ParseError::kBadValue},
        MalformedCase{"zero_price", good_with("\"p\":\"61837.63\"", "\"p\":\"0\""), ParseError::kBadValue},
        MalformedCase{"time_in_seconds", good_with("\"T\":1723161255342", "\"T\":1723161255"), ParseError::kBadValue},
        MalformedCase{"missing_qty", good_with("\"q\":\"0.02\",", ""), ParseError::kMissingField},
        MalformedCase{"missing_data", R"({"stream":"btcusdt@trade"})", ParseError::kMissingField},
        MalformedCase{"stream_without_at", good_with("btcusdt@trade", "btcusdt"), ParseError::kUnknownChannel},
        MalformedCase{"unknown_shape", R"({"hello":"world"})", ParseError::kUnknownChannel},
        MalformedCase{"array_frame", R"([1,2,3])", ParseError::kBadType}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BinanceParser, CoinMSymbolMissingFromTheTableIsUnknownInstrument) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_FUTURES", registry);
  EventBuffer out;
  const char* frame =
      R"({"stream":"dogeusd_perp@trade","data":{"e":"trade","E":1,"T":1723161256320,"s":"DOGEUSD_PERP","t":1,"p":"0.1","q":"5","X":"MARKET","m":true}})";
  EXPECT_EQ(parse_frame(*parser, frame, out), ParseOutcome::kError);
  EXPECT_EQ(parser->stats()[ParseError::kUnknownInstrument], 1u);
}

TEST(BinanceParser, OversizeFrameIsSkippedWithoutGrowingTheParser) {
  MarketRegistry registry;
  ParserOptions options;
  options.max_frame_bytes = 256;
  auto parser = make_parser("BINANCE", registry, options);
  EventBuffer out;
  std::string big = kGoodTrade;
  big.insert(big.size() - 2, ",\"pad\":\"" + std::string(400, 'x') + "\"");
  EXPECT_EQ(parse_frame(*parser, big, out), ParseOutcome::kError);
  EXPECT_EQ(parser->stats()[ParseError::kOversize], 1u);
  EXPECT_EQ(parse_frame(*parser, kGoodTrade, out), ParseOutcome::kEvents);
}

TEST(BinanceParser, FullEventBufferIsCountedAsOverflow) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE", registry);
  EventBuffer out(1);
  EXPECT_EQ(parse_frame(*parser, kGoodTrade, out), ParseOutcome::kEvents);
  EXPECT_EQ(parse_frame(*parser, kGoodTrade, out), ParseOutcome::kError);
  EXPECT_EQ(parser->stats()[ParseError::kOverflow], 1u);
  EXPECT_EQ(parser->stats().trades, 1u);
}

}  // namespace
}  // namespace tickflow
