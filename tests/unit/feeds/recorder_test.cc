// CaptureRecorder: frames recorded live must read back through CaptureReader
// exactly (receive time and bytes), in hourly files with the names the
// replay tools recognise; and nothing may be lost silently: drops and I/O
// errors are counted and reported, never crash the caller.
#include "feeds/recorder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"

namespace tickflow {
namespace {

namespace fs = std::filesystem;
using Frames = std::vector<std::pair<std::int64_t, std::string>>;

// 2024-08-08T22:00:00Z in ns.
constexpr std::int64_t k20240808T22 = std::int64_t{1723154400} * 1'000'000'000;
constexpr std::int64_t kMinute = std::int64_t{60} * 1'000'000'000;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tickflow-recorder-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());  // recorder names sort by time
  return names;
}

Frames read_capture(const std::string& path, CaptureReader::Counts* counts = nullptr) {
  Frames frames;
  CaptureReader reader(path);
  CaptureRecord record;
  while (reader.next(record)) frames.emplace_back(record.receive_ts_ns, std::string(record.frame));
  if (counts != nullptr) *counts = reader.counts();
  return frames;
}

Frames read_all(const fs::path& dir) {
  Frames all;
  for (const std::string& name : files_in(dir)) {
    CaptureReader::Counts counts;
    Frames part = read_capture((dir / name).string(), &counts);
    EXPECT_EQ(counts.malformed_lines, 0u) << name;
    EXPECT_EQ(counts.oversize_lines, 0u) << name;
    EXPECT_EQ(counts.blank_lines, 0u) << name;
    all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return all;
}

// Real frames: the bundled capture if there is one, else the first frames of
// the shared Binance USD-M capture. Empty when neither exists.
std::string real_capture() {
  for (const std::string& path : {std::string(TICKFLOW_TEST_DATA_DIR) + "/binance-20240808/usdm_btcusdt.gz",
                                  std::string(TICKFLOW_SHARED_DATA_DIR) + "/binance-20240808/usdm_btcusdt.gz"}) {
    if (fs::exists(path)) return path;
  }
  return {};
}

Frames real_frames(std::size_t max_frames) {
  const std::string path = real_capture();
  if (path.empty()) return {};
  Frames frames;
  CaptureReader reader(path);
  CaptureRecord record;
  while (frames.size() < max_frames && reader.next(record))
    frames.emplace_back(record.receive_ts_ns, std::string(record.frame));
  return frames;
}

RecorderOptions options_for(const TempDir& dir, std::string exchange = "BINANCE_FUTURES") {
  RecorderOptions options;
  options.directory = dir.str();
  options.exchange = std::move(exchange);
  return options;
}

// After stop(), every accepted frame is written, malformed or lost.
void expect_accounted(const CaptureRecorder::Stats& s) {
  EXPECT_EQ(s.recorded, s.frames_written + s.dropped_malformed + s.frames_lost)
      << "written " << s.frames_written << ", malformed " << s.dropped_malformed << ", lost " << s.frames_lost;
}

// The trades the Binance parser makes of the first `max_frames` frames of
// the given capture files, in order.
std::vector<Trade> parsed_trades(const std::vector<std::string>& paths, std::size_t max_frames) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE_FUTURES", registry);
  EXPECT_NE(parser, nullptr);
  std::vector<Trade> trades;
  if (parser == nullptr) return trades;
  EventBuffer events;
  std::size_t frames = 0;
  for (const std::string& path : paths) {
    CaptureReader reader(path);
    CaptureRecord record;
    while (frames < max_frames && reader.next(record)) {
      ++frames;
      events.clear();
      parser->parse(record.frame, record.receive_ts_ns, events);
      for (const FeedEvent& e : events)
        if (e.type == FeedEventType::kTrade) trades.push_back(e.trade);
    }
  }
  return trades;
}

void expect_same_trades(const std::vector<Trade>& a, const std::vector<Trade>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("trade " + std::to_string(i));
    EXPECT_EQ(a[i].exchange_ts_ns, b[i].exchange_ts_ns);
    EXPECT_EQ(a[i].receive_ts_ns, b[i].receive_ts_ns);
    EXPECT_EQ(a[i].trade_id, b[i].trade_id);
    EXPECT_EQ(a[i].price, b[i].price);
    EXPECT_EQ(a[i].qty, b[i].qty);
    EXPECT_EQ(a[i].market, b[i].market);
    EXPECT_EQ(a[i].side, b[i].side);
    EXPECT_EQ(a[i].flags, b[i].flags);
  }
}

