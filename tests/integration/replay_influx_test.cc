// `tickflow replay --influx` end to end, against a real influxd: the bars in
// InfluxDB equal the --bars-out file (the same encoder's bytes, last line
// wins per point), through a server stop and restart mid-replay, through a
// SIGKILL of tickflow while the server is down (the spool carries what was
// spooled), and with a type conflict that dead-letters lines (exit status 1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sinks/disk_spool.h"
#include "tests/integration/influx_points.h"
#include "tests/integration/influxd_process.h"

extern char** environ;

namespace tickflow {
namespace {

// What a replay of capture_args() writes beside its 939 bars: the BTC
// group's flow_<tf> points, one per closed interval (365: as many as
// `--stats-out` rows, EveryBarInInfluxDbEqualsTheBarsOutFile checks).
constexpr std::size_t kFlowPoints = 365;

using testing::InfluxdProcess;
namespace fs = std::filesystem;

using testing::parse_line_protocol;
using testing::Points;
using testing::query_points;

const std::string kData = TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades";

std::vector<std::string> capture_args() {
  return {"BINANCE=" + kData + "/spot_btcusdt.gz", "BINANCE_FUTURES=" + kData + "/usdm_btcusdt.gz",
          "BINANCE_FUTURES=" + kData + "/cm_btcusd_perp.gz"};
}

pid_t spawn_tickflow(const std::vector<std::string>& args, const fs::path& stderr_path) {
  std::vector<std::string> all = {TICKFLOW_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + std::string(TICKFLOW_BINARY));
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_tickflow(const std::vector<std::string>& args, const fs::path& stderr_path) {
  return wait_exit(spawn_tickflow(args, stderr_path));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Bars and flow statistics: what a replay writes.
Points server_points(const InfluxdProcess& influx) {
  Points points;
  for (const char* tf : {"1s", "1m", "5m", "15m", "30m", "1h", "4h"}) {
    query_points(influx, std::string("aggr_") + tf, std::string("trades_") + tf, points);
    query_points(influx, std::string("aggr_") + tf, std::string("flow_") + tf, points);
  }
  return points;
}

Points only_bars(const Points& points) {
  Points out;
  for (const auto& [key, fields] : points)
    if (std::get<0>(key).rfind("trades_", 0) == 0) out.emplace(key, fields);
  return out;
}

// Same points, same fields, values within 1e-12 relative.
void expect_same_points(const Points& expected, const Points& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  std::size_t mismatches = 0;
  for (const auto& [key, fields] : expected) {
    const auto it = actual.find(key);
    if (it == actual.end()) {
      if (mismatches++ < 5)
        ADD_FAILURE() << "missing " << std::get<0>(key) << " " << std::get<1>(key) << " " << std::get<2>(key);
      continue;
    }
    if (it->second.size() != fields.size()) {
      if (mismatches++ < 5) ADD_FAILURE() << "field count differs at " << std::get<0>(key) << " " << std::get<2>(key);
      continue;
    }
    for (const auto& [name, value] : fields) {
      const double got = it->second.at(name);
      if (std::abs(got - value) > 1e-12 * std::max(1.0, std::abs(value))) {
        if (mismatches++ < 5) ADD_FAILURE() << name << " at " << std::get<2>(key) << ": " << got << " vs " << value;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("tickflow-replay-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(ReplayInflux, EveryBarInInfluxDbEqualsTheBarsOutFile) {
  InfluxdProcess influx;
  TempDir dir("equal");
  std::vector<std::string> args = {"replay",      "--quiet",
                                   "--bars-out",  (dir.path / "bars.lp").string(),
                                   "--stats-out", (dir.path / "flow.csv").string(),
                                   "--influx",    influx.url(),
                                   "--spool",     (dir.path / "spool").string()};
  for (const auto& c : capture_args()) args.push_back(c);
  ASSERT_EQ(run_tickflow(args, dir.path / "stderr"), 0) << read_file(dir.path / "stderr");
  const Points file = parse_line_protocol(read_file(dir.path / "bars.lp"));
  EXPECT_EQ(file.size(), 939u);  // 891 1 s bars + 48 rollup bars (cli.replay counts the same)
  const Points server = server_points(influx);
  expect_same_points(file, only_bars(server));
  // Beside the bars, one flow_<tf> point per row of the flow CSV.
  const std::string csv = read_file(dir.path / "flow.csv");
  const auto flow_rows = static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')) - 1;
  EXPECT_EQ(flow_rows, kFlowPoints);
  EXPECT_EQ(server.size() - file.size(), flow_rows);
  const std::string err = read_file(dir.path / "stderr");
  EXPECT_NE(err.find("points written " + std::to_string(939 + flow_rows) + " "), std::string::npos) << err;
  EXPECT_NE(err.find("bar close to 204: p50"), std::string::npos) << err;
}

TEST(ReplayInflux, ServerStoppedAndRestartedMidReplayLosesNothing) {
  InfluxdProcess influx;
  TempDir dir("outage");
  // ~346 s of data at 100x: about 3.5 s of replay.
  std::vector<std::string> args = {"replay",     "--quiet",
                                   "--speed",    "100",
                                   "--bars-out", (dir.path / "bars.lp").string(),
                                   "--influx",   influx.url(),
                                   "--spool",    (dir.path / "spool").string()};
  for (const auto& c : capture_args()) args.push_back(c);
  const pid_t pid = spawn_tickflow(args, dir.path / "stderr");
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  influx.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  influx.start();
  ASSERT_EQ(wait_exit(pid), 0) << read_file(dir.path / "stderr");
  const std::string err = read_file(dir.path / "stderr");
  EXPECT_EQ(err.find("retries 0;"), std::string::npos) << "the outage must have been noticed:\n" << err;
  const Points server = server_points(influx);
  expect_same_points(parse_line_protocol(read_file(dir.path / "bars.lp")), only_bars(server));
  EXPECT_EQ(server.size(), 939u + kFlowPoints) << "and every flow_<tf> point";
}

TEST(ReplayInflux, SigkillWhileTheServerIsDownKeepsEverythingSpooled) {
  TempDir dir("sigkill");
  InfluxdProcess influx;
  influx.stop();  // down from the start: every sealed batch goes to the spool
  std::vector<std::string> args = {"replay",   "--quiet",    "--speed", "100",
                                   "--influx", influx.url(), "--spool", (dir.path / "spool").string()};
  for (const auto& c : capture_args()) args.push_back(c);
  const pid_t pid = spawn_tickflow(args, dir.path / "stderr");
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  ::kill(pid, SIGKILL);
  ASSERT_EQ(wait_exit(pid), 128 + SIGKILL);

  // What the killed process had spooled, read from a copy of the spool with
  // the spool's own reader (recovery truncates a record torn by the kill).
  fs::copy(dir.path / "spool", dir.path / "copy", fs::copy_options::recursive);
  std::string spooled_lines;
  std::uint64_t records = 0;
  {
    DiskSpool copy(SpoolConfig{.dir = dir.path / "copy"});
    std::string record;
    while (copy.front(record)) {
      spooled_lines += record.substr(record.find('\n') + 1);
      copy.pop_front();
      ++records;
    }
  }
  ASSERT_GT(records, 0u) << "two seconds of a replay at 100x must have spooled batches";
  const Points spooled = parse_line_protocol(spooled_lines);

  // The server comes back; a drain-only run delivers the spool, and exactly
  // the spooled points are in InfluxDB, with their values.
  influx.start();
  ASSERT_EQ(run_tickflow({"replay", "--influx", influx.url(), "--spool", (dir.path / "spool").string()},
                         dir.path / "stderr2"),
            0)
      << read_file(dir.path / "stderr2");
  expect_same_points(spooled, server_points(influx));
}

TEST(ReplayInflux, ATypeConflictDeadLettersAndFailsTheExitStatus) {
  InfluxdProcess influx;
  TempDir dir("conflict");
  influx.query("CREATE DATABASE significant_trades");
  influx.query("CREATE RETENTION POLICY aggr_1m ON significant_trades DURATION INF REPLICATION 1");
  // `close` already a string in trades_1m, in the shard the replay writes to
  // (types are per shard): every 1m bar line is rejected.
  {
    InfluxHttp http(influx.endpoint());
    ASSERT_EQ(http.write("aggr_1m", "s", "trades_1m,market=X close=\"text\" 1723161600").status, 204);
  }
  std::vector<std::string> args = {"replay",     "--quiet", "--influx",
                                   influx.url(), "--spool", (dir.path / "spool").string()};
  for (const auto& c : capture_args()) args.push_back(c);
  EXPECT_EQ(run_tickflow(args, dir.path / "stderr"), 1);
  const std::string err = read_file(dir.path / "stderr");
  EXPECT_NE(err.find("dead-lettered 20;"), std::string::npos) << err;  // the 20 1m bars
  const std::string dead = read_file(dir.path / "spool" / "dead-letter.lp");
  EXPECT_NE(dead.find("field type conflict"), std::string::npos);
  EXPECT_EQ(parse_line_protocol(dead).size(), 20u);
  Points server;
  query_points(influx, "aggr_1s", "trades_1s", server);
  EXPECT_EQ(server.size(), 891u) << "every other point landed";
}

TEST(ReplayInflux, DrainOnlyModeDeliversAnEarlierSpoolOrFailsByTheDeadline) {
  TempDir dir("drain");
  InfluxdProcess influx;
  influx.stop();
  std::vector<std::string> args = {"replay",   "--quiet",    "--deadline", "1",
                                   "--influx", influx.url(), "--spool",    (dir.path / "spool").string()};
  for (const auto& c : capture_args()) args.push_back(c);
  EXPECT_EQ(run_tickflow(args, dir.path / "stderr"), 0) << "all spooled is not lost:\n"
                                                        << read_file(dir.path / "stderr");
  EXPECT_NE(read_file(dir.path / "stderr").find("wait in the spool"), std::string::npos);

  // Server still down: the drain gives up after --deadline with status 1.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(
      run_tickflow({"replay", "--influx", influx.url(), "--spool", (dir.path / "spool").string(), "--deadline", "1"},
                   dir.path / "stderr2"),
      1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_NE(read_file(dir.path / "stderr2").find("still spooled"), std::string::npos)
      << read_file(dir.path / "stderr2");

  influx.start();
  EXPECT_EQ(run_tickflow({"replay", "--influx", influx.url(), "--spool", (dir.path / "spool").string()},
                         dir.path / "stderr3"),
            0)
      << read_file(dir.path / "stderr3");
  EXPECT_EQ(server_points(influx).size(), 939u + kFlowPoints);  // bars and flow statistics
}

}  // namespace
}  // namespace tickflow
