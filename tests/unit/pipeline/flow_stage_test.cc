// FlowStage and FlowRecord: the records the aggregator hands to
// BarSink::on_flow, their CSV rows (byte for byte the rows write_closed()
// writes for the same intervals) and their line protocol (flow_<tf>, tag
// group, every finite field parsing back to the engine's double, NaN left
// out).
#include "pipeline/flow_stage.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/flow_line.h"
#include "pipeline/flow_stats_csv.h"
#include "pipeline/market_registry.h"

namespace tickflow {
namespace {

Bar bar(MarketId m, std::int64_t s, double vbuy, double vsell, double close) {
  Bar b;
  b.market = m;
  b.open_time_s = s;
  b.vbuy = vbuy;
  b.vsell = vsell;
  b.qbuy = vbuy / close;
  b.qsell = vsell / close;
  b.cbuy = 1;
  b.open = b.high = b.low = b.close = close;
  return b;
}

struct Records final : public BarSink {
  void on_bar(const Bar&) override {}
  void on_flow(const FlowRecord& r) override { records.push_back(r); }
  std::vector<FlowRecord> records;
};

// 200 seconds of two groups (BTC: spot + perp; ETH: spot only, joining at
// second 50), frontiers reported per market as a BarBuilder would.
TEST(FlowStage, RecordsPerGroupPerClosedIntervalInTheEnginesOrder) {
  MarketRegistry registry;
  const MarketId btc = registry.intern("BINANCE:btcusdt");
  const MarketId btc_perp = registry.intern("BINANCE_FUTURES:btcusdt");
  Records sink;
  FlowStatsConfig config;
  config.timeframes_s = {1, 60};
  FlowStage stage(registry, config, 16, sink, /*startup_hold_ns=*/0);
  // The reference: a FlowStats driven directly, snapshots taken at each close.
  FlowStats reference(SymbolGroups(registry), config);
  std::vector<FlowSnapshot> want;
  std::vector<std::string> want_groups;
  auto on_close = [&](std::size_t tf, std::int64_t) {
    for (GroupId g = 0; g < reference.groups().size(); ++g) {
      want.push_back(reference.snapshot(g, tf));
      want_groups.push_back(reference.groups().name(g));
    }
  };
  const std::int64_t t0 = 1'723'161'600;
  MarketId eth = kInvalidMarket;
  for (std::int64_t s = 0; s < 200; ++s) {
    if (s == 50) {
      eth = registry.intern("BINANCE:ethusdt");
      stage.add_market(eth);
      reference.refresh_markets(registry);
    }
    std::vector<Bar> bars = {bar(btc, t0 + s, 1000 + s, 900, 60000 + s),
                             bar(btc_perp, t0 + s, 500, 800 + 3 * s, 60010 + s)};
    if (s >= 50 && s % 3 != 0) bars.push_back(bar(eth, t0 + s, 70, 40, 2600));
    for (const Bar& b : bars) {
      stage.on_bar(b);
      reference.add_bar(b);
    }
    for (MarketId m : {btc, btc_perp}) stage.on_closed(m, t0 + s + 1);
    if (eth != kInvalidMarket) stage.on_closed(eth, t0 + s + 1);
    stage.poll(0);
    reference.advance_to(t0 + s + 1, on_close);
  }
  stage.flush();
  reference.flush(on_close);

  ASSERT_EQ(sink.records.size(), want.size());
  EXPECT_EQ(stage.counters().records, want.size());
  // 200 1 s intervals and 4 1m ones (the first and last partial): BTC for
  // all, ETH from its arrival on.
  std::map<std::string, int> per_group;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const FlowRecord& r = sink.records[i];
    const FlowSnapshot& s = want[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(r.group_name(), want_groups[i]);
    EXPECT_EQ(r.open_time_s, s.open_time_s);
    EXPECT_EQ(r.timeframe_s, s.timeframe_s);
    std::string a, b;
    append_flow_stats_csv_row(a, r);
    append_flow_stats_csv_row(b, want_groups[i], s);
    EXPECT_EQ(a, b) << "the record's CSV row is the snapshot's";
    ++per_group[std::string(r.group_name())];
  }
  EXPECT_EQ(per_group["BTC"], 200 + 4);
  EXPECT_EQ(per_group["ETH"], 150 + 4) << "from second 50: 150 seconds; minutes 0 (closed after it joined) to 3";
}

TEST(FlowStage, RecordsGiveTheSameCsvRowsAsTheEnginesSnapshots) {
  MarketRegistry registry;
  const MarketId btc = registry.intern("BINANCE:btcusdt");
  const MarketId perp = registry.intern("BINANCE_FUTURES:btcusdt");
  FlowStatsConfig config;
  // The rows --stats-out wrote from the engine's snapshots before FlowStage
  // existed, against the rows of the records FlowStage hands on.
  std::string by_snapshot, by_record;
  std::size_t snapshot_rows = 0;
  FlowStats stats(SymbolGroups(registry), config);
  auto write_closed = [&](std::size_t tf, std::int64_t) {
    for (GroupId g = 0; g < stats.groups().size(); ++g) {
      append_flow_stats_csv_row(by_snapshot, stats.groups().name(g), stats.snapshot(g, tf));
      ++snapshot_rows;
    }
  };
  Records sink;
  FlowStage stage(registry, config, 8, sink, /*startup_hold_ns=*/0);
  for (std::int64_t s = 0; s < 4000; s += 1 + (s % 7 == 0 ? 5 : 0)) {  // gaps too
    for (const Bar& x :
         {bar(btc, 1'700'000'000 + s, 10 + s % 13, 9, 100 + s % 5), bar(perp, 1'700'000'000 + s, 4, 7 + s % 11, 101)}) {
      stats.add_bar(x);
      stage.on_bar(x);
    }
    stats.advance_to(1'700'000'000 + s + 1, write_closed);
    stage.on_closed(btc, 1'700'000'000 + s + 1);
    stage.on_closed(perp, 1'700'000'000 + s + 1);
    stage.poll(0);
  }
  stats.flush(write_closed);
  stage.flush();
  for (const FlowRecord& r : sink.records) append_flow_stats_csv_row(by_record, r);
  EXPECT_EQ(snapshot_rows, sink.records.size());
  EXPECT_GT(sink.records.size(), 4000u);
  EXPECT_EQ(by_snapshot, by_record);
}

// A feed that connects 5 s after the other and starts with seconds the
// other has closed already: within the start-up hold its bars are on time;
// without the hold they are late (applied to the open intervals only).
std::uint64_t late_bars_with_hold(std::int64_t hold_ns) {
  MarketRegistry registry;
  const MarketId spot = registry.intern("BINANCE:btcusdt");
  Records sink;
  FlowStatsConfig config;
  config.timeframes_s = {1, 60};
  FlowStage stage(registry, config, 8, sink, hold_ns);
  const std::int64_t t0 = 1'723'161'600;
  MarketId perp = kInvalidMarket;
  for (std::int64_t s = 0; s < 30; ++s) {
    stage.on_bar(bar(spot, t0 + s, 10, 5, 100));
    stage.on_closed(spot, t0 + s + 1);
    if (s == 5) {  // the perp feed connects, 6 s behind
      perp = registry.intern("BINANCE_FUTURES:btcusdt");
      stage.add_market(perp);
    }
    if (perp != kInvalidMarket && s >= 6) {
      stage.on_bar(bar(perp, t0 + s - 6, 3, 4, 100));
      stage.on_closed(perp, t0 + s - 6 + 1);
    }
    stage.poll(s * 1'000'000'000);
  }
  stage.flush();
  return stage.stats().counters().late;
}

TEST(FlowStage, StartUpHoldWaitsForAFeedThatConnectsLate) {
  EXPECT_EQ(late_bars_with_hold(FlowStage::kDefaultStartupHoldNs), 0u);
  EXPECT_GT(late_bars_with_hold(0), 0u) << "without the hold the spot market's frontier closes the perp's seconds";
}

TEST(FlowLine, MeasurementTagFieldsAndTimestamp) {
  FlowRecord r;
  ASSERT_TRUE(r.set_group("BTC"));
  r.open_time_s = 1'723'161'600;
  r.timeframe_s = 300;
  r.ds = 1.5;
  r.df = -0.1;
  r.cvd_spot = 12820.618062700029;
  r.cvd_perp = -1333888.8135999991;
  r.divergence = r.cvd_spot - r.cvd_perp;
  r.volume = 8925504.3147831019;
  r.close = 61837.63;
  r.ds_mean = r.ds_std = r.ds_z = std::numeric_limits<double>::quiet_NaN();  // undefined: left out
  r.d_z = std::numeric_limits<double>::infinity();                           // zero spread: left out
  const std::string line = [&] {
    std::string s;
    append_flow_line(s, r);
    return s;
  }();
  EXPECT_EQ(line.rfind("flow_5m,group=BTC ds=1.5,df=-0.1,cvd_spot=12820.618062700029,", 0), 0u) << line;
  EXPECT_EQ(line.find("ds_mean"), std::string::npos) << line;
  EXPECT_EQ(line.find(",d_z="), std::string::npos) << line;
  EXPECT_NE(line.find(",df_mean=0,"), std::string::npos) << line;
  EXPECT_TRUE(line.ends_with(" 1723161600\n")) << line;
  EXPECT_LE(line.size(), kMaxFlowLineBytes);
  // Every field parses back to the record's double.
  const std::string fields = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
  std::stringstream ss(fields);
  std::string kv;
  std::map<std::string, double> got;
  while (std::getline(ss, kv, ',')) {
    const std::size_t eq = kv.find('=');
    double v = 0;
    std::from_chars(kv.data() + eq + 1, kv.data() + kv.size(), v);
    got[kv.substr(0, eq)] = v;
  }
  EXPECT_EQ(got.size(), 23u - 4u);
  EXPECT_EQ(got["cvd_perp"], r.cvd_perp);
  EXPECT_EQ(got["volume"], r.volume);
  EXPECT_EQ(got["divergence"], r.divergence);

  FlowRecord odd;
  ASSERT_TRUE(odd.set_group("A B,C"));
  odd.timeframe_s = 14400;
  std::string s;
  append_flow_line(s, odd);
  EXPECT_EQ(s.rfind("flow_4h,group=A\\ B\\,C ds=0,", 0), 0u) << s;
  EXPECT_FALSE(odd.set_group("ABCDEFGHIJKLMNOPQRSTU")) << "longer than kFlowGroupNameMax";
  EXPECT_EQ(odd.group_name(), "A B,C");
}

}  // namespace
}  // namespace tickflow
