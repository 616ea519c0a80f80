// runtime/logging.h
//
// Logging for the live pipeline, kept off the hot path.
//
// What: init_logging() installs an spdlog async logger as the default logger.
// Callers format a message and push it on a bounded queue; one background
// thread ("tf-log") formats the time stamp, looks up the thread name and
// writes to stderr or a file.
//
// Promises:
//  - A logging burst never blocks a pipeline thread: when the queue is full
//    the oldest queued message is dropped (overrun_oldest), and the drops are
//    counted (log_overrun_count()). Losing log lines beats stalling a feed.
//  - Lines look like `2026-11-21T22:44:05.123Z info    [tf-feed-0] text`:
//    UTC ISO-8601 with milliseconds, so lines from hosts in different zones
//    sort and join with exchange timestamps; the thread name says which
//    pipeline stage spoke. It is read when the line is written, so a thread
//    that exited before that shows as its kernel thread id.
//  - shutdown_logging() writes out everything queued before it returns.
//
//  - Component lines (log_sink(), RateLimitedLog::log()) may quote network
//    data: they are passed through escape_log_text() (feeds/log_escape.h,
//    the one escaping function; in feeds/ because feeds may not depend on
//    runtime), so a frame cannot forge a line or put ESC on a terminal.
//
// Threads: init_logging()/shutdown_logging() swap spdlog's default logger,
// which spdlog does not synchronise with spdlog::info() and friends: call
// them from main before the pipeline threads start and after they are
// joined. Everything else here is safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <spdlog/common.h>

namespace tickflow {

// True when stderr is a terminal: the default for LogOptions::color.
bool stderr_is_tty();

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error or off
  std::string file;            // empty: stderr
  // Queued messages before the oldest is overwritten. 8192 lines of ~150 bytes
  // is ~1 MiB: absorbs a reconnect storm without holding much memory.
  std::size_t queue_size = 8192;
  bool color = stderr_is_tty();  // stderr only; never escape codes in files
};

// Creates the async logger described by `options` and makes it spdlog's
// default logger (replacing a previous init_logging()). Throws
// std::invalid_argument naming a bad level or a zero queue size, and
// spdlog::spdlog_ex when the file cannot be opened.
void init_logging(const LogOptions& options);

// Flushes everything queued, stops the "tf-log" thread and puts back a plain
// synchronous stderr default logger, so late spdlog::info() calls still work.
// Safe to call twice, or without init_logging().
void shutdown_logging();

// Messages dropped because the queue was full since init_logging() (0 when
// logging is not initialised).
std::uint64_t log_overrun_count();

// Parses trace/debug/info/warn/error/off; throws std::invalid_argument naming
// `level` otherwise.
spdlog::level::level_enum parse_log_level(std::string_view level);

// A callback that logs "component: line" to the default logger at `level`,
// for classes (LiveFeed, ...) that report through a std::function instead of
// depending on spdlog. It looks the default logger up on each call, so it
// keeps working across init_logging()/shutdown_logging().
std::function<void(std::string_view)> log_sink(std::string component,
                                               spdlog::level::level_enum level = spdlog::level::info);

// Rate limiting for repeated messages: a parser rejecting every frame or a
// reconnect storm must not flood the log (or overrun the queue and push out
// the one line that explains the cause).
//
// Per key, at most `burst` messages are allowed in each window of `interval`;
// a window starts at the first message after the previous one ended. The
// messages refused are counted, and take_suppressed() hands the count to the
// next message allowed so it can say "(N similar suppressed)". log() does
// both under one lock. Keys should be a bounded set (a component, an
// exchange, an error kind), not per-message text.
//
// Thread-safe: one mutex; this is for the error path, not the hot path.
class RateLimitedLog {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` defaults to std::chrono::steady_clock::now; tests inject a fake.
  RateLimitedLog(std::chrono::milliseconds interval, std::size_t burst, Clock clock = {});

  // Whether a message for `key` may be logged now. Counts a refusal as
  // suppressed.
  bool allow(std::string_view key);

  // Messages refused for `key` since the last take_suppressed(), and resets
  // that count. Call it after allow() returned true.
  std::uint64_t take_suppressed(std::string_view key);

  // allow() + take_suppressed() atomically, logging `message` to the default
  // logger, with " (N similar suppressed)" appended when N > 0. Returns
  // whether it logged.
  bool log(spdlog::level::level_enum level, std::string_view key, std::string_view message);

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    std::size_t allowed = 0;
    std::uint64_t suppressed = 0;  // not yet taken
  };

  bool allow_locked(std::string_view key);
  void prune_locked(std::chrono::steady_clock::time_point now);

  std::chrono::steady_clock::duration interval_;
  std::size_t burst_;
  Clock clock_;
  std::mutex mutex_;
  std::map<std::string, Window, std::less<>> windows_;  // transparent: find() by string_view
};

}  // namespace tickflow
