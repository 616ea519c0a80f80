// runtime/live_pipeline_report.cc
//
// What the live pipeline says about itself: /metrics (Prometheus text),
// /health (JSON; 503 "stale" when market data is stale, 503 "degraded" when
// the InfluxDB sink is not delivering, see sink_problems()) and the exit
// summary with the sink's outcome (sink_outcome()). Everything
// read here is an atomic counter or a published snapshot: the pipeline
// threads never wait for a scrape.
#include <algorithm>
#include <cstdio>
#include <string>

#include "bus/bus_publisher.h"
#include "bus/bus_subscriber.h"
#include "runtime/live_pipeline.h"
#include "runtime/live_pipeline_impl.h"
#include "runtime/process_metrics.h"
#include "runtime/prometheus_text.h"
#include "strategy/signal.h"
#include "strategy/utc_time.h"

namespace tickflow {
namespace {

double seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string json_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

double load(const std::atomic<std::uint64_t>& v) { return static_cast<double>(v.load(std::memory_order_relaxed)); }

// One ring's families: the feed threads' and the backfill's rings alike.
void ring_metrics(PrometheusText& out, const FeedChannel& ch) {
  const PrometheusText::Labels labels = {{"ring", ch.name()}};
  out.gauge("tickflow_ring_depth", "Events waiting in the ring", labels, static_cast<double>(ch.depth()));
  out.gauge("tickflow_ring_capacity", "Ring capacity in events", labels, static_cast<double>(ch.capacity()));
  out.counter("tickflow_ring_published_total", "Events pushed into the ring", labels, load(ch.counters().published));
  out.counter("tickflow_ring_full_total", "Times the producer found the ring full", labels,
              load(ch.counters().full_events));
  out.counter("tickflow_ring_dropped_total", "Events dropped on a full ring (full_policy = drop)", labels,
              load(ch.counters().dropped));
}

// Why the sink is unhealthy (empty: it is not): pending data with no
// successful write for influx.health_max_undelivered_ms, a 401/403 as the
// last answer, or the spool above influx.health_max_spool_fraction of its cap.
std::vector<std::string> sink_problems(const InfluxConfig& config, const InfluxWriterSnapshot& w,
                                       std::chrono::steady_clock::time_point now) {
  std::vector<std::string> out;
  const std::string why = w.delivery_problem.empty() ? std::string() : ": " + w.delivery_problem;
  if (w.last_status == 401 || w.last_status == 403)
    out.push_back("InfluxDB refuses tickflow's credentials (HTTP " + std::to_string(w.last_status) + ")" + why);
  const auto stalled = now - w.last_progress;
  if (w.pending_batches > 0 && stalled > config.health_max_undelivered)
    out.push_back("nothing delivered to InfluxDB for " + json_number(std::chrono::duration<double>(stalled).count()) +
                  " s with " + std::to_string(w.pending_batches) + " batches pending" + why);
  if (w.spool_max_bytes > 0 && static_cast<double>(w.spool_disk_bytes) >
                                   config.health_max_spool_fraction * static_cast<double>(w.spool_max_bytes))
    out.push_back("spool at " + std::to_string(w.spool_disk_bytes) + " of its " + std::to_string(w.spool_max_bytes) +
                  " bytes (above health_max_spool_fraction " + json_number(config.health_max_spool_fraction) + ")" +
                  why);
  return out;
}

// The ages /health judges staleness by, and its limits, so alert rules
// (tuning/prometheus/tickflow-rules.yml) compare the same figures with the
// same config. Ages count from the start while there is nothing yet, as
// /health's do: a fresh process is not stale for its first limit.
void freshness_metrics(PrometheusText& out, const LivePipeline::Impl& p, std::int64_t now) {
  out.gauge("tickflow_health_max_trade_age_seconds", "metrics.max_trade_age_ms: a market is stale beyond this", {},
            seconds(std::chrono::nanoseconds(p.config.metrics.max_trade_age).count()));
  out.gauge("tickflow_health_max_bar_age_seconds", "metrics.max_bar_age_ms: a market lacks bars beyond this", {},
            seconds(std::chrono::nanoseconds(p.config.metrics.max_bar_age).count()));
  const std::size_t markets = std::min<std::size_t>(p.registry.size(), 1024);
  for (const auto& thread : p.feeds)
    for (const FeedConnection& c : thread->connections) {
      std::int64_t last_trade = 0;
      for (std::size_t id = 0; id < markets; ++id)
        last_trade = std::max(last_trade, c.feed->last_trade_receive_ns(static_cast<MarketId>(id)));
      out.gauge("tickflow_feed_last_trade_age_seconds", "Seconds since the connection's newest trade",
                {{"exchange", c.plan.exchange},
                 {"venue", std::string(to_string(c.plan.feed.venue))},
                 {"connection", std::to_string(c.id)}},
                seconds(now - std::max(last_trade, p.started_ns)));
    }
  for (std::size_t id = 0; id < markets; ++id) {
    const auto market = static_cast<MarketId>(id);
    std::int64_t last_trade = 0;
    for (const auto& thread : p.feeds)
      for (const FeedConnection& c : thread->connections)
        last_trade = std::max(last_trade, c.feed->last_trade_receive_ns(market));
    const PrometheusText::Labels labels = {{"market", p.registry.info(market).name}};
    out.gauge("tickflow_market_last_trade_age_seconds", "Seconds since the market's newest trade was received", labels,
              seconds(now - std::max(last_trade, p.started_ns)));
    if (p.aggregator)
      out.gauge("tickflow_market_last_bar_age_seconds", "Seconds since the end of the market's newest closed 1 s bar",
                labels, seconds(now - std::max(p.aggregator->closed_until_s(market) * 1'000'000'000, p.started_ns)));
  }
}

// /health's "strategy": whether it runs, each group's evaluations, the age
// of its last evaluation and its last signal (the signal's own JSON, led by
// "time" and "side"), and Redis delivery: "off" (not configured), "ok" (the
// sink holds a connection), "down" (its last attempt failed: retried with
// the next signal). Redis "failed" counts signals Redis never got (TTL run
// out, queue full, a command refused); "attempts_failed" the connects and
// transactions that failed and were retried. Redis down goes to `warnings`:
// the market data is fine, so the status stays.
// The bus (issue 19): connection state, in-flight publishes, the
// consumer's lag and redeliveries, duplicates dropped. Nothing without one.
void bus_metrics(PrometheusText& out, const LivePipeline::Impl& p) {
  auto lload = [](const std::atomic<std::int64_t>& v) {
    return static_cast<double>(v.load(std::memory_order_relaxed));
  };
  if (p.bus_collector) {
    const BusCollectorCounters& c = p.bus_collector->counters();
    const bus::BusPublisherCounters* pc = p.bus_collector->publisher_counters();
    const PrometheusText::Labels role{{"role", "collector"}};
    out.gauge("tickflow_bus_connected", "1 while connected to NATS", role,
              c.connected.load(std::memory_order_relaxed) ? 1 : 0);
    out.counter("tickflow_bus_messages_total", "Messages published (collector) or applied (aggregator)", role,
                load(c.messages));
    if (pc != nullptr) {
      out.gauge("tickflow_bus_in_flight", "Published messages waiting for their JetStream ack", {},
                lload(pc->in_flight));
      out.counter("tickflow_bus_acked_total", "Publishes acknowledged by JetStream", {}, load(pc->acked));
      out.counter("tickflow_bus_duplicates_total", "Duplicates dropped, by where", {{"where", "stream"}},
                  load(pc->duplicates));
      out.counter("tickflow_bus_window_full_total", "Publishes that found the in-flight window full", {},
                  load(pc->window_full));
      out.counter("tickflow_bus_resent_total", "Publishes resent after a failed or lost ack", {}, load(pc->resent));
    }
  }
  if (p.bus_ingest) {
    const BusIngestCounters& c = p.bus_ingest->counters();
    const bus::BusSubscriberCounters* sc = p.bus_ingest->subscriber_counters();
    const PrometheusText::Labels role{{"role", "aggregator"}};
    out.gauge("tickflow_bus_connected", "1 while connected to NATS", role,
              c.connected.load(std::memory_order_relaxed) ? 1 : 0);
    out.counter("tickflow_bus_messages_total", "Messages published (collector) or applied (aggregator)", role,
                load(c.messages));
    out.counter("tickflow_bus_duplicates_total", "Duplicates dropped, by where", {{"where", "aggregator"}},
                load(c.duplicates));
    out.counter("tickflow_bus_too_old_total", "Trades dropped: id below the de-duplication window", {},
                load(c.too_old));
    out.counter("tickflow_bus_bad_messages_total", "Messages skipped: malformed or unknown version", {},
                load(c.bad_messages));
    out.counter("tickflow_bus_unknown_market_messages_total", "Messages skipped: market not configured here", {},
                load(c.unknown_markets));
    out.gauge("tickflow_bus_acked_seq", "Stream sequence acknowledged (every message up to it)", {}, load(c.acked_seq));
    out.gauge("tickflow_bus_applied_seq", "Stream sequence of the last message handed to the aggregator", {},
              load(c.applied_seq));
    out.gauge("tickflow_bus_unacked_messages", "Messages applied but not yet acknowledged (bars not settled)", {},
              static_cast<double>(p.bus_ingest->unacked()));
    out.counter("tickflow_bus_rewound_total",
                "At start: a previous run's unacked messages redelivered at once (durable re-created at its ack floor)",
                {}, load(c.consumer_rewound));
    out.counter("tickflow_bus_held_for_redelivery_total",
                "At start: a previous run's unacked messages waited for (ack wait): no rewind", {},
                load(c.held_for_redelivery));
    if (p.aggregator)
      out.counter("tickflow_bus_replay_shortened_total",
                  "Ack floors raised past the amendment horizon to stay within max_ack_pending / 2: a restart "
                  "replays less (late trades older than its replay are not rebuilt)",
                  {}, load(p.aggregator->counters().replay_shortened));
    if (sc != nullptr) {
      out.gauge("tickflow_bus_consumer_lag", "Messages not yet delivered or not yet acknowledged", {}, lload(sc->lag));
      out.counter("tickflow_bus_redelivered_total", "Messages JetStream delivered again", {}, load(sc->redelivered));
      out.counter("tickflow_bus_lost_deliveries_total",
                  "Deliveries that never arrived (consumer sequence jumps, e.g. a leader failover): acks wait for "
                  "their redelivery",
                  {}, load(sc->lost_deliveries));
    }
  }
  // The aggregator's bars to the bus (runtime/bus_bar_publisher.h).
  if (p.bus_bars) {
    const BusBarPublisherCounters& c = p.bus_bars->counters();
    out.gauge("tickflow_bus_connected", "1 while connected to NATS", {{"role", "bars"}},
              c.connected.load(std::memory_order_relaxed) ? 1 : 0);
    out.counter("tickflow_bus_bars_published_total", "Bars published to the bars stream (1 s, rollups, amendments)", {},
                load(c.bars));
    out.counter("tickflow_bus_bar_messages_published_total", "Bar messages published (one market and timeframe each)",
                {}, load(c.messages));
    out.counter("tickflow_bus_bars_ring_waits_total", "Aggregator bar hand-offs that waited for the bus ring", {},
                load(c.ring_waits));
  }
  // A strategy host on the bus (runtime/bus_strategy.h).
  if (p.bus_strategy) {
    const BusStrategyCounters& c = p.bus_strategy->counters();
    const bus::BusSubscriberCounters* sc = p.bus_strategy->subscriber_counters();
    out.gauge("tickflow_bus_connected", "1 while connected to NATS", {{"role", "strategy"}},
              c.connected.load(std::memory_order_relaxed) ? 1 : 0);
    out.counter("tickflow_bus_bars_consumed_total", "1 s bars from the bus handed to the strategy engine", {},
                load(c.bars));
    out.counter("tickflow_bus_bars_duplicate_total", "Final bars from the bus dropped: second already had", {},
                load(c.duplicate_bars));
    out.counter("tickflow_bus_signals_published_total", "Signals published to the signals stream", {}, load(c.signals));
    out.counter("tickflow_strategy_late_bars_total", "Bars that reached the strategy after their second was stepped",
                {}, load(c.late_bars));
    out.counter("tickflow_strategy_buffer_overflows_total",
                "Bars the strategy applied early: their market was far ahead of its group", {},
                load(c.buffer_overflows));
    out.counter("tickflow_bus_bad_messages_total", "Messages skipped: malformed or unknown version", {},
                load(c.bad_messages));
    out.counter("tickflow_bus_unknown_market_messages_total", "Messages skipped: market not configured here", {},
                load(c.unknown_markets));
    out.gauge("tickflow_bus_acked_seq", "Stream sequence acknowledged (every message up to it)", {}, load(c.acked_seq));
    if (sc != nullptr)
      out.gauge("tickflow_bus_consumer_lag", "Messages not yet delivered or not yet acknowledged", {}, lload(sc->lag));
  }
  // The signals of a strategy role beside the aggregator (runtime/bus_signal_publisher.h).
  if (p.bus_signals) {
    const BusSignalPublisherCounters& c = p.bus_signals->counters();
    out.gauge("tickflow_bus_connected", "1 while connected to NATS", {{"role", "signals"}},
              c.connected.load(std::memory_order_relaxed) ? 1 : 0);
    out.counter("tickflow_bus_signals_published_total", "Signals published to the signals stream", {},
                load(c.published));
    out.counter("tickflow_bus_signals_dropped_total",
                "Signals not handed to the bus: its ring was full or its thread not running", {}, load(c.dropped));
  }
}

std::string bus_json(const LivePipeline::Impl& p, std::vector<std::string>& problems) {
  if (!p.bus_collector && !p.bus_ingest && !p.bus_bars && !p.bus_strategy && !p.bus_signals) return "null";
  std::string out = "{";
  if (p.bus_collector) {
    const BusCollectorCounters& c = p.bus_collector->counters();
    const bus::BusPublisherCounters* pc = p.bus_collector->publisher_counters();
    const bool connected = c.connected.load(std::memory_order_relaxed);
    if (!connected) problems.push_back("bus: collector disconnected from NATS");
    out += "\"collector\":{\"connected\":" + std::string(connected ? "true" : "false") +
           ",\"messages\":" + std::to_string(c.messages.load(std::memory_order_relaxed)) +
           ",\"in_flight\":" + std::to_string(pc ? pc->in_flight.load(std::memory_order_relaxed) : 0) +
           ",\"duplicates\":" + std::to_string(pc ? pc->duplicates.load(std::memory_order_relaxed) : 0) + "}";
  }
  if (p.bus_ingest) {
    const BusIngestCounters& c = p.bus_ingest->counters();
    const bus::BusSubscriberCounters* sc = p.bus_ingest->subscriber_counters();
    const bool connected = c.connected.load(std::memory_order_relaxed);
    if (!connected) problems.push_back("bus: aggregator disconnected from NATS");
    if (out.size() > 1) out += ",";
    out += "\"aggregator\":{\"connected\":" + std::string(connected ? "true" : "false") +
           ",\"messages\":" + std::to_string(c.messages.load(std::memory_order_relaxed)) +
           ",\"duplicates\":" + std::to_string(c.duplicates.load(std::memory_order_relaxed)) +
           ",\"acked_seq\":" + std::to_string(c.acked_seq.load(std::memory_order_relaxed)) +
           ",\"lag\":" + std::to_string(sc ? sc->lag.load(std::memory_order_relaxed) : 0) +
           ",\"redelivered\":" + std::to_string(sc ? sc->redelivered.load(std::memory_order_relaxed) : 0) +
           ",\"rewound\":" + std::to_string(c.consumer_rewound.load(std::memory_order_relaxed)) +
           ",\"held_for_redelivery\":" + std::to_string(c.held_for_redelivery.load(std::memory_order_relaxed)) + "}";
  }
  if (p.bus_bars) {
    const BusBarPublisherCounters& c = p.bus_bars->counters();
    const bool connected = c.connected.load(std::memory_order_relaxed);
    if (!connected) problems.push_back("bus: bar publisher disconnected from NATS");
    if (out.size() > 1) out += ",";
    out += "\"bars\":{\"connected\":" + std::string(connected ? "true" : "false") +
           ",\"bars\":" + std::to_string(c.bars.load(std::memory_order_relaxed)) +
           ",\"messages\":" + std::to_string(c.messages.load(std::memory_order_relaxed)) + "}";
  }
  if (p.bus_strategy) {
    const BusStrategyCounters& c = p.bus_strategy->counters();
    const bus::BusSubscriberCounters* sc = p.bus_strategy->subscriber_counters();
    const bool connected = c.connected.load(std::memory_order_relaxed);
    if (!connected) problems.push_back("bus: strategy host disconnected from NATS");
    if (out.size() > 1) out += ",";
    out += "\"strategy\":{\"connected\":" + std::string(connected ? "true" : "false") +
           ",\"bars\":" + std::to_string(c.bars.load(std::memory_order_relaxed)) +
           ",\"signals\":" + std::to_string(c.signals.load(std::memory_order_relaxed)) +
           ",\"closed_until_s\":" + std::to_string(c.closed_until_s.load(std::memory_order_relaxed)) +
           ",\"acked_seq\":" + std::to_string(c.acked_seq.load(std::memory_order_relaxed)) +
           ",\"lag\":" + std::to_string(sc ? sc->lag.load(std::memory_order_relaxed) : 0) + "}";
  }
  if (p.bus_signals) {
    const BusSignalPublisherCounters& c = p.bus_signals->counters();
    const bus::BusPublisherCounters* pc = p.bus_signals->publisher_counters();
    const bool connected = c.connected.load(std::memory_order_relaxed);
    if (!connected) problems.push_back("bus: signal publisher disconnected from NATS");
    if (out.size() > 1) out += ",";
    out += "\"signals\":{\"connected\":" + std::string(connected ? "true" : "false") +
           ",\"published\":" + std::to_string(c.published.load(std::memory_order_relaxed)) +
           ",\"dropped\":" + std::to_string(c.dropped.load(std::memory_order_relaxed)) +
           ",\"in_flight\":" + std::to_string(pc ? pc->in_flight.load(std::memory_order_relaxed) : 0) + "}";
  }
  return out + "}";
}

std::string strategy_json(const LivePipeline::Impl& p, std::int64_t now, std::vector<std::string>& warnings) {
  const bool enabled = p.strategy != nullptr && p.signal_publisher != nullptr;
  std::string out = std::string("{\"enabled\":") + (enabled ? "true" : "false") + ",\"groups\":[";
  if (enabled) {
    const SignalPublisher& sp = *p.signal_publisher;
    for (std::size_t g = 0; g < sp.groups() && g < p.strategy->groups(); ++g) {
      if (g > 0) out += ",";
      const std::int64_t last_eval = sp.last_evaluation_ns(g);
      out += "{\"symbol\":\"" + json_escape(p.strategy->base(g)) + "\",\"signal_symbol\":\"" +
             json_escape(p.strategy->symbol(g)) + "\",\"evaluations\":" + std::to_string(sp.evaluations(g)) +
             ",\"last_evaluation_age_s\":" +
             (last_eval == 0 ? std::string("null") : json_number(seconds(std::max<std::int64_t>(0, now - last_eval)))) +
             ",\"last_signal\":";
      Signal s;
      if (sp.last_signal(g, s)) {
        const std::string json = to_json(s);
        out += "{\"time\":\"" + iso8601_utc(s.timestamp_s) + "\",\"side\":\"" + std::string(to_string(s.action)) +
               "\"," + json.substr(1);
      } else {
        out += "null";
      }
      out += "}";
    }
  }
  out += "],\"redis\":";
  const bool configured = p.config.signals.redis;
  if (!enabled || !configured || !p.signal_dispatch || !p.writer) {
    out += std::string("{\"configured\":") + (configured ? "true" : "false") +
           ",\"state\":\"off\",\"delivered\":0,\"failed\":0,\"pending\":0,\"attempts_failed\":0,"
           "\"last_error\":null}";
    return out + "}";
  }
  const SignalDispatchCounters d = p.writer->signal_counters();
  const std::string error = p.signal_dispatch->redis_last_error();
  const RedisSinkConfig& rc = p.config.signals.redis_config;
  if (!d.redis_connected)
    warnings.push_back("redis at " + rc.host + ":" + std::to_string(rc.port) + " is down (" +
                       (error.empty() ? std::string("not connected") : error) +
                       "): " + std::to_string(d.redis_pending) + " signal(s) queued for it; the other sinks deliver");
  out += std::string("{\"configured\":true,\"state\":\"") + (d.redis_connected ? "ok" : "down") + "\",\"host\":\"" +
         json_escape(rc.host) + "\",\"port\":" + std::to_string(rc.port) +
         ",\"delivered\":" + std::to_string(d.redis_delivered) +
         ",\"failed\":" + std::to_string(d.redis_expired + d.redis_dropped_full + d.redis_command_errors) +
         ",\"pending\":" + std::to_string(d.redis_pending) +
         ",\"attempts_failed\":" + std::to_string(d.redis_connect_failures + d.redis_retries) +
         ",\"last_error\":" + (error.empty() ? std::string("null") : "\"" + json_escape(error) + "\"") + "}";
  return out + "}";
}

}  // namespace

HttpResponse LivePipeline::metrics() const {
  const Impl& p = *impl_;
  PrometheusText out;
  const std::int64_t now = realtime_ns();
  out.gauge("tickflow_uptime_seconds", "Seconds since the pipeline started", {}, seconds(now - p.started_ns));
  append_process_metrics(out);
  freshness_metrics(out, p, now);

  for (const auto& thread : p.feeds) {
    for (const FeedConnection& c : thread->connections) {
      const LiveFeedCounters& k = c.feed->counters();
      const PrometheusText::Labels labels = {{"exchange", c.plan.exchange},
                                             {"venue", std::string(to_string(c.plan.feed.venue))},
                                             {"connection", std::to_string(c.id)}};
      out.gauge("tickflow_feed_connected", "1 when the connection is open", labels, c.feed->connected() ? 1 : 0);
      out.counter("tickflow_feed_frames_total", "Websocket frames received", labels, load(k.frames));
      out.counter("tickflow_feed_bytes_total", "Websocket payload bytes received", labels, load(k.bytes));
      out.counter("tickflow_feed_trades_total", "Trades delivered to the aggregator", labels, load(k.trades));
      out.counter("tickflow_feed_duplicates_total", "Trades dropped as already delivered (reconnect overlap)", labels,
                  load(k.duplicates));
      out.counter("tickflow_feed_unconfigured_total", "Trades on symbols this connection did not subscribe: skipped",
                  labels, load(k.unconfigured));
      out.counter("tickflow_feed_implausible_ids_total",
                  "Trades dropped: id too far from the market's recent ids (unconfirmed jump)", labels,
                  load(k.implausible_ids));
      out.counter("tickflow_feed_id_jumps_total", "Id jumps confirmed and adopted as the market's new sequence", labels,
                  load(k.jumps_adopted));
      out.counter("tickflow_feed_market_overflow_total", "Trades dropped: the market table is full", labels,
                  load(k.market_overflow));
      out.counter("tickflow_feed_reconnects_total", "Handshakes completed after a disconnect", labels,
                  load(k.reconnects));
      out.counter("tickflow_feed_gaps_total", "Trade-id or reconnect gaps detected", labels, load(k.gaps));
      out.counter("tickflow_feed_gap_trades_total", "Trade ids missing in detected gaps", labels, load(k.gap_trades));
      out.counter("tickflow_feed_parse_errors_total", "Frames the parser rejected (reason in the log)", labels,
                  load(k.parse_errors));
      for (std::size_t r = 0; r < static_cast<std::size_t>(WsCloseReason::kCount); ++r) {
        const auto reason = static_cast<WsCloseReason>(r);
        if (reason == WsCloseReason::kStopped) continue;
        PrometheusText::Labels with_reason = labels;
        with_reason.emplace_back("reason", std::string(to_string(reason)));
        out.counter("tickflow_feed_disconnects_total", "Connection attempts that ended, by reason", with_reason,
                    static_cast<double>(k.reason(reason)));
      }
    }
    if (thread->channel) ring_metrics(out, *thread->channel);
    if (thread->publisher)
      out.latency_summary("tickflow_latency_receive_to_publish_seconds",
                          "Frame received -> its events published on the feed ring", {{"thread", thread->config.name}},
                          thread->publisher->receive_to_publish().snapshot());
  }
  if (p.backfill) {
    const BackfillCounters& b = p.backfill->counters();
    out.counter("tickflow_backfill_requests_total", "Gaps queued for REST backfill", {}, load(b.requests));
    out.counter("tickflow_backfill_failed_total", "Gaps given up", {}, load(b.failed_requests));
    out.counter("tickflow_backfill_dropped_total", "Gaps dropped (queue full or shutdown)", {},
                load(b.dropped_requests));
    out.counter("tickflow_backfill_trades_total", "Trades delivered by the backfill", {}, load(b.trades_delivered));
    out.counter("tickflow_backfill_http_requests_total", "REST requests, retries included", {}, load(b.http_requests));
  }
  if (p.backfill_channel) ring_metrics(out, *p.backfill_channel);
  if (p.aggregator) {
    const AggregatorCounters& a = p.aggregator->counters();
    out.counter("tickflow_aggregator_events_total", "Events taken from the rings", {}, load(a.events));
    out.counter("tickflow_aggregator_trades_total", "Trades applied to bars", {}, load(a.trades));
    out.counter("tickflow_aggregator_backfilled_trades_total", "Backfilled trades applied to bars", {},
                load(a.backfilled_trades));
    out.counter("tickflow_bars_total", "Bars closed", {{"timeframe", "1s"}}, load(a.bars));
    out.counter("tickflow_bars_total", "Bars closed", {{"timeframe", "rollups"}}, load(a.rollup_bars));
    out.counter("tickflow_bar_amendments_total", "Bars re-emitted after a late trade", {{"timeframe", "1s"}},
                load(a.amendments));
    out.counter("tickflow_bar_amendments_total", "Bars re-emitted after a late trade", {{"timeframe", "rollups"}},
                load(a.rollup_amendments));
    out.counter("tickflow_late_drops_total", "Trades older than the amendment horizon, dropped", {},
                load(a.late_drops));
    out.counter("tickflow_resumed_drops_total", "Trades for seconds the previous run sealed (restart), dropped", {},
                load(a.resumed_drops));
    out.counter("tickflow_gap_holds_total", "Markets held open from a gap until its backfill finished", {},
                load(a.gap_holds));
    out.counter("tickflow_gap_hold_timeouts_total", "Gap holds ended by feeds.gap_hold_ms, not by the backfill", {},
                load(a.gap_hold_timeouts));
    out.counter("tickflow_incomplete_seconds_total",
                "Seconds not written: a resumed market's gap the backfill could not heal", {},
                load(a.incomplete_seconds));
    out.counter("tickflow_incomplete_trades_total", "Trades in those seconds", {}, load(a.incomplete_trades));
  }
  if (p.checkpoint) {
    const CheckpointKeeperCounters& c = p.checkpoint->counters();
    out.counter("tickflow_checkpoints_written_total", "Restart checkpoints written", {}, load(c.written));
    out.counter("tickflow_checkpoint_failures_total", "Restart checkpoint writes that failed (the old one stays)", {},
                load(c.failures));
    out.gauge("tickflow_checkpoint_resumed_markets", "Markets resumed from the checkpoint at start", {},
              static_cast<double>(p.resumed_markets));
  }
  if (p.aggregator) {
    const AggregatorCounters& a = p.aggregator->counters();
    out.latency_summary("tickflow_latency_receive_to_bar_seconds", "Frame received -> its trade's bar updated", {},
                        p.aggregator->receive_to_bar());
    out.counter("tickflow_flow_records_total", "Flow statistics records (group x closed interval) handed on", {},
                load(a.flow_records));
    out.counter("tickflow_flow_late_bars_total", "Bars for closed seconds, applied to the intervals still open", {},
                load(a.flow_late));
    out.counter("tickflow_flow_replaced_bars_total",
                "Amended bars whose change (new - old) was applied to their second", {}, load(a.flow_replaced));
    out.counter("tickflow_flow_dropped_bars_total", "Bars the flow statistics could not take", {},
                load(a.flow_dropped));
    out.counter("tickflow_flow_groups_refused_total", "Symbol-group refreshes refused (more groups than lanes)", {},
                load(a.flow_groups_refused));
  }
  if (p.writer) {
    const InfluxWriterSnapshot w = p.writer->snapshot();
    out.gauge("tickflow_writer_ring_depth", "Bars waiting for the writer thread", {},
              static_cast<double>(p.writer->depth()));
    out.gauge("tickflow_writer_flow_ring_depth", "Flow records waiting for the writer thread", {},
              static_cast<double>(p.writer->flow_depth()));
    out.counter("tickflow_writer_flows_dropped_total", "Flow records dropped: the writer's flow ring was full", {},
                static_cast<double>(p.writer->flows_dropped()));
    out.counter("tickflow_sink_points_accepted_total", "Points handed to the InfluxDB sink", {},
                static_cast<double>(w.stats.points_accepted));
    out.counter("tickflow_sink_points_written_total", "Points acknowledged by InfluxDB", {},
                static_cast<double>(w.stats.points_written));
    out.counter("tickflow_sink_batches_total", "Batches acknowledged by InfluxDB", {},
                static_cast<double>(w.stats.batches_written));
    out.counter("tickflow_sink_retries_total", "Failed writes that will be retried", {},
                static_cast<double>(w.stats.retries));
    out.counter("tickflow_sink_points_spooled_total", "Points written to the disk spool", {},
                static_cast<double>(w.stats.points_spooled));
    out.counter("tickflow_sink_points_dropped_total", "Points lost (spool drop-oldest or memory overflow)", {},
                static_cast<double>(w.stats.points_dropped));
    out.counter("tickflow_sink_points_dead_lettered_total", "Points InfluxDB rejected (dead-letter file)", {},
                static_cast<double>(w.stats.points_dead_lettered));
    out.gauge("tickflow_spool_bytes", "Bytes waiting in the disk spool", {},
              static_cast<double>(w.spool_pending_bytes));
    out.counter("tickflow_spool_dropped_records_total", "Spool records evicted (drop_oldest)", {},
                static_cast<double>(w.spool.dropped_records));
    out.gauge("tickflow_sink_pending_batches", "Batches not yet acknowledged", {},
              static_cast<double>(w.pending_batches));
    out.latency_summary("tickflow_latency_close_to_sink_seconds", "Bar closed -> handed to the sink", {},
                        p.writer->close_to_handed());
    out.latency_summary("tickflow_latency_sink_to_ack_seconds", "Handed to the sink -> acknowledged by InfluxDB", {},
                        w.ack_delay);
    // runtime/influx_writer.h, "Bar visibility": busy markets traded in the
    // second before, quiet ones did not.
    for (const auto& [kind, name] : {std::pair{BarKind::kBusy, "busy"}, std::pair{BarKind::kQuiet, "quiet"}})
      out.latency_summary("tickflow_bar_visible_seconds",
                          "A 1 s bar's end -> InfluxDB acknowledged the write that made it queryable", {{"kind", name}},
                          w.bar_visible[static_cast<std::size_t>(kind)]);
  }
  if (p.signal_publisher) {
    const SignalPublisherCounters& c = p.signal_publisher->counters();
    out.counter("tickflow_strategy_evaluations_total", "SqueezeFlow evaluations (one per group per closed second)", {},
                load(c.evaluations));
    out.counter("tickflow_strategy_signals_total", "Signals emitted", {{"kind", "entry"}}, load(c.entries));
    out.counter("tickflow_strategy_signals_total", "Signals emitted", {{"kind", "exit"}}, load(c.exits));
    out.counter("tickflow_strategy_refused_entries_total", "Entries beyond max_open_positions", {}, load(c.refused));
    out.counter("tickflow_strategy_signals_lost_total", "Signals lost to a full writer signal ring", {},
                load(c.ring_full));
    out.gauge("tickflow_strategy_open_positions", "Positions the live strategy holds", {},
              static_cast<double>(p.signal_publisher->open_positions()));
    if (p.aggregator)  // a strategy host on the bus has none
      out.latency_summary("tickflow_latency_strategy_evaluation_seconds", "One symbol group's evaluation", {},
                          p.aggregator->strategy_evaluation());
    const SignalDispatchCounters d = p.writer->signal_counters();
    out.counter("tickflow_signal_deliveries_total", "Signals delivered, by sink", {{"sink", "influx"}},
                static_cast<double>(d.influx_points));
    out.counter("tickflow_signal_deliveries_total", "Signals delivered, by sink", {{"sink", "jsonl"}},
                static_cast<double>(d.jsonl_lines));
    out.counter("tickflow_signal_deliveries_total", "Signals delivered, by sink", {{"sink", "redis"}},
                static_cast<double>(d.redis_delivered));
    out.counter("tickflow_signal_redis_expired_total", "Signals whose TTL ran out before Redis took them", {},
                static_cast<double>(d.redis_expired));
    out.counter("tickflow_signal_redis_dropped_total", "Signals refused by the full Redis queue", {},
                static_cast<double>(d.redis_dropped_full));
    out.counter("tickflow_signal_redis_retries_total", "Redis transactions that failed and stay queued", {},
                static_cast<double>(d.redis_retries));
    out.counter("tickflow_signal_redis_connect_failures_total", "Failed Redis connects (AUTH included)", {},
                static_cast<double>(d.redis_connect_failures));
    out.counter("tickflow_signal_redis_auth_failures_total",
                "Redis refused the password (or wanted one): check REDIS_PASSWORD", {},
                static_cast<double>(d.redis_auth_failures));
    out.counter("tickflow_signal_jsonl_errors_total", "Signals the JSONL file could not take", {},
                static_cast<double>(d.jsonl_errors));
  }
  bus_metrics(out, p);
  HttpResponse response;
  response.content_type = PrometheusText::kContentType;
  response.body = out.str();
  return response;
}

HttpResponse LivePipeline::health() const {
  const Impl& p = *impl_;
  const std::int64_t now = realtime_ns();
  const std::int64_t max_trade_age = std::chrono::nanoseconds(p.config.metrics.max_trade_age).count();
  const std::int64_t max_bar_age = std::chrono::nanoseconds(p.config.metrics.max_bar_age).count();
  std::vector<std::string> problems;

  std::string feeds = "[";
  std::vector<std::pair<MarketId, const FeedConnection*>> markets;
  for (const auto& thread : p.feeds) {
    for (const FeedConnection& c : thread->connections) {
      const bool connected = c.feed->connected();
      // A connection down for longer than a market may go without trades
      // (from the start: the first connect may take a while) is a problem.
      if (!connected && now - p.started_ns > max_trade_age)
        problems.push_back(c.plan.exchange + " connection " + std::to_string(c.id) + " (" +
                           std::string(to_string(c.plan.feed.venue)) + "): not connected");
      if (feeds.size() > 1) feeds += ",";
      feeds += "{\"exchange\":\"" + json_escape(c.plan.exchange) + "\",\"venue\":\"" +
               std::string(to_string(c.plan.feed.venue)) + "\",\"connection\":" + std::to_string(c.id) +
               ",\"state\":\"" + (connected ? "connected" : "disconnected") +
               "\",\"reconnects\":" + std::to_string(c.feed->counters().reconnects.load(std::memory_order_relaxed)) +
               ",\"trades\":" + std::to_string(c.feed->counters().trades.load(std::memory_order_relaxed)) + "}";
    }
  }
  feeds += "]";

  std::string market_json = "[";
  const std::size_t seen = std::min<std::size_t>(p.registry.size(), 1024);
  for (std::size_t id = 0; id < seen; ++id) {
    const auto market = static_cast<MarketId>(id);
    std::int64_t last_trade = 0;
    for (const auto& thread : p.feeds)
      for (const FeedConnection& c : thread->connections)
        last_trade = std::max(last_trade, c.feed->last_trade_receive_ns(market));
    // Age from the start while a market has had nothing yet: a fresh
    // process is not unhealthy for its first max_trade_age.
    const std::int64_t trade_age = now - std::max(last_trade, p.started_ns);
    std::int64_t bar_age = -1;
    if (p.aggregator) {
      const std::int64_t closed_until = p.aggregator->closed_until_s(market);
      bar_age = now - std::max(closed_until * 1'000'000'000, p.started_ns);
    }
    const std::string& name = p.registry.info(market).name;
    if (trade_age > max_trade_age)
      problems.push_back(name + ": no trade for " + json_number(seconds(trade_age)) + " s");
    if (bar_age > max_bar_age)
      problems.push_back(name + ": last closed 1s bar ended " + json_number(seconds(bar_age)) + " s ago");
    if (market_json.size() > 1) market_json += ",";
    market_json += "{\"market\":\"" + json_escape(name) + "\",\"last_trade_age_s\":" +
                   (last_trade == 0 ? std::string("null") : json_number(seconds(now - last_trade))) +
                   ",\"last_bar_age_s\":" + (bar_age < 0 ? std::string("null") : json_number(seconds(bar_age))) + "}";
  }
  market_json += "]";

  std::string sink = "null";
  std::vector<std::string> sink_issues;
  if (p.writer && p.writer->has_sink()) {
    const InfluxWriterSnapshot w = p.writer->snapshot();
    sink_issues = sink_problems(p.config.influx, w, std::chrono::steady_clock::now());
    const bool backlog = w.pending_batches > 4 || w.spool_pending_bytes > 0;
    const auto stalled = std::chrono::steady_clock::now() - w.last_progress;
    sink = std::string("{\"state\":\"") +
           (!sink_issues.empty() ? "degraded"
            : backlog            ? "backlog"
                                 : "ok") +
           "\",\"pending_batches\":" + std::to_string(w.pending_batches) +
           ",\"spool_bytes\":" + std::to_string(w.spool_pending_bytes) +
           ",\"spool_disk_bytes\":" + std::to_string(w.spool_disk_bytes) +
           ",\"spool_max_bytes\":" + std::to_string(w.spool_max_bytes) +
           ",\"points_written\":" + std::to_string(w.stats.points_written) +
           ",\"points_spooled\":" + std::to_string(w.stats.points_spooled) +
           ",\"points_dropped\":" + std::to_string(w.stats.points_dropped) +
           ",\"points_dead_lettered\":" + std::to_string(w.stats.points_dead_lettered) +
           ",\"last_status\":" + std::to_string(w.last_status) + ",\"undelivered_s\":" +
           json_number(w.pending_batches > 0 ? std::chrono::duration<double>(stalled).count() : 0.0) +
           ",\"last_problem\":\"" + json_escape(w.last_problem) + "\"}";
  }

  std::vector<std::string> warnings;
  const std::string strategy = strategy_json(p, now, warnings);
  const std::string bus = bus_json(p, problems);
  std::string warnings_json = "[";
  for (const std::string& warning : warnings)
    warnings_json += (warnings_json.size() > 1 ? ",\"" : "\"") + json_escape(warning) + "\"";
  warnings_json += "]";

  std::string problems_json = "[";
  for (const std::string& problem : problems)
    problems_json += (problems_json.size() > 1 ? ",\"" : "\"") + json_escape(problem) + "\"";
  for (const std::string& problem : sink_issues)
    problems_json += (problems_json.size() > 1 ? ",\"" : "\"") + json_escape("influx: " + problem) + "\"";
  problems_json += "]";

  // A sink that does not deliver outranks stale markets: data is being
  // lost or piling up, whatever the feeds do.
  const char* status = !sink_issues.empty() ? "degraded" : !problems.empty() ? "stale" : "ok";
  const std::string reason = !sink_issues.empty() ? "influx: " + sink_issues.front()
                             : !problems.empty()  ? problems.front()
                                                  : std::string();
  HttpResponse response;
  response.status = problems.empty() && sink_issues.empty() ? 200 : 503;
  response.content_type = "application/json";
  response.body = std::string("{\"status\":\"") + status + "\",\"reason\":\"" + json_escape(reason) +
                  "\",\"uptime_s\":" + json_number(seconds(now - p.started_ns)) + ",\"problems\":" + problems_json +
                  ",\"warnings\":" + warnings_json + ",\"feeds\":" + feeds + ",\"markets\":" + market_json +
                  ",\"sink\":" + sink + ",\"strategy\":" + strategy + ",\"bus\":" + bus + "}\n";
  return response;
}

LivePipeline::SinkOutcome LivePipeline::sink_outcome() const {
  const Impl& p = *impl_;
  SinkOutcome o;
  if (!p.writer || !p.writer->has_sink()) return o;
  const InfluxWriterSnapshot w = p.writer->snapshot();
  o.points_lost = w.stats.points_lost() + w.points_unsaved;
  o.batches_spooled = w.pending_batches;
  const std::string why = w.delivery_problem.empty() ? std::string() : ": " + w.delivery_problem;
  if (o.points_lost > 0) {
    o.text = std::to_string(o.points_lost) + " points lost (" + std::to_string(w.stats.points_dropped) + " dropped, " +
             std::to_string(w.stats.points_dead_lettered) + " dead-lettered, " +
             std::to_string(w.stats.points_refused) + " refused, " + std::to_string(w.points_unsaved) +
             " neither delivered nor spooled)";
    if (w.stats.points_dead_lettered > 0 && !w.spool_dir.empty())
      o.text += "; rejected lines are in the dead-letter file in " + w.spool_dir;
  }
  if (w.pending_batches > 0 && w.points_unsaved == 0 && w.has_spool) {
    if (!o.text.empty()) o.text += "; ";
    o.text += std::to_string(w.points_in_spool) + " points (" + std::to_string(w.pending_batches) +
              " batches) still spooled in " + w.spool_dir + why + "; they are delivered on the next start";
  } else if (o.points_lost > 0 && !w.delivery_problem.empty()) {
    o.text += " -- " + w.delivery_problem;
  }
  return o;
}

std::string LivePipeline::summary() const {
  const Impl& p = *impl_;
  std::string out;
  for (const auto& thread : p.feeds) {
    for (const FeedConnection& c : thread->connections) {
      const LiveFeedCounters& k = c.feed->counters();
      out += std::string(to_string(c.plan.feed.venue)) + ": " +
             std::to_string(k.frames.load(std::memory_order_relaxed)) + " frames, " +
             std::to_string(k.trades.load(std::memory_order_relaxed)) + " trades, " +
             std::to_string(k.reconnects.load(std::memory_order_relaxed)) + " reconnects, " +
             std::to_string(k.gaps.load(std::memory_order_relaxed)) + " gaps, " +
             std::to_string(k.unconfigured.load(std::memory_order_relaxed)) + " unconfigured, " +
             std::to_string(k.implausible_ids.load(std::memory_order_relaxed)) + " implausible ids, " +
             std::to_string(k.market_overflow.load(std::memory_order_relaxed)) + " market overflow\n";
    }
    for (const auto& [exchange, recorder] : thread->recorders) {
      const auto s = recorder->stats();
      out += "record " + exchange + ": " + std::to_string(s.frames_written) + " frames written, " +
             std::to_string(s.dropped_full + s.dropped_oversize + s.frames_lost) + " lost\n";
    }
  }
  if (p.aggregator) {
    const AggregatorCounters& a = p.aggregator->counters();
    out += "bars: " + std::to_string(a.bars.load()) + " 1s, " + std::to_string(a.rollup_bars.load()) + " rollups, " +
           std::to_string(a.amendments.load()) + " amendments, " + std::to_string(a.late_drops.load()) +
           " late drops; " + std::to_string(a.backfilled_trades.load()) + " backfilled trades\n";
    if (p.checkpoint || a.gap_holds.load() > 0)
      out += "restart: " + std::to_string(p.resumed_markets) + " markets resumed from the checkpoint, " +
             std::to_string(a.resumed_drops.load()) + " trades for sealed seconds dropped, " +
             std::to_string(a.incomplete_seconds.load()) + " incomplete seconds (" +
             std::to_string(a.incomplete_trades.load()) + " trades) not written; " +
             std::to_string(a.gap_holds.load()) + " gap holds (" + std::to_string(a.gap_hold_timeouts.load()) +
             " timed out)" +
             (p.checkpoint ? "; " + std::to_string(p.checkpoint->counters().written.load()) +
                                 " checkpoints written to " + p.checkpoint->file().string() + ", " +
                                 std::to_string(p.checkpoint->counters().failures.load()) + " failed"
                           : std::string()) +
             "\n";
  }
  if (p.writer && p.writer->has_sink()) {
    const InfluxWriterSnapshot w = p.writer->snapshot();
    out += "influx: " + std::to_string(w.stats.points_written) + " points written, " +
           std::to_string(w.stats.points_spooled) + " spooled, " + std::to_string(w.stats.points_dropped) +
           " dropped, " + std::to_string(w.stats.points_dead_lettered) + " dead-lettered, " +
           std::to_string(w.stats.points_refused) + " refused (NaN/Inf) of " + std::to_string(w.stats.points_accepted) +
           " accepted; " + std::to_string(w.points_in_spool) + " points (" + std::to_string(w.pending_batches) +
           " batches) still spooled\n";
    for (const auto& [kind, name] : {std::pair{BarKind::kBusy, "busy"}, std::pair{BarKind::kQuiet, "quiet"}}) {
      const LatencyHistogram& h = w.bar_visible[static_cast<std::size_t>(kind)];
      if (h.count() == 0) continue;
      char line[160];
      std::snprintf(line, sizeof line,
                    "bar visible (%s): %llu bars, p50 %.1f ms, p99 %.1f ms, max %.1f ms after their end\n", name,
                    static_cast<unsigned long long>(h.count()), static_cast<double>(h.percentile(0.5)) / 1e6,
                    static_cast<double>(h.percentile(0.99)) / 1e6, static_cast<double>(h.max()) / 1e6);
      out += line;
    }
    const std::string note = sink_outcome().text;
    if (!note.empty()) out += "influx: " + note + "\n";
  }
  if (p.signal_publisher) {
    const SignalPublisherCounters& c = p.signal_publisher->counters();
    const SignalDispatchCounters d = p.writer->signal_counters();
    out += "strategy: " + std::to_string(c.evaluations.load()) + " evaluations, " + std::to_string(c.entries.load()) +
           " entries, " + std::to_string(c.exits.load()) + " exits, " + std::to_string(c.refused.load()) +
           " refused; signals delivered: " + std::to_string(d.influx_points) + " influx, " +
           std::to_string(d.jsonl_lines) + " jsonl, " + std::to_string(d.redis_delivered) + " redis (" +
           std::to_string(d.redis_pending) + " pending, " + std::to_string(d.redis_expired) + " expired, " +
           std::to_string(d.redis_dropped_full) + " dropped)\n";
  }
  if (p.bus_bars) {
    const BusBarPublisherCounters& c = p.bus_bars->counters();
    out += "bus bars: " + std::to_string(c.bars.load()) + " bars published in " + std::to_string(c.messages.load()) +
           " messages, " + std::to_string(c.dropped.load()) + " dropped\n";
  }
  if (p.bus_strategy) {
    const BusStrategyCounters& c = p.bus_strategy->counters();
    out += "bus strategy: " + std::to_string(c.bars.load()) + " bars consumed (" +
           std::to_string(c.duplicate_bars.load()) + " duplicates dropped), " + std::to_string(c.signals.load()) +
           " signals published; " + std::to_string(c.bad_messages.load()) + " bad and " +
           std::to_string(c.unknown_markets.load()) + " unconfigured-market messages skipped\n";
  }
  if (p.bus_signals) {
    const BusSignalPublisherCounters& c = p.bus_signals->counters();
    out += "bus signals: " + std::to_string(c.published.load()) + " signals published, " +
           std::to_string(c.dropped.load()) + " dropped\n";
  }
  return out;
}

}  // namespace tickflow
