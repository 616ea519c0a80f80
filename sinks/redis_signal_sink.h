// sinks/redis_signal_sink.h
//
// RedisSignalSink: delivers SqueezeFlow signals to Redis in the layout the
// existing FreqTrade strategy reads (spec: "Signals", Redis sink). Each signal
// is ONE MULTI/EXEC transaction, pipelined in a single round trip:
//
//   SETEX   <prefix>:signal:<SYMBOL> <ttl> <json>   latest signal, expires with it
//   PUBLISH <prefix>:signals <json>                 live subscribers
//   LPUSH   <prefix>:history:<SYMBOL> <json>        newest first ...
//   LTRIM   <prefix>:history:<SYMBOL> 0 99          ... capped at 100 entries
//   INCR    <prefix>:stats:signals_published
//
// MULTI/EXEC so a consumer never sees the key without the history entry (or
// the counter ahead of the data); <prefix> is "squeezeflow" by default.
//
// Why a queue: the strategy must never wait on Redis. publish() only
// enqueues (bounded: a full queue refuses and counts `dropped_full`); poll()
// delivers in order. While Redis is down the signals stay queued, the sink
// reconnects with exponential backoff (jittered, capped) and retries the
// head of the queue, so order is kept across outages.
//
// TTL: a signal is worthless after created + ttl, so one that has expired
// before delivery is discarded and counted `expired` (never sent). SETEX gets
// the remaining lifetime, rounded up to whole seconds, so a late delivery
// does not outlive the signal.
//
// At-least-once: if the connection breaks after EXEC was written but before
// its reply arrived, the transaction may have been applied; the signal is
// retried, so a consumer can see it twice (signal_id identifies it).
// A reply of errors inside EXEC (e.g. WRONGTYPE on a foreign key) is not
// retried, since the other commands did apply: it is counted
// `command_errors` and logged.
//
// Credentials: the password comes only from the environment variable
// REDIS_PASSWORD (read once, at construction); it is never part of the
// config, never logged, never in a counter or a message (hiredis sends it as
// one AUTH argument; the server's refusal names no secret).
//
// Connecting: connect_now() connects, AUTHs and names the connection
// (CLIENT SETNAME tickflow-signals) at once; the live pipeline calls it at
// start (through SignalDispatch), so a wrong or missing password or an
// unreachable server is logged and counted then, not at the first signal
// hours later. Either way poll() connects when it has something to send and
// no connection. An AUTH refusal (WRONGPASS, or NOAUTH when REDIS_PASSWORD
// is unset but the server wants one) is counted in `auth_failures` (and
// `connect_failures`), logged once with a hint at REDIS_PASSWORD, and
// retried on the backoff schedule like any failed connect: the process
// keeps running and queueing. A connection kept idle between signals is
// watched by TCP keepalive; one the server closed for idleness (its
// `timeout`) is found broken by the next transaction, which is retried after
// the first backoff step.
//
// Time: created_ns and poll()'s now_ns are UTC epoch nanoseconds
// (wall_now_ns()); the backoff schedule uses the same clock, which lets tests
// drive it deterministically.
//
// Thread safety: none. One thread (the signal writer) owns a sink and makes
// every call, publish() and poll() included. SIGPIPE from a dead connection
// is blocked and consumed on that thread only, never process-wide.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <string_view>

struct redisContext;  // hiredis; kept out of this header

namespace tickflow {

struct RedisSinkConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds command_timeout{1000};  // one transaction's round trip
  std::size_t queue_capacity = 1024;                // signals held while Redis is away
  std::string key_prefix = "squeezeflow";
  int history_length = 100;  // LTRIM keeps this many entries
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::function<void(std::string_view)> log;  // one line per event worth a human's attention; default stderr
};

struct RedisSinkCounters {
  std::uint64_t accepted = 0;          // publish() returned true
  std::uint64_t dropped_full = 0;      // publish() returned false: queue full
  std::uint64_t delivered = 0;         // EXEC answered
  std::uint64_t expired = 0;           // TTL ran out before delivery: never sent
  std::uint64_t connect_failures = 0;  // failed connect (or AUTH) attempts
  std::uint64_t auth_failures = 0;     // ... of which the server refused the password (or wanted one)
  std::uint64_t retries = 0;           // transactions that failed and stay queued
  std::uint64_t command_errors = 0;    // EXEC replies holding an error (not retried)
};

class RedisSignalSink {
 public:
  // Does not connect (connect_now() or the first poll() does), so
  // constructing never blocks.
  explicit RedisSignalSink(RedisSinkConfig config);
  ~RedisSignalSink();
  RedisSignalSink(const RedisSignalSink&) = delete;
  RedisSignalSink& operator=(const RedisSignalSink&) = delete;

  // Queues one signal. `json` is its encoding (tickflow::to_json), `ttl_s`
  // its lifetime (> 0), `created_ns` when it was emitted (epoch ns). False
  // when the queue is full (counted `dropped_full`) or ttl_s <= 0.
  bool publish(std::string_view symbol, std::string json, int ttl_s, std::int64_t created_ns);

  // Discards expired signals, then delivers the queue in order until it is
  // empty or a transaction fails (then backs off). Blocks at most for one
  // connect_timeout plus one command_timeout per signal sent.
  void poll(std::int64_t now_ns);
  void poll() { poll(wall_now_ns()); }

  // Connects and authenticates now, unless already connected or the backoff
  // (after a failure) says not yet; a failure is logged, counted and starts
  // the backoff, as in poll(). Blocks at most connect_timeout plus two
  // command_timeouts. True when connected.
  bool connect_now(std::int64_t now_ns);

  std::size_t pending() const noexcept { return queue_.size(); }
  bool connected() const noexcept { return ctx_ != nullptr; }
  const RedisSinkCounters& counters() const noexcept { return counters_; }
  const std::string& last_problem() const noexcept { return last_problem_; }

  static std::int64_t wall_now_ns() noexcept;

 private:
  struct Pending {
    std::string symbol;
    std::string json;
    int ttl_s = 0;
    std::int64_t created_ns = 0;
    std::int64_t expires_ns() const noexcept { return created_ns + std::int64_t{ttl_s} * 1'000'000'000; }
  };
  enum class Outcome { kDone, kRetry };

  bool connect();
  void disconnect();
  Outcome send(const Pending& p, std::int64_t now_ns);
  void back_off(std::int64_t now_ns);
  void problem(std::string message);

  RedisSinkConfig config_;
  std::string password_;  // from REDIS_PASSWORD; never logged
  redisContext* ctx_ = nullptr;
  std::deque<Pending> queue_;
  std::int64_t next_attempt_ns_ = 0;
  std::chrono::milliseconds current_backoff_{0};
  std::minstd_rand jitter_{12345};
  std::string last_problem_;
  std::string reported_problem_;  // not logged again until it changes
  RedisSinkCounters counters_;
};

}  // namespace tickflow
