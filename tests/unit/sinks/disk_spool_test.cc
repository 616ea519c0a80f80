// DiskSpool: records of every size read back in append order across
// segments and reopens; delivered segments deleted; a torn tail (mid
// header, mid payload, CRC at the very end) truncated and counted; corrupt
// records in the middle (payload, length, two in a row, across a segment
// boundary, after the open) skipped and counted with nothing else lost;
// SIGKILL of a writer (and of a writer that also delivers) loses no stored
// record and duplicates none; both size-cap policies with exact counts;
// disk full (RLIMIT_FSIZE, and a 1 MiB tmpfs when it can be mounted)
// leaving nothing partial; unusable and locked directories; a stale temp
// checkpoint and a damaged checkpoint; the fsync schedule, counted.
#include "sinks/disk_spool.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tickflow {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::uint64_t kHeader = kSpoolRecordHeaderBytes;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tickflow-spool-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Deterministic bytes that name their record: the index in the first 8
// bytes (when there is room), then a pseudo-random tail.
std::string make_payload(std::uint64_t index, std::size_t size) {
  std::string s(size, '\0');
  std::uint64_t x = index * 0x9E3779B97F4A7C15ull + 0x1234567ull;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x >> 32);
  }
  if (size >= 8) std::memcpy(s.data(), &index, 8);
  return s;
}

SpoolConfig config_for(const fs::path& dir) {
  SpoolConfig c;
  c.dir = dir;
  return c;
}

std::string segment_name(std::uint64_t id) {
  char name[32];
  std::snprintf(name, sizeof name, "%06llu.seg", static_cast<unsigned long long>(id));
  return name;
}

std::vector<std::string> segment_files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".seg") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Every record, oldest first, popping each.
std::vector<std::string> drain(DiskSpool& spool) {
  std::vector<std::string> out;
  std::string payload;
  while (spool.front(payload)) {
    out.push_back(payload);
    spool.pop_front();
  }
  return out;
}

void xor_byte(const fs::path& file, std::uint64_t offset, unsigned char mask = 0x5A) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << file;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  ASSERT_TRUE(f) << "offset " << offset << " beyond " << file;
  c = static_cast<char>(c ^ static_cast<char>(mask));
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  ASSERT_TRUE(f);
}

std::string read_file(const fs::path& file) {
  std::ifstream f(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& file, const std::string& bytes) {
  std::ofstream f(file, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Appends records first..first+count-1 of `size` bytes, each expected kStored.
void append_range(DiskSpool& spool, std::uint64_t first, std::uint64_t count, std::size_t size) {
  for (std::uint64_t i = first; i < first + count; ++i) {
    ASSERT_EQ(spool.append(make_payload(i, size)), SpoolAppend::kStored)
        << "record " << i << ": " << spool.last_error();
  }
}

// Expects `got` to be exactly the records `indices`, all of `size` bytes.
void expect_records(const std::vector<std::string>& got, const std::vector<std::uint64_t>& indices, std::size_t size) {
  ASSERT_EQ(got.size(), indices.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k], make_payload(indices[k], size)) << "position " << k << " should be record " << indices[k];
  }
}

std::vector<std::uint64_t> iota(std::uint64_t first, std::uint64_t end) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = first; i < end; ++i) v.push_back(i);
  return v;
}

// Runs `body` in a forked child (which must not use gtest assertions) and
// returns its exit status, or -signal if a signal ended it.
int run_in_child(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    int rc = 99;
    try {
      rc = body();
    } catch (...) {
      rc = 98;
    }
    ::_exit(rc);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

// ---------------------------------------------------------------------------
// Round trips, order, segments

TEST(DiskSpool, VariedSizesReadBackInOrderAcrossReopens) {
  TempDir tmp;
  const std::vector<std::size_t> sizes = {0, 1, 23, 24, 25, 4096, 3u << 20, 0, 100'000, 7, 5u << 20, 65'537};
  std::uint64_t total_bytes = 0;
  std::uint64_t total_payload = 0;
  for (std::size_t s : sizes) {
    total_bytes += kHeader + s;
    total_payload += s;
  }
  auto expect_from = [&](DiskSpool& spool, std::size_t first) {
    std::uint64_t bytes = 0;
    for (std::size_t i = first; i < sizes.size(); ++i) bytes += kHeader + sizes[i];
    EXPECT_EQ(spool.pending_records(), sizes.size() - first);
    EXPECT_EQ(spool.pending_bytes(), bytes);
    const std::vector<std::string> got = drain(spool);
    ASSERT_EQ(got.size(), sizes.size() - first);
    for (std::size_t i = first; i < sizes.size(); ++i) {
      EXPECT_EQ(got[i - first], make_payload(i, sizes[i])) << "record " << i;
    }
  };

  {
    DiskSpool spool(config_for(tmp.path() / "spool"));
    EXPECT_TRUE(spool.empty());
    std::string payload = "untouched";
    EXPECT_FALSE(spool.front(payload));
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      ASSERT_EQ(spool.append(make_payload(i, sizes[i])), SpoolAppend::kStored) << spool.last_error();
    }
    EXPECT_EQ(spool.pending_records(), sizes.size());
    EXPECT_EQ(spool.pending_bytes(), total_bytes);
    EXPECT_EQ(spool.stats().appended_records, sizes.size());
    EXPECT_EQ(spool.stats().appended_bytes, total_payload);
    // front() twice without a pop gives the same record.
    ASSERT_TRUE(spool.front(payload));
    EXPECT_EQ(payload, make_payload(0, 0));
    ASSERT_TRUE(spool.front(payload));
    EXPECT_EQ(payload, make_payload(0, 0));
    for (std::size_t i = 0; i < 4; ++i) {
      ASSERT_TRUE(spool.front(payload));
      EXPECT_EQ(payload, make_payload(i, sizes[i]));
      spool.pop_front();
    }
    spool.sync();
    EXPECT_EQ(spool.stats().delivered_records, 4u);
  }
  {
    DiskSpool spool(config_for(tmp.path() / "spool"));
    EXPECT_EQ(spool.pending_records(), sizes.size() - 4);
    // Two more pops without sync(): the destructor persists them.
    spool.pop_front();
    spool.pop_front();
    EXPECT_EQ(spool.stats().delivered_records, 2u);
  }
  {
    DiskSpool spool(config_for(tmp.path() / "spool"));
    expect_from(spool, 6);
    EXPECT_EQ(spool.stats().corrupt_records_skipped, 0u);
    EXPECT_EQ(spool.stats().torn_tail_bytes_truncated, 0u);
    EXPECT_EQ(spool.stats().write_errors, 0u);
  }
  {
    DiskSpool spool(config_for(tmp.path() / "spool"));
    EXPECT_TRUE(spool.empty());
    EXPECT_EQ(spool.pending_bytes(), 0u);
  }
}

