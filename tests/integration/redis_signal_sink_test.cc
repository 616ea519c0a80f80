// RedisSignalSink against a real redis-server (redis_process.h, loopback
// only): the FreqTrade layout (keys, TTLs, channel, history, counter), the
// history cap, an outage in the middle of a stream, a full queue while down,
// and a TTL running out while down. Counts are exact: each test reads the
// server back. The sink's clock (poll's now_ns) is driven by the tests
// where the backoff schedule matters, so the counters cannot depend on
// the machine's speed.
#include "sinks/redis_signal_sink.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "strategy/signal.h"
#include "tests/integration/redis_process.h"

namespace tickflow {
namespace {

using testing::RedisProcess;
using testing::RedisReplyPtr;

constexpr std::int64_t kSecond = 1'000'000'000;

// A real signal's JSON: the bytes the strategy would hand the sink.
std::string signal_json(const std::string& symbol, int i, int ttl_s) {
  Signal s;
  copy_text(s.symbol, symbol);
  copy_text(s.base_symbol, symbol.substr(0, 3));
  s.timestamp_s = 1'723'161'600 + i * 60;
  s.action = i % 2 == 0 ? SignalAction::kLong : SignalAction::kShort;
  s.signal_id = signal_uuid(symbol, s.timestamp_s, s.action);
  s.score = 6.5 + 0.25 * (i % 8);
  s.confidence = 0.8;
  s.entry_price = 60000.5 + i;
  s.ttl_s = ttl_s;
  copy_text(s.reasoning, "test signal " + std::to_string(i));
  return to_json(s);
}

RedisSinkConfig config_for(const RedisProcess& redis) {
  RedisSinkConfig c;
  c.host = "127.0.0.1";
  c.port = redis.port();
  c.connect_timeout = std::chrono::milliseconds(500);
  c.command_timeout = std::chrono::milliseconds(2000);
  c.backoff_initial = std::chrono::milliseconds(20);
  c.backoff_max = std::chrono::milliseconds(200);
  c.log = [](std::string_view) {};
  return c;
}

std::string get_string(const RedisProcess& redis, const std::string& key) {
  auto r = redis.command({"GET", key});
  return r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string("<not a string>");
}

long long get_integer(const RedisProcess& redis, std::initializer_list<std::string> args) {
  auto r = redis.command(args);
  return r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
}

std::vector<std::string> history(const RedisProcess& redis, const std::string& symbol) {
  auto r = redis.command({"LRANGE", "squeezeflow:history:" + symbol, "0", "-1"});
  std::vector<std::string> out;
  if (r->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < r->elements; ++i) out.emplace_back(r->element[i]->str, r->element[i]->len);
  return out;
}

std::string published_count(const RedisProcess& redis) {
  return get_string(redis, "squeezeflow:stats:signals_published");
}

class RedisSignalSinkTest : public ::testing::Test {
 protected:
  // The sink reads its password from the environment: a developer's own
  // REDIS_PASSWORD must not leak into these password-less servers.
  void SetUp() override { ::unsetenv("REDIS_PASSWORD"); }
};

TEST_F(RedisSignalSinkTest, WritesKeysChannelHistoryAndCounterInTheFreqTradeLayout) {
  RedisProcess redis;
  auto subscriber = redis.connect();
  {
    RedisReplyPtr r = testing::redis_command(subscriber.get(), {"SUBSCRIBE", "squeezeflow:signals"});
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(r->elements, 3u);
    EXPECT_EQ(r->element[2]->integer, 1);
  }

  RedisSignalSink sink(config_for(redis));
  const std::vector<std::pair<std::string, std::string>> sent = {
      {"BTCUSDT", signal_json("BTCUSDT", 0, 600)},
      {"ETHUSDT", signal_json("ETHUSDT", 1, 300)},
      {"BTCUSDT", signal_json("BTCUSDT", 2, 600)},
  };
  const std::int64_t now = RedisSignalSink::wall_now_ns();
  ASSERT_TRUE(sink.publish(sent[0].first, sent[0].second, 600, now));
  ASSERT_TRUE(sink.publish(sent[1].first, sent[1].second, 300, now));
  ASSERT_TRUE(sink.publish(sent[2].first, sent[2].second, 600, now));
  EXPECT_EQ(sink.pending(), 3u);
  sink.poll();

  const auto& c = sink.counters();
  EXPECT_EQ(sink.pending(), 0u);
  EXPECT_EQ(c.accepted, 3u);
  EXPECT_EQ(c.delivered, 3u);
  EXPECT_EQ(c.expired, 0u);
  EXPECT_EQ(c.dropped_full, 0u);
  EXPECT_EQ(c.connect_failures, 0u);
  EXPECT_EQ(c.retries, 0u);
  EXPECT_EQ(c.command_errors, 0u);
  EXPECT_TRUE(sink.connected());

  // The latest signal per symbol, expiring with it.
  EXPECT_EQ(get_string(redis, "squeezeflow:signal:BTCUSDT"), sent[2].second);
  EXPECT_EQ(get_string(redis, "squeezeflow:signal:ETHUSDT"), sent[1].second);
  const long long ttl_btc = get_integer(redis, {"TTL", "squeezeflow:signal:BTCUSDT"});
  const long long ttl_eth = get_integer(redis, {"TTL", "squeezeflow:signal:ETHUSDT"});
  EXPECT_GE(ttl_btc, 598);
  EXPECT_LE(ttl_btc, 600);
  EXPECT_GE(ttl_eth, 298);
  EXPECT_LE(ttl_eth, 300);

  // Exactly the three messages, in publish order.
  for (const auto& [symbol, json] : sent) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(subscriber.get(), &raw), REDIS_OK) << subscriber->errstr;
    RedisReplyPtr m(static_cast<redisReply*>(raw));
    ASSERT_EQ(m->type, REDIS_REPLY_ARRAY);
    ASSERT_EQ(m->elements, 3u);
    EXPECT_EQ(std::string(m->element[0]->str, m->element[0]->len), "message");
    EXPECT_EQ(std::string(m->element[1]->str, m->element[1]->len), "squeezeflow:signals");
    EXPECT_EQ(std::string(m->element[2]->str, m->element[2]->len), json) << symbol;
  }
  {
    const timeval short_wait{0, 300'000};
    redisSetTimeout(subscriber.get(), short_wait);
    void* raw = nullptr;
    EXPECT_EQ(redisGetReply(subscriber.get(), &raw), REDIS_ERR) << "a fourth message arrived";
    RedisReplyPtr extra(static_cast<redisReply*>(raw));
  }

  // History: newest first.
  EXPECT_EQ(history(redis, "BTCUSDT"), (std::vector<std::string>{sent[2].second, sent[0].second}));
  EXPECT_EQ(history(redis, "ETHUSDT"), (std::vector<std::string>{sent[1].second}));
  EXPECT_EQ(published_count(redis), "3");
}

TEST_F(RedisSignalSinkTest, TrimsHistoryTo100Entries) {
  RedisProcess redis;
  RedisSignalSink sink(config_for(redis));
  std::vector<std::string> sent;
  const std::int64_t now = RedisSignalSink::wall_now_ns();
  for (int i = 0; i < 120; ++i) {
    sent.push_back(signal_json("SOLUSDT", i, 600));
    ASSERT_TRUE(sink.publish("SOLUSDT", sent.back(), 600, now));
  }
  sink.poll();
  EXPECT_EQ(sink.counters().delivered, 120u);
  EXPECT_EQ(sink.pending(), 0u);
  EXPECT_EQ(get_integer(redis, {"LLEN", "squeezeflow:history:SOLUSDT"}), 100);
  const auto h = history(redis, "SOLUSDT");
  ASSERT_EQ(h.size(), 100u);
  for (int k = 0; k < 100; ++k) EXPECT_EQ(h[static_cast<std::size_t>(k)], sent[static_cast<std::size_t>(119 - k)]);
  EXPECT_EQ(get_string(redis, "squeezeflow:signal:SOLUSDT"), sent[119]);
  EXPECT_EQ(published_count(redis), "120");
}

TEST_F(RedisSignalSinkTest, KeepsSignalsThroughAnOutageAndDeliversThemInOrder) {
  RedisProcess redis;
  RedisSignalSink sink(config_for(redis));
  const std::int64_t t0 = RedisSignalSink::wall_now_ns();
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i) sent.push_back(signal_json("BTCUSDT", i, 600));

