// bench/live_ingest.cc
//
// live_ingest: what a user runs, measured. `tickflow run` (a child process,
// its own binary) reads real Binance trade frames from a local TLS
// websocket server (bench/live_ingest_server.h, another child process) and
// live_ingest reports the CPU it spent per frame, per thread, against the
// in-memory pipeline (bench/e2e --mode max --trades-only) on the same
// frames, in the same invocation.
//
//   server child (fork):   pre-rendered websocket frames -> SSL_write, 1 MiB at a time
//   tickflow run (exec):   tf-feed-0 (TLS, websocket, parse, de-dup, publish)
//                          -> tf-agg (1 s bars, rollups) -> tf-writer (InfluxDB or none)
//   live_ingest:           /proc/PID/task/*/{stat,schedstat} at the first frame and
//                          when /metrics says the aggregator has every trade
//
// Frames: the @trade frames of spot BTCUSDT/ETHUSDT (connection BINANCE) and
// USD-M BTCUSDT/ETHUSDT (BINANCE_FUTURES) from binance-20240808, 51,252
// frames, repeated --repeat times (default 10: 512,520 frames) with times and
// ids moved on per repeat (bench/live_ingest_frames.h), re-timed from the
// wall clock when both connections are up so that the wall-clock aggregator
// takes every trade.
//
// The client's config is the base profile (--config, default the laptop
// profile) with [markets] replaced by those four markets, the endpoints
// pointed at the local server, backfill off (nothing leaves loopback), and
// [influx] either disabled (--sink null, the default: `--no-influx`) or
// pointed at a local influxd started by scripts/influxd.sh (--sink influx).
//
// Modes:
//   --pace 0 (default)  maximum speed: CPU per frame, per thread; e2e baseline
//   --pace N            N x the captured pace (1: about 6 minutes per repeat):
//                       also reads the bar-visibility histogram from /metrics
//                       (tickflow_bar_visible_seconds, or --vis-metric)
//
// Profiling hooks: --on-start 'CMD' runs CMD through /bin/sh at the first
// frame, with {pid}, {feed_tid} and {dir} replaced, and sends its process
// group SIGINT when the last trade is in (perf record -p, strace -c -p);
// --exec-prefix 'CMD' runs tickflow under CMD (valgrind --tool=callgrind).
//
// Output: a readable table on stderr, one JSON object on stdout.
// Commands and figures: bench/README.md ("The live edge").
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/live_ingest_frames.h"
#include "bench/live_ingest_server.h"

namespace tickflow::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

// "AMD EPYC (family 26 model 2 stepping 1, AuthenticAMD)": the model name
// alone says little on a VM.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name, family, model, stepping, vendor;
  while (std::getline(in, line)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "model name" && name.empty()) name = value;
    if (key == "cpu family" && family.empty()) family = value;
    if (key == "model" && model.empty()) model = value;
    if (key == "stepping" && stepping.empty()) stepping = value;
    if (key == "vendor_id" && vendor.empty()) vendor = value;
    if (line.empty() && !name.empty()) break;
  }
  return name + " (family " + family + " model " + model + " stepping " + stepping + ", " + vendor + ", " +
         std::to_string(std::thread::hardware_concurrency()) + " CPUs)";
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// GET http://127.0.0.1:port/path; the body, or nullopt.
std::optional<std::string> http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::string response;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return response.substr(body + 4);
}

// The sum of every sample of `name` (any labels) in a Prometheus text body.
std::optional<double> metric_sum(const std::string& text, const std::string& name) {
  std::optional<double> sum;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    const std::size_t space = line.rfind(' ');
    sum = sum.value_or(0) + std::stod(line.substr(space + 1));
  }
  return sum;
}

// CPU time of one thread, from /proc/PID/task/TID.
struct ThreadCpu {
  std::string name;
  std::int64_t ns = 0;     // schedstat: time on a CPU, ns
  std::int64_t ticks = 0;  // stat: utime + stime, clock ticks
};

struct CpuSnapshot {
  std::map<int, ThreadCpu> threads;
  std::int64_t process_ticks = 0;  // /proc/PID/stat: includes threads that exited
};

// utime + stime from a stat line (fields 14 and 15, counted after the comm's ')').
std::int64_t stat_ticks(const std::string& stat) {
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream in(stat.substr(paren + 2));
  std::string field;
  std::int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

CpuSnapshot snapshot(pid_t pid) {
  CpuSnapshot s;
  const fs::path proc = "/proc/" + std::to_string(pid);
  s.process_ticks = stat_ticks(read_text(proc / "stat"));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(proc / "task", ec)) {
    ThreadCpu t;
    t.name = trim(read_text(entry.path() / "comm"));
    t.ticks = stat_ticks(read_text(entry.path() / "stat"));
    std::istringstream sched(read_text(entry.path() / "schedstat"));
    sched >> t.ns;
    s.threads[std::stoi(entry.path().filename().string())] = t;
  }
  return s;
}

