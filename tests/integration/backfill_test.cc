// tests/integration/backfill_test.cc
//
// Gap detection (LiveFeed) + REST backfill (BackfillWorker) end to end, on
// loopback only: a LiveFeed against WsTestServer replaying the real Binance
// spot @trade capture with a hole of 500 frames exactly where the server
// drops the connection, and a RestTestServer serving historicalTrades pages
// made from the same capture. The gap must be reported with the exact
// missing ids, the backfill must deliver exactly the missing trades (count,
// ids, qty sum), nothing twice, and live + backfill = the whole capture.
// Failures: REST down, garbage bodies, 5xx then success, a full queue. The
// worker alone: OKX id-gap paging over the real OKX capture, and a Bybit
// time gap's strict bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "feeds/backfill.h"
#include "feeds/json_support.h"  // hash_trade_id: Bybit ids as the parsers hash them
#include "feeds/live_feed.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "tests/integration/capture_frames.h"
#include "tests/integration/rest_test_server.h"
#include "tests/integration/ws_test_server.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::RestReply;
using testing::RestTestServer;
using testing::WsProtocol;
using testing::WsTestServer;

constexpr std::size_t kSpotTrades = 9757;  // binance-20240808-trades/spot_btcusdt.gz
constexpr std::uint64_t kSpotFirstId = 3735683259;
constexpr std::size_t kHoleAt = 3000;  // frames served before the drop
constexpr std::size_t kHoleLength = 500;
constexpr std::uint64_t kFirstMissing = kSpotFirstId + kHoleAt;
constexpr std::uint64_t kLastMissing = kSpotFirstId + kHoleAt + kHoleLength - 1;
constexpr std::size_t kServerPageCap = 200;  // the test venue returns at most this many rows: forces paging

const std::vector<std::string>& spot_frames() {
  static const std::vector<std::string> frames =
      testing::capture_text_frames("binance-20240808-trades/spot_btcusdt.gz");
  return frames;
}

// The capture parsed directly: one trade per frame, in id order.
const std::vector<Trade>& spot_trades() {
  static const std::vector<Trade> trades = [] {
    MarketRegistry registry;
    auto parser = make_parser("BINANCE", registry);
    std::vector<Trade> out;
    EventBuffer events;
    PaddedFrame padded;
    for (const auto& f : spot_frames()) {
      padded.assign(f);
      events.clear();
      parser->parse(padded.view(), 1, events);
      for (const FeedEvent& e : events) out.push_back(e.trade);
    }
    return out;
  }();
  return trades;
}

std::string token(std::string_view frame, std::string_view key) {
  std::string needle = "\"";
  needle.append(key).append("\":");
  const auto at = frame.find(needle);
  if (at == std::string_view::npos) return {};
  const auto start = at + needle.size();
  return std::string(frame.substr(start, frame.find_first_of(",}", start) - start));
}

std::uint64_t query_number(const std::string& target, const std::string& key) {
  const auto at = target.find(key + "=");
  if (at == std::string::npos) return 0;
  return std::stoull(target.substr(at + key.size() + 1));
}

// /api/v3/historicalTrades?symbol=BTCUSDT&fromId=N&limit=L from the capture:
// rows with id >= N, at most min(L, kServerPageCap).
RestReply binance_history(const std::string& target) {
  if (target.rfind("/api/v3/historicalTrades?symbol=BTCUSDT&", 0) != 0) return {400, R"({"code":-1100})"};
  const std::uint64_t from = query_number(target, "fromId");
  const std::size_t limit = std::min<std::size_t>(query_number(target, "limit"), kServerPageCap);
  std::string body = "[";
  std::size_t rows = 0;
  for (const auto& f : spot_frames()) {
    if (std::stoull(token(f, "t")) < from) continue;
    if (rows++ == limit) break;
    if (body.size() > 1) body += ',';
    body += "{\"id\":" + token(f, "t") + ",\"price\":" + token(f, "p") + ",\"qty\":" + token(f, "q") +
            ",\"quoteQty\":\"0\",\"time\":" + token(f, "T") + ",\"isBuyerMaker\":" + token(f, "m") +
            ",\"isBestMatch\":true}";
  }
  return {200, body + "]"};
}

BackfillConfig local_backfill(const std::string& base_url) {
  BackfillConfig c;
  for (Venue v : {Venue::kBinanceSpot, Venue::kBinanceUsdm, Venue::kBinanceCoinm, Venue::kBybitSpot,
                  Venue::kBybitLinear, Venue::kBybitInverse, Venue::kOkx, Venue::kCoinbase})
    c.base_url[v] = base_url;  // nothing may leave loopback
  c.timeout = 5s;
  c.connect_timeout = 2s;
  c.max_attempts = 3;
  c.retry_backoff = 20ms;
  return c;
}

