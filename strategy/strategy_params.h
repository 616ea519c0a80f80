// strategy/strategy_params.h
//
// SqueezeFlowParams: every threshold, weight, timeframe, sizing rule and
// cooldown of the strategy, with the defaults of
// ../shared/docs/squeezeflow-strategy.md. config/pipeline_config.h loads
// them from the `[strategy]` table; nothing here parses.
//
// Promises:
//  * the defaults are the spec's numbers (each field names its section);
//  * validate() throws std::invalid_argument naming the bad field, so a bad
//    config fails at load time, never in an evaluation;
//  * plain data: copying it is cheap and the evaluator keeps its own copy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace tickflow {

inline constexpr std::size_t kMaxStrategyTimeframes = 4;

// A short list of timeframes (seconds), unused slots 0.
struct TimeframeList {
  std::array<std::uint32_t, kMaxStrategyTimeframes> seconds{};
  std::size_t count = 0;

  constexpr TimeframeList() = default;
  constexpr TimeframeList(std::initializer_list<std::uint32_t> list) {
    for (std::uint32_t s : list)
      if (count < kMaxStrategyTimeframes) seconds[count++] = s;
  }
  constexpr std::uint32_t operator[](std::size_t i) const noexcept { return seconds[i]; }
};

struct SqueezeFlowParams {
  // --- Series ("Series per timeframe") ---
  std::uint32_t analysis_timeframe_s = 300;  // 5m: score and exits read it
  std::size_t history_bars = 100;            // trailing history per timeframe (>= 51: 50-bar lookbacks)

  // --- Phase 1: context ---
  TimeframeList context_timeframes = {1800, 3600, 14400};     // 30m, 1h, 4h
  std::array<std::size_t, 3> momentum_periods = {5, 10, 20};  // m_p = mean of the signed changes over these
  std::size_t trend_lookback = 20;                            // CVD momentum and dominance
  std::size_t recent_d_bars = 5;                              // "the recent mean of D"
  double spot_led_dominance = 0.6;
  std::uint32_t exit_bias_timeframe_s = 3600;  // Phase 5, exit 5: the 1h bias

  // --- Phase 2: divergence ---
  TimeframeList divergence_timeframes = {900, 1800};  // 15m, 30m
  std::size_t divergence_bars = 10;                   // price state and CVD pattern
  std::size_t baseline_bars = 20;                     // the rolling std / |D| baselines
  double stable_move = 0.01;                          // |m| < 1 % is STABLE
  double pattern_z = 1.0;                             // z_s > +1 and z_f < -1
  double leading_ratio = 1.5;                         // one side's |z| > 1.5 x the other's
  double significance_z = 1.0;
  double significance_mean_multiple = 1.5;

  // --- Phase 3: reset ---
  TimeframeList reset_timeframes = {300, 900, 1800};  // 5m, 15m, 30m
  std::size_t convergence_max_bars = 10;              // w = min(10, n/2), w >= 3
  double converging_strength = 0.2;
  double deceleration_ratio = 0.8;  // |m5| < 0.8 x |m15| / 3
  double stagnation_ratio = 0.5;    // 20-bar range < 0.5 x the mean bar range
  double type_a_exhausted_strength = 0.02;
  double explosive_move = 0.02;       // |m5| > 2 %
  double explosive_d_multiple = 1.5;  // |D_t| > 1.5 x mean |D| of the 4 bars before

  // --- Phase 4: score ---
  double weight_reset = 3.5;
  double weight_absorption = 2.5;
  double weight_failed_breakdown = 2.0;
  double weight_bias = 2.0;
  double reset_multiplier = 1.2;
  double max_score = 10.0;
  bool use_open_interest = false;  // optional OI input, off by default
  double oi_rise = 0.10;           // OI up >= 10 % during the setup: up to +2
  double oi_bonus = 2.0;
  double oi_penalty = 1.0;
  double min_entry_score = 4.0;  // an earlier live deployment used 6.0

  // --- Entry and sizing ---
  double base_risk = 0.02;
  double max_position_fraction = 0.20;  // of the starting balance x leverage
  std::size_t max_open_positions = 2;   // portfolio-wide: enforced by the caller
  double slippage_bp = 1.0;             // backtest fills (used by the backtester)
  double fee_rate = 0.001;              // per side
  std::int64_t cooldown_s = 900;        // per symbol, after an exit
  std::size_t max_signals_per_hour = 10;
  std::int64_t signal_ttl_s = 600;

  // --- Phase 5: exits ---
  double flow_reversal_std = 0.5;  // a move > 0.5 x std(1-bar ds over 20 bars)
  std::size_t structure_low_bars = 20;
  std::size_t structure_range_bars = 50;
  double hard_stop = 0.08;  // -8 % of the entry price

  // Throws std::invalid_argument naming the first bad field.
  void validate() const;
};

}  // namespace tickflow
