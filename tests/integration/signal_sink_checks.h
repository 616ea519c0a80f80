// tests/integration/signal_sink_checks.h
//
// What the signal integration tests read back from the sinks: the rows of
// InfluxDB's `signals` measurement (and a field-by-field comparison with a
// Signal), a JSONL file's lines, Redis' latest-signal key and history list.
// Shared by signal_dispatch_test.cc (the writer thread's sinks) and
// live_strategy_test.cc (the whole live strategy path).
#pragma once

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <simdjson.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "strategy/signal.h"
#include "tests/integration/influxd_process.h"
#include "tests/integration/redis_process.h"

namespace tickflow::testing {

// One row of `SELECT * FROM signals`.
struct Row {
  std::int64_t time = 0;
  std::map<std::string, std::string> strings;
  std::map<std::string, double> numbers;
};

inline std::vector<Row> query_signals(const InfluxdProcess& influx, const std::string& db) {
  const std::string body = influx.query("SELECT * FROM signals", db);
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(body);
  std::vector<Row> rows;
  for (simdjson::dom::element result : doc["results"].get_array()) {
    simdjson::dom::array series;
    if (result["series"].get(series) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element s : series) {
      std::vector<std::string> columns;
      for (simdjson::dom::element c : s["columns"].get_array()) columns.emplace_back(std::string_view(c.get_string()));
      for (simdjson::dom::element values : s["values"].get_array()) {
        Row row;
        std::size_t i = 0;
        for (simdjson::dom::element v : values.get_array()) {
          const std::string& column = columns[i++];
          if (column == "time") {
            row.time = v.get_int64();
          } else if (v.is_string()) {
            row.strings[column] = std::string(std::string_view(v.get_string()));
          } else if (v.is_int64()) {
            row.numbers[column] = static_cast<double>(v.get_int64().value());
          } else if (!v.is_null()) {
            row.numbers[column] = v.get_double();
          }
        }
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

inline void expect_row_matches(const Row& row, const Signal& s) {
  char uuid[36];
  format_uuid(s.signal_id, uuid);
  EXPECT_EQ(row.time, s.timestamp_s);
  EXPECT_EQ(row.strings.at("symbol"), s.symbol);
  EXPECT_EQ(row.strings.at("base_symbol"), s.base_symbol);
  EXPECT_EQ(row.strings.at("action"), to_string(s.action));
  EXPECT_EQ(row.strings.at("strategy"), "SqueezeFlow");
  EXPECT_EQ(row.strings.at("signal_id"), std::string(uuid, 36));
  EXPECT_EQ(row.strings.at("reasoning"), s.reasoning);
  EXPECT_EQ(row.numbers.at("score"), s.score);
  EXPECT_EQ(row.numbers.at("confidence"), s.confidence);
  EXPECT_EQ(row.numbers.at("position_size_factor"), s.position_size_factor);
  EXPECT_EQ(row.numbers.at("leverage"), s.leverage);
  EXPECT_EQ(row.numbers.at("entry_price"), s.entry_price);
  EXPECT_EQ(row.numbers.at("ttl"), static_cast<double>(s.ttl_s));
  EXPECT_EQ(row.numbers.at("spot_cvd"), s.spot_cvd);
  EXPECT_EQ(row.numbers.at("perp_cvd"), s.perp_cvd);
  EXPECT_EQ(row.numbers.at("divergence"), s.divergence);
}

inline std::vector<std::string> file_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string redis_get(const RedisProcess& redis, const std::string& key) {
  auto r = redis.command({"GET", key});
  return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string("<no string>");
}

inline std::vector<std::string> redis_history(const RedisProcess& redis, const std::string& symbol) {
  auto r = redis.command({"LRANGE", "squeezeflow:history:" + symbol, "0", "-1"});
  std::vector<std::string> out;
  if (!r || r->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < r->elements; ++i) out.emplace_back(r->element[i]->str, r->element[i]->len);
  return out;
}

}  // namespace tickflow::testing
