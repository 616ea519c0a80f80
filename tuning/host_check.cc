#include "tuning/host_check.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

namespace tickflow {
namespace {

// The first line of a file, trailing whitespace removed; none when unreadable.
std::optional<std::string> read_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  if (in.bad()) return std::nullopt;
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r' || line.back() == '\n'))
    line.pop_back();
  return line;
}

std::optional<std::vector<int>> read_cpu_list(const std::filesystem::path& file) {
  const auto line = read_line(file);
  if (!line) return std::nullopt;
  try {
    return parse_cpu_list(*line);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

std::vector<int> process_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

bool contains(const std::vector<int>& cpus, int cpu) { return std::find(cpus.begin(), cpus.end(), cpu) != cpus.end(); }

bool spins(WaitKind kind) { return kind != WaitKind::kPark; }

std::string line(std::string_view label, std::string_view value) {
  std::string out(label);
  out += ':';
  if (out.size() < 20)
    out.resize(20, ' ');
  else
    out += ' ';
  out += value;
  return out;
}

// The CPUs a host description calls its own: online if known, else allowed.
const std::vector<int>& host_cpus(const HostInfo& host) {
  return host.online_cpus.empty() ? host.allowed_cpus : host.online_cpus;
}

}  // namespace

std::vector<int> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  const auto bad = [&]() { return std::invalid_argument("not a CPU list: '" + std::string(text) + "'"); };
  const auto number = [&](std::string_view s) {
    int value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty() || value < 0) throw bad();
    return value;
  };
  std::size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return cpus;
  text = text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const std::size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      cpus.push_back(number(item));
    } else {
      const int first = number(item.substr(0, dash));
      const int last = number(item.substr(dash + 1));
      if (last < first || last - first > 65535) throw bad();
      for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) throw bad();
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string format_cpu_list(const std::vector<int>& cpus_in) {
  if (cpus_in.empty()) return "none";
  std::vector<int> cpus = cpus_in;
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

HostInfo read_host_info(const std::filesystem::path& root, std::optional<std::vector<int>> allowed_cpus) {
  HostInfo host;
  const std::filesystem::path cpu_dir = root / "sys/devices/system/cpu";
  host.online_cpus = read_cpu_list(cpu_dir / "online").value_or(std::vector<int>{});
  host.allowed_cpus = allowed_cpus ? std::move(*allowed_cpus) : process_affinity();
  host.isolated = read_cpu_list(cpu_dir / "isolated");
  host.nohz_full = read_cpu_list(cpu_dir / "nohz_full");
  for (int cpu : host_cpus(host))
    if (auto governor = read_line(cpu_dir / ("cpu" + std::to_string(cpu)) / "cpufreq/scaling_governor"))
      host.governors.emplace_back(cpu, *governor);
  if (auto smt = read_line(cpu_dir / "smt/active")) host.smt_active = *smt == "1";
  if (auto thp = read_line(root / "sys/kernel/mm/transparent_hugepage/enabled")) {
    // "always [madvise] never": the bracketed word is the mode in force.
    const auto open = thp->find('['), close = thp->find(']');
    host.thp = open != std::string::npos && close > open ? thp->substr(open + 1, close - open - 1) : *thp;
  }
  host.clocksource = read_line(root / "sys/devices/system/clocksource/clocksource0/current_clocksource");
  host.privileged = geteuid() == 0;
  rlimit limit{};
  if (getrlimit(RLIMIT_RTPRIO, &limit) == 0)
    host.rtprio_limit = limit.rlim_cur == RLIM_INFINITY ? 99 : static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 99));
  if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0)
    host.memlock_limit = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(limit.rlim_cur);
  // CAP_IPC_LOCK (bit 14) in this process's effective set: /proc, not the root under test.
  std::ifstream status("/proc/self/status");
  for (std::string field; std::getline(status, field);)
    if (field.rfind("CapEff:", 0) == 0) host.ipc_lock = ((std::stoull(field.substr(7), nullptr, 16) >> 14) & 1) != 0;
  return host;
}

