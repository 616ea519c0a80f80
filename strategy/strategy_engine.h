// strategy/strategy_engine.h
//
// StrategyEngine: SqueezeFlow for every configured symbol group, driven by
// the bar chain. The live aggregator and the backtester both run it the
// same way, so a backtest exercises the code that trades:
//
//   BarBuilder --1 s bars--> Rollups --1m..4h bars--> StrategyEngine::on_bar
//        \--on_closed(market, s)-----------------------> StrategyEngine::on_closed
//   after each batch of input:                           StrategyEngine::poll(rollups, listener)
//
// One step per group per closed second. A group's frontier is the minimum,
// over its markets that have closed any second, of their 1 s frontiers:
// when it moves, every market of the group has emitted its windows up to it
// (Rollups emits a window once its market's frontier passes the end). Rollup
// bars wait in a small per-group queue until the frontier passes their
// window's end and then go to the series in (timeframe, window) order, so
// a series commits complete windows, never one an exchange that is a little
// behind has not reported yet (an amendment of a queued window replaces it). poll() then refreshes each series'
// provisional bar from Rollups::provisional(), evaluates once at now = the frontier, and hands entries and exits to the
// listener. Live, the aggregator's clock closes quiet markets, so a silent exchange holds its group back by at most the
// quiet-close delay; in a backtest the coordinator closes every market at
// every step.
//
// Portfolio limits live in the listener: on_entry() returning false (a
// full portfolio) makes the evaluator forget the position, so it never
// waits for an exit of a trade that was not taken.
//
// Execution market. The configured one, else the group's perp with the most
// volume in closed 1m bars so far (decided when asked, from data already
// seen: no look-ahead).
//
// Promises:
//  * add_group()/add_market() allocate (configuration time, or a market's
//    first sight in a backtest); on_bar(), on_closed() and poll() never
//    allocate and never throw;
//  * the same bars and closes in the same order give the same decisions;
//  * every strategy timeframe must be one Rollups produces: the constructor
//    throws std::invalid_argument naming the missing timeframe.
// Threads: one (the aggregator's, or the backtester's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/bar_sink.h"
#include "pipeline/market_class.h"
#include "pipeline/market_id.h"
#include "pipeline/timeframe.h"
#include "strategy/squeezeflow.h"
#include "strategy/strategy_params.h"

namespace tickflow {

class MarketRegistry;
class Rollups;

// What the engine tells its owner. Called on the engine's thread, inside poll().
class StrategyListener {
 public:
  virtual ~StrategyListener() = default;
  // A LONG or SHORT the strategy decided. Return false to refuse it (the
  // portfolio is full): the evaluator then forgets the position.
  virtual bool on_entry(std::size_t group, const Decision& d) = 0;
  virtual void on_exit(std::size_t group, const Decision& d) = 0;
  // Every evaluation (after on_entry/on_exit); for the debug CSV and tests.
  virtual void on_evaluation(std::size_t /*group*/, const Decision& /*d*/) {}
};

class StrategyEngine final : public BarSink {
 public:
  // `rollups`: the timeframes the Rollups feeding this engine produce, in
  // their order (provisional() is indexed by it). Throws
  // std::invalid_argument for bad params or a strategy timeframe missing
  // from `rollups`.
  StrategyEngine(const SqueezeFlowParams& params, const std::vector<Timeframe>& rollups, std::size_t max_markets);
  ~StrategyEngine() override;

  // --- configuration ---
  // Returns the group's index. execution may be kInvalidMarket (chosen by volume).
  std::size_t add_group(std::string symbol, std::string base, MarketId execution = kInvalidMarket);
  // Adds a market to a group (once; again is a no-op). Throws
  // std::invalid_argument for market >= max_markets.
  void add_market(std::size_t group, MarketId market, MarketClass side);
  // Adds every market of `registry` whose base asset is a group's base and
  // that is not attached yet. Returns how many were added.
  std::size_t attach_markets(const MarketRegistry& registry);
  // The group of a base asset, or SIZE_MAX.
  std::size_t find_group(std::string_view base) const noexcept;

  // --- the bar chain ---
  // Rollup bars (1m bars also measure volume, for the execution-market choice).
  void on_bar(const Bar& bar) override;
  // The market's 1 s frontier (seconds before it are closed).
  void on_closed(MarketId market, std::int64_t closed_until_s) override;
  // Evaluates every group whose frontier moved since the last poll.
  // Returns how many evaluations ran.
  std::size_t poll(const Rollups& rollups, StrategyListener& listener) noexcept;

  // --- reading ---
  std::size_t groups() const noexcept { return groups_.size(); }
  const std::string& symbol(std::size_t group) const noexcept { return groups_[group]->symbol; }
  const std::string& base(std::size_t group) const noexcept { return groups_[group]->base; }
  SqueezeFlow& strategy(std::size_t group) noexcept { return groups_[group]->strategy; }
  const SqueezeFlow& strategy(std::size_t group) const noexcept { return groups_[group]->strategy; }
  MarketId execution_market(std::size_t group) const noexcept;
  std::size_t markets(std::size_t group) const noexcept { return groups_[group]->markets.size(); }
  std::uint64_t evaluations() const noexcept { return evaluations_; }
  // Rollup bars delivered at once because their group's queue was full.
  std::uint64_t queue_overflows() const noexcept { return queue_overflows_; }
  // Signal for a decision of a group (symbol and base filled in).
  Signal make_signal(std::size_t group, const Decision& d) const noexcept;

 private:
  struct Member {
    MarketId market;
    MarketClass side;
  };
  struct Group {
    Group(std::string s, std::string b, MarketId e, const SqueezeFlowParams& p)
        : symbol(std::move(s)), base(std::move(b)), execution(e), strategy(p) {}
    std::string symbol;
    std::string base;
    MarketId execution;
    SqueezeFlow strategy;
    std::vector<Member> members;
    std::vector<MarketId> markets;
    std::int64_t stepped_s = 0;  // frontier of the last evaluation
    std::vector<Bar> queue;      // rollup bars waiting for the frontier (capacity fixed by add_market)
  };
  static constexpr std::uint32_t kNoGroup = UINT32_MAX;

  std::int64_t frontier(const Group& g) const noexcept;
  void deliver_closed(Group& g, std::int64_t frontier_s) noexcept;

  SqueezeFlowParams params_;
  std::size_t max_markets_;
  // Rollups' index of each strategy timeframe, and the timeframes.
  std::vector<std::size_t> rollup_index_;
  std::vector<std::uint32_t> timeframes_;
  std::vector<std::unique_ptr<Group>> groups_;  // stable addresses (SqueezeFlow is not movable cheaply)
  std::vector<std::uint32_t> group_of_;         // by MarketId
  std::vector<MarketClass> side_of_;            // by MarketId
  std::vector<std::int64_t> frontier_;          // by MarketId; 0: none closed yet
  std::vector<double> volume_;                  // by MarketId: Σ (vbuy + vsell) of 1 s bars
  std::uint64_t evaluations_ = 0;
  std::uint64_t queue_overflows_ = 0;
};

}  // namespace tickflow
