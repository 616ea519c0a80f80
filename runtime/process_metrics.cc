// runtime/process_metrics.cc
//
// /proc reading for /metrics. Files are read whole with one read(2) each
// (they are generated on read and small); directories are listed with
// std::filesystem, whose errors are taken as "not there" because threads
// and descriptors come and go while we look.
#include "runtime/process_metrics.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <system_error>

#include "runtime/prometheus_text.h"

namespace tickflow {
namespace {

// The whole of a small /proc file; nullopt when it cannot be opened.
std::optional<std::string> slurp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Splits at runs of spaces.
std::vector<std::string_view> fields_of(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::size_t count_entries(const std::string& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
  const std::size_t open = line.find('(');
  const std::size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcStat s;
  s.comm = std::string(line.substr(open + 1, close - open - 1));
  // After the comm: field 3 (state) onwards, so field k is rest[k - 3].
  const std::vector<std::string_view> rest = fields_of(line.substr(close + 1));
  if (rest.size() < 22) return std::nullopt;
  const auto field = [&](std::size_t k, std::uint64_t& out) { return parse_u64(rest[k - 3], out); };
  if (!field(14, s.utime_ticks) || !field(15, s.stime_ticks) || !field(22, s.start_ticks) ||
      !field(23, s.vsize_bytes) || !field(24, s.rss_pages))
    return std::nullopt;
  return s;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) {
  std::size_t at = 0;
  while (at < proc_stat.size()) {
    const std::size_t eol = std::min(proc_stat.find('\n', at), proc_stat.size());
    const std::string_view line = proc_stat.substr(at, eol - at);
    if (line.starts_with("btime ")) {
      const auto f = fields_of(line);
      std::uint64_t v = 0;
      if (f.size() == 2 && parse_u64(f[1], v)) return v;
      return std::nullopt;
    }
    at = eol + 1;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_max_open_files(std::string_view limits) {
  constexpr std::string_view kKey = "Max open files";
  const std::size_t at = limits.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t eol = std::min(limits.find('\n', at), limits.size());
  const auto f = fields_of(limits.substr(at + kKey.size(), eol - at - kKey.size()));
  std::uint64_t v = 0;
  if (f.empty() || !parse_u64(f[0], v)) return std::nullopt;  // "unlimited" included
  return v;
}

std::optional<ProcessFigures> read_process_figures(const std::string& proc_self) {
  const auto stat_text = slurp(proc_self + "/stat");
  if (!stat_text) return std::nullopt;
  const auto stat = parse_proc_stat(*stat_text);
  if (!stat) return std::nullopt;
  static const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page_bytes = static_cast<double>(::sysconf(_SC_PAGESIZE));

  ProcessFigures f;
  f.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks_per_second;
  f.resident_bytes = static_cast<double>(stat->rss_pages) * page_bytes;
  f.virtual_bytes = static_cast<double>(stat->vsize_bytes);
  // The directory listing's own descriptor is one of the entries: not ours to count.
  const std::size_t fds = count_entries(proc_self + "/fd");
  f.open_fds = static_cast<double>(fds > 0 ? fds - 1 : 0);
  if (const auto limits = slurp(proc_self + "/limits"))
    if (const auto max = parse_max_open_files(*limits)) f.max_fds = static_cast<double>(*max);
  // Boot time never changes, and /proc/stat (a line per CPU, every
  // interrupt's count) is the costliest file here: read it once per path.
  static const std::string default_path = "/proc/self";
  static const std::optional<std::uint64_t> default_boot = [] {
    const auto system_stat = slurp("/proc/stat");
    return system_stat ? parse_boot_time(*system_stat) : std::nullopt;
  }();
  std::optional<std::uint64_t> boot = default_boot;
  if (proc_self != default_path) {
    const auto system_stat = slurp(proc_self + "/../stat");
    boot = system_stat ? parse_boot_time(*system_stat) : std::nullopt;
  }
  if (boot)
    f.start_time_seconds = static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / ticks_per_second;

  std::map<std::string, ThreadCpu> by_name;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(proc_self + "/task", ec), end; !ec && it != end; it.increment(ec)) {
    const auto text = slurp(it->path().string() + "/stat");
    if (!text) continue;  // exited since the listing
    const auto t = parse_proc_stat(*text);
    if (!t) continue;
    ThreadCpu& entry = by_name[t->comm];
    entry.name = t->comm;
    entry.cpu_seconds += static_cast<double>(t->utime_ticks + t->stime_ticks) / ticks_per_second;
    ++entry.threads;
  }
  for (auto& [name, entry] : by_name) f.threads.push_back(std::move(entry));
  return f;
}

void append_process_metrics(PrometheusText& out) {
  const auto f = read_process_figures();
  if (!f) return;
  out.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds", {}, f->cpu_seconds);
  out.gauge("process_resident_memory_bytes", "Resident memory size in bytes", {}, f->resident_bytes);
  out.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes", {}, f->virtual_bytes);
  out.gauge("process_open_fds", "Number of open file descriptors", {}, f->open_fds);
  if (f->max_fds) out.gauge("process_max_fds", "Maximum number of open file descriptors", {}, *f->max_fds);
  if (f->start_time_seconds)
    out.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds", {},
              *f->start_time_seconds);
  for (const ThreadCpu& t : f->threads)
    out.counter("tickflow_thread_cpu_seconds_total",
                "User and system CPU time of the threads with this name (comm), in seconds", {{"thread", t.name}},
                t.cpu_seconds);
}

}  // namespace tickflow
