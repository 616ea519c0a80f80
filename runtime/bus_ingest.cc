// runtime/bus_ingest.cc
#include "runtime/bus_ingest.h"

#include <bit>
#include <cstring>
#include <deque>
#include <exception>
#include <unordered_set>

#include "bus/bus_subscriber.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/wire_codec.h"
#include "runtime/bus_specs.h"
#include "runtime/thread_affinity.h"

namespace tickflow {

// The trade de-duplication (see the banner). State of the tf-bus-in thread.
struct BusIngest::Dedup {
  static constexpr std::uint64_t kWindow = 1u << 16;
  static constexpr std::size_t kUnsequencedMemory = 1u << 16;

  enum class Verdict : std::uint8_t { kNew, kDuplicate, kTooOld };

  struct Market {
    std::uint64_t highest = 0;  // 0: no sequenced trade yet
    std::vector<std::uint64_t> bits;
    bool test(std::uint64_t id) const noexcept { return (bits[(id % kWindow) / 64] >> (id % 64)) & 1u; }
    void set(std::uint64_t id) noexcept { bits[(id % kWindow) / 64] |= std::uint64_t{1} << (id % 64); }
    void clear(std::uint64_t id) noexcept { bits[(id % kWindow) / 64] &= ~(std::uint64_t{1} << (id % 64)); }
  };
  std::vector<Market> markets;
  std::unordered_set<std::uint64_t> unsequenced;
  std::deque<std::uint64_t> unsequenced_order;

  Verdict check(const Trade& t) {
    const bool sequenced = (t.flags & (kTradeIdHashed | kTradeLiquidation)) == 0 && t.trade_id != 0;
    if (!sequenced) return check_content(t);
    if (t.market >= markets.size()) markets.resize(t.market + 1);
    Market& m = markets[t.market];
    if (m.bits.empty()) m.bits.assign(kWindow / 64, 0);
    const std::uint64_t id = t.trade_id;
    if (m.highest == 0 || id > m.highest) {
      if (m.highest == 0 || id - m.highest >= kWindow) {
        std::fill(m.bits.begin(), m.bits.end(), 0);
      } else {
        for (std::uint64_t k = m.highest + 1; k < id; ++k) m.clear(k);
      }
      m.set(id);
      m.highest = id;
      return Verdict::kNew;
    }
    if (m.highest - id >= kWindow) return Verdict::kTooOld;
    if (m.test(id)) return Verdict::kDuplicate;
    m.set(id);
    return Verdict::kNew;
  }

  Verdict check_content(const Trade& t) {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::uint64_t v) {
      h ^= v;
      h *= 1099511628211ull;
      h ^= h >> 29;
    };
    mix(t.market);
    mix(static_cast<std::uint64_t>(t.exchange_ts_ns));
    mix(t.trade_id);
    mix(std::bit_cast<std::uint64_t>(t.price));
    mix(std::bit_cast<std::uint64_t>(t.qty));
    mix(static_cast<std::uint64_t>(t.side) << 8 | (t.flags & ~kTradeBackfill));
    if (!unsequenced.insert(h).second) return Verdict::kDuplicate;
    unsequenced_order.push_back(h);
    if (unsequenced_order.size() > kUnsequencedMemory) {
      unsequenced.erase(unsequenced_order.front());
      unsequenced_order.pop_front();
    }
    return Verdict::kNew;
  }
};

BusIngest::BusIngest(const PipelineConfig& config, const MarketRegistry& registry, std::uint16_t first_connection,
                     Doorbell& doorbell)
    : config_(config), registry_(registry), first_connection_(first_connection) {
  channel_ = std::make_unique<FeedChannel>("tf-bus-in", config.rings.feed_events, FullRingPolicy::kBlock, doorbell);
  out_.reserve(4096);
}

BusIngest::~BusIngest() {
  if (thread_.joinable()) {
    stop_fetching();
    finish();
  }
}

std::string BusIngest::setup_connection() {
  try {
    const BusConfig& bus_config = config_.bus;
    connection_ = std::make_unique<bus::NatsConnection>(
        bus_connection_config(bus_config, "tickflow-aggregator-" + bus_config.durable));
    bus::ensure_stream(*connection_, bus_events_stream(bus_config));
    const bus::ConsumerSpec consumer = bus_aggregator_consumer(bus_config, config_.bars.amend_horizon);
    bus::ensure_consumer(*connection_, consumer);
    rewind_unacked();
    subscriber_ = std::make_unique<bus::BusSubscriber>(*connection_, consumer, bus_config.fetch_batch);
    dedup_ = std::make_unique<Dedup>();
    subscriber_counters_.store(&subscriber_->counters(), std::memory_order_release);
    counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
    return {};
  } catch (const std::exception& e) {
    return std::string("tf-bus-in: ") + e.what();
  }
}

void BusIngest::start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread) {
  auto promise = std::make_shared<std::promise<std::string>>();
  setup = promise->get_future();
  ThreadConfig thread_config = thread;
  thread_config.name = "tf-bus-in";
  thread_ = std::thread([this, thread_config, pin, promise] {
    std::string problem = apply_thread_config(thread_config, pin);
    if (problem.empty()) problem = setup_connection();
    promise->set_value(problem);
    if (problem.empty()) {
      run();
    } else {
      channel_->close();  // the aggregator must not wait for this input
    }
  });
}

void BusIngest::stop_fetching() { stop_fetching_.store(true, std::memory_order_release); }

