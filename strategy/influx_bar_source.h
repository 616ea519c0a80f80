// strategy/influx_bar_source.h
//
// InfluxBarSource: base bars (trades_1s, or trades_1m) queried from InfluxDB
// 1.x for a backtest over [from_s, to_s), one time chunk per query
// (../shared/docs/squeezeflow-strategy.md, "Backtest": 2 h per query by
// default), so memory stays flat over weeks of data: only the current
// chunk's bars are held.
//
// Each chunk is `SELECT * FROM <measurement> WHERE time >= t AND time <
// t + chunk_s [AND (market = '..' OR ..)]` with epoch=s, answered in CSV
// (Accept: application/csv, supported by the installed 1.6): flat rows,
// no JSON tree for a 2 h chunk of every market. The query is chunked
// (chunked=true), so a server's max-row-limit cannot truncate it silently.
// Because 1.6's CSV answer to a missing database or measurement is an empty
// 200, both are checked once (SHOW DATABASES, SHOW MEASUREMENTS) before the
// first chunk, and so is a named retention policy (SHOW RETENTION POLICIES).
// The fields are the line
// protocol's (pipeline/line_protocol.h); a field missing from a row (OHLC of
// a liquidation-only bar, qbuy/qsell of aggr-server's own data) is 0. The
// numbers come back in Go's shortest round-trip form and are parsed exactly,
// so every bar equals the one written.
//
// Promises:
//  * BarSource order (strategy/bar_source.h): a chunk is sorted by (open
//    time, market id), and chunks are consecutive, disjoint half-open
//    ranges, so no bar is duplicated or lost at their boundaries;
//  * markets are interned into the registry by name (MarketClass applies),
//    in (first open time, name) order: the ids, which order ties, do not
//    depend on how the server orders the rows of one timestamp;
//  * a failed query (server down, HTTP error, InfluxDB error, malformed
//    response) throws std::runtime_error naming the server URL (never the
//    credentials), the database, the retention policy and measurement, and
//    the chunk's time range;
//  * credentials come from credentials_file, or INFLUX_USERNAME /
//    INFLUX_PASSWORD when it is empty (load_influx_credentials()).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/market_registry.h"
#include "sinks/influx_http.h"
#include "strategy/bar_source.h"

namespace tickflow {

struct InfluxBarQuery {
  std::string url = "http://127.0.0.1:8086";
  std::string database = "significant_trades";
  std::string credentials_file;           // empty: INFLUX_USERNAME / INFLUX_PASSWORD
  std::int64_t from_s = 0;                // inclusive, UTC epoch seconds
  std::int64_t to_s = 0;                  // exclusive
  std::int64_t chunk_s = 7200;            // one query per chunk
  std::vector<std::string> markets;       // empty: every market
  std::string measurement = "trades_1s";  // trades_1s or trades_1m
  std::string retention_policy;           // empty: the database's default (the sink writes aggr_1s, aggr_1m)
  bool open_times_only = false;           // only time and market (a coverage scan): fields read as 0
  std::chrono::milliseconds request_timeout{120'000};
};

class InfluxBarSource final : public BarSource {
 public:
  // Throws std::invalid_argument for from_s > to_s, chunk_s < 1, or a
  // measurement other than trades_1s / trades_1m; std::runtime_error for an
  // unreadable credentials file. Queries nothing yet.
  InfluxBarSource(InfluxBarQuery query, MarketRegistry& registry);
  ~InfluxBarSource() override;

  bool next(Bar& out) override;
  double progress() const noexcept override;

  // HTTP queries made so far: the existence check's two, then one per chunk.
  std::uint64_t queries() const noexcept { return queries_; }

 private:
  // Queries and parses [chunk_from_, chunk_from_ + chunk_s) into chunk_.
  void load_chunk();
  // The CSV body of `statement`; throws naming `where` on failure.
  std::string run(const std::string& statement, const std::string& where);
  // The database and measurement exist (once, before the first chunk).
  void check_exists(const std::string& where);
  void parse_csv(std::string_view body, const std::string& where);
  std::string describe_chunk(std::int64_t from, std::int64_t to) const;

  InfluxBarQuery query_;
  MarketRegistry& registry_;
  std::unique_ptr<InfluxHttp> http_;
  std::uint32_t timeframe_s_;
  std::string select_prefix_;                             // "SELECT * FROM ... WHERE "
  std::string market_filter_;                             // " AND (market = '..' OR ..)", or empty
  std::unordered_map<std::string, MarketId> market_ids_;  // saves the registry's lock per row
  std::vector<Bar> chunk_;
  std::size_t next_ = 0;
  std::int64_t chunk_from_;   // start of the next chunk to query
  std::int64_t loaded_from_;  // start of the chunk in chunk_
  std::uint64_t queries_ = 0;
  bool checked_ = false;
};

}  // namespace tickflow