TEST(DiskSpool, PopWithoutFrontRemovesTheOldest) {
  TempDir tmp;
  DiskSpool spool(config_for(tmp.path()));
  append_range(spool, 0, 3, 10);
  spool.pop_front();
  expect_records(drain(spool), {1, 2}, 10);
  spool.pop_front();  // empty: nothing happens
  EXPECT_EQ(spool.stats().delivered_records, 3u);
}

TEST(DiskSpool, SegmentsRotateAndDeliveredOnesAreDeleted) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.segment_bytes = 4096;  // 7 records of 24 + 500 bytes per segment
  constexpr std::size_t kSize = 500;
  {
    DiskSpool spool(c);
    append_range(spool, 0, 100, kSize);
    const std::vector<std::string> files = segment_files(tmp.path());
    ASSERT_EQ(files.size(), 15u);  // ceil(100 / 7)
    EXPECT_EQ(files.front(), segment_name(1));
    EXPECT_EQ(files.back(), segment_name(15));
    EXPECT_EQ(fs::file_size(tmp.path() / segment_name(1)), 7 * (kHeader + kSize));
    EXPECT_EQ(fs::file_size(tmp.path() / segment_name(15)), 2 * (kHeader + kSize));
    std::string payload;
    for (std::uint64_t i = 0; i < 50; ++i) {
      ASSERT_TRUE(spool.front(payload));
      ASSERT_EQ(payload, make_payload(i, kSize));
      spool.pop_front();
    }
    // Records 0..48 filled segments 1..7; record 49 opened segment 8.
    EXPECT_EQ(segment_files(tmp.path()).size(), 8u);
    EXPECT_EQ(segment_files(tmp.path()).front(), segment_name(8));
  }
  {
    DiskSpool spool(c);
    EXPECT_EQ(spool.pending_records(), 50u);
    append_range(spool, 100, 20, kSize);  // 5 more into segment 15, then 16, 17, 18
    EXPECT_EQ(segment_files(tmp.path()).size(), 11u);
  }
  {
    DiskSpool spool(c);
    expect_records(drain(spool), iota(50, 120), kSize);
    EXPECT_EQ(segment_files(tmp.path()), std::vector<std::string>{segment_name(18)});
  }
  {
    DiskSpool spool(c);
    EXPECT_TRUE(spool.empty());
    append_range(spool, 200, 1, kSize);
    expect_records(drain(spool), {200}, kSize);
  }
}

TEST(DiskSpool, RecordLargerThanASegmentGetsItsOwn) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.segment_bytes = 1000;
  {
    DiskSpool spool(c);
    append_range(spool, 0, 1, 100);
    append_range(spool, 1, 1, 5000);
    append_range(spool, 2, 1, 100);
    EXPECT_EQ(segment_files(tmp.path()).size(), 3u);
  }
  DiskSpool spool(c);
  const std::vector<std::string> got = drain(spool);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], make_payload(0, 100));
  EXPECT_EQ(got[1], make_payload(1, 5000));
  EXPECT_EQ(got[2], make_payload(2, 100));
}

// ---------------------------------------------------------------------------
// Torn tails and corruption

constexpr std::size_t kTenSize = 1000;  // 10 records of 1024 bytes on disk
constexpr std::uint64_t kTenRecord = kHeader + kTenSize;

fs::path write_ten(const fs::path& dir) {
  DiskSpool spool(config_for(dir));
  append_range(spool, 0, 10, kTenSize);
  return dir / segment_name(1);
}

// Reopens after damage that cut record 9: records 0..8 come back, `torn`
// bytes counted, and the spool works afterwards.
void expect_torn_tail_recovered(const fs::path& dir, std::uint64_t torn) {
  const fs::path seg = dir / segment_name(1);
  {
    DiskSpool spool(config_for(dir));
    EXPECT_EQ(spool.stats().torn_tail_bytes_truncated, torn);
    EXPECT_EQ(spool.stats().corrupt_records_skipped, 0u);
    EXPECT_EQ(spool.pending_records(), 9u);
    EXPECT_EQ(spool.pending_bytes(), 9 * kTenRecord);
    EXPECT_EQ(fs::file_size(seg), 9 * kTenRecord);
    append_range(spool, 100, 1, kTenSize);
  }
  DiskSpool spool(config_for(dir));
  EXPECT_EQ(spool.stats().torn_tail_bytes_truncated, 0u);
  std::vector<std::uint64_t> want = iota(0, 9);
  want.push_back(100);
  expect_records(drain(spool), want, kTenSize);
}

