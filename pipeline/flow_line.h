// pipeline/flow_line.h
//
// The one encoder of flow statistics (FlowRecord, pipeline/flow_record.h)
// as InfluxDB line protocol, in aggr-server's style: one measurement per
// timeframe, written to the retention policy of the bars of that timeframe.
//
//   flow_1m,group=BTC ds=..,df=..,cvd_spot=..,cvd_perp=..,divergence=..,
//   volume=..,close=..,ds_mean=..,ds_std=..,ds_z=..,df_mean=..,df_std=..,
//   df_z=..,d_mean=..,d_std=..,d_z=..,absd_mean=..,absd_std=..,absd_z=..,
//   ema=..,vwap=..,realized_vol=..,volume_surge=.. 1723161240
//                                                 (one line, '\n' ends it)
//
// Promises (the schema is documented in pipeline/README.md, "Flow
// statistics in InfluxDB"):
//  * measurement flow_<timeframe name> ("1s", "1m", "4h": Timeframe's
//    canonical name), tag group (the base asset, escaped), the fields
//    above in that order with the FlowSnapshot meanings
//    (pipeline/flow_series.h), timestamp = the interval's open time in
//    seconds (write with precision=s);
//  * every field is a float, numbers in std::to_chars' shortest
//    round-trip form, so a query gives back the engine's doubles exactly;
//  * a non-finite field (an undefined statistic is NaN: a baseline of
//    fewer than two intervals, a z-score over a zero std) is left out, not
//    written: InfluxDB rejects NaN and Inf. ds, df, the CVDs, divergence
//    and volume are always finite for finite bars, so a line is never
//    empty;
//  * encoding appends into the caller's buffer and allocates nothing once
//    the buffer has room.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pipeline/flow_record.h"

namespace tickflow {

// The longest line encode_flow_line() writes, newline included: "flow_" +
// timeframe (<= 11) + ",group=" + the group escaped (<= 2 x 19) + " " + 23
// fields of key (<= 12) "=" double (<= 24) "," + " " + int64 (<= 20) + "\n".
inline constexpr std::size_t kMaxFlowLineBytes =
    5 + 11 + 7 + 2 * kFlowGroupNameMax + 1 + 23 * (12 + 1 + 24 + 1) + 1 + 20 + 1;

// Writes one line for `record` at `out` (kMaxFlowLineBytes of room);
// returns the end of the line.
char* encode_flow_line(char* out, const FlowRecord& record) noexcept;

// The same, appended to `out` (no allocation when its capacity suffices).
void append_flow_line(std::string& out, const FlowRecord& record);

}  // namespace tickflow
