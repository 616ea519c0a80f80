// sinks/disk_spool.cc
#include "sinks/disk_spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

namespace tickflow {
namespace {

static_assert(std::endian::native == std::endian::little, "the spool format is little-endian");

constexpr std::uint32_t kRecordMagic = 0x31524654u;      // "TFR1" on disk
constexpr std::uint32_t kCheckpointMagic = 0x504B4354u;  // "TCKP" on disk
constexpr std::uint32_t kCheckpointVersion = 1;
constexpr std::size_t kHeaderBytes = kSpoolRecordHeaderBytes;
constexpr std::size_t kHeaderCheckedBytes = 20;  // what header_crc covers
constexpr std::size_t kCheckpointBytes = 36;
constexpr std::size_t kScanBufferBytes = 1u << 20;
constexpr char kCheckpointName[] = "checkpoint";
constexpr char kCheckpointTempName[] = "checkpoint.tmp";
constexpr char kLockName[] = "LOCK";

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::uint32_t crc(std::uint32_t seed, const void* data, std::size_t n) {
  return static_cast<std::uint32_t>(crc32_z(seed, static_cast<const Bytef*>(data), n));
}

template <typename T>
void put(unsigned char* out, T v) {
  std::memcpy(out, &v, sizeof v);
}
template <typename T>
T get(const unsigned char* in) {
  T v;
  std::memcpy(&v, in, sizeof v);
  return v;
}

struct RecordHeader {
  std::uint32_t length = 0;
  std::uint64_t seq = 0;
  std::uint32_t payload_crc = 0;
};

void encode_header(unsigned char* out, std::uint32_t length, std::uint64_t seq, std::uint32_t payload_crc) {
  put(out, kRecordMagic);
  put(out + 4, length);
  put(out + 8, seq);
  put(out + 16, payload_crc);
  put(out + 20, crc(0, out, kHeaderCheckedBytes));
}

// Magic, header check and a sane length; the payload is checked separately.
bool decode_header(const unsigned char* in, RecordHeader& h) {
  if (get<std::uint32_t>(in) != kRecordMagic) return false;
  if (get<std::uint32_t>(in + 20) != crc(0, in, kHeaderCheckedBytes)) return false;
  h.length = get<std::uint32_t>(in + 4);
  h.seq = get<std::uint64_t>(in + 8);
  h.payload_crc = get<std::uint32_t>(in + 16);
  return h.length <= kSpoolMaxPayloadBytes;
}

// Reads exactly n bytes at off; returns 0, or the errno; a short file gives
// ENODATA.
int pread_full(int fd, void* out, std::size_t n, std::uint64_t off) {
  auto* p = static_cast<unsigned char*>(out);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, p + got, n - got, static_cast<off_t>(off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return ENODATA;
    got += static_cast<std::size_t>(r);
  }
  return 0;
}

class FileDesc {
 public:
  explicit FileDesc(int fd) : fd_(fd) {}
  ~FileDesc() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDesc(const FileDesc&) = delete;
  FileDesc& operator=(const FileDesc&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Sequential reads of one segment through a 1 MiB window: recovery reads
// each byte about once, whatever the record sizes.
class ScanReader {
 public:
  ScanReader(int fd, std::uint64_t size, std::vector<unsigned char>& buffer, const std::string& path)
      : fd_(fd), size_(size), buffer_(buffer), path_(path) {}

  std::uint64_t size() const { return size_; }
  std::size_t window() const { return buffer_.size(); }

  // Bytes [off, off + n), n <= window(); nullptr when they are not all in
  // the file. Throws SpoolError on a read error.
  const unsigned char* view(std::uint64_t off, std::size_t n) {
    if (off > size_ || n > size_ - off) return nullptr;
    if (off >= buffer_off_ && off + n <= buffer_off_ + buffer_len_) return buffer_.data() + (off - buffer_off_);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), size_ - off));
    std::size_t got = 0;
    while (got < want) {
      const ssize_t r = ::pread(fd_, buffer_.data() + got, want - got, static_cast<off_t>(off + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw SpoolError("read " + path_ + ": " + errno_text(errno));
      }
      if (r == 0) break;  // the file is shorter than the spool thought
      got += static_cast<std::size_t>(r);
    }
    buffer_off_ = off;
    buffer_len_ = got;
    return got >= n ? buffer_.data() : nullptr;
  }

