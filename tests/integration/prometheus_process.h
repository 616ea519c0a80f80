// tests/integration/prometheus_process.h
//
// PrometheusProcess: a real `prometheus` server (Debian package
// `prometheus`, 2.x) for one test:
//
//   PrometheusProcess prom({.targets = {"127.0.0.1:" + std::to_string(port)},
//                           .rule_files = {rules_path}});
//   auto r = prom.query("rate(tickflow_feed_frames_total[10s])");
//
// It listens on a free 127.0.0.1 port, keeps its TSDB and config in its own
// temporary directory, scrapes the targets as job `tickflow` (the name the
// shipped rules and prometheus.yml use) every scrape_interval, evaluates
// the rule files every evaluation_interval, and is stopped (SIGTERM, then
// SIGKILL after 10 s) and its directory removed by the destructor. The
// constructor waits for /-/ready.
//
// query(), alerts() and rule_health() use the HTTP API (/api/v1/query,
// /api/v1/alerts, /api/v1/rules)
// with libcurl and parse the JSON with simdjson.
#pragma once

#include <curl/curl.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/influxd_process.h"  // free_loopback_port()
#include "tests/integration/tickflow_child.h"   // http_get()

namespace tickflow::testing {

// One element of an instant vector: its labels and value (NaN stays NaN).
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// One alert of /api/v1/alerts.
struct PromAlert {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string state;  // "pending" or "firing"
};

class PrometheusProcess {
 public:
  struct Options {
    std::vector<std::string> targets{};     // host:port, scraped at /metrics
    std::vector<std::string> rule_files{};  // absolute paths
    std::string scrape_interval = "1s";
    std::string evaluation_interval = "1s";
  };

  explicit PrometheusProcess(Options options) : options_(std::move(options)) {
    char pattern[] = "/tmp/tickflow-prometheus-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    port_ = free_loopback_port();
    write_config();
    start();
  }
  ~PrometheusProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  int port() const noexcept { return port_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  std::string log() const { return read_file(dir_ / "prometheus.log"); }

  // An instant query, at `time` (Unix seconds) or now. Throws when the API
  // answers anything but status "success" (a PromQL error says why).
  std::vector<PromSample> query(const std::string& expr, std::optional<double> time = std::nullopt) const {
    std::string path = "/api/v1/query?query=" + escape(expr);
    if (time) path += "&time=" + std::to_string(*time);
    const std::string body = get(path);
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(body);
    require_success(doc, "query '" + expr + "'", body);
    std::vector<PromSample> out;
    const simdjson::dom::element data = doc["data"];
    if (std::string_view(data["resultType"].get_string()) != "vector")
      throw std::runtime_error("query '" + expr + "': not an instant vector: " + body);
    for (simdjson::dom::element r : data["result"].get_array()) {
      PromSample s;
      for (auto [key, value] : r["metric"].get_object())
        s.labels[std::string(key)] = std::string(std::string_view(value.get_string()));
      const std::string text(std::string_view(r["value"].at(1).get_string()));
      s.value = text == "NaN" ? std::nan("") : std::stod(text);
      out.push_back(std::move(s));
    }
    return out;
  }

  // Every rule's health ("ok", "unknown" before its first evaluation, or
  // "err: " and its last error), by rule name.
  std::vector<std::pair<std::string, std::string>> rule_health() const {
    const std::string body = get("/api/v1/rules");
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(body);
    require_success(doc, "rules", body);
    std::vector<std::pair<std::string, std::string>> out;
    for (simdjson::dom::element g : doc["data"]["groups"].get_array())
      for (simdjson::dom::element r : g["rules"].get_array()) {
        std::string health(std::string_view(r["health"].get_string()));
        std::string_view error;
        if (health == "err" && r["lastError"].get(error) == simdjson::SUCCESS) health += ": " + std::string(error);
        out.emplace_back(std::string(std::string_view(r["name"].get_string())), health);
      }
    return out;
  }

  std::vector<PromAlert> alerts() const {
    const std::string body = get("/api/v1/alerts");
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(body);
    require_success(doc, "alerts", body);
    std::vector<PromAlert> out;
    for (simdjson::dom::element a : doc["data"]["alerts"].get_array()) {
      PromAlert alert;
      for (auto [key, value] : a["labels"].get_object())
        alert.labels[std::string(key)] = std::string(std::string_view(value.get_string()));
      for (auto [key, value] : a["annotations"].get_object())
        alert.annotations[std::string(key)] = std::string(std::string_view(value.get_string()));
      alert.state = std::string(std::string_view(a["state"].get_string()));
      out.push_back(std::move(alert));
    }
    return out;
  }

 private:
  static std::string escape(const std::string& s) {
    CURL* curl = curl_easy_init();
    char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
    std::string out(e);
    curl_free(e);
    curl_easy_cleanup(curl);
    return out;
  }

  std::string get(const std::string& path) const {
    const HttpResult r = http_get(port_, path);
    if (r.status == 0) throw std::runtime_error("prometheus did not answer " + path + "; its log:\n" + log());
    return r.body;
  }

  static void require_success(const simdjson::dom::element& doc, const std::string& what, const std::string& body) {
    std::string_view status;
    if (doc["status"].get(status) != simdjson::SUCCESS || status != "success")
      throw std::runtime_error("prometheus " + what + " failed: " + body);
  }

  void write_config() {
    std::ofstream c(dir_ / "prometheus.yml");
    c << "global:\n  scrape_interval: " << options_.scrape_interval << "\n  scrape_timeout: 900ms\n"
      << "  evaluation_interval: " << options_.evaluation_interval << "\n";
    if (!options_.rule_files.empty()) {
      c << "rule_files:\n";
      for (const std::string& f : options_.rule_files) c << "  - \"" << f << "\"\n";
    }
    c << "scrape_configs:\n  - job_name: tickflow\n    static_configs:\n      - targets: [";
    for (std::size_t i = 0; i < options_.targets.size(); ++i)
      c << (i ? ", " : "") << "\"" << options_.targets[i] << "\"";
    c << "]\n";
  }

  void start() {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const std::string log = (dir_ / "prometheus.log").string();
      std::freopen(log.c_str(), "a", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string config = "--config.file=" + (dir_ / "prometheus.yml").string();
      const std::string storage = "--storage.tsdb.path=" + (dir_ / "data").string();
      const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
      ::execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(), "--log.level=warn",
               static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("prometheus exited during start-up; its log:\n" + log());
      }
      if (http_get(port_, "/-/ready").status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("prometheus not ready within 30 s; its log:\n" + log());
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  Options options_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tickflow::testing
