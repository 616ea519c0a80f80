#include "feeds/recorder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ringbuffers/wait_strategy.h"

namespace tickflow {
namespace {

constexpr std::int64_t kNanosPerHour = std::int64_t{3600} * 1'000'000'000;
// CaptureReader takes "<digits> <frame>" as tickflow's format only with 16+
// digits (nanoseconds since 1970-01-12).
constexpr std::int64_t kMinReceiveNs = 1'000'000'000'000'000;
constexpr std::size_t kMaxPrefixBytes = 21;  // 19 digits, ' ', and slack
constexpr std::size_t kRecordsPerDrain = 4096;
constexpr unsigned kGzipBufferBytes = 256 * 1024;

bool valid_exchange(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

// Everything the writer thread owns. Fields without a comment are touched
// only by the writer thread (or by stop() after the thread has been joined,
// or when it never started).
class CaptureRecorder::Writer {
 public:
  Writer(const RecorderOptions& options, SpscByteRing& ring, Doorbell& doorbell)
      : options_(options), ring_(ring), doorbell_(doorbell), block_(options.block_bytes) {}

  ~Writer() { close_file(); }

  void start() {
    if (thread_.joinable() || finished_) return;
    thread_ = std::thread([this] { run(); });
  }

  bool running() const noexcept { return thread_.joinable(); }

  void flush() {
    if (!thread_.joinable()) return;
    std::unique_lock lock(mutex_);
    const std::uint64_t ticket = flush_requested_.fetch_add(1, std::memory_order_release) + 1;
    doorbell_.notify();
    flushed_cv_.wait(lock, [&] { return flush_done_ >= ticket; });
  }

  void stop() {
    if (finished_) return;
    if (thread_.joinable()) {
      stop_requested_.store(true, std::memory_order_release);
      doorbell_.notify();
      thread_.join();
    } else {
      finish();  // never started: this thread becomes the ring's consumer
    }
  }

  void read_stats(Stats& out) const noexcept {
    out.dropped_malformed = counters_.dropped_malformed.load(std::memory_order_relaxed);
    out.frames_written = counters_.frames_written.load(std::memory_order_relaxed);
    out.frames_lost = counters_.frames_lost.load(std::memory_order_relaxed);
    out.bytes_written = counters_.bytes_written.load(std::memory_order_relaxed);
    out.files_opened = counters_.files_opened.load(std::memory_order_relaxed);
    out.write_errors = counters_.write_errors.load(std::memory_order_relaxed);
  }

  std::string last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
  }

 private:
  using Clock = std::chrono::steady_clock;

  void run() {
    const WaitStrategy wait{WaitKind::kPark, /*spin_iterations=*/0, /*yield_iterations=*/0};
    std::uint64_t flush_seen = 0;
    for (;;) {
      ring_.consume([this](std::string_view record) { append(record); }, kRecordsPerDrain);
      const std::uint64_t flush_wanted = flush_requested_.load(std::memory_order_acquire);
      if (flush_wanted != flush_seen) {
        flush_seen = flush_wanted;
        drain_all();
        write_block();
        if (gz_ != nullptr && gzflush(gz_, Z_SYNC_FLUSH) != Z_OK) report_gzip_error("flush");
        std::lock_guard lock(mutex_);
        flush_done_ = flush_wanted;
        flushed_cv_.notify_all();
      }
      if (stop_requested_.load(std::memory_order_acquire)) break;
      if (block_used_ != 0 && options_.flush_interval.count() > 0 &&
          Clock::now() - block_started_ >= options_.flush_interval)
        write_block();
      wait.wait_for(
          [&] {
            return ring_.readable() || stop_requested_.load(std::memory_order_acquire) ||
                   flush_requested_.load(std::memory_order_acquire) != flush_seen;
          },
          options_.poll_interval, &doorbell_);
    }
    finish();
  }

  void finish() {
    drain_all();
    write_block();
    close_file();
    finished_ = true;
  }

  void drain_all() {
    while (ring_.consume([this](std::string_view record) { append(record); }, kRecordsPerDrain) != 0) {
    }
  }

  // One ring record: 8 bytes of receive time, then the frame.
  void append(std::string_view record) {
    std::int64_t receive_ns = 0;
    std::memcpy(&receive_ns, record.data(), sizeof receive_ns);
    const std::string_view frame = record.substr(sizeof receive_ns);
    if (frame.empty() || receive_ns < kMinReceiveNs || std::memchr(frame.data(), '\n', frame.size()) != nullptr ||
        std::memchr(frame.data(), '\r', frame.size()) != nullptr) [[unlikely]] {
      single_writer_add(counters_.dropped_malformed);
      return;
    }
    const std::int64_t hour = receive_ns / kNanosPerHour;
    if (hour != hour_) [[unlikely]]
      rotate(hour);

    char prefix[kMaxPrefixBytes];
    char* end = std::to_chars(prefix, prefix + sizeof prefix, receive_ns).ptr;
    *end++ = ' ';
    const auto prefix_size = static_cast<std::size_t>(end - prefix);
    const std::size_t line = prefix_size + frame.size() + 1;
    if (line > block_.size() - block_used_) write_block();
    if (line > block_.size()) [[unlikely]] {
      // Larger than a whole block: straight to the file, in three pieces.
      const std::string_view pieces[] = {{prefix, prefix_size}, frame, {"\n", 1}};
      write_out(pieces, 1);
      return;
    }
    if (block_used_ == 0) block_started_ = Clock::now();
    char* out = block_.data() + block_used_;
    std::memcpy(out, prefix, prefix_size);
    std::memcpy(out + prefix_size, frame.data(), frame.size());
    out[prefix_size + frame.size()] = '\n';
    block_used_ += line;
    ++block_frames_;
  }

  void rotate(std::int64_t hour) {
    write_block();
    close_file();
    hour_ = hour;
    const auto seconds = static_cast<std::time_t>(hour * 3600);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "-%04d%02d%02d-%02d", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                  utc.tm_hour);
    path_ = options_.directory + "/" + options_.exchange + stamp + (options_.gzip ? ".log.gz" : ".log");
    open_file();  // eagerly, so a bad directory shows at the first frame; retried per block
  }

