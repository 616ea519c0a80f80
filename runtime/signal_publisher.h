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
// Promises: on_entry/on_exit/on_evaluation never allocate (the CSV writes
// into stdio's buffer); counters are readable from any thread (relaxed).
// Threads: the aggregator's; counters any.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "strategy/decision_csv.h"
#include "strategy/strategy_engine.h"

namespace tickflow {

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

  bool on_entry(std::size_t group, const Decision& d) override;
  void on_exit(std::size_t group, const Decision& d) override;
  void on_evaluation(std::size_t group, const Decision& d) override;

  const SignalPublisherCounters& counters() const noexcept { return counters_; }
  std::size_t open_positions() const noexcept { return open_; }

 private:
  void publish(std::size_t group, const Decision& d) noexcept;

  const StrategyEngine& engine_;
  InfluxWriter* writer_;
  std::size_t max_open_;
  std::size_t open_ = 0;
  std::vector<std::uint8_t> in_position_;  // by group
  DecisionCsv* debug_ = nullptr;
  std::size_t debug_group_ = SIZE_MAX;
  SignalPublisherCounters counters_;
};

}  // namespace tickflow
