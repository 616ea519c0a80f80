// runtime/live_pipeline_impl.h
//
// LivePipeline's parts, shared by live_pipeline.cc (building, threads,
// shutdown) and live_pipeline_report.cc (/metrics, /health, the summary).
// Private to those two files.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "feeds/backfill.h"
#include "feeds/live_feed.h"
#include "feeds/recorder.h"
#include "feeds/websocket_client.h"
#include "pipeline/bar_sink.h"
#include "pipeline/market_registry.h"
#include "ringbuffers/single_writer.h"
#include "runtime/aggregator.h"
#include "runtime/bus_bar_publisher.h"
#include "runtime/bus_collector.h"
#include "runtime/bus_ingest.h"
#include "runtime/bus_signal_publisher.h"
#include "runtime/bus_strategy.h"
#include "runtime/checkpoint_keeper.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "runtime/http_server.h"
#include "runtime/influx_writer.h"
#include "runtime/live_pipeline.h"
#include "runtime/live_plan.h"
#include "runtime/logging.h"
#include "runtime/signal_dispatch.h"
#include "runtime/signal_publisher.h"
#include "strategy/decision_csv.h"
#include "strategy/strategy_engine.h"

namespace tickflow {

// The aggregator's output, pointed at the writer once both exist (the
// writer reads the aggregator's market names), or counting bars when there
// is no InfluxDB.
class BarForwarder final : public BarSink {
 public:
  void set_target(BarSink* target) noexcept { target_ = target; }
  void set_tap(BarSink* tap) noexcept { tap_ = tap; }
  // The aggregator role's bus bar publisher (runtime/bus_bar_publisher.h).
  void set_bus(BarSink* bus) noexcept { bus_ = bus; }
  void on_bar(const Bar& bar) override {
    single_writer_add(bars_);
    if (target_) target_->on_bar(bar);
    if (bus_) bus_->on_bar(bar);
    if (tap_) [[unlikely]]
      tap_->on_bar(bar);
  }
  void on_closed(MarketId market, std::int64_t closed_until_s) override {
    if (bus_) bus_->on_closed(market, closed_until_s);
  }
  void on_flow(const FlowRecord& record) override {
    if (target_) target_->on_flow(record);
  }
  std::uint64_t bars() const noexcept { return bars_.load(std::memory_order_relaxed); }

 private:
  BarSink* target_ = nullptr;
  BarSink* tap_ = nullptr;
  BarSink* bus_ = nullptr;
  std::atomic<std::uint64_t> bars_{0};
};

struct FeedConnection {
  PlannedConnection plan;
  std::uint16_t id = 0;  // global connection number, as the aggregator sees it
  FeedPublisher::Connection publisher_state;
  FeedPublisher::Connection mirror_state;  // collector + aggregator: the bus mirror's
  std::unique_ptr<LiveFeed> feed;
};

struct FeedThread {
  ThreadConfig config;
  std::unique_ptr<IoLoop> loop;
  std::unique_ptr<FeedChannel> channel;  // null when not aggregating
  std::unique_ptr<FeedPublisher> publisher;
  // Collector and aggregator in one process: a second ring, drained by
  // tf-bus-out, so the one to the aggregator is the single-host one.
  std::unique_ptr<FeedChannel> mirror;
  std::unique_ptr<FeedPublisher> mirror_publisher;
  std::vector<FeedConnection> connections;
  std::map<std::string, std::unique_ptr<CaptureRecorder>> recorders;  // by exchange
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> exited{false};
  std::thread thread;
};

struct LivePipeline::Impl {
  PipelineConfig config;
  LivePipelineOptions options;
  MarketRegistry registry;
  std::chrono::system_clock::time_point started_at{};
  std::int64_t started_ns = 0;

  std::vector<std::unique_ptr<FeedThread>> feeds;

  std::unique_ptr<FeedChannel> backfill_channel;
  std::unique_ptr<FeedPublisher> backfill_publisher;
  FeedPublisher::Connection backfill_state;
  std::unique_ptr<BackfillWorker> backfill;

  BarForwarder forwarder;
  std::unique_ptr<Aggregator> aggregator;
  std::thread aggregator_thread;
  std::unique_ptr<InfluxWriter> writer;
  bool writer_delivered_all = true;

  // The restart checkpoint (runtime/restart_checkpoint.h): read at
  // construction, kept by its own thread while running.
  std::unique_ptr<CheckpointKeeper> checkpoint;
  std::size_t resumed_markets = 0;

  // SqueezeFlow ([strategy] enabled): evaluated on the aggregator thread,
  // signals over their own ring to the writer thread and its sinks.
  std::unique_ptr<StrategyEngine> strategy;
  std::unique_ptr<SignalPublisher> signal_publisher;
  std::unique_ptr<DecisionCsv> decision_csv;
  std::unique_ptr<SpscRing<Signal>> signal_ring;
  std::unique_ptr<SignalDispatch> signal_dispatch;

  // Feed and backfill messages, at most 20 a minute per connection: a
  // reconnect storm or a parser rejecting every frame must not flood the
  // log (the suppressed count is appended to the next line let through).
  RateLimitedLog feed_log{std::chrono::minutes(1), 20};

  // The NATS JetStream bus ([bus], issue 19): tf-bus-out publishes the
  // feeds' events (collector), tf-bus-in feeds the aggregator from the
  // stream (aggregator without collector). Both null without a bus.
  std::unique_ptr<BusCollector> bus_collector;
  std::unique_ptr<BusIngest> bus_ingest;
  // tf-bus-bars publishes the aggregator's bars (aggregator role);
  // tf-bus-strategy feeds the StrategyEngine from the bars stream
  // (strategy role without aggregator). Null otherwise.
  std::unique_ptr<BusBarPublisher> bus_bars;
  std::unique_ptr<BusStrategy> bus_strategy;
  // tf-bus-signals publishes the signals of a strategy role running beside
  // the aggregator (its engine on the aggregator thread). Null otherwise.
  std::unique_ptr<BusSignalPublisher> bus_signals;
  std::vector<std::string> bus_market_names;  // strategy role: the signal writer's names, by market id

  std::unique_ptr<HttpServer> http;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;

  std::vector<FeedChannel*> channels() const;
};

}  // namespace tickflow
