// strategy/strategy_engine.cc
#include "strategy/strategy_engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "pipeline/market_registry.h"
#include "pipeline/rollup.h"

namespace tickflow {
namespace {

void add_timeframe(std::vector<std::uint32_t>& list, std::uint32_t s) {
  if (s != 0 && std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
}

}  // namespace

StrategyEngine::StrategyEngine(const SqueezeFlowParams& params, const std::vector<Timeframe>& rollups,
                               std::size_t max_markets)
    : params_(params),
      max_markets_(max_markets),
      group_of_(max_markets, kNoGroup),
      side_of_(max_markets, MarketClass::kSpot),
      frontier_(max_markets, 0),
      volume_(max_markets, 0.0) {
  params_.validate();
  add_timeframe(timeframes_, params_.analysis_timeframe_s);
  add_timeframe(timeframes_, params_.exit_bias_timeframe_s);
  for (std::size_t i = 0; i < params_.context_timeframes.count; ++i)
    add_timeframe(timeframes_, params_.context_timeframes[i]);
  for (std::size_t i = 0; i < params_.divergence_timeframes.count; ++i)
    add_timeframe(timeframes_, params_.divergence_timeframes[i]);
  for (std::size_t i = 0; i < params_.reset_timeframes.count; ++i)
    add_timeframe(timeframes_, params_.reset_timeframes[i]);
  for (std::uint32_t s : timeframes_) {
    const auto it = std::find_if(rollups.begin(), rollups.end(), [s](const Timeframe& t) { return t.seconds() == s; });
    if (it == rollups.end())
      throw std::invalid_argument("strategy: timeframe " + std::string(Timeframe::from_seconds(s).name()) +
                                  " is used by the strategy but not built by the rollups ([bars] rollups)");
    rollup_index_.push_back(static_cast<std::size_t>(it - rollups.begin()));
  }
}

StrategyEngine::~StrategyEngine() = default;

std::size_t StrategyEngine::add_group(std::string symbol, std::string base, MarketId execution) {
  groups_.push_back(std::make_unique<Group>(std::move(symbol), std::move(base), execution, params_));
  return groups_.size() - 1;
}

void StrategyEngine::add_market(std::size_t group, MarketId market, MarketClass side) {
  if (market >= max_markets_)
    throw std::invalid_argument("strategy: market id " + std::to_string(market) + " beyond max_markets");
  if (group_of_[market] != kNoGroup) return;
  Group& g = *groups_.at(group);
  group_of_[market] = static_cast<std::uint32_t>(group);
  side_of_[market] = side;
  g.members.push_back({market, side});
  g.markets.push_back(market);
  // Room for a few windows per market and timeframe waiting for the slowest
  // market: a market more than that ahead of its group is an anomaly
  // (counted, see queue_overflows()).
  g.queue.reserve(g.members.size() * timeframes_.size() * 4 + 16);
}

std::size_t StrategyEngine::attach_markets(const MarketRegistry& registry) {
  std::size_t added = 0;
  for (std::size_t id = 0; id < registry.size() && id < max_markets_; ++id) {
    if (group_of_[id] != kNoGroup) continue;
    const MarketInfo& info = registry.info(static_cast<MarketId>(id));
    const std::size_t g = find_group(info.base);
    if (g == SIZE_MAX) continue;
    add_market(g, static_cast<MarketId>(id), info.market_class);
    ++added;
  }
  return added;
}

std::size_t StrategyEngine::find_group(std::string_view base) const noexcept {
  if (base.empty()) return SIZE_MAX;
  for (std::size_t i = 0; i < groups_.size(); ++i)
    if (groups_[i]->base == base) return i;
  return SIZE_MAX;
}

void StrategyEngine::on_bar(const Bar& bar) {
  if (bar.market >= max_markets_) return;
  const std::uint32_t gi = group_of_[bar.market];
  if (gi == kNoGroup) return;
  if (bar.timeframe_s == 60 && !bar.is_provisional() && !bar.is_amendment()) {
    // The 1m rollup (every market has one, whatever its base interval)
    // measures volume for the execution-market choice.
    volume_[bar.market] += bar.vbuy + bar.vsell;
  }
  if (std::find(timeframes_.begin(), timeframes_.end(), bar.timeframe_s) == timeframes_.end()) return;
  Group& g = *groups_[gi];
  if (bar.is_amendment()) {
    for (Bar& q : g.queue)
      if (q.market == bar.market && q.timeframe_s == bar.timeframe_s && q.open_time_s == bar.open_time_s) {
        q = bar;
        return;
      }
  }
  if (g.queue.size() == g.queue.capacity()) {
    ++queue_overflows_;
    g.strategy.on_bar(bar, side_of_[bar.market]);
    return;
  }
  g.queue.push_back(bar);
}

void StrategyEngine::on_closed(MarketId market, std::int64_t closed_until_s) {
  if (market < max_markets_ && closed_until_s > frontier_[market]) frontier_[market] = closed_until_s;
}

std::int64_t StrategyEngine::frontier(const Group& g) const noexcept {
  std::int64_t f = INT64_MAX;
  for (MarketId m : g.markets)
    if (frontier_[m] > 0) f = std::min(f, frontier_[m]);
  return f == INT64_MAX ? 0 : f;
}

void StrategyEngine::deliver_closed(Group& g, std::int64_t frontier_s) noexcept {
  // Bars whose window ended by the frontier, in (timeframe, window) order;
  // within one window the markets' order does not matter (sums). The queue
  // is a handful of bars, so a stable partition plus insertion sort is the
  // cheap choice; it never allocates.
  auto ready = [frontier_s](const Bar& b) { return b.open_time_s + b.timeframe_s <= frontier_s; };
  const auto split = std::stable_partition(g.queue.begin(), g.queue.end(), ready);
  for (auto i = g.queue.begin() + 1; i < split; ++i)
    for (auto j = i; j > g.queue.begin(); --j) {
      const Bar& a = *(j - 1);
      const Bar& b = *j;
      if (a.timeframe_s < b.timeframe_s || (a.timeframe_s == b.timeframe_s && a.open_time_s <= b.open_time_s)) break;
      std::swap(*(j - 1), *j);
    }
  for (auto i = g.queue.begin(); i < split; ++i) g.strategy.on_bar(*i, side_of_[i->market]);
  g.queue.erase(g.queue.begin(), split);
}

std::size_t StrategyEngine::poll(const Rollups& rollups, StrategyListener& listener) noexcept {
  std::size_t ran = 0;
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    Group& g = *groups_[gi];
    const std::int64_t f = frontier(g);
    if (f <= g.stepped_s) continue;
    g.stepped_s = f;
    if (!g.queue.empty()) deliver_closed(g, f);
    SqueezeFlow& sf = g.strategy;
    sf.on_closed(f);
    sf.clear_provisional();
    for (const Member& m : g.members)
      for (std::size_t k = 0; k < rollup_index_.size(); ++k)
        if (const std::optional<Bar> p = rollups.provisional(m.market, rollup_index_[k])) sf.on_provisional(*p, m.side);
    const Decision& d = sf.evaluate(f);
    ++ran;
    if (d.action == Decision::kLong || d.action == Decision::kShort) {
      if (!listener.on_entry(gi, d)) sf.cancel_position();
    } else if (d.action == Decision::kClose) {
      listener.on_exit(gi, d);
    }
    listener.on_evaluation(gi, d);
  }
  evaluations_ += ran;
  return ran;
}

MarketId StrategyEngine::execution_market(std::size_t group) const noexcept {
  const Group& g = *groups_[group];
  if (g.execution != kInvalidMarket) return g.execution;
  MarketId best = kInvalidMarket;
  double best_volume = -1;
  for (const Member& m : g.members)
    if (m.side == MarketClass::kPerp && volume_[m.market] > best_volume) {
      best = m.market;
      best_volume = volume_[m.market];
    }
  return best;
}

Signal StrategyEngine::make_signal(std::size_t group, const Decision& d) const noexcept {
  const Group& g = *groups_[group];
  return g.strategy.make_signal(d, g.symbol, g.base);
}

}  // namespace tickflow
