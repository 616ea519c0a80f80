// tests/integration/memory_lock_refused_test.cc
//
// `tickflow run` with [memory] lock = true where locking is not permitted:
// start-up fails (exit 2, not a signal) with one message that names
// RLIMIT_MEMLOCK, its value, the bytes the lock needs, the config file and
// the fixes (LimitMEMLOCK=infinity in the unit, `ulimit -l unlimited`), and
// the pipeline never starts.
//
// How the child is denied the lock: its RLIMIT_MEMLOCK is lowered to 64 KiB
// (any process may lower its own limits) AND it runs without CAP_IPC_LOCK,
// because a process with CAP_IPC_LOCK (root: CI runs as root) ignores
// RLIMIT_MEMLOCK. In the forked child, before exec:
//   * prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK): out of the bounding set, so
//     exec cannot grant it (root's new permitted set is the file's, i.e.
//     all, masked by the bounding set, plus the inheritable and ambient
//     sets);
//   * the ambient set cleared, and CAP_IPC_LOCK cleared from the
//     inheritable set (capset), closing those two routes.
// Dropping from the bounding set needs CAP_SETPCAP; a child without it (not
// root) had no CAP_IPC_LOCK to lose, which the test checks instead. No
// package needed (capsh would do the same). A sanitizer build does not
// lock at all (runtime/memory_lock.h): the test is skipped there, saying so.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs the binary as described in the banner; its exit status (128 + signal
// when killed by one), or -1 when it did not exit within `limit`.
int run_without_lock_permission(const std::vector<std::string>& args, const fs::path& output,
                                std::chrono::seconds limit) {
  std::vector<std::string> all = {TICKFLOW_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child: async-signal-safe calls only, then exec.
    ::dup2(out, 1);
    ::dup2(out, 2);
    const rlimit low{64 * 1024, 64 * 1024};
    if (::setrlimit(RLIMIT_MEMLOCK, &low) != 0) ::_exit(120);
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    ::prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0);  // fails harmlessly without CAP_SETPCAP
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capget, &header, data) == 0) {
      data[CAP_IPC_LOCK / 32].inheritable &= ~(1u << (CAP_IPC_LOCK % 32));
      ::syscall(SYS_capset, &header, data);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  if (pid < 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
}

TEST(MemoryLockRefused, StartUpFailsNamingTheLimitAndTheFix) {
  const fs::path dir = fs::temp_directory_path() / ("tickflow-memlock-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path config = dir / "locked.toml";
  // One market, its endpoint where nothing listens: the feeds must never
  // get as far as connecting anyway.
  std::ofstream(config) << "[markets]\nBINANCE = [\"btcusdt\"]\n\n"
                           "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = 1\n\n"
                           "[memory]\nlock = true\n";
  const fs::path output = dir / "output";
  const int status = run_without_lock_permission(
      {"run", "--config", config.string(), "--duration", "5", "--no-influx", "--no-http"}, output, 30s);
  const std::string log = read_text(output);
  fs::remove_all(dir);
  if (log.find("sanitizer build") != std::string::npos)
    GTEST_SKIP() << "a sanitizer build does not lock memory:\n" << log;

  ASSERT_NE(status, 120) << "the child could not lower RLIMIT_MEMLOCK";
  EXPECT_EQ(status, 2) << log;  // a refusal at start-up, not a crash (128 + signal) nor a run
  EXPECT_NE(log.find("[memory] lock = true in " + config.string()), std::string::npos) << log;
  EXPECT_NE(log.find("mlockall(MCL_CURRENT | MCL_FUTURE) failed: Cannot allocate memory"), std::string::npos) << log;
  EXPECT_NE(log.find("RLIMIT_MEMLOCK (max locked memory) is 65536 bytes (64 KiB)"), std::string::npos) << log;
  EXPECT_NE(log.find("locking needs at least "), std::string::npos) << log;
  EXPECT_NE(log.find("LimitMEMLOCK=infinity"), std::string::npos) << log;
  EXPECT_NE(log.find("ulimit -l unlimited"), std::string::npos) << log;
  EXPECT_EQ(log.find("started"), std::string::npos) << "the pipeline must not start:\n" << log;
  EXPECT_EQ(log.find("memory: locked"), std::string::npos) << log;
}

}  // namespace
