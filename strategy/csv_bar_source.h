// strategy/csv_bar_source.h
//
// CsvBarSource: base bars from a CSV file, the backtester's small-data
// source (hand-made scenarios, exports, test fixtures). write_csv_bar() and
// write_csv_bar_header() produce the same format, so tests and tools write
// files this reads back exactly.
//
// Format (one header line, then one bar per line, comma-separated, no
// quoting; CRLF line ends and blank lines are tolerated):
//
//   time,market,timeframe,open,high,low,close,vbuy,vsell,cbuy,csell,lbuy,lsell[,qbuy,qsell]
//   1723161600,BINANCE:btcusdt,1s,61837.63,61837.64,61837.63,61837.64,123.5,0,3,0,0,0,0.002,0
//
//  * time: the bar's open, UTC epoch seconds, or ISO-8601 UTC
//    "2024-08-09T00:00:00Z"; aligned to the timeframe;
//  * market: an aggr-server name "EXCHANGE:pair", interned into the
//    registry (MarketRegistry::intern, so MarketClass classification and
//    class overrides apply);
//  * timeframe: "1s" or "1m" (also "1" or "60" seconds);
//  * the numbers are Bar's fields (pipeline/bar.h); the writer uses the
//    shortest round-trip form, so a write -> read round trip is exact;
//    qbuy/qsell are optional as a pair (absent: 0).
//
// Promises:
//  * the whole file is read and validated by the constructor; an error
//    throws std::runtime_error "<path>:<line>: <what>" for: a wrong header,
//    a wrong column count, an unparsable time or number, an unknown
//    timeframe, a bad market name, a bar not aligned to its timeframe, a
//    market's bars out of order or duplicated, one market with both 1s and
//    1m bars;
//  * markets may be interleaved in the file; next() yields in BarSource
//    order (visible time, then market id: strategy/bar_source.h), flags
//    kBarFinal.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/market_registry.h"
#include "strategy/bar_source.h"

namespace tickflow {

// The header line, newline included; with `base_volume` the qbuy,qsell
// columns too.
void write_csv_bar_header(std::FILE* out, bool base_volume = true);

// One bar line for `bar` (timeframe 1 or 60). Throws std::invalid_argument
// for another timeframe or a market name that would need CSV quoting
// (a comma, quote or line break).
void write_csv_bar(std::FILE* out, const Bar& bar, std::string_view market_name, bool base_volume = true);

class CsvBarSource final : public BarSource {
 public:
  // Reads and validates `path` (see the banner); throws std::runtime_error.
  CsvBarSource(std::string path, MarketRegistry& registry);

  // The reader points into bars_: not copyable or movable.
  CsvBarSource(const CsvBarSource&) = delete;
  CsvBarSource& operator=(const CsvBarSource&) = delete;

  bool next(Bar& out) override { return reader_.next(out); }
  double progress() const noexcept override { return reader_.progress(); }

  std::size_t size() const noexcept { return bars_.size(); }

 private:
  std::string path_;
  std::vector<Bar> bars_;  // BarSource order
  BarSpanSource reader_;
};

}  // namespace tickflow
