// Closing on time (issue 17): the live close policy of BarBuilder.
//
//  * A bar closes on its watermark at exactly end + lateness, and a quiet
//    one on the clock at exactly end + lateness + the connection's observed
//    lag + margin (quiet_close_from_lag), never later than the fixed delay.
//  * The observed lag is the largest (receive - watermark) of the current
//    and previous 2 s windows: it rises at once, falls after two windows,
//    may be negative (an exchange clock ahead of ours).
//  * A straggler for a closed second becomes exactly one amendment carrying
//    the whole corrected bar.
//  * Off (the event clock's fixed delay), connection watermarks change
//    nothing about when quiet markets close.
//  * Real captures (the Binance 2024-08-08 files) through the live policy
//    (50 ms lateness, lag-based quiet close, the clock = receive time, one
//    connection per endpoint as `tickflow run` opens them): the amendments
//    are few, counted exactly, and the last version of every bar equals the
//    bar built offline from all trades.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_builder.h"
#include "pipeline/market_registry.h"
#include "tests/unit/pipeline/bar_test_support.h"

namespace tickflow {
namespace {

using test::kMilli;
using test::kSecond;
using test::make_trade;

constexpr std::int64_t kS = 1'700'000'000;  // a second, in epoch seconds
constexpr std::int64_t kEnd = (kS + 1) * kSecond;

BarBuilderConfig live_config() {
  BarBuilderConfig c;
  c.max_markets = 8;
  c.lateness_ns = 50 * kMilli;
  c.quiet_close_delay_ns = 2 * kSecond;
  c.quiet_close_from_lag = true;
  c.quiet_lag_margin_ns = 20 * kMilli;
  return c;
}

FeedStatus connection_watermark(std::uint16_t connection, std::int64_t watermark_ns, std::int64_t receive_ns) {
  FeedStatus s;
  s.kind = FeedStatusKind::kWatermark;
  s.market = kInvalidMarket;
  s.connection = connection;
  s.watermark_ns = watermark_ns;
  s.receive_ts_ns = receive_ns;
  return s;
}

TEST(BarCloseOnTime, BusyBarClosesOnItsWatermarkAtExactlyEndPlusLateness) {
  test::CollectingSink sink;
  BarBuilder b(live_config(), sink);
  b.set_connection(0, 0);
  b.on_trade(make_trade(0, kS * kSecond + 100 * kMilli, 10, 1, Side::kBuy));
  b.on_trade(make_trade(0, kEnd + 50 * kMilli - 1, 11, 1, Side::kSell));
  EXPECT_TRUE(sink.bars.empty()) << "1 ns short of end + lateness";
  b.on_trade(make_trade(0, kEnd + 50 * kMilli, 12, 1, Side::kSell));
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].open_time_s, kS);
  EXPECT_EQ(sink.bars[0].flags, kBarFinal);
  EXPECT_EQ(sink.bars[0].cbuy, 1);
  EXPECT_EQ(sink.bars[0].csell, 0);
  EXPECT_EQ(b.closed_until_s(0), kS + 1);
}

TEST(BarCloseOnTime, QuietBarClosesOnTheClockAfterTheConnectionsObservedLag) {
  test::CollectingSink sink;
  BarBuilder b(live_config(), sink);
  b.set_connection(0, 0);
  b.on_trade(make_trade(0, kS * kSecond + 100 * kMilli, 10, 2, Side::kBuy));
  // The connection's frames arrive 30 ms behind their exchange time.
  b.on_status(connection_watermark(0, kS * kSecond + 100 * kMilli, kS * kSecond + 130 * kMilli));
  EXPECT_EQ(b.observed_lag_ns(0), 30 * kMilli);
  EXPECT_EQ(b.quiet_close_after_ns(0), (50 + 30 + 20) * kMilli);
  const std::int64_t due = kEnd + 100 * kMilli;  // end + lateness + lag + margin
  b.advance_clock(due - 1);
  EXPECT_TRUE(sink.bars.empty());
  EXPECT_EQ(b.next_clock_close_ns(), due) << "a waiting aggregator sleeps until exactly then";
  b.advance_clock(due);
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].open_time_s, kS);
  EXPECT_EQ(sink.bars[0].flags, kBarFinal);
  EXPECT_EQ(sink.bars[0].vbuy, 20);
  EXPECT_EQ(b.closed_until_s(0), kS + 1);
  EXPECT_EQ(b.counters(0).bars, 1u);
  EXPECT_EQ(b.counters(0).amendments, 0u);
}

