// pipeline/bar_flow.h
//
// The one definition of what a bar adds to its symbol group's flow. The
// flow statistics (pipeline/flow_stats.h: FlowStats, stored as flow_<tf>)
// and SqueezeFlow's own series (strategy/timeframe_series.h) both take a
// bar's contribution from here, so "spot delta", "perp delta", volume and
// the CVDs mean the same thing wherever they are computed:
//
//   delta(bar)  = vbuy - vsell   taker-buy minus taker-sell quote notional;
//                                liquidations (lbuy/lsell) are not flow
//   volume(bar) = vbuy + vsell
//   spot delta ds of a group and interval = sum of delta over its spot
//                                markets' bars; perp delta df likewise over
//                                its perp markets (flow_side())
//   CVD = the running sum of ds (cvd_spot) or df (cvd_perp) over the
//         intervals, from an anchor or over a rolling window as each
//         consumer configures it; divergence = cvd_spot - cvd_perp.
//
// tests/unit/runtime/flow_strategy_agreement_test.cc checks, on real
// captures, that the two accumulations give the same ds, df and CVDs.
#pragma once

#include "pipeline/bar.h"
#include "pipeline/market_class.h"

namespace tickflow {

// Signed taker flow of one bar, in quote notional.
inline double bar_delta(const Bar& bar) noexcept { return bar.vbuy - bar.vsell; }

// Traded quote notional of one bar, both sides.
inline double bar_volume(const Bar& bar) noexcept { return bar.vbuy + bar.vsell; }

// Whether a market's delta counts toward the group's spot delta (ds);
// otherwise toward its perp delta (df).
inline bool adds_to_spot_delta(MarketClass side) noexcept { return side == MarketClass::kSpot; }

}  // namespace tickflow
