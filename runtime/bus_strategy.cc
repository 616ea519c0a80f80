// runtime/bus_strategy.cc
#include "runtime/bus_strategy.h"

#include <algorithm>
#include <exception>

#include "bus/bus_subscriber.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/wire_codec.h"
#include "runtime/bus_signal_publisher.h"
#include "runtime/bus_specs.h"
#include "runtime/thread_affinity.h"

namespace tickflow {

// The single-host listener, plus a copy of every signal it took, for the
// bus (published after the engine's poll, on the same thread).
class BusStrategy::SignalTee final : public StrategyListener {
 public:
  SignalTee(StrategyListener& inner, const StrategyEngine& engine) : inner_(inner), engine_(engine) {
    taken.reserve(64);
  }
  bool on_entry(std::size_t group, const Decision& d) override {
    const bool take = inner_.on_entry(group, d);
    if (take) taken.push_back(engine_.make_signal(group, d));
    return take;
  }
  void on_exit(std::size_t group, const Decision& d) override {
    inner_.on_exit(group, d);
    taken.push_back(engine_.make_signal(group, d));
  }
  void on_evaluation(std::size_t group, const Decision& d) override { inner_.on_evaluation(group, d); }

  std::vector<Signal> taken;

 private:
  StrategyListener& inner_;
  const StrategyEngine& engine_;
};

BusStrategy::BusStrategy(const PipelineConfig& config, const MarketRegistry& registry, StrategyEngine& engine,
                         StrategyListener& listener)
    : config_(config), registry_(registry), engine_(engine), listener_(listener) {}

BusStrategy::~BusStrategy() {
  if (thread_.joinable()) stop(std::chrono::steady_clock::now());
}

std::string BusStrategy::setup_connection() {
  try {
    const BusConfig& bus_config = config_.bus;
    connection_ = std::make_unique<bus::NatsConnection>(
        bus_connection_config(bus_config, "tickflow-strategy-" + bus_config.durable), bus_config.max_in_flight);
    bus::ensure_stream(*connection_, bus_bars_stream(bus_config));
    signals_ = std::make_unique<BusSignalPublisher>(bus_config);
    signals_->open(*connection_);  // ensures the signals stream
    const bus::ConsumerSpec consumer = bus_strategy_consumer(bus_config);
    bus::ensure_consumer(*connection_, consumer);
    subscriber_ = std::make_unique<bus::BusSubscriber>(*connection_, consumer, bus_config.fetch_batch);
    tee_ = std::make_unique<SignalTee>(listener_, engine_);
    subscriber_counters_.store(&subscriber_->counters(), std::memory_order_release);
    publisher_counters_.store(signals_->publisher_counters(), std::memory_order_release);
    counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
    return {};
  } catch (const std::exception& e) {
    return std::string("tf-bus-strategy: ") + e.what();
  }
}

void BusStrategy::start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread) {
  auto promise = std::make_shared<std::promise<std::string>>();
  setup = promise->get_future();
  ThreadConfig thread_config = thread;
  thread_config.name = "tf-bus-strategy";
  thread_ = std::thread([this, thread_config, pin, promise] {
    std::string problem = apply_thread_config(thread_config, pin);
    if (problem.empty()) problem = setup_connection();
    promise->set_value(problem);
    if (problem.empty()) run();
  });
}

void BusStrategy::poll_engine() {
  // The first step waits for every configured market's first frontier
  // (see the header), at most kStartHold after the first bars.
  if (reported_ < registry_.size()) [[unlikely]] {
    const auto now = std::chrono::steady_clock::now();
    if (first_bars_at_ == std::chrono::steady_clock::time_point{}) first_bars_at_ = now;
    if (now - first_bars_at_ < kStartHold) return;
  }
  if (engine_.poll(*tee_) == 0) return;
  counters_.late_bars.store(engine_.late_bars(), std::memory_order_relaxed);
  counters_.buffer_overflows.store(engine_.buffer_overflows(), std::memory_order_relaxed);
  for (const Signal& s : tee_->taken) {
    signals_->publish(s);
    counters_.signals.fetch_add(1, std::memory_order_relaxed);
  }
  tee_->taken.clear();
}

void BusStrategy::run() noexcept {
  bus::BarBatchView view;
  std::uint64_t last_seq = 0;
  std::string name;
  auto on_message = [&](const bus::BusMessage& message) {
    last_seq = message.stream_seq;
    if (bus::decode_bars(message.data, view) != bus::WireError::kNone) {
      counters_.bad_messages.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    name.assign(view.market);
    const auto found = registry_.find(name);
    if (!found) {
      counters_.unknown_markets.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const MarketId market = *found;
    if (market >= next_final_s_.size()) {
      next_final_s_.resize(market + 1, 0);
      closed_s_.resize(market + 1, 0);
    }
    std::uint64_t given = 0, duplicates = 0;
    for (std::size_t i = 0; i < view.size(); ++i) {
      const Bar bar = view.bar(i, market);
      if (bar.timeframe_s != 1) continue;  // the engine's base is 1 s here
      if (!bar.is_amendment()) {
        if (bar.open_time_s < next_final_s_[market]) {
          ++duplicates;
          continue;
        }
        next_final_s_[market] = bar.open_time_s + 1;
      }
      engine_.on_bar(bar);
      ++given;
    }
    if (view.timeframe_s == 1 && view.closed_until_s > closed_s_[market]) {
      if (closed_s_[market] == 0) ++reported_;
      closed_s_[market] = view.closed_until_s;
      engine_.on_closed(market, view.closed_until_s);
      if (view.closed_until_s > counters_.closed_until_s.load(std::memory_order_relaxed))
        counters_.closed_until_s.store(view.closed_until_s, std::memory_order_relaxed);
    }
    counters_.messages.fetch_add(1, std::memory_order_relaxed);
    if (given) counters_.bars.fetch_add(given, std::memory_order_relaxed);
    if (duplicates) counters_.duplicate_bars.fetch_add(duplicates, std::memory_order_relaxed);
    // After every message, as the aggregator polls after every batch: the
    // engine buffers bars until their group closed them, in a bounded
    // buffer, so a whole fetch's bars must not pile up before a step.
    poll_engine();
  };
  auto next_lag = std::chrono::steady_clock::now();
  try {
    while (!stop_requested_.load(std::memory_order_acquire)) {
      const std::size_t n = subscriber_->fetch(std::chrono::milliseconds(100), on_message);
      // The start hold may have ended without a message since.
      if (n == 0 && first_bars_at_ != std::chrono::steady_clock::time_point{}) poll_engine();
      if (n > 0) {
        // Every bar of the fetch went to the engine and its signals to the
        // sinks and the publisher.
        subscriber_->ack_through(last_seq);
        counters_.acked_seq.store(last_seq, std::memory_order_relaxed);
      }
      signals_->poll();
      counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
      if (const auto now = std::chrono::steady_clock::now(); now >= next_lag) {
        next_lag = now + std::chrono::seconds(1);
        try {
          subscriber_->refresh_lag();
        } catch (const std::exception&) {
          // A leader election: the lag is read again next second.
        }
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    flushed_all_.store(signals_->flush(std::max(left, std::chrono::milliseconds(0))), std::memory_order_release);
  } catch (const std::exception&) {
    flushed_all_.store(false, std::memory_order_release);
  }
  counters_.connected.store(false, std::memory_order_relaxed);
}

bool BusStrategy::stop(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return true;
  deadline_ = deadline;
  stop_requested_.store(true, std::memory_order_release);
  thread_.join();
  return flushed_all_.load(std::memory_order_acquire);
}

}  // namespace tickflow
