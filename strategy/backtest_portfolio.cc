// strategy/backtest_portfolio.cc: fills, marks, equity samples and trades of
// the simulated account (see backtest_portfolio.h).
#include "strategy/backtest_portfolio.h"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace tickflow {

namespace {

// Floor division: boundaries stay aligned for negative times too.
std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Linear P&L, written per side rather than sign x (p - e) so that a flat
// trade is +0, never -0 (the report would print "-0").
double price_pnl(Direction d, double quantity, double entry, double price) noexcept {
  return d == Direction::kShort ? quantity * (entry - price) : quantity * (price - entry);
}

}  // namespace

BacktestPortfolio::BacktestPortfolio(BacktestAccount account, const SqueezeFlowParams& params)
    : account_(account), params_(params), cash_(account.starting_balance) {
  if (!(account_.starting_balance > 0) || !std::isfinite(account_.starting_balance))
    throw std::invalid_argument("BacktestAccount::starting_balance must be positive");
  if (!(account_.fee_rate >= 0) || !std::isfinite(account_.fee_rate))
    throw std::invalid_argument("BacktestAccount::fee_rate must be >= 0");
  if (!(account_.slippage_bp >= 0) || !(account_.slippage_bp < 1e4))
    throw std::invalid_argument("BacktestAccount::slippage_bp must be in [0, 1e4)");
  if (account_.equity_interval_s <= 0) throw std::invalid_argument("BacktestAccount::equity_interval_s must be > 0");
  step_equity_ = step_cash_ = cash_;
}

std::size_t BacktestPortfolio::add_symbol(std::string symbol) {
  slots_.emplace_back();
  slots_.back().symbol = std::move(symbol);
  return slots_.size() - 1;
}

bool BacktestPortfolio::can_enter() const noexcept {
  return open_count_ + pending_entries_ < account_.max_open_positions;
}

bool BacktestPortfolio::order_entry(std::size_t sym, Direction dir, const Sizing& sizing, double score,
                                    std::int64_t signal_time_s, std::string_view reasoning) {
  Slot& s = slots_.at(sym);
  if (finished_ || dir == Direction::kNone || s.open || s.pending != Pending::kNone || !can_enter()) {
    ++refused_;
    return false;
  }
  s.pending = Pending::kEntry;
  s.order_signal_s = signal_time_s;
  s.order_direction = dir;
  s.order_sizing = sizing;
  s.order_score = score;
  s.order_text.assign(reasoning);
  ++pending_entries_;
  return true;
}

bool BacktestPortfolio::order_exit(std::size_t sym, std::string_view reason, std::int64_t signal_time_s) {
  Slot& s = slots_.at(sym);
  if (finished_) return false;
  if (s.pending == Pending::kEntry) {  // never filled: nothing to exit, the entry is void
    cancel_pending(s);
    return true;
  }
  if (!s.open || s.pending != Pending::kNone) return false;
  s.pending = Pending::kExit;
  s.order_signal_s = signal_time_s;
  s.order_text.assign(reason);
  return true;
}

double BacktestPortfolio::slipped(double open, bool buy) const noexcept {
  const double slip = account_.slippage_bp / 1e4;
  return buy ? open * (1 + slip) : open * (1 - slip);
}

void BacktestPortfolio::on_execution_bar(std::size_t sym, const Bar& bar) {
  Slot& s = slots_.at(sym);
  if (finished_ || !bar.has_ohlc() || bar.is_provisional() || bar.is_amendment()) return;
  if (s.has_bar && bar.open_time_s < s.last_bar_s) return;
  // The order fills at the first bar opening at or after its signal.
  if (s.pending != Pending::kNone && bar.open_time_s >= s.order_signal_s) {
    if (s.pending == Pending::kEntry) {
      fill_entry(s, bar);
    } else {
      const bool buy = s.direction == Direction::kShort;
      std::string reason = std::move(s.order_text);
      s.order_text.clear();
      s.pending = Pending::kNone;
      close_position(s, slipped(bar.open, buy), bar.open_time_s, s.order_signal_s, std::move(reason));
    }
  }
  s.has_bar = true;
  s.last_bar_s = bar.open_time_s;
  s.mark = bar.close;
}

