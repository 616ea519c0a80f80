// runtime/memory_lock.h: the refusal names the limit, its value, the bytes
// needed and the fixes (the refusal itself, from a real `tickflow run`:
// tests/integration/memory_lock_refused_test.cc).
#include "runtime/memory_lock.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cerrno>
#include <string>

namespace tickflow {
namespace {

TEST(MemoryLockMessage, NamesTheLimitTheNeedAndTheFixes) {
  const std::string m = memory_lock_failure_message(ENOMEM, 65536, 65536, 200ull << 20, "/etc/tickflow/tickflow.toml");
  EXPECT_NE(m.find("[memory] lock = true in /etc/tickflow/tickflow.toml"), std::string::npos) << m;
  EXPECT_NE(m.find("mlockall(MCL_CURRENT | MCL_FUTURE) failed: Cannot allocate memory"), std::string::npos) << m;
  EXPECT_NE(m.find("RLIMIT_MEMLOCK (max locked memory) is 65536 bytes (64 KiB);"), std::string::npos) << m;
  EXPECT_EQ(m.find(", hard limit "), std::string::npos) << "soft = hard: said once";
  EXPECT_NE(m.find("locking needs at least 209715200 bytes (200 MiB"), std::string::npos) << m;
  EXPECT_NE(m.find("LimitMEMLOCK=infinity"), std::string::npos) << m;
  EXPECT_NE(m.find("ulimit -l unlimited"), std::string::npos) << m;
  EXPECT_NE(m.find("[memory] lock = false"), std::string::npos) << m;
}

TEST(MemoryLockMessage, ZeroLimitUnlimitedHardAndUnknownNeed) {
  const std::string m =
      memory_lock_failure_message(EPERM, 0, static_cast<std::uint64_t>(RLIM_INFINITY), std::nullopt, "x.toml");
  EXPECT_NE(m.find("failed: Operation not permitted. RLIMIT_MEMLOCK (max locked memory) is 0 bytes, hard limit "
                   "unlimited"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("locking needs"), std::string::npos) << m;
}

TEST(MemoryLockMessage, ProcessStatusBytesReadsKibAsBytes) {
  const auto size = process_status_bytes("VmSize");
  ASSERT_TRUE(size.has_value());
  EXPECT_GT(*size, 1u << 20);
  EXPECT_EQ(*size % 1024, 0u);
  EXPECT_FALSE(process_status_bytes("NoSuchField").has_value());
}

}  // namespace
}  // namespace tickflow