void round_trip(bool gzip) {
  const Frames frames = real_frames(2000);
  if (frames.empty()) GTEST_SKIP() << "no Binance capture in tests/data or ../shared/data";
  TempDir dir;
  RecorderOptions options = options_for(dir);
  options.gzip = gzip;
  options.block_bytes = 64 * 1024;  // several blocks per file
  std::size_t bytes = 0;
  {
    CaptureRecorder recorder(options);
    for (const auto& [ts, frame] : frames) {
      // A slow writer must not drop anything here: retry rather than count.
      while (!recorder.record(ts, frame)) {
        ASSERT_EQ(recorder.stats().dropped_oversize, 0u);
        std::this_thread::yield();
      }
      bytes += std::to_string(ts).size() + 1 + frame.size() + 1;
    }
    recorder.stop();
    const auto s = recorder.stats();
    EXPECT_EQ(s.recorded, frames.size());
    EXPECT_EQ(s.frames_written, frames.size());
    EXPECT_EQ(s.bytes_written, bytes);
    EXPECT_EQ(s.write_errors, 0u) << recorder.last_error();
    EXPECT_EQ(s.dropped_malformed, 0u);
    EXPECT_EQ(recorder.last_error(), "");
    expect_accounted(s);
    EXPECT_EQ(s.files_opened, files_in(dir.path()).size());
  }
  const std::vector<std::string> names = files_in(dir.path());
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    EXPECT_EQ(exchange_from_capture_name(name), "BINANCE_FUTURES") << name;
    EXPECT_TRUE(name.ends_with(gzip ? ".log.gz" : ".log")) << name;
  }
  const Frames back = read_all(dir.path());
  ASSERT_EQ(back.size(), frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    ASSERT_EQ(back[i].first, frames[i].first) << "frame " << i;
    ASSERT_EQ(back[i].second, frames[i].second) << "frame " << i;
  }
  // And the parser sees the same market data in the recording as in the original.
  std::vector<std::string> paths;
  for (const std::string& name : names) paths.push_back((dir.path() / name).string());
  const std::vector<Trade> original = parsed_trades({real_capture()}, frames.size());
  EXPECT_GT(original.size(), 100u);
  expect_same_trades(parsed_trades(paths, SIZE_MAX), original);
  if (gzip) {  // really compressed, not plain text with a .gz name
    std::uintmax_t on_disk = 0;
    for (const std::string& name : names) on_disk += fs::file_size(dir.path() / name);
    EXPECT_LT(on_disk, bytes / 3);
  }
}

TEST(CaptureRecorder, RoundTripsRealFramesExactlyPlain) { round_trip(false); }
TEST(CaptureRecorder, RoundTripsRealFramesExactlyGzip) { round_trip(true); }

TEST(CaptureRecorder, RotatesHourlyByReceiveTimeInUtc) {
  for (bool gzip : {false, true}) {
    TempDir dir;
    RecorderOptions options = options_for(dir, "BYBIT");
    options.gzip = gzip;
    Frames sent;
    {
      CaptureRecorder recorder(options);
      // 22:00 to 00:50 the next day, one frame every 10 minutes: 3 hours, 3 files.
      for (int k = 0; k < 18; ++k) {
        const std::int64_t ts = k20240808T22 + k * 10 * kMinute + k;  // +k ns: exact digits survive
        sent.emplace_back(ts, "{\"k\":" + std::to_string(k) + "}");
        ASSERT_TRUE(recorder.record(ts, sent.back().second));
      }
      recorder.stop();
      EXPECT_EQ(recorder.stats().files_opened, 3u);
      EXPECT_EQ(recorder.stats().frames_written, 18u);
    }
    const std::string ext = gzip ? ".log.gz" : ".log";
    const std::vector<std::string> expected_names = {"BYBIT-20240808-22" + ext, "BYBIT-20240808-23" + ext,
                                                     "BYBIT-20240809-00" + ext};
    ASSERT_EQ(files_in(dir.path()), expected_names);
    for (std::size_t f = 0; f < 3; ++f) {
      const Frames got = read_capture((dir.path() / expected_names[f]).string());
      const Frames want(sent.begin() + static_cast<long>(6 * f), sent.begin() + static_cast<long>(6 * f + 6));
      EXPECT_EQ(got, want) << expected_names[f];
      EXPECT_EQ(exchange_from_capture_name(expected_names[f]), "BYBIT");
    }
  }
}