TEST(DiskSpool, TornTailMidPayloadIsTruncatedAndCounted) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  ASSERT_EQ(::truncate(seg.c_str(), 10 * kTenRecord - 500), 0);
  expect_torn_tail_recovered(tmp.path(), kTenRecord - 500);
}

TEST(DiskSpool, TornTailMidHeaderIsTruncatedAndCounted) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  ASSERT_EQ(::truncate(seg.c_str(), 9 * kTenRecord + 10), 0);
  expect_torn_tail_recovered(tmp.path(), 10);
}

TEST(DiskSpool, CrcMismatchOfTheLastRecordIsATornTail) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  xor_byte(seg, 9 * kTenRecord + kHeader + 700);
  expect_torn_tail_recovered(tmp.path(), kTenRecord);
}

void expect_skipped(const fs::path& dir, const std::vector<std::uint64_t>& want, std::uint64_t skipped) {
  DiskSpool spool(config_for(dir));
  EXPECT_EQ(spool.stats().corrupt_records_skipped, skipped);
  EXPECT_EQ(spool.stats().torn_tail_bytes_truncated, 0u);
  EXPECT_EQ(spool.pending_records(), want.size());
  EXPECT_EQ(spool.pending_bytes(), want.size() * kTenRecord);
  expect_records(drain(spool), want, kTenSize);
  EXPECT_EQ(spool.stats().corrupt_records_skipped, skipped);  // counted once, not again on delivery
}

TEST(DiskSpool, CorruptPayloadInTheMiddleIsSkippedAndCounted) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  xor_byte(seg, 4 * kTenRecord + kHeader + 500);
  expect_skipped(tmp.path(), {0, 1, 2, 3, 5, 6, 7, 8, 9}, 1);
  EXPECT_EQ(fs::file_size(seg), 10 * kTenRecord);  // never rewritten
}

TEST(DiskSpool, CorruptLengthInTheMiddleIsSkippedAndCounted) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  xor_byte(seg, 4 * kTenRecord + 4 + 1, 0x40);  // length 1000 -> 1000 ^ (0x40 << 8)
  expect_skipped(tmp.path(), {0, 1, 2, 3, 5, 6, 7, 8, 9}, 1);
}

TEST(DiskSpool, CorruptMagicInTheMiddleIsSkippedAndCounted) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  xor_byte(seg, 6 * kTenRecord);
  expect_skipped(tmp.path(), {0, 1, 2, 3, 4, 5, 7, 8, 9}, 1);
}

TEST(DiskSpool, TwoCorruptRecordsInARowCountTwo) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  xor_byte(seg, 4 * kTenRecord + 8);              // record 4's seq: header check fails
  xor_byte(seg, 5 * kTenRecord + kHeader + 999);  // record 5's last payload byte
  expect_skipped(tmp.path(), {0, 1, 2, 3, 6, 7, 8, 9}, 2);
}

TEST(DiskSpool, CorruptFirstRecordIsSkippedAndCounted) {
  TempDir tmp;
  const fs::path seg = write_ten(tmp.path());
  xor_byte(seg, kHeader + 3);
  expect_skipped(tmp.path(), iota(1, 10), 1);
}

TEST(DiskSpool, CorruptionAcrossSegmentsLosesOnlyTheDamagedRecords) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.segment_bytes = 4096;  // 7 records of 524 bytes per segment
  constexpr std::size_t kSize = 500;
  constexpr std::uint64_t kRecord = kHeader + kSize;
  {
    DiskSpool spool(c);
    append_range(spool, 0, 30, kSize);
  }
  // Record 6 ends segment 1: its region runs to the segment's end and the
  // next valid record is the first of segment 2. Record 9 is segment 2's third.
  xor_byte(tmp.path() / segment_name(1), 6 * kRecord + 4 + 1, 0x40);
  xor_byte(tmp.path() / segment_name(2), 2 * kRecord + kHeader + 10);
  DiskSpool spool(c);
  EXPECT_EQ(spool.stats().corrupt_records_skipped, 2u);
  EXPECT_EQ(spool.stats().torn_tail_bytes_truncated, 0u);
  EXPECT_EQ(spool.pending_records(), 28u);
  std::vector<std::uint64_t> want = iota(0, 30);
  want.erase(want.begin() + 9);
  want.erase(want.begin() + 6);
  expect_records(drain(spool), want, kSize);
  EXPECT_EQ(segment_files(tmp.path()), std::vector<std::string>{segment_name(5)});
}

TEST(DiskSpool, CorruptionAfterOpenIsSkippedByFront) {
  TempDir tmp;
  DiskSpool spool(config_for(tmp.path()));
  append_range(spool, 0, 10, kTenSize);
  std::string payload;
  ASSERT_TRUE(spool.front(payload));
  spool.pop_front();
  // Damage record 4 under the open spool (the page cache is shared).
  xor_byte(tmp.path() / segment_name(1), 4 * kTenRecord + kHeader + 100);
  expect_records(drain(spool), {1, 2, 3, 5, 6, 7, 8, 9}, kTenSize);
  EXPECT_EQ(spool.stats().corrupt_records_skipped, 1u);
  EXPECT_EQ(spool.stats().delivered_records, 9u);
  EXPECT_TRUE(spool.empty());
  EXPECT_EQ(spool.pending_bytes(), 0u);
  append_range(spool, 10, 1, kTenSize);
  expect_records(drain(spool), {10}, kTenSize);
}

// ---------------------------------------------------------------------------
// SIGKILL

std::size_t crash_size(std::uint64_t i) { return 16 + (i * 7919) % 3000; }
constexpr std::uint64_t kCrashSegmentBytes = 64 << 10;

