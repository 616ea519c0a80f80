// strategy/influx_bar_inventory.h
//
// What a base bar measurement in InfluxDB holds, per market: the first and
// last bar's open time and the number of bars. The backtest command asks it
// to say where data is when a range has none (a wrong retention policy, a
// range after the 1 s policy expired), and to choose per market between
// 1 s and 1 m bars (--base auto).
//
// Three aggregate queries (count, first, last of cbuy, which every bar
// has) GROUP BY market, in CSV: a few rows, whatever the span. A retention
// policy or measurement that does not exist holds nothing (1.6 answers an
// empty 200), which is what the callers want to report.
//
// Promises:
//  * extents are sorted by market name;
//  * a failed query throws std::runtime_error naming the URL (never the
//    credentials), database, retention policy and measurement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "strategy/influx_bar_source.h"

namespace tickflow {

struct BarExtent {
  std::string market;
  std::int64_t first_s = 0;  // first bar's open time
  std::int64_t last_s = 0;   // last bar's open time
  std::uint64_t bars = 0;
};

// The bars of query.retention_policy.measurement (and query.markets when
// given); within [from_s, to_s) when `within_range`, else all of them.
std::vector<BarExtent> influx_bar_extents(const InfluxBarQuery& query, bool within_range);

// "BINANCE:btcusdt 2024-08-08T23:54:16Z .. 2024-08-09T00:00:12Z (357 bars)",
// one per line, each indented by `indent`; "(none)" when empty.
std::string describe_extents(const std::vector<BarExtent>& extents, const std::string& indent);

}  // namespace tickflow
