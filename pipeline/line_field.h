// pipeline/line_field.h
//
// The pieces both line-protocol encoders (bars: line_protocol.h, flow
// statistics: flow_line.h) write fields with, into a buffer the caller has
// sized for the longest line.
//
// Promises: no allocation, no check of room (the callers size their
// buffers: max_bar_line_bytes(), kMaxFlowLineBytes); a non-finite value
// is left out, as InfluxDB rejects NaN and Inf and one bad field must not
// lose a batch.
#pragma once

#include <cmath>
#include <cstring>
#include <string_view>

#include "pipeline/shortest_double.h"

namespace tickflow {

// Copies `text` to `out`; returns the new end.
inline char* put_text(char* out, std::string_view text) noexcept {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

// `key=value` preceded by a comma unless it is the first field. Returns the
// new end; `first` turns false once a field is written. 24 bytes hold any
// double's shortest form ("-2.2250738585072014e-308").
inline char* put_line_field(char* out, std::string_view key, double value, bool& first) noexcept {
  if (!std::isfinite(value)) return out;
  if (!first) *out++ = ',';
  first = false;
  out = put_text(out, key);
  *out++ = '=';
  return write_shortest(out, value);
}

}  // namespace tickflow
