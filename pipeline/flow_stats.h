// pipeline/flow_stats.h
//
// FlowStats: the flow statistics engine. It takes every market's 1 s bars,
// sums them per symbol group and side (spot delta ds, perp delta df,
// volume, base quantity, price), rolls the sums up into each configured
// timeframe, and at each interval's close updates every group's
// statistics on that timeframe at once (pipeline/flow_series.h: CVDs,
// divergence, baselines and z-scores, EMA, VWAP, realized volatility,
// volume surge). SqueezeFlow reads one FlowSnapshot per group and
// timeframe; `tickflow replay --stats-out` writes every closed interval as
// CSV (pipeline/flow_stats_csv.h).
//
// How it is driven (one thread, the aggregator's):
//
//   FlowStats stats(SymbolGroups(registry), config);
//   for every 1 s bar the BarBuilder emits (final or amendment):
//     stats.add_bar(bar);
//   whenever every bar of the seconds before `t` has been emitted:
//     stats.advance_to(t, [&](std::size_t tf, std::int64_t open_time_s) { ... });
//   each strategy step, to see the still-open bars as provisional ones:
//     stats.preview();
//   at end of input:
//     stats.flush(on_close);
//
// Time. Seconds close strictly in order, each exactly once, also the empty
// ones: a group without bars in an interval has ds = df = volume = 0 for
// it, and its price carries. A group's price for a second is the
// volume-weighted mean of its markets' closes (spot and perp alike); for a
// longer interval, that of its last second with trades. An interval of a T-second timeframe is
// [k T, (k + 1) T) in epoch seconds and closes together with its last
// second; the first interval of each timeframe starts at the first second
// the engine saw, so it may be partial, as may the last one flush() closes.
// Bars may arrive in any order within the pending_seconds seconds after
// the oldest open second; a bar further ahead is dropped and counted
// (the caller is not advancing).
//
// Bars that change the past (amendments, late bars). The engine remembers
// each market's contribution to its last amendment_memory_s seconds, so a
// bar for a (market, second) it has already seen REPLACES the earlier one
// (its difference is applied): a re-sent or amended bar is never counted
// twice, as InfluxDB's last-write-wins makes the same bar exact there.
//  * second still open: the difference goes into that second;
//  * second already closed: the difference (delta, volume, quantity, not
//    the price) goes into every timeframe whose interval containing that
//    second is still open; intervals already closed keep the values they
//    were closed with, since CVDs, baselines and snapshots since then were
//    computed from them. Counted as `late`;
//  * second older than the market's memory, or no interval left open:
//    counted as `late_dropped` and ignored.
// All of this depends only on the order of calls, so replays are
// deterministic; within one second, sums are taken in arrival order.
//
// Promises:
//  * add_bar(), advance_to(), preview() never allocate and never throw
//    (callbacks aside); the constructor and refresh_markets() may;
//  * the SIMD and the scalar backend give the same snapshots, bit for bit
//    but for realized_vol (~1e-15 relative: see flow_series.h);
//  * a gap in the data costs one close per empty second (and one series
//    update per timeframe interval that ends in it), like any other second.
//  * group g's lane exists from construction on, so refresh_markets() can
//    add groups (up to the capacity) in the middle of a stream: a new
//    group's windows read as if it had had empty intervals all along.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/flow_series.h"
#include "pipeline/market_registry.h"
#include "pipeline/symbol_groups.h"

namespace tickflow {

struct FlowStatsConfig {
  // Timeframes in seconds, each its own FlowSeries; the order is the
  // timeframe index. No duplicates; each in [1, 604800].
  std::vector<std::uint32_t> timeframes_s = {1, 60, 300, 900, 1800, 3600, 14400};
  FlowSeriesConfig series;
  FlowBackend backend = FlowBackend::kSimd;
  // How far ahead of the oldest open second bars may arrive.
  std::uint32_t pending_seconds = 32;
  // Per market, how many recent seconds' contributions are remembered (at
  // least: rounded up to a power of two), so that an amended bar replaces
  // the earlier one. At least pending_seconds.
  std::uint32_t amendment_memory_s = 128;
  // Lanes kept for groups that refresh_markets() may add later (replay
  // registers markets as their first frames arrive).
  std::uint32_t min_group_capacity = 16;

  // Throws std::invalid_argument naming the bad field.
  void validate() const;
};

struct FlowStatsCounters {
  std::uint64_t bars = 0;             // add_bar() calls
  std::uint64_t replaced = 0;         // bars that replaced an earlier bar of the same market and second
  std::uint64_t late = 0;             // bars for a closed second, applied to the timeframes still open
  std::uint64_t late_dropped = 0;     // bars for a closed second that nothing could take (see the banner)
  std::uint64_t future_dropped = 0;   // bars pending_seconds or more ahead of the oldest open second
  std::uint64_t unknown_market = 0;   // market in no group (no base asset, or not refreshed yet)
  std::uint64_t other_timeframe = 0;  // bars that are not 1 s bars (the engine rolls up its own)
  std::uint64_t rejected = 0;         // non-finite fields, or an open time beyond +-2^40 s
  std::uint64_t after_flush = 0;      // bars after flush()
};

class FlowStats {
 public:
  // Throws std::invalid_argument for a bad config.
  FlowStats(const SymbolGroups& groups, FlowStatsConfig config);
  ~FlowStats();
  FlowStats(FlowStats&&) noexcept;
  FlowStats& operator=(FlowStats&&) noexcept;

