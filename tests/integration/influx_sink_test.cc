// InfluxSink against a real influxd: batching, schema creation, every
// failure answer the sink must survive (400 partial write, 401, 404 missing
// database, 413, 500 missing retention policy, server down and back), and
// the spool carrying batches across a sink's restart. Counts are exact: each
// test queries the server back.
#include "sinks/influx_sink.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/influxd_process.h"

namespace tickflow {
namespace {

using testing::InfluxdProcess;
using Clock = std::chrono::steady_clock;

// count(v) over measurement `m` in `rp`, or -1 when the query finds nothing.
long long count_points(const InfluxdProcess& influx, const std::string& db, const std::string& rp,
                       const std::string& measurement = "m") {
  const std::string body = influx.query("SELECT count(v) FROM \"" + rp + "\".\"" + measurement + "\"", db);
  const auto at = body.find("[[0,");
  if (at == std::string::npos) return -1;
  return std::stoll(body.substr(at + 4));
}

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::path(::testing::TempDir()) / ("tickflow-sink-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

InfluxSinkConfig config_for(const InfluxdProcess& influx, const std::string& db) {
  InfluxSinkConfig c;
  c.endpoint = influx.endpoint(db);
  c.retention = {{"aggr_1s", "INF"}, {"aggr_1m", "INF"}};
  c.backoff_initial = std::chrono::milliseconds(20);
  c.backoff_max = std::chrono::milliseconds(200);
  c.log = [](std::string_view) {};
  return c;
}

std::string line(int i) { return "m v=" + std::to_string(i) + " " + std::to_string(1'700'000'000 + i); }

TEST(InfluxSink, BatchesByCountCreatesTheSchemaAndWritesEverything) {
  InfluxdProcess influx;
  auto config = config_for(influx, "fresh");  // does not exist yet
  config.batch_lines = 5000;
  InfluxSink sink(config);
  for (int i = 0; i < 12000; ++i) sink.add_line("aggr_1s", "s", line(i));
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(30)));
  EXPECT_EQ(sink.stats().points_written, 12000u);
  EXPECT_EQ(sink.stats().batches_written, 3u);  // 5000 + 5000 + 2000
  EXPECT_EQ(sink.stats().retention_policies_set, 2u);
  EXPECT_EQ(count_points(influx, "fresh", "aggr_1s"), 12000);
  const std::string rps = influx.query("SHOW RETENTION POLICIES", "fresh");
  EXPECT_NE(rps.find("\"aggr_1m\",\"0s\""), std::string::npos) << rps;
}

TEST(InfluxSink, SealsABatchByAge) {
  InfluxdProcess influx;
  auto config = config_for(influx, "age");
  config.max_batch_age = std::chrono::milliseconds(50);
  InfluxSink sink(config);
  sink.add_line("aggr_1s", "s", line(1));
  sink.poll();
  EXPECT_EQ(sink.stats().batches_written, 0u) << "a fresh batch waits for more lines";
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (sink.stats().points_written == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    sink.poll();
  }
  EXPECT_EQ(sink.stats().points_written, 1u);
  EXPECT_EQ(sink.ack_delay().count(), 1u);
  EXPECT_GE(sink.ack_delay().max(), 50'000'000u);
  EXPECT_LT(sink.ack_delay().max(), 1'000'000'000u);
}

TEST(InfluxSink, PartialWriteDeadLettersExactlyTheRejectedLines) {
  InfluxdProcess influx;
  const auto dir = temp_dir("dead");
  auto config = config_for(influx, "typed");
  config.dead_letter_path = (dir / "dead.lp").string();
  InfluxSink sink(config);
  sink.add_line("aggr_1s", "s", "m v=1 1");
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(10)));  // v is now a float field
  for (int i = 2; i <= 101; ++i)
    sink.add_line("aggr_1s", "s",
                  i == 37 || i == 90 ? "m v=\"text\" " + std::to_string(i)
                                     : "m v=" + std::to_string(i) + " " + std::to_string(i));
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(30)));
  EXPECT_EQ(sink.stats().points_dead_lettered, 2u);
  EXPECT_EQ(sink.stats().points_written, 1u + 98u);
  EXPECT_EQ(count_points(influx, "typed", "aggr_1s"), 99);
  std::ifstream in(dir / "dead.lp");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("m v=\"text\" 37\n"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("m v=\"text\" 90\n"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("field type conflict"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("m v=36 "), std::string::npos) << "only rejected lines are dead-lettered";
}

TEST(InfluxSink, SplitsBatchesOverMaxBodySize) {
  InfluxdProcess influx({.max_body_size = 16384});
  auto config = config_for(influx, "split");
  config.batch_lines = 5000;
  InfluxSink sink(config);
  for (int i = 0; i < 5000; ++i) sink.add_line("aggr_1s", "s", line(i));  // ~140 KB
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(60)));
  EXPECT_GT(sink.stats().splits_413, 0u);
  EXPECT_EQ(sink.stats().points_written, 5000u);
  EXPECT_EQ(count_points(influx, "split", "aggr_1s"), 5000);
}

TEST(InfluxSink, RecreatesADroppedRetentionPolicy) {
  InfluxdProcess influx;
  InfluxSink sink(config_for(influx, "rp"));
  sink.add_line("aggr_1s", "s", line(1));
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(10)));
  influx.query("DROP RETENTION POLICY aggr_1s ON rp", "rp");
  sink.add_line("aggr_1s", "s", line(2));
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(count_points(influx, "rp", "aggr_1s"), 1);  // the policy's old data went with it
  EXPECT_EQ(sink.stats().points_written, 2u);
}

