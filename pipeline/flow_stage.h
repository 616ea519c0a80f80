// pipeline/flow_stage.h
//
// FlowStage: the flow statistics as a stage of the aggregator's bar chain.
// It owns a FlowStats (pipeline/flow_stats.h) over the registry's symbol
// groups, takes every 1 s bar and closed frontier the BarBuilder emits,
// closes the seconds every market has finished, and hands one FlowRecord
// (pipeline/flow_record.h) per group for every interval of every timeframe
// that closes to its output BarSink (on_flow): the writer thread's ring
// live, the same Aggregator's output in replay, where the clock is the
// events' own.
//
//   1 s bars, frontiers --> FlowStage --> FlowStats (SIMD across groups)
//                                     \-> output.on_flow(record) per group per closed interval
//
// When a second closes. Every second before the LOWEST closed frontier
// among the markets seen (add_market) is final: no market will emit a bar
// for it any more (amendments aside, which FlowStats applies to the
// intervals still open). A market seen that has not closed a second yet
// holds every other back, since its first bars may be older than their
// frontiers (feeds connect and catch up at different speeds). poll() advances FlowStats there; the aggregator
// calls it after every batch and every wake, so a second's statistics are
// out within one poll of the last market closing it. Frontiers are kept
// per market and the lowest is found by a scan of the markets seen when
// one has moved: markets are tens to hundreds, polls are ~one per batch.
// A market whose frontier lags (it stalls, or its exchange lags) holds
// the statistics back only until a bar pending_seconds ahead arrives (the
// aggregator keeps 512 s, against feeds far apart when captures replay
// faster than real time):
// on_bar() then closes what lies further back, so no bar is ever dropped
// as too far ahead. A jump of more than a week (a corrupt timestamp) moves
// the clock only when the bar before confirms it (kMaxJumpS).
//
// Start-up. Feeds connect one after another, and a feed that connects
// late may start with seconds the others have closed already (its
// markets are not even registered yet: parsers register them from their
// first frames). So nothing closes during the first `startup_hold_ns` of
// the caller's clock (poll(now_ns): wall time live, receive time in
// replay; 10 s by default), while bars gather in the pending window; a
// feed later than that counts as a late-joining one, whose first bars for
// seconds already closed go to the intervals still open (counted as late
// in FlowStats). Markets seen later join the lowest frontier when they
// first close a second.
//
// Markets arrive over time (replay registers them as their first frames
// come): add_market() refreshes the groups (FlowStats::refresh_markets).
// When the groups outgrow the lanes (FlowStatsConfig::min_group_capacity)
// the refresh is refused and counted (groups_refused), the new market's
// bars count as unknown_market in FlowStats, and the stage goes on.
//
// Promises:
//  * on_bar(), on_closed(), poll() allocate nothing (the output aside);
//    the constructor and add_market() may;
//  * records for one interval come in group-id order, after every market's
//    bars of the interval were emitted; intervals in FlowStats' order
//    (time order, shorter timeframes first within a second);
//  * the records depend only on the bars, frontiers and the order of calls,
//    so a replay gives the same records every time.
// Threads: one (the aggregator's).
#pragma once

#include <cstdint>
#include <vector>

#include "pipeline/bar_sink.h"
#include "pipeline/flow_record.h"
#include "pipeline/flow_stats.h"
#include "pipeline/market_registry.h"

namespace tickflow {

struct FlowStageCounters {
  std::uint64_t records = 0;         // on_flow() calls
  std::uint64_t groups_refused = 0;  // refreshes refused: more groups than lanes
  std::uint64_t names_too_long = 0;  // groups skipped: base asset longer than kFlowGroupNameMax
};

class FlowStage {
 public:
  static constexpr std::int64_t kMaxJumpS = 7 * 86'400;
  static constexpr std::int64_t kDefaultStartupHoldNs = 10'000'000'000;

  // Frontiers for market ids below max_markets. Throws
  // std::invalid_argument for a bad config.
  FlowStage(const MarketRegistry& registry, FlowStatsConfig config, std::size_t max_markets, BarSink& output,
            std::int64_t startup_hold_ns = kDefaultStartupHoldNs);

  // A market's first event (its registry entry exists): refreshes the groups.
  void add_market(MarketId market);

  // A 1 s bar (final or amendment); other timeframes and provisional bars are ignored.
  void on_bar(const Bar& bar);
  void on_closed(MarketId market, std::int64_t closed_until_s) noexcept;
  // Closes every second before the lowest frontier (see the banner).
  // `now_ns` is the aggregator's clock, for the start-up hold only.
  void poll(std::int64_t now_ns);
  // End of input: closes everything, partial intervals included (FlowStats::flush).
  void flush();

  const FlowStats& stats() const noexcept { return stats_; }
  const FlowStageCounters& counters() const noexcept { return counters_; }

 private:
  void advance_to(std::int64_t end_s);
  bool still_holding(std::int64_t now_ns);
  void emit(std::size_t timeframe_index);

  const MarketRegistry& registry_;
  FlowStats stats_;
  BarSink& output_;
  std::vector<FlowRecord> named_;       // per group: its name filled in, the rest per record
  std::vector<std::uint8_t> emitted_;   // per group: 1 when its name fits a record
  std::vector<std::int64_t> frontier_;  // per market id, kNoFrontier before its first
  std::size_t markets_ = 0;             // frontier_ entries in use (ids seen + 1)
  bool frontier_moved_ = false;
  std::int64_t startup_hold_ns_;
  bool holding_ = true;  // start-up hold (see the banner)
  bool hold_started_ = false;
  std::int64_t hold_since_ns_ = 0;
  std::int64_t previous_bar_s_ = 0;
  FlowStageCounters counters_;
};

}  // namespace tickflow
