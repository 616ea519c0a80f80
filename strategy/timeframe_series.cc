// strategy/timeframe_series.cc
#include "strategy/timeframe_series.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>

#include "pipeline/bar_flow.h"

namespace tickflow {

void WindowSum::add(const Bar& bar, MarketClass side) noexcept {
  // The one definition of a bar's flow: pipeline/bar_flow.h.
  const double delta = bar_delta(bar);
  if (adds_to_spot_delta(side))
    ds_ += delta;
  else
    df_ += delta;
  const double v = bar_volume(bar);
  volume_ += v;
  liq_ += bar.lbuy + bar.lsell;
  ++bars_;
  if (!bar.has_ohlc()) return;  // liquidations only: no price
  // A market with trades but zero notional cannot weight; give it a tiny
  // weight so that its price still counts when it is the only one.
  const double w = v > 0 ? v : 1e-300;
  wopen_ += bar.open * w;
  wclose_ += bar.close * w;
  wvol_ += w;
  if (!has_price_) {
    high_ = bar.high;
    low_ = bar.low;
    has_price_ = true;
  } else {
    high_ = std::max(high_, bar.high);
    low_ = std::min(low_, bar.low);
  }
}

SeriesBar WindowSum::to_bar(std::int64_t open_time_s, double prev_close) const noexcept {
  SeriesBar b;
  b.open_time_s = open_time_s;
  if (has_price_) {
    b.open = wopen_ / wvol_;
    b.close = wclose_ / wvol_;
    // Weighted means of different markets can leave [min low, max high] by
    // rounding only; clamp so that every bar satisfies low <= open, close <= high.
    b.high = std::max({high_, b.open, b.close});
    b.low = std::min({low_, b.open, b.close});
  } else {
    b.open = b.high = b.low = b.close = prev_close;
  }
  b.ds = ds_;
  b.df = df_;
  b.volume = volume_;
  b.liq = liq_;
  return b;
}

TimeframeSeries::TimeframeSeries(std::uint32_t timeframe_s, std::size_t capacity)
    : timeframe_s_(timeframe_s), capacity_(capacity) {
  if (timeframe_s == 0) throw std::invalid_argument("timeframe series: timeframe must be positive");
  if (capacity < 2) throw std::invalid_argument("timeframe series: capacity must be at least 2");
  mask_ = std::bit_ceil(capacity + 1) - 1;  // M > capacity: see the mirrored ring
  ring_ = std::make_unique<SeriesBar[]>(2 * (mask_ + 1) + 1);
  refresh_view();
}

void TimeframeSeries::refresh_view() noexcept {
  const std::size_t m = mask_ + 1;
  // Slot of the newest committed bar, upper copy; with nothing committed
  // yet, "slot −1" (the provisional then sits at ring_[m]).
  const std::size_t top = committed_ > 0 ? ((head_ - 1) & mask_) + m : m - 1;
  newest_ = &ring_[top + (has_provisional_ ? 1 : 0)];
  // The oldest bar of the history: its running total before it is the anchor.
  const SeriesBar& oldest = ring_[top + (has_provisional_ ? 1 : 0) + 1 - size()];
  anchor_ds_ = size() > 0 ? oldest.cum_ds - oldest.ds : 0;
  anchor_df_ = size() > 0 ? oldest.cum_df - oldest.df : 0;
}

void TimeframeSeries::add(const Bar& bar, MarketClass side) noexcept {
  const std::int64_t start = bar.open_time_s;
  if (start < next_start_) {  // that window is committed already
    ++ignored_;
    return;
  }
  if (!pending_.empty() && start != pending_start_) {
    if (start < pending_start_) {  // a bar older than the pending window, after it started
      ++ignored_;
      return;
    }
    // A later window began: the pending one can no longer be amended here.
    commit(pending_.to_bar(pending_start_, last_close_));
    pending_.clear();
  }
  pending_start_ = start;
  pending_.add(bar, side);
}

void TimeframeSeries::close_until(std::int64_t closed_until_s) noexcept {
  const std::int64_t tf = timeframe_s_;
  if (!pending_.empty() && pending_start_ + tf <= closed_until_s) {
    commit(pending_.to_bar(pending_start_, last_close_));
    pending_.clear();
  }
  // Empty windows up to the frontier: only once the series has started.
  if (next_start_ != INT64_MIN && next_start_ + tf <= closed_until_s) {
    std::int64_t end = closed_until_s - ((closed_until_s - next_start_) % tf);
    // An older pending window than the frontier cannot exist here; a newer
    // one (ahead of the frontier) stops the gap fill at its start.
    if (!pending_.empty()) end = std::min(end, pending_start_);
    fill_gaps_before(end);
  }
}

void TimeframeSeries::fill_gaps_before(std::int64_t start) noexcept {
  if (next_start_ == INT64_MIN || start <= next_start_) return;
  const std::int64_t tf = timeframe_s_;
  // More empty windows than the ring holds would only push each other out.
  const std::int64_t gaps = (start - next_start_) / tf;
  if (gaps > static_cast<std::int64_t>(capacity_)) next_start_ = start - static_cast<std::int64_t>(capacity_) * tf;
  while (next_start_ + tf <= start) {
    SeriesBar empty;
    empty.open_time_s = next_start_;
    empty.open = empty.high = empty.low = empty.close = last_close_;
    commit(empty);
  }
}

void TimeframeSeries::push(const SeriesBar& bar) noexcept { commit(bar); }

void TimeframeSeries::commit(SeriesBar bar) noexcept {
  if (next_start_ != INT64_MIN && bar.open_time_s > next_start_) fill_gaps_before(bar.open_time_s);
  cum_ds_ += bar.ds;
  cum_df_ += bar.df;
  bar.cum_ds = cum_ds_;
  bar.cum_df = cum_df_;
  if (committed_ == capacity_) {
    const SeriesBar& leaving = ring_[(head_ - committed_) & mask_];
    range_sum_.add(-(leaving.high - leaving.low));
  } else {
    ++committed_;
  }
  range_sum_.add(bar.high - bar.low);
  const std::size_t slot = head_ & mask_;
  // The provisional bar lives in the slot this write may take: keep it.
  const SeriesBar provisional = has_provisional_ ? *newest_ : SeriesBar{};
  ring_[slot] = bar;
  ring_[slot + mask_ + 1] = bar;
  ++head_;
  last_close_ = bar.close;
  next_start_ = bar.open_time_s + timeframe_s_;
  if (has_provisional_ && provisional.open_time_s < next_start_) {
    has_provisional_ = false;
    refresh_view();
  } else if (has_provisional_) {
    set_provisional(provisional);  // re-based on the new running totals
  } else {
    refresh_view();
  }
}

void TimeframeSeries::clear_provisional() noexcept {
  has_provisional_ = false;
  provisional_start_ = INT64_MIN;
  provisional_sum_.clear();
  refresh_view();
}

void TimeframeSeries::add_provisional(const Bar& bar, MarketClass side) noexcept {
  if (bar.open_time_s < next_start_) return;  // already committed: not provisional any more
  if (bar.open_time_s != provisional_start_) {
    provisional_sum_.clear();
    provisional_start_ = bar.open_time_s;
  }
  provisional_sum_.add(bar, side);
  set_provisional(provisional_sum_.to_bar(provisional_start_, last_close_));
}

void TimeframeSeries::set_provisional(const SeriesBar& bar) noexcept {
  const std::size_t m = mask_ + 1;
  const std::size_t top = committed_ > 0 ? ((head_ - 1) & mask_) + m : m - 1;
  SeriesBar& slot = ring_[top + 1];
  slot = bar;
  slot.cum_ds = cum_ds_ + bar.ds;
  slot.cum_df = cum_df_ + bar.df;
  has_provisional_ = true;
  refresh_view();
}

double TimeframeSeries::momentum(std::size_t k) const noexcept {
  const double then = close(k);
  return then != 0 ? (close(0) - then) / then : std::numeric_limits<double>::quiet_NaN();
}

double TimeframeSeries::mean_bar_range() const noexcept {
  const std::size_t n = size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  double sum = range_sum_.value();
  if (has_provisional_) sum += newest_->high - newest_->low;
  return sum / static_cast<double>(n);
}

}  // namespace tickflow