CpuPlan check_cpus(const PipelineConfig& config, const HostInfo& host) {
  CpuPlan plan;
  const std::vector<const ThreadConfig*> threads = config.threads();
  const std::vector<int>& own = host_cpus(host);
  std::map<int, std::vector<const ThreadConfig*>> by_cpu;

  for (const ThreadConfig* t : threads) {
    if (!t->cpu) continue;
    const int cpu = *t->cpu;
    plan.pinned.push_back({t->name, cpu, t->wait});
    by_cpu[cpu].push_back(t);
    if (contains(host.allowed_cpus, cpu)) continue;
    if (!contains(plan.missing_cpus, cpu)) plan.missing_cpus.push_back(cpu);
    if (!contains(own, cpu))
      plan.problems.push_back("profile pins " + t->name + " to CPU " + std::to_string(cpu) +
                              ", but this host has CPUs " + format_cpu_list(own));
    else
      plan.problems.push_back("profile pins " + t->name + " to CPU " + std::to_string(cpu) +
                              ", but this process may only run on CPUs " + format_cpu_list(host.allowed_cpus) +
                              " (its affinity mask: taskset, cgroup cpuset or CPUAffinity=)");
  }
  std::sort(plan.missing_cpus.begin(), plan.missing_cpus.end());

  for (const auto& [cpu, sharing] : by_cpu) {
    if (sharing.size() < 2) continue;
    const auto spinner =
        std::find_if(sharing.begin(), sharing.end(), [](const ThreadConfig* t) { return spins(t->wait); });
    if (spinner == sharing.end()) continue;
    std::string names;
    for (const ThreadConfig* t : sharing) names += (names.empty() ? "" : " and ") + t->name;
    plan.warnings.push_back(names + " are pinned to CPU " + std::to_string(cpu) + " and " + (*spinner)->name + " " +
                            std::string(to_string((*spinner)->wait)) + "s: they will starve each other");
  }

  std::size_t spinners = 0;
  for (const ThreadConfig* t : threads) {
    if (!spins(t->wait)) continue;
    ++spinners;
    const std::string how = t->name + " " + std::string(to_string(t->wait)) + "s";
    if (!t->cpu) {
      plan.warnings.push_back(how + " but is not pinned: the scheduler will move it and share its core");
      continue;
    }
    const int cpu = *t->cpu;
    if (!contains(host.allowed_cpus, cpu)) continue;
    if (!host.isolated)
      plan.warnings.push_back(how + " on CPU " + std::to_string(cpu) +
                              ", and this host does not say which cores are isolated");
    else if (!contains(*host.isolated, cpu))
      plan.warnings.push_back(how + " on CPU " + std::to_string(cpu) +
                              ", which is not isolated (isolcpus): other tasks and kernel work will preempt it");
    else if (host.nohz_full && !contains(*host.nohz_full, cpu))
      plan.warnings.push_back(how + " on isolated CPU " + std::to_string(cpu) +
                              ", which is not in nohz_full: the scheduler tick still interrupts it");
  }
  if (spinners > host.allowed_cpus.size())
    plan.warnings.push_back(std::to_string(spinners) + " threads spin, but this process may use only " +
                            std::to_string(host.allowed_cpus.size()) + " CPUs: they will starve each other (use park)");

  for (const ThreadConfig* t : threads)
    if (t->fifo_priority && !host.privileged && host.rtprio_limit < *t->fifo_priority)
      plan.warnings.push_back(t->name + " asks for SCHED_FIFO priority " + std::to_string(*t->fifo_priority) +
                              ", but RLIMIT_RTPRIO is " + std::to_string(host.rtprio_limit) +
                              " and the process is not root: setting it will fail (LimitRTPRIO= or CAP_SYS_NICE)");
  // mlockall needs the whole virtual size (a few hundred MiB) under the
  // limit; below 1 GiB it will not do for a pipeline (runtime/memory_lock.h).
  if (config.memory.lock && !host.ipc_lock && host.memlock_limit < (std::uint64_t{1} << 30))
    plan.warnings.push_back("[memory] lock = true, but RLIMIT_MEMLOCK is only " + std::to_string(host.memlock_limit) +
                            " bytes and this process lacks CAP_IPC_LOCK: locking needs a few hundred MiB, so "
                            "`tickflow run` will likely refuse to start (LimitMEMLOCK=infinity in the systemd unit, "
                            "or `ulimit -l unlimited`)");
  return plan;
}

