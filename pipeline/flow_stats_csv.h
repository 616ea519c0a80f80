// pipeline/flow_stats_csv.h
//
// The flow statistics as CSV, for `tickflow replay --stats-out FILE`: one
// row per symbol group per timeframe per closed interval, for inspection
// and plotting.
//
//   time,group,timeframe,ds,df,cvd_spot,cvd_perp,divergence,volume,close,
//   ds_mean,ds_std,ds_z,df_mean,df_std,df_z,d_mean,d_std,d_z,
//   absd_mean,absd_std,absd_z,ema,vwap,realized_vol,volume_surge
//
// `time` is the interval's open time in epoch seconds, `group` the base
// asset ("BTC"), `timeframe` its length in seconds; the rest are the
// FlowSnapshot fields of the same names (pipeline/flow_series.h).
//
// Promises:
//  * numbers are std::to_chars' shortest round-trip form, so parsing a
//    field back gives the engine's double bit for bit; undefined values are
//    written as `nan`, infinite z-scores as `inf` / `-inf`;
//  * rows appear in the order intervals close: time order, and within one
//    second shorter timeframes first, groups in id order;
//  * output is buffered (one write per MiB); a failed write throws
//    std::runtime_error from the call that hit it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <vector>

#include "pipeline/bar_sink.h"
#include "pipeline/flow_record.h"
#include "pipeline/flow_stats.h"
#include "pipeline/output_file.h"

namespace tickflow {

// The header line, without the newline.
std::string_view flow_stats_csv_header() noexcept;

// Appends one row, newline included.
void append_flow_stats_csv_row(std::string& out, std::string_view group, const FlowSnapshot& s);
// The same row from a record (pipeline/flow_record.h): byte for byte the
// row of the snapshot the record was made from.
void append_flow_stats_csv_row(std::string& out, const FlowRecord& r);

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

// What `--stats-out` needs in one object: a FlowStats over the registry's
// markets and a CSV writer, driven by the 1 s bars of a replay. It is a
// BarSink (pipeline/bar_sink.h), so it can sit wherever the BarBuilder's
// 1 s bars go (bars of other timeframes are counted and ignored):
//
//   FlowStatsRecorder stats_out(registry, FlowStatsConfig{}, path);
//   ... for each 1 s bar the replay emits (final or amendment): stats_out.on_bar(bar);
//   ... as each market's closed frontier moves:                stats_out.on_closed(market, s);
//   ... at end of input:                                       stats_out.finish();
//
// on_closed() advances the engine to the lowest frontier among the markets
// that have reported one (the seconds every market has finished), so rows
// appear as soon as they are final; a market that stops reporting holds
// that back only until the pending window pushes the clock (below).
//
// on_bar() refreshes the symbol groups when a bar names a market registered
// after the last refresh (the replay's parsers register markets as their
// first frames arrive), so it must run on the thread that registers
// markets. It also closes every second more than pending_seconds - 1
// seconds older than the bar, so no bar is dropped as too far ahead;
// advance_to() only makes rows appear sooner. One exception guards against
// a corrupt timestamp, which would otherwise close (and write) every second
// up to it: a bar that would move the clock more than kMaxJumpS ahead does
// so only if the bar before it lies within kMaxJumpS of it. Otherwise it is
// dropped as too far ahead (FlowStatsCounters::future_dropped), and after a
// real gap that long the next bar moves the clock. Seconds close in order,
// and the file depends only on the bars and their order.
class FlowStatsRecorder final : public BarSink {
 public:
  static constexpr std::int64_t kMaxJumpS = 7 * 86'400;

  // Throws std::invalid_argument for a bad config, std::runtime_error when
  // the file cannot be created.
  FlowStatsRecorder(const MarketRegistry& registry, FlowStatsConfig config, const std::string& path);

  void on_bar(const Bar& bar) override;
  void on_closed(MarketId market, std::int64_t closed_until_s) override;
  void advance_to(std::int64_t end_s);
  // Closes everything (FlowStats::flush) and flushes the file.
  void finish();

  const FlowStats& stats() const noexcept { return stats_; }
  std::uint64_t rows() const noexcept { return writer_.rows(); }

 private:
  const MarketRegistry& registry_;
  FlowStats stats_;
  FlowStatsCsvWriter writer_;
  std::int64_t previous_bar_s_ = 0;
  std::vector<std::int64_t> frontier_;  // per market: on_closed()'s latest, kNoFrontier before
};

}  // namespace tickflow
