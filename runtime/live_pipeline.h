// runtime/live_pipeline.h
//
// LivePipeline: `tickflow run` (and `tickflow record`) as one object. From
// a PipelineConfig it builds the thread topology the config describes:
//
//   tf-feed-0 .. N   IoLoop + LiveFeeds (websocket, parse, dedup, gaps)
//        | FeedChannel (SpscRing<FeedEvent>), one per feed thread
//   tf-backfill      REST gap backfill, its own FeedChannel
//        v
//   tf-agg           Aggregator: 1 s bars, rollups (polls every channel)
//        | SpscRing<Bar>
//   tf-writer        InfluxWriter: batches, retries, spool
//
// plus the /health and /metrics endpoint (tf-http) and, with a record
// directory, a CaptureRecorder per exchange fed by the frame taps.
//
// Each pipeline thread applies its ThreadConfig (name, CPU, SCHED_FIFO)
// first thing; start() waits for all of them and throws, naming the thread
// and the reason, if any could not (an unpermitted SCHED_FIFO priority, a
// CPU outside the process's mask). The wait strategy of a feed thread is how
// it runs its IoLoop: park blocks in epoll, yield polls and yields, spin
// polls.
//
// Shutdown (stop(deadline)), in data-flow order so that nothing is lost:
// stop the feeds and the backfill (their threads join, their channels
// close), the aggregator drains every channel and flushes every open bar and
// window, then the writer flushes the sink (acknowledged or spooled) until
// the deadline. A stage that cannot finish by the deadline is abandoned and
// reported; stop() then returns false.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/pipeline_config.h"
#include "pipeline/bar_sink.h"
#include "runtime/http_server.h"

namespace tickflow {

struct LivePipelineOptions {
  bool pin = true;         // false: --unpinned (affinity ignored, names and priorities kept)
  std::string record_dir;  // raw frames to capture files here; empty: none
  bool record_gzip = true;
  bool aggregate = true;                 // false: `tickflow record` (feeds and recorders only)
  bool serve_http = true;                // the metrics endpoint from config.metrics
  std::uint16_t http_port_override = 0;  // nonzero: instead of config.metrics.port (tests: 0 is "config")
  // Tests: every bar (1 s, rollups, amendments) the aggregator hands on
  // also goes here, on the aggregator thread. Outlives the pipeline.
  BarSink* bar_tap = nullptr;
};

class LivePipeline {
 public:
  // Builds everything but starts no thread. Throws ConfigError (a config the
  // live pipeline cannot follow) or std::runtime_error (spool, recorder
  // directory, port in use).
  LivePipeline(PipelineConfig config, LivePipelineOptions options);
  ~LivePipeline();
  LivePipeline(const LivePipeline&) = delete;
  LivePipeline& operator=(const LivePipeline&) = delete;

  // Starts every thread; returns once each has applied its thread config.
  // Throws std::runtime_error listing every thread setup failure (and stops
  // what was started).
  void start();

  // Graceful shutdown (see the banner). True when every stage finished and
  // every bar was acknowledged or spooled before `deadline`.
  bool stop(std::chrono::steady_clock::time_point deadline);

  // The metrics endpoint's answers; any thread.
  HttpResponse metrics() const;
  HttpResponse health() const;
  std::uint16_t http_port() const noexcept;
  // The name of a market id this pipeline's bars carry ("" if unknown).
  std::string market_name(MarketId market) const;

  // A one-paragraph summary of what ran (for the log at exit).
  std::string summary() const;

  // The InfluxDB sink's end state, after stop(): points lost (dropped,
  // dead-lettered, refused, or neither delivered nor spooled: `tickflow
  // run` exits 1 when nonzero), batches left in the spool (not lost: the
  // next start delivers them), and one line saying so with the reason
  // ("N points (B batches) still spooled in DIR: InfluxDB at URL
  // unreachable: ..."); empty text when everything was delivered.
  struct SinkOutcome {
    std::uint64_t points_lost = 0;
    std::uint64_t batches_spooled = 0;
    std::string text;
  };
  SinkOutcome sink_outcome() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickflow
