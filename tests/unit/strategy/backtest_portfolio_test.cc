// tests/unit/strategy/backtest_portfolio_test.cc: the backtester's account
// (strategy/backtest_portfolio.h) on hand-built 1 s bars, every price, fee
// and quantity worked out in the test.
#include "strategy/backtest_portfolio.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tickflow {
namespace {

constexpr std::int64_t kT0 = 1'723'161'600;  // 2024-08-09T00:00:00Z

Bar bar_at(std::int64_t t, double open, double close, double high = -1, double low = -1) {
  Bar b;
  b.open_time_s = t;
  b.timeframe_s = 1;
  b.open = open;
  b.close = close;
  b.high = high < 0 ? std::max(open, close) : high;
  b.low = low < 0 ? std::min(open, close) : low;
  b.cbuy = 1;
  return b;
}

// HIGH tier: factor 1, leverage 3. With the default params (base_risk 0.02,
// cap 0.2 x starting x leverage) and equity 10000: value = 10000 x 0.02 x 1
// x 3 = 600, under the cap 6000.
const Sizing kHigh = sizing_for(7);
const Sizing kPremium = sizing_for(9);

BacktestAccount account(double slippage_bp = 1.0, double fee = 0.001, std::size_t max_open = 2) {
  BacktestAccount a;
  a.starting_balance = 10000;
  a.fee_rate = fee;
  a.slippage_bp = slippage_bp;
  a.max_open_positions = max_open;
  a.equity_interval_s = 60;
  return a;
}

double net_sum(const BacktestPortfolio& p) {
  double s = 0;
  for (const TradeRecord& t : p.trades()) s += t.net_pnl;
  return s;
}

TEST(BacktestPortfolio, EntryFillsAtTheNextBarsOpenWithSlippageNotAtTheSignalBar) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(), params);
  const std::size_t btc = p.add_symbol("BTCUSDT");
  // The signal bar [t0, t0+1) closes at 100; the signal is at t0+1.
  p.on_execution_bar(btc, bar_at(kT0, 99, 100));
  p.on_step(kT0 + 1);
  ASSERT_TRUE(p.order_entry(btc, Direction::kLong, kHigh, 7, kT0 + 1, "test entry"));
  EXPECT_TRUE(p.has_pending(btc));
  EXPECT_FALSE(p.in_position(btc));
  // A late copy of the signal bar must not fill (it opened before the signal).
  p.on_execution_bar(btc, bar_at(kT0, 99, 100));
  EXPECT_TRUE(p.has_pending(btc));
  // The next bar opens at 200 (absurd on purpose: the fill must use it).
  p.on_execution_bar(btc, bar_at(kT0 + 1, 200, 210));
  ASSERT_TRUE(p.in_position(btc));
  const double price = 200 * (1 + 1e-4);  // a buy: + 1 bp
  EXPECT_DOUBLE_EQ(p.position_entry_price(btc), price);
  EXPECT_DOUBLE_EQ(p.held_quantity(btc), 600 / price);
  const double fee = 0.001 * 600;  // qty x price = 600
  EXPECT_NEAR(p.cash(), 10000 - fee, 1e-9);
  EXPECT_NEAR(p.total_fees(), fee, 1e-12);
  // Marked at the bar's close: unrealized (210 - price) x qty.
  EXPECT_NEAR(p.equity(), 10000 - fee + (210 - price) * 600 / price, 1e-9);
}

