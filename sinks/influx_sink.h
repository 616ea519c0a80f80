// sinks/influx_sink.h
//
// InfluxSink: the writer thread's end of the pipeline. It batches
// line-protocol lines per retention policy, POSTs them to InfluxDB 1.x over
// one keep-alive connection (InfluxHttp), and loses nothing when the
// database is down, restarts, or this process is killed: what cannot be
// written goes to a crash-safe disk spool (DiskSpool) and is delivered, in
// order, when the server is back, before anything newer.
//
// Batching: a batch is sealed when it reaches `batch_lines` lines or when its
// oldest line is `max_batch_age` old (default 100 ms), so a closed 1 s bar is
// queryable well within a second, or when the writer calls seal_now() (live:
// every market has closed another second, so nothing more for it will come
// soon). One POST carries one retention policy.
//
// Bar visibility: a bar added with a BarKind (the writer passes one for each
// first emission of a 1 s bar) is counted when InfluxDB acknowledges its
// batch: bar_visible(kind) holds (acknowledgement wall time - the bar's end),
// the delay a user sees between a second's end and its bar being
// queryable. Only batches acknowledged whole, straight from memory, count:
// a batch that went through the disk spool, or had lines dead-lettered,
// does not (its delay is the outage's, reported elsewhere).
//
// What each answer does (../shared/docs/influxdb.md has the why):
//   204                         delivered
//   400 (partial write / parse) the batch is bisected and re-sent until the
//                               rejected lines are isolated: those go to the
//                               dead-letter file with the server's error,
//                               counted; every other line lands. Re-sending
//                               is harmless: a point with the same
//                               measurement, tags and time overwrites.
//   401 / 403                   configuration error, reported once; data
//                               stays spooled, retried with backoff
//   404 database not found      CREATE DATABASE, then retry
//   404 (other)                 configuration error (wrong URL), as 401
//   413                         split in halves, recursively
//   500 retention policy not found
//                               (re)create the policy, then retry
//   500 / 503 / 429 / timeout / refused
//                               exponential backoff with full jitter, capped;
//                               batches go to the spool meanwhile
//
// At-least-once: a batch leaves the spool only after a 204 for all of its
// lines, or after its rejected lines reached the dead-letter file.
// Promises about SIGKILL: every batch that was sealed and then either
// acknowledged or appended to the spool survives; lines still in an unsealed
// batch (at most max_batch_age of data) do not.
//
// Back-pressure: when the spool is full under SpoolFullPolicy::kBlock (or
// unwritable) and the in-memory overflow has reached `memory_limit_bytes`,
// can_accept() turns false; the writer thread then stops draining its ring,
// and the ring pushes back on the aggregator. Under kDropOldest the spool
// evicts its oldest batches instead.
//
// Loss is never silent: every point the spool evicts (the sink reads the
// evicted batch's line count) or the memory bound drops is counted in
// stats().points_dropped, and logged at most once per 10 s with the running
// total; rejected lines are counted in points_dead_lettered. The spool's
// segments are at most spool max_bytes / 8, so one eviction drops at most
// about an eighth of the spool.
//
// Health (for /health): last_progress() is when a write last succeeded or
// nothing was pending; last_status() the last HTTP status InfluxDB answered
// (0: no answer). When a write succeeds after failures, one "recovered" line
// is logged (how long writes failed, how many points were spooled
// meanwhile) and last_problem() is cleared.
//
// Settled bars (a restart checkpoint): add_bar()'s `ordinal` numbers the
// bars 1, 2, 3, ... in the order the writer takes them; settled_bars() is
// the largest N such that bars 1..N are each acknowledged, appended to the
// spool (kStored: safe against SIGKILL at once, against power loss after
// the spool's next fsync, at most fsync_interval later), dead-lettered, or
// dropped and counted (refused NaN bars included).
//
// Thread safety: one thread (the writer) owns an InfluxSink.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/flow_record.h"
#include "pipeline/latency_histogram.h"
#include "pipeline/line_protocol.h"
#include "pipeline/timeframe.h"
#include "sinks/disk_spool.h"
#include "sinks/influx_http.h"

