#include "strategy/bar_coverage.h"

#include <algorithm>
#include <cstdio>

#include "strategy/utc_time.h"

namespace tickflow {

BarCoverage::BarCoverage(std::int64_t from_s, std::int64_t to_s, std::int64_t gap_threshold_s)
    : from_s_(from_s), to_s_(std::max(from_s, to_s)), threshold_s_(std::max<std::int64_t>(1, gap_threshold_s)) {}

void BarCoverage::expect(const std::string& market, std::uint32_t timeframe_s) {
  const auto [it, fresh] = markets_.try_emplace(market);
  if (fresh) {
    it->second.timeframe_s = timeframe_s;
    it->second.covered_to_s = from_s_;
  }
}

void BarCoverage::add(const std::string& market, std::int64_t open_time_s, std::uint32_t timeframe_s) {
  if (open_time_s < from_s_ || open_time_s >= to_s_) return;
  expect(market, timeframe_s);
  Market& m = markets_.find(market)->second;
  if (open_time_s - m.covered_to_s >= threshold_s_) m.gaps.push_back({m.covered_to_s, open_time_s});
  const std::int64_t end = std::min<std::int64_t>(to_s_, open_time_s + timeframe_s);
  m.present_s += end - open_time_s;
  m.covered_to_s = std::max(m.covered_to_s, end);
  ++m.bars;
  ++bars_;
}

std::map<std::string, BarCoverage::Market> BarCoverage::markets() const {
  std::map<std::string, Market> out = markets_;
  for (auto& [name, m] : out)
    if (to_s_ - m.covered_to_s >= threshold_s_) m.gaps.push_back({m.covered_to_s, to_s_});
  return out;
}

std::string BarCoverage::text() const {
  std::string out;
  char line[256];
  for (const auto& [name, m] : markets()) {
    const double share = expected_s() > 0 ? 100.0 * static_cast<double>(m.present_s) / expected_s() : 0;
    std::int64_t gap_s = 0;
    for (const Gap& g : m.gaps) gap_s += g.to_s - g.from_s;
    std::snprintf(line, sizeof line, "  %s (%us bars): %lld of %lld s present (%.1f%%), ", name.c_str(), m.timeframe_s,
                  static_cast<long long>(m.present_s), static_cast<long long>(expected_s()), share);
    out += line;
    if (m.gaps.empty()) {
      out += "no gap of " + std::to_string(threshold_s_) + " s or more\n";
      continue;
    }
    out += std::to_string(m.gaps.size()) + (m.gaps.size() == 1 ? " gap" : " gaps") + " of " +
           std::to_string(threshold_s_) + " s or more, " + std::to_string(gap_s) + " s in all:\n";
    for (std::size_t i = 0; i < m.gaps.size() && i < kMaxListedGaps; ++i)
      out += "    " + iso8601_utc(m.gaps[i].from_s) + " .. " + iso8601_utc(m.gaps[i].to_s) + " (" +
             std::to_string(m.gaps[i].to_s - m.gaps[i].from_s) + " s)\n";
    if (m.gaps.size() > kMaxListedGaps)
      out += "    ... and " + std::to_string(m.gaps.size() - kMaxListedGaps) + " more\n";
  }
  return out;
}

}  // namespace tickflow
