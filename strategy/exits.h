// strategy/exits.h
//
// Phase 5, exits (spec: "Phase 5 — Exits"), read every evaluation while a
// position is open, on the analysis timeframe; the first to fire wins:
//
//   1 flow reversal    since entry ΔCs moved against the position and ΔCf
//                      with it, and one of the two moves exceeds 0.5 ×
//                      std(1-bar ds over 20 bars)
//   2 range break      long: close < the reset window's low recorded at
//                      entry (short: close > its high)
//   3 CVD invalidation both CVDs moved against the position over the last
//                      min(20, n/2) bars and over the last 5 bars
//   4 structure break  long: close < min(low of the 20 bars before the
//                      current one) − median(high − low over 50 bars);
//                      short mirrored. (Including the current bar would make
//                      it unreachable: its close is never below its own low.)
//   5 larger timeframe the 1h Phase 1 bias flipped against the position
//   hard stop          close at −8 % of the entry price or worse: the backstop
//
// Changes "since entry" use the running CVD totals (SeriesBar::cum_ds),
// which no trailing-history anchor moves.
//
// Promises: no allocation (the median sorts a copy of at most 64 values on
// the stack).
#pragma once

#include <cstdint>
#include <string_view>

#include "strategy/phase_types.h"
#include "strategy/strategy_params.h"
#include "strategy/timeframe_series.h"

namespace tickflow {

enum class ExitReason : std::uint8_t {
  kNone,
  kFlowReversal,
  kRangeBreak,
  kCvdInvalidation,
  kStructureBreak,
  kTimeframeInvalidation,
  kHardStop,
};

constexpr std::string_view to_string(ExitReason r) noexcept {
  switch (r) {
    case ExitReason::kFlowReversal: return "flow_reversal";
    case ExitReason::kRangeBreak: return "range_break";
    case ExitReason::kCvdInvalidation: return "cvd_invalidation";
    case ExitReason::kStructureBreak: return "structure_break";
    case ExitReason::kTimeframeInvalidation: return "timeframe_invalidation";
    case ExitReason::kHardStop: return "hard_stop";
    case ExitReason::kNone: break;
  }
  return "none";
}

// What the strategy records when it enters.
struct OpenPosition {
  Direction direction = Direction::kNone;
  std::int64_t entry_time_s = 0;
  double entry_price = 0;
  double entry_cum_ds = 0;  // running CVD totals at entry (analysis timeframe)
  double entry_cum_df = 0;
  double reset_low = 0;  // the reset window at entry (Phase 3, analysis timeframe)
  double reset_high = 0;
  double score = 0;
};

// Precondition: position.direction != kNone. `higher_bias` is the Phase 1
// bias of the exit-bias timeframe (1h).
ExitReason check_exits(const TimeframeSeries& s, const OpenPosition& position, Bias higher_bias,
                       const SqueezeFlowParams& p) noexcept;

}  // namespace tickflow