namespace tickflow {

// A retention policy the sink creates (or alters) at start-up.
struct RetentionPolicySpec {
  std::string name;      // "aggr_1s"
  std::string duration;  // InfluxQL duration: "24h", "90d", "INF"
};

// The policies a sink writes: aggr_1s and aggr_<tf> of every rollup
// (retention_policy_name(), pipeline/timeframe.h), each with its duration
// from `durations` by timeframe name ("1s" -> "24h"), INF where absent.
// `tickflow run`'s config and `tickflow replay` both build theirs here.
std::vector<RetentionPolicySpec> retention_policies(const std::vector<Timeframe>& rollups,
                                                    const std::map<std::string, std::string>& durations);

// What bar_visible() is split by (runtime/influx_writer.h defines them).
enum class BarKind : std::uint8_t { kBusy = 0, kQuiet = 1, kUntracked = 2 };
inline constexpr std::size_t kBarKinds = 2;

struct InfluxSinkConfig {
  InfluxEndpoint endpoint;
  std::size_t batch_lines = 5000;
  std::chrono::milliseconds max_batch_age{100};
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  bool manage_schema = true;                    // CREATE DATABASE and the retention policies
  std::vector<RetentionPolicySpec> retention;   // created or altered when manage_schema
  std::optional<SpoolConfig> spool;             // none: memory only (bounded by memory_limit_bytes)
  std::string dead_letter_path;                 // default: <spool dir>/dead-letter.lp, else ./tickflow-dead-letter.lp
  std::size_t memory_limit_bytes = 256u << 20;  // batches held in memory while the spool cannot take them
  std::function<void(std::string_view)> log;    // one line per event worth a human's attention; default stderr
};

struct InfluxSinkStats {
  std::uint64_t points_accepted = 0;  // lines handed to the sink
  std::uint64_t points_written = 0;   // acknowledged by a 204
  std::uint64_t batches_written = 0;  // POSTs answered 204
  std::uint64_t retries = 0;          // failed attempts that will be retried
  std::uint64_t batches_spooled = 0;  // batches appended to the disk spool
  std::uint64_t points_spooled = 0;
  std::uint64_t points_dead_lettered = 0;  // rejected by the server (400), kept in the dead-letter file
  std::uint64_t points_dropped = 0;        // evicted by the spool's drop-oldest policy or memory overflow
  std::uint64_t points_refused = 0;        // not finite (NaN/Inf): never encoded
  std::uint64_t splits_413 = 0;
  std::uint64_t databases_created = 0;
  std::uint64_t retention_policies_set = 0;
  std::uint64_t config_errors = 0;  // 401/403/other 404 answers

  // Points that will never reach InfluxDB and were counted: what makes
  // `tickflow run` and `tickflow replay` exit non-zero.
  std::uint64_t points_lost() const noexcept { return points_dead_lettered + points_dropped + points_refused; }
};

class InfluxSink {
 public:
  using Clock = std::chrono::steady_clock;

  // Opens (and recovers) the spool if configured: its batches are delivered
  // before anything added later. Throws what DiskSpool throws (an unusable
  // spool directory is a configuration error).
  explicit InfluxSink(InfluxSinkConfig config);
  ~InfluxSink();
  InfluxSink(const InfluxSink&) = delete;
  InfluxSink& operator=(const InfluxSink&) = delete;

  // Adds one line (no trailing newline needed) to the batch of `rp`.
  // `precision` is one of n, u, ms, s, m, h. Never blocks on the network:
  // at most it seals and sends a full batch.
  void add_line(std::string_view rp, std::string_view precision, std::string_view line);

  // Adds a bar to retention policy aggr_<tf>, measurement trades_<tf>,
  // precision s. A bar with a non-finite field is refused and counted.
  // `ordinal` (1, 2, 3, ... in the caller's order; 0: not tracked) feeds
  // settled_bars().
  // `kind` other than kUntracked: count the bar in bar_visible(kind) once
  // acknowledged (see "Bar visibility").
  void add_bar(const Bar& bar, const BarLineEncoder& encoder, std::uint64_t ordinal = 0,
               BarKind kind = BarKind::kUntracked);

  // Seals every open batch now and sends it (if nothing older waits).
  void seal_now();

  // Adds one group's flow statistics to retention policy aggr_<tf> (the
  // bars' of the same timeframe), measurement flow_<tf>, precision s
  // (pipeline/flow_line.h). Non-finite statistics are left out of the line.
  void add_flow(const FlowRecord& record);

  // Seals batches that are due, and delivers spooled and sealed batches
  // while the server answers (backing off while it does not). Call it
  // often (every few ms) from the writer thread's loop.
  void poll();

  // Seals every batch, then delivers until nothing is left or `deadline`
  // passes. With a spool, anything undelivered at the deadline is in the
  // spool; true when everything was acknowledged (or dead-lettered).
  bool flush(Clock::time_point deadline);

  // Whether the writer should keep feeding the sink (see "Back-pressure").
  bool can_accept() const noexcept;

  // Points held only in memory (unsealed, or refused by the spool): what a
  // process exit now would lose.
  std::uint64_t points_unsaved() const noexcept;

  // Batches and bytes not yet acknowledged (spooled, queued or unsealed).
  std::uint64_t pending_batches() const noexcept;
  bool idle() const noexcept { return pending_batches() == 0; }

  const InfluxSinkStats& stats() const noexcept { return stats_; }
  const SpoolStats* spool_stats() const noexcept;
  // Bytes waiting in the disk spool (0 without one).
  std::uint64_t spool_pending_bytes() const noexcept;
  // Delay from a batch's oldest line being added to its 204, in ns.
  const LatencyHistogram& ack_delay() const noexcept { return ack_delay_; }
  // A 1 s bar's end -> the 204 of its batch, in ns (see "Bar visibility").
  const LatencyHistogram& bar_visible(BarKind kind) const noexcept {
    return bar_visible_[static_cast<std::size_t>(kind) % kBarKinds];
  }
  // The last configuration or transport problem, for the summary; cleared
  // when writes succeed again after failing.
  const std::string& last_problem() const noexcept { return last_problem_; }

