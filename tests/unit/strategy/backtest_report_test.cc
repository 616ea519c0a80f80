// tests/unit/strategy/backtest_report_test.cc: the backtest's metrics and
// report files (strategy/backtest_report.h, strategy/equity_svg.h): known
// curves for drawdown and Sharpe, a hand-traded portfolio for the trade
// statistics, and the files' determinism and shape.
#include "strategy/backtest_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "strategy/equity_svg.h"

namespace tickflow {
namespace {

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09T00:00:00Z

Bar bar_at(std::int64_t t, double open, double close) {
  Bar b;
  b.open_time_s = t;
  b.open = open;
  b.close = close;
  b.high = std::max(open, close);
  b.low = std::min(open, close);
  b.cbuy = 1;
  return b;
}

std::vector<EquitySample> curve(std::initializer_list<double> equities, std::int64_t interval = 60) {
  std::vector<EquitySample> s;
  std::int64_t t = kT0;
  for (const double e : equities) {
    s.push_back({t, e, e, 0});
    t += interval;
  }
  return s;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

std::filesystem::path fresh_dir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("tickflow_report_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

// Zero slippage and fees: a win of +60 then a loss, then a win left open
// at the end of data. Steps every second from T0 to T0+600.
struct Traded {
  BacktestPortfolio p;
  std::uint64_t steps = 0;
  Traded() : p(make_account(), SqueezeFlowParams{}) {
    const std::size_t a = p.add_symbol("BTCUSDT");
    for (std::int64_t t = kT0; t <= kT0 + 600; ++t) {
      if (t > kT0) {
        const std::int64_t i = t - kT0 - 1;  // the bar [t-1, t)
        const double open = i < 100 ? 100 : i < 200 ? 110 : i < 300 ? 100 : i < 400 ? 95 : 120;
        p.on_execution_bar(a, bar_at(t - 1, open, open));
      }
      p.on_step(t);
      ++steps;
      if (t == kT0 + 50) p.order_entry(a, Direction::kLong, sizing_for(7), 7, t, "divergence, reset");
      if (t == kT0 + 150) p.order_exit(a, "range_break", t);
      if (t == kT0 + 250) p.order_entry(a, Direction::kLong, sizing_for(7), 6.5, t, "second");
      if (t == kT0 + 350) p.order_exit(a, "hard_stop", t);
      if (t == kT0 + 450) p.order_entry(a, Direction::kShort, sizing_for(8.5), 8.5, t, "third \"quoted\"");
    }
    p.finish(kT0 + 600);
  }
  static BacktestAccount make_account() {
    BacktestAccount a;
    a.fee_rate = 0;
    a.slippage_bp = 0;
    return a;
  }
};

TEST(BacktestReport, MaxDrawdownOfAKnownCurve) {
  // Peak 120 -> 90 is 25 %; the later peak 130 -> 65 is 50 %.
  EXPECT_DOUBLE_EQ(max_drawdown(curve({100, 120, 90, 110, 130, 65, 100})), 0.5);
  EXPECT_DOUBLE_EQ(max_drawdown(curve({100, 120, 90, 110, 130})), 0.25);
  EXPECT_EQ(max_drawdown(curve({100, 101, 102})), 0);
  EXPECT_EQ(max_drawdown({}), 0);
}

TEST(BacktestReport, SharpeOfAKnownSeries) {
  // Returns +10 %, -10 %, +10 %: mean 1/30, sample std 0.2 / sqrt(3), so
  // mean / std = sqrt(3) / 6; 60 s samples: 525600 a year.
  const double expected = std::sqrt(3.0) / 6 * std::sqrt(525600.0);
  EXPECT_NEAR(sharpe_ratio(curve({100, 110, 99, 108.9}), 60), expected, 1e-9 * expected);
  // Hourly samples: 8760 a year.
  EXPECT_NEAR(sharpe_ratio(curve({100, 110, 99, 108.9}, 3600), 3600), std::sqrt(3.0) / 6 * std::sqrt(8760.0), 1e-9);
  EXPECT_EQ(sharpe_ratio(curve({100, 110}), 60), 0);       // one return
  EXPECT_EQ(sharpe_ratio(curve({100, 100, 100}), 60), 0);  // std 0
  EXPECT_EQ(sharpe_ratio({}, 60), 0);
}

TEST(BacktestReport, MetricsOfAHandTradedPortfolio) {
  Traded run;
  const BacktestPortfolio& p = run.p;
  ASSERT_EQ(p.trades().size(), 3u);
  // 1: long 6 (600 / 100) from 100 to 110: +60.
  EXPECT_DOUBLE_EQ(p.trades()[0].net_pnl, 60);
  // 2: long at equity 10060: qty 10060 x 0.06 / 100 = 6.036, 100 -> 95.
  EXPECT_NEAR(p.trades()[1].net_pnl, -5 * 6.036, 1e-9);
  // 3: short PREMIUM (0.02 x 1.5 x 5 = 0.15 of equity) at 120, closed at
  //    the end at 120: 0.
  EXPECT_EQ(p.trades()[2].net_pnl, 0);
  EXPECT_EQ(p.trades()[2].exit_reason, "end of data");

  const BacktestMetrics m = compute_metrics(p, run.steps);
  EXPECT_EQ(m.trades, 3u);
  EXPECT_EQ(m.wins, 1u);
  EXPECT_EQ(m.losses, 1u);
  EXPECT_DOUBLE_EQ(m.win_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.avg_win, 60);
  EXPECT_NEAR(m.avg_loss, -30.18, 1e-9);
  EXPECT_NEAR(m.profit_factor, 60 / 30.18, 1e-12);
  EXPECT_NEAR(m.final_balance, 10000 + 60 - 30.18, 1e-9);
  EXPECT_NEAR(m.total_return, (60 - 30.18) / 10000, 1e-12);
  EXPECT_EQ(m.total_fees, 0);
  EXPECT_EQ(m.start_s, kT0);
  EXPECT_EQ(m.end_s, kT0 + 600);
  EXPECT_EQ(m.steps, 601u);
  // Positions open [T0+51, T0+151), [T0+251, T0+351), [T0+451, T0+600]:
  // 100 + 100 + 149 of 600 s.
  EXPECT_EQ(p.exposure_s(), 349);
  EXPECT_DOUBLE_EQ(m.exposure, 349.0 / 600);
  // The curve: peak 10060 down to 10029.82.
  EXPECT_NEAR(m.max_drawdown, 30.18 / 10060, 1e-12);
  EXPECT_NE(m.sharpe, 0);
}

TEST(BacktestReport, ProfitFactorWithoutLossesIsNullInJson) {
  BacktestAccount a;
  a.fee_rate = 0;
  a.slippage_bp = 0;
  BacktestPortfolio p(a, SqueezeFlowParams{});
  const std::size_t s = p.add_symbol("X");
  p.on_step(kT0);
  p.order_entry(s, Direction::kLong, sizing_for(7), 7, kT0, "");
  p.on_execution_bar(s, bar_at(kT0, 100, 101));
  p.on_step(kT0 + 1);
  p.finish(kT0 + 1);
  const BacktestMetrics m = compute_metrics(p, 2);
  EXPECT_TRUE(std::isinf(m.profit_factor));
  const std::string json = report_json(m, p, {});
  EXPECT_NE(json.find("\"profit_factor\": null"), std::string::npos) << json;
  EXPECT_NE(json.find("\"run_info\": {}"), std::string::npos) << json;
}

TEST(BacktestReport, FilesAreByteIdenticalAcrossWrites) {
  Traded run;
  const BacktestMetrics m = compute_metrics(run.p, run.steps);
  const std::vector<std::pair<std::string, std::string>> info = {
      {"strategy", "SqueezeFlow"}, {"config", "a \"quoted\"\\path"}, {"symbols", "BTCUSDT"}};
  const auto dir1 = fresh_dir("one");
  const auto dir2 = fresh_dir("two");
  write_backtest_report(dir1, m, run.p, info);
  write_backtest_report(dir2, m, run.p, info);
  write_backtest_report(dir2, m, run.p, info);  // over the previous files
  for (const char* name : {"report.json", "trades.csv", "equity.csv", "equity.svg"}) {
    const std::string a = read_file(dir1 / name);
    EXPECT_FALSE(a.empty()) << name;
    EXPECT_EQ(a, read_file(dir2 / name)) << name;
    EXPECT_FALSE(std::filesystem::exists(dir1 / (std::string(name) + ".tmp"))) << name;
  }

  const std::string json = read_file(dir1 / "report.json");
  EXPECT_EQ(json.rfind("{\n  \"metrics\": {\n    \"starting_balance\": 10000,\n    \"final_balance\": ", 0), 0u)
      << json;
  EXPECT_NE(json.find("\"start_time\": \"2024-08-09T00:00:00Z\""), std::string::npos);
  EXPECT_NE(json.find("\"end_time\": \"2024-08-09T00:10:00Z\""), std::string::npos);
  EXPECT_NE(json.find("\"config\": \"a \\\"quoted\\\"\\\\path\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"trades\": 3"), std::string::npos);
  EXPECT_NE(json.find("\"steps\": 601"), std::string::npos);
  EXPECT_LT(json.find("\"metrics\""), json.find("\"run_info\""));
  EXPECT_LT(json.find("\"run_info\""), json.find("\"counts\""));

  const std::string trades = read_file(dir1 / "trades.csv");
  EXPECT_EQ(count_lines(trades), 1 + run.p.trades().size());
  EXPECT_EQ(trades.rfind("symbol,direction,entry_signal_time,entry_signal_s,", 0), 0u);
  EXPECT_NE(trades.find("BTCUSDT,LONG,2024-08-09T00:00:50Z,1723161650,2024-08-09T00:00:50Z,1723161650,100,6,0,"
                        "2024-08-09T00:02:30Z,1723161750,2024-08-09T00:02:30Z,1723161750,110,0,60,60,0.1,7,HIGH,3,"
                        "range_break,\"divergence, reset\"\n"),
            std::string::npos)
      << trades;
  EXPECT_NE(trades.find(",end of data,\"third \"\"quoted\"\"\"\n"), std::string::npos) << trades;

  const std::string equity = read_file(dir1 / "equity.csv");
  EXPECT_EQ(count_lines(equity), 1 + run.p.equity_samples().size());
  EXPECT_EQ(equity.rfind("time,time_s,equity,cash,open_positions,drawdown\n"
                         "2024-08-09T00:00:00Z,1723161600,10000,10000,0,0\n",
                         0),
            0u)
      << equity;
  // Samples at T0, every minute, and the end (T0+600 is a boundary).
  EXPECT_EQ(run.p.equity_samples().size(), 11u);

  const std::string svg = read_file(dir1 / "equity.svg");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find(">Time (UTC)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">Equity</text>"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("2024-08-09 00:"), std::string::npos);  // x tick labels
  EXPECT_NE(svg.find(">10000"), std::string::npos);          // a y tick label
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  std::filesystem::remove_all(dir1);
  std::filesystem::remove_all(dir2);
}

TEST(BacktestReport, SvgDecimatesAWeekOfSecondsPerPixelColumn) {
  std::vector<EquitySample> samples;
  const std::int64_t n = 7 * 86400;
  samples.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double e = 10000 + 500 * std::sin(static_cast<double>(i) * 1e-4) + (i == 300000 ? -2000 : 0);
    samples.push_back({kT0 + i, e, e, 0});
  }
  const std::string svg = render_equity_svg(samples, {}, 10000);
  const std::size_t begin = svg.find("<polyline");
  ASSERT_NE(begin, std::string::npos);
  const std::string line = svg.substr(begin, svg.find("/>", begin) - begin);
  const auto points = static_cast<std::size_t>(std::count(line.begin(), line.end(), ','));
  EXPECT_LE(points, 4u * 890);
  EXPECT_GE(points, 890u);
  EXPECT_LT(svg.size(), 200'000u);
  // The one-second spike (-2000) survives the decimation: a point lies near
  // the plot's bottom (y grows downwards; without the spike the curve's
  // lowest point would sit near the middle of the y range).
  double max_y = 0;
  for (std::size_t comma = line.find(','); comma != std::string::npos; comma = line.find(',', comma + 1))
    max_y = std::max(max_y, std::strtod(line.c_str() + comma + 1, nullptr));
  EXPECT_GT(max_y, 400);
  EXPECT_NE(svg.find(">2024-08-"), std::string::npos);  // x tick labels are dates
  EXPECT_EQ(svg, render_equity_svg(samples, {}, 10000));
}

TEST(BacktestReport, SvgOfNoSamplesOrAFlatCurveIsValid) {
  const std::string empty = render_equity_svg({}, {}, 10000);
  EXPECT_NE(empty.find("no equity samples"), std::string::npos);
  EXPECT_EQ(empty.substr(empty.size() - 7), "</svg>\n");
  const std::string flat = render_equity_svg(curve({10000}), {}, 10000);
  EXPECT_NE(flat.find("<polyline"), std::string::npos);
  EXPECT_EQ(flat.find("nan"), std::string::npos);
  EXPECT_EQ(flat.find("inf"), std::string::npos);
}

TEST(BacktestReport, UnwritableDirectoryThrowsNamingThePath) {
  const auto dir = fresh_dir("blocked");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  const auto target = dir / "file" / "report";
  Traded run;
  try {
    write_backtest_report(target, compute_metrics(run.p, run.steps), run.p, {});
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tickflow
