// runtime/aggregator.cc
#include "runtime/aggregator.h"

#include "pipeline/wall_clock.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <utility>

namespace tickflow {
// 1 s bars go to the output, then to the rollups (whose bars go to the
// output too): a rollup's line follows the line of the 1 s bar that closed
// it. Closed frontiers feed the rollups and the per-market freshness.
class Aggregator::Chain final : public BarSink {
 public:
  Chain(BarSink& output, std::atomic<std::int64_t>* closed_until_s, std::size_t max_markets)
      : output_(output), closed_until_s_(closed_until_s), max_markets_(max_markets) {}
  void set_rollups(Rollups* rollups) noexcept { rollups_ = rollups; }
  void set_flow(FlowStage* flow) noexcept { flow_ = flow; }

  void on_bar(const Bar& bar) override {
    output_.on_bar(bar);
    if (rollups_) rollups_->on_bar(bar);
    if (replayed(bar.market, bar.open_time_s + 1)) [[unlikely]]
      return;
    if (flow_) flow_->on_bar(bar);
    if (engine_) engine_->on_bar(bar);
  }
  void on_closed(MarketId market, std::int64_t closed_until_s) override {
    closed_any_ = true;
    if (rollups_) rollups_->on_closed(market, closed_until_s);
    if (!replayed(market, closed_until_s)) [[likely]] {
      if (flow_) flow_->on_closed(market, closed_until_s);
      if (engine_) engine_->on_closed(market, closed_until_s);
    }
    if (market < max_markets_) closed_until_s_[market].store(closed_until_s, std::memory_order_relaxed);
    // The output hears the frontier too (pipeline/bar_sink.h): a bus bar
    // publisher sends it with the bars to strategy hosts.
    output_.on_closed(market, closed_until_s);
  }
  void set_engine(StrategyEngine* engine) noexcept { engine_ = engine; }
  // A bus restart rebuilds the seconds of `market` from `from_s` to
  // `until_s` (runtime/restart_checkpoint.h, replay_from_s): their bars
  // are the previous run's again, and go to the output (the same values
  // once more) and the rollups (which rebuild their windows from them),
  // but not to the flow statistics and the strategy, which start where the
  // previous run stopped, as after a single-host restart: they already
  // wrote and signalled those seconds.
  void set_replayed(MarketId market, std::int64_t until_s) {
    if (market >= max_markets_) return;
    if (replayed_until_s_.empty()) replayed_until_s_.assign(max_markets_, INT64_MIN);
    replayed_until_s_[market] = until_s;
  }
  // Whether a frontier moved since the last call.
  bool take_closed_any() noexcept { return std::exchange(closed_any_, false); }

 private:
  // Whether everything before `end_s` of `market` is a replayed second.
  bool replayed(MarketId market, std::int64_t end_s) const noexcept {
    return !replayed_until_s_.empty() && market < max_markets_ && end_s <= replayed_until_s_[market];
  }

