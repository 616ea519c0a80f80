// strategy/score.cc
#include "strategy/score.h"

#include <algorithm>
#include <cmath>

#include "strategy/window_math.h"

namespace tickflow {
namespace {

double capped(double fraction, double weight) noexcept { return std::min(fraction, 1.0) * weight; }

}  // namespace

ScoreBreakdown compute_score(const TimeframeSeries& s, const ScoreInputs& in, const SqueezeFlowParams& p) noexcept {
  ScoreBreakdown b;
  if (s.size() < 20 || in.direction == Direction::kNone) return b;
  const double dir = sign_of(in.direction);

  // --- CVD reset deceleration ---
  double f = 0;
  const double strength = in.reset.strength;
  if (strength > 0.3)
    f += 0.8;
  else if (strength > 0.1)
    f += 0.5;
  else if (strength > 0.01)
    f += 0.3;
  if (strength > 0.01) b.flags |= kScoreStrength;
  const auto abs_ds = [&](std::size_t k) { return std::fabs(s.back(k).ds); };
  const double recent = window_math::mean(0, 5, abs_ds);
  const double earlier = window_math::mean(10, 20, abs_ds);
  b.spot_deceleration = earlier > 0 ? recent / earlier : window_math::kNaN;
  if (b.spot_deceleration < 0.7) {
    f += 0.4;
    b.flags |= kScoreSpotDecel;
  } else if (b.spot_deceleration < 0.8) {
    f += 0.25;
    b.flags |= kScoreSpotDecel;
  }
  if (in.reset.exhausted) {
    f += 0.2;
    b.flags |= kScoreExhausted;
  }
  b.reset = capped(f, p.weight_reset);

  // --- Absorption ---
  f = 0;
  for (std::size_t k = 0; k < 5; ++k) {
    const SeriesBar& bar = s.back(k);
    if ((bar.close - bar.open) * dir > 0) ++b.directional_closes;
    const double range = bar.high - bar.low;
    if (range > 0) {
      // Where the close sits, 0 = the unfavourable extreme, 1 = the favourable one.
      const double at = dir > 0 ? (bar.close - bar.low) / range : (bar.high - bar.close) / range;
      if (at >= 0.6) ++b.favourable_closes;
    }
  }
  f += 0.15 * b.directional_closes + 0.20 * b.favourable_closes;
  const auto volume = [&](std::size_t k) { return s.back(k).volume; };
  if (window_math::mean(0, 5, volume) > 1.5 * window_math::mean(0, 20, volume)) {
    f += 0.15;
    b.flags |= kScoreVolumeSurge;
  }
  b.absorption = capped(f, p.weight_absorption);

  // --- Failed breakdown ---
  f = 0;
  double lo = s.back(5).low, hi = s.back(5).high;
  for (std::size_t k = 6; k < 15; ++k) {
    lo = std::min(lo, s.back(k).low);
    hi = std::max(hi, s.back(k).high);
  }
  for (std::size_t k = 0; k < 5; ++k) {
    const SeriesBar& bar = s.back(k);
    const bool inside = bar.close >= lo && bar.close <= hi;
    const bool pierced = dir > 0 ? bar.low < lo : bar.high > hi;
    if (pierced && inside) ++b.wicks;
  }
  if (b.wicks >= 3)
    f += 0.6;
  else if (b.wicks == 2)
    f += 0.4;
  else if (b.wicks == 1)
    f += 0.2;
  if (b.wicks > 0) b.flags |= kScoreWicks;
  const auto ds = [&](std::size_t k) { return s.back(k).ds; };
  if (window_math::mean_std(0, 5, ds).stddev < 0.7 * window_math::mean_std(5, 10, ds).stddev) {
    f += 0.4;
    b.flags |= kScoreCalmerDelta;
  }
  b.failed_breakdown = capped(f, p.weight_failed_breakdown);

  // --- Directional bias ---
  f = 0;
  const double dcs = s.spot_change(5) * dir;
  const double dcf = s.perp_change(5) * dir;
  if (dcs > 0 && dcf > 0) {
    f += 0.5;
    b.flags |= kScoreBothCvds;
  } else if (dcs > 0) {
    f += 0.3;
    b.flags |= kScoreSpotCvd;
  }
  const double dp = s.close(0) - s.close(5);
  if (dp * s.spot_change(5) > 0) {
    f += 0.4;
    b.flags |= kScorePriceWithSpot;
  }
  if (in.bias == Bias::kNeutral) {
    f += 0.1;
    b.flags |= kScoreBiasNeutral;
  } else if (direction_of(in.bias) == in.direction) {
    f += 0.2;
    b.flags |= kScoreBiasAgrees;
  }
  b.bias = capped(f, p.weight_bias);

  double total = b.reset + b.absorption + b.failed_breakdown + b.bias;
  if (in.reset_detected) {
    total *= p.reset_multiplier;
    b.flags |= kScoreResetBoost;
  }
  if (p.use_open_interest && std::isfinite(in.oi_change)) {
    if (in.oi_change >= p.oi_rise) {
      total += p.oi_bonus;
      b.flags |= kScoreOpenInterest;
    } else if (in.oi_change < 0) {
      total -= p.oi_penalty;
      b.flags |= kScoreOpenInterest;
    }
  }
  if (total > p.max_score) b.flags |= kScoreClamped;
  b.total = std::clamp(total, 0.0, p.max_score);
  return b;
}

}  // namespace tickflow
