// sinks/disk_spool.h
//
// DiskSpool: the InfluxDB sink's on-disk queue of batches it could not
// deliver. The sink appends a batch (an opaque byte payload it encodes
// itself) when a POST cannot complete; when the server is back it delivers
// the spooled batches oldest first with front() / pop_front(), and only then
// new data. On start-up the spool is opened (and recovered) and replayed
// before new data. See ../shared/docs/influxdb.md, "Durability practice".
//
// Promises:
//  * at-least-once: a record leaves the spool only through pop_front() or a
//    kDropOldest eviction (counted in stats()). The checkpoint (the position
//    of the oldest undelivered record) is persisted at most every
//    fsync_interval, whenever a segment is wholly delivered, and in sync()
//    and the destructor; after a crash, records popped since its last
//    persist are delivered again, never lost;
//  * order: front() returns records in append order, across segment files
//    and across restarts;
//  * SIGKILL (process crash): a record is safe once append() returned
//    kStored, because it is in the kernel's page cache (one pwritev(2) per
//    record, no user-space buffering). The checkpoint survives as of its
//    last persist;
//  * power loss / kernel crash: records are safe once fsync'ed, which
//    append() does when the oldest unsynced append is fsync_interval old
//    (0: on every append), sync() and the destructor do always, and
//    maybe_sync() does when the interval is due (call it when idle, or the
//    last appends before a pause stay unsynced). A torn or lost tail is
//    found and cut off on the next open;
//  * recovery on open is one sequential pass over the undelivered bytes
//    (O(size), a 1 MiB buffer): a torn final record (short header, short
//    payload, or a CRC mismatch with no valid record after it) at the end of
//    the newest segment is truncated away and counted in
//    torn_tail_bytes_truncated; a corrupt record anywhere else (bad magic,
//    bad header check, absurd length, payload CRC mismatch) is skipped and
//    counted in corrupt_records_skipped, and reading resumes at the next
//    valid record: nothing after it is lost. A corrupt record is never
//    returned by front(). Record numbers (seq) make the count exact (two
//    damaged records in a row count 2) and keep stale bytes from being
//    taken for a record while resynchronising. Counts are per open: damage
//    the checkpoint has not passed yet is counted again by the next open;
//  * size cap on the disk: disk_bytes() -- every segment file's size
//    (headers, delivered or evicted records of a segment not yet deleted,
//    all of it) plus kSpoolFixedOverheadBytes for LOCK, checkpoint and
//    checkpoint.tmp -- never exceeds max_bytes, before or after an append:
//    room is made first, then the record is written, so the sum of the
//    file sizes in `dir` stays within max_bytes at every instant (files
//    the spool does not own, such as the sink's dead-letter.lp, are not
//    counted). Disk is freed a whole segment at a time (a segment file is
//    deleted once nothing in it is pending), so kDropOldest evicts the
//    oldest segment's remaining records whole, and kBlock refuses (kFull,
//    nothing written) until delivery frees a segment. Keep segment_bytes
//    well below max_bytes (InfluxSink uses at most max_bytes / 8) or one
//    eviction drops a large share of the spool. Evictions are counted
//    (dropped_records / dropped_bytes) and each evicted payload is handed
//    to SpoolConfig::on_drop, so the owner can count what it held. A
//    record that alone cannot fit (record + kSpoolFixedOverheadBytes >
//    max_bytes) is refused (kFull) under both policies;
//  * disk full / I/O error: append() returns kIoError and leaves nothing
//    partial behind (a short write is truncated back); last_error() names
//    the operation, the file and the errno text; later appends retry;
//  * an unusable directory (cannot be created, written, or is locked by
//    another DiskSpool, in this or another process) makes the constructor
//    throw SpoolError naming the directory and the reason.
//
// On-disk format (little-endian, as x86-64 writes it), in `dir`:
//
//   LOCK            flock(2)ed while a DiskSpool owns the directory; holds
//                   the owner's pid, for the error message of a second one
//   NNNNNN.seg      segments (000001.seg, 000002.seg, ...): records back to
//                   back from offset 0, no file header. The highest id is
//                   the one being appended to. A record is a 24-byte header
//                   and the payload:
//                     u32 magic        0x31524654 ("TFR1")
//                     u32 length       payload bytes (<= kSpoolMaxPayloadBytes)
//                     u64 seq          record number, +1 per append, never reused
//                     u32 payload_crc  zlib crc32 of the payload
//                     u32 header_crc   zlib crc32 of the 20 bytes above
//                   A new segment starts when a record would take the current
//                   one past segment_bytes (a larger record gets a segment of
//                   its own); the old one is fsync'ed first.
//   checkpoint      36 bytes: u32 magic 0x504B4354 ("TCKP"), u32 version 1,
//                   u64 segment id, u64 offset, u64 seq of the next
//                   undelivered record, u32 crc32 of the 32 bytes before.
//                   Replaced atomically: written to checkpoint.tmp, fsync,
//                   rename, fsync of the directory. A leftover checkpoint.tmp
//                   is ignored and removed. A missing or damaged checkpoint
//                   means "deliver everything still on disk".
//
// Threading: one thread, the sink's writer thread, owns a DiskSpool; nothing
// in it is synchronized. The object is neither copyable nor movable (hold it
// in a std::optional or std::unique_ptr). A child the owner forks inherits
// the LOCK descriptor (O_CLOEXEC acts on exec only) and keeps the directory
// locked until it execs or exits.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tickflow {