TEST(BarCloseOnTime, AStragglerBecomesExactlyOneAmendmentWithTheWholeBar) {
  test::CollectingSink sink;
  BarBuilder b(live_config(), sink);
  b.set_connection(0, 0);
  b.on_trade(make_trade(0, kS * kSecond + 100 * kMilli, 10, 2, Side::kBuy));
  b.on_trade(make_trade(0, kS * kSecond + 900 * kMilli, 12, 1, Side::kSell));
  b.on_trade(make_trade(0, kEnd + 60 * kMilli, 13, 1, Side::kBuy));  // closes kS
  ASSERT_EQ(sink.bars.size(), 1u);
  // 70 ms behind the watermark, 20 ms more than the lateness: a straggler.
  b.on_trade(make_trade(0, kS * kSecond + 990 * kMilli, 9, 3, Side::kSell));
  ASSERT_EQ(sink.bars.size(), 2u);
  const Bar& amended = sink.bars[1];
  EXPECT_EQ(amended.open_time_s, kS);
  EXPECT_EQ(amended.flags, kBarAmendment);
  EXPECT_EQ(amended.open, 10);
  EXPECT_EQ(amended.high, 12);
  EXPECT_EQ(amended.low, 9);
  EXPECT_EQ(amended.close, 9) << "the straggler is the latest trade of the second";
  EXPECT_EQ(amended.cbuy, 1);
  EXPECT_EQ(amended.csell, 2);
  EXPECT_EQ(amended.vbuy, 20);
  EXPECT_EQ(amended.vsell, 12 + 27);
  EXPECT_EQ(amended.qsell, 4);
  EXPECT_EQ(b.counters(0).bars, 1u);
  EXPECT_EQ(b.counters(0).amendments, 1u);
  EXPECT_EQ(b.counters(0).late_drops, 0u);
  b.flush();
  ASSERT_EQ(sink.bars.size(), 3u);
  EXPECT_EQ(sink.bars[2].open_time_s, kS + 1);
  EXPECT_EQ(sink.bars[2].flags, kBarFinal);
}

TEST(BarCloseOnTime, TheObservedLagRisesAtOnceFallsAfterTwoWindowsAndIsCapped) {
  test::CollectingSink sink;
  BarBuilder b(live_config(), sink);
  b.set_connection(3, 1);
  const std::int64_t t0 = kS * kSecond;
  EXPECT_EQ(b.observed_lag_ns(1), BarBuilder::kNoTime);
  EXPECT_EQ(b.quiet_close_after_ns(3), (50 + 2000) * kMilli) << "no watermark yet: the fixed delay";
  static_assert(BarBuilder::kLagWindowNs == 2 * kSecond);
  b.on_status(connection_watermark(1, t0, t0 + 30 * kMilli));  // the window starts at t0 + 30 ms
  b.on_status(connection_watermark(1, t0 + 500 * kMilli, t0 + 1000 * kMilli));
  b.on_status(connection_watermark(1, t0 + 1500 * kMilli, t0 + 1510 * kMilli));
  EXPECT_EQ(b.observed_lag_ns(1), 500 * kMilli) << "the largest of the window";
  b.on_status(connection_watermark(1, t0 + 2500 * kMilli, t0 + 2510 * kMilli));  // a new window
  EXPECT_EQ(b.observed_lag_ns(1), 500 * kMilli) << "the previous window still counts";
  b.on_status(connection_watermark(1, t0 + 5000 * kMilli, t0 + 5015 * kMilli));  // and another
  EXPECT_EQ(b.observed_lag_ns(1), 15 * kMilli) << "two windows later: only the recent lag";
  EXPECT_EQ(b.quiet_close_after_ns(3), (50 + 15 + 20) * kMilli);
  // An exchange clock 1.27 s ahead of ours (the 2024-08-08 captures'):
  // the close comes before the end on our clock, after it on the exchange's.
  b.on_status(connection_watermark(1, t0 + 20 * kSecond, t0 + 20 * kSecond - 1270 * kMilli));
  b.on_status(connection_watermark(1, t0 + 23 * kSecond, t0 + 23 * kSecond - 1270 * kMilli));
  EXPECT_EQ(b.observed_lag_ns(1), -1270 * kMilli);
  EXPECT_EQ(b.quiet_close_after_ns(3), (50 - 1270 + 20) * kMilli);
  // A lag beyond the fixed delay: never later than the fixed delay.
  b.on_status(connection_watermark(1, t0 + 25 * kSecond, t0 + 30 * kSecond));
  EXPECT_EQ(b.observed_lag_ns(1), 5 * kSecond);
  EXPECT_EQ(b.quiet_close_after_ns(3), (50 + 2000) * kMilli);
}