  // See "Settled bars" in the banner.
  std::uint64_t settled_bars() const noexcept;

  // See "Health" in the banner.
  Clock::time_point last_progress() const noexcept { return last_progress_; }
  long last_status() const noexcept { return last_status_; }
  // Why writes are failing right now ("InfluxDB at URL unreachable: ..."),
  // empty while they succeed.
  const std::string& delivery_problem() const noexcept { return delivery_problem_; }
  // Points in the batches this process spooled and that are still spooled
  // (batches an earlier run left are in pending_batches() only).
  std::uint64_t points_in_spool() const noexcept { return points_in_spool_; }
  // The spool's on-disk bytes and cap (DiskSpool::disk_bytes(), max_bytes); 0 without one.
  std::uint64_t spool_disk_bytes() const noexcept { return spool_ ? spool_->disk_bytes() : 0; }
  std::uint64_t spool_max_bytes() const noexcept { return spool_ ? spool_->max_bytes() : 0; }
  std::string spool_dir() const { return spool_ ? spool_->dir().string() : std::string(); }

 private:
  struct Batch {
    std::string rp;
    std::string precision;
    std::string lines;  // '\n'-terminated lines
    std::uint64_t count = 0;
    Clock::time_point oldest{};       // when its first line came: seals it by age
    std::int64_t oldest_wall_ns = 0;  // the same in wall time: survives the spool, for ack_delay
    std::uint64_t first_bar = 0;      // ordinal of its first tracked bar (0: none)
    // Tracked bars by end second and kind: bars come in about time order,
    // so this holds a few entries, one per second in the batch.
    struct Visible {
      std::int64_t end_s;
      std::uint32_t count[kBarKinds];
    };
    std::vector<Visible> visible;
  };
  enum class Outcome { kDone, kRetry };

  using OpenBatch = std::map<std::string, Batch>::iterator;
  OpenBatch batch_for(std::string_view rp, std::string_view precision);
  void line_added(OpenBatch it);
  void start_batch(Batch& batch);
  void seal(OpenBatch it);
  void enqueue(Batch&& batch);
  void deliver(Clock::time_point budget_end);
  bool next_batch(Batch& out, bool& from_spool);
  void finish_front(bool from_spool, std::uint64_t count);
  Outcome send(const Batch& batch);
  Outcome send_lines(const Batch& batch, std::string_view lines, std::uint64_t count, int depth);
  void dead_letter(const Batch& batch, std::string_view lines, std::uint64_t count, std::string_view error);
  bool ensure_schema();
  void backoff();
  void problem(std::string message);
  // A write attempt failed (`why` without advice), or succeeded.
  void failed(std::string why);
  void succeeded();
  // `points` were lost to `why` (counted, logged at most every 10 s).
  void dropped(std::uint64_t points, const char* why);
  void on_spool_drop(std::string_view record);
  void to_memory(Batch&& batch);
  void pop_memory_front();
  void spooled(const Batch& batch);

  static std::string encode_spool_record(const Batch& batch);
  static bool decode_spool_record(std::string_view record, Batch& out);

  InfluxSinkConfig config_;
  InfluxHttp http_;
  std::unique_ptr<DiskSpool> spool_;
  std::map<std::string, Batch> open_;  // by rp + '\n' + precision
  std::deque<Batch> memory_;           // sealed, not spooled (no spool, or the spool refused)
  std::size_t memory_bytes_ = 0;
  bool schema_ready_ = false;
  Clock::time_point next_attempt_{};
  std::chrono::milliseconds current_backoff_{0};
  std::minstd_rand jitter_{12345};
  std::string dead_letter_path_;
  std::string last_problem_;
  std::string reported_problem_;  // not logged again until it changes
  InfluxSinkStats stats_;
  LatencyHistogram ack_delay_;
  LatencyHistogram bar_visible_[kBarKinds];
  void record_visible(const Batch& batch);
  std::string scratch_;
  std::map<std::uint32_t, std::string> rp_by_timeframe_;  // 60 -> "aggr_1m"
  // Health and recovery.
  Clock::time_point last_progress_ = Clock::now();
  long last_status_ = -1;  // -1: nothing asked yet
  std::string delivery_problem_;
  bool failing_ = false;
  Clock::time_point failing_since_{};
  std::uint64_t spooled_at_failure_ = 0;
  std::uint64_t dropped_at_failure_ = 0;
  std::uint64_t points_in_spool_ = 0;
  // Drop reports.
  Clock::time_point last_drop_log_{};
  std::uint64_t dropped_logged_ = 0;
  bool drop_logged_once_ = false;
  // Settled bars.
  std::uint64_t last_bar_ = 0;                      // highest ordinal given to add_bar()
  std::multiset<std::uint64_t> memory_first_bars_;  // first_bar of memory_'s batches that have one
  const std::string& rp_for(std::uint32_t timeframe_s);
};

}  // namespace tickflow
