// runtime/influx_writer.h
//
// InfluxWriter: the writer thread. The aggregator hands it every emitted bar
// through an SpscRing<Bar> (on_bar, called on the aggregator thread); the
// writer thread encodes them into InfluxSink's batches and lets the sink
// POST, retry and spool. Nothing on the aggregator's path waits for I/O.
//
// Back-pressure instead of loss: when the sink cannot take more (its spool
// is full under the kBlock policy, or unwritable, and its memory bound is
// reached), the writer stops draining the ring; when the ring is full,
// on_bar() waits (spin, then yield) until there is room. In replay that
// slows the reader; live, the feed rings absorb it and count what they drop.
//
// Market names reach the writer beside the ring: `names[id]` is written
// before the first event of market `id` enters the feed ring, so the chain
// of release/acquire pairs (feed ring, then this ring) makes it visible here.
//
// Lifecycle: construct (opens and recovers the spool, may throw), start(),
// on_bar()... from one aggregator thread, then finish(deadline): the thread
// drains the ring, flushes the sink until everything is acknowledged or
// spooled or the deadline passes, and is joined.
//
// Latency: each bar carries the time the aggregator handed it on (its close,
// or its amendment); the writer records "bar close -> handed to the sink"
// when it adds the bar to a batch. The sink's own ack_delay histogram is the
// next stage, "handed to the sink -> acknowledged".
//
// Seal on close (live): on_all_closed(s), from the aggregator thread once
// every market has closed every second before s, makes the writer seal the
// sink's open batches as soon as it has taken every bar handed before the
// call, instead of waiting for their age (InfluxSinkConfig::max_batch_age,
// which remains the bound when some market's frontier lags).
//
// Bar visibility (InfluxSink, "Bar visibility"): each first emission of a
// 1 s bar is tracked from its end to InfluxDB's acknowledgement, split by
// market kind: busy when the same market's previous 1 s bar was for the
// second just before (it trades every second, so its bars close on its
// watermark), quiet otherwise (its bars close on the clock). Amendments
// and rollups are not tracked. snapshot().bar_visible[kind].
//
// Observability: the sink's statistics live on the writer thread; every
// 250 ms the writer copies them into a snapshot (try_lock: it never waits
// for a reader), which snapshot() returns to any thread.
//
// Settled bars (for a restart checkpoint): settled_bars(), from any
// thread (an acquire load), is the largest N such that each of the first N
// bars handed to on_bar() is acknowledged by InfluxDB, appended to the spool
// (durable against SIGKILL at once and against power loss within the
// spool's fsync_interval, as DiskSpool promises), dead-lettered, or dropped
// and counted (points_dropped; a refused NaN bar too). It is a prefix count
// in on_bar() order: bar N+1 settled early does not count until 1..N are.
// The writer thread updates it after every pass of its loop (at least every
// 200 ms) and after the final flush. Without InfluxDB (the options-only
// constructor) a bar is settled once the writer took it.
//
// Signals: the writer thread is also where SqueezeFlow signals reach their
// sinks (runtime/signal_dispatch.h). set_signal_input() gives it a second
// ring, an SpscRing<Signal> whose only producer is the aggregator (on_signal()
// pushes and rings the writer's doorbell; a plain try_push works too, and is
// picked up within the idle wake of 200 ms). Each wake drains the signal
// ring first (they are latency-sensitive; bars can wait a batch), then
// lets the dispatch retry Redis. A signal's InfluxDB point goes through
// this writer's sink: same batching, retries and spool as the bars. Signals
// are taken even while the sink pushes back: they are rare, and JSONL and
// Redis must not wait on InfluxDB. At shutdown the writer drains the signal
// ring, flushes the sink, then gives Redis what is left of the deadline (at
// least one attempt). Without InfluxDB (the InfluxWriter(options)
// constructor) the thread runs only the dispatch: JSONL and Redis.
// signal_counters() reads the dispatch's counters from any thread.
//
// Flow statistics: on_flow() (aggregator thread) pushes each FlowRecord
// into a third ring, an SpscRing<FlowRecord> of its own. It never waits:
// when the ring is full the record is dropped and counted (flows_dropped())
// rather than slowing the aggregator, since statistics, unlike bars, can
// be recomputed from the bars. The writer drains it beside the bars, while
// the sink accepts, into measurement flow_<tf> of retention policy
// aggr_<tf> (InfluxSink::add_flow, pipeline/flow_line.h). Without InfluxDB
// records are taken and discarded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/bar_sink.h"
#include "pipeline/latency_histogram.h"
#include "pipeline/line_protocol.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/spsc_ring.h"
#include "ringbuffers/wait_strategy.h"
#include "runtime/shared_histogram.h"
#include "runtime/signal_dispatch.h"
#include "sinks/influx_sink.h"
#include "strategy/signal.h"

