// tests/unit/feeds/backfill_test.cc
//
// parse_rest_trades (feeds/rest_trades.h): REST trade-history pages built
// from real captures must give exactly the trades the live parser gives for
// the same trades (ids, prices, base quantities after contract sizes, taker
// sides, times), flagged kTradeBackfill:
//  * Binance spot and COIN-M: the capture's @trade payloads rewritten into
//    historicalTrades and aggTrades rows (same strings for p/q);
//  * OKX and Coinbase: their REST rows have the shape of the websocket
//    items, so the capture's own items are served as they are;
//  * Bybit v5 (no public capture): a fixture in the documented shape.
// Malformed pages and API error envelopes fail whole, with a reason.
// Paging, range filtering and HTTP errors are the worker's: see
// tests/integration/backfill_test.cc.
#include "feeds/rest_trades.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/json_support.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

constexpr std::int64_t kRecv = 1'800'000'000'000'000'000;

// A capture's frames that produced trades, with those trades.
struct LiveFrame {
  std::string frame;
  std::vector<Trade> trades;
};

std::vector<LiveFrame> live_frames(const std::string& exchange, const std::string& relative, MarketRegistry& registry) {
  auto parser = make_parser(exchange, registry);
  CaptureReader reader(std::string(TICKFLOW_TEST_DATA_DIR) + "/" + relative);
  CaptureRecord rec;
  EventBuffer out;
  std::vector<LiveFrame> frames;
  while (reader.next(rec)) {
    if (rec.binary) continue;
    out.clear();
    parser->parse(rec.frame, rec.receive_ts_ns, out);
    LiveFrame f{std::string(rec.frame), {}};
    for (const FeedEvent& e : out)
      if (e.type == FeedEventType::kTrade && !e.trade.is_liquidation()) f.trades.push_back(e.trade);
    if (!f.trades.empty()) frames.push_back(std::move(f));
  }
  return frames;
}

// The raw token after "key": in a flat Binance payload (quotes kept).
std::string token(std::string_view frame, std::string_view key) {
  std::string needle = "\"";
  needle.append(key).append("\":");
  const auto at = frame.find(needle);
  if (at == std::string_view::npos) return {};
  const auto start = at + needle.size();
  const auto end = frame.find_first_of(",}", start);
  return std::string(frame.substr(start, end - start));
}

// One @trade payload as a historicalTrades row, or as an aggTrades row
// (one fill per aggregate: f = l = a).
std::string binance_row(std::string_view frame, bool aggregate) {
  const std::string id = token(frame, "t");
  if (aggregate)
    return "{\"a\":" + id + ",\"p\":" + token(frame, "p") + ",\"q\":" + token(frame, "q") + ",\"f\":" + id +
           ",\"l\":" + id + ",\"T\":" + token(frame, "T") + ",\"m\":" + token(frame, "m") + ",\"M\":true}";
  return "{\"id\":" + id + ",\"price\":" + token(frame, "p") + ",\"qty\":" + token(frame, "q") +
         ",\"quoteQty\":\"0\",\"time\":" + token(frame, "T") + ",\"isBuyerMaker\":" + token(frame, "m") +
         ",\"isBestMatch\":true}";
}

ResolvedMarket terms(const MarketRegistry& registry, MarketId id) {
  const MarketInfo& info = registry.info(id);
  return {id, info.kind, info.contract_size};
}

// REST trades equal the live ones, field by field, in the same order.
void expect_same_trades(const std::vector<Trade>& rest, const std::vector<Trade>& live, std::uint8_t flags) {
  ASSERT_EQ(rest.size(), live.size());
  for (std::size_t i = 0; i < rest.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rest[i].trade_id, live[i].trade_id);
    EXPECT_EQ(rest[i].exchange_ts_ns, live[i].exchange_ts_ns);
    EXPECT_EQ(rest[i].price, live[i].price);
    EXPECT_EQ(rest[i].qty, live[i].qty);
    EXPECT_EQ(rest[i].side, live[i].side);
    EXPECT_EQ(rest[i].market, live[i].market);
    EXPECT_EQ(rest[i].flags, flags);
    EXPECT_EQ(rest[i].receive_ts_ns, kRecv);
  }
}

