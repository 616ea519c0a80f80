// strategy/score.h
//
// Phase 4, the score (spec: "Phase 4 — Score"), 0 to 10, computed on the
// analysis timeframe only when Phase 2 found a divergence. Four components,
// each a sum of percentages of its weight, capped at the weight:
//
//   reset deceleration (3.5)  convergence strength > 0.3 / 0.1 / 0.01: 80 /
//                             50 / 30 %; spot-CVD deceleration (mean |ds| of
//                             the last 5 bars / of bars [−20, −10)) < 0.7:
//                             +40 %, or < 0.8: +25 %; exhausted: +20 %
//   absorption (2.5)          last 5 bars: +15 % per close in the setup's
//                             direction, +20 % per close in the favourable
//                             40 % of its range, +15 % if their mean volume >
//                             1.5 × the 20-bar mean
//   failed breakdown (2.0)    wicks of the last 5 bars through the range of
//                             bars [−15, −5) that close back inside it: >= 3
//                             / 2 / 1: 60 / 40 / 20 %; +40 % if std(ds) of
//                             the last 5 bars < 0.7 × that of the 5 before
//   directional bias (2.0)    5-bar ΔCs and ΔCf both with the setup: +50 %,
//                             only ΔCs: +30 %; price moved with spot over 5
//                             bars: +40 %; Phase 1 bias agrees: +20 %,
//                             neutral: +10 %
//
// Then ×1.2 if a reset was detected, the optional open-interest adjustment,
// and a clamp to [0, 10] (the old score could exceed 10).
//
// Bar indices: "bar −j" is the j-th newest (−1 the current, provisional
// bar), as a Python slice [-j:] reads it; [−15, −5) is therefore disjoint
// from the last 5 bars being tested (the old range contained them, so no
// wick could ever pierce it).
//
// Promises: reads at most 20 bars, no allocation.
#pragma once

#include <cstdint>

#include "strategy/phase_types.h"
#include "strategy/reset_phase.h"
#include "strategy/strategy_params.h"
#include "strategy/timeframe_series.h"

namespace tickflow {

// Which sub-conditions fired, for the reasoning text.
enum ScoreFlags : std::uint32_t {
  kScoreStrength = 1u << 0,
  kScoreSpotDecel = 1u << 1,
  kScoreExhausted = 1u << 2,
  kScoreVolumeSurge = 1u << 3,
  kScoreWicks = 1u << 4,
  kScoreCalmerDelta = 1u << 5,
  kScoreBothCvds = 1u << 6,
  kScoreSpotCvd = 1u << 7,
  kScorePriceWithSpot = 1u << 8,
  kScoreBiasAgrees = 1u << 9,
  kScoreBiasNeutral = 1u << 10,
  kScoreResetBoost = 1u << 11,
  kScoreOpenInterest = 1u << 12,
  kScoreClamped = 1u << 13,
};

struct ScoreBreakdown {
  double reset = 0;  // points, each <= its weight
  double absorption = 0;
  double failed_breakdown = 0;
  double bias = 0;
  double total = 0;              // after boost, OI and the clamp
  double spot_deceleration = 0;  // the ratio the reset component read
  int directional_closes = 0;
  int favourable_closes = 0;
  int wicks = 0;
  std::uint32_t flags = 0;
};

struct ScoreInputs {
  Direction direction = Direction::kNone;  // the setup's
  ResetReading reset{};                    // Phase 3 on the analysis timeframe
  bool reset_detected = false;             // on any reset timeframe
  Bias bias = Bias::kNeutral;              // Phase 1, combined
  double oi_change = 0;                    // relative OI change during the setup (used if enabled)
};

// Precondition: direction != kNone. Fewer than 20 bars score 0.
ScoreBreakdown compute_score(const TimeframeSeries& s, const ScoreInputs& in, const SqueezeFlowParams& p) noexcept;

}  // namespace tickflow
