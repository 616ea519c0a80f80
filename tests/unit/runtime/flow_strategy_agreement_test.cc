// tests/unit/runtime/flow_strategy_agreement_test.cc
//
// The strategy's flow statistics and the stored ones agree. One Aggregator
// (event clock, as replay runs it) carries both: its FlowStage hands
// FlowRecords to the output (what `tickflow run` stores as flow_<tf>), and
// its StrategyEngine steps SqueezeFlow, whose TimeframeSeries keep their own
// spot delta, perp delta and CVDs (strategy/timeframe_series.h). Every value
// the two share is compared, for every group, timeframe and closed bar:
//
//   series bar ds, df        == record ds, df           (same interval)
//   series cs, cf, d         == record cvd_spot, cvd_perp, divergence
//     (the series' CVD is anchored at the oldest bar of its 100-bar
//     history; the record's is rolling over cvd_window = 100 intervals: the
//     same sum while the bar is the newest committed one, which is when the
//     listener reads it)
//
// to 1e-12 relative. Relative to what: both sides sum the same doubles in a
// different order (the strategy sums each market's rollup bar, whose vbuy
// is a sum over seconds; FlowStats sums each second across markets), so
// they differ by rounding, whose size is set by the gross flow summed, not
// by the net: |a - b| <= 1e-12 * max(|a|, |b|, gross), gross being the
// interval's volume (deltas) or the window's (CVDs). A delta that cancels
// to ~0 out of millions is held to 1e-12 of those millions.
//
// Input: the six real captures of tests/data/binance-20240808-trades (BTC
// and ETH, each Binance spot, USD-M and COIN-M: two perp markets per
// group, so the order of summation really differs), parsed once and played
// 20 times back to back, each pass shifted by the captures' span (trade and
// receive times alike): two hours of flow, so the 1m history fills its 100
// bars and slides, and 5m, 15m, 30m, 1h, 4h get bars too. The strategy
// evaluates every timeframe it keeps a series for: 1m is added to its
// reset phase for this purpose.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "runtime/aggregator.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "strategy/strategy_engine.h"