// The first record of the segment that holds record `index`, as the writer
// below lays records out.
std::uint64_t crash_segment_start(std::uint64_t index) {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  for (std::uint64_t i = 0; i <= index; ++i) {
    const std::uint64_t bytes = kHeader + crash_size(i);
    if (end > 0 && end + bytes > kCrashSegmentBytes) {
      start = i;
      end = 0;
    }
    end += bytes;
  }
  return start;
}

constexpr std::uint64_t kPopFlag = 1ull << 63;

// Forks a writer that appends records 0, 1, 2, ... (and, with `deliver`,
// pops one every third append), reporting each append that returned kStored
// and each pop through a pipe; SIGKILLs it once `reports` arrived. Returns
// {records reported appended, records reported popped}.
std::pair<std::uint64_t, std::uint64_t> run_and_kill_writer(const fs::path& dir, bool deliver, std::uint64_t reports) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::close(fds[0]);
    SpoolConfig c = config_for(dir);
    c.fsync_interval = std::chrono::hours(1);
    c.segment_bytes = kCrashSegmentBytes;
    DiskSpool spool(c);
    std::string payload;
    std::uint64_t next_pop = 0;
    for (std::uint64_t i = 0;; ++i) {
      if (spool.append(make_payload(i, crash_size(i))) != SpoolAppend::kStored) ::_exit(3);
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
      if (deliver && i % 3 == 2) {
        if (!spool.front(payload) || payload != make_payload(next_pop, crash_size(next_pop))) ::_exit(5);
        spool.pop_front();
        const std::uint64_t report = next_pop++ | kPopFlag;
        if (::write(fds[1], &report, sizeof report) != sizeof report) ::_exit(4);
      }
    }
  }
  ::close(fds[1]);
  std::uint64_t appended = 0;
  std::uint64_t popped = 0;
  std::uint64_t seen = 0;
  bool killed = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    if (!killed && (seen >= reports || std::chrono::steady_clock::now() > deadline)) {
      ::kill(pid, SIGKILL);  // mid-append: the child never stops on its own
      killed = true;
    }
    std::uint64_t r = 0;
    const ssize_t n = ::read(fds[0], &r, sizeof r);
    if (n == 0) break;  // the child is gone and everything it wrote is read
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof r)) throw std::runtime_error("short report");
    ++seen;
    if (r & kPopFlag) {
      if ((r & ~kPopFlag) != popped) throw std::runtime_error("pops reported out of order");
      ++popped;
    } else {
      if (r != appended) throw std::runtime_error("appends reported out of order");
      ++appended;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    throw std::runtime_error("writer ended by itself, status " + std::to_string(status));
  }
  return {appended, popped};
}

// After the kill: the spool holds exactly records first..M-1, with
// first <= popped + 1 (nothing lost; one pop may have finished unreported),
// M >= appended (every stored record) and M <= appended + 1 (one append may
// have finished unreported).
void expect_after_kill(const fs::path& dir, std::uint64_t appended, std::uint64_t popped, std::uint64_t* first_out) {
  DiskSpool spool(config_for(dir));
  EXPECT_EQ(spool.stats().corrupt_records_skipped, 0u);
  const std::vector<std::string> got = drain(spool);
  ASSERT_FALSE(got.empty());
  std::uint64_t first = 0;
  ASSERT_GE(got.front().size(), 8u);
  std::memcpy(&first, got.front().data(), 8);
  *first_out = first;
  EXPECT_LE(first, popped + 1) << "records never delivered are missing";
  const std::uint64_t end = first + got.size();
  EXPECT_GE(end, appended) << "stored records are missing";
  EXPECT_LE(end, appended + 1);
  for (std::size_t k = 0; k < got.size(); ++k) {
    ASSERT_EQ(got[k], make_payload(first + k, crash_size(first + k))) << "position " << k;
  }
  // A torn final record (the append the kill interrupted) is cut, not delivered.
  EXPECT_LT(spool.stats().torn_tail_bytes_truncated, kHeader + crash_size(end));
}

TEST(DiskSpoolCrash, SigkillLosesNoStoredRecord) {
  TempDir tmp;
  const auto [appended, popped] = run_and_kill_writer(tmp.path() / "spool", /*deliver=*/false, 3000);
  ASSERT_GE(appended, 3000u);
  EXPECT_EQ(popped, 0u);
  std::uint64_t first = 0;
  expect_after_kill(tmp.path() / "spool", appended, 0, &first);
  EXPECT_EQ(first, 0u);
}

TEST(DiskSpoolCrash, SigkillWhileDeliveringRedeliversButLosesNothing) {
  TempDir tmp;
  const auto [appended, popped] = run_and_kill_writer(tmp.path() / "spool", /*deliver=*/true, 4000);
  ASSERT_GE(appended, 2000u);
  ASSERT_GE(popped, appended / 3 - 1);
  std::uint64_t first = 0;
  expect_after_kill(tmp.path() / "spool", appended, popped, &first);
  // The checkpoint (fsync_interval 1 h) moved exactly when delivered
  // segments were deleted: delivery resumes at the start of the segment of
  // the next record to deliver (or of the one after, if the kill came
  // after an unreported pop).
  EXPECT_GT(first, 0u);
  EXPECT_TRUE(first == crash_segment_start(popped) || first == crash_segment_start(popped + 1))
      << "first " << first << ", popped " << popped << ", segment starts " << crash_segment_start(popped) << " / "
      << crash_segment_start(popped + 1);
}

// ---------------------------------------------------------------------------
// Size cap

constexpr std::size_t kCapSize = 100;
constexpr std::uint64_t kCapRecord = kHeader + kCapSize;