// A LiveFeed with a hole at its reconnect, and a BackfillWorker fed by its
// gap handler.
struct GapHarness {
  explicit GapHarness(BackfillConfig backfill_config) {
    std::vector<std::string> served(spot_frames().begin(), spot_frames().begin() + kHoleAt);
    served.insert(served.end(), spot_frames().begin() + kHoleAt + kHoleLength, spot_frames().end());
    ws = std::make_unique<WsTestServer>(testing::WsServerBehavior{
        .protocol = WsProtocol::kBinance, .frames = std::move(served), .drop_after = kHoleAt});
    LiveFeedConfig c;
    c.venue = Venue::kBinanceSpot;
    c.symbols = {"btcusdt"};
    c.host = "127.0.0.1";
    c.port = ws->port();
    c.ca_file = ws->ca_file();
    c.backoff_initial = 20ms;
    c.backoff_max = 200ms;
    c.jitter_seed = 42;
    c.connection = 3;
    worker = std::make_unique<BackfillWorker>(
        registry, std::move(backfill_config),
        [this](const EventBuffer& events) {
          std::lock_guard lock(mu);
          for (const FeedEvent& e : events) {
            if (e.type == FeedEventType::kTrade)
              backfilled.push_back(e.trade);
            else if (e.type == FeedEventType::kStatus)
              settled.push_back(e.status);  // kBackfilled after each gap's trades
          }
        },
        [this](std::string_view line) {
          std::lock_guard lock(mu);
          log.emplace_back(line);
        });
    feed = std::make_unique<LiveFeed>(
        loop, registry, c, [this](const EventBuffer& events) { live.insert(live.end(), events.begin(), events.end()); },
        [this](std::string_view line) {
          std::lock_guard lock(mu);
          log.emplace_back(line);
        });
    feed->set_gap_handler([this](const TradeGap& gap) {
      gaps.push_back(gap);
      worker->request(gap);
    });
  }
  ~GapHarness() {
    worker->stop();
    feed->stop();
    loop.run_for(20ms);
  }

  std::size_t live_trades() const {
    return static_cast<std::size_t>(
        std::count_if(live.begin(), live.end(), [](const FeedEvent& e) { return e.type == FeedEventType::kTrade; }));
  }
  // Runs the feed until it delivered every frame served and the worker is idle.
  bool run() {
    worker->start();
    feed->start();
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!(live_trades() >= kSpotTrades - kHoleLength && gaps.size() == 1 && worker->pending() == 0)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop.run_for(10ms);
    }
    loop.run_for(50ms);
    return true;
  }
  std::string log_text() {
    std::lock_guard lock(mu);
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }

  IoLoop loop;
  MarketRegistry registry;
  std::unique_ptr<WsTestServer> ws;
  std::unique_ptr<BackfillWorker> worker;
  std::unique_ptr<LiveFeed> feed;
  std::vector<FeedEvent> live;      // loop thread
  std::vector<TradeGap> gaps;       // loop thread
  std::recursive_mutex mu;          // recursive: a failing assertion under it prints log_text()
  std::vector<Trade> backfilled;    // worker thread, under mu
  std::vector<FeedStatus> settled;  // worker thread, under mu: one kBackfilled per gap
  std::vector<std::string> log;     // both, under mu
};

double qty_sum(const std::vector<Trade>& trades, std::uint64_t first, std::uint64_t last) {
  double sum = 0;
  for (const Trade& t : trades)
    if (t.trade_id >= first && t.trade_id <= last) sum += t.qty;
  return sum;
}

