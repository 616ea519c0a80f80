// tests/unit/runtime/logging_test.cc
//
// RateLimitedLog over a fake clock, and the async logger end to end: file
// output after shutdown, strict level parsing, and no blocking when the queue
// overflows.
#include "runtime/logging.h"

#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace tickflow {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
  RateLimitedLog::Clock fn() {
    return [this] { return now; };
  }
};

std::filesystem::path temp_log(const std::string& name) {
  auto path = std::filesystem::temp_directory_path() /
              ("tickflow_logging_test_" + std::to_string(::getpid()) + "_" + name + ".log");
  std::filesystem::remove(path);
  return path;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t count_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(RateLimitedLog, BurstThenSuppressedCountAfterInterval) {
  FakeClock clock;
  RateLimitedLog limiter(1000ms, 3, clock.fn());
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.allow("parser") ? 1 : 0;
  EXPECT_EQ(allowed, 3);

  clock.now += 1s;
  ASSERT_TRUE(limiter.allow("parser"));
  EXPECT_EQ(limiter.take_suppressed("parser"), 7u);
  EXPECT_EQ(limiter.take_suppressed("parser"), 0u);  // taken once
}

TEST(RateLimitedLog, WindowNotOverBeforeInterval) {
  FakeClock clock;
  RateLimitedLog limiter(1000ms, 3, clock.fn());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("k"));
  clock.now += 999ms;
  EXPECT_FALSE(limiter.allow("k"));
  clock.now += 1ms;
  EXPECT_TRUE(limiter.allow("k"));
  EXPECT_EQ(limiter.take_suppressed("k"), 1u);
}

TEST(RateLimitedLog, KeysAreIndependent) {
  FakeClock clock;
  RateLimitedLog limiter(1000ms, 3, clock.fn());
  for (int i = 0; i < 10; ++i) limiter.allow("binance");
  // A storm on one key neither uses up nor reports on another's budget.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("okx")) << i;
  EXPECT_FALSE(limiter.allow("okx"));
  EXPECT_FALSE(limiter.allow("binance"));
  EXPECT_EQ(limiter.take_suppressed("okx"), 1u);
  EXPECT_EQ(limiter.take_suppressed("binance"), 8u);
  EXPECT_EQ(limiter.take_suppressed("never-seen"), 0u);
}

TEST(RateLimitedLog, LogAppendsSuppressedCount) {
  const auto path = temp_log("ratelimited");
  LogOptions options;
  options.file = path.string();
  init_logging(options);

  FakeClock clock;
  RateLimitedLog limiter(1000ms, 1, clock.fn());
  EXPECT_TRUE(limiter.log(spdlog::level::err, "reconnect", "reconnect failed"));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(limiter.log(spdlog::level::err, "reconnect", "reconnect failed"));
  clock.now += 1s;
  EXPECT_TRUE(limiter.log(spdlog::level::err, "reconnect", "reconnect failed"));
  shutdown_logging();

  const std::string text = read_all(path);
  EXPECT_EQ(count_lines(path), 2u) << text;
  EXPECT_NE(text.find("reconnect failed (4 similar suppressed)"), std::string::npos) << text;
  std::filesystem::remove(path);
}

TEST(Logging, FileHasMessageAfterShutdown) {
  const auto path = temp_log("file");
  LogOptions options;
  options.file = path.string();
  options.level = "debug";
  init_logging(options);
  spdlog::info("hello {}", 42);
  spdlog::trace("below the level");
  log_sink("feed")("connected to wss://example");
  log_sink("feed", spdlog::level::debug)("debug line");
  shutdown_logging();
  shutdown_logging();  // twice is fine

  const std::string text = read_all(path);
  EXPECT_NE(text.find("hello 42"), std::string::npos) << text;
  EXPECT_EQ(text.find("below the level"), std::string::npos) << text;
  EXPECT_NE(text.find("feed: connected to wss://example"), std::string::npos) << text;
  EXPECT_NE(text.find("feed: debug line"), std::string::npos) << text;
  // UTC ISO-8601 with milliseconds, then the level.
  EXPECT_TRUE(text.size() > 24 && text[4] == '-' && text[10] == 'T' && text[19] == '.' && text[23] == 'Z') << text;
  EXPECT_NE(text.find("Z info"), std::string::npos) << text;
  // Still usable after shutdown (falls back to a synchronous stderr logger).
  spdlog::info("after shutdown, to stderr");
  std::filesystem::remove(path);
}

bool has_thread_named(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) return true;
  }
  return false;
}

TEST(Logging, NamedWorkerAndCallerThreadName) {
  const auto path = temp_log("names");
  LogOptions options;
  options.file = path.string();
  init_logging(options);
  // The worker names itself when it starts: give it a moment.
  bool named = false;
  for (int i = 0; i < 200 && !named; ++i) {
    named = has_thread_named("tf-log");
    if (!named) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(named);
  // The name is looked up when the log thread formats the line, so the
  // caller stays alive until shutdown_logging() has written everything (a
  // thread that has exited is shown by its id instead).
  std::promise<void> logged, release;
  std::thread feed([&] {
    pthread_setname_np(pthread_self(), "tf-feed-0");
    spdlog::warn("from a feed");
    logged.set_value();
    release.get_future().wait();
  });
  logged.get_future().wait();
  shutdown_logging();
  release.set_value();
  feed.join();
  EXPECT_FALSE(has_thread_named("tf-log"));  // joined
  const std::string text = read_all(path);
  EXPECT_NE(text.find("warning [tf-feed-0] from a feed"), std::string::npos) << text;
  std::filesystem::remove(path);
}

TEST(Logging, BadLevelThrowsNamingIt) {
  LogOptions options;
  options.level = "verbose";
  try {
    init_logging(options);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("verbose"), std::string::npos) << e.what();
  }
  for (const char* ok : {"trace", "debug", "info", "warn", "error", "off"}) EXPECT_NO_THROW(parse_log_level(ok)) << ok;
  EXPECT_THROW(parse_log_level("INFO"), std::invalid_argument);
}

TEST(Logging, FullQueueDoesNotBlock) {
  const auto path = temp_log("overrun");
  LogOptions options;
  options.file = path.string();
  options.queue_size = 16;
  init_logging(options);
  constexpr int kLines = 100'000;
  auto burst = std::async(std::launch::async, [] {
    for (int i = 0; i < kLines; ++i) spdlog::info("burst line {}", i);
  });
  // Generous: the point is "no hang", not a speed figure.
  ASSERT_EQ(burst.wait_for(60s), std::future_status::ready) << "logging blocked on a full queue";
  const std::uint64_t overrun = log_overrun_count();
  shutdown_logging();
  const std::size_t lines = count_lines(path);
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, static_cast<std::size_t>(kLines));
  std::printf("wrote %zu of %d lines, %llu overrun\n", lines, kLines, static_cast<unsigned long long>(overrun));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace tickflow