// Bytes of every file in `dir`: what the cap promises to bound.
std::uint64_t dir_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) total += entry.file_size();
  return total;
}

TEST(DiskSpool, SizeCapBlockRefusesAndWritesNothing) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.max_bytes = 10 * kCapRecord + kSpoolFixedOverheadBytes;
  c.full_policy = SpoolFullPolicy::kBlock;
  c.segment_bytes = 2 * kCapRecord;  // 2 records per segment
  DiskSpool spool(c);
  append_range(spool, 0, 10, kCapSize);
  EXPECT_EQ(spool.disk_bytes(), c.max_bytes);
  EXPECT_EQ(spool.append(make_payload(10, kCapSize)), SpoolAppend::kFull);
  EXPECT_EQ(spool.append(make_payload(10, 1)), SpoolAppend::kFull);
  EXPECT_EQ(spool.pending_records(), 10u);
  EXPECT_EQ(spool.pending_bytes(), 10 * kCapRecord);
  EXPECT_EQ(spool.stats().appended_records, 10u);
  EXPECT_EQ(spool.stats().dropped_records, 0u);
  EXPECT_EQ(segment_files(tmp.path()).size(), 5u);
  EXPECT_LE(dir_bytes(tmp.path()), c.max_bytes);
  // One delivered record frees no disk (its segment still holds record 1).
  spool.pop_front();
  EXPECT_EQ(spool.append(make_payload(10, kCapSize)), SpoolAppend::kFull);
  // The second one empties segment 1, which goes: room for two.
  spool.pop_front();
  EXPECT_EQ(segment_files(tmp.path()).front(), segment_name(2));
  EXPECT_EQ(spool.append(make_payload(10, kCapSize)), SpoolAppend::kStored);
  EXPECT_EQ(spool.append(make_payload(11, kCapSize)), SpoolAppend::kStored);
  EXPECT_EQ(spool.append(make_payload(12, kCapSize)), SpoolAppend::kFull);
  EXPECT_LE(dir_bytes(tmp.path()), c.max_bytes);
  expect_records(drain(spool), iota(2, 12), kCapSize);
}

TEST(DiskSpool, SizeCapDropOldestEvictsWholeSegmentsExactly) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.max_bytes = 10 * kCapRecord + kSpoolFixedOverheadBytes;
  c.full_policy = SpoolFullPolicy::kDropOldest;
  c.segment_bytes = 4 * kCapRecord;  // 4 records per segment
  std::vector<std::string> evicted;
  c.on_drop = [&](std::string_view payload) { evicted.emplace_back(payload); };
  {
    DiskSpool spool(c);
    append_range(spool, 0, 25, kCapSize);
    // Segments of 4 fill 10 records' room; each record that does not fit
    // evicts the oldest segment whole: 0-3 (at 10), 4-7 (14), 8-11 (18),
    // 12-15 (22).
    EXPECT_EQ(spool.stats().dropped_records, 16u);
    EXPECT_EQ(spool.stats().dropped_bytes, 16 * kCapSize);
    EXPECT_EQ(spool.stats().appended_records, 25u);
    EXPECT_EQ(spool.pending_records(), 9u);
    EXPECT_EQ(spool.pending_bytes(), 9 * kCapRecord);
    EXPECT_EQ(spool.disk_bytes(), 9 * kCapRecord + kSpoolFixedOverheadBytes);
    ASSERT_EQ(evicted.size(), 16u);
    for (std::uint64_t i = 0; i < 16; ++i) EXPECT_EQ(evicted[i], make_payload(i, kCapSize)) << i;
    // Records 16..24 live in segments 5..7.
    EXPECT_EQ(segment_files(tmp.path()), (std::vector<std::string>{segment_name(5), segment_name(6), segment_name(7)}));
  }
  evicted.clear();
  DiskSpool spool(c);
  EXPECT_EQ(spool.pending_records(), 9u);
  // Mixed sizes: a 3-record-sized payload needs one segment's room (16-19).
  ASSERT_EQ(spool.append(make_payload(25, 3 * kCapRecord - kHeader)), SpoolAppend::kStored);
  EXPECT_EQ(spool.stats().dropped_records, 4u);
  EXPECT_EQ(evicted.size(), 4u);
  EXPECT_EQ(spool.pending_bytes(), 8 * kCapRecord);
  EXPECT_LE(dir_bytes(tmp.path()), c.max_bytes);
  const std::vector<std::string> got = drain(spool);
  ASSERT_EQ(got.size(), 6u);
  for (std::uint64_t i = 20; i < 25; ++i) EXPECT_EQ(got[i - 20], make_payload(i, kCapSize));
  EXPECT_EQ(got.back(), make_payload(25, 3 * kCapRecord - kHeader));
}

TEST(DiskSpool, DropOldestOfTheRecordFrontReturnedMakesPopANoOp) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.max_bytes = 3 * kCapRecord + kSpoolFixedOverheadBytes;
  c.full_policy = SpoolFullPolicy::kDropOldest;
  c.segment_bytes = kCapRecord;  // one record per segment
  DiskSpool spool(c);
  append_range(spool, 0, 3, kCapSize);
  std::string payload;
  ASSERT_TRUE(spool.front(payload));
  EXPECT_EQ(payload, make_payload(0, kCapSize));
  append_range(spool, 3, 1, kCapSize);  // evicts record 0, the one being delivered
  EXPECT_EQ(spool.stats().dropped_records, 1u);
  spool.pop_front();  // record 0 is already gone: record 1 must stay
  EXPECT_EQ(spool.stats().delivered_records, 0u);
  EXPECT_EQ(spool.pending_records(), 3u);
  expect_records(drain(spool), {1, 2, 3}, kCapSize);
}

