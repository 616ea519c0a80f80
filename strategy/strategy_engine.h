// strategy/strategy_engine.h
//
// StrategyEngine: SqueezeFlow for every configured symbol group, stepped
// one second at a time. The live aggregator and the backtester drive it the
// same way, so a backtest runs the code that trades, on the same inputs:
//
//   base bars (1 s; 1 m in a backtest) ---> on_bar()     per-group buffer
//   "every bar visible at or before s" ---> on_closed()  per-market frontier
//   after each batch of input         ---> poll(listener)
//
// A group's frontier is the minimum, over its markets that have reported
// any second, of their frontiers. poll() steps each group through every
// second s from its last step to that frontier, and at each s:
//   1. the buffered base bars visible at or before s (a 1 s bar opening at
//      o is visible at o + 1, a 1 m bar at o + 60) go into the engine's own
//      Rollups (pipeline/rollup.h: the same code the writer's rollups run),
//      and every market of the group is closed to s, so the windows that
//      ended go to the group's series and the open ones are provisional;
//   2. the series commit up to s and take each market's provisional window
//      as of s, exactly (no market is ever ahead of s inside the engine);
//   3. SqueezeFlow evaluates at s; entries and exits go to the listener.
// So a decision at s depends on the bars visible by s and nothing else: not
// on how the input was batched, not on which exchange ran ahead. Live, the
// aggregator's clock closes quiet markets, so a silent exchange holds its
// group back by at most the quiet-close delay; a backtest closes every
// market at every step.
//
// Why its own Rollups rather than the aggregator's: the aggregator's
// windows follow each market's own frontier (one exchange may be seconds
// ahead of another), so their provisional bars would mix seconds after s
// into the decision at s. Buffering base bars until the group frontier
// passes them keeps every market of a group at the same second; the cost is
// rolling up the strategy's timeframes twice (a few adds per 1 s bar).
//
// Late data (live only). A 1 s bar amended after its second was stepped
// goes straight into the engine's Rollups (which re-emit the window as an
// amendment; the series keep the committed value and count it). A market
// more than the buffer's reach ahead of its group (a stalled exchange) has
// its bars applied early and counted (buffer_overflows()).
//
// Portfolio limits live in the listener: on_entry() returning false (a
// full portfolio) makes the evaluator forget the position.
//
// Execution market: the configured one, else the group's perp with the most
// volume in closed 1m bars so far (decided when asked: no look-ahead).
//
// Promises:
//  * add_group()/add_market() allocate (configuration time, or a market's
//    first sight); on_bar(), on_closed() and poll() never allocate and never
//    throw;
//  * the same bars and closes give the same decisions, however they are
//    batched between polls;
//  * the strategy's timeframes must be multiples of 60 s (they are rolled up
//    from 1 m as well as 1 s bases): the constructor throws
//    std::invalid_argument otherwise, naming the timeframe.
// Threads: one (the aggregator's, or the backtester's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/bar_sink.h"
#include "pipeline/market_class.h"
#include "pipeline/market_id.h"
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
  // Throws std::invalid_argument for bad params.
  StrategyEngine(const SqueezeFlowParams& params, std::size_t max_markets);
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

  // --- input ---
  // A base bar: 1 s (final or amendment), or 1 m. Others are ignored.
  void on_bar(const Bar& bar) override;
  // Every bar of `market` visible at or before `closed_until_s` has been
  // given (for a 1 s market: every second before it is closed).
  void on_closed(MarketId market, std::int64_t closed_until_s) override;
  // Steps every group through each second up to its frontier. Returns how
  // many evaluations ran.
  std::size_t poll(StrategyListener& listener) noexcept;

  // --- reading ---
  std::size_t groups() const noexcept { return groups_.size(); }
  const std::string& symbol(std::size_t group) const noexcept { return groups_[group]->symbol; }
  const std::string& base(std::size_t group) const noexcept { return groups_[group]->base; }
  SqueezeFlow& strategy(std::size_t group) noexcept { return groups_[group]->strategy; }
  const SqueezeFlow& strategy(std::size_t group) const noexcept { return groups_[group]->strategy; }
  MarketId execution_market(std::size_t group) const noexcept;
  std::size_t markets(std::size_t group) const noexcept { return groups_[group]->members.size(); }
  std::int64_t stepped_until(std::size_t group) const noexcept { return groups_[group]->stepped_s; }
  std::uint64_t evaluations() const noexcept { return evaluations_; }
  std::uint64_t buffer_overflows() const noexcept { return buffer_overflows_; }
  std::uint64_t late_bars() const noexcept { return late_bars_; }
  // Signal for a decision of a group (symbol and base filled in).
  Signal make_signal(std::size_t group, const Decision& d) const noexcept;

  // Longest catch-up of one poll: a group further behind (the first poll,
  // a clock jump) skips ahead to this many seconds before its frontier.
  static constexpr std::int64_t kMaxCatchUpSeconds = 6 * 3600;

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
    std::int64_t stepped_s = 0;  // last second evaluated; 0: none yet
    std::vector<Bar> pending;    // base bars not yet visible at stepped_s (capacity fixed by add_market)
  };
  // Rollups' output: windows to their group's series, 1m volume.
  class Router;
  static constexpr std::uint32_t kNoGroup = UINT32_MAX;

  std::int64_t frontier(const Group& g) const noexcept;
  void step(std::size_t gi, Group& g, std::int64_t s, StrategyListener& listener) noexcept;

  SqueezeFlowParams params_;
  std::size_t max_markets_;
  std::vector<std::uint32_t> timeframes_;  // the strategy's
  std::vector<std::size_t> rollup_index_;  // each one's index among the engine Rollups' timeframes
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<std::uint32_t> group_of_;  // by MarketId
  std::vector<MarketClass> side_of_;     // by MarketId
  std::vector<std::uint32_t> base_of_;   // by MarketId: 0 unseen, 1 or 60
  std::vector<std::int64_t> frontier_;   // by MarketId; 0: nothing reported yet
  std::vector<double> volume_;           // by MarketId: Σ (vbuy + vsell) of closed 1m windows
  std::unique_ptr<Router> router_;
  std::unique_ptr<Rollups> rollups_;
  std::uint64_t evaluations_ = 0;
  std::uint64_t buffer_overflows_ = 0;
  std::uint64_t late_bars_ = 0;
};

}  // namespace tickflow