  // A whole valid record at `off`: header, length within the file, payload CRC.
  bool valid_record_at(std::uint64_t off, RecordHeader& h) {
    const unsigned char* head = view(off, kHeaderBytes);
    if (head == nullptr || !decode_header(head, h)) return false;
    std::uint64_t pos = off + kHeaderBytes;
    if (h.length > size_ - pos) return false;
    std::uint64_t left = h.length;
    std::uint32_t c = 0;
    while (left > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, window()));
      const unsigned char* data = view(pos, n);
      if (data == nullptr) return false;
      c = crc(c, data, n);
      pos += n;
      left -= n;
    }
    return c == h.payload_crc;
  }

  // The first valid record at or after `from` whose seq is >= seq_floor
  // (records are appended with increasing seq, so a real record after a
  // corrupt one always passes; stale bytes inside a payload almost never do).
  bool find_valid(std::uint64_t from, std::uint64_t seq_floor, std::uint64_t& at, RecordHeader& h) {
    std::uint64_t pos = from;
    while (pos <= size_ && size_ - pos >= kHeaderBytes) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(window(), size_ - pos));
      const unsigned char* data = view(pos, n);
      if (data == nullptr) return false;
      const unsigned char magic[4] = {'T', 'F', 'R', '1'};
      const void* hit = ::memmem(data, n, magic, sizeof magic);
      if (hit == nullptr) {
        if (n == size_ - pos) return false;
        pos += n - (sizeof magic - 1);  // a magic may straddle the window's end
        continue;
      }
      const std::uint64_t candidate = pos + static_cast<std::uint64_t>(static_cast<const unsigned char*>(hit) - data);
      if (valid_record_at(candidate, h) && h.seq >= seq_floor) {
        at = candidate;
        return true;
      }
      pos = candidate + 1;
    }
    return false;
  }

 private:
  int fd_;
  std::uint64_t size_;
  std::vector<unsigned char>& buffer_;
  const std::string& path_;
  std::uint64_t buffer_off_ = 0;
  std::size_t buffer_len_ = 0;
};

struct Checkpoint {
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  std::uint64_t seq = 0;
};

void encode_checkpoint(unsigned char* out, const Checkpoint& cp) {
  put(out, kCheckpointMagic);
  put(out + 4, kCheckpointVersion);
  put(out + 8, cp.segment);
  put(out + 16, cp.offset);
  put(out + 24, cp.seq);
  put(out + 32, crc(0, out, 32));
}

bool decode_checkpoint(const unsigned char* in, Checkpoint& cp) {
  if (get<std::uint32_t>(in) != kCheckpointMagic || get<std::uint32_t>(in + 4) != kCheckpointVersion) return false;
  if (get<std::uint32_t>(in + 32) != crc(0, in, 32)) return false;
  cp.segment = get<std::uint64_t>(in + 8);
  cp.offset = get<std::uint64_t>(in + 16);
  cp.seq = get<std::uint64_t>(in + 24);
  return true;
}

// "000042.seg" -> 42.
std::optional<std::uint64_t> parse_segment_name(const std::string& name) {
  constexpr std::string_view kSuffix = ".seg";
  if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) return std::nullopt;
  const char* first = name.data();
  const char* last = name.data() + name.size() - kSuffix.size();
  if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(first, last, id);
  if (ec != std::errc{} || end != last) return std::nullopt;
  return id;
}

}  // namespace

