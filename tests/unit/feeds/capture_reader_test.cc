// CaptureReader: line formats (tickflow/Binance ns lines, cryptofeed float
// seconds, sent-frame lines, Python bytes literals), plain and gzip files,
// lines longer than the limit, and file-name attribution.
#include "feeds/capture_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/unit/feeds/feed_test_support.h"

namespace tickflow {
namespace {

class TempFile {
 public:
  TempFile(const std::string& contents, bool gzip) {
    char name[] = "/tmp/tickflow_capture_XXXXXX";
    const int fd = mkstemp(name);
    close(fd);
    path_ = name;
    if (gzip) {
      gzFile gz = gzopen(path_.c_str(), "wb");
      gzwrite(gz, contents.data(), static_cast<unsigned>(contents.size()));
      gzclose(gz);
    } else {
      std::FILE* f = std::fopen(path_.c_str(), "wb");
      std::fwrite(contents.data(), 1, contents.size(), f);
      std::fclose(f);
    }
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(CaptureLine, NanosecondLines) {
  const CaptureLine line = classify_capture_line("1723161254087896568 {\"a\":1}");
  EXPECT_EQ(line.kind, CaptureLineKind::kFrame);
  EXPECT_EQ(line.receive_ts_ns, 1723161254087896568);
  EXPECT_EQ(line.frame, "{\"a\":1}");
}

TEST(CaptureLine, CryptofeedSecondsAreExactToTheNanosecond) {
  CaptureLine line = classify_capture_line("1633998512.0633569: {\"stream\":1}");
  EXPECT_EQ(line.kind, CaptureLineKind::kFrame);
  EXPECT_EQ(line.receive_ts_ns, 1633998512063356900);
  EXPECT_EQ(line.frame, "{\"stream\":1}");
  line = classify_capture_line("1633998512: [1]");
  EXPECT_EQ(line.receive_ts_ns, 1633998512000000000);
}

TEST(CaptureLine, SentFramesAndConnectionEventsAreRecognised) {
  EXPECT_EQ(classify_capture_line("wss://ws.okx.com:8443/ws/v5/public <- 1652459225.29: {\"op\":\"subscribe\"}").kind,
            CaptureLineKind::kSent);
  EXPECT_EQ(classify_capture_line("wss://ws.kraken.com <-> 1618678132.368463").kind, CaptureLineKind::kSent);
  EXPECT_EQ(classify_capture_line("").kind, CaptureLineKind::kBlank);
  EXPECT_EQ(classify_capture_line("garbage without a time").kind, CaptureLineKind::kMalformed);
  EXPECT_EQ(classify_capture_line("123 short-ns").kind, CaptureLineKind::kMalformed);
  EXPECT_EQ(classify_capture_line("1633998512.06: ").kind, CaptureLineKind::kMalformed);
}

TEST(CaptureLine, BytesLiteralsDecode) {
  const CaptureLine line = classify_capture_line(R"(1618678070.5: b'\x1f\x8b\x08\\\'\n\tA')");
  ASSERT_EQ(line.kind, CaptureLineKind::kBinaryFrame);
  PaddedFrame out;
  ASSERT_TRUE(decode_python_bytes(line.frame, out));
  EXPECT_EQ(out.view(), std::string_view("\x1f\x8b\x08\\'\n\tA", 8));
  EXPECT_FALSE(decode_python_bytes(R"(\x1)", out));
  EXPECT_FALSE(decode_python_bytes(R"(\q)", out));
  EXPECT_FALSE(decode_python_bytes("\\", out));
}

TEST(CaptureReader, ReadsPlainAndGzipTheSame) {
  const std::string contents =
      "wss://x <-> 1618678132.368463\n"
      "wss://x <- 1618678132.8: {\"event\":\"subscribe\"}\n"
      "1618678132.831468: {\"a\":1}\n"
      "\n"
      "not a capture line\n"
      "1723161254087896568 {\"b\":2}\r\n"
      "1618678133.5: b'\\x1f\\x8b'\n"
      "1618678134.25: {\"c\":3}";  // last line without a newline
  for (bool gzip : {false, true}) {
    TempFile file(contents, gzip);
    CaptureReader reader(file.path());
    CaptureRecord r;
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.frame, "{\"a\":1}");
    EXPECT_EQ(r.receive_ts_ns, 1618678132831468000);
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.frame, "{\"b\":2}");
    ASSERT_TRUE(reader.next(r));
    EXPECT_TRUE(r.binary);
    EXPECT_EQ(r.frame, std::string_view("\x1f\x8b", 2));
    ASSERT_TRUE(reader.next(r));
    EXPECT_EQ(r.frame, "{\"c\":3}");
    EXPECT_EQ(r.frame.data()[r.frame.size()], '\0') << "frames are padded";
    EXPECT_FALSE(reader.next(r));
    EXPECT_EQ(reader.counts().lines, 8u);
    EXPECT_EQ(reader.counts().frames, 4u);
    EXPECT_EQ(reader.counts().sent_lines, 2u);
    EXPECT_EQ(reader.counts().blank_lines, 1u);
    EXPECT_EQ(reader.counts().malformed_lines, 1u);
  }
}

TEST(CaptureReader, SkipsLinesLongerThanTheLimitInConstantMemory) {
  std::string contents = "1618678132.1: {\"a\":1}\n1618678132.2: {\"big\":\"";
  contents += std::string(3 << 20, 'x');
  contents += "\"}\n1618678132.3: {\"b\":2}\n";
  TempFile file(contents, true);
  CaptureReader reader(file.path(), 1 << 20);
  CaptureRecord r;
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.frame, "{\"a\":1}");
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.frame, "{\"b\":2}");
  EXPECT_FALSE(reader.next(r));
  EXPECT_EQ(reader.counts().oversize_lines, 1u);
}

