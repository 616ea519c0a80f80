// strategy/phase_types.h
//
// The small enums the phases hand each other (direction, bias, setup), and
// their names for reasoning text and JSON. One header so that each phase's
// header depends only on what it reads.
#pragma once

#include <cstdint>
#include <string_view>

namespace tickflow {

enum class Direction : std::int8_t { kNone = 0, kLong = 1, kShort = -1 };
enum class Bias : std::int8_t { kNeutral = 0, kBullish = 1, kBearish = -1 };
enum class PriceState : std::uint8_t { kStable, kRising, kFalling };
enum class CvdPattern : std::uint8_t { kBalanced, kSpotUpPerpDown, kSpotDownPerpUp, kSpotLeading, kPerpLeading };
enum class Setup : std::uint8_t { kNone, kLongSetup, kShortSetup };

// +1 for long, -1 for short, 0 for none: multiplying a change by it turns
// "in the position's favour" into "positive", so longs and shorts share code.
constexpr double sign_of(Direction d) noexcept { return static_cast<double>(static_cast<int>(d)); }
constexpr Direction direction_of(Setup s) noexcept {
  return s == Setup::kLongSetup ? Direction::kLong : s == Setup::kShortSetup ? Direction::kShort : Direction::kNone;
}
constexpr Direction direction_of(Bias b) noexcept { return static_cast<Direction>(static_cast<std::int8_t>(b)); }

constexpr std::string_view to_string(Direction d) noexcept {
  return d == Direction::kLong ? "LONG" : d == Direction::kShort ? "SHORT" : "NONE";
}
constexpr std::string_view to_string(Bias b) noexcept {
  return b == Bias::kBullish ? "BULLISH" : b == Bias::kBearish ? "BEARISH" : "NEUTRAL";
}
constexpr std::string_view to_string(PriceState s) noexcept {
  return s == PriceState::kStable ? "STABLE" : s == PriceState::kRising ? "RISING" : "FALLING";
}
constexpr std::string_view to_string(CvdPattern p) noexcept {
  switch (p) {
    case CvdPattern::kSpotUpPerpDown: return "SPOT_UP_PERP_DOWN";
    case CvdPattern::kSpotDownPerpUp: return "SPOT_DOWN_PERP_UP";
    case CvdPattern::kSpotLeading: return "SPOT_LEADING";
    case CvdPattern::kPerpLeading: return "PERP_LEADING";
    case CvdPattern::kBalanced: break;
  }
  return "BALANCED";
}
constexpr std::string_view to_string(Setup s) noexcept {
  return s == Setup::kLongSetup ? "LONG_SETUP" : s == Setup::kShortSetup ? "SHORT_SETUP" : "NO_SETUP";
}

}  // namespace tickflow
