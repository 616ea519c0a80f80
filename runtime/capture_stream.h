// runtime/capture_stream.h
//
// CaptureStream: recorded captures as the frames a live feed thread would
// have parsed. Every frame goes through the real exchange parser and comes
// out with all its events (trades, quotes, statuses), several files merged
// by receive time (a k-way merge, ties to the earlier file), as if their
// frames had arrived live. `tickflow replay`, the backtester's capture
// input (CaptureBarSource) and the tests that drive the live aggregator all
// read captures through this one class, so they see the same events.
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
//  * the same files and options give the same frames and events;
//  * a file whose exchange neither EXCHANGE=PATH, its name nor its frames
//    tell, an unknown exchange (the message lists the known ones), or a
//    read error is a std::runtime_error naming the file;
//  * frames a parser rejects are counted (rejected_frames(), and per
//    exchange in parse_stats()), not fatal: a capture holds acks and garbage
//    a live feed would skip too; they still come out, with no events, since
//    their receive time moves the event clock as a live frame's would.
// Threads: one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/parse_stats.h"
#include "pipeline/events.h"

namespace tickflow {

class MarketRegistry;

// "EXCHANGE=PATH" or a bare "PATH".
struct CaptureSpec {
  std::string exchange;  // empty: take it from the file name, or the frames
  std::string path;
};
CaptureSpec parse_capture_argument(const std::string& argument);

struct CaptureStreamOptions {
  int repeat = 1;
  std::int64_t period_s = 0;  // 0: the captures' span, rounded up to 60 s
  // Called for every trade of every pass (pass = 0, 1, ...) after the shift.
  std::function<void(Trade& trade, int pass)> transform;
};

struct CaptureFrame {
  std::size_t input = 0;  // which capture (in the order given): one connection each
  int pass = 0;
  std::int64_t receive_ns = 0;  // shifted
  EventBuffer events;           // shifted, trades transformed; reused between calls
};

class CaptureStream {
 public:
  static constexpr std::uint64_t kPassIdOffset = 1'000'000'000'000ull;  // trade ids of pass k: + k x 10^12

  // Checks every capture's exchange and makes the parsers. Throws std::runtime_error.
  CaptureStream(const std::vector<CaptureSpec>& captures, MarketRegistry& registry, CaptureStreamOptions options = {});
  ~CaptureStream();
  CaptureStream(const CaptureStream&) = delete;
  CaptureStream& operator=(const CaptureStream&) = delete;

  // The next frame, across files and passes; false at the end.
  bool next(CaptureFrame& out);

  // The pass length: the given one, else known once pass 0 has been read
  // (next() computes it before shifting pass 1).
  std::int64_t period_s() const noexcept { return period_s_; }
  // Pass 0's first receive time, once pass 0 has been read.
  std::int64_t first_receive_ns() const noexcept { return first_receive_ns_; }
  std::uint64_t frames() const noexcept { return frames_; }  // read so far, all passes
  std::uint64_t trades() const noexcept { return trades_; }
  std::uint64_t rejected_frames() const noexcept { return rejected_; }

  // Per input, in the order given.
  std::size_t inputs() const noexcept { return inputs_.size(); }
  const std::string& exchange(std::size_t input) const noexcept;
  const std::string& path(std::size_t input) const noexcept;
  // Line counts of the input's current pass (malformed and oversize lines).
  CaptureReader::Counts reader_counts(std::size_t input) const noexcept;
  // For a progress display: bytes of the files consumed in this pass, and
  // passes done, of repeat().
  std::uint64_t bytes_read() const noexcept;
  int pass() const noexcept { return pass_ < 0 ? 0 : pass_; }
  int repeat() const noexcept { return options_.repeat; }
  // What each exchange's parser counted, all passes.
  std::map<std::string, ParseStats> parse_stats() const;

 private:
  struct Input;
  static bool later(const Input* a, const Input* b) noexcept;
  bool start_pass();

  CaptureStreamOptions options_;
  std::vector<std::unique_ptr<Input>> inputs_;
  std::vector<Input*> heap_;  // by receive time (std::push_heap/pop_heap)
  int pass_ = -1;
  std::int64_t period_s_ = 60;
  std::int64_t first_receive_ns_ = INT64_MAX;  // of pass 0's frames
  std::int64_t last_receive_ns_ = INT64_MIN;
  std::uint64_t frames_ = 0, trades_ = 0, rejected_ = 0;
};

}  // namespace tickflow
