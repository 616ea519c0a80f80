// runtime/progress_bar.h
//
// ProgressBar: the one-line progress display `tickflow replay` redraws on a
// terminal, e.g.
//
//   [#########-----------]  45.2%  1.23M frames  812k/s  elapsed 0:03  ETA 0:04
//
// Promises:
//  * render() is a pure function of its sample: tests check the text exactly;
//  * update() redraws at most every 100 ms (a terminal is slow, and the
//    replay loop is not), each time as '\r' + the line, padded with spaces
//    over whatever longer line it replaces;
//  * finish() draws the last state and ends the line, so what is printed
//    next starts on a fresh line; it does nothing if nothing was drawn.
// Progress is by input bytes (compressed bytes for .gz files), the only
// measure known up front; frames and the frame rate are shown beside it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tickflow {

struct ProgressSample {
  std::uint64_t done_bytes = 0;
  std::uint64_t total_bytes = 0;  // 0: unknown (no bar, percent or ETA)
  std::uint64_t frames = 0;
  double elapsed_s = 0;
  double frames_per_s = 0;
  const char* unit = "frames";  // what `frames` counts ("steps" for a backtest)
};

class ProgressBar {
 public:
  static constexpr int kDefaultWidth = 20;  // characters between the brackets
  static constexpr std::chrono::milliseconds kRedrawInterval{100};

  explicit ProgressBar(std::FILE* out, int width = kDefaultWidth) : out_(out), width_(width) {}

  // The line for `sample`, without '\r' or newline.
  static std::string render(const ProgressSample& sample, int width = kDefaultWidth);

  // Whether update() would draw at `now`: lets the caller skip gathering a
  // sample (a few syscalls) between redraws.
  bool due(std::chrono::steady_clock::time_point now) const noexcept {
    return !drawn_ || now - last_ >= kRedrawInterval;
  }

  // Redraws if due().
  void update(const ProgressSample& sample, std::chrono::steady_clock::time_point now);

  // Draws `sample` and ends the line, if anything was drawn before.
  void finish(const ProgressSample& sample);

  // Compact counts: 999, 1.23k, 45.6k, 812k, 1.23M, ...
  static std::string format_count(double value);
  // M:SS below an hour, else H:MM:SS.
  static std::string format_duration(double seconds);

 private:
  void draw(const ProgressSample& sample);

  std::FILE* out_;
  int width_;
  bool drawn_ = false;
  std::size_t last_length_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace tickflow
