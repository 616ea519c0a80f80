// tests/unit/strategy/decision_csv_test.cc
//
// The strategy's debug CSV: a header naming every column (per configured
// timeframe), one row per evaluation with exactly as many fields, the
// decision's values in it, and clear errors for a path that cannot be
// written.
#include "strategy/decision_csv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tickflow {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(DecisionCsv, HeaderNamesEveryColumnAndRowsMatchIt) {
  const auto dir = std::filesystem::temp_directory_path() / ("tickflow-decision-csv-" + std::to_string(getpid()));
  const auto path = dir / "sub" / "debug.csv";
  SqueezeFlowParams params;
  Decision d;
  d.time_s = 1723161600;
  d.action = Decision::kLong;
  d.direction = Direction::kLong;
  d.price = 61837.63;
  d.score.total = 6.5;
  d.score.reset = 2.8;
  d.sizing = sizing_for(6.5);
  d.divergence.setup = Setup::kLongSetup;
  d.divergence.timeframe_index = 0;
  d.divergence.per_timeframe[0].z_spot = 1.25;
  d.reset.per_timeframe[1].reset = true;
  d.reset.per_timeframe[1].type_a = true;
  Decision quiet;
  quiet.time_s = 1723161601;
  quiet.blocked = Decision::kCooldown;
  {
    DecisionCsv csv(path, params);
    csv.write("BTC", d);
    csv.write("BTC", quiet);
    EXPECT_EQ(csv.rows(), 2u);
    csv.close();
  }
  const std::vector<std::string> lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  const std::vector<std::string> header = split(lines[0]);
  // 9 leading columns, 6 per context timeframe (3), 2 + 7 per divergence
  // timeframe (2), 1 + 4 per reset timeframe (3), 12 trailing.
  EXPECT_EQ(header.size(), 9u + 6 * 3 + 2 + 7 * 2 + 1 + 4 * 3 + 12);
  EXPECT_EQ(header[0], "time_s");
  EXPECT_NE(lines[0].find("ctx_4h_bias"), std::string::npos);
  EXPECT_NE(lines[0].find("div_15m_z_spot"), std::string::npos);
  EXPECT_NE(lines[0].find("reset_15m_type"), std::string::npos);
  for (std::size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(split(lines[i]).size(), header.size()) << lines[i];
  const std::vector<std::string> row = split(lines[1]);
  auto column = [&](const std::string& name) {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return row[i];
    return std::string("<no column " + name + ">");
  };
  EXPECT_EQ(column("time_s"), "1723161600");
  EXPECT_EQ(column("symbol"), "BTC");
  EXPECT_EQ(column("price"), "61837.63");
  EXPECT_EQ(column("setup"), "LONG_SETUP");
  EXPECT_EQ(column("div_15m_z_spot"), "1.25");
  EXPECT_EQ(column("reset_15m_type"), "A");
  EXPECT_EQ(column("reset_15m_reset"), "1");
  EXPECT_EQ(column("score_total"), "6.5");
  EXPECT_EQ(column("tier"), "HIGH");
  EXPECT_EQ(column("action"), "LONG");
  EXPECT_EQ(split(lines[2]).back(), "cooldown");
  std::filesystem::remove_all(dir);
}

TEST(DecisionCsv, UnwritablePathNamesIt) {
  try {
    DecisionCsv csv("/proc/tickflow-no-such-dir/debug.csv", SqueezeFlowParams{});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("strategy debug CSV /proc/tickflow-no-such-dir/debug.csv"), std::string::npos)
        << e.what();
  }
}

TEST(DecisionCsv, AFailedWriteIsReportedByClose) {
  DecisionCsv csv("/dev/full", SqueezeFlowParams{});
  Decision d;
  for (int i = 0; i < 1000; ++i) csv.write("BTC", d);  // past stdio's buffer
  EXPECT_THROW(csv.close(), std::runtime_error);
}

}  // namespace
}  // namespace tickflow
