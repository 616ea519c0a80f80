// InfluxBarSource against a real influxd: 5 hours of 1 s bars for two
// markets, written with the line-protocol encoder the sink uses, read back
// in 1 h and 2 h chunks (and over a range that cuts chunks and hours
// mid-way) equal to what was written, field for field and bit for bit, none
// duplicated or lost at chunk boundaries; the market filter; a database
// that does not exist and a server that is down are clear errors.
#include "strategy/influx_bar_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "pipeline/line_protocol.h"
#include "tests/integration/influxd_process.h"

namespace tickflow {
namespace {

using testing::InfluxdProcess;

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09T00:00:00Z
constexpr std::int64_t kHours = 5;
const char* const kNames[] = {"BINANCE:btcusdt", "BINANCE_FUTURES:btcusdt"};

struct Written {
  std::string name;
  Bar bar;
};

// 5 h of 1 s bars for both markets: random doubles (all 17 digits),
// seconds without trades, and liquidation-only bars (no OHLC on the line).
std::vector<Written> make_bars() {
  std::mt19937_64 rng(20240809);
  std::uniform_real_distribution<double> price(60000, 62000), amount(0.0001, 50000);
  std::uniform_int_distribution<int> kind(0, 19), count(1, 40);
  std::vector<Written> out;
  for (std::int64_t s = kT0; s < kT0 + kHours * 3600; ++s) {
    for (int m = 0; m < 2; ++m) {
      const int k = kind(rng);
      if (k < 3 && s != kT0 && s != kT0 + kHours * 3600 - 1) continue;  // a quiet second (never the first or last)
      Bar b;
      b.open_time_s = s;
      if (k == 3) {
        b.lsell = amount(rng);
      } else {
        b.open = price(rng);
        b.close = price(rng);
        b.high = std::max(b.open, b.close) + amount(rng) / 1e4;
        b.low = std::min(b.open, b.close) - amount(rng) / 1e4;
        b.vbuy = amount(rng);
        b.vsell = amount(rng);
        b.cbuy = count(rng);
        b.csell = count(rng) - 1;
        b.qbuy = b.vbuy / b.open;
        b.qsell = b.vsell / b.close;
        if (k == 4) b.lbuy = amount(rng);
      }
      out.push_back({kNames[m], b});
    }
  }
  return out;
}

void write_all(const InfluxdProcess& influx, const std::vector<Written>& bars) {
  InfluxHttp http(influx.endpoint());
  ASSERT_EQ(http.query("CREATE DATABASE significant_trades").status, 200);
  std::string tags[2] = {escape_tag_value(kNames[0]), escape_tag_value(kNames[1])};
  std::string lines;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    append_bar_line(lines, bars[i].bar, tags[bars[i].name == kNames[0] ? 0 : 1]);
    if ((i + 1) % 5000 == 0 || i + 1 == bars.size()) {
      const HttpResult r = http.write("", "s", lines);
      ASSERT_EQ(r.status, 204) << r.body << r.error;
      lines.clear();
    }
  }
}

// The bars written with open time in [from, to) of `only` (all if empty),
// in BarSource order, with the reader's market ids.
std::vector<Bar> expected(const std::vector<Written>& written, const MarketRegistry& registry, std::int64_t from,
                          std::int64_t to, const std::string& only = {}) {
  std::vector<Bar> out;
  for (const Written& w : written) {
    if (w.bar.open_time_s < from || w.bar.open_time_s >= to || (!only.empty() && w.name != only)) continue;
    Bar b = w.bar;
    b.market = *registry.find(w.name);
    out.push_back(b);
  }
  std::sort(out.begin(), out.end(), visible_before);
  return out;
}

std::vector<Bar> read_all(InfluxBarSource& source) {
  std::vector<Bar> out;
  Bar b;
  double last_progress = 0;
  while (source.next(b)) {
    out.push_back(b);
    EXPECT_GE(source.progress(), last_progress);
    last_progress = source.progress();
  }
  EXPECT_EQ(source.progress(), 1);
  return out;
}

void expect_same(const std::vector<Bar>& got, const std::vector<Bar>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Bar& g = got[i];
    const Bar& w = want[i];
    ASSERT_EQ(g.open_time_s, w.open_time_s) << i;
    ASSERT_EQ(g.market, w.market) << i;
    ASSERT_EQ(g.timeframe_s, 1u) << i;
    ASSERT_EQ(g.flags, kBarFinal) << i;
    const double gv[] = {g.open, g.high,  g.low,  g.close, g.vbuy, g.vsell,
                         g.cbuy, g.csell, g.lbuy, g.lsell, g.qbuy, g.qsell};
    const double wv[] = {w.open, w.high,  w.low,  w.close, w.vbuy, w.vsell,
                         w.cbuy, w.csell, w.lbuy, w.lsell, w.qbuy, w.qsell};
    for (int f = 0; f < 12; ++f) ASSERT_EQ(gv[f], wv[f]) << "bar " << i << " field " << f;
  }
}