TEST(BacktestPortfolio, LongRoundTripFeesBothSidesExactly) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(), params);
  const std::size_t btc = p.add_symbol("BTCUSDT");
  p.on_step(kT0);
  ASSERT_TRUE(p.order_entry(btc, Direction::kLong, kHigh, 7.5, kT0, "divergence + reset"));
  p.on_execution_bar(btc, bar_at(kT0, 100, 101));
  p.on_step(kT0 + 1);
  ASSERT_TRUE(p.order_exit(btc, "range_break", kT0 + 5));
  p.on_execution_bar(btc, bar_at(kT0 + 4, 104, 104));  // before the exit signal: a mark only
  EXPECT_TRUE(p.in_position(btc));
  p.on_execution_bar(btc, bar_at(kT0 + 5, 110, 111));
  EXPECT_FALSE(p.in_position(btc));
  ASSERT_EQ(p.trades().size(), 1u);
  const TradeRecord& t = p.trades()[0];
  const double entry = 100 * 1.0001;
  const double qty = 600 / entry;
  const double exit = 110 * 0.9999;  // a sell: - 1 bp
  EXPECT_EQ(t.symbol, "BTCUSDT");
  EXPECT_EQ(t.direction, Direction::kLong);
  EXPECT_EQ(t.entry_signal_s, kT0);
  EXPECT_EQ(t.entry_fill_s, kT0);
  EXPECT_EQ(t.exit_signal_s, kT0 + 5);
  EXPECT_EQ(t.exit_fill_s, kT0 + 5);
  EXPECT_DOUBLE_EQ(t.entry_price, entry);
  EXPECT_DOUBLE_EQ(t.exit_price, exit);
  EXPECT_DOUBLE_EQ(t.quantity, qty);
  EXPECT_NEAR(t.entry_fee, 0.6, 1e-12);
  EXPECT_NEAR(t.exit_fee, 0.001 * qty * exit, 1e-12);
  EXPECT_NEAR(t.pnl, qty * (exit - entry), 1e-9);
  EXPECT_NEAR(t.net_pnl, qty * (exit - entry) - 0.6 - 0.001 * qty * exit, 1e-9);
  EXPECT_NEAR(t.return_fraction, t.net_pnl / 600, 1e-12);
  EXPECT_EQ(t.tier, "HIGH");
  EXPECT_EQ(t.leverage, 3);
  EXPECT_EQ(t.score, 7.5);
  EXPECT_EQ(t.exit_reason, "range_break");
  EXPECT_EQ(t.reasoning, "divergence + reset");
  EXPECT_NEAR(p.total_fees(), t.entry_fee + t.exit_fee, 1e-12);
  EXPECT_NEAR(p.cash(), 10000 + t.net_pnl, 1e-9);
  EXPECT_NEAR(p.equity(), p.cash(), 0);
}

TEST(BacktestPortfolio, ShortPnlIsMirrored) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(), params);
  const std::size_t eth = p.add_symbol("ETHUSDT");
  p.on_step(kT0);
  ASSERT_TRUE(p.order_entry(eth, Direction::kShort, kHigh, 6, kT0, ""));
  p.on_execution_bar(eth, bar_at(kT0, 100, 95));
  const double entry = 100 * 0.9999;  // a short sells: - 1 bp
  const double qty = 600 / entry;
  EXPECT_NEAR(p.equity(), 10000 - 0.6 + qty * (entry - 95), 1e-9);  // price fell: a gain
  ASSERT_TRUE(p.order_exit(eth, "hard_stop", kT0 + 1));
  p.on_execution_bar(eth, bar_at(kT0 + 1, 90, 90));
  ASSERT_EQ(p.trades().size(), 1u);
  const TradeRecord& t = p.trades()[0];
  const double exit = 90 * 1.0001;  // covering buys: + 1 bp
  EXPECT_DOUBLE_EQ(t.exit_price, exit);
  EXPECT_NEAR(t.pnl, qty * (entry - exit), 1e-9);
  EXPECT_GT(t.pnl, 0);
  EXPECT_NEAR(t.net_pnl, t.pnl - 0.6 - 0.001 * qty * exit, 1e-9);
  EXPECT_EQ(t.direction, Direction::kShort);
}

