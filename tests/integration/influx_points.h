// tests/integration/influx_points.h
//
// Points as the tests compare them: (measurement, tag value, time s) ->
// field -> value, read from our own line protocol (a replay's --bars-out,
// a spool's records) or from a real influxd (SELECT * ... GROUP BY *).
// Both readers keep the last write of a point, as InfluxDB does, and both
// give back the exact doubles (shortest round-trip text on both sides).
// Our encoders write one tag (market, or group for flow_<tf>), float
// fields and an integer time in seconds; nothing else is parsed here.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tests/integration/influxd_process.h"

namespace tickflow::testing {

using PointFields = std::map<std::string, double>;
using PointKey = std::tuple<std::string, std::string, std::int64_t>;  // measurement, tag value, time (s)
using Points = std::map<PointKey, PointFields>;

// One line; a later line for the same point replaces the earlier one.
// Throws std::runtime_error for a line our encoders would not write.
inline void add_line_protocol_line(std::string_view line, Points& out) {
  const std::size_t comma = line.find(',');
  const std::size_t space = line.find(' ');
  const std::size_t last_space = line.rfind(' ');
  if (comma == std::string_view::npos || space == std::string_view::npos || space == last_space || comma > space)
    throw std::runtime_error("bad line: " + std::string(line));
  const std::string measurement(line.substr(0, comma));
  const std::string_view tag = line.substr(comma + 1, space - comma - 1);
  const std::size_t eq = tag.find('=');
  if (eq == std::string_view::npos) throw std::runtime_error("no tag value: " + std::string(line));
  const std::int64_t ts = std::stoll(std::string(line.substr(last_space + 1)));
  PointFields fields;
  std::string_view rest = line.substr(space + 1, last_space - space - 1);
  while (!rest.empty()) {
    const std::size_t end = std::min(rest.find(','), rest.size());
    const std::string_view kv = rest.substr(0, end);
    const std::size_t kv_eq = kv.find('=');
    fields[std::string(kv.substr(0, kv_eq))] = std::stod(std::string(kv.substr(kv_eq + 1)));
    rest = end < rest.size() ? rest.substr(end + 1) : std::string_view{};
  }
  out[{measurement, std::string(tag.substr(eq + 1)), ts}] = std::move(fields);
}

// Every line of `text` (blank lines and '#' comments skipped).
inline Points parse_line_protocol(const std::string& text) {
  Points out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') add_line_protocol_line(line, out);
  return out;
}

// Every point of `measurement` in retention policy `rp`, with its non-null
// fields, keyed by its one tag's value.
inline void query_points(const InfluxdProcess& influx, const std::string& rp, const std::string& measurement,
                         Points& out, const std::string& database = "significant_trades") {
  const std::string body = influx.query("SELECT * FROM \"" + rp + "\".\"" + measurement + "\" GROUP BY *", database);
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(body);
  for (simdjson::dom::element result : doc["results"].get_array()) {
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) {
      std::string tag;
      for (auto field : s["tags"].get_object()) tag = std::string(std::string_view(field.value.get_string()));
      std::vector<std::string> columns;
      for (simdjson::dom::element c : s["columns"].get_array()) columns.emplace_back(std::string_view(c.get_string()));
      for (simdjson::dom::element row : s["values"].get_array()) {
        std::int64_t ts = 0;
        PointFields fields;
        std::size_t i = 0;
        for (simdjson::dom::element v : row.get_array()) {
          if (columns[i] == "time") {
            ts = v.get_int64();
          } else if (!v.is_null()) {
            double d = 0;
            if (v.get_double().get(d) != simdjson::SUCCESS) d = static_cast<double>(v.get_int64().value());
            fields[columns[i]] = d;
          }
          ++i;
        }
        out[{measurement, tag, ts}] = std::move(fields);
      }
    }
  }
}

}  // namespace tickflow::testing