// Thread names grouped as the report shows them.
std::string thread_group(const std::string& comm) {
  if (comm.rfind("tf-feed", 0) == 0) return "feed";
  if (comm == "tf-agg") return "aggregator";
  if (comm == "tf-writer") return "writer";
  if (comm == "tf-http") return "http";
  if (comm == "tf-log") return "log";
  if (comm == "tickflow" || comm.rfind("memcheck", 0) == 0 || comm.rfind("callgrind", 0) == 0) return "main";
  return "other(" + comm + ")";
}

// Rewrites the base profile: the keys in `overrides` replace the base's in
// their table (tables the base lacks are appended), tables in `drop` go.
std::string derive_config(const std::string& base, const std::vector<std::pair<std::string, std::string>>& overrides,
                          const std::set<std::string>& drop) {
  std::map<std::string, std::vector<std::string>> keys;  // table -> "key = value" lines
  std::vector<std::string> order;
  for (const auto& [table_key, line] : overrides) {
    const std::size_t dot = table_key.rfind('.');
    const std::string table = table_key.substr(0, dot);
    if (keys.find(table) == keys.end()) order.push_back(table);
    keys[table].push_back(table_key.substr(dot + 1) + " = " + line);
  }
  std::set<std::string> seen;
  std::string out, table;
  bool dropping = false;
  std::istringstream in(base);
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (!t.empty() && t[0] == '[') {
      const bool array = t.rfind("[[", 0) == 0;
      const std::size_t close = t.find(']');
      table = t.substr(array ? 2 : 1, close - (array ? 2 : 1));
      dropping = drop.count(table) != 0 || drop.count(table.substr(0, table.find('.'))) != 0;
      if (dropping) continue;
      out += line + "\n";
      if (keys.count(table) != 0 && !array) {
        seen.insert(table);
        for (const std::string& k : keys[table]) out += k + "\n";
      }
      continue;
    }
    if (dropping) continue;
    if (keys.count(table) != 0 && !t.empty() && t[0] != '#') {
      const std::string key = trim(t.substr(0, t.find('=')));
      const bool overridden = std::any_of(keys[table].begin(), keys[table].end(),
                                          [&](const std::string& k) { return k.rfind(key + " = ", 0) == 0; });
      if (overridden) continue;
    }
    out += line + "\n";
  }
  for (const std::string& t : order) {
    if (seen.count(t) != 0) continue;
    out += "\n[" + t + "]\n";
    for (const std::string& k : keys[t]) out += k + "\n";
  }
  return out;
}

std::string toml_string(const std::string& s) { return "\"" + s + "\""; }

struct Options {
  std::string config, data, tickflow, e2e, sink = "null", tls_records = "tickflow", on_start, exec_prefix, vis_metric,
                                           influxd_script;
  int repeat = 10, runs = 1, frames_per_write = 0, records_per_send = 0, hook_delay_ms = 1500;
  double pace = 0;
  double timeout_s = 0;
  bool no_e2e = false, keep = false, unpinned = true;
};

struct E2eResult {
  bool ok = false;
  double cpu_s = 0;
  std::uint64_t frames = 0, late_drops = 0;
};

double json_number(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::stod(json.substr(at + key.size() + 3));
}

// bench/e2e --mode max --trades-only over the same four captures, `times`
// times (one e2e run is 51,252 frames: tens of ms, too short alone).
E2eResult run_e2e(const Options& o, const fs::path& dir4, int times, const fs::path& log) {
  E2eResult r;
  r.ok = true;
  for (int i = 0; i < times; ++i) {
    const std::string cmd = "'" + o.e2e + "' --mode max --trades-only --data '" + dir4.string() + "' --config '" +
                            o.config + "' 2>>'" + log.string() + "'";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string json;
    char buf[4096];
    std::size_t n;
    while (p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0) json.append(buf, n);
    const int status = p != nullptr ? ::pclose(p) : -1;
    if (status != 0 || json_number(json, "cpu_s") < 0) {
      r.ok = false;
      return r;
    }
    r.cpu_s += json_number(json, "cpu_s");
    r.frames += static_cast<std::uint64_t>(json_number(json, "frames"));
    r.late_drops += static_cast<std::uint64_t>(json_number(json, "late_drops"));
  }
  return r;
}

struct Quantiles {
  std::string labels;
  double count = 0, p50 = -1, p99 = -1, p999 = -1, max = -1;
  bool from_buckets = false;
};

