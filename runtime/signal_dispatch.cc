// runtime/signal_dispatch.cc
#include "runtime/signal_dispatch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <thread>

#include "sinks/influx_sink.h"
#include "strategy/signal_line.h"

namespace tickflow {

namespace {
constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::string_view kRedisRecovered = "redis: delivering again";  // RedisSignalSink::poll()
}  // namespace

SignalDispatch::SignalDispatch(SignalDispatchOptions options) : options_(std::move(options)) {
  if (!options_.jsonl.empty()) jsonl_ = std::make_unique<SignalJsonlFile>(options_.jsonl, options_.log);
  if (options_.redis) {
    RedisSinkConfig config = *options_.redis;
    // Every line of the sink goes through redis_problem(): /health keeps
    // the latest, and the start-up one is said once, with its consequences.
    redis_log_ = config.log ? config.log : options_.log;
    config.log = [this](std::string_view line) { redis_problem(line); };
    const std::string where = config.host + ":" + std::to_string(config.port);
    const std::size_t capacity = config.queue_capacity;
    redis_ = std::make_unique<RedisSignalSink>(std::move(config));
    // At start, not at the first signal: a bad password shows at once.
    redis_starting_ = true;
    const bool connected = redis_->connect_now(RedisSignalSink::wall_now_ns());
    redis_starting_ = false;
    if (!connected)
      redis_say((redis_start_line_.empty() ? "redis: cannot connect to " + where : redis_start_line_) +
                " -- at start-up: signals still go to the other sinks, and are queued for Redis (at most " +
                std::to_string(capacity) +
                ", each until its TTL) and retried as they come; the pipeline runs on (this is not logged again "
                "until the problem changes; /health shows strategy.redis)");
    copy_redis_counters();
  }
  line_.reserve(kSignalLineCapacity);
}

SignalDispatch::~SignalDispatch() = default;

void SignalDispatch::deliver(const Signal& s, std::int64_t now_ns) noexcept {
  counters_.signals.fetch_add(1, std::memory_order_relaxed);
  if (options_.influx) {
    line_.clear();
    bool added = false;
    try {
      if (influx_ != nullptr && append_signal_line(line_, s)) {
        influx_->add_line(kSignalRetentionPolicy, kSignalLinePrecision, line_);
        added = true;
      }
    } catch (...) {  // out of memory in the sink: counted as refused below
    }
    if (added) {
      counters_.influx_points.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_.influx_refused.fetch_add(1, std::memory_order_relaxed);
      problem(influx_ == nullptr ? "signal not written to InfluxDB: no InfluxDB sink attached"
                                 : "signal not written to InfluxDB: it has no symbol");
    }
  }
  if (jsonl_) jsonl_->write(s);  // counts and reports its own failures
  if (redis_) {
    try {
      const std::int64_t ttl = s.ttl_s < 1 ? 1 : s.ttl_s;
      const int ttl_s = ttl > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max() : static_cast<int>(ttl);
      redis_->publish(s.symbol, to_json(s), ttl_s, s.timestamp_s * kNsPerSecond);
      // Right away, not at the next wake: a signal is latency-sensitive.
      redis_->poll(now_ns);
    } catch (...) {  // out of memory building the queue entry
      problem("signal not queued for Redis: out of memory");
    }
    copy_redis_counters();
  }
}

void SignalDispatch::poll(std::int64_t now_ns) noexcept {
  if (!redis_ || redis_->pending() == 0) return;
  try {
    redis_->poll(now_ns);
  } catch (...) {
  }
  copy_redis_counters();
}

bool SignalDispatch::finish(std::int64_t deadline_ns) noexcept {
  if (!redis_) return true;
  for (;;) {
    const std::int64_t now = RedisSignalSink::wall_now_ns();
    try {
      redis_->poll(now);
    } catch (...) {
    }
    copy_redis_counters();
    if (redis_->pending() == 0) return true;
    if (now >= deadline_ns) break;
    // The sink backs off between attempts; 10 ms steps keep to its schedule.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  try {
    problem("shutdown: " + std::to_string(redis_->pending()) + " signal(s) left undelivered to Redis");
  } catch (...) {
  }
  return false;
}

SignalDispatchCounters SignalDispatch::counters() const noexcept {
  const auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  SignalDispatchCounters c;
  c.signals = get(counters_.signals);
  c.influx_points = get(counters_.influx_points);
  c.influx_refused = get(counters_.influx_refused);
  if (jsonl_) {
    c.jsonl_lines = jsonl_->lines();
    c.jsonl_errors = jsonl_->errors();
  }
  c.redis_accepted = get(counters_.redis_accepted);
  c.redis_delivered = get(counters_.redis_delivered);
  c.redis_expired = get(counters_.redis_expired);
  c.redis_dropped_full = get(counters_.redis_dropped_full);
  c.redis_retries = get(counters_.redis_retries);
  c.redis_connect_failures = get(counters_.redis_connect_failures);
  c.redis_auth_failures = get(counters_.redis_auth_failures);
  c.redis_command_errors = get(counters_.redis_command_errors);
  c.redis_pending = get(counters_.redis_pending);
  c.redis_connected = redis_connected_.load(std::memory_order_relaxed);
  return c;
}

void SignalDispatch::copy_redis_counters() noexcept {
  const RedisSinkCounters& r = redis_->counters();
  const auto set = [](std::atomic<std::uint64_t>& a, std::uint64_t v) { a.store(v, std::memory_order_relaxed); };
  set(counters_.redis_accepted, r.accepted);
  set(counters_.redis_delivered, r.delivered);
  set(counters_.redis_expired, r.expired);
  set(counters_.redis_dropped_full, r.dropped_full);
  set(counters_.redis_retries, r.retries);
  set(counters_.redis_connect_failures, r.connect_failures);
  set(counters_.redis_auth_failures, r.auth_failures);
  set(counters_.redis_command_errors, r.command_errors);
  set(counters_.redis_pending, redis_->pending());
  redis_connected_.store(redis_->connected(), std::memory_order_relaxed);
}

void SignalDispatch::redis_problem(std::string_view message) noexcept {
  // The sink's recovery line ends the problem: /health's last_error is null again.
  ProblemText t{};
  if (message != kRedisRecovered) {
    const std::size_t n = std::min(message.size(), sizeof t.text - 1);
    std::memcpy(t.text, message.data(), n);
    t.text[n] = '\0';
  }
  redis_error_.store(t);
  if (redis_starting_) {
    try {
      redis_start_line_.assign(message);
    } catch (...) {
    }
    return;
  }
  redis_say(message);
}

void SignalDispatch::redis_say(std::string_view message) noexcept {
  if (!redis_log_) return problem(message);
  try {
    redis_log_(message);
  } catch (...) {
  }
}

std::string SignalDispatch::redis_last_error() const {
  ProblemText t{};
  if (!redis_error_.load(t)) return {};
  return t.text;
}

void SignalDispatch::problem(std::string_view message) noexcept {
  try {
    if (options_.log)
      options_.log(message);
    else
      std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  } catch (...) {
  }
}

}  // namespace tickflow
