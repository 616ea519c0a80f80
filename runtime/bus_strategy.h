// runtime/bus_strategy.h
//
// BusStrategy: the strategy role's tf-bus-strategy thread (issue 19). A
// durable JetStream pull consumer on the bars stream (1 s bars only:
// tickflow.bars.1s.>, the StrategyEngine's base) feeds the same
// StrategyEngine as the single-host mode, through the same calls: on_bar()
// for every bar, on_closed() for the market's frontier, poll() after each
// message (as the aggregator polls after each batch: the engine buffers
// bars until their whole group closed them, in a bounded buffer). Its decisions go to the same listener
// (SignalPublisher: the writer thread's Redis, JSONL and InfluxDB sinks) and, for every signal taken, to
// tickflow.signals.<symbol> (runtime/bus_signal_publisher.h, inline on this thread and its connection:
// encode_signal, Nats-Msg-Id = the signal's id, which is name-based, so a signal published again is stored once).
//
//   JetStream bars --fetch--> decode_bars --> market by name --> StrategyEngine
//        --poll--> SignalPublisher (sinks)  +  BusSignalPublisher (tickflow.signals.<symbol>)
//
// Per message:
//  * malformed or of another wire version or body: counted (bad_messages)
//    and skipped; a market this process is not configured for: counted
//    (unknown_markets) and skipped; the consumer goes on (AckAll: a later
//    ack covers them);
//  * a final bar whose second this market already had (an aggregator
//    restarted and published it again under a different cut) is dropped
//    (duplicate_bars); amendments always pass (the engine applies them as
//    late bars, as the single-host mode does);
//  * the message's closed frontier goes to on_closed() after its bars.
// Start: the engine steps a group through every second its reporting
// markets have closed, so a market whose first bars came a message later
// than another's would have them applied late. The first step therefore
// waits until every configured market has sent a frontier, or kStartHold
// after the first bars (a configured market that never trades must not
// stop the strategy).
// Acks: after each fetch's bars went to the engine and it was polled, the
// last message is acked (AckAll). The engine's state is not checkpointed:
// a restarted strategy host resumes from the ack floor with a cold engine
// (a new durable name replays the stream's whole max age instead).
//
// Threads: start() applies the thread config, connects, ensures the bars
// and signals streams and the durable consumer (a mismatch fails start-up
// naming the field), then fetches until stop(). The engine and listener
// belong to this thread while it runs.
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
#include "pipeline/market_registry.h"
#include "strategy/strategy_engine.h"

namespace tickflow {

class BusSignalPublisher;

namespace bus {
class NatsConnection;
class BusSubscriber;
struct BusPublisherCounters;
struct BusSubscriberCounters;
}  // namespace bus

struct BusStrategyCounters {
  std::atomic<std::uint64_t> messages{0};          // bar messages applied
  std::atomic<std::uint64_t> bars{0};              // bars handed to the engine
  std::atomic<std::uint64_t> duplicate_bars{0};    // final bars dropped: second already had
  std::atomic<std::uint64_t> bad_messages{0};      // malformed, unknown version or body: skipped
  std::atomic<std::uint64_t> unknown_markets{0};   // messages for a market not configured here: skipped
  std::atomic<std::uint64_t> signals{0};           // signals published to the bus
  std::atomic<std::int64_t> closed_until_s{0};     // newest frontier applied (any market)
  std::atomic<std::uint64_t> late_bars{0};         // the engine's: bars after their second was stepped
  std::atomic<std::uint64_t> buffer_overflows{0};  // the engine's: bars applied early (a market far ahead)
  std::atomic<std::uint64_t> acked_seq{0};         // the last AckAll sent
  std::atomic<bool> connected{false};
};

class BusStrategy {
 public:
  // `registry` holds every configured market; `engine` has its groups and
  // markets; `listener` is the single-host one (SignalPublisher).
  BusStrategy(const PipelineConfig& config, const MarketRegistry& registry, StrategyEngine& engine,
              StrategyListener& listener);
  ~BusStrategy();
  static constexpr std::chrono::seconds kStartHold{10};

  BusStrategy(const BusStrategy&) = delete;
  BusStrategy& operator=(const BusStrategy&) = delete;

  // `thread`: [threads.bus] (PipelineConfig::bus_threads), its cpu and
  // priority; the thread keeps its name, tf-bus-strategy.
  void start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread = {});
  // Stops fetching, then waits for the signals' acks until `deadline`.
  // True when every signal was acked (or spooled).
  bool stop(std::chrono::steady_clock::time_point deadline);

  // --- any thread ---
  const BusStrategyCounters& counters() const noexcept { return counters_; }
  const bus::BusSubscriberCounters* subscriber_counters() const noexcept {
    return subscriber_counters_.load(std::memory_order_acquire);
  }
  // The signals' publisher (null before the thread connected).
  const bus::BusPublisherCounters* publisher_counters() const noexcept {
    return publisher_counters_.load(std::memory_order_acquire);
  }

 private:
  class SignalTee;
  std::string setup_connection();
  void run() noexcept;
  void poll_engine();  // steps the engine; publishes the signals it took

  PipelineConfig config_;
  const MarketRegistry& registry_;
  StrategyEngine& engine_;
  StrategyListener& listener_;
  BusStrategyCounters counters_;
  std::atomic<const bus::BusSubscriberCounters*> subscriber_counters_{nullptr};
  std::atomic<const bus::BusPublisherCounters*> publisher_counters_{nullptr};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> flushed_all_{false};
  std::chrono::steady_clock::time_point deadline_{};
  std::thread thread_;

  // The thread's own.
  std::unique_ptr<bus::NatsConnection> connection_;
  std::unique_ptr<bus::BusSubscriber> subscriber_;
  std::unique_ptr<BusSignalPublisher> signals_;
  std::unique_ptr<SignalTee> tee_;
  std::vector<std::int64_t> next_final_s_;  // by market: the second after its newest final 1 s bar
  std::vector<std::int64_t> closed_s_;
  std::size_t reported_ = 0;                               // markets with a frontier
  std::chrono::steady_clock::time_point first_bars_at_{};  // by market: the frontier given to the engine
};

}  // namespace tickflow
