// bench/influx_ingest.cc: InfluxSink against a bare curl loop, same points,
// same freshly started local influxd, same run.
//
//   ./build/release/bench/influx_ingest [--points N] [--rounds R]
//
// Baseline: one `curl` process that reuses its connection (`--next` between
// requests), POSTing the points pre-encoded in 5000-line batches from files.
// Ours: InfluxSink fed the same lines one by one (add_line), batching and
// POSTing them itself, spool on. Every run gets its own freshly started
// influxd (an empty data directory): a server that is still compacting the
// previous run's data is measurably slower, whichever client follows. Rounds
// alternate which client goes first; each prints points/s for both and the
// ratio. The server is the ceiling: the figure that matters is the ratio.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sinks/influx_sink.h"
#include "tests/integration/influxd_process.h"

namespace {

using tickflow::InfluxSink;
using tickflow::InfluxSinkConfig;
using Clock = std::chrono::steady_clock;

// Bar-shaped lines: 12 float fields, 20 markets, consecutive seconds.
std::vector<std::string> make_lines(std::size_t n) {
  std::vector<std::string> lines;
  lines.reserve(n);
  char buffer[512];
  for (std::size_t i = 0; i < n; ++i) {
    const double p = 60000.0 + static_cast<double>(i % 977) * 0.25;
    const int len = std::snprintf(buffer, sizeof buffer,
                                  "trades_1s,market=BINANCE:m%zu open=%.2f,high=%.2f,low=%.2f,close=%.2f,vbuy=%.6f,"
                                  "vsell=%.6f,cbuy=%zu,csell=%zu,lbuy=0,lsell=0,qbuy=%.8f,qsell=%.8f %zu",
                                  i % 20, p, p + 1.5, p - 1.25, p + 0.5, p * 0.013, p * 0.021, i % 13, i % 7,
                                  0.013 + static_cast<double>(i % 5) * 1e-4, 0.021, 1'700'000'000 + i / 20);
    lines.emplace_back(buffer, static_cast<std::size_t>(len));
  }
  return lines;
}

double run_curl(const tickflow::testing::InfluxdProcess& influx, const std::string& db,
                const std::vector<std::string>& files) {
  std::vector<std::string> args = {"curl", "-sS", "-o", "/dev/null"};
  const std::string url = influx.url() + "/write?db=" + db + "&rp=aggr_1s&precision=s";
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i > 0) args.push_back("--next");
    for (const char* a : {"-sS", "-o", "/dev/null", "-H", "Expect:", "-H", "Content-Type: text/plain"})
      args.push_back(a);
    args.push_back("--data-binary");
    args.push_back("@" + files[i]);
    args.push_back(url);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto t0 = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp("curl", argv.data());
    std::_Exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "curl failed (status %d)\n", status);
    std::exit(1);
  }
  return seconds;
}

double run_sink(const tickflow::testing::InfluxdProcess& influx, const std::string& db,
                const std::vector<std::string>& lines, const std::filesystem::path& spool) {
  InfluxSinkConfig config;
  config.endpoint = influx.endpoint(db);
  config.retention = {{"aggr_1s", "INF"}};
  config.spool = tickflow::SpoolConfig{.dir = spool};
  InfluxSink sink(config);
  const auto t0 = Clock::now();
  for (const auto& line : lines) sink.add_line("aggr_1s", "s", line);
  if (!sink.flush(Clock::now() + std::chrono::minutes(5))) {
    std::fprintf(stderr, "sink did not deliver: %s\n", sink.last_problem().c_str());
    std::exit(1);
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t points = 500'000;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--points")
      points = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--rounds")
      rounds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: influx_ingest [--points N] [--rounds R]\n");
      return 2;
    }
  }
  const auto lines = make_lines(points);
  char pattern[] = "/tmp/tickflow-ingest-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return 1;
  const std::filesystem::path dir = pattern;
  std::vector<std::string> files;
  for (std::size_t start = 0; start < lines.size(); start += 5000) {
    files.push_back((dir / ("batch" + std::to_string(files.size()) + ".lp")).string());
    std::ofstream out(files.back(), std::ios::binary);
    for (std::size_t i = start; i < std::min(lines.size(), start + 5000); ++i) out << lines[i] << '\n';
  }
  std::printf("influx_ingest: %zu points in %zu batches of 5000, %d rounds, a fresh influxd per run\n", points,
              files.size(), rounds);
  std::fflush(stdout);  // before any fork: a child would print the buffer again
  std::vector<double> ratios;
  for (int round = 0; round < rounds; ++round) {
    const auto spool = dir / ("spool" + std::to_string(round));
    auto curl_run = [&] {
      tickflow::testing::InfluxdProcess influx;
      influx.query("CREATE DATABASE bench", "bench");
      influx.query("CREATE RETENTION POLICY aggr_1s ON bench DURATION INF REPLICATION 1", "bench");
      return run_curl(influx, "bench", files);
    };
    auto sink_run = [&] {
      tickflow::testing::InfluxdProcess influx;
      return run_sink(influx, "bench", lines, spool);
    };
    double curl_s = 0, sink_s = 0;
    if (round % 2 == 0) {
      curl_s = curl_run();
      sink_s = sink_run();
    } else {
      sink_s = sink_run();
      curl_s = curl_run();
    }
    const double curl_rate = static_cast<double>(points) / curl_s, sink_rate = static_cast<double>(points) / sink_s;
    ratios.push_back(sink_rate / curl_rate);
    std::printf("round %d: curl --next %.0f points/s (%.2f s)   InfluxSink %.0f points/s (%.2f s)   ratio %.2f\n",
                round + 1, curl_rate, curl_s, sink_rate, sink_s, sink_rate / curl_rate);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  std::sort(ratios.begin(), ratios.end());
  std::printf("median ratio (InfluxSink / curl): %.2f\n", ratios[ratios.size() / 2]);
  return 0;
}
