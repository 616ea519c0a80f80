// tests/integration/nats_process.h
//
// NatsProcess: a real `nats-server -js` (Debian package `nats-server`, 2.9)
// for one test; NatsCluster: three of them clustered (R3-capable).
//
//   NatsProcess nats;                 // temp dir, free loopback ports, waits for /healthz
//   nats.url();                       // "nats://127.0.0.1:PORT"
//   nats.stop(); nats.start();        // SIGTERM, then again on the same ports and store
//   nats.kill();                      // SIGKILL (the store stays)
//   NatsProcess auth({.user = "u", .password = "p"});  // clients must authenticate
//
//   NatsCluster cluster;              // 3 nodes, routes to each other; waits until
//                                     // an R3 stream can be created
//   cluster.url_list();               // {"nats://127.0.0.1:P0", ...}
//   cluster.kill(i); cluster.start(i);
//   cluster.index_of("n1");           // node index from a server name (stream leader)
//
// Each server has its own config file in its temporary directory: it binds
// only to 127.0.0.1, keeps its JetStream store and log there, and caps its
// JetStream memory (64 MB) and file store (1 GB) (the default is 75 % of the
// machine's). The destructor stops it and removes the directory.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "tests/integration/influxd_process.h"  // free_loopback_port()

namespace tickflow::testing {

// One HTTP/1.0 GET on 127.0.0.1:port; the status code, or 0 when nothing
// answered. Enough for nats-server's monitoring endpoints.
inline int http_get_status(int port, const std::string& path, std::string* body = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return 0;
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return 0;
  }
  std::string response;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (response.compare(0, 9, "HTTP/1.1 ") != 0 && response.compare(0, 9, "HTTP/1.0 ") != 0) return 0;
  if (body != nullptr) {
    const auto at = response.find("\r\n\r\n");
    *body = at == std::string::npos ? std::string() : response.substr(at + 4);
  }
  return std::atoi(response.c_str() + 9);
}

class NatsProcess {
 public:
  struct Options {
    std::string name = "n0";  // server_name
    int client_port = 0;      // 0: a free one
    int http_port = 0;
    int cluster_port = 0;          // with routes: this node's route port
    std::vector<int> route_ports;  // every node's route port (this one's included); empty: no cluster
    bool start = true;             // false: the caller calls start() (a cluster spawns all nodes first)
    std::string user, password;    // set: clients must authenticate (test-only secret)
  };

  NatsProcess() : NatsProcess(Options{}) {}
  explicit NatsProcess(Options options) : options_(std::move(options)) {
    char pattern[] = "/tmp/tickflow-nats-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    if (options_.client_port == 0) options_.client_port = free_loopback_port();
    if (options_.http_port == 0) options_.http_port = free_loopback_port();
    write_config();
    if (options_.start) start();
  }
  ~NatsProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  NatsProcess(const NatsProcess&) = delete;
  NatsProcess& operator=(const NatsProcess&) = delete;

