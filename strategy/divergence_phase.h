// strategy/divergence_phase.h
//
// Phase 2, divergence (spec: "Phase 2 — Divergence"), on each divergence
// timeframe (15m, 30m by default). It is the gate: without has_divergence
// the score is 0.
//
//   price state   m = (C_t − C_{t−10}) / C_{t−10}: STABLE if |m| < 1 %, else
//                 RISING or FALLING (signed: FALLING can fire)
//   CVD pattern   z_s = ΔCs(10) / (std(ds over 20 bars) · √10), z_f alike:
//                 the change scored against the spread a random walk of
//                 such per-bar changes would have over 10 bars.
//                 SPOT_UP_PERP_DOWN: z_s > 1 and z_f < −1; SPOT_DOWN_PERP_UP
//                 mirrored; else one side leads (|z| > 1.5 × the other's) or
//                 the flows are balanced
//   significance  |D_t| scored against the previous 20 bars of |D|: z >= 1
//                 and |D_t| >= 1.5 × their mean (no fixed USD threshold)
//   setups        LONG_SETUP: STABLE or RISING with SPOT_UP_PERP_DOWN;
//                 SHORT_SETUP: STABLE or FALLING with SPOT_DOWN_PERP_UP
//
// Several timeframes combine as: the first timeframe (in the params' order)
// with has_divergence gives the setup; if another one diverges the other
// way, the evidence conflicts and there is no setup.
//
// Promises: reads at most baseline_bars + 1 bars per timeframe, no allocation.
#pragma once

#include <array>
#include <cstddef>

#include "strategy/phase_types.h"
#include "strategy/strategy_params.h"
#include "strategy/timeframe_series.h"

namespace tickflow {

struct DivergenceReading {
  bool valid = false;  // enough history
  double price_move = 0;
  PriceState price = PriceState::kStable;
  double z_spot = 0;
  double z_perp = 0;
  CvdPattern pattern = CvdPattern::kBalanced;
  double abs_d = 0;       // |D_t|
  double abs_d_mean = 0;  // mean |D| of the previous baseline_bars bars
  double significance_z = 0;
  bool significant = false;
  Setup setup = Setup::kNone;
  bool has_divergence = false;
};

struct DivergenceResult {
  std::array<DivergenceReading, kMaxStrategyTimeframes> per_timeframe{};
  Setup setup = Setup::kNone;
  bool has_divergence = false;
  int timeframe_index = -1;  // which reading gave the setup
};

DivergenceReading read_divergence(const TimeframeSeries& s, const SqueezeFlowParams& p) noexcept;
DivergenceResult combine_divergence(const DivergenceReading* readings, std::size_t count) noexcept;

}  // namespace tickflow
