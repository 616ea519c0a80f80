#include "strategy/csv_bar_source.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unordered_map>

#include "strategy/utc_time.h"

namespace tickflow {
namespace {

constexpr std::string_view kHeader = "time,market,timeframe,open,high,low,close,vbuy,vsell,cbuy,csell,lbuy,lsell";
constexpr std::string_view kBaseVolume = ",qbuy,qsell";
constexpr std::size_t kColumns = 13;

// The numeric columns after time, market and timeframe, in file order.
constexpr const char* kNumberNames[] = {"open", "high",  "low",  "close", "vbuy", "vsell",
                                        "cbuy", "csell", "lbuy", "lsell", "qbuy", "qsell"};
double Bar::*const kNumberFields[] = {&Bar::open, &Bar::high,  &Bar::low,  &Bar::close, &Bar::vbuy, &Bar::vsell,
                                      &Bar::cbuy, &Bar::csell, &Bar::lbuy, &Bar::lsell, &Bar::qbuy, &Bar::qsell};

void put_number(std::string& line, double v) {
  char buf[32];
  line.push_back(',');
  line.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

std::string_view timeframe_name(std::uint32_t timeframe_s) {
  if (timeframe_s == 1) return "1s";
  if (timeframe_s == 60) return "1m";
  return {};
}

bool parse_int(std::string_view text, std::int64_t& out) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end && !text.empty();
}

bool parse_time(std::string_view text, std::int64_t& out) {
  return parse_int(text, out) || parse_iso8601_utc(text, out);
}

std::uint32_t parse_base(std::string_view text) {
  if (text == "1s" || text == "1") return 1;
  if (text == "1m" || text == "60") return 60;
  return 0;
}

struct MarketSeen {
  std::int64_t last_open;
  std::size_t last_line;
  std::uint32_t base;
  std::size_t base_line;  // the line that set the base
};

}  // namespace

void write_csv_bar_header(std::FILE* out, bool base_volume) {
  std::string line(kHeader);
  if (base_volume) line += kBaseVolume;
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out);
}

void write_csv_bar(std::FILE* out, const Bar& bar, std::string_view market_name, bool base_volume) {
  const std::string_view tf = timeframe_name(bar.timeframe_s);
  if (tf.empty())
    throw std::invalid_argument("write_csv_bar: base bars are 1s or 1m, got timeframe " +
                                std::to_string(bar.timeframe_s) + " s");
  if (market_name.empty() || market_name.find_first_of(",\"\r\n") != std::string_view::npos)
    throw std::invalid_argument("write_csv_bar: market name '" + std::string(market_name) +
                                "' is empty or would need CSV quoting");
  std::string line = std::to_string(bar.open_time_s);
  line.push_back(',');
  line += market_name;
  line.push_back(',');
  line += tf;
  const std::size_t fields = base_volume ? 12 : 10;
  for (std::size_t i = 0; i < fields; ++i) put_number(line, bar.*kNumberFields[i]);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out);
}

CsvBarSource::CsvBarSource(std::string path, MarketRegistry& registry) : path_(std::move(path)) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the bars CSV '" + path_ + "': " + std::strerror(errno));
  auto fail = [&](std::size_t line, const std::string& what) {
    throw std::runtime_error(path_ + ":" + std::to_string(line) + ": " + what);
  };

  std::string text;
  std::size_t line_no = 0;
  std::size_t columns = 0;
  std::vector<std::string_view> cells;
  std::unordered_map<MarketId, MarketSeen> seen;
  while (std::getline(in, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (columns == 0) {
      if (text == kHeader)
        columns = kColumns;
      else if (text == std::string(kHeader) + std::string(kBaseVolume))
        columns = kColumns + 2;
      else
        fail(line_no, "expected the header '" + std::string(kHeader) + "' (optionally followed by '" +
                          std::string(kBaseVolume) + "'), got '" + text + "'");
      continue;
    }
    if (text.empty()) continue;

    cells.clear();
    std::string_view rest(text);
    for (;;) {
      const auto comma = rest.find(',');
      cells.push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (cells.size() != columns)
      fail(line_no, "expected " + std::to_string(columns) + " columns, got " + std::to_string(cells.size()));

    Bar bar;
    if (!parse_time(cells[0], bar.open_time_s))
      fail(line_no, "unparsable time '" + std::string(cells[0]) + "' (expected epoch seconds or YYYY-MM-DDTHH:MM:SSZ)");
    const std::string_view market_name = cells[1];
    try {
      bar.market = registry.intern(market_name);
    } catch (const std::invalid_argument& e) {
      fail(line_no, "bad market '" + std::string(market_name) + "': " + e.what());
    }
    bar.timeframe_s = parse_base(cells[2]);
    if (bar.timeframe_s == 0)
      fail(line_no, "unknown timeframe '" + std::string(cells[2]) + "' (expected 1s, 1m, 1 or 60)");
    for (std::size_t i = 0; i + 3 < columns; ++i) {
      const std::string_view cell = cells[i + 3];
      double v = 0;
      const auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
      if (ec != std::errc{} || ptr != cell.data() + cell.size() || cell.empty() || !std::isfinite(v))
        fail(line_no, "unparsable number '" + std::string(cell) + "' in column " + kNumberNames[i]);
      bar.*kNumberFields[i] = v;
    }
    if (bar.open_time_s % bar.timeframe_s != 0)
      fail(line_no, "bar at " + std::to_string(bar.open_time_s) + " is not aligned to its timeframe " +
                        std::string(timeframe_name(bar.timeframe_s)));

    const auto [it, first] =
        seen.try_emplace(bar.market, MarketSeen{bar.open_time_s, line_no, bar.timeframe_s, line_no});
    if (!first) {
      MarketSeen& m = it->second;
      if (m.base != bar.timeframe_s)
        fail(line_no, std::string(market_name) + " has a " + std::string(timeframe_name(bar.timeframe_s)) +
                          " bar but " + std::string(timeframe_name(m.base)) + " bars from line " +
                          std::to_string(m.base_line) + ": one base timeframe per market");
      if (bar.open_time_s == m.last_open)
        fail(line_no, std::string(market_name) + " bar at " + std::to_string(bar.open_time_s) + " duplicates line " +
                          std::to_string(m.last_line));
      if (bar.open_time_s < m.last_open)
        fail(line_no, std::string(market_name) + " bar at " + std::to_string(bar.open_time_s) +
                          " is out of order: line " + std::to_string(m.last_line) + " has " +
                          std::to_string(m.last_open) + " (each market's bars must be in time order)");
      m.last_open = bar.open_time_s;
      m.last_line = line_no;
    }
    bars_.push_back(bar);
  }
  if (columns == 0) fail(1, "empty file, expected the header '" + std::string(kHeader) + "'");
  std::stable_sort(bars_.begin(), bars_.end(), visible_before);
  reader_ = BarSpanSource(bars_);
}

}  // namespace tickflow
