// runtime/capture_trade_stream.h
//
// CaptureTradeStream: the trades of recorded captures, through the real
// exchange parsers, merged by receive time (a k-way merge, ties to the
// earlier file, as `tickflow replay` merges them), frame by frame. It feeds
// CaptureBarSource (the backtester's capture input) and any test that needs
// the same trades the live aggregator would take.
//
// Long inputs from short captures. `repeat` plays the captures again and
// again: pass k is shifted by k x period_s on both clocks (period_s defaults
// to their span, first to last receive time, rounded up to a whole minute)
// and its trade ids by k x 10^12, and `transform` may then change each
// trade (scale one side's flow, redraw sides), so hours or days of
// real-looking flow come from minutes of data. Each pass re-reads the files
// (the first measures the span as it goes): memory stays one frame per
// capture, whatever their size.
//
// Promises:
//  * the same files and options give the same frames;
//  * a file whose exchange neither EXCHANGE=PATH, its name nor its frames
//    tell, an unknown exchange, or a read error is a std::runtime_error
//    naming the file;
//  * frames a parser rejects are counted (rejected_frames()), not fatal: a
//    capture holds acks and garbage a live feed would skip too;
//  * only frames with at least one trade come out.
// Threads: one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/events.h"
#include "runtime/replay.h"

namespace tickflow {

class MarketRegistry;

struct CaptureTradeOptions {
  int repeat = 1;
  std::int64_t period_s = 0;  // 0: the captures' span, rounded up to 60 s
  // Called for every trade of every pass (pass = 0, 1, ...) after the shift.
  std::function<void(Trade& trade, int pass)> transform;
};

struct CaptureTradeFrame {
  std::size_t input = 0;  // which capture (in the order given): one connection each
  int pass = 0;
  std::int64_t receive_ns = 0;  // shifted
  std::vector<Trade> trades;    // shifted and transformed; reused between calls
};

class CaptureTradeStream {
 public:
  static constexpr std::uint64_t kPassIdOffset = 1'000'000'000'000ull;  // trade ids of pass k: + k x 10^12

  // Checks every capture's exchange and makes the parsers. Throws std::runtime_error.
  CaptureTradeStream(const std::vector<CaptureSpec>& captures, MarketRegistry& registry,
                     CaptureTradeOptions options = {});
  ~CaptureTradeStream();
  CaptureTradeStream(const CaptureTradeStream&) = delete;
  CaptureTradeStream& operator=(const CaptureTradeStream&) = delete;

  // The next frame with trades, across passes; false at the end.
  bool next(CaptureTradeFrame& out);

  // The pass length: the given one, else known once pass 0 has been read
  // (next() computes it before shifting pass 1).
  std::int64_t period_s() const noexcept { return period_s_; }
  // Pass 0's first receive time, once pass 0 has been read.
  std::int64_t first_receive_ns() const noexcept { return first_receive_ns_; }
  std::uint64_t frames() const noexcept { return frames_; }  // read so far, all passes
  std::uint64_t trades() const noexcept { return trades_; }
  std::uint64_t rejected_frames() const noexcept { return rejected_; }

 private:
  struct Input;
  static bool later(const Input* a, const Input* b) noexcept;
  bool start_pass();

  CaptureTradeOptions options_;
  std::vector<std::unique_ptr<Input>> inputs_;
  std::vector<Input*> heap_;  // by receive time (std::push_heap/pop_heap)
  int pass_ = -1;
  std::int64_t period_s_ = 60;
  std::int64_t first_receive_ns_ = INT64_MAX;  // of pass 0's frames
  std::int64_t last_receive_ns_ = INT64_MIN;
  std::uint64_t frames_ = 0, trades_ = 0, rejected_ = 0;
};

}  // namespace tickflow
