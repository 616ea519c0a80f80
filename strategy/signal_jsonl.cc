// strategy/signal_jsonl.cc
#include "strategy/signal_jsonl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace tickflow {

SignalJsonlFile::SignalJsonlFile(std::filesystem::path path, Log log) : path_(std::move(path)), log_(std::move(log)) {
  if (path_.empty()) throw std::runtime_error("signal JSONL file: empty path");
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec)
      throw std::runtime_error("cannot create the directory of signal JSONL file " + path_.string() + ": " +
                               ec.message());
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("cannot open signal JSONL file " + path_.string() + ": " + std::strerror(errno));
}

SignalJsonlFile::~SignalJsonlFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool SignalJsonlFile::write(const Signal& s) noexcept {
  char line[kSignalJsonCapacity + 1];
  const std::size_t n = encode_json(s, line, kSignalJsonCapacity);
  if (n == 0) {
    fail("the signal does not encode");
    return false;
  }
  line[n] = '\n';
  // One write(2) normally takes the whole line; a short one (disk full,
  // a signal) is completed so the line is not left cut.
  std::size_t done = 0;
  while (done < n + 1) {
    const ssize_t w = ::write(fd_, line + done, n + 1 - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      fail(w < 0 ? std::strerror(errno) : "write returned 0");
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  lines_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void SignalJsonlFile::fail(std::string_view reason) noexcept {
  errors_.fetch_add(1, std::memory_order_relaxed);
  try {
    std::string message = "cannot write signal to " + path_.string() + ": " + std::string(reason);
    if (message == last_error_) return;  // logged once per distinct reason
    last_error_ = std::move(message);
    if (log_)
      log_(last_error_);
    else
      std::fprintf(stderr, "%s\n", last_error_.c_str());
  } catch (...) {  // out of memory: the count above is what is left
  }
}

}  // namespace tickflow