double qty_sum(const std::vector<Trade>& trades) {
  double sum = 0;
  for (const Trade& t : trades) sum += t.qty;
  return sum;
}

TEST(Backfill, BinanceSpotHistoricalTradesMatchTheLiveParser) {
  MarketRegistry registry;
  const auto frames = live_frames("BINANCE", "binance-20240808-trades/spot_btcusdt.gz", registry);
  std::vector<Trade> live;
  std::string body = "[";
  for (const auto& f : frames) {
    ASSERT_EQ(f.trades.size(), 1u);
    live.push_back(f.trades[0]);
    if (body.size() > 1) body += ',';
    body += binance_row(f.frame, false);
  }
  body += "]";
  // Published figures of the capture (tests/data/README.md).
  ASSERT_EQ(live.size(), 9757u);
  std::vector<Trade> rest;
  const auto r =
      parse_rest_trades(RestTradesFormat::kBinanceTrades, body, terms(registry, live[0].market), kRecv, rest);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.trades, 9757u);
  EXPECT_EQ(rest.front().trade_id, 3735683259u);
  EXPECT_EQ(rest.back().trade_id, 3735693015u);
  EXPECT_EQ(qty_sum(rest), qty_sum(live));
  expect_same_trades(rest, live, kTradeBackfill);
}

TEST(Backfill, BinanceAggTradesRowsMatchTheLiveParser) {
  MarketRegistry registry;
  const auto frames = live_frames("BINANCE_FUTURES", "binance-20240808-trades/usdm_btcusdt.gz", registry);
  std::vector<Trade> live;
  std::string body = "[";
  for (std::size_t i = 0; i < 1000; ++i) {
    live.push_back(frames[i].trades[0]);
    if (i != 0) body += ',';
    body += binance_row(frames[i].frame, true);
  }
  body += "]";
  std::vector<Trade> rest;
  const auto r =
      parse_rest_trades(RestTradesFormat::kBinanceAggTrades, body, terms(registry, live[0].market), kRecv, rest);
  ASSERT_TRUE(r.ok) << r.error;
  expect_same_trades(rest, live, kTradeBackfill);
}

TEST(Backfill, BinanceCoinMarginedContractsBecomeBase) {
  MarketRegistry registry;
  const auto frames = live_frames("BINANCE_FUTURES", "binance-20240808-trades/cm_btcusd_perp.gz", registry);
  std::vector<Trade> live;
  std::string body = "[";
  for (const auto& f : frames) {
    live.push_back(f.trades[0]);
    if (body.size() > 1) body += ',';
    body += binance_row(f.frame, false);
  }
  body += "]";
  ASSERT_EQ(live.size(), 2286u);
  const ResolvedMarket market = terms(registry, live[0].market);
  ASSERT_EQ(market.kind, InstrumentKind::kInverse);
  ASSERT_EQ(market.contract_size, 100);  // BTCUSD_PERP: 100 USD per contract
  std::vector<Trade> rest;
  const auto r = parse_rest_trades(RestTradesFormat::kBinanceTrades, body, market, kRecv, rest);
  ASSERT_TRUE(r.ok) << r.error;
  expect_same_trades(rest, live, kTradeBackfill);
  // The first trade: 4 contracts at 61804.8 -> 400 / 61804.8 BTC, taker bought (m false).
  EXPECT_EQ(rest[0].trade_id, 849714402u);
  EXPECT_DOUBLE_EQ(rest[0].qty, 400 / 61804.8);
  EXPECT_EQ(rest[0].side, Side::kBuy);
}

// OKX and Coinbase REST rows carry the websocket item's fields: the
// capture's items, grouped by market, are the pages.
std::map<MarketId, std::pair<std::string, std::vector<Trade>>> pages_by_market(const std::vector<LiveFrame>& frames,
                                                                               bool okx) {
  std::map<MarketId, std::pair<std::string, std::vector<Trade>>> pages;
  for (const auto& f : frames) {
    auto& [items, trades] = pages[f.trades[0].market];
    std::string item = f.frame;
    if (okx) {  // {"arg":{..},"data":[ITEMS]}
      const auto open = item.find("\"data\":[");
      item = item.substr(open + 8, item.rfind(']') - open - 8);
    }
    if (!items.empty()) items += ',';
    items += item;
    trades.insert(trades.end(), f.trades.begin(), f.trades.end());
  }
  return pages;
}

