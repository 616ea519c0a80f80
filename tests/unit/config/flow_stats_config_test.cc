// config/pipeline_config: `[bars] flow_stats` turns the aggregator's flow
// statistics (flow_<tf> in InfluxDB) on or off; on by default; a value that
// is not a boolean is an error naming the file and the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/pipeline_config.h"

namespace tickflow {
namespace {

std::string error_of(std::string_view toml) {
  try {
    parse_pipeline_config(toml, std::filesystem::path("flow.toml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(FlowStatsConfig, OnByDefaultAndInEveryProfile) {
  EXPECT_TRUE(parse_pipeline_config("", "flow.toml").bars.flow_stats);
  EXPECT_TRUE(parse_pipeline_config("[bars]\nlateness_ms = 100\n", "flow.toml").bars.flow_stats);
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(TICKFLOW_SOURCE_DIR) / "tuning")) {
    if (entry.path().extension() == ".toml") {
      EXPECT_TRUE(load_pipeline_config(entry.path()).bars.flow_stats) << entry.path();
    }
  }
}

TEST(FlowStatsConfig, FalseTurnsThemOff) {
  EXPECT_FALSE(parse_pipeline_config("[bars]\nflow_stats = false\n", "flow.toml").bars.flow_stats);
  EXPECT_TRUE(parse_pipeline_config("[bars]\nflow_stats = true\n", "flow.toml").bars.flow_stats);
}

TEST(FlowStatsConfig, NonBooleanNamesFileAndKey) {
  const std::string e = error_of("[bars]\nflow_stats = \"yes\"\n");
  EXPECT_NE(e.find("flow.toml"), std::string::npos) << e;
  EXPECT_NE(e.find("bars.flow_stats"), std::string::npos) << e;
  EXPECT_NE(e.find("boolean"), std::string::npos) << e;
  const std::string typo = error_of("[bars]\nflow_stat = true\n");
  EXPECT_NE(typo.find("bars.flow_stat"), std::string::npos) << typo;
}

}  // namespace
}  // namespace tickflow
