// strategy/equity_svg.cc: the equity chart (see equity_svg.h).
#include "strategy/equity_svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "strategy/signal.h"

namespace tickflow {

namespace {

// snprintf into `out`: deterministic for the fixed formats used here.
template <typename... Args>
void appendf(std::string& out, const char* format, Args... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof buf, format, args...);
  if (n > 0) out.append(buf, static_cast<std::size_t>(std::min(n, static_cast<int>(sizeof buf) - 1)));
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// "YYYY-MM-DD HH:MM:SS" cut to `length` characters.
std::string time_label(std::int64_t t, std::size_t length) {
  char iso[20];
  format_iso8601_utc(t, iso);
  iso[10] = ' ';
  return std::string(iso, std::min<std::size_t>(length, 19));
}

// 1, 2 or 5 × 10^k, the smallest at least `raw`.
double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

struct Frame {
  double x0, x1, y0, y1;  // plot area: x0 left, x1 right, y0 top, y1 bottom
  std::int64_t t_min, t_max;
  double lo, hi;
  double x(std::int64_t t) const {
    return x0 + static_cast<double>(t - t_min) / static_cast<double>(t_max - t_min) * (x1 - x0);
  }
  double y(double e) const { return y1 - (e - lo) / (hi - lo) * (y1 - y0); }
};

// Indices of the samples to draw: all of them when few, otherwise per
// pixel column its first, minimum, maximum and last sample, in time order,
// so every spike survives the decimation.
std::vector<std::size_t> decimate(const std::vector<EquitySample>& samples, const Frame& f) {
  std::vector<std::size_t> keep;
  const auto columns = static_cast<std::int64_t>(std::max(1.0, std::floor(f.x1 - f.x0)));
  if (samples.size() <= static_cast<std::size_t>(columns) * 4) {
    keep.resize(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) keep[i] = i;
    return keep;
  }
  const auto column_of = [&](std::int64_t t) {
    const auto c = static_cast<std::int64_t>(static_cast<double>(t - f.t_min) / static_cast<double>(f.t_max - f.t_min) *
                                             static_cast<double>(columns));
    return std::clamp<std::int64_t>(c, 0, columns - 1);
  };
  std::size_t begin = 0;
  while (begin < samples.size()) {
    const std::int64_t column = column_of(samples[begin].time_s);
    std::size_t end = begin;
    std::size_t lo = begin, hi = begin;
    while (end < samples.size() && column_of(samples[end].time_s) == column) {
      if (samples[end].equity < samples[lo].equity) lo = end;
      if (samples[end].equity > samples[hi].equity) hi = end;
      ++end;
    }
    std::array<std::size_t, 4> group = {begin, lo, hi, end - 1};
    std::sort(group.begin(), group.end());
    for (std::size_t i = 0; i < group.size(); ++i)
      if (i == 0 || group[i] != group[i - 1]) keep.push_back(group[i]);
    begin = end;
  }
  return keep;
}

void y_axis(std::string& out, const Frame& f) {
  const double step = nice_step((f.hi - f.lo) / 6);
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step))), 0, 8);
  for (double k = std::ceil(f.lo / step); k * step <= f.hi + step * 1e-9; k += 1) {
    const double v = k * step;
    const double y = f.y(v);
    appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", f.x0, y, f.x1, y);
    appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", f.x0 - 5, y, f.x0, y);
    appendf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.*f</text>\n", f.x0 - 8, y + 4,
            decimals, v == 0 ? 0.0 : v);  // no "-0.00"
  }
}

