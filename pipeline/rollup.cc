#include "pipeline/rollup.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>
#include <string>

namespace tickflow {
namespace {

constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min() / 4;  // no time yet; safe to subtract from
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();     // no window to close

std::int64_t ring_size_for(std::int64_t span) {
  return static_cast<std::int64_t>(std::bit_ceil(static_cast<std::uint64_t>(span)));
}

// The first child second at or after `s` for children every `base` seconds
// (1 s bases: `s` itself, so their loops are exactly what they were).
std::int64_t first_child_at_or_after(std::int64_t s, std::int64_t base) noexcept {
  return base == 1 ? s : -floor_div(-s, base) * base;
}

// A market of base `base` (0: no bar yet, which is a 1 s market to
// on_closed()) builds timeframe `tf_s` only if its windows hold whole children.
bool builds(std::uint32_t base, std::int64_t tf_s) noexcept { return base <= 1 || tf_s % base == 0; }

}  // namespace

Rollups::Rollups(RollupConfig config, BarSink& out) : config_(std::move(config)), out_(out) {
  if (config_.max_markets == 0 || config_.max_markets > (std::size_t{1} << 24))
    throw std::invalid_argument("Rollups: max_markets must be 1 to 2^24, got " + std::to_string(config_.max_markets));
  if (config_.amend_horizon_s < 0 || config_.amend_horizon_s > 86'400)
    throw std::invalid_argument("Rollups: the amendment horizon must be 0 to 86400 s, got " +
                                std::to_string(config_.amend_horizon_s));
  for (std::size_t k = 0; k < config_.timeframes.size(); ++k) {
    const Timeframe& tf = config_.timeframes[k];
    if (tf.seconds() < 2)
      throw std::invalid_argument("Rollups: timeframe " + std::string(tf.name()) +
                                  " cannot be rolled up from 1 s bars (it is their own timeframe)");
    if (std::find(config_.timeframes.begin(), config_.timeframes.begin() + static_cast<std::ptrdiff_t>(k), tf) !=
        config_.timeframes.begin() + static_cast<std::ptrdiff_t>(k))
      throw std::invalid_argument("Rollups: timeframe " + std::string(tf.name()) + " is listed twice");
  }
  // Children live in [floor, newest], at most horizon + 1 seconds.
  child_mask_ = ring_size_for(config_.amend_horizon_s + 2) - 1;
  markets_.resize(config_.max_markets);
  counters_.resize(config_.timeframes.size());
  std::size_t max_windows = 0;
  for (const Timeframe& tf : config_.timeframes)
    max_windows =
        std::max(max_windows, static_cast<std::size_t>(ring_size_for(config_.amend_horizon_s / tf.seconds() + 3)));
  closing_.reserve(max_windows);
}

Rollups::~Rollups() = default;

void Rollups::fold(Bar& acc, const Bar& child) noexcept {
  // OHLC only from children that have it; has_ohlc() of `acc` is read
  // before its counts grow.
  if (child.has_ohlc()) {
    if (acc.has_ohlc()) {
      acc.high = std::max(acc.high, child.high);
      acc.low = std::min(acc.low, child.low);
    } else {
      acc.open = child.open;
      acc.high = child.high;
      acc.low = child.low;
    }
    acc.close = child.close;
  }
  acc.vbuy += child.vbuy;
  acc.vsell += child.vsell;
  acc.cbuy += child.cbuy;
  acc.csell += child.csell;
  acc.lbuy += child.lbuy;
  acc.lsell += child.lsell;
  acc.qbuy += child.qbuy;
  acc.qsell += child.qsell;
}

Rollups::MarketState& Rollups::state(MarketId market) {
  MarketState& m = markets_[market];
  if (m.children) return m;
  const auto children = static_cast<std::size_t>(child_mask_ + 1);
  m.children.reset(new Bar[children]);
  for (std::size_t i = 0; i < children; ++i) m.children[i].open_time_s = kNone;
  m.frontier = m.floor = m.newest = kNone;
  m.timeframes.resize(config_.timeframes.size());
  for (std::size_t k = 0; k < config_.timeframes.size(); ++k) {
    // Live windows start in (floor - tf, frontier]: horizon / tf + 2 of
    // them; one more so a new window never needs a slot still in use.
    const std::int64_t size = ring_size_for(config_.amend_horizon_s / config_.timeframes[k].seconds() + 3);
    TimeframeState& t = m.timeframes[k];
    t.windows.reset(new Window[static_cast<std::size_t>(size)]);
    for (std::int64_t i = 0; i < size; ++i) t.windows[i].start = kNone;
    t.mask = size - 1;
    t.oldest_unclosed = kNever;
    t.hint_start = kNone;
    t.hint = nullptr;
  }
  return m;
}

Rollups::Window* Rollups::find_window(MarketState& m, std::size_t k, std::int64_t s, bool create) {
  const std::int64_t tf = config_.timeframes[k].seconds();
  TimeframeState& t = m.timeframes[k];
  if (t.hint != nullptr && s >= t.hint_start && s - t.hint_start < tf && t.hint->start == t.hint_start) return t.hint;
  const std::int64_t index = floor_div(s, tf);
  const std::int64_t start = index * tf;
  Window& w = t.windows[index & t.mask];
  if (w.start != start) {
    if (!create) return nullptr;
    // The slot's previous window ended at or before the floor (ring sizing),
    // so it is closed and frozen: nothing of it is needed any more.
    w = Window{};
    w.start = start;
    w.last_child_s = kNone;
    w.closed = start + tf <= m.frontier;  // a late child in a window that closed empty
    if (!w.closed) t.oldest_unclosed = std::min(t.oldest_unclosed, start);
  }
  t.hint_start = start;
  t.hint = &w;
  return &w;
}

void Rollups::recompute(const MarketState& m, Window& w, std::int64_t tf_s) const noexcept {
  w.acc = w.checkpoint;
  w.children = w.checkpoint_children;
  const std::int64_t step = m.base > 1 ? m.base : 1;
  const std::int64_t first = first_child_at_or_after(std::max(w.start, m.floor), step);
  const std::int64_t last = std::min(w.start + tf_s, m.newest + 1);
  for (std::int64_t s = first; s < last; s += step) {
    const Bar& child = m.children[s & child_mask_];
    if (child.open_time_s != s) continue;
    fold(w.acc, child);
    ++w.children;
  }
}

void Rollups::emit(MarketId market, std::size_t k, Window& w, std::uint8_t flags) {
  Bar bar = w.acc;
  bar.open_time_s = w.start;
  bar.market = market;
  bar.timeframe_s = config_.timeframes[k].seconds();
  bar.flags = flags;
  w.emitted = true;
  if (flags & kBarAmendment)
    ++counters_[k].amendments;
  else
    ++counters_[k].bars;
  out_.on_bar(bar);
}

void Rollups::close_windows(MarketId market, MarketState& m, std::size_t k, std::int64_t to) {
  TimeframeState& t = m.timeframes[k];
  const std::int64_t tf = config_.timeframes[k].seconds();
  if (t.oldest_unclosed == kNever || t.oldest_unclosed > to - tf) return;  // nothing ends by `to`
  // The ring is small (a few to 16 windows): collect what closes, then emit
  // oldest first.
  closing_.clear();
  std::int64_t oldest_left = kNever;
  for (std::int64_t i = 0; i <= t.mask; ++i) {
    Window& w = t.windows[i];
    if (w.start == kNone || w.closed) continue;
    if (w.start + tf <= to)
      closing_.push_back(&w);
    else
      oldest_left = std::min(oldest_left, w.start);
  }
  std::sort(closing_.begin(), closing_.end(), [](const Window* a, const Window* b) { return a->start < b->start; });
  for (Window* w : closing_) {
    w->closed = true;
    if (w->children > 0) emit(market, k, *w, kBarFinal);
  }
  t.oldest_unclosed = oldest_left;
}

void Rollups::advance(MarketId market, MarketState& m, std::int64_t to) {
  if (to <= m.frontier) return;
  for (std::size_t k = 0; k < m.timeframes.size(); ++k) close_windows(market, m, k, to);
  // Children that leave the horizon can no longer change: fold them, oldest
  // first, into the checkpoints of their windows that are still live.
  const std::int64_t new_floor = to - config_.amend_horizon_s;
  // With no horizon nothing is ever recomputed (a bar for a passed interval
  // is stale), so checkpoints would never be read: the strategy engine's
  // Rollups skip this second fold of every child.
  if (config_.amend_horizon_s > 0 && m.newest != kNone) {
    const std::int64_t step = m.base > 1 ? m.base : 1;
    const std::int64_t first = first_child_at_or_after(std::max(m.floor, m.newest - child_mask_), step);
    const std::int64_t last = std::min(new_floor, m.newest + 1);
    for (std::int64_t s = first; s < last; s += step) {
      const Bar& child = m.children[s & child_mask_];
      if (child.open_time_s != s) continue;
      for (std::size_t k = 0; k < m.timeframes.size(); ++k) {
        if (!builds(m.base, config_.timeframes[k].seconds())) continue;
        // A child's window keeps its record until the floor passes its end.
        Window* w = find_window(m, k, s, /*create=*/false);
        if (w == nullptr || w->start + config_.timeframes[k].seconds() <= new_floor) continue;  // retired now
        fold(w->checkpoint, child);
        ++w->checkpoint_children;
      }
    }
  }
  m.floor = std::max(m.floor, new_floor);
  m.frontier = to;
}

void Rollups::on_bar(const Bar& bar) {
  if (bar.timeframe_s != 1 || bar.market >= config_.max_markets) [[unlikely]] {
    // The backtester's 1 m base bars take this branch; live 1 s bars never do.
    if (!config_.minute_bases || bar.timeframe_s != 60 || bar.market >= config_.max_markets ||
        floor_div(bar.open_time_s, 60) * 60 != bar.open_time_s) {
      ++ignored_bars_;
      return;
    }
  }
  MarketState& m = state(bar.market);
  if (m.base != bar.timeframe_s) [[unlikely]] {
    if (m.base != 0) {
      // One base per market: a second one would count the same trades twice.
      ++mixed_base_bars_;
      return;
    }
    m.base = bar.timeframe_s;
  }
  const std::int64_t s = bar.open_time_s;
  if (s < m.floor) [[unlikely]] {
    ++stale_bars_;
    return;
  }
  // A base bar is emitted only for a closed interval: everything before it
  // is closed too, so windows ending by `s` close before it is added.
  advance(bar.market, m, s);
  Bar& child = m.children[s & child_mask_];
  const bool replaced = child.open_time_s == s;
  child = bar;
  m.newest = std::max(m.newest, s);
  for (std::size_t k = 0; k < config_.timeframes.size(); ++k) {
    const Timeframe& tf = config_.timeframes[k];
    if (!builds(m.base, tf.seconds())) continue;  // e.g. 30s from 1 m bars
    Window& w = *find_window(m, k, s, /*create=*/true);
    if (!replaced && s > w.last_child_s) {
      fold(w.acc, bar);  // the usual case: the newest child, appended to the fold
      ++w.children;
      w.last_child_s = s;
    } else {
      recompute(m, w, tf.seconds());
      w.last_child_s = std::max(w.last_child_s, s);
    }
    if (w.closed) emit(bar.market, k, w, kBarAmendment);
  }
  advance(bar.market, m, s + bar.timeframe_s);
}

void Rollups::resume(MarketId market, std::int64_t frontier_s, const std::vector<std::optional<Bar>>& open) {
  if (market >= config_.max_markets) return;
  MarketState& m = state(market);
  m.base = 1;
  m.frontier = m.floor = frontier_s;
  m.newest = frontier_s - 1;
  for (std::size_t k = 0; k < config_.timeframes.size() && k < open.size(); ++k) {
    if (!open[k]) continue;
    Window& w = *find_window(m, k, frontier_s, /*create=*/true);
    // The previous run's fold is this window's checkpoint: those children
    // are frozen (below the floor) and never recomputed.
    w.checkpoint = *open[k];
    w.acc = *open[k];
    w.checkpoint_children = w.children = 1;
    w.last_child_s = frontier_s - 1;
  }
}

void Rollups::on_closed(MarketId market, std::int64_t closed_until_s) {
  if (market >= config_.max_markets) return;
  MarketState& m = markets_[market];
  if (!m.children) return;  // no bar yet: no window to close
  advance(market, m, closed_until_s);
}

std::optional<Bar> Rollups::provisional(MarketId market, std::size_t timeframe_index) const {
  if (market >= config_.max_markets || timeframe_index >= config_.timeframes.size()) return std::nullopt;
  const MarketState& m = markets_[market];
  if (!m.children || m.frontier == kNone) return std::nullopt;
  const Timeframe& tf = config_.timeframes[timeframe_index];
  if (!builds(m.base, tf.seconds())) return std::nullopt;
  const std::int64_t start = tf.window_start(m.frontier);
  const TimeframeState& t = m.timeframes[timeframe_index];
  const Window& w = t.windows[floor_div(start, tf.seconds()) & t.mask];
  if (w.start != start || w.closed || w.children == 0) return std::nullopt;
  Bar bar = w.acc;
  bar.open_time_s = start;
  bar.market = market;
  bar.timeframe_s = tf.seconds();
  bar.flags = kBarProvisional;
  return bar;
}

std::optional<Bar> Rollups::fold_before(MarketId market, std::size_t timeframe_index, std::int64_t from_s) const {
  if (market >= config_.max_markets || timeframe_index >= config_.timeframes.size()) return std::nullopt;
  const MarketState& m = markets_[market];
  if (!m.children || m.frontier == kNone || from_s < m.floor) return std::nullopt;
  // Without a horizon nothing is frozen apart (checkpoints are not kept):
  // only the frontier's own fold is known.
  if (config_.amend_horizon_s == 0) return from_s == m.frontier ? provisional(market, timeframe_index) : std::nullopt;
  const Timeframe& tf = config_.timeframes[timeframe_index];
  if (!builds(m.base, tf.seconds())) return std::nullopt;
  const std::int64_t start = tf.window_start(from_s);
  const TimeframeState& t = m.timeframes[timeframe_index];
  const Window& w = t.windows[floor_div(start, tf.seconds()) & t.mask];
  if (w.start != start) return std::nullopt;  // no child of this window yet
  // What recompute() does, stopped at from_s: the frozen part, then the
  // children still in the ring, in time order.
  Bar acc = w.checkpoint;
  std::uint32_t children = w.checkpoint_children;
  const std::int64_t step = m.base > 1 ? m.base : 1;
  const std::int64_t last = std::min(from_s, m.newest + 1);
  for (std::int64_t s = first_child_at_or_after(std::max(start, m.floor), step); s < last; s += step) {
    const Bar& child = m.children[s & child_mask_];
    if (child.open_time_s != s) continue;
    fold(acc, child);
    ++children;
  }
  if (children == 0) return std::nullopt;
  acc.open_time_s = start;
  acc.market = market;
  acc.timeframe_s = tf.seconds();
  acc.flags = kBarProvisional;
  return acc;
}

void Rollups::flush() {
  for (std::size_t id = 0; id < markets_.size(); ++id) {
    MarketState& m = markets_[id];
    if (!m.children) continue;
    for (std::size_t k = 0; k < m.timeframes.size(); ++k)
      close_windows(static_cast<MarketId>(id), m, k, std::numeric_limits<std::int64_t>::max() / 2);
  }
}

}  // namespace tickflow
