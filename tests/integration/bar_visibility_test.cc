// Bar visibility and seal on close (issue 17) against a real influxd:
//
//  * InfluxWriter counts every first emission of a 1 s bar, and nothing
//    else (amendments, rollups), in bar_visible[kind] once InfluxDB
//    acknowledged it: busy when the market's previous 1 s bar was for the
//    second before, quiet otherwise. Counts are exact; each delay lies
//    between (the time before the write was asked for - the bar's end) and
//    (the time the points were read back - the bar's end).
//  * on_all_closed() seals the batch at once: with a batch age of 30 s,
//    nothing is written until it is called, and everything within a
//    second after.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/wall_clock.h"
#include "runtime/influx_writer.h"
#include "tests/integration/influxd_process.h"

namespace tickflow {
namespace {

using Clock = std::chrono::steady_clock;

Bar bar_at(MarketId market, std::int64_t open_time_s, std::uint32_t timeframe_s = 1, std::uint8_t flags = kBarFinal) {
  Bar b;
  b.market = market;
  b.open_time_s = open_time_s;
  b.timeframe_s = timeframe_s;
  b.flags = flags;
  b.open = b.high = b.low = b.close = 100;
  b.vbuy = 100;
  b.cbuy = 1;
  b.qbuy = 1;
  return b;
}

TEST(BarVisibility, CountsExactlyTheFirstOneSecondBarsWrittenByKindAndSealsOnClose) {
  testing::InfluxdProcess influx;
  InfluxSinkConfig config;
  config.endpoint = influx.endpoint("visible");
  config.retention = {{"aggr_1s", "INF"}, {"aggr_1m", "INF"}};
  config.max_batch_age = std::chrono::seconds(30);  // only on_all_closed() seals in time
  config.log = [](std::string_view) {};
  const std::vector<std::string> names = {"TEST:busy", "TEST:quiet"};
  InfluxWriter writer(config, LineProtocolOptions{}, names);
  writer.start();

  const std::int64_t s = realtime_ns() / 1'000'000'000 - 10;
  // Market 0 trades every second: its first bar is quiet (no bar before),
  // the next three busy. Market 1 trades every other second: quiet twice.
  writer.on_bar(bar_at(0, s));
  writer.on_bar(bar_at(1, s));
  writer.on_bar(bar_at(0, s + 1));
  writer.on_bar(bar_at(0, s + 1, 1, kBarAmendment));  // not a first emission
  writer.on_bar(bar_at(0, s + 2));
  writer.on_bar(bar_at(1, s + 2));
  writer.on_bar(bar_at(0, s + 3));
  writer.on_bar(bar_at(0, s - 50, 60));  // a rollup
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(writer.snapshot().stats.points_written, 0u) << "the batch waits for its age or a close";

  const std::int64_t asked_ns = realtime_ns();
  writer.on_all_closed(s + 4);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  InfluxWriterSnapshot snap = writer.snapshot();
  while (snap.stats.points_written < 8 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    snap = writer.snapshot();  // published every 250 ms by the writer
  }
  const std::int64_t seen_ns = realtime_ns() + 300'000'000;  // + the snapshot's period
  EXPECT_EQ(snap.stats.points_written, 8u);
  EXPECT_LT(seen_ns - asked_ns, 1'500'000'000) << "sealed on close, not after 30 s";

  const LatencyHistogram& busy = snap.bar_visible[static_cast<std::size_t>(BarKind::kBusy)];
  const LatencyHistogram& quiet = snap.bar_visible[static_cast<std::size_t>(BarKind::kQuiet)];
  EXPECT_EQ(busy.count(), 3u);   // market 0 at s+1, s+2, s+3
  EXPECT_EQ(quiet.count(), 3u);  // market 0 at s, market 1 at s and s+2
  auto after_end = [](std::int64_t t_ns, std::int64_t end_s) {
    return static_cast<std::uint64_t>(t_ns - end_s * 1'000'000'000);
  };
  // Busy: ends s+2 .. s+4. Quiet: ends s+1 .. s+3. max() and min() are exact.
  EXPECT_GE(busy.max(), after_end(asked_ns, s + 2));
  EXPECT_LE(busy.max(), after_end(seen_ns, s + 2));
  EXPECT_GE(busy.min(), after_end(asked_ns, s + 4));
  EXPECT_LE(busy.min(), after_end(seen_ns, s + 4));
  EXPECT_GE(quiet.max(), after_end(asked_ns, s + 1));
  EXPECT_LE(quiet.max(), after_end(seen_ns, s + 1));
  EXPECT_GE(quiet.min(), after_end(asked_ns, s + 3));
  EXPECT_LE(quiet.min(), after_end(seen_ns, s + 3));
  EXPECT_TRUE(writer.finish(Clock::now() + std::chrono::seconds(10)));
  const std::string body = influx.query("SELECT count(cbuy) FROM \"aggr_1s\".\"trades_1s\"", "visible");
  EXPECT_NE(body.find("[[0,6]]"), std::string::npos) << "6 points: the amendment overwrote its bar\n" << body;
}

}  // namespace
}  // namespace tickflow
