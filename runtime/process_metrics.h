// runtime/process_metrics.h
//
// The process's and its threads' own figures for /metrics, read from
// /proc/self, in the names Prometheus' client libraries use, so dashboards
// and alerts written for any exporter work unchanged:
//
//   process_cpu_seconds_total          user + system CPU of the whole process
//   process_resident_memory_bytes      RSS
//   process_virtual_memory_bytes       address space
//   process_open_fds / process_max_fds descriptors open / RLIMIT_NOFILE (soft)
//   process_start_time_seconds         start, Unix time
//   tickflow_thread_cpu_seconds_total{thread="tf-agg"}
//                                      user + system CPU per thread name
//
// A pinned-thread pipeline lives by its threads: a spinning tf-agg shows
// ~1 CPU second per second, a parked one ~0; a feed thread near 1 that
// should park is the first sign of a mis-tuned host.
//
// Thread names are the 15-character `comm` of each /proc/self/task/<tid>
// (pthread_setname_np: tf-feed-N, tf-agg, tf-writer, tf-backfill, tf-http,
// ...; unnamed threads carry the process's name). Threads sharing a name are
// summed into one series, because one series per tid would churn with every
// short-lived thread and duplicate label sets are invalid in the text format.
// A thread that exits takes its CPU time out of its name's sum (a counter
// reset to Prometheus, which rate() handles).
//
// Cost: one open/read per thread plus /proc/self/{stat,fd,limits}, on the
// HTTP thread per scrape: 0.3-0.6 ms for a dozen threads on the 2-core VM
// (loaded; 2000 calls, /tmp bench of append_process_metrics), i.e. ~0.01 %
// of a core at a 5 s scrape interval. The pipeline threads are never
// touched.
//
// The parsers take file contents, so tests feed them fixed text; the
// readers return nullopt / skip an entry when /proc cannot be read (not
// Linux, or a thread exiting mid-scan).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickflow {

class PrometheusText;

// The fields of /proc/<pid>/stat (or task/<tid>/stat) that /metrics uses.
struct ProcStat {
  std::string comm;               // field 2, without its parentheses
  std::uint64_t utime_ticks = 0;  // field 14
  std::uint64_t stime_ticks = 0;  // field 15
  std::uint64_t start_ticks = 0;  // field 22: clock ticks after boot
  std::uint64_t vsize_bytes = 0;  // field 23
  std::uint64_t rss_pages = 0;    // field 24
};

// Parses one stat line. The comm may itself hold spaces and ')' (a thread
// may name itself anything), so it runs to the LAST ')'. nullopt when the
// line is cut short.
std::optional<ProcStat> parse_proc_stat(std::string_view line);

// "btime" of /proc/stat: boot time, Unix seconds. nullopt without one.
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat);

// The soft limit of "Max open files" in /proc/<pid>/limits; nullopt when
// absent or "unlimited".
std::optional<std::uint64_t> parse_max_open_files(std::string_view limits);

struct ThreadCpu {
  std::string name;
  double cpu_seconds = 0;
  std::size_t threads = 0;  // how many threads carry the name
};

struct ProcessFigures {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  std::optional<double> max_fds;
  std::optional<double> start_time_seconds;
  std::vector<ThreadCpu> threads;  // by name, sorted
};

// Reads /proc/self (or `proc_self`, a directory laid out like it). nullopt
// when its stat cannot be read.
std::optional<ProcessFigures> read_process_figures(const std::string& proc_self = "/proc/self");

// Adds the families of the banner to `out`; adds nothing when /proc/self is
// unreadable.
void append_process_metrics(PrometheusText& out);

}  // namespace tickflow
