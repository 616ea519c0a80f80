// strategy/timeframe_series.h
//
// TimeframeSeries: one timeframe's trailing history for one symbol group,
// as SqueezeFlow's phases read it: per bar the merged price (OHLC), the spot
// delta ds = Σ_spot (vbuy − vsell), the perp delta df, total volume and
// liquidations, plus the still-open window as a provisional newest bar.
// What a bar adds to ds, df and volume is pipeline/bar_flow.h's, the same
// definition FlowStats uses.
//
// Why not FlowStats (pipeline/flow_stats.h)? It keeps rolling statistics
// (CVD, baselines, z-scores) per group, but not the per-bar history the
// phases index into: prices at lags 5/10/15/20, wicks against bars
// [−15, −5), least squares over |D|, the 50-bar median range, and D with
// the anchor the spec fixes. Those need the bars themselves, so this class
// keeps a fixed ring of them; it takes rollup bars (pipeline/rollup.h), the
// same input FlowStats sums.
//
// CVD anchor. Cs at bar i is Σ ds from the oldest bar of the history to i
// (the spec: "cumsum from the start of that timeframe's history"). Each bar
// stores a running total since construction; cs(k) subtracts the total
// before the oldest bar, so every read is O(1) and one evaluation sees one
// anchor throughout. Changes of a CVD are anchor-free (cum_spot_delta()).
//
// Price merge across markets: open and close are the volume-weighted means
// of the markets' opens and closes (markets quote in USD, USDT, USDC: a
// "last" close would jump between them), high = max, low = min. A window
// without trades carries the previous close as its OHLC.
//
// Promises:
//  * add(), close_until(), add_provisional() never allocate: the ring is
//    allocated by the constructor;
//  * bars of one market arrive per window in time order; a bar for a window
//    already committed (an amendment, a late bar) is counted and ignored,
//    since the phases' state already read the committed one;
//  * back(0) is the provisional bar when one is set, else the newest closed.
// Threads: one (the aggregator's), like every stage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "pipeline/bar.h"
#include "pipeline/compensated_sum.h"
#include "pipeline/market_class.h"

namespace tickflow {

struct SeriesBar {
  std::int64_t open_time_s = 0;
  double open = 0, high = 0, low = 0, close = 0;
  double ds = 0;      // spot delta
  double df = 0;      // perp delta
  double volume = 0;  // Σ (vbuy + vsell), both sides
  double liq = 0;     // Σ (lbuy + lsell)
  double cum_ds = 0;  // running Σ ds since construction, this bar included
  double cum_df = 0;
};

// What one window sums to before it becomes a SeriesBar.
class WindowSum {
 public:
  void add(const Bar& bar, MarketClass side) noexcept;
  bool empty() const noexcept { return bars_ == 0; }
  // The window's bar; `prev_close` prices a window without trades.
  SeriesBar to_bar(std::int64_t open_time_s, double prev_close) const noexcept;
  void clear() noexcept { *this = WindowSum{}; }

 private:
  double wopen_ = 0, wclose_ = 0, wvol_ = 0;  // Σ open·v, Σ close·v, Σ v over markets with trades
  double high_ = 0, low_ = 0;
  bool has_price_ = false;
  double ds_ = 0, df_ = 0, volume_ = 0, liq_ = 0;
  std::uint32_t bars_ = 0;
};

class TimeframeSeries {
 public:
  // Throws std::invalid_argument when timeframe_s is 0 or capacity < 2.
  TimeframeSeries(std::uint32_t timeframe_s, std::size_t capacity);

  std::uint32_t timeframe_s() const noexcept { return timeframe_s_; }
  std::size_t capacity() const noexcept { return capacity_; }

