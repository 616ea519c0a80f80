// Timeframe: parsing, canonical names, epoch alignment, the default list.
#include "pipeline/timeframe.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace tickflow {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse_timeframe_list(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Timeframe, ParsesEveryUnit) {
  EXPECT_EQ(parse_timeframe("1s").seconds(), 1u);
  EXPECT_EQ(parse_timeframe("1m").seconds(), 60u);
  EXPECT_EQ(parse_timeframe("15m").seconds(), 900u);
  EXPECT_EQ(parse_timeframe("4h").seconds(), 14'400u);
  EXPECT_EQ(parse_timeframe("1d").seconds(), 86'400u);
  EXPECT_EQ(parse_timeframe("90s").seconds(), 90u);
  EXPECT_EQ(parse_timeframe("7d").seconds(), 604'800u);
}

TEST(Timeframe, NamesAreCanonical) {
  EXPECT_EQ(parse_timeframe("1s").name(), "1s");
  EXPECT_EQ(parse_timeframe("60s").name(), "1m");
  EXPECT_EQ(parse_timeframe("90s").name(), "90s");
  EXPECT_EQ(parse_timeframe("120m").name(), "2h");
  EXPECT_EQ(parse_timeframe("24h").name(), "1d");
  EXPECT_EQ(parse_timeframe("30m").name(), "30m");
  EXPECT_EQ(Timeframe::from_seconds(14'400).name(), "4h");
  EXPECT_EQ(Timeframe::from_seconds(604'800).name(), "7d");
  EXPECT_EQ(Timeframe().name(), "1s");
  EXPECT_EQ(parse_timeframe("60s"), parse_timeframe("1m"));
}

TEST(Timeframe, RejectsBadTextNamingIt) {
  for (const char* bad : {"", "m", "1", "0m", "-1m", "1.5m", "1w", "1M", "m1", " 1m", "1m ", "8d", "99999999999s"}) {
    SCOPED_TRACE(bad);
    try {
      parse_timeframe(bad);
      ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(Timeframe::from_seconds(0), std::invalid_argument);
  EXPECT_THROW(Timeframe::from_seconds(Timeframe::kMaxSeconds + 1), std::invalid_argument);
}

TEST(Timeframe, ListsKeepOrderAndRejectRepeatsAndEmptyItems) {
  const auto list = parse_timeframe_list("5m,1m,4h");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name(), "5m");
  EXPECT_EQ(list[1].name(), "1m");
  EXPECT_EQ(list[2].name(), "4h");
  EXPECT_EQ(to_string(list), "5m,1m,4h");
  EXPECT_NE(error_of("1m,60s").find("'60s' repeats 1m"), std::string::npos) << error_of("1m,60s");
  EXPECT_NE(error_of("1m,,5m").find("empty item"), std::string::npos);
  EXPECT_NE(error_of("1m,5x").find("'5x'"), std::string::npos) << error_of("1m,5x");
  EXPECT_NE(error_of("").find("empty item"), std::string::npos);
}

TEST(Timeframe, DefaultRollupsAreAggrServers) {
  EXPECT_EQ(to_string(default_rollup_timeframes()), "1m,5m,15m,30m,1h,4h");
}

TEST(Timeframe, WindowsAlignToTheEpoch) {
  const Timeframe h4 = parse_timeframe("4h");
  // 2024-08-09 00:00:00 UTC is 1723161600: a 4h boundary (and a 1d one).
  EXPECT_EQ(h4.window_start(1'723'161'600), 1'723'161'600);
  EXPECT_EQ(h4.window_start(1'723'161'599), 1'723'161'600 - 14'400);
  EXPECT_EQ(parse_timeframe("1d").window_start(1'723'161'599), 1'723'161'600 - 86'400);
  // 7m windows are aligned to the epoch, not to midnight: one straddles it.
  const Timeframe m7 = parse_timeframe("7m");
  EXPECT_EQ(m7.window_start(1'723'161'599), m7.window_start(1'723'161'600));
  EXPECT_EQ(m7.window_start(1'723'161'600) % 420, 0);
  // Before 1970 the floor goes down, not towards zero.
  EXPECT_EQ(parse_timeframe("1m").window_start(-1), -60);
  EXPECT_EQ(parse_timeframe("1m").window_start(-60), -60);
  EXPECT_EQ(parse_timeframe("1m").window_start(-61), -120);
  EXPECT_EQ(floor_div(-1, 1'000'000'000), -1);
  EXPECT_EQ(floor_div(-1'000'000'000, 1'000'000'000), -1);
  EXPECT_EQ(floor_div(999'999'999, 1'000'000'000), 0);
}

}  // namespace
}  // namespace tickflow
