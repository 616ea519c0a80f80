#include "strategy/influx_bar_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <stdexcept>

#include "pipeline/timeframe.h"
#include "strategy/influx_csv.h"
#include "strategy/utc_time.h"

namespace tickflow {
namespace {

constexpr const char* kFieldNames[] = {"open", "high",  "low",  "close", "vbuy", "vsell",
                                       "cbuy", "csell", "lbuy", "lsell", "qbuy", "qsell"};
double Bar::*const kFields[] = {&Bar::open, &Bar::high,  &Bar::low,  &Bar::close, &Bar::vbuy, &Bar::vsell,
                                &Bar::cbuy, &Bar::csell, &Bar::lbuy, &Bar::lsell, &Bar::qbuy, &Bar::qsell};
constexpr std::size_t kFieldCount = std::size(kFields);

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) {
    out = 0;  // a field this row has no value for
    return true;
  }
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size() && std::isfinite(out);
}

}  // namespace

InfluxBarSource::InfluxBarSource(InfluxBarQuery query, MarketRegistry& registry)
    : query_(std::move(query)), registry_(registry) {
  if (query_.from_s > query_.to_s)
    throw std::invalid_argument("InfluxBarSource: from (" + std::to_string(query_.from_s) + ") is after to (" +
                                std::to_string(query_.to_s) + ")");
  if (query_.chunk_s < 1)
    throw std::invalid_argument("InfluxBarSource: chunk_s must be at least 1, got " + std::to_string(query_.chunk_s));
  const std::string_view m = query_.measurement;
  timeframe_s_ = 0;
  if (m.rfind("trades_", 0) == 0) {
    try {
      timeframe_s_ = parse_timeframe(m.substr(7)).seconds();
    } catch (const std::invalid_argument&) {
    }
  }
  if (timeframe_s_ != 1 && timeframe_s_ != 60)
    throw std::invalid_argument("InfluxBarSource: measurement '" + query_.measurement +
                                "' is not a base bar measurement (trades_1s or trades_1m)");

  InfluxEndpoint endpoint;
  endpoint.url = query_.url;
  endpoint.database = query_.database;
  endpoint.credentials = load_influx_credentials(query_.credentials_file);
  endpoint.request_timeout = query_.request_timeout;
  http_ = std::make_unique<InfluxHttp>(std::move(endpoint));

  // Open times only: one field (cbuy, which every bar has) and the tag.
  select_prefix_ = query_.open_times_only ? "SELECT \"cbuy\", \"market\" FROM " : "SELECT * FROM ";
  if (!query_.retention_policy.empty()) select_prefix_ += influxql_identifier(query_.retention_policy) + ".";
  select_prefix_ += influxql_identifier(query_.measurement) + " WHERE ";
  if (!query_.markets.empty()) {
    market_filter_ = " AND (";
    for (std::size_t i = 0; i < query_.markets.size(); ++i) {
      if (i > 0) market_filter_ += " OR ";
      market_filter_ += "market = " + influxql_string(query_.markets[i]);
    }
    market_filter_ += ")";
  }
  chunk_from_ = loaded_from_ = query_.from_s;
}

InfluxBarSource::~InfluxBarSource() = default;

std::string InfluxBarSource::describe_chunk(std::int64_t from, std::int64_t to) const {
  const std::string measurement =
      query_.retention_policy.empty() ? query_.measurement : query_.retention_policy + "." + query_.measurement;
  return "InfluxDB " + influx_url_for_messages(http_->endpoint().url) + " database '" + query_.database + "' " +
         measurement + " chunk [" + iso8601_utc(from) + ", " + iso8601_utc(to) + ") = [" + std::to_string(from) + ", " +
         std::to_string(to) + ")";
}

void InfluxBarSource::load_chunk() {
  const std::int64_t from = chunk_from_;
  const std::int64_t to = std::min(query_.to_s, from + query_.chunk_s);
  chunk_.clear();
  next_ = 0;
  loaded_from_ = from;
  chunk_from_ = to;
  const std::string where = describe_chunk(from, to);
  if (!checked_) check_exists(where);
  // Nanosecond literals: exact, and valid for any time InfluxDB can store.
  const std::string statement = select_prefix_ + "time >= " + std::to_string(from) + "000000000 AND time < " +
                                std::to_string(to) + "000000000" + market_filter_;
  parse_csv(run(statement, where), where);
  for (const Bar& b : chunk_)
    if (b.open_time_s < from || b.open_time_s >= to)
      throw std::runtime_error(where + ": the server returned a bar at " + std::to_string(b.open_time_s) +
                               ", outside the chunk");
  // Every bar of a chunk has the same timeframe: visible-time order is
  // open-time order, and chunks follow each other.
  std::sort(chunk_.begin(), chunk_.end(), visible_before);
}

