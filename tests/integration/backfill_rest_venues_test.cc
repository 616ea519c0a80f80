// tests/integration/backfill_rest_venues_test.cc
//
// BackfillWorker against RestTestServer (loopback HTTP) playing the REST
// trade history of the venues added with issue 16, one paging style each:
//  * Bitget futures (fills-history, newest first, paged back by endTime):
//    a time gap over 3 pages of 1000 rows with two trades per ms, so pages
//    overlap at their bounds; a 429 first.
//  * Deribit (get_last_trades_by_instrument_and_time, oldest first, paged
//    forward by start_timestamp): inverse USD amounts, a 503 in the middle.
//  * HTX spot (the last 2000 trades, no paging): an id gap inside that
//    window is covered, one reaching past it is partial.
//  * Bitstamp (the last hour, whole-second times): only trades whose whole
//    second lies inside the time gap are delivered.
// The server honours each venue's query (window bounds inclusive, the
// requested limit), so the worker's paging, de-duplication at page bounds,
// strict gap bounds and retries are what is tested. The pages are
// hand-written in each venue's documented shape (no REST captures exist).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "feeds/backfill.h"
#include "tests/integration/rest_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::RestReply;
using testing::RestTestServer;

// A query parameter of a request target ("" when absent).
std::string param(const std::string& target, const std::string& name) {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  std::size_t at = q + 1;
  while (at < target.size()) {
    const auto end = std::min(target.find('&', at), target.size());
    const std::string kv = target.substr(at, end - at);
    if (kv.rfind(name + "=", 0) == 0) return kv.substr(name.size() + 1);
    at = end + 1;
  }
  return {};
}
std::int64_t param_int(const std::string& target, const std::string& name) {
  return std::strtoll(param(target, name).c_str(), nullptr, 10);
}

BackfillConfig local(const std::string& base_url) {
  BackfillConfig c;
  for (Venue v : {Venue::kBitgetFutures, Venue::kDeribit, Venue::kHtxSpot, Venue::kBitstamp})
    c.base_url[v] = base_url;  // nothing may leave loopback
  c.timeout = 5s;
  c.connect_timeout = 2s;
  c.max_attempts = 3;
  c.retry_backoff = 20ms;
  return c;
}

