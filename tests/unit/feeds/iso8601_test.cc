// feeds/iso8601.h: text timestamps to ns without allocating (Coinbase,
// BitMEX ISO-8601; Kraken decimal seconds). Expected values were computed
// with Python's calendar.timegm.
#include "feeds/iso8601.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace tickflow {
namespace {

std::int64_t iso(std::string_view s) {
  std::int64_t ns = -1;
  EXPECT_TRUE(parse_iso8601_ns(s, ns)) << s;
  return ns;
}
bool iso_rejects(std::string_view s) {
  std::int64_t ns = 12345;
  const bool ok = parse_iso8601_ns(s, ns);
  EXPECT_EQ(ns, 12345) << "output written on failure: " << s;
  return !ok;
}
std::int64_t secs(std::string_view s) {
  std::int64_t ns = -1;
  EXPECT_TRUE(parse_epoch_seconds_ns(s, ns)) << s;
  return ns;
}
bool secs_rejects(std::string_view s) {
  std::int64_t ns = 0;
  return !parse_epoch_seconds_ns(s, ns);
}

// Usable at compile time.
static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(days_from_civil(2000, 3, 1) == 11017);
static_assert([] {
  std::int64_t ns = 0;
  return parse_iso8601_ns("2021-04-17T16:43:37.312313Z", ns) && ns == 1618677817312313000;
}());

TEST(Iso8601, ExchangeExamples) {
  EXPECT_EQ(iso("2021-04-17T16:43:37.312313Z"), 1618677817312313000);  // Coinbase, microseconds
  EXPECT_EQ(iso("2021-04-17T16:43:37.089723Z"), 1618677817089723000);
  EXPECT_EQ(iso("2021-07-22T22:36:10.014Z"), 1626993370014000000);  // BitMEX, milliseconds
  EXPECT_EQ(iso("2024-05-01T12:51:30.512345Z"), 1714567890512345000);
}

TEST(Iso8601, FractionDigitsAreExact) {
  EXPECT_EQ(iso("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(iso("1970-01-01T00:00:00.5Z"), 500000000);
  EXPECT_EQ(iso("1970-01-01T00:00:00.000000001Z"), 1);
  EXPECT_EQ(iso("1970-01-01T00:00:00.123456789Z"), 123456789);
  EXPECT_EQ(iso("1970-01-01T00:00:01.999999999Z"), 1999999999);
  EXPECT_EQ(iso("2000-01-01T00:00:00Z"), 946684800LL * 1'000'000'000);
  EXPECT_EQ(iso("2200-12-31T23:59:59Z"), 7289654399LL * 1'000'000'000);
}

TEST(Iso8601, CalendarRules) {
  EXPECT_EQ(iso("2024-02-29T23:59:59Z"), 1709251199LL * 1'000'000'000);  // leap year
  EXPECT_EQ(iso("2000-02-29T00:00:00Z"), 951782400LL * 1'000'000'000);   // divisible by 400
  EXPECT_TRUE(iso_rejects("2023-02-29T00:00:00Z"));
  EXPECT_TRUE(iso_rejects("2100-02-29T00:00:00Z"));  // divisible by 100, not 400
  EXPECT_TRUE(iso_rejects("2021-04-31T00:00:00Z"));
  EXPECT_TRUE(iso_rejects("2021-13-01T00:00:00Z"));
  EXPECT_TRUE(iso_rejects("2021-00-01T00:00:00Z"));
  EXPECT_TRUE(iso_rejects("2021-01-00T00:00:00Z"));
  EXPECT_TRUE(iso_rejects("2021-01-32T00:00:00Z"));
  EXPECT_TRUE(iso_rejects("2021-01-01T24:00:00Z"));
  EXPECT_TRUE(iso_rejects("2021-01-01T00:60:00Z"));
  EXPECT_TRUE(iso_rejects("2021-01-01T00:00:60Z"));  // leap seconds are not sent
  EXPECT_TRUE(iso_rejects("1969-12-31T23:59:59Z"));
  EXPECT_TRUE(iso_rejects("2201-01-01T00:00:00Z"));
}

TEST(Iso8601, DaysFromCivilCountsEveryDay) {
  // Walk every day from 1970 to 2200 and check that consecutive dates are
  // consecutive day numbers, i.e. month lengths and leap years are right.
  std::int64_t expected = 0;
  for (std::int64_t y = 1970; y <= 2200; ++y) {
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d = 1; d <= days_in_month(y, m); ++d) {
        ASSERT_EQ(days_from_civil(y, m, d), expected) << y << "-" << m << "-" << d;
        ++expected;
      }
    }
  }
  EXPECT_EQ(expected, days_from_civil(2201, 1, 1));
}

TEST(Iso8601, MalformedTextIsRejected) {
  const char* bad[] = {
      "",
      "2021",
      "2021-04-17",
      "2021-04-17T16:43:37",         // no zone
      "2021-04-17T16:43:37.312313",  // no zone
      "2021-04-17T16:43:37.312313z",
      "2021-04-17T16:43:37+00:00",  // only Z (UTC) is accepted
      "2021-04-17 16:43:37Z",
      "2021/04/17T16:43:37Z",
      "2021-04-17T16:43:37.Z",            // empty fraction
      "2021-04-17T16:43:37.1234567891Z",  // more than 9 digits
      "2021-04-17T16:43:37.312313ZZ",
      "2021-04-17T16:43:37.31a313Z",
      "2O21-04-17T16:43:37Z",
      "-021-04-17T16:43:37Z",
      "2021-4-17T16:43:37Z",
      " 2021-04-17T16:43:37Z",
  };
  for (const char* s : bad) EXPECT_TRUE(iso_rejects(s)) << s;
}

TEST(Iso8601EpochSeconds, KrakenExamples) {
  EXPECT_EQ(secs("1618678142.557535"), 1618678142557535000);
  EXPECT_EQ(secs("1618678145.920708"), 1618678145920708000);
  EXPECT_EQ(secs("1618678142"), 1618678142000000000);
  EXPECT_EQ(secs("1618678142.5"), 1618678142500000000);
  EXPECT_EQ(secs("1618678142.123456789"), 1618678142123456789);
  EXPECT_EQ(secs("0.000000001"), 1);
}

TEST(Iso8601EpochSeconds, MalformedTextIsRejected) {
  for (const char* s : {"", ".5", "1618678142.", "-1618678142.5", "1e9", "1618678142.5s", "16186781 42.5",
                        "1618678142.1234567891", "123456789012.5", "1618678142..5", "abc"})
    EXPECT_TRUE(secs_rejects(s)) << s;
}

TEST(Iso8601Plausible, Bounds) {
  EXPECT_FALSE(plausible_exchange_ns(946684800LL * 1'000'000'000 - 1));
  EXPECT_TRUE(plausible_exchange_ns(946684800LL * 1'000'000'000));
  EXPECT_TRUE(plausible_exchange_ns(1618677817312313000));
  EXPECT_TRUE(plausible_exchange_ns(4102444800LL * 1'000'000'000));
  EXPECT_FALSE(plausible_exchange_ns(4102444800LL * 1'000'000'000 + 1));
}

}  // namespace
}  // namespace tickflow
