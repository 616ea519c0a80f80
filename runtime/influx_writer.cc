#include "runtime/influx_writer.h"

#include <sched.h>

#include <algorithm>

#include "pipeline/wall_clock.h"
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/wait_strategy.h"

namespace tickflow {

InfluxWriter::InfluxWriter(InfluxSinkConfig config, LineProtocolOptions encoding, const std::vector<std::string>& names,
                           InfluxWriterOptions options)
    : options_(options),
      sink_(std::make_unique<InfluxSink>(std::move(config))),
      encoder_(encoding),
      names_(names),
      ring_(options.ring_capacity),
      flow_ring_(options.flow_ring_capacity) {
  publish_snapshot(true);
}

namespace {
const std::vector<std::string> kNoNames;
}  // namespace

InfluxWriter::InfluxWriter(InfluxWriterOptions options)
    : options_(options), names_(kNoNames), ring_(options.ring_capacity), flow_ring_(options.flow_ring_capacity) {
  publish_snapshot(true);
}

void InfluxWriter::set_signal_input(SpscRing<Signal>* ring, SignalDispatch* dispatch) {
  signals_ = ring;
  dispatch_ = dispatch;
  if (dispatch_ != nullptr) dispatch_->attach_influx(sink_.get());
}

bool InfluxWriter::on_signal(const Signal& s) noexcept {
  if (signals_ == nullptr || !signals_->try_push(s)) {
    signals_ring_full_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  doorbell_.notify();
  return true;
}

void InfluxWriter::on_flow(const FlowRecord& record) {
  if (!flow_ring_.try_push(record)) {
    flows_dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  doorbell_.notify();
}

SignalDispatchCounters InfluxWriter::signal_counters() const noexcept {
  return dispatch_ != nullptr ? dispatch_->counters() : SignalDispatchCounters{};
}

InfluxWriter::~InfluxWriter() {
  if (thread_.joinable()) finish(std::chrono::steady_clock::now());
}

void InfluxWriter::start(std::function<void()> on_thread_start) {
  on_thread_start_ = std::move(on_thread_start);
  thread_ = std::thread([this] { run(); });
}

InfluxWriterSnapshot InfluxWriter::snapshot() const {
  const std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

void InfluxWriter::publish_snapshot(bool wait) noexcept {
  std::unique_lock lock(snapshot_mutex_, std::defer_lock);
  if (wait)
    lock.lock();
  else if (!lock.try_lock())
    return;
  snapshot_.bars_taken = taken_;
  snapshot_.flows_taken = flows_taken_;
  if (!sink_) return;
  snapshot_.stats = sink_->stats();
  if (const SpoolStats* spool = sink_->spool_stats()) {
    snapshot_.spool = *spool;
    snapshot_.has_spool = true;
  }
  snapshot_.spool_pending_bytes = sink_->spool_pending_bytes();
  snapshot_.pending_batches = sink_->pending_batches();
  snapshot_.points_unsaved = sink_->points_unsaved();
  snapshot_.ack_delay = sink_->ack_delay();
  for (std::size_t k = 0; k < kBarKinds; ++k) snapshot_.bar_visible[k] = sink_->bar_visible(static_cast<BarKind>(k));
  snapshot_.last_progress = sink_->last_progress();
  snapshot_.last_status = sink_->last_status();
  snapshot_.spool_disk_bytes = sink_->spool_disk_bytes();
  snapshot_.spool_max_bytes = sink_->spool_max_bytes();
  snapshot_.points_in_spool = sink_->points_in_spool();
  try {
    if (snapshot_.last_problem != sink_->last_problem()) snapshot_.last_problem = sink_->last_problem();
    if (snapshot_.delivery_problem != sink_->delivery_problem()) snapshot_.delivery_problem = sink_->delivery_problem();
    if (snapshot_.spool_dir.empty() && sink_->spool_stats() != nullptr) snapshot_.spool_dir = sink_->spool_dir();
  } catch (...) {  // out of memory: keep the old text
  }
}

void InfluxWriter::on_bar(const Bar& bar) {
  const StampedBar stamped{bar, realtime_ns()};
  for (unsigned attempt = 0; !ring_.try_push(stamped); ++attempt) {
    doorbell_.notify();
    if (attempt < 16)
      spin_pause();
    else
      sched_yield();
  }
  ++handed_;
  pushed_.store(handed_, std::memory_order_release);
  doorbell_.notify();
}

void InfluxWriter::on_all_closed(std::int64_t until_s) noexcept {
  // After the bars of those seconds were pushed (release: the writer that
  // sees the value finds them in the ring).
  all_closed_s_.store(until_s, std::memory_order_release);
  doorbell_.notify();
}

bool InfluxWriter::finish(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return delivered_all_;
  deadline_ = deadline;
  stopping_.store(true, std::memory_order_release);
  doorbell_.notify();
  thread_.join();
  return delivered_all_;
}

void InfluxWriter::run() noexcept {
  if (on_thread_start_) on_thread_start_();
  WaitStrategy wait;
  wait.kind = options_.wait;
  std::uint64_t popped = 0;
  std::uint64_t ordinal = 0;  // of the bar being taken: 1, 2, 3, ...
  std::int64_t now_ns = realtime_ns();
  std::int64_t next_snapshot_ns = 0;
  auto take = [&](const StampedBar& stamped) {
    if (!sink_) return;  // no InfluxDB: bars are not this thread's business
    const Bar& bar = stamped.bar;
    if (!encoder_.has_market(bar.market)) encoder_.set_market(bar.market, names_[bar.market]);
    BarKind kind = BarKind::kUntracked;
    if (bar.timeframe_s == 1 && !bar.is_amendment() && !bar.is_provisional()) {
      if (last_final_s_.size() <= bar.market)
        last_final_s_.resize(std::size_t{bar.market} + 1, INT64_MIN);  // new market
      std::int64_t& last = last_final_s_[bar.market];
      kind = last == bar.open_time_s - 1 ? BarKind::kBusy : BarKind::kQuiet;
      last = bar.open_time_s;
    }
    sink_->add_bar(bar, encoder_, ++ordinal, kind);
    close_to_handed_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - stamped.handed_ns)));
  };
  for (;;) {
    std::size_t n = 0;
    now_ns = realtime_ns();
    // Before draining: every bar handed before this value is in the ring.
    const std::int64_t all_closed = all_closed_s_.load(std::memory_order_acquire);
    // Signals first: a trader waits on them, the bars' batch does not.
    const std::size_t signals = take_signals(now_ns, 64);
    std::size_t flows = 0;
    if (!sink_ || sink_->can_accept()) {
      n = ring_.consume(take, 256);
      // After the bars: a record follows the bars of its interval.
      flows = flow_ring_.consume(
          [&](const FlowRecord& r) {
            if (sink_) sink_->add_flow(r);
          },
          256);
      flows_taken_ += flows;
    }
    popped += n;
    taken_ = popped;
    // Seal on close: once the ring holds none of the bars handed before it.
    if (sink_ && all_closed > sealed_s_ && ring_.empty_approx()) {
      sealed_s_ = all_closed;
      sink_->seal_now();
    }
    if (sink_) sink_->poll();
    settled_.store(sink_ ? sink_->settled_bars() : popped, std::memory_order_release);
    if (dispatch_) dispatch_->poll(now_ns);
    if (now_ns >= next_snapshot_ns) {
      publish_snapshot(false);
      close_to_handed_.maybe_publish(now_ns);
      next_snapshot_ns = now_ns + 250'000'000;
    }
    if (n > 0 || signals > 0 || flows > 0) continue;
    // The aggregator pushes no record after it stopped, and every push
    // happened before the stop (release/acquire on stopping_): an empty
    // flow ring here is empty for good.
    if (stopping_.load(std::memory_order_acquire) && popped == pushed_.load(std::memory_order_acquire) &&
        flow_ring_.empty_approx())
      break;
    // Wake for new bars or signals, or every 10 ms for the sink's age-based
    // sealing and the sinks' retries while they hold anything; idle sinks
    // have no timers, so an idle writer wakes 5 times a second (idle CPU
    // budget: < 2 %).
    const bool idle = (!sink_ || sink_->idle()) && (!dispatch_ || dispatch_->idle());
    wait.wait_for(
        [&] {
          return pushed_.load(std::memory_order_acquire) != popped || stopping_.load(std::memory_order_acquire) ||
                 (signals_ != nullptr && !signals_->empty_approx()) || !flow_ring_.empty_approx() ||
                 (sink_ && all_closed_s_.load(std::memory_order_acquire) > sealed_s_ && ring_.empty_approx());
        },
        idle ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10), &doorbell_);
  }
  // The aggregator has stopped: whatever signals it pushed are in the ring.
  while (take_signals(realtime_ns(), 256) > 0) {
  }
  delivered_all_ = sink_ ? sink_->flush(deadline_) : true;
  settled_.store(sink_ ? sink_->settled_bars() : popped, std::memory_order_release);
  if (dispatch_) {
    // What is left of the deadline, in the dispatch's (wall) clock; at
    // least one attempt even when the sink used it all.
    const auto left =
        std::max(std::chrono::steady_clock::duration::zero(), deadline_ - std::chrono::steady_clock::now());
    dispatch_->finish(realtime_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
  }
  publish_snapshot(true);
  close_to_handed_.publish();
}

std::size_t InfluxWriter::take_signals(std::int64_t now_ns, std::size_t max) noexcept {
  if (signals_ == nullptr || dispatch_ == nullptr) return 0;
  return signals_->consume([&](const Signal& s) noexcept { dispatch_->deliver(s, now_ns); }, max);
}

}  // namespace tickflow
