// pipeline/line_point.h
//
// LinePoint: InfluxDB line protocol for any point (signals, metrics), where
// line_protocol.h's BarLineEncoder is the fixed-shape fast path for bars.
// Both follow ../shared/docs/influxdb.md, "Line protocol":
//
//   measurement   `,` and space escaped
//   tag keys, tag values, field keys
//                 `,`, `=` and space escaped
//   string fields double-quoted, `"` and `\` escaped
//   integers      `i` suffix (never `u`: InfluxDB 1.6 rejects it)
//   floats        shortest round-trip (std::to_chars)
//   tags          written sorted by key, whatever order they were given in
//
// A point is refused, and nothing of it stays in the buffer, when a float
// field is NaN or infinite (InfluxDB rejects the whole line), a tag value is
// empty (rejected too), or it has no field. The caller counts and logs
// refusals (refused() says why); they are never sent.
//
// Writing appends to the caller's std::string and allocates nothing once the
// buffer has grown to its working size. At most kMaxTags tags per point.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tickflow {

class LinePoint {
 public:
  static constexpr std::size_t kMaxTags = 16;

  // Starts a point at the end of `out`.
  LinePoint(std::string& out, std::string_view measurement);

  // Tags may come in any order; they are written sorted by key when the
  // first field arrives. Views must stay valid until then.
  LinePoint& tag(std::string_view key, std::string_view value);

  LinePoint& field(std::string_view key, double value);
  LinePoint& field(std::string_view key, std::int64_t value);
  LinePoint& field(std::string_view key, bool value);
  LinePoint& field(std::string_view key, std::string_view value);
  LinePoint& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }

  // Ends the line with `timestamp` (in the batch's precision) and '\n'.
  // Returns false, and removes the partial point from the buffer, if it was
  // refused.
  bool end(std::int64_t timestamp);

  // Why the point was refused; empty while it is fine.
  std::string_view refused() const noexcept { return refused_; }

 private:
  void write_tags();
  void begin_field(std::string_view key);

  std::string& out_;
  std::size_t start_;
  std::array<std::string_view, kMaxTags> tag_keys_{};
  std::array<std::string_view, kMaxTags> tag_values_{};
  std::size_t tags_ = 0;
  bool tags_written_ = false;
  std::size_t fields_ = 0;
  std::string_view refused_;
};

// The escaping rules, for callers that build lines themselves.
void append_escaped_measurement(std::string& out, std::string_view name);
void append_escaped_key(std::string& out, std::string_view key);  // tag keys, tag values, field keys
void append_quoted_string(std::string& out, std::string_view value);

}  // namespace tickflow
