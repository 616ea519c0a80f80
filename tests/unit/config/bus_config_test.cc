// config/pipeline_config: the [bus] table (issue 19, NATS JetStream roles).
// Every key is read, the defaults are the all-in-one mode (no bus), every
// bad value is an error naming the file, the line, the key and the problem,
// no credential is accepted in the file, and the shipped cluster-*.toml role
// configs load with the roles they promise.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/pipeline_config.h"

namespace tickflow {
namespace {

const std::filesystem::path kTuningDir = std::filesystem::path(TICKFLOW_SOURCE_DIR) / "tuning";

std::string error_of(std::string_view toml) {
  try {
    parse_pipeline_config(toml, std::filesystem::path("test.toml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

BusConfig bus_of(const std::string& toml) { return parse_pipeline_config(toml, "bus.toml").bus; }

// "[bus]\n" + one line: errors then sit on line 2.
std::string bus_error(const std::string& line) { return error_of("[bus]\n" + line + "\n"); }

// The server-URL error for `servers = [URL]` (the item starts at 2:12).
std::string server_error(const std::string& url) { return bus_error("servers = [\"" + url + "\"]"); }

TEST(BusConfigDefaults, EmptyFileIsAllInOneWithoutABus) {
  const BusConfig b = parse_pipeline_config("", "empty.toml").bus;
  EXPECT_FALSE(b.enabled);
  EXPECT_TRUE(b.roles.empty());
  EXPECT_EQ(b.servers, (std::vector<std::string>{"nats://127.0.0.1:4222"}));
  EXPECT_EQ(b.credentials_file, "");
  EXPECT_EQ(b.collector_name, "");
  EXPECT_EQ(b.events_stream, "TICKFLOW_EVENTS");
  EXPECT_EQ(b.bars_stream, "TICKFLOW_BARS");
  EXPECT_EQ(b.signals_stream, "TICKFLOW_SIGNALS");
  EXPECT_EQ(b.replicas, 1);
  EXPECT_EQ(b.duplicate_window, std::chrono::seconds(120));
  EXPECT_EQ(b.max_age, std::chrono::hours(24));
  EXPECT_EQ(b.max_in_flight, 4096);
  EXPECT_EQ(b.on_full, "block");
  EXPECT_EQ(b.spool_dir, "var/bus-spool");
  EXPECT_EQ(b.durable, "tickflow-aggregator");
  EXPECT_EQ(b.ack_wait, std::chrono::seconds(30));
  EXPECT_EQ(b.max_ack_pending, 1'000'000);
  EXPECT_EQ(b.fetch_batch, 256);
  EXPECT_FALSE(b.has(BusRole::kCollector));
  EXPECT_FALSE(b.has(BusRole::kAggregator));
  EXPECT_FALSE(b.has(BusRole::kStrategy));
  // An empty [bus] table is the same.
  EXPECT_FALSE(bus_of("[bus]\n").enabled);
}

TEST(BusConfigKeys, EveryKeyIsRead) {
  const BusConfig b = bus_of(R"([bus]
roles = ["collector", "aggregator"]
servers = ["nats://10.0.0.1:4222", "tls://nats-b.example.com:4443", "nats://[::1]:4224", "tls://nats-c.example.com"]
credentials_file = "/etc/tickflow/nats.creds"
collector_name = "tokyo-a"
events_stream = "EV"
bars_stream = "BARS_2"
signals_stream = "sig-nals"
replicas = 3
duplicate_window_s = 300
max_age_h = 48
max_in_flight = 512
on_full = "spool"
spool_dir = "/var/lib/tickflow/bus-spool"
durable = "agg-tokyo_1"
ack_wait_s = 60
max_ack_pending = 2000000
fetch_batch = 4096
)");
  EXPECT_TRUE(b.enabled);
  EXPECT_EQ(b.roles, (std::vector<BusRole>{BusRole::kCollector, BusRole::kAggregator}));
  EXPECT_TRUE(b.has(BusRole::kCollector));
  EXPECT_TRUE(b.has(BusRole::kAggregator));
  EXPECT_FALSE(b.has(BusRole::kStrategy));
  EXPECT_EQ(b.servers, (std::vector<std::string>{"nats://10.0.0.1:4222", "tls://nats-b.example.com:4443",
                                                 "nats://[::1]:4224", "tls://nats-c.example.com"}));
  EXPECT_EQ(b.credentials_file, "/etc/tickflow/nats.creds");
  EXPECT_EQ(b.collector_name, "tokyo-a");
  EXPECT_EQ(b.events_stream, "EV");
  EXPECT_EQ(b.bars_stream, "BARS_2");
  EXPECT_EQ(b.signals_stream, "sig-nals");
  EXPECT_EQ(b.replicas, 3);
  EXPECT_EQ(b.duplicate_window, std::chrono::seconds(300));
  EXPECT_EQ(b.max_age, std::chrono::hours(48));
  EXPECT_EQ(b.max_in_flight, 512);
  EXPECT_EQ(b.on_full, "spool");
  EXPECT_EQ(b.spool_dir, "/var/lib/tickflow/bus-spool");
  EXPECT_EQ(b.durable, "agg-tokyo_1");
  EXPECT_EQ(b.ack_wait, std::chrono::seconds(60));
  EXPECT_EQ(b.max_ack_pending, 2'000'000);
  EXPECT_EQ(b.fetch_batch, 4096);
}

TEST(BusConfigKeys, RolesInTheFilesOrderAndTheirNames) {
  EXPECT_EQ(bus_of("[bus]\nroles = [\"aggregator\"]\n").roles, (std::vector<BusRole>{BusRole::kAggregator}));
  EXPECT_EQ(bus_of("[strategy]\nenabled = true\n[bus]\nroles = [\"strategy\", \"aggregator\", \"collector\"]\n"
                   "collector_name = \"a\"\n")
                .roles,
            (std::vector<BusRole>{BusRole::kStrategy, BusRole::kAggregator, BusRole::kCollector}));
  EXPECT_EQ(to_string(BusRole::kCollector), "collector");
  EXPECT_EQ(to_string(BusRole::kAggregator), "aggregator");
  EXPECT_EQ(to_string(BusRole::kStrategy), "strategy");
  EXPECT_EQ(bus_of("[bus]\nreplicas = 5\n").replicas, 5);
  EXPECT_EQ(bus_of("[bus]\nfetch_batch = 1\n").fetch_batch, 1);
  EXPECT_EQ(bus_of("[bus]\non_full = \"block\"\nspool_dir = \"\"\n").spool_dir, "");  // unused while blocking
}

// `enabled` follows the roles unless given: `enabled = false` switches a
// role config back to all-in-one without deleting its [bus] table.
TEST(BusConfigKeys, EnabledIsImpliedByRolesOrExplicit) {
  EXPECT_TRUE(bus_of("[bus]\nroles = [\"aggregator\"]\n").enabled);
  EXPECT_FALSE(bus_of("[bus]\nroles = []\n").enabled);
  const BusConfig off = bus_of("[bus]\nenabled = false\nroles = [\"aggregator\"]\n");
  EXPECT_FALSE(off.enabled);
  EXPECT_EQ(off.roles, (std::vector<BusRole>{BusRole::kAggregator}));
  EXPECT_FALSE(off.has(BusRole::kAggregator));
  EXPECT_TRUE(bus_of("[bus]\nenabled = true\nroles = [\"aggregator\"]\n").has(BusRole::kAggregator));
  EXPECT_EQ(bus_error("enabled = true"),
            "test.toml:2:11: bus.enabled: the bus is enabled but bus.roles lists no role (collector, aggregator or "
            "strategy)");
  EXPECT_EQ(error_of("[bus]\nenabled = true\nroles = []\n"),
            "test.toml:3:9: bus.roles: the bus is enabled but bus.roles lists no role (collector, aggregator or "
            "strategy)");
  EXPECT_EQ(bus_error("enabled = \"yes\""),
            "test.toml:2:11: bus.enabled: expected a boolean (true or false), got a string");
}

TEST(BusConfigErrors, Roles) {
  EXPECT_EQ(bus_error("roles = [\"aggregator\", \"colector\"]"),
            "test.toml:2:24: bus.roles[1]: unknown role 'colector' (expected collector, aggregator or strategy)");
  EXPECT_EQ(bus_error("roles = [\"aggregator\", \"aggregator\"]"),
            "test.toml:2:24: bus.roles[1]: duplicate role 'aggregator'");
  EXPECT_EQ(bus_error("roles = \"aggregator\""), "test.toml:2:9: bus.roles: expected an array, got a string");
  EXPECT_EQ(bus_error("roles = [1]"), "test.toml:2:10: bus.roles[0]: expected a string, got an integer");
}

TEST(BusConfigErrors, CollectorRoleNeedsAName) {
  EXPECT_EQ(bus_error("roles = [\"collector\"]"),
            "test.toml:1:1: bus.collector_name: required with the collector role: this collector's name on the bus, "
            "e.g. \"tokyo-a\" (A/B collectors on one feed need different names)");
  // Switched off, the role needs nothing.
  EXPECT_FALSE(bus_of("[bus]\nenabled = false\nroles = [\"collector\"]\n").enabled);
  EXPECT_EQ(bus_error("collector_name = \"tokyo a\""),
            "test.toml:2:18: bus.collector_name: collector names are 1 to 64 of A-Z a-z 0-9 _ - (they become a "
            "subject token), got 'tokyo a'");
  EXPECT_EQ(bus_error("collector_name = \"tokyo.a\""),
            "test.toml:2:18: bus.collector_name: collector names are 1 to 64 of A-Z a-z 0-9 _ - (they become a "
            "subject token), got 'tokyo.a'");
  EXPECT_EQ(bus_error("collector_name = \"\""),
            "test.toml:2:18: bus.collector_name: collector names are 1 to 64 of A-Z a-z 0-9 _ - (they become a "
            "subject token), got ''");
  EXPECT_NE(bus_error("collector_name = \"" + std::string(65, 'a') + "\"").find("collector names are 1 to 64"),
            std::string::npos);
  EXPECT_EQ(bus_of("[bus]\ncollector_name = \"" + std::string(64, 'a') + "\"\n").collector_name, std::string(64, 'a'));
}

TEST(BusConfigErrors, StrategyRoleNeedsTheStrategy) {
  EXPECT_EQ(bus_error("roles = [\"strategy\"]"),
            "test.toml:2:9: bus.roles: the strategy role needs [strategy] enabled = true");
  EXPECT_TRUE(bus_of("[strategy]\nenabled = true\n[bus]\nroles = [\"strategy\"]\n").has(BusRole::kStrategy));
}

TEST(BusConfigErrors, Replicas) {
  EXPECT_EQ(bus_error("replicas = 2"), "test.toml:2:12: bus.replicas: must be 1, 3 or 5, got 2");
  EXPECT_EQ(bus_error("replicas = 0"), "test.toml:2:12: bus.replicas: must be 1, 3 or 5, got 0");
  EXPECT_EQ(bus_error("replicas = 7"), "test.toml:2:12: bus.replicas: must be 1, 3 or 5, got 7");
  EXPECT_EQ(bus_error("replicas = -3"), "test.toml:2:12: bus.replicas: must be 1, 3 or 5, got -3");
  EXPECT_EQ(bus_error("replicas = \"3\""), "test.toml:2:12: bus.replicas: expected an integer, got a string");
}

TEST(BusConfigErrors, ServerUrls) {
  EXPECT_EQ(server_error("http://127.0.0.1:4222"),
            "test.toml:2:12: bus.servers[0]: expected a nats:// or tls:// URL (e.g. \"nats://127.0.0.1:4222\"), got "
            "'http://127.0.0.1:4222'");
  EXPECT_EQ(server_error("127.0.0.1:4222"),
            "test.toml:2:12: bus.servers[0]: expected a nats:// or tls:// URL (e.g. \"nats://127.0.0.1:4222\"), got "
            "'127.0.0.1:4222'");
  EXPECT_EQ(server_error("nats://"), "test.toml:2:12: bus.servers[0]: no host in 'nats://'");
  EXPECT_EQ(server_error("nats://:4222"), "test.toml:2:12: bus.servers[0]: no host in 'nats://:4222'");
  EXPECT_EQ(server_error("nats://h:0"),
            "test.toml:2:12: bus.servers[0]: bad port in 'nats://h:0' (expected 1 to 65535)");
  EXPECT_EQ(server_error("nats://h:65536"),
            "test.toml:2:12: bus.servers[0]: bad port in 'nats://h:65536' (expected 1 to 65535)");
  EXPECT_EQ(server_error("nats://h:42x"),
            "test.toml:2:12: bus.servers[0]: bad port in 'nats://h:42x' (expected 1 to 65535)");
  EXPECT_EQ(server_error("nats://h:"), "test.toml:2:12: bus.servers[0]: bad port in 'nats://h:' (expected 1 to 65535)");
  EXPECT_EQ(server_error("nats://h:4222/x"),
            "test.toml:2:12: bus.servers[0]: a server URL has no path, got 'nats://h:4222/x'");
  EXPECT_EQ(server_error("nats://a b:4222"),
            "test.toml:2:12: bus.servers[0]: white space or a control character in 'nats://a b:4222'");
  EXPECT_EQ(server_error("nats://::1:4222"),
            "test.toml:2:12: bus.servers[0]: bad host in 'nats://::1:4222' (an IPv6 address goes in brackets: "
            "nats://[::1]:4222)");
  EXPECT_EQ(server_error("nats://a:4222,nats://b:4222"),
            "test.toml:2:12: bus.servers[0]: one URL per item (servers = [\"nats://a:4222\", \"nats://b:4222\"]), got "
            "'nats://a:4222,nats://b:4222'");
  EXPECT_EQ(server_error("nats://[::1"), "test.toml:2:12: bus.servers[0]: unclosed '[' in 'nats://[::1'");
  EXPECT_EQ(server_error("nats://[::1]4222"),
            "test.toml:2:12: bus.servers[0]: expected ':port' after ']' in 'nats://[::1]4222'");
  EXPECT_EQ(server_error("tls://[]:4222"), "test.toml:2:12: bus.servers[0]: no host in 'tls://[]:4222'");
  EXPECT_EQ(bus_error("servers = []"),
            "test.toml:2:11: bus.servers: at least one server URL is needed (e.g. \"nats://127.0.0.1:4222\")");
  EXPECT_EQ(bus_error("servers = [\"nats://a:4222\", \"nats://b:4222\", \"nats://a:4222\"]"),
            "test.toml:2:46: bus.servers[2]: duplicate server 'nats://a:4222'");
  EXPECT_EQ(bus_error("servers = \"nats://a:4222\""), "test.toml:2:11: bus.servers: expected an array, got a string");
}

TEST(BusConfigErrors, DurableNames) {
  const std::string rule =
      "durable consumer names may not contain '.', '*', '>', '/', '\\' or white space (NATS uses them in subjects "
      "and file names), got ";
  EXPECT_EQ(bus_error("durable = \"agg.tokyo\""), "test.toml:2:11: bus.durable: " + rule + "'agg.tokyo'");
  EXPECT_EQ(bus_error("durable = \"agg*\""), "test.toml:2:11: bus.durable: " + rule + "'agg*'");
  EXPECT_EQ(bus_error("durable = \"agg>\""), "test.toml:2:11: bus.durable: " + rule + "'agg>'");
  EXPECT_EQ(bus_error("durable = \"agg tokyo\""), "test.toml:2:11: bus.durable: " + rule + "'agg tokyo'");
  EXPECT_EQ(bus_error("durable = \"agg\\ttokyo\""), "test.toml:2:11: bus.durable: " + rule + "'agg\ttokyo'");
  EXPECT_EQ(bus_error("durable = \"a/b\""), "test.toml:2:11: bus.durable: " + rule + "'a/b'");
  EXPECT_EQ(bus_error("durable = \"\""), "test.toml:2:11: bus.durable: empty durable consumer name");
}

TEST(BusConfigErrors, FetchBatchAndOtherRanges) {
  EXPECT_EQ(bus_error("fetch_batch = 0"), "test.toml:2:15: bus.fetch_batch: must be between 1 and 4096, got 0");
  EXPECT_EQ(bus_error("fetch_batch = 4097"), "test.toml:2:15: bus.fetch_batch: must be between 1 and 4096, got 4097");
  EXPECT_EQ(bus_error("max_in_flight = 0"), "test.toml:2:17: bus.max_in_flight: must be between 1 and 1000000, got 0");
  EXPECT_EQ(bus_error("ack_wait_s = 0"), "test.toml:2:14: bus.ack_wait_s: must be between 1 and 86400, got 0");
  EXPECT_EQ(bus_error("max_ack_pending = 0"),
            "test.toml:2:19: bus.max_ack_pending: must be between 1 and 1000000000, got 0");
  EXPECT_EQ(bus_error("duplicate_window_s = 0"),
            "test.toml:2:22: bus.duplicate_window_s: must be between 1 and 604800, got 0");
  EXPECT_EQ(bus_error("max_age_h = 0"), "test.toml:2:13: bus.max_age_h: must be between 1 and 8784, got 0");
  // JetStream refuses a duplicate window longer than the stream keeps messages.
  EXPECT_EQ(error_of("[bus]\nmax_age_h = 1\nduplicate_window_s = 3601\n"),
            "test.toml:3:22: bus.duplicate_window_s: duplicate_window_s (3601) must not exceed max_age_h (1 h): "
            "JetStream refuses such a stream");
  EXPECT_EQ(bus_of("[bus]\nmax_age_h = 1\nduplicate_window_s = 3600\n").duplicate_window, std::chrono::seconds(3600));
  // A restarted aggregator replays the amendment horizon from the stream.
  EXPECT_EQ(error_of("[bars]\namend_horizon_s = 7200\n[bus]\nroles = [\"aggregator\"]\nmax_age_h = 2\n"),
            "test.toml:5:13: bus.max_age_h: max_age_h (2 h) must exceed [bars] amend_horizon_s (7200 s) with the "
            "aggregator role: a restarted aggregator replays the stream from below every second it could still amend");
  EXPECT_EQ(bus_of("[bars]\namend_horizon_s = 7199\n[bus]\nroles = [\"aggregator\"]\nmax_age_h = 2\n").max_age,
            std::chrono::hours(2));
  EXPECT_EQ(bus_of("[bars]\namend_horizon_s = 7200\n[bus]\nroles = [\"collector\"]\ncollector_name = \"a\"\n"
                   "max_age_h = 2\n")
                .max_age,
            std::chrono::hours(2));
}

TEST(BusConfigErrors, OnFullAndSpool) {
  EXPECT_EQ(bus_error("on_full = \"drop\""),
            "test.toml:2:11: bus.on_full: unknown policy 'drop' (expected block or spool)");
  EXPECT_EQ(error_of("[bus]\non_full = \"spool\"\nspool_dir = \"\"\n"),
            "test.toml:3:13: bus.spool_dir: on_full = \"spool\" needs a spool_dir");
  EXPECT_EQ(bus_of("[bus]\non_full = \"spool\"\n").spool_dir, "var/bus-spool");
}

TEST(BusConfigErrors, StreamNames) {
  EXPECT_EQ(bus_error("events_stream = \"TICKFLOW.EVENTS\""),
            "test.toml:2:17: bus.events_stream: stream names are 1 to 64 of A-Z a-z 0-9 _ - (NATS uses them in "
            "subjects and file names), got 'TICKFLOW.EVENTS'");
  EXPECT_EQ(bus_error("bars_stream = \"\""),
            "test.toml:2:15: bus.bars_stream: stream names are 1 to 64 of A-Z a-z 0-9 _ - (NATS uses them in "
            "subjects and file names), got ''");
  EXPECT_EQ(bus_error("signals_stream = \"TICKFLOW_BARS\""),
            "test.toml:2:18: bus.signals_stream: bus.bars_stream and bus.signals_stream are both 'TICKFLOW_BARS': "
            "each kind has its own stream");
}

TEST(BusConfigErrors, UnknownKeysLikeEveryOtherTable) {
  EXPECT_EQ(bus_error("replica = 3"), "test.toml:2:1: bus.replica: unknown key (did you mean 'replicas'?)");
  EXPECT_EQ(bus_error("fetch_bach = 3"), "test.toml:2:1: bus.fetch_bach: unknown key (did you mean 'fetch_batch'?)");
  EXPECT_EQ(bus_error("bus = 1").rfind("test.toml:2:1: bus.bus: unknown key", 0), 0u);
  EXPECT_EQ(error_of("bus = 1\n"), "test.toml:1:7: bus: expected a table, got an integer");
}

// Credentials live in bus.credentials_file or the environment, never in the
// config (it gets copied, committed, pasted into tickets), nor in a URL.
TEST(BusConfigErrors, NoCredentialsInTheFile) {
  const std::string hint =
      "credentials do not belong in the config file; set NATS_USER and NATS_PASSWORD, or NATS_TOKEN, in the "
      "environment (e.g. a systemd EnvironmentFile) or point bus.credentials_file at a file readable only by "
      "tickflow";
  EXPECT_EQ(bus_error("password = \"hunter2\""), "test.toml:2:1: bus.password: " + hint);
  EXPECT_EQ(bus_error("token = \"s3cr3t\""), "test.toml:2:1: bus.token: " + hint);
  EXPECT_EQ(bus_error("auth_token = \"s3cr3t\""), "test.toml:2:1: bus.auth_token: " + hint);
  EXPECT_EQ(bus_error("user = \"tickflow\""), "test.toml:2:1: bus.user: " + hint);
  EXPECT_EQ(bus_error("nkey = \"SUAB\""), "test.toml:2:1: bus.nkey: " + hint);
  const std::string url = server_error("nats://tickflow:hunter2@127.0.0.1:4222");
  EXPECT_EQ(url,
            "test.toml:2:12: bus.servers[0]: credentials do not belong in a server URL (URLs are logged); set "
            "NATS_USER and NATS_PASSWORD, or NATS_TOKEN, in the environment or point bus.credentials_file at a file "
            "readable only by tickflow");
  EXPECT_EQ(url.find("hunter2"), std::string::npos) << "the secret is not repeated";
  EXPECT_EQ(bus_error("credentials_file = \"\""),
            "test.toml:2:20: bus.credentials_file: empty path (leave the key out to take NATS_USER / NATS_PASSWORD or "
            "NATS_TOKEN from the environment)");
}

// ---- [threads.bus]: where the bus threads run ----

// "[threads.bus]\n" + one line: errors then sit on line 2.
std::string bus_thread_error(const std::string& line) { return error_of("[threads.bus]\n" + line + "\n"); }

// The names in threads(), in order.
std::string thread_names(const PipelineConfig& c) {
  std::string out;
  for (const ThreadConfig* t : c.threads()) out += (out.empty() ? "" : " ") + t->name;
  return out;
}

TEST(BusConfigThreads, DefaultsAreUnpinnedParkedAndListedOnlyWithTheBus) {
  const PipelineConfig c = parse_pipeline_config("", "empty.toml");
  EXPECT_EQ(c.bus_threads.name, "tf-bus-*");
  EXPECT_FALSE(c.bus_threads.cpu.has_value());
  EXPECT_FALSE(c.bus_threads.fifo_priority.has_value());
  EXPECT_EQ(c.bus_threads.wait, WaitKind::kPark);
  EXPECT_EQ(thread_names(c), "tf-feed-0 tf-agg tf-writer");

  const PipelineConfig on = parse_pipeline_config("[bus]\nroles = [\"aggregator\"]\n", "bus.toml");
  EXPECT_EQ(thread_names(on), "tf-feed-0 tf-agg tf-writer tf-bus-*");
  ASSERT_EQ(on.threads().size(), 4u);
  EXPECT_EQ(on.threads().back(), &on.bus_threads);

  // Configured but switched off: no bus thread runs, none is listed.
  const PipelineConfig off =
      parse_pipeline_config("[threads.bus]\ncpu = 1\n\n[bus]\nroles = [\"aggregator\"]\nenabled = false\n", "off.toml");
  EXPECT_EQ(off.bus_threads.cpu, 1);
  EXPECT_EQ(thread_names(off), "tf-feed-0 tf-agg tf-writer");
}

TEST(BusConfigThreads, CpuPriorityAndWaitAreRead) {
  const PipelineConfig c = parse_pipeline_config(R"([threads.bus]
cpu = 3
priority = 40
wait = "park"

[threads.aggregator]
cpu = 2

[bus]
roles = ["collector"]
collector_name = "tokyo-a"
)",
                                                 "bus.toml");
  EXPECT_EQ(c.bus_threads.name, "tf-bus-*");
  EXPECT_EQ(c.bus_threads.cpu, 3);
  EXPECT_EQ(c.bus_threads.fifo_priority, 40);
  EXPECT_EQ(c.bus_threads.wait, WaitKind::kPark);
  EXPECT_EQ(c.aggregator.cpu, 2);  // its own table, untouched by [threads.bus]
  EXPECT_FALSE(c.writer.cpu.has_value());
  EXPECT_EQ(c.threads().back()->cpu, 3);
}

TEST(BusConfigThreads, ErrorsNameTheFileLineAndKey) {
  EXPECT_EQ(bus_thread_error("cpu = -1"), "test.toml:2:7: threads.bus.cpu: must be between 0 and 4095, got -1");
  EXPECT_EQ(bus_thread_error("cpu = 4096"), "test.toml:2:7: threads.bus.cpu: must be between 0 and 4095, got 4096");
  EXPECT_EQ(bus_thread_error("cpu = \"1\""), "test.toml:2:7: threads.bus.cpu: expected an integer, got a string");
  EXPECT_EQ(bus_thread_error("priority = 0"), "test.toml:2:12: threads.bus.priority: must be between 1 and 99, got 0");
  EXPECT_EQ(bus_thread_error("wait = \"spinn\""),
            "test.toml:2:8: threads.bus.wait: unknown wait strategy 'spinn' (expected spin, yield or park)");
  EXPECT_EQ(bus_thread_error("wait = \"spin\""),
            "test.toml:2:8: threads.bus.wait: the bus threads wait on NATS and park between batches; only \"park\" "
            "applies, got \"spin\"");
  EXPECT_EQ(bus_thread_error("name = \"tf-nats\""),
            "test.toml:2:8: threads.bus.name: the bus threads keep their own names (tf-bus-out, tf-bus-in, "
            "tf-bus-bars, tf-bus-strategy, tf-bus-signals); [threads.bus] sets their cpu and priority");
  EXPECT_EQ(bus_thread_error("cpus = 1"), "test.toml:2:1: threads.bus.cpus: unknown key (did you mean 'cpu'?)");
  EXPECT_EQ(error_of("[threads]\nbus = 1\n"), "test.toml:2:7: threads.bus: expected a table, got an integer");
}

// ---- the shipped role configs (tuning/cluster-*.toml) ----

const std::vector<std::string> kClusterServers{"nats://127.0.0.1:4222", "nats://127.0.0.1:4223",
                                               "nats://127.0.0.1:4224"};

// What the three processes must agree on: the cluster, the streams and
// their shape (ensure_stream() compares them), and the markets.
void expect_shared_bus(const PipelineConfig& c) {
  EXPECT_TRUE(c.bus.enabled);
  EXPECT_EQ(c.bus.servers, kClusterServers);
  EXPECT_EQ(c.bus.credentials_file, "");
  EXPECT_EQ(c.bus.events_stream, "TICKFLOW_EVENTS");
  EXPECT_EQ(c.bus.bars_stream, "TICKFLOW_BARS");
  EXPECT_EQ(c.bus.signals_stream, "TICKFLOW_SIGNALS");
  EXPECT_EQ(c.bus.replicas, 3);
  EXPECT_EQ(c.bus.duplicate_window, std::chrono::seconds(120));
  EXPECT_EQ(c.bus.max_age, std::chrono::hours(24));
  ASSERT_EQ(c.markets.size(), 2u);
  EXPECT_EQ(c.markets.at("BINANCE"), (std::vector<std::string>{"btcusdt", "ethusdt"}));
  EXPECT_EQ(c.markets.at("BINANCE_FUTURES"), (std::vector<std::string>{"btcusdt", "ethusdt"}));
}

TEST(BusConfigProfiles, ClusterCollector) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "cluster-collector.toml");
  expect_shared_bus(c);
  EXPECT_EQ(c.bus_threads.cpu, 0);  // [threads.bus]
  EXPECT_EQ(c.bus.roles, (std::vector<BusRole>{BusRole::kCollector}));
  EXPECT_EQ(c.bus.collector_name, "tokyo-a");
  EXPECT_EQ(c.bus.max_in_flight, 4096);
  EXPECT_EQ(c.bus.on_full, "spool");
  EXPECT_EQ(c.bus.spool_dir, "/var/lib/tickflow/bus-spool");
  EXPECT_FALSE(c.influx.enabled);  // it builds no bars
  EXPECT_FALSE(c.strategy.enabled);
  EXPECT_EQ(c.metrics.port, 9464);
  EXPECT_EQ(c.metrics.bind, "127.0.0.1");
}

TEST(BusConfigProfiles, ClusterAggregator) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "cluster-aggregator.toml");
  expect_shared_bus(c);
  EXPECT_EQ(c.bus_threads.cpu, 0);  // [threads.bus]
  EXPECT_EQ(c.bus.roles, (std::vector<BusRole>{BusRole::kAggregator}));
  EXPECT_EQ(c.bus.durable, "tickflow-aggregator");
  EXPECT_EQ(c.bus.ack_wait, std::chrono::seconds(30));
  EXPECT_EQ(c.bus.max_ack_pending, 1'000'000);
  EXPECT_EQ(c.bus.fetch_batch, 256);
  EXPECT_TRUE(c.influx.enabled);  // bars and statistics, as the host profiles write them
  EXPECT_EQ(c.influx.url, "http://127.0.0.1:8086");
  EXPECT_EQ(c.influx.database, "significant_trades");
  EXPECT_EQ(c.influx.spool_dir, "/var/lib/tickflow/spool");
  EXPECT_FALSE(c.strategy.enabled);
  EXPECT_EQ(c.metrics.port, 9465);
}

TEST(BusConfigProfiles, ClusterStrategy) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "cluster-strategy.toml");
  expect_shared_bus(c);
  EXPECT_EQ(c.bus_threads.cpu, 1);  // [threads.bus]
  EXPECT_EQ(c.bus.roles, (std::vector<BusRole>{BusRole::kStrategy}));
  EXPECT_EQ(c.bus.durable, "tickflow-strategy");
  EXPECT_TRUE(c.strategy.enabled);
  ASSERT_EQ(c.strategy.symbols.size(), 2u);
  EXPECT_EQ(c.strategy.symbols[0].base, "BTC");
  EXPECT_EQ(c.strategy.symbols[1].base, "ETH");
  EXPECT_TRUE(c.signals.influx);
  EXPECT_TRUE(c.influx.enabled);
  EXPECT_EQ(c.signals.jsonl, "/var/lib/tickflow/signals.jsonl");
  EXPECT_TRUE(c.signals.redis);
  EXPECT_EQ(c.signals.redis_config.host, "127.0.0.1");
  EXPECT_EQ(c.signals.redis_config.port, 6379);
  EXPECT_EQ(c.metrics.port, 9466);
}

// The single-host profiles stay all-in-one; the role configs are the only
// ones with a bus.
TEST(BusConfigProfiles, OnlyTheClusterProfilesUseTheBus) {
  int cluster = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTuningDir)) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().string());
    const bool is_cluster = entry.path().filename().string().starts_with("cluster-");
    EXPECT_EQ(load_pipeline_config(entry.path()).bus.enabled, is_cluster);
    cluster += is_cluster ? 1 : 0;
  }
  EXPECT_EQ(cluster, 3);
}

}  // namespace
}  // namespace tickflow
