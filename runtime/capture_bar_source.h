// runtime/capture_bar_source.h
//
// CaptureBarSource: the backtester's capture input. Recorded frames go
// through the real exchange parsers and the real BarBuilder (event clock:
// the frames' receive times, as `tickflow replay` runs it), and come out as
// 1 s bars in visible-time order (strategy/bar_source.h).
//
// Several files are merged by receive time, like replay's k-way merge. The
// 1 s bars of the whole input are built up front and held (a capture of a
// day is a few hundred thousand bars, ~120 bytes each); an amended bar
// replaces the one it amends, so each (market, second) appears once, final.
//
// Long inputs from short captures. `repeat` plays the captures again and
// again, each pass shifted by `period_s` (default: their span rounded up to
// a whole minute) with trade ids offset, and `transform` may change each
// pass's trades (scale one side's flow, drift the price), so that tests and
// benchmarks get hours or days of real-looking flow from minutes of data.
//
// Promises:
//  * the same files and options give the same bars;
//  * a file whose exchange cannot be told, an unknown exchange, or a read
//    error is a std::runtime_error naming the file;
//  * parse errors in frames are counted (rejected_frames()), not fatal: a
//    capture holds acks and garbage a live feed would skip too.
// Threads: one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/events.h"
#include "runtime/replay.h"
#include "strategy/bar_source.h"

namespace tickflow {

class MarketRegistry;

struct CaptureBarOptions {
  int repeat = 1;
  std::int64_t period_s = 0;  // 0: the captures' span, rounded up to 60 s
  // Called for every trade of every pass (pass = 0, 1, ...) after the shift.
  std::function<void(Trade& trade, int pass)> transform;
  std::int64_t lateness_ns = 250'000'000;
  std::int64_t quiet_close_delay_ns = 2'000'000'000;
};

class CaptureBarSource final : public BarSource {
 public:
  // Reads and aggregates everything now. Throws std::runtime_error.
  CaptureBarSource(const std::vector<CaptureSpec>& captures, MarketRegistry& registry,
                   const CaptureBarOptions& options = {});

  bool next(Bar& out) override;
  double progress() const noexcept override {
    return bars_.empty() ? 1.0 : static_cast<double>(next_) / static_cast<double>(bars_.size());
  }

  const std::vector<Bar>& bars() const noexcept { return bars_; }
  std::uint64_t frames() const noexcept { return frames_; }
  std::uint64_t trades() const noexcept { return trades_; }
  std::uint64_t rejected_frames() const noexcept { return rejected_; }
  std::int64_t period_s() const noexcept { return period_s_; }

 private:
  std::vector<Bar> bars_;
  std::size_t next_ = 0;
  std::uint64_t frames_ = 0, trades_ = 0, rejected_ = 0;
  std::int64_t period_s_ = 0;
};

}  // namespace tickflow
