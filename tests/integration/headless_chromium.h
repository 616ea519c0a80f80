// tests/integration/headless_chromium.h
//
// HeadlessChromium: the real browser for the tests that check what a page
// renders (Debian package `chromium`, /usr/bin/chromium):
//
//   HeadlessChromium browser(dir / "chromium");   // its profile and home under dir
//   std::optional<std::string> dom = browser.dump_dom("http://127.0.0.1:9464/");
//   browser.screenshot("http://127.0.0.1:9464/", "status-page.png", 1280, 900);
//
// Each call is one `chromium --headless` run that loads the URL, lets the
// page's timers and fetches run for `virtual_ms` of virtual time (fetches
// stop the virtual clock, so a page that polls every second gets about
// virtual_ms / 1000 rounds, in far less real time), then prints the DOM as
// it is then (--dump-dom) or writes a PNG. Runs share the profile, so the
// page's localStorage carries from one run to the next, as in a browser
// that reloads.
//
// Offline by construction: every connection that is not to loopback goes to
// a proxy at 127.0.0.1:9 (the discard port; nothing answers), host names
// other than localhost resolve to nothing, and the background services
// (updates, sync, safe browsing, translation, metrics) are off. Root needs
// --no-sandbox; HOME and XDG dirs point into the profile directory, so
// nothing is written under the real home.
//
// A run that outlives `limit` is killed with its whole process group
// (chromium starts several processes) and counts as a failure.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace tickflow::testing {

class HeadlessChromium {
 public:
  static constexpr const char* kBinary = "/usr/bin/chromium";

  static bool installed() { return ::access(kBinary, X_OK) == 0; }

  explicit HeadlessChromium(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_ / "profile");
    std::filesystem::create_directories(dir_ / "home");
  }

  // The DOM after `virtual_ms` of the page's time; nullopt when chromium
  // failed or took longer than `limit`. last_log() has its stderr.
  std::optional<std::string> dump_dom(const std::string& url, int virtual_ms = 2500,
                                      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    const std::filesystem::path out = dir_ / "dom.html";
    if (!run({"--dump-dom", url}, virtual_ms, out, limit)) return std::nullopt;
    std::ifstream in(out);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // A PNG of the page in a width x height window; false on failure.
  bool screenshot(const std::string& url, const std::filesystem::path& png, int width, int height,
                  int virtual_ms = 2500, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    std::error_code ignored;
    std::filesystem::remove(png, ignored);
    const bool ok =
        run({"--screenshot=" + std::filesystem::absolute(png).string(),
             "--window-size=" + std::to_string(width) + "," + std::to_string(height), "--hide-scrollbars", url},
            virtual_ms, dir_ / "screenshot.out", limit);
    return ok && std::filesystem::exists(png);
  }

  std::string last_log() const {
    std::ifstream in(dir_ / "chromium.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  bool run(const std::vector<std::string>& what, int virtual_ms, const std::filesystem::path& stdout_path,
           std::chrono::milliseconds limit) {
    std::vector<std::string> args = {
        kBinary,
        "--headless",
        "--no-sandbox",  // root (CI containers) cannot use the setuid/namespace sandbox
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--user-data-dir=" + (dir_ / "profile").string(),
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-breakpad",
        "--no-pings",
        "--mute-audio",
        "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,"
        "AutofillServerCommunication,CertificateTransparencyComponentUpdater,NetworkTimeServiceQuerying,"
        "InterestFeedContentSuggestions,SafeBrowsing",
        // Anything not on loopback (which bypasses a proxy) goes nowhere.
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=" + std::to_string(virtual_ms),
    };
    args.insert(args.end(), what.begin(), what.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    // The environment, with the home and XDG dirs moved into ours.
    const std::string home = (dir_ / "home").string();
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      if (entry.rfind("HOME=", 0) == 0 || entry.rfind("XDG_", 0) == 0) continue;
      env_strings.push_back(entry);
    }
    for (const char* var : {"HOME=", "XDG_CONFIG_HOME=", "XDG_CACHE_HOME=", "XDG_DATA_HOME="})
      env_strings.push_back(var + home);
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (dir_ / "chromium.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);  // its own group: a timeout kills every process it started
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, kBinary, &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) return false;

    // Until it exits (seen without reaping it: while it is a zombie its id,
    // the group's, cannot be reused) or the limit passes. Either way the
    // group is killed before the reap, so only its own processes can be
    // hit: the helpers it normally ends itself, or all of it on a timeout.
    const auto deadline = std::chrono::steady_clock::now() + limit;
    bool exited = false;
    for (;;) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) break;
      if (info.si_pid == pid) {
        exited = true;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return exited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }

  std::filesystem::path dir_;
};

}  // namespace tickflow::testing
