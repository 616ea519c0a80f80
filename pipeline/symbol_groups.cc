// pipeline/symbol_groups.cc
#include "pipeline/symbol_groups.h"

namespace tickflow {

std::size_t SymbolGroups::refresh(const MarketRegistry& registry) {
  const std::size_t groups_before = groups_.size();
  // Memberships are rebuilt from scratch, ids are not: by_name_ keeps every
  // group's id, and a new base asset takes the next one.
  for (Group& g : groups_) {
    g.spot.clear();
    g.perp.clear();
  }
  // One reading of the size: feed threads (or a replay's reader) may intern
  // markets while the aggregator refreshes, and every market below this
  // count is complete (MarketRegistry publishes the count after the entry).
  const std::size_t markets = registry.size();
  membership_.assign(markets, GroupMembership{});
  for (MarketId id = 0; id < markets; ++id) {
    const MarketInfo& info = registry.info(id);
    if (info.base.empty()) continue;
    auto [it, inserted] = by_name_.try_emplace(info.base, static_cast<GroupId>(groups_.size()));
    if (inserted) groups_.push_back(Group{info.base, {}, {}});
    Group& group = groups_[it->second];
    (info.market_class == MarketClass::kSpot ? group.spot : group.perp).push_back(id);
    membership_[id] = GroupMembership{it->second, info.market_class};
  }
  return groups_.size() - groups_before;
}

std::optional<GroupId> SymbolGroups::find(std::string_view base) const noexcept {
  if (auto it = by_name_.find(base); it != by_name_.end()) return it->second;
  return std::nullopt;
}

}  // namespace tickflow