TEST(Backfill, ReconnectGapIsDetectedAndBackfilledExactly) {
  RestTestServer rest(binance_history);
  GapHarness h(local_backfill(rest.base_url()));
  ASSERT_TRUE(h.run()) << h.log_text();

  // The gap: reported once, with the exact ids and the times around it.
  const auto& all = spot_trades();
  ASSERT_EQ(all.size(), kSpotTrades);
  const auto& fc = h.feed->counters();
  EXPECT_EQ(fc.gaps.load(), 1u);
  EXPECT_EQ(fc.gap_trades.load(), kHoleLength);
  EXPECT_EQ(fc.reconnects.load(), 1u);
  ASSERT_EQ(h.gaps.size(), 1u);
  const TradeGap& gap = h.gaps[0];
  EXPECT_EQ(gap.venue, Venue::kBinanceSpot);
  EXPECT_EQ(gap.symbol, "BTCUSDT");
  EXPECT_EQ(gap.first_missing_id, kFirstMissing);
  EXPECT_EQ(gap.last_missing_id, kLastMissing);
  EXPECT_EQ(gap.after_exchange_ns, all[kHoleAt - 1].exchange_ts_ns);
  EXPECT_EQ(gap.before_exchange_ns, all[kHoleAt + kHoleLength].exchange_ts_ns);
  EXPECT_EQ(gap.connection, 3u);
  EXPECT_FALSE(gap.aggregate_ids);
  EXPECT_EQ(gap.kind, InstrumentKind::kSpot);
  EXPECT_EQ(h.registry.info(gap.market).name, "BINANCE:btcusdt");

  // The kGap event sits right before the trade that revealed it.
  auto revealing = std::find_if(h.live.begin(), h.live.end(), [](const FeedEvent& e) {
    return e.type == FeedEventType::kTrade && e.trade.trade_id == kLastMissing + 1;
  });
  ASSERT_NE(revealing, h.live.end());
  ASSERT_NE(revealing, h.live.begin());
  const FeedEvent& status = *(revealing - 1);
  ASSERT_EQ(status.type, FeedEventType::kStatus);
  EXPECT_EQ(status.status.kind, FeedStatusKind::kGap);
  EXPECT_EQ(status.status.gap_first_id, kFirstMissing);
  EXPECT_EQ(status.status.gap_last_id, kLastMissing);
  EXPECT_EQ(status.status.market, gap.market);
  EXPECT_EQ(status.status.connection, 3u);

  // The backfill: exactly the missing trades, in id order, flagged.
  std::lock_guard lock(h.mu);
  ASSERT_EQ(h.backfilled.size(), kHoleLength) << h.log_text();
  // ... then the gap settled, covered: the aggregator's hold ends there.
  ASSERT_EQ(h.settled.size(), 1u);
  EXPECT_EQ(h.settled[0].kind, FeedStatusKind::kBackfilled);
  EXPECT_EQ(h.settled[0].detail, 1u);
  EXPECT_EQ(h.settled[0].market, gap.market);
  EXPECT_EQ(h.settled[0].gap_first_id, kFirstMissing);
  EXPECT_EQ(h.settled[0].gap_last_id, kLastMissing);
  for (std::size_t i = 0; i < h.backfilled.size(); ++i) {
    const Trade& t = h.backfilled[i];
    const Trade& want = all[kHoleAt + i];
    ASSERT_EQ(t.trade_id, kFirstMissing + i);
    EXPECT_EQ(t.flags, kTradeBackfill);
    EXPECT_EQ(t.market, gap.market);
    EXPECT_EQ(t.price, want.price);
    EXPECT_EQ(t.qty, want.qty);
    EXPECT_EQ(t.side, want.side);
    EXPECT_EQ(t.exchange_ts_ns, want.exchange_ts_ns);
    EXPECT_GT(t.receive_ts_ns, 1'700'000'000'000'000'000);  // realtime now
  }
  EXPECT_EQ(qty_sum(h.backfilled, kFirstMissing, kLastMissing), qty_sum(all, kFirstMissing, kLastMissing));

  // Live + backfill = the capture, each id once.
  std::set<std::uint64_t> ids;
  std::size_t total = 0;
  for (const FeedEvent& e : h.live)
    if (e.type == FeedEventType::kTrade) {
      ++total;
      ids.insert(e.trade.trade_id);
      EXPECT_EQ(e.trade.flags & kTradeBackfill, 0);
    }
  for (const Trade& t : h.backfilled) {
    ++total;
    ids.insert(t.trade_id);
  }
  EXPECT_EQ(total, kSpotTrades);
  EXPECT_EQ(ids.size(), kSpotTrades);
  EXPECT_EQ(*ids.begin(), kSpotFirstId);
  EXPECT_EQ(*ids.rbegin(), kSpotFirstId + kSpotTrades - 1);

  // Three pages of 200 from fromId: the third runs 100 past the gap.
  const auto& bc = h.worker->counters();
  EXPECT_EQ(bc.requests.load(), 1u);
  EXPECT_EQ(bc.completed.load(), 1u);
  EXPECT_EQ(bc.partial.load(), 0u);
  EXPECT_EQ(bc.failed_requests.load(), 0u);
  EXPECT_EQ(bc.pages.load(), 3u);
  EXPECT_EQ(bc.http_requests.load(), 3u);
  EXPECT_EQ(bc.trades_delivered.load(), kHoleLength);
  EXPECT_EQ(bc.trades_outside_range.load(), 3 * kServerPageCap - kHoleLength);
  EXPECT_EQ(
      rest.targets(),
      (std::vector<std::string>{
          "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=" + std::to_string(kFirstMissing) + "&limit=1000",
          "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=" + std::to_string(kFirstMissing + 200) + "&limit=1000",
          "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=" + std::to_string(kFirstMissing + 400) + "&limit=1000"}));
}

