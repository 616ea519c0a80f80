// strategy/squeezeflow.h
//
// SqueezeFlow: the strategy's evaluator for one symbol group (every spot
// and every perp market of one base asset). It keeps one TimeframeSeries
// per timeframe the phases use, and each evaluate() runs Phase 1 to 5 of
// ../shared/docs/squeezeflow-strategy.md on them and returns a Decision:
// no action, LONG, SHORT or CLOSE, with the readings and a `reasoning` that
// names the phases and score components that fired.
//
// How it is driven (StrategyEngine, strategy_engine.h, does this for every
// symbol group, live on the aggregator thread and in backtests):
//
//   SqueezeFlow sf(params);
//   for every closed rollup bar of a market of the group:
//     sf.on_bar(bar, registry.market_class(bar.market));   // routes by timeframe
//   each step (every second s):
//     sf.on_closed(s);                                     // commits windows
//     for each timeframe: series(tf)->begin_provisional(), sum_provisional()
//       of each market's open window, end_provisional()
//     const Decision& d = sf.evaluate(s);
//     if (d.action != Decision::kNone) signal = sf.make_signal(d, "BTCUSDT", "BTC");
//
// Decisions. Without a Phase 2 divergence the score is 0 and nothing is
// entered. The direction is the setup's; otherwise Phase 1's bias if not
// neutral; otherwise none: there is no default direction. An entry needs
// score >= min_entry_score and a tier (score >= 4), no open position, the
// cooldown after the last exit to have passed, and fewer than
// max_signals_per_hour entries in the last hour. The evaluator assumes an
// entry it decides is taken (it records the position: entry price = the
// analysis bar's close; a backtester fills at the next 1 s open); the
// caller undoes that with cancel_position() when its portfolio refuses
// (e.g. max_open_positions). While a position is open only exits are
// evaluated; a CLOSE starts the cooldown.
//
// Promises:
//  * the constructor allocates every ring (and throws std::invalid_argument
//    for bad params); on_bar(), on_closed(), the provisional calls and
//    evaluate() never allocate and never throw;
//  * evaluate() reads prepared series and short windows (<= 50 bars for
//    the structure-break median, <= 21 otherwise); it never rescans the
//    history;
//  * the same calls in the same order give the same decisions (no clock,
//    no randomness), so backtests are deterministic.
// Threads: one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/market_class.h"
#include "strategy/context_phase.h"
#include "strategy/divergence_phase.h"
#include "strategy/exits.h"
#include "strategy/fixed_text.h"
#include "strategy/phase_types.h"
#include "strategy/reset_phase.h"
#include "strategy/score.h"
#include "strategy/signal.h"
#include "strategy/sizing.h"
#include "strategy/strategy_params.h"
#include "strategy/timeframe_series.h"

namespace tickflow {

struct Decision {
  enum Action : std::uint8_t { kNone, kLong, kShort, kClose };
  // Why an entry was not taken although the score allowed it.
  enum Blocked : std::uint8_t { kNotBlocked, kInPosition, kCooldown, kRateLimit };

  std::int64_t time_s = 0;
  Action action = kNone;
  Direction direction = Direction::kNone;
  ContextResult context;
  Bias exit_bias = Bias::kNeutral;  // Phase 1 on the exit-bias timeframe (1h)
  DivergenceResult divergence;
  ResetResult reset;
  ScoreBreakdown score;
  Sizing sizing;
  ExitReason exit = ExitReason::kNone;
  Blocked blocked = kNotBlocked;
  double price = 0;  // close of the analysis timeframe's newest bar
  double spot_cvd = 0;
  double perp_cvd = 0;
  double divergence_value = 0;  // D = Cs − Cf
  FixedText<248> reasoning;     // filled when action != kNone (describe() otherwise)
};

class SqueezeFlow {
 public:
  // Throws std::invalid_argument (params.validate()).
  explicit SqueezeFlow(const SqueezeFlowParams& params);

  // --- Feeding ---
  // A closed rollup bar of one of the group's markets; bars of timeframes
  // the strategy does not use are ignored.
  void on_bar(const Bar& bar, MarketClass side) noexcept;
  void on_closed(std::int64_t closed_until_s) noexcept;

  // The series of a timeframe (nullptr if unused): the still-open window
  // goes in there (begin/sum/end_provisional, see timeframe_series.h), and
  // tests feed summed bars directly with push()/set_provisional().
  TimeframeSeries* series(std::uint32_t timeframe_s) noexcept;
  const TimeframeSeries* series(std::uint32_t timeframe_s) const noexcept;

  // --- Evaluating ---
  // One step at `now_s`. oi_change: relative open-interest change during
  // the setup, read only when params.use_open_interest.
  const Decision& evaluate(std::int64_t now_s, double oi_change = std::numeric_limits<double>::quiet_NaN()) noexcept;
  // Fills d.reasoning for any decision (evaluate() does it only for actions).
  void describe(Decision& d) const noexcept;

  // --- Position state ---
  bool in_position() const noexcept { return position_.direction != Direction::kNone; }
  const OpenPosition& position() const noexcept { return position_; }
  // The portfolio refused the last entry: forget it (no cooldown starts,
  // the entry still counts against the hourly signal limit).
  void cancel_position() noexcept { position_ = {}; }

  // The signal for a decision with an action.
  Signal make_signal(const Decision& d, std::string_view symbol, std::string_view base_symbol) const noexcept;

  const SqueezeFlowParams& params() const noexcept { return params_; }

 private:
  std::size_t index_of(std::uint32_t timeframe_s) const noexcept;
  bool rate_limited(std::int64_t now_s) const noexcept;

  SqueezeFlowParams params_;
  std::vector<TimeframeSeries> series_;  // distinct timeframes, sized once
  std::array<std::size_t, kMaxStrategyTimeframes> context_{};
  std::array<std::size_t, kMaxStrategyTimeframes> divergence_{};
  std::array<std::size_t, kMaxStrategyTimeframes> reset_{};
  std::size_t analysis_ = 0;
  std::size_t exit_bias_ = 0;
  int exit_bias_context_ = -1;  // its slot among the context timeframes, if any
  int analysis_reset_ = -1;     // the analysis timeframe's slot among the reset ones, if any

  OpenPosition position_;
  std::int64_t cooldown_until_s_ = std::numeric_limits<std::int64_t>::min();
  std::array<std::int64_t, 64> entries_{};  // times of the last entries, a ring
  std::size_t entry_count_ = 0;
  Decision decision_;
};

}  // namespace tickflow
