// strategy/sizing.h
//
// Tiers and position sizing by score (spec: "Tiers and trading decision",
// "Entry and sizing"):
//
//   score >= 8   PREMIUM  confidence 0.90  factor 1.5  leverage 5
//   score >= 6   HIGH     confidence 0.75  factor 1.0  leverage 3
//   score >= 4   MEDIUM   confidence 0.60  factor 0.5  leverage 2
//   below        no tier: no trade, whatever min_entry_score says
//
//   quantity = equity × base_risk × factor × leverage / price, with the
//   position value capped at max_position_fraction × starting balance ×
//   leverage.
//
// Promises: pure functions, constexpr where they can be.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "strategy/strategy_params.h"

namespace tickflow {

enum class Tier : std::uint8_t { kNone, kMedium, kHigh, kPremium };

struct Sizing {
  Tier tier = Tier::kNone;
  double confidence = 0;
  double size_factor = 0;
  double leverage = 0;
};

constexpr Sizing sizing_for(double score) noexcept {
  if (score >= 8) return {Tier::kPremium, 0.9, 1.5, 5};
  if (score >= 6) return {Tier::kHigh, 0.75, 1.0, 3};
  if (score >= 4) return {Tier::kMedium, 0.6, 0.5, 2};
  return {};
}

constexpr std::string_view to_string(Tier t) noexcept {
  switch (t) {
    case Tier::kPremium: return "PREMIUM";
    case Tier::kHigh: return "HIGH";
    case Tier::kMedium: return "MEDIUM";
    case Tier::kNone: break;
  }
  return "NONE";
}

// Base-asset quantity to buy or sell; 0 for a non-positive price.
constexpr double position_quantity(double equity, double starting_balance, double price, const Sizing& s,
                                   const SqueezeFlowParams& p) noexcept {
  if (!(price > 0)) return 0;
  const double value = equity * p.base_risk * s.size_factor * s.leverage;
  const double cap = p.max_position_fraction * starting_balance * s.leverage;
  return std::min(value, cap) / price;
}

}  // namespace tickflow
