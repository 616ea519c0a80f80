// strategy/bar_source.h
//
// BarSource: where the backtester's base bars come from (CSV files,
// InfluxDB; ../shared/docs/squeezeflow-strategy.md, "Backtest"). Every source
// yields bars the same way so the backtester merges them once and derives
// 5m..4h through pipeline/rollup.h, the same code as live.
//
// Promises (every implementation):
//  * bars are base bars: timeframe_s 1 or 60, open_time_s aligned to it,
//    one base per market;
//  * each market's bars come in strictly increasing open time;
//  * the stream is ordered by visible time (open_time_s + timeframe_s: a bar
//    can be acted on only once it closed), ties by market id, so a 1 m bar
//    opening at 0 comes after the 1 s bars opening at 0..58;
//  * bad input throws std::runtime_error naming where it is (file:line, or
//    URL and time chunk), never a silently skipped bar.
#pragma once

#include <cstddef>
#include <span>

#include "pipeline/bar.h"

namespace tickflow {

class BarSource {
 public:
  virtual ~BarSource() = default;
  // The next bar into `out`; false at the end. Throws std::runtime_error
  // with a clear message (file/line or URL/chunk) on bad input.
  virtual bool next(Bar& out) = 0;
  // 0..1 when known (for a progress bar), else -1.
  virtual double progress() const noexcept { return -1; }
};

// The stream order: visible time, then market id.
// Bars already in memory, in BarSource order (the owner's promise), read
// front to back without a copy: what the CSV and capture sources hand out,
// and tests and benchmarks that build their bars. The bars outlive it.
class BarSpanSource final : public BarSource {
 public:
  BarSpanSource() = default;
  explicit BarSpanSource(std::span<const Bar> bars) noexcept : bars_(bars) {}
  bool next(Bar& out) override {
    if (next_ >= bars_.size()) return false;
    out = bars_[next_++];
    return true;
  }
  double progress() const noexcept override {
    return bars_.empty() ? 1.0 : static_cast<double>(next_) / static_cast<double>(bars_.size());
  }

 private:
  std::span<const Bar> bars_;
  std::size_t next_ = 0;
};

inline bool visible_before(const Bar& a, const Bar& b) noexcept {
  const std::int64_t va = a.open_time_s + a.timeframe_s;
  const std::int64_t vb = b.open_time_s + b.timeframe_s;
  return va != vb ? va < vb : a.market < b.market;
}

}  // namespace tickflow
