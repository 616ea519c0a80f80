// The restart checkpoint file (runtime/restart_checkpoint.h): values read
// back bit for bit, a damaged file is refused with its name and line, the
// atomic write leaves the old file when it cannot write, and the keeper
// writes only what the writer has settled.
#include "runtime/restart_checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <zlib.h>

#include "runtime/checkpoint_keeper.h"

namespace tickflow {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/tickflow-checkpoint-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
  }
};

RestartCheckpoint sample() {
  RestartCheckpoint c;
  c.written_at_ns = 1'723'161'600'123'456'789;
  MarketCheckpoint a;
  a.name = "BINANCE:btcusdt";
  a.point.closed_until_s = 1'723'161'661;
  a.point.sealed_trade_id = 3'752'222'333;
  a.point.sealed_exchange_ns = 1'723'161'660'987'000'000;
  Bar w;
  w.timeframe_s = 60;
  w.open_time_s = 1'723'161'660;
  w.open = 60'123.45;
  w.high = 60'200.1;
  w.low = 59'999.99;
  w.close = 0.1 + 0.2;  // not representable exactly: must still read back bit for bit
  w.vbuy = 1234567.891011;
  w.vsell = std::nextafter(1.0, 2.0);
  w.cbuy = 17;
  w.csell = 4;
  w.lbuy = 0;
  w.lsell = 5e-324;  // the smallest subnormal
  w.qbuy = 20.5;
  w.qsell = 0.0625;
  a.point.window[0] = w;
  w.timeframe_s = 14'400;
  w.open_time_s = 1'723'161'600;
  a.point.window[1] = w;
  a.point.windows = 2;
  c.markets.push_back(a);
  MarketCheckpoint b;
  b.name = "BYBIT:BTCUSDT";  // hashed ids: no trade id, only the time
  b.point.closed_until_s = 1'723'161'661;
  b.point.sealed_exchange_ns = 1'723'161'660'500'000'000;
  b.point.replay_from_s = 1'723'161'061;  // a bus aggregator's: the frontier less a 600 s horizon
  c.markets.push_back(b);
  return c;
}

void expect_same(const Bar& a, const Bar& b) {
  EXPECT_EQ(a.timeframe_s, b.timeframe_s);
  EXPECT_EQ(a.open_time_s, b.open_time_s);
  for (auto field : {&Bar::open, &Bar::high, &Bar::low, &Bar::close, &Bar::vbuy, &Bar::vsell, &Bar::cbuy, &Bar::csell,
                     &Bar::lbuy, &Bar::lsell, &Bar::qbuy, &Bar::qsell})
    EXPECT_EQ(std::memcmp(&(a.*field), &(b.*field), sizeof(double)), 0) << a.*field << " vs " << b.*field;
}