TEST(Backfill, RestServerDownIsCountedAndTheFeedContinues) {
  BackfillConfig config = local_backfill("http://127.0.0.1:" + std::to_string(RestTestServer::closed_port()));
  config.max_attempts = 2;
  GapHarness h(std::move(config));
  ASSERT_TRUE(h.run()) << h.log_text();
  EXPECT_EQ(h.feed->counters().gaps.load(), 1u);
  EXPECT_EQ(h.live_trades(), kSpotTrades - kHoleLength);
  const auto& bc = h.worker->counters();
  EXPECT_EQ(bc.failed_requests.load(), 1u);
  EXPECT_EQ(bc.http_requests.load(), 2u);
  EXPECT_EQ(bc.completed.load(), 0u);
  EXPECT_EQ(bc.trades_delivered.load(), 0u);
  EXPECT_NE(h.log_text().find("failed"), std::string::npos) << h.log_text();
  // The failed gap is settled too, not covered: a held market is released.
  std::lock_guard lock(h.mu);
  ASSERT_EQ(h.settled.size(), 1u);
  EXPECT_EQ(h.settled[0].kind, FeedStatusKind::kBackfilled);
  EXPECT_EQ(h.settled[0].detail, 0u);
}

TEST(Backfill, GarbageBodyIsCountedAsMalformed) {
  RestTestServer rest([](const std::string&) { return RestReply{200, "<html>maintenance</html>"}; });
  GapHarness h(local_backfill(rest.base_url()));
  ASSERT_TRUE(h.run()) << h.log_text();
  const auto& bc = h.worker->counters();
  EXPECT_EQ(bc.malformed_responses.load(), 1u);
  EXPECT_EQ(bc.failed_requests.load(), 1u);
  EXPECT_EQ(bc.http_requests.load(), 1u);  // a malformed 200 is not retried
  EXPECT_EQ(bc.trades_delivered.load(), 0u);
  EXPECT_EQ(h.live_trades(), kSpotTrades - kHoleLength);
  EXPECT_NE(h.log_text().find("malformed"), std::string::npos) << h.log_text();
}

TEST(Backfill, RateLimitsAndServerErrorsAreRetried) {
  std::atomic<int> calls{0};
  RestTestServer rest([&](const std::string& target) {
    const int n = calls++;
    if (n == 0) return RestReply{429, R"({"code":-1003,"msg":"Too many requests"})"};
    if (n == 1) return RestReply{503, "Service Unavailable"};
    return binance_history(target);
  });
  GapHarness h(local_backfill(rest.base_url()));
  ASSERT_TRUE(h.run()) << h.log_text();
  const auto& bc = h.worker->counters();
  EXPECT_EQ(bc.failed_requests.load(), 0u);
  EXPECT_EQ(bc.completed.load(), 1u);
  EXPECT_EQ(bc.http_requests.load(), 5u);  // 2 refused + 3 pages
  EXPECT_EQ(bc.trades_delivered.load(), kHoleLength);
}