TEST(BacktestPortfolio, QuantityUsesEquityAtFillAndTheCap) {
  SqueezeFlowParams params;
  params.base_risk = 0.5;  // value = 10000 x 0.5 x 1.5 x 5 = 37500 > cap 0.2 x 10000 x 5 = 10000
  BacktestPortfolio p(account(0, 0), params);
  const std::size_t a = p.add_symbol("A");
  p.on_step(kT0);
  ASSERT_TRUE(p.order_entry(a, Direction::kLong, kPremium, 9, kT0, ""));
  p.on_execution_bar(a, bar_at(kT0, 50, 60));
  EXPECT_DOUBLE_EQ(p.held_quantity(a), 10000.0 / 50);  // capped
  // The equity at a fill includes the other positions' unrealized P&L.
  params.base_risk = 0.01;
  BacktestPortfolio q(account(0, 0), params);
  const std::size_t qa = q.add_symbol("A");
  const std::size_t qb = q.add_symbol("B");
  q.on_step(kT0);
  ASSERT_TRUE(q.order_entry(qa, Direction::kLong, kHigh, 7, kT0, ""));
  q.on_execution_bar(qa, bar_at(kT0, 50, 50));
  EXPECT_DOUBLE_EQ(q.held_quantity(qa), 10000 * 0.01 * 3 / 50.0);  // 300 / 50 = 6
  q.on_execution_bar(qa, bar_at(kT0 + 1, 50, 550));                // +500 x 6 = 3000 unrealized
  ASSERT_TRUE(q.order_entry(qb, Direction::kLong, kHigh, 7, kT0 + 2, ""));
  q.on_execution_bar(qb, bar_at(kT0 + 2, 10, 10));
  EXPECT_DOUBLE_EQ(q.held_quantity(qb), 13000 * 0.01 * 3 / 10.0);
}

TEST(BacktestPortfolio, MaxOpenPositionsRefusesAThirdEntry) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(), params);
  const std::size_t a = p.add_symbol("A");
  const std::size_t b = p.add_symbol("B");
  const std::size_t c = p.add_symbol("C");
  p.on_step(kT0);
  EXPECT_TRUE(p.can_enter());
  ASSERT_TRUE(p.order_entry(a, Direction::kLong, kHigh, 7, kT0, ""));
  p.on_execution_bar(a, bar_at(kT0, 100, 100));                         // A open
  ASSERT_TRUE(p.order_entry(b, Direction::kShort, kHigh, 7, kT0, ""));  // B pending
  EXPECT_FALSE(p.can_enter());                                          // 1 open + 1 pending
  EXPECT_FALSE(p.order_entry(c, Direction::kLong, kHigh, 7, kT0, ""));
  EXPECT_FALSE(p.has_pending(c));
  EXPECT_EQ(p.refused_entries(), 1u);
  // A second entry on a symbol already in position is refused too.
  EXPECT_FALSE(p.order_entry(a, Direction::kLong, kHigh, 7, kT0, ""));
  p.on_execution_bar(b, bar_at(kT0, 100, 100));
  EXPECT_EQ(p.open_positions(), 2u);
  EXPECT_FALSE(p.can_enter());
  // Closing A frees a slot.
  ASSERT_TRUE(p.order_exit(a, "flow_reversal", kT0 + 1));
  EXPECT_FALSE(p.can_enter());  // still open until the exit fills
  p.on_execution_bar(a, bar_at(kT0 + 1, 100, 100));
  EXPECT_TRUE(p.can_enter());
  EXPECT_TRUE(p.order_entry(c, Direction::kLong, kHigh, 7, kT0 + 1, ""));
}

TEST(BacktestPortfolio, ExitCancelsAPendingEntry) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(), params);
  const std::size_t a = p.add_symbol("A");
  p.on_step(kT0);
  ASSERT_TRUE(p.order_entry(a, Direction::kLong, kHigh, 7, kT0, ""));
  EXPECT_EQ(p.pending_entries(), 1u);
  EXPECT_TRUE(p.order_exit(a, "cvd_invalidation", kT0));
  EXPECT_FALSE(p.has_pending(a));
  EXPECT_EQ(p.pending_entries(), 0u);
  EXPECT_EQ(p.cancelled_orders(), 1u);
  p.on_execution_bar(a, bar_at(kT0, 100, 100));
  EXPECT_FALSE(p.in_position(a));
  EXPECT_TRUE(p.trades().empty());
  EXPECT_EQ(p.cash(), 10000);
  EXPECT_EQ(p.total_fees(), 0);
  // Nothing to exit: ignored.
  EXPECT_FALSE(p.order_exit(a, "x", kT0 + 1));
}