TEST(InfluxBarSource, ReadsBackExactlyWhatWasWrittenInAnyChunking) {
  InfluxdProcess influx;
  const std::vector<Written> written = make_bars();
  write_all(influx, written);
  ASSERT_GT(written.size(), 30'000u);

  for (const std::int64_t chunk : {3600, 7200}) {
    SCOPED_TRACE("chunk_s " + std::to_string(chunk));
    MarketRegistry registry;
    InfluxBarQuery q;
    q.url = influx.url();
    q.from_s = kT0;
    q.to_s = kT0 + kHours * 3600;
    q.chunk_s = chunk;
    InfluxBarSource source(q, registry);
    const std::vector<Bar> got = read_all(source);
    EXPECT_EQ(source.queries(),
              2 + static_cast<std::uint64_t>((kHours * 3600 + chunk - 1) / chunk));  // + the existence check
    ASSERT_EQ(registry.size(), 2u);
    const std::vector<Bar> want = expected(written, registry, q.from_s, q.to_s);
    EXPECT_EQ(got.size(), written.size());
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.front().open_time_s, kT0);
    EXPECT_EQ(got.back().open_time_s, kT0 + kHours * 3600 - 1);
    expect_same(got, want);
    for (std::size_t i = 1; i < got.size(); ++i) ASSERT_TRUE(visible_before(got[i - 1], got[i])) << i;
  }

  // A range that starts and ends mid-chunk, with a chunk size that divides
  // nothing evenly: still every bar in [from, to), once.
  {
    MarketRegistry registry;
    InfluxBarQuery q;
    q.url = influx.url();
    q.from_s = kT0 + 1800 + 17;
    q.to_s = kT0 + 4 * 3600 + 5;
    q.chunk_s = 1237;
    InfluxBarSource source(q, registry);
    const std::vector<Bar> got = read_all(source);
    expect_same(got, expected(written, registry, q.from_s, q.to_s));
  }

  // The market filter.
  {
    MarketRegistry registry;
    InfluxBarQuery q;
    q.url = influx.url();
    q.from_s = kT0;
    q.to_s = kT0 + 3600;
    q.markets = {kNames[1]};
    InfluxBarSource source(q, registry);
    const std::vector<Bar> got = read_all(source);
    ASSERT_EQ(registry.size(), 1u);
    EXPECT_EQ(registry.info(0).market_class, MarketClass::kPerp);
    expect_same(got, expected(written, registry, q.from_s, q.to_s, kNames[1]));
  }

  // Nothing in range: no bars, no error.
  {
    MarketRegistry registry;
    InfluxBarQuery q;
    q.url = influx.url();
    q.from_s = kT0 - 86'400;
    q.to_s = kT0;
    InfluxBarSource source(q, registry);
    Bar b;
    EXPECT_FALSE(source.next(b));
    EXPECT_EQ(source.queries(), 2u + 12u);
  }
}

TEST(InfluxBarSource, AMissingDatabaseIsAClearError) {
  InfluxdProcess influx;
  MarketRegistry registry;
  InfluxBarQuery q;
  q.url = influx.url();
  q.database = "nosuch";
  q.from_s = kT0;
  q.to_s = kT0 + 3600;
  InfluxBarSource source(q, registry);
  Bar b;
  try {
    source.next(b);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("InfluxDB " + influx.url() +
                           " database 'nosuch' trades_1s chunk [2024-08-09T00:00:00Z, "
                           "2024-08-09T01:00:00Z) = [1723161600, 1723165200)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("database not found"), std::string::npos) << message;
  }
}

TEST(InfluxBarSource, AMissingMeasurementIsAClearError) {
  InfluxdProcess influx;
  InfluxHttp http(influx.endpoint());
  ASSERT_EQ(http.query("CREATE DATABASE significant_trades").status, 200);
  MarketRegistry registry;
  InfluxBarQuery q;
  q.url = influx.url();
  q.measurement = "trades_1m";
  q.from_s = kT0;
  q.to_s = kT0 + 3600;
  InfluxBarSource source(q, registry);
  Bar b;
  try {
    source.next(b);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "InfluxDB " + influx.url() +
                                         " database 'significant_trades' trades_1m chunk [2024-08-09T00:00:00Z, "
                                         "2024-08-09T01:00:00Z) = [1723161600, 1723165200): measurement not found in "
                                         "the database");
  }
}

TEST(InfluxBarSource, AServerThatIsDownIsAClearErrorWithoutCredentials) {
  const int port = testing::free_loopback_port();  // nobody listens
  MarketRegistry registry;
  InfluxBarQuery q;
  q.url = "http://reader:s3cret@127.0.0.1:" + std::to_string(port);
  q.from_s = kT0 + 7200;
  q.to_s = kT0 + 86'400;
  InfluxBarSource source(q, registry);
  Bar b;
  try {
    source.next(b);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("InfluxDB http://127.0.0.1:" + std::to_string(port) +
                                " database 'significant_trades' trades_1s chunk [2024-08-09T02:00:00Z, "
                                "2024-08-09T04:00:00Z) = [1723168800, 1723176000): query failed: ",
                            0),
              0u)
        << message;
    EXPECT_EQ(message.find("s3cret"), std::string::npos) << message;
  }
}

TEST(InfluxBarSource, RefusesAMeasurementThatIsNotABaseTimeframe) {
  MarketRegistry registry;
  InfluxBarQuery q;
  q.measurement = "trades_5m";
  EXPECT_THROW((InfluxBarSource{q, registry}), std::invalid_argument);
  q.measurement = "trades_1m";
  EXPECT_NO_THROW((InfluxBarSource{q, registry}));
  q.chunk_s = 0;
  EXPECT_THROW((InfluxBarSource{q, registry}), std::invalid_argument);
}

}  // namespace
}  // namespace tickflow