TEST(Backfill, ClientErrorsAndExhaustedRetriesGiveUp) {
  std::atomic<int> calls{0};
  RestTestServer rest([&](const std::string&) {
    ++calls;
    return RestReply{500, "boom"};
  });
  MarketRegistry registry;
  const MarketId m = registry.intern("BINANCE:btcusdt");
  BackfillWorker worker(registry, local_backfill(rest.base_url()), [](const EventBuffer&) {});
  worker.start();
  TradeGap gap{
      .venue = Venue::kBinanceSpot, .market = m, .symbol = "BTCUSDT", .first_missing_id = 10, .last_missing_id = 20};
  ASSERT_TRUE(worker.request(gap));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (worker.counters().failed_requests.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(worker.counters().failed_requests.load(), 1u);
  EXPECT_EQ(calls.load(), 3);  // max_attempts
  // A bad symbol never reaches the network.
  gap.symbol = "BTC USDT&x=1";
  ASSERT_TRUE(worker.request(gap));
  while (worker.counters().failed_requests.load() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(worker.counters().failed_requests.load(), 2u);
  EXPECT_EQ(calls.load(), 3);
  worker.stop();
}

TEST(Backfill, FullQueueDropsAndStopDropsWhatIsQueued) {
  MarketRegistry registry;
  BackfillConfig config = local_backfill("http://127.0.0.1:1");
  config.queue_capacity = 2;
  BackfillWorker worker(registry, config, [](const EventBuffer&) {});  // not started: nothing is taken
  TradeGap gap{
      .venue = Venue::kBinanceSpot, .market = 0, .symbol = "BTCUSDT", .first_missing_id = 1, .last_missing_id = 2};
  EXPECT_TRUE(worker.request(gap));
  EXPECT_TRUE(worker.request(gap));
  EXPECT_FALSE(worker.request(gap));
  EXPECT_EQ(worker.counters().requests.load(), 2u);
  EXPECT_EQ(worker.counters().dropped_requests.load(), 1u);
  EXPECT_EQ(worker.pending(), 2u);
  worker.stop();
  EXPECT_EQ(worker.counters().dropped_requests.load(), 3u);
  EXPECT_FALSE(worker.request(gap));  // stopped
  EXPECT_EQ(worker.counters().dropped_requests.load(), 4u);
}

// Runs one gap through a started worker and waits for it to finish.
std::vector<Trade> backfill_one(BackfillWorker& worker, std::vector<Trade>& sink, std::mutex& mu, const TradeGap& gap) {
  worker.start();
  EXPECT_TRUE(worker.request(gap));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (worker.pending() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  worker.stop();
  std::lock_guard lock(mu);
  return sink;
}

TEST(Backfill, OkxIdGapPagesBackwardsThroughTheRealCapture) {
  // The capture's BTC-USDT trades as OKX history-trades rows (the websocket
  // items have the REST shape), served newest first, 10 per page.
  MarketRegistry registry;
  auto parser = make_parser("OKX", registry);
  std::vector<std::pair<Trade, std::string>> rows;  // ascending ids
  for (const auto& frame : testing::capture_text_frames("cryptofeed/OKX.ws.1.0.gz")) {
    if (frame.find(R"("channel":"trades","instId":"BTC-USDT"},"data":[)") == std::string::npos) continue;
    PaddedFrame padded;
    padded.assign(frame);
    EventBuffer out;
    parser->parse(padded.view(), 1, out);
    ASSERT_EQ(out.size(), 1u) << frame;
    const auto open = frame.find("\"data\":[") + 8;
    rows.emplace_back(out[0].trade, frame.substr(open, frame.rfind(']') - open));
  }
  ASSERT_GE(rows.size(), 40u);
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first.trade_id < b.first.trade_id; });
  RestTestServer rest([&](const std::string& target) {
    const std::uint64_t after = query_number(target, "after");
    std::string body = R"({"code":"0","msg":"","data":[)";
    std::size_t n = 0;
    for (auto it = rows.rbegin(); it != rows.rend() && n < 10; ++it) {
      if (it->first.trade_id >= after) continue;
      body += (n++ ? "," : "");
      body += it->second;
    }
    return RestReply{200, body + "]}"};
  });
  const Trade& first = rows[5].first;
  const Trade& last = rows[30].first;
  const MarketInfo& info = registry.info(first.market);
  std::mutex mu;
  std::vector<Trade> got;
  BackfillWorker worker(registry, local_backfill(rest.base_url()), [&](const EventBuffer& events) {
    std::lock_guard lock(mu);
    for (const FeedEvent& e : events)
      if (e.type == FeedEventType::kTrade) got.push_back(e.trade);
  });
  const TradeGap gap{.venue = Venue::kOkx,
                     .market = first.market,
                     .symbol = "BTC-USDT",
                     .first_missing_id = first.trade_id,
                     .last_missing_id = last.trade_id,
                     .kind = info.kind,
                     .contract_size = info.contract_size};
  const auto trades = backfill_one(worker, got, mu, gap);
  ASSERT_EQ(trades.size(), 26u);
  double want = 0, have = 0;
  for (std::size_t i = 5; i <= 30; ++i) want += rows[i].first.qty;
  for (const Trade& t : trades) have += t.qty;
  EXPECT_DOUBLE_EQ(have, want);
  std::set<std::uint64_t> ids;
  for (const Trade& t : trades) ids.insert(t.trade_id);
  EXPECT_EQ(ids.size(), 26u);
  EXPECT_EQ(*ids.begin(), first.trade_id);
  EXPECT_EQ(*ids.rbegin(), last.trade_id);
  EXPECT_EQ(worker.counters().completed.load(), 1u);
  EXPECT_EQ(worker.counters().partial.load(), 0u);
  // Pages: ids < last+1 (10 rows), then < the oldest of each page, until one reaches the first id.
  const auto targets = rest.targets();
  ASSERT_GE(targets.size(), 3u);
  EXPECT_EQ(targets[0], "/api/v5/market/history-trades?instId=BTC-USDT&type=1&after=" +
                            std::to_string(last.trade_id + 1) + "&limit=100");
}

TEST(Backfill, BybitTimeGapKeepsOnlyTradesStrictlyInside) {
  // recent-trade, newest first: times 400 (after the gap's end), 300 and
  // 200 (inside), 100 (= the last live trade's time: excluded by the strict
  // bound), 50 (before).
  const std::int64_t t0 = 1714567890000;
  auto row = [&](int i, std::int64_t dt, const char* side) {
    return "{\"execId\":\"uuid-" + std::to_string(i) + "\",\"symbol\":\"BTCUSDT\",\"price\":\"63000\",\"size\":\"0." +
           std::to_string(i) + "\",\"side\":\"" + side + "\",\"time\":\"" + std::to_string(t0 + dt) +
           "\",\"isBlockTrade\":false}";
  };
  const std::string body = R"({"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[)" + row(5, 400, "Buy") +
                           "," + row(4, 300, "Sell") + "," + row(3, 200, "Buy") + "," + row(2, 100, "Sell") + "," +
                           row(1, 50, "Buy") + "]},\"time\":0}";
  RestTestServer rest([&](const std::string&) { return RestReply{200, body}; });
  MarketRegistry registry;
  const MarketId m = registry.add(
      {.name = "BYBIT:BTCUSDT", .kind = InstrumentKind::kLinear, .contract_size = 1, .base = "BTC", .quote = "USDT"});
  std::mutex mu;
  std::vector<Trade> got;
  BackfillWorker worker(registry, local_backfill(rest.base_url()), [&](const EventBuffer& events) {
    std::lock_guard lock(mu);
    for (const FeedEvent& e : events)
      if (e.type == FeedEventType::kTrade) got.push_back(e.trade);
  });
  const TradeGap gap{.venue = Venue::kBybitLinear,
                     .market = m,
                     .symbol = "BTCUSDT",
                     .after_exchange_ns = (t0 + 100) * 1'000'000,
                     .before_exchange_ns = (t0 + 400) * 1'000'000};
  const auto trades = backfill_one(worker, got, mu, gap);
  ASSERT_EQ(trades.size(), 2u);
  EXPECT_EQ(trades[0].trade_id, hash_trade_id("uuid-3"));
  EXPECT_EQ(trades[0].side, Side::kBuy);
  EXPECT_EQ(trades[1].trade_id, hash_trade_id("uuid-4"));
  EXPECT_EQ(trades[1].side, Side::kSell);
  EXPECT_DOUBLE_EQ(trades[0].qty + trades[1].qty, 0.7);
  EXPECT_EQ(trades[0].flags, kTradeIdHashed | kTradeBackfill);
  EXPECT_EQ(worker.counters().trades_outside_range.load(), 3u);
  EXPECT_EQ(worker.counters().partial.load(), 0u);
  EXPECT_EQ(rest.targets(),
            std::vector<std::string>{"/v5/market/recent-trade?category=linear&symbol=BTCUSDT&limit=1000"});
}

// A LiveFeed alone against `server`, collecting its events and gaps.
struct FeedOnly {
  FeedOnly(const WsTestServer& server, LiveFeedConfig c) {
    c.host = "127.0.0.1";
    c.port = server.port();
    c.ca_file = server.ca_file();
    c.backoff_initial = 20ms;
    c.backoff_max = 200ms;
    c.jitter_seed = 42;
    feed = std::make_unique<LiveFeed>(loop, registry, std::move(c), [this](const EventBuffer& events) {
      for (const FeedEvent& e : events) (e.type == FeedEventType::kTrade ? trades : statuses).push_back(e);
    });
    feed->set_gap_handler([this](const TradeGap& gap) { gaps.push_back(gap); });
    feed->start();
  }
  bool run_until_trades(std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (trades.size() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop.run_for(10ms);
    }
    loop.run_for(50ms);
    feed->stop();
    loop.run_for(10ms);
    return true;
  }
  std::size_t gap_statuses() const {
    return static_cast<std::size_t>(std::count_if(
        statuses.begin(), statuses.end(), [](const FeedEvent& e) { return e.status.kind == FeedStatusKind::kGap; }));
  }
  IoLoop loop;
  MarketRegistry registry;
  std::unique_ptr<LiveFeed> feed;
  std::vector<FeedEvent> trades, statuses;
  std::vector<TradeGap> gaps;
};

std::vector<std::string> spot_with_hole() {
  std::vector<std::string> served(spot_frames().begin(), spot_frames().begin() + kHoleAt);
  served.insert(served.end(), spot_frames().begin() + kHoleAt + kHoleLength, spot_frames().end());
  return served;
}

TEST(Backfill, HoleInsideOneConnectionIsAGapToo) {
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_with_hole()});
  LiveFeedConfig c;
  c.venue = Venue::kBinanceSpot;
  c.symbols = {"btcusdt"};
  FeedOnly f(server, c);
  ASSERT_TRUE(f.run_until_trades(kSpotTrades - kHoleLength));
  ASSERT_EQ(f.gaps.size(), 1u);
  EXPECT_EQ(f.gaps[0].first_missing_id, kFirstMissing);
  EXPECT_EQ(f.gaps[0].last_missing_id, kLastMissing);
  EXPECT_EQ(f.gap_statuses(), 1u);
  EXPECT_EQ(f.feed->counters().reconnects.load(), 0u);
  EXPECT_EQ(f.feed->counters().gap_trades.load(), kHoleLength);
}

