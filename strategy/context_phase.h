// strategy/context_phase.h
//
// Phase 1, context (spec: "Phase 1 — Context"), on each context timeframe
// (30m, 1h, 4h by default). It awards no points; it feeds the direction
// fallback, the score's bias component and exit 5.
//
//   m_p        mean over the momentum periods p of the SIGNED change
//              (C_t − C_{t−p}) / C_{t−p} (the old |change| defect fixed)
//   spot_mom   ΔCs over trend_lookback / std(ds over the same bars); perp alike
//              (never the percentage change of a zero-crossing CVD)
//   mean_d     mean of D = Cs − Cf over the recent_d_bars newest bars
//   bias       BULLISH: m_p > 0, spot_mom > perp_mom, mean_d > 0; BEARISH mirrored
//   dominance  |ΔCs| / (|ΔCs| + |ΔCf|); spot-led when > 0.6
//
// Several timeframes combine by vote: BULLISH when more timeframes read
// BULLISH than BEARISH and at least half of those with enough history do;
// BEARISH mirrored; else NEUTRAL.
//
// Promises: reads at most trend_lookback + 1 bars per timeframe; no
// allocation; a timeframe with too little history is not `valid` and votes
// for nothing.
#pragma once

#include <array>

#include "strategy/phase_types.h"
#include "strategy/strategy_params.h"
#include "strategy/timeframe_series.h"

namespace tickflow {

struct ContextReading {
  bool valid = false;
  double momentum = 0;  // m_p
  double spot_momentum = 0;
  double perp_momentum = 0;
  double mean_d = 0;
  double dominance = 0;
  bool spot_led = false;
  Bias bias = Bias::kNeutral;
};

struct ContextResult {
  std::array<ContextReading, kMaxStrategyTimeframes> per_timeframe{};  // params.context_timeframes order
  Bias bias = Bias::kNeutral;
  bool spot_led = false;  // on the majority of valid timeframes
};

ContextReading read_context(const TimeframeSeries& s, const SqueezeFlowParams& p) noexcept;

// Combines the readings of `count` timeframes (see the banner).
ContextResult combine_context(const ContextReading* readings, std::size_t count) noexcept;

}  // namespace tickflow
