// write_shortest must be byte-identical to std::to_chars: checked over
// millions of values of every shape the fast path handles (ticks, lots,
// whole numbers, trailing zeros, negatives, magnitude edges) and of shapes it
// must hand back (tiny, huge, odd doubles, -0, subnormals).
#include "pipeline/shortest_double.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace tickflow {
namespace {

std::string reference(double v) {
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, v).ptr);
}

std::string ours(double v) {
  char buffer[32];
  return std::string(buffer, write_shortest(buffer, v));
}

std::uint64_t mismatches_over(const std::vector<double>& values) {
  std::uint64_t bad = 0;
  for (double v : values) {
    if (ours(v) != reference(v)) {
      if (bad++ < 5) ADD_FAILURE() << "value " << reference(v) << ": got " << ours(v);
    }
  }
  return bad;
}

TEST(WriteShortest, EqualsToCharsOnHandPickedEdges) {
  const double edges[] = {0.0,       -0.0,   0.01,     0.009999, 0.05,
                          0.1,       0.5,    1,        10,       100,
                          1000,      10000,  99999,    100000,   120000,
                          123456,    1e6,    61837.63, 61837.6,  61837.0,
                          -61837.63, -0.01,  -100000,  1e13,     9999999999999.99,
                          1e13 - 1,  5e-324, 1e-310,   1e300,    std::numeric_limits<double>::max(),
                          0.07,      0.29,   1.005,    2.675,    1234567.89,
                          100.10,    1.1,    0.3,      3.14159};
  EXPECT_EQ(mismatches_over(std::vector<double>(std::begin(edges), std::end(edges))), 0u);
}

TEST(WriteShortest, EqualsToCharsOnMillionsOfTicksLotsAndWholeNumbers) {
  std::mt19937_64 rng(7);
  std::vector<double> values;
  values.reserve(5'000'000);
  for (int i = 0; i < 1'000'000; ++i) {
    const auto k = static_cast<std::int64_t>(rng() % 10'000'000'000'000ull);  // up to 1e11 in ticks
    values.push_back(static_cast<double>(k) / 100.0);
    values.push_back(static_cast<double>(static_cast<std::int64_t>(rng() % 2'000'000)) - 1'000'000);  // whole
    values.push_back(std::round(std::ldexp(static_cast<double>(rng() >> 11), -53) * 3e5) / 1e5);      // 1e-5 lots
    values.push_back(std::round(std::ldexp(static_cast<double>(rng() >> 11), -53) * 3e9) / 1e8);      // 1e-8 lots to 30
    values.push_back(std::round(std::ldexp(static_cast<double>(rng() >> 11), -53) * 1e4) / 1e7);      // 0.001-ish, 7 dp
  }
  EXPECT_EQ(mismatches_over(values), 0u);
}

TEST(WriteShortest, EqualsToCharsOnArbitraryDoubles) {
  std::mt19937_64 rng(11);
  std::vector<double> values;
  for (int i = 0; i < 1'000'000; ++i) {
    double v;
    const std::uint64_t bits = rng();
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) values.push_back(v);
    values.push_back(std::ldexp(static_cast<double>(rng() >> 11), -53) *
                     std::pow(10.0, static_cast<int>(rng() % 30) - 10));
  }
  EXPECT_EQ(mismatches_over(values), 0u);
}

}  // namespace
}  // namespace tickflow
