// strategy/reset_phase.cc
#include "strategy/reset_phase.h"

#include <algorithm>
#include <cmath>

#include "strategy/window_math.h"

namespace tickflow {

ResetReading read_reset(const TimeframeSeries& s, Direction direction, const SqueezeFlowParams& p) noexcept {
  ResetReading r;
  const std::size_t n = s.size();
  const std::size_t w = std::min(p.convergence_max_bars, n / 2);
  if (w < 3) return r;
  r.window = w;

  r.rate = -window_math::slope(w, [&](std::size_t k) { return std::fabs(s.d(k)); });
  const double then = std::fabs(s.d(w));
  r.strength = then > 0 ? (then - std::fabs(s.d(0))) / then : 0;
  r.converging = r.rate > 0 && r.strength > p.converging_strength;

  r.window_low = s.back(0).low;
  r.window_high = s.back(0).high;
  for (std::size_t k = 1; k <= w; ++k) {
    r.window_low = std::min(r.window_low, s.back(k).low);
    r.window_high = std::max(r.window_high, s.back(k).high);
  }

  const double m5 = n > 5 ? s.momentum(5) : 0;
  if (n > 15) r.decelerating = std::fabs(m5) < p.deceleration_ratio * std::fabs(s.momentum(15)) / 3.0;
  if (n >= 20) {
    double lo = s.back(0).low, hi = s.back(0).high;
    for (std::size_t k = 1; k < 20; ++k) {
      lo = std::min(lo, s.back(k).low);
      hi = std::max(hi, s.back(k).high);
    }
    r.stagnant = hi - lo < p.stagnation_ratio * s.mean_bar_range();
  }
  r.exhausted = r.decelerating || r.stagnant;
  r.type_a = r.converging || (r.exhausted && r.strength > p.type_a_exhausted_strength);

  const double dir = sign_of(direction);
  const bool explosive_price = std::fabs(m5) > p.explosive_move && m5 * dir > 0;
  bool explosive_d = false;
  if (n > 4) {
    const double d0 = s.d(0);
    const double prev = window_math::mean(1, 5, [&](std::size_t k) { return std::fabs(s.d(k)); });
    explosive_d = std::fabs(d0) > p.explosive_d_multiple * prev && d0 * dir > 0;
  }
  r.type_b = explosive_price || explosive_d;
  r.reset = r.type_a || r.type_b;
  r.valid = true;
  return r;
}

}  // namespace tickflow