// The visibility metric: a Prometheus histogram (name_bucket{...,le=".."})
// and/or summary (name{...,quantile=".."}), per label set without le/quantile.
std::vector<Quantiles> read_visibility(const std::string& text, const std::string& name) {
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // le, cumulative count
    std::map<std::string, double> quantiles;
    double count = -1, max = -1;
  };
  std::map<std::string, Series> series;
  std::istringstream in(text);
  std::string line;
  auto split_labels = [](const std::string& labels, const std::string& drop, std::string& dropped) {
    std::string rest;
    std::size_t at = 0;
    while (at < labels.size()) {
      std::size_t end = labels.find("\",", at);
      end = end == std::string::npos ? labels.size() : end + 1;
      const std::string kv = labels.substr(at, end - at);
      if (kv.rfind(drop + "=", 0) == 0)
        dropped = kv.substr(drop.size() + 2, kv.size() - drop.size() - 3);
      else
        rest += (rest.empty() ? "" : ",") + kv;
      at = end + 1;
    }
    return rest;
  };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) continue;
    const std::size_t brace = line.find('{'), close = line.rfind('}'), space = line.rfind(' ');
    const std::string metric = line.substr(0, std::min(brace, space));
    const std::string labels = brace != std::string::npos && close != std::string::npos
                                   ? line.substr(brace + 1, close - brace - 1)
                                   : std::string();
    const double value = std::stod(line.substr(space + 1));
    std::string dropped;
    if (metric == name + "_bucket") {
      const std::string key = split_labels(labels, "le", dropped);
      series[key].buckets.emplace_back(dropped == "+Inf" ? 1e300 : std::stod(dropped), value);
    } else if (metric == name) {
      const std::string key = split_labels(labels, "quantile", dropped);
      if (!dropped.empty()) series[key].quantiles[dropped] = value;
    } else if (metric == name + "_count") {
      series[labels].count = value;
    } else if (metric == name + "_max") {
      series[labels].max = value;
    }
  }
  std::vector<Quantiles> out;
  for (auto& entry : series) {
    Series& s = entry.second;
    Quantiles q;
    q.labels = entry.first;
    q.count = s.count;
    q.max = s.max;
    if (!s.quantiles.empty()) {
      if (s.quantiles.count("0.5")) q.p50 = s.quantiles["0.5"];
      if (s.quantiles.count("0.99")) q.p99 = s.quantiles["0.99"];
      if (s.quantiles.count("0.999")) q.p999 = s.quantiles["0.999"];
      if (s.quantiles.count("1")) q.max = s.quantiles["1"];
    } else if (!s.buckets.empty()) {
      // Upper bounds of the buckets holding each quantile.
      std::sort(s.buckets.begin(), s.buckets.end());
      q.from_buckets = true;
      const double total = s.buckets.back().second;
      if (q.count < 0) q.count = total;
      auto at = [&](double quantile) {
        for (const auto& [le, cum] : s.buckets)
          if (cum >= quantile * total) return le;
        return -1.0;
      };
      if (total > 0) {
        q.p50 = at(0.5);
        q.p99 = at(0.99);
        q.p999 = at(0.999);
        if (q.max < 0) q.max = at(1.0);
      }
    }
    out.push_back(q);
  }
  return out;
}

struct LiveResult {
  bool ok = false;
  std::string error;
  std::uint64_t frames = 0;
  double wall_s = 0;
  std::map<std::string, double> cpu_s;  // by group, schedstat
  double cpu_total_s = 0, cpu_total_ticks_s = 0;
  std::map<std::string, double> counters;
  std::vector<Quantiles> visibility;
  std::string visibility_note;
  int exit_status = -1;
};

