// runtime/aggregator.h: the tf-agg thread.
//
//  * Two producer threads, each replaying one real Binance capture through
//    its parser and a FeedPublisher into its own FeedChannel: once both
//    close, run() returns, and the last emission of every 1 s bar equals,
//    exactly, bars built from the same trades by the plainest reference
//    (tests/unit/pipeline/bar_test_support.h), whatever the interleaving;
//    the 1m rollups carry every trade; counters, names and frontiers agree.
//  * run() returns promptly once every input is closed and drained, even
//    parked with a long idle wake (the doorbell wakes it), and not while
//    any input is still open.
//  * An exception from the output sink ends run() and is kept in error().
#include "runtime/aggregator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/parser_factory.h"
#include "runtime/feed_publisher.h"
#include "tests/unit/pipeline/bar_test_support.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using test::BarKey;

constexpr std::size_t kMaxMarkets = 64;

std::string bundled(const std::string& file) { return TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/" + file; }

AggregatorOptions replay_options() {
  AggregatorOptions options;
  options.max_markets = kMaxMarkets;
  options.wall_clock = false;
  options.measure_latency = false;
  options.rollups = {Timeframe::from_seconds(60)};
  return options;
}

// What one producer thread parsed and published.
struct Replayed {
  std::vector<Trade> trades;
  std::string error;
};

// One feed thread: capture -> parser -> FeedPublisher -> channel, then close.
void replay(const std::string& exchange, const std::string& path, std::uint16_t connection_id, MarketRegistry& registry,
            FeedChannel& channel, Replayed& out) {
  try {
    auto parser = make_parser(exchange, registry);
    if (!parser) throw std::runtime_error("no parser for " + exchange);
    CaptureReader reader(path);
    FeedPublisher publisher(channel, kMaxMarkets);
    FeedPublisher::Connection connection;
    connection.id = connection_id;
    EventBuffer events;
    CaptureRecord record;
    while (reader.next(record)) {
      events.clear();
      parser->parse(record.frame, record.receive_ts_ns, events);
      for (const FeedEvent& e : events)
        if (e.type == FeedEventType::kTrade) out.trades.push_back(e.trade);
      publisher.publish(connection, events, record.receive_ts_ns);
    }
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  channel.close();
}

std::map<BarKey, Bar> of(const std::map<BarKey, Bar>& bars, MarketId market, std::uint32_t timeframe_s) {
  std::map<BarKey, Bar> out;
  for (const auto& [key, bar] : bars)
    if (std::get<0>(key) == market && std::get<1>(key) == timeframe_s) out[key] = bar;
  return out;
}

struct Expected {
  const char* file;
  const char* exchange;
  const char* market;
  std::size_t trades;
  std::size_t seconds;
};

constexpr Expected kSpot{"spot_btcusdt.gz", "BINANCE", "BINANCE:btcusdt", 9757, 345};
constexpr Expected kUsdm{"usdm_btcusdt.gz", "BINANCE_FUTURES", "BINANCE_FUTURES:btcusdt", 21313, 344};

TEST(Aggregator, TwoFeedThreadsOfRealCapturesGiveTheReferenceBars) {
  MarketRegistry registry;
  test::CollectingSink sink;
  Aggregator aggregator(replay_options(), registry, {}, sink);
  FeedChannel spot_channel("tf-feed-0", 1024, FullRingPolicy::kBlock, aggregator.doorbell());
  FeedChannel usdm_channel("tf-feed-1", 1024, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&spot_channel, &usdm_channel});

  Replayed spot, usdm;
  std::thread spot_thread(replay, kSpot.exchange, bundled(kSpot.file), 0, std::ref(registry), std::ref(spot_channel),
                          std::ref(spot));
  std::thread usdm_thread(replay, kUsdm.exchange, bundled(kUsdm.file), 1, std::ref(registry), std::ref(usdm_channel),
                          std::ref(usdm));
  aggregator.run();
  spot_thread.join();
  usdm_thread.join();

  ASSERT_EQ(spot.error, "");
  ASSERT_EQ(usdm.error, "");
  EXPECT_EQ(aggregator.error(), "");
  EXPECT_TRUE(aggregator.finished());
  EXPECT_TRUE(spot_channel.finished());
  EXPECT_TRUE(usdm_channel.finished());
  ASSERT_EQ(spot.trades.size(), kSpot.trades);
  ASSERT_EQ(usdm.trades.size(), kUsdm.trades);

  const AggregatorCounters& c = aggregator.counters();
  EXPECT_EQ(c.trades.load(), 31070u);
  EXPECT_EQ(c.late_drops.load(), 0u);
  EXPECT_EQ(c.backfilled_trades.load(), 0u);
  EXPECT_EQ(spot_channel.counters().dropped.load(), 0u);
  EXPECT_EQ(usdm_channel.counters().dropped.load(), 0u);
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(aggregator.markets_seen(), 2u);

  const auto emitted = test::last_versions(sink.bars);
  for (const auto* run : {&spot, &usdm}) {
    const Expected& f = run == &spot ? kSpot : kUsdm;
    SCOPED_TRACE(f.market);
    const MarketId market = registry.find(f.market).value_or(kInvalidMarket);
    ASSERT_NE(market, kInvalidMarket);
    ASSERT_LT(market, aggregator.names().size());
    EXPECT_EQ(aggregator.names()[market], f.market);

    // 1 s bars: the last emission of each equals the plain reference.
    const auto expected = test::reference_second_bars(run->trades);
    EXPECT_EQ(expected.size(), f.seconds);
    const auto seconds = of(emitted, market, 1);
    EXPECT_EQ(seconds.size(), f.seconds);
    test::expect_same_bars(seconds, expected, f.market);

    double count = 0, qty = 0, reference_qty = 0;
    for (const auto& [key, bar] : seconds) count += bar.cbuy + bar.csell, qty += bar.qbuy + bar.qsell;
    for (const Trade& t : run->trades) reference_qty += t.qty;
    EXPECT_EQ(count, static_cast<double>(f.trades));
    EXPECT_LE(std::abs(qty - reference_qty), 1e-9 * reference_qty) << qty << " vs " << reference_qty;

    // 1m rollups carry every trade, and every minute with trades.
    const auto minutes = of(emitted, market, 60);
    const auto expected_minutes = test::reference_rollup(expected, 60);
    EXPECT_EQ(minutes.size(), expected_minutes.size());
    double minute_count = 0, minute_qty = 0;
    for (const auto& [key, bar] : minutes) minute_count += bar.cbuy + bar.csell, minute_qty += bar.qbuy + bar.qsell;
    EXPECT_EQ(minute_count, static_cast<double>(f.trades));
    EXPECT_LE(std::abs(minute_qty - reference_qty), 1e-9 * reference_qty);

    // Everything up to the newest bar is closed (the flush at the end; the
    // receive-time clock never runs past it: these captures' receive times
    // trail their exchange times, so it closes less than that).
    const std::int64_t last_open = expected.rbegin()->second.open_time_s;
    EXPECT_EQ(aggregator.closed_until_s(market), last_open + 1);
    EXPECT_EQ(aggregator.last_trade_ns(market), run->trades.back().receive_ts_ns);
  }
  EXPECT_EQ(emitted.size(), of(emitted, registry.find(kSpot.market).value(), 1).size() +
                                of(emitted, registry.find(kUsdm.market).value(), 1).size() +
                                of(emitted, registry.find(kSpot.market).value(), 60).size() +
                                of(emitted, registry.find(kUsdm.market).value(), 60).size());
}

// Waits up to `limit` for `done()`; returns how long it took.
template <typename Done>
std::chrono::steady_clock::duration time_until(Done done, std::chrono::steady_clock::duration limit) {
  const auto start = std::chrono::steady_clock::now();
  while (!done() && std::chrono::steady_clock::now() - start < limit) std::this_thread::sleep_for(1ms);
  return std::chrono::steady_clock::now() - start;
}

AggregatorOptions parked_options() {
  AggregatorOptions options = replay_options();
  options.rollups = {};
  options.wait.kind = WaitKind::kPark;
  options.idle_wake = std::chrono::milliseconds(10'000);  // only the doorbell wakes it in time
  return options;
}

TEST(Aggregator, RunReturnsAtOnceWhenEveryInputIsClosedAndEmpty) {
  MarketRegistry registry;
  test::CollectingSink sink;
  Aggregator aggregator(parked_options(), registry, {}, sink);
  FeedChannel a("a", 64, FullRingPolicy::kBlock, aggregator.doorbell());
  FeedChannel b("b", 64, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&a, &b});
  a.close();
  b.close();
  const auto start = std::chrono::steady_clock::now();
  aggregator.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(aggregator.finished());
  EXPECT_EQ(aggregator.error(), "");
  EXPECT_TRUE(sink.bars.empty());
}

TEST(Aggregator, ParkedRunWakesForEventsAndReturnsWhenTheLastInputCloses) {
  MarketRegistry registry;
  const MarketId market = registry.intern("BINANCE:btcusdt");
  test::CollectingSink sink;
  Aggregator aggregator(parked_options(), registry, {}, sink);
  FeedChannel a("a", 64, FullRingPolicy::kBlock, aggregator.doorbell());
  FeedChannel b("b", 64, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&a, &b});
  std::thread agg([&] { aggregator.run(); });

  std::this_thread::sleep_for(100ms);  // parked by now
  const FeedEvent trade =
      FeedEvent::of(test::make_trade(market, 1'723'161'600 * test::kSecond, 60'000.0, 0.5, Side::kBuy));
  ASSERT_EQ(a.publish(&trade, 1), 1u);
  EXPECT_LT(time_until([&] { return aggregator.counters().trades.load() == 1; }, 5s), 1s) << "not woken by publish";
  EXPECT_EQ(aggregator.counters().trades.load(), 1u);

  a.close();
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(aggregator.finished()) << "one closed input must not end the run";

  b.close();
  EXPECT_LT(time_until([&] { return aggregator.finished(); }, 5s), 1s) << "not woken by the last close";
  agg.join();  // bounded anyway: the idle wake (10 s) ends the wait
  EXPECT_TRUE(aggregator.finished());
  EXPECT_EQ(aggregator.error(), "");
  ASSERT_EQ(sink.bars.size(), 1u);  // the flush emits the open bar
  EXPECT_EQ(sink.bars[0].market, market);
  EXPECT_EQ(sink.bars[0].open_time_s, 1'723'161'600);
  EXPECT_EQ(sink.bars[0].cbuy, 1.0);
  EXPECT_EQ(aggregator.closed_until_s(market), 1'723'161'601);
  EXPECT_EQ(aggregator.names()[market], "BINANCE:btcusdt");
}

struct ThrowingSink : BarSink {
  int calls = 0;
  void on_bar(const Bar&) override {
    ++calls;
    throw std::runtime_error("writer ring gone");
  }
};

TEST(Aggregator, AnExceptionFromTheOutputEndsRunAndIsKept) {
  MarketRegistry registry;
  const MarketId market = registry.intern("BINANCE:btcusdt");
  ThrowingSink sink;
  Aggregator aggregator(parked_options(), registry, {}, sink);
  FeedChannel a("a", 64, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&a});
  // Ten trades in ten seconds: the second one closes the first bar.
  constexpr std::int64_t kStart = 1'723'161'600;
  for (std::int64_t s = 0; s < 10; ++s) {
    const FeedEvent trade = FeedEvent::of(
        test::make_trade(market, (kStart + s) * test::kSecond + 500 * test::kMilli, 100.0, 1.0, Side::kSell));
    ASSERT_EQ(a.publish(&trade, 1), 1u);
  }
  a.close();

  const auto start = std::chrono::steady_clock::now();
  aggregator.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(aggregator.finished());
  EXPECT_EQ(aggregator.error(), "writer ring gone");
  EXPECT_EQ(sink.calls, 1) << "no bar is offered after the output failed (not even by the flush)";
  EXPECT_LT(aggregator.counters().trades.load(), 10u) << "the loop ended at the exception, not after the input";
}

}  // namespace
}  // namespace tickflow
