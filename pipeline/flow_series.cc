// pipeline/flow_series.cc: the configuration check and the backend switch.
#include "pipeline/flow_series.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace tickflow {

void FlowSeriesConfig::validate() const {
  auto positive = [](std::uint32_t v, const char* name) {
    if (v == 0) throw std::invalid_argument(std::string("flow statistics: ") + name + " must be at least 1");
  };
  positive(cvd_window, "cvd_window");
  positive(stats_window, "stats_window");
  positive(vwap_window, "vwap_window");
  positive(vol_window, "vol_window");
  positive(surge_short, "surge_short");
  positive(surge_long, "surge_long");
  if (stats_window < 2) throw std::invalid_argument("flow statistics: stats_window must be at least 2 (a std needs 2)");
  if (surge_short > surge_long) throw std::invalid_argument("flow statistics: surge_short must not exceed surge_long");
  if (!(std::isfinite(ema_span) && ema_span >= 1.0))
    throw std::invalid_argument("flow statistics: ema_span must be a finite number >= 1");
  if (cvd_mode != CvdMode::kRolling && cvd_mode != CvdMode::kAnchored)
    throw std::invalid_argument("flow statistics: unknown cvd_mode");
}

std::unique_ptr<FlowSeries> make_flow_series(FlowBackend backend, std::size_t groups, std::uint32_t timeframe_s,
                                             const FlowSeriesConfig& config) {
  config.validate();
  if (timeframe_s == 0) throw std::invalid_argument("flow statistics: timeframe must be at least 1 s");
  return backend == FlowBackend::kSimd ? make_simd_flow_series(groups, timeframe_s, config)
                                       : make_scalar_flow_series(groups, timeframe_s, config);
}

}  // namespace tickflow