TEST(Backfill, BinanceTradeAndAggTradeOnOneConnectionReportNoGaps) {
  // Two id sequences on one market: a jump says nothing.
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_with_hole(), .drop_after = kHoleAt});
  LiveFeedConfig c;
  c.venue = Venue::kBinanceSpot;
  c.symbols = {"btcusdt"};
  c.channels = {"trade", "aggTrade"};
  c.deduplicate = false;
  FeedOnly f(server, c);
  ASSERT_TRUE(f.run_until_trades(kSpotTrades - kHoleLength));
  EXPECT_TRUE(f.gaps.empty());
  EXPECT_EQ(f.gap_statuses(), 0u);
  EXPECT_EQ(f.feed->counters().gaps.load(), 0u);
  EXPECT_EQ(f.feed->counters().reconnects.load(), 1u);
}

TEST(Backfill, AggTradeStreamGapsAskForAggregateIds) {
  WsTestServer server({.protocol = WsProtocol::kBinance, .frames = spot_with_hole()});
  LiveFeedConfig c;
  c.venue = Venue::kBinanceSpot;
  c.symbols = {"btcusdt"};
  c.channels = {"aggTrade"};  // the server replays @trade frames; the gap flags which sequence it is
  FeedOnly f(server, c);
  ASSERT_TRUE(f.run_until_trades(kSpotTrades - kHoleLength));
  ASSERT_EQ(f.gaps.size(), 1u);
  EXPECT_TRUE(f.gaps[0].aggregate_ids);
}

