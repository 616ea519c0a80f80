// strategy/strategy_params.cc
#include "strategy/strategy_params.h"

#include <stdexcept>
#include <string>

namespace tickflow {
namespace {

void require(bool ok, const char* field, const char* why) {
  if (!ok) throw std::invalid_argument(std::string("squeezeflow.") + field + ": " + why);
}

void require_list(const TimeframeList& list, const char* field) {
  require(list.count > 0 && list.count <= kMaxStrategyTimeframes, field, "needs 1 to 4 timeframes");
  for (std::size_t i = 0; i < list.count; ++i) require(list[i] > 0, field, "timeframes must be positive");
}

}  // namespace

void SqueezeFlowParams::validate() const {
  require(analysis_timeframe_s > 0, "analysis_timeframe", "must be positive");
  // The structure-break exit reads 50 bar ranges before the current bar.
  require(history_bars > structure_range_bars && history_bars <= 4096, "history_bars",
          "must exceed structure_range_bars and be at most 4096");
  require_list(context_timeframes, "context_timeframes");
  require_list(divergence_timeframes, "divergence_timeframes");
  require_list(reset_timeframes, "reset_timeframes");
  for (std::size_t p : momentum_periods) require(p > 0 && p < history_bars, "momentum_periods", "out of range");
  require(trend_lookback >= 2 && trend_lookback < history_bars, "trend_lookback", "out of range");
  require(recent_d_bars >= 1 && recent_d_bars < history_bars, "recent_d_bars", "out of range");
  require(divergence_bars >= 1 && divergence_bars < history_bars, "divergence_bars", "out of range");
  require(baseline_bars >= 2 && baseline_bars < history_bars, "baseline_bars", "out of range");
  require(convergence_max_bars >= 3, "convergence_max_bars", "must be at least 3");
  require(structure_low_bars >= 1 && structure_range_bars >= 1 && structure_range_bars <= 64, "structure_bars",
          "out of range (range bars at most 64)");
  require(min_entry_score >= 0 && min_entry_score <= max_score, "min_entry_score", "must be in [0, max_score]");
  require(base_risk > 0 && base_risk < 1, "base_risk", "must be in (0, 1)");
  require(hard_stop > 0 && hard_stop < 1, "hard_stop", "must be in (0, 1)");
  require(cooldown_s >= 0, "cooldown", "must not be negative");
  require(max_signals_per_hour >= 1 && max_signals_per_hour <= 64, "max_signals_per_hour", "must be 1 to 64");
  require(signal_ttl_s > 0, "signal_ttl", "must be positive");
}

}  // namespace tickflow
