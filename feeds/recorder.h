// feeds/recorder.h
//
// CaptureRecorder: records the raw frames a feed thread receives into hourly
// capture files that CaptureReader (capture_reader.h) reads back exactly, so
// that any live session can be replayed and backtested later.
//
//   <directory>/<EXCHANGE>-<YYYYMMDD>-<HH>.log      one line per frame:
//   <directory>/<EXCHANGE>-<YYYYMMDD>-<HH>.log.gz   "<recv_ns> <frame>\n"
//
// The hour is the frame's receive time, in UTC. Files are opened for append:
// a restart within the hour continues the same file (for gzip, as a new
// gzip member, which gzread reads through transparently).
//
// Two threads, joined by an SpscByteRing (ringbuffers/byte_ring.h):
//  * The feed thread calls record(). It copies the receive time and the frame
//    into the ring and returns: no allocation, no lock, no system call in the
//    common case, never blocks. When the ring is full the frame is dropped
//    and counted (dropped_full); the feed is never slowed by the disk.
//  * The recorder's writer thread drains the ring in batches and appends
//    lines to a block buffer (block_bytes, 1 MiB by default). It calls
//    write(2) (or gzwrite) only when the block is full, when the hour
//    rotates, on flush_interval, on flush() and on stop(). When idle it
//    sleeps on a Doorbell with a poll_interval timeout. The feed thread rings
//    the doorbell only when the ring is more than a quarter full, so in the
//    steady state the writer wakes by timeout, drains a batch, and the feed
//    thread pays no futex wake per frame.
//
// Nothing is lost silently. Every frame passed to record() ends in exactly
// one counter of Stats:
//   record() returned false:  dropped_full, dropped_oversize, dropped_stopped
//   record() returned true:   recorded, which after stop() equals
//                             frames_written + dropped_malformed + frames_lost
// Malformed frames (dropped_malformed) are those the line format cannot
// carry: an empty frame, a frame containing '\n' or '\r' (a line break would
// split it; CaptureReader strips a trailing '\r'), or a receive time below
// 10^15 ns (CaptureReader requires 16+ digits). Websocket text frames from
// exchanges never contain raw line breaks (JSON escapes them), so this
// counter stays at zero in practice; escaping would have changed the bytes.
//
// I/O errors (directory missing or unwritable, disk full) never reach the
// feed thread and never throw: the writer counts them (write_errors), keeps
// the newest message naming the path (last_error()), counts the frames of
// the failed block as frames_lost, and retries with the next block. After a
// failed write to a plain file the file is truncated back to its last
// complete line, so it stays readable; a gzip file whose write failed may
// end in a truncated member (zlib offers no rollback).
//
// Threads: record() from one feed thread only. start(), flush(), stop() and
// the destructor from one control thread; stop() must not run concurrently
// with record() (stop the feed first). stats() and last_error() from any
// thread. One recorder per (exchange, directory): two recorders would append
// to the same files.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "ringbuffers/byte_ring.h"
#include "ringbuffers/cache_line.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/single_writer.h"

namespace tickflow {

struct RecorderOptions {
  std::string directory;  // must exist; it is not created
  // Upper case, digits and '_' (e.g. "BINANCE_FUTURES"): the name CaptureReader
  // and make_parser() recognise from the file name.
  std::string exchange;
  bool gzip = false;
  int gzip_level = 1;  // 1: fastest; JSON still shrinks ~8x, and the writer shares a core
  // Power of two. Frames up to ring_bytes / 2 - 16 bytes are accepted.
  std::size_t ring_bytes = std::size_t{8} << 20;
  std::size_t block_bytes = std::size_t{1} << 20;  // at least 4 KiB
  // A non-empty block older than this is written out even if not full, so a
  // quiet feed's frames reach the file within about this delay. Zero: only
  // full blocks, rotation, flush() and stop() write.
  std::chrono::milliseconds flush_interval{1000};
  // How long the idle writer sleeps between polls of the ring.
  std::chrono::milliseconds poll_interval{20};
  // False: the writer starts only at start(). Tests use it to fill the ring.
  bool start_writer = true;
};

class CaptureRecorder {
 public:
  struct Stats {
    // Counted by record(), on the feed thread.
    std::uint64_t recorded = 0;          // accepted into the ring
    std::uint64_t dropped_full = 0;      // ring full: the writer is behind
    std::uint64_t dropped_oversize = 0;  // frame larger than max_frame_bytes()
    std::uint64_t dropped_stopped = 0;   // record() after stop()
    // Counted by the writer thread.
    std::uint64_t dropped_malformed = 0;  // not representable as a line (see above)
    std::uint64_t frames_written = 0;     // lines handed to write(2) / gzwrite successfully
    std::uint64_t frames_lost = 0;        // accepted, but their block could not be written
    std::uint64_t bytes_written = 0;      // line bytes written (before compression)
    std::uint64_t files_opened = 0;
    std::uint64_t write_errors = 0;  // failed open, write, flush or close
  };

