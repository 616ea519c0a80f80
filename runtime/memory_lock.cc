// runtime/memory_lock.cc
#include "runtime/memory_lock.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace tickflow {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif

std::string limit_text(std::uint64_t v) {
  if (v == static_cast<std::uint64_t>(RLIM_INFINITY)) return "unlimited";
  std::string out = std::to_string(v) + " bytes";
  if (v >= 1024) out += " (" + std::to_string(v / 1024) + " KiB)";
  return out;
}

}  // namespace

std::optional<std::uint64_t> process_status_bytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str() + prefix.size(), "%llu", &kib) != 1) return std::nullopt;
    return static_cast<std::uint64_t>(kib) * 1024;  // the kernel writes "kB": KiB
  }
  return std::nullopt;
}

std::string memory_lock_failure_message(int error_number, std::uint64_t soft_limit, std::uint64_t hard_limit,
                                        std::optional<std::uint64_t> needed_bytes, const std::string& config_file) {
  std::string out = "[memory] lock = true in " + config_file +
                    ", but mlockall(MCL_CURRENT | MCL_FUTURE) failed: " + std::strerror(error_number) +
                    ". RLIMIT_MEMLOCK (max locked memory) is " + limit_text(soft_limit);
  if (hard_limit != soft_limit) out += ", hard limit " + limit_text(hard_limit);
  if (needed_bytes)
    out += "; locking needs at least " + std::to_string(*needed_bytes) + " bytes (" +
           std::to_string(*needed_bytes / (1024 * 1024)) +
           " MiB: the process's whole virtual size now) and more as it "
           "runs";
  out +=
      ". Fix: run it from tuning/tickflow.service, whose LimitMEMLOCK=infinity lifts the limit (systemd: "
      "LimitMEMLOCK=infinity in the unit's [Service]); in a shell, `ulimit -l unlimited` first (as root, or after "
      "raising the hard limit in /etc/security/limits.conf: `tickflow hard memlock unlimited`); or give the binary "
      "CAP_IPC_LOCK; or set [memory] lock = false to run without locking.";
  return out;
}

MemoryLockOutcome lock_process_memory(const std::string& config_file) {
  MemoryLockOutcome outcome;
  if (kSanitizerBuild) {
    outcome.note =
        "[memory] lock ignored: this is a sanitizer build, whose shadow memory (terabytes of reserved address "
        "space) cannot be locked";
    return outcome;
  }
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    const int error_number = errno;
    rlimit limit{};
    std::uint64_t soft = 0, hard = 0;
    if (::getrlimit(RLIMIT_MEMLOCK, &limit) == 0) {
      soft = static_cast<std::uint64_t>(limit.rlim_cur);
      hard = static_cast<std::uint64_t>(limit.rlim_max);
    }
    throw MemoryLockError(
        memory_lock_failure_message(error_number, soft, hard, process_status_bytes("VmSize"), config_file));
  }
  outcome.locked = true;
  outcome.locked_bytes = process_status_bytes("VmLck").value_or(0);
  return outcome;
}

}  // namespace tickflow
