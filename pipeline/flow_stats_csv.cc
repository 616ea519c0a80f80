// pipeline/flow_stats_csv.cc
#include "pipeline/flow_stats_csv.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace tickflow {
namespace {

constexpr std::size_t kFlushAt = 1 << 20;

template <typename T>
void append_number(std::string& out, T v) {
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  out.append(text, static_cast<std::size_t>(end - text));
}

// Base assets are letters and digits; quote anything else a reader could trip on.
void append_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out.push_back('"');
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// One row; S is FlowSnapshot or FlowRecord, which name their fields alike.
template <class S>
void append_row(std::string& out, std::string_view group, const S& s) {
  append_number(out, s.open_time_s);
  out.push_back(',');
  append_field(out, group);
  out.push_back(',');
  append_number(out, s.timeframe_s);
  for (double v :
       {s.ds,        s.df,       s.cvd_spot, s.cvd_perp, s.divergence, s.volume,       s.close,       s.ds_mean,
        s.ds_std,    s.ds_z,     s.df_mean,  s.df_std,   s.df_z,       s.d_mean,       s.d_std,       s.d_z,
        s.absd_mean, s.absd_std, s.absd_z,   s.ema,      s.vwap,       s.realized_vol, s.volume_surge}) {
    out.push_back(',');
    append_number(out, v);
  }
  out.push_back('\n');
}

}  // namespace

std::string_view flow_stats_csv_header() noexcept {
  return "time,group,timeframe,ds,df,cvd_spot,cvd_perp,divergence,volume,close,"
         "ds_mean,ds_std,ds_z,df_mean,df_std,df_z,d_mean,d_std,d_z,"
         "absd_mean,absd_std,absd_z,ema,vwap,realized_vol,volume_surge";
}

void append_flow_stats_csv_row(std::string& out, std::string_view group, const FlowSnapshot& s) {
  append_row(out, group, s);
}

void append_flow_stats_csv_row(std::string& out, const FlowRecord& r) { append_row(out, r.group_name(), r); }

FlowStatsCsvWriter::FlowStatsCsvWriter(const std::string& path) : out_(path) {
  buffer_.reserve(kFlushAt + 4096);
  buffer_.append(flow_stats_csv_header());
  buffer_.push_back('\n');
}

FlowStatsCsvWriter::~FlowStatsCsvWriter() {
  try {
    flush();
  } catch (...) {
  }
}

void FlowStatsCsvWriter::write_closed(const FlowStats& stats, std::size_t timeframe_index) {
  const SymbolGroups& groups = stats.groups();
  for (GroupId g = 0; g < groups.size(); ++g) {
    append_flow_stats_csv_row(buffer_, groups.name(g), stats.snapshot(g, timeframe_index));
    ++rows_;
  }
  if (buffer_.size() >= kFlushAt) write_buffer();
}

void FlowStatsCsvWriter::write(const FlowRecord& record) {
  append_flow_stats_csv_row(buffer_, record);
  ++rows_;
  if (buffer_.size() >= kFlushAt) write_buffer();
}

void FlowStatsCsvWriter::write_buffer() {
  if (const std::string error = out_.write(buffer_); !error.empty()) throw std::runtime_error(error);
  buffer_.clear();
}

void FlowStatsCsvWriter::flush() {
  write_buffer();
  if (const std::string error = out_.flush(); !error.empty()) throw std::runtime_error(error);
}

FlowStatsRecorder::FlowStatsRecorder(const MarketRegistry& registry, FlowStatsConfig config, const std::string& path)
    : registry_(registry), stats_(SymbolGroups(registry), std::move(config)), writer_(path) {}

void FlowStatsRecorder::on_bar(const Bar& bar) {
  if (bar.market >= stats_.groups().market_count() && bar.market < registry_.size()) stats_.refresh_markets(registry_);
  if (bar.timeframe_s == 1 && stats_.started()) {
    // Keep every bar inside the pending window by closing what lies
    // further back. A jump of more than kMaxJumpS moves the clock only when
    // the bar before confirms it (see the header).
    const std::int64_t s = bar.open_time_s;
    const std::int64_t end = s - static_cast<std::int64_t>(stats_.config().pending_seconds) + 1;
    const bool small_jump = end - stats_.next_second() <= kMaxJumpS;
    const bool confirmed = s >= previous_bar_s_ - kMaxJumpS && s <= previous_bar_s_ + kMaxJumpS;
    if (small_jump || confirmed) advance_to(end);
  }
  if (bar.timeframe_s == 1) previous_bar_s_ = bar.open_time_s;
  stats_.add_bar(bar);
}

void FlowStatsRecorder::on_closed(MarketId market, std::int64_t closed_until_s) {
  constexpr std::int64_t kNoFrontier = std::numeric_limits<std::int64_t>::min();
  if (market >= registry_.size()) return;
  if (frontier_.size() <= market) frontier_.resize(registry_.size(), kNoFrontier);
  frontier_[market] = std::max(frontier_[market], closed_until_s);
  // Markets are few (hundreds) and frontiers move once a second each.
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t f : frontier_)
    if (f != kNoFrontier) lowest = std::min(lowest, f);
  if (stats_.started() && lowest - stats_.next_second() <= kMaxJumpS) advance_to(lowest);
}

void FlowStatsRecorder::advance_to(std::int64_t end_s) {
  stats_.advance_to(end_s, [this](std::size_t tf, std::int64_t) { writer_.write_closed(stats_, tf); });
}

void FlowStatsRecorder::finish() {
  stats_.flush([this](std::size_t tf, std::int64_t) { writer_.write_closed(stats_, tf); });
  writer_.flush();
}

}  // namespace tickflow
