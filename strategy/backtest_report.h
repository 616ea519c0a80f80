// strategy/backtest_report.h
//
// The backtest report (spec: "Backtest", "Report"): the metrics computed
// from a finished BacktestPortfolio, and the files written from them:
//
//   report.json  {"metrics": {...}, "run_info": {...}, "counts": {...}}, keys
//                in a fixed order, numbers in shortest round-trip form
//                (pipeline/shortest_double.h), non-finite numbers as null
//   trades.csv   one row per trade: times as ISO-8601 UTC and epoch seconds
//   equity.csv   time, time_s, equity, cash, open_positions, drawdown
//   equity.svg   the curve as a chart (strategy/equity_svg.h)
//
// Metric definitions (the choices the spec leaves open):
//  * a win has net P&L > 0, a loss < 0 (a trade of exactly 0 is neither);
//    avg_win / avg_loss are mean net P&L (avg_loss <= 0); profit factor =
//    Σ wins / |Σ losses|, +inf without losses (null in JSON), 0 without
//    trades;
//  * max_drawdown: the largest (peak − equity) / peak over the samples;
//  * sharpe: mean / sample std (n − 1) of the per-sample returns
//    e_i / e_{i−1} − 1, × sqrt(365 × 86400 / equity_interval_s); 0 with
//    fewer than 2 returns or a std of 0. The first and last samples may be
//    closer than one interval (the first step, the end): a small bias
//    against a week of evenly spaced samples;
//  * exposure: seconds with >= 1 open position / (end_s − start_s).
//
// Promises:
//  * the same inputs give byte-identical files;
//  * each file is written to "<name>.tmp" and renamed into place, so a
//    crash leaves either the old file or the new one, never half a file;
//  * errors (the directory cannot be created or written) throw
//    std::runtime_error naming the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "strategy/backtest_portfolio.h"

namespace tickflow {

struct BacktestMetrics {
  double starting_balance = 0;
  double final_balance = 0;
  double total_return = 0;  // fraction: final / starting − 1
  std::uint64_t trades = 0;
  std::uint64_t wins = 0;
  std::uint64_t losses = 0;
  double win_rate = 0;  // wins / trades, 0 without trades
  double avg_win = 0;
  double avg_loss = 0;
  double profit_factor = 0;
  double max_drawdown = 0;  // fraction of the peak
  double sharpe = 0;
  double total_fees = 0;
  double exposure = 0;  // fraction of the stepped time
  std::int64_t start_s = 0;
  std::int64_t end_s = 0;
  std::uint64_t steps = 0;
};

// Reads the portfolio's trades and samples; call after finish().
BacktestMetrics compute_metrics(const BacktestPortfolio& portfolio, std::uint64_t steps);

// The pieces of compute_metrics, for tests and other curves.
double max_drawdown(const std::vector<EquitySample>& samples) noexcept;
double sharpe_ratio(const std::vector<EquitySample>& samples, std::int64_t interval_s) noexcept;

void write_backtest_report(const std::filesystem::path& dir, const BacktestMetrics& metrics,
                           const BacktestPortfolio& portfolio,
                           const std::vector<std::pair<std::string, std::string>>& run_info);

// The files' contents, as write_backtest_report() writes them.
std::string report_json(const BacktestMetrics& metrics, const BacktestPortfolio& portfolio,
                        const std::vector<std::pair<std::string, std::string>>& run_info);
std::string trades_csv(const std::vector<TradeRecord>& trades);
std::string equity_csv(const std::vector<EquitySample>& samples);

}  // namespace tickflow