  ASSERT_TRUE(sink.publish("BTCUSDT", sent[0], 600, t0));
  ASSERT_TRUE(sink.publish("BTCUSDT", sent[1], 600, t0));
  sink.poll(t0);
  ASSERT_EQ(sink.counters().delivered, 2u);

  redis.stop();
  for (int i = 2; i < 5; ++i) ASSERT_TRUE(sink.publish("BTCUSDT", sent[static_cast<std::size_t>(i)], 600, t0));

  // The open connection is dead: one failed transaction, kept for a retry.
  sink.poll(t0 + 1 * kSecond);
  EXPECT_EQ(sink.counters().retries, 1u);
  EXPECT_EQ(sink.counters().connect_failures, 0u);
  EXPECT_EQ(sink.counters().delivered, 2u);
  EXPECT_EQ(sink.pending(), 3u);
  EXPECT_FALSE(sink.connected());

  // Within the backoff: no attempt at all.
  sink.poll(t0 + 1 * kSecond + 1'000'000);
  EXPECT_EQ(sink.counters().connect_failures, 0u);

  // Past it: one refused connect each.
  sink.poll(t0 + 10 * kSecond);
  EXPECT_EQ(sink.counters().connect_failures, 1u);
  sink.poll(t0 + 20 * kSecond);
  EXPECT_EQ(sink.counters().connect_failures, 2u);
  EXPECT_EQ(sink.pending(), 3u);

