// tests/integration/influxd_process.h
//
// InfluxdProcess: a real `influxd` (Debian package `influxdb`, 1.6) for one
// test, in one line:
//
//   InfluxdProcess influx;                 // temp dir, free loopback ports, waits for /ping
//   InfluxdProcess influx({.auth = true}); // auth on, admin user created
//
// It binds only to 127.0.0.1, keeps every file under its own temporary
// directory, and is stopped (and the directory removed) by the destructor.
// stop()/start() restart it on the same data directory and port, which is how
// the outage tests take the database away and bring it back; kill() is the
// SIGKILL variant.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "sinks/influx_http.h"

namespace tickflow::testing {

// A loopback TCP port nobody listens on right now (the kernel's choice).
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot bind a loopback socket to find a free port");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class InfluxdProcess {
 public:
  struct Options {
    bool auth = false;  // auth-enabled; an admin user is created
    std::string admin_user = "tickflow";
    std::string admin_password = "s3cret";  // test-only
    std::size_t max_body_size = 25000000;   // influxd's default
  };

  InfluxdProcess() : InfluxdProcess(Options{}) {}
  explicit InfluxdProcess(Options options) : options_(std::move(options)) {
    char pattern[] = "/tmp/tickflow-influxd-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    http_port_ = free_loopback_port();
    rpc_port_ = free_loopback_port();
    write_config();
    start();
    if (options_.auth) {
      // With auth on and no users yet, 1.x accepts exactly this statement
      // unauthenticated.
      InfluxHttp anonymous(endpoint_without_credentials());
      const auto r = anonymous.query("CREATE USER \"" + options_.admin_user + "\" WITH PASSWORD '" +
                                     options_.admin_password + "' WITH ALL PRIVILEGES");
      if (r.status != 200) throw std::runtime_error("cannot create the admin user: " + r.body + r.error);
    }
  }

  ~InfluxdProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  InfluxdProcess(const InfluxdProcess&) = delete;
  InfluxdProcess& operator=(const InfluxdProcess&) = delete;

  // Starts influxd (again) on the same directory and port, and waits for /ping.
  void start() {
    if (pid_ > 0) return;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const std::string log = (dir_ / "influxd.log").string();
      std::freopen(log.c_str(), "a", stdout);
      std::freopen(log.c_str(), "a", stderr);
      const std::string config = (dir_ / "influxd.conf").string();
      ::execlp("influxd", "influxd", "-config", config.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    wait_until_up(std::chrono::seconds(30));
  }

  // SIGTERM and wait: a clean shutdown, data kept.
  void stop() { signal_and_wait(SIGTERM); }
  // SIGKILL and wait: a crash, data kept (influxd has a WAL).
  void kill() { signal_and_wait(SIGKILL); }

  bool running() const noexcept { return pid_ > 0; }
  int port() const noexcept { return http_port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  const Options& options() const noexcept { return options_; }

  // An endpoint for `database` with the admin credentials when auth is on.
  InfluxEndpoint endpoint(const std::string& database = "significant_trades") const {
    InfluxEndpoint e = endpoint_without_credentials(database);
    if (options_.auth) e.credentials = {options_.admin_user, options_.admin_password};
    return e;
  }

  // Runs an InfluxQL statement; returns the JSON body. Throws on a non-200.
  std::string query(const std::string& statement, const std::string& database = "significant_trades") const {
    InfluxHttp http(endpoint(database));
    const auto r = http.query(statement, "s");
    if (r.status != 200) throw std::runtime_error("query '" + statement + "' failed: " + r.body + r.error);
    return r.body;
  }

  std::string log() const {
    std::ifstream in(dir_ / "influxd.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  InfluxEndpoint endpoint_without_credentials(const std::string& database = "significant_trades") const {
    InfluxEndpoint e;
    e.url = url();
    e.database = database;
    e.connect_timeout = std::chrono::milliseconds(1000);
    e.request_timeout = std::chrono::milliseconds(10000);
    return e;
  }

  void write_config() {
    std::ofstream c(dir_ / "influxd.conf");
    c << "reporting-disabled = true\n"
      << "bind-address = \"127.0.0.1:" << rpc_port_ << "\"\n"
      << "[meta]\n  dir = \"" << (dir_ / "meta").string() << "\"\n"
      << "[data]\n  dir = \"" << (dir_ / "data").string() << "\"\n"
      << "  wal-dir = \"" << (dir_ / "wal").string() << "\"\n"
      << "  query-log-enabled = false\n"
      << "[monitor]\n  store-enabled = false\n"
      << "[http]\n  bind-address = \"127.0.0.1:" << http_port_ << "\"\n"
      << "  auth-enabled = " << (options_.auth ? "true" : "false") << "\n"
      << "  log-enabled = false\n  unix-socket-enabled = false\n"
      << "  max-body-size = " << options_.max_body_size << "\n"
      << "[logging]\n  level = \"warn\"\n";
  }

  void wait_until_up(std::chrono::seconds limit) {
    InfluxHttp http(endpoint_without_credentials());
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("influxd exited during start-up; its log:\n" + log());
      }
      if (http.ping().status == 204) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("influxd did not answer /ping within " + std::to_string(limit.count()) + " s; log:\n" +
                             log());
  }

  void signal_and_wait(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  Options options_;
  std::filesystem::path dir_;
  int http_port_ = 0;
  int rpc_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tickflow::testing