  // --- Feeding ---
  // A closed rollup bar of one market of the group (bar.timeframe_s must be
  // this timeframe; the caller routes). Goes into the open window's sum.
  void add(const Bar& bar, MarketClass side) noexcept;
  // Every window ending at or before `closed_until_s` is complete: commits
  // the pending window, and empty windows for gaps (price carried).
  void close_until(std::int64_t closed_until_s) noexcept;
  // A closed bar built elsewhere (tests, backtests from summed data).
  // Precondition: open_time_s is after the newest committed bar's.
  void push(const SeriesBar& bar) noexcept;
  // The still-open window, market by market: clear, then add each market's
  // Rollups::provisional() bar.
  void clear_provisional() noexcept;
  void add_provisional(const Bar& bar, MarketClass side) noexcept;
  // The same in one pass, for the engine's every-second refresh: begin,
  // sum each market's bar, end. Equal, to the bit, to clear + add per bar
  // (the provisional bar is the window sum's to_bar() either way), but the
  // bar is built and the view refreshed once, not once per market.
  void begin_provisional() noexcept {
    has_provisional_ = false;
    provisional_start_ = INT64_MIN;
    provisional_sum_.clear();
  }
  void sum_provisional(const Bar& bar, MarketClass side) noexcept {
    if (bar.open_time_s < next_start_) return;  // already committed: not provisional any more
    if (bar.open_time_s != provisional_start_) {
      provisional_sum_.clear();
      provisional_start_ = bar.open_time_s;
    }
    provisional_sum_.add(bar, side);
  }
  void end_provisional() noexcept {
    if (provisional_start_ != INT64_MIN)
      set_provisional(provisional_sum_.to_bar(provisional_start_, last_close_));
    else
      refresh_view();
  }
  // Or the provisional bar whole (ds, df, volume, OHLC; cum_* are derived).
  void set_provisional(const SeriesBar& bar) noexcept;

  // --- Reading (k = 0 is the newest bar, provisional included) ---
  std::size_t size() const noexcept { return committed_ + (has_provisional_ ? 1 : 0); }
  std::size_t closed_size() const noexcept { return committed_; }
  bool has_provisional() const noexcept { return has_provisional_; }
  // Precondition: k < size().
  const SeriesBar& back(std::size_t k) const noexcept { return newest_[-static_cast<std::ptrdiff_t>(k)]; }
  double close(std::size_t k) const noexcept { return back(k).close; }
  // CVDs and D = Cs − Cf, anchored at the start of the trailing history.
  double cs(std::size_t k) const noexcept { return back(k).cum_ds - anchor_ds_; }
  double cf(std::size_t k) const noexcept { return back(k).cum_df - anchor_df_; }
  double d(std::size_t k) const noexcept { return cs(k) - cf(k); }
  // ΔCs and ΔCf over `bars` bars: C(0) − C(bars). Precondition: bars < size().
  double spot_change(std::size_t bars) const noexcept { return back(0).cum_ds - back(bars).cum_ds; }
  double perp_change(std::size_t bars) const noexcept { return back(0).cum_df - back(bars).cum_df; }
  // Signed price change (C_0 − C_k) / C_k. Precondition: k < size().
  double momentum(std::size_t k) const noexcept;
  // Mean of (high − low) over every bar of the history (O(1): a running sum).
  double mean_bar_range() const noexcept;

  // Amendments and late bars ignored (see the banner).
  std::uint64_t ignored_bars() const noexcept { return ignored_; }

 private:
  // Re-derives newest_ and the CVD anchors after the history changed.
  void refresh_view() noexcept;
  void commit(SeriesBar bar) noexcept;
  void fill_gaps_before(std::int64_t start) noexcept;

  std::uint32_t timeframe_s_;
  std::size_t capacity_;
  std::size_t mask_;
  // Mirrored ring: the bar of slot p (mod M, M = mask_ + 1 > capacity) is
  // written at ring_[p] and ring_[p + M], so the last M bars are always
  // contiguous, ending at ring_[p + M], and back(k) is one load with no
  // wrap test. ring_[p + M + 1] (2M + 1 slots) holds the provisional bar:
  // that slot belongs to no bar of the history (which is at most M − 1
  // long), and the next commit there rewrites it anyway.
  std::unique_ptr<SeriesBar[]> ring_;
  const SeriesBar* newest_ = nullptr;  // back(0)
  std::size_t head_ = 0;               // next slot (monotonic; masked on use)
  double anchor_ds_ = 0;               // Σ ds before the oldest bar of the history
  double anchor_df_ = 0;
  std::size_t committed_ = 0;
  // Σ (high − low) over the committed bars: compensated, since every range
  // is added once and subtracted once, for months.
  CompensatedSum<double> range_sum_;

  std::int64_t pending_start_ = INT64_MIN;  // window the pending sum belongs to
  WindowSum pending_;
  std::int64_t next_start_ = INT64_MIN;  // first window not committed yet
  double last_close_ = 0;
  double cum_ds_ = 0, cum_df_ = 0;

  bool has_provisional_ = false;
  std::int64_t provisional_start_ = INT64_MIN;
  WindowSum provisional_sum_;
  std::uint64_t ignored_ = 0;
};

}  // namespace tickflow