DiskSpool::DiskSpool(SpoolConfig config) : config_(std::move(config)) {
  if (config_.max_bytes == 0) throw std::invalid_argument("DiskSpool: max_bytes must be > 0");
  if (config_.segment_bytes == 0) throw std::invalid_argument("DiskSpool: segment_bytes must be > 0");
  if (config_.fsync_interval.count() < 0) config_.fsync_interval = std::chrono::milliseconds{0};
  try {
    open_directory();
    recover();
  } catch (...) {
    if (read_fd_ >= 0) ::close(read_fd_);
    if (write_fd_ >= 0) ::close(write_fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
    if (dir_fd_ >= 0) ::close(dir_fd_);
    throw;
  }
}

DiskSpool::~DiskSpool() {
  sync();
  close_read_fd();
  if (write_fd_ >= 0) ::close(write_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string DiskSpool::segment_path(std::uint64_t id) const {
  char name[32];
  std::snprintf(name, sizeof name, "%06" PRIu64 ".seg", id);
  return (config_.dir / name).string();
}

void DiskSpool::set_error(std::string_view what, const std::string& where, int err) {
  last_error_.assign(what);
  last_error_ += ' ';
  last_error_ += where;
  last_error_ += ": ";
  last_error_ += errno_text(err);
}

void DiskSpool::open_directory() {
  const std::string dir = config_.dir.string();
  if (dir.empty()) throw SpoolError("spool directory not set");
  std::error_code ec;
  std::filesystem::create_directories(config_.dir, ec);
  if (ec) throw SpoolError("cannot create spool directory " + dir + ": " + ec.message());
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) throw SpoolError("cannot open spool directory " + dir + ": " + errno_text(errno));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw SpoolError("spool directory " + dir + " is not writable: " + errno_text(errno));

  const std::string lock_path = (config_.dir / kLockName).string();
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw SpoolError("spool directory " + dir + " is not writable: " + errno_text(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      char owner[32] = {};
      const ssize_t n = ::pread(lock_fd_, owner, sizeof owner - 1, 0);
      std::string who = n > 0 ? std::string(owner, static_cast<std::size_t>(n)) : std::string();
      while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
      throw SpoolError("spool directory " + dir + " is locked by another DiskSpool" +
                       (who.empty() ? std::string() : " (pid " + who + ")") + "; one process, one spool");
    }
    throw SpoolError("cannot lock spool directory " + dir + ": flock " + lock_path + ": " + errno_text(err));
  }
  // The owner's pid, for the message above (best effort: a full disk must
  // not stop a spool from being drained).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) (void)!::pwrite(lock_fd_, pid.data(), pid.size(), 0);
}

void DiskSpool::recover() {
  const std::string dir = config_.dir.string();
  // A temp checkpoint is a persist that never reached its rename: ignore it.
  (void)::unlinkat(dir_fd_, kCheckpointTempName, 0);

  std::optional<Checkpoint> cp;
  {
    const std::string path = (config_.dir / kCheckpointName).string();
    const int fd = ::openat(dir_fd_, kCheckpointName, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      FileDesc file(fd);
      unsigned char buf[kCheckpointBytes + 1];
      ssize_t n;
      do n = ::pread(fd, buf, sizeof buf, 0);
      while (n < 0 && errno == EINTR);
      Checkpoint c;
      if (n == static_cast<ssize_t>(kCheckpointBytes) && decode_checkpoint(buf, c)) {
        cp = c;
      } else {
        last_error_ = "checkpoint " + path + " is damaged: delivering every record on disk again";
      }
    } else if (errno != ENOENT) {
      throw SpoolError("cannot read " + path + ": " + errno_text(errno));
    }
  }

  std::vector<std::uint64_t> ids;
  {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(config_.dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (auto id = parse_segment_name(it->path().filename().string())) ids.push_back(*id);
    }
    if (ec) throw SpoolError("cannot list spool directory " + dir + ": " + ec.message());
    std::sort(ids.begin(), ids.end());
  }

  // Segments before the checkpoint's were wholly delivered (deleted late).
  if (cp) {
    while (!ids.empty() && ids.front() < cp->segment) {
      (void)::unlink(segment_path(ids.front()).c_str());
      ids.erase(ids.begin());
    }
  }
  for (std::uint64_t id : ids) {
    struct stat st;
    const std::string path = segment_path(id);
    if (::stat(path.c_str(), &st) != 0) throw SpoolError("cannot stat " + path + ": " + errno_text(errno));
    segments_.push_back(Segment{id, static_cast<std::uint64_t>(st.st_size)});
  }

  bool start_exact = false;
  read_off_ = 0;
  read_seq_ = cp ? cp->seq : 0;
  next_seq_ = cp ? std::max<std::uint64_t>(cp->seq, 1) : 1;
  if (cp && !segments_.empty() && segments_.front().id == cp->segment) {
    read_off_ = std::min(cp->offset, segments_.front().end);  // past the end: that data is delivered
    start_exact = read_off_ == cp->offset;
  }

  if (segments_.empty()) {
    const std::uint64_t id = cp ? cp->segment + 1 : 1;
    const std::string path = segment_path(id);
    write_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (write_fd_ < 0)
      throw SpoolError("spool directory " + dir + ": cannot create " + path + ": " + errno_text(errno));
    ++stats_.fsyncs;
    (void)::fsync(dir_fd_);
    segments_.push_back(Segment{id, 0});
  } else {
    const std::string path = segment_path(segments_.back().id);
    write_fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (write_fd_ < 0) throw SpoolError("spool directory " + dir + ": cannot open " + path + ": " + errno_text(errno));
  }

  stats_.corrupt_records_skipped += scan(/*truncate_tail=*/true, start_exact);
  normalize_read_position();
  persist_checkpoint();
}

std::uint64_t DiskSpool::scan(bool truncate_tail, bool start_exact) {
  std::vector<unsigned char> buffer(kScanBufferBytes);
  std::deque<SkipRange> skips;
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t lost = 0;
  std::uint64_t expected = read_seq_;  // a lower bound on the next record's seq; exact when `exact`
  bool exact = start_exact;
  bool in_bad = false;  // inside a corrupt region (which may span segments)
  std::uint64_t max_seq = 0;
  bool any = false;
  std::optional<std::uint64_t> seq_at_start;  // the record at the read position, if valid

  for (std::size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = segments_[i];
    const std::string path = segment_path(seg.id);
    FileDesc fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw SpoolError("cannot open " + path + ": " + errno_text(errno));
    ScanReader reader(fd.get(), seg.end, buffer, path);
    std::uint64_t pos = i == 0 ? read_off_ : 0;
    while (pos < seg.end) {
      RecordHeader h;
      std::uint64_t at = pos;
      if (!in_bad && reader.valid_record_at(pos, h)) {
        // the common case: a good record where one was expected
      } else {
        std::uint64_t search_from = pos;
        if (!in_bad) {
          in_bad = true;
          search_from = pos + 1;
          skips.push_back(SkipRange{seg.id, pos, seg.end, 0});
        } else if (skips.back().segment_id != seg.id) {
          skips.push_back(SkipRange{seg.id, pos, seg.end, 0});
        }
        if (!reader.find_valid(search_from, expected, at, h)) break;  // the rest of this segment is bad
        skips.back().to = at;
        const std::uint64_t gap = exact && h.seq > expected ? h.seq - expected : 1;
        skips.back().records = gap;
        lost += gap;
        in_bad = false;
      }
      if (i == 0 && at == read_off_) seq_at_start = h.seq;
      ++records;
      bytes += kHeaderBytes + h.length;
      expected = h.seq + 1;
      exact = true;
      max_seq = std::max(max_seq, h.seq);
      any = true;
      pos = at + kHeaderBytes + h.length;
    }
  }

  if (in_bad) {  // a region that no valid record ends
    Segment& last = segments_.back();
    if (truncate_tail && skips.back().segment_id == last.id) {
      // A torn tail: cut it off the newest segment.
      const std::uint64_t from = skips.back().from;
      skips.pop_back();
      const std::string path = segment_path(last.id);
      if (::ftruncate(write_fd_, static_cast<off_t>(from)) != 0) {
        set_error("truncate", path, errno);
        ++stats_.write_errors;
      } else {
        ++stats_.fsyncs;
        if (::fdatasync(write_fd_) != 0) {
          set_error("fsync", path, errno);
          ++stats_.write_errors;
        }
      }
      stats_.torn_tail_bytes_truncated += last.end - from;
      last.end = from;
    }
    // The rest of the region lies in older segments, which were fsync'ed
    // whole before the next one began: corruption, not a torn write.
    if (!skips.empty() && skips.back().records == 0) {
      skips.back().records = 1;
      lost += 1;
    }
  }

  skips_ = std::move(skips);
  pending_records_ = records;
  pending_bytes_ = bytes;
  if (any) next_seq_ = std::max(next_seq_, max_seq + 1);
  if (seq_at_start) {
    read_seq_ = *seq_at_start;
  } else if (records == 0 && skips_.empty()) {
    read_seq_ = next_seq_;  // nothing to read: the next record will be the next appended
  }
  return lost;
}

void DiskSpool::normalize_read_position() {
  for (;;) {
    while (!skips_.empty() && skips_.front().segment_id == segments_.front().id && skips_.front().from <= read_off_) {
      read_off_ = std::max(read_off_, skips_.front().to);
      skips_.pop_front();
      checkpoint_dirty_ = true;
    }
    if (segments_.size() > 1 && read_off_ >= segments_.front().end) {
      delete_read_segment();
      continue;
    }
    return;
  }
}

void DiskSpool::delete_read_segment() {
  const std::uint64_t id = segments_.front().id;
  if (read_fd_ >= 0 && read_fd_segment_ == id) close_read_fd();
  segments_.pop_front();
  read_off_ = 0;
  while (!skips_.empty() && skips_.front().segment_id == id) skips_.pop_front();
  // Checkpoint first, so that a crash cannot leave it naming a deleted
  // segment's offset. Deleting anyway when the persist failed is still
  // safe: a missing checkpoint segment means "start at the next one".
  checkpoint_dirty_ = true;
  persist_checkpoint();
  const std::string path = segment_path(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    set_error("delete", path, errno);
    ++stats_.write_errors;
  }
}

int DiskSpool::read_fd() {
  const std::uint64_t id = segments_.front().id;
  if (read_fd_ >= 0 && read_fd_segment_ == id) return read_fd_;
  close_read_fd();
  const std::string path = segment_path(id);
  read_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (read_fd_ < 0) {
    set_error("open", path, errno);
    ++stats_.write_errors;
    return -1;
  }
  read_fd_segment_ = id;
  return read_fd_;
}

void DiskSpool::close_read_fd() {
  if (read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = -1;
}

bool DiskSpool::locate_front(std::string* payload, Located& out) {
  // Corruption found here (bytes changed after the open's scan) makes a
  // rescan from the read position, which turns it into skip ranges; two
  // attempts bound the loop should the bytes keep changing.
  for (int attempt = 0; attempt < 3; ++attempt) {
    normalize_read_position();
    if (pending_records_ == 0) return false;
    const Segment& seg = segments_.front();
    if (read_off_ >= seg.end) {  // cannot happen: counters and positions disagree
      pending_records_ = 0;
      pending_bytes_ = 0;
      return false;
    }
    const int fd = read_fd();
    if (fd < 0) return false;
    unsigned char head[kHeaderBytes];
    RecordHeader h;
    int err = pread_full(fd, head, sizeof head, read_off_);
    if (err != 0 && err != ENODATA) {
      set_error("read", segment_path(seg.id), err);
      ++stats_.write_errors;
      return false;
    }
    bool good = err == 0 && seg.end - read_off_ >= kHeaderBytes && decode_header(head, h) &&
                h.length <= seg.end - read_off_ - kHeaderBytes;
    if (good && payload != nullptr) {
      payload->resize(h.length);
      err = pread_full(fd, payload->data(), h.length, read_off_ + kHeaderBytes);
      if (err != 0 && err != ENODATA) {
        set_error("read", segment_path(seg.id), err);
        ++stats_.write_errors;
        return false;
      }
      good = err == 0 && crc(0, payload->data(), payload->size()) == h.payload_crc;
    }
    if (good) {
      out = Located{h.length, h.seq};
      read_seq_ = h.seq;
      return true;
    }
    std::uint64_t known = 0;
    for (const SkipRange& s : skips_) known += s.records;
    try {
      const std::uint64_t lost = scan(/*truncate_tail=*/false, /*start_exact=*/true);
      stats_.corrupt_records_skipped += lost > known ? lost - known : 0;
    } catch (const SpoolError& e) {
      last_error_ = e.what();
      ++stats_.write_errors;
      return false;
    }
  }
  return false;
}

void DiskSpool::remove_front(const Located& rec, bool delivered) {
  const std::uint64_t bytes = kHeaderBytes + rec.length;
  read_off_ += bytes;
  read_seq_ = rec.seq + 1;
  pending_records_ -= pending_records_ > 0 ? 1 : 0;
  pending_bytes_ -= std::min(pending_bytes_, bytes);
  if (delivered) {
    ++stats_.delivered_records;
  } else {
    ++stats_.dropped_records;
    stats_.dropped_bytes += rec.length;
  }
  checkpoint_dirty_ = true;
}

bool DiskSpool::front(std::string& payload) {
  Located rec;
  if (!locate_front(&payload, rec)) {
    handed_ = Handed::kNone;
    return false;
  }
  handed_ = Handed::kValid;
  handed_rec_ = rec;
  return true;
}

void DiskSpool::pop_front() {
  Located rec;
  if (handed_ == Handed::kEvicted) {  // front()'s record was dropped meanwhile
    handed_ = Handed::kNone;
    return;
  }
  if (handed_ == Handed::kValid) {
    rec = handed_rec_;
  } else if (!locate_front(nullptr, rec)) {
    return;
  }
  handed_ = Handed::kNone;
  remove_front(rec, /*delivered=*/true);
  normalize_read_position();  // a wholly delivered segment goes, checkpoint first
  if (checkpoint_dirty_ &&
      (config_.fsync_interval.count() == 0 || Clock::now() - last_checkpoint_ >= config_.fsync_interval)) {
    persist_checkpoint();
  }
}

SpoolAppend DiskSpool::append(std::string_view payload) {
  const std::uint64_t bytes = kHeaderBytes + payload.size();
  if (payload.size() > kSpoolMaxPayloadBytes || bytes + kSpoolFixedOverheadBytes > config_.max_bytes) {
    last_error_ = "append to spool " + config_.dir.string() + ": a record of " + std::to_string(payload.size()) +
                  " bytes can never fit (max_bytes " + std::to_string(config_.max_bytes) + ")";
    return SpoolAppend::kFull;
  }
  // Room first, then the write: the files never exceed the cap, not even
  // for the moment between a write and an eviction.
  if (!make_room(bytes)) return SpoolAppend::kFull;
  if (segments_.back().end > 0 && segments_.back().end + bytes > config_.segment_bytes) {
    if (!rotate()) return SpoolAppend::kIoError;
  }

  Segment& seg = segments_.back();
  unsigned char head[kHeaderBytes];
  encode_header(head, static_cast<std::uint32_t>(payload.size()), next_seq_, crc(0, payload.data(), payload.size()));
  iovec iov[2] = {{head, kHeaderBytes}, {const_cast<char*>(payload.data()), payload.size()}};
  std::uint64_t done = 0;
  int err = 0;
  while (done < bytes) {
    iovec part[2];
    int parts = 0;
    if (done < kHeaderBytes) {
      part[parts++] = iovec{head + done, kHeaderBytes - done};
      if (!payload.empty()) part[parts++] = iov[1];
    } else {
      const std::size_t skip = static_cast<std::size_t>(done - kHeaderBytes);
      part[parts++] = iovec{const_cast<char*>(payload.data()) + skip, payload.size() - skip};
    }
    const ssize_t w = ::pwritev(write_fd_, part, parts, static_cast<off_t>(seg.end + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (w == 0) {
      err = EIO;
      break;
    }
    done += static_cast<std::uint64_t>(w);
  }

  const Clock::time_point now = Clock::now();
  bool failed = err != 0;
  if (failed) {
    set_error("write", segment_path(seg.id), err);
    ++stats_.write_errors;
  } else {
    if (!data_dirty_) data_dirty_since_ = now;
    data_dirty_ = true;
    failed = config_.fsync_interval.count() == 0 && !sync_data();  // sync_data() says what
  }
  if (failed) {
    // Nothing partial may stay behind to be mistaken for data later: cut
    // the file back to the previous end (were that to fail, the next
    // append overwrites the bytes, and an open cuts them as a torn tail).
    if (::ftruncate(write_fd_, static_cast<off_t>(seg.end)) != 0) {
      last_error_ += "; truncate back: " + errno_text(errno);
    }
    return SpoolAppend::kIoError;
  }

  seg.end += bytes;
  ++next_seq_;
  ++pending_records_;
  pending_bytes_ += bytes;
  ++stats_.appended_records;
  stats_.appended_bytes += payload.size();

  if (data_dirty_ && now - data_dirty_since_ >= config_.fsync_interval) sync_data();
  if (checkpoint_dirty_ && now - last_checkpoint_ >= config_.fsync_interval) persist_checkpoint();
  return SpoolAppend::kStored;
}

std::uint64_t DiskSpool::disk_bytes() const noexcept {
  std::uint64_t total = kSpoolFixedOverheadBytes;
  for (const Segment& seg : segments_) total += seg.end;
  return total;
}

bool DiskSpool::make_room(std::uint64_t bytes) {
  while (disk_bytes() + bytes > config_.max_bytes) {
    normalize_read_position();  // wholly read segments go (all but the newest)
    if (disk_bytes() + bytes <= config_.max_bytes) return true;
    if (segments_.size() == 1 && pending_records_ == 0 && skips_.empty() && segments_.front().end > 0) {
      // The newest segment is all delivered: a fresh one frees its bytes.
      if (!rotate()) return false;
      continue;
    }
    if (config_.full_policy != SpoolFullPolicy::kDropOldest) return false;
    if (!evict_oldest_segment()) return false;
  }
  return true;
}

bool DiskSpool::evict_oldest_segment() {
  const std::uint64_t id = segments_.front().id;
  const std::uint64_t before = disk_bytes();
  while (pending_records_ > 0) {
    Located rec;
    if (!locate_front(config_.on_drop ? &evicted_ : nullptr, rec)) break;
    if (segments_.front().id != id) break;                      // the rest of it was corrupt and skipped: it is read
    if (handed_ == Handed::kValid) handed_ = Handed::kEvicted;  // the front is what front() handed out
    remove_front(rec, /*delivered=*/false);
    if (config_.on_drop) config_.on_drop(evicted_);
    if (read_off_ >= segments_.front().end) break;
  }
  normalize_read_position();  // deletes it unless it is the newest
  if (!segments_.empty() && segments_.front().id == id && segments_.size() == 1 && pending_records_ == 0 &&
      segments_.front().end > 0) {
    if (!rotate()) return false;  // the newest, now all evicted: replace it
  }
  return disk_bytes() < before;
}

bool DiskSpool::rotate() {
  // The old segment is durable before any record lands in the next one, so
  // a power loss can only tear the newest segment.
  if (data_dirty_ && !sync_data()) return false;
  const std::uint64_t id = segments_.back().id + 1;
  const std::string path = segment_path(id);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    set_error("create", path, errno);
    ++stats_.write_errors;
    return false;
  }
  ++stats_.fsyncs;
  if (::fsync(dir_fd_) != 0) {
    set_error("fsync directory", config_.dir.string(), errno);
    ++stats_.write_errors;
  }
  (void)::ftruncate(write_fd_, static_cast<off_t>(segments_.back().end));  // drop any failed write's leftovers
  ::close(write_fd_);
  write_fd_ = fd;
  segments_.push_back(Segment{id, 0});
  normalize_read_position();  // the old segment may be wholly delivered
  return true;
}

bool DiskSpool::sync_data() {
  if (!data_dirty_) return true;
  ++stats_.fsyncs;
  if (::fdatasync(write_fd_) != 0) {
    set_error("fsync", segment_path(segments_.back().id), errno);
    ++stats_.write_errors;
    return false;
  }
  data_dirty_ = false;
  return true;
}

bool DiskSpool::persist_checkpoint() {
  // No data fsync first: the checkpoint only names delivered records, and
  // should a power loss take bytes before its offset, the open clamps it to
  // the segment's end (which is where appends then continue).
  unsigned char buf[kCheckpointBytes];
  encode_checkpoint(buf, Checkpoint{segments_.front().id, read_off_, read_seq_});
  const std::string tmp_path = (config_.dir / kCheckpointTempName).string();
  const int fd = ::openat(dir_fd_, kCheckpointTempName, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    set_error("create", tmp_path, errno);
    ++stats_.write_errors;
    return false;
  }
  int err = 0;
  const char* what = "write";
  {
    FileDesc file(fd);
    ssize_t w;
    do w = ::pwrite(fd, buf, sizeof buf, 0);
    while (w < 0 && errno == EINTR);
    if (w != static_cast<ssize_t>(sizeof buf)) {
      err = w < 0 ? errno : ENOSPC;
    } else {
      ++stats_.fsyncs;
      if (::fsync(fd) != 0) {
        err = errno;
        what = "fsync";
      }
    }
  }
  if (err == 0 && ::renameat(dir_fd_, kCheckpointTempName, dir_fd_, kCheckpointName) != 0) {
    err = errno;
    what = "rename";
  }
  if (err != 0) {
    set_error(what, tmp_path, err);
    ++stats_.write_errors;
    (void)::unlinkat(dir_fd_, kCheckpointTempName, 0);
    return false;
  }
  ++stats_.fsyncs;
  if (::fsync(dir_fd_) != 0) {
    set_error("fsync directory", config_.dir.string(), errno);
    ++stats_.write_errors;
    return false;
  }
  checkpoint_dirty_ = false;
  last_checkpoint_ = Clock::now();
  return true;
}

void DiskSpool::sync() {
  sync_data();
  if (checkpoint_dirty_) persist_checkpoint();
}

void DiskSpool::maybe_sync() {
  const Clock::time_point now = Clock::now();
  if (data_dirty_ && now - data_dirty_since_ >= config_.fsync_interval) sync_data();
  if (checkpoint_dirty_ && now - last_checkpoint_ >= config_.fsync_interval) persist_checkpoint();
}

}  // namespace tickflow
