// strategy/context_phase.cc
#include "strategy/context_phase.h"

#include <algorithm>
#include <cmath>

#include "strategy/window_math.h"

namespace tickflow {

ContextReading read_context(const TimeframeSeries& s, const SqueezeFlowParams& p) noexcept {
  ContextReading r;
  const std::size_t longest = std::max(
      {p.trend_lookback, p.recent_d_bars, p.momentum_periods[0], p.momentum_periods[1], p.momentum_periods[2]});
  if (s.size() <= longest) return r;

  double m = 0;
  for (std::size_t period : p.momentum_periods) m += s.momentum(period);
  r.momentum = m / static_cast<double>(p.momentum_periods.size());

  const std::size_t L = p.trend_lookback;
  const double dcs = s.spot_change(L);
  const double dcf = s.perp_change(L);
  // The std of the L per-bar deltas that make up the change.
  const double sd_s = window_math::mean_std(0, L, [&](std::size_t k) { return s.back(k).ds; }).stddev;
  const double sd_f = window_math::mean_std(0, L, [&](std::size_t k) { return s.back(k).df; }).stddev;
  // A flat side (std 0) with no change reads 0; with a change, +-inf is an
  // honest "infinitely unusual", and comparisons stay well defined.
  r.spot_momentum = dcs == 0 ? 0 : dcs / sd_s;
  r.perp_momentum = dcf == 0 ? 0 : dcf / sd_f;
  if (std::isnan(r.spot_momentum) || std::isnan(r.perp_momentum) || std::isnan(r.momentum)) return r;

  r.mean_d = window_math::mean(0, p.recent_d_bars, [&](std::size_t k) { return s.d(k); });
  const double total = std::fabs(dcs) + std::fabs(dcf);
  r.dominance = total > 0 ? std::fabs(dcs) / total : 0.5;
  r.spot_led = r.dominance > p.spot_led_dominance;

  if (r.momentum > 0 && r.spot_momentum > r.perp_momentum && r.mean_d > 0)
    r.bias = Bias::kBullish;
  else if (r.momentum < 0 && r.spot_momentum < r.perp_momentum && r.mean_d < 0)
    r.bias = Bias::kBearish;
  r.valid = true;
  return r;
}

ContextResult combine_context(const ContextReading* readings, std::size_t count) noexcept {
  ContextResult out;
  std::size_t valid = 0, bull = 0, bear = 0, led = 0;
  for (std::size_t i = 0; i < count && i < kMaxStrategyTimeframes; ++i) {
    out.per_timeframe[i] = readings[i];
    if (!readings[i].valid) continue;
    ++valid;
    bull += readings[i].bias == Bias::kBullish;
    bear += readings[i].bias == Bias::kBearish;
    led += readings[i].spot_led;
  }
  if (valid == 0) return out;
  if (bull > bear && 2 * bull >= valid)
    out.bias = Bias::kBullish;
  else if (bear > bull && 2 * bear >= valid)
    out.bias = Bias::kBearish;
  out.spot_led = 2 * led > valid;
  return out;
}

}  // namespace tickflow
