// runtime/bus_collector.cc
#include "runtime/bus_collector.h"

#include <exception>

#include "bus/bus_publisher.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/subjects.h"
#include "bus/wire_codec.h"
#include "ringbuffers/wait_strategy.h"
#include "runtime/bus_specs.h"
#include "runtime/thread_affinity.h"

namespace tickflow {

// Groups the drained events into messages (see the banner) and publishes
// each. State of the tf-bus-out thread only.
struct BusCollector::Batcher {
  const MarketRegistry& registry;
  const std::vector<std::string>& connection_exchange;
  std::string collector;
  bus::BusPublisher* publisher = nullptr;
  BusCollectorCounters* counters = nullptr;

  // The open batch: what its events share.
  std::vector<FeedEvent> events;
  std::int64_t receive_ns = 0;
  MarketId market = kInvalidMarket;  // kInvalidMarket: connection-wide statuses
  std::uint16_t connection = 0;
  bool liquidations = false;
  bool has_trades = false;

  static constexpr std::size_t kMaxMarkets = 1024;  // LivePipeline's max_markets
  // A run longer than this is cut (a backfill page is one run of up to
  // thousands of trades): 48 B a trade keeps a message far below NATS's
  // 1 MB max_payload.
  static constexpr std::size_t kMaxEventsPerMessage = 4096;
  std::vector<std::uint16_t> connection_of;  // market -> its connection (from kConnected)
  bus::EventBatchEncoder encoder;

  Batcher(const MarketRegistry& r, const std::vector<std::string>& exchanges, std::string name)
      : registry(r), connection_exchange(exchanges), collector(std::move(name)), connection_of(kMaxMarkets, 0) {
    events.reserve(1024);
  }

  static std::int64_t receive_of(const FeedEvent& e) noexcept {
    switch (e.type) {
      case FeedEventType::kTrade: return e.trade.receive_ts_ns;
      case FeedEventType::kQuote: return e.quote.receive_ts_ns;
      case FeedEventType::kStatus: return e.status.receive_ts_ns;
    }
    return 0;
  }

  void take(const FeedEvent& e) {
    MarketId m = kInvalidMarket;
    std::uint16_t conn = 0;
    bool liq = false;
    if (e.type == FeedEventType::kTrade) {
      m = e.trade.market;
      liq = e.trade.is_liquidation();
      conn = m < kMaxMarkets ? connection_of[m] : 0;
    } else if (e.type == FeedEventType::kStatus) {
      m = e.status.market;
      conn = e.status.connection;
      if (m < kMaxMarkets && e.status.kind == FeedStatusKind::kConnected) connection_of[m] = conn;
    } else {
      return;  // quotes: bars do not use them (the FeedPublisher does not push them either)
    }
    // A market-wide status joins its market's trades; a liquidation run is
    // a message of its own (its own subject).
    const bool same = !events.empty() && events.size() < kMaxEventsPerMessage && receive_of(e) == receive_ns &&
                      m == market && (m != kInvalidMarket || conn == connection) &&
                      (e.type != FeedEventType::kTrade || !has_trades || liq == liquidations);
    if (!same) {
      flush();
      receive_ns = receive_of(e);
      market = m;
      connection = conn;
      liquidations = liq;
    }
    if (e.type == FeedEventType::kTrade) {
      if (!has_trades) liquidations = liq;
      has_trades = true;
    }
    events.push_back(e);
  }

