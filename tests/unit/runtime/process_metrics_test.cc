// runtime/process_metrics.h: the /proc parsers on fixed text, and the
// exposition this process gives of itself: exact HELP/TYPE lines and family
// order, and figures that move as the test moves them (descriptors it
// opens, memory it touches, a thread it names and makes burn CPU).
#include "runtime/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/prometheus_text.h"

namespace tickflow {
namespace {

// One family of an exposition: its HELP and TYPE lines and its samples
// (the text before the value -> the value).
struct Family {
  std::string help, type;
  std::vector<std::pair<std::string, double>> samples;
};

// Parses the text format strictly enough to fail on a misplaced line: HELP
// then TYPE open a family, every sample line belongs to the family opened
// last and starts with its name.
std::vector<std::pair<std::string, Family>> parse(const std::string& text) {
  std::vector<std::pair<std::string, Family>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ")) {
      const std::string rest = line.substr(7);
      const std::size_t sp = rest.find(' ');
      out.push_back({rest.substr(0, sp), Family{}});
      out.back().second.help = rest.substr(sp + 1);
      continue;
    }
    EXPECT_FALSE(out.empty()) << "a line before any # HELP: " << line;
    if (out.empty()) continue;
    const std::string& name = out.back().first;
    if (line.starts_with("# TYPE ")) {
      EXPECT_TRUE(out.back().second.type.empty()) << line;
      EXPECT_TRUE(line.starts_with("# TYPE " + name + " ")) << line;
      out.back().second.type = line.substr(8 + name.size());
      continue;
    }
    EXPECT_FALSE(out.back().second.type.empty()) << "sample before # TYPE: " << line;
    EXPECT_TRUE(line.starts_with(name) && (line[name.size()] == ' ' || line[name.size()] == '{'))
        << "sample of another family under " << name << ": " << line;
    const std::size_t sp = line.rfind(' ');
    out.back().second.samples.push_back({line.substr(0, sp), std::stod(line.substr(sp + 1))});
  }
  return out;
}

std::map<std::string, Family> scrape() {
  PrometheusText text;
  append_process_metrics(text);
  std::map<std::string, Family> out;
  for (auto& [name, family] : parse(text.str())) EXPECT_TRUE(out.emplace(name, family).second) << name << " twice";
  return out;
}

double value(const std::map<std::string, Family>& m, const std::string& sample) {
  const std::string family = sample.substr(0, sample.find('{'));
  const auto it = m.find(family);
  if (it == m.end()) return -1;
  for (const auto& [key, v] : it->second.samples)
    if (key == sample) return v;
  return -1;
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST(ProcStat, ParsesFieldsAfterACommWithSpacesAndParentheses) {
  // Field numbers as proc(5) counts them; comm "a) (b c" is legal.
  const std::string line =
      "4242 (a) (b c) S 1 4242 4242 0 -1 4194560 2790 0 0 0 "
      "123 45 0 0 20 0 7 0 98765 2147483648 5120 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  const auto s = parse_proc_stat(line);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->comm, "a) (b c");
  EXPECT_EQ(s->utime_ticks, 123u);
  EXPECT_EQ(s->stime_ticks, 45u);
  EXPECT_EQ(s->start_ticks, 98765u);
  EXPECT_EQ(s->vsize_bytes, 2147483648u);
  EXPECT_EQ(s->rss_pages, 5120u);
}

TEST(ProcStat, RefusesATruncatedLine) {
  EXPECT_FALSE(parse_proc_stat("4242 (tf-agg) S 1 4242 4242 0 -1 4194560 2790 0 0 0 123"));
  EXPECT_FALSE(parse_proc_stat("no parentheses at all"));
  EXPECT_FALSE(parse_proc_stat(""));
}

TEST(ProcStat, BootTimeAndOpenFileLimit) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1796000000\nprocesses 9\n"), 1796000000u);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\n"));
  const std::string limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max processes             63672                63672                processes \n"
      "Max open files            1024                 1048576              files     \n";
  EXPECT_EQ(parse_max_open_files(limits), 1024u);
  EXPECT_FALSE(parse_max_open_files("Max open files            unlimited            unlimited            files\n"));
  EXPECT_FALSE(parse_max_open_files(""));
}