  bool closed_any_ = false;
  std::vector<std::int64_t> replayed_until_s_;  // by market; empty: no replay
  BarSink& output_;
  Rollups* rollups_ = nullptr;
  FlowStage* flow_ = nullptr;
  StrategyEngine* engine_ = nullptr;
  std::atomic<std::int64_t>* closed_until_s_;
  std::size_t max_markets_;
};

Aggregator::Aggregator(AggregatorOptions options, const MarketRegistry& registry, std::vector<FeedChannel*> inputs,
                       BarSink& output)
    : options_(std::move(options)),
      registry_(registry),
      inputs_(std::move(inputs)),
      names_(options_.max_markets),
      seen_(options_.max_markets, 0),
      closed_until_s_(std::make_unique<std::atomic<std::int64_t>[]>(options_.max_markets)),
      last_trade_ns_(std::make_unique<std::atomic<std::int64_t>[]>(options_.max_markets)) {
  for (std::size_t i = 0; i < options_.max_markets; ++i) {
    closed_until_s_[i].store(0, std::memory_order_relaxed);
    last_trade_ns_[i].store(0, std::memory_order_relaxed);
  }
  chain_ = std::make_unique<Chain>(output, closed_until_s_.get(), options_.max_markets);
  if (!options_.rollups.empty()) {
    RollupConfig rollup_config;
    rollup_config.timeframes = options_.rollups;
    rollup_config.max_markets = options_.max_markets;
    rollup_config.amend_horizon_s = (options_.amend_horizon_ns + 999'999'999) / 1'000'000'000;
    rollups_ = std::make_unique<Rollups>(rollup_config, output);
    chain_->set_rollups(rollups_.get());
  }
  if (options_.flow_stats) {
    // The bars' timeframes, so that flow_<tf> has a retention policy and a
    // trades_<tf> beside it.
    FlowStatsConfig flow = options_.flow;
    flow.timeframes_s = {1};
    for (const Timeframe& tf : options_.rollups)
      if (tf.seconds() != 1) flow.timeframes_s.push_back(tf.seconds());
    flow_ = std::make_unique<FlowStage>(registry_, std::move(flow), options_.max_markets, output);
    chain_->set_flow(flow_.get());
  }
  BarBuilderConfig config;
  config.max_markets = options_.max_markets;
  config.lateness_ns = options_.lateness_ns;
  config.quiet_close_delay_ns = options_.quiet_close_delay_ns;
  config.amend_horizon_ns = options_.amend_horizon_ns;
  config.gap_hold_ns = options_.gap_hold_ns;
  // The event clock (replay, backtest) keeps the fixed delay: its output
  // must not depend on how a connection lagged.
  config.quiet_close_from_lag = options_.quiet_close_from_lag && options_.wall_clock;
  config.quiet_lag_margin_ns = options_.quiet_lag_margin_ns;
  builder_ = std::make_unique<BarBuilder>(config, *chain_);
}

Aggregator::~Aggregator() = default;

std::int64_t Aggregator::closed_until_s(MarketId market) const noexcept {
  return market < options_.max_markets ? closed_until_s_[market].load(std::memory_order_relaxed) : 0;
}

std::int64_t Aggregator::last_trade_ns(MarketId market) const noexcept {
  return market < options_.max_markets ? last_trade_ns_[market].load(std::memory_order_relaxed) : 0;
}

void Aggregator::set_strategy(StrategyEngine* engine, StrategyListener* listener) noexcept {
  engine_ = engine;
  listener_ = listener;
  chain_->set_engine(engine);
}

void Aggregator::poll_strategy() noexcept {
  if (!engine_) return;
  const std::int64_t start = realtime_ns();
  const std::size_t ran = engine_->poll(*listener_);
  if (ran == 0) return;
  const std::int64_t spent = realtime_ns() - start;
  strategy_eval_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, spent)) / ran);
}

void Aggregator::see_market(MarketId market) {
  // First event of a market: its name for the writer (the registry entry
  // is immutable and was made before the id entered a ring), its rollup
  // windows. Markets beyond max_markets are ignored by the builder (and
  // counted there).
  if (market >= options_.max_markets || seen_[market]) return;
  seen_[market] = 1;
  names_[market] = registry_.info(market).name;
  if (rollups_) rollups_->add_market(market);
  if (flow_) flow_->add_market(market);             // its symbol group, if any
  if (engine_) engine_->attach_markets(registry_);  // its symbol group, if any
  markets_seen_.store(std::max<std::size_t>(markets_seen_.load(std::memory_order_relaxed), market + 1),
                      std::memory_order_release);
}

void Aggregator::handle(const FeedEvent& e) {
  ++events_;
  switch (e.type) {
    case FeedEventType::kTrade: {
      const Trade& t = e.trade;
      if (t.market < options_.max_markets && !seen_[t.market]) [[unlikely]]
        see_market(t.market);
      if (!options_.wall_clock) now_ns_ = std::max(now_ns_, t.receive_ts_ns);
      builder_->advance_clock(now_ns_);
      builder_->on_trade(t);
      ++trades_;
      if (t.flags & kTradeBackfill) ++backfilled_;
      if (t.market < options_.max_markets) last_trade_ns_[t.market].store(t.receive_ts_ns, std::memory_order_relaxed);
      // One trade in kLatencySampleEvery is timed (shared_histogram.h).
      if (options_.measure_latency && trades_ % kLatencySampleEvery == 0) {
        const std::int64_t now = realtime_ns();
        receive_to_bar_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - t.receive_ts_ns)));
      }
      break;
    }
    case FeedEventType::kStatus: {
      const FeedStatus& s = e.status;
      if (s.kind == FeedStatusKind::kBusMark) [[unlikely]] {
        on_bus_mark(s.gap_first_id);
        break;
      }
      if (s.market != kInvalidMarket && s.market < options_.max_markets && !seen_[s.market]) see_market(s.market);
      if (!options_.wall_clock) now_ns_ = std::max(now_ns_, s.receive_ts_ns);
      builder_->advance_clock(now_ns_);
      if (s.kind == FeedStatusKind::kGap) ++gaps_;
      if (s.kind == FeedStatusKind::kDisconnected || s.kind == FeedStatusKind::kStale) ++disconnects_;
      builder_->on_status(s);
      break;
    }
    case FeedEventType::kQuote: break;  // bars do not use quotes
  }
}