  // Starts nats-server (again) on the same ports and store, and waits for
  // /healthz (when `wait`).
  void start(bool wait = true) {
    spawn();
    if (wait) wait_until_healthy(std::chrono::seconds(30));
  }
  void spawn() {
    if (pid_ > 0) return;
    std::fflush(nullptr);  // the child's freopen would flush a copy of our buffered output
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // A test that crashes (an abort skips destructors) must not leave its
      // servers running: they die with the thread that started them (the
      // test's main thread).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      const std::string log = (dir_ / "nats-server.out").string();
      std::freopen(log.c_str(), "a", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string config = (dir_ / "nats-server.conf").string();
      ::execlp("nats-server", "nats-server", "-c", config.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
  }
  void wait_until_healthy(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("nats-server exited during start-up; its log:\n" + log());
      }
      if (http_get_status(options_.http_port, "/healthz") == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("nats-server " + options_.name + " did not answer /healthz within " +
                             std::to_string(limit.count()) + " s; log:\n" + log());
  }

  // SIGTERM, waited for with a deadline, then SIGKILL.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill();
  }
  // SIGKILL and wait: a crash; the store stays.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool running() const noexcept { return pid_ > 0; }
  const std::string& name() const noexcept { return options_.name; }
  int port() const noexcept { return options_.client_port; }
  int http_port() const noexcept { return options_.http_port; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(options_.client_port); }
  const std::filesystem::path& dir() const noexcept { return dir_; }

  // GET on the monitoring port (e.g. "/jsz?streams=1"): the body, "" if none.
  std::string monitor(const std::string& path) const {
    std::string body;
    return http_get_status(options_.http_port, path, &body) == 200 ? body : std::string();
  }

  std::string log() const {
    std::stringstream s;
    for (const char* f : {"nats-server.log", "nats-server.out"}) {
      std::ifstream in(dir_ / f);
      s << in.rdbuf();
    }
    return s.str();
  }

 private:
  void write_config() {
    std::ofstream c(dir_ / "nats-server.conf");
    c << "server_name: " << options_.name << "\n"
      << "listen: 127.0.0.1:" << options_.client_port << "\n"
      << "http: 127.0.0.1:" << options_.http_port << "\n"
      << "log_file: \"" << (dir_ / "nats-server.log").string() << "\"\n"
      << "jetstream {\n  store_dir: \"" << (dir_ / "store").string() << "\"\n"
      << "  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n";
    if (!options_.user.empty())
      c << "authorization {\n  user: \"" << options_.user << "\"\n  password: \"" << options_.password << "\"\n}\n";
    if (!options_.route_ports.empty()) {
      c << "cluster {\n  name: tickflow-test\n  listen: 127.0.0.1:" << options_.cluster_port << "\n  routes: [\n";
      for (int p : options_.route_ports) c << "    nats-route://127.0.0.1:" << p << "\n";
      c << "  ]\n}\n";
    }
  }

  Options options_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

class NatsCluster {
 public:
  static constexpr int kNodes = 3;

  NatsCluster() {
    std::array<int, kNodes> route_ports{};
    for (auto& p : route_ports) p = free_loopback_port();
    for (int i = 0; i < kNodes; ++i) {
      NatsProcess::Options o;
      o.name = "n" + std::to_string(i);
      o.cluster_port = route_ports[static_cast<std::size_t>(i)];
      o.route_ports.assign(route_ports.begin(), route_ports.end());
      o.start = false;
      nodes_.push_back(std::make_unique<NatsProcess>(o));
    }
    for (auto& n : nodes_) n->spawn();  // together: JetStream needs its peers to elect a meta leader
    for (auto& n : nodes_) n->wait_until_healthy(std::chrono::seconds(60));
    wait_until_r3_ready(std::chrono::seconds(60));
  }

  NatsProcess& node(int i) { return *nodes_.at(static_cast<std::size_t>(i)); }
  std::vector<std::string> url_list() const {
    std::vector<std::string> urls;
    for (const auto& n : nodes_) urls.push_back(n->url());
    return urls;
  }
  void kill(int i) { node(i).kill(); }
  void stop(int i) { node(i).stop(); }
  void start(int i) { node(i).start(); }
  // The node whose server_name is `name` ("n1"), or -1.
  int index_of(const std::string& name) const {
    for (int i = 0; i < kNodes; ++i)
      if (nodes_[static_cast<std::size_t>(i)]->name() == name) return i;
    return -1;
  }

  // Polls until an R3 stream can be created (meta leader elected, every peer
  // known), then deletes the probe stream.
  void wait_until_r3_ready(std::chrono::seconds limit) {
    bus::NatsConnectionConfig config;
    config.servers = url_list();
    config.name = "tickflow-test-harness";
    bus::NatsConnection connection(config);
    bus::StreamSpec probe;
    probe.name = "HARNESS_PROBE";
    probe.subjects = {"harness.probe"};
    probe.replicas = 3;
    probe.file_storage = false;
    bus::ensure_stream(connection, probe, limit);
    bus::delete_stream(connection, probe.name);
  }

 private:
  std::vector<std::unique_ptr<NatsProcess>> nodes_;
};

}  // namespace tickflow::testing
