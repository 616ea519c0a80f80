// runtime/bus_bar_publisher.cc
#include "runtime/bus_bar_publisher.h"

#include <sched.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <exception>
#include <span>

#include "bus/bus_publisher.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/subjects.h"
#include "bus/wire_codec.h"
#include "ringbuffers/wait_strategy.h"
#include "runtime/bus_specs.h"
#include "runtime/thread_affinity.h"

namespace tickflow {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 29);
}

// Every field of the bars but their market ids (which never travel).
std::uint64_t bars_hash(std::span<const Bar> bars) noexcept {
  std::uint64_t h = 0x243f6a8885a308d3ull;
  for (const Bar& b : bars) {
    h = mix(h, static_cast<std::uint64_t>(b.open_time_s));
    h = mix(h, std::uint64_t{b.timeframe_s} << 8 | b.flags);
    for (double v :
         {b.open, b.high, b.low, b.close, b.vbuy, b.vsell, b.cbuy, b.csell, b.lbuy, b.lsell, b.qbuy, b.qsell})
      h = mix(h, std::bit_cast<std::uint64_t>(v));
  }
  return h;
}

}  // namespace

// Per market: the bars since the last flush, by timeframe, and the newest
// frontier. State of the tf-bus-bars thread only.
struct BusBarPublisher::Batcher {
  struct Series {
    std::uint32_t timeframe_s = 0;
    std::vector<Bar> bars;
  };
  struct Market {
    std::vector<Series> series;           // series[0] is 1 s
    std::int64_t closed_until_s = 0;      // newest frontier seen
    std::int64_t published_closed_s = 0;  // newest frontier published
    bool touched = false;
  };

  const std::vector<std::string>& names;
  bus::BusPublisher* publisher = nullptr;
  BusBarPublisherCounters* counters = nullptr;
  std::vector<Market> markets;
  std::vector<MarketId> touched;
  std::vector<std::uint8_t> bytes;

  explicit Batcher(const std::vector<std::string>& n) : names(n) {}

  Market& market(MarketId id) {
    if (id >= markets.size()) markets.resize(id + 1);
    Market& m = markets[id];
    if (m.series.empty()) m.series.push_back(Series{1, {}});
    if (!m.touched) {
      m.touched = true;
      touched.push_back(id);
    }
    return m;
  }

  void take(const Record& r) {
    if (r.bar.market == kInvalidMarket || r.bar.market >= names.size()) return;
    Market& m = market(r.bar.market);
    if (r.kind == 1) {
      m.closed_until_s = std::max(m.closed_until_s, r.bar.open_time_s);
      return;
    }
    auto it = std::find_if(m.series.begin(), m.series.end(),
                           [&](const Series& s) { return s.timeframe_s == r.bar.timeframe_s; });
    if (it == m.series.end()) {
      m.series.push_back(Series{r.bar.timeframe_s, {}});
      it = m.series.end() - 1;
    }
    it->bars.push_back(r.bar);
    // Markets stay within kFlushSeconds of each other on the bus, as they
    // are in the aggregator's output: a strategy engine buffers a market's
    // bars until its whole group closed them, and its buffer is bounded.
    if (it == m.series.begin() && it->bars.size() >= kFlushSeconds) flush();
  }

  void publish(const std::string& name, std::uint32_t timeframe_s, std::int64_t closed_until_s,
               std::span<const Bar> bars) {
    bus::encode_bars(name, timeframe_s, closed_until_s, bars, bytes);
    char id_tail[96];
    if (bars.empty()) {
      std::snprintf(id_tail, sizeof id_tail, ":%u:c:%lld", timeframe_s, static_cast<long long>(closed_until_s));
    } else {
      std::snprintf(id_tail, sizeof id_tail, ":%u:%lld:%lld:%zu:%lld:h%016llx", timeframe_s,
                    static_cast<long long>(bars.front().open_time_s), static_cast<long long>(bars.back().open_time_s),
                    bars.size(), static_cast<long long>(closed_until_s),
                    static_cast<unsigned long long>(bars_hash(bars)));
    }
    publisher->publish(bus::bars_subject(timeframe_s, name), name + id_tail, bytes);
    counters->messages.fetch_add(1, std::memory_order_relaxed);
    counters->bars.fetch_add(bars.size(), std::memory_order_relaxed);
  }

  // One series: chunks of kMaxBarsPerMessage; only the last carries the
  // new frontier (the bars of the later chunks are below it).
  void publish_series(const std::string& name, Series& s, std::int64_t previous_closed, std::int64_t closed) {
    std::span<const Bar> bars(s.bars);
    while (bars.size() > kMaxBarsPerMessage) {
      publish(name, s.timeframe_s, previous_closed, bars.first(kMaxBarsPerMessage));
      bars = bars.subspan(kMaxBarsPerMessage);
    }
    publish(name, s.timeframe_s, closed, bars);
    s.bars.clear();
  }

