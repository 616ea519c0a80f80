// runtime/signal_publisher.h
//
// SignalPublisher: the live StrategyListener, on the aggregator thread. It
// turns SqueezeFlow's entries and exits into Signals and hands them to the
// writer thread (InfluxWriter::on_signal: a ring push and a doorbell, never
// a wait), which delivers them to InfluxDB, the JSONL file and Redis.
//
// Portfolio limit: live there is no portfolio, so the publisher keeps the
// spec's "at most max_open_positions open": an entry beyond it is refused
// (the evaluator forgets it) and counted. A group's position opens with its
// LONG/SHORT signal and closes with its CLOSE.
//
// Debug mode: every evaluation of one group goes to a DecisionCsv.
//
// The bus: a process with both the aggregator and the strategy role also
// offers every signal to a BusSignalPublisher (set_bus: its ring and its
// tf-bus-signals thread, runtime/bus_signal_publisher.h), the same signals
// the sinks get; a push, never a wait.
//
// Per group, for /health: evaluations, the wall time of the last one, and
// the last signal (a SeqlockSlot: the aggregator never waits for a reader).
//
// Promises: on_entry/on_exit/on_evaluation never allocate and never lock
// (the CSV writes into stdio's buffer); counters and the per-group state are
// readable from any thread.
// Threads: the aggregator's; counters and group state any.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/seqlock_slot.h"
#include "strategy/decision_csv.h"
#include "strategy/strategy_engine.h"

namespace tickflow {

class BusSignalPublisher;
class InfluxWriter;

struct SignalPublisherCounters {
  std::atomic<std::uint64_t> evaluations{0};
  std::atomic<std::uint64_t> entries{0};
  std::atomic<std::uint64_t> exits{0};
  std::atomic<std::uint64_t> refused{0};       // beyond max_open_positions
  std::atomic<std::uint64_t> ring_full{0};     // the writer's signal ring was full: signal lost
  std::atomic<std::int64_t> last_signal_s{0};  // data time of the newest signal
};

class SignalPublisher final : public StrategyListener {
 public:
  // `writer` may be null (signals counted, not delivered: tests, benches).
  SignalPublisher(const StrategyEngine& engine, InfluxWriter* writer, std::size_t max_open_positions);

  // Debug mode for one group (the CSV outlives the publisher's use).
  void set_debug(DecisionCsv* csv, std::size_t group) noexcept {
    debug_ = csv;
    debug_group_ = group;
  }

  // Every signal also to the bus (null: none), before the aggregator runs.
  void set_bus(BusSignalPublisher* bus) noexcept { bus_ = bus; }

  bool on_entry(std::size_t group, const Decision& d) override;
  void on_exit(std::size_t group, const Decision& d) override;
  void on_evaluation(std::size_t group, const Decision& d) override;

  const SignalPublisherCounters& counters() const noexcept { return counters_; }
  std::size_t open_positions() const noexcept { return open_; }

  // --- any thread: one group's state (group < groups()) ---
  std::size_t groups() const noexcept { return groups_count_; }
  std::uint64_t evaluations(std::size_t group) const noexcept {
    return groups_[group].evaluations.load(std::memory_order_relaxed);
  }
  // Wall clock (epoch ns) of its last evaluation; 0: none yet.
  std::int64_t last_evaluation_ns(std::size_t group) const noexcept {
    return groups_[group].last_evaluation_ns.load(std::memory_order_relaxed);
  }
  // Its last signal (entry or exit) into `out`; false when it has had none.
  bool last_signal(std::size_t group, Signal& out) const noexcept { return groups_[group].last_signal.load(out); }

 private:
  struct GroupState {
    std::atomic<std::uint64_t> evaluations{0};
    std::atomic<std::int64_t> last_evaluation_ns{0};
    SeqlockSlot<Signal> last_signal;
  };

  void publish(std::size_t group, const Decision& d) noexcept;

  const StrategyEngine& engine_;
  InfluxWriter* writer_;
  BusSignalPublisher* bus_ = nullptr;
  std::size_t max_open_;
  std::size_t open_ = 0;
  std::vector<std::uint8_t> in_position_;  // by group
  DecisionCsv* debug_ = nullptr;
  std::size_t debug_group_ = SIZE_MAX;
  SignalPublisherCounters counters_;
  std::size_t groups_count_;
  std::unique_ptr<GroupState[]> groups_;  // by group, made at construction
};

}  // namespace tickflow
