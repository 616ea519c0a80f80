#include "feeds/capture_reader.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "feeds/hex_digit.h"

namespace tickflow {
namespace {

constexpr std::size_t kReadChunk = 256 * 1024;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

CaptureLine classify_capture_line(std::string_view line) noexcept {
  CaptureLine out;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    out.kind = CaptureLineKind::kBlank;
    return out;
  }
  // Integer part of the time.
  // Up to 19 digits (ns since epoch): an unsigned accumulator cannot overflow.
  std::size_t i = 0;
  std::uint64_t digits = 0;
  while (i < line.size() && is_digit(line[i]) && i < 19) digits = digits * 10 + static_cast<unsigned>(line[i++] - '0');
  if (digits > static_cast<std::uint64_t>(INT64_MAX)) return out;
  const auto whole = static_cast<std::int64_t>(digits);
  if (i == 0) {
    // "<url> <- ..." / "<url> <-> ...": a sent frame or a connection event.
    const auto space = line.find(' ');
    if (space != std::string_view::npos && line.substr(space + 1, 2) == "<-") out.kind = CaptureLineKind::kSent;
    return out;
  }
  if (i < line.size() && line[i] == ' ') {
    // "<recv_ns> <frame>"
    if (i < 16) return out;  // too short to be ns since 2000: not our format
    out.receive_ts_ns = whole;
    out.frame = line.substr(i + 1);
  } else {
    // "<seconds>[.<fraction>]: <frame>": fraction digits taken exactly, up to ns.
    if (whole > 9'000'000'000) return out;  // past 2255: not a time, and ns would overflow
    std::int64_t fraction_ns = 0;
    if (i < line.size() && line[i] == '.') {
      ++i;
      std::int64_t scale = 100'000'000;
      while (i < line.size() && is_digit(line[i])) {
        fraction_ns += (line[i++] - '0') * scale;
        scale /= 10;
      }
    }
    if (line.substr(i, 2) != ": ") return out;
    out.receive_ts_ns = whole * 1'000'000'000 + fraction_ns;
    out.frame = line.substr(i + 2);
  }
  if (out.frame.empty()) return out;  // malformed: a time with no frame
  if (out.frame.size() >= 3 && out.frame[0] == 'b' && (out.frame[1] == '\'' || out.frame[1] == '"') &&
      out.frame.back() == out.frame[1]) {
    out.kind = CaptureLineKind::kBinaryFrame;
    out.frame = out.frame.substr(2, out.frame.size() - 3);
    return out;
  }
  out.kind = CaptureLineKind::kFrame;
  return out;
}

bool decode_python_bytes(std::string_view body, PaddedFrame& out) {
  char* dst = out.resize(body.size());  // decoding never lengthens
  std::size_t n = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      dst[n++] = c;
      continue;
    }
    if (++i == body.size()) return false;
    switch (body[i]) {
      case '\\': c = '\\'; break;
      case '\'': c = '\''; break;
      case '"': c = '"'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case '0': c = '\0'; break;
      case 'x': {
        if (i + 2 >= body.size()) return false;
        const int hi = hex_value(body[i + 1]);
        const int lo = hex_value(body[i + 2]);
        if (hi < 0 || lo < 0) return false;
        c = static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default: return false;
    }
    dst[n++] = c;
  }
  out.resize(n);
  return true;
}

std::string exchange_from_capture_name(std::string_view path) {
  const auto slash = path.find_last_of('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::size_t i = 0;
  while (i < name.size() &&
         ((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
    ++i;
  if (i == 0) return {};
  const std::string_view rest = name.substr(i);
  if (rest.starts_with(".ws.")) return std::string(name.substr(0, i));  // cryptofeed
  // recorder: EXCHANGE-YYYYMMDD-HH...
  if (rest.size() >= 13 && rest[0] == '-' && rest[9] == '-') {
    for (std::size_t k : {1, 2, 3, 4, 5, 6, 7, 8, 10, 11})
      if (!is_digit(rest[k])) return {};
    return std::string(name.substr(0, i));
  }
  return {};
}

CaptureReader::CaptureReader(const std::string& path, std::size_t max_line_bytes)
    : path_(path), max_line_bytes_(max_line_bytes) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) throw std::runtime_error("cannot open capture '" + path + "': " + std::strerror(errno));
  gzbuffer(gz, kReadChunk);
  gz_ = gz;
  capacity_ = kReadChunk * 2;
  buffer_ = std::make_unique<char[]>(capacity_);
}

CaptureReader::~CaptureReader() {
  if (gz_ != nullptr) gzclose(static_cast<gzFile>(gz_));
}

std::uint64_t CaptureReader::file_offset() const noexcept {
  const z_off_t offset = gzoffset(static_cast<gzFile>(gz_));
  return offset > 0 ? static_cast<std::uint64_t>(offset) : 0;
}

bool CaptureReader::fill() {
  if (eof_) return false;
  // Compact, then grow (up to the line limit) if a line fills the buffer.
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < kReadChunk / 2) {
    const std::size_t grown = capacity_ * 2;
    auto bigger = std::make_unique<char[]>(grown);
    std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ = grown;
  }
  const unsigned want = static_cast<unsigned>(std::min(capacity_ - end_, std::size_t{1} << 30));
  const int got = gzread(static_cast<gzFile>(gz_), buffer_.get() + end_, want);
  if (got < 0) {
    int code = 0;
    const char* message = gzerror(static_cast<gzFile>(gz_), &code);
    throw std::runtime_error("capture '" + path_ + "': read error after line " + std::to_string(counts_.lines) + ": " +
                             (message ? message : "?"));
  }
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += static_cast<std::size_t>(got);
  return true;
}

std::optional<std::string_view> CaptureReader::next_line() {
  std::size_t scanned = begin_;
  for (;;) {
    const void* nl = std::memchr(buffer_.get() + scanned, '\n', end_ - scanned);
    if (nl != nullptr) {
      const auto pos = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer_.get());
      std::string_view line(buffer_.get() + begin_, pos - begin_);
      begin_ = pos + 1;
      return line;
    }
    if (end_ - begin_ > max_line_bytes_) {
      // Oversize: drop what we have and everything up to the next newline.
      ++counts_.oversize_lines;
      ++counts_.lines;
      for (;;) {
        begin_ = end_ = 0;
        if (!fill()) return std::nullopt;
        if (const void* p = std::memchr(buffer_.get(), '\n', end_)) {
          begin_ = static_cast<std::size_t>(static_cast<const char*>(p) - buffer_.get()) + 1;
          break;
        }
      }
      scanned = begin_;
      continue;
    }
    const std::size_t unread = end_ - begin_;
    if (!fill()) {
      if (end_ > begin_) {  // last line without a newline
        std::string_view line(buffer_.get() + begin_, end_ - begin_);
        begin_ = end_;
        return line;
      }
      return std::nullopt;
    }
    scanned = begin_ + unread;
  }
}

bool CaptureReader::next(CaptureRecord& record) {
  while (auto line = next_line()) {
    ++counts_.lines;
    const CaptureLine parsed = classify_capture_line(*line);
    switch (parsed.kind) {
      case CaptureLineKind::kBlank: ++counts_.blank_lines; continue;
      case CaptureLineKind::kSent: ++counts_.sent_lines; continue;
      case CaptureLineKind::kMalformed: ++counts_.malformed_lines; continue;
      case CaptureLineKind::kBinaryFrame:
        if (!decode_python_bytes(parsed.frame, frame_)) {
          ++counts_.malformed_lines;
          continue;
        }
        record.binary = true;
        break;
      case CaptureLineKind::kFrame:
        frame_.assign(parsed.frame);
        record.binary = false;
        break;
    }
    record.receive_ts_ns = parsed.receive_ts_ns;
    record.frame = frame_.view();
    ++counts_.frames;
    return true;
  }
  return false;
}

std::string exchange_from_frames(const std::string& path) {
  CaptureReader reader(path);
  CaptureRecord record;
  for (int i = 0; i < 200 && reader.next(record); ++i) {
    const std::string_view f = record.frame;
    if (record.binary) return {};
    if (f.find("\"table\":") != std::string_view::npos || f.find("BitMEX") != std::string_view::npos) return "BITMEX";
    if (f.find("\"jsonrpc\"") != std::string_view::npos) return "DERIBIT";
    if (f.find("\"arg\":{\"channel\"") != std::string_view::npos) return "OKX";
    if (f.find("\"feed\":\"") != std::string_view::npos) return "KRAKEN_FUTURES";
    if (f.find("\"product_id\":\"") != std::string_view::npos && f.find("\"type\":\"") != std::string_view::npos)
      return "COINBASE";
    if (f.find("\"connectionID\"") != std::string_view::npos) return "KRAKEN";
    if (f.find("\"platform\":{") != std::string_view::npos) return "BITFINEX";
  }
  return {};
}

}  // namespace tickflow
