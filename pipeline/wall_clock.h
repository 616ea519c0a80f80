// pipeline/wall_clock.h
//
// realtime_ns(): the wall clock every stage stamps and measures latency with
// (CLOCK_REALTIME, ns since the Unix epoch), the clock of Trade and
// FeedStatus receive_ts_ns. Inline: it sits on hot paths (the publisher per
// frame, the aggregator per trade), where it is one vDSO call.
#pragma once

#include <time.h>

#include <cstdint>

namespace tickflow {

inline std::int64_t realtime_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace tickflow
