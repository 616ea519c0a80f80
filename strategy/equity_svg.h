// strategy/equity_svg.h
//
// render_equity_svg(): the backtest report's equity curve as a
// self-contained SVG line chart (spec: "Backtest", "Report": "the equity
// curve, as a picture"). SVG rather than PNG: text, no image library, and
// byte-identical output is easy to promise and to test.
//
// The chart: a title, a y axis of equity with "nice" ticks (1, 2, 5 × 10^k)
// and grid lines, an x axis of UTC time with ticks on round times (1 min
// .. 1 week apart), axis titles, the curve, a dashed line at the starting
// balance, the drawdown (running peak down to the curve) shaded, and
// entry (green) / exit (red) marks under the plot.
//
// Promises:
//  * deterministic: every number is formatted with snprintf under the C
//    locale's rules ("%.1f" coordinates, labels with a fixed number of
//    decimals), so the same inputs give the same bytes;
//  * small: the curve is decimated per pixel column (each column keeps its
//    first, minimum, maximum and last sample, in time order), so a week of
//    1 s samples draws at most ~4 points per column, and the drawdown band
//    likewise; at most kMaxTradeMarks trade marks are drawn;
//  * any input renders: no samples or a flat curve give a valid chart.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "strategy/backtest_portfolio.h"

namespace tickflow {

struct EquitySvgOptions {
  int width = 1000;  // px, the whole image
  int height = 520;
  std::string title = "SqueezeFlow backtest: equity";
};

inline constexpr std::size_t kMaxTradeMarks = 2000;

std::string render_equity_svg(const std::vector<EquitySample>& samples, const std::vector<TradeRecord>& trades,
                              double starting_balance, const EquitySvgOptions& options = {});

// Escapes &, <, >, " and ' for SVG/XML text and attributes.
std::string xml_escape(std::string_view text);

}  // namespace tickflow
