// runtime/checkpoint_keeper.h
//
// CheckpointKeeper: writes the restart checkpoint (runtime/
// restart_checkpoint.h) on a thread of its own ("tf-checkpoint"), once the
// bars it covers are settled.
//
// The aggregator thread offers a snapshot at most once a second:
// begin_offer() hands it a preallocated buffer (or nothing, when the keeper
// is busy with the previous one: try_lock, the aggregator never waits), it
// fills in every market's MarketResumePoint, and commit_offer() records how
// many bars the aggregator had handed to the writer by then. The keeper
// thread writes the snapshot only when settled() (InfluxWriter::
// settled_bars(): bars acknowledged, spooled, or dropped and counted, in
// on_bar order) has reached that count: a checkpoint never claims a second
// whose bar is still only in memory. A newer offer replaces an older one
// that is still waiting.
//
// Why a thread: fsync + rename + directory fsync take milliseconds, which
// the aggregator and the writer cannot spend.
//
// Failures (ENOSPC, EROFS) are counted and logged (rate-limited by the
// caller's log) and the previous file stays; the pipeline goes on. stop()
// writes the last offer if it is settled by then.
//
// Allocation: the aggregator side never allocates after construction (the
// buffer holds `max_markets` points); names are looked up on the keeper's
// thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/market_registry.h"
#include "runtime/restart_checkpoint.h"

namespace tickflow {

struct CheckpointKeeperCounters {
  std::atomic<std::uint64_t> offers{0};    // snapshots taken
  std::atomic<std::uint64_t> busy{0};      // offers skipped: the keeper held the buffer
  std::atomic<std::uint64_t> written{0};   // files written
  std::atomic<std::uint64_t> failures{0};  // writes that failed (the old file stays)
  std::atomic<std::int64_t> last_written_ns{0};
};

class CheckpointKeeper {
 public:
  using Settled = std::function<std::uint64_t()>;
  using Log = std::function<void(const std::string&)>;

  CheckpointKeeper(std::filesystem::path file, std::size_t max_markets, const MarketRegistry& registry, Settled settled,
                   Log log);
  ~CheckpointKeeper();  // stop()
  CheckpointKeeper(const CheckpointKeeper&) = delete;
  CheckpointKeeper& operator=(const CheckpointKeeper&) = delete;

  void start();
  void stop();

  // --- the aggregator thread ---
  // The buffer to fill (cleared, capacity max_markets), or nullptr when busy.
  std::vector<MarketResumePoint>* begin_offer() noexcept;
  // The filled buffer covers every bar before `bars_handed`; `bus_floor`
  // (bus ingest, 0: none) is the stream sequence the snapshot's settled
  // bars cover (runtime/bus_ingest.h).
  void commit_offer(std::uint64_t bars_handed, std::int64_t now_ns, std::uint64_t bus_floor = 0) noexcept;

  // Before start(): `on_written(bus_floor)` runs on the keeper's thread
  // after each checkpoint with a nonzero bus floor was written: its bars
  // are settled, so the bus may ack that far.
  void set_on_written(std::function<void(std::uint64_t)> on_written) { on_written_ = std::move(on_written); }

  const CheckpointKeeperCounters& counters() const noexcept { return counters_; }
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  void run();
  bool write_if_settled();  // keeper thread, with pending_ moved out under the lock

  std::filesystem::path file_;
  const MarketRegistry& registry_;
  Settled settled_;
  Log log_;
  CheckpointKeeperCounters counters_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::vector<MarketResumePoint> filling_;  // the aggregator's, between begin and commit (mutex held)
  std::vector<MarketResumePoint> pending_;  // offered, waiting to be settled
  std::uint64_t pending_bars_ = 0;
  std::int64_t pending_ns_ = 0;
  std::uint64_t pending_bus_floor_ = 0;
  std::function<void(std::uint64_t)> on_written_;
  bool has_pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tickflow