// Bytes a record takes on disk besides its payload; pending_bytes() counts
// them.
inline constexpr std::size_t kSpoolRecordHeaderBytes = 24;
// Largest payload a record may carry; a longer length field is corrupt.
inline constexpr std::size_t kSpoolMaxPayloadBytes = std::size_t{1} << 30;
// What the spool's small files may take besides the segments, counted
// against max_bytes: LOCK (a pid and a newline, at most 16 bytes),
// checkpoint and, while one is being replaced, checkpoint.tmp (36 each).
inline constexpr std::uint64_t kSpoolFixedOverheadBytes = 16 + 36 + 36;

enum class SpoolFullPolicy : std::uint8_t {
  kBlock,       // append() refuses with kFull until records are delivered
  kDropOldest,  // append() evicts the oldest records, counted
};

struct SpoolConfig {
  std::filesystem::path dir;             // created if missing
  std::uint64_t max_bytes = 1ull << 30;  // cap on undelivered bytes (headers included)
  SpoolFullPolicy full_policy = SpoolFullPolicy::kBlock;
  std::chrono::milliseconds fsync_interval{1000};  // 0: fsync every append and checkpoint every pop
  std::uint64_t segment_bytes = 16ull << 20;       // rotate segment files at this size
  // Called (owner's thread, inside append()) with the payload of every
  // record a kDropOldest eviction removes, before it is gone: the owner
  // counts what it held. Unset: evictions do not read the payload.
  std::function<void(std::string_view payload)> on_drop{};
};

struct SpoolStats {
  std::uint64_t appended_records = 0;           // appends that returned kStored
  std::uint64_t appended_bytes = 0;             // their payload bytes
  std::uint64_t delivered_records = 0;          // pop_front()s
  std::uint64_t dropped_records = 0;            // kDropOldest evictions
  std::uint64_t dropped_bytes = 0;              // their payload bytes
  std::uint64_t corrupt_records_skipped = 0;    // records lost to corruption (counted per open)
  std::uint64_t torn_tail_bytes_truncated = 0;  // bytes cut off the newest segment on open
  std::uint64_t write_errors = 0;               // failed writes, fsyncs, checkpoint persists, reads
  std::uint64_t fsyncs = 0;                     // fsync/fdatasync calls, directory syncs included
};

enum class SpoolAppend : std::uint8_t {
  kStored,   // written; durable against SIGKILL
  kFull,     // kBlock policy: over max_bytes (or the record alone is), nothing stored; retry later
  kIoError,  // disk full, EIO, ...: nothing stored; last_error() says what; retry later
};

class SpoolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DiskSpool {
 public:
  // Opens `config.dir` (creating it), locks it and recovers it. Throws
  // SpoolError naming the directory and the errno text when it cannot be
  // created, written or locked, or a segment cannot be read; and
  // std::invalid_argument for a zero max_bytes or segment_bytes.
  explicit DiskSpool(SpoolConfig config);
  ~DiskSpool();  // sync()s; errors only reach last_error()
  DiskSpool(const DiskSpool&) = delete;
  DiskSpool& operator=(const DiskSpool&) = delete;

  // Appends one framed record (one pwritev(2)). kStored: durable against
  // SIGKILL from now on, and against power loss after the next fsync.
  SpoolAppend append(std::string_view payload);

  bool empty() const noexcept { return pending_records_ == 0; }
  std::uint64_t pending_records() const noexcept { return pending_records_; }
  // On-disk bytes of the undelivered records: payloads + kSpoolRecordHeaderBytes each.
  std::uint64_t pending_bytes() const noexcept { return pending_bytes_; }
  // What the spool takes on disk, as the cap counts it: the segment files'
  // sizes plus kSpoolFixedOverheadBytes. Never above max_bytes.
  std::uint64_t disk_bytes() const noexcept;
  std::uint64_t max_bytes() const noexcept { return config_.max_bytes; }

