// feeds/capture_reader.h
//
// CaptureReader: streams the frames of one capture file, in constant memory
// whatever the file's size. Plain and gzip files are read the same way
// (zlib's gzread is transparent to uncompressed input). Line formats:
//
//   <recv_ns> <frame>                 tickflow's recorder, the Binance captures
//   <seconds.fraction>: <frame>       cryptofeed, received frames
//   <seconds.fraction>: b'\x1f...'    cryptofeed, binary frames (HTX gzip),
//                                     decoded from the Python bytes literal
//   <url> <- <seconds>: <json>        cryptofeed, frames the client sent: skipped
//   <url> <-> <seconds>               cryptofeed, connection events: skipped
//
// Every line is accounted for in CaptureReader::Counts. A line longer than
// max_line_bytes is skipped and counted, never buffered whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "feeds/padded_frame.h"

namespace tickflow {

struct CaptureRecord {
  std::int64_t receive_ts_ns = 0;
  // The frame's bytes, followed by kFramePadding readable bytes. Valid until
  // the next call to next().
  std::string_view frame;
  bool binary = false;  // decoded from a b'...' literal (compressed bytes)
};

class CaptureReader {
 public:
  struct Counts {
    std::uint64_t lines = 0;
    std::uint64_t frames = 0;      // returned by next()
    std::uint64_t sent_lines = 0;  // cryptofeed "<url> <-" and "<url> <->" lines
    std::uint64_t blank_lines = 0;
    std::uint64_t malformed_lines = 0;  // no recognisable time prefix, or a bad bytes literal
    std::uint64_t oversize_lines = 0;   // longer than max_line_bytes
  };

  static constexpr std::size_t kDefaultMaxLineBytes = std::size_t{8} << 20;

  // Throws std::runtime_error naming the path when it cannot be opened.
  explicit CaptureReader(const std::string& path, std::size_t max_line_bytes = kDefaultMaxLineBytes);
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  // The next frame, or false at the end of the file. Throws
  // std::runtime_error on a read error (a corrupt gzip stream), naming the
  // path and the line.
  bool next(CaptureRecord& record);

  const Counts& counts() const noexcept { return counts_; }
  const std::string& path() const noexcept { return path_; }

  // How many bytes of the file zlib has consumed (compressed bytes for a .gz
  // file, so it compares with the file's size): for a progress display. It
  // runs ahead of next() by at most the read buffer.
  std::uint64_t file_offset() const noexcept;

 private:
  // The next complete line (without '\n'), or nullopt at the end.
  std::optional<std::string_view> next_line();
  bool fill();

  std::string path_;
  std::size_t max_line_bytes_;
  void* gz_ = nullptr;  // gzFile, kept out of the header
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // unread bytes are buffer_[begin_, end_)
  std::size_t end_ = 0;
  bool eof_ = false;
  PaddedFrame frame_;
  Counts counts_;
};

// Parses one capture line. Exposed for tests and for the fuzzers.
enum class CaptureLineKind : std::uint8_t { kFrame, kBinaryFrame, kSent, kBlank, kMalformed };
struct CaptureLine {
  CaptureLineKind kind = CaptureLineKind::kMalformed;
  std::int64_t receive_ts_ns = 0;
  std::string_view frame;  // for kBinaryFrame: the literal's body, still escaped
};
CaptureLine classify_capture_line(std::string_view line) noexcept;

// Decodes the body of a Python bytes literal (\xNN, \\, \', \", \n, \r, \t,
// \0 escapes) into `out`. False on a malformed escape.
bool decode_python_bytes(std::string_view body, PaddedFrame& out);

// The exchange a capture file's name implies: cryptofeed's "<EXCHANGE>.ws.*"
// and tickflow's recorder "<EXCHANGE>-<YYYYMMDD>-<HH>.*". Empty when the name
// says nothing (e.g. "spot_btcusdt.gz").
std::string exchange_from_capture_name(std::string_view path);

// The exchange a capture's first 200 frames imply, for formats that make it
// unambiguous (BitMEX, Deribit, OKX, Kraken Futures, Coinbase, Kraken,
// Bitfinex). Empty otherwise: Binance spot and futures look the same
// (btcusdt@trade), as do HTX spot and swaps; those need EXCHANGE=PATH.
// Throws std::runtime_error as CaptureReader does.
std::string exchange_from_frames(const std::string& path);

}  // namespace tickflow
