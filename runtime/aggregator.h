// runtime/aggregator.h
//
// Aggregator: the tf-agg thread. It polls every input FeedChannel (one per
// feed thread, one for the REST backfill) in batches, runs each event
// through BarBuilder (1 s bars), Rollups (1m ... 4h) and hands every emitted
// bar to the output sink (the writer thread's ring), then waits with the
// thread's configured WaitStrategy when every input is empty.
//
//   FeedChannel x N --> [ BarBuilder --> Rollups ] --> output (InfluxWriter)
//                              |-> FlowStage (flow stats) --> output.on_flow
//                              |-> StrategyEngine --> listener (signals)
//                              \-> freshness per market (health)
//
// Flow statistics (options.flow_stats, on by default). Every 1 s bar and
// closed frontier also goes to a FlowStage (pipeline/flow_stage.h): the
// FlowStats engine over the registry's symbol groups, on the timeframes
// of the bars (1 s and the rollups), so flow_<tf> sits next to
// trades_<tf>. After every batch and every wake the stage closes the
// seconds every market has closed, and each closed interval gives one
// FlowRecord per group to output.on_flow(), after the bars of that
// interval. In replay the clock is the events' (wall_clock = false), so the
// records, like the bars, depend on the input alone.
//
// Clock. Bars close when a market's watermark (exchange time) passes their
// end plus lateness, and quiet markets close on the clock. In live mode
// (wall_clock) the clock is CLOCK_REALTIME, read when idle too, so a market
// that goes silent still has its bars closed; in replay mode the clock is
// the events' receive time only, so the result depends on the input alone.
//
// Closing on time (live). options.quiet_close_from_lag closes quiet markets
// after their connection's observed lag rather than the fixed quiet delay
// (pipeline/bar_builder.h); a parked aggregator then sleeps no longer than
// until the builder's next clock close (next_clock_close_ns()), so a quiet
// bar closes within a millisecond of its deadline, not at the next 50 ms
// idle wake. set_on_all_closed() hears, on this thread, each time every
// market has closed a further second: the writer seals its batch then
// rather than waiting out its age (runtime/influx_writer.h).
//
// Latency. With measure_latency, every trade records (now - its frame's
// receive time) once its bar is updated: "frame receive -> bar updated",
// including the feed ring.
//
// Promises: allocation-free after warm-up (every market's slots are made on
// its first event); the per-market freshness, the counters and the latency
// snapshot may be read by any thread while run() runs.
//
// Restart (runtime/restart_checkpoint.h). resume() seeds a market from the
// previous run's checkpoint before run(): the builder's sealed frontier and
// trade id, the open rollup windows. With a CheckpointKeeper, run() offers
// it a snapshot of every market's resume point once a second of the clock
// (never during the final flush: the seconds it closes early are not
// sealed, a restart rebuilds them). Gap holds: options.gap_hold_ns
// (pipeline/bar_builder.h, "Gaps").
//
// Lifecycle: construct, run() on the aggregator thread; run() returns once
// every input is finished (closed by its producer and drained), after
// flushing every open bar and window to the output.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/bar_builder.h"
#include "pipeline/bar_sink.h"
#include "pipeline/flow_stage.h"
#include "pipeline/market_registry.h"
#include "pipeline/rollup.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/wait_strategy.h"
#include "runtime/checkpoint_keeper.h"
#include "runtime/feed_channel.h"
#include "runtime/shared_histogram.h"
#include "strategy/strategy_engine.h"

