// The writer thread's signal path end to end (runtime/signal_dispatch.h,
// runtime/influx_writer.h): signals pushed into a real SpscRing<Signal>,
// taken by a running InfluxWriter and fanned out to a real influxd
// (measurement `signals`, through the writer's InfluxSink), a JSONL file and
// a real redis-server (the FreqTrade layout). Each test reads every sink
// back. The outage tests take one server away while signals flow: InfluxDB
// (the point waits in the sink's disk spool and lands once the server is
// back) and Redis (counted retries, delivered after the restart).
#include "runtime/signal_dispatch.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/wall_clock.h"
#include "ringbuffers/spsc_ring.h"
#include "runtime/influx_writer.h"
#include "strategy/signal.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/redis_process.h"
#include "tests/integration/signal_sink_checks.h"

namespace tickflow {
namespace {

using testing::expect_row_matches;
using testing::file_lines;
using testing::InfluxdProcess;
using testing::query_signals;
using testing::redis_get;
using testing::redis_history;
using testing::RedisProcess;
using testing::Row;
using Clock = std::chrono::steady_clock;

constexpr const char* kDb = "signals_test";

std::filesystem::path temp_dir(const std::string& name) {
  auto dir =
      std::filesystem::path(::testing::TempDir()) / ("tickflow-signals-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Signals a little in the past, so their 600 s TTL is still running (Redis
// discards expired ones) and they stay in the default retention policy.
Signal make_signal(const std::string& symbol, SignalAction action, std::int64_t timestamp_s, int i) {
  Signal s;
  copy_text(s.symbol, symbol);
  copy_text(s.base_symbol, symbol.substr(0, 3));
  s.timestamp_s = timestamp_s;
  s.action = action;
  s.signal_id = signal_uuid(symbol, timestamp_s, action);
  s.score = 6.5 + 0.25 * i;
  s.confidence = 0.75;
  s.position_size_factor = 1.0;
  s.leverage = 3;
  s.entry_price = 60000.5 + i;
  s.ttl_s = 600;
  s.spot_cvd = 1200.5 * (i + 1);
  s.perp_cvd = -300.25 * (i + 1);
  s.divergence = 1500.75 * (i + 1);
  copy_text(s.reasoning, "P2 \"reset\", P3 a\\b #" + std::to_string(i));
  return s;
}

std::int64_t now_s() { return realtime_ns() / 1'000'000'000; }

InfluxSinkConfig influx_config(const InfluxdProcess& influx) {
  InfluxSinkConfig c;
  c.endpoint = influx.endpoint(kDb);
  c.endpoint.connect_timeout = std::chrono::milliseconds(300);
  c.endpoint.request_timeout = std::chrono::milliseconds(2000);
  c.max_batch_age = std::chrono::milliseconds(20);
  c.backoff_initial = std::chrono::milliseconds(20);
  c.backoff_max = std::chrono::milliseconds(200);
  c.log = [](std::string_view) {};
  return c;
}

RedisSinkConfig redis_config(const RedisProcess& redis) {
  RedisSinkConfig c;
  c.port = redis.port();
  c.connect_timeout = std::chrono::milliseconds(300);
  c.command_timeout = std::chrono::milliseconds(1000);
  c.backoff_initial = std::chrono::milliseconds(20);
  c.backoff_max = std::chrono::milliseconds(200);
  c.log = [](std::string_view) {};
  return c;
}

InfluxWriterOptions writer_options() {
  InfluxWriterOptions o;
  o.ring_capacity = 64;
  return o;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

class SignalDispatchTest : public ::testing::Test {
 protected:
  // RedisSignalSink reads REDIS_PASSWORD: a developer's own must not leak
  // into these password-less servers.
  void SetUp() override { ::unsetenv("REDIS_PASSWORD"); }
};

TEST_F(SignalDispatchTest, ThreeSignalsReachInfluxJsonlAndRedis) {
  InfluxdProcess influx;
  RedisProcess redis;
  const auto dir = temp_dir("all");
  const auto jsonl = dir / "out" / "signals.jsonl";

  const std::vector<std::string> names;
  InfluxWriter writer(influx_config(influx), LineProtocolOptions{}, names, writer_options());
  SignalDispatchOptions options;
  options.influx = true;
  options.jsonl = jsonl;
  options.redis = redis_config(redis);
  options.log = [](std::string_view) {};
  SignalDispatch dispatch(options);
  SpscRing<Signal> ring(16);
  writer.set_signal_input(&ring, &dispatch);
  writer.start();

  const std::int64_t t = now_s() - 30;
  const std::vector<Signal> sent = {
      make_signal("BTCUSDT", SignalAction::kLong, t, 0),
      make_signal("ETHUSDT", SignalAction::kShort, t + 1, 1),
      make_signal("BTCUSDT", SignalAction::kClose, t + 2, 2),
  };
  ASSERT_TRUE(writer.on_signal(sent[0]));
  ASSERT_TRUE(writer.on_signal(sent[1]));
  ASSERT_TRUE(ring.try_push(sent[2]));  // a plain push: picked up by the next wake

  // Redis is told while the writer runs, not at shutdown.
  ASSERT_TRUE(wait_for([&] { return writer.signal_counters().redis_delivered == 3; }))
      << writer.signal_counters().redis_delivered;
  ASSERT_TRUE(writer.finish(Clock::now() + std::chrono::seconds(10)));

  const SignalDispatchCounters c = writer.signal_counters();
  EXPECT_EQ(c.signals, 3u);
  EXPECT_EQ(c.influx_points, 3u);
  EXPECT_EQ(c.influx_refused, 0u);
  EXPECT_EQ(c.jsonl_lines, 3u);
  EXPECT_EQ(c.jsonl_errors, 0u);
  EXPECT_EQ(c.redis_accepted, 3u);
  EXPECT_EQ(c.redis_delivered, 3u);
  EXPECT_EQ(c.redis_expired, 0u);
  EXPECT_EQ(c.redis_dropped_full, 0u);
  EXPECT_EQ(c.redis_retries, 0u);
  EXPECT_EQ(c.redis_connect_failures, 0u);
  EXPECT_EQ(c.redis_pending, 0u);
  EXPECT_EQ(writer.signals_ring_full(), 0u);
  EXPECT_EQ(writer.sink().stats().points_written, 3u);

  // InfluxDB: one point per signal, every value exact.
  const std::vector<Row> rows = query_signals(influx, kDb);
  ASSERT_EQ(rows.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) expect_row_matches(rows[i], sent[i]);  // time order = sent order

  // JSONL: the signals' JSON, one per line, in order.
  const auto lines = file_lines(jsonl);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(lines[i], to_json(sent[i]));

  // Redis: the latest signal per symbol, with its TTL, the history and the counter.
  EXPECT_EQ(redis_get(redis, "squeezeflow:signal:BTCUSDT"), to_json(sent[2]));
  EXPECT_EQ(redis_get(redis, "squeezeflow:signal:ETHUSDT"), to_json(sent[1]));
  auto ttl = redis.command({"TTL", "squeezeflow:signal:BTCUSDT"});
  ASSERT_EQ(ttl->type, REDIS_REPLY_INTEGER);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 600 - 30 + 2);  // the remaining lifetime, not a fresh 600 s
  EXPECT_EQ(redis_history(redis, "BTCUSDT"), (std::vector<std::string>{to_json(sent[2]), to_json(sent[0])}));
  EXPECT_EQ(redis_history(redis, "ETHUSDT"), (std::vector<std::string>{to_json(sent[1])}));
  EXPECT_EQ(redis_get(redis, "squeezeflow:stats:signals_published"), "3");
}

TEST_F(SignalDispatchTest, InfluxDownThePointWaitsInTheSpoolAndLandsWhenItIsBack) {
  InfluxdProcess influx;
  influx.stop();  // down before the first write: the schema is not there yet either
  const auto dir = temp_dir("influx-down");
  auto config = influx_config(influx);
  config.spool = SpoolConfig{.dir = dir / "spool"};

  const std::vector<std::string> names;
  InfluxWriter writer(config, LineProtocolOptions{}, names, writer_options());
  SignalDispatchOptions options;
  options.influx = true;
  options.jsonl = dir / "signals.jsonl";
  options.log = [](std::string_view) {};
  SignalDispatch dispatch(options);
  SpscRing<Signal> ring(16);
  writer.set_signal_input(&ring, &dispatch);
  writer.start();

  const Signal s = make_signal("BTCUSDT", SignalAction::kLong, now_s() - 5, 7);
  ASSERT_TRUE(writer.on_signal(s));
  // The other sinks do not wait for InfluxDB.
  ASSERT_TRUE(wait_for([&] { return writer.signal_counters().jsonl_lines == 1; }));
  // Sealed after max_batch_age, refused by the dead server: on disk, retried.
  ASSERT_TRUE(wait_for([&] {
    const auto snap = writer.snapshot();
    return snap.stats.points_spooled >= 1 && snap.stats.retries >= 1 && snap.spool_pending_bytes > 0;
  })) << writer.snapshot().last_problem;
  EXPECT_EQ(writer.snapshot().stats.points_written, 0u);

  influx.start();
  ASSERT_TRUE(wait_for([&] { return writer.snapshot().stats.points_written == 1; })) << writer.snapshot().last_problem;
  ASSERT_TRUE(writer.finish(Clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(writer.signal_counters().influx_points, 1u);
  EXPECT_EQ(writer.sink().spool_pending_bytes(), 0u);

  const std::vector<Row> rows = query_signals(influx, kDb);
  ASSERT_EQ(rows.size(), 1u);
  expect_row_matches(rows[0], s);
}

TEST_F(SignalDispatchTest, RedisDownRetriesAreCountedAndSignalsLandAfterTheRestart) {
  RedisProcess redis;
  const auto dir = temp_dir("redis-down");
  const auto jsonl = dir / "signals.jsonl";

  // No InfluxDB at all: the writer thread runs only the dispatch.
  InfluxWriter writer(writer_options());
  SignalDispatchOptions options;
  options.influx = false;
  options.jsonl = jsonl;
  options.redis = redis_config(redis);
  options.log = [](std::string_view) {};
  SignalDispatch dispatch(options);
  SpscRing<Signal> ring(16);
  writer.set_signal_input(&ring, &dispatch);
  writer.start();
  EXPECT_FALSE(writer.has_sink());

  const std::int64_t t = now_s() - 10;
  const Signal first = make_signal("BTCUSDT", SignalAction::kLong, t, 0);
  ASSERT_TRUE(writer.on_signal(first));
  ASSERT_TRUE(wait_for([&] { return writer.signal_counters().redis_delivered == 1; }));

  // Redis goes away under an open connection: the next transaction fails.
  redis.stop();
  const Signal second = make_signal("BTCUSDT", SignalAction::kShort, t + 1, 1);
  const Signal third = make_signal("BTCUSDT", SignalAction::kClose, t + 2, 2);
  ASSERT_TRUE(writer.on_signal(second));
  ASSERT_TRUE(writer.on_signal(third));
  ASSERT_TRUE(wait_for([&] {
    const auto c = writer.signal_counters();
    return c.redis_retries >= 1 && c.redis_connect_failures >= 1 && c.jsonl_lines == 3;
  })) << writer.signal_counters().redis_retries;
  EXPECT_EQ(writer.signal_counters().redis_pending, 2u);
  EXPECT_EQ(writer.signal_counters().redis_delivered, 1u);

  // Back (empty: it persists nothing): the queue is delivered in order.
  redis.start();
  ASSERT_TRUE(wait_for([&] { return writer.signal_counters().redis_delivered == 3; }))
      << writer.signal_counters().redis_delivered;
  ASSERT_TRUE(writer.finish(Clock::now() + std::chrono::seconds(5)));

  const SignalDispatchCounters c = writer.signal_counters();
  EXPECT_EQ(c.signals, 3u);
  EXPECT_EQ(c.influx_points, 0u);
  EXPECT_EQ(c.influx_refused, 0u);
  EXPECT_EQ(c.redis_accepted, 3u);
  EXPECT_EQ(c.redis_expired, 0u);
  EXPECT_EQ(c.redis_pending, 0u);
  EXPECT_EQ(redis_get(redis, "squeezeflow:signal:BTCUSDT"), to_json(third));
  EXPECT_EQ(redis_history(redis, "BTCUSDT"), (std::vector<std::string>{to_json(third), to_json(second)}));
  EXPECT_EQ(redis_get(redis, "squeezeflow:stats:signals_published"), "2");
  const auto lines = file_lines(jsonl);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], to_json(third));
}

TEST_F(SignalDispatchTest, ShutdownDrainsTheSignalRingAndGivesRedisAFinalAttempt) {
  RedisProcess redis;
  InfluxWriter writer(writer_options());
  SignalDispatchOptions options;
  options.redis = redis_config(redis);
  options.log = [](std::string_view) {};
  SignalDispatch dispatch(options);
  SpscRing<Signal> ring(16);
  writer.set_signal_input(&ring, &dispatch);
  // Pushed before the thread even starts, then finish() at once: the drain
  // at shutdown is what delivers them.
  const std::int64_t t = now_s() - 10;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(ring.try_push(make_signal("ETHUSDT", i % 2 ? SignalAction::kShort : SignalAction::kLong, t + i, i)));
  writer.start();
  writer.finish(Clock::now() + std::chrono::seconds(5));
  EXPECT_EQ(writer.signal_counters().signals, 5u);
  EXPECT_EQ(writer.signal_counters().redis_delivered, 5u);
  EXPECT_EQ(redis_get(redis, "squeezeflow:stats:signals_published"), "5");
}

}  // namespace
}  // namespace tickflow

namespace tickflow {
namespace {

// Redis absent at start-up (tuning/README.md, "The strategy and its
// signals"): one warning saying what happens now, none per signal after it,
// and the state /health reads.
TEST_F(SignalDispatchTest, RedisAbsentAtStartIsOneWarningNotOnePerSignal) {
  std::mutex mutex;
  std::vector<std::string> lines;
  RedisSinkConfig redis;
  redis.port = testing::free_loopback_port();  // nothing listens there
  redis.connect_timeout = std::chrono::milliseconds(300);
  redis.backoff_initial = std::chrono::milliseconds(5);
  redis.backoff_max = std::chrono::milliseconds(10);
  SignalDispatchOptions options;
  options.redis = redis;
  options.log = [&](std::string_view line) {
    std::lock_guard lock(mutex);
    lines.emplace_back(line);
  };
  SignalDispatch dispatch(options);
  const std::string where = "127.0.0.1:" + std::to_string(redis.port);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("redis: cannot connect to " + where + ": Connection refused -- at start-up"),
              std::string::npos)
        << lines[0];
    EXPECT_NE(lines[0].find("queued for Redis (at most 1024, each until its TTL)"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("the pipeline runs on"), std::string::npos) << lines[0];
  }
  EXPECT_FALSE(dispatch.counters().redis_connected);
  EXPECT_EQ(dispatch.redis_last_error(), "redis: cannot connect to " + where + ": Connection refused");

  InfluxWriter writer(writer_options());
  SpscRing<Signal> ring(16);
  writer.set_signal_input(&ring, &dispatch);
  writer.start();
  const std::int64_t t = now_s() - 10;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(writer.on_signal(make_signal("BTCUSDT", SignalAction::kLong, t + i, i)));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // past the backoff: each signal tries again
  }
  ASSERT_TRUE(wait_for([&] { return writer.signal_counters().redis_connect_failures >= 3; }))
      << writer.signal_counters().redis_connect_failures;
  EXPECT_EQ(writer.signal_counters().redis_pending, 3u);
  writer.finish(Clock::now() + std::chrono::milliseconds(100));
  std::lock_guard lock(mutex);
  // The same failure again and again is not news; the one line at shutdown
  // (signals left undelivered) is.
  ASSERT_EQ(lines.size(), 2u) << lines.back();
  EXPECT_NE(lines[1].find("shutdown: 3 signal(s) left undelivered to Redis"), std::string::npos) << lines[1];
}

}  // namespace
}  // namespace tickflow