  // Takes in markets registered since construction or the last call (see
  // SymbolGroups::refresh). Throws std::length_error, changing nothing,
  // when the groups would exceed the lanes (raise min_group_capacity).
  void refresh_markets(const MarketRegistry& registry);

  // A 1 s bar of one market, final or amended (see the banner).
  void add_bar(const Bar& bar) noexcept;

  // Closes every second before end_s (all of them, empty ones included),
  // and with them every timeframe interval that ends there. on_close(tf
  // index, interval open time) is called after each interval's snapshots
  // are updated, in time order, shorter timeframes first within a second.
  // It may read snapshots and add bars, not advance or flush.
  template <class OnClose>
  void advance_to(std::int64_t end_s, OnClose&& on_close) {
    while (close_next_second(end_s))
      for (const Closed& c : closed_) on_close(c.timeframe_index, c.open_time_s);
  }
  void advance_to(std::int64_t end_s) noexcept {
    advance_to(end_s, [](std::size_t, std::int64_t) {});
  }

  // Updates the snapshots of every timeframe whose open interval has closed
  // seconds, as if that interval closed now (FlowSnapshot::provisional),
  // without folding it into any window. The next close replaces them.
  void preview() noexcept;

  // End of input: closes every second up to the newest bar's, then the
  // partial interval of every timeframe. Later bars count as after_flush.
  template <class OnClose>
  void flush(OnClose&& on_close) {
    if (started_ && !flushed_) {
      advance_to(newest_second_ + 1, on_close);
      close_partial_intervals();
      for (const Closed& c : closed_) on_close(c.timeframe_index, c.open_time_s);
    }
    flushed_ = true;
  }
  void flush() noexcept {
    flush([](std::size_t, std::int64_t) {});
  }

  // Precondition: group < groups().size(), timeframe_index < timeframes().size().
  FlowSnapshot snapshot(GroupId group, std::size_t timeframe_index) const noexcept {
    return timeframes_[timeframe_index].series->snapshot(group);
  }
  std::optional<std::size_t> timeframe_index(std::uint32_t seconds) const noexcept;
  const std::vector<std::uint32_t>& timeframes() const noexcept { return config_.timeframes_s; }
  const SymbolGroups& groups() const noexcept { return groups_; }
  const FlowStatsConfig& config() const noexcept { return config_; }
  const FlowStatsCounters& counters() const noexcept { return counters_; }
  std::size_t group_capacity() const noexcept { return capacity_; }
  // The oldest second not closed yet; meaningful once started().
  std::int64_t next_second() const noexcept { return next_second_; }
  bool started() const noexcept { return started_; }

 private:
  struct Closed {
    std::size_t timeframe_index;
    std::int64_t open_time_s;
  };
  struct Contribution {
    double delta = 0;  // vbuy - vsell
    double volume = 0;
    double qty = 0;
    double close_volume = 0;  // close * volume, for the volume-weighted close
  };
  struct Remembered {
    std::int64_t second;
    Contribution c;
  };
  struct Timeframe {
    std::uint32_t seconds;
    std::int64_t open_s;       // start of the open interval
    std::int64_t end_s;        // its end (exclusive)
    bool has_seconds = false;  // a second of it has closed
    std::unique_ptr<FlowSeries> series;
  };
  enum Field : std::size_t { kDs, kDf, kVolume, kQty, kPriceOrCloseVolume, kFields };

  bool close_next_second(std::int64_t end_s) noexcept;
  void close_partial_intervals() noexcept;
  void commit(std::size_t timeframe_index) noexcept;
  void add_to_second(std::int64_t second, GroupMembership m, const Contribution& c) noexcept;
  bool add_to_open_intervals(std::int64_t second, GroupMembership m, const Contribution& c) noexcept;
  double* base(std::size_t slot, Field f) noexcept { return base_.data() + (slot * kFields + f) * lanes_; }
  double* pending(std::size_t tf, Field f) noexcept { return pending_.data() + (tf * kFields + f) * lanes_; }
  FlowIntervalInput input_of(std::size_t tf) noexcept;

  FlowStatsConfig config_;
  SymbolGroups groups_;
  std::size_t capacity_ = 0;                 // groups the lanes hold
  std::size_t lanes_ = 0;                    // capacity_ rounded up to kFlowLanePadding
  std::vector<GroupMembership> membership_;  // by MarketId

  // The seconds not closed yet: slot (second mod bit_ceil(pending_seconds)).
  std::size_t pending_mask_ = 0;
  std::vector<std::int64_t> slot_second_;  // kNoSecond when the slot is empty
  std::vector<double> base_;               // [slot][field][lane]; field 4 = close * volume
  std::size_t memory_slots_ = 0;           // bit_ceil(amendment_memory_s)
  std::vector<Remembered> memory_;         // [market][second mod memory_slots_]

  std::vector<Timeframe> timeframes_;
  std::vector<double> pending_;  // [tf][field][lane]; field 4 = the interval's price so far
  std::vector<double> second_price_;
  std::vector<Closed> closed_;

  bool started_ = false;
  bool closed_any_ = false;
  bool flushed_ = false;
  std::int64_t next_second_ = 0;
  std::int64_t newest_second_ = 0;
  FlowStatsCounters counters_;
};

}  // namespace tickflow