  bool open_file() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      report("cannot open capture file '" + path_ + "': " + errno_text(errno));
      return false;
    }
    struct stat st {};
    file_size_ = ::fstat(fd_, &st) == 0 ? st.st_size : 0;
    if (options_.gzip) {
      const std::string mode = "ab" + std::to_string(options_.gzip_level);
      gz_ = gzdopen(fd_, mode.c_str());  // owns fd_ from here on
      if (gz_ == nullptr) {
        ::close(fd_);
        fd_ = -1;
        report("cannot start gzip stream on '" + path_ + "'");
        return false;
      }
      gzbuffer(gz_, kGzipBufferBytes);
    }
    single_writer_add(counters_.files_opened);
    return true;
  }

  void close_file() {
    if (gz_ != nullptr) {
      const int rc = gzclose(gz_);  // also closes fd_
      if (rc != Z_OK) report("closing gzip capture '" + path_ + "' failed (zlib error " + std::to_string(rc) + ")");
      gz_ = nullptr;
      fd_ = -1;
    } else if (fd_ >= 0) {
      if (::close(fd_) != 0) report("closing capture file '" + path_ + "' failed: " + errno_text(errno));
      fd_ = -1;
    }
  }

  void write_block() {
    if (block_used_ == 0) return;
    const std::string_view piece(block_.data(), block_used_);
    write_out({&piece, 1}, block_frames_);
    block_used_ = 0;
    block_frames_ = 0;
  }

  // Appends `pieces` (which hold `frames` complete lines) to the current
  // file, or counts the frames as lost.
  void write_out(std::span<const std::string_view> pieces, std::uint64_t frames) {
    std::size_t total = 0;
    for (std::string_view piece : pieces) total += piece.size();
    if (fd_ < 0 && !open_file()) {
      lose(frames);
      return;
    }
    if (gz_ != nullptr) {
      for (std::string_view piece : pieces) {
        if (gzwrite(gz_, piece.data(), static_cast<unsigned>(piece.size())) != static_cast<int>(piece.size())) {
          report_gzip_error("write");
          // The stream is unusable after an error: close it; the next block
          // reopens the file and appends a new gzip member.
          gzclose(gz_);
          gz_ = nullptr;
          fd_ = -1;
          lose(frames);
          return;
        }
      }
    } else {
      for (std::string_view piece : pieces) {
        if (!write_all(piece)) {
          const int error = errno;
          // Cut the partial block off, so the file ends with a complete line.
          if (::ftruncate(fd_, file_size_) != 0) {
            // Not every file can be truncated (e.g. a device): nothing more to do.
          }
          report("write to capture file '" + path_ + "' failed: " + errno_text(error));
          lose(frames);
          return;
        }
      }
      file_size_ += static_cast<off_t>(total);
    }
    single_writer_add(counters_.frames_written, frames);
    single_writer_add(counters_.bytes_written, total);
  }

  bool write_all(std::string_view data) noexcept {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  void report_gzip_error(const char* what) {
    int code = 0;
    const char* message = gz_ != nullptr ? gzerror(gz_, &code) : "?";
    report("gzip " + std::string(what) + " of capture file '" + path_ + "' failed: " + (message ? message : "?"));
  }

  void report(std::string message) {
    single_writer_add(counters_.write_errors);
    std::lock_guard lock(error_mutex_);
    last_error_ = std::move(message);
  }

  void lose(std::uint64_t frames) { single_writer_add(counters_.frames_lost, frames); }

  const RecorderOptions& options_;
  SpscByteRing& ring_;
  Doorbell& doorbell_;

  std::vector<char> block_;
  std::size_t block_used_ = 0;
  std::uint64_t block_frames_ = 0;
  Clock::time_point block_started_{};

  std::int64_t hour_ = -1;
  std::string path_;
  int fd_ = -1;
  gzFile gz_ = nullptr;
  off_t file_size_ = 0;  // plain files: the size after the last complete write

  // Written by the writer (single writer), read by stats() on any thread.
  struct alignas(kCacheLineSize) Counters {
    std::atomic<std::uint64_t> dropped_malformed{0};
    std::atomic<std::uint64_t> frames_written{0};
    std::atomic<std::uint64_t> frames_lost{0};
    std::atomic<std::uint64_t> bytes_written{0};
    std::atomic<std::uint64_t> files_opened{0};
    std::atomic<std::uint64_t> write_errors{0};
  } counters_;

  mutable std::mutex error_mutex_;
  std::string last_error_;  // guarded by error_mutex_

  // Control thread <-> writer.
  std::thread thread_;     // control thread only
  bool finished_ = false;  // control thread; set by the writer before it exits (join orders it)
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::uint64_t> flush_requested_{0};
  std::mutex mutex_;
  std::condition_variable flushed_cv_;
  std::uint64_t flush_done_ = 0;  // guarded by mutex_
};

