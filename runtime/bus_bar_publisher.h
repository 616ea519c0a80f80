// runtime/bus_bar_publisher.h
//
// BusBarPublisher: the aggregator role's closed bars on the bus (issue 19).
// Every bar the aggregator hands to its output (1 s bars, rollups,
// amendments) and every move of a market's closed frontier (on_closed, which
// a StrategyEngine on another host needs) also go to JetStream:
//
//   tf-agg --on_bar/on_closed--> SpscRing --> tf-bus-bars --> BusPublisher
//                                              encode_bars (bus/wire_codec.h)
//
// Subjects: tickflow.bars.<tf>.<market> (bus/subjects.h) in the bars stream
// ([bus] bars_stream, ensured at start like the events stream). One
// message holds one market's bars of one timeframe since the last flush, in
// the order the aggregator emitted them (amendments included), and the
// market's closed frontier (BarBatch.closed_until_s: every 1 s bar opening
// before it has been published, in this or an earlier message). A flush
// happens whenever the ring is drained: live, that is one message per
// market and second (a bar and the frontier after it). In a catch-up every
// market is flushed as soon as one holds kFlushSeconds 1 s bars, so the
// markets stay as close together on the bus as in the aggregator's output
// (a strategy engine buffers a market's bars until its whole group closed
// them, in a bounded buffer); a series longer than kMaxBarsPerMessage
// (rollups) is cut. A batch cut in several messages
// carries the new frontier only in its last one, so a consumer never sees a
// frontier before the bars below it. Rollup messages carry the market's 1 s
// frontier too.
//
// Nats-Msg-Id: "<market>:<tf>:<first open>:<last open>:<n>:<closed_until>:h<hash>"
// (a 64-bit hash of every bar's fields and flags); a frontier-only message
// is "<market>:<tf>:c:<closed_until>". So an aggregator restarted from its
// checkpoint that re-emits the same bars with the same cut publishes the
// same ids and the stream's duplicate window stores them once. A different
// cut passes; the strategy consumer (runtime/bus_strategy.h) drops final
// bars it already has.
//
// Hot path: on_bar()/on_closed() run on the aggregator thread and only push
// a 128-byte record into the ring and ring a doorbell: nothing there waits
// for NATS. Only a full ring (kRingCapacity records: the publishing thread
// is behind by that many, e.g. NATS down with on_full = "block" and a full
// in-flight window) makes the aggregator wait for room (counted in
// ring_waits); with on_full = "spool" the publisher spools instead of
// waiting, so the ring drains. A publisher whose thread never started (or
// stopped) drops what it is handed (counted in dropped), never blocks.
//
// Threads: start() runs tf-bus-bars, which applies its thread config, makes
// its own NATS connection and ensures the bars stream; a failure is the
// setup's error. stop() (after the aggregator finished) drains the ring and
// waits for the acks until the deadline.
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
#include "pipeline/bar_sink.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/spsc_ring.h"

namespace tickflow {

namespace bus {
class NatsConnection;
class BusPublisher;
struct BusPublisherCounters;
}  // namespace bus

struct BusBarPublisherCounters {
  std::atomic<std::uint64_t> bars{0};        // bars in published messages
  std::atomic<std::uint64_t> messages{0};    // messages handed to the publisher
  std::atomic<std::uint64_t> ring_waits{0};  // aggregator pushes that found the ring full and waited
  std::atomic<std::uint64_t> dropped{0};     // records dropped: the thread is not running
  std::atomic<bool> connected{false};
};

// One ring slot: a bar, or a market's new closed frontier.
struct BusBarRecord {
  Bar bar;              // a frontier: bar.market, and bar.open_time_s = closed_until_s
  std::uint8_t kind{};  // 0: a bar, 1: a closed frontier
};

class BusBarPublisher final : public BarSink {
 public:
  static constexpr std::size_t kRingCapacity = 1u << 14;
  static constexpr std::size_t kMaxBarsPerMessage = 512;
  // A catch-up flushes every market once one holds this many 1 s bars.
  static constexpr std::size_t kFlushSeconds = 16;

  // `names`: market names by id, the aggregator's (Aggregator::names():
  // written before a market's first bar is handed on).
  BusBarPublisher(const PipelineConfig& config, const std::vector<std::string>& names);
  ~BusBarPublisher() override;
  BusBarPublisher(const BusBarPublisher&) = delete;
  BusBarPublisher& operator=(const BusBarPublisher&) = delete;

  // --- the aggregator thread ---
  void on_bar(const Bar& bar) override;
  void on_closed(MarketId market, std::int64_t closed_until_s) override;

  // Starts tf-bus-bars; `setup` gets "" or what failed.
  // `thread`: [threads.bus] (PipelineConfig::bus_threads), its cpu and
  // priority; the thread keeps its name, tf-bus-bars.
  void start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread = {});
  // After the aggregator finished: publishes what is left, then waits for
  // the acks until `deadline`. True when everything was acked (or spooled).
  bool stop(std::chrono::steady_clock::time_point deadline);

  // --- any thread ---
  const BusBarPublisherCounters& counters() const noexcept { return counters_; }
  const bus::BusPublisherCounters* publisher_counters() const noexcept {
    return publisher_counters_.load(std::memory_order_acquire);
  }

 private:
  using Record = BusBarRecord;
  struct Batcher;
  void push(const Record& record) noexcept;
  void run() noexcept;
  std::string setup_connection();

  PipelineConfig config_;
  const std::vector<std::string>& names_;
  SpscRing<Record> ring_;
  Doorbell doorbell_;
  BusBarPublisherCounters counters_;
  std::atomic<const bus::BusPublisherCounters*> publisher_counters_{nullptr};
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> flushed_all_{false};
  std::chrono::steady_clock::time_point deadline_{};
  std::thread thread_;

  // The thread's own.
  std::unique_ptr<bus::NatsConnection> connection_;
  std::unique_ptr<bus::BusPublisher> publisher_;
  std::unique_ptr<Batcher> batcher_;
};

}  // namespace tickflow
