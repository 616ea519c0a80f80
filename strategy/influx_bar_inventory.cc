#include "strategy/influx_bar_inventory.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>

#include "sinks/influx_http.h"
#include "strategy/influx_csv.h"
#include "strategy/utc_time.h"

namespace tickflow {

std::vector<BarExtent> influx_bar_extents(const InfluxBarQuery& query, bool within_range) {
  InfluxEndpoint endpoint;
  endpoint.url = query.url;
  endpoint.database = query.database;
  endpoint.credentials = load_influx_credentials(query.credentials_file);
  endpoint.request_timeout = query.request_timeout;
  InfluxHttp http(std::move(endpoint));

  std::string from = " FROM ";
  if (!query.retention_policy.empty()) from += influxql_identifier(query.retention_policy) + ".";
  from += influxql_identifier(query.measurement);
  std::string where;
  if (within_range)
    where = " WHERE time >= " + std::to_string(query.from_s) + "000000000 AND time < " + std::to_string(query.to_s) +
            "000000000";
  if (!query.markets.empty()) {
    where += where.empty() ? " WHERE (" : " AND (";
    for (std::size_t i = 0; i < query.markets.size(); ++i)
      where += (i > 0 ? " OR market = " : "market = ") + influxql_string(query.markets[i]);
    where += ")";
  }
  const std::string what = "InfluxDB " + influx_url_for_messages(query.url) + " database '" + query.database + "' " +
                           (query.retention_policy.empty() ? "" : query.retention_policy + ".") + query.measurement;

  std::map<std::string, BarExtent> by_market;
  // aggregate: "count", "first" or "last"; the value (count) or the time.
  auto ask = [&](const std::string& aggregate) {
    const std::string statement = "SELECT " + aggregate + "(\"cbuy\")" + from + where + " GROUP BY \"market\"";
    const HttpResult r = http.query(statement, "s", "application/csv");
    if (r.transport_failed()) throw std::runtime_error(what + ": query failed: " + r.error);
    if (r.status != 200)
      throw std::runtime_error(what + ": query failed with HTTP " + std::to_string(r.status) + ": " +
                               influx_error_text(r.body));
    std::vector<CsvTable> tables;
    try {
      tables = parse_csv_tables(r.body);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(what + ": " + e.what());
    }
    for (const CsvTable& t : tables) {
      const std::size_t tags = t.column("tags"), time = t.column("time"), value = t.column(aggregate);
      if (tags == SIZE_MAX || time == SIZE_MAX || value == SIZE_MAX)
        throw std::runtime_error(what + ": unexpected answer to " + statement);
      for (const auto& row : t.rows) {
        if (row.size() != t.header.size() || !row[tags].starts_with("market="))
          throw std::runtime_error(what + ": unexpected row in the answer to " + statement);
        BarExtent& e = by_market[row[tags].substr(7)];
        e.market = row[tags].substr(7);
        const std::string& cell = aggregate == "count" ? row[value] : row[time];
        std::int64_t n = 0;
        const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), n);
        if (ec != std::errc{} || p != cell.data() + cell.size())
          throw std::runtime_error(what + ": unparsable '" + cell + "' in the answer to " + statement);
        if (aggregate == "count") e.bars = static_cast<std::uint64_t>(n);
        if (aggregate == "first") e.first_s = n;
        if (aggregate == "last") e.last_s = n;
      }
    }
  };
  ask("count");
  ask("first");
  ask("last");
  std::vector<BarExtent> out;
  for (auto& [name, e] : by_market)
    if (e.bars > 0) out.push_back(std::move(e));
  return out;
}

std::string describe_extents(const std::vector<BarExtent>& extents, const std::string& indent) {
  if (extents.empty()) return indent + "(none)\n";
  std::string out;
  for (const BarExtent& e : extents)
    out += indent + e.market + " " + iso8601_utc(e.first_s) + " .. " + iso8601_utc(e.last_s) + " (" +
           std::to_string(e.bars) + " bars)\n";
  return out;
}

}  // namespace tickflow
