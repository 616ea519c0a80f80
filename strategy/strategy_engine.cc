// strategy/strategy_engine.cc
#include "strategy/strategy_engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "pipeline/bar_flow.h"
#include "pipeline/market_registry.h"
#include "pipeline/rollup.h"
#include "pipeline/timeframe.h"

namespace tickflow {
namespace {

void add_timeframe(std::vector<std::uint32_t>& list, std::uint32_t s) {
  if (s != 0 && std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
}

std::int64_t visible_at(const Bar& b) noexcept { return b.open_time_s + b.timeframe_s; }

}  // namespace

class StrategyEngine::Router final : public BarSink {
 public:
  explicit Router(StrategyEngine& engine) : engine_(engine) {}
  void on_bar(const Bar& bar) override {
    const std::uint32_t gi = engine_.group_of_[bar.market];
    if (gi == kNoGroup) return;
    // The 1m windows (every market has them, whatever its base) measure
    // volume for the execution-market choice.
    if (bar.timeframe_s == 60 && !bar.is_amendment()) engine_.volume_[bar.market] += bar_volume(bar);
    engine_.groups_[gi]->strategy.on_bar(bar, engine_.side_of_[bar.market]);
  }

 private:
  StrategyEngine& engine_;
};

StrategyEngine::StrategyEngine(const SqueezeFlowParams& params, std::size_t max_markets)
    : params_(params),
      max_markets_(max_markets),
      group_of_(max_markets, kNoGroup),
      side_of_(max_markets, MarketClass::kSpot),
      base_of_(max_markets, 0),
      frontier_(max_markets, 0),
      volume_(max_markets, 0.0) {
  params_.validate();
  std::vector<std::uint32_t> rolled = {60};  // 1m first: volume, and the base of 1 m markets
  add_timeframe(timeframes_, params_.analysis_timeframe_s);
  add_timeframe(timeframes_, params_.exit_bias_timeframe_s);
  for (std::size_t i = 0; i < params_.context_timeframes.count; ++i)
    add_timeframe(timeframes_, params_.context_timeframes[i]);
  for (std::size_t i = 0; i < params_.divergence_timeframes.count; ++i)
    add_timeframe(timeframes_, params_.divergence_timeframes[i]);
  for (std::size_t i = 0; i < params_.reset_timeframes.count; ++i)
    add_timeframe(timeframes_, params_.reset_timeframes[i]);
  for (std::uint32_t s : timeframes_) {
    if (s % 60 != 0)
      throw std::invalid_argument("strategy: timeframe " + std::to_string(s) +
                                  " s is not a whole number of minutes (1 m base bars could not build it)");
    add_timeframe(rolled, s);
  }
  // The engine's Rollups: 1m, then the strategy's timeframes (1m may be
  // both); provisional() takes the position in that list.
  for (std::uint32_t s : timeframes_)
    rollup_index_.push_back(static_cast<std::size_t>(std::find(rolled.begin(), rolled.end(), s) - rolled.begin()));
  RollupConfig config;
  config.timeframes.clear();
  for (std::uint32_t s : rolled) config.timeframes.push_back(Timeframe::from_seconds(s));
  config.max_markets = max_markets;
  config.minute_bases = true;
  // Final bars only, fed in time order (late ones are stale: the series have
  // committed those windows anyway), so no amendment machinery.
  config.amend_horizon_s = 0;
  router_ = std::make_unique<Router>(*this);
  rollups_ = std::make_unique<Rollups>(config, *router_);
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
  // A minute of bars per market may wait for the group's slowest market:
  // live, a quiet exchange is closed by the clock within seconds.
  g.pending.reserve(g.members.size() * 64 + 16);
  rollups_->add_market(market);
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
  if (bar.market >= max_markets_ || (bar.timeframe_s != 1 && bar.timeframe_s != 60) || bar.is_provisional()) return;
  const std::uint32_t gi = group_of_[bar.market];
  if (gi == kNoGroup) return;
  if (base_of_[bar.market] == 0) base_of_[bar.market] = bar.timeframe_s;
  Group& g = *groups_[gi];
  if (g.stepped_s != 0 && visible_at(bar) <= g.stepped_s) {
    // Late: an amendment of a second already stepped. The engine's Rollups
    // fold it in (the series keep what they committed, see timeframe_series.h).
    ++late_bars_;
    rollups_->on_bar(bar);
    return;
  }
  if (bar.is_amendment())
    for (Bar& p : g.pending)
      if (p.market == bar.market && p.open_time_s == bar.open_time_s && p.timeframe_s == bar.timeframe_s) {
        p = bar;
        return;
      }
  if (g.pending.size() == g.pending.capacity()) {
    ++buffer_overflows_;  // far ahead of its group: applied now (see the header)
    rollups_->on_bar(bar);
    return;
  }
  g.pending.push_back(bar);
}

void StrategyEngine::on_closed(MarketId market, std::int64_t closed_until_s) {
  if (market < max_markets_ && closed_until_s > frontier_[market]) frontier_[market] = closed_until_s;
}

std::int64_t StrategyEngine::frontier(const Group& g) const noexcept {
  std::int64_t f = INT64_MAX;
  for (const Member& m : g.members)
    if (frontier_[m.market] > 0) f = std::min(f, frontier_[m.market]);
  return f == INT64_MAX ? 0 : f;
}

void StrategyEngine::step(std::size_t gi, Group& g, std::int64_t s, StrategyListener& listener) noexcept {
  // 1. Bars visible by s, in (open time, market) order whatever order they
  //    arrived in: a bar can close its market's windows, and the series sum
  //    markets in the order their windows close, so a canonical order makes
  //    live and backtest sums equal to the last bit. Ready bars are rotated
  //    to the front (the waiting ones keep their order) and insertion-sorted
  //    there: a step has a handful, and std::sort/stable_partition might
  //    allocate.
  std::vector<Bar>& q = g.pending;
  std::size_t ready = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (visible_at(q[i]) > s) continue;
    const Bar b = q[i];
    for (std::size_t j = i; j > ready; --j) q[j] = q[j - 1];
    q[ready++] = b;
  }
  for (std::size_t i = 1; i < ready; ++i)
    for (std::size_t j = i; j > 0; --j) {
      const Bar& a = q[j - 1];
      const Bar& b = q[j];
      if (a.open_time_s < b.open_time_s || (a.open_time_s == b.open_time_s && a.market <= b.market)) break;
      std::swap(q[j - 1], q[j]);
    }
  for (std::size_t i = 0; i < ready; ++i) rollups_->on_bar(q[i]);
  q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(ready));  // shifts down: no allocation
  // Every market closed to s: the windows that ended go to the series.
  for (const Member& m : g.members) {
    const std::uint32_t base = base_of_[m.market];
    if (base == 0) continue;  // no bar yet
    rollups_->on_closed(m.market, base == 60 ? s - ((s % 60) + 60) % 60 : s);
  }
  // 2. The series commit up to s; provisional windows as of s.
  SqueezeFlow& sf = g.strategy;
  sf.on_closed(s);
  for (std::size_t k = 0; k < timeframes_.size(); ++k) {
    TimeframeSeries* series = sf.series(timeframes_[k]);
    if (series == nullptr) continue;
    series->begin_provisional();
    for (const Member& m : g.members)
      if (const std::optional<Bar> p = rollups_->provisional(m.market, rollup_index_[k]))
        series->sum_provisional(*p, m.side);
    series->end_provisional();
  }
  // 3. Evaluate.
  const Decision& d = sf.evaluate(s);
  if (d.action == Decision::kLong || d.action == Decision::kShort) {
    if (!listener.on_entry(gi, d)) sf.cancel_position();
  } else if (d.action == Decision::kClose) {
    listener.on_exit(gi, d);
  }
  listener.on_evaluation(gi, d);
}

std::size_t StrategyEngine::poll(StrategyListener& listener) noexcept {
  std::size_t ran = 0;
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    Group& g = *groups_[gi];
    const std::int64_t f = frontier(g);
    if (f <= g.stepped_s) continue;
    std::int64_t s = g.stepped_s == 0 ? f : std::max(g.stepped_s + 1, f - kMaxCatchUpSeconds);
    for (; s <= f; ++s) {
      step(gi, g, s, listener);
      ++ran;
    }
    g.stepped_s = f;
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
