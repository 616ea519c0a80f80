// tests/integration/backtest_roundtrip_test.cc
//
// The backtest reads what the pipeline writes (issue 14): the bundled
// Binance captures (BTC and ETH: spot, USD-M, COIN-M) go through
// `tickflow replay --influx` into a real influxd, exactly as the pipeline
// writes them (aggr_1s.trades_1s, aggr_1m.trades_1m, ...), and
// `tickflow backtest --influx` over them must give the same files as
// `tickflow backtest --capture` on the same captures: trades.csv,
// equity.csv, equity.svg and signals.jsonl byte for byte, report.json byte
// for byte but for its "source" line (which names the input). The replay
// also writes its bars to a file (--bars-out, the sink's bytes), from which
// the tests derive the exact numbers they expect: bars read, seconds
// present per market, gaps, what an empty range's error lists.
//
// Also: an empty range (or the wrong retention policy) exits 1 and says
// where the data is; --base 1m reads aggr_1m.trades_1m and equals a CSV
// backtest of the same 1 m bars; --base auto falls back to 1 m bars for a
// market whose early 1 s bars are gone, as after a retention policy expired
// them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/influxd_process.h"
#include "tests/integration/tickflow_child.h"

namespace tickflow {
namespace {

using testing::InfluxdProcess;
using testing::read_file;
namespace fs = std::filesystem;

// Passes of the six-minute captures for the comparisons: 8 hours, so
// SqueezeFlow's 5m..4h phases have history and the strategy trades (replay
// --repeat and backtest --capture --repeat shift pass k by k x the
// captures' span). The error and --base auto tests need one pass.
constexpr int kRepeat = 80;

const std::string kData = TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades";
const std::string kConfig = TICKFLOW_SOURCE_DIR "/tuning/laptop-2core.toml";
const std::vector<std::string> kCaptures = {
    "BINANCE=" + kData + "/spot_btcusdt.gz",           "BINANCE_FUTURES=" + kData + "/usdm_btcusdt.gz",
    "BINANCE_FUTURES=" + kData + "/cm_btcusd_perp.gz", "BINANCE=" + kData + "/spot_ethusdt.gz",
    "BINANCE_FUTURES=" + kData + "/usdm_ethusdt.gz",   "BINANCE_FUTURES=" + kData + "/cm_ethusd_perp.gz"};
constexpr std::int64_t kFrom = 1723075200;  // 2024-08-08T00:00:00Z
constexpr std::int64_t kTo = 1723248000;    // 2024-08-10T00:00:00Z

// A replay or backtest as a child process: its exit status. The limit is
// ctest's (600 s): a run under ASan takes minutes.
int run_tickflow(const std::vector<std::string>& args, const fs::path& stderr_path) {
  return testing::run_to_exit(args, stderr_path, std::chrono::seconds(600));
}

// report.json without its "source" line, the one that names the input.
std::string without_source(const std::string& report) {
  std::string out;
  std::istringstream in(report);
  std::string line;
  while (std::getline(in, line))
    if (line.find("\"source\":") == std::string::npos) out += line + "\n";
  return out;
}

// A number in report.json ("bars": "123" or "steps": 123).
long long report_value(const std::string& report, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(report, m, std::regex("\"" + key + "\": \"?(-?[0-9]+)"))) return -1;
  return std::stoll(m[1]);
}

// measurement -> market -> open time -> the line's fields, from the replay's
// --bars-out file (a re-sent bar replaces the earlier line, as in InfluxDB).
using Points = std::map<std::string, std::map<std::string, std::map<std::int64_t, std::string>>>;
Points parse_bars(const std::string& text) {
  Points points;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto comma = line.find(",market=");
    const auto space = line.find(' ');
    const auto last = line.rfind(' ');
    if (comma == std::string::npos || space == std::string::npos || last == space) continue;
    points[line.substr(0, comma)][line.substr(comma + 8, space - comma - 8)][std::stoll(line.substr(last + 1))] =
        line.substr(space + 1, last - space - 1);
  }
  return points;
}

std::size_t count(const std::map<std::string, std::map<std::int64_t, std::string>>& by_market) {
  std::size_t n = 0;
  for (const auto& [market, bars] : by_market) n += bars.size();
  return n;
}