LiveResult run_live(const Options& o, const LiveFrames& frames, const fs::path& dir, int run_index) {
  LiveResult r;
  const fs::path run_dir = dir / ("run" + std::to_string(run_index));
  fs::create_directories(run_dir);
  ReplayServer server(frames, {.repeats = o.repeat,
                               .pace = o.pace,
                               .frames_per_write = o.frames_per_write,
                               .records_per_send = o.records_per_send,
                               .gated = !o.on_start.empty(),
                               .gate_ms = o.hook_delay_ms,
                               .cert_dir = run_dir.string()});
  const int http_port = free_port();
  std::vector<std::pair<std::string, std::string>> overrides = {
      {"markets.BINANCE", "[\"btcusdt\", \"ethusdt\"]"},
      {"markets.BINANCE_FUTURES", "[\"btcusdt\", \"ethusdt\"]"},
      {"feeds.backfill", "false"},  // gaps would ask the real Binance REST API
      {"feeds.tls_records", toml_string(o.tls_records)},
  };
  for (std::size_t v = 0; v < frames.venues.size(); ++v) {
    overrides.push_back({"feeds.endpoints." + frames.venues[v] + ".host", toml_string("127.0.0.1")});
    overrides.push_back({"feeds.endpoints." + frames.venues[v] + ".port", std::to_string(server.port(v))});
    overrides.push_back({"feeds.endpoints." + frames.venues[v] + ".ca_file", toml_string(server.ca_file())});
  }
  std::string influx_url;
  const fs::path influx_dir = dir / "influxdb";
  if (o.sink == "influx") {
    const std::string cmd =
        "'" + o.influxd_script + "' start --dir '" + influx_dir.string() + "' --port " + std::to_string(free_port());
    FILE* p = ::popen(cmd.c_str(), "r");
    char buf[512] = {};
    if (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) influx_url = trim(buf);
    if (p == nullptr || ::pclose(p) != 0 || influx_url.empty()) {
      r.error = "scripts/influxd.sh could not start an InfluxDB";
      return r;
    }
    overrides.push_back({"influx.enabled", "true"});
    overrides.push_back({"influx.url", toml_string(influx_url)});
    overrides.push_back({"influx.database", toml_string("tickflow_live_ingest")});
    overrides.push_back({"influx.spool_dir", toml_string((run_dir / "spool").string())});
  }
  const std::string config = derive_config(read_text(o.config), overrides, {"markets"});
  const fs::path config_path = run_dir / "run.toml";
  std::ofstream(config_path) << config;

  server.start();
  const std::string args = "'" + o.tickflow + "' run --config '" + config_path.string() + "' --http-port " +
                           std::to_string(http_port) + (o.unpinned ? " --unpinned" : "") +
                           (o.sink == "null" ? " --no-influx" : "");
  const fs::path log = run_dir / "tickflow.log";
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(run_dir.c_str()) != 0) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string sh = "exec " + o.exec_prefix + " " + args;
    ::execl("/bin/sh", "sh", "-c", sh.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto alive = [&] {
    int status = 0;
    if (r.exit_status >= 0) return false;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  };
  auto tail = [&] {
    const std::string text = read_text(log);
    return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
  };
  auto stop_tickflow = [&] {
    if (alive()) ::kill(pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (alive() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (alive()) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  };
  auto stop_influx = [&] {
    if (o.sink == "influx") {
      const std::string cmd = "'" + o.influxd_script + "' stop --dir '" + influx_dir.string() + "' >/dev/null 2>&1";
      (void)!std::system(cmd.c_str());
    }
  };

  // --on-start: the hook, in a process group of its own (SIGINT at the end).
  auto start_hook = [&]() -> pid_t {
    int feed_tid = 0;
    for (const auto& [tid, t] : snapshot(pid).threads)
      if (t.name.rfind("tf-feed", 0) == 0) feed_tid = tid;
    std::string cmd = o.on_start;
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"{pid}", std::to_string(pid)}, {"{feed_tid}", std::to_string(feed_tid)}, {"{dir}", run_dir.string()}})
      for (std::size_t at; (at = cmd.find(from)) != std::string::npos;) cmd.replace(at, from.size(), to);
    const pid_t hook = ::fork();
    if (hook == 0) {
      ::setpgid(0, 0);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::fprintf(stderr, "live_ingest: --on-start: %s (pid %d)\n", cmd.c_str(), hook);
    return hook;
  };

  // Wait for both connections and the first frame. With --on-start the
  // hook starts first (when the server is ready) and gets --hook-delay-ms
  // to attach before the first frame.
  ReplayServer::Event started;
  pid_t hook = -1;
  const auto connect_deadline = Clock::now() + std::chrono::seconds(180);
  while (Clock::now() < connect_deadline) {
    started = server.wait_event(std::chrono::milliseconds(500));
    if (started.kind == ReplayServer::EventKind::kReady) {
      hook = start_hook();
      std::this_thread::sleep_for(std::chrono::milliseconds(o.hook_delay_ms));
      server.go();
      continue;
    }
    if (started.kind != ReplayServer::EventKind::kTimeout) break;
    if (!alive()) break;
  }
  if (started.kind != ReplayServer::EventKind::kStarted) {
    r.error = started.kind == ReplayServer::EventKind::kError
                  ? "server: " + started.text
                  : "no start (tickflow exit " + std::to_string(r.exit_status) + ")";
    r.error += "\n" + tail();
    stop_tickflow();
    stop_influx();
    return r;
  }
  const CpuSnapshot before = snapshot(pid);
  const auto wall_before = Clock::now();

  const std::uint64_t expected = frames.frames.size() * static_cast<std::uint64_t>(o.repeat);
  const double span_s = o.pace > 0 ? static_cast<double>(frames.period_ms) * o.repeat / 1000.0 / o.pace : 0.0;
  const double timeout_s = o.timeout_s > 0 ? o.timeout_s : span_s + 300;
  const auto poll_every = std::chrono::milliseconds(10);
  std::string metrics;
  bool all_in = false;
  // /metrics costs the client's HTTP thread ~0.3 ms a request: ask only
  // once the server has written every frame (at maximum speed the socket
  // buffers then hold the last few MB), then often.
  bool served = false;
  while (Clock::now() - wall_before < std::chrono::duration<double>(timeout_s)) {
    if (!served) {
      const ReplayServer::Event e = server.wait_event(std::chrono::milliseconds(500));
      if (e.kind == ReplayServer::EventKind::kError) {
        r.error = "server: " + e.text;
        break;
      }
      served = e.kind == ReplayServer::EventKind::kDone;
      if (!alive()) break;
      continue;
    }
    std::this_thread::sleep_for(poll_every);
    if (!alive()) break;
    if (auto body = http_get(http_port, "/metrics")) {
      metrics = *body;
      const auto trades = metric_sum(metrics, "tickflow_aggregator_trades_total");
      if (trades && *trades >= static_cast<double>(expected)) {
        all_in = true;
        break;
      }
    }
  }
  const CpuSnapshot after = snapshot(pid);
  r.wall_s = std::chrono::duration<double>(Clock::now() - wall_before).count();
  if (hook > 0) {
    ::kill(-hook, SIGINT);
    ::waitpid(hook, nullptr, 0);
  }
  r.frames = expected;
  for (const auto& [tid, t] : after.threads) {
    const auto it = before.threads.find(tid);
    const std::int64_t ns = t.ns - (it != before.threads.end() ? it->second.ns : 0);
    r.cpu_s[tid == pid ? "main" : thread_group(t.name)] += static_cast<double>(ns) / 1e9;
    r.cpu_total_s += static_cast<double>(ns) / 1e9;
  }
  r.cpu_total_ticks_s =
      static_cast<double>(after.process_ticks - before.process_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));

  if (o.pace > 0 && all_in) {
    // The last bars close on the wall clock (quiet delay) and go out with
    // the next batch: give them a few seconds before reading the histogram.
    std::this_thread::sleep_for(std::chrono::seconds(5));
    if (auto body = http_get(http_port, "/metrics")) metrics = *body;
    r.visibility = read_visibility(metrics, o.vis_metric);
    if (r.visibility.empty())
      r.visibility_note = "no " + o.vis_metric + " in /metrics (the bar-visibility histogram has not landed yet)";
    if (o.sink != "influx") r.visibility_note += " (--sink null: nothing is acknowledged; use --sink influx)";
  } else if (all_in) {
    if (auto body = http_get(http_port, "/metrics")) metrics = *body;
  }
  for (const char* name :
       {"tickflow_aggregator_trades_total", "tickflow_feed_frames_total", "tickflow_feed_trades_total",
        "tickflow_feed_duplicates_total", "tickflow_feed_reconnects_total", "tickflow_feed_disconnects_total",
        "tickflow_feed_parse_errors_total", "tickflow_feed_gaps_total", "tickflow_late_drops_total",
        "tickflow_bars_total", "tickflow_bar_amendments_total", "tickflow_ring_full_total",
        "tickflow_sink_points_written_total"})
    if (auto v = metric_sum(metrics, name)) r.counters[name] = *v;
  stop_tickflow();
  stop_influx();
  if (!all_in) {
    r.error += std::string(r.error.empty() ? "" : "; ") + "not every trade reached the aggregator within " +
               std::to_string(timeout_s) + " s (" + std::to_string(r.counters["tickflow_aggregator_trades_total"]) +
               " of " + std::to_string(expected) + ")\n" + tail();
    return r;
  }
  r.ok = true;
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string fmt(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

int run(int argc, char** argv) {
  const fs::path self_dir = fs::absolute(fs::path(argv[0])).parent_path();
  Options o;
  o.config = std::string(TICKFLOW_SOURCE_DIR) + "/tuning/laptop-2core.toml";
  o.data = std::string(TICKFLOW_SOURCE_DIR) + "/../shared/data/binance-20240808";
  o.tickflow = (self_dir.parent_path() / "runtime" / "tickflow").string();
  o.e2e = (self_dir / "e2e").string();
  o.influxd_script = std::string(TICKFLOW_SOURCE_DIR) + "/scripts/influxd.sh";
  o.vis_metric = "tickflow_bar_visible_seconds";
  CLI::App app{
      "live_ingest: tickflow run fed by a local TLS websocket server, CPU per frame per thread, against "
      "bench/e2e in the same run (bench/README.md, \"The live edge\")"};
  app.add_option("--config", o.config, "Base tuning profile (threads, waits, rings, bars)")->option_text("FILE");
  app.add_option("--data", o.data, "Directory with binance-20240808's spot_/usdm_ *.gz captures")->option_text("DIR");
  app.add_option("--repeat", o.repeat, "Serve the frames N times (default 10: 512,520 frames)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--pace", o.pace, "0: maximum speed (default); N: N x the captured pace")->check(CLI::Range(0.0, 1e6));
  app.add_option("--frames-per-write", o.frames_per_write,
                 "Maximum speed: N frames per SSL_write (1: one TLS record per frame); 0: 1 MiB writes (default)");
  app.add_option("--records-per-send", o.records_per_send,
                 "With --frames-per-write: the records of N writes leave in one send() (a busy exchange's "
                 "kernel coalescing); 0: each write at once (default)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--tls-records", o.tls_records,
                 "tickflow: TLS 1.3 records opened by Tls13RecordReader (default) | openssl: by SSL_read")
      ->check(CLI::IsMember({"tickflow", "openssl"}));
  app.add_option("--runs", o.runs, "Runs (e2e baseline, then tickflow run), medians reported")
      ->check(CLI::Range(1, 100));
  app.add_option("--sink", o.sink, "null: --no-influx (default) | influx: a local influxd (scripts/influxd.sh)")
      ->check(CLI::IsMember({"null", "influx"}));
  app.add_option("--tickflow", o.tickflow, "The tickflow binary")->option_text("PATH");
  app.add_option("--e2e", o.e2e, "The bench/e2e binary")->option_text("PATH");
  app.add_flag("--no-e2e", o.no_e2e, "Skip the in-memory baseline");
  app.add_option("--on-start", o.on_start,
                 "Shell command at the first frame ({pid} {feed_tid} {dir}); SIGINT at the end");
  app.add_option("--hook-delay-ms", o.hook_delay_ms, "--on-start: wait this long for it before the first frame");
  app.add_option("--exec-prefix", o.exec_prefix, "Run tickflow under this command (valgrind ...)");
  app.add_option("--vis-metric", o.vis_metric, "The bar-visibility metric (--pace)");
  app.add_option("--timeout-s", o.timeout_s, "Give up after this long from the first frame (default: span + 300 s)");
  app.add_flag("--keep", o.keep, "Keep the temporary directory (configs, logs, certificates)");
  CLI11_PARSE(app, argc, argv);
  if (app.count("--data") == 0 && !fs::exists(o.data))
    o.data = std::string(TICKFLOW_SOURCE_DIR) + "/tests/data/binance-20240808-trades";
  o.config = fs::absolute(o.config).string();
  o.tickflow = fs::absolute(o.tickflow).string();
  o.e2e = fs::absolute(o.e2e).string();
  if (!fs::exists(o.tickflow)) throw std::runtime_error("no tickflow binary at " + o.tickflow + " (--tickflow)");
  if (o.records_per_send > 0 && (o.frames_per_write <= 0 || o.pace > 0))
    throw std::runtime_error("--records-per-send needs --frames-per-write N at maximum speed");
  ::signal(SIGPIPE, SIG_IGN);

  const LiveFrames frames = load_live_frames(o.data);
  const std::uint64_t per_repeat = frames.frames.size();
  std::fprintf(stderr, "live_ingest: %zu @trade frames per repeat (%zu BINANCE, %zu BINANCE_FUTURES), x%d = %llu\n",
               frames.frames.size(), frames.frames_of(0), frames.frames_of(1), o.repeat,
               static_cast<unsigned long long>(per_repeat * static_cast<std::uint64_t>(o.repeat)));

  char tmpl[] = "/tmp/live_ingest.XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);
  const fs::path dir4 = dir / "captures";  // the four files only, for e2e
  fs::create_directories(dir4);
  for (const std::string& f : frames.capture_files) fs::create_symlink(fs::absolute(f), dir4 / fs::path(f).filename());

  const std::string cpu = cpu_model();
  std::vector<LiveResult> lives;
  std::vector<E2eResult> e2es;
  for (int i = 0; i < o.runs; ++i) {
    if (!o.no_e2e && o.pace == 0) {
      e2es.push_back(run_e2e(o, dir4, o.repeat, dir / "e2e.stderr"));
      if (!e2es.back().ok) std::fprintf(stderr, "live_ingest: e2e failed: %s\n", read_text(dir / "e2e.stderr").c_str());
    }
    lives.push_back(run_live(o, frames, dir, i));
    if (!lives.back().ok) {
      std::fprintf(stderr, "live_ingest: run %d failed: %s\n", i, lives.back().error.c_str());
      std::fprintf(stderr, "live_ingest: files kept in %s\n", dir.c_str());
      return 1;
    }
  }

  // Per run: µs per frame, by thread group; the median over runs.
  std::set<std::string> groups;
  for (const LiveResult& l : lives)
    for (const auto& [g, s] : l.cpu_s) groups.insert(g);
  auto us_per_frame = [](double s, std::uint64_t frames) { return frames ? s * 1e6 / static_cast<double>(frames) : 0; };
  // The ratio leaves out the HTTP thread: its CPU is the harness's own
  // /metrics polling (shown on its own line).
  std::vector<double> live_us, e2e_us, ratio, tick_us, pipeline_us;
  for (std::size_t i = 0; i < lives.size(); ++i) {
    live_us.push_back(us_per_frame(lives[i].cpu_total_s, lives[i].frames));
    const double http = lives[i].cpu_s.count("http") ? lives[i].cpu_s.at("http") : 0.0;
    pipeline_us.push_back(us_per_frame(lives[i].cpu_total_s - http, lives[i].frames));
    tick_us.push_back(us_per_frame(lives[i].cpu_total_ticks_s, lives[i].frames));
    if (i < e2es.size() && e2es[i].ok) {
      e2e_us.push_back(us_per_frame(e2es[i].cpu_s, e2es[i].frames));
      ratio.push_back(pipeline_us.back() / e2e_us.back());
    }
  }

  std::string json = "{\n";
  auto field = [&](const std::string& text) { json += "  " + text + ",\n"; };
  field("\"cpu\": \"" + cpu + "\"");
  field("\"profile\": \"" + fs::path(o.config).filename().string() + "\"");
  field("\"sink\": \"" + o.sink + "\"");
  field("\"pace\": " + fmt(o.pace, 2));
  field("\"frames_per_write\": " + std::to_string(o.frames_per_write));
  field("\"records_per_send\": " + std::to_string(o.records_per_send));
  field("\"tls_records\": \"" + o.tls_records + "\"");
  field("\"frames\": " + std::to_string(lives.front().frames));
  field("\"runs\": " + std::to_string(lives.size()));
  std::string per_run = "[";
  for (std::size_t i = 0; i < lives.size(); ++i) {
    const LiveResult& l = lives[i];
    per_run += std::string(i ? ", " : "") + "{\"wall_s\": " + fmt(l.wall_s) + ", \"cpu_s\": " + fmt(l.cpu_total_s) +
               ", \"cpu_s_proc_stat\": " + fmt(l.cpu_total_ticks_s, 2) + ", \"us_per_frame\": " + fmt(live_us[i]) +
               ", \"us_per_frame_without_http\": " + fmt(pipeline_us[i]);
    for (const auto& [g, s] : l.cpu_s) per_run += ", \"" + g + "_us_per_frame\": " + fmt(us_per_frame(s, l.frames));
    if (i < e2es.size() && e2es[i].ok)
      per_run += ", \"e2e_cpu_s\": " + fmt(e2es[i].cpu_s) + ", \"e2e_frames\": " + std::to_string(e2es[i].frames) +
                 ", \"e2e_us_per_frame\": " + fmt(e2e_us[i]) +
                 ", \"e2e_late_drops\": " + std::to_string(e2es[i].late_drops) +
                 ", \"ratio_live_to_e2e\": " + fmt(ratio[i], 2);
    per_run += ", \"counters\": {";
    bool first = true;
    for (const auto& [k, v] : l.counters) {
      per_run += std::string(first ? "" : ", ") + "\"" + k + "\": " + fmt(v, 0);
      first = false;
    }
    per_run += "}}";
  }
  field("\"per_run\": " + per_run + "]");
  for (const std::string& g : groups) {
    std::vector<double> v;
    for (const LiveResult& l : lives) v.push_back(us_per_frame(l.cpu_s.count(g) ? l.cpu_s.at(g) : 0, l.frames));
    field("\"median_" + g + "_us_per_frame\": " + fmt(median(v)));
  }
  field("\"median_live_us_per_frame\": " + fmt(median(live_us)));
  field("\"median_live_frames_per_cpu_s\": " + fmt(1e6 / median(live_us), 0));
  field("\"median_live_us_per_frame_without_http\": " + fmt(median(pipeline_us)));
  if (!e2e_us.empty()) {
    field("\"median_e2e_us_per_frame\": " + fmt(median(e2e_us)));
    field("\"median_ratio_live_to_e2e\": " + fmt(median(ratio), 2));
  }
  if (o.pace > 0) {
    std::string vis = "[";
    for (const Quantiles& q : lives.back().visibility) {
      std::string labels = q.labels;
      for (std::size_t at; (at = labels.find('"')) != std::string::npos;) labels.replace(at, 1, "'");
      vis += std::string(vis.size() > 1 ? ", " : "") + "{\"labels\": \"" + labels +
             "\", \"count\": " + fmt(q.count, 0) + ", \"p50_s\": " + fmt(q.p50) + ", \"p99_s\": " + fmt(q.p99) +
             ", \"p999_s\": " + fmt(q.p999) + ", \"max_s\": " + fmt(q.max) +
             ", \"from_bucket_bounds\": " + (q.from_buckets ? "true" : "false") + "}";
    }
    field("\"bar_visibility\": " + vis + "]");
    if (!lives.back().visibility_note.empty())
      field("\"bar_visibility_note\": \"" + lives.back().visibility_note + "\"");
  }
  json += "  \"median_live_wall_s\": " + fmt(median([&] {
            std::vector<double> v;
            for (const LiveResult& l : lives) v.push_back(l.wall_s);
            return v;
          }())) +
          "\n}\n";
  std::fputs(json.c_str(), stdout);

  // The readable table.
  std::fprintf(stderr, "\nlive_ingest on %s, profile %s, sink %s, %s\n", cpu.c_str(),
               fs::path(o.config).filename().c_str(), o.sink.c_str(),
               o.pace > 0 ? ("pace x" + fmt(o.pace, 1)).c_str() : "maximum speed");
  std::fprintf(stderr, "%-22s", "CPU us per frame");
  for (std::size_t i = 0; i < lives.size(); ++i) std::fprintf(stderr, "  run %-5zu", i);
  std::fprintf(stderr, "  median\n");
  for (const std::string& g : groups) {
    std::fprintf(stderr, "  %-20s", g.c_str());
    std::vector<double> v;
    for (const LiveResult& l : lives) {
      v.push_back(us_per_frame(l.cpu_s.count(g) ? l.cpu_s.at(g) : 0, l.frames));
      std::fprintf(stderr, "  %9.3f", v.back());
    }
    std::fprintf(stderr, "  %7.3f\n", median(v));
  }
  std::fprintf(stderr, "  %-20s", "tickflow run, total");
  for (double v : live_us) std::fprintf(stderr, "  %9.3f", v);
  std::fprintf(stderr, "  %7.3f   (%.0f frames per CPU second)\n", median(live_us), 1e6 / median(live_us));
  std::fprintf(stderr, "  %-20s", "total without http");
  for (double v : pipeline_us) std::fprintf(stderr, "  %9.3f", v);
  std::fprintf(stderr, "  %7.3f\n", median(pipeline_us));
  std::fprintf(stderr, "  %-20s", "  (/proc/PID/stat)");
  for (double v : tick_us) std::fprintf(stderr, "  %9.3f", v);
  std::fprintf(stderr, "\n");
  if (!e2e_us.empty()) {
    std::fprintf(stderr, "  %-20s", "e2e --trades-only");
    for (double v : e2e_us) std::fprintf(stderr, "  %9.3f", v);
    std::fprintf(stderr, "  %7.3f\n", median(e2e_us));
    std::fprintf(stderr, "  %-20s", "live (no http) / e2e");
    for (double v : ratio) std::fprintf(stderr, "  %9.2f", v);
    std::fprintf(stderr, "  %7.2f   (bar <= 2, stretch <= 1.5)\n", median(ratio));
  }
  if (o.pace > 0) {
    std::fprintf(stderr, "bar visibility (%s):\n", o.vis_metric.c_str());
    for (const Quantiles& q : lives.back().visibility)
      std::fprintf(stderr, "  {%s} count %.0f  p50 %.3f s  p99 %.3f s  p99.9 %.3f s  max %.3f s%s\n", q.labels.c_str(),
                   q.count, q.p50, q.p99, q.p999, q.max, q.from_buckets ? "  (bucket upper bounds)" : "");
    if (!lives.back().visibility_note.empty()) std::fprintf(stderr, "  %s\n", lives.back().visibility_note.c_str());
  }
  if (o.keep)
    std::fprintf(stderr, "live_ingest: files kept in %s\n", dir.c_str());
  else
    fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace tickflow::bench

int main(int argc, char** argv) {
  try {
    return tickflow::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "live_ingest: %s\n", e.what());
    return 2;
  }
}
