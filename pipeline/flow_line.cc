// pipeline/flow_line.cc
#include "pipeline/flow_line.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "pipeline/line_field.h"
#include "pipeline/shortest_double.h"
#include "pipeline/timeframe.h"

namespace tickflow {

char* encode_flow_line(char* out, const FlowRecord& r) noexcept {
  out = put_text(out, "flow_");
  // Valid records have timeframe_s in [1, 604800]; the guard only keeps a
  // corrupt one from throwing.
  if (r.timeframe_s >= 1 && r.timeframe_s <= Timeframe::kMaxSeconds)
    out = put_text(out, Timeframe::from_seconds(r.timeframe_s).name());
  out = put_text(out, ",group=");
  for (char c : r.group_name()) {
    if (c == ',' || c == '=' || c == ' ') *out++ = '\\';
    *out++ = c;
  }
  *out++ = ' ';
  bool first = true;
  out = put_line_field(out, "ds", r.ds, first);
  out = put_line_field(out, "df", r.df, first);
  out = put_line_field(out, "cvd_spot", r.cvd_spot, first);
  out = put_line_field(out, "cvd_perp", r.cvd_perp, first);
  out = put_line_field(out, "divergence", r.divergence, first);
  out = put_line_field(out, "volume", r.volume, first);
  out = put_line_field(out, "close", r.close, first);
  out = put_line_field(out, "ds_mean", r.ds_mean, first);
  out = put_line_field(out, "ds_std", r.ds_std, first);
  out = put_line_field(out, "ds_z", r.ds_z, first);
  out = put_line_field(out, "df_mean", r.df_mean, first);
  out = put_line_field(out, "df_std", r.df_std, first);
  out = put_line_field(out, "df_z", r.df_z, first);
  out = put_line_field(out, "d_mean", r.d_mean, first);
  out = put_line_field(out, "d_std", r.d_std, first);
  out = put_line_field(out, "d_z", r.d_z, first);
  out = put_line_field(out, "absd_mean", r.absd_mean, first);
  out = put_line_field(out, "absd_std", r.absd_std, first);
  out = put_line_field(out, "absd_z", r.absd_z, first);
  out = put_line_field(out, "ema", r.ema, first);
  out = put_line_field(out, "vwap", r.vwap, first);
  out = put_line_field(out, "realized_vol", r.realized_vol, first);
  out = put_line_field(out, "volume_surge", r.volume_surge, first);
  *out++ = ' ';
  out = std::to_chars(out, out + 20, r.open_time_s).ptr;
  *out++ = '\n';
  return out;
}

void append_flow_line(std::string& out, const FlowRecord& record) {
  const std::size_t used = out.size();
  out.resize(used + kMaxFlowLineBytes);
  char* end = encode_flow_line(out.data() + used, record);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

}  // namespace tickflow