TEST(Backfill, OkxHistoryTradesMatchTheLiveParser) {
  MarketRegistry registry;
  const auto frames = live_frames("OKX", "cryptofeed/OKX.ws.1.0.gz", registry);
  std::size_t total = 0;
  for (auto& [market, page] : pages_by_market(frames, true)) {
    SCOPED_TRACE(registry.info(market).name);
    const std::string body = R"({"code":"0","msg":"","data":[)" + page.first + "]}";
    std::vector<Trade> rest;
    const auto r = parse_rest_trades(RestTradesFormat::kOkx, body, terms(registry, market), kRecv, rest);
    ASSERT_TRUE(r.ok) << r.error;
    expect_same_trades(rest, page.second, kTradeBackfill);
    total += rest.size();
  }
  EXPECT_EQ(total, 74u);  // tests/data/README.md
  // The inverse future: sz contracts of 100 USD -> base = sz * 100 / px.
  const auto inverse = registry.find("OKEX:BTC-USD-220527");
  ASSERT_TRUE(inverse.has_value());
  EXPECT_EQ(registry.info(*inverse).kind, InstrumentKind::kInverse);
}

TEST(Backfill, CoinbaseTradesTakeTheOppositeOfTheMakerSide) {
  MarketRegistry registry;
  const auto frames = live_frames("COINBASE", "cryptofeed/COINBASE.ws.28.0.gz", registry);
  std::size_t total = 0;
  for (auto& [market, page] : pages_by_market(frames, false)) {
    SCOPED_TRACE(registry.info(market).name);
    std::vector<Trade> rest;
    const auto r =
        parse_rest_trades(RestTradesFormat::kCoinbase, "[" + page.first + "]", terms(registry, market), kRecv, rest);
    ASSERT_TRUE(r.ok) << r.error;
    expect_same_trades(rest, page.second, kTradeBackfill);
    total += rest.size();
  }
  EXPECT_GE(total, 97u);  // 97 matches, plus the last_match frames the live parser keeps
  // The capture's first match: maker side "sell", so the taker bought.
  std::vector<Trade> one;
  const std::string row =
      R"([{"time":"2021-04-17T16:43:37.089723Z","trade_id":280232,"price":"0.00001305","size":"985","side":"sell"}])";
  ASSERT_TRUE(parse_rest_trades(RestTradesFormat::kCoinbase, row, {0, InstrumentKind::kSpot, 1}, kRecv, one).ok);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].side, Side::kBuy);
  EXPECT_EQ(one[0].trade_id, 280232u);
  EXPECT_EQ(one[0].exchange_ts_ns, 1618677817089723000);
}

// Bybit v5 recent-trade, in the documented shape (no public capture).
constexpr std::string_view kBybitPage = R"({"retCode":0,"retMsg":"OK","result":{"category":"inverse","list":[
  {"execId":"0c1a3e5f-7b9d-4f21-8e6a-2b4c6d8e0f12","symbol":"BTCUSD","price":"63245.5","size":"1000","side":"Sell","time":"1714567890400","isBlockTrade":false},
  {"execId":"9f8e7d6c-5b4a-4392-8171-605f4e3d2c1b","symbol":"BTCUSD","price":"63240","size":"250","side":"Buy","time":"1714567890100","isBlockTrade":false}
]},"retExtInfo":{},"time":1714567890500})";

