#include "runtime/influx_writer.h"

#include <sched.h>

#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/wait_strategy.h"

namespace tickflow {

InfluxWriter::InfluxWriter(InfluxSinkConfig config, LineProtocolOptions encoding, const std::vector<std::string>& names)
    : sink_(std::make_unique<InfluxSink>(std::move(config))), encoder_(encoding), names_(names) {}

InfluxWriter::~InfluxWriter() {
  if (thread_.joinable()) finish(std::chrono::steady_clock::now());
}

void InfluxWriter::start() {
  thread_ = std::thread([this] { run(); });
}

void InfluxWriter::on_bar(const Bar& bar) {
  for (unsigned attempt = 0; !ring_.try_push(bar); ++attempt) {
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
  WaitStrategy wait;
  wait.kind = WaitKind::kPark;
  std::uint64_t popped = 0;
  auto take = [&](const Bar& bar) {
    if (!encoder_.has_market(bar.market)) encoder_.set_market(bar.market, names_[bar.market]);
    sink_->add_bar(bar, encoder_);
  };
  for (;;) {
    std::size_t n = 0;
    if (sink_->can_accept()) n = ring_.consume(take, 256);
    popped += n;
    sink_->poll();
    if (n > 0) continue;
    if (stopping_.load(std::memory_order_acquire) && popped == pushed_.load(std::memory_order_acquire)) break;
    // Wake for new bars, or every 10 ms for the sink's age-based sealing
    // and its retries.
    wait.wait_for(
        [&] { return pushed_.load(std::memory_order_acquire) != popped || stopping_.load(std::memory_order_acquire); },
        std::chrono::milliseconds(10), &doorbell_);
  }
  delivered_all_ = sink_->flush(deadline_);
}

}  // namespace tickflow
