// runtime/logging.cc
//
// The async logger behind init_logging(), the thread-name pattern flag, and
// RateLimitedLog. See logging.h for the promises; this file says how.
//
// Threads: the formatter below runs only on the "tf-log" worker (async
// loggers format on the worker, not at the call site), so its thread-name
// cache needs no lock. The logger state is guarded by state_mutex.
#include "runtime/logging.h"

#include <unistd.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "feeds/log_escape.h"
#include "runtime/thread_affinity.h"

namespace tickflow {
namespace {

constexpr const char* kLoggerName = "tickflow";
// %N is the thread-name flag below; %-8l pads the level so messages align.
constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-8l%$[%N] %v";

// Formats the name of the thread that logged (log_msg::thread_id is the
// kernel tid on Linux). The name is read from /proc, because async formatting
// happens on the log thread where pthread_getname_np(self) would say "tf-log".
// Names are cached per tid for a second: threads are named right after they
// start, and a cached name must not stick to a reused tid for long.
class ThreadNameFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string& name = lookup(msg.thread_id);
    dest.append(name.data(), name.data() + name.size());
  }

  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<ThreadNameFlag>(); }

 private:
  struct Entry {
    std::string name;
    std::chrono::steady_clock::time_point fetched;
  };

  const std::string& lookup(std::size_t tid) {
    const auto now = std::chrono::steady_clock::now();
    auto it = cache_.find(tid);
    if (it != cache_.end() && now - it->second.fetched < std::chrono::seconds(1)) return it->second.name;
    if (cache_.size() > 1024) cache_.clear();  // exited threads; refetching is cheap
    std::string name;
    std::ifstream comm("/proc/self/task/" + std::to_string(tid) + "/comm");
    if (!std::getline(comm, name) || name.empty()) name = std::to_string(tid);  // thread gone: the id
    Entry& entry = cache_[tid];
    entry.name = std::move(name);
    entry.fetched = now;
    return entry.name;
  }

  std::unordered_map<std::size_t, Entry> cache_;
};

std::unique_ptr<spdlog::formatter> make_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<ThreadNameFlag>('N').set_pattern(kPattern);
  return formatter;
}

struct State {
  std::mutex mutex;
  // The async logger holds only a weak_ptr to its pool: it lives here.
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<spdlog::async_logger> logger;
};

State& state() {
  static State s;
  return s;
}

void shutdown_locked(State& s) {
  if (!s.logger) return;
  s.logger->flush();  // queued behind every message already posted
  spdlog::drop(kLoggerName);
  // Never leave spdlog without a default logger: spdlog::info() would
  // dereference null. A synchronous stderr logger is fine after shutdown.
  auto fallback = spdlog::stderr_color_mt("tickflow-stderr");
  fallback->set_formatter(make_formatter());
  spdlog::drop("tickflow-stderr");  // set_default_logger registers it again
  spdlog::set_default_logger(std::move(fallback));
  s.logger.reset();
  // The pool's destructor posts a terminate message behind the queue (with a
  // blocking policy) and joins the worker, so everything queued is written.
  s.pool.reset();
}

}  // namespace

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

spdlog::level::level_enum parse_log_level(std::string_view level) {
  // spdlog::level::from_str maps unknown names to off, which would silently
  // disable logging on a typo: parse strictly instead.
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "off") return spdlog::level::off;
  throw std::invalid_argument("bad log level '" + std::string(level) +
                              "' (expected trace, debug, info, warn, error or off)");
}

void init_logging(const LogOptions& options) {
  const spdlog::level::level_enum level = parse_log_level(options.level);
  if (options.queue_size == 0) throw std::invalid_argument("log queue_size must be > 0");

  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(options.color ? spdlog::color_mode::always
                                                                                       : spdlog::color_mode::never);
    sink = std::move(console);
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false);
  }
  sink->set_formatter(make_formatter());

  State& s = state();
  std::lock_guard lock(s.mutex);
  shutdown_locked(s);
  s.pool = std::make_shared<spdlog::details::thread_pool>(options.queue_size, 1, [] { name_current_thread("tf-log"); });
  s.logger = std::make_shared<spdlog::async_logger>(kLoggerName, std::move(sink), s.pool,
                                                    spdlog::async_overflow_policy::overrun_oldest);
  s.logger->set_level(level);
  // Warnings and errors reach the file promptly (the flush is queued, not
  // done by the caller); routine lines wait for the OS buffer.
  s.logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(s.logger);
}

void shutdown_logging() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  shutdown_locked(s);
}

std::uint64_t log_overrun_count() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.pool ? s.pool->overrun_counter() : 0;
}

std::function<void(std::string_view)> log_sink(std::string component, spdlog::level::level_enum level) {
  return [component = std::move(component), level](std::string_view line) {
    // default_logger() (not _raw) takes spdlog's registry lock, so a callback
    // racing with shutdown_logging() sees the old or the new logger, not a
    // dangling one.
    // The line may quote network data: escaped (see feeds/log_escape.h).
    if (auto logger = spdlog::default_logger()) logger->log(level, "{}: {}", component, escape_log_text(line));
  };
}

RateLimitedLog::RateLimitedLog(std::chrono::milliseconds interval, std::size_t burst, Clock clock)
    : interval_(interval), burst_(burst), clock_(clock ? std::move(clock) : Clock(&std::chrono::steady_clock::now)) {}

bool RateLimitedLog::allow(std::string_view key) {
  std::lock_guard lock(mutex_);
  return allow_locked(key);
}

std::uint64_t RateLimitedLog::take_suppressed(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(key);
  if (it == windows_.end()) return 0;
  return std::exchange(it->second.suppressed, 0);
}

bool RateLimitedLog::log(spdlog::level::level_enum level, std::string_view key, std::string_view message) {
  std::uint64_t suppressed = 0;
  {
    std::lock_guard lock(mutex_);
    if (!allow_locked(key)) return false;
    suppressed = std::exchange(windows_.find(key)->second.suppressed, 0);
  }
  auto logger = spdlog::default_logger();
  if (!logger) return true;
  // Component lines may quote network data (REST bodies, frames): escaped
  // (idempotent, so lines their component escaped already are unchanged).
  const std::string safe = escape_log_text(message);
  if (suppressed > 0) {
    logger->log(level, "{} ({} similar suppressed)", safe, suppressed);
  } else {
    logger->log(level, "{}", safe);
  }
  return true;
}

bool RateLimitedLog::allow_locked(std::string_view key) {
  const auto now = clock_();
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    prune_locked(now);
    it = windows_.emplace(std::string(key), Window{now, 0, 0}).first;
  }
  Window& w = it->second;
  if (now - w.start >= interval_) {
    // A new window; the suppressed count carries over until taken.
    w.start = now;
    w.allowed = 0;
  }
  if (w.allowed < burst_) {
    ++w.allowed;
    return true;
  }
  ++w.suppressed;
  return false;
}

void RateLimitedLog::prune_locked(std::chrono::steady_clock::time_point now) {
  // Guards memory against a caller that keys on message text: forget keys
  // idle for two windows with nothing left to report.
  if (windows_.size() < 4096) return;
  std::erase_if(windows_, [&](const auto& entry) {
    return entry.second.suppressed == 0 && now - entry.second.start >= 2 * interval_;
  });
}

}  // namespace tickflow