void x_axis(std::string& out, const Frame& f) {
  static constexpr std::array<std::int64_t, 20> kSteps = {1,     5,     10,     15,     30,      60,     300,
                                                          600,   900,   1800,   3600,   7200,    10800,  21600,
                                                          43200, 86400, 172800, 604800, 1209600, 2592000};
  const std::int64_t span = f.t_max - f.t_min;
  std::int64_t step = 0;
  for (const std::int64_t s : kSteps)
    if (span / s <= 6) {
      step = s;
      break;
    }
  if (step == 0) step = (span / 6 / 2592000 + 1) * 2592000;
  const std::size_t length = step >= 86400 ? 10 : step >= 60 ? 16 : 19;
  for (std::int64_t t = (floor_div(f.t_min - 1, step) + 1) * step; t <= f.t_max; t += step) {
    const double x = f.x(t);
    appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", x, f.y0, x, f.y1);
    appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x, f.y1, x, f.y1 + 5);
    out += "<text x=\"";
    appendf(out, "%.1f\" y=\"%.1f", x, f.y1 + 18);
    out += "\" text-anchor=\"middle\" font-size=\"11\">" + time_label(t, length) + "</text>\n";
  }
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_equity_svg(const std::vector<EquitySample>& samples, const std::vector<TradeRecord>& trades,
                              double starting_balance, const EquitySvgOptions& options) {
  const int width = std::max(options.width, 200);
  const int height = std::max(options.height, 160);
  std::string out;
  out.reserve(4096 + 64 * 4 * static_cast<std::size_t>(width));
  appendf(out,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
          "font-family=\"sans-serif\">\n",
          width, height, width, height);
  appendf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
  out += "<text x=\"";
  appendf(out, "%.1f", width / 2.0);
  out += "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">" + xml_escape(options.title) +
         "</text>\n";

  Frame f{};
  f.x0 = 90;
  f.x1 = width - 20.0;
  f.y0 = 45;
  f.y1 = height - 75.0;
  // Axis titles.
  appendf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">Time (UTC)</text>\n",
          (f.x0 + f.x1) / 2, height - 22.0);
  appendf(out,
          "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 18 %.1f)\">"
          "Equity</text>\n",
          (f.y0 + f.y1) / 2, (f.y0 + f.y1) / 2);

  if (samples.empty()) {
    appendf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", f.x0,
            f.y0, f.x1 - f.x0, f.y1 - f.y0);
    appendf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">no equity samples</text>\n",
            (f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2);
    out += "</svg>\n";
    return out;
  }

  f.t_min = samples.front().time_s;
  f.t_max = std::max(samples.back().time_s, f.t_min + 1);
  double lo = starting_balance, hi = starting_balance;
  for (const EquitySample& s : samples) {
    lo = std::min(lo, s.equity);
    hi = std::max(hi, s.equity);
  }
  const double pad = hi > lo ? (hi - lo) * 0.05 : std::max(1.0, std::fabs(hi) * 0.01);
  f.lo = lo - pad;
  f.hi = hi + pad;

  y_axis(out, f);
  x_axis(out, f);

  const std::vector<std::size_t> keep = decimate(samples, f);
  // The drawdown: running peak down to the curve, shaded.
  std::vector<double> peak(keep.size());
  {
    double p = samples.front().equity;
    std::size_t k = 0;
    bool any = false;
    for (std::size_t i = 0; i < samples.size() && k < keep.size(); ++i) {
      p = std::max(p, samples[i].equity);
      if (i == keep[k]) {
        peak[k] = p;
        any = any || p > samples[i].equity;
        ++k;
      }
    }
    if (any) {
      out += "<polygon fill=\"#d62728\" fill-opacity=\"0.15\" stroke=\"none\" points=\"";
      for (std::size_t k2 = 0; k2 < keep.size(); ++k2)
        appendf(out, "%.1f,%.1f ", f.x(samples[keep[k2]].time_s), f.y(peak[k2]));
      for (std::size_t k2 = keep.size(); k2-- > 0;)
        appendf(out, "%.1f,%.1f ", f.x(samples[keep[k2]].time_s), f.y(samples[keep[k2]].equity));
      out += "\"/>\n";
    }
  }
  // The starting balance.
  appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"4 4\"/>\n",
          f.x0, f.y(starting_balance), f.x1, f.y(starting_balance));
  // The curve.
  out += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"";
  for (const std::size_t i : keep) appendf(out, "%.1f,%.1f ", f.x(samples[i].time_s), f.y(samples[i].equity));
  out += "\"/>\n";
  // Trade marks just above the x axis: entries green, exits red.
  std::size_t marks = 0;
  for (const TradeRecord& t : trades) {
    if (marks++ >= kMaxTradeMarks) break;
    if (t.entry_fill_s >= f.t_min && t.entry_fill_s <= f.t_max)
      appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2ca02c\"/>\n", f.x(t.entry_fill_s),
              f.y1 - 8, f.x(t.entry_fill_s), f.y1);
    if (t.exit_fill_s >= f.t_min && t.exit_fill_s <= f.t_max)
      appendf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\"/>\n", f.x(t.exit_fill_s),
              f.y1 - 8, f.x(t.exit_fill_s), f.y1);
  }
  // The frame last, over the grid.
  appendf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", f.x0,
          f.y0, f.x1 - f.x0, f.y1 - f.y0);
  // Legend.
  appendf(out,
          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#555\">equity (blue), drawdown (shaded), "
          "start balance (dashed), entries/exits (green/red ticks)</text>\n",
          f.x0, height - 6.0);
  out += "</svg>\n";
  return out;
}

}  // namespace tickflow
