// runtime/replay.h
//
// `tickflow replay`: captures in, normalized trades and quotes out as CSV,
// with a per-exchange summary. Several files are merged by receive time (a
// k-way merge), as if their frames had arrived live; `--speed N` paces them
// at N x real time, `max` reads as fast as possible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tickflow {

// "EXCHANGE=PATH" or a bare "PATH".
struct CaptureSpec {
  std::string exchange;  // empty: take it from the file name, or the frames
  std::string path;
};
CaptureSpec parse_capture_argument(const std::string& argument);

struct ReplayOptions {
  std::vector<CaptureSpec> captures;
  std::string trades_out;  // path, "-" for stdout, empty for none
  std::string quotes_out;
  double speed = 0;    // 0: as fast as possible; N > 0: N x real time
  bool quiet = false;  // no progress lines
};

// Returns the process exit code; reports errors on stderr.
int run_replay(const ReplayOptions& options);

}  // namespace tickflow
