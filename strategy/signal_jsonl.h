// strategy/signal_jsonl.h
//
// SignalJsonlFile: the JSONL sink of SqueezeFlow signals (spec: "Signals",
// "A JSONL file"): one encode_json() object per line, appended.
//
// Why one write(2) per signal, on an O_APPEND descriptor: signals are rare
// (a few per hour), so buffering buys nothing, and a single append of the
// whole line means a reader tailing the file (or a second writer) never sees
// half a line; the line is in the kernel, i.e. survives a crash of this
// process, as soon as write() returns. No fsync: a host crash may lose the
// last lines, as it would lose the Redis keys.
//
// Promises:
//  * the constructor creates the parent directories and opens the file
//    (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode 0644); on failure it throws
//    std::runtime_error naming the path and the reason;
//  * write() never throws and never allocates on success: it encodes into a
//    stack buffer, writes the line (retrying EINTR and a short write), and
//    counts it; on failure it counts an error, keeps the reason
//    (last_error(), naming the path) and logs it, once per distinct reason;
//  * an existing file is appended to, never truncated.
//
// Threads: one thread (the signal writer) calls write(); lines() and
// errors() may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "strategy/signal.h"

namespace tickflow {

class SignalJsonlFile {
 public:
  using Log = std::function<void(std::string_view)>;

  // `log` gets one line per new problem; default stderr.
  explicit SignalJsonlFile(std::filesystem::path path, Log log = {});
  ~SignalJsonlFile();
  SignalJsonlFile(const SignalJsonlFile&) = delete;
  SignalJsonlFile& operator=(const SignalJsonlFile&) = delete;

  // Appends encode_json(s) + '\n'. True when the whole line was written.
  bool write(const Signal& s) noexcept;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::uint64_t lines() const noexcept { return lines_.load(std::memory_order_relaxed); }
  std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
  // "cannot write signal to <path>: <reason>"; empty until a write fails.
  // Writer thread only.
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  void fail(std::string_view reason) noexcept;

  std::filesystem::path path_;
  Log log_;
  int fd_ = -1;
  std::atomic<std::uint64_t> lines_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::string last_error_;
};

}  // namespace tickflow