// The captures replayed into a fresh influxd, and the same bars as a file.
class RoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = influx_.dir() / "work";
    fs::create_directories(dir_);
    std::vector<std::string> args = {"replay",     "--influx",      influx_.url(), "--db", "significant_trades",
                                     "--bars-out", path("bars.lp"), "--quiet"};
    if (repeat() > 1) args.insert(args.end(), {"--repeat", std::to_string(repeat())});
    args.insert(args.end(), kCaptures.begin(), kCaptures.end());
    ASSERT_EQ(run_tickflow(args, path("replay.err")), 0) << read_file(path("replay.err"));
    bars_ = parse_bars(read_file(path("bars.lp")));
    ASSERT_EQ(bars_["trades_1s"].size(), 6u);
    ASSERT_EQ(bars_["trades_1m"].size(), 6u);
  }

  virtual int repeat() const { return 1; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // `tickflow backtest --config laptop-2core --out DIR --quiet EXTRA...`: its exit status.
  int backtest(const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"backtest", "--config", kConfig, "--out", path(out), "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tickflow(args, path(out + ".err"));
  }
  std::vector<std::string> influx_args(const std::string& from = "2024-08-08", const std::string& to = "2024-08-10") {
    return {"--influx", influx_.url(), "--from", from, "--to", to};
  }
  std::string err(const std::string& out) const { return read_file(path(out + ".err")); }

  InfluxdProcess influx_;
  fs::path dir_;
  Points bars_;
};

// The same, the captures played kRepeat times.
class LongRoundTrip : public RoundTrip {
 protected:
  int repeat() const override { return kRepeat; }
};

// The same files from both sides, but for report.json's "source" line.
void expect_same_backtest(const fs::path& a, const fs::path& b) {
  for (const char* f : {"trades.csv", "equity.csv", "equity.svg", "signals.jsonl"}) {
    SCOPED_TRACE(f);
    ASSERT_TRUE(fs::exists(a / f) && fs::exists(b / f));
    EXPECT_TRUE(read_file(a / f) == read_file(b / f)) << f << " differs between " << a << " and " << b;
  }
  const std::string ra = read_file(a / "report.json"), rb = read_file(b / "report.json");
  EXPECT_NE(ra, rb) << "the source lines should differ";
  EXPECT_EQ(without_source(ra), without_source(rb));
}

TEST_F(LongRoundTrip, TheInfluxBacktestEqualsTheCaptureBacktest) {
  std::vector<std::string> capture_args;
  for (const std::string& c : kCaptures) capture_args.insert(capture_args.end(), {"--capture", c});
  if (kRepeat > 1) capture_args.insert(capture_args.end(), {"--repeat", std::to_string(kRepeat)});
  ASSERT_EQ(backtest("capture", capture_args), 0) << err("capture");
  ASSERT_EQ(backtest("influx", influx_args()), 0) << err("influx");
  expect_same_backtest(dir_ / "capture", dir_ / "influx");

  const std::string report = read_file(dir_ / "influx" / "report.json");
  const auto& one_s = bars_["trades_1s"];
  EXPECT_EQ(report_value(report, "bars"), static_cast<long long>(count(one_s)));
  EXPECT_NE(report.find("aggr_1s.trades_1s"), std::string::npos) << report;
  if (kRepeat >= 80) {
    EXPECT_GT(report_value(report, "trades"), 0) << "hours of flow should make it trade";
  }

  // The coverage report: per market, the seconds with a bar, and the runs
  // of 60 s or more without one (before the first bar and after the last
  // count), recomputed here from the replay's own bars.
  const std::string coverage = read_file(dir_ / "influx" / "coverage.txt");
  EXPECT_EQ(coverage.rfind("coverage of aggr_1s.trades_1s in [2024-08-08T00:00:00Z, 2024-08-10T00:00:00Z):\n", 0), 0u)
      << coverage;
  for (const auto& [market, times] : one_s) {
    SCOPED_TRACE(market);
    std::size_t gaps = 0;
    std::int64_t gap_s = 0, covered = kFrom;
    for (const auto& [t, fields] : times) {
      if (t - covered >= 60) ++gaps, gap_s += t - covered;
      covered = t + 1;
    }
    if (kTo - covered >= 60) ++gaps, gap_s += kTo - covered;
    std::ostringstream line;
    line << "  " << market << " (1s bars): " << times.size() << " of " << (kTo - kFrom) << " s present (";
    const std::string tail = std::to_string(gaps) + (gaps == 1 ? " gap" : " gaps") + " of 60 s or more, " +
                             std::to_string(gap_s) + " s in all:";
    const auto at = coverage.find(line.str());
    ASSERT_NE(at, std::string::npos) << line.str() << "\n" << coverage;
    const std::string rest = coverage.substr(at, coverage.find('\n', at) - at);
    EXPECT_NE(rest.find(tail), std::string::npos) << rest << "\nexpected " << tail;
  }
}

