// pipeline/flow_stage.cc
#include "pipeline/flow_stage.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace tickflow {
namespace {
constexpr std::int64_t kNoFrontier = std::numeric_limits<std::int64_t>::min();  // market not seen
constexpr std::int64_t kNotYet = kNoFrontier + 1;  // seen, no second closed yet: holds the others back
}  // namespace

FlowStage::FlowStage(const MarketRegistry& registry, FlowStatsConfig config, std::size_t max_markets, BarSink& output,
                     std::int64_t startup_hold_ns)
    : registry_(registry),
      stats_(SymbolGroups(registry), std::move(config)),
      output_(output),
      frontier_(max_markets, kNoFrontier),
      startup_hold_ns_(startup_hold_ns) {
  named_.reserve(stats_.group_capacity());
  emitted_.reserve(stats_.group_capacity());
  add_market(kInvalidMarket);  // names of the groups the registry already has
}

void FlowStage::add_market(MarketId market) {
  if (market != kInvalidMarket && market < frontier_.size()) {
    markets_ = std::max<std::size_t>(markets_, market + 1);
    if (frontier_[market] == kNoFrontier) frontier_[market] = kNotYet;
  }
  if (registry_.size() > stats_.groups().market_count()) {
    try {
      stats_.refresh_markets(registry_);
    } catch (const std::length_error&) {
      ++counters_.groups_refused;  // FlowStats is unchanged: the new markets stay in no group
    }
  }
  const SymbolGroups& groups = stats_.groups();
  while (named_.size() < groups.size()) {
    FlowRecord r;
    const bool fits = r.set_group(groups.name(static_cast<GroupId>(named_.size())));
    if (!fits) ++counters_.names_too_long;
    named_.push_back(r);
    emitted_.push_back(fits ? 1 : 0);
  }
}

void FlowStage::on_bar(const Bar& bar) {
  if (bar.timeframe_s != 1 || bar.is_provisional()) return;
  if (stats_.started()) {
    // Keep every bar inside the pending window (see the banner).
    const std::int64_t s = bar.open_time_s;
    const std::int64_t end = s - static_cast<std::int64_t>(stats_.config().pending_seconds) + 1;
    const bool small_jump = end - stats_.next_second() <= kMaxJumpS;
    const bool confirmed = s >= previous_bar_s_ - kMaxJumpS && s <= previous_bar_s_ + kMaxJumpS;
    if (end > stats_.next_second() && (small_jump || confirmed)) advance_to(end);
  }
  previous_bar_s_ = bar.open_time_s;
  stats_.add_bar(bar);
}

void FlowStage::on_closed(MarketId market, std::int64_t closed_until_s) noexcept {
  if (market >= frontier_.size()) return;
  if (closed_until_s <= frontier_[market] || closed_until_s <= kNotYet) return;
  frontier_[market] = closed_until_s;
  markets_ = std::max<std::size_t>(markets_, market + 1);
  frontier_moved_ = true;
}

bool FlowStage::still_holding(std::int64_t now_ns) {
  if (!hold_started_) {
    hold_started_ = true;
    hold_since_ns_ = now_ns;
  }
  if (now_ns - hold_since_ns_ < startup_hold_ns_) return true;
  holding_ = false;
  return false;
}

void FlowStage::poll(std::int64_t now_ns) {
  if (holding_ && still_holding(now_ns)) return;
  if (!frontier_moved_) return;
  frontier_moved_ = false;
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  for (std::size_t m = 0; m < markets_; ++m)
    if (frontier_[m] != kNoFrontier) lowest = std::min(lowest, frontier_[m]);
  if (lowest == std::numeric_limits<std::int64_t>::max() || lowest == kNotYet || !stats_.started()) return;
  if (lowest - stats_.next_second() <= kMaxJumpS) advance_to(lowest);
}

void FlowStage::advance_to(std::int64_t end_s) {
  stats_.advance_to(end_s, [this](std::size_t tf, std::int64_t) { emit(tf); });
}

void FlowStage::flush() {
  stats_.flush([this](std::size_t tf, std::int64_t) { emit(tf); });
}

void FlowStage::emit(std::size_t timeframe_index) {
  const std::size_t groups = std::min(named_.size(), stats_.groups().size());
  for (GroupId g = 0; g < groups; ++g) {
    if (!emitted_[g]) continue;
    FlowRecord& r = named_[g];
    r.set_snapshot(stats_.snapshot(g, timeframe_index));
    ++counters_.records;
    output_.on_flow(r);
  }
}

}  // namespace tickflow