TEST(InfluxSink, WrongCredentialsAreAClearErrorAndTheDataStaysSpooled) {
  InfluxdProcess influx({.auth = true});
  const auto dir = temp_dir("auth");
  {
    auto config = config_for(influx, "secure");
    config.endpoint.credentials.password = "wrong";
    config.spool = SpoolConfig{.dir = dir / "spool"};
    std::string logged;
    config.log = [&](std::string_view l) { logged += std::string(l) + "\n"; };
    InfluxSink sink(config);
    for (int i = 0; i < 10; ++i) sink.add_line("aggr_1s", "s", line(i));
    EXPECT_FALSE(sink.flush(Clock::now() + std::chrono::milliseconds(500)));
    EXPECT_GT(sink.stats().config_errors, 0u);
    EXPECT_NE(logged.find("authorization failed"), std::string::npos) << logged;
    EXPECT_NE(logged.find("credentials"), std::string::npos) << logged;
    EXPECT_EQ(logged.find("wrong"), std::string::npos) << "a password never reaches a log";
    EXPECT_EQ(sink.pending_batches(), 1u);
  }
  auto config = config_for(influx, "secure");
  config.spool = SpoolConfig{.dir = dir / "spool"};
  InfluxSink sink(config);
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(sink.stats().points_written, 10u);
  EXPECT_EQ(count_points(influx, "secure", "aggr_1s"), 10);
}

TEST(InfluxSink, ServerDownThenBackLosesAndDuplicatesNothing) {
  InfluxdProcess influx;
  const auto dir = temp_dir("outage");
  auto config = config_for(influx, "outage");
  config.batch_lines = 100;
  config.spool = SpoolConfig{.dir = dir / "spool"};
  InfluxSink sink(config);
  int next = 0;
  for (; next < 1000; ++next) sink.add_line("aggr_1s", "s", line(next));
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(10)));

  influx.stop();
  for (; next < 3000; ++next) {
    sink.add_line("aggr_1s", "s", line(next));
    if (next % 100 == 0) sink.poll();
  }
  EXPECT_FALSE(sink.flush(Clock::now() + std::chrono::milliseconds(300)));
  EXPECT_GT(sink.stats().retries, 0u);
  EXPECT_EQ(sink.pending_batches(), 20u) << "2000 lines in batches of 100, all spooled";

  influx.start();
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(30)));
  EXPECT_EQ(count_points(influx, "outage", "aggr_1s"), 3000);
  EXPECT_EQ(sink.stats().points_written, 3000u);
  // Values too, not just counts: sum of 0..2999.
  const std::string sum = influx.query("SELECT sum(v) FROM aggr_1s.m", "outage");
  EXPECT_NE(sum.find("[[0,4498500]]"), std::string::npos) << sum;
}

TEST(InfluxSink, AFullSpoolHoldsBatchesInMemoryPushesBackAndLosesNothing) {
  InfluxdProcess influx;
  const auto dir = temp_dir("spoolfull");
  auto config = config_for(influx, "spoolfull");
  config.batch_lines = 10;
  config.spool = SpoolConfig{.dir = dir / "spool", .max_bytes = 1000, .full_policy = SpoolFullPolicy::kBlock};
  config.memory_limit_bytes = 1000;
  std::string logged;
  config.log = [&](std::string_view l) { logged += std::string(l) + "\n"; };
  InfluxSink sink(config);
  influx.stop();
  for (int i = 0; i < 200; ++i) sink.add_line("aggr_1s", "s", line(i));  // 20 batches of 10
  EXPECT_FALSE(sink.can_accept()) << "spool full and memory bound reached: the writer must stop feeding";
  EXPECT_GT(sink.points_unsaved(), 0u);
  EXPECT_LT(sink.stats().batches_spooled, 20u);
  EXPECT_EQ(sink.stats().points_dropped, 0u) << "kBlock never drops";
  EXPECT_NE(logged.find("spool full"), std::string::npos) << logged;

  influx.start();
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(30)));
  EXPECT_TRUE(sink.can_accept());
  EXPECT_EQ(sink.points_unsaved(), 0u);
  EXPECT_EQ(count_points(influx, "spoolfull", "aggr_1s"), 200);
  const std::string sum = influx.query("SELECT sum(v) FROM aggr_1s.m", "spoolfull");
  EXPECT_NE(sum.find("[[0,19900]]"), std::string::npos) << sum;
}

TEST(InfluxSink, ASpoolLeftByAnEarlierRunIsDeliveredFirst) {
  const auto dir = temp_dir("restart");
  const int port = testing::free_loopback_port();
  {
    InfluxSinkConfig config;
    config.endpoint.url = "http://127.0.0.1:" + std::to_string(port);  // nobody there
    config.endpoint.database = "later";
    config.endpoint.connect_timeout = std::chrono::milliseconds(200);
    config.spool = SpoolConfig{.dir = dir / "spool"};
    config.log = [](std::string_view) {};
    InfluxSink sink(config);
    for (int i = 0; i < 250; ++i) sink.add_line("aggr_1s", "s", line(i));
    EXPECT_FALSE(sink.flush(Clock::now() + std::chrono::milliseconds(300)));
  }
  InfluxdProcess influx;
  auto config = config_for(influx, "later");
  config.spool = SpoolConfig{.dir = dir / "spool"};
  InfluxSink sink(config);
  EXPECT_EQ(sink.pending_batches(), 1u);
  ASSERT_TRUE(sink.flush(Clock::now() + std::chrono::seconds(10)));
  EXPECT_EQ(count_points(influx, "later", "aggr_1s"), 250);
}

}  // namespace
}  // namespace tickflow
