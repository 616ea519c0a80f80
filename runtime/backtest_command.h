// runtime/backtest_command.h
//
// `tickflow backtest --config FILE (--capture EXCHANGE=PATH... |
//   --influx URL --from T --to T | --csv FILE...) --out DIR`
//
// Runs SqueezeFlow over recorded data with the live strategy code
// (strategy/backtester.h) and writes, into DIR:
//   report.json   metrics (balance, return, trades, win rate, average win
//                 and loss, profit factor, max drawdown, Sharpe, fees,
//                 exposure) and what was run
//   trades.csv    one row per round trip
//   equity.csv    the equity curve, one sample per --equity-interval
//   equity.svg    the same curve as a picture, axes labelled
//   signals.jsonl every signal, in the live JSON form
//   plus the strategy debug CSV when [strategy.debug] names a symbol.
// The strategy's parameters and symbols come from the config's [strategy]
// table (tuning/README.md); T is ISO-8601 UTC (2024-08-09T00:00:00Z) or
// epoch seconds. The same input and config give byte-identical files.
//
// --influx reads the base bars the pipeline writes (aggr_1s.trades_1s, or
// aggr_1m.trades_1m with --base 1m/auto: strategy/influx_backtest_plan.h),
// and first reports their coverage (coverage.txt, and stderr).
//
// Exit status: 0 done, 1 no bars in the InfluxDB range (the message names
// what was asked and what the database holds), 2 a usage, config or input
// error (the message names the file, key or market).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace CLI {
class App;
}

namespace tickflow {

CLI::App* add_backtest_command(CLI::App& app);
int run_backtest_command();

// "2024-08-09T00:00:00Z", "2024-08-09T00:00:00", "2024-08-09" or epoch
// seconds; nullopt if it is none of these.
std::optional<std::int64_t> parse_time_argument(std::string_view text);

}  // namespace tickflow
