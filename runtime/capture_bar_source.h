// runtime/capture_bar_source.h
//
// CaptureBarSource: the backtester's capture input. Recorded frames go
// through the real exchange parsers and the real BarBuilder (event clock:
// the frames' receive times, as `tickflow replay` runs it), and come out as
// 1 s bars in visible-time order (strategy/bar_source.h).
//
// The trades come from a CaptureTradeStream (several files merged by
// receive time, like replay's k-way merge). The 1 s bars of the whole input are built up front and held (a capture of a
// day is a few hundred thousand bars, ~120 bytes each); an amended bar
// replaces the one it amends, so each (market, second) appears once, final.
//
// Long inputs from short captures: the stream's `repeat`, `period_s` and
// `transform` (runtime/capture_trade_stream.h) give tests and benchmarks
// hours or days of real-looking flow from minutes of data.
//
// Promises:
//  * the same files and options give the same bars;
//  * errors and rejected frames as CaptureTradeStream has them.
// Threads: one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/events.h"
#include "runtime/capture_trade_stream.h"
#include "runtime/replay.h"
#include "strategy/bar_source.h"

namespace tickflow {

class MarketRegistry;

// repeat, period_s and transform: CaptureTradeOptions.
struct CaptureBarOptions : CaptureTradeOptions {
  std::int64_t lateness_ns = 250'000'000;
  std::int64_t quiet_close_delay_ns = 2'000'000'000;
};

class CaptureBarSource final : public BarSource {
 public:
  // Reads and aggregates everything now. Throws std::runtime_error.
  CaptureBarSource(const std::vector<CaptureSpec>& captures, MarketRegistry& registry,
                   const CaptureBarOptions& options = {});

  // The reader points into bars_: not copyable or movable.
  CaptureBarSource(const CaptureBarSource&) = delete;
  CaptureBarSource& operator=(const CaptureBarSource&) = delete;

  bool next(Bar& out) override { return reader_.next(out); }
  double progress() const noexcept override { return reader_.progress(); }

  const std::vector<Bar>& bars() const noexcept { return bars_; }
  std::uint64_t frames() const noexcept { return frames_; }
  std::uint64_t trades() const noexcept { return trades_; }
  std::uint64_t rejected_frames() const noexcept { return rejected_; }
  std::int64_t period_s() const noexcept { return period_s_; }

 private:
  std::vector<Bar> bars_;  // BarSource order
  BarSpanSource reader_;
  std::uint64_t frames_ = 0, trades_ = 0, rejected_ = 0;
  std::int64_t period_s_ = 0;
};

}  // namespace tickflow