TEST(BarCloseOnTime, OffTheConnectionsLagChangesNothing) {
  BarBuilderConfig config = live_config();
  config.quiet_close_from_lag = false;
  test::CollectingSink sink;
  BarBuilder b(config, sink);
  b.set_connection(0, 0);
  b.on_trade(make_trade(0, kS * kSecond + 100 * kMilli, 10, 1, Side::kBuy));
  b.on_status(connection_watermark(0, kS * kSecond + 100 * kMilli, kS * kSecond + 130 * kMilli));
  EXPECT_EQ(b.observed_lag_ns(0), BarBuilder::kNoTime);
  EXPECT_EQ(b.quiet_close_after_ns(0), (50 + 2000) * kMilli);
  b.advance_clock(kEnd + 2050 * kMilli - 1);
  EXPECT_TRUE(sink.bars.empty());
  b.advance_clock(kEnd + 2050 * kMilli);
  ASSERT_EQ(sink.bars.size(), 1u);
}

TEST(BarCloseOnTime, MarketsOfOtherConnectionsKeepTheirOwnDeadlines) {
  test::CollectingSink sink;
  BarBuilder b(live_config(), sink);
  b.set_connection(0, 0);
  b.set_connection(1, 1);
  b.on_trade(make_trade(0, kS * kSecond + 100 * kMilli, 10, 1, Side::kBuy));
  b.on_trade(make_trade(1, kS * kSecond + 100 * kMilli, 10, 1, Side::kBuy));
  b.on_status(connection_watermark(0, kS * kSecond + 100 * kMilli, kS * kSecond + 110 * kMilli));  // 10 ms
  b.on_status(connection_watermark(1, kS * kSecond + 100 * kMilli, kS * kSecond + 400 * kMilli));  // 300 ms
  b.advance_clock(kEnd + 80 * kMilli);                                                             // 50 + 10 + 20
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].market, 0u);
  EXPECT_EQ(b.next_clock_close_ns(), kEnd + 370 * kMilli);  // 50 + 300 + 20
  b.advance_clock(kEnd + 370 * kMilli);
  ASSERT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(sink.bars[1].market, 1u);
}

// ---- real captures -----------------------------------------------------------

struct CaptureFile {
  std::string exchange;
  std::string path;
  std::uint16_t connection;
};

// The captures merged by receive time; each frame's trades go to the
// builder, then its connection's watermark (newest non-liquidation trade or
// timed quote, as runtime/feed_publisher.h sends it); the clock is the
// receive time, read before each frame (the live aggregator reads the wall
// clock once per batch).
struct LiveReplay {
  MarketRegistry registry;
  test::CollectingSink sink;
  std::unique_ptr<BarBuilder> builder;
  std::vector<Trade> trades;
  // Per 1 s bar's first emission: clock at close - its end (ns).
  std::vector<std::int64_t> close_delay;
  std::vector<std::int64_t> by_watermark, by_clock;
  std::int64_t clock = 0;