TEST_F(RoundTrip, AnEmptyRangeExitsOneAndSaysWhereTheDataIs) {
  // Before the captures: nothing there.
  ASSERT_EQ(backtest("empty", influx_args("2024-08-01", "2024-08-02")), 1) << err("empty");
  const std::string e = err("empty");
  for (const std::string& expected :
       {"tickflow backtest: no bars in InfluxDB " + influx_.url() + " database 'significant_trades'",
        std::string("aggr_1s.trades_1s for every market in [2024-08-01T00:00:00Z, 2024-08-02T00:00:00Z) = "
                    "[1722470400, 1722556800)"),
        std::string("  aggr_1s.trades_1s:\n"), std::string("  aggr_1m.trades_1m:\n"),
        std::string("  trades_1s (default policy):\n    (none)")})
    EXPECT_NE(e.find(expected), std::string::npos) << "expected '" << expected << "' in:\n" << e;
  // ...and every market's range in both base measurements, with its bar count.
  for (const char* m : {"trades_1s", "trades_1m"})
    for (const auto& [market, times] : bars_[m]) {
      const std::string line = "    " + market + " ";
      const std::string count_text = std::to_string(times.size()).insert(0, 1, '(') + " bars)";
      EXPECT_NE(e.find(line), std::string::npos) << market;
      EXPECT_NE(e.find(count_text), std::string::npos) << m << " " << market << " " << count_text << "\n" << e;
    }
  EXPECT_FALSE(fs::exists(dir_ / "empty" / "report.json"));

  // The bug of issue 14: the database's default policy holds none of the
  // pipeline's bars. Reading it is now an error, not an empty backtest.
  ASSERT_EQ(backtest("autogen",
                     [&] {
                       auto a = influx_args();
                       a.insert(a.end(), {"--retention-policy", "autogen"});
                       return a;
                     }()),
            1)
      << err("autogen");
  EXPECT_NE(err("autogen").find("database 'significant_trades' autogen.trades_1s for every market"), std::string::npos)
      << err("autogen");

  // A market that is not there, named.
  ASSERT_EQ(backtest("market",
                     [&] {
                       auto a = influx_args();
                       a.insert(a.end(), {"--market", "BINANCE:dogeusdt"});
                       return a;
                     }()),
            1);
  EXPECT_NE(err("market").find("aggr_1s.trades_1s for market BINANCE:dogeusdt in ["), std::string::npos)
      << err("market");

  // A policy that does not exist, and usage errors: exit 2.
  EXPECT_EQ(backtest("rp",
                     [&] {
                       auto a = influx_args();
                       a.insert(a.end(), {"--retention-policy", "aggr_1s", "--base", "auto"});
                       return a;
                     }()),
            2);
  EXPECT_EQ(backtest("base",
                     [&] {
                       auto a = influx_args();
                       a.insert(a.end(), {"--base", "5m"});
                       return a;
                     }()),
            2);
  EXPECT_NE(err("base").find("--base '5m': expected 1s, 1m or auto"), std::string::npos) << err("base");
  EXPECT_EQ(backtest("gap",
                     [&] {
                       auto a = influx_args();
                       a.insert(a.end(), {"--gap", "soon"});
                       return a;
                     }()),
            2);
  EXPECT_NE(err("gap").find("--gap 'soon'"), std::string::npos) << err("gap");
}

