// pipeline/rollup.h
//
// Rollups: every higher timeframe (default 1m, 5m, 15m, 30m, 1h, 4h) built
// from base bars, never from trades: the BarBuilder's 1 s bars live, and in
// backtests either 1 s or 1 m bars per market (the backtester's sources,
// strategy/bar_source.h), so that derived bars come from the same code live
// and offline. Windows are aligned to
// UTC epoch boundaries (Timeframe::window_start). A rollup bar is:
//   open = the first child's open, high = max, low = min, close = the last
//   child's close, over the children that have OHLC (a child with only
//   liquidations has none, and neither has a window made only of such
//   children); vbuy/vsell, cbuy/csell, lbuy/lsell, qbuy/qsell = sums.
//
// Promises:
//  * exactness: a window's values are always the left fold of its 1 s
//    children in time order, so rolling the final 1 s bars up offline in
//    time order gives bit for bit the same bars, amendments included;
//  * a window is emitted once, kBarFinal, when the 1 s frontier passes its
//    end: on_closed() from the BarBuilder, or a 1 s bar of a later second
//    (a 1 s bar is only ever emitted for a closed second), or flush();
//  * an amended (or late) 1 s bar for a window already emitted re-emits the
//    window, recomputed, flagged kBarAmendment; for a window still open it
//    only updates what provisional() returns;
//  * provisional(market, tf) returns the open window the frontier is in,
//    flagged kBarProvisional, for the strategy; it covers the 1 s bars
//    closed so far.
//  * base interval, per market: the timeframe of its first bar, 1 s or,
//    with RollupConfig::minute_bases (backtests), 60 s. A 1 m base bar is a
//    child covering [open, open + 60): it moves the market's frontier to
//    open + 60 and folds into every timeframe that is a multiple of 60 (the
//    1m "rollup" of a 1m-base market is the bar itself, emitted like any
//    window so downstream sees 1m bars for every market); timeframes that
//    are not multiples of 60 are not produced for it. The promises above
//    hold for 1 m children as for 1 s ones. A bar of the other base for a
//    market (mixing would count trades twice) is refused and counted
//    (mixed_base_bars()); for 1 s markets nothing changes.
//
// How amendments stay exact without keeping every child of a 4h window:
// per market a ring holds the 1 s bars of the last `amend_horizon_s` seconds
// (the only ones the BarBuilder can still amend). Each live window keeps a
// checkpoint, the fold of its children that are older than that horizon,
// which never change again. Recomputing a window is checkpoint + fold of its
// children still in the ring; a child leaving the horizon is folded into its
// windows' checkpoints, in time order. Normal in-order bars are just folded
// into the window's running value.
//
// amend_horizon_s = 0 turns amendments off (every bar for an interval
// already passed is stale) and with them the checkpoints: each child is
// folded once. The strategy engine runs that way: it feeds final bars only.
//
// Otherwise amend_horizon_s must be at least the BarBuilder's (BarBuilder::
// amend_horizon_s()); a 1 s bar older than the horizon cannot be folded in
// exactly, and is counted (stale_bars()) and not propagated.
//
// Memory: state for max_markets markets, allocated up front; a market's
// rings (1 s children: ~120 KiB for the default horizon, and a few windows
// per timeframe) by add_market() or on its first bar. Not thread-safe:
// aggregator thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/bar_sink.h"
#include "pipeline/timeframe.h"

namespace tickflow {

struct RollupConfig {
  std::vector<Timeframe> timeframes = default_rollup_timeframes();
  std::size_t max_markets = 1024;
  std::int64_t amend_horizon_s = 600;
  // Accept 1 m base bars (the backtester's 1m-base markets). Off live: there
  // a 60 s bar reaching the rollups is a wiring mistake (rollup output fed
  // back in), ignored and counted as before.
  bool minute_bases = false;
};

struct RollupCounters {
  std::uint64_t bars = 0;        // emitted when the window closed
  std::uint64_t amendments = 0;  // emitted again, or late, after an amended or late 1 s bar
};

class Rollups final : public BarSink {
 public:
  // Throws std::invalid_argument for a timeframe of 1 s (that is the input),
  // a repeated timeframe, no markets, or a horizon outside 0 s to 1 day.
  Rollups(RollupConfig config, BarSink& out);
  ~Rollups() override;
  Rollups(const Rollups&) = delete;
  Rollups& operator=(const Rollups&) = delete;

  // A base bar (final or amendment): 1 s, or 60 s aligned to the minute
  // when config.minute_bases. Bars of another timeframe (60 s ones too
  // without minute_bases), a misaligned 60 s bar, or a market id >=
  // max_markets are ignored and counted (ignored_bars()); a bar whose
  // timeframe is not the market's base is refused and counted
  // (mixed_base_bars()).
  void on_bar(const Bar& bar) override;
  // Every second of `market` before `closed_until_s` is closed.
  void on_closed(MarketId market, std::int64_t closed_until_s) override;