TEST(Backfill, BybitReconnectOpensATimeGap) {
  // Bybit v5 publicTrade frames in the documented shape (no public
  // capture): 20 trades 100 ms apart, the connection dropped after 12.
  const std::int64_t t0 = 1714567890000;
  std::vector<std::string> frames;
  for (int i = 0; i < 20; ++i)
    frames.push_back(
        R"({"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":)" + std::to_string(t0 + 100 * i) +
        R"(,"data":[{"T":)" + std::to_string(t0 + 100 * i) +
        R"(,"s":"BTCUSDT","S":"Buy","v":"0.010","p":"63245.10","L":"PlusTick","i":"5f1c7a2e-0000-4000-8000-)" +
        std::to_string(100000000000 + i) + R"(","BT":false}]})");
  WsTestServer server({.protocol = WsProtocol::kBybit, .frames = frames, .drop_after = 12});
  LiveFeedConfig c;
  c.venue = Venue::kBybitLinear;
  c.symbols = {"BTCUSDT"};
  FeedOnly f(server, c);
  ASSERT_TRUE(f.run_until_trades(20));
  ASSERT_EQ(f.gaps.size(), 1u);
  const TradeGap& gap = f.gaps[0];
  EXPECT_TRUE(gap.is_time_gap());
  EXPECT_EQ(gap.venue, Venue::kBybitLinear);
  EXPECT_EQ(gap.symbol, "BTCUSDT");
  EXPECT_EQ(gap.after_exchange_ns, (t0 + 1100) * 1'000'000);   // the 12th trade
  EXPECT_EQ(gap.before_exchange_ns, (t0 + 1200) * 1'000'000);  // the 13th, first after the reconnect
  EXPECT_EQ(gap.kind, InstrumentKind::kLinear);
  EXPECT_EQ(f.gap_statuses(), 1u);
  EXPECT_EQ(f.feed->counters().gaps.load(), 1u);
  EXPECT_EQ(f.feed->counters().gap_trades.load(), 0u);  // unknown: no ids
}

TEST(Backfill, CoinbaseIdGapPagesWithTheAfterCursor) {
  // The capture's SKL-USD matches as /products/SKL-USD/trades rows (the
  // websocket match has every REST field), newest first, 7 per page,
  // `after` = older than that trade_id.
  MarketRegistry registry;
  auto parser = make_parser("COINBASE", registry);
  std::vector<std::pair<Trade, std::string>> rows;
  for (const auto& frame : testing::capture_text_frames("cryptofeed/COINBASE.ws.28.0.gz")) {
    if (frame.find(R"("type":"match")") == std::string::npos ||
        frame.find(R"("product_id":"SKL-USD")") == std::string::npos)
      continue;
    PaddedFrame padded;
    padded.assign(frame);
    EventBuffer out;
    parser->parse(padded.view(), 1, out);
    ASSERT_EQ(out.size(), 1u) << frame;
    rows.emplace_back(out[0].trade, frame);
  }
  ASSERT_EQ(rows.size(), 52u);
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first.trade_id < b.first.trade_id; });
  RestTestServer rest([&](const std::string& target) {
    if (target.rfind("/products/SKL-USD/trades?limit=1000&after=", 0) != 0) return RestReply{404, "{}"};
    const std::uint64_t after = query_number(target, "after");
    std::string body = "[";
    std::size_t n = 0;
    for (auto it = rows.rbegin(); it != rows.rend() && n < 7; ++it) {
      if (it->first.trade_id >= after) continue;
      body += (n++ ? "," : "");
      body += it->second;
    }
    return RestReply{200, body + "]"};
  });
  const Trade& first = rows[10].first;
  const Trade& last = rows[40].first;
  const std::uint64_t missing = last.trade_id - first.trade_id + 1;
  std::size_t want_count = 0;
  double want = 0;
  for (const auto& r : rows)
    if (r.first.trade_id >= first.trade_id && r.first.trade_id <= last.trade_id) {
      ++want_count;
      want += r.first.qty;
    }
  std::mutex mu;
  std::vector<Trade> got;
  BackfillWorker worker(registry, local_backfill(rest.base_url()), [&](const EventBuffer& events) {
    std::lock_guard lock(mu);
    for (const FeedEvent& e : events)
      if (e.type == FeedEventType::kTrade) got.push_back(e.trade);
  });
  const MarketInfo& info = registry.info(first.market);
  const TradeGap gap{.venue = Venue::kCoinbase,
                     .market = first.market,
                     .symbol = "SKL-USD",
                     .first_missing_id = first.trade_id,
                     .last_missing_id = last.trade_id,
                     .kind = info.kind,
                     .contract_size = info.contract_size};
  const auto trades = backfill_one(worker, got, mu, gap);
  ASSERT_EQ(trades.size(), want_count);
  EXPECT_LE(want_count, missing);
  double have = 0;
  for (std::size_t i = 0; i < trades.size(); ++i) {
    have += trades[i].qty;
    EXPECT_EQ(trades[i].side, rows[10 + i].first.side);  // taker side: the opposite of the maker's
    EXPECT_EQ(trades[i].trade_id, rows[10 + i].first.trade_id);
  }
  EXPECT_DOUBLE_EQ(have, want);
  EXPECT_EQ(worker.counters().completed.load(), 1u);
  EXPECT_EQ(worker.counters().partial.load(), 0u);
  EXPECT_EQ(rest.targets().front(), "/products/SKL-USD/trades?limit=1000&after=" + std::to_string(last.trade_id + 1));
}

