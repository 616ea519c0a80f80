// runtime/restart_checkpoint.cc
#include "runtime/restart_checkpoint.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace tickflow {
namespace {

constexpr std::string_view kHeader = "tickflow-checkpoint 1";

void put_double(std::string& out, double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round trip
  out.push_back(' ');
  out.append(buf, r.ptr);
}

template <typename Int>
void put_int(std::string& out, Int v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.push_back(' ');
  out.append(buf, r.ptr);
}

std::uint32_t crc_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// Splits a line into space-separated fields.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    const std::size_t j = line.find(' ', i);
    const std::size_t end = j == std::string_view::npos ? line.size() : j;
    if (end > i) out.push_back(line.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

template <typename T>
bool parse_number(std::string_view s, T& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

void sync_fd(int fd, const std::filesystem::path& what) {
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "checkpoint: fsync " + what.string());
  }
}

}  // namespace

std::string encode_checkpoint(const RestartCheckpoint& checkpoint) {
  std::string out(kHeader);
  out += " written_at_ns=" + std::to_string(checkpoint.written_at_ns) + "\n";
  for (const MarketCheckpoint& m : checkpoint.markets) {
    out += "market " + m.name;
    put_int(out, m.point.closed_until_s);
    put_int(out, m.point.sealed_trade_id);
    put_int(out, m.point.sealed_exchange_ns);
    if (m.point.replay_from_s != 0) out += " replay_from_s=" + std::to_string(m.point.replay_from_s);
    out += '\n';
    for (std::uint32_t k = 0; k < m.point.windows && k < kCheckpointMaxWindows; ++k) {
      const Bar& w = m.point.window[k];
      out += "window " + m.name;
      put_int(out, w.timeframe_s);
      put_int(out, w.open_time_s);
      for (double v :
           {w.open, w.high, w.low, w.close, w.vbuy, w.vsell, w.cbuy, w.csell, w.lbuy, w.lsell, w.qbuy, w.qsell})
        put_double(out, v);
      out += '\n';
    }
  }
  char crc[32];
  std::snprintf(crc, sizeof crc, "crc32 %08x\n", crc_of(out));
  out += crc;
  return out;
}

RestartCheckpoint decode_checkpoint(std::string_view text, const std::string& source) {
  auto fail = [&](std::size_t line_no, const std::string& why) -> CheckpointError {
    return CheckpointError(source + (line_no ? ":" + std::to_string(line_no) : std::string()) + ": " + why);
  };
  // The CRC line is the last one; everything before it is covered.
  if (text.empty() || text.back() != '\n') throw fail(0, "truncated (no final newline)");
  const std::size_t crc_at = text.rfind("\ncrc32 ");
  if (crc_at == std::string_view::npos) throw fail(0, "no crc32 line (truncated?)");
  const std::string_view body = text.substr(0, crc_at + 1);
  const std::string_view crc_line = text.substr(crc_at + 1, text.size() - crc_at - 2);
  std::uint32_t stored = 0;
  {
    const std::string_view hex = crc_line.substr(6);
    const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), stored, 16);
    if (r.ec != std::errc{} || r.ptr != hex.data() + hex.size() || hex.size() != 8)
      throw fail(0, "malformed crc32 line");
  }
  if (crc_of(body) != stored) throw fail(0, "crc32 mismatch: the file was truncated or changed");

  RestartCheckpoint out;
  std::map<std::string, std::size_t, std::less<>> index;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t nl = body.find('\n', pos);
    const std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    const auto f = fields(line);
    if (line_no == 1) {
      if (!line.starts_with(kHeader) || f.size() != 3 || !f[2].starts_with("written_at_ns=") ||
          !parse_number(f[2].substr(14), out.written_at_ns))
        throw fail(line_no, "not a tickflow checkpoint (version 1) header");
      continue;
    }
    if (f.empty()) continue;
    if (f[0] == "market") {
      MarketCheckpoint m;
      if ((f.size() != 5 && f.size() != 6) || !parse_number(f[2], m.point.closed_until_s) ||
          !parse_number(f[3], m.point.sealed_trade_id) || !parse_number(f[4], m.point.sealed_exchange_ns))
        throw fail(line_no, "malformed market line");
      if (f.size() == 6 &&
          (!f[5].starts_with("replay_from_s=") || !parse_number(f[5].substr(14), m.point.replay_from_s) ||
           m.point.replay_from_s == 0 || m.point.replay_from_s > m.point.closed_until_s))
        throw fail(line_no, "malformed market line (replay_from_s)");
      m.name = std::string(f[1]);
      if (!index.emplace(m.name, out.markets.size()).second) throw fail(line_no, "market " + m.name + " twice");
      out.markets.push_back(std::move(m));
    } else if (f[0] == "window") {
      if (f.size() != 16) throw fail(line_no, "malformed window line");
      const auto it = index.find(f[1]);
      if (it == index.end()) throw fail(line_no, "window of a market not listed before it");
      MarketResumePoint& p = out.markets[it->second].point;
      if (p.windows >= kCheckpointMaxWindows) throw fail(line_no, "too many windows");
      Bar w;
      bool ok = parse_number(f[2], w.timeframe_s) && parse_number(f[3], w.open_time_s);
      double* values[] = {&w.open, &w.high,  &w.low,  &w.close, &w.vbuy, &w.vsell,
                          &w.cbuy, &w.csell, &w.lbuy, &w.lsell, &w.qbuy, &w.qsell};
      for (std::size_t i = 0; i < 12 && ok; ++i) ok = parse_number(f[4 + i], *values[i]);
      if (!ok || w.timeframe_s < 2) throw fail(line_no, "malformed window line");
      p.window[p.windows++] = w;
    } else {
      throw fail(line_no, "unknown record '" + std::string(f[0].substr(0, 32)) + "'");
    }
  }
  if (line_no == 0) throw fail(0, "empty");
  return out;
}

void write_checkpoint_file(const std::filesystem::path& file, const RestartCheckpoint& checkpoint) {
  const std::string text = encode_checkpoint(checkpoint);
  const std::filesystem::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "checkpoint: open " + tmp.string());
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::system_error(e, std::generic_category(), "checkpoint: write " + tmp.string());
    }
    done += static_cast<std::size_t>(n);
  }
  sync_fd(fd, tmp);
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    throw std::system_error(e, std::generic_category(), "checkpoint: rename to " + file.string());
  }
  // The rename itself is durable only once the directory is.
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    sync_fd(dfd, dir);
    ::close(dfd);
  }
}

std::optional<RestartCheckpoint> read_checkpoint_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CheckpointError(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return decode_checkpoint(text.str(), file.string());
}

}  // namespace tickflow