TEST(BacktestPortfolio, IgnoresBarsWithoutPricesOrOutOfOrder) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(0, 0), params);
  const std::size_t a = p.add_symbol("A");
  p.on_step(kT0);
  ASSERT_TRUE(p.order_entry(a, Direction::kLong, kHigh, 7, kT0, ""));
  Bar liquidations_only = bar_at(kT0, 1, 1);
  liquidations_only.cbuy = 0;
  p.on_execution_bar(a, liquidations_only);
  Bar provisional = bar_at(kT0, 1, 1);
  provisional.flags = kBarProvisional;
  p.on_execution_bar(a, provisional);
  EXPECT_TRUE(p.has_pending(a));
  p.on_execution_bar(a, bar_at(kT0 + 1, 100, 100));
  EXPECT_EQ(p.position_entry_price(a), 100);
  p.on_execution_bar(a, bar_at(kT0, 1, 1));  // older than the last bar: no mark
  EXPECT_EQ(p.equity(), 10000);
}

TEST(BacktestPortfolio, FinishClosesAtTheLastMarkAndCancelsPending) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(), params);
  const std::size_t a = p.add_symbol("A");
  const std::size_t b = p.add_symbol("B");
  p.on_step(kT0);
  ASSERT_TRUE(p.order_entry(a, Direction::kLong, kHigh, 7, kT0, "why"));
  p.on_execution_bar(a, bar_at(kT0, 100, 102));
  p.on_step(kT0 + 1);
  p.on_execution_bar(a, bar_at(kT0 + 1, 102, 105));
  p.on_step(kT0 + 2);
  ASSERT_TRUE(p.order_entry(b, Direction::kShort, kHigh, 7, kT0 + 2, ""));  // never fills
  p.finish(kT0 + 3);
  EXPECT_TRUE(p.finished());
  EXPECT_FALSE(p.in_position(a));
  EXPECT_FALSE(p.has_pending(b));
  EXPECT_EQ(p.cancelled_orders(), 1u);
  ASSERT_EQ(p.trades().size(), 1u);
  const TradeRecord& t = p.trades()[0];
  EXPECT_EQ(t.exit_reason, "end of data");
  EXPECT_EQ(t.exit_price, 105);  // the last mark, no slippage
  EXPECT_EQ(t.exit_fill_s, kT0 + 3);
  EXPECT_NEAR(t.exit_fee, 0.001 * t.quantity * 105, 1e-12);
  EXPECT_NEAR(t.pnl, t.quantity * (105 - 100 * 1.0001), 1e-9);
  ASSERT_FALSE(p.equity_samples().empty());
  EXPECT_EQ(p.equity_samples().back().time_s, kT0 + 3);
  EXPECT_EQ(p.equity_samples().back().open_positions, 0u);
  EXPECT_NEAR(p.equity_samples().back().equity, 10000 + t.net_pnl, 1e-9);
  // Calls after finish() change nothing.
  p.finish(kT0 + 10);
  EXPECT_FALSE(p.order_entry(a, Direction::kLong, kHigh, 7, kT0 + 4, ""));
  EXPECT_EQ(p.trades().size(), 1u);
}

TEST(BacktestPortfolio, EquityIdentityOverManyTrades) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(2.5, 0.00075, 2), params);
  const std::size_t a = p.add_symbol("A");
  const std::size_t b = p.add_symbol("B");
  // A deterministic wiggle; entries and exits on a fixed schedule.
  double price_a = 100, price_b = 2000;
  for (std::int64_t i = 0; i < 3600; ++i) {
    const std::int64_t t = kT0 + i;
    const double next_a = price_a * (1 + 0.002 * std::sin(static_cast<double>(i) * 0.37));
    const double next_b = price_b * (1 + 0.003 * std::cos(static_cast<double>(i) * 0.11));
    p.on_execution_bar(a, bar_at(t, price_a, next_a));
    p.on_execution_bar(b, bar_at(t, price_b, next_b));
    price_a = next_a;
    price_b = next_b;
    p.on_step(t + 1);
    if (i % 97 == 0) p.order_entry(a, i % 2 ? Direction::kShort : Direction::kLong, sizing_for(5), 5, t + 1, "");
    if (i % 131 == 0) p.order_entry(b, i % 3 ? Direction::kLong : Direction::kShort, kPremium, 9, t + 1, "");
    if (i % 97 == 50) p.order_exit(a, "flow_reversal", t + 1);
    if (i % 131 == 70) p.order_exit(b, "structure_break", t + 1);
  }
  p.finish(kT0 + 3600);
  ASSERT_GT(p.trades().size(), 40u);
  const double final_equity = p.equity_samples().back().equity;
  EXPECT_NEAR(final_equity, 10000 + net_sum(p), 1e-9 * 10000);
  EXPECT_NEAR(p.equity(), final_equity, 0);
  double fees = 0;
  for (const TradeRecord& t : p.trades()) fees += t.entry_fee + t.exit_fee;
  EXPECT_NEAR(p.total_fees(), fees, 1e-9);
}