TEST(RestartCheckpoint, RoundTripsEveryValueBitForBit) {
  const RestartCheckpoint c = sample();
  const RestartCheckpoint d = decode_checkpoint(encode_checkpoint(c), "mem");
  EXPECT_EQ(d.written_at_ns, c.written_at_ns);
  ASSERT_EQ(d.markets.size(), 2u);
  EXPECT_EQ(d.markets[0].name, "BINANCE:btcusdt");
  EXPECT_EQ(d.markets[0].point.closed_until_s, 1'723'161'661);
  EXPECT_EQ(d.markets[0].point.sealed_trade_id, 3'752'222'333u);
  EXPECT_EQ(d.markets[0].point.sealed_exchange_ns, 1'723'161'660'987'000'000);
  ASSERT_EQ(d.markets[0].point.windows, 2u);
  expect_same(d.markets[0].point.window[0], c.markets[0].point.window[0]);
  expect_same(d.markets[0].point.window[1], c.markets[0].point.window[1]);
  EXPECT_EQ(d.markets[1].name, "BYBIT:BTCUSDT");
  EXPECT_EQ(d.markets[1].point.sealed_trade_id, 0u);
  EXPECT_EQ(d.markets[1].point.windows, 0u);
  EXPECT_EQ(d.markets[0].point.replay_from_s, 0);  // none: the field is left out
  EXPECT_EQ(d.markets[1].point.replay_from_s, 1'723'161'061);
  EXPECT_EQ(encode_checkpoint(c).find("replay_from_s"), encode_checkpoint(c).rfind("replay_from_s"));
}

TEST(RestartCheckpoint, RefusesDamageWithTheSourceAndTheReason) {
  const std::string good = encode_checkpoint(sample());
  auto error_of = [](const std::string& text) {
    try {
      decode_checkpoint(text, "/var/lib/tickflow/checkpoint");
    } catch (const CheckpointError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // One flipped digit: the CRC catches it.
  std::string flipped = good;
  flipped[good.find("3752222333")] = '4';
  EXPECT_EQ(error_of(flipped), "/var/lib/tickflow/checkpoint: crc32 mismatch: the file was truncated or changed");
  // Truncated anywhere.
  EXPECT_NE(error_of(good.substr(0, good.size() / 2)).find("/var/lib/tickflow/checkpoint: "), std::string::npos);
  EXPECT_EQ(error_of(good.substr(0, good.size() - 1)), "/var/lib/tickflow/checkpoint: truncated (no final newline)");
  EXPECT_EQ(error_of(""), "/var/lib/tickflow/checkpoint: truncated (no final newline)");
  EXPECT_EQ(error_of("garbage\n"), "/var/lib/tickflow/checkpoint: no crc32 line (truncated?)");
  // A replay point that is not one (after the frontier, or not a number),
  // with a valid CRC: refused by line.
  auto with_replay = [](const std::string& value) {
    RestartCheckpoint c = sample();
    std::string text = encode_checkpoint(c);
    const std::size_t at = text.find("replay_from_s=") + 14;
    text.replace(at, text.find('\n', at) - at, value);
    text.erase(text.rfind("crc32 "));
    char crc[32];
    std::snprintf(crc, sizeof crc, "crc32 %08lx\n",
                  ::crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
    return text + crc;
  };
  EXPECT_EQ(error_of(with_replay("1723161061")), "accepted");
  EXPECT_EQ(error_of(with_replay("1723161662")),
            "/var/lib/tickflow/checkpoint:5: malformed market line (replay_from_s)");
  EXPECT_EQ(error_of(with_replay("soon")), "/var/lib/tickflow/checkpoint:5: malformed market line (replay_from_s)");
}

TEST(RestartCheckpoint, FileWriteIsAtomicAndPrivate) {
  TempDir dir;
  const fs::path file = dir.path / "checkpoint";
  EXPECT_FALSE(read_checkpoint_file(file).has_value());  // first start
  write_checkpoint_file(file, sample());
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  auto read = read_checkpoint_file(file);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->markets.size(), 2u);

  // An unwritable directory (as root, chmod does not stop us: use a path
  // under a regular file instead): the error names the file, the old file stays.
  RestartCheckpoint other = sample();
  other.markets.pop_back();
  const fs::path blocked = dir.path / "not-a-dir" / "checkpoint";
  std::ofstream(dir.path / "not-a-dir") << "x";
  try {
    write_checkpoint_file(blocked, other);
    FAIL() << "wrote under a regular file";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("not-a-dir/checkpoint.tmp"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_checkpoint_file(file)->markets.size(), 2u);
}

TEST(CheckpointKeeper, WritesOnlyWhatTheWriterSettled) {
  TempDir dir;
  const fs::path file = dir.path / "checkpoint";
  MarketRegistry registry;
  const MarketId btc = registry.intern("BINANCE:btcusdt");
  std::atomic<std::uint64_t> settled{0};
  CheckpointKeeper keeper(file, 8, registry, [&] { return settled.load(); }, {});
  keeper.start();
  auto offer = [&](std::int64_t closed_until_s, std::uint64_t bars) {
    std::vector<MarketResumePoint>* out = keeper.begin_offer();
    ASSERT_NE(out, nullptr);
    EXPECT_GE(out->capacity(), 8u);
    MarketResumePoint p;
    p.market = btc;
    p.closed_until_s = closed_until_s;
    p.sealed_trade_id = 7;
    out->push_back(p);
    keeper.commit_offer(bars, closed_until_s * 1'000'000'000);
  };
  offer(100, 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(fs::exists(file)) << "49 of 50 bars settled at most: nothing may be claimed";
  EXPECT_EQ(keeper.counters().written.load(), 0u);
  settled = 50;
  for (int i = 0; i < 50 && keeper.counters().written.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(keeper.counters().written.load(), 1u);
  EXPECT_EQ(read_checkpoint_file(file)->markets.at(0).point.closed_until_s, 100);
  // A newer offer, not yet settled, then stop(): the file keeps the old one.
  offer(101, 60);
  keeper.stop();
  EXPECT_EQ(read_checkpoint_file(file)->markets.at(0).point.closed_until_s, 100);
  EXPECT_EQ(read_checkpoint_file(file)->markets.at(0).name, "BINANCE:btcusdt");
}

}  // namespace
}  // namespace tickflow