TEST(DiskSpool, DropOldestInOneSegmentEvictsItAndStartsAFreshOne) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.max_bytes = 3 * kCapRecord + kSpoolFixedOverheadBytes;
  c.full_policy = SpoolFullPolicy::kDropOldest;  // segment_bytes: the default 16 MiB, far above the cap
  DiskSpool spool(c);
  append_range(spool, 0, 3, kCapSize);
  append_range(spool, 3, 1, kCapSize);  // no room: the only segment's 3 records go
  EXPECT_EQ(spool.stats().dropped_records, 3u);
  EXPECT_EQ(segment_files(tmp.path()), std::vector<std::string>{segment_name(2)});
  EXPECT_LE(dir_bytes(tmp.path()), c.max_bytes);
  expect_records(drain(spool), {3}, kCapSize);
}

TEST(DiskSpool, RecordLargerThanTheCapIsRefusedUnderBothPolicies) {
  for (SpoolFullPolicy policy : {SpoolFullPolicy::kBlock, SpoolFullPolicy::kDropOldest}) {
    TempDir tmp;
    SpoolConfig c = config_for(tmp.path());
    c.max_bytes = 1000;
    c.full_policy = policy;
    DiskSpool spool(c);
    append_range(spool, 0, 2, kCapSize);
    EXPECT_EQ(spool.append(make_payload(9, 1000 - kSpoolFixedOverheadBytes - kHeader + 1)), SpoolAppend::kFull);
    EXPECT_NE(spool.last_error().find("can never fit"), std::string::npos) << spool.last_error();
    EXPECT_EQ(spool.stats().dropped_records, 0u);
    EXPECT_EQ(fs::file_size(tmp.path() / segment_name(1)), 2 * kCapRecord);
    EXPECT_EQ(spool.append(make_payload(2, 1000 - kSpoolFixedOverheadBytes - kHeader - 2 * kCapRecord)),
              SpoolAppend::kStored);
    EXPECT_EQ(spool.disk_bytes(), 1000u);
    EXPECT_LE(dir_bytes(tmp.path()), 1000u);
  }
}

// The hostile case: far more than the cap, with deliveries in between.
// Each payload says how many points it stands for ("<n>\n..."), as the
// InfluxDB sink's batches do; on_drop counts the evicted ones.
TEST(DiskSpool, DropOldestKeepsTheDirectoryUnderTheCapAndAccountsForEveryPoint) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.max_bytes = 64 << 10;
  c.segment_bytes = 8 << 10;
  c.full_policy = SpoolFullPolicy::kDropOldest;
  auto points_of = [](std::string_view payload) {
    return static_cast<std::uint64_t>(std::stoull(std::string(payload.substr(0, payload.find('\n')))));
  };
  std::uint64_t dropped_points = 0, drop_calls = 0;
  c.on_drop = [&](std::string_view payload) {
    dropped_points += points_of(payload);
    ++drop_calls;
  };
  DiskSpool spool(c);
  std::uint64_t written_points = 0, delivered_points = 0, max_seen = 0;
  std::string payload;
  constexpr std::uint64_t kRecords = 3000;
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    const std::uint64_t points = i % 7 + 1;
    std::string record = std::to_string(points) + "\n" + make_payload(i, 50 + (i * 37) % 1450);
    ASSERT_EQ(spool.append(record), SpoolAppend::kStored) << i << ": " << spool.last_error();
    written_points += points;
    const std::uint64_t on_disk = dir_bytes(tmp.path());
    max_seen = std::max(max_seen, on_disk);
    ASSERT_LE(on_disk, c.max_bytes) << "after record " << i;
    ASSERT_LE(on_disk, spool.disk_bytes()) << "after record " << i;
    if (i % 10 == 0) {  // a slow consumer: 3 records per 10
      for (int k = 0; k < 3 && spool.front(payload); ++k) {
        delivered_points += points_of(payload);
        spool.pop_front();
      }
    }
  }
  while (spool.front(payload)) {
    delivered_points += points_of(payload);
    spool.pop_front();
  }
  EXPECT_GT(max_seen, c.max_bytes * 3 / 4);  // it did run full
  EXPECT_GT(dropped_points, 0u);
  EXPECT_EQ(drop_calls, spool.stats().dropped_records);
  EXPECT_EQ(spool.stats().dropped_records + spool.stats().delivered_records, kRecords);
  EXPECT_EQ(dropped_points + delivered_points, written_points);
  EXPECT_EQ(written_points, 11994u);  // 428 full cycles of 1..7 (28 each) + 1+2+3+4
}

// ---------------------------------------------------------------------------
// Disk full

