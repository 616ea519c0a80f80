// pipeline/flow_series.h
//
// FlowSeries: one timeframe's flow statistics for every symbol group at
// once. Each update() takes one interval (a closed bar, or the still-open
// bar as a provisional one) of every group, as structure-of-arrays, and
// advances every group's windows: the groups are the SIMD lanes. FlowStats
// (pipeline/flow_stats.h) builds the intervals from 1 s bars and owns one
// FlowSeries per timeframe; the strategy reads FlowSnapshots.
//
// Per group g and interval t, with ds = sum over g's spot markets of
// (vbuy - vsell), df the same over its perp markets:
//
//   cvd_spot  Cs = sum of ds over the last cvd_window intervals (kRolling,
//             the strategy's trailing history), or over every interval
//             opening at or after cvd_anchor_s (kAnchored)
//   cvd_perp  Cf likewise;  divergence D = Cs - Cf (spot minus perp, always)
//   x_mean, x_std, x_z for x in {ds, df, D, |D|}: the mean and sample std
//             of the stats_window intervals BEFORE t (the baseline), and
//             z = (x_t - mean) / std: "against the previous 20 bars"
//   close     the group's price: see FlowIntervalInput::price; carried
//             forward through intervals without trades
//   ema       EMA of close, alpha = 2 / (ema_span + 1)
//   vwap      sum(vbuy + vsell) / sum(qbuy + qsell) over the last vwap_window
//             intervals, t included
//   realized_vol  sqrt(sum r^2) over the last vol_window log returns of close
//   volume_surge  mean volume of the last surge_short intervals / mean of
//             the last surge_long, t included
//
// Promises:
//  * two implementations, one semantics: kSimd (std::experimental::simd
//    across groups, windows stored structure-of-arrays) and kScalar (one
//    group at a time, built from pipeline/rolling_window.h). They perform
//    the same IEEE operations in the same order per group, so their
//    snapshots agree bit for bit, except realized_vol, whose logs come from
//    pipeline/vector_log.h and glibc respectively (1 ulp apart): ~1e-15
//    relative (tests/unit/pipeline/flow_stats_test.cc);
//  * update(..., commit = false) computes exactly the snapshot a commit of
//    the same interval would, and changes no window: the provisional bar;
//  * O(1) per group per update, no allocation, no exception after
//    construction (the mean/std baselines add an O(stats_window) re-sum
//    every stats_window commits: see rolling_window.h, "Numerical
//    stability", which applies here unchanged);
//  * undefined statistics are NaN, never 0: a baseline with fewer than 2
//    intervals, a VWAP without volume, the EMA before the first price.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

namespace tickflow {

enum class CvdMode : std::uint8_t {
  kRolling = 0,   // sum over the trailing cvd_window intervals (default; what the strategy uses)
  kAnchored = 1,  // cumulative since cvd_anchor_s
};

enum class FlowBackend : std::uint8_t { kSimd = 0, kScalar = 1 };

struct FlowSeriesConfig {
  CvdMode cvd_mode = CvdMode::kRolling;
  std::uint32_t cvd_window = 100;                                        // intervals: the strategy's trailing history
  std::int64_t cvd_anchor_s = std::numeric_limits<std::int64_t>::min();  // kAnchored only
  std::uint32_t stats_window = 20;                                       // baseline intervals for mean/std/z
  double ema_span = 20;
  std::uint32_t vwap_window = 20;
  std::uint32_t vol_window = 20;
  std::uint32_t surge_short = 5;
  std::uint32_t surge_long = 20;

  // Throws std::invalid_argument naming the bad field: every window >= 1,
  // stats_window >= 2, surge_short <= surge_long, ema_span >= 1 (finite).
  void validate() const;
};

// Every array holds one entry per lane: at least round_up(groups, kFlowLanePadding)
// entries, the ones past `groups` zero. Entry g is group g.
inline constexpr std::size_t kFlowLanePadding = 8;  // lanes of the widest vector (AVX-512, 8 doubles)

struct FlowIntervalInput {
  const double* ds = nullptr;      // spot delta, quote notional
  const double* df = nullptr;      // perp delta
  const double* volume = nullptr;  // sum (vbuy + vsell), spot and perp
  const double* qty = nullptr;     // sum (qbuy + qsell), base units
  // The group's price at the interval's end: the volume-weighted mean of
  // its markets' closes over the last second that had trades. Not > 0
  // (0, NaN): no trade in the interval, the previous close carries.
  const double* price = nullptr;
};

// One group's statistics on one timeframe, as of the newest interval.
struct FlowSnapshot {
  std::int64_t open_time_s = std::numeric_limits<std::int64_t>::min();  // the newest interval's start
  std::uint32_t timeframe_s = 0;
  bool provisional = false;  // the newest interval is still open (FlowStats::preview)
  std::uint64_t bars = 0;    // intervals committed so far

  double ds = 0, df = 0;  // the newest interval's deltas
  double cvd_spot = 0, cvd_perp = 0, divergence = 0;
  double volume = 0;
  double close = std::numeric_limits<double>::quiet_NaN();
  // Baselines: the stats_window intervals before the newest one.
  double ds_mean = 0, ds_std = 0, ds_z = 0;
  double df_mean = 0, df_std = 0, df_z = 0;
  double d_mean = 0, d_std = 0, d_z = 0;
  double absd_mean = 0, absd_std = 0, absd_z = 0;
  double ema = 0, vwap = 0, realized_vol = 0, volume_surge = 0;
};

class FlowSeries {
 public:
  virtual ~FlowSeries() = default;
  FlowSeries(const FlowSeries&) = delete;
  FlowSeries& operator=(const FlowSeries&) = delete;

  // Folds one interval of every group into the windows (commit) or only
  // computes the snapshots it would give (provisional). `open_time_s` is
  // the interval's start; with kAnchored, intervals opening before
  // cvd_anchor_s do not count towards the CVDs.
  virtual void update(const FlowIntervalInput& in, std::int64_t open_time_s, bool commit) noexcept = 0;

  // Precondition: group < groups(). Before the first update: a default
  // FlowSnapshot with timeframe_s set.
  virtual FlowSnapshot snapshot(std::size_t group) const noexcept = 0;

  std::size_t groups() const noexcept { return groups_; }
  std::uint32_t timeframe_s() const noexcept { return timeframe_s_; }
  std::uint64_t bars() const noexcept { return bars_; }

 protected:
  FlowSeries(std::size_t groups, std::uint32_t timeframe_s) : groups_(groups), timeframe_s_(timeframe_s) {}
  std::size_t groups_;
  std::uint32_t timeframe_s_;
  std::uint64_t bars_ = 0;  // committed intervals
};

// Throws std::invalid_argument for a bad config (see validate()).
std::unique_ptr<FlowSeries> make_flow_series(FlowBackend backend, std::size_t groups, std::uint32_t timeframe_s,
                                             const FlowSeriesConfig& config);
std::unique_ptr<FlowSeries> make_simd_flow_series(std::size_t groups, std::uint32_t timeframe_s,
                                                  const FlowSeriesConfig& config);
std::unique_ptr<FlowSeries> make_scalar_flow_series(std::size_t groups, std::uint32_t timeframe_s,
                                                    const FlowSeriesConfig& config);

}  // namespace tickflow
