// pipeline/line_protocol.h
//
// The one encoder of bars as InfluxDB line protocol. `replay --bars-out`
// writes its output with it, and the InfluxDB sink sends the same bytes, so
// what tests check in a file is exactly what the database receives:
//
//   trades_1s,market=BINANCE:btcusdt open=61837.63,high=61837.64,low=61837.63,
//   close=61837.64,vbuy=..,vsell=..,cbuy=3,csell=1,lbuy=0,lsell=0,qbuy=..,
//   qsell=.. 1723161255                                 (one line, '\n' ends it)
//
// Promises (../shared/docs/influxdb.md, "Schema" and "Line protocol"):
//  * measurement trades_<timeframe name>, tag market, fields in the order
//    above, timestamp = the bar's open time in seconds (write with
//    precision=s);
//  * every field is a float, counts included: no `i` suffix, because
//    aggr-server's databases already typed them as floats;
//  * numbers are std::to_chars' shortest round-trip form, so parsing the line
//    gives back the exact doubles;
//  * open/high/low/close are left out when !bar.has_ohlc() (liquidations
//    only); qbuy/qsell are left out when LineProtocolOptions says so (strict
//    aggr-server output);
//  * a non-finite value (never produced from valid trades) is left out
//    rather than written: InfluxDB rejects NaN and Inf, and one bad field
//    must not lose the batch;
//  * the market tag value is escaped once per market (`,`, `=` and space get
//    a backslash), not per line; names are valid_market_name()s (the
//    registry refuses others), so every point is one InfluxDB accepts;
//  * encoding appends into the caller's buffer and allocates nothing once the
//    buffer has room.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/bar.h"

namespace tickflow {

struct LineProtocolOptions {
  bool base_volume = true;  // write qbuy/qsell (tickflow's fields); false: aggr-server's fields only
};

// `value` with `,`, `=` and space escaped for a tag key or value. InfluxDB
// (1.x line protocol) keeps every other backslash literally and unescapes
// only "\,", "\=" and "\ ", so a backslash in a name needs nothing and
// reads back as written: "X:a\,b" is sent as "X:a\\,b" and stored as
// "X:a\,b". Precondition: valid_market_name() (market_registry.h): no
// control characters, and no trailing backslash, which no escaping can
// carry (it would escape the delimiter after it: the point is rejected).
std::string escape_tag_value(std::string_view value);

// The longest line encode_bar_line() can write for an escaped market tag of
// `market_tag_bytes` bytes, newline included.
constexpr std::size_t max_bar_line_bytes(std::size_t market_tag_bytes) noexcept {
  // "trades_" + name (<= 11) + ",market=" + tag + " " + 12 fields of
  // "qsell=" (<= 6) + a double (<= 24) + "," + " " + int64 (<= 20) + "\n"
  return 7 + 11 + 8 + market_tag_bytes + 1 + 12 * (6 + 24 + 1) + 1 + 20 + 1;
}

// Writes one line for `bar` at `out`, which has at least
// max_bar_line_bytes(market_tag.size()) bytes; returns the end of the line.
// `market_tag` is the already escaped tag value (escape_tag_value()).
char* encode_bar_line(char* out, const Bar& bar, std::string_view market_tag,
                      const LineProtocolOptions& options = {}) noexcept;

// The same, appended to `out` (no allocation when its capacity suffices).
void append_bar_line(std::string& out, const Bar& bar, std::string_view market_tag,
                     const LineProtocolOptions& options = {});

// Per-market escaped tags and the options, for a writer that encodes many
// bars: set_market() once per market (configuration time, allocates), then
// append() per bar.
class BarLineEncoder {
 public:
  explicit BarLineEncoder(LineProtocolOptions options = {}) : options_(options) {}

  void set_market(MarketId market, std::string_view name);
  bool has_market(MarketId market) const noexcept { return market < tags_.size() && !tags_[market].empty(); }

  // Precondition: has_market(bar.market).
  void append(std::string& out, const Bar& bar) const { append_bar_line(out, bar, tags_[bar.market], options_); }
  const LineProtocolOptions& options() const noexcept { return options_; }

 private:
  LineProtocolOptions options_;
  std::vector<std::string> tags_;  // by market id; empty: unknown
};

}  // namespace tickflow
