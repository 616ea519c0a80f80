// pipeline/flow_stats.cc
#include "pipeline/flow_stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "pipeline/bar_flow.h"

namespace tickflow {
namespace {

constexpr std::int64_t kNoSecond = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxAbsSecond = std::int64_t{1} << 40;  // ~35,000 years: no overflow in second arithmetic
constexpr std::uint32_t kMaxTimeframe = 7 * 86'400;

// floor(a / b) for b > 0 and any a.
std::int64_t floor_div_s(std::int64_t a, std::int64_t b) noexcept { return (a >= 0 ? a : a - (b - 1)) / b; }
// a mod (mask + 1) in [0, mask], for a power-of-two modulus and any a: the
// rings are sized in powers of two so that the hot path never divides (a
// 64-bit division was two of the ten most expensive instructions per bar).
std::size_t slot_of(std::int64_t a, std::size_t mask) noexcept {
  return static_cast<std::size_t>(static_cast<std::uint64_t>(a)) & mask;
}

}  // namespace

void FlowStatsConfig::validate() const {
  series.validate();
  if (timeframes_s.empty()) throw std::invalid_argument("flow statistics: no timeframes");
  for (std::size_t i = 0; i < timeframes_s.size(); ++i) {
    const std::uint32_t tf = timeframes_s[i];
    if (tf == 0 || tf > kMaxTimeframe)
      throw std::invalid_argument("flow statistics: timeframe " + std::to_string(tf) + " s is not in [1, 604800]");
    if (std::find(timeframes_s.begin(), timeframes_s.begin() + static_cast<std::ptrdiff_t>(i), tf) !=
        timeframes_s.begin() + static_cast<std::ptrdiff_t>(i))
      throw std::invalid_argument("flow statistics: timeframe " + std::to_string(tf) + " s given twice");
  }
  if (pending_seconds == 0) throw std::invalid_argument("flow statistics: pending_seconds must be at least 1");
  if (amendment_memory_s < pending_seconds)
    throw std::invalid_argument("flow statistics: amendment_memory_s must be at least pending_seconds");
}

FlowStats::FlowStats(const SymbolGroups& groups, FlowStatsConfig config) : config_(std::move(config)), groups_(groups) {
  config_.validate();
  capacity_ = std::max<std::size_t>(groups_.size(), config_.min_group_capacity);
  lanes_ = (capacity_ + kFlowLanePadding - 1) / kFlowLanePadding * kFlowLanePadding;
  membership_.resize(groups_.market_count());
  for (MarketId m = 0; m < membership_.size(); ++m) membership_[m] = groups_.membership(m);

  const std::size_t pending_slots = std::bit_ceil(std::size_t{config_.pending_seconds});
  memory_slots_ = std::bit_ceil(std::size_t{config_.amendment_memory_s});
  pending_mask_ = pending_slots - 1;
  slot_second_.assign(pending_slots, kNoSecond);
  base_.assign(pending_slots * kFields * lanes_, 0.0);
  memory_.assign(groups_.market_count() * memory_slots_, Remembered{kNoSecond, {}});

  timeframes_.reserve(config_.timeframes_s.size());
  for (std::uint32_t tf : config_.timeframes_s)
    timeframes_.push_back(Timeframe{tf, 0, 0, false, make_flow_series(config_.backend, capacity_, tf, config_.series)});
  pending_.assign(timeframes_.size() * kFields * lanes_, 0.0);
  second_price_.assign(lanes_, 0.0);
  closed_.reserve(timeframes_.size());
}

FlowStats::~FlowStats() = default;
FlowStats::FlowStats(FlowStats&&) noexcept = default;
FlowStats& FlowStats::operator=(FlowStats&&) noexcept = default;

void FlowStats::refresh_markets(const MarketRegistry& registry) {
  SymbolGroups refreshed = groups_;
  refreshed.refresh(registry);
  if (refreshed.size() > capacity_) {
    throw std::length_error("flow statistics: " + std::to_string(refreshed.size()) +
                            " symbol groups exceed the capacity of " + std::to_string(capacity_) +
                            " (FlowStatsConfig::min_group_capacity)");
  }
  groups_ = std::move(refreshed);
  membership_.resize(groups_.market_count());
  for (MarketId m = 0; m < membership_.size(); ++m) membership_[m] = groups_.membership(m);
  memory_.resize(groups_.market_count() * memory_slots_, Remembered{kNoSecond, {}});
}

std::optional<std::size_t> FlowStats::timeframe_index(std::uint32_t seconds) const noexcept {
  for (std::size_t i = 0; i < timeframes_.size(); ++i)
    if (timeframes_[i].seconds == seconds) return i;
  return std::nullopt;
}

// Inlined into add_bar(), the hot path: one base pointer, fields at
// multiples of lanes_.
[[gnu::always_inline]] inline void FlowStats::add_to_second(std::int64_t second, GroupMembership m,
                                                            const Contribution& c) noexcept {
  const std::size_t slot = slot_of(second, pending_mask_);
  // Seconds in the pending window map to distinct slots, and closing a
  // second empties its slot: the slot is empty or already this second's.
  slot_second_[slot] = second;
  double* const b = base(slot, kDs) + m.group;
  b[(adds_to_spot_delta(m.side) ? kDs : kDf) * lanes_] += c.delta;
  b[kVolume * lanes_] += c.volume;
  b[kQty * lanes_] += c.qty;
  b[kPriceOrCloseVolume * lanes_] += c.close_volume;
}

void FlowStats::add_bar(const Bar& bar) noexcept {
  ++counters_.bars;
  if (flushed_) {
    ++counters_.after_flush;
    return;
  }
  if (bar.timeframe_s != 1) {
    ++counters_.other_timeframe;
    return;
  }
  if (bar.market >= membership_.size() || membership_[bar.market].group == kNoGroup) {
    ++counters_.unknown_market;
    return;
  }
  const std::int64_t s = bar.open_time_s;
  const double volume = bar_volume(bar);
  const Contribution c{bar_delta(bar), volume, bar.qbuy + bar.qsell, bar.has_ohlc() ? bar.close * volume : 0.0};
  if (!(std::isfinite(c.delta) && std::isfinite(c.volume) && std::isfinite(c.qty) && std::isfinite(c.close_volume)) ||
      s > kMaxAbsSecond || s < -kMaxAbsSecond) {
    ++counters_.rejected;
    return;
  }

  const std::int64_t window = config_.pending_seconds;
  auto restart_at = [&](std::int64_t second) {
    next_second_ = second;
    for (Timeframe& tf : timeframes_) {
      tf.open_s = floor_div_s(second, tf.seconds) * tf.seconds;
      tf.end_s = tf.open_s + tf.seconds;
    }
  };
  if (!started_) {
    started_ = true;
    newest_second_ = s;
    restart_at(s);
  } else if (!closed_any_ && s < next_second_) {
    // Nothing closed yet: the stream may still start earlier.
    if (newest_second_ - s >= window) {
      ++counters_.late_dropped;
      return;
    }
    restart_at(s);
  }
  if (s >= next_second_ + window) {
    ++counters_.future_dropped;
    return;
  }

  const GroupMembership m = membership_[bar.market];
  Remembered& r = memory_[bar.market * memory_slots_ + slot_of(s, memory_slots_ - 1)];
  Contribution change = c;
  if (r.second == s) {
    change = {c.delta - r.c.delta, c.volume - r.c.volume, c.qty - r.c.qty, c.close_volume - r.c.close_volume};
    ++counters_.replaced;
  } else if (r.second > s) {
    // A newer second took the slot: what was counted for `s` is forgotten.
    // Only possible for a closed second, since memory >= the pending window.
    ++counters_.late_dropped;
    return;
  }
  r = Remembered{s, c};
  newest_second_ = std::max(newest_second_, s);

  if (s >= next_second_) {
    add_to_second(s, m, change);
  } else if (add_to_open_intervals(s, m, change)) {
    ++counters_.late;
  } else {
    ++counters_.late_dropped;
  }
}

bool FlowStats::add_to_open_intervals(std::int64_t second, GroupMembership m, const Contribution& c) noexcept {
  bool applied = false;
  const std::size_t g = m.group;
  for (std::size_t k = 0; k < timeframes_.size(); ++k) {
    if (second < timeframes_[k].open_s) continue;  // that interval has closed
    pending(k, adds_to_spot_delta(m.side) ? kDs : kDf)[g] += c.delta;
    pending(k, kVolume)[g] += c.volume;
    pending(k, kQty)[g] += c.qty;
    applied = true;
  }
  return applied;
}

FlowIntervalInput FlowStats::input_of(std::size_t tf) noexcept {
  return {pending(tf, kDs), pending(tf, kDf), pending(tf, kVolume), pending(tf, kQty),
          pending(tf, kPriceOrCloseVolume)};
}

void FlowStats::commit(std::size_t k) noexcept {
  Timeframe& tf = timeframes_[k];
  tf.series->update(input_of(k), tf.open_s, /*commit=*/true);
  closed_.push_back(Closed{k, tf.open_s});
  std::fill_n(pending(k, kDs), kFields * lanes_, 0.0);
  tf.has_seconds = false;
}

bool FlowStats::close_next_second(std::int64_t end_s) noexcept {
  closed_.clear();
  if (!started_ || flushed_ || next_second_ >= end_s) return false;
  const std::int64_t s = next_second_;
  const std::size_t slot = slot_of(s, pending_mask_);
  const bool has_bars = slot_second_[slot] == s;

  if (has_bars) {
    const double* volume = base(slot, kVolume);
    const double* close_volume = base(slot, kPriceOrCloseVolume);
    // A group without volume gets 0 / 0 = NaN, which fails the "> 0" test
    // below like "no price" should. (Written without a condition so that
    // the loop vectorizes.)
    for (std::size_t g = 0; g < lanes_; ++g) second_price_[g] = close_volume[g] / volume[g];
  }
  for (std::size_t k = 0; k < timeframes_.size(); ++k) {
    Timeframe& tf = timeframes_[k];
    if (has_bars) {
      for (Field f : {kDs, kDf, kVolume, kQty}) {
        double* to = pending(k, f);
        const double* from = base(slot, f);
        for (std::size_t g = 0; g < lanes_; ++g) to[g] += from[g];
      }
      double* price = pending(k, kPriceOrCloseVolume);
      for (std::size_t g = 0; g < lanes_; ++g) price[g] = second_price_[g] > 0.0 ? second_price_[g] : price[g];
    }
    tf.has_seconds = true;
    if (s + 1 == tf.end_s) {
      commit(k);
      tf.open_s = tf.end_s;
      tf.end_s += tf.seconds;
    }
  }
  if (has_bars) {
    std::fill_n(base(slot, kDs), kFields * lanes_, 0.0);
    slot_second_[slot] = kNoSecond;
  }
  next_second_ = s + 1;
  closed_any_ = true;
  return true;
}

void FlowStats::close_partial_intervals() noexcept {
  closed_.clear();
  for (std::size_t k = 0; k < timeframes_.size(); ++k)
    if (timeframes_[k].has_seconds) commit(k);
}

void FlowStats::preview() noexcept {
  for (std::size_t k = 0; k < timeframes_.size(); ++k) {
    Timeframe& tf = timeframes_[k];
    if (tf.has_seconds) tf.series->update(input_of(k), tf.open_s, /*commit=*/false);
  }
}

}  // namespace tickflow