  redis.start();  // same port, empty (nothing is persisted)
  sink.poll(t0 + 30 * kSecond);
  const auto& c = sink.counters();
  EXPECT_EQ(sink.pending(), 0u);
  EXPECT_EQ(c.accepted, 5u);
  EXPECT_EQ(c.delivered, 5u);
  EXPECT_EQ(c.retries, 1u);
  EXPECT_EQ(c.connect_failures, 2u);
  EXPECT_EQ(c.expired, 0u);
  EXPECT_EQ(c.dropped_full, 0u);
  EXPECT_EQ(c.command_errors, 0u);

  EXPECT_EQ(history(redis, "BTCUSDT"), (std::vector<std::string>{sent[4], sent[3], sent[2]}));
  EXPECT_EQ(get_string(redis, "squeezeflow:signal:BTCUSDT"), sent[4]);
  EXPECT_EQ(published_count(redis), "3");
  // Delivered 30 s late: the key lives only for what is left of the signal's 600 s.
  const long long ttl = get_integer(redis, {"TTL", "squeezeflow:signal:BTCUSDT"});
  EXPECT_GE(ttl, 568);
  EXPECT_LE(ttl, 570);
}

TEST_F(RedisSignalSinkTest, CountsSignalsDroppedByAFullQueueWhileDown) {
  RedisProcess redis;
  auto config = config_for(redis);
  config.queue_capacity = 4;
  RedisSignalSink sink(config);
  const std::int64_t t0 = RedisSignalSink::wall_now_ns();
  std::vector<std::string> sent;
  for (int i = 0; i < 7; ++i) sent.push_back(signal_json("ETHUSDT", i, 600));

  ASSERT_TRUE(sink.publish("ETHUSDT", sent[0], 600, t0));
  sink.poll(t0);
  ASSERT_EQ(sink.counters().delivered, 1u);

  redis.stop();
  for (int i = 1; i <= 4; ++i) EXPECT_TRUE(sink.publish("ETHUSDT", sent[static_cast<std::size_t>(i)], 600, t0));
  EXPECT_FALSE(sink.publish("ETHUSDT", sent[5], 600, t0));
  EXPECT_FALSE(sink.publish("ETHUSDT", sent[6], 600, t0));
  sink.poll(t0 + 1 * kSecond);
  EXPECT_EQ(sink.pending(), 4u);
  EXPECT_EQ(sink.counters().dropped_full, 2u);
  EXPECT_EQ(sink.counters().retries, 1u);

  redis.start();
  sink.poll(t0 + 10 * kSecond);
  const auto& c = sink.counters();
  EXPECT_EQ(c.accepted, 5u);
  EXPECT_EQ(c.dropped_full, 2u);
  EXPECT_EQ(c.delivered, 5u);
  EXPECT_EQ(c.retries, 1u);
  EXPECT_EQ(c.connect_failures, 0u);
  EXPECT_EQ(c.expired, 0u);
  EXPECT_EQ(sink.pending(), 0u);
  EXPECT_EQ(history(redis, "ETHUSDT"), (std::vector<std::string>{sent[4], sent[3], sent[2], sent[1]}));
  EXPECT_EQ(published_count(redis), "4");
}