CaptureRecorder::CaptureRecorder(RecorderOptions options) : options_(std::move(options)), ring_(options_.ring_bytes) {
  if (!valid_exchange(options_.exchange)) {
    throw std::invalid_argument("recorder exchange name must be upper case, digits and '_' (got '" + options_.exchange +
                                "'), so that capture file names identify it");
  }
  if (options_.directory.empty()) throw std::invalid_argument("recorder directory is empty");
  if (options_.block_bytes < 4096) throw std::invalid_argument("recorder block_bytes must be at least 4096");
  if (options_.gzip_level < 0 || options_.gzip_level > 9) throw std::invalid_argument("gzip_level must be 0..9");
  max_frame_bytes_ = ring_.max_record_size() - sizeof(std::int64_t);
  wake_fill_bytes_ = ring_.capacity() / 4;
  writer_ = std::make_unique<Writer>(options_, ring_, doorbell_);
  if (options_.start_writer) writer_->start();
}

CaptureRecorder::~CaptureRecorder() { stop(); }

void CaptureRecorder::start() {
  if (feed_.accepting.load(std::memory_order_relaxed)) writer_->start();
}

void CaptureRecorder::flush() { writer_->flush(); }

void CaptureRecorder::stop() {
  feed_.accepting.store(false, std::memory_order_relaxed);
  writer_->stop();
}

CaptureRecorder::Stats CaptureRecorder::stats() const noexcept {
  Stats s;
  s.recorded = feed_.recorded.load(std::memory_order_relaxed);
  s.dropped_full = feed_.dropped_full.load(std::memory_order_relaxed);
  s.dropped_oversize = feed_.dropped_oversize.load(std::memory_order_relaxed);
  s.dropped_stopped = feed_.dropped_stopped.load(std::memory_order_relaxed);
  writer_->read_stats(s);
  return s;
}

std::string CaptureRecorder::last_error() const { return writer_->last_error(); }

}  // namespace tickflow