void Aggregator::resume(MarketId market, const MarketResumePoint& point) {
  if (market >= options_.max_markets) return;
  see_market(market);
  // A bus checkpoint: the stream is replayed from below every second the
  // previous run could still amend, so they are rebuilt (replay_from_s).
  const bool replay = point.replay_from_s != 0;
  const std::int64_t from = replay ? point.replay_from_s : point.closed_until_s;
  builder_->resume(market, from, point.sealed_trade_id,
                   point.sealed_exchange_ns != 0 ? point.sealed_exchange_ns : BarBuilder::kNoTime, replay);
  if (replay) chain_->set_replayed(market, point.closed_until_s);
  if (rollups_) {
    // Each open window by timeframe; one that is not the window of the
    // frontier (a file from another configuration) is left out.
    std::vector<std::optional<Bar>> open(rollups_->timeframes().size());
    for (std::uint32_t i = 0; i < point.windows && i < kCheckpointMaxWindows; ++i) {
      const Bar& w = point.window[i];
      for (std::size_t k = 0; k < open.size(); ++k) {
        const Timeframe& tf = rollups_->timeframes()[k];
        if (tf.seconds() == w.timeframe_s && tf.window_start(from) == w.open_time_s) open[k] = w;
      }
    }
    rollups_->resume(market, from, open);
  }
  closed_until_s_[market].store(from, std::memory_order_relaxed);
}

void Aggregator::on_bus_mark(std::uint64_t stream_seq) {
  if (!bus_) {
    bus_ = true;
    bus_replay_from_s_.assign(options_.max_markets, BarBuilder::kNoTime);
  }
  bus_seq_ = stream_seq;
  builder_->set_input_tag(stream_seq);
}

std::uint64_t Aggregator::bus_floor() noexcept {
  // The message in progress may be partly applied: everything before it.
  // Then below the first message of every second a late trade could still
  // amend (the amendment horizon, open seconds included): a restart
  // replays from there and rebuilds them (restart_checkpoint.h). Past the
  // replay budget a market's replay starts later, above the budget's floor.
  std::uint64_t floor = bus_seq_ == 0 ? 0 : bus_seq_ - 1;
  const std::uint64_t budget = options_.bus_replay_budget;
  const std::uint64_t lowest_allowed = budget > 0 && bus_seq_ > budget ? bus_seq_ - budget : 0;
  bool shortened = false;
  const std::size_t seen = markets_seen_.load(std::memory_order_relaxed);
  for (std::size_t id = 0; id < seen; ++id) {
    if (!seen_[id]) continue;
    const auto market = static_cast<MarketId>(id);
    const std::int64_t closed = builder_->closed_until_s(market);
    // Not before where this run resumed the market: it dropped the trades
    // of the seconds before that (so did the rollups' floor), a replay
    // could not rebuild them.
    std::int64_t from = builder_->replay_start_s(market);
    std::uint64_t lowest = builder_->lowest_tag_from(market, from);
    if (lowest_allowed > 0 && lowest != std::numeric_limits<std::uint64_t>::max() && lowest <= lowest_allowed &&
        closed != BarBuilder::kNoTime) [[unlikely]] {
      const std::int64_t later = builder_->replay_start_above(market, from, lowest_allowed - 1, lowest);
      shortened = shortened || later > from;
      from = later;
    }
    bus_replay_from_s_[market] = from;
    if (lowest != std::numeric_limits<std::uint64_t>::max()) floor = std::min(floor, lowest == 0 ? 0 : lowest - 1);
  }
  if (shortened) ++replay_shortened_;
  return floor;
}