  void flush() {
    for (MarketId id : touched) {
      Market& m = markets[id];
      m.touched = false;
      const std::string& name = names[id];
      const bool moved = m.closed_until_s > m.published_closed_s;
      for (Series& s : m.series)
        if (!s.bars.empty() || (moved && s.timeframe_s == 1))
          publish_series(name, s, m.published_closed_s, m.closed_until_s);
      m.published_closed_s = m.closed_until_s;
    }
    touched.clear();
  }
};

BusBarPublisher::BusBarPublisher(const PipelineConfig& config, const std::vector<std::string>& names)
    : config_(config), names_(names), ring_(kRingCapacity) {}

BusBarPublisher::~BusBarPublisher() {
  if (thread_.joinable()) stop(std::chrono::steady_clock::now());
}

void BusBarPublisher::push(const Record& record) noexcept {
  if (!running_.load(std::memory_order_acquire)) [[unlikely]] {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!ring_.try_push(record)) [[unlikely]] {
    counters_.ring_waits.fetch_add(1, std::memory_order_relaxed);
    doorbell_.notify();
    while (!ring_.try_push(record)) {
      if (!running_.load(std::memory_order_acquire)) {
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      sched_yield();
    }
  }
  doorbell_.notify();
}

void BusBarPublisher::on_bar(const Bar& bar) {
  Record r;
  r.bar = bar;
  r.kind = 0;
  push(r);
}

void BusBarPublisher::on_closed(MarketId market, std::int64_t closed_until_s) {
  Record r;
  r.bar.market = market;
  r.bar.open_time_s = closed_until_s;
  r.kind = 1;
  push(r);
}

std::string BusBarPublisher::setup_connection() {
  try {
    const BusConfig& bus_config = config_.bus;
    connection_ = std::make_unique<bus::NatsConnection>(
        bus_connection_config(bus_config, "tickflow-bars-" + bus_config.durable), bus_config.max_in_flight);
    bus::ensure_stream(*connection_, bus_bars_stream(bus_config));
    bus::BusPublisherConfig publisher;
    publisher.max_in_flight = bus_config.max_in_flight;
    publisher.on_full = bus_config.on_full == "spool" ? bus::OnFullWindow::kSpool : bus::OnFullWindow::kBlock;
    // Its own folder: a collector in the same process spools in spool_dir.
    publisher.spool_dir = bus_config.spool_dir / "bars";
    publisher_ = std::make_unique<bus::BusPublisher>(*connection_, publisher);
    batcher_ = std::make_unique<Batcher>(names_);
    batcher_->publisher = publisher_.get();
    batcher_->counters = &counters_;
    publisher_counters_.store(&publisher_->counters(), std::memory_order_release);
    counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
    return {};
  } catch (const std::exception& e) {
    return std::string("tf-bus-bars: ") + e.what();
  }
}

void BusBarPublisher::start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread) {
  auto promise = std::make_shared<std::promise<std::string>>();
  setup = promise->get_future();
  ThreadConfig thread_config = thread;
  thread_config.name = "tf-bus-bars";
  // Running before the aggregator's first bar: the thread's setup takes a
  // moment, and what comes meanwhile waits in the ring.
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this, thread_config, pin, promise] {
    std::string problem = apply_thread_config(thread_config, pin);
    if (problem.empty()) problem = setup_connection();
    if (!problem.empty()) running_.store(false, std::memory_order_release);
    promise->set_value(problem);
    if (problem.empty()) run();
  });
}

void BusBarPublisher::run() noexcept {
  WaitStrategy wait;
  wait.kind = WaitKind::kPark;
  auto take = [this](const Record& r) { batcher_->take(r); };
  try {
    for (;;) {
      const bool stopping = stop_requested_.load(std::memory_order_acquire);
      const std::size_t taken = ring_.consume(take, 4096);
      if (taken > 0 && taken == 4096) continue;  // drain first: bigger messages in a catch-up
      batcher_->flush();
      publisher_->poll();
      counters_.connected.store(connection_->connected(), std::memory_order_relaxed);
      if (taken > 0) continue;
      if (stopping) break;
      wait.wait_for([this] { return stop_requested_.load(std::memory_order_acquire) || !ring_.empty_approx(); },
                    std::chrono::milliseconds(20), &doorbell_);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    flushed_all_.store(publisher_->flush(std::max(left, std::chrono::milliseconds(0))), std::memory_order_release);
  } catch (const std::exception&) {
    flushed_all_.store(false, std::memory_order_release);
  }
  running_.store(false, std::memory_order_release);
}

bool BusBarPublisher::stop(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return true;
  deadline_ = deadline;
  stop_requested_.store(true, std::memory_order_release);
  doorbell_.notify();
  thread_.join();
  counters_.connected.store(false, std::memory_order_relaxed);
  return flushed_all_.load(std::memory_order_acquire);
}

}  // namespace tickflow