TEST(Backfill, OkxTimeGapPagesBackwardsByTimestamp) {
  // OKX "trades" (aggregated prints) reports reconnect gaps by time; the
  // worker pages history-trades type=2, `after` = older than a ms time.
  MarketRegistry registry;
  auto parser = make_parser("OKX", registry);
  std::vector<std::pair<Trade, std::string>> rows;
  for (const auto& frame : testing::capture_text_frames("cryptofeed/OKX.ws.1.0.gz")) {
    if (frame.find(R"("channel":"trades","instId":"BTC-USDT"},"data":[)") == std::string::npos) continue;
    PaddedFrame padded;
    padded.assign(frame);
    EventBuffer out;
    parser->parse(padded.view(), 1, out);
    const auto open = frame.find("\"data\":[") + 8;
    rows.emplace_back(out[0].trade, frame.substr(open, frame.rfind(']') - open));
  }
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first.trade_id < b.first.trade_id; });
  RestTestServer rest([&](const std::string& target) {
    const std::int64_t after_ms = static_cast<std::int64_t>(query_number(target, "after"));
    std::string body = R"({"code":"0","msg":"","data":[)";
    std::size_t n = 0;
    for (auto it = rows.rbegin(); it != rows.rend() && n < 10; ++it) {
      if (it->first.exchange_ts_ns / 1'000'000 >= after_ms) continue;
      body += (n++ ? "," : "");
      body += it->second;
    }
    return RestReply{200, body + "]}"};
  });
  const std::int64_t after = rows[5].first.exchange_ts_ns;
  const std::int64_t before = rows[30].first.exchange_ts_ns;
  std::set<std::uint64_t> want;
  for (const auto& r : rows)
    if (r.first.exchange_ts_ns > after && r.first.exchange_ts_ns < before) want.insert(r.first.trade_id);
  ASSERT_GE(want.size(), 10u);
  std::mutex mu;
  std::vector<Trade> got;
  BackfillWorker worker(registry, local_backfill(rest.base_url()), [&](const EventBuffer& events) {
    std::lock_guard lock(mu);
    for (const FeedEvent& e : events)
      if (e.type == FeedEventType::kTrade) got.push_back(e.trade);
  });
  const MarketInfo& info = registry.info(rows[0].first.market);
  const TradeGap gap{.venue = Venue::kOkx,
                     .market = rows[0].first.market,
                     .symbol = "BTC-USDT",
                     .after_exchange_ns = after,
                     .before_exchange_ns = before,
                     .kind = info.kind,
                     .contract_size = info.contract_size};
  const auto trades = backfill_one(worker, got, mu, gap);
  std::set<std::uint64_t> have;
  for (const Trade& t : trades) have.insert(t.trade_id);
  EXPECT_EQ(have, want);
  EXPECT_EQ(trades.size(), want.size());  // none twice across the overlapping pages
  EXPECT_EQ(worker.counters().partial.load(), 0u);
  EXPECT_EQ(rest.targets().front(), "/api/v5/market/history-trades?instId=BTC-USDT&type=2&after=" +
                                        std::to_string(before / 1'000'000 + 1) + "&limit=100");
}

}  // namespace
}  // namespace tickflow
