// The --stats-out CSV: header, one row per group per closed interval,
// numbers that parse back to the engine's doubles bit for bit, the file.
// (FlowStage, which drives FlowStats from the aggregator's 1 s bars, has
// tests/unit/pipeline/flow_stage_test.cc.)
#include "pipeline/flow_stats_csv.h"
#include "sinks/flow_stats_csv_file.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/market_registry.h"

namespace tickflow {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

double parse(const std::string& s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  EXPECT_TRUE(ec == std::errc{} && end == s.data() + s.size()) << "'" << s << "'";
  return v;
}

// The snapshot's numbers in CSV column order (after time, group, timeframe).
std::vector<double> numbers(const FlowSnapshot& s) {
  return {s.ds,        s.df,       s.cvd_spot, s.cvd_perp, s.divergence, s.volume,       s.close,       s.ds_mean,
          s.ds_std,    s.ds_z,     s.df_mean,  s.df_std,   s.df_z,       s.d_mean,       s.d_std,       s.d_z,
          s.absd_mean, s.absd_std, s.absd_z,   s.ema,      s.vwap,       s.realized_vol, s.volume_surge};
}

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

TEST(FlowStatsCsv, HeaderNamesEveryColumnOfARow) {
  const std::string header(flow_stats_csv_header());
  EXPECT_EQ(header.rfind("time,group,timeframe,ds,df,cvd_spot,cvd_perp,divergence,", 0), 0u);
  FlowSnapshot s;
  s.open_time_s = 1723161300;
  s.timeframe_s = 300;
  s.ds = 1.5;
  s.df = -0.1;
  s.ds_z = std::numeric_limits<double>::infinity();
  s.d_z = -std::numeric_limits<double>::infinity();
  s.close = 61804.8;
  s.ema = std::numeric_limits<double>::quiet_NaN();
  std::string row;
  append_flow_stats_csv_row(row, "BTC", s);
  ASSERT_EQ(row.back(), '\n');
  row.pop_back();
  const auto fields = split(row);
  EXPECT_EQ(fields.size(), split(header).size());
  EXPECT_EQ(row, "1723161300,BTC,300,1.5,-0.1,0,0,0,0,61804.8,0,0,inf,0,0,0,0,0,-inf,0,0,0,nan,0,0,0")
      << "shortest round-trip numbers";
  std::string quoted;
  append_flow_stats_csv_row(quoted, "A,\"B", s);
  EXPECT_NE(quoted.find(",\"A,\"\"B\","), std::string::npos) << quoted;
}

TEST(FlowStatsCsv, WriterRowsParseBackToTheSnapshotsBitForBit) {
  MarketRegistry registry;
  const MarketId btc = registry.intern("BINANCE:btcusdt");
  const MarketId btc_perp = registry.intern("BINANCE_FUTURES:btcusdt");
  registry.intern("BINANCE:ethusdt");  // a group without bars
  const SymbolGroups groups(registry);
  FlowStatsConfig config;
  config.timeframes_s = {1, 5};
  config.series.stats_window = 3;
  FlowStats stats(groups, config);
  const std::string path = ::testing::TempDir() + "flow_stats_csv_test_writer.csv";
  std::vector<std::vector<double>> expected;  // per row
  std::vector<std::string> expected_prefix;
  {
    FlowStatsCsvWriter writer(path);
    auto on_close = [&](std::size_t tf, std::int64_t open) {
      writer.write_closed(stats, tf);
      for (GroupId g = 0; g < groups.size(); ++g) {
        expected.push_back(numbers(stats.snapshot(g, tf)));
        expected_prefix.push_back(std::to_string(open) + "," + groups.name(g) + "," +
                                  std::to_string(config.timeframes_s[tf]));
      }
    };
    for (std::int64_t s = 7000; s < 7013; ++s) {
      stats.add_bar(bar(btc, s, 1000.0 / 3 * static_cast<double>(s % 5), 77.7, 61000 + 0.1 * static_cast<double>(s)));
      if (s % 3 != 0) stats.add_bar(bar(btc_perp, s, 12.5, 100.0 / 7, 60990.5));
      stats.advance_to(s + 1, on_close);
    }
    stats.flush(on_close);
    writer.flush();
    EXPECT_EQ(writer.rows(), expected.size());
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), expected.size() + 1);
  EXPECT_EQ(lines[0], flow_stats_csv_header());
  // 13 one-second closes and 3 five-second ones ([7000, 7005), [7005, 7010), partial [7010, 7015)), 2 groups.
  EXPECT_EQ(expected.size(), 2u * (13 + 3));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto fields = split(lines[i + 1]);
    ASSERT_EQ(fields.size(), 3 + expected[i].size()) << lines[i + 1];
    EXPECT_EQ(fields[0] + "," + fields[1] + "," + fields[2], expected_prefix[i]);
    for (std::size_t k = 0; k < expected[i].size(); ++k) {
      const double got = parse(fields[3 + k]);
      const double want = expected[i][k];
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << "row " << i << " column " << 3 + k;
      } else {
        EXPECT_EQ(std::memcmp(&got, &want, sizeof got), 0)
            << "row " << i << " column " << 3 + k << ": " << fields[3 + k] << " vs " << want;
      }
    }
  }
  std::remove(path.c_str());
}

TEST(FlowStatsCsv, UnwritablePathThrows) {
  EXPECT_THROW(FlowStatsCsvWriter("/nonexistent-dir/x.csv"), std::runtime_error);
}

}  // namespace
}  // namespace tickflow