void Aggregator::maybe_checkpoint() noexcept {
  if ((keeper_ == nullptr && !bus_) || now_ns_ < next_checkpoint_ns_) return;
  next_checkpoint_ns_ = now_ns_ + 1'000'000'000;
  const std::uint64_t floor = bus_ ? bus_floor() : 0;
  if (keeper_ == nullptr) {
    if (on_bus_floor_) on_bus_floor_(floor);
    return;
  }
  std::vector<MarketResumePoint>* out = keeper_->begin_offer();
  if (out == nullptr) return;
  const std::size_t seen = markets_seen_.load(std::memory_order_relaxed);
  for (std::size_t id = 0; id < seen && out->size() < out->capacity(); ++id) {
    const auto market = static_cast<MarketId>(id);
    if (!seen_[market]) continue;
    const std::int64_t closed = builder_->closed_until_s(market);
    if (closed == BarBuilder::kNoTime) continue;
    MarketResumePoint p;
    p.market = market;
    p.closed_until_s = closed;
    if (bus_) {
      // The restart rebuilds from replay_from_s (the bus floor above is
      // below all of it): the windows are the folds before it, and the
      // trade ids are the collectors' business, not this process's.
      p.replay_from_s = bus_replay_from_s_[market];
      if (p.replay_from_s == BarBuilder::kNoTime) p.replay_from_s = builder_->replay_start_s(market);
      if (rollups_)
        for (std::size_t k = 0; k < rollups_->timeframes().size() && p.windows < kCheckpointMaxWindows; ++k)
          if (auto w = rollups_->fold_before(market, k, p.replay_from_s)) p.window[p.windows++] = *w;
    } else {
      p.sealed_trade_id = builder_->sealed_trade_id(market);
      const std::int64_t ts = builder_->sealed_exchange_ns(market);
      p.sealed_exchange_ns = ts == BarBuilder::kNoTime ? 0 : ts;
      if (rollups_)
        for (std::size_t k = 0; k < rollups_->timeframes().size() && p.windows < kCheckpointMaxWindows; ++k)
          if (auto w = rollups_->provisional(market, k)) p.window[p.windows++] = *w;
    }
    out->push_back(p);
  }
  keeper_->commit_offer(bars_handed_ ? bars_handed_() : 0, now_ns_, floor);
}

void Aggregator::maybe_all_closed() {
  // Every second closed on every market that has a frontier: the lowest
  // frontier. Recomputed only when some frontier moved (about once per
  // market per second), over the markets seen.
  if (!on_all_closed_ || !chain_->take_closed_any()) return;
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  const std::size_t seen = markets_seen_.load(std::memory_order_relaxed);
  for (std::size_t id = 0; id < seen; ++id) {
    if (!seen_[id]) continue;
    const std::int64_t closed = builder_->closed_until_s(static_cast<MarketId>(id));
    if (closed != BarBuilder::kNoTime) lowest = std::min(lowest, closed);
  }
  if (lowest == std::numeric_limits<std::int64_t>::max() || lowest <= all_closed_s_) return;
  all_closed_s_ = lowest;
  on_all_closed_(lowest);
}

std::chrono::nanoseconds Aggregator::idle_wait() const noexcept {
  // Live with per-market clock closes: no longer than until the next one.
  const std::chrono::nanoseconds idle = options_.idle_wake;
  if (!options_.wall_clock || !options_.quiet_close_from_lag) return idle;
  const std::int64_t next = builder_->next_clock_close_ns();
  if (next == std::numeric_limits<std::int64_t>::min()) return std::chrono::nanoseconds(0);
  const std::int64_t until = next - realtime_ns();
  return std::chrono::nanoseconds(std::clamp<std::int64_t>(until, 0, idle.count()));
}

void Aggregator::maybe_publish_counters() noexcept {
  // Every 100 ms of the clock: readers see statistics, not a live feed.
  if (now_ns_ < next_publish_ns_) return;
  publish_counters(now_ns_);
  next_publish_ns_ = now_ns_ + 100'000'000;
}