// Runs one gap through a started worker; the trades it delivered, in order.
struct GapRun {
  GapRun(MarketRegistry& registry, const std::string& base_url)
      : worker(registry, local(base_url), [this](const EventBuffer& events) {
          std::lock_guard lock(mu);
          for (const FeedEvent& e : events) {
            if (e.type == FeedEventType::kTrade) trades.push_back(e.trade);
            if (e.type == FeedEventType::kStatus && e.status.kind == FeedStatusKind::kBackfilled)
              covered.push_back(e.status.detail);
          }
        }) {}
  void gap(const TradeGap& g) {
    worker.start();
    ASSERT_TRUE(worker.request(g));
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (worker.pending() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(worker.pending(), 0u);
  }
  std::mutex mu;
  std::vector<Trade> trades;
  std::vector<std::uint8_t> covered;  // kBackfilled details, one per gap
  BackfillWorker worker;
};

void expect_unique_and_sorted(const std::vector<Trade>& trades) {
  std::set<std::uint64_t> ids;
  for (std::size_t i = 0; i < trades.size(); ++i) {
    EXPECT_TRUE(ids.insert(trades[i].trade_id).second) << "duplicate id " << trades[i].trade_id;
    if (i > 0) {
      EXPECT_LE(trades[i - 1].exchange_ts_ns, trades[i].exchange_ts_ns);
    }
    EXPECT_TRUE(trades[i].flags & kTradeBackfill);
  }
}

constexpr std::int64_t kT0 = 1714567890000;  // ms

TEST(BackfillRestVenues, BitgetTimeGapPagesBackThroughOverlappingMilliseconds) {
  // 3000 trades, two per ms: trade i at kT0 + i/2 ms, id 5000000 + i.
  constexpr int kTrades = 3000;
  auto ts_of = [](int i) { return kT0 + i / 2; };
  auto row = [&](int i) {
    return "{\"symbol\":\"BTCUSDT\",\"tradeId\":\"" + std::to_string(5000000 + i) + "\",\"side\":\"" +
           (i % 3 == 0 ? "Sell" : "Buy") + "\",\"price\":\"" + std::to_string(60000 + i) + "\",\"size\":\"0.00" +
           std::to_string(1 + i % 9) + "\",\"ts\":\"" + std::to_string(ts_of(i)) + "\"}";
  };
  std::atomic<int> calls{0};
  RestTestServer rest([&](const std::string& target) {
    if (calls.fetch_add(1) == 0) return RestReply{429, R"({"code":"429","msg":"Too Many Requests"})"};
    // fills-history: startTime <= ts <= endTime, newest first, at most `limit`.
    const std::int64_t lo = param_int(target, "startTime"), hi = param_int(target, "endTime");
    const auto limit = static_cast<std::size_t>(param_int(target, "limit"));
    std::string body = R"({"code":"00000","msg":"success","requestTime":0,"data":[)";
    std::size_t n = 0;
    for (int i = kTrades - 1; i >= 0 && n < limit; --i) {
      if (ts_of(i) < lo || ts_of(i) > hi) continue;
      if (n++ != 0) body += ',';
      body += row(i);
    }
    return RestReply{200, body + "]}"};
  });
  MarketRegistry registry;
  const MarketId m = registry.add(
      {.name = "BITGET:BTCUSDT", .kind = InstrumentKind::kLinear, .contract_size = 1, .base = "BTC", .quote = "USDT"});
  GapRun run(registry, rest.base_url());
  // The last live trade before the outage at ms 100, the first after at ms
  // 1300: their milliseconds' other trades are not backfilled (strict bounds).
  run.gap({.venue = Venue::kBitgetFutures,
           .market = m,
           .symbol = "BTCUSDT",
           .after_exchange_ns = (kT0 + 100) * 1'000'000,
           .before_exchange_ns = (kT0 + 1300) * 1'000'000});
  run.worker.stop();
  // Inside: ms 101..1299 = trades 202..2599.
  ASSERT_EQ(run.trades.size(), 2398u);
  EXPECT_EQ(run.trades.front().trade_id, 5000202u);
  EXPECT_EQ(run.trades.back().trade_id, 5002599u);
  expect_unique_and_sorted(run.trades);
  double want = 0, have = 0;
  for (int i = 202; i <= 2599; ++i) want += (1 + i % 9) / 1000.0;
  for (const Trade& t : run.trades) have += t.qty;
  EXPECT_NEAR(have, want, 1e-9);
  EXPECT_EQ(run.trades.front().side, Side::kBuy);  // 202 % 3 != 0
  EXPECT_EQ(run.trades[2].side, Side::kSell);      // 204 % 3 == 0
  const auto& c = run.worker.counters();
  EXPECT_EQ(c.http_requests.load(), 4u);  // a 429, then 3 pages
  EXPECT_EQ(c.pages.load(), 3u);
  // Page 1: 2603..1604 (4 past the gap); page 2: 1607..608 (4 seen); page
  // 3: 611..200 (4 seen, 2 at ms 100).
  EXPECT_EQ(c.trades_outside_range.load(), 14u);
  EXPECT_EQ(c.partial.load(), 0u);
  EXPECT_EQ(c.completed.load(), 1u);
  EXPECT_EQ(run.covered, std::vector<std::uint8_t>{1});
  const auto targets = rest.targets();
  ASSERT_EQ(targets.size(), 4u);
  EXPECT_EQ(targets[0],
            "/api/v2/mix/market/fills-history?symbol=BTCUSDT&productType=USDT-FUTURES&limit=1000&startTime=" +
                std::to_string(kT0 + 100) + "&endTime=" + std::to_string(kT0 + 1301));
  EXPECT_EQ(targets[1], targets[0]);                       // the retry
  EXPECT_EQ(param_int(targets[2], "endTime"), kT0 + 803);  // the oldest ms of page 1 (802), + 1
  EXPECT_EQ(param_int(targets[3], "endTime"), kT0 + 305);
}

TEST(BackfillRestVenues, DeribitTimeGapPagesForwardWithInverseAmounts) {
  // 2500 trades, one per ms: trade i at kT0 + i, id 300000000 + i, amount in USD.
  constexpr int kTrades = 2500;
  auto row = [](int i) {
    return "{\"trade_seq\":" + std::to_string(i) + ",\"trade_id\":\"" + std::to_string(300000000 + i) +
           "\",\"timestamp\":" + std::to_string(kT0 + i) + ",\"price\":" + std::to_string(60000 + i) +
           ",\"instrument_name\":\"BTC-PERPETUAL\",\"direction\":\"" + (i % 2 ? "buy" : "sell") +
           "\",\"amount\":" + std::to_string(10 * (i % 7 + 1)) + "}";
  };
  std::atomic<int> calls{0};
  RestTestServer rest([&](const std::string& target) {
    if (calls.fetch_add(1) == 1) return RestReply{503, "upstream unavailable"};
    const std::int64_t lo = param_int(target, "start_timestamp"), hi = param_int(target, "end_timestamp");
    const auto count = static_cast<std::size_t>(param_int(target, "count"));
    std::string body = R"({"jsonrpc":"2.0","result":{"trades":[)";
    std::size_t n = 0;
    bool more = false;
    for (int i = 0; i < kTrades; ++i) {
      if (kT0 + i < lo || kT0 + i > hi) continue;
      if (n == count) {
        more = true;
        break;
      }
      if (n++ != 0) body += ',';
      body += row(i);
    }
    return RestReply{200, body + "],\"has_more\":" + (more ? "true" : "false") + "},\"usIn\":0}"};
  });
  MarketRegistry registry;
  const MarketId m = registry.add({.name = "DERIBIT:BTC-PERPETUAL",
                                   .kind = InstrumentKind::kInverse,
                                   .contract_size = 1,
                                   .base = "BTC",
                                   .quote = "USD"});
  GapRun run(registry, rest.base_url());
  run.gap({.venue = Venue::kDeribit,
           .market = m,
           .symbol = "BTC-PERPETUAL",
           .after_exchange_ns = (kT0 + 500) * 1'000'000,
           .before_exchange_ns = (kT0 + 1800) * 1'000'000});
  run.worker.stop();
  ASSERT_EQ(run.trades.size(), 1299u);  // trades 501..1799
  EXPECT_EQ(run.trades.front().trade_id, 300000501u);
  EXPECT_EQ(run.trades.back().trade_id, 300001799u);
  expect_unique_and_sorted(run.trades);
  double want = 0, have = 0;
  for (int i = 501; i <= 1799; ++i) want += 10.0 * (i % 7 + 1) / (60000 + i);
  for (const Trade& t : run.trades) have += t.qty;
  EXPECT_NEAR(have, want, 1e-12);
  EXPECT_EQ(run.trades.front().side, Side::kBuy);
  EXPECT_DOUBLE_EQ(run.trades.front().qty, 10.0 * (501 % 7 + 1) / 60501);
  const auto& c = run.worker.counters();
  EXPECT_EQ(c.http_requests.load(), 3u);  // page 1, a 503, page 2
  EXPECT_EQ(c.pages.load(), 2u);
  EXPECT_EQ(c.trades_outside_range.load(), 4u);  // 500; then 1499 again, 1800, 1801
  EXPECT_EQ(c.partial.load(), 0u);
  const auto targets = rest.targets();
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0],
            "/api/v2/public/get_last_trades_by_instrument_and_time?instrument_name=BTC-PERPETUAL"
            "&start_timestamp=" +
                std::to_string(kT0 + 500) + "&end_timestamp=" + std::to_string(kT0 + 1801) + "&count=1000&sorting=asc");
  EXPECT_EQ(param_int(targets[2], "start_timestamp"), kT0 + 1499);  // the newest ms of page 1
}

