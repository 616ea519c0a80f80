// pipeline/flow_stats_csv.h
//
// The flow statistics as CSV rows, for `tickflow replay --stats-out FILE`
// (the file itself: sinks/flow_stats_csv_file.h): one row per symbol group
// per timeframe per closed interval, for inspection and plotting.
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
//  * appending allocates nothing once the string has room.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/flow_record.h"
#include "pipeline/flow_stats.h"

namespace tickflow {

// The header line, without the newline.
std::string_view flow_stats_csv_header() noexcept;

// Appends one row, newline included.
void append_flow_stats_csv_row(std::string& out, std::string_view group, const FlowSnapshot& s);
// The same row from a record (pipeline/flow_record.h): byte for byte the
// row of the snapshot the record was made from.
void append_flow_stats_csv_row(std::string& out, const FlowRecord& r);

}  // namespace tickflow
