#include "strategy/influx_csv.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace tickflow {
namespace {

std::string quote(std::string_view s, char q) {
  std::string out(1, q);
  for (const char c : s) {
    if (c == q || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back(q);
  return out;
}

}  // namespace

std::string influxql_string(std::string_view s) { return quote(s, '\''); }

std::string influxql_identifier(std::string_view s) { return quote(s, '"'); }

std::string influx_url_for_messages(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos || url.find('/', scheme + 3) < at) return url;
  return url.substr(0, scheme + 3) + url.substr(at + 1);
}

bool read_csv_record(std::string_view body, std::size_t& pos, std::vector<std::string>& cells) {
  cells.clear();
  if (pos >= body.size()) return false;
  std::string cell;
  bool quoted = false;
  while (pos < body.size()) {
    const char c = body[pos++];
    if (quoted) {
      if (c != '"') {
        cell.push_back(c);
      } else if (pos < body.size() && body[pos] == '"') {
        cell.push_back('"');
        ++pos;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      cell.push_back(c);
    }
  }
  cells.push_back(std::move(cell));
  return true;
}

std::size_t CsvTable::column(std::string_view name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? SIZE_MAX : static_cast<std::size_t>(it - header.begin());
}

std::vector<CsvTable> parse_csv_tables(std::string_view body) {
  std::vector<CsvTable> tables;
  std::vector<std::string> cells;
  std::size_t pos = 0;
  bool header = true;
  while (read_csv_record(body, pos, cells)) {
    if (cells.size() == 1 && cells[0].empty()) {
      header = true;
    } else if (header) {
      if (cells.size() == 1 && cells[0] == "error") {
        const bool message = read_csv_record(body, pos, cells);
        throw std::runtime_error("InfluxDB error: " + (message ? cells[0] : std::string()));
      }
      tables.push_back({std::move(cells), {}});
      cells = {};
      header = false;
    } else {
      tables.back().rows.push_back(std::move(cells));
      cells = {};
    }
  }
  return tables;
}

}  // namespace tickflow
