// runtime/replay.h
//
// `tickflow replay`: captures in, normalized trades and quotes out as CSV,
// with a per-exchange summary. Several files are merged by receive time (a
// k-way merge), as if their frames had arrived live; `--speed N` paces them
// at N x real time, `max` reads as fast as possible.
//
// With --bars-out it runs the aggregator as production does: this thread
// reads and parses (the producer), an SpscRing<FeedEvent> carries the
// trades, connection watermarks and clock ticks to an aggregator thread,
// which builds 1 s bars and rollups and writes every emitted bar as InfluxDB
// line protocol (pipeline/line_protocol.h). The aggregator's clock is the
// receive time of the frames, carried through the ring, so the output
// depends only on the input: identical run to run, at any --speed.
//
// The command line (and --config defaults) is runtime/replay_command.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pipeline/timeframe.h"

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
  double speed = 0;  // 0: as fast as possible; N > 0: N x real time
  // No progress on stderr. Otherwise: a progress bar with an ETA
  // (runtime/progress_bar.h) when stderr is a terminal, else a line every
  // 2^20 frames.
  bool quiet = false;

  // Bars: every emitted bar as line protocol to this path ("-" for stdout);
  // empty: no bars (and no aggregator thread).
  std::string bars_out;
  std::vector<Timeframe> rollup_timeframes = default_rollup_timeframes();  // empty: 1 s bars only
  std::int64_t lateness_ns = 250'000'000;
  std::int64_t quiet_close_delay_ns = 2'000'000'000;
  std::int64_t amend_horizon_ns = 600'000'000'000;
  bool base_volume = true;  // write qbuy/qsell

  // Flow statistics per symbol group and timeframe, as CSV (--stats-out).
  std::string stats_out;

  // InfluxDB (--influx): every bar through the sink, on a writer thread.
  std::string influx_url;  // empty: no InfluxDB output
  std::string influx_db = "significant_trades";
  std::string influx_credentials_file;  // empty: INFLUX_USERNAME / INFLUX_PASSWORD, if set
  bool influx_gzip = false;
  std::string spool_dir;   // empty: no disk spool (undeliverable bars are lost and counted)
  double deadline_s = 30;  // how long the final flush (or a spool drain) may wait for the server
  // Retention policy durations by timeframe name ("1s" -> "24h"); absent: INF,
  // because a replay writes history that a finite policy would reject.
  std::map<std::string, std::string> retention;
};

// Returns the process exit code; reports errors on stderr.
int run_replay(const ReplayOptions& options);

}  // namespace tickflow
