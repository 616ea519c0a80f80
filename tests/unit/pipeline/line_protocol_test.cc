// Line protocol: exact lines (fields, order, float forms, timestamp),
// rollup measurements, liquidation-only bars without OHLC, the qbuy/qsell
// switch, tag escaping, non-finite values, and appending without allocating.
#include "pipeline/line_protocol.h"

#include <gtest/gtest.h>

#include <charconv>
#include <limits>
#include <string>

namespace tickflow {
namespace {

Bar sample_bar() {
  Bar b;
  b.open_time_s = 1'723'161'255;
  b.market = 0;
  b.timeframe_s = 1;
  b.open = 61837.63;
  b.high = 61837.64;
  b.low = 61837.63;
  b.close = 61837.64;
  b.vbuy = 123.45;
  b.vsell = 0.1 + 0.2;  // 0.30000000000000004: shortest round trip keeps every digit
  b.cbuy = 3;
  b.csell = 1;
  b.lbuy = 0;
  b.lsell = 0;
  b.qbuy = 0.002;
  b.qsell = 1e-7;
  return b;
}

std::string line_of(const Bar& bar, std::string_view tag = "BINANCE:btcusdt", LineProtocolOptions options = {}) {
  std::string out;
  append_bar_line(out, bar, tag, options);
  return out;
}

TEST(LineProtocol, OneSecondBarExactly) {
  EXPECT_EQ(line_of(sample_bar()),
            "trades_1s,market=BINANCE:btcusdt open=61837.63,high=61837.64,low=61837.63,close=61837.64,"
            "vbuy=123.45,vsell=0.30000000000000004,cbuy=3,csell=1,lbuy=0,lsell=0,qbuy=0.002,qsell=1e-07 "
            "1723161255\n");
}

TEST(LineProtocol, RollupMeasurementsAreNamedByTimeframe) {
  Bar b = sample_bar();
  for (auto [seconds, name] : {std::pair{60u, "trades_1m,"},
                               {300u, "trades_5m,"},
                               {900u, "trades_15m,"},
                               {1800u, "trades_30m,"},
                               {3600u, "trades_1h,"},
                               {14'400u, "trades_4h,"},
                               {86'400u, "trades_1d,"},
                               {420u, "trades_7m,"}}) {
    b.timeframe_s = seconds;
    b.open_time_s = 1'723'161'600;
    const std::string line = line_of(b);
    EXPECT_EQ(line.rfind(name, 0), 0u) << line;
    EXPECT_TRUE(line.ends_with(" 1723161600\n")) << line;
  }
}

TEST(LineProtocol, CountsAreFloatsWithoutSuffix) {
  Bar b = sample_bar();
  b.cbuy = 123456789;
  b.csell = 0;
  const std::string line = line_of(b);
  EXPECT_NE(line.find(",cbuy=123456789,csell=0,"), std::string::npos) << line;
  EXPECT_EQ(line.find("i,"), std::string::npos) << "no integer fields: aggr-server typed them as floats";
}

TEST(LineProtocol, LiquidationOnlyBarOmitsOhlc) {
  Bar b;
  b.open_time_s = 1'723'161'300;
  b.timeframe_s = 1;
  b.lsell = 30000;
  b.lbuy = 15025.5;
  EXPECT_FALSE(b.has_ohlc());
  EXPECT_EQ(line_of(b, "BINANCE_FUTURES:btcusdt"),
            "trades_1s,market=BINANCE_FUTURES:btcusdt vbuy=0,vsell=0,cbuy=0,csell=0,lbuy=15025.5,lsell=30000,"
            "qbuy=0,qsell=0 1723161300\n");
}

TEST(LineProtocol, BaseVolumeSwitchLeavesOutQbuyQsell) {
  LineProtocolOptions strict;
  strict.base_volume = false;
  EXPECT_EQ(line_of(sample_bar(), "BINANCE:btcusdt", strict),
            "trades_1s,market=BINANCE:btcusdt open=61837.63,high=61837.64,low=61837.63,close=61837.64,"
            "vbuy=123.45,vsell=0.30000000000000004,cbuy=3,csell=1,lbuy=0,lsell=0 1723161255\n");
}

TEST(LineProtocol, EscapesTagValues) {
  EXPECT_EQ(escape_tag_value("BINANCE:btcusdt"), "BINANCE:btcusdt");
  EXPECT_EQ(escape_tag_value("A B,C=D"), "A\\ B\\,C\\=D");
  EXPECT_EQ(escape_tag_value("KRAKEN:XBT/USD"), "KRAKEN:XBT/USD");
  // Backslashes stay as they are (InfluxDB keeps them literally); the
  // delimiters after them are escaped as everywhere.
  EXPECT_EQ(escape_tag_value("X:a\\b"), "X:a\\b");
  EXPECT_EQ(escape_tag_value("X:a\\,b c=d"), "X:a\\\\,b\\ c\\=d");
  BarLineEncoder encoder;
  encoder.set_market(2, "ODD EX:a,b=c");
  EXPECT_TRUE(encoder.has_market(2));
  EXPECT_FALSE(encoder.has_market(1));
  EXPECT_FALSE(encoder.has_market(3));
  Bar b = sample_bar();
  b.market = 2;
  std::string out;
  encoder.append(out, b);
  EXPECT_EQ(out.rfind("trades_1s,market=ODD\\ EX:a\\,b\\=c open=61837.63,", 0), 0u) << out;
}

TEST(LineProtocol, FloatsRoundTripExactly) {
  Bar b = sample_bar();
  b.vbuy = 61837.63 * 0.00123 + 61837.64 * 0.5;  // a sum with a long shortest form
  const std::string line = line_of(b);
  const auto at = line.find(",vbuy=") + 6;
  double parsed = 0;
  std::from_chars(line.data() + at, line.data() + line.size(), parsed);
  EXPECT_EQ(parsed, b.vbuy);
}

TEST(LineProtocol, NeverWritesNanOrInf) {
  Bar b = sample_bar();
  b.vsell = std::numeric_limits<double>::infinity();
  b.qbuy = std::numeric_limits<double>::quiet_NaN();
  const std::string line = line_of(b);
  EXPECT_EQ(line.find("inf"), std::string::npos) << line;
  EXPECT_EQ(line.find("nan"), std::string::npos) << line;
  EXPECT_NE(line.find(",vbuy=123.45,cbuy=3,"), std::string::npos) << line;
  EXPECT_NE(line.find(",lsell=0,qsell=1e-07 "), std::string::npos) << line;
}

TEST(LineProtocol, AppendsWithoutAllocatingOnceTheBufferHasRoom) {
  std::string out;
  out.reserve(1 << 16);
  const char* data = out.data();
  const Bar b = sample_bar();
  for (int i = 0; i < 100; ++i) append_bar_line(out, b, "BINANCE:btcusdt");
  EXPECT_EQ(out.data(), data) << "no reallocation";
  EXPECT_EQ(out.size(), 100 * line_of(b).size());
  EXPECT_LE(line_of(b).size(), max_bar_line_bytes(15));
}

TEST(LineProtocol, WorstCaseLineFitsTheBound) {
  Bar b;
  b.open_time_s = std::numeric_limits<std::int64_t>::min();
  b.timeframe_s = 604'800;
  b.open = b.high = b.low = b.close = -2.2250738585072014e-308;
  b.vbuy = b.vsell = b.lbuy = b.lsell = b.qbuy = b.qsell = -1.2345678901234567e-300;
  b.cbuy = b.csell = 1.2345678901234567e+300;  // positive: has_ohlc(), so OHLC is written too
  const std::string line = line_of(b, "X");
  EXPECT_LE(line.size(), max_bar_line_bytes(1)) << line;
}

}  // namespace
}  // namespace tickflow