TEST_F(RedisSignalSinkTest, DiscardsASignalWhoseTtlRanOutWhileRedisWasDown) {
  RedisProcess redis;
  RedisSignalSink sink(config_for(redis));
  const std::string short_lived = signal_json("BTCUSDT", 0, 1);
  const std::string long_lived = signal_json("ETHUSDT", 1, 600);
  const std::int64_t created = RedisSignalSink::wall_now_ns();
  ASSERT_TRUE(sink.publish("BTCUSDT", short_lived, 1, created));
  ASSERT_TRUE(sink.publish("ETHUSDT", long_lived, 600, created));

  redis.stop();
  sink.poll();  // still fresh, but nobody answers
  EXPECT_EQ(sink.counters().connect_failures, 1u);
  EXPECT_EQ(sink.counters().expired, 0u);
  EXPECT_EQ(sink.pending(), 2u);

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  redis.start();
  sink.poll();
  const auto& c = sink.counters();
  EXPECT_EQ(c.expired, 1u);
  EXPECT_EQ(c.delivered, 1u);
  EXPECT_EQ(c.connect_failures, 1u);
  EXPECT_EQ(c.retries, 0u);
  EXPECT_EQ(sink.pending(), 0u);

  EXPECT_EQ(get_integer(redis, {"EXISTS", "squeezeflow:signal:BTCUSDT"}), 0);
  EXPECT_EQ(get_integer(redis, {"LLEN", "squeezeflow:history:BTCUSDT"}), 0);
  EXPECT_EQ(get_string(redis, "squeezeflow:signal:ETHUSDT"), long_lived);
  EXPECT_EQ(history(redis, "ETHUSDT"), (std::vector<std::string>{long_lived}));
  EXPECT_EQ(published_count(redis), "1");
}

TEST_F(RedisSignalSinkTest, RefusesANonPositiveTtl) {
  RedisProcess redis;
  RedisSignalSink sink(config_for(redis));
  EXPECT_FALSE(sink.publish("BTCUSDT", signal_json("BTCUSDT", 0, 0), 0, RedisSignalSink::wall_now_ns()));
  EXPECT_EQ(sink.pending(), 0u);
  EXPECT_EQ(sink.counters().accepted, 0u);
}

TEST_F(RedisSignalSinkTest, AuthenticatesWithThePasswordFromTheEnvironmentAndNeverLogsIt) {
  const std::string password = "env-only-s3cret";
  RedisProcess redis({.password = password});
  std::vector<std::string> logged;
  auto config = config_for(redis);
  config.log = [&logged](std::string_view line) { logged.emplace_back(line); };
  const std::string json = signal_json("BTCUSDT", 0, 600);

  // Without it: refused at connect time (NOAUTH on CLIENT SETNAME), kept queued.
  {
    RedisSignalSink sink(config);
    ASSERT_TRUE(sink.publish("BTCUSDT", json, 600, RedisSignalSink::wall_now_ns()));
    sink.poll();
    EXPECT_EQ(sink.counters().delivered, 0u);
    EXPECT_EQ(sink.counters().connect_failures, 1u);
    EXPECT_EQ(sink.counters().auth_failures, 1u);
    EXPECT_EQ(sink.counters().retries, 0u);
    EXPECT_EQ(sink.pending(), 1u);
  }
  // A wrong one: the connect fails.
  ::setenv("REDIS_PASSWORD", "wrong-password", 1);
  {
    RedisSignalSink sink(config);
    ASSERT_TRUE(sink.publish("BTCUSDT", json, 600, RedisSignalSink::wall_now_ns()));
    sink.poll();
    EXPECT_EQ(sink.counters().connect_failures, 1u);
    EXPECT_EQ(sink.counters().auth_failures, 1u);
    EXPECT_EQ(sink.counters().delivered, 0u);
  }
  ::setenv("REDIS_PASSWORD", password.c_str(), 1);
  {
    RedisSignalSink sink(config);
    ASSERT_TRUE(sink.publish("BTCUSDT", json, 600, RedisSignalSink::wall_now_ns()));
    sink.poll();
    EXPECT_EQ(sink.counters().delivered, 1u);
    EXPECT_EQ(sink.counters().connect_failures, 0u);
  }
  ::unsetenv("REDIS_PASSWORD");
  EXPECT_EQ(get_string(redis, "squeezeflow:signal:BTCUSDT"), json);
  EXPECT_EQ(published_count(redis), "1");
  EXPECT_FALSE(logged.empty());
  for (const auto& line : logged) {
    EXPECT_EQ(line.find(password), std::string::npos) << line;
    EXPECT_EQ(line.find("wrong-password"), std::string::npos) << line;
  }
}

