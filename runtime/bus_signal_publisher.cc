// runtime/bus_signal_publisher.cc
#include "runtime/bus_signal_publisher.h"

#include <algorithm>
#include <exception>
#include <string_view>

#include "bus/bus_publisher.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/subjects.h"
#include "bus/wire_codec.h"
#include "ringbuffers/wait_strategy.h"
#include "runtime/bus_specs.h"
#include "runtime/thread_affinity.h"

namespace tickflow {

BusSignalPublisher::BusSignalPublisher(const BusConfig& config) : config_(config), ring_(kRingCapacity) {}

BusSignalPublisher::~BusSignalPublisher() {
  if (thread_.joinable()) stop(std::chrono::steady_clock::now());
}

void BusSignalPublisher::open(bus::NatsConnection& connection) {
  bus::ensure_stream(connection, bus_signals_stream(config_));
  bus::BusPublisherConfig publisher;
  publisher.max_in_flight = config_.max_in_flight;
  publisher.on_full = config_.on_full == "spool" ? bus::OnFullWindow::kSpool : bus::OnFullWindow::kBlock;
  // Its own folder: a collector in the same process spools in spool_dir,
  // the bars in spool_dir/bars.
  publisher.spool_dir = config_.spool_dir / "signals";
  publisher_ = std::make_unique<bus::BusPublisher>(connection, publisher);
  connection_ = &connection;
  publisher_counters_.store(&publisher_->counters(), std::memory_order_release);
}

void BusSignalPublisher::publish(const Signal& signal) {
  char id[36];
  format_uuid(signal.signal_id, id);
  bus::encode_signal(signal, bytes_);
  publisher_->publish(bus::signals_subject(signal.symbol), std::string_view(id, sizeof id), bytes_);
  counters_.published.fetch_add(1, std::memory_order_relaxed);
}

void BusSignalPublisher::poll() { publisher_->poll(); }

bool BusSignalPublisher::flush(std::chrono::milliseconds deadline) { return publisher_->flush(deadline); }

bool BusSignalPublisher::offer(const Signal& signal) noexcept {
  if (!running_.load(std::memory_order_acquire) || !ring_.try_push(signal)) [[unlikely]] {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  doorbell_.notify();
  return true;
}

std::string BusSignalPublisher::setup_connection() {
  try {
    own_connection_ = std::make_unique<bus::NatsConnection>(
        bus_connection_config(config_, "tickflow-signals-" + config_.durable), config_.max_in_flight);
    open(*own_connection_);
    counters_.connected.store(own_connection_->connected(), std::memory_order_relaxed);
    return {};
  } catch (const std::exception& e) {
    return std::string("tf-bus-signals: ") + e.what();
  }
}

void BusSignalPublisher::start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread) {
  auto promise = std::make_shared<std::promise<std::string>>();
  setup = promise->get_future();
  ThreadConfig thread_config = thread;
  thread_config.name = "tf-bus-signals";
  // Running before the engine's first signal: the thread's setup takes a
  // moment, and what comes meanwhile waits in the ring.
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this, thread_config, pin, promise] {
    std::string problem = apply_thread_config(thread_config, pin);
    if (problem.empty()) problem = setup_connection();
    if (!problem.empty()) running_.store(false, std::memory_order_release);
    promise->set_value(problem);
    if (problem.empty()) run();
  });
}

void BusSignalPublisher::run() noexcept {
  WaitStrategy wait;
  wait.kind = WaitKind::kPark;
  auto take = [this](const Signal& s) { publish(s); };
  try {
    for (;;) {
      // Read before draining: a stop requested after the producer's last
      // push finds that push in the ring.
      const bool stopping = stop_requested_.load(std::memory_order_acquire);
      const std::size_t taken = ring_.consume(take, 64);
      publisher_->poll();
      counters_.connected.store(own_connection_->connected(), std::memory_order_relaxed);
      if (taken > 0) continue;
      if (stopping) break;
      // The 50 ms wake keeps resends and the spool moving while no signal comes.
      wait.wait_for([this] { return stop_requested_.load(std::memory_order_acquire) || !ring_.empty_approx(); },
                    std::chrono::milliseconds(50), &doorbell_);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    flushed_all_.store(publisher_->flush(std::max(left, std::chrono::milliseconds(0))), std::memory_order_release);
  } catch (const std::exception&) {
    flushed_all_.store(false, std::memory_order_release);
  }
  running_.store(false, std::memory_order_release);
}

bool BusSignalPublisher::stop(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return true;
  deadline_ = deadline;
  stop_requested_.store(true, std::memory_order_release);
  doorbell_.notify();
  thread_.join();
  counters_.connected.store(false, std::memory_order_relaxed);
  return flushed_all_.load(std::memory_order_acquire);
}

}  // namespace tickflow
