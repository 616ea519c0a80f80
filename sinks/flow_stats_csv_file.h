// sinks/flow_stats_csv_file.h
//
// FlowStatsCsvWriter: the `tickflow replay --stats-out FILE` file. Rows are
// pipeline/flow_stats_csv.h's, one per symbol group per closed interval, in
// the order the aggregator closes them (time order; within one second,
// shorter timeframes first, groups in id order).
//
// Promises: output is buffered (one write per MiB); a failed write throws
// std::runtime_error from the call that hit it, naming the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "pipeline/flow_record.h"
#include "pipeline/flow_stats.h"
#include "pipeline/flow_stats_csv.h"
#include "sinks/output_file.h"

namespace tickflow {

class FlowStatsCsvWriter {
 public:
  // "-" is stdout. Writes the header. Throws std::runtime_error when the
  // file cannot be created.
  explicit FlowStatsCsvWriter(const std::string& path);
  ~FlowStatsCsvWriter();  // flushes; call flush() first to see errors
  FlowStatsCsvWriter(const FlowStatsCsvWriter&) = delete;
  FlowStatsCsvWriter& operator=(const FlowStatsCsvWriter&) = delete;

  // One row per group of `stats`: the interval of timeframe
  // `timeframe_index` that just closed. Made to be called from the
  // on_close callback of FlowStats::advance_to() and flush().
  void write_closed(const FlowStats& stats, std::size_t timeframe_index);
  // One row: a record as the aggregator hands it to BarSink::on_flow, so
  // an on_flow consumer writes the file write_closed() writes.
  void write(const FlowRecord& record);
  void flush();
  std::uint64_t rows() const noexcept { return rows_; }

 private:
  void write_buffer();

  OutputFile out_;
  std::string buffer_;
  std::uint64_t rows_ = 0;
};

}  // namespace tickflow
