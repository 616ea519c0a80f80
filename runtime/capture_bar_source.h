// runtime/capture_bar_source.h
//
// CaptureBarSource: the backtester's capture input. Recorded frames go
// through the production aggregation path on the event clock
// (runtime/capture_player.h: the real parsers, FeedPublisher, FeedChannel,
// Aggregator; the very code `tickflow replay` and `tickflow run` use), and
// the 1 s bars come out in visible-time order (strategy/bar_source.h).
//
// The frames come from a CaptureStream (several files merged by receive
// time). The 1 s bars of the whole input are built up front and held (a
// capture of a day is a few hundred thousand bars, ~120 bytes each); an
// amended bar replaces the one it amends, so each (market, second) appears
// once, final: what InfluxDB holds after `tickflow replay --influx` of the
// same captures (its same-timestamp overwrite), and what the backtest reads
// back from there.
//
// Long inputs from short captures: the stream's `repeat`, `period_s` and
// `transform` (runtime/capture_stream.h) give tests and benchmarks hours or
// days of real-looking flow from minutes of data.
//
// Promises:
//  * the same files and options give the same bars;
//  * errors and rejected frames as CaptureStream has them; an error of the
//    aggregation is a std::runtime_error.
// Threads: the constructor runs the aggregator on a thread of its own, and
// returns once it has joined it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/bar.h"
#include "pipeline/bar_builder.h"
#include "pipeline/events.h"
#include "runtime/capture_stream.h"
#include "strategy/bar_source.h"

namespace tickflow {

class MarketRegistry;

// repeat, period_s and transform: CaptureStreamOptions.
struct CaptureBarOptions : CaptureStreamOptions {
  std::int64_t lateness_ns = BarBuilderConfig{}.lateness_ns;
  std::int64_t quiet_close_delay_ns = BarBuilderConfig{}.quiet_close_delay_ns;
  std::int64_t amend_horizon_ns = BarBuilderConfig{}.amend_horizon_ns;
  std::size_t max_markets = 1024;
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