void Aggregator::publish_counters(std::int64_t now_ns) noexcept {
  const BarCounters totals = builder_->totals();
  counters_.events.store(events_, std::memory_order_relaxed);
  counters_.trades.store(trades_, std::memory_order_relaxed);
  counters_.backfilled_trades.store(backfilled_, std::memory_order_relaxed);
  counters_.gaps.store(gaps_, std::memory_order_relaxed);
  counters_.disconnects.store(disconnects_, std::memory_order_relaxed);
  counters_.bars.store(totals.bars, std::memory_order_relaxed);
  counters_.amendments.store(totals.amendments, std::memory_order_relaxed);
  counters_.late_drops.store(totals.late_drops, std::memory_order_relaxed);
  counters_.resumed_drops.store(totals.resumed_drops, std::memory_order_relaxed);
  counters_.replay_shortened.store(replay_shortened_, std::memory_order_relaxed);
  counters_.gap_holds.store(totals.gap_holds, std::memory_order_relaxed);
  counters_.gap_hold_timeouts.store(totals.gap_hold_timeouts, std::memory_order_relaxed);
  counters_.incomplete_seconds.store(totals.incomplete_seconds, std::memory_order_relaxed);
  counters_.incomplete_trades.store(totals.incomplete_trades, std::memory_order_relaxed);
  counters_.batches.store(batches_, std::memory_order_relaxed);
  counters_.wakeups.store(wakeups_, std::memory_order_relaxed);
  if (flow_) {
    const FlowStatsCounters& c = flow_->stats().counters();
    counters_.flow_records.store(flow_->counters().records, std::memory_order_relaxed);
    counters_.flow_late.store(c.late, std::memory_order_relaxed);
    counters_.flow_replaced.store(c.replaced, std::memory_order_relaxed);
    counters_.flow_dropped.store(c.late_dropped + c.future_dropped + c.rejected, std::memory_order_relaxed);
    counters_.flow_groups_refused.store(flow_->counters().groups_refused, std::memory_order_relaxed);
  }
  if (rollups_) {
    std::uint64_t bars = 0, amendments = 0;
    for (std::size_t k = 0; k < rollups_->timeframes().size(); ++k) {
      bars += rollups_->counters(k).bars;
      amendments += rollups_->counters(k).amendments;
    }
    counters_.rollup_bars.store(bars, std::memory_order_relaxed);
    counters_.rollup_amendments.store(amendments, std::memory_order_relaxed);
  }
  receive_to_bar_.maybe_publish(now_ns);
  strategy_eval_.maybe_publish(now_ns);
}

void Aggregator::run() noexcept {
  try {
    auto handle = [this](const FeedEvent& e) { this->handle(e); };
    for (;;) {
      std::size_t taken = 0;
      bool all_finished = true;
      for (FeedChannel* input : inputs_) {
        taken += input->consume(handle, options_.batch);
        all_finished = all_finished && input->finished();
      }
      if (taken > 0) {
        ++batches_;
        // The clock once per batch, not per event: bar closes are ms-grained.
        if (options_.wall_clock) now_ns_ = realtime_ns();
        if (flow_) flow_->poll(now_ns_);
        poll_strategy();
        maybe_all_closed();
        maybe_publish_counters();
        maybe_checkpoint();
        continue;
      }
      if (all_finished) break;
      // Wake for new events, or when every producer has closed (the loop
      // then ends); a single closed input must not keep the predicate true.
      options_.wait.wait_for(
          [this] {
            bool all_closed = true;
            for (const FeedChannel* input : inputs_) {
              if (input->has_pending()) return true;
              all_closed = all_closed && input->closed();
            }
            return all_closed;
          },
          idle_wait(), &doorbell_);
      ++wakeups_;
      if (options_.wall_clock) {
        now_ns_ = realtime_ns();
        builder_->advance_clock(now_ns_);  // quiet markets close on the clock
      }
      if (flow_) flow_->poll(now_ns_);
      poll_strategy();
      maybe_all_closed();
      maybe_publish_counters();
      maybe_checkpoint();
    }
    builder_->flush();
    if (rollups_) rollups_->flush();
    if (flow_) flow_->flush();  // after the last bars: partial intervals too
    poll_strategy();            // the last closes
  } catch (const std::exception& e) {
    error_ = e.what();
  }
  publish_counters(now_ns_);
  receive_to_bar_.publish();
  strategy_eval_.publish();
  finished_.store(true, std::memory_order_release);
}

}  // namespace tickflow