namespace tickflow {

struct AggregatorOptions {
  std::size_t max_markets = 1024;
  // Bar timing: BarBuilderConfig's defaults (pipeline/bar_builder.h).
  std::int64_t lateness_ns = BarBuilderConfig{}.lateness_ns;
  std::int64_t quiet_close_delay_ns = BarBuilderConfig{}.quiet_close_delay_ns;
  std::int64_t amend_horizon_ns = BarBuilderConfig{}.amend_horizon_ns;
  std::int64_t gap_hold_ns = 0;  // > 0 with a REST backfill: hold a market's seconds from kGap to kBackfilled
  // Live only (wall_clock): quiet markets close after their connection's
  // observed lag + this margin, at most quiet_close_delay_ns (bar_builder.h).
  bool quiet_close_from_lag = false;
  std::int64_t quiet_lag_margin_ns = BarBuilderConfig{}.quiet_lag_margin_ns;
  std::vector<Timeframe> rollups = default_rollup_timeframes();
  WaitStrategy wait{};                      // when every input is empty
  bool wall_clock = true;                   // live: advance the clock with CLOCK_REALTIME when idle
  bool measure_latency = true;              // live and bench/e2e: receive -> bar updated per trade
  std::size_t batch = 256;                  // events taken from one input before looking at the next
  std::chrono::milliseconds idle_wake{50};  // a parked aggregator still wakes this often (quiet closes)
  bool flow_stats = true;                   // FlowStage on the 1 s bars; records to output.on_flow
  // Bus ingest: at most this many messages stay unacknowledged for a
  // restart to replay (0: no limit). JetStream stops delivering at the
  // consumer's max_ack_pending; past this budget the replay of a market
  // starts later than its amendment horizon (counted: replay_shortened).
  std::uint64_t bus_replay_budget = 0;
  // The engine's settings; timeframes_s is replaced by 1 s plus `rollups`.
  // Bars may run 512 s ahead of the slowest market before seconds are
  // forced closed (pipeline/flow_stage.h): live feeds are a second or two
  // apart, replayed ones (tests, `tickflow replay` of several captures) can
  // be minutes apart. Memory: 512 x 40 bytes per market.
  FlowStatsConfig flow = [] {
    FlowStatsConfig c;
    c.pending_seconds = 512;
    c.amendment_memory_s = 512;
    return c;
  }();
};

// What the aggregator has done, readable from any thread (relaxed: statistics).
struct AggregatorCounters {
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> trades{0};
  std::atomic<std::uint64_t> backfilled_trades{0};
  std::atomic<std::uint64_t> gaps{0};  // kGap statuses: trade ids missing on the live stream
  std::atomic<std::uint64_t> disconnects{0};
  std::atomic<std::uint64_t> bars{0};  // 1 s bars closed
  std::atomic<std::uint64_t> amendments{0};
  std::atomic<std::uint64_t> late_drops{0};
  std::atomic<std::uint64_t> resumed_drops{0};       // trades for seconds a previous run sealed
  std::atomic<std::uint64_t> replay_shortened{0};    // bus ack floors raised past the horizon (replay budget)
  std::atomic<std::uint64_t> gap_holds{0};           // kGap holds started
  std::atomic<std::uint64_t> gap_hold_timeouts{0};   // ended by the clock, not by the backfill
  std::atomic<std::uint64_t> incomplete_seconds{0};  // not written: a resumed market's unhealed gap
  std::atomic<std::uint64_t> incomplete_trades{0};
  std::atomic<std::uint64_t> rollup_bars{0};
  std::atomic<std::uint64_t> rollup_amendments{0};
  std::atomic<std::uint64_t> batches{0};              // non-empty polls
  std::atomic<std::uint64_t> wakeups{0};              // waits that ended
  std::atomic<std::uint64_t> flow_records{0};         // FlowRecords handed to the output
  std::atomic<std::uint64_t> flow_late{0};            // bars for closed seconds, applied to open intervals
  std::atomic<std::uint64_t> flow_replaced{0};        // amended bars: their change applied, not their sum
  std::atomic<std::uint64_t> flow_dropped{0};         // bars the flow stats could not take (late, ahead, bad)
  std::atomic<std::uint64_t> flow_groups_refused{0};  // group refreshes refused: more groups than lanes
};

class Aggregator {
 public:
  Aggregator(AggregatorOptions options, const MarketRegistry& registry, std::vector<FeedChannel*> inputs,
             BarSink& output);
  ~Aggregator();
  Aggregator(const Aggregator&) = delete;
  Aggregator& operator=(const Aggregator&) = delete;

  // The thread's loop. Returns when every input is finished; flushes every
  // open bar and window first. Exceptions from the output end the loop and
  // are kept in error().
  void run() noexcept;

  // SqueezeFlow on this thread (before run()): 1 s bars and closes go to
  // `engine`, which is polled after every batch and every wake and steps
  // each group through every second its slowest market has closed,
  // microseconds after that market closed it. Decisions go to `listener`.
  // Both outlive run().
  void set_strategy(StrategyEngine* engine, StrategyListener* listener) noexcept;
  // Wall time of one group's evaluation (ns), sampled per poll.
  LatencyHistogram strategy_evaluation() const { return strategy_eval_.snapshot(); }

  // Before run(): continue `market` from a previous run's checkpoint.
  void resume(MarketId market, const MarketResumePoint& point);
  // Before run(): offer resume points to `keeper` once a second;
  // `bars_handed` (aggregator thread) counts the bars given to the output.
  void set_checkpoint_keeper(CheckpointKeeper* keeper, std::function<std::uint64_t()> bars_handed) {
    keeper_ = keeper;
    bars_handed_ = std::move(bars_handed);
  }

  // Bus ingest (runtime/bus_ingest.h): events arrive after a kBusMark
  // naming their JetStream message. Once a second the aggregator computes
  // the ack floor: the highest stream sequence below every message with a
  // trade in a second that is open or still amendable (the amendment
  // horizon). With a CheckpointKeeper it goes with the snapshot, whose
  // markets then carry replay_from_s (acked once the checkpoint is
  // written; a restart replays from the floor and rebuilds those seconds,
  // so a late trade after it amends as in an uninterrupted run); without
  // one, `on_floor` hears it on this thread (the bars before it were
  // handed to the output). Before run().
  void set_bus_floor_listener(std::function<void(std::uint64_t)> on_floor) { on_bus_floor_ = std::move(on_floor); }

