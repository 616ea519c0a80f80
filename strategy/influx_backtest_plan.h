// strategy/influx_backtest_plan.h
//
// What `tickflow backtest --influx` reads, decided before the run: which
// base bars per market (1 s from aggr_1s.trades_1s, or 1 m from
// aggr_1m.trades_1m, the policies the sink writes), how much of the range
// they cover, and a clear error when they hold nothing.
//
//  * base 1s or 1m: every market from that measurement;
//  * base auto: per market, in the range, 1 s bars when they start where
//    its 1 m bars start (within that first minute plus gap_threshold_s), or
//    when it has no 1 m bars; else its 1 m bars. A 1 s policy keeps a day, a
//    1 m one months, so a long backtest runs on 1 m bars for the markets
//    whose early 1 s bars expired. The Backtester takes one base interval
//    per market, so a market never switches mid-run.
//
// The coverage scan reads only open times (InfluxBarSource's
// open_times_only) chunk by chunk, so it costs a fraction of the run's
// queries and memory stays flat.
//
// Promises:
//  * an empty result throws InfluxNoBarsError whose message names the URL
//    (never the credentials), database, retention policy, measurement,
//    markets and range, and lists what the database does hold, per market,
//    in the 1 s and 1 m measurements (and the policy asked for);
//  * a failed query throws std::runtime_error as InfluxBarSource does.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "strategy/bar_coverage.h"
#include "strategy/bar_source.h"
#include "strategy/influx_bar_source.h"

namespace tickflow {

class MarketRegistry;

enum class BaseBars { k1s, k1m, kAuto };

struct InfluxBacktestRequest {
  InfluxBarQuery query;  // url, database, credentials, range, chunk, markets
  BaseBars base = BaseBars::k1s;
  std::string retention_policy;  // empty: the sink's (aggr_1s, aggr_1m); not with kAuto
  std::int64_t gap_threshold_s = 60;
};

class InfluxNoBarsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct InfluxBacktestPlan {
  std::vector<InfluxBarQuery> queries;                              // one per base read (1 or 2)
  std::vector<std::pair<std::string, std::uint32_t>> auto_choices;  // kAuto: market -> 1 or 60
  BarCoverage coverage{0, 0, 1};

  // "aggr_1s.trades_1s" or "aggr_1s.trades_1s + aggr_1m.trades_1m".
  std::string measurements() const;
  // The bars, merged when two measurements are read; markets go into `registry`.
  std::unique_ptr<BarSource> open(MarketRegistry& registry) const;
};

// Throws std::invalid_argument for kAuto with a retention policy.
InfluxBacktestPlan plan_influx_backtest(const InfluxBacktestRequest& request);

}  // namespace tickflow