std::string InfluxBarSource::run(const std::string& statement, const std::string& where) {
  // epoch=s, and chunked: a server's max-row-limit truncates a plain
  // response silently in CSV (JSON would at least say "partial"), while a
  // chunked one streams every row (influxd 1.6 answers it as one CSV table).
  const HttpResult r = http_->query(statement, "s&chunked=true&chunk_size=20000", "application/csv");
  ++queries_;
  if (r.transport_failed()) throw std::runtime_error(where + ": query failed: " + r.error);
  if (r.status != 200)
    throw std::runtime_error(where + ": query failed with HTTP " + std::to_string(r.status) + ": " +
                             influx_error_text(r.body));
  return r.body;
}

void InfluxBarSource::check_exists(const std::string& where) {
  // In CSV, influxd 1.6 answers a SELECT on a database, retention policy or
  // measurement that does not exist with an empty 200, like a quiet range:
  // a typo would be an empty backtest. Ask once instead.
  // One column of every row: the last (SHOW DATABASES, SHOW MEASUREMENTS)
  // or the third (SHOW RETENTION POLICIES: name,tags,name,duration,...).
  auto names = [&](const std::string& statement, bool last = true) {
    std::vector<std::string> out;
    std::vector<CsvTable> tables;
    try {
      tables = parse_csv_tables(run(statement, where));
    } catch (const std::runtime_error& e) {
      if (std::string_view(e.what()).starts_with(where)) throw;
      throw std::runtime_error(where + ": " + e.what());
    }
    for (const CsvTable& t : tables)
      for (const auto& row : t.rows)
        if (!row.empty()) out.push_back(last ? row.back() : row.size() > 2 ? row[2] : std::string());
    return out;
  };
  const std::vector<std::string> databases = names("SHOW DATABASES");
  if (std::find(databases.begin(), databases.end(), query_.database) == databases.end())
    throw std::runtime_error(where + ": database not found (or not readable with these credentials)");
  if (!query_.retention_policy.empty()) {
    const std::vector<std::string> policies =
        names("SHOW RETENTION POLICIES ON " + influxql_identifier(query_.database), false);
    if (std::find(policies.begin(), policies.end(), query_.retention_policy) == policies.end()) {
      std::string list;
      for (const std::string& p : policies) list += (list.empty() ? "" : ", ") + p;
      throw std::runtime_error(where + ": retention policy '" + query_.retention_policy +
                               "' not found in the database (it has: " + (list.empty() ? "none" : list) + ")");
    }
  }
  const std::vector<std::string> measurements =
      names("SHOW MEASUREMENTS WITH MEASUREMENT = " + influxql_identifier(query_.measurement));
  if (std::find(measurements.begin(), measurements.end(), query_.measurement) == measurements.end())
    throw std::runtime_error(where + ": measurement not found in the database");
  checked_ = true;
}