TEST(BackfillRestVenues, HtxSpotIdGapsInsideAndBeyondTheRecentWindow) {
  // The last 2000 trades: ids 9000..10999, newest first, in batches of 4.
  auto page = [] {
    std::string body = R"({"ch":"market.btcusdt.trade.detail","status":"ok","ts":0,"data":[)";
    for (int b = 10999; b >= 9000; b -= 4) {
      body += std::string(b != 10999 ? "," : "") + "{\"id\":" + std::to_string(b) +
              ",\"ts\":" + std::to_string(kT0 + b) + ",\"data\":[";
      for (int id = b; id > b - 4; --id)
        body += std::string(id != b ? "," : "") + "{\"id\":1001825345262557575674" + std::to_string(id) +
                ",\"ts\":" + std::to_string(kT0 + id) + ",\"trade-id\":" + std::to_string(id) +
                ",\"amount\":0.5,\"price\":63000,\"direction\":\"" + (id % 2 ? "buy" : "sell") + "\"}";
      body += "]}";
    }
    return body + "]}";
  }();
  RestTestServer rest([&](const std::string&) { return RestReply{200, page}; });
  MarketRegistry registry;
  const MarketId m = registry.add(
      {.name = "HUOBI:btcusdt", .kind = InstrumentKind::kSpot, .contract_size = 1, .base = "BTC", .quote = "USDT"});
  GapRun run(registry, rest.base_url());
  run.gap({.venue = Venue::kHtxSpot,
           .market = m,
           .symbol = "btcusdt",
           .first_missing_id = 10100,
           .last_missing_id = 10350});
  run.gap(
      {.venue = Venue::kHtxSpot, .market = m, .symbol = "btcusdt", .first_missing_id = 8000, .last_missing_id = 9100});
  run.worker.stop();
  ASSERT_EQ(run.trades.size(), 251u + 101u);
  EXPECT_EQ(run.trades[0].trade_id, 10100u);
  EXPECT_EQ(run.trades[250].trade_id, 10350u);
  EXPECT_EQ(run.trades[251].trade_id, 9000u);  // the window's oldest
  EXPECT_EQ(run.trades.back().trade_id, 9100u);
  EXPECT_EQ(run.covered, (std::vector<std::uint8_t>{1, 0}));  // the second reached past the window
  const auto& c = run.worker.counters();
  EXPECT_EQ(c.partial.load(), 1u);
  EXPECT_EQ(c.completed.load(), 2u);
  EXPECT_EQ(c.trades_outside_range.load(), (2000u - 251u) + (2000u - 101u));
  EXPECT_EQ(rest.targets(), (std::vector<std::string>{"/market/history/trade?symbol=btcusdt&size=2000",
                                                      "/market/history/trade?symbol=btcusdt&size=2000"}));
}