TEST(ProcessMetrics, FamiliesInOrderWithPrometheusHelpAndTypes) {
  PrometheusText text;
  append_process_metrics(text);
  const auto families = parse(text.str());
  const std::vector<std::pair<std::string, std::string>> expected = {{"process_cpu_seconds_total", "counter"},
                                                                     {"process_resident_memory_bytes", "gauge"},
                                                                     {"process_virtual_memory_bytes", "gauge"},
                                                                     {"process_open_fds", "gauge"},
                                                                     {"process_max_fds", "gauge"},
                                                                     {"process_start_time_seconds", "gauge"},
                                                                     {"tickflow_thread_cpu_seconds_total", "counter"}};
  ASSERT_EQ(families.size(), expected.size()) << text.str();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(families[i].first, expected[i].first);
    EXPECT_EQ(families[i].second.type, expected[i].second) << families[i].first;
    EXPECT_FALSE(families[i].second.help.empty()) << families[i].first;
    if (i + 1 < expected.size()) {  // the process_* families are single unlabelled samples
      ASSERT_EQ(families[i].second.samples.size(), 1u) << families[i].first;
      EXPECT_EQ(families[i].second.samples[0].first, expected[i].first);
      EXPECT_GE(families[i].second.samples[0].second, 0) << families[i].first;
    }
  }
  EXPECT_EQ(families[0].second.help, "Total user and system CPU time spent in seconds");
  EXPECT_EQ(families[1].second.help, "Resident memory size in bytes");
  EXPECT_EQ(families[3].second.help, "Number of open file descriptors");
  // Every thread series is labelled thread="..." and nothing else; names are unique.
  std::map<std::string, int> names;
  for (const auto& [key, v] : families.back().second.samples) {
    ASSERT_TRUE(key.starts_with("tickflow_thread_cpu_seconds_total{thread=\"") && key.ends_with("\"}")) << key;
    EXPECT_EQ(++names[key], 1) << key;
    EXPECT_GE(v, 0);
  }
  // This (single-threaded gtest) process: its main thread at least.
  EXPECT_GE(names.size(), 1u);
}

TEST(ProcessMetrics, FiguresFollowWhatTheProcessDoes) {
  const auto before = scrape();
  // Start time: this process started before now, and not before boot.
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = value(before, "process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 3600) << "a unit test that started an hour ago?";

  // Five more descriptors: exactly five more counted.
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) fds.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const auto with_fds = scrape();
  EXPECT_EQ(value(with_fds, "process_open_fds"), value(before, "process_open_fds") + 5);
  for (const int fd : fds) ::close(fd);
  EXPECT_EQ(value(scrape(), "process_open_fds"), value(before, "process_open_fds"));

  // 64 MiB touched: resident memory grows by most of it (sanitizers and
  // the allocator may give back or keep a little elsewhere).
  constexpr std::size_t kBytes = 64u << 20;
  std::vector<char> block(kBytes);
  std::memset(block.data(), 1, kBytes);
  const auto with_memory = scrape();
  EXPECT_GT(value(with_memory, "process_resident_memory_bytes"),
            value(before, "process_resident_memory_bytes") + 0.75 * static_cast<double>(kBytes));
  EXPECT_GE(value(with_memory, "process_virtual_memory_bytes"), value(with_memory, "process_resident_memory_bytes"));
  volatile char keep = block[kBytes - 1];
  (void)keep;
}

TEST(ProcessMetrics, ANamedThreadShowsItsCpuTimeGrowing) {
  constexpr const char* kSeries = "tickflow_thread_cpu_seconds_total{thread=\"tf-test-burn\"}";
  // The thread burns CPU in two steps; the test scrapes after each, while
  // the thread waits (alive, so its task entry is still there).
  std::atomic<int> step{0};    // test -> thread: burn until this step's target
  std::atomic<int> done{0};    // thread -> test: steps burnt
  std::atomic<double> own{0};  // the thread's CPU time by its own clock after each step
  std::thread burner([&] {
    pthread_setname_np(pthread_self(), "tf-test-burn");
    volatile std::uint64_t sink = 0;
    for (int s = 1; s <= 2; ++s) {
      while (step.load() < s) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const double target = 0.25 * s;  // CPU seconds, however long a loaded machine takes
      while (thread_cpu_seconds() < target)
        for (int i = 0; i < 100000; ++i) sink = sink + static_cast<std::uint64_t>(i);
      own = thread_cpu_seconds();
      done = s;
    }
    while (step.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });

  const auto wait_for = [&](int s) {
    step = s;
    while (done.load() < s) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  wait_for(1);
  const double first = value(scrape(), kSeries);
  const double first_own = own.load();
  wait_for(2);
  const double second = value(scrape(), kSeries);
  const double second_own = own.load();
  step = 3;
  burner.join();

  // /proc counts in clock ticks (10 ms at USER_HZ 100) and splits user and
  // system time by sampling: within a few ticks of the thread's own clock.
  ASSERT_GE(first, 0) << "no series for the thread";
  EXPECT_NEAR(first, first_own, 0.05);
  EXPECT_NEAR(second, second_own, 0.05);
  EXPECT_GT(second, first + 0.15) << "a quarter second more burnt";
  // Gone with its thread.
  EXPECT_EQ(value(scrape(), kSeries), -1);
}

}  // namespace
}  // namespace tickflow