TEST(BacktestPortfolio, EquitySamplesAtIntervalBoundariesAndExposure) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(0, 0), params);
  const std::size_t a = p.add_symbol("A");
  // Steps from T0+30 to T0+200; a position open from step T0+61 to T0+121.
  for (std::int64_t t = kT0 + 30; t <= kT0 + 200; ++t) {
    if (t == kT0 + 60) p.order_entry(a, Direction::kLong, kHigh, 7, t, "");
    if (t == kT0 + 120) p.order_exit(a, "x", t);
    p.on_execution_bar(a, bar_at(t - 1, 100, t >= kT0 + 100 ? 110 : 100));
    p.on_step(t);
  }
  // Entry fills on the bar of step T0+61 (open T0+60); exit on step T0+121.
  // Open at the ends of steps T0+61 .. T0+120: 60 intervals of 1 s.
  EXPECT_EQ(p.exposure_s(), 60);
  const auto& s = p.equity_samples();
  ASSERT_EQ(s.size(), 4u);  // the first step, T0+60, T0+120, T0+180
  EXPECT_EQ(s[0].time_s, kT0 + 30);
  EXPECT_EQ(s[1].time_s, kT0 + 60);
  EXPECT_EQ(s[2].time_s, kT0 + 120);
  EXPECT_EQ(s[3].time_s, kT0 + 180);
  EXPECT_EQ(s[1].open_positions, 0u);
  EXPECT_EQ(s[2].open_positions, 1u);
  EXPECT_EQ(s[2].equity, 10000 + 6 * 10);  // qty 600 / 100 = 6, marked 10 up
  EXPECT_EQ(s[3].open_positions, 0u);
  p.finish(kT0 + 200);
  EXPECT_EQ(p.equity_samples().back().time_s, kT0 + 200);
  EXPECT_EQ(p.first_step_s(), kT0 + 30);
  EXPECT_EQ(p.last_step_s(), kT0 + 200);
}

TEST(BacktestPortfolio, SkippedBoundariesHoldTheLastStepsEquity) {
  SqueezeFlowParams params;
  BacktestPortfolio p(account(0, 0), params);
  p.add_symbol("A");
  p.on_step(kT0 + 10);
  p.on_step(kT0 + 250);  // a data gap: T0+60, +120, +180, +240 crossed at once
  const auto& s = p.equity_samples();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[4].time_s, kT0 + 240);
  for (const EquitySample& e : s) EXPECT_EQ(e.equity, 10000);
}

TEST(BacktestPortfolio, RejectsABadAccount) {
  SqueezeFlowParams params;
  BacktestAccount a;
  a.starting_balance = 0;
  EXPECT_THROW(BacktestPortfolio(a, params), std::invalid_argument);
  a = BacktestAccount{};
  a.equity_interval_s = 0;
  EXPECT_THROW(BacktestPortfolio(a, params), std::invalid_argument);
  const BacktestAccount from = BacktestAccount::from_params(params);
  EXPECT_EQ(from.fee_rate, params.fee_rate);
  EXPECT_EQ(from.slippage_bp, params.slippage_bp);
  EXPECT_EQ(from.max_open_positions, params.max_open_positions);
}

}  // namespace
}  // namespace tickflow