void InfluxBarSource::parse_csv(std::string_view body, const std::string& where) {
  std::size_t pos = 0;
  std::vector<std::string> cells;
  bool header = true;
  std::size_t columns = 0, time_col = 0, market_col = 0;
  std::vector<std::size_t> field_cols;  // per kFields: column, or SIZE_MAX
  std::size_t row = 0;
  struct Fresh {
    std::int64_t first_s;
    std::string name;
    std::size_t row;
  };
  std::vector<Fresh> fresh;                                  // markets first seen in this chunk
  std::unordered_map<std::string, std::size_t> fresh_index;  // name -> fresh
  std::vector<std::pair<std::size_t, std::size_t>> patches;  // chunk_ index -> fresh
  while (read_csv_record(body, pos, cells)) {
    if (cells.size() == 1 && cells[0].empty()) {  // between result sets: a header follows
      header = true;
      continue;
    }
    if (header) {
      if (cells.size() == 1 && cells[0] == "error") {
        std::vector<std::string> message;
        read_csv_record(body, pos, message);
        throw std::runtime_error(where + ": InfluxDB error: " + (message.empty() ? std::string() : message[0]));
      }
      header = false;
      columns = cells.size();
      auto find = [&](std::string_view name) {
        const auto it = std::find(cells.begin(), cells.end(), name);
        return it == cells.end() ? SIZE_MAX : static_cast<std::size_t>(it - cells.begin());
      };
      time_col = find("time");
      market_col = find("market");
      if (time_col == SIZE_MAX || market_col == SIZE_MAX)
        throw std::runtime_error(where + ": the response has no time or market column (header '" +
                                 std::string(body.substr(0, body.find('\n'))) + "')");
      field_cols.assign(kFieldCount, SIZE_MAX);
      for (std::size_t i = 0; i < kFieldCount; ++i) field_cols[i] = find(kFieldNames[i]);
      continue;
    }
    ++row;
    if (cells.size() != columns)
      throw std::runtime_error(where + ": response row " + std::to_string(row) + " has " +
                               std::to_string(cells.size()) + " columns, the header " + std::to_string(columns));
    Bar bar;
    bar.timeframe_s = timeframe_s_;
    const std::string& t = cells[time_col];
    const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), bar.open_time_s);
    if (ec != std::errc{} || ptr != t.data() + t.size() || t.empty())
      throw std::runtime_error(where + ": response row " + std::to_string(row) + ": unparsable time '" + t + "'");
    if (floor_div(bar.open_time_s, timeframe_s_) * timeframe_s_ != bar.open_time_s)
      throw std::runtime_error(where + ": response row " + std::to_string(row) + ": bar at " + t +
                               " is not aligned to " + query_.measurement);
    const std::string& name = cells[market_col];
    if (const auto it = market_ids_.find(name); it != market_ids_.end()) {
      bar.market = it->second;
    } else {
      // A market new to this source: interned after the chunk is read.
      const auto [f, added] = fresh_index.try_emplace(name, fresh.size());
      if (added)
        fresh.push_back({bar.open_time_s, name, row});
      else
        fresh[f->second].first_s = std::min(fresh[f->second].first_s, bar.open_time_s);
      patches.emplace_back(chunk_.size(), f->second);
    }
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      if (field_cols[i] == SIZE_MAX) continue;
      if (!parse_double(cells[field_cols[i]], bar.*kFields[i]))
        throw std::runtime_error(where + ": response row " + std::to_string(row) + ": unparsable " + kFieldNames[i] +
                                 " '" + cells[field_cols[i]] + "'");
    }
    chunk_.push_back(bar);
  }
  // New markets get their ids in (first open time, name) order, not in the
  // order the server listed the rows of one timestamp (which varies with
  // the query): ids order ties in the backtest (strategy/bar_source.h), so
  // the same data gives the same ids and the same result, whatever the
  // chunking; a 1 s or CSV source of the same bars numbers them the same.
  std::vector<std::size_t> order(fresh.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return fresh[a].first_s != fresh[b].first_s ? fresh[a].first_s < fresh[b].first_s : fresh[a].name < fresh[b].name;
  });
  std::vector<MarketId> ids(fresh.size());
  for (const std::size_t i : order) {
    try {
      ids[i] = market_ids_.emplace(fresh[i].name, registry_.intern(fresh[i].name)).first->second;
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where + ": response row " + std::to_string(fresh[i].row) + ": bad market '" +
                               fresh[i].name + "': " + e.what());
    }
  }
  for (const auto& [bar, f] : patches) chunk_[bar].market = ids[f];
}

bool InfluxBarSource::next(Bar& out) {
  while (next_ == chunk_.size()) {
    if (chunk_from_ >= query_.to_s) return false;
    load_chunk();  // an empty chunk (a gap in the data) just moves on
  }
  out = chunk_[next_++];
  return true;
}

double InfluxBarSource::progress() const noexcept {
  const std::int64_t span = query_.to_s - query_.from_s;
  if (span <= 0) return 1.0;
  double done = static_cast<double>(loaded_from_ - query_.from_s);
  if (!chunk_.empty())
    done += static_cast<double>(chunk_from_ - loaded_from_) * static_cast<double>(next_) /
            static_cast<double>(chunk_.size());
  else
    done = static_cast<double>(chunk_from_ - query_.from_s);
  return std::clamp(done / static_cast<double>(span), 0.0, 1.0);
}

}  // namespace tickflow
