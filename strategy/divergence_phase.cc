// strategy/divergence_phase.cc
#include "strategy/divergence_phase.h"

#include <algorithm>
#include <cmath>

#include "strategy/window_math.h"

namespace tickflow {

DivergenceReading read_divergence(const TimeframeSeries& s, const SqueezeFlowParams& p) noexcept {
  DivergenceReading r;
  const std::size_t n = p.divergence_bars;
  const std::size_t base = p.baseline_bars;
  if (s.size() <= std::max(n, base)) return r;

  r.price_move = s.momentum(n);
  if (!std::isfinite(r.price_move)) return r;
  r.price = std::fabs(r.price_move) < p.stable_move ? PriceState::kStable
            : r.price_move > 0                      ? PriceState::kRising
                                                    : PriceState::kFalling;

  const double scale = std::sqrt(static_cast<double>(n));
  const double sd_s = window_math::mean_std(0, base, [&](std::size_t k) { return s.back(k).ds; }).stddev;
  const double sd_f = window_math::mean_std(0, base, [&](std::size_t k) { return s.back(k).df; }).stddev;
  const double dcs = s.spot_change(n);
  const double dcf = s.perp_change(n);
  // 0 / 0 (a side without flow) reads 0, not NaN: no change is no signal.
  r.z_spot = dcs == 0 ? 0 : dcs / (sd_s * scale);
  r.z_perp = dcf == 0 ? 0 : dcf / (sd_f * scale);
  const double zs = r.z_spot, zf = r.z_perp, t = p.pattern_z;
  if (zs > t && zf < -t)
    r.pattern = CvdPattern::kSpotUpPerpDown;
  else if (zs < -t && zf > t)
    r.pattern = CvdPattern::kSpotDownPerpUp;
  else if (std::fabs(zs) > p.leading_ratio * std::fabs(zf))
    r.pattern = CvdPattern::kSpotLeading;
  else if (std::fabs(zf) > p.leading_ratio * std::fabs(zs))
    r.pattern = CvdPattern::kPerpLeading;

  r.abs_d = std::fabs(s.d(0));
  const auto prev = window_math::mean_std(1, base + 1, [&](std::size_t k) { return std::fabs(s.d(k)); });
  r.abs_d_mean = prev.mean;
  const double excess = r.abs_d - prev.mean;
  // A flat baseline (std 0): any excess is infinitely significant, none is not.
  r.significance_z = excess == 0 ? 0 : excess / prev.stddev;
  r.significant = r.significance_z >= p.significance_z && r.abs_d >= p.significance_mean_multiple * prev.mean;

  if (r.pattern == CvdPattern::kSpotUpPerpDown && r.price != PriceState::kFalling)
    r.setup = Setup::kLongSetup;
  else if (r.pattern == CvdPattern::kSpotDownPerpUp && r.price != PriceState::kRising)
    r.setup = Setup::kShortSetup;
  r.has_divergence = r.significant && r.setup != Setup::kNone;
  r.valid = true;
  return r;
}

DivergenceResult combine_divergence(const DivergenceReading* readings, std::size_t count) noexcept {
  DivergenceResult out;
  for (std::size_t i = 0; i < count && i < kMaxStrategyTimeframes; ++i) {
    out.per_timeframe[i] = readings[i];
    if (!readings[i].has_divergence) continue;
    if (out.timeframe_index < 0) {
      out.timeframe_index = static_cast<int>(i);
      out.setup = readings[i].setup;
    } else if (readings[i].setup != out.setup) {
      out.setup = Setup::kNone;  // conflicting timeframes
    }
  }
  out.has_divergence = out.setup != Setup::kNone;
  if (!out.has_divergence) out.timeframe_index = -1;
  return out;
}

}  // namespace tickflow