TEST(Backfill, BybitRowsAreHashedLikeTheLiveParserAndInverseSizesAreUsd) {
  std::vector<Trade> rest;
  const auto r = parse_rest_trades(RestTradesFormat::kBybit, kBybitPage, {7, InstrumentKind::kInverse, 1}, kRecv, rest);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].trade_id, hash_trade_id("0c1a3e5f-7b9d-4f21-8e6a-2b4c6d8e0f12"));
  EXPECT_EQ(rest[0].flags, kTradeIdHashed | kTradeBackfill);
  EXPECT_EQ(rest[0].side, Side::kSell);
  EXPECT_DOUBLE_EQ(rest[0].qty, 1000 / 63245.5);
  EXPECT_EQ(rest[0].exchange_ts_ns, 1714567890400000000);
  EXPECT_EQ(rest[1].side, Side::kBuy);
  EXPECT_DOUBLE_EQ(rest[1].qty, 250 / 63240.0);
  EXPECT_EQ(rest[1].market, 7u);

  // Live and REST hash the same execId to the same id.
  MarketRegistry registry;
  auto parser = make_parser("BYBIT", registry);
  const std::string frame =
      R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1714567890500,"data":[{"T":1714567890400,"s":"BTCUSDT","S":"Sell","v":"0.5","p":"63245.5","L":"MinusTick","i":"0c1a3e5f-7b9d-4f21-8e6a-2b4c6d8e0f12","BT":false}]})";
  PaddedFrame padded;
  padded.assign(frame);
  EventBuffer out;
  parser->parse(padded.view(), kRecv, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].trade.trade_id, rest[0].trade_id);
}

TEST(Backfill, MalformedPagesFailWholeWithAReason) {
  const ResolvedMarket spot{3, InstrumentKind::kSpot, 1};
  const std::string good = R"({"id":5,"price":"1.5","qty":"2","time":1714567890400,"isBuyerMaker":true})";
  struct Case {
    RestTradesFormat format;
    std::string body;
  };
  const std::vector<Case> cases = {
      {RestTradesFormat::kBinanceTrades, "<html>502 Bad Gateway</html>"},
      {RestTradesFormat::kBinanceTrades, ""},
      {RestTradesFormat::kBinanceTrades, R"({"code":-1121,"msg":"Invalid symbol."})"},
      {RestTradesFormat::kBinanceTrades, "[" + good + "," + good.substr(0, 30)},       // truncated
      {RestTradesFormat::kBinanceTrades, "[" + good + R"(,{"id":6,"price":"1.5"}])"},  // missing fields
      {RestTradesFormat::kBinanceTrades,
       "[" + good + R"(,{"id":6,"price":"-1","qty":"2","time":1714567890400,"isBuyerMaker":true}])"},
      {RestTradesFormat::kBinanceTrades,
       R"([{"id":5,"price":"1.5","qty":"2","time":12,"isBuyerMaker":true}])"},  // seconds?
      {RestTradesFormat::kBinanceAggTrades, "[" + good + "]"},                  // the other format
      {RestTradesFormat::kBybit, R"({"retCode":10001,"retMsg":"params error","result":{}})"},
      {RestTradesFormat::kBybit,
       R"({"retCode":0,"result":{"list":[{"execId":"","price":"1","size":"1","side":"Buy","time":"1714567890400"}]}})"},
      {RestTradesFormat::kOkx, R"({"code":"51001","msg":"Instrument ID does not exist","data":[]})"},
      {RestTradesFormat::kOkx,
       R"({"code":"0","data":[{"tradeId":"1","px":"1","sz":"1","side":"up","ts":"1714567890400"}]})"},
      {RestTradesFormat::kCoinbase, R"([{"trade_id":1,"price":"1","size":"1","side":"sell","time":"yesterday"}])"},
      {RestTradesFormat::kCoinbase, R"({"message":"NotFound"})"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].body);
    std::vector<Trade> out(2);  // what was there stays
    const auto r = parse_rest_trades(cases[i].format, cases[i].body, spot, kRecv, out);
    EXPECT_FALSE(r.ok) << i;
    EXPECT_FALSE(r.error.empty());
    EXPECT_EQ(r.trades, 0u);
    EXPECT_EQ(out.size(), 2u);
  }
  // An inverse market of unknown size is refused, never guessed.
  std::vector<Trade> out;
  const auto r = parse_rest_trades(RestTradesFormat::kBinanceTrades, "[" + good + "]", {3, InstrumentKind::kInverse, 0},
                                   kRecv, out);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "unknown contract terms");
  // The empty page is a page: nothing older or newer.
  EXPECT_TRUE(parse_rest_trades(RestTradesFormat::kBinanceTrades, "[]", spot, kRecv, out).ok);
  EXPECT_TRUE(parse_rest_trades(RestTradesFormat::kOkx, R"({"code":"0","msg":"","data":[]})", spot, kRecv, out).ok);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace tickflow