namespace tickflow {
namespace {

constexpr int kPasses = 20;

struct Frame {
  std::uint16_t connection;
  std::int64_t receive_ns;
  std::vector<FeedEvent> events;  // trades and statuses, as parsed
};

struct Parsed {
  std::vector<Frame> frames;  // by receive time
  std::int64_t span_ns = 0;   // whole seconds covering every trade
};

Parsed parse_captures(MarketRegistry& registry) {
  const std::string dir = TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/";
  const std::vector<std::pair<std::string, std::string>> files = {
      {"BINANCE", "spot_btcusdt.gz"}, {"BINANCE_FUTURES", "usdm_btcusdt.gz"}, {"BINANCE_FUTURES", "cm_btcusd_perp.gz"},
      {"BINANCE", "spot_ethusdt.gz"}, {"BINANCE_FUTURES", "usdm_ethusdt.gz"}, {"BINANCE_FUTURES", "cm_ethusd_perp.gz"}};
  Parsed p;
  std::int64_t first = INT64_MAX, last = INT64_MIN;
  EventBuffer events;
  PaddedFrame padded;
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto parser = make_parser(files[i].first, registry);
    CaptureReader reader(dir + files[i].second);
    CaptureRecord record;
    while (reader.next(record)) {
      if (record.binary) continue;
      padded.assign(record.frame);
      events.clear();
      parser->parse(padded.view(), record.receive_ts_ns, events);
      Frame f{static_cast<std::uint16_t>(i), record.receive_ts_ns, {}};
      for (const FeedEvent& e : events) {
        if (e.type == FeedEventType::kQuote) continue;
        f.events.push_back(e);
        if (e.type == FeedEventType::kTrade) {
          first = std::min({first, e.trade.exchange_ts_ns, e.trade.receive_ts_ns});
          last = std::max({last, e.trade.exchange_ts_ns, e.trade.receive_ts_ns});
        }
      }
      if (!f.events.empty()) p.frames.push_back(std::move(f));
    }
  }
  std::stable_sort(p.frames.begin(), p.frames.end(),
                   [](const Frame& a, const Frame& b) { return a.receive_ns < b.receive_ns; });
  p.span_ns = ((last - first) / 1'000'000'000 + 2) * 1'000'000'000;
  return p;
}

// Every FlowRecord the aggregator hands on, by (group, timeframe, open time).
using Key = std::tuple<std::string, std::uint32_t, std::int64_t>;
class RecordSink final : public BarSink {
 public:
  void on_bar(const Bar& bar) override { amendments += bar.is_amendment() ? 1 : 0; }
  void on_flow(const FlowRecord& r) override {
    records[{std::string(r.group_name()), r.timeframe_s, r.open_time_s}] = r;
  }
  std::map<Key, FlowRecord> records;
  std::uint64_t amendments = 0;
};

// What the strategy's series held for each bar while it was the newest
// committed one.
struct SeriesValues {
  double ds, df, cs, cf, d;
  double volume;         // the bar's gross flow
  double window_volume;  // the CVD window's
};
class SeriesReader final : public StrategyListener {
 public:
  SeriesReader(const StrategyEngine& engine, std::vector<std::uint32_t> timeframes)
      : engine_(engine), timeframes_(std::move(timeframes)) {}
  bool on_entry(std::size_t, const Decision&) override { return false; }
  void on_exit(std::size_t, const Decision&) override {}
  void on_evaluation(std::size_t group, const Decision&) override {
    for (std::uint32_t tf : timeframes_) {
      const TimeframeSeries* s = engine_.strategy(group).series(tf);
      if (s == nullptr || s->closed_size() == 0) continue;
      const std::size_t k = s->has_provisional() ? 1 : 0;
      const SeriesBar& b = s->back(k);
      double window_volume = 0;
      for (std::size_t j = k; j < s->size(); ++j) window_volume += s->back(j).volume;
      values.emplace(Key{engine_.base(group), tf, b.open_time_s},
                     SeriesValues{b.ds, b.df, s->cs(k), s->cf(k), s->d(k), b.volume, window_volume});
    }
  }
  std::map<Key, SeriesValues> values;

