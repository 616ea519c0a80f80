// tests/unit/runtime/backtest_command_test.cc
//
// `tickflow backtest --from/--to`: the time forms it takes (epoch seconds,
// ISO-8601 UTC with or without Z or +00:00, a date alone) and the ones it
// refuses, with the instants they name.
#include "runtime/backtest_command.h"

#include <gtest/gtest.h>

namespace tickflow {
namespace {

TEST(BacktestTimeArgument, EpochSecondsAndIsoForms) {
  EXPECT_EQ(parse_time_argument("1723161600"), 1723161600);
  EXPECT_EQ(parse_time_argument("-60"), -60);
  EXPECT_EQ(parse_time_argument("2024-08-09T00:00:00Z"), 1723161600);
  EXPECT_EQ(parse_time_argument("2024-08-09T00:00:00"), 1723161600);
  EXPECT_EQ(parse_time_argument("2024-08-09T00:00:00+00:00"), 1723161600);
  EXPECT_EQ(parse_time_argument("2024-08-09"), 1723161600);
  EXPECT_EQ(parse_time_argument("2024-08-09Z"), 1723161600);
  EXPECT_EQ(parse_time_argument("2024-02-29T23:59:59Z"), 1709251199);  // a leap day's last second
}

TEST(BacktestTimeArgument, RefusesWhatIsNotAnInstant) {
  for (const char* bad : {"", "-", "yesterday", "2024-02-30", "2024-08-09T24:00:00Z", "2024-08-09T00:00:00+02:00",
                          "2024-8-9", "1723161600s", "2024-08-09 00:00:00"})
    EXPECT_FALSE(parse_time_argument(bad).has_value()) << bad;
}

}  // namespace
}  // namespace tickflow
