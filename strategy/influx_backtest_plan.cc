#include "strategy/influx_backtest_plan.h"

#include <map>

#include "pipeline/market_registry.h"
#include "pipeline/timeframe.h"
#include "strategy/influx_bar_inventory.h"
#include "strategy/influx_csv.h"
#include "strategy/merged_bar_source.h"
#include "strategy/utc_time.h"

namespace tickflow {
namespace {

InfluxBarQuery base_query(const InfluxBacktestRequest& r, std::uint32_t timeframe_s, const std::string& policy) {
  InfluxBarQuery q = r.query;
  q.measurement = timeframe_s == 1 ? "trades_1s" : "trades_1m";
  q.retention_policy = policy.empty() ? retention_policy_name(timeframe_s) : policy;
  return q;
}

std::string qualified(const InfluxBarQuery& q) {
  return (q.retention_policy.empty() ? "" : q.retention_policy + ".") + q.measurement;
}

std::string describe_markets(const std::vector<std::string>& markets) {
  if (markets.empty()) return "every market";
  std::string out = markets.size() == 1 ? "market " : "markets ";
  for (std::size_t i = 0; i < markets.size(); ++i) out += (i > 0 ? ", " : "") + markets[i];
  return out;
}

// The error for a range without bars: what was asked, and what is there.
[[noreturn]] void throw_no_bars(const InfluxBacktestRequest& r, const std::vector<InfluxBarQuery>& asked) {
  const InfluxBarQuery& q = r.query;
  std::string what;
  for (const InfluxBarQuery& a : asked) what += (what.empty() ? "" : " and ") + qualified(a);
  std::string message = "no bars in InfluxDB " + influx_url_for_messages(q.url) + " database '" + q.database + "' " +
                        what + " for " + describe_markets(q.markets) + " in [" + iso8601_utc(q.from_s) + ", " +
                        iso8601_utc(q.to_s) + ") = [" + std::to_string(q.from_s) + ", " + std::to_string(q.to_s) +
                        "). The database holds";
  message += q.markets.empty() ? ":\n" : " (for these markets):\n";
  // The sink's two base measurements, the policy asked for, and trades_1s
  // in the default policy (where older writers and tools put it).
  std::vector<InfluxBarQuery> look = {base_query(r, 1, ""), base_query(r, 60, "")};
  for (const InfluxBarQuery& a : asked)
    if (a.retention_policy != look[0].retention_policy && a.retention_policy != look[1].retention_policy)
      look.push_back(a);
  look.push_back(look[0]);
  look.back().retention_policy.clear();
  for (const InfluxBarQuery& l : look) {
    message += "  " + (l.retention_policy.empty() ? l.measurement + " (default policy)" : qualified(l)) + ":\n";
    message += describe_extents(influx_bar_extents(l, false), "    ");
  }
  message.pop_back();
  throw InfluxNoBarsError(message);
}

}  // namespace

std::string InfluxBacktestPlan::measurements() const {
  std::string out;
  for (const InfluxBarQuery& q : queries) out += (out.empty() ? "" : " + ") + qualified(q);
  return out;
}

std::unique_ptr<BarSource> InfluxBacktestPlan::open(MarketRegistry& registry) const {
  std::vector<std::unique_ptr<BarSource>> parts;
  for (const InfluxBarQuery& q : queries) parts.push_back(std::make_unique<InfluxBarSource>(q, registry));
  if (parts.size() == 1) return std::move(parts.front());
  return std::make_unique<MergedBarSource>(std::move(parts));
}

InfluxBacktestPlan plan_influx_backtest(const InfluxBacktestRequest& r) {
  if (r.base == BaseBars::kAuto && !r.retention_policy.empty())
    throw std::invalid_argument(
        "a retention policy names one measurement's policy; --base auto reads the sink's aggr_1s and aggr_1m");
  InfluxBacktestPlan plan;
  plan.coverage = BarCoverage(r.query.from_s, r.query.to_s, r.gap_threshold_s);
  std::map<std::string, std::uint32_t> base_of;  // market -> 1 or 60
  if (r.base != BaseBars::kAuto) {
    const InfluxBarQuery q = base_query(r, r.base == BaseBars::k1s ? 1 : 60, r.retention_policy);
    const std::vector<BarExtent> extents = influx_bar_extents(q, true);
    if (extents.empty()) throw_no_bars(r, {q});
    plan.queries.push_back(q);
  } else {
    InfluxBarQuery q1 = base_query(r, 1, ""), q60 = base_query(r, 60, "");
    const std::vector<BarExtent> in_1s = influx_bar_extents(q1, true);
    const std::vector<BarExtent> in_1m = influx_bar_extents(q60, true);
    if (in_1s.empty() && in_1m.empty()) throw_no_bars(r, {q1, q60});
    // 1 s where its bars start where the market's 1 m bars do (within the
    // first minute and the gap threshold: the 1 m bar opens up to 59 s
    // before the first trade), else 1 m, else the 1 s bars there are.
    std::map<std::string, std::int64_t> first_1m;
    for (const BarExtent& e : in_1m) first_1m[e.market] = e.first_s;
    for (const BarExtent& e : in_1s) {
      const auto m = first_1m.find(e.market);
      if (m == first_1m.end() || e.first_s < m->second + 60 + r.gap_threshold_s) base_of[e.market] = 1;
    }
    for (const BarExtent& e : in_1m) base_of.try_emplace(e.market, 60);
    for (const BarExtent& e : in_1s) base_of.try_emplace(e.market, 1);
    q1.markets.clear();
    q60.markets.clear();
    for (const auto& [market, tf] : base_of) {
      (tf == 1 ? q1 : q60).markets.push_back(market);
      plan.auto_choices.emplace_back(market, tf);
    }
    if (!q1.markets.empty()) plan.queries.push_back(q1);
    if (!q60.markets.empty()) plan.queries.push_back(q60);
  }

  // Markets asked for by name are reported even when they have no bar.
  for (const std::string& m : r.query.markets) {
    const auto it = base_of.find(m);
    plan.coverage.expect(m, it != base_of.end() ? it->second : r.base == BaseBars::k1m ? 60 : 1);
  }
  for (const InfluxBarQuery& q : plan.queries) {
    InfluxBarQuery scan = q;
    scan.open_times_only = true;
    MarketRegistry names;  // the run's registry learns its markets from the run
    InfluxBarSource source(scan, names);
    Bar b;
    while (source.next(b)) plan.coverage.add(names.info(b.market).name, b.open_time_s, b.timeframe_s);
  }
  return plan;
}

}  // namespace tickflow