  struct DelaySink : BarSink {
    LiveReplay* run;
    void on_bar(const Bar& bar) override {
      run->sink.on_bar(bar);
      if (bar.is_amendment()) return;
      const std::int64_t end = (bar.open_time_s + 1) * kSecond;
      run->close_delay.push_back(run->clock - end);
      // Closed by its watermark, or on the clock (a quiet second).
      const bool by_watermark = run->builder->watermark_ns(bar.market) >= end + run->builder->config().lateness_ns;
      (by_watermark ? run->by_watermark : run->by_clock).push_back(run->clock - end);
    }
  } delay_sink;

  explicit LiveReplay(BarBuilderConfig config) {
    config.max_markets = 64;
    delay_sink.run = this;
    builder = std::make_unique<BarBuilder>(config, delay_sink);
  }

  void run(const std::vector<CaptureFile>& files) {
    struct Source {
      std::unique_ptr<ExchangeParser> parser;
      std::unique_ptr<CaptureReader> reader;
      CaptureRecord record;
      std::size_t index;
      std::uint16_t connection;
    };
    std::vector<std::unique_ptr<Source>> sources;
    std::map<std::uint16_t, std::int64_t> watermark;
    for (std::size_t i = 0; i < files.size(); ++i) {
      auto s = std::make_unique<Source>();
      s->parser = make_parser(files[i].exchange, registry);
      s->reader = std::make_unique<CaptureReader>(files[i].path);
      s->index = i;
      s->connection = files[i].connection;
      sources.push_back(std::move(s));
    }
    auto later = [](const Source* a, const Source* b) {
      return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                                : a->index > b->index;
    };
    std::priority_queue<Source*, std::vector<Source*>, decltype(later)> heap(later);
    for (auto& s : sources)
      if (s->reader->next(s->record)) heap.push(s.get());
    EventBuffer events;
    while (!heap.empty()) {
      Source* s = heap.top();
      heap.pop();
      events.clear();
      const std::int64_t receive = s->record.receive_ts_ns;
      s->parser->parse(s->record.frame, receive, events);
      clock = std::max(clock, receive);
      builder->advance_clock(clock);
      std::int64_t& newest = watermark[s->connection];
      const std::int64_t before = newest;
      for (const FeedEvent& e : events) {
        if (e.type == FeedEventType::kTrade) {
          if (builder->closed_until_s(e.trade.market) == BarBuilder::kNoTime &&
              builder->watermark_ns(e.trade.market) == BarBuilder::kNoTime)
            builder->set_connection(e.trade.market, s->connection);
          builder->on_trade(e.trade);
          trades.push_back(e.trade);
          if (!e.trade.is_liquidation()) newest = std::max(newest, e.trade.exchange_ts_ns);
        } else if (e.type == FeedEventType::kQuote && e.quote.exchange_ts_ns > 0) {
          newest = std::max(newest, e.quote.exchange_ts_ns);
        }
      }
      if (newest > before) builder->on_status(connection_watermark(s->connection, newest, receive));
      if (s->reader->next(s->record)) heap.push(s);
    }
    builder->flush();
  }

  std::int64_t percentile(double q) const { return percentile_of(close_delay, q); }
  static std::int64_t percentile_of(std::vector<std::int64_t> v, double q) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  }
};