void BusIngest::finish() {
  finish_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void BusIngest::offer_ack(std::uint64_t stream_seq) noexcept {
  std::uint64_t seen = counters_.offered_seq.load(std::memory_order_relaxed);
  while (stream_seq > seen &&
         !counters_.offered_seq.compare_exchange_weak(seen, stream_seq, std::memory_order_relaxed)) {
  }
}

void BusIngest::ack_offered() {
  const std::uint64_t offered = counters_.offered_seq.load(std::memory_order_relaxed);
  if (offered <= counters_.acked_seq.load(std::memory_order_relaxed)) return;
  subscriber_->ack_through(offered);
  counters_.acked_seq.store(offered, std::memory_order_relaxed);
}

void BusIngest::rewind_unacked() {
  // Messages a previous run took and never acked (it stopped or died
  // before their bars were settled) come back only once their ack wait
  // has passed; fetched now, newer messages would come first and the old
  // ones after them, out of stream order. Re-created at its ack floor + 1,
  // the durable hands them out first, in order, at once. Throws (start-up
  // fails) only when the durable was deleted and not re-created.
  const bus::ConsumerRewind rewind =
      bus::rewind_consumer(*connection_, bus_aggregator_consumer(config_.bus, config_.bars.amend_horizon));
  if (!rewind.needed) return;  // also: no answer (an election); the bars stay exact, only less often in order
  const std::uint64_t unacked = rewind.ack_pending > 0 ? static_cast<std::uint64_t>(rewind.ack_pending)
                                                       : rewind.delivered_stream_seq - rewind.start_seq + 1;
  if (rewind.rewound) {
    counters_.consumer_rewound.store(unacked, std::memory_order_relaxed);
  } else {
    hold_for_ = std::max<std::int64_t>(rewind.ack_pending, 1);
  }
}

void BusIngest::hold_for_redelivery() {
  // The fallback when rewind_unacked() could not re-create the durable:
  // waiting out the ack wait first makes the server hand the redeliveries
  // out first, in order.
  if (hold_for_ <= 0) return;
  counters_.held_for_redelivery.store(static_cast<std::uint64_t>(hold_for_), std::memory_order_relaxed);
  const auto until = std::chrono::steady_clock::now() +
                     bus_aggregator_consumer(config_.bus, config_.bars.amend_horizon).ack_wait +
                     std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < until && !stop_fetching_.load(std::memory_order_acquire))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void BusIngest::run() noexcept {
  bus::EventBatchView view;
  auto on_message = [this, &view](const bus::BusMessage& message) {
    if (const bus::WireError error = bus::decode_event_batch(message.data, view); error != bus::WireError::kNone) {
      counters_.bad_messages.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    MarketId market = kInvalidMarket;
    if (!view.market.empty()) {
      std::string name;
      name.reserve(view.exchange.size() + 1 + view.market.size());
      name.append(view.exchange).append(":").append(view.market);
      const auto found = registry_.find(name);
      if (!found) {
        counters_.unknown_markets.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      market = *found;
    }
    std::string key;
    key.reserve(view.collector.size() + 8);
    key.append(view.collector).append("/").append(std::to_string(view.connection));
    auto [it, added] = connections_.try_emplace(std::move(key), 0);
    if (added) it->second = static_cast<std::uint16_t>(first_connection_ + connections_.size() - 1);
    const std::uint16_t connection = it->second;

    out_.clear();
    FeedStatus mark;
    mark.kind = FeedStatusKind::kBusMark;
    mark.gap_first_id = message.stream_seq;
    out_.push_back(FeedEvent::of(mark));
    std::uint64_t trades = 0, duplicates = 0, too_old = 0;
    for (std::size_t i = 0; i < view.size(); ++i) {
      FeedEvent e = view.event(i, market);
      if (e.type == FeedEventType::kTrade) {
        switch (dedup_->check(e.trade)) {
          case Dedup::Verdict::kNew: ++trades; break;
          case Dedup::Verdict::kDuplicate: ++duplicates; continue;
          case Dedup::Verdict::kTooOld: ++too_old; continue;
        }
      } else if (e.type == FeedEventType::kStatus) {
        e.status.connection = connection;
      } else {
        continue;  // quotes: bars do not use them
      }
      out_.push_back(e);
    }
    channel_->publish(out_.data(), out_.size());
    counters_.messages.fetch_add(1, std::memory_order_relaxed);
    if (trades) counters_.trades.fetch_add(trades, std::memory_order_relaxed);
    if (duplicates) counters_.duplicates.fetch_add(duplicates, std::memory_order_relaxed);
    if (too_old) counters_.too_old.fetch_add(too_old, std::memory_order_relaxed);
    counters_.applied_seq.store(message.stream_seq, std::memory_order_relaxed);
    if (counters_.first_seq.load(std::memory_order_relaxed) == 0)
      counters_.first_seq.store(message.stream_seq, std::memory_order_relaxed);
  };

  auto next_lag = std::chrono::steady_clock::now();
  try {
    hold_for_redelivery();
    while (!stop_fetching_.load(std::memory_order_acquire)) {
      subscriber_->fetch(std::chrono::milliseconds(100), on_message);
      ack_offered();
      counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
      if (const auto now = std::chrono::steady_clock::now(); now >= next_lag) {
        next_lag = now + std::chrono::seconds(1);
        try {
          subscriber_->refresh_lag();
        } catch (const std::exception&) {
          // A leader election: the lag is read again next second.
        }
      }
    }
  } catch (const std::exception&) {
    // The subscriber failed for good: the aggregator drains what it has.
  }
  channel_->close();
  // Acks go on until the pipeline's last checkpoint is written.
  while (!finish_.load(std::memory_order_acquire)) {
    try {
      ack_offered();
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  try {
    ack_offered();
  } catch (const std::exception&) {
  }
  counters_.connected.store(false, std::memory_order_relaxed);
}

}  // namespace tickflow