TEST(CaptureRecorder, ReopensTheHourFileForAppendAfterARestart) {
  TempDir dir;
  for (int run = 0; run < 2; ++run) {
    RecorderOptions options = options_for(dir);
    options.gzip = true;  // the harder case: a second gzip member
    CaptureRecorder recorder(options);
    ASSERT_TRUE(recorder.record(k20240808T22 + run * kMinute, "run" + std::to_string(run)));
  }  // destructor stops
  const Frames got = read_all(dir.path());
  EXPECT_EQ(got, (Frames{{k20240808T22, "run0"}, {k20240808T22 + kMinute, "run1"}}));
}

TEST(CaptureRecorder, FullRingCountsDropsAndKeepsEveryAcceptedFrame) {
  TempDir dir;
  RecorderOptions options = options_for(dir);
  options.ring_bytes = 4096;
  options.start_writer = false;  // a stalled writer: the ring can only fill
  CaptureRecorder recorder(options);
  EXPECT_EQ(recorder.max_frame_bytes(), 4096u / 2 - 16);
  const std::string frame(100, 'x');
  std::uint64_t attempts = 0, accepted = 0;
  for (; attempts < 100; ++attempts)
    accepted += recorder.record(k20240808T22 + static_cast<std::int64_t>(attempts), frame);
  auto s = recorder.stats();
  EXPECT_EQ(accepted, 4096u / SpscByteRing::record_bytes(8 + frame.size()));
  EXPECT_EQ(s.recorded, accepted);
  EXPECT_EQ(s.dropped_full, attempts - accepted);
  EXPECT_GT(s.dropped_full, 0u);

  // Oversize and malformed frames are counted, not written.
  EXPECT_FALSE(recorder.record(k20240808T22, std::string(recorder.max_frame_bytes() + 1, 'o')));
  EXPECT_EQ(recorder.stats().dropped_oversize, 1u);

  recorder.start();  // the writer catches up; frames flow again
  recorder.flush();
  EXPECT_EQ(recorder.stats().frames_written, accepted);
  EXPECT_TRUE(recorder.record(k20240808T22 + 1000, "after"));
  EXPECT_TRUE(recorder.record(k20240808T22 + 1001, "line\nbreak"));
  EXPECT_TRUE(recorder.record(k20240808T22 + 1002, "carriage\rreturn"));
  EXPECT_TRUE(recorder.record(k20240808T22 + 1003, ""));
  EXPECT_TRUE(recorder.record(123, "too-early"));  // would read back as malformed
  recorder.stop();
  EXPECT_FALSE(recorder.record(k20240808T22 + 2000, "late"));

  s = recorder.stats();
  EXPECT_EQ(s.recorded, accepted + 5);
  EXPECT_EQ(s.dropped_malformed, 4u);
  EXPECT_EQ(s.frames_written, accepted + 1);
  EXPECT_EQ(s.dropped_stopped, 1u);
  EXPECT_EQ(s.frames_lost, 0u);
  expect_accounted(s);
  const Frames got = read_all(dir.path());
  ASSERT_EQ(got.size(), accepted + 1);
  EXPECT_EQ(got.back().second, "after");
  EXPECT_EQ(got.front().second, frame);
}

TEST(CaptureRecorder, StopWithoutAWriterThreadStillWritesEverything) {
  TempDir dir;
  RecorderOptions options = options_for(dir);
  options.start_writer = false;
  CaptureRecorder recorder(options);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(recorder.record(k20240808T22 + i, std::to_string(1000 + i)));
  recorder.stop();
  EXPECT_EQ(recorder.stats().frames_written, 50u);
  EXPECT_EQ(read_all(dir.path()).size(), 50u);
}

TEST(CaptureRecorder, FlushMakesRecordedFramesReadableWhileRunning) {
  TempDir dir;
  CaptureRecorder recorder(options_for(dir));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(recorder.record(k20240808T22 + i, std::to_string(1000 + i)));
  recorder.flush();
  EXPECT_EQ(read_all(dir.path()).size(), 10u);
  EXPECT_EQ(recorder.stats().frames_written, 10u);
}

