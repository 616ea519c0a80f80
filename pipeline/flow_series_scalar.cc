// pipeline/flow_series_scalar.cc
//
// The scalar FlowSeries: one group at a time, each statistic its own
// object from pipeline/rolling_window.h, each with its own ring. It is the
// plain implementation the SIMD one is measured against
// (bench/flow_stats_bench.cc) and compared with bit for bit
// (tests/unit/pipeline/flow_stats_test.cc). Keep the order of operations
// in step with flow_series_simd.cc: that is what makes the bits agree.
#include <cmath>
#include <limits>
#include <vector>

#include "pipeline/flow_series.h"
#include "pipeline/rolling_window.h"

namespace tickflow {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class ScalarFlowSeries final : public FlowSeries {
 public:
  ScalarFlowSeries(std::size_t groups, std::uint32_t timeframe_s, const FlowSeriesConfig& config)
      : FlowSeries(groups, timeframe_s), config_(config) {
    config.validate();
    groups_state_.reserve(groups);
    for (std::size_t g = 0; g < groups; ++g) groups_state_.emplace_back(config);
    for (Group& group : groups_state_) group.out.timeframe_s = timeframe_s;
  }

  void update(const FlowIntervalInput& in, std::int64_t open_time_s, bool commit) noexcept override {
    const bool rolling = config_.cvd_mode == CvdMode::kRolling;
    const bool counts = rolling || open_time_s >= config_.cvd_anchor_s;
    for (std::size_t g = 0; g < groups_; ++g) {
      Group& s = groups_state_[g];
      FlowSnapshot& o = s.out;
      const double ds = in.ds[g];
      const double df = in.df[g];
      const double volume = in.volume[g];
      const double qty = in.qty[g];

      double cs, cf;
      if (rolling) {
        cs = commit ? (s.cs.push(ds), s.cs.value()) : s.cs.value_after(ds);
        cf = commit ? (s.cf.push(df), s.cf.value()) : s.cf.value_after(df);
      } else {
        CompensatedSum<double> a = s.cs_anchored, b = s.cf_anchored;
        if (counts) {
          a.add(ds);
          b.add(df);
        }
        cs = a.value();
        cf = b.value();
        if (commit) {
          s.cs_anchored = a;
          s.cf_anchored = b;
        }
      }
      const double d = cs - cf;
      const double absd = std::fabs(d);

      // Baselines first: the windows before this interval.
      baseline(s.ds_stats, ds, o.ds_mean, o.ds_std, o.ds_z);
      baseline(s.df_stats, df, o.df_mean, o.df_std, o.df_z);
      baseline(s.d_stats, d, o.d_mean, o.d_std, o.d_z);
      baseline(s.absd_stats, absd, o.absd_mean, o.absd_std, o.absd_z);

      const double price = in.price[g] > 0.0 ? in.price[g] : s.price;
      if (commit) {
        s.ds_stats.push(ds);
        s.df_stats.push(df);
        s.d_stats.push(d);
        s.absd_stats.push(absd);
        s.ema.push(price);
        s.vwap.push(volume, qty);
        s.vol.push_price(price);
        s.surge.push(volume);
        s.price = price;
        o.ema = s.ema.value();
        o.vwap = s.vwap.value();
        o.realized_vol = s.vol.value();
        o.volume_surge = s.surge.ratio();
      } else {
        o.ema = s.ema.value_after(price);
        o.vwap = s.vwap.value_after(volume, qty);
        o.realized_vol = s.vol.value_after(price);
        o.volume_surge = s.surge.ratio_after(volume);
      }
      o.open_time_s = open_time_s;
      o.provisional = !commit;
      o.bars = bars_ + (commit ? 1 : 0);
      o.ds = ds;
      o.df = df;
      o.cvd_spot = cs;
      o.cvd_perp = cf;
      o.divergence = d;
      o.volume = volume;
      o.close = price;
    }
    if (commit) ++bars_;
  }

  FlowSnapshot snapshot(std::size_t group) const noexcept override { return groups_state_[group].out; }

 private:
  struct Group {
    explicit Group(const FlowSeriesConfig& c)
        : cs(c.cvd_mode == CvdMode::kRolling ? c.cvd_window : 1),
          cf(c.cvd_mode == CvdMode::kRolling ? c.cvd_window : 1),
          ds_stats(c.stats_window),
          df_stats(c.stats_window),
          d_stats(c.stats_window),
          absd_stats(c.stats_window),
          ema(Ema::alpha_for_span(c.ema_span)),
          vwap(c.vwap_window),
          vol(c.vol_window),
          surge(c.surge_short, c.surge_long) {}

    RollingSum cs, cf;                                // kRolling
    CompensatedSum<double> cs_anchored, cf_anchored;  // kAnchored
    RollingStats ds_stats, df_stats, d_stats, absd_stats;
    Ema ema;
    RollingVwap vwap;
    RealizedVolatility vol;
    VolumeSurge surge;
    double price = kNaN;  // the last close, carried forward
    FlowSnapshot out;
  };

  static void baseline(const RollingStats& stats, double x, double& mean, double& std, double& z) noexcept {
    mean = stats.mean();
    std = stats.stddev();
    z = (x - mean) / std;
  }

  FlowSeriesConfig config_;
  std::vector<Group> groups_state_;
};

}  // namespace

std::unique_ptr<FlowSeries> make_scalar_flow_series(std::size_t groups, std::uint32_t timeframe_s,
                                                    const FlowSeriesConfig& config) {
  return std::make_unique<ScalarFlowSeries>(groups, timeframe_s, config);
}

}  // namespace tickflow
