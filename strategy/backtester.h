// strategy/backtester.h
//
// Backtester: the live strategy code on a simulated clock. It merges base
// bars (1 s or 1 m per market) from a BarSource in visible-time order, runs
// them through the same Rollups and StrategyEngine the aggregator runs, and
// steps the clock every 1 s of data time:
//
//   at step t (UTC epoch seconds):
//     1. every bar visible at or before t goes in (a 1 s bar opening at s is
//        visible at s + 1, a 1 m bar at s + 60): to the engine, and to the
//        portfolio, which fills orders pending for that bar's market at its
//        open and marks positions at its close;
//     2. every market is reported closed through t;
//     3. StrategyEngine::poll() steps each group to t, exactly as live (its
//        Rollups build 1m..4h from the base bars, the series commit, the
//        provisional windows are as of t) and evaluates once; entries and
//        exits become orders, filled at the execution market's NEXT base bar
//        (never the bar the decision saw);
//     4. the portfolio samples equity.
//
// No look-ahead: a decision at t is computed from bars visible at or before
// t only. Bars after t are not read from the source until the step that
// shows them (tests/unit/strategy/no_lookahead_test.cc corrupts them and
// checks every decision up to t).
//
// Per market one base interval: a market whose bars switch between 1 s and
// 1 m is refused with an error naming it (std::runtime_error).
//
// Promises:
//  * deterministic: the same source and config give the same decisions,
//    trades and report, byte for byte;
//  * memory is the engine's and the portfolio's, plus what the source holds
//    (the InfluxDB source holds one chunk), flat over the span;
//  * progress: the callback gets the data time and the source's fraction
//    done at most every 2^16 steps.
// Threads: one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/timeframe.h"
#include "strategy/backtest_portfolio.h"
#include "strategy/bar_source.h"
#include "strategy/decision_csv.h"
#include "strategy/signal.h"
#include "strategy/strategy_engine.h"
#include "strategy/strategy_params.h"

namespace tickflow {

class MarketRegistry;

struct BacktestSymbol {
  std::string base;              // "BTC": the symbol group
  std::string symbol;            // "BTCUSDT"
  std::string execution_market;  // empty: the group's perp with the most volume so far
};

struct BacktestConfig {
  SqueezeFlowParams params;
  // Empty: a group for every base asset that appears in the data (symbol = base + "USDT").
  std::vector<BacktestSymbol> symbols;
  BacktestAccount account;  // starting_balance and equity_interval_s; fees, slippage and max positions come from params
  std::size_t max_markets = 256;
  // Steps outside [from_s, to_s) are not evaluated (bars before from_s still
  // warm the series up).
  std::int64_t from_s = std::numeric_limits<std::int64_t>::min();
  std::int64_t to_s = std::numeric_limits<std::int64_t>::max();
  // Debug mode: every evaluation of this base asset to debug_csv.
  std::string debug_symbol;
  std::string debug_csv;
  std::function<void(std::int64_t data_time_s, double fraction)> progress;
};

struct BacktestStats {
  std::uint64_t steps = 0;
  std::uint64_t bars = 0;
  std::uint64_t evaluations = 0;
  std::uint64_t entries = 0;          // LONG/SHORT decisions ordered
  std::uint64_t exits = 0;            // CLOSE decisions ordered
  std::uint64_t refused_entries = 0;  // portfolio full (max_open_positions)
  std::int64_t first_step_s = 0;
  std::int64_t last_step_s = 0;
};

class Backtester {
 public:
  // Throws std::invalid_argument for bad params or symbols.
  Backtester(BacktestConfig config, MarketRegistry& registry);
  ~Backtester();
  Backtester(const Backtester&) = delete;
  Backtester& operator=(const Backtester&) = delete;

  // Runs the whole source, then closes what is open at the last marks.
  // Throws std::runtime_error for bad input (from the source, or a market
  // mixing base intervals).
  void run(BarSource& source);

  // Every evaluation, for tests (set before run()).
  std::function<void(const std::string& symbol, const Decision& d)> on_decision;

  const BacktestStats& stats() const noexcept { return stats_; }
  const BacktestPortfolio& portfolio() const noexcept { return *portfolio_; }
  const StrategyEngine& engine() const noexcept { return *engine_; }
  // Every signal the strategy emitted, in order (the live JSON form).
  const std::vector<Signal>& signals() const noexcept { return signals_; }

 private:
  class Listener;
  void add_group(const std::string& base, const std::string& symbol, const std::string& execution);
  MarketId resolve_execution(std::size_t group) const;
  void see_market(MarketId market);
  void feed(const Bar& bar);
  void close_markets(std::int64_t t);
  void step(std::int64_t t);

  BacktestConfig config_;
  MarketRegistry& registry_;
  std::unique_ptr<StrategyEngine> engine_;
  std::unique_ptr<BacktestPortfolio> portfolio_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<DecisionCsv> debug_;
  std::vector<std::uint32_t> base_of_;         // by MarketId: 0 unseen, 1 or 60
  std::vector<std::int64_t> last_open_;        // by MarketId: newest bar's open (order check)
  std::vector<MarketId> markets_;              // seen, in order of first sight
  std::vector<MarketId> execution_;            // by group: the market orders fill on (fixed while a position is open)
  std::vector<std::string> execution_name_;    // by group: configured execution market, or empty
  std::vector<std::size_t> portfolio_symbol_;  // by group
  std::size_t debug_group_ = SIZE_MAX;
  std::vector<Signal> signals_;
  BacktestStats stats_;
};

}  // namespace tickflow
