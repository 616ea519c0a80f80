// tests/integration/tickflow_child.h
//
// What the tests that run the `tickflow` binary as a child process share:
// a temporary directory, the child itself (stderr to a file, SIGKILLed if
// the test leaves early), plain HTTP GETs of /health and /metrics, a
// Prometheus sample reader, polling with a limit, and the re-timing of
// Binance frames (whole seconds added to "E" and "T", so a wall-clock
// aggregator takes 2024 captures as if they were live).
//
// Needs TICKFLOW_BINARY (the path of the binary) defined by the build, and
// libcurl.
#pragma once

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace tickflow::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("tickflow-run-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// `tickflow ARGS` as a child, stderr to a file; killed if the test leaves early.
class Tickflow {
 public:
  Tickflow(const std::vector<std::string>& args, fs::path stderr_path) : stderr_path_(std::move(stderr_path)) {
    std::vector<std::string> all = {TICKFLOW_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + std::string(TICKFLOW_BINARY));
  }
  ~Tickflow() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Tickflow(const Tickflow&) = delete;
  Tickflow& operator=(const Tickflow&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // The exit status, or nullopt when it has not exited within `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
    return status_;
  }
  std::string log() const { return read_file(stderr_path_); }
  pid_t pid() const noexcept { return pid_; }

 private:
  fs::path stderr_path_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// The exit status, or -1 when the child has not exited within `limit` (it
// is then killed).
inline int run_to_exit(const std::vector<std::string>& args, const fs::path& stderr_path,
                       std::chrono::milliseconds limit = 30s) {
  Tickflow t(args, stderr_path);
  const auto status = t.wait(limit);
  return status ? *status : -1;
}

struct HttpResult {
  long status = 0;
  std::string body;
};

inline std::size_t append_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

inline HttpResult http_get(int port, const std::string& path) {
  HttpResult r;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return r;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(curl);
  return r;
}

// The value of the first sample of `family` whose labels contain every one
// of `labels` (`exchange="BINANCE"`); nullopt when there is none.
inline std::optional<double> metric(const std::string& text, const std::string& family,
                                    const std::vector<std::string>& labels = {}) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, family.size(), family) != 0) continue;
    if (line.size() <= family.size() || (line[family.size()] != ' ' && line[family.size()] != '{')) continue;
    const std::size_t value_at = line.rfind(' ');
    const std::string name_and_labels = line.substr(0, value_at);
    bool all = true;
    for (const std::string& l : labels) all = all && name_and_labels.find(l) != std::string::npos;
    if (all) return std::stod(line.substr(value_at + 1));
  }
  return std::nullopt;
}

inline bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// The value of the integer field `"K":` of a Binance frame, and its span.
inline std::optional<std::pair<std::size_t, std::size_t>> field_span(const std::string& frame, const char* key) {
  std::size_t pos = frame.find(key);
  if (pos == std::string::npos) return std::nullopt;
  pos += std::char_traits<char>::length(key);
  std::size_t end = pos;
  while (end < frame.size() && frame[end] >= '0' && frame[end] <= '9') ++end;
  if (end == pos) return std::nullopt;
  return std::make_pair(pos, end - pos);
}

inline std::int64_t trade_time_ms(const std::string& frame) {
  const auto span = field_span(frame, "\"T\":");
  if (!span) throw std::runtime_error("no \"T\" in " + frame);
  return std::stoll(frame.substr(span->first, span->second));
}

// Adds `shift_ms` (whole seconds) to "E" and "T"; the digit count must not change.
inline std::vector<std::string> shift_frames(std::vector<std::string> frames, std::int64_t shift_ms) {
  for (std::string& f : frames) {
    for (const char* key : {"\"E\":", "\"T\":"}) {
      const auto span = field_span(f, key);
      if (!span) throw std::runtime_error(std::string("no ") + key + " in " + f);
      const std::string shifted = std::to_string(std::stoll(f.substr(span->first, span->second)) + shift_ms);
      if (shifted.size() != span->second) throw std::runtime_error("digit count changed: " + f);
      f.replace(span->first, span->second, shifted);
    }
  }
  return frames;
}

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tickflow::testing
