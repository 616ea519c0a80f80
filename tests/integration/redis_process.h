// tests/integration/redis_process.h
//
// RedisProcess: a real `redis-server` (Debian package `redis-server`, 7.x)
// for one test, in one line:
//
//   RedisProcess redis;                        // temp dir, free loopback port, waits for PING
//   RedisProcess redis({.password = "s3cret"}); // --requirepass; its own clients AUTH
//
// It binds only to 127.0.0.1, persists nothing (--save "" --appendonly no,
// so a restart starts empty and leaves no dump behind), keeps its log and
// working directory under its own temporary directory, and is stopped (and
// the directory removed) by the destructor. stop()/start() restart it on the
// same port, which is how the outage tests take Redis away and bring it
// back; kill() is the SIGKILL variant. command() is a tiny hiredis client
// for the tests' assertions.
#pragma once

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/influxd_process.h"  // free_loopback_port()

namespace tickflow::testing {

struct RedisReplyDeleter {
  void operator()(redisReply* r) const noexcept {
    if (r != nullptr) freeReplyObject(r);
  }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

struct RedisContextDeleter {
  void operator()(redisContext* c) const noexcept {
    if (c != nullptr) redisFree(c);
  }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

// One command on `c`, binary-safe arguments; nullptr on a transport error.
inline RedisReplyPtr redis_command(redisContext* c, std::initializer_list<std::string> args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return RedisReplyPtr(
      static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

// A blocking connection to 127.0.0.1:port (authenticated when `password`
// is set), or nullptr.
inline RedisContextPtr redis_connect(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(1000),
                                     const std::string& password = {}) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(timeout.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((timeout.count() % 1000) * 1000);
  RedisContextPtr c(redisConnectWithTimeout("127.0.0.1", port, tv));
  if (c == nullptr || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), tv);
  if (!password.empty()) {
    auto r = redis_command(c.get(), {"AUTH", password});
    if (r == nullptr || r->type == REDIS_REPLY_ERROR) return nullptr;
  }
  return c;
}

class RedisProcess {
 public:
  struct Options {
    std::string password;  // --requirepass when set (test-only secret)
  };

  RedisProcess() : RedisProcess(Options{}) {}
  explicit RedisProcess(Options options) : options_(std::move(options)) {
    char pattern[] = "/tmp/tickflow-redis-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    port_ = free_loopback_port();
    start();
  }
  ~RedisProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Starts redis-server (again) on the same port and directory, and waits
  // for PING. Nothing is persisted, so it comes back empty.
  void start() {
    if (pid_ > 0) return;
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      const std::string dir = dir_.string();
      const std::string log = (dir_ / "redis.log").string();
      std::vector<const char*> argv = {"redis-server", "--port",    port.c_str(),   "--bind",      "127.0.0.1",
                                       "--save",       "",          "--appendonly", "no",          "--dir",
                                       dir.c_str(),    "--logfile", log.c_str(),    "--daemonize", "no"};
      if (!options_.password.empty()) {
        argv.push_back("--requirepass");
        argv.push_back(options_.password.c_str());
      }
      argv.push_back(nullptr);
      ::execvp("redis-server", const_cast<char* const*>(argv.data()));
      std::_Exit(127);
    }
    wait_until_up(std::chrono::seconds(20));
  }

  // SIGTERM, waited for with a deadline, then SIGKILL: a test never hangs
  // on a server that ignores the polite request.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
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
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool running() const noexcept { return pid_ > 0; }
  int port() const noexcept { return port_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }

  // A fresh connection (the tests' own client, e.g. a subscriber).
  RedisContextPtr connect() const {
    auto c = redis_connect(port_, std::chrono::milliseconds(1000), options_.password);
    if (c == nullptr) throw std::runtime_error("cannot connect to redis-server on port " + std::to_string(port_));
    return c;
  }

  // One command on a short-lived connection; throws on a transport error.
  RedisReplyPtr command(std::initializer_list<std::string> args) const {
    auto c = connect();
    auto r = redis_command(c.get(), args);
    if (r == nullptr) throw std::runtime_error(std::string("redis command failed: ") + c->errstr);
    return r;
  }

  std::string log() const {
    std::ifstream in(dir_ / "redis.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  void wait_until_up(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited during start-up; its log:\n" + log());
      }
      if (auto c = redis_connect(port_, std::chrono::milliseconds(200), options_.password); c != nullptr) {
        auto r = redis_command(c.get(), {"PING"});
        if (r != nullptr && r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "PONG") return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("redis-server did not answer PING within " + std::to_string(limit.count()) + " s; log:\n" +
                             log());
  }

  Options options_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tickflow::testing
