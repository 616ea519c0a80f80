// runtime/replay.h
//
// `tickflow replay`: recorded captures through the production path.
//
// The captures are read as a live feed thread would have received them
// (runtime/capture_stream.h: every frame through the real parser, several
// files merged by receive time, optionally played `repeat` times back to
// back). Normalized trades and quotes can be written as CSV, with a
// per-exchange summary; `--speed N` paces the frames at N x real time,
// `max` reads as fast as possible.
//
// Bars (--bars-out, --influx, --stats-out) come from the very code
// `tickflow run` runs (runtime/capture_player.h): FeedPublisher ->
// FeedChannel -> Aggregator on its own thread (1 s bars, rollups, flow
// statistics) -> the outputs, and for --influx the InfluxWriter thread.
// The only difference from live is the clock: the aggregator runs on the
// receive times of the frames, carried through the ring, so the output
// depends only on the input: identical run to run, at any --speed, and
// equal, bar for bar, to what `tickflow run` makes of the same frames
// (tests/integration/pipeline_equivalence_test.cc).
//
// The command line (and --config defaults) is runtime/replay_command.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pipeline/bar_builder.h"
#include "pipeline/timeframe.h"
#include "runtime/capture_stream.h"

namespace tickflow {

struct ReplayOptions {
  std::vector<CaptureSpec> captures;
  // Play the captures this many times back to back, each pass shifted by
  // their span (CaptureStreamOptions): what `backtest --repeat` reads.
  int repeat = 1;
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
  std::int64_t lateness_ns = BarBuilderConfig{}.lateness_ns;
  std::int64_t quiet_close_delay_ns = BarBuilderConfig{}.quiet_close_delay_ns;
  std::int64_t amend_horizon_ns = BarBuilderConfig{}.amend_horizon_ns;
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
