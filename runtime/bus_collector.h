// runtime/bus_collector.h
//
// BusCollector: the collector role's tf-bus-out thread (issue 19). It is the
// consumer of FeedChannels (every feed thread's ring when the process only
// collects; a second, mirror ring per feed thread when it also aggregates,
// so the in-process ring to the aggregator is untouched) and publishes what
// the feeds parsed to NATS JetStream:
//
//   FeedChannel x N --> [ group per frame and market ] --> BusPublisher
//                         EventBatchEncoder (bus/wire_codec.h)
//
// One message = one exchange frame's events of one market: its trades on
// tickflow.trades.<EXCHANGE>.<market> (liquidations on tickflow.
// liquidations...), and the frame's connection-wide news (watermarks,
// disconnects) on tickflow.status.<collector>. Nats-Msg-Id is
// event_batch_msg_id(): two collectors on the same feed that cut the same
// frames publish the same ids, and the stream's duplicate window stores
// them once.
//
// The frame boundary crosses the ring without a field of its own: every
// event the FeedPublisher pushes for one frame carries that frame's receive
// time (trades, statuses, its kConnected and watermark), and one feed
// thread pushes a frame as one run. So a run of events with the same
// receive time and the same market is one message. Where that guess is
// wrong (two frames read within the same nanosecond, a frame split by a
// full ring), the message is cut differently from the other collector's,
// the server stores both, and the aggregator's per-market trade-id filter
// (runtime/bus_ingest.h) still counts each trade once: exactness never
// depends on the cut, only the server-side arbitration's efficiency does.
//
// The REST backfill (enable_backfill()): a collector backfills its own
// gaps, as a single host does (feeds/backfill.h), and its trades and
// kBackfilled statuses are one more input, cut and published like a feed's
// (trades on the market's trades subject with the usual ids, so A and B
// backfilling the same gap store it once). A gap's news travels in stream
// order: the feed's kGap (with the trade that revealed it) before the
// backfilled trades, then the gap's kBackfilled (on this collector's status
// subject). An aggregator on the bus holds the market's seconds from kGap
// to kBackfilled as a single host does (pipeline/bar_builder.h, "Gaps"),
// so the bars of the gap are written once, complete.
//
// Threads: start() runs the thread, applies its ThreadConfig, then makes
// the NATS connection (libnats's own threads inherit the pinned affinity)
// and ensures the events stream; a failure of any of these is the setup's
// error (start-up fails, `tickflow run` exits 2, naming the stream and
// field of a mismatch). stop() drains every input once its producer closed
// it and waits for the in-flight acks until the deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/pipeline_config.h"
#include "pipeline/market_registry.h"
#include "ringbuffers/doorbell.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"

namespace tickflow {

namespace bus {
class NatsConnection;
class BusPublisher;
struct BusPublisherCounters;
}  // namespace bus

struct BusCollectorCounters {
  std::atomic<std::uint64_t> messages{0};  // messages handed to the publisher
  std::atomic<std::uint64_t> events{0};    // events in them
  std::atomic<bool> connected{false};      // the NATS connection, as last seen by the thread
};

class BusCollector {
 public:
  // `connection_exchange[c]`: the exchange (parser spelling, e.g.
  // "BINANCE_FUTURES") of the process's connection c, for its
  // connection-wide statuses.
  BusCollector(const PipelineConfig& config, const MarketRegistry& registry,
               std::vector<std::string> connection_exchange);
  ~BusCollector();
  BusCollector(const BusCollector&) = delete;
  BusCollector& operator=(const BusCollector&) = delete;

  // The doorbell the inputs' producers ring (make the inputs with it).
  Doorbell& doorbell() noexcept { return doorbell_; }
  void set_inputs(std::vector<FeedChannel*> inputs) { inputs_ = std::move(inputs); }
  // Before start(): the REST backfill's trades become one more input.
  // `connection`: the backfill's own connection number (no watermarks, no
  // markets of its own).
  void enable_backfill(std::uint16_t connection);
  // On the backfill thread: one batch of the worker's on_events (trades, or
  // a gap's kBackfilled). stop() expects the worker stopped.
  void publish_backfill(const EventBuffer& events);

  // Starts tf-bus-out; `setup` gets "" or what failed (thread config,
  // connection, stream check).
  // `thread`: [threads.bus] (PipelineConfig::bus_threads), its cpu and
  // priority; the thread keeps its name, tf-bus-out.
  void start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread = {});
  // After every input was closed: drains them, then flushes the publisher
  // until `deadline`. True when every message was acked (or spooled).
  bool stop(std::chrono::steady_clock::time_point deadline);

  // --- any thread ---
  const BusCollectorCounters& counters() const noexcept { return counters_; }
  // The publisher's counters, null before the thread connected.
  const bus::BusPublisherCounters* publisher_counters() const noexcept {
    return publisher_counters_.load(std::memory_order_acquire);
  }

 private:
  void run() noexcept;
  void take(const FeedEvent& e);
  void flush_batch();
  std::string setup_connection();

  PipelineConfig config_;
  const MarketRegistry& registry_;
  std::vector<std::string> connection_exchange_;
  std::vector<FeedChannel*> inputs_;
  Doorbell doorbell_;
  std::unique_ptr<FeedChannel> backfill_channel_;  // declared after the doorbell it rings
  std::unique_ptr<FeedPublisher> backfill_publisher_;
  FeedPublisher::Connection backfill_state_;
  BusCollectorCounters counters_;
  std::atomic<const bus::BusPublisherCounters*> publisher_counters_{nullptr};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> drained_{false};
  std::chrono::steady_clock::time_point deadline_{};
  std::atomic<bool> flushed_all_{false};
  std::thread thread_;

  // The thread's own (made there, after pinning).
  std::unique_ptr<bus::NatsConnection> connection_;
  std::unique_ptr<bus::BusPublisher> publisher_;
  struct Batcher;
  std::unique_ptr<Batcher> batcher_;
};

}  // namespace tickflow
