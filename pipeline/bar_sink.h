// pipeline/bar_sink.h
//
// BarSink: where the aggregator's bar stages send what they produce. The
// BarBuilder emits 1 s bars into one; Rollups is one (it consumes 1 s bars)
// and emits its own bars into another; the writer side (line protocol to a
// file, later the InfluxDB sink) is one at the end of the chain.
//
// Promises a producer of bars keeps:
//  * every bar it emits is closed, provisional bars aside: the bar's window
//    ended and the market's watermark (or the clock) passed it, so a bar
//    flagged kBarFinal is the first emission of that window;
//  * a later emission for the same (market, timeframe, open_time_s) carries
//    kBarAmendment and replaces the earlier one completely (InfluxDB's
//    same-timestamp overwrite), so "last line wins" gives the true bar;
//  * on_closed(market, s) is called whenever the market's closed frontier
//    moves: every second before `s` is closed and its bar, if any, has been
//    emitted. It lets a downstream stage close its own windows even when
//    the last seconds had no trades;
//  * on_flow(record) carries one symbol group's flow statistics for one
//    closed interval of one timeframe (pipeline/flow_record.h); the
//    aggregator calls it once every market's bars of that interval have
//    been emitted (on_bar before on_flow). Sinks that
//    do not store statistics keep the default, which ignores it.
//
// Calls are virtual: bars are rare (at most one per market per second, plus
// rollups), so a virtual call per bar costs nothing that matters, and it
// keeps stages composable without templates leaking into every header.
#pragma once

#include <cstdint>

#include "pipeline/bar.h"
#include "pipeline/flow_record.h"

namespace tickflow {

class BarSink {
 public:
  virtual ~BarSink() = default;
  virtual void on_bar(const Bar& bar) = 0;
  virtual void on_closed(MarketId /*market*/, std::int64_t /*closed_until_s*/) {}
  virtual void on_flow(const FlowRecord& /*record*/) {}
};

}  // namespace tickflow
