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

}  // namespace tickflow
