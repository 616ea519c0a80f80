// runtime/bus_signal_publisher.h
//
// BusSignalPublisher: the strategy role's signals on the bus (issue 19).
// Every signal a strategy took goes to tickflow.signals.<symbol> in the
// signals stream ([bus] signals_stream, ensured when it opens), encoded by
// bus/wire_codec.h's encode_signal, under Nats-Msg-Id = the signal's id (a
// name-based UUID of symbol, time and action: a signal published again, by
// a restarted or a second strategy host, is stored once).
//
// One piece, two ways to drive it, the same publishing:
//  * inline, on a thread that already has a NATS connection: the strategy
//    host's tf-bus-strategy (runtime/bus_strategy.h) calls open(connection)
//    and then publish()/poll()/flush() itself; a full in-flight window
//    blocks or spools there (on_full), which only delays its next fetch;
//  * threaded, fed by another thread: a process with both the aggregator
//    and the strategy role runs the StrategyEngine on the aggregator thread
//    (single-host path), whose SignalPublisher calls offer() for every
//    signal it hands to the sinks:
//
//      tf-agg --SignalPublisher::publish--> offer(): SpscRing<Signal> + doorbell
//             --> tf-bus-signals --> encode_signal --> BusPublisher
//
//    offer() never waits for NATS: it pushes into the ring and rings the
//    doorbell. A full ring (kRingCapacity signals not yet handed to NATS,
//    e.g. NATS down with on_full = "block" and a full window: days of
//    signals at their usual rate) or a thread that is not running drops the
//    signal, counted in `dropped` (the other sinks still have it).
//
// Threads: start() runs tf-bus-signals, which applies its thread config,
// makes its own NATS connection (after pinning: libnats's threads inherit
// its affinity) and opens; a failure is the setup's error. stop() (after
// the producer finished) publishes what is left in the ring and waits for
// the acks until the deadline. In the inline mode every call but the
// counters' belongs to the caller's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/pipeline_config.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/spsc_ring.h"
#include "strategy/signal.h"

namespace tickflow {

namespace bus {
class NatsConnection;
class BusPublisher;
struct BusPublisherCounters;
}  // namespace bus

struct BusSignalPublisherCounters {
  std::atomic<std::uint64_t> published{0};  // signals handed to the BusPublisher
  std::atomic<std::uint64_t> dropped{0};    // offer(): ring full, or the thread not running
  std::atomic<bool> connected{false};       // threaded mode: its connection is up
};

class BusSignalPublisher {
 public:
  static constexpr std::size_t kRingCapacity = 1024;

  explicit BusSignalPublisher(const BusConfig& config);
  ~BusSignalPublisher();
  BusSignalPublisher(const BusSignalPublisher&) = delete;
  BusSignalPublisher& operator=(const BusSignalPublisher&) = delete;

  // --- inline: the caller's thread, which owns `connection` ---
  // Ensures the signals stream (a mismatch throws bus::BusError naming the
  // field) and makes the publisher.
  void open(bus::NatsConnection& connection);
  // Encodes `signal` and publishes it (may block or spool on a full window).
  void publish(const Signal& signal);
  // Resends failed publishes, drains the spool.
  void poll();
  // Waits for every ack until `deadline`; true when all were acked (or spooled).
  bool flush(std::chrono::milliseconds deadline);

  // --- threaded ---
  // Starts tf-bus-signals; `setup` gets "" or what failed.
  // `thread`: [threads.bus] (PipelineConfig::bus_threads), its cpu and
  // priority; the thread keeps its name, tf-bus-signals.
  void start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread = {});
  // The one producer thread (the aggregator's SignalPublisher): a ring push
  // and a doorbell, never a wait. False (counted in dropped) when the ring
  // is full or the thread does not run.
  bool offer(const Signal& signal) noexcept;
  // After the producer finished: publishes what is left in the ring, then
  // waits for the acks until `deadline`. True when everything was acked
  // (or spooled).
  bool stop(std::chrono::steady_clock::time_point deadline);

  // --- any thread ---
  const BusSignalPublisherCounters& counters() const noexcept { return counters_; }
  const bus::BusPublisherCounters* publisher_counters() const noexcept {
    return publisher_counters_.load(std::memory_order_acquire);
  }

 private:
  std::string setup_connection();
  void run() noexcept;

  BusConfig config_;
  SpscRing<Signal> ring_;
  Doorbell doorbell_;
  BusSignalPublisherCounters counters_;
  std::atomic<const bus::BusPublisherCounters*> publisher_counters_{nullptr};
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> flushed_all_{false};
  std::chrono::steady_clock::time_point deadline_{};
  std::thread thread_;

  // The publishing thread's own.
  std::unique_ptr<bus::NatsConnection> own_connection_;  // threaded mode only
  bus::NatsConnection* connection_ = nullptr;
  std::unique_ptr<bus::BusPublisher> publisher_;
  std::vector<std::uint8_t> bytes_;
};

}  // namespace tickflow