 private:
  const StrategyEngine& engine_;
  std::vector<std::uint32_t> timeframes_;
};

bool agree(double a, double b, double gross) {
  return std::fabs(a - b) <= 1e-12 * std::max({std::fabs(a), std::fabs(b), gross});
}

TEST(FlowStrategyAgreement, StrategySeriesEqualFlowRecordsOnRealCaptures) {
  MarketRegistry registry;
  const Parsed parsed = parse_captures(registry);
  ASSERT_GT(parsed.frames.size(), 10'000u);

  RecordSink sink;
  AggregatorOptions options;
  options.max_markets = 16;
  options.wall_clock = false;
  options.measure_latency = false;
  options.wait.kind = WaitKind::kBusySpin;
  Aggregator aggregator(options, registry, {}, sink);
  SqueezeFlowParams params;
  params.reset_timeframes = {60, 300, 900};  // a 1m series as well: 120 bars over the 20 passes
  const std::vector<std::uint32_t> timeframes = {60, 300, 900, 1800, 3600, 14400};
  StrategyEngine engine(params, options.max_markets);
  engine.add_group("BTCUSDT", "BTC");
  engine.add_group("ETHUSDT", "ETH");
  SeriesReader reader(engine, timeframes);
  aggregator.set_strategy(&engine, &reader);
  FeedChannel channel("tf-feed-0", 1 << 14, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&channel});
  FeedPublisher publisher(channel, options.max_markets);
  std::vector<FeedPublisher::Connection> connections(6);
  for (std::uint16_t i = 0; i < 6; ++i) connections[i].id = i;

  std::thread aggregator_thread([&] { aggregator.run(); });
  EventBuffer events;
  for (int pass = 0; pass < kPasses; ++pass) {
    const std::int64_t shift = pass * parsed.span_ns;
    for (const Frame& f : parsed.frames) {
      events.clear();
      for (FeedEvent e : f.events) {
        if (e.type == FeedEventType::kTrade) {
          e.trade.exchange_ts_ns += shift;
          e.trade.receive_ts_ns += shift;
          e.trade.trade_id += static_cast<std::uint64_t>(pass) * 1'000'000'000'000ull;
          events.push(e.trade);
        } else {
          if (e.status.watermark_ns != 0) e.status.watermark_ns += shift;
          e.status.receive_ts_ns += shift;
          events.push(e.status);
        }
      }
      publisher.publish(connections[f.connection], events, f.receive_ns + shift);
    }
  }
  channel.close();
  aggregator_thread.join();
  ASSERT_EQ(aggregator.error(), "");
  ASSERT_EQ(engine.markets(0), 3u) << "BTC: spot, USD-M, COIN-M";
  ASSERT_EQ(engine.markets(1), 3u) << "ETH: spot, USD-M, COIN-M";
  EXPECT_EQ(sink.amendments, 0u) << "no bar changed after it closed: both sides saw the same bars";

  std::map<std::uint32_t, std::size_t> compared;
  std::size_t mismatches = 0, full_history = 0;
  for (const auto& [key, s] : reader.values) {
    const auto& [group, tf, open] = key;
    SCOPED_TRACE(group + " " + std::to_string(tf) + " s, bar at " + std::to_string(open));
    const auto it = sink.records.find(key);
    if (it == sink.records.end()) {
      ADD_FAILURE() << "no FlowRecord for the strategy's bar";
      ++mismatches;
      continue;
    }
    const FlowRecord& r = it->second;
    EXPECT_TRUE(agree(s.volume, r.volume, s.volume)) << s.volume << " vs " << r.volume;
    const bool ok = agree(s.ds, r.ds, s.volume) && agree(s.df, r.df, s.volume) &&
                    agree(s.cs, r.cvd_spot, s.window_volume) && agree(s.cf, r.cvd_perp, s.window_volume) &&
                    agree(s.d, r.divergence, s.window_volume);
    if (!ok && mismatches++ < 10)
      ADD_FAILURE() << "strategy ds " << s.ds << " df " << s.df << " cs " << s.cs << " cf " << s.cf << " d " << s.d
                    << "; record ds " << r.ds << " df " << r.df << " cvd_spot " << r.cvd_spot << " cvd_perp "
                    << r.cvd_perp << " divergence " << r.divergence;
    ++compared[tf];
  }
  for (std::size_t g = 0; g < 2; ++g)
    if (engine.strategy(g).series(60)->closed_size() == params.history_bars) ++full_history;
  EXPECT_EQ(mismatches, 0u);
  // Every timeframe compared, the 1m one past its 100-bar history (the
  // rolling window slides: ~120 bars per group).
  EXPECT_GE(compared[60], 2u * 110u);
  EXPECT_GE(compared[300], 2u * 20u);
  EXPECT_GE(compared[900], 2u * 7u);
  EXPECT_GE(compared[1800], 2u * 3u);
  EXPECT_GE(compared[3600], 2u * 1u);
  // The captures start at 23:54 UTC, so the first 4h interval (20:00 to
  // 00:00, partial) closes inside the first pass.
  EXPECT_GE(compared[14400], 2u * 1u);
  EXPECT_EQ(full_history, 2u) << "both groups' 1m history full: their CVD windows slid";
  // And the records cover every interval: 2 groups x every second.
  EXPECT_GE(sink.records.size(), 2u * kPasses * 300u);
}

}  // namespace
}  // namespace tickflow
