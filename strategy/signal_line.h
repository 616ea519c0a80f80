// strategy/signal_line.h
//
// A SqueezeFlow signal as one InfluxDB point (spec: "Signals", InfluxDB
// sink), written with LinePoint so the escaping rules are the same as every
// other point tickflow writes (../shared/docs/influxdb.md, "Line protocol"):
//
//   signals,action=LONG,base_symbol=BTC,strategy=SqueezeFlow,symbol=BTCUSDT
//   signal_id="1871ffaf-...",score=8.88,confidence=0.9,position_size_factor=1.5,
//   leverage=5,entry_price=60123.5,ttl=600i,spot_cvd=1200,perp_cvd=-300.25,
//   divergence=1500.25,reasoning="..." 1723161600            (one line, '\n')
//
// Why these choices:
//  * tags are what a dashboard groups or filters by (symbol, action, the
//    strategy, base_symbol); everything else is a field, so a signal never
//    creates series beyond symbol x action;
//  * the timestamp is the signal's time in seconds, the precision the bar
//    points use (write with precision=s, kSignalLinePrecision), so a signal
//    lines up with the bar it was emitted on;
//  * the point goes to the database's default retention policy
//    (kSignalRetentionPolicy, empty): signals are rare and worth keeping,
//    and the aggr_<tf> policies expire with their timeframe.
//
// Promises:
//  * a non-finite float field is left out rather than written (InfluxDB
//    rejects NaN/Inf and would drop the whole line), as the bar encoder does;
//  * base_symbol is left out when empty (an empty tag value is invalid);
//  * CR and LF in `reasoning` become spaces: InfluxDB 1.x ends a point at a
//    newline even inside a quoted string; `"` and `\` are escaped;
//  * a signal without a symbol is refused: false, nothing appended;
//  * appends to the caller's buffer and allocates nothing once it has room
//    (kSignalLineCapacity always suffices).
//
// Threads: pure function; the writer thread calls it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "strategy/signal.h"

namespace tickflow {

inline constexpr std::string_view kSignalMeasurement = "signals";
inline constexpr std::string_view kSignalLinePrecision = "s";
inline constexpr std::string_view kSignalRetentionPolicy = "";  // the database's default
// Enough for any signal: every string escaped to twice its length, plus the
// numbers and keys.
inline constexpr std::size_t kSignalLineCapacity = 2048;

// Appends the point and its '\n' to `out`. False (and `out` unchanged) when
// the point is refused.
bool append_signal_line(std::string& out, const Signal& s);

}  // namespace tickflow
