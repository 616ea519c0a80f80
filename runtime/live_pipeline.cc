// runtime/live_pipeline.cc
#include "runtime/live_pipeline.h"

#include <sched.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "pipeline/symbol_groups.h"
#include "runtime/live_pipeline_impl.h"
#include "runtime/live_plan.h"
#include "runtime/logging.h"
#include "runtime/status_page.h"
#include "runtime/thread_affinity.h"

namespace tickflow {
namespace {

// A frame's receive time: every event of one frame carries the same.
std::int64_t receive_time_of(const EventBuffer& events) noexcept {
  for (const FeedEvent& e : events) {
    switch (e.type) {
      case FeedEventType::kTrade: return e.trade.receive_ts_ns;
      case FeedEventType::kQuote: return e.quote.receive_ts_ns;
      case FeedEventType::kStatus: return e.status.receive_ts_ns;
    }
  }
  return realtime_ns();
}

BackfillConfig backfill_config(const PipelineConfig& config) {
  BackfillConfig out;
  for (const auto& [exchange, endpoint] : config.live.endpoints) {
    if (endpoint.rest_url.empty()) continue;
    for (const PlannedConnection& c : plan_live_connections(config, exchange)) {
      out.base_url[c.feed.venue] = endpoint.rest_url;
      if (!endpoint.ca_file.empty()) out.ca_file = endpoint.ca_file;
    }
  }
  return out;
}

// Runs `body` on a new thread after applying `thread_config`; the setup's
// outcome (empty: fine) is delivered through the returned future.
template <typename Body>
std::thread start_pipeline_thread(const ThreadConfig& thread_config, bool pin, std::future<std::string>& setup,
                                  Body body) {
  auto promise = std::make_shared<std::promise<std::string>>();
  setup = promise->get_future();
  return std::thread([thread_config, pin, promise, body = std::move(body)]() mutable {
    const std::string problem = apply_thread_config(thread_config, pin);
    promise->set_value(problem);
    if (problem.empty()) body();
  });
}

}  // namespace

std::vector<FeedChannel*> LivePipeline::Impl::channels() const {
  std::vector<FeedChannel*> out;
  for (const auto& feed : feeds)
    if (feed->channel) out.push_back(feed->channel.get());
  if (backfill_channel) out.push_back(backfill_channel.get());
  if (bus_ingest) out.push_back(&bus_ingest->channel());
  return out;
}

void start_strategy(LivePipeline::Impl& p, const InfluxWriterOptions& writer_options, std::size_t max_markets);

// The previous run's checkpoint, as (market, resume point) pairs. A file
// that cannot be decoded is moved aside (<file>.corrupt) and the run starts
// fresh: refusing to start would stop the data, and the file is only an
// optimisation of exactness, never the data itself.
std::vector<std::pair<MarketId, MarketResumePoint>> read_resume_points(LivePipeline::Impl& p,
                                                                       const std::filesystem::path& file) {
  std::vector<std::pair<MarketId, MarketResumePoint>> out;
  std::optional<RestartCheckpoint> checkpoint;
  try {
    checkpoint = read_checkpoint_file(file);
  } catch (const CheckpointError& e) {
    std::error_code ec;
    std::filesystem::rename(file, file.string() + ".corrupt", ec);
    spdlog::error("restart checkpoint unusable, starting without it (moved to {}.corrupt): {}", file.string(),
                  e.what());
    return out;
  }
  if (!checkpoint) {
    spdlog::info("restart checkpoint: none at {} (first start)", file.string());
    return out;
  }
  for (const MarketCheckpoint& m : checkpoint->markets) {
    try {
      out.emplace_back(p.registry.intern(m.name), m.point);
    } catch (const std::exception& e) {
      spdlog::warn("restart checkpoint: market '{}' skipped: {}", m.name, e.what());
    }
  }
  const double age_s = static_cast<double>(realtime_ns() - checkpoint->written_at_ns) / 1e9;
  spdlog::info("restart checkpoint: {} markets resumed from {} (written {:.1f} s ago)", out.size(), file.string(),
               age_s);
  return out;
}

LivePipeline::LivePipeline(PipelineConfig config, LivePipelineOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& p = *impl_;
  p.config = std::move(config);
  p.options = std::move(options);
  p.forwarder.set_tap(p.options.bar_tap);
  const PipelineConfig& cfg = p.config;
  const std::size_t max_markets = 1024;
  // The bus's roles (issue 19): without [bus], everything (all-in-one).
  const bool bus_collect = cfg.bus.has(BusRole::kCollector);
  const bool bus_ingest = cfg.bus.has(BusRole::kAggregator) && !bus_collect;
  const bool aggregate = p.options.aggregate && (!cfg.bus.enabled || cfg.bus.has(BusRole::kAggregator));
  const bool run_feeds = !cfg.bus.enabled || bus_collect;
  // A strategy host reads bars from the bus (with an aggregator in the same
  // process, the strategy runs on its thread as on a single host).
  const bool bus_strategy = cfg.bus.has(BusRole::kStrategy) && !cfg.bus.has(BusRole::kAggregator);
  if (bus_strategy && !cfg.strategy.enabled)
    throw ConfigError(cfg.source.string() + ": bus.roles: the strategy role needs [strategy] enabled = true");

  // Feed threads and their connections.
  std::uint16_t next_connection = 0;
  for (const FeedThreadConfig& feed_config : cfg.feeds) {
    if (!run_feeds) break;
    auto thread = std::make_unique<FeedThread>();
    thread->config = feed_config.thread;
    thread->loop = std::make_unique<IoLoop>();
    for (const std::string& exchange : feed_config.exchanges) {
      for (PlannedConnection& planned : plan_live_connections(cfg, exchange)) {
        FeedConnection c;
        c.plan = std::move(planned);
        c.id = next_connection++;
        c.plan.feed.connection = c.id;
        c.plan.feed.max_markets = max_markets;
        c.publisher_state.id = c.id;
        thread->connections.push_back(std::move(c));
      }
      if (!p.options.record_dir.empty()) {
        RecorderOptions recorder;
        recorder.directory = p.options.record_dir;
        recorder.exchange = exchange;
        recorder.gzip = p.options.record_gzip;
        thread->recorders[exchange] = std::make_unique<CaptureRecorder>(recorder);
      }
    }
    p.feeds.push_back(std::move(thread));
  }

  if (bus_collect) {
    // tf-bus-out drains the feed rings (collector only) or mirrors of them.
    std::vector<std::string> connection_exchange(next_connection);
    for (const auto& thread : p.feeds)
      for (const FeedConnection& c : thread->connections) connection_exchange[c.id] = c.plan.exchange;
    p.bus_collector = std::make_unique<BusCollector>(cfg, p.registry, std::move(connection_exchange));
    std::vector<FeedChannel*> inputs;
    for (auto& thread : p.feeds) {
      std::unique_ptr<FeedChannel>& ring = aggregate ? thread->mirror : thread->channel;
      ring = std::make_unique<FeedChannel>(thread->config.name + (aggregate ? "-bus" : ""), cfg.rings.feed_events,
                                           cfg.rings.full_policy, p.bus_collector->doorbell());
      (aggregate ? thread->mirror_publisher : thread->publisher) = std::make_unique<FeedPublisher>(*ring, max_markets);
      for (FeedConnection& c : thread->connections) c.mirror_state.id = c.id;
      inputs.push_back(ring.get());
    }
    p.bus_collector->set_inputs(std::move(inputs));
  }
  if (bus_ingest || bus_strategy) {
    // No feeds here: the markets come from the config, as the collectors
    // name them (a message for any other market is counted and skipped).
    for (const auto& [exchange, symbols] : cfg.markets)
      for (const std::string& symbol : symbols) p.registry.intern(live_market_name(exchange, symbol));
  }

  if (aggregate) {
    // Aggregator, channels, backfill, writer.
    AggregatorOptions agg;
    agg.max_markets = max_markets;
    agg.lateness_ns = std::chrono::nanoseconds(cfg.bars.live_lateness).count();  // the wall clock's
    agg.quiet_close_delay_ns = std::chrono::nanoseconds(cfg.bars.quiet_delay).count();
    agg.quiet_close_from_lag = cfg.bars.quiet_close_from_lag;
    agg.quiet_lag_margin_ns = std::chrono::nanoseconds(cfg.bars.quiet_lag_margin).count();
    agg.amend_horizon_ns = std::chrono::nanoseconds(cfg.bars.amend_horizon).count();
    // Half the consumer's max_ack_pending for the restart's replay: the
    // server stops delivering at the limit (runtime/aggregator.h).
    if (bus_ingest) agg.bus_replay_budget = static_cast<std::uint64_t>(cfg.bus.max_ack_pending) / 2;
    agg.rollups = cfg.bars.rollups;
    agg.flow_stats = cfg.bars.flow_stats;
    // Gap holds only where a backfill will release them: this process's,
    // or on the bus the collectors' (their kGap and kBackfilled travel in
    // stream order; [feeds] backfill here says the collectors backfill).
    agg.gap_hold_ns = cfg.live.backfill ? std::chrono::nanoseconds(cfg.live.gap_hold).count() : 0;
    agg.wait.kind = cfg.aggregator.wait;
    // The channels need the aggregator's doorbell and the aggregator needs
    // the channels: the doorbell lives in the aggregator, so make it with
    // the channel pointers filled in afterwards.
    std::vector<FeedChannel*> none;
    p.aggregator = std::make_unique<Aggregator>(agg, p.registry, none, p.forwarder);
    Doorbell& doorbell = p.aggregator->doorbell();
    for (auto& thread : p.feeds) {
      thread->channel =
          std::make_unique<FeedChannel>(thread->config.name, cfg.rings.feed_events, cfg.rings.full_policy, doorbell);
      thread->publisher = std::make_unique<FeedPublisher>(*thread->channel, max_markets);
    }
    if (bus_ingest) p.bus_ingest = std::make_unique<BusIngest>(cfg, p.registry, next_connection, doorbell);
    if (cfg.live.backfill && run_feeds) {
      p.backfill_channel = std::make_unique<FeedChannel>("tf-backfill", 8192, FullRingPolicy::kBlock, doorbell);
      p.backfill_publisher = std::make_unique<FeedPublisher>(*p.backfill_channel, max_markets);
      p.backfill_state.id = next_connection;
      p.backfill_state.watermarks = false;
    }
    p.aggregator->set_inputs(p.channels());
    InfluxWriterOptions writer;
    writer.ring_capacity = cfg.rings.writer_items;
    writer.wait = cfg.writer.wait;
    if (cfg.influx.enabled) {
      p.writer = std::make_unique<InfluxWriter>(make_influx_sink_config(cfg), LineProtocolOptions{},
                                                p.aggregator->names(), writer);
      p.forwarder.set_target(p.writer.get());
      if (cfg.influx.seal_on_close)
        p.aggregator->set_on_all_closed([w = p.writer.get()](std::int64_t s) { w->on_all_closed(s); });
    }
    if (cfg.strategy.enabled) start_strategy(p, writer, max_markets);
    // The strategy role beside the aggregator: the engine runs on the
    // aggregator thread (single-host path) and its signals also go to
    // tickflow.signals.<symbol>, through a ring to tf-bus-signals.
    if (cfg.strategy.enabled && cfg.bus.has(BusRole::kStrategy)) {
      p.bus_signals = std::make_unique<BusSignalPublisher>(cfg.bus);
      p.signal_publisher->set_bus(p.bus_signals.get());
    }
    // The aggregator role publishes its bars (runtime/bus_bar_publisher.h).
    if (cfg.bus.has(BusRole::kAggregator)) {
      p.bus_bars = std::make_unique<BusBarPublisher>(cfg, p.aggregator->names());
      p.forwarder.set_bus(p.bus_bars.get());
    }
  }
  // The REST backfill wherever feeds run: into the aggregator, and a
  // collector publishes it (issue 19: a collector heals its own gaps).
  // Neither (e.g. `tickflow record`): no backfill.
  if (cfg.live.backfill && run_feeds && (p.backfill_publisher || p.bus_collector)) {
    if (p.bus_collector) p.bus_collector->enable_backfill(next_connection);
    p.backfill = std::make_unique<BackfillWorker>(
        p.registry, backfill_config(cfg),
        [&p](const EventBuffer& events) {
          if (events.empty()) return;
          if (p.backfill_publisher) p.backfill_publisher->publish(p.backfill_state, events, realtime_ns());
          if (p.bus_collector) p.bus_collector->publish_backfill(events);
        },
        [&p](std::string_view line) { p.feed_log.log(spdlog::level::info, "backfill", line); });
  }
  if (bus_strategy) {
    // Bars from the bus into the single-host StrategyEngine and sinks; the
    // writer thread only delivers signals (InfluxDB's `signals` too).
    InfluxWriterOptions writer;
    writer.ring_capacity = cfg.rings.writer_items;
    writer.wait = cfg.writer.wait;
    for (MarketId m = 0; m < p.registry.size(); ++m) p.bus_market_names.push_back(p.registry.info(m).name);
    if (cfg.influx.enabled && cfg.signals.influx)
      p.writer = std::make_unique<InfluxWriter>(make_influx_sink_config(cfg), LineProtocolOptions{}, p.bus_market_names,
                                                writer);
    start_strategy(p, writer, max_markets);
    p.bus_strategy = std::make_unique<BusStrategy>(cfg, p.registry, *p.strategy, *p.signal_publisher);
  }

  // The restart checkpoint: only where bars are stored (it vouches for them).
  std::vector<std::pair<MarketId, MarketResumePoint>> resume;
  if (p.aggregator && cfg.influx.enabled && p.writer) {
    if (const std::filesystem::path file = checkpoint_path(cfg); !file.empty()) {
      resume = read_resume_points(p, file);
      InfluxWriter* w = p.writer.get();
      p.checkpoint = std::make_unique<CheckpointKeeper>(
          file, max_markets, p.registry, [w] { return w->settled_bars(); },
          [&p](const std::string& line) { p.feed_log.log(spdlog::level::err, "checkpoint", line); });
      p.aggregator->set_checkpoint_keeper(p.checkpoint.get(), [&p] { return p.forwarder.bars(); });
    }
  }
  // The bus's acks: once the checkpoint covering them is written, else once
  // their bars were handed on (runtime/bus_ingest.h).
  if (p.bus_ingest) {
    BusIngest* ingest = p.bus_ingest.get();
    if (p.checkpoint)
      p.checkpoint->set_on_written([ingest](std::uint64_t floor) { ingest->offer_ack(floor); });
    else
      p.aggregator->set_bus_floor_listener([ingest](std::uint64_t floor) { ingest->offer_ack(floor); });
  }

  // The LiveFeeds last: their handlers reach the publishers and recorders.
  for (auto& thread_ptr : p.feeds) {
    FeedThread& thread = *thread_ptr;
    for (FeedConnection& c : thread.connections) {
      FeedPublisher* publisher = thread.publisher.get();
      FeedPublisher::Connection* state = &c.publisher_state;
      FeedPublisher* mirror = thread.mirror_publisher.get();
      FeedPublisher::Connection* mirror_state = &c.mirror_state;
      c.feed = std::make_unique<LiveFeed>(
          *thread.loop, p.registry, c.plan.feed,
          [publisher, state, mirror, mirror_state](const EventBuffer& events) {
            if (events.empty()) return;
            const std::int64_t receive_ns = receive_time_of(events);
            if (publisher != nullptr) publisher->publish(*state, events, receive_ns);
            if (mirror != nullptr) [[unlikely]]
              mirror->publish(*mirror_state, events, receive_ns);
          },
          [&p, key = "connection " + std::to_string(c.id)](std::string_view line) {
            p.feed_log.log(spdlog::level::info, key, line);
          });
      if (auto recorder = thread.recorders.find(c.plan.exchange); recorder != thread.recorders.end()) {
        CaptureRecorder* r = recorder->second.get();
        c.feed->set_frame_tap([r](std::string_view frame, std::int64_t receive_ns) { r->record(receive_ns, frame); });
      }
      if (p.backfill) {
        BackfillWorker* backfill = p.backfill.get();
        c.feed->set_gap_handler([backfill](const TradeGap& gap) { backfill->request(gap); });
      }
    }
  }

  // Resume every market of the checkpoint: the aggregator's frontier and
  // windows, and every connection's trade ids (only the connection that
  // carries the market will ever see its trades).
  for (const auto& [market, point] : resume) {
    p.aggregator->resume(market, point);
    for (auto& thread : p.feeds)
      for (FeedConnection& c : thread->connections)
        c.feed->resume_market(market, point.sealed_trade_id, point.sealed_exchange_ns);
  }
  p.resumed_markets = resume.size();

  if (p.options.serve_http) {
    const std::uint16_t port = p.options.http_port_override != 0 ? p.options.http_port_override : cfg.metrics.port;
    // Once, at start: an endpoint beyond loopback is allowed but never silent.
    if (const auto warning = metrics_bind_warning(cfg)) spdlog::warn("{}", *warning);
    HttpServerOptions http_options;
    http_options.read_timeout = cfg.metrics.request_timeout;
    http_options.max_connections = cfg.metrics.max_connections;
    p.http = std::make_unique<HttpServer>(
        cfg.metrics.bind, port,
        [this](std::string_view, std::string_view target) {
          const std::string_view path = target.substr(0, target.find('?'));
          if (path == "/metrics") return metrics();
          if (path == "/health") return health();
          if (path == "/" || path == "/index.html") return status_page_response();
          HttpResponse not_found;
          not_found.status = 404;
          not_found.body = "not found: try / (the status page), /health or /metrics\n";
          return not_found;
        },
        http_options);
  }
}

LivePipeline::~LivePipeline() {
  if (impl_ && impl_->started && !impl_->stopped) stop(std::chrono::steady_clock::now() + std::chrono::seconds(1));
}

std::uint16_t LivePipeline::http_port() const noexcept { return impl_->http ? impl_->http->port() : 0; }

std::string LivePipeline::market_name(MarketId market) const {
  return market < impl_->registry.size() ? impl_->registry.info(market).name : std::string();
}

void start_strategy(LivePipeline::Impl& p, const InfluxWriterOptions& writer_options, std::size_t max_markets) {
  const PipelineConfig& cfg = p.config;
  p.strategy = std::make_unique<StrategyEngine>(cfg.strategy.params, max_markets);
  if (!cfg.strategy.symbols.empty()) {
    for (const StrategySymbolConfig& s : cfg.strategy.symbols) {
      MarketId execution = kInvalidMarket;
      if (!s.execution_market.empty()) execution = p.registry.intern(s.execution_market);
      p.strategy->add_group(s.symbol, s.base, execution);
    }
  } else {
    // Every base asset the config subscribes on both a spot and a perp market.
    MarketRegistry names;
    for (const auto& [exchange, symbols] : cfg.markets)
      for (const std::string& symbol : symbols) names.intern(live_market_name(exchange, symbol));
    const SymbolGroups groups(names);
    for (GroupId g = 0; g < groups.size(); ++g)
      if (!groups.spot_markets(g).empty() && !groups.perp_markets(g).empty())
        p.strategy->add_group(groups.name(g) + "USDT", groups.name(g));
  }
  p.strategy->attach_markets(p.registry);

  // The signal sinks live on the writer thread: the bar writer's when there
  // is InfluxDB, else a writer of its own that only delivers signals.
  SignalDispatchOptions sinks;
  sinks.influx = cfg.signals.influx && cfg.influx.enabled;
  sinks.jsonl = cfg.signals.jsonl;
  if (cfg.signals.redis) sinks.redis = cfg.signals.redis_config;
  sinks.log = [&p](std::string_view line) { p.feed_log.log(spdlog::level::warn, "signals", line); };
  p.signal_dispatch = std::make_unique<SignalDispatch>(sinks);
  p.signal_ring = std::make_unique<SpscRing<Signal>>(256);
  if (!p.writer) p.writer = std::make_unique<InfluxWriter>(writer_options);
  p.writer->set_signal_input(p.signal_ring.get(), p.signal_dispatch.get());

  p.signal_publisher =
      std::make_unique<SignalPublisher>(*p.strategy, p.writer.get(), cfg.strategy.params.max_open_positions);
  if (!cfg.strategy.debug_symbol.empty() && !cfg.strategy.debug_csv.empty()) {
    const std::size_t g = p.strategy->find_group(cfg.strategy.debug_symbol);
    if (g != SIZE_MAX) {
      p.decision_csv = std::make_unique<DecisionCsv>(cfg.strategy.debug_csv, cfg.strategy.params);
      p.signal_publisher->set_debug(p.decision_csv.get(), g);
    }
  }
  if (p.aggregator) p.aggregator->set_strategy(p.strategy.get(), p.signal_publisher.get());
  std::string names;
  for (std::size_t g = 0; g < p.strategy->groups(); ++g) names += (g ? ", " : "") + p.strategy->symbol(g);
  spdlog::info("strategy: SqueezeFlow on {} ({} analysis bars, min score {})", names.empty() ? "no group" : names,
               cfg.strategy.params.analysis_timeframe_s, cfg.strategy.params.min_entry_score);
}

void LivePipeline::start() {
  Impl& p = *impl_;
  p.started = true;
  p.started_at = std::chrono::system_clock::now();
  p.started_ns = realtime_ns();
  std::vector<std::future<std::string>> setups;

  for (auto& thread : p.feeds)
    for (auto& [exchange, recorder] : thread->recorders) recorder->start();

  if (p.writer) {
    auto promise = std::make_shared<std::promise<std::string>>();
    setups.push_back(promise->get_future());
    const ThreadConfig writer_config = p.config.writer;
    const bool pin = p.options.pin;
    p.writer->start([writer_config, pin, promise] { promise->set_value(apply_thread_config(writer_config, pin)); });
  }
  if (p.aggregator) {
    setups.emplace_back();
    Aggregator* aggregator = p.aggregator.get();
    p.aggregator_thread =
        start_pipeline_thread(p.config.aggregator, p.options.pin, setups.back(), [aggregator] { aggregator->run(); });
  }
  if (p.backfill) p.backfill->start();
  if (p.checkpoint) p.checkpoint->start();
  if (p.bus_collector) {
    setups.emplace_back();
    p.bus_collector->start(p.options.pin, setups.back(), p.config.bus_threads);
  }
  if (p.bus_ingest) {
    setups.emplace_back();
    p.bus_ingest->start(p.options.pin, setups.back(), p.config.bus_threads);
  }
  if (p.bus_bars) {
    setups.emplace_back();
    p.bus_bars->start(p.options.pin, setups.back(), p.config.bus_threads);
  }
  if (p.bus_strategy) {
    setups.emplace_back();
    p.bus_strategy->start(p.options.pin, setups.back(), p.config.bus_threads);
  }
  if (p.bus_signals) {
    setups.emplace_back();
    p.bus_signals->start(p.options.pin, setups.back(), p.config.bus_threads);
  }
  for (auto& thread_ptr : p.feeds) {
    FeedThread* thread = thread_ptr.get();
    setups.emplace_back();
    thread->thread = start_pipeline_thread(thread->config, p.options.pin, setups.back(), [thread] {
      for (FeedConnection& c : thread->connections) c.feed->start();
      IoLoop& loop = *thread->loop;
      switch (thread->config.wait) {
        case WaitKind::kPark:
          while (!thread->stop_requested.load(std::memory_order_acquire)) loop.run_for(std::chrono::milliseconds(100));
          break;
        case WaitKind::kSpinYield:
          while (!thread->stop_requested.load(std::memory_order_acquire))
            if (loop.poll() == 0) sched_yield();
          break;
        case WaitKind::kBusySpin:
          while (!thread->stop_requested.load(std::memory_order_acquire)) loop.poll();
          break;
      }
      // Close every connection politely, and give the close handshakes a
      // moment on the loop.
      for (FeedConnection& c : thread->connections) c.feed->stop();
      loop.run_for(std::chrono::milliseconds(200));
      thread->exited.store(true, std::memory_order_release);
    });
  }
  if (p.http) p.http->start();

  std::string problems;
  for (auto& setup : setups) {
    const std::string problem = setup.get();
    if (!problem.empty()) problems += (problems.empty() ? "" : "; ") + problem;
  }
  if (!problems.empty()) {
    stop(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    throw std::runtime_error("thread setup failed: " + problems);
  }
}

bool LivePipeline::stop(std::chrono::steady_clock::time_point deadline) {
  Impl& p = *impl_;
  if (p.stopped) return true;
  p.stopped = true;
  p.stopping.store(true, std::memory_order_release);
  bool clean = true;

  // 1. Feeds: no new frames. Their threads close the connections and exit;
  //    a channel closes once its producer is gone.
  for (auto& thread : p.feeds) {
    thread->stop_requested.store(true, std::memory_order_release);
    thread->loop->stop();
  }
  for (auto& thread : p.feeds) {
    if (thread->thread.joinable()) thread->thread.join();
    for (auto& [exchange, recorder] : thread->recorders) recorder->stop();
    if (thread->channel) thread->channel->close();
    if (thread->mirror) thread->mirror->close();
  }
  // 2. The backfill: gaps in flight are abandoned (counted).
  if (p.backfill) p.backfill->stop();
  if (p.backfill_channel) p.backfill_channel->close();
  // 2b. The bus: the collector publishes what the feeds left and waits for
  //     its acks; the ingest stops fetching (its ring then closes).
  if (p.bus_collector && !p.bus_collector->stop(deadline)) {
    spdlog::error("shutdown: bus messages not acknowledged before the deadline");
    clean = false;
  }
  if (p.bus_ingest) p.bus_ingest->stop_fetching();
  // 2c. The strategy host: no more bars; its signals are acked (or the
  //     deadline) before the writer delivers the last ones.
  //     It gets half the time left, and a bus that did not ack does not
  //     stop the writer's own flush.
  bool bus_acked = true;
  const auto now = std::chrono::steady_clock::now();
  if (p.bus_strategy &&
      !p.bus_strategy->stop(now + std::max(deadline - now, std::chrono::steady_clock::duration::zero()) / 2)) {
    spdlog::error("shutdown: signals published to the bus not acknowledged before the deadline");
    bus_acked = false;
  }

  // 3. The aggregator drains every channel and flushes every open bar.
  if (p.aggregator_thread.joinable()) {
    while (!p.aggregator->finished() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (!p.aggregator->finished()) {
      // Blocked on a full writer ring behind an unreachable database:
      // release any producer still waiting and report it.
      for (FeedChannel* channel : p.channels()) channel->abort();
      spdlog::error("shutdown: the aggregator did not finish before the deadline");
      clean = false;
      p.aggregator_thread.detach();
    } else {
      p.aggregator_thread.join();
      if (!p.aggregator->error().empty()) {
        spdlog::error("aggregator: {}", p.aggregator->error());
        clean = false;
      }
    }
  }
  // 3a. The signals of a strategy role beside the aggregator: the last
  //     ones published and acked, in half the time left (as the strategy
  //     host's, 2c), before the bars and the writer's flush.
  if (p.bus_signals) {
    const auto at = std::chrono::steady_clock::now();
    if (!p.bus_signals->stop(at + std::max(deadline - at, std::chrono::steady_clock::duration::zero()) / 2)) {
      spdlog::error("shutdown: signals published to the bus not acknowledged before the deadline");
      bus_acked = false;
    }
  }
  // 3b. The bars on the bus: the last ones published and acked.
  if (p.bus_bars && !p.bus_bars->stop(deadline)) {
    spdlog::error("shutdown: bars published to the bus not acknowledged before the deadline");
    bus_acked = false;
  }
  // 4. The writer: everything acknowledged or spooled, or the deadline.
  if (p.writer && clean) {
    p.writer_delivered_all = p.writer->finish(deadline);
    // Spooled is not lost (the next start delivers it): clean unless some
    // points are neither acknowledged nor spooled. Losses are the caller's
    // to judge (sink_outcome()).
    clean = clean && (p.writer_delivered_all || !p.writer->has_sink() || p.writer->sink().points_unsaved() == 0);
  }
  // 5. The checkpoint: the last offer (made before the aggregator's final
  //    flush) is written if the writer settled its bars.
  if (p.checkpoint) p.checkpoint->stop();
  // 6. The bus ingest acks what the last checkpoint covered.
  if (p.bus_ingest) p.bus_ingest->finish();
  if (p.http) p.http->stop();
  return clean && bus_acked;
}

}  // namespace tickflow