TEST(DiskSpool, FileSizeLimitGivesIoErrorAndLeavesNothingPartial) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "spool";
  constexpr std::size_t kSize = 1100;  // 1124 on disk: 58 fit in 64 KiB, the 59th is cut at 344 bytes
  constexpr std::uint64_t kRecord = kHeader + kSize;
  constexpr rlim_t kLimit = 64 << 10;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int rc = run_in_child([&] {
    ::close(fds[0]);
    rlimit limit{};
    if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) return 10;
    const rlimit saved = limit;
    limit.rlim_cur = kLimit;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 11;
    ::signal(SIGXFSZ, SIG_IGN);
    SpoolConfig c = config_for(dir);
    c.segment_bytes = 1 << 20;
    DiskSpool spool(c);
    std::uint64_t stored = 0;
    while (stored < 1000 && spool.append(make_payload(stored, kSize)) == SpoolAppend::kStored) ++stored;
    if (spool.append(make_payload(stored, kSize)) != SpoolAppend::kIoError) return 12;  // still failing
    const std::string error = spool.last_error();
    const std::uint64_t size_after_failure = fs::file_size(dir / segment_name(1));
    const std::uint64_t errors = spool.stats().write_errors;
    const std::uint64_t pending = spool.pending_records();
    // Room again: the same append now succeeds.
    if (::setrlimit(RLIMIT_FSIZE, &saved) != 0) return 13;
    if (spool.append(make_payload(stored, kSize)) != SpoolAppend::kStored) return 14;
    const std::uint64_t report[4] = {stored, size_after_failure, errors, pending};
    if (::write(fds[1], report, sizeof report) != sizeof report) return 15;
    if (::write(fds[1], error.data(), error.size()) != static_cast<ssize_t>(error.size())) return 15;
    ::close(fds[1]);
    return 0;
  });
  ::close(fds[1]);
  std::uint64_t report[4] = {};
  ASSERT_EQ(::read(fds[0], report, sizeof report), static_cast<ssize_t>(sizeof report)) << "child rc " << rc;
  char text[512] = {};
  const ssize_t n = ::read(fds[0], text, sizeof text - 1);
  ::close(fds[0]);
  ASSERT_EQ(rc, 0);
  const std::string error(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  const auto [stored, size_after_failure, errors, pending] = report;
  EXPECT_EQ(stored, kLimit / kRecord);
  EXPECT_EQ(size_after_failure, stored * kRecord) << "a partial record was left behind";
  EXPECT_EQ(errors, 2u);
  EXPECT_EQ(pending, stored);
  EXPECT_NE(error.find("write " + (dir / segment_name(1)).string()), std::string::npos) << error;
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;

  DiskSpool spool(config_for(dir));
  EXPECT_EQ(spool.stats().torn_tail_bytes_truncated, 0u);
  EXPECT_EQ(spool.stats().corrupt_records_skipped, 0u);
  expect_records(drain(spool), iota(0, stored + 1), kSize);
}

TEST(DiskSpool, FullTmpfsGivesIoErrorAndRecoversWhenSpaceFrees) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  TempDir tmp;
  const fs::path mnt = tmp.path() / "mnt";
  fs::create_directory(mnt);
  constexpr int kSkip = 77;
  constexpr std::size_t kSize = 1100;
  constexpr std::uint64_t kRecord = kHeader + kSize;
  constexpr std::uint64_t kPerSegment = (256 << 10) / kRecord;  // 233
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  // A private mount namespace: the mount vanishes with the child, whatever happens.
  const int rc = run_in_child([&]() -> int {
    ::close(fds[0]);
    if (::unshare(CLONE_NEWNS) != 0) return kSkip;
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return kSkip;
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) return kSkip;
    const fs::path dir = mnt / "spool";
    SpoolConfig c = config_for(dir);
    c.segment_bytes = 256 << 10;
    std::uint64_t report[5] = {};
    std::string error;
    {
      DiskSpool spool(c);
      std::uint64_t stored = 0;
      while (stored < 5000 && spool.append(make_payload(stored, kSize)) == SpoolAppend::kStored) ++stored;
      error = spool.last_error();
      std::uint64_t on_disk = 0;
      for (const std::string& name : segment_files(dir)) on_disk += fs::file_size(dir / name);
      // Deliver the first segment: it is deleted, and appends work again.
      std::string payload;
      for (std::uint64_t i = 0; i < kPerSegment; ++i) {
        if (!spool.front(payload) || payload != make_payload(i, kSize)) return 20;
        spool.pop_front();
      }
      const bool retried = spool.append(make_payload(stored, kSize)) == SpoolAppend::kStored;
      report[0] = stored;
      report[1] = on_disk;
      report[2] = retried;
      report[3] = spool.pending_records();
    }
    {
      DiskSpool spool(c);  // everything not delivered, in order
      const std::vector<std::string> got = drain(spool);
      report[4] = got.size();
      for (std::size_t k = 0; k < got.size(); ++k) {
        if (got[k] != make_payload(kPerSegment + k, kSize)) return 21;
      }
    }
    if (::write(fds[1], report, sizeof report) != sizeof report) return 22;
    if (::write(fds[1], error.data(), error.size()) != static_cast<ssize_t>(error.size())) return 22;
    return 0;
  });
  ::close(fds[1]);
  if (rc == kSkip) {
    ::close(fds[0]);
    GTEST_SKIP() << "cannot mount a tmpfs in a private namespace here";
  }
  std::uint64_t report[5] = {};
  const ssize_t got = ::read(fds[0], report, sizeof report);
  char text[512] = {};
  const ssize_t n = ::read(fds[0], text, sizeof text - 1);
  ::close(fds[0]);
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof report));
  const std::string error(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  const auto [stored, on_disk, retried, pending, redelivered] = report;
  EXPECT_GT(stored, 2 * kPerSegment);  // ~1 MiB of 1124-byte records
  EXPECT_LT(stored, 1000u);
  EXPECT_EQ(on_disk, stored * kRecord) << "a partial record was left behind";
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
  EXPECT_NE(error.find(".seg"), std::string::npos) << error;
  EXPECT_EQ(retried, 1u);
  EXPECT_EQ(pending, stored - kPerSegment + 1);
  EXPECT_EQ(redelivered, stored - kPerSegment + 1);
}

// ---------------------------------------------------------------------------
// Unusable directories and locking

TEST(DiskSpool, DirectoryUnderARegularFileThrowsNamingIt) {
  TempDir tmp;
  const fs::path file = tmp.path() / "plain";
  write_file(file, "not a directory");
  for (const fs::path& dir : {file / "spool", file}) {
    try {
      DiskSpool spool(config_for(dir));
      ADD_FAILURE() << "no error for " << dir;
    } catch (const SpoolError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(dir.string()), std::string::npos) << what;
      EXPECT_NE(what.find("Not a directory"), std::string::npos) << what;
    }
  }
}