void BacktestPortfolio::fill_entry(Slot& s, const Bar& bar) {
  const bool buy = s.order_direction == Direction::kLong;
  const double price = slipped(bar.open, buy);
  // Equity before this fill: the other positions at their last marks.
  const double qty = tickflow::position_quantity(equity(), account_.starting_balance, price, s.order_sizing, params_);
  --pending_entries_;
  s.pending = Pending::kNone;
  if (!(qty > 0) || !std::isfinite(qty)) {  // no size (no tier, no equity): nothing to hold
    ++cancelled_;
    s.order_text.clear();
    return;
  }
  const double fee = account_.fee_rate * qty * price;
  cash_ -= fee;
  fees_ += fee;
  s.open = true;
  s.direction = s.order_direction;
  s.quantity = qty;
  s.entry_price = price;
  s.entry_fee = fee;
  s.entry_signal_s = s.order_signal_s;
  s.entry_fill_s = bar.open_time_s;
  s.score = s.order_score;
  s.sizing = s.order_sizing;
  s.reasoning = std::move(s.order_text);
  s.order_text.clear();
  ++open_count_;
}

void BacktestPortfolio::close_position(Slot& s, double price, std::int64_t fill_s, std::int64_t signal_s,
                                       std::string reason) {
  const double pnl = price_pnl(s.direction, s.quantity, s.entry_price, price);
  const double fee = account_.fee_rate * s.quantity * price;
  cash_ += pnl - fee;
  fees_ += fee;

  TradeRecord t;
  t.symbol = s.symbol;
  t.direction = s.direction;
  t.entry_signal_s = s.entry_signal_s;
  t.entry_fill_s = s.entry_fill_s;
  t.entry_price = s.entry_price;
  t.quantity = s.quantity;
  t.entry_fee = s.entry_fee;
  t.exit_signal_s = signal_s;
  t.exit_fill_s = fill_s;
  t.exit_price = price;
  t.exit_fee = fee;
  t.pnl = pnl;
  t.net_pnl = pnl - (s.entry_fee + fee);
  const double entry_value = s.quantity * s.entry_price;
  t.return_fraction = entry_value > 0 ? t.net_pnl / entry_value : 0;
  t.score = s.score;
  t.tier = std::string(to_string(s.sizing.tier));
  t.leverage = s.sizing.leverage;
  t.exit_reason = std::move(reason);
  t.reasoning = std::move(s.reasoning);
  trades_.push_back(std::move(t));

  s.open = false;
  s.direction = Direction::kNone;
  s.quantity = 0;
  s.entry_price = 0;
  s.entry_fee = 0;
  s.reasoning.clear();
  --open_count_;
}

void BacktestPortfolio::cancel_pending(Slot& s) {
  if (s.pending == Pending::kEntry) --pending_entries_;
  s.pending = Pending::kNone;
  s.order_text.clear();
  ++cancelled_;
}

double BacktestPortfolio::equity() const noexcept {
  double e = cash_;
  for (const Slot& s : slots_)
    if (s.open) e += price_pnl(s.direction, s.quantity, s.entry_price, s.mark);
  return e;
}

void BacktestPortfolio::push_sample(std::int64_t time_s, double equity, double cash, std::size_t open) {
  samples_.push_back({time_s, equity, cash, static_cast<std::uint32_t>(open)});
}

void BacktestPortfolio::on_step(std::int64_t now_s) {
  if (finished_) return;
  const double eq = equity();
  if (!stepped_) {
    stepped_ = true;
    first_step_s_ = last_step_s_ = now_s;
    push_sample(now_s, eq, cash_, open_count_);  // the curve starts here
  } else {
    if (now_s <= last_step_s_) return;
    if (step_open_ > 0) exposure_s_ += now_s - last_step_s_;
    const std::int64_t interval = account_.equity_interval_s;
    // Boundaries skipped between the two steps hold the last step's state.
    for (std::int64_t b = (floor_div(last_step_s_, interval) + 1) * interval; b < now_s; b += interval)
      push_sample(b, step_equity_, step_cash_, step_open_);
    if (now_s % interval == 0) push_sample(now_s, eq, cash_, open_count_);
    last_step_s_ = now_s;
  }
  step_equity_ = eq;
  step_cash_ = cash_;
  step_open_ = open_count_;
}

void BacktestPortfolio::finish(std::int64_t end_s) {
  if (finished_) return;
  if (!stepped_ || end_s > last_step_s_) on_step(end_s);
  const std::int64_t end = last_step_s_;
  for (Slot& s : slots_) {
    // An unfilled exit is cancelled too: its position closes at the mark below.
    if (s.pending != Pending::kNone) cancel_pending(s);
    if (s.open) close_position(s, s.mark, end, end, "end of data");
  }
  const double eq = equity();
  if (!samples_.empty() && samples_.back().time_s == end) samples_.pop_back();
  push_sample(end, eq, cash_, open_count_);
  finished_ = true;
}

}  // namespace tickflow