  // Throws std::invalid_argument on a bad exchange name or size. Starts the
  // writer thread unless options.start_writer is false.
  explicit CaptureRecorder(RecorderOptions options);
  ~CaptureRecorder();  // stop()
  CaptureRecorder(const CaptureRecorder&) = delete;
  CaptureRecorder& operator=(const CaptureRecorder&) = delete;

  // Feed thread. Copies the frame for the writer; false (and counted) when
  // the frame is dropped. Never blocks, allocates or throws.
  bool record(std::int64_t receive_ts_ns, std::string_view frame) noexcept {
    if (!feed_.accepting.load(std::memory_order_relaxed)) [[unlikely]] {
      single_writer_add(feed_.dropped_stopped);
      return false;
    }
    if (frame.size() > max_frame_bytes_) [[unlikely]] {
      single_writer_add(feed_.dropped_oversize);
      return false;
    }
    char* at = ring_.try_claim(sizeof receive_ts_ns + frame.size());
    if (at == nullptr) [[unlikely]] {
      single_writer_add(feed_.dropped_full);
      wake_threshold_crossed();
      return false;
    }
    std::memcpy(at, &receive_ts_ns, sizeof receive_ts_ns);
    if (!frame.empty()) std::memcpy(at + sizeof receive_ts_ns, frame.data(), frame.size());
    ring_.publish();
    single_writer_add(feed_.recorded);
    if (ring_.fill_exceeds(wake_fill_bytes_)) [[unlikely]]
      wake_threshold_crossed();
    return true;
  }

  // Starts the writer thread if it is not running (and stop() has not run).
  void start();

  // Blocks until every frame recorded before the call is written to its
  // file (write(2); for gzip, gzflush(Z_SYNC_FLUSH)). Not for the feed
  // thread's hot path. No-op when the writer is not running.
  void flush();

  // Stops accepting frames, drains the ring, writes everything and closes
  // the file. Idempotent. If the writer never started, the draining happens
  // on the calling thread.
  void stop();

  Stats stats() const noexcept;
  // The newest I/O error, naming the path and the cause; empty if none.
  std::string last_error() const;

  std::size_t max_frame_bytes() const noexcept { return max_frame_bytes_; }
  const RecorderOptions& options() const noexcept { return options_; }

 private:
  class Writer;  // file I/O, zlib and the thread: recorder.cc

  void wake_threshold_crossed() noexcept { doorbell_.notify(); }

  RecorderOptions options_;
  std::size_t max_frame_bytes_ = 0;
  std::size_t wake_fill_bytes_ = 0;
  SpscByteRing ring_;
  Doorbell doorbell_;
  // Written by the feed thread on every record(); read by others only for
  // stats(). `accepting` is written once, by stop().
  struct alignas(kCacheLineSize) FeedCounters {
    std::atomic<bool> accepting{true};
    std::atomic<std::uint64_t> recorded{0};
    std::atomic<std::uint64_t> dropped_full{0};
    std::atomic<std::uint64_t> dropped_oversize{0};
    std::atomic<std::uint64_t> dropped_stopped{0};
  };
  static_assert(sizeof(FeedCounters) == kCacheLineSize);
  FeedCounters feed_;
  std::unique_ptr<Writer> writer_;
};

}  // namespace tickflow
