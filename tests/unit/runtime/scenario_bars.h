// tests/unit/runtime/scenario_bars.h
//
// ScenarioBars: hours or days of 1 s bars made from minutes of real ones,
// for the backtester's tests. The bundled Binance captures span about six
// minutes, far too short for SqueezeFlow's 5m..4h phases. So the captures'
// 1 s bars (built by CaptureBarSource through the real parsers and
// BarBuilder) are played again and again, each pass shifted by the pass
// length, and varied by a script of segments:
//
//   * flow: each market's taker-buy share becomes
//       0.5 + 0.5 * (noise * real_imbalance + bias_of_its_side)
//     (clamped to [0, 1]); the notional and trade count stay real. So
//     "spot buys while perps sell" is spot_bias > 0 with perp_bias < 0;
//   * price: each market's prices keep their real second-to-second wiggle,
//     detrended over a pass (so passes join without a jump), times a level
//     that moves log-linearly by `price_change` over the segment;
//   * volume: a multiplier on notional and counts;
//   * shuffle: each pass's real imbalance times a fixed pseudo-random factor
//     per (pass, side), so the CVDs random-walk instead of drifting.
//
// Deterministic: the same captures and script give the same bars.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/market_registry.h"
#include "strategy/bar_source.h"

namespace tickflow::test {

struct Segment {
  std::int64_t seconds = 3600;
  double spot_bias = 0;  // -1 .. 1: added to the taker-buy share's centre
  double perp_bias = 0;
  double price_change = 0;  // relative change of the price level over the segment (+0.02: +2 %)
  double volume = 1;
  double noise = 0.3;  // weight of the real imbalance
  // Random walk instead of drift: each pass, each side's real imbalance is
  // multiplied by its own factor in [-1, 1) drawn from a fixed hash of the
  // pass number and the side (deterministic). Without it every pass repeats
  // the capture's imbalance, a steady CVD drift with almost no spread, which
  // the z-scored phases read as a strong trend.
  bool shuffle = false;
};

// A fixed hash of (pass, side) to [-1, 1) (splitmix64).
inline double pass_factor(std::int64_t pass, bool spot) {
  std::uint64_t z = static_cast<std::uint64_t>(pass) * 2 + (spot ? 1 : 0) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

class ScenarioBars final : public BarSource {
 public:
  // `pass`: one pass of real 1 s bars (any order); `period_s`: its length.
  ScenarioBars(const std::vector<Bar>& pass, std::int64_t period_s, std::int64_t start_s,
               const std::vector<Segment>& script, const MarketRegistry& registry) {
    std::int64_t pass_start = INT64_MAX;
    for (const Bar& b : pass) pass_start = std::min(pass_start, b.open_time_s);
    // Per market: first and last close of the pass, for the detrend.
    std::map<MarketId, std::pair<double, double>> ends;
    std::map<MarketId, std::pair<std::int64_t, std::int64_t>> times;
    for (const Bar& b : pass) {
      if (!b.has_ohlc()) continue;
      auto [it, fresh] = times.try_emplace(b.market, b.open_time_s, b.open_time_s);
      if (fresh || b.open_time_s <= it->second.first) {
        it->second.first = b.open_time_s;
        ends[b.market].first = b.open;
      }
      if (b.open_time_s >= it->second.second) {
        it->second.second = b.open_time_s;
        ends[b.market].second = b.close;
      }
    }
    std::int64_t total = 0;
    for (const Segment& s : script) total += s.seconds;
    for (std::int64_t offset = 0; offset < total; offset += period_s) {
      for (const Bar& src : pass) {
        const std::int64_t in_pass = src.open_time_s - pass_start;
        const std::int64_t t = offset + in_pass;  // seconds since the scenario's start
        if (t >= total) continue;
        // The segment of t and the price level at t.
        std::int64_t acc = 0;
        double lvl = 0;
        const Segment* s = &script.back();
        for (const Segment& candidate : script) {
          if (t < acc + candidate.seconds) {
            s = &candidate;
            lvl += std::log1p(candidate.price_change) * static_cast<double>(t - acc) /
                   static_cast<double>(candidate.seconds);
            break;
          }
          lvl += std::log1p(candidate.price_change);
          acc += candidate.seconds;
        }
        Bar b = src;
        b.open_time_s = start_s + t;
        b.flags = kBarFinal;
        const bool spot = registry.info(b.market).market_class == MarketClass::kSpot;
        const double bias = spot ? s->spot_bias : s->perp_bias;
        const double v = (b.vbuy + b.vsell) * s->volume;
        const double c = (b.cbuy + b.csell) * s->volume;
        const double q = (b.qbuy + b.qsell) * s->volume;
        double imbalance = (b.vbuy + b.vsell) > 0 ? (b.vbuy - b.vsell) / (b.vbuy + b.vsell) : 0;
        if (s->shuffle) imbalance *= pass_factor(offset / period_s, spot);
        const double share = std::clamp(0.5 + 0.5 * (s->noise * imbalance + bias), 0.0, 1.0);
        b.vbuy = v * share;
        b.vsell = v - b.vbuy;
        b.cbuy = c * share;
        b.csell = c - b.cbuy;
        b.qbuy = q * share;
        b.qsell = q - b.qbuy;
        if (b.has_ohlc()) {
          const auto& [first, last] = ends[b.market];
          const auto& [t0, t1] = times[b.market];
          const double span = static_cast<double>(std::max<std::int64_t>(1, t1 - t0));
          const double trend = std::log(last / first) * static_cast<double>(src.open_time_s - t0) / span;
          const double k = std::exp(lvl - trend);
          b.open *= k;
          b.high *= k;
          b.low *= k;
          b.close *= k;
        }
        bars_.push_back(b);
      }
    }
    std::stable_sort(bars_.begin(), bars_.end(), visible_before);
  }

  bool next(Bar& out) override {
    if (next_ >= bars_.size()) return false;
    out = bars_[next_++];
    return true;
  }
  double progress() const noexcept override {
    return bars_.empty() ? 1 : static_cast<double>(next_) / static_cast<double>(bars_.size());
  }
  std::vector<Bar>& bars() noexcept { return bars_; }
  void rewind() noexcept { next_ = 0; }

 private:
  std::vector<Bar> bars_;
  std::size_t next_ = 0;
};

}  // namespace tickflow::test