  // Before run(): `listener(s)` runs on the aggregator thread each time
  // every market with a closed frontier has closed every second before s
  // (s grows; after the bars of those seconds went to the output).
  void set_on_all_closed(std::function<void(std::int64_t)> listener) { on_all_closed_ = std::move(listener); }

  // Sets the inputs (before run()): the channels are made with this
  // aggregator's doorbell, so they may come after it.
  void set_inputs(std::vector<FeedChannel*> inputs) { inputs_ = std::move(inputs); }

  // The doorbell every input's producer rings.
  Doorbell& doorbell() noexcept { return doorbell_; }

  // --- any thread ---
  const AggregatorCounters& counters() const noexcept { return counters_; }
  // End (epoch s) of the newest closed 1 s bar period of `market`, 0 if none.
  std::int64_t closed_until_s(MarketId market) const noexcept;
  // Receive time (ns) of the newest trade taken for `market`, 0 if none.
  std::int64_t last_trade_ns(MarketId market) const noexcept;
  // Markets seen so far (ids below this have been seen or skipped).
  std::size_t markets_seen() const noexcept { return markets_seen_.load(std::memory_order_acquire); }
  LatencyHistogram receive_to_bar() const { return receive_to_bar_.snapshot(); }
  const std::vector<Timeframe>& rollup_timeframes() const noexcept { return options_.rollups; }
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
  const std::string& error() const noexcept { return error_; }  // after run() returned
  // After run() returned: the builder's per-market counters and the
  // rollups' per-timeframe ones (null without rollups), for summaries.
  const BarBuilder& bar_builder() const noexcept { return *builder_; }
  const Rollups* rollups() const noexcept { return rollups_.get(); }

  // The flow statistics stage, null when options.flow_stats is off. Its
  // state belongs to the aggregator thread: read it after run() returned.
  const FlowStage* flow_stage() const noexcept { return flow_.get(); }

  // Market names by id, for the writer (written before the first bar of the
  // market is handed on; see influx_writer.h).
  const std::vector<std::string>& names() const noexcept { return names_; }

 private:
  class Chain;
  void poll_strategy() noexcept;
  void handle(const FeedEvent& e);
  void see_market(MarketId market);
  void publish_counters(std::int64_t now_ns) noexcept;
  void maybe_publish_counters() noexcept;
  void maybe_checkpoint() noexcept;
  void maybe_all_closed();
  std::chrono::nanoseconds idle_wait() const noexcept;
  void on_bus_mark(std::uint64_t stream_seq);
  std::uint64_t bus_floor() noexcept;

  AggregatorOptions options_;
  const MarketRegistry& registry_;
  std::vector<FeedChannel*> inputs_;
  Doorbell doorbell_;
  std::vector<std::string> names_;
  std::vector<std::uint8_t> seen_;
  std::unique_ptr<Chain> chain_;
  StrategyEngine* engine_ = nullptr;
  StrategyListener* listener_ = nullptr;
  SharedHistogram strategy_eval_;
  std::unique_ptr<Rollups> rollups_;
  std::unique_ptr<FlowStage> flow_;
  std::unique_ptr<BarBuilder> builder_;
  std::unique_ptr<std::atomic<std::int64_t>[]> closed_until_s_;
  std::unique_ptr<std::atomic<std::int64_t>[]> last_trade_ns_;
  AggregatorCounters counters_;
  SharedHistogram receive_to_bar_;  // every kLatencySampleEvery-th trade
  std::atomic<std::size_t> markets_seen_{0};
  std::atomic<bool> finished_{false};
  std::int64_t now_ns_ = 0;  // the clock, as last read
  std::int64_t next_publish_ns_ = 0;
  CheckpointKeeper* keeper_ = nullptr;
  std::function<std::uint64_t()> bars_handed_;
  std::function<void(std::int64_t)> on_all_closed_;
  std::int64_t all_closed_s_ = BarBuilder::kNoTime;  // the last second told to on_all_closed_
  std::int64_t next_checkpoint_ns_ = 0;
  std::uint64_t events_ = 0, trades_ = 0, backfilled_ = 0, gaps_ = 0, disconnects_ = 0;
  std::uint64_t batches_ = 0, wakeups_ = 0;
  std::string error_;

  // Bus ingest: the stream sequence of the message being applied (the
  // BarBuilder tags each second with the first it got a trade from).
  bool bus_ = false;
  std::uint64_t bus_seq_ = 0;
  std::vector<std::int64_t> bus_replay_from_s_;  // by market, as of the last bus_floor()
  std::uint64_t replay_shortened_ = 0;
  std::function<void(std::uint64_t)> on_bus_floor_;
};

}  // namespace tickflow