// The names of the server's named clients (CLIENT LIST's `name=`; the
// test's own connections have none).
std::vector<std::string> client_names(const RedisProcess& redis) {
  auto r = redis.command({"CLIENT", "LIST"});
  std::vector<std::string> names;
  if (r->type != REDIS_REPLY_STRING) return names;
  std::istringstream lines(std::string(r->str, r->len));
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(" name=");
    if (at == std::string::npos) continue;
    std::string name = line.substr(at + 6, line.find(' ', at + 6) - (at + 6));
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

// connect_now(): the start-up connect. It authenticates and names the
// connection before any signal exists, and the first signal uses it.
TEST_F(RedisSignalSinkTest, ConnectNowAuthenticatesBeforeAnySignal) {
  const std::string password = "start-s3cret";
  RedisProcess redis({.password = password});
  std::vector<std::string> logged;
  auto config = config_for(redis);
  config.log = [&logged](std::string_view line) { logged.emplace_back(line); };
  ::setenv("REDIS_PASSWORD", password.c_str(), 1);
  RedisSignalSink sink(config);
  ::unsetenv("REDIS_PASSWORD");  // read once, at construction
  const std::int64_t t0 = RedisSignalSink::wall_now_ns();
  ASSERT_TRUE(sink.connect_now(t0));
  EXPECT_TRUE(sink.connected());
  // CLIENT SETNAME only works once AUTH has: the name proves both. The
  // server's other client is the test's own CLIENT LIST connection (no name).
  EXPECT_EQ(client_names(redis), std::vector<std::string>{"tickflow-signals"});
  EXPECT_TRUE(sink.connect_now(t0));  // connected: nothing to do

  const std::string json = signal_json("ETHUSDT", 3, 600);
  ASSERT_TRUE(sink.publish("ETHUSDT", json, 600, t0));
  sink.poll(t0);
  EXPECT_EQ(sink.counters().delivered, 1u);
  EXPECT_EQ(sink.counters().connect_failures, 0u);
  EXPECT_EQ(sink.counters().auth_failures, 0u);
  EXPECT_EQ(get_string(redis, "squeezeflow:signal:ETHUSDT"), json);
  // Still the one connection from start-up.
  EXPECT_EQ(client_names(redis), std::vector<std::string>{"tickflow-signals"});
  EXPECT_TRUE(logged.empty()) << logged.front();
}

TEST_F(RedisSignalSinkTest, AWrongPasswordAtStartIsNamedCountedLoggedOnceAndRetried) {
  const std::string password = "right-s3cret";
  RedisProcess redis({.password = password});
  std::vector<std::string> logged;
  auto config = config_for(redis);
  config.log = [&logged](std::string_view line) { logged.emplace_back(line); };
  const std::string where = "127.0.0.1:" + std::to_string(redis.port());

  ::setenv("REDIS_PASSWORD", "wrong-s3cret", 1);
  RedisSignalSink sink(config);
  ::unsetenv("REDIS_PASSWORD");
  const std::int64_t t0 = RedisSignalSink::wall_now_ns();
  EXPECT_FALSE(sink.connect_now(t0));
  EXPECT_FALSE(sink.connected());
  EXPECT_EQ(sink.counters().connect_failures, 1u);
  EXPECT_EQ(sink.counters().auth_failures, 1u);
  const std::string refused = "redis: AUTH at " + where +
                              " refused: WRONGPASS invalid username-password pair or user is disabled. (the "
                              "password is REDIS_PASSWORD's)";
  EXPECT_EQ(sink.last_problem(), refused);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0], refused);
  // Within the backoff (10..20 ms after a first failure here): no attempt.
  EXPECT_FALSE(sink.connect_now(t0 + 1'000'000));
  EXPECT_EQ(sink.counters().connect_failures, 1u);
  // A signal waits in the queue; the retry fails the same way, counted, not
  // logged again.
  ASSERT_TRUE(sink.publish("BTCUSDT", signal_json("BTCUSDT", 0, 600), 600, t0));
  sink.poll(t0 + kSecond);
  EXPECT_EQ(sink.counters().connect_failures, 2u);
  EXPECT_EQ(sink.counters().auth_failures, 2u);
  EXPECT_EQ(sink.counters().delivered, 0u);
  EXPECT_EQ(sink.pending(), 1u);
  EXPECT_EQ(logged.size(), 1u);

  // No password at all, against a server that wants one: named at start too.
  RedisSignalSink none(config);
  EXPECT_FALSE(none.connect_now(t0));
  EXPECT_EQ(none.counters().auth_failures, 1u);
  EXPECT_EQ(none.last_problem(),
            "redis: " + where + " wants a password (NOAUTH Authentication required.): set REDIS_PASSWORD");
  ASSERT_EQ(logged.size(), 2u);
  for (const auto& line : logged) {
    EXPECT_EQ(line.find("s3cret"), std::string::npos) << line;
  }
  EXPECT_EQ(client_names(redis), std::vector<std::string>{});  // nobody of ours got in
}

}  // namespace
}  // namespace tickflow
