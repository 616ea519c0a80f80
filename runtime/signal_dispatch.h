// runtime/signal_dispatch.h
//
// SignalDispatch: fans each SqueezeFlow signal out to the configured sinks
// (spec: "Signals"): InfluxDB measurement `signals` (strategy/signal_line.h),
// a JSONL file (strategy/signal_jsonl.h), and Redis in the FreqTrade layout
// (sinks/redis_signal_sink.h).
//
// Why on the writer thread: every sink does I/O, and the aggregator (which
// emits signals) must never wait for I/O. The aggregator pushes Signal
// values (fixed-size, trivially copyable) into an SpscRing<Signal>; the
// writer thread (runtime/influx_writer.h) pops them and calls deliver().
// The InfluxDB point goes through the writer's own InfluxSink, so it gets
// the bars' batching, retries and crash-safe disk spool: a signal emitted
// while the database is down lands when it comes back.
//
// Promises:
//  * deliver() never throws and never waits on a sink beyond one Redis
//    attempt (connect_timeout + command_timeout at most, and only when the
//    Redis backoff allows an attempt); a failing sink is counted and does
//    not stop the others;
//  * Redis gets ttl = signal.ttl_s and created = the signal's timestamp, so
//    a signal that waited out its TTL behind an outage is never sent;
//  * poll() retries what Redis still holds; finish() gives it a bounded
//    last chance at shutdown;
//  * counters() may be called from any thread (relaxed atomics, copied after
//    each call on the writer thread): what /metrics shows.
//
// Redis absent or refusing at start-up: ONE warning line (the sink's own
// problem line, with what happens now: signals queued, retried as they
// come, the other sinks unaffected, the pipeline running on); the same
// failure is not logged again for each signal (the sink logs a problem only
// when it changes). redis_connected() and redis_last_error() tell /health.
//
// Threads: constructed on any thread (opens the JSONL file: throws
// std::runtime_error naming the path if it cannot; with Redis, connects and
// authenticates once, RedisSignalSink::connect_now(), so a wrong password or
// an unreachable server is logged and counted at start: this blocks at most
// connect_timeout plus two command_timeouts, and a failure is not fatal);
// afterwards only the writer thread calls attach_influx/deliver/poll/finish.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/seqlock_slot.h"
#include "sinks/redis_signal_sink.h"
#include "strategy/signal.h"
#include "strategy/signal_jsonl.h"

namespace tickflow {

class InfluxSink;

struct SignalDispatchOptions {
  bool influx = false;                        // needs attach_influx() (InfluxWriter::set_signal_input does it)
  std::filesystem::path jsonl;                // empty: no JSONL file
  std::optional<RedisSinkConfig> redis;       // none: no Redis
  std::function<void(std::string_view)> log;  // problems, one line each; default stderr
};

// Plain copy of the counters, for reports.
struct SignalDispatchCounters {
  std::uint64_t signals = 0;             // deliver() calls
  std::uint64_t influx_points = 0;       // points handed to the InfluxSink
  std::uint64_t influx_refused = 0;      // not encodable (no symbol), or influx on but no sink attached
  std::uint64_t jsonl_lines = 0;         // lines appended to the JSONL file
  std::uint64_t jsonl_errors = 0;        // failed appends
  std::uint64_t redis_accepted = 0;      // queued for Redis
  std::uint64_t redis_delivered = 0;     // transactions Redis answered
  std::uint64_t redis_expired = 0;       // TTL ran out before Redis could take them: never sent
  std::uint64_t redis_dropped_full = 0;  // Redis queue full: not queued
  std::uint64_t redis_retries = 0;       // failed attempts, signal kept queued
  std::uint64_t redis_connect_failures = 0;
  std::uint64_t redis_auth_failures = 0;   // of which: password refused, or wanted and unset
  std::uint64_t redis_command_errors = 0;  // EXEC replied with an error (not retried)
  std::uint64_t redis_pending = 0;         // queued now
  bool redis_connected = false;            // the sink holds a connection (its last attempt worked)
};

class SignalDispatch {
 public:
  explicit SignalDispatch(SignalDispatchOptions options);
  ~SignalDispatch();
  SignalDispatch(const SignalDispatch&) = delete;
  SignalDispatch& operator=(const SignalDispatch&) = delete;

  // The writer's sink, or nullptr (no InfluxDB). Points go to the default
  // retention policy with precision s.
  void attach_influx(InfluxSink* sink) noexcept { influx_ = sink; }

  // Fans `s` out to every enabled sink. `now_ns`: UTC epoch ns.
  void deliver(const Signal& s, std::int64_t now_ns) noexcept;
  // Redis retries (a no-op without Redis or with nothing queued).
  void poll(std::int64_t now_ns) noexcept;
  // Shutdown: retries Redis until its queue is empty or `deadline_ns`
  // (UTC epoch ns) passes. True when nothing is left queued.
  bool finish(std::int64_t deadline_ns) noexcept;

  // Nothing waiting for a retry: the writer may sleep long.
  bool idle() const noexcept { return redis_ == nullptr || redis_->pending() == 0; }

  const SignalDispatchOptions& options() const noexcept { return options_; }
  // Writer thread (or after it is joined).
  const RedisSignalSink* redis() const noexcept { return redis_.get(); }
  const SignalJsonlFile* jsonl() const noexcept { return jsonl_.get(); }

  // Any thread.
  SignalDispatchCounters counters() const noexcept;
  // The Redis sink's latest problem ("" when none since it last delivered,
  // or no Redis), truncated to 255 bytes.
  std::string redis_last_error() const;

 private:
  void copy_redis_counters() noexcept;
  void problem(std::string_view message) noexcept;
  void redis_problem(std::string_view message) noexcept;
  void redis_say(std::string_view message) noexcept;  // to the Redis config's log, else options' (problem())

  struct ProblemText {
    char text[256];
  };

  SignalDispatchOptions options_;
  InfluxSink* influx_ = nullptr;
  std::unique_ptr<SignalJsonlFile> jsonl_;
  std::unique_ptr<RedisSignalSink> redis_;
  std::string line_;  // the InfluxDB point, reused

  struct Atomics {
    std::atomic<std::uint64_t> signals{0}, influx_points{0}, influx_refused{0}, redis_accepted{0}, redis_delivered{0},
        redis_expired{0}, redis_dropped_full{0}, redis_retries{0}, redis_connect_failures{0}, redis_auth_failures{0},
        redis_command_errors{0}, redis_pending{0};
  };
  Atomics counters_;
  std::atomic<bool> redis_connected_{false};
  SeqlockSlot<ProblemText> redis_error_;
  std::function<void(std::string_view)> redis_log_;
  bool redis_starting_ = false;  // inside the constructor's connect: hold the sink's line
  std::string redis_start_line_;
};

}  // namespace tickflow
