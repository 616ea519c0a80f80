// pipeline/bar.h
//
// Bar: one market's trades over one aligned time window, in aggr-server's
// schema (../shared/docs/influxdb.md, "Schema"). The BarBuilder emits 1 s
// bars; rollups build every higher timeframe from those, never from trades.
//
// Promises:
//  * trivially copyable, so bars cross rings (aggregator -> writer) as-is;
//  * open_time_s is the window's start in UTC epoch seconds, aligned to the
//    timeframe (open_time_s % timeframe_s == 0);
//  * open/high/low/close are meaningful only when has_ohlc(): a bar whose
//    trades were all liquidations has none, and its line omits them;
//  * liquidations count only in lbuy/lsell, never in OHLC, v, c or q;
//  * counts are doubles because aggr-server writes them as floats, and the
//    field type of an InfluxDB series can never change.
#pragma once

#include <cstdint>
#include <type_traits>

#include "pipeline/market_id.h"

namespace tickflow {

enum BarFlags : std::uint8_t {
  kBarFinal = 0,              // the window closed; first emission
  kBarAmendment = 1u << 0,    // a late trade changed an already-emitted bar: this replaces it
  kBarProvisional = 1u << 1,  // the window is still open (rollups, on request)
};

struct Bar {
  std::int64_t open_time_s = 0;  // UTC epoch seconds, aligned to timeframe_s
  MarketId market = kInvalidMarket;
  std::uint32_t timeframe_s = 1;  // 1, 60, 300, ...
  std::uint8_t flags = kBarFinal;

  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  double vbuy = 0;  // Σ price * qty of taker buys (quote notional)
  double vsell = 0;
  double cbuy = 0;  // trade counts, as floats
  double csell = 0;
  double lbuy = 0;   // liquidation notional: buy-side liquidation orders (shorts liquidated)
  double lsell = 0;  // longs liquidated
  double qbuy = 0;   // Σ qty (base) of taker buys: tickflow's addition
  double qsell = 0;

  bool has_ohlc() const noexcept { return cbuy + csell > 0; }
  bool is_amendment() const noexcept { return (flags & kBarAmendment) != 0; }
  bool is_provisional() const noexcept { return (flags & kBarProvisional) != 0; }
};

static_assert(std::is_trivially_copyable_v<Bar>);
static_assert(sizeof(Bar) == 120, "layout change: check the aggregator -> writer ring's budget");

}  // namespace tickflow
