// strategy/backtester.cc
#include "strategy/backtester.h"

#include <stdexcept>
#include <string>

#include "pipeline/market_registry.h"

namespace tickflow {
namespace {

std::int64_t visible_at(const Bar& b) noexcept { return b.open_time_s + b.timeframe_s; }

}  // namespace

// Turns the engine's decisions into orders (and signals).
class Backtester::Listener final : public StrategyListener {
 public:
  explicit Listener(Backtester& bt) : bt_(bt) {}

  bool on_entry(std::size_t group, const Decision& d) override {
    if (d.time_s < bt_.config_.from_s || d.time_s >= bt_.config_.to_s) return false;  // warm-up / after the span
    BacktestPortfolio& p = *bt_.portfolio_;
    if (!p.can_enter()) {
      ++bt_.stats_.refused_entries;
      return false;
    }
    const MarketId exec = bt_.resolve_execution(group);
    if (exec == kInvalidMarket) {
      ++bt_.stats_.refused_entries;
      return false;
    }
    bt_.execution_[group] = exec;
    p.order_entry(bt_.portfolio_symbol_[group], d.direction, d.sizing, d.score.total, d.time_s, d.reasoning.view());
    bt_.signals_.push_back(bt_.engine_->make_signal(group, d));
    ++bt_.stats_.entries;
    return true;
  }

  void on_exit(std::size_t group, const Decision& d) override {
    bt_.portfolio_->order_exit(bt_.portfolio_symbol_[group], to_string(d.exit), d.time_s);
    bt_.signals_.push_back(bt_.engine_->make_signal(group, d));
    ++bt_.stats_.exits;
  }

  void on_evaluation(std::size_t group, const Decision& d) override {
    if (bt_.debug_ && group == bt_.debug_group_) bt_.debug_->write(bt_.engine_->base(group), d);
    if (bt_.on_decision) bt_.on_decision(bt_.engine_->symbol(group), d);
  }

 private:
  Backtester& bt_;
};

Backtester::Backtester(BacktestConfig config, MarketRegistry& registry)
    : config_(std::move(config)),
      registry_(registry),
      base_of_(config_.max_markets, 0),
      last_open_(config_.max_markets, std::numeric_limits<std::int64_t>::min()) {
  engine_ = std::make_unique<StrategyEngine>(config_.params, config_.max_markets);
  // Fees, slippage and the position limit are strategy parameters; the
  // balance and the sampling interval are the backtest's own.
  const BacktestAccount account =
      BacktestAccount::from_params(config_.params, config_.account.starting_balance, config_.account.equity_interval_s);
  portfolio_ = std::make_unique<BacktestPortfolio>(account, config_.params);
  listener_ = std::make_unique<Listener>(*this);
  for (const BacktestSymbol& s : config_.symbols) {
    if (s.base.empty()) throw std::invalid_argument("backtest: a symbol without a base asset");
    if (engine_->find_group(s.base) != SIZE_MAX) throw std::invalid_argument("backtest: symbol " + s.base + " twice");
    add_group(s.base, s.symbol.empty() ? s.base + "USDT" : s.symbol, s.execution_market);
  }
}

Backtester::~Backtester() = default;

void Backtester::add_group(const std::string& base, const std::string& symbol, const std::string& execution) {
  const std::size_t g = engine_->add_group(symbol, base);
  execution_.push_back(kInvalidMarket);
  execution_name_.push_back(execution);
  portfolio_symbol_.push_back(portfolio_->add_symbol(symbol));
  if (!config_.debug_csv.empty() && base == config_.debug_symbol) {
    debug_ = std::make_unique<DecisionCsv>(config_.debug_csv, config_.params);
    debug_group_ = g;
  }
}

MarketId Backtester::resolve_execution(std::size_t group) const {
  if (!execution_name_[group].empty()) {
    const std::optional<MarketId> id = registry_.find(execution_name_[group]);
    return id ? *id : kInvalidMarket;
  }
  return engine_->execution_market(group);
}

void Backtester::see_market(MarketId market) {
  if (market >= config_.max_markets)
    throw std::runtime_error("backtest: more than " + std::to_string(config_.max_markets) + " markets");
  markets_.push_back(market);
  const MarketInfo& info = registry_.info(market);
  if (config_.symbols.empty() && !info.base.empty() && engine_->find_group(info.base) == SIZE_MAX)
    add_group(info.base, info.base + "USDT", "");
  // Members join in market-id order, as live (the aggregator attaches at
  // each market's first event): a window's sums then add the markets in
  // the same order, to the last bit.
  engine_->attach_markets(registry_);
}

void Backtester::feed(const Bar& bar) {
  const MarketId m = bar.market;
  if (m >= config_.max_markets || m >= registry_.size())
    throw std::runtime_error("backtest: bar of an unknown market id " + std::to_string(m));
  if (bar.timeframe_s != 1 && bar.timeframe_s != 60)
    throw std::runtime_error("backtest: market " + registry_.info(m).name + ": base bars must be 1s or 1m, not " +
                             std::to_string(bar.timeframe_s) + "s");
  if (base_of_[m] == 0) {
    base_of_[m] = bar.timeframe_s;
    see_market(m);
  } else if (base_of_[m] != bar.timeframe_s) {
    throw std::runtime_error("backtest: market " + registry_.info(m).name + " has both 1s and 1m bars (at " +
                             std::to_string(bar.open_time_s) + "); give each market one base interval");
  }
  if (bar.open_time_s <= last_open_[m])
    throw std::runtime_error("backtest: market " + registry_.info(m).name + ": bar at " +
                             std::to_string(bar.open_time_s) + " is out of order or repeated");
  last_open_[m] = bar.open_time_s;
  ++stats_.bars;
  engine_->on_bar(bar);
  for (std::size_t g = 0; g < execution_.size(); ++g)
    if (execution_[g] == m) portfolio_->on_execution_bar(portfolio_symbol_[g], bar);
}

void Backtester::close_markets(std::int64_t t) {
  // Every bar visible at or before t has been given (the engine closes a
  // 1 m market's Rollups at the last whole minute).
  for (MarketId m : markets_) engine_->on_closed(m, t);
}

void Backtester::run(BarSource& source) {
  Bar next;
  bool have = source.next(next);
  if (!have) return;
  std::int64_t t = visible_at(next);
  stats_.first_step_s = t;
  while (true) {
    while (have && visible_at(next) <= t) {
      feed(next);
      have = source.next(next);
    }
    close_markets(t);
    stats_.evaluations += engine_->poll(*listener_);
    portfolio_->on_step(t);
    ++stats_.steps;
    stats_.last_step_s = t;
    if ((stats_.steps & 0xFFFF) == 0 && config_.progress) config_.progress(t, source.progress());
    if (!have) break;
    ++t;
  }
  portfolio_->finish(t);
  if (config_.progress) config_.progress(t, 1.0);
  if (debug_) debug_->close();
}

}  // namespace tickflow
