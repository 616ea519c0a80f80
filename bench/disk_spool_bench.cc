// bench/disk_spool_bench.cc: the InfluxDB sink's disk spool, with batches
// of 5000 line-protocol lines (~430 KB), the size the sink POSTs.
//
//   BM_RawFile_Append      the baseline: pwrite(2) of the same bytes at the
//                          end of one file, fdatasync once per second and
//                          every 16 MiB, when the file is cut back to 0 (the
//                          disk work without framing, CRC, checkpoints)
//   BM_DiskSpool_Append    DiskSpool::append() with the default config
//                          (fsync every 1 s, 16 MiB segments); the oldest
//                          records are popped past 64 pending so the disk
//                          holds ~25 MB
//   BM_DiskSpool_FrontPop  front() + pop_front() of spooled batches (page
//                          cache warm): read, CRC check, checkpoint
//   BM_DiskSpool_Open      opening a spool of 64 MiB pending: the recovery
//                          scan reads and CRC-checks every byte
//
// All in a fresh temporary directory under $TMPDIR (or /tmp), removed after.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "sinks/disk_spool.h"

namespace tickflow::bench {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tickflow-spool-bench-XXXXXX").string();
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

// 5000 line-protocol lines of ~86 bytes: a ~430 KB batch.
const std::string& batch() {
  static const std::string payload = [] {
    std::string s;
    char line[128];
    for (int i = 0; i < 5000; ++i) {
      const int n =
          std::snprintf(line, sizeof line, "trades_1s,market=BINANCE:btcusdt open=%d.63,close=%d.62,vbuy=%d.45 %d\n",
                        61000 + i % 997, 61000 + i % 991, 1000 + i % 9000, 1723161255 + i);
      s.append(line, static_cast<std::size_t>(n));
    }
    return s;
  }();
  return payload;
}

constexpr std::uint64_t kSegmentBytes = 16ull << 20;
constexpr std::uint64_t kKeepPending = 64;

void BM_RawFile_Append(benchmark::State& state) {
  TempDir dir;
  const std::string& payload = batch();
  const std::string path = (dir.path() / "raw.dat").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    state.SkipWithError("cannot create the file");
    return;
  }
  std::uint64_t end = 0;
  std::uint64_t fsyncs = 0;
  auto last_sync = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (end + payload.size() > kSegmentBytes) {  // as a segment rotation: fsync, start over
      ::fdatasync(fd);
      ++fsyncs;
      if (::ftruncate(fd, 0) != 0) state.SkipWithError("ftruncate failed");
      end = 0;
    }
    if (::pwrite(fd, payload.data(), payload.size(), static_cast<off_t>(end)) != static_cast<ssize_t>(payload.size())) {
      state.SkipWithError("write failed");
      break;
    }
    end += payload.size();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_sync >= std::chrono::seconds(1)) {
      ::fdatasync(fd);
      ++fsyncs;
      last_sync = now;
    }
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
  state.counters["fsyncs"] = static_cast<double>(fsyncs);
}
BENCHMARK(BM_RawFile_Append)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_DiskSpool_Append(benchmark::State& state) {
  TempDir dir;
  const std::string& payload = batch();
  SpoolConfig config;
  config.dir = dir.path() / "spool";
  DiskSpool spool(config);
  for (auto _ : state) {
    if (spool.append(payload) != SpoolAppend::kStored) {
      state.SkipWithError(spool.last_error().c_str());
      break;
    }
    if (spool.pending_records() > kKeepPending) spool.pop_front();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
  state.counters["fsyncs"] = static_cast<double>(spool.stats().fsyncs);
}
BENCHMARK(BM_DiskSpool_Append)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_DiskSpool_FrontPop(benchmark::State& state) {
  TempDir dir;
  const std::string& payload = batch();
  SpoolConfig config;
  config.dir = dir.path() / "spool";
  DiskSpool spool(config);
  std::string out;
  out.reserve(payload.size());
  for (auto _ : state) {
    if (spool.empty()) {
      state.PauseTiming();
      for (std::uint64_t i = 0; i < kKeepPending; ++i) (void)spool.append(payload);
      spool.sync();
      state.ResumeTiming();
    }
    if (!spool.front(out) || out.size() != payload.size()) {
      state.SkipWithError("front() failed");
      break;
    }
    spool.pop_front();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * payload.size()));
}
BENCHMARK(BM_DiskSpool_FrontPop)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_DiskSpool_Open(benchmark::State& state) {
  TempDir dir;
  const std::string& payload = batch();
  SpoolConfig config;
  config.dir = dir.path() / "spool";
  std::uint64_t pending_bytes = 0;
  {
    DiskSpool spool(config);
    while (spool.pending_bytes() < (64ull << 20)) (void)spool.append(payload);
    pending_bytes = spool.pending_bytes();
  }
  for (auto _ : state) {
    DiskSpool spool(config);
    if (spool.pending_bytes() != pending_bytes) state.SkipWithError("recovery lost bytes");
    benchmark::DoNotOptimize(spool.pending_records());
  }
  state.counters["batch_bytes"] = static_cast<double>(payload.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * pending_bytes));
}
BENCHMARK(BM_DiskSpool_Open)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tickflow::bench