  // The window of timeframes()[timeframe_index] that the market's frontier is
  // in, if any base bar has landed in it: kBarProvisional.
  std::optional<Bar> provisional(MarketId market, std::size_t timeframe_index) const;

  // End of input: every window not yet emitted and holding a child is
  // emitted, kBarFinal.
  void flush();

  // Restart: before the market's first bar, a previous run closed every
  // 1 s child before `frontier_s`, and open[k] is the fold of the children
  // of the timeframes()[k] window that `frontier_s` lies in (provisional()
  // of that run; nullopt: no child yet). The window continues from that
  // fold, so a window spanning the restart is the same left fold as
  // without one. Children before frontier_s are frozen: a bar for one is
  // stale. The market's base becomes 1 s.
  void resume(MarketId market, std::int64_t frontier_s, const std::vector<std::optional<Bar>>& open);

  // For a restart that replays the base bars from `from_s` on (the bus's
  // replay, runtime/bus_ingest.h): the fold of the children older than
  // `from_s` of the timeframes()[k] window that `from_s` lies in, which is
  // what resume(market, from_s, ...) continues from; nullopt when that
  // window has no such child. Exact while `from_s` is at or above the
  // market's frozen floor (frontier - amend_horizon_s); below it the
  // children in between were folded into the checkpoints already, and
  // nullopt is returned (the caller must not replay from there).
  std::optional<Bar> fold_before(MarketId market, std::size_t timeframe_index, std::int64_t from_s) const;

  // Allocates the market's rings now (at subscription), not on its first
  // bar. Optional.
  void add_market(MarketId market) {
    if (market < config_.max_markets) state(market);
  }

  const std::vector<Timeframe>& timeframes() const noexcept { return config_.timeframes; }
  const RollupCounters& counters(std::size_t timeframe_index) const noexcept { return counters_[timeframe_index]; }
  std::uint64_t stale_bars() const noexcept { return stale_bars_; }
  std::uint64_t ignored_bars() const noexcept { return ignored_bars_; }
  std::uint64_t mixed_base_bars() const noexcept { return mixed_base_bars_; }
  // The market's base interval in seconds (1 or 60), 0 before its first bar.
  std::uint32_t base_seconds(MarketId market) const noexcept {
    return market < markets_.size() ? markets_[market].base : 0;
  }

 private:
  struct Window {
    std::int64_t start;
    Bar checkpoint;  // fold of the children older than the market's frozen floor
    Bar acc;         // fold of all children: the window's current value
    std::uint32_t checkpoint_children = 0;
    std::uint32_t children = 0;
    std::int64_t last_child_s;
    bool closed = false;   // the frontier passed the end (or flush)
    bool emitted = false;  // some version went out
  };
  struct TimeframeState {
    std::unique_ptr<Window[]> windows;  // by (start / timeframe) & mask
    std::int64_t mask = 0;
    std::int64_t oldest_unclosed;  // start of the oldest window not closed, or kNone
    // The last window looked up: consecutive seconds mostly fall in it, and
    // finding it again then costs a compare instead of a 64-bit division.
    std::int64_t hint_start;
    Window* hint = nullptr;
  };
  struct MarketState {
    std::unique_ptr<Bar[]> children;  // base bars by second & child_mask_; open_time_s tells which
    std::int64_t frontier;            // seconds before it are closed
    std::int64_t floor;               // seconds before it are frozen into checkpoints
    std::int64_t newest;              // newest child second
    std::vector<TimeframeState> timeframes;
    std::uint32_t base = 0;  // children's timeframe, 1 or 60; 0 before the first bar
  };

  static void fold(Bar& acc, const Bar& child) noexcept;
  MarketState& state(MarketId market);
  // The window of timeframe k holding second `s`: created if `create`,
  // else nullptr when it has no record.
  Window* find_window(MarketState& m, std::size_t k, std::int64_t s, bool create);
  void recompute(const MarketState& m, Window& w, std::int64_t tf_s) const noexcept;
  void advance(MarketId market, MarketState& m, std::int64_t to);
  void close_windows(MarketId market, MarketState& m, std::size_t k, std::int64_t to);
  void emit(MarketId market, std::size_t k, Window& w, std::uint8_t flags);

  RollupConfig config_;
  BarSink& out_;
  std::int64_t child_mask_;
  std::vector<MarketState> markets_;
  std::vector<RollupCounters> counters_;
  std::vector<Window*> closing_;  // scratch for close_windows(), sized once
  std::uint64_t stale_bars_ = 0;
  std::uint64_t ignored_bars_ = 0;
  std::uint64_t mixed_base_bars_ = 0;
};

}  // namespace tickflow
