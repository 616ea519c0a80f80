// strategy/reset_phase.h
//
// Phase 3, reset (spec: "Phase 3 — Reset"), on each reset timeframe (5m,
// 15m, 30m by default), in the direction of the Phase 2 setup.
//
//   convergence  over w = min(10, n/2) bars (w >= 3): the least-squares fit
//                of |D| over the w + 1 points t−w..t (the same span as the
//                strength); rate = −slope per bar; strength =
//                (|D_{t−w}| − |D_t|) / |D_{t−w}|; converging = rate > 0 and
//                strength > 0.2
//   exhaustion   deceleration: |m5| < 0.8 × |m15| / 3; stagnation: the range
//                of the last 20 bars < 0.5 × the mean bar range of the whole
//                history (the mean of the same 20 bars could never exceed
//                their joint range); exhausted = either
//   type A       converging, or exhausted and strength > 0.02
//   type B       |m5| > 2 %, or |D_t| > 1.5 × mean |D| of the 4 bars before,
//                each only when the move (price, or the sign of D) points the
//                setup's way
//   reset        type A or type B
//
// The reset window's low and high (bars t−w..t) are what exit 2 (range
// break) records at entry.
//
// Promises: reads at most 21 bars, no allocation.
#pragma once

#include <array>
#include <cstddef>

#include "strategy/phase_types.h"
#include "strategy/strategy_params.h"
#include "strategy/timeframe_series.h"

namespace tickflow {

struct ResetReading {
  bool valid = false;
  std::size_t window = 0;  // w
  double rate = 0;
  double strength = 0;
  bool converging = false;
  bool decelerating = false;
  bool stagnant = false;
  bool exhausted = false;
  bool type_a = false;
  bool type_b = false;
  bool reset = false;
  double window_low = 0;  // min low / max high over bars t−w..t
  double window_high = 0;
};

struct ResetResult {
  std::array<ResetReading, kMaxStrategyTimeframes> per_timeframe{};
  bool reset_detected = false;  // on any reset timeframe
};

ResetReading read_reset(const TimeframeSeries& s, Direction direction, const SqueezeFlowParams& p) noexcept;

}  // namespace tickflow