TEST(CaptureRecorder, UnwritableDirectoryIsCountedAndReportedNotFatal) {
  TempDir dir;
  const std::string not_a_dir = (dir.path() / "plain-file").string();
  { std::ofstream(not_a_dir) << "x"; }
  for (const std::string& bad : {(dir.path() / "missing").string(), not_a_dir + "/sub"}) {
    RecorderOptions options = options_for(dir);
    options.directory = bad;
    CaptureRecorder recorder(options);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(recorder.record(k20240808T22 + i, "frame"));
    recorder.flush();
    recorder.stop();
    const auto s = recorder.stats();
    EXPECT_GE(s.write_errors, 1u);
    EXPECT_EQ(s.frames_lost, 10u);
    EXPECT_EQ(s.frames_written, 0u);
    EXPECT_EQ(s.files_opened, 0u);
    expect_accounted(s);
    const std::string error = recorder.last_error();
    EXPECT_NE(error.find(bad + "/BINANCE_FUTURES-20240808-22.log"), std::string::npos) << error;
    EXPECT_TRUE(error.find("No such file") != std::string::npos || error.find("Not a directory") != std::string::npos)
        << error;
  }
  EXPECT_THROW(CaptureRecorder(options_for(dir, "binance")), std::invalid_argument) << "lower case: unrecognisable";
  EXPECT_THROW(CaptureRecorder(options_for(dir, "")), std::invalid_argument);
}

TEST(CaptureRecorder, WriteErrorOnAFullDeviceIsCountedAndReported) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  TempDir dir;
  // The hour's file is a link to /dev/full: every write fails with ENOSPC.
  const fs::path file = dir.path() / "BINANCE_FUTURES-20240808-22.log";
  fs::create_symlink("/dev/full", file);
  CaptureRecorder recorder(options_for(dir));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(recorder.record(k20240808T22 + i, "frame"));
  recorder.stop();
  const auto s = recorder.stats();
  EXPECT_GE(s.write_errors, 1u);
  EXPECT_EQ(s.frames_lost, 100u);
  EXPECT_EQ(s.frames_written, 0u);
  expect_accounted(s);
  const std::string error = recorder.last_error();
  EXPECT_NE(error.find(file.string()), std::string::npos) << error;
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;
}

// A real full filesystem: a 64 KiB tmpfs. Needs root and a container that
// allows mounts; skipped otherwise. Failed blocks are cut off the file, so
// what is on disk is exactly the frames counted as written, all complete.
TEST(CaptureRecorder, FullFilesystemKeepsTheFileReadableAndCountsTheLoss) {
  TempDir dir;
  const std::string mount_point = (dir.path() / "small").string();
  fs::create_directory(mount_point);
  const std::string mount = "mount -t tmpfs -o size=64k tmpfs '" + mount_point + "' 2>/dev/null";
  if (::geteuid() != 0 || std::system(mount.c_str()) != 0) GTEST_SKIP() << "cannot mount a small tmpfs here";
  struct Unmount {
    std::string command;
    ~Unmount() {
      if (std::system(command.c_str()) != 0) ADD_FAILURE() << "umount failed: " << command;
    }
  } unmount{"umount '" + mount_point + "'"};

  RecorderOptions options = options_for(dir);
  options.directory = mount_point;
  options.block_bytes = 4096;
  std::uint64_t accepted = 0;
  {
    CaptureRecorder recorder(options);
    const std::string frame = "{\"e\":\"trade\",\"p\":\"61800.30\",\"pad\":\"" + std::string(150, 'p') + "\"}";
    for (int i = 0; i < 2000; ++i) {  // ~380 KB of lines into 64 KiB
      while (!recorder.record(k20240808T22 + i, frame)) std::this_thread::yield();
      ++accepted;
    }
    recorder.stop();
    const auto s = recorder.stats();
    EXPECT_EQ(s.recorded, accepted);
    EXPECT_GE(s.write_errors, 1u);
    EXPECT_GT(s.frames_lost, 0u);
    EXPECT_GT(s.frames_written, 0u);
    expect_accounted(s);
    EXPECT_NE(recorder.last_error().find("No space left on device"), std::string::npos) << recorder.last_error();
    const std::string path = mount_point + "/BINANCE_FUTURES-20240808-22.log";
    CaptureReader::Counts counts;
    const Frames got = read_capture(path, &counts);
    EXPECT_EQ(got.size(), s.frames_written) << "the file holds exactly the frames counted as written";
    EXPECT_EQ(counts.malformed_lines, 0u) << "no partial line was left behind";
    for (const auto& [ts, f] : got) ASSERT_EQ(f, frame);
  }
}

}  // namespace
}  // namespace tickflow