  void flush() {
    if (events.empty()) return;
    std::string exchange, pair;
    if (market != kInvalidMarket) {
      const MarketInfo& info = registry.info(market);
      exchange = info.exchange;
      pair = info.pair;
    } else if (connection < connection_exchange.size()) {
      exchange = connection_exchange[connection];
    }
    encoder.start(collector, exchange, pair, connection);
    for (const FeedEvent& e : events) encoder.add(e);
    const auto bytes = encoder.finish();
    std::string id = bus::event_batch_msg_id(exchange, pair, events.data(), events.size());
    std::string subject;
    if (has_trades) {
      subject = liquidations ? bus::liquidations_subject(exchange, pair) : bus::trades_subject(exchange, pair);
    } else {
      // Statuses are this collector's news (its connection numbers): never
      // arbitrated against another collector's.
      subject = bus::status_subject(collector);
      id += ":" + collector;
    }
    publisher->publish(subject, id, bytes);
    counters->messages.fetch_add(1, std::memory_order_relaxed);
    counters->events.fetch_add(events.size(), std::memory_order_relaxed);
    events.clear();
    has_trades = false;
  }
};

BusCollector::BusCollector(const PipelineConfig& config, const MarketRegistry& registry,
                           std::vector<std::string> connection_exchange)
    : config_(config), registry_(registry), connection_exchange_(std::move(connection_exchange)) {}

void BusCollector::enable_backfill(std::uint16_t connection) {
  // The single host's backfill ring: blocking (a backfill is never
  // dropped), 8192 events.
  backfill_channel_ = std::make_unique<FeedChannel>("tf-backfill-bus", 8192, FullRingPolicy::kBlock, doorbell_);
  backfill_publisher_ = std::make_unique<FeedPublisher>(*backfill_channel_, Batcher::kMaxMarkets);
  backfill_state_.id = connection;
  backfill_state_.watermarks = false;  // its trades are old by design; it owns no market
}

void BusCollector::publish_backfill(const EventBuffer& events) {
  if (backfill_publisher_ && !events.empty()) backfill_publisher_->publish(backfill_state_, events, realtime_ns());
}

BusCollector::~BusCollector() {
  if (thread_.joinable()) {
    deadline_ = std::chrono::steady_clock::now();
    stop_requested_.store(true, std::memory_order_release);
    for (FeedChannel* input : inputs_) input->close();
    doorbell_.notify();
    thread_.join();
  }
}

std::string BusCollector::setup_connection() {
  try {
    const BusConfig& bus_config = config_.bus;
    connection_ = std::make_unique<bus::NatsConnection>(
        bus_connection_config(bus_config, "tickflow-collector-" + bus_config.collector_name), bus_config.max_in_flight);
    bus::ensure_stream(*connection_, bus_events_stream(bus_config));
    bus::BusPublisherConfig publisher;
    publisher.max_in_flight = bus_config.max_in_flight;
    publisher.on_full = bus_config.on_full == "spool" ? bus::OnFullWindow::kSpool : bus::OnFullWindow::kBlock;
    publisher.spool_dir = bus_config.spool_dir;
    publisher_ = std::make_unique<bus::BusPublisher>(*connection_, publisher);
    batcher_ = std::make_unique<Batcher>(registry_, connection_exchange_, bus_config.collector_name);
    batcher_->publisher = publisher_.get();
    batcher_->counters = &counters_;
    publisher_counters_.store(&publisher_->counters(), std::memory_order_release);
    counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
    return {};
  } catch (const std::exception& e) {
    return std::string("tf-bus-out: ") + e.what();
  }
}

void BusCollector::start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread) {
  // The backfill's input last: a gap's kGap (in a feed's ring) is taken
  // before the backfilled trades of the same round.
  if (backfill_channel_) inputs_.push_back(backfill_channel_.get());
  auto promise = std::make_shared<std::promise<std::string>>();
  setup = promise->get_future();
  ThreadConfig thread_config = thread;
  thread_config.name = "tf-bus-out";
  thread_ = std::thread([this, thread_config, pin, promise] {
    std::string problem = apply_thread_config(thread_config, pin);
    if (problem.empty()) problem = setup_connection();
    promise->set_value(problem);
    if (problem.empty()) {
      run();
    } else {
      flushed_all_.store(true, std::memory_order_release);  // nothing was published: nothing to wait for
      // No consumer: a producer blocked on a full input (a feed, the
      // backfill) must not hang its thread's join.
      for (FeedChannel* input : inputs_) input->abort();
    }
  });
}

void BusCollector::run() noexcept {
  WaitStrategy wait;
  wait.kind = WaitKind::kPark;
  auto handle = [this](const FeedEvent& e) { batcher_->take(e); };
  constexpr std::size_t kBatch = 256;
  try {
    for (;;) {
      std::size_t taken = 0;
      bool all_finished = true;
      for (FeedChannel* input : inputs_) {
        // Drain one input before the next, so that a frame is not cut at a
        // batch boundary (up to a bound: a flood must not starve the rest).
        for (int round = 0; round < 64; ++round) {
          const std::size_t n = input->consume(handle, kBatch);
          taken += n;
          if (n < kBatch) break;
        }
        batcher_->flush();
        all_finished = all_finished && input->finished();
      }
      publisher_->poll();
      if (taken > 0) continue;
      counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
      if (all_finished && stop_requested_.load(std::memory_order_acquire)) break;
      wait.wait_for(
          [this] {
            if (stop_requested_.load(std::memory_order_acquire)) return true;
            for (const FeedChannel* input : inputs_)
              if (input->has_pending()) return true;
            return false;
          },
          std::chrono::milliseconds(20), &doorbell_);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    flushed_all_.store(publisher_->flush(std::max(left, std::chrono::milliseconds(0))), std::memory_order_release);
  } catch (const std::exception&) {
    flushed_all_.store(false, std::memory_order_release);
    for (FeedChannel* input : inputs_) input->abort();  // no consumer any more (see start())
  }
  drained_.store(true, std::memory_order_release);
}

bool BusCollector::stop(std::chrono::steady_clock::time_point deadline) {
  if (backfill_channel_) backfill_channel_->close();  // its producer (the backfill) has stopped
  if (!thread_.joinable()) return true;
  deadline_ = deadline;
  stop_requested_.store(true, std::memory_order_release);
  doorbell_.notify();
  thread_.join();
  // The publisher stays until destruction: /metrics may read its counters.
  counters_.connected.store(false, std::memory_order_relaxed);
  return flushed_all_.load(std::memory_order_acquire);
}

}  // namespace tickflow