TEST(CaptureReader, MissingFileNamesThePath) {
  try {
    CaptureReader reader("/nonexistent/capture.gz");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/capture.gz"), std::string::npos);
  }
}

TEST(CaptureReader, CorruptGzipIsAnErrorNamingThePath) {
  std::string contents = "1618678132.1: {\"a\":1}\n";
  for (int i = 0; i < 2000; ++i) contents += "1618678132.1: {\"a\":" + std::to_string(i) + "}\n";
  TempFile file(contents, true);
  // Flip bytes in the middle of the compressed stream.
  std::FILE* f = std::fopen(file.path().c_str(), "r+b");
  std::fseek(f, 40, SEEK_SET);
  std::fwrite("\xff\xff\xff\xff\xff\xff\xff\xff", 1, 8, f);
  std::fclose(f);
  CaptureReader reader(file.path());
  CaptureRecord r;
  try {
    while (reader.next(r)) {
    }
    FAIL() << "a corrupt stream must not read as a clean end of file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file.path()), std::string::npos);
  }
}

TEST(CaptureName, CryptofeedAndRecorderNamesGiveTheExchange) {
  EXPECT_EQ(exchange_from_capture_name("/data/cryptofeed/BINANCE_FUTURES.ws.1.0.gz"), "BINANCE_FUTURES");
  EXPECT_EQ(exchange_from_capture_name("OKX.ws.1.0.gz"), "OKX");
  EXPECT_EQ(exchange_from_capture_name("rec/BYBIT-20240808-13.log.gz"), "BYBIT");
  EXPECT_EQ(exchange_from_capture_name("spot_btcusdt.gz"), "");
  EXPECT_EQ(exchange_from_capture_name("BINANCE-2024-08-08.gz"), "");
}

TEST(CaptureReader, BundledBinanceSubsetIsAllFrames) {
  const std::string path = test::test_data("binance-20240808/spot_btcusdt.gz");
  CaptureReader reader(path);
  CaptureRecord r;
  std::int64_t previous = 0;
  std::uint64_t backwards = 0;
  while (reader.next(r)) {
    backwards += r.receive_ts_ns < previous ? 1 : 0;
    previous = r.receive_ts_ns;
  }
  EXPECT_EQ(reader.counts().lines, 4000u);
  EXPECT_EQ(reader.counts().frames, 4000u);
  EXPECT_EQ(backwards, 0u) << "receive times never go backwards within a file";
}

}  // namespace
}  // namespace tickflow
