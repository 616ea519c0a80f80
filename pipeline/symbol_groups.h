// pipeline/symbol_groups.h
//
// SymbolGroups: the registry's markets grouped by base asset, each market on
// the spot side or the perp side by its registry class. SqueezeFlow reads
// one group (every BTC spot market against every BTC perp, across
// exchanges) and never mixes the two sides (../shared/docs/
// squeezeflow-strategy.md, "Inputs per evaluation"). The flow statistics
// engine gives each group one SIMD lane, so group ids are dense.
//
// Promises:
//  * group ids are 0, 1, 2, ... in the order the groups first appear in
//    market-id order, and never change: refresh() after more markets were
//    registered only appends groups, so lanes, snapshots and CSV rows keyed
//    by a group id stay valid;
//  * refresh() re-reads every market's class and base asset, so a class
//    override or a base asset learned after the first build is picked up
//    (the market moves side or joins a group; existing ids stay);
//  * a market without a base asset (the registry could not split its pair)
//    is in no group: membership().group == kNoGroup, as is any market id the
//    last refresh() did not see. Nothing is guessed;
//  * membership() is an array index: the hot path may call it per bar.
//
// Lifecycle: build (and refresh) on the thread that owns the registry, at
// configuration time or between replay steps; not concurrently with
// MarketRegistry::add().
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipeline/market_class.h"
#include "pipeline/market_id.h"
#include "pipeline/market_registry.h"

namespace tickflow {

using GroupId = std::uint32_t;
inline constexpr GroupId kNoGroup = UINT32_MAX;

struct GroupMembership {
  GroupId group = kNoGroup;
  MarketClass side = MarketClass::kSpot;
};

class SymbolGroups {
 public:
  SymbolGroups() = default;
  explicit SymbolGroups(const MarketRegistry& registry) { refresh(registry); }

  // Takes in markets registered (or re-classified) since the last call.
  // Returns how many groups were added.
  std::size_t refresh(const MarketRegistry& registry);

  std::size_t size() const noexcept { return groups_.size(); }
  // Markets the last refresh() saw (the registry's size then).
  std::size_t market_count() const noexcept { return membership_.size(); }

  // The group's base asset, "BTC". Precondition: group < size().
  const std::string& name(GroupId group) const noexcept { return groups_[group].name; }
  std::optional<GroupId> find(std::string_view base) const noexcept;

  GroupMembership membership(MarketId market) const noexcept {
    return market < membership_.size() ? membership_[market] : GroupMembership{};
  }

  // The group's markets on each side, in market-id order. Precondition: group < size().
  std::span<const MarketId> spot_markets(GroupId group) const noexcept { return groups_[group].spot; }
  std::span<const MarketId> perp_markets(GroupId group) const noexcept { return groups_[group].perp; }

 private:
  struct Group {
    std::string name;
    std::vector<MarketId> spot;
    std::vector<MarketId> perp;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<Group> groups_;
  std::unordered_map<std::string, GroupId, StringHash, std::equal_to<>> by_name_;
  std::vector<GroupMembership> membership_;  // indexed by MarketId
};

}  // namespace tickflow