std::string shared_file(const std::string& name) { return TICKFLOW_SHARED_DATA_DIR "/binance-20240808/" + name; }
std::string bundled_file(const std::string& name) { return TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/" + name; }

// One connection per endpoint, as `tickflow run` opens them: spot, USD-M, COIN-M.
std::vector<CaptureFile> binance_0808(std::string (*where)(const std::string&)) {
  return {{"BINANCE", where("spot_btcusdt.gz"), 0},           {"BINANCE", where("spot_ethusdt.gz"), 0},
          {"BINANCE_FUTURES", where("usdm_btcusdt.gz"), 1},   {"BINANCE_FUTURES", where("usdm_ethusdt.gz"), 1},
          {"BINANCE_FUTURES", where("cm_btcusd_perp.gz"), 2}, {"BINANCE_FUTURES", where("cm_ethusd_perp.gz"), 2}};
}

// The median (receive - exchange time) of every trade: the captures' clock
// offset (about -1.27 s: their receive clock was behind the exchange's), so
// that close delays read on the exchange's clock.
std::int64_t median_lag(const std::vector<Trade>& trades) {
  std::vector<std::int64_t> lags;
  for (const Trade& t : trades) lags.push_back(t.receive_ts_ns - t.exchange_ts_ns);
  std::sort(lags.begin(), lags.end());
  return lags.empty() ? 0 : lags[lags.size() / 2];
}

void check_exact(const LiveReplay& run, const char* what) {
  const auto expected = test::reference_second_bars(run.trades);
  test::expect_same_bars(test::last_versions(run.sink.bars), expected, what);
  const BarCounters totals = run.builder->totals();
  EXPECT_EQ(totals.late_drops, 0u);
  EXPECT_EQ(totals.bars + totals.amendments, run.sink.bars.size());
  const double skew_ms = static_cast<double>(median_lag(run.trades)) / 1e6;
  std::printf(
      "%s: %zu trades, %llu bars, %llu amendments (%.3f%% of bars); close - end - median lag (%.1f ms): "
      "p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      what, run.trades.size(), static_cast<unsigned long long>(totals.bars),
      static_cast<unsigned long long>(totals.amendments),
      100.0 * static_cast<double>(totals.amendments) / static_cast<double>(std::max<std::uint64_t>(1, totals.bars)),
      skew_ms, static_cast<double>(run.percentile(0.5)) / 1e6 - skew_ms,
      static_cast<double>(run.percentile(0.99)) / 1e6 - skew_ms,
      static_cast<double>(run.percentile(1.0)) / 1e6 - skew_ms);
  for (const auto& [name, v] : {std::pair{"by watermark", &run.by_watermark}, std::pair{"on the clock", &run.by_clock}})
    std::printf("  closed %s: %zu bars, close - end - median lag p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", name,
                v->size(), static_cast<double>(LiveReplay::percentile_of(*v, 0.5)) / 1e6 - skew_ms,
                static_cast<double>(LiveReplay::percentile_of(*v, 0.99)) / 1e6 - skew_ms,
                static_cast<double>(LiveReplay::percentile_of(*v, 1.0)) / 1e6 - skew_ms);
}

TEST(BarCloseOnTimeCaptures, BundledBinanceTradesAmendRarelyAndExactly) {
  LiveReplay run(live_config());
  run.run(binance_0808(bundled_file));
  ASSERT_EQ(run.trades.size(), 55'270u);
  check_exact(run, "binance-20240808-trades, live policy");
  EXPECT_EQ(run.builder->totals().bars, 1'784u);
  EXPECT_EQ(run.builder->totals().amendments, 0u);
}

TEST(BarCloseOnTimeCaptures, AllBinanceStreamsAmendRarelyAndExactly) {
  if (!std::ifstream(shared_file("spot_btcusdt.gz")).good()) GTEST_SKIP() << "../shared/data absent";
  LiveReplay run(live_config());
  run.run(binance_0808(shared_file));
  ASSERT_EQ(run.trades.size(), 55'270u);
  check_exact(run, "binance-20240808 (trades, depth, bookTicker), live policy");
  EXPECT_EQ(run.builder->totals().bars, 1'784u);
  EXPECT_EQ(run.builder->totals().amendments, 0u);
}

// No lateness at all: every trade behind its market's watermark by more
// than the rest of its second is a straggler. The amendments are still
// exact (the last version of each bar is the offline bar).
TEST(BarCloseOnTimeCaptures, NoLatenessAmendsMoreAndStillExactly) {
  const bool shared = std::ifstream(shared_file("spot_btcusdt.gz")).good();
  BarBuilderConfig config = live_config();
  config.lateness_ns = 0;
  config.quiet_lag_margin_ns = 0;
  LiveReplay run(config);
  run.run(binance_0808(shared ? shared_file : bundled_file));
  ASSERT_EQ(run.trades.size(), 55'270u);
  check_exact(run, shared ? "binance-20240808, no lateness" : "binance-20240808-trades, no lateness");
  EXPECT_EQ(run.builder->totals().bars, 1'784u);
  EXPECT_EQ(run.builder->totals().amendments, shared ? 8u : 0u);
}

}  // namespace
}  // namespace tickflow