namespace tickflow {

struct InfluxWriterOptions {
  std::size_t ring_capacity = 1u << 14;       // bars (power of two)
  std::size_t flow_ring_capacity = 1u << 12;  // FlowRecords (power of two): ~30 minutes of 2 groups' 1 s intervals
  WaitKind wait = WaitKind::kPark;            // blocking I/O lives here: it never needs to spin
};

// What the writer thread last published (see "Observability").
struct InfluxWriterSnapshot {
  InfluxSinkStats stats;
  // Health (InfluxSink's "Health"): steady_clock time of the last successful
  // write (or of nothing pending), the last HTTP status (0: no answer, -1:
  // none yet), why writes fail now (empty: they do not).
  std::chrono::steady_clock::time_point last_progress{};
  long last_status = -1;
  std::string delivery_problem;
  std::uint64_t spool_disk_bytes = 0;
  std::uint64_t spool_max_bytes = 0;
  std::uint64_t points_in_spool = 0;
  std::string spool_dir;
  SpoolStats spool;
  bool has_spool = false;
  std::uint64_t spool_pending_bytes = 0;
  std::uint64_t pending_batches = 0;
  std::uint64_t points_unsaved = 0;
  std::uint64_t bars_taken = 0;
  std::uint64_t flows_taken = 0;
  LatencyHistogram ack_delay;               // handed to the sink -> acknowledged
  LatencyHistogram bar_visible[kBarKinds];  // 1 s bar end -> acknowledged, by BarKind
  std::string last_problem;
};

class InfluxWriter final : public BarSink {
 public:
  InfluxWriter(InfluxSinkConfig config, LineProtocolOptions encoding, const std::vector<std::string>& names,
               InfluxWriterOptions options = {});
  // No InfluxDB: the thread only delivers signals (set_signal_input); bars
  // given to on_bar() are taken and discarded.
  explicit InfluxWriter(InfluxWriterOptions options);
  ~InfluxWriter() override;

  // The second input, before start(): signals from `ring` (one producer,
  // the aggregator) are handed to `dispatch`, which this writer's sink (if
  // any) is attached to. Both must outlive the writer thread.
  void set_signal_input(SpscRing<Signal>* ring, SignalDispatch* dispatch);

  // `on_thread_start` runs first on the new thread (name, pinning).
  void start(std::function<void()> on_thread_start = {});
  void on_bar(const Bar& bar) override;  // aggregator thread
  // Aggregator thread: every market has closed every second before
  // `until_s` (see "Seal on close"). Never waits.
  void on_all_closed(std::int64_t until_s) noexcept;
  // Aggregator thread: pushes `s` into the signal ring and wakes the
  // writer. Never waits: false (counted, signals_ring_full()) when the ring
  // is full, which only a stuck writer thread can cause.
  bool on_signal(const Signal& s) noexcept;
  // Aggregator thread: pushes `record` into the flow ring and wakes the
  // writer. Never waits: a full ring drops the record (flows_dropped()).
  void on_flow(const FlowRecord& record) override;

  // Stops taking bars, drains, flushes until `deadline`; joins the thread.
  // True when every bar was acknowledged (or dead-lettered).
  bool finish(std::chrono::steady_clock::time_point deadline);

  // The sink itself: only once finish() has returned (it lives on the
  // writer thread). Precondition: has_sink().
  const InfluxSink& sink() const noexcept { return *sink_; }
  bool has_sink() const noexcept { return sink_ != nullptr; }
  std::uint64_t bars_handed() const noexcept { return handed_; }
  // See "Settled bars" in the banner. Any thread.
  std::uint64_t settled_bars() const noexcept { return settled_.load(std::memory_order_acquire); }

  // Any thread.
  InfluxWriterSnapshot snapshot() const;
  LatencyHistogram close_to_handed() const { return close_to_handed_.snapshot(); }
  std::size_t depth() const noexcept { return ring_.size_approx(); }
  // The signal dispatch's counters (zeros without set_signal_input), for /metrics.
  SignalDispatchCounters signal_counters() const noexcept;
  std::uint64_t signals_ring_full() const noexcept { return signals_ring_full_.load(std::memory_order_relaxed); }
  std::uint64_t flows_dropped() const noexcept { return flows_dropped_.load(std::memory_order_relaxed); }
  std::size_t flow_depth() const noexcept { return flow_ring_.size_approx(); }

 private:
  struct StampedBar {
    Bar bar;
    std::int64_t handed_ns;  // CLOCK_REALTIME when the aggregator handed it on
  };
  void run() noexcept;
  std::size_t take_signals(std::int64_t now_ns, std::size_t max) noexcept;
  void publish_snapshot(bool wait) noexcept;

  InfluxWriterOptions options_;
  std::unique_ptr<InfluxSink> sink_;  // null without InfluxDB
  BarLineEncoder encoder_;
  const std::vector<std::string>& names_;
  SpscRing<StampedBar> ring_;
  SpscRing<Signal>* signals_ = nullptr;
  SpscRing<FlowRecord> flow_ring_;
  std::uint64_t flows_taken_ = 0;  // writer side
  SignalDispatch* dispatch_ = nullptr;
  std::function<void()> on_thread_start_;
  SharedHistogram close_to_handed_;
  mutable std::mutex snapshot_mutex_;
  InfluxWriterSnapshot snapshot_;
  std::uint64_t taken_ = 0;  // writer side
  Doorbell doorbell_;
  std::thread thread_;
  std::uint64_t handed_ = 0;  // aggregator side
  alignas(128) std::atomic<std::uint64_t> pushed_{0};
  alignas(128) std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> settled_{0};              // writer side: stored with release
  std::atomic<std::uint64_t> signals_ring_full_{0};    // aggregator side
  std::atomic<std::uint64_t> flows_dropped_{0};        // aggregator side
  std::atomic<std::int64_t> all_closed_s_{INT64_MIN};  // aggregator side: on_all_closed()
  std::int64_t sealed_s_ = INT64_MIN;                  // writer side: the last all_closed_s_ acted on
  std::vector<std::int64_t> last_final_s_;             // writer side: newest 1 s final bar per market
  std::chrono::steady_clock::time_point deadline_{};
  bool delivered_all_ = false;
};

}  // namespace tickflow
