// strategy/backtest_portfolio.h
//
// BacktestPortfolio: the backtester's simulated account (spec: "Entry and
// sizing", "Backtest"). The stepping driver feeds it orders (from the
// strategy's decisions), the execution market's base bars and the 1 s
// steps; it fills, marks, samples the equity curve and records the trades
// that backtest_report.h turns into the report.
//
// Model (margin-free, linear): a position of quantity q entered at e is
// worth q × (mark − e) for a long and q × (e − mark) for a short; cash holds
// the starting balance plus realized P&L minus fees, so
//   equity = cash + Σ unrealized P&L of the open positions at their last marks.
// Fees are fee_rate × |notional| at each fill, taken from cash at the fill.
//
// Fills. An order placed at signal time t fills at the open of the symbol's
// first execution-market bar whose open_time_s >= t: the next bar after the
// one that produced the signal (a 1 s bar open at t−1 is visible at t), so
// it never fills at the signal bar's close and never at a price older than
// the signal. Buys fill at open × (1 + slippage_bp / 1e4), sells at
// open × (1 − slippage_bp / 1e4). The entry quantity is
// position_quantity(equity at the fill, starting balance, fill price,
// sizing, params) (strategy/sizing.h); a quantity of 0 cancels the order.
//
// Orders. At most one order per symbol is pending. An entry is refused
// (order_entry() returns false, counted in refused_entries()) when the
// symbol holds a position or a pending order, or when open positions +
// pending entries reach max_open_positions. An exit for a symbol whose
// entry is still pending cancels that entry (counted in cancelled_orders());
// an exit with nothing to exit is ignored.
//
// Time. on_step(now) once per 1 s step, after that step's bars: it samples
// the equity at every multiple of equity_interval_s (plus once at the first
// step, so the curve starts at the starting balance) and counts exposure,
// the seconds during which at least one position was open. finish(end)
// cancels pending orders, closes open positions at their last mark (no
// slippage: a mark, not a fill; fees charged) with reason "end of data", and
// takes the final sample at end.
//
// Promises:
//  * deterministic: the same calls give bit-identical trades and samples;
//  * after finish(), equity() == cash() == starting balance + Σ net P&L of
//    trades() (up to the rounding of the sums);
//  * bars without OHLC (liquidations only), provisional bars, amendments and
//    bars older than the symbol's last bar are ignored: a fill or a mark
//    needs a final price in time order;
//  * calls after finish() change nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/bar.h"
#include "strategy/phase_types.h"
#include "strategy/sizing.h"
#include "strategy/strategy_params.h"

namespace tickflow {

struct BacktestAccount {
  double starting_balance = 10000;
  double fee_rate = 0.001;              // per side, from SqueezeFlowParams::fee_rate
  double slippage_bp = 1.0;             // from SqueezeFlowParams::slippage_bp
  std::size_t max_open_positions = 2;   // portfolio-wide: open positions plus pending entries
  std::int64_t equity_interval_s = 60;  // equity sampled at every multiple of this (data time)

  // The account a backtest of `p` uses: its fees, slippage and position limit.
  static BacktestAccount from_params(const SqueezeFlowParams& p, double starting_balance = 10000,
                                     std::int64_t equity_interval_s = 60) noexcept {
    return {starting_balance, p.fee_rate, p.slippage_bp, p.max_open_positions, equity_interval_s};
  }
};

// One round trip, entry to exit. Prices include slippage; pnl is the price
// P&L alone, net_pnl subtracts both fees.
struct TradeRecord {
  std::string symbol;
  Direction direction = Direction::kNone;
  std::int64_t entry_signal_s = 0;
  std::int64_t entry_fill_s = 0;  // open_time_s of the bar it filled at
  double entry_price = 0;
  double quantity = 0;
  double entry_fee = 0;
  std::int64_t exit_signal_s = 0;
  std::int64_t exit_fill_s = 0;
  double exit_price = 0;
  double exit_fee = 0;
  double pnl = 0;
  double net_pnl = 0;
  double return_fraction = 0;  // net_pnl / (quantity × entry_price)
  double score = 0;
  std::string tier;  // "PREMIUM", "HIGH", "MEDIUM"
  double leverage = 0;
  std::string exit_reason;
  std::string reasoning;  // the entry's
};

struct EquitySample {
  std::int64_t time_s = 0;
  double equity = 0;
  double cash = 0;
  std::uint32_t open_positions = 0;
};

class BacktestPortfolio {
 public:
  // Throws std::invalid_argument for a non-positive balance or interval, or
  // a negative fee or slippage.
  BacktestPortfolio(BacktestAccount account, const SqueezeFlowParams& params);

  // The symbol's index for the other calls (its name goes into the trades).
  std::size_t add_symbol(std::string symbol);

