// bench/tiled_bars.h
//
// Tiler: days of 1 s bars for one symbol group from one pass of real ones,
// for the backtest benchmarks (backtest_bench.cc: speed from memory;
// backtest_memory.cc: 7 days through InfluxDB). Each tile replays the pass
// shifted by its length, under several market names (Replay), with the flow
// varied per tile and side (so CVDs random-walk instead of drifting) and the
// price detrended per pass times a level that random-walks across tiles, so
// the strategy sees setups and trades. Deterministic (a fixed hash, no RNG).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "pipeline/bar.h"
#include "strategy/bar_source.h"

namespace tickflow::bench {

// A fixed hash of (tile, salt) to [-1, 1) (splitmix64).
inline double tile_factor(std::int64_t tile, std::uint64_t salt) {
  std::uint64_t z = static_cast<std::uint64_t>(tile) * 0x100000001B3ull + salt * 0x9E3779B97F4A7C15ull + 1;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

// One output market: replays `source`'s bars as `target`.
struct Replay {
  MarketId source;
  MarketId target;
  bool spot;
  std::uint64_t salt;
};

// Tiles one pass of real 1 s bars: tile k holds every pass bar, shifted so
// that the pass starts at start_s + k * period_s, once per Replay of its
// market. Tiles never overlap (period_s exceeds the pass's span), so tiles
// in order are in visible-time order.
class Tiler {
 public:
  Tiler(const std::vector<Bar>& pass, std::vector<Replay> replays) : pass_(pass), replays_(std::move(replays)) {
    if (pass_.empty()) throw std::runtime_error("no bars in the captures");
    std::int64_t first = INT64_MAX, last = INT64_MIN;
    for (const Bar& b : pass_) {
      first = std::min(first, b.open_time_s);
      last = std::max(last, b.open_time_s);
      MarketId m = b.market;
      if (m >= ends_.size()) ends_.resize(m + 1);
      if (!b.has_ohlc()) continue;
      End& e = ends_[m];
      if (!e.seen || b.open_time_s < e.t0) e.t0 = b.open_time_s, e.first = b.open;
      if (!e.seen || b.open_time_s > e.t1) e.t1 = b.open_time_s, e.last = b.close;
      e.seen = true;
    }
    pass_start_ = first;
    period_s_ = ((last - first + 1) + 59) / 60 * 60;
  }

  std::int64_t period_s() const noexcept { return period_s_; }
  std::int64_t pass_start() const noexcept { return pass_start_; }

  // Appends tile `k` (visible-time order) to `out`.
  void tile(std::int64_t k, std::int64_t start_s, std::vector<Bar>& out) {
    while (static_cast<std::int64_t>(level_.size()) <= k + 1)
      level_.push_back(
          level_.empty() ? 0.0 : level_.back() + 0.004 * tile_factor(static_cast<std::int64_t>(level_.size()), 7));
    const std::size_t from = out.size();
    const double l0 = level_[static_cast<std::size_t>(k)], l1 = level_[static_cast<std::size_t>(k) + 1];
    for (const Bar& src : pass_) {
      const std::int64_t in_pass = src.open_time_s - pass_start_;
      const double lvl = l0 + (l1 - l0) * static_cast<double>(in_pass) / static_cast<double>(period_s_);
      for (const Replay& r : replays_) {
        if (r.source != src.market) continue;
        Bar b = src;
        b.market = r.target;
        b.flags = kBarFinal;
        b.open_time_s = start_s + k * period_s_ + in_pass;
        // Flow: the side's factor for the tile, a little of the market's own.
        const double f = 0.8 * tile_factor(k, r.spot ? 1 : 2) + 0.2 * tile_factor(k, r.salt);
        const double v = b.vbuy + b.vsell, c = b.cbuy + b.csell, q = b.qbuy + b.qsell;
        const double imbalance = v > 0 ? (b.vbuy - b.vsell) / v : 0;
        const double share = std::clamp(0.5 + 0.5 * imbalance * f, 0.0, 1.0);
        b.vbuy = v * share;
        b.vsell = v - b.vbuy;
        b.cbuy = c * share;
        b.csell = c - b.cbuy;
        b.qbuy = q * share;
        b.qsell = q - b.qbuy;
        if (b.has_ohlc()) {
          const End& e = ends_[src.market];
          const double span = static_cast<double>(std::max<std::int64_t>(1, e.t1 - e.t0));
          const double trend = std::log(e.last / e.first) * static_cast<double>(src.open_time_s - e.t0) / span;
          const double scale = std::exp(lvl - trend);
          b.open *= scale;
          b.high *= scale;
          b.low *= scale;
          b.close *= scale;
        }
        out.push_back(b);
      }
    }
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(from), out.end(), visible_before);
  }

 private:
  struct End {
    bool seen = false;
    std::int64_t t0 = 0, t1 = 0;
    double first = 1, last = 1;
  };
  const std::vector<Bar>& pass_;
  std::vector<Replay> replays_;
  std::vector<End> ends_;  // by source market
  std::vector<double> level_;
  std::int64_t pass_start_ = 0;
  std::int64_t period_s_ = 60;
};

}  // namespace tickflow::bench
