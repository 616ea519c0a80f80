// tests/integration/run_exposure_test.cc
//
// What `tickflow run` lets out, end to end: the binary with [strategy] on and
// [signals.redis] pointing at a real redis-server started with --requirepass
// (redis_process.h), the password given the only way there is, REDIS_PASSWORD
// in the child's environment. The exchange endpoint is a loopback port
// nobody listens on: these tests are about start-up and exposure, not bars
// (no trades, so no signals; the sink tests deliver signals through an
// authenticated connection).
//
//  * RightPasswordAuthenticatesAtStart: the sink connects, AUTHs and names
//    its connection before any signal (CLIENT LIST shows tickflow-signals,
//    which CLIENT SETNAME only allows after AUTH); /metrics counts 0 auth
//    failures; no "not a loopback" warning for bind = 127.0.0.1; with
//    [metrics] max_connections = 4 and 10 silent half-requests open,
//    /metrics still answers 200 (the budget is wired from the config); the
//    password is nowhere: stderr, /metrics, /health, the signal JSONL,
//    /proc/<pid>/cmdline. SIGTERM: exit 0.
//  * WrongPasswordIsOneNamedLineACounterAndNoCrash: exactly one stderr line
//    names the refusal (WRONGPASS, the server, REDIS_PASSWORD) at start,
//    /metrics has tickflow_signal_redis_auth_failures_total 1, the process
//    keeps running and exits 0 on SIGTERM; neither password appears anywhere.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/redis_process.h"
#include "tests/integration/tickflow_child.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;
using testing::http_get;
using testing::metric;
using testing::poll_until;
using testing::RedisProcess;
using testing::TempDir;
using testing::Tickflow;
namespace fs = std::filesystem;

constexpr const char* kPassword = "run-Pa55-s3cret";
constexpr const char* kWrongPassword = "not-the-Pa55";

fs::path write_config(const fs::path& dir, int redis_port) {
  std::ostringstream c;
  c << "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n\n"
    << "[feeds]\nbackoff_initial_ms = 200\nbackoff_max_ms = 1000\nbackfill = false\n\n"
    // Nothing listens there: connection refused, on loopback.
    << "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = " << testing::free_loopback_port() << "\n\n"
    << "[feeds.endpoints.BINANCE_FUTURES]\nhost = \"127.0.0.1\"\nport = " << testing::free_loopback_port() << "\n\n"
    << "[influx]\nenabled = false\n\n"
    << "[metrics]\nbind = \"127.0.0.1\"\nrequest_timeout_ms = 1000\nmax_connections = 4\n\n"
    << "[strategy]\nenabled = true\n\n"
    << "[signals]\ninflux = false\njsonl = \"" << (dir / "signals.jsonl").string() << "\"\n\n"
    << "[signals.redis]\nenabled = true\nport = " << redis_port << "\n\n"
    << "[shutdown]\ndeadline_ms = 3000\n";
  const fs::path path = dir / "run.toml";
  std::ofstream(path) << c.str();
  return path;
}

// The names of redis-server's named clients (CLIENT LIST `name=`).
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

std::string cmdline_of(pid_t pid) {
  std::string s = testing::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& ch : s)
    if (ch == '\0') ch = ' ';
  return s;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A raw connection that sends half a request and then nothing.
int half_request(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string partial = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a";
    ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
  }
  return fd;
}

class RunExposureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }
  void TearDown() override { ::unsetenv("REDIS_PASSWORD"); }

  // Everything an outsider can read, for the password checks.
  static void expect_nowhere(const std::string& secret, const std::string& stderr_text, const std::string& metrics,
                             const std::string& health, const std::string& jsonl, const std::string& cmdline) {
    EXPECT_EQ(stderr_text.find(secret), std::string::npos) << "stderr:\n" << stderr_text;
    EXPECT_EQ(metrics.find(secret), std::string::npos) << "in /metrics";
    EXPECT_EQ(health.find(secret), std::string::npos) << "/health:\n" << health;
    EXPECT_EQ(jsonl.find(secret), std::string::npos) << "in the signal JSONL";
    EXPECT_EQ(cmdline.find(secret), std::string::npos) << "cmdline: " << cmdline;
  }
};

