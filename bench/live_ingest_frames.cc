// bench/live_ingest_frames.cc: see live_ingest_frames.h.
#include "bench/live_ingest_frames.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace tickflow::bench {
namespace {

// Finds `"key":` followed by digits inside the frame's "data" object; returns
// the digits' offset and length (0 length: absent).
std::pair<std::uint32_t, std::uint32_t> number_after(std::string_view text, std::string_view key) {
  const std::size_t data = text.find("\"data\":");
  std::size_t at = text.find(key, data == std::string_view::npos ? 0 : data);
  if (at == std::string_view::npos) return {0, 0};
  const std::size_t begin = at + key.size();
  std::size_t end = begin;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  return {static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end - begin)};
}

std::uint64_t to_u64(std::string_view digits) {
  std::uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

// Appends the websocket header of an unmasked final text frame of `size` bytes.
void append_header(std::string& out, std::size_t size) {
  out.push_back(static_cast<char>(0x81));
  if (size < 126) {
    out.push_back(static_cast<char>(size));
  } else if (size <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(size >> 8));
    out.push_back(static_cast<char>(size & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> (8 * i)) & 0xff));
  }
}

}  // namespace

std::size_t LiveFrames::frames_of(std::uint32_t connection) const {
  return static_cast<std::size_t>(
      std::count_if(frames.begin(), frames.end(), [&](const TradeFrame& f) { return f.connection == connection; }));
}

LiveFrames load_live_frames(const std::string& dir) {
  struct File {
    const char* name;
    std::uint32_t connection;
  };
  const File files[] = {{"spot_btcusdt.gz", 0}, {"spot_ethusdt.gz", 0}, {"usdm_btcusdt.gz", 1}, {"usdm_ethusdt.gz", 1}};
  LiveFrames out;
  out.venues = {"BINANCE", "BINANCE_FUTURES"};
  std::vector<char> line(1 << 20);
  for (const File& file : files) {
    const std::string path = dir + "/" + file.name;
    if (!std::filesystem::exists(path)) throw std::runtime_error("live_ingest: no capture " + path);
    gzFile gz = gzopen(path.c_str(), "rb");
    if (gz == nullptr) throw std::runtime_error("live_ingest: cannot open " + path);
    const auto capture = static_cast<std::uint32_t>(out.capture_files.size());
    out.capture_files.push_back(path);
    std::uint64_t min_id = UINT64_MAX, max_id = 0;
    bool skipping = false;  // inside a line longer than the buffer: not a trade frame
    while (gzgets(gz, line.data(), static_cast<int>(line.size())) != nullptr) {
      std::string_view text(line.data());
      const bool complete = !text.empty() && text.back() == '\n';
      if (skipping || !complete) {
        skipping = !complete;
        continue;
      }
      text.remove_suffix(1);
      if (text.find("@trade\"") == std::string_view::npos) continue;
      const std::size_t space = text.find(' ');
      if (space == std::string_view::npos) continue;
      TradeFrame f;
      f.capture_ns = static_cast<std::int64_t>(to_u64(text.substr(0, space)));
      f.text = std::string(text.substr(space + 1));
      f.connection = file.connection;
      f.capture = capture;
      const auto [e_at, e_len] = number_after(f.text, "\"E\":");
      const auto [t_at, t_len] = number_after(f.text, "\"T\":");
      const auto [id_at, id_len] = number_after(f.text, "\"t\":");
      if (e_len != 13 || t_len != 13 || id_len == 0)
        throw std::runtime_error("live_ingest: unexpected frame " + f.text);
      f.e_at = e_at;
      f.t_at = t_at;
      f.id_at = id_at;
      f.id_len = id_len;
      f.trade_ms = static_cast<std::int64_t>(to_u64(std::string_view(f.text).substr(t_at, 13)));
      f.id = to_u64(std::string_view(f.text).substr(id_at, id_len));
      min_id = std::min(min_id, f.id);
      max_id = std::max(max_id, f.id);
      out.frames.push_back(std::move(f));
    }
    gzclose(gz);
    if (max_id == 0) throw std::runtime_error("live_ingest: no @trade frame in " + path);
    out.id_span.push_back(max_id - min_id + 1);
  }
  std::stable_sort(out.frames.begin(), out.frames.end(),
                   [](const TradeFrame& a, const TradeFrame& b) { return a.capture_ns < b.capture_ns; });
  out.first_capture_ns = out.frames.front().capture_ns;
  out.first_trade_ms = INT64_MAX;
  out.last_trade_ms = INT64_MIN;
  out.min_lead_ms = INT64_MAX;
  for (const TradeFrame& f : out.frames) {
    out.first_trade_ms = std::min(out.first_trade_ms, f.trade_ms);
    out.last_trade_ms = std::max(out.last_trade_ms, f.trade_ms);
    out.min_lead_ms = std::min(out.min_lead_ms, (f.capture_ns - out.first_capture_ns) / 1'000'000 - f.trade_ms);
  }
  // Whole seconds past the last trade's second, plus one: repeat r + 1
  // starts in a later second than repeat r ends, and at 1x pace it starts
  // about a second after repeat r's last frame.
  out.period_ms = ((out.last_trade_ms / 1000) - (out.first_trade_ms / 1000) + 2) * 1000;
  return out;
}

RenderedStream render_stream(const LiveFrames& frames, std::uint32_t connection, int repeats, std::int64_t shift_ms) {
  RenderedStream out;
  const std::size_t n = frames.frames_of(connection);
  std::size_t bytes = 0;
  for (const TradeFrame& f : frames.frames)
    if (f.connection == connection) bytes += f.text.size() + 16;
  out.bytes.reserve(bytes * static_cast<std::size_t>(repeats));
  out.frame_end.reserve(n * static_cast<std::size_t>(repeats));
  out.due_ns.reserve(n * static_cast<std::size_t>(repeats));
  std::string text;
  for (int r = 0; r < repeats; ++r) {
    const std::int64_t dt = shift_ms + static_cast<std::int64_t>(r) * frames.period_ms;
    for (const TradeFrame& f : frames.frames) {
      if (f.connection != connection) continue;
      struct Piece {
        std::uint32_t at, len;
        std::string value;
      };
      Piece pieces[3] = {
          {f.e_at, 13,
           std::to_string(static_cast<std::int64_t>(to_u64(std::string_view(f.text).substr(f.e_at, 13))) + dt)},
          {f.t_at, 13, std::to_string(f.trade_ms + dt)},
          {f.id_at, f.id_len, std::to_string(f.id + static_cast<std::uint64_t>(r) * frames.id_span[f.capture])}};
      std::sort(std::begin(pieces), std::end(pieces), [](const Piece& a, const Piece& b) { return a.at < b.at; });
      text.clear();
      std::size_t from = 0;
      for (const Piece& p : pieces) {
        text.append(f.text, from, p.at - from);
        text += p.value;
        from = p.at + p.len;
      }
      text.append(f.text, from, std::string::npos);
      append_header(out.bytes, text.size());
      out.bytes += text;
      out.frame_end.push_back(out.bytes.size());
      out.due_ns.push_back(f.capture_ns - frames.first_capture_ns +
                           static_cast<std::int64_t>(r) * frames.period_ms * 1'000'000);
    }
  }
  return out;
}

}  // namespace tickflow::bench
