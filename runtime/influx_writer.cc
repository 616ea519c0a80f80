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
      ring_(options.ring_capacity) {
  publish_snapshot(true);
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
  snapshot_.stats = sink_->stats();
  if (const SpoolStats* spool = sink_->spool_stats()) {
    snapshot_.spool = *spool;
    snapshot_.has_spool = true;
  }
  snapshot_.spool_pending_bytes = sink_->spool_pending_bytes();
  snapshot_.pending_batches = sink_->pending_batches();
  snapshot_.points_unsaved = sink_->points_unsaved();
  snapshot_.bars_taken = taken_;
  snapshot_.ack_delay = sink_->ack_delay();
  if (snapshot_.last_problem != sink_->last_problem()) {
    try {
      snapshot_.last_problem = sink_->last_problem();
    } catch (...) {  // out of memory: keep the old text
    }
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
  std::int64_t now_ns = realtime_ns();
  std::int64_t next_snapshot_ns = 0;
  auto take = [&](const StampedBar& stamped) {
    const Bar& bar = stamped.bar;
    if (!encoder_.has_market(bar.market)) encoder_.set_market(bar.market, names_[bar.market]);
    sink_->add_bar(bar, encoder_);
    close_to_handed_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - stamped.handed_ns)));
  };
  for (;;) {
    std::size_t n = 0;
    now_ns = realtime_ns();
    if (sink_->can_accept()) n = ring_.consume(take, 256);
    popped += n;
    taken_ = popped;
    sink_->poll();
    if (now_ns >= next_snapshot_ns) {
      publish_snapshot(false);
      close_to_handed_.maybe_publish(now_ns);
      next_snapshot_ns = now_ns + 250'000'000;
    }
    if (n > 0) continue;
    if (stopping_.load(std::memory_order_acquire) && popped == pushed_.load(std::memory_order_acquire)) break;
    // Wake for new bars, or every 10 ms for the sink's age-based sealing
    // and its retries while it holds anything; an idle sink has no timers,
    // so an idle writer wakes 5 times a second (idle CPU budget: < 2 %).
    wait.wait_for(
        [&] { return pushed_.load(std::memory_order_acquire) != popped || stopping_.load(std::memory_order_acquire); },
        sink_->idle() ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10), &doorbell_);
  }
  delivered_all_ = sink_->flush(deadline_);
  publish_snapshot(true);
  close_to_handed_.publish();
}

}  // namespace tickflow