std::vector<std::string> host_report(const HostInfo& host) {
  std::vector<std::string> out;
  out.push_back(line("cpus online", host.online_cpus.empty() ? "not exposed" : format_cpu_list(host.online_cpus)));
  out.push_back(line("cpus allowed", format_cpu_list(host.allowed_cpus) + " (this process's affinity mask)"));
  out.push_back(line("isolated cores", host.isolated ? format_cpu_list(*host.isolated) : "not exposed"));
  out.push_back(line("nohz_full", host.nohz_full ? format_cpu_list(*host.nohz_full) : "not exposed"));
  if (host.governors.empty()) {
    out.push_back(line("scaling governor", "not exposed (no cpufreq; usual on VMs)"));
  } else {
    // Group CPUs by governor: "performance (cpus 0-3), powersave (cpus 4-7)".
    std::map<std::string, std::vector<int>> groups;
    for (const auto& [cpu, governor] : host.governors) groups[governor].push_back(cpu);
    std::string value;
    for (const auto& [governor, cpus] : groups)
      value += (value.empty() ? "" : ", ") + governor + " (cpus " + format_cpu_list(cpus) + ")";
    if (groups.size() > 1 || groups.count("performance") == 0) value += "; performance recommended";
    out.push_back(line("scaling governor", value));
  }
  out.push_back(line("smt", !host.smt_active   ? "not exposed"
                            : *host.smt_active ? "on (siblings share a core's caches and ports; off recommended)"
                                               : "off"));
  out.push_back(line("transparent hugepages", !host.thp ? "not exposed"
                                              : *host.thp == "always"
                                                  ? "always (khugepaged compaction can stall; madvise recommended)"
                                                  : *host.thp));
  out.push_back(line("clocksource", !host.clocksource ? "not exposed"
                                    : *host.clocksource == "tsc"
                                        ? "tsc"
                                        : *host.clocksource + " (tsc gives the cheapest timestamps)"));
  return out;
}

std::vector<std::string> spin_report(const PauseCalibration& pause, std::uint32_t spin_ns) {
  std::vector<std::string> out;
  char buffer[128];
  std::snprintf(buffer, sizeof buffer, "%.1f ns (%s)", pause.pause_ns,
                pause.measured ? "measured at start-up" : "not measurable: assumed, the Xeon's");
  out.push_back(line("pause", buffer));
  std::snprintf(buffer, sizeof buffer, "%u PAUSEs = %.0f ns (target %u ns)", pause.pauses_per_poll,
                pause.poll_interval_ns(), kPollIntervalNs);
  out.push_back(line("poll interval", buffer));
  const std::uint32_t polls = spin_polls(spin_ns);
  std::snprintf(buffer, sizeof buffer, "%u polls = %.1f us (target %u ns)", polls,
                polls * pause.poll_interval_ns() / 1000.0, spin_ns);
  out.push_back(line("spin before yield", buffer));
  return out;
}

std::vector<std::string> profile_report(const PipelineConfig& config, const HostInfo& host, const CpuPlan& plan) {
  std::vector<std::string> out;
  out.push_back(line("profile", config.source.empty() ? "(defaults)" : config.source.string()));
  for (std::size_t i = 0; i < config.feeds.size() + 2; ++i) {
    const ThreadConfig& t = i < config.feeds.size()    ? config.feeds[i].thread
                            : i == config.feeds.size() ? config.aggregator
                                                       : config.writer;
    char buffer[96];
    std::snprintf(buffer, sizeof buffer, "  %-15s %-8s %-6s %-8s", t.name.c_str(),
                  t.cpu ? ("cpu " + std::to_string(*t.cpu)).c_str() : "any", std::string(to_string(t.wait)).c_str(),
                  t.fifo_priority ? ("fifo " + std::to_string(*t.fifo_priority)).c_str() : "-");
    std::string row = buffer;
    if (i < config.feeds.size()) {
      std::string exchanges;
      for (const auto& e : config.feeds[i].exchanges) exchanges += (exchanges.empty() ? "" : ",") + e;
      row += " " + exchanges;
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    out.push_back(row);
  }
  std::vector<int> needed;
  for (const auto& p : plan.pinned) needed.push_back(p.cpu);
  out.push_back(line("needs cpus", needed.empty() ? "none pinned" : format_cpu_list(needed)));
  if (plan.fits())
    out.push_back(line("verdict", "fits this host"));
  else
    out.push_back(line("verdict", "CPUs " + format_cpu_list(plan.missing_cpus) +
                                      " missing: `tickflow run` refuses this profile; `--unpinned` runs it without "
                                      "pinning"));
  for (const auto& p : plan.problems) out.push_back("problem: " + p);
  for (const auto& w : plan.warnings) out.push_back("warning: " + w);
  (void)host;
  return out;
}

}  // namespace tickflow
