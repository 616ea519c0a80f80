// strategy/exits.cc
#include "strategy/exits.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "strategy/window_math.h"

namespace tickflow {
namespace {

bool flow_reversal(const TimeframeSeries& s, const OpenPosition& pos, double dir, const SqueezeFlowParams& p) {
  if (s.size() < 2) return false;
  const double spot = (s.back(0).cum_ds - pos.entry_cum_ds) * dir;  // > 0: with the position
  const double perp = (s.back(0).cum_df - pos.entry_cum_df) * dir;
  if (!(spot < 0 && perp > 0)) return false;
  const std::size_t n = std::min<std::size_t>(20, s.size());
  const double sd = window_math::mean_std(0, n, [&](std::size_t k) { return s.back(k).ds; }).stddev;
  const double threshold = p.flow_reversal_std * sd;
  return std::fabs(spot) > threshold || std::fabs(perp) > threshold;
}

bool cvd_invalidation(const TimeframeSeries& s, double dir) {
  const std::size_t n = s.size();
  const std::size_t w = std::min<std::size_t>(20, n / 2);
  if (w < 1 || n <= 5) return false;
  const bool long_against = s.spot_change(w) * dir < 0 && s.perp_change(w) * dir < 0;
  const bool short_against = s.spot_change(5) * dir < 0 && s.perp_change(5) * dir < 0;
  return long_against && short_against;
}

bool structure_break(const TimeframeSeries& s, double dir, const SqueezeFlowParams& p) {
  const std::size_t lows = p.structure_low_bars;
  const std::size_t ranges = p.structure_range_bars;
  if (s.size() <= std::max(lows, ranges - 1)) return false;
  std::array<double, 64> r{};
  for (std::size_t k = 0; k < ranges; ++k) r[k] = s.back(k).high - s.back(k).low;
  const auto mid = r.begin() + static_cast<std::ptrdiff_t>(ranges / 2);
  std::nth_element(r.begin(), mid, r.begin() + static_cast<std::ptrdiff_t>(ranges));
  double median = *mid;
  if (ranges % 2 == 0) median = (median + *std::max_element(r.begin(), mid)) / 2;
  const double close = s.close(0);
  if (dir > 0) {
    double lo = s.back(1).low;
    for (std::size_t k = 2; k <= lows; ++k) lo = std::min(lo, s.back(k).low);
    return close < lo - median;
  }
  double hi = s.back(1).high;
  for (std::size_t k = 2; k <= lows; ++k) hi = std::max(hi, s.back(k).high);
  return close > hi + median;
}

}  // namespace

ExitReason check_exits(const TimeframeSeries& s, const OpenPosition& pos, Bias higher_bias,
                       const SqueezeFlowParams& p) noexcept {
  if (s.size() == 0 || pos.direction == Direction::kNone) return ExitReason::kNone;
  const double dir = sign_of(pos.direction);
  const double close = s.close(0);
  if (flow_reversal(s, pos, dir, p)) return ExitReason::kFlowReversal;
  if (dir > 0 ? close < pos.reset_low : close > pos.reset_high) return ExitReason::kRangeBreak;
  if (cvd_invalidation(s, dir)) return ExitReason::kCvdInvalidation;
  if (structure_break(s, dir, p)) return ExitReason::kStructureBreak;
  if (higher_bias != Bias::kNeutral && direction_of(higher_bias) != pos.direction)
    return ExitReason::kTimeframeInvalidation;
  if ((close - pos.entry_price) * dir <= -p.hard_stop * pos.entry_price) return ExitReason::kHardStop;
  return ExitReason::kNone;
}

}  // namespace tickflow
