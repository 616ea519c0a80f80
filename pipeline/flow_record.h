// pipeline/flow_record.h
//
// FlowRecord: one symbol group's flow statistics for one closed interval of
// one timeframe, as it leaves the aggregator thread. The Aggregator makes
// one per group for every interval FlowStats closes and hands it to its
// output BarSink (BarSink::on_flow); the InfluxDB writer encodes it as a
// `flow_<tf>` point (pipeline/flow_line.h), `replay --stats-out` as a CSV
// row (pipeline/flow_stats_csv.h).
//
// Why a record of its own and not a FlowSnapshot plus the group's name: it
// crosses the aggregator -> writer ring, so it must be trivially copyable
// and own no heap memory; the group's name therefore travels inline. It
// carries exactly the fields the CSV and the line protocol write (the
// FlowSnapshot fields of the same names, pipeline/flow_series.h), and no
// more, so that the CSV of an on_flow consumer is the CSV write_closed()
// wrote before.
//
// Size: 216 bytes, 3.4 cache lines, more than the 2 a ring slot would
// ideally take; the 23 statistics are doubles because both outputs promise
// the engine's values bit for bit (a float would not round-trip). Records
// are rare (per group about one per second: the 1 s interval, and now and
// then a rollup's), so the ring's bandwidth is not the limit.
//
// Promises:
//  * trivially copyable (static_assert below);
//  * `group` is the group's base asset ("BTC"), NUL-terminated and padded
//    with NULs; names longer than kFlowGroupNameMax bytes are never put in
//    a record (the aggregator counts and skips such groups);
//  * open_time_s is the interval's start in epoch seconds (its first
//    interval may be partial: see flow_stats.h, "Time").
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "pipeline/flow_series.h"

namespace tickflow {

inline constexpr std::size_t kFlowGroupNameMax = 19;  // bytes, without the NUL

struct FlowRecord {
  std::int64_t open_time_s = 0;
  std::uint32_t timeframe_s = 0;
  char group[kFlowGroupNameMax + 1] = {};

  double ds = 0, df = 0;
  double cvd_spot = 0, cvd_perp = 0, divergence = 0;
  double volume = 0, close = 0;
  double ds_mean = 0, ds_std = 0, ds_z = 0;
  double df_mean = 0, df_std = 0, df_z = 0;
  double d_mean = 0, d_std = 0, d_z = 0;
  double absd_mean = 0, absd_std = 0, absd_z = 0;
  double ema = 0, vwap = 0, realized_vol = 0, volume_surge = 0;

  std::string_view group_name() const noexcept { return {group, ::strnlen(group, sizeof group)}; }

  // False (record unchanged) when `name` is longer than kFlowGroupNameMax.
  bool set_group(std::string_view name) noexcept {
    if (name.size() > kFlowGroupNameMax) return false;
    std::memset(group, 0, sizeof group);
    std::memcpy(group, name.data(), name.size());
    return true;
  }

  // The fields of `s` this record carries (its name stays).
  void set_snapshot(const FlowSnapshot& s) noexcept {
    open_time_s = s.open_time_s;
    timeframe_s = s.timeframe_s;
    ds = s.ds, df = s.df, cvd_spot = s.cvd_spot, cvd_perp = s.cvd_perp, divergence = s.divergence;
    volume = s.volume, close = s.close;
    ds_mean = s.ds_mean, ds_std = s.ds_std, ds_z = s.ds_z;
    df_mean = s.df_mean, df_std = s.df_std, df_z = s.df_z;
    d_mean = s.d_mean, d_std = s.d_std, d_z = s.d_z;
    absd_mean = s.absd_mean, absd_std = s.absd_std, absd_z = s.absd_z;
    ema = s.ema, vwap = s.vwap, realized_vol = s.realized_vol, volume_surge = s.volume_surge;
  }
};

static_assert(std::is_trivially_copyable_v<FlowRecord>);
static_assert(sizeof(FlowRecord) == 216, "layout change: check the aggregator -> writer flow ring's budget");

}  // namespace tickflow