  // Copies the oldest undelivered record into `payload`; false when the
  // spool is empty (or a read failed: then last_error() says so and empty()
  // stays false). A corrupt record met on the way is skipped and counted,
  // never returned. Calling it again without pop_front() returns the same
  // record.
  bool front(std::string& payload);
  // Marks the record the last front() returned as delivered. If a
  // kDropOldest append evicted that record since, does nothing; without a
  // preceding front() it removes the oldest record. The persisted
  // checkpoint advances at most every fsync_interval, when a segment is
  // wholly delivered (the segment is then deleted), and always in sync()
  // and the destructor.
  void pop_front();

  // fsyncs the data and persists the checkpoint now.
  void sync();
  // The same, but only what has been dirty for fsync_interval or longer:
  // the owner calls it when idle, so that power loss cannot take more than
  // one interval of appends when appends stop.
  void maybe_sync();

  const SpoolStats& stats() const noexcept { return stats_; }
  // The latest error, human-readable, e.g.
  // "write spool/000003.seg: No space left on device"; empty if none.
  std::string last_error() const { return last_error_; }
  const std::filesystem::path& dir() const noexcept { return config_.dir; }

 private:
  struct Segment {
    std::uint64_t id = 0;
    std::uint64_t end = 0;  // bytes of records (= the file size when all is well)
  };
  struct SkipRange {  // corrupt bytes found by a scan, in one segment
    std::uint64_t segment_id = 0;
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    std::uint64_t records = 0;  // records lost, counted on the range that ends the region
  };
  struct Located {  // a record at the read position
    std::uint64_t length = 0;
    std::uint64_t seq = 0;
  };
  enum class Handed : std::uint8_t { kNone, kValid, kEvicted };
  using Clock = std::chrono::steady_clock;

  void open_directory();
  void recover();
  // Scans every segment from the read position; rebuilds skips_, the
  // pending counters and next_seq_. With `truncate_tail`, a bad tail of
  // the newest segment is cut off (open); otherwise it becomes a skip range.
  // `start_exact`: read_seq_ is the seq expected at the read position (else
  // only a lower bound). Returns the number of records lost to corruption
  // it found. Throws SpoolError on a read error.
  std::uint64_t scan(bool truncate_tail, bool start_exact);
  // Moves the read position over skip ranges and wholly read segments
  // (deleting them, checkpoint first).
  void normalize_read_position();
  // Finds the record at the read position; reads and verifies its payload
  // into `payload` unless null. false: the spool is empty or a read failed.
  bool locate_front(std::string* payload, Located& out);
  void remove_front(const Located& rec, bool delivered);
  bool rotate();
  // Frees disk for a record of `bytes`: deletes what is wholly read and,
  // under kDropOldest, evicts the oldest segment's records. false: it
  // cannot be made to fit (kBlock with pending data, or an error).
  bool make_room(std::uint64_t bytes);
  // Evicts every pending record of the oldest segment (kDropOldest) and
  // frees its file. false when nothing could be freed.
  bool evict_oldest_segment();
  bool sync_data();
  bool persist_checkpoint();
  void delete_read_segment();
  int read_fd();
  void close_read_fd();
  std::string segment_path(std::uint64_t id) const;
  void set_error(std::string_view what, const std::string& where, int err);

  SpoolConfig config_;
  int dir_fd_ = -1;
  int lock_fd_ = -1;
  int write_fd_ = -1;  // segments_.back()
  int read_fd_ = -1;   // read_fd_segment_
  std::uint64_t read_fd_segment_ = 0;

  std::deque<Segment> segments_;  // oldest (being read) first; never empty after construction
  std::deque<SkipRange> skips_;   // in file order
  std::uint64_t read_off_ = 0;    // in segments_.front()
  std::uint64_t read_seq_ = 0;    // seq of the record at the read position (if read_seq_known_)
  bool read_seq_known_ = false;
  std::uint64_t next_seq_ = 1;  // seq of the next append

  std::uint64_t pending_records_ = 0;
  std::uint64_t pending_bytes_ = 0;

  Handed handed_ = Handed::kNone;
  Located handed_rec_;

  bool data_dirty_ = false;
  bool checkpoint_dirty_ = false;
  Clock::time_point data_dirty_since_{};
  Clock::time_point last_checkpoint_{};

  SpoolStats stats_;
  std::string last_error_;
  std::string evicted_;  // scratch for on_drop
};

}  // namespace tickflow
