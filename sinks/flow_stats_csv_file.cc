// sinks/flow_stats_csv_file.cc
#include "sinks/flow_stats_csv_file.h"

#include <stdexcept>

namespace tickflow {
namespace {

constexpr std::size_t kFlushAt = 1 << 20;

}  // namespace

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

}  // namespace tickflow