TEST_F(LongRoundTrip, OneMinuteBarsEqualACsvBacktestOfTheSameBars) {
  auto args = influx_args();
  args.insert(args.end(), {"--base", "1m"});
  ASSERT_EQ(backtest("influx_1m", args), 0) << err("influx_1m");
  const std::string report = read_file(dir_ / "influx_1m" / "report.json");
  EXPECT_EQ(report_value(report, "bars"), static_cast<long long>(count(bars_["trades_1m"])));
  EXPECT_NE(report.find("aggr_1m.trades_1m"), std::string::npos);
  const std::string coverage = read_file(dir_ / "influx_1m" / "coverage.txt");
  for (const auto& [market, times] : bars_["trades_1m"])
    EXPECT_NE(coverage.find("  " + market + " (60s bars): " + std::to_string(60 * times.size()) + " of "),
              std::string::npos)
        << coverage;

  // The same 1 m bars as CSV (the replay's values, as written).
  std::ofstream csv(path("bars_1m.csv"));
  csv << "time,market,timeframe,open,high,low,close,vbuy,vsell,cbuy,csell,lbuy,lsell,qbuy,qsell\n";
  std::vector<std::tuple<std::int64_t, std::string, std::string>> rows;
  for (const auto& [market, times] : bars_["trades_1m"])
    for (const auto& [t, fields] : times) rows.emplace_back(t, market, fields);
  std::sort(rows.begin(), rows.end());
  for (const auto& [t, market, fields] : rows) {
    std::map<std::string, std::string> f;
    std::istringstream in(fields);
    std::string kv;
    while (std::getline(in, kv, ',')) f[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    csv << t << ',' << market << ",1m";
    for (const char* k :
         {"open", "high", "low", "close", "vbuy", "vsell", "cbuy", "csell", "lbuy", "lsell", "qbuy", "qsell"})
      csv << ',' << (f.count(k) ? f[k] : "0");
    csv << '\n';
  }
  csv.close();
  ASSERT_EQ(backtest("csv_1m", {"--csv", path("bars_1m.csv")}), 0) << err("csv_1m");
  if (kRepeat >= 80) {
    EXPECT_GT(report_value(report, "trades"), 0) << "hours of flow should make it trade";
  }
  expect_same_backtest(dir_ / "csv_1m", dir_ / "influx_1m");
}

TEST_F(RoundTrip, AutoReadsOneMinuteBarsWhereOneSecondBarsExpired) {
  // BTC spot's first 3 minutes of 1 s bars are gone, as a retention policy
  // expires the oldest; its 1 m bars are all there.
  const std::string btc = "BINANCE:btcusdt";
  const std::int64_t first = bars_["trades_1s"][btc].begin()->first;
  const std::int64_t cut = first + 180;
  influx_.query("DELETE FROM \"trades_1s\" WHERE \"market\" = '" + btc + "' AND time < " + std::to_string(cut) + "s");

  auto args = influx_args();
  args.insert(args.end(), {"--base", "auto"});
  ASSERT_EQ(backtest("auto", args), 0) << err("auto");
  const std::string coverage = read_file(dir_ / "auto" / "coverage.txt");
  EXPECT_EQ(coverage.rfind("coverage of aggr_1s.trades_1s + aggr_1m.trades_1m in [", 0), 0u) << coverage;
  std::string choices = "base bars (--base auto):";
  for (const auto& [market, times] : bars_["trades_1s"]) choices += " " + market + (market == btc ? "=1m" : "=1s");
  EXPECT_NE(coverage.find(choices + "\n"), std::string::npos) << choices << "\n" << coverage;
  const std::size_t expected_bars =
      count(bars_["trades_1s"]) - bars_["trades_1s"][btc].size() + bars_["trades_1m"][btc].size();
  EXPECT_EQ(report_value(read_file(dir_ / "auto" / "report.json"), "bars"), static_cast<long long>(expected_bars));

  // --base 1s reads what is left, and the coverage report shows the hole.
  auto args_1s = influx_args(std::to_string(first), "2024-08-10");
  ASSERT_EQ(backtest("only_1s", args_1s), 0) << err("only_1s");
  std::size_t left = 0;
  std::int64_t first_left = 0;
  for (const auto& [t, fields] : bars_["trades_1s"][btc])
    if (t >= cut && left++ == 0) first_left = t;
  const std::size_t expected_1s = count(bars_["trades_1s"]) - bars_["trades_1s"][btc].size() + left;
  EXPECT_EQ(report_value(read_file(dir_ / "only_1s" / "report.json"), "bars"), static_cast<long long>(expected_1s));
  const std::string cov = read_file(dir_ / "only_1s" / "coverage.txt");
  const auto at = cov.find("  " + btc + " (1s bars): " + std::to_string(left) + " of ");
  ASSERT_NE(at, std::string::npos) << cov;
  EXPECT_NE(cov.find("(" + std::to_string(first_left - first) + " s)", at), std::string::npos)
      << "a gap from the range's start to the first bar left, " << (first_left - first) << " s\n"
      << cov;
}

}  // namespace
}  // namespace tickflow
