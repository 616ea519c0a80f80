#include "pipeline/bar_builder.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

namespace tickflow {
namespace {

constexpr std::int64_t kMaxHorizonS = 86'400;

std::int64_t ceil_seconds(std::int64_t ns) noexcept { return (ns + kNanosPerSecond - 1) / kNanosPerSecond; }

}  // namespace

BarCounters& BarCounters::operator+=(const BarCounters& other) noexcept {
  bars += other.bars;
  amendments += other.amendments;
  late_drops += other.late_drops;
  seconds_with_data += other.seconds_with_data;
  gaps += other.gaps;
  gap_seconds += other.gap_seconds;
  resumed_drops += other.resumed_drops;
  gap_holds += other.gap_holds;
  gap_hold_timeouts += other.gap_hold_timeouts;
  incomplete_seconds += other.incomplete_seconds;
  incomplete_trades += other.incomplete_trades;
  return *this;
}

BarBuilder::BarBuilder(const BarBuilderConfig& config, BarSink& sink) : config_(config), sink_(sink) {
  if (config.max_markets == 0 || config.max_markets > (std::size_t{1} << 24))
    throw std::invalid_argument("BarBuilder: max_markets must be 1 to 2^24, got " + std::to_string(config.max_markets));
  if (config.lateness_ns < 0 || config.lateness_ns > 60 * kNanosPerSecond)
    throw std::invalid_argument("BarBuilder: lateness must be 0 to 60 s, got " + std::to_string(config.lateness_ns) +
                                " ns");
  if (config.quiet_close_delay_ns < 0 || config.quiet_close_delay_ns > 3600 * kNanosPerSecond)
    throw std::invalid_argument("BarBuilder: the quiet-close delay must be 0 to 1 h, got " +
                                std::to_string(config.quiet_close_delay_ns) + " ns");
  if (config.gap_hold_ns < 0 || config.gap_hold_ns > 3600 * kNanosPerSecond)
    throw std::invalid_argument("BarBuilder: the gap hold must be 0 to 1 h, got " + std::to_string(config.gap_hold_ns) +
                                " ns");
  if (config.quiet_lag_margin_ns < 0 || config.quiet_lag_margin_ns > 60 * kNanosPerSecond)
    throw std::invalid_argument("BarBuilder: the quiet-close lag margin must be 0 to 60 s, got " +
                                std::to_string(config.quiet_lag_margin_ns) + " ns");
  if (config.amend_horizon_ns < 0 || config.amend_horizon_ns > kMaxHorizonS * kNanosPerSecond)
    throw std::invalid_argument("BarBuilder: the amendment horizon must be 0 to 1 day, got " +
                                std::to_string(config.amend_horizon_ns) + " ns");
  horizon_s_ = ceil_seconds(config.amend_horizon_ns);
  // Ring sizing. The ring holds the amendable history [closed - horizon,
  // closed) and the open seconds [closed, newest]. Open seconds normally
  // span at most ceil(lateness) + 1 seconds past the frontier; open_second()
  // force-closes anything beyond max_open_span_s_, so the two ranges never
  // share a slot.
  const std::int64_t open_span = ceil_seconds(config.lateness_ns) + 2;
  ring_size_ = static_cast<std::int64_t>(std::bit_ceil(static_cast<std::uint64_t>(horizon_s_ + open_span + 1)));
  tag_scratch_.reserve(static_cast<std::size_t>(ring_size_));
  max_open_span_s_ = ring_size_ - horizon_s_ - 1;

  // Until a market's ring exists its slots point at this one-slot sentinel,
  // whose second never matches, so the hot path needs no null check: the
  // mismatch sends the first trade to open_second(), which allocates.
  // It is never written (open_second and late_trade allocate first), and
  // only read, so every builder on every thread may share it.
  static Slot sentinel;
  hot_.reset(new MarketHot[config.max_markets]);
  for (std::size_t i = 0; i < config.max_markets; ++i) hot_[i].slots = &sentinel;
  cold_.resize(config.max_markets);
  active_.reserve(config.max_markets);  // push_back never reallocates on a first trade
}

BarBuilder::~BarBuilder() = default;

BarCounters BarBuilder::totals() const noexcept {
  BarCounters sum;
  for (MarketId id : active_) sum += cold_[id].counters;
  return sum;
}

std::int64_t BarBuilder::end_plus(std::int64_t second, std::int64_t extra_ns) const noexcept {
  // (second + 1) s + extra, saturating: a far-future timestamp must not wrap
  // into the past and close everything.
  constexpr std::int64_t kMaxSecond = std::numeric_limits<std::int64_t>::max() / kNanosPerSecond - 3700;
  if (second >= kMaxSecond) return std::numeric_limits<std::int64_t>::max();
  return (second + 1) * kNanosPerSecond + extra_ns;
}

void BarBuilder::reset(Slot& slot, std::int64_t second) noexcept {
  slot = Slot{};
  slot.second = second;
  slot.open_ts = std::numeric_limits<std::int64_t>::max();
  slot.close_ts = std::numeric_limits<std::int64_t>::min();
  slot.high = -std::numeric_limits<double>::infinity();
  slot.low = std::numeric_limits<double>::infinity();
}

Bar BarBuilder::make_bar(MarketId market, const Slot& slot, std::uint8_t flags) const noexcept {
  Bar bar;
  bar.open_time_s = slot.second;
  bar.market = market;
  bar.timeframe_s = 1;
  bar.flags = flags;
  if (slot.count[0] + slot.count[1] > 0) {
    bar.open = slot.open;
    bar.high = slot.high;
    bar.low = slot.low;
    bar.close = slot.close;
  }
  bar.vbuy = slot.notional[0];
  bar.vsell = slot.notional[1];
  bar.cbuy = slot.count[0];
  bar.csell = slot.count[1];
  bar.lbuy = slot.liq[0];
  bar.lsell = slot.liq[1];
  bar.qbuy = slot.qty[0];
  bar.qsell = slot.qty[1];
  return bar;
}

void BarBuilder::ensure_ring(MarketId market) {
  MarketCold& cold = cold_[market];
  if (cold.ring) return;
  cold.ring.reset(new Slot[static_cast<std::size_t>(ring_size_)]);  // every slot's second is kNoTime
  hot_[market].slots = cold.ring.get();
  hot_[market].mask = ring_size_ - 1;
  active_.push_back(market);
  // Per-market clock closes: the new market's first deadline is set by the
  // sweep at the next clock reading. (The fixed delay shares one deadline
  // for every market, which the next sweep also applies to this one.)
  if (config_.quiet_close_from_lag) next_sweep_ns_ = std::numeric_limits<std::int64_t>::min();
}

void BarBuilder::set_connection(MarketId market, std::uint16_t connection) {
  if (market >= config_.max_markets) return;
  MarketCold& cold = cold_[market];
  if (cold.connection == connection) return;
  if (cold.connection >= 0) {
    auto& old = connections_[static_cast<std::size_t>(cold.connection)];
    old.erase(std::remove(old.begin(), old.end(), market), old.end());
  }
  if (connections_.size() <= connection) connections_.resize(std::size_t{connection} + 1);
  connections_[connection].push_back(market);
  cold.connection = connection;
  ensure_ring(market);
}

BarBuilder::Slot& BarBuilder::open_second(MarketId market, std::int64_t second) {
  ensure_ring(market);
  MarketHot& m = hot_[market];
  // A trade far ahead of the frontier (a market silent for a while, or a
  // jump in exchange time): close what its watermark is about to close
  // anyway, before its slot could alias an open or amendable second.
  if (second - m.closed_until_s > max_open_span_s_) close_to(market, second - max_open_span_s_);
  Slot& slot = m.slots[second & m.mask];
  reset(slot, second);
  slot.origin = input_tag_;
  if (second > m.newest_s) m.newest_s = second;
  ++cold_[market].counters.seconds_with_data;
  return slot;
}

void BarBuilder::late_trade(const Trade& trade, std::int64_t second) {
  const MarketId market = trade.market;
  MarketCold& cold = cold_[market];
  if (second < cold.sealed_before_s) {
    ++cold.counters.resumed_drops;  // a previous run sealed (and stored) this second
  } else if (second <= cold.discard_through_s) {
    ++cold.counters.incomplete_trades;
  } else if (second < hot_[market].closed_until_s - horizon_s_) {
    ++cold.counters.late_drops;
  } else {
    ensure_ring(market);
    Slot& slot = hot_[market].slots[second & hot_[market].mask];
    if (slot.second != second) {
      reset(slot, second);
      slot.origin = input_tag_;
      ++cold.counters.seconds_with_data;
    }
    accumulate(slot, trade);
    ++cold.counters.amendments;
    if (!trade.is_liquidation() && slot.close_ts > cold.sealed_exchange_ns) cold.sealed_exchange_ns = slot.close_ts;
    if (slot.last_trade_id > cold.sealed_trade_id) cold.sealed_trade_id = slot.last_trade_id;
    sink_.on_bar(make_bar(market, slot, kBarAmendment));
  }
  // Its exchange time still counts: the frontier may have been moved by the
  // clock past the watermark.
  raise_watermark(market, trade.exchange_ts_ns);
}

void BarBuilder::raise_watermark(MarketId market, std::int64_t watermark_ns) {
  MarketHot& m = hot_[market];
  if (watermark_ns <= m.watermark_ns) return;
  m.watermark_ns = watermark_ns;
  if (watermark_ns >= m.next_close_ns) close_by_watermark(market);
}

void BarBuilder::close_by_watermark(MarketId market) {
  close_to(market, floor_div(hot_[market].watermark_ns - config_.lateness_ns, kNanosPerSecond));
}

void BarBuilder::close_to(MarketId market, std::int64_t until_s) {
  MarketHot& m = hot_[market];
  if (until_s <= m.closed_until_s) return;
  if (m.newest_s != kNoTime && m.newest_s >= m.closed_until_s) {
    // Open seconds lie in [closed_until_s, newest_s], and only the last
    // ring-size of them can still be in the ring.
    const std::int64_t first = std::max(m.closed_until_s, m.newest_s - m.mask);
    const std::int64_t last = std::min(until_s, m.newest_s + 1);
    for (std::int64_t s = first; s < last; ++s) {
      const Slot& slot = m.slots[s & m.mask];
      if (slot.second == s) emit_final(market, slot);
    }
  }
  m.closed_until_s = until_s;
  m.next_close_ns = next_close_for(market);
  sink_.on_closed(market, until_s);
}

std::int64_t BarBuilder::next_close_for(MarketId market) const noexcept {
  // A held market closes nothing by watermark: no watermark reaches this.
  if (cold_[market].pending_gaps > 0) return std::numeric_limits<std::int64_t>::max();
  const std::int64_t closed = hot_[market].closed_until_s;
  if (closed == kNoTime) return std::numeric_limits<std::int64_t>::min();  // as before any close: the next watermark
  return end_plus(closed, config_.lateness_ns);
}

void BarBuilder::emit_final(MarketId market, const Slot& slot) {
  MarketCold& cold = cold_[market];
  if (slot.second <= cold.discard_through_s) [[unlikely]] {
    // Incomplete after a restart (see the banner): not written over what
    // the previous run may have stored.
    ++cold.counters.incomplete_seconds;
    cold.counters.incomplete_trades += std::uint64_t{slot.count[0]} + slot.count[1];
    return;
  }
  cold.resume_pending = false;  // a whole second written: the restart is behind this market
  if (slot.count[0] + slot.count[1] > 0 && slot.close_ts > cold.sealed_exchange_ns)
    cold.sealed_exchange_ns = slot.close_ts;
  if (slot.last_trade_id > cold.sealed_trade_id) cold.sealed_trade_id = slot.last_trade_id;
  if (cold.last_bar_s != kNoTime && slot.second > cold.last_bar_s + 1 && cold.interrupted_s < cold.last_bar_s) {
    ++cold.counters.gaps;
    cold.counters.gap_seconds += static_cast<std::uint64_t>(slot.second - cold.last_bar_s - 1);
  }
  cold.last_bar_s = slot.second;
  ++cold.counters.bars;
  sink_.on_bar(make_bar(market, slot, kBarFinal));
}

std::int64_t BarBuilder::observed_lag_ns(std::uint16_t connection) const noexcept {
  return connection < lags_.size() ? lags_[connection].estimate() : kNoTime;
}

std::int64_t BarBuilder::quiet_close_after_ns(MarketId market) const noexcept {
  const std::int64_t fixed = config_.lateness_ns + config_.quiet_close_delay_ns;
  if (!config_.quiet_close_from_lag || market >= config_.max_markets) return fixed;
  const std::int32_t connection = cold_[market].connection;
  if (connection < 0) return fixed;
  const std::int64_t lag = observed_lag_ns(static_cast<std::uint16_t>(connection));
  if (lag == kNoTime) return fixed;
  // Never later than the fixed delay; an exchange clock far ahead of ours
  // (a negative lag) moves the close at most a minute earlier.
  const std::int64_t wait =
      std::clamp(lag + config_.quiet_lag_margin_ns, -60 * kNanosPerSecond, config_.quiet_close_delay_ns);
  return config_.lateness_ns + wait;
}

void BarBuilder::observe_lag(std::uint16_t connection, std::int64_t receive_ns, std::int64_t watermark_ns) {
  if (receive_ns <= 0 || watermark_ns <= 0) return;
  if (lags_.size() <= connection) lags_.resize(std::size_t{connection} + 1);  // once per connection
  ConnectionLag& lag = lags_[connection];
  const std::int64_t before = lag.estimate();
  if (lag.window_start_ns == kNoTime) {
    lag.window_start_ns = receive_ns;
  } else if (receive_ns - lag.window_start_ns >= kLagWindowNs) {
    // The window ends: it becomes the previous one, unless a whole window
    // passed without a watermark (then nothing recent is known before this).
    lag.previous_max_ns = receive_ns - lag.window_start_ns >= 2 * kLagWindowNs ? kNoTime : lag.current_max_ns;
    lag.current_max_ns = kNoTime;
    lag.window_start_ns = receive_ns;
  }
  lag.current_max_ns = std::max(lag.current_max_ns, receive_ns - watermark_ns);
  // A smaller lag brings the connection's clock closes forward: re-plan
  // them at the next clock reading. A larger one only delays them; the
  // sweep planned earlier then finds nothing to close and plans again.
  if (lag.estimate() < before) next_sweep_ns_ = std::numeric_limits<std::int64_t>::min();
}

void BarBuilder::sweep(std::int64_t now_ns) {
  // Every second whose end + lateness + quiet delay has passed on the clock
  // is closed, for every market: the quiet ones get their bars out, and
  // downstream windows close even when a market stopped trading.
  // Held markets close nothing until their hold ends (kBackfilled, or its
  // deadline here). With quiet_close_from_lag each market has its own delay
  // (its connection's lag), so its own frontier and deadline.
  const bool per_market = config_.quiet_close_from_lag;
  const std::int64_t slack = config_.lateness_ns + config_.quiet_close_delay_ns;
  const std::int64_t frontier = floor_div(now_ns - slack, kNanosPerSecond);
  std::int64_t next = per_market ? std::numeric_limits<std::int64_t>::max() : end_plus(frontier, slack);
  for (MarketId market : active_) {
    MarketCold& cold = cold_[market];
    if (cold.pending_gaps > 0) [[unlikely]] {
      if (now_ns < cold.hold_deadline_ns) {
        next = std::min(next, cold.hold_deadline_ns);
        continue;
      }
      ++cold.counters.gap_hold_timeouts;
      release_hold(market, /*covered=*/false, /*timed_out=*/true);
    }
    if (!per_market) {
      if (frontier > hot_[market].closed_until_s) close_to(market, frontier);
      continue;
    }
    const std::int64_t own_slack = quiet_close_after_ns(market);
    const std::int64_t own_frontier = floor_div(now_ns - own_slack, kNanosPerSecond);
    if (own_frontier > hot_[market].closed_until_s) close_to(market, own_frontier);
    next = std::min(next, end_plus(own_frontier, own_slack));
  }
  next_sweep_ns_ = next;
}

void BarBuilder::resume(MarketId market, std::int64_t closed_until_s, std::uint64_t sealed_trade_id,
                        std::int64_t sealed_exchange_ns, bool replayed) {
  if (market >= config_.max_markets) return;
  MarketHot& m = hot_[market];
  MarketCold& cold = cold_[market];
  m.closed_until_s = closed_until_s;
  m.next_close_ns = next_close_for(market);
  cold.sealed_before_s = closed_until_s;
  cold.sealed_trade_id = sealed_trade_id;
  cold.sealed_exchange_ns = sealed_exchange_ns;
  cold.resume_pending = !replayed;
}

std::int64_t BarBuilder::replay_start_above(MarketId market, std::int64_t from_s, std::uint64_t tag,
                                            std::uint64_t& lowest) const noexcept {
  lowest = std::numeric_limits<std::uint64_t>::max();
  if (market >= config_.max_markets || !cold_[market].ring) return from_s;
  const std::int64_t closed = hot_[market].closed_until_s;
  const Slot* ring = cold_[market].ring.get();
  // Open seconds first (they must be replayed whatever their tags), then
  // the closed ones from the newest down while they stay above `tag`.
  tag_scratch_.clear();
  for (std::int64_t i = 0; i < ring_size_; ++i) {
    const Slot& slot = ring[i];
    if (slot.second == kNoTime || slot.second < from_s) continue;
    if (slot.second >= closed)
      lowest = std::min(lowest, slot.origin);
    else
      tag_scratch_.emplace_back(slot.second, slot.origin);
  }
  if (lowest <= tag) return std::max(from_s, closed);
  std::sort(tag_scratch_.begin(), tag_scratch_.end(), std::greater<>());
  for (const auto& [second, origin] : tag_scratch_) {
    if (origin <= tag) return second + 1;
    lowest = std::min(lowest, origin);
  }
  return from_s;
}

std::uint64_t BarBuilder::lowest_tag_from(MarketId market, std::int64_t from_s) const noexcept {
  std::uint64_t lowest = std::numeric_limits<std::uint64_t>::max();
  if (market >= config_.max_markets || !cold_[market].ring) return lowest;
  // The ring holds every second from the amendment horizon to the newest
  // open one; a slot of an older second (not reused yet) is left out by
  // `from_s`. A sequential pass over the ring, once a second.
  const Slot* ring = cold_[market].ring.get();
  for (std::int64_t i = 0; i < ring_size_; ++i)
    if (ring[i].second != kNoTime && ring[i].second >= from_s) lowest = std::min(lowest, ring[i].origin);
  return lowest;
}

void BarBuilder::start_hold(const FeedStatus& status) {
  if (status.market >= config_.max_markets) return;
  const MarketId market = status.market;
  MarketCold& cold = cold_[market];
  if (status.watermark_ns > 0)
    cold.hold_through_s = std::max(cold.hold_through_s, floor_div(status.watermark_ns, kNanosPerSecond));
  if (config_.gap_hold_ns <= 0) {
    // No backfill will come: a resumed market's gap stays open, so the
    // seconds up to the revealing trade's are incomplete.
    if (cold.resume_pending) {
      cold.discard_through_s = std::max(cold.discard_through_s, cold.hold_through_s);
      cold.resume_pending = false;
    }
    return;
  }
  ++cold.pending_gaps;
  ++cold.counters.gap_holds;
  cold.hold_deadline_ns = status.receive_ts_ns + config_.gap_hold_ns;
  hot_[market].next_close_ns = std::numeric_limits<std::int64_t>::max();
  next_sweep_ns_ = std::min(next_sweep_ns_, cold.hold_deadline_ns);
}

void BarBuilder::release_hold(MarketId market, bool covered, bool timed_out) {
  MarketCold& cold = cold_[market];
  if (cold.pending_gaps == 0) return;
  cold.pending_gaps = timed_out ? 0 : cold.pending_gaps - 1;
  if (!covered && cold.resume_pending) cold.discard_through_s = std::max(cold.discard_through_s, cold.hold_through_s);
  if (cold.pending_gaps > 0) return;
  cold.resume_pending = false;
  MarketHot& m = hot_[market];
  m.next_close_ns = next_close_for(market);
  if (m.watermark_ns >= m.next_close_ns) close_by_watermark(market);
  next_sweep_ns_ = std::numeric_limits<std::int64_t>::min();  // the clock's closes: at its next reading
}

void BarBuilder::flush() {
  for (MarketId market : active_) {
    const MarketHot& m = hot_[market];
    if (m.newest_s != kNoTime && m.newest_s >= m.closed_until_s) close_to(market, m.newest_s + 1);
  }
}

void BarBuilder::mark_interrupted(const FeedStatus& status) {
  // The news is dated by the market's watermark: the run of empty seconds
  // that follows the bar of that second (or a later one) is no gap.
  auto mark = [this](MarketId market) {
    const std::int64_t watermark = hot_[market].watermark_ns;
    cold_[market].interrupted_s = watermark == kNoTime ? kNoTime : floor_div(watermark, kNanosPerSecond);
  };
  if (status.market != kInvalidMarket) {
    if (status.market < config_.max_markets) mark(status.market);
    return;
  }
  if (status.connection < connections_.size())
    for (MarketId market : connections_[status.connection]) mark(market);
}

void BarBuilder::on_status(const FeedStatus& status) {
  switch (status.kind) {
    case FeedStatusKind::kWatermark:
      if (config_.quiet_close_from_lag && status.market == kInvalidMarket)
        observe_lag(status.connection, status.receive_ts_ns, status.watermark_ns);
      if (status.market != kInvalidMarket) {
        if (status.market < config_.max_markets) raise_watermark(status.market, status.watermark_ns);
      } else if (status.connection < connections_.size()) {
        for (MarketId market : connections_[status.connection]) raise_watermark(market, status.watermark_ns);
      }
      break;
    case FeedStatusKind::kConnected:
      if (status.market != kInvalidMarket) set_connection(status.market, status.connection);
      mark_interrupted(status);
      break;
    case FeedStatusKind::kDisconnected: mark_interrupted(status); break;
    case FeedStatusKind::kGap: start_hold(status); break;
    case FeedStatusKind::kBackfilled:
      if (status.market < config_.max_markets) release_hold(status.market, status.detail != 0, false);
      break;
    case FeedStatusKind::kStale: break;
    case FeedStatusKind::kBusMark: break;  // the aggregator's, not the bars'
  }
}

}  // namespace tickflow