TEST_F(RunExposureTest, RightPasswordAuthenticatesAtStart) {
  RedisProcess redis({.password = kPassword});
  TempDir dir("exposure-right");
  const fs::path config = write_config(dir.path, redis.port());
  ::setenv("REDIS_PASSWORD", kPassword, 1);  // the child inherits the environment
  const int port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--http-port", std::to_string(port)}, dir.path / "stderr");
  ::unsetenv("REDIS_PASSWORD");

  // Authenticated at start: no signal exists yet.
  ASSERT_TRUE(poll_until([&] { return client_names(redis) == std::vector<std::string>{"tickflow-signals"}; }, 10s))
      << tickflow.log();
  ASSERT_TRUE(poll_until([&] { return http_get(port, "/metrics").status == 200; }, 10s)) << tickflow.log();
  const std::string cmdline = cmdline_of(tickflow.pid());
  EXPECT_NE(cmdline.find("--config"), std::string::npos) << cmdline;  // it is the child's

  // The budget from [metrics]: 10 silent half-requests on 4 places, and a
  // scraper is still answered (the oldest make room).
  std::vector<int> slow;
  for (int i = 0; i < 10; ++i) slow.push_back(half_request(port));
  const auto t0 = std::chrono::steady_clock::now();
  const testing::HttpResult scraped = http_get(port, "/metrics");
  EXPECT_EQ(scraped.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
  for (int fd : slow) ::close(fd);

  const std::string metrics = scraped.body;
  EXPECT_EQ(metric(metrics, "tickflow_signal_redis_auth_failures_total"), 0.0);
  EXPECT_EQ(metric(metrics, "tickflow_signal_redis_connect_failures_total"), 0.0);
  const testing::HttpResult health = http_get(port, "/health");
  EXPECT_NE(health.status, 0);

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(15s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << tickflow.log();
  const std::string log = tickflow.log();
  EXPECT_EQ(log.find("is not a loopback address"), std::string::npos) << log;
  EXPECT_EQ(log.find("redis: AUTH"), std::string::npos) << log;
  ASSERT_TRUE(fs::exists(dir.path / "signals.jsonl"));
  expect_nowhere(kPassword, log, metrics, health.body, testing::read_file(dir.path / "signals.jsonl"), cmdline);
}

TEST_F(RunExposureTest, WrongPasswordIsOneNamedLineACounterAndNoCrash) {
  RedisProcess redis({.password = kPassword});
  TempDir dir("exposure-wrong");
  const fs::path config = write_config(dir.path, redis.port());
  ::setenv("REDIS_PASSWORD", kWrongPassword, 1);
  const int port = testing::free_loopback_port();
  Tickflow tickflow({"run", "--config", config.string(), "--http-port", std::to_string(port)}, dir.path / "stderr");
  ::unsetenv("REDIS_PASSWORD");

  const std::string refused = "redis: AUTH at 127.0.0.1:" + std::to_string(redis.port()) +
                              " refused: WRONGPASS invalid username-password pair or user is disabled. (the "
                              "password is REDIS_PASSWORD's)";
  // At start, without a signal.
  ASSERT_TRUE(poll_until([&] { return tickflow.log().find(refused) != std::string::npos; }, 10s)) << tickflow.log();
  std::string metrics;
  ASSERT_TRUE(poll_until(
      [&] {
        metrics = http_get(port, "/metrics").body;
        return metric(metrics, "tickflow_signal_redis_auth_failures_total").has_value();
      },
      10s))
      << tickflow.log();
  EXPECT_EQ(metric(metrics, "tickflow_signal_redis_auth_failures_total"), 1.0);
  EXPECT_EQ(metric(metrics, "tickflow_signal_redis_connect_failures_total"), 1.0);
  const std::string cmdline = cmdline_of(tickflow.pid());
  const testing::HttpResult health = http_get(port, "/health");
  EXPECT_TRUE(client_names(redis).empty());
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(tickflow.running()) << tickflow.log();

  tickflow.signal(SIGTERM);
  const auto status = tickflow.wait(15s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << tickflow.log();
  const std::string log = tickflow.log();
  EXPECT_EQ(count_of(log, refused), 1u) << log;  // named once, not once per retry
  const std::string jsonl = testing::read_file(dir.path / "signals.jsonl");
  for (const char* secret : {kPassword, kWrongPassword})
    expect_nowhere(secret, log, metrics, health.body, jsonl, cmdline);
}

}  // namespace
}  // namespace tickflow