TEST(DiskSpool, SecondInstanceOnTheSameDirectoryIsRefused) {
  TempDir tmp;
  DiskSpool first(config_for(tmp.path()));
  append_range(first, 0, 1, 10);
  try {
    DiskSpool second(config_for(tmp.path()));
    ADD_FAILURE() << "two spools on one directory";
  } catch (const SpoolError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(tmp.path().string()), std::string::npos) << what;
    EXPECT_NE(what.find("locked"), std::string::npos) << what;
    EXPECT_NE(what.find("pid " + std::to_string(::getpid())), std::string::npos) << what;
  }
  // The first one is untouched.
  append_range(first, 1, 1, 10);
  expect_records(drain(first), {0, 1}, 10);
}

TEST(DiskSpool, SecondProcessOnTheSameDirectoryIsRefused) {
  TempDir tmp;
  std::optional<DiskSpool> first(std::in_place, config_for(tmp.path()));
  auto try_open = [&] {
    return run_in_child([&] {
      try {
        DiskSpool second(config_for(tmp.path()));
        return 1;
      } catch (const SpoolError& e) {
        const std::string what = e.what();
        return what.find(tmp.path().string()) != std::string::npos && what.find("locked") != std::string::npos ? 0 : 2;
      }
    });
  };
  // The child opens LOCK anew (its own open file description), so the
  // parent's flock refuses it.
  EXPECT_EQ(try_open(), 0);
  first.reset();
  EXPECT_EQ(try_open(), 1) << "the lock outlived its spool";
}

// ---------------------------------------------------------------------------
// Checkpoint

TEST(DiskSpool, StaleTempCheckpointIsIgnored) {
  TempDir tmp;
  const fs::path cp = tmp.path() / "checkpoint";
  const fs::path cp_tmp = tmp.path() / "checkpoint.tmp";
  std::string at_two;
  std::string at_four;
  {
    DiskSpool spool(config_for(tmp.path()));
    append_range(spool, 0, 6, 50);
    spool.pop_front();
    spool.pop_front();
    spool.sync();
    at_two = read_file(cp);
    spool.pop_front();
    spool.pop_front();
    spool.sync();
    at_four = read_file(cp);
  }
  ASSERT_EQ(at_two.size(), 36u);
  ASSERT_NE(at_two, at_four);
  // A crash between writing the temp (here even a complete, newer one) and
  // the rename: the checkpoint in force is still the old one.
  write_file(cp, at_two);
  write_file(cp_tmp, at_four);
  {
    DiskSpool spool(config_for(tmp.path()));
    EXPECT_FALSE(fs::exists(cp_tmp));
    EXPECT_EQ(spool.pending_records(), 4u);
    std::string payload;
    ASSERT_TRUE(spool.front(payload));
    EXPECT_EQ(payload, make_payload(2, 50));
  }
  // A half-written temp.
  write_file(cp, at_four);
  write_file(cp_tmp, at_two.substr(0, 11));
  DiskSpool spool(config_for(tmp.path()));
  EXPECT_FALSE(fs::exists(cp_tmp));
  expect_records(drain(spool), {4, 5}, 50);
}

TEST(DiskSpool, DamagedCheckpointRedeliversEverything) {
  TempDir tmp;
  {
    DiskSpool spool(config_for(tmp.path()));
    append_range(spool, 0, 5, 50);
    spool.pop_front();
    spool.pop_front();
  }
  xor_byte(tmp.path() / "checkpoint", 17);
  DiskSpool spool(config_for(tmp.path()));
  EXPECT_NE(spool.last_error().find("checkpoint"), std::string::npos) << spool.last_error();
  expect_records(drain(spool), iota(0, 5), 50);  // at least once
}

// ---------------------------------------------------------------------------
// fsync schedule

TEST(DiskSpool, FsyncIntervalZeroSyncsEveryAppendAndCheckpointsEveryPop) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.fsync_interval = std::chrono::milliseconds(0);
  DiskSpool spool(c);
  const std::uint64_t before = spool.stats().fsyncs;
  append_range(spool, 0, 5, 100);
  EXPECT_EQ(spool.stats().fsyncs - before, 5u);
  spool.pop_front();  // temp file + directory
  EXPECT_EQ(spool.stats().fsyncs - before, 7u);
}

TEST(DiskSpool, FsyncIntervalBatchesSyncs) {
  TempDir tmp;
  SpoolConfig c = config_for(tmp.path());
  c.fsync_interval = std::chrono::milliseconds(500);
  DiskSpool spool(c);
  const std::uint64_t before = spool.stats().fsyncs;
  append_range(spool, 0, 5, 100);
  spool.pop_front();
  EXPECT_EQ(spool.stats().fsyncs - before, 0u);
  std::this_thread::sleep_for(600ms);
  spool.maybe_sync();  // the data, then the checkpoint: temp file and directory
  EXPECT_EQ(spool.stats().fsyncs - before, 3u);
  spool.maybe_sync();
  EXPECT_EQ(spool.stats().fsyncs - before, 3u);
  append_range(spool, 5, 1, 100);  // the first dirty byte starts the clock
  EXPECT_EQ(spool.stats().fsyncs - before, 3u);
  spool.sync();
  EXPECT_EQ(spool.stats().fsyncs - before, 4u);
  spool.sync();  // nothing dirty
  EXPECT_EQ(spool.stats().fsyncs - before, 4u);
}

}  // namespace
}  // namespace tickflow
