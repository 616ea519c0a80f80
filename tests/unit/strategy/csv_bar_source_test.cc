// CsvBarSource: write_csv_bar() -> CsvBarSource round trips every field
// exactly; ISO-8601 times and the short header (no qbuy/qsell) are read;
// mixed 1s/1m markets come out in visible-time order; and every kind of bad
// input is refused with its exact "<path>:<line>: ..." message.
#include "strategy/csv_bar_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tickflow {
namespace {

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09T00:00:00Z
constexpr const char* kHeader = "time,market,timeframe,open,high,low,close,vbuy,vsell,cbuy,csell,lbuy,lsell";
constexpr const char* kFullHeader =
    "time,market,timeframe,open,high,low,close,vbuy,vsell,cbuy,csell,lbuy,lsell,qbuy,qsell";

// A temporary file, removed at the end of the test.
class TempFile {
 public:
  TempFile() {
    char pattern[] = "/tmp/tickflow-csv-bars-XXXXXX";
    const int fd = ::mkstemp(pattern);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    path_ = pattern;
  }
  explicit TempFile(const std::string& text) : TempFile() { std::ofstream(path_, std::ios::binary) << text; }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Bar make_bar(MarketId market, std::int64_t open, std::uint32_t tf, double base) {
  Bar b;
  b.market = market;
  b.open_time_s = open;
  b.timeframe_s = tf;
  b.open = base;
  b.high = base + 0.1;
  b.low = base - 0.2;
  b.close = base + 0.01;
  b.vbuy = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
  b.vsell = base * 1e-7 / 3;
  b.cbuy = 3;
  b.csell = 1;
  b.lbuy = 1e21;
  b.lsell = 5e-324;  // the smallest subnormal
  b.qbuy = 1.0 / 3;
  b.qsell = 123456789.123456789;
  return b;
}

void expect_identical(const Bar& got, const Bar& want) {
  EXPECT_EQ(got.open_time_s, want.open_time_s);
  EXPECT_EQ(got.market, want.market);
  EXPECT_EQ(got.timeframe_s, want.timeframe_s);
  EXPECT_EQ(got.flags, kBarFinal);
  EXPECT_EQ(got.open, want.open);
  EXPECT_EQ(got.high, want.high);
  EXPECT_EQ(got.low, want.low);
  EXPECT_EQ(got.close, want.close);
  EXPECT_EQ(got.vbuy, want.vbuy);
  EXPECT_EQ(got.vsell, want.vsell);
  EXPECT_EQ(got.cbuy, want.cbuy);
  EXPECT_EQ(got.csell, want.csell);
  EXPECT_EQ(got.lbuy, want.lbuy);
  EXPECT_EQ(got.lsell, want.lsell);
  EXPECT_EQ(got.qbuy, want.qbuy);
  EXPECT_EQ(got.qsell, want.qsell);
}

std::vector<Bar> read_all(CsvBarSource& source) {
  std::vector<Bar> out;
  Bar b;
  while (source.next(b)) out.push_back(b);
  return out;
}

// The message CsvBarSource throws for a file holding `text`, with the
// temporary path replaced by "F".
std::string error_for(const std::string& text) {
  TempFile file(text);
  MarketRegistry registry;
  try {
    CsvBarSource source(file.path(), registry);
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    if (message.rfind(file.path(), 0) == 0) message = "F" + message.substr(file.path().size());
    return message;
  }
  return "no error";
}

TEST(CsvBarSource, RoundTripIsExact) {
  MarketRegistry names;
  const MarketId spot = names.intern("BINANCE:btcusdt");
  const MarketId perp = names.intern("BINANCE_FUTURES:btcusdt");
  std::vector<Bar> written;
  for (int i = 0; i < 120; ++i) written.push_back(make_bar(spot, kT0 + i, 1, 61837.63 + i * 0.01));
  for (int i = 0; i < 2; ++i) written.push_back(make_bar(perp, kT0 + 60 * i, 60, 61830.5 + i));
  Bar liquidations;  // no OHLC, only liquidations
  liquidations.market = spot;
  liquidations.open_time_s = kT0 + 120;
  liquidations.lsell = 2500.75;
  written.push_back(liquidations);

  TempFile file;
  std::FILE* out = std::fopen(file.path().c_str(), "w");
  ASSERT_NE(out, nullptr);
  write_csv_bar_header(out);
  for (const Bar& b : written) write_csv_bar(out, b, names.info(b.market).name);
  std::fclose(out);

  MarketRegistry registry;  // fresh: ids come from the file
  CsvBarSource source(file.path(), registry);
  EXPECT_EQ(source.size(), written.size());
  EXPECT_EQ(source.progress(), 0);
  const std::vector<Bar> read = read_all(source);
  EXPECT_EQ(source.progress(), 1);
  ASSERT_EQ(read.size(), written.size());
  ASSERT_EQ(registry.size(), 2u);
  // Map the file's bars back by (name, open) and compare every field.
  for (const Bar& want_named : written) {
    const std::string& name = names.info(want_named.market).name;
    const MarketId id = *registry.find(name);
    Bar want = want_named;
    want.market = id;
    bool found = false;
    for (const Bar& got : read)
      if (got.market == id && got.open_time_s == want.open_time_s) {
        SCOPED_TRACE(name + " at " + std::to_string(want.open_time_s));
        expect_identical(got, want);
        found = true;
      }
    EXPECT_TRUE(found) << name << " at " << want.open_time_s;
  }
  EXPECT_EQ(registry.info(*registry.find("BINANCE_FUTURES:btcusdt")).market_class, MarketClass::kPerp);
}

TEST(CsvBarSource, ReadsIsoTimesNumericTimeframesAndTheShortHeader) {
  TempFile file(std::string(kHeader) + "\r\n" +
                "2024-08-09T00:00:00Z,BINANCE:btcusdt,60,1,2,0.5,1.5,10,20,1,2,0,0\r\n"
                "\r\n"
                "1723161660,BINANCE:btcusdt,1m,1,1,1,1,1,1,1,1,1,1\n");
  MarketRegistry registry;
  CsvBarSource source(file.path(), registry);
  const std::vector<Bar> bars = read_all(source);
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars[0].open_time_s, kT0);
  EXPECT_EQ(bars[0].timeframe_s, 60u);
  EXPECT_EQ(bars[0].low, 0.5);
  EXPECT_EQ(bars[0].vsell, 20);
  EXPECT_EQ(bars[0].qbuy, 0) << "no qbuy/qsell columns";
  EXPECT_EQ(bars[1].open_time_s, kT0 + 60);
  EXPECT_EQ(bars[1].lsell, 1);
}

TEST(CsvBarSource, OrdersByVisibleTimeThenMarket) {
  // The 1m bar of market A opening at kT0 is visible at kT0 + 60: after B's
  // 1 s bars opening at kT0 .. kT0 + 58, tied with B's bar opening at
  // kT0 + 59 (A has the smaller id: first in the file), before B's kT0 + 60.
  std::string text = std::string(kFullHeader) + "\n";
  text += std::to_string(kT0) + ",BINANCE:btcusdt,1m,1,1,1,1,1,1,1,1,0,0,1,1\n";
  for (int i = 0; i <= 60; ++i)
    text += std::to_string(kT0 + i) + ",BINANCE_FUTURES:btcusdt,1s,2,2,2,2,1,1,1,1,0,0,1,1\n";
  TempFile file(text);
  MarketRegistry registry;
  CsvBarSource source(file.path(), registry);
  const MarketId a = *registry.find("BINANCE:btcusdt");
  const MarketId b = *registry.find("BINANCE_FUTURES:btcusdt");
  const std::vector<Bar> bars = read_all(source);
  ASSERT_EQ(bars.size(), 62u);
  for (int i = 0; i < 59; ++i) {
    EXPECT_EQ(bars[i].market, b);
    EXPECT_EQ(bars[i].open_time_s, kT0 + i);
  }
  EXPECT_EQ(bars[59].market, a);
  EXPECT_EQ(bars[59].timeframe_s, 60u);
  EXPECT_EQ(bars[59].open_time_s, kT0);
  EXPECT_EQ(bars[60].market, b);
  EXPECT_EQ(bars[60].open_time_s, kT0 + 59);
  EXPECT_EQ(bars[61].open_time_s, kT0 + 60);
  for (std::size_t i = 1; i < bars.size(); ++i) EXPECT_TRUE(visible_before(bars[i - 1], bars[i])) << i;
}

TEST(CsvBarSource, RefusesBadInputNamingFileAndLine) {
  const std::string h = std::string(kHeader) + "\n";
  const std::string ok = "1723161600,BINANCE:btcusdt,1s,1,1,1,1,1,1,1,1,0,0\n";
  EXPECT_EQ(error_for(""), "F:1: empty file, expected the header '" + std::string(kHeader) + "'");
  EXPECT_EQ(error_for("time,market\n"), "F:1: expected the header '" + std::string(kHeader) +
                                            "' (optionally followed by ',qbuy,qsell'), got 'time,market'");
  EXPECT_EQ(error_for(h + ok + "1723161601,BINANCE:btcusdt,1s,1,1,1,1,1,1,1,1,0\n"),
            "F:3: expected 13 columns, got 12");
  EXPECT_EQ(error_for(std::string(kFullHeader) + "\n" + ok), "F:2: expected 15 columns, got 13");
  EXPECT_EQ(error_for(h + "1723161600,BINANCE:btcusdt,1s,1,1,1,1,1.2.3,1,1,1,0,0\n"),
            "F:2: unparsable number '1.2.3' in column vbuy");
  EXPECT_EQ(error_for(h + "1723161600,BINANCE:btcusdt,1s,1,1,1,1,1,1,1,,0,0\n"),
            "F:2: unparsable number '' in column csell");
  EXPECT_EQ(error_for(h + "1723161600,BINANCE:btcusdt,1s,nan,1,1,1,1,1,1,1,0,0\n"),
            "F:2: unparsable number 'nan' in column open");
  EXPECT_EQ(error_for(h + "yesterday,BINANCE:btcusdt,1s,1,1,1,1,1,1,1,1,0,0\n"),
            "F:2: unparsable time 'yesterday' (expected epoch seconds or YYYY-MM-DDTHH:MM:SSZ)");
  EXPECT_EQ(error_for(h + "2024-02-30T00:00:00Z,BINANCE:btcusdt,1s,1,1,1,1,1,1,1,1,0,0\n"),
            "F:2: unparsable time '2024-02-30T00:00:00Z' (expected epoch seconds or YYYY-MM-DDTHH:MM:SSZ)");
  EXPECT_EQ(error_for(h + "1723161600,BINANCE:btcusdt,5m,1,1,1,1,1,1,1,1,0,0\n"),
            "F:2: unknown timeframe '5m' (expected 1s, 1m, 1 or 60)");
  EXPECT_EQ(error_for(h + "1723161630,BINANCE:btcusdt,1m,1,1,1,1,1,1,1,1,0,0\n"),
            "F:2: bar at 1723161630 is not aligned to its timeframe 1m");
  EXPECT_EQ(error_for(h + "1723161600,btcusdt,1s,1,1,1,1,1,1,1,1,0,0\n"),
            "F:2: bad market 'btcusdt': market name 'btcusdt' is not of the form EXCHANGE:pair in printable ASCII, not "
            "ending in a backslash");
  EXPECT_EQ(error_for(h + ok + "1723161601,OKEX:BTC-USDT,1s,1,1,1,1,1,1,1,1,0,0\n" + ok),
            "F:4: BINANCE:btcusdt bar at 1723161600 duplicates line 2");
  EXPECT_EQ(error_for(h + "1723161605,BINANCE:btcusdt,1s,1,1,1,1,1,1,1,1,0,0\n" + ok),
            "F:3: BINANCE:btcusdt bar at 1723161600 is out of order: line 2 has 1723161605 (each market's bars must "
            "be in time order)");
  EXPECT_EQ(error_for(h + ok + "1723161660,BINANCE:btcusdt,1m,1,1,1,1,1,1,1,1,0,0\n"),
            "F:3: BINANCE:btcusdt has a 1m bar but 1s bars from line 2: one base timeframe per market");
}

TEST(CsvBarSource, AMissingFileIsAClearError) {
  MarketRegistry registry;
  try {
    CsvBarSource source("/nonexistent/bars.csv", registry);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read the bars CSV '/nonexistent/bars.csv': No such file or directory");
  }
}

TEST(CsvBarSource, TheWriterRefusesWhatItCannotWrite) {
  Bar five;
  five.timeframe_s = 300;
  EXPECT_THROW(write_csv_bar(stdout, five, "BINANCE:btcusdt"), std::invalid_argument);
  Bar one;
  EXPECT_THROW(write_csv_bar(stdout, one, "A:b,c"), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