TEST(BackfillRestVenues, BitstampWholeSecondTimesStayInsideTheGap) {
  // The last hour, newest first, `date` in whole seconds. The live feed's
  // last trade was at ...890.250 s and its next at ...893.700 s: trades
  // dated 890 or 893 may be those very trades (or share their second), so
  // only 891 and 892 are backfilled.
  const std::int64_t s0 = kT0 / 1000;  // 1714567890
  const std::string body = "[" + std::string(R"({"date":")") + std::to_string(s0 + 3) +
                           R"(","tid":"506","amount":"0.1","price":"63000","type":"0"},)"
                           R"({"date":")" +
                           std::to_string(s0 + 2) +
                           R"(","tid":"505","amount":"0.2","price":"63001","type":"1"},)"
                           R"({"date":")" +
                           std::to_string(s0 + 1) +
                           R"(","tid":"504","amount":"0.3","price":"63002","type":"1"},)"
                           R"({"date":")" +
                           std::to_string(s0 + 1) +
                           R"(","tid":"503","amount":"0.4","price":"63003","type":"0"},)"
                           R"({"date":")" +
                           std::to_string(s0) +
                           R"(","tid":"502","amount":"0.5","price":"63004","type":"0"},)"
                           R"({"date":")" +
                           std::to_string(s0 - 60) + R"(","tid":"501","amount":"0.6","price":"63005","type":"1"}])";
  RestTestServer rest([&](const std::string&) { return RestReply{200, body}; });
  MarketRegistry registry;
  const MarketId m = registry.add(
      {.name = "BITSTAMP:btcusd", .kind = InstrumentKind::kSpot, .contract_size = 1, .base = "BTC", .quote = "USD"});
  GapRun run(registry, rest.base_url());
  run.gap({.venue = Venue::kBitstamp,
           .market = m,
           .symbol = "btcusd",
           .after_exchange_ns = s0 * 1'000'000'000 + 250'000'000,
           .before_exchange_ns = (s0 + 3) * 1'000'000'000 + 700'000'000});
  run.worker.stop();
  ASSERT_EQ(run.trades.size(), 3u);
  EXPECT_EQ(run.trades[0].trade_id, 503u);
  EXPECT_EQ(run.trades[0].side, Side::kBuy);
  EXPECT_EQ(run.trades[1].trade_id, 504u);
  EXPECT_EQ(run.trades[1].side, Side::kSell);
  EXPECT_EQ(run.trades[2].trade_id, 505u);
  EXPECT_DOUBLE_EQ(run.trades[0].qty + run.trades[1].qty + run.trades[2].qty, 0.9);
  EXPECT_EQ(run.worker.counters().trades_outside_range.load(), 3u);
  EXPECT_EQ(run.covered, std::vector<std::uint8_t>{1});  // the hour reaches back past the gap
  EXPECT_EQ(rest.targets(), std::vector<std::string>{"/api/v2/transactions/btcusd/?time=hour"});
}

TEST(BackfillRestVenues, IdGapsOnTimePagedVenuesAndUnwiredVenuesGiveUp) {
  RestTestServer rest([&](const std::string&) { return RestReply{200, "[]"}; });
  MarketRegistry registry;
  const MarketId m = registry.add(
      {.name = "HYPERLIQUID:BTC", .kind = InstrumentKind::kLinear, .contract_size = 1, .base = "BTC", .quote = "USD"});
  GapRun run(registry, rest.base_url());
  run.gap(
      {.venue = Venue::kDeribit, .market = m, .symbol = "BTC-PERPETUAL", .first_missing_id = 5, .last_missing_id = 9});
  run.gap(
      {.venue = Venue::kHyperliquid, .market = m, .symbol = "BTC", .after_exchange_ns = 1, .before_exchange_ns = 2});
  run.worker.stop();
  EXPECT_TRUE(run.trades.empty());
  EXPECT_EQ(run.worker.counters().failed_requests.load(), 2u);
  EXPECT_EQ(run.covered, (std::vector<std::uint8_t>{0, 0}));
  EXPECT_TRUE(rest.targets().empty());  // neither reached the network
}

}  // namespace
}  // namespace tickflow