  // Open positions + pending entries < max_open_positions.
  bool can_enter() const noexcept;

  // False (and nothing ordered) when refused; see the banner.
  bool order_entry(std::size_t sym, Direction dir, const Sizing& sizing, double score, std::int64_t signal_time_s,
                   std::string_view reasoning);
  // False when there was nothing to exit or cancel, or an exit is pending.
  bool order_exit(std::size_t sym, std::string_view reason, std::int64_t signal_time_s);

  // A base bar (1 s or 1 m) of the symbol's execution market, in time
  // order: fills the pending order at bar.open, then marks at bar.close.
  void on_execution_bar(std::size_t sym, const Bar& bar);
  // Data time reached now_s (after the bars of the step).
  void on_step(std::int64_t now_s);
  // End of data (see the banner). end_s earlier than the last step counts
  // as the last step.
  void finish(std::int64_t end_s);

  bool in_position(std::size_t sym) const { return slots_.at(sym).open; }
  bool has_pending(std::size_t sym) const { return slots_.at(sym).pending != Pending::kNone; }
  bool has_pending_entry(std::size_t sym) const { return slots_.at(sym).pending == Pending::kEntry; }
  // The open position's entry price and quantity (0 when flat).
  double position_entry_price(std::size_t sym) const { return slots_.at(sym).entry_price; }
  double held_quantity(std::size_t sym) const { return slots_.at(sym).quantity; }

  // Cash + unrealized P&L of the open positions at their last marks.
  double equity() const noexcept;
  double cash() const noexcept { return cash_; }
  std::size_t open_positions() const noexcept { return open_count_; }
  std::size_t pending_entries() const noexcept { return pending_entries_; }

  const std::vector<TradeRecord>& trades() const noexcept { return trades_; }
  const std::vector<EquitySample>& equity_samples() const noexcept { return samples_; }
  double total_fees() const noexcept { return fees_; }
  std::int64_t exposure_s() const noexcept { return exposure_s_; }
  std::uint64_t cancelled_orders() const noexcept { return cancelled_; }
  std::uint64_t refused_entries() const noexcept { return refused_; }
  double starting_balance() const noexcept { return account_.starting_balance; }
  const BacktestAccount& account() const noexcept { return account_; }
  std::int64_t first_step_s() const noexcept { return first_step_s_; }
  std::int64_t last_step_s() const noexcept { return last_step_s_; }
  bool finished() const noexcept { return finished_; }
  std::size_t symbol_count() const noexcept { return slots_.size(); }
  const std::string& symbol(std::size_t sym) const { return slots_.at(sym).symbol; }

 private:
  enum class Pending : std::uint8_t { kNone, kEntry, kExit };

  struct Slot {
    std::string symbol;
    // The pending order (at most one).
    Pending pending = Pending::kNone;
    std::int64_t order_signal_s = 0;
    Direction order_direction = Direction::kNone;
    Sizing order_sizing;
    double order_score = 0;
    std::string order_text;  // entry: the reasoning; exit: the reason
    // The open position.
    bool open = false;
    Direction direction = Direction::kNone;
    double quantity = 0;
    double entry_price = 0;
    double entry_fee = 0;
    std::int64_t entry_signal_s = 0;
    std::int64_t entry_fill_s = 0;
    double score = 0;
    Sizing sizing;
    std::string reasoning;
    // The last bar.
    bool has_bar = false;
    std::int64_t last_bar_s = 0;
    double mark = 0;
  };

  void fill_entry(Slot& s, const Bar& bar);
  void close_position(Slot& s, double price, std::int64_t fill_s, std::int64_t signal_s, std::string reason);
  void cancel_pending(Slot& s);
  void push_sample(std::int64_t time_s, double equity, double cash, std::size_t open);
  double slipped(double open, bool buy) const noexcept;

  BacktestAccount account_;
  SqueezeFlowParams params_;
  std::vector<Slot> slots_;
  std::vector<TradeRecord> trades_;
  std::vector<EquitySample> samples_;
  double cash_ = 0;
  double fees_ = 0;
  std::size_t open_count_ = 0;
  std::size_t pending_entries_ = 0;
  std::uint64_t cancelled_ = 0;
  std::uint64_t refused_ = 0;
  // Stepping.
  bool stepped_ = false;
  bool finished_ = false;
  std::int64_t first_step_s_ = 0;
  std::int64_t last_step_s_ = 0;
  std::int64_t exposure_s_ = 0;
  // The state at the last step: what the equity was at sample boundaries
  // skipped between two steps (no bar can have changed it in between).
  double step_equity_ = 0;
  double step_cash_ = 0;
  std::size_t step_open_ = 0;
};

}  // namespace tickflow
