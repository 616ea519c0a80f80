// The hot path allocates nothing in steady state. A feed thread parses real
// Binance frames (spot and USD-M, interleaved as they arrived) and pushes
// their events into an SpscRing<FeedEvent>; an aggregator thread drains it
// into a BarBuilder and Rollups (six timeframes), as `tickflow replay` and
// the live pipeline do. After a warm-up (every market announced, every
// buffer at its working size), each thread counts the heap allocations it
// makes: both counts must be zero.
//
// glibc 2.36 has no malloc hooks, so this executable interposes malloc and
// its relatives itself (operator new goes through malloc). Counting is per
// thread, switched on by a thread_local flag, so gtest's own allocations and
// the other thread's set-up do not count. Excluded from sanitizer builds:
// the sanitizers own malloc.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_builder.h"
#include "pipeline/market_registry.h"
#include "pipeline/rollup.h"
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/spsc_ring.h"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace {
// Per thread: whether it is in steady state, and what it allocated since.
thread_local bool counting = false;
thread_local long thread_allocations = 0;
inline void note() noexcept {
  if (counting) ++thread_allocations;
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  note();
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  note();
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  note();
  return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  note();
  *out = __libc_memalign(alignment, n);
  return *out != nullptr ? 0 : 12;  // ENOMEM
}
}

namespace tickflow {
namespace {

struct Frame {
  std::string exchange;
  std::int64_t receive_ns;
  PaddedFrame bytes;
};

// Both captures merged by receive time, preloaded: the network, not a file,
// feeds the live path.
std::vector<Frame> load_frames() {
  const std::string dir = TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/";
  std::vector<Frame> frames;
  for (const auto& [exchange, file] :
       {std::pair<std::string, std::string>{"BINANCE", "spot_btcusdt.gz"}, {"BINANCE_FUTURES", "usdm_btcusdt.gz"}}) {
    CaptureReader reader(dir + file);
    CaptureRecord record;
    while (reader.next(record)) {
      Frame f{exchange, record.receive_ts_ns, PaddedFrame{}};
      f.bytes.assign(record.frame);
      frames.push_back(std::move(f));
    }
  }
  std::stable_sort(frames.begin(), frames.end(),
                   [](const Frame& a, const Frame& b) { return a.receive_ns < b.receive_ns; });
  return frames;
}

class CountingSink final : public BarSink {
 public:
  void on_bar(const Bar&) override { ++bars; }
  std::uint64_t bars = 0;
};

TEST(SteadyState, FeedAndAggregatorThreadsAllocateNothingAfterWarmUp) {
  const std::vector<Frame> frames = load_frames();
  ASSERT_EQ(frames.size(), 9757u + 21313u);
  constexpr std::size_t kWarmUpFrames = 2000;  // both markets seen, every buffer grown

  MarketRegistry registry;
  auto spot = make_parser("BINANCE", registry);
  auto perp = make_parser("BINANCE_FUTURES", registry);
  SpscRing<FeedEvent> ring(1 << 14);
  std::atomic<bool> done{false};
  std::atomic<long> feed_allocations{-1}, aggregator_allocations{-1};
  CountingSink sink;
  std::uint64_t trades_seen = 0;

  std::thread aggregator([&] {
    CountingSink* out = &sink;
    Rollups rollups(RollupConfig{.timeframes = default_rollup_timeframes(), .max_markets = 16}, *out);
    struct Fanout final : BarSink {
      BarSink* a;
      Rollups* b;
      void on_bar(const Bar& bar) override {
        a->on_bar(bar);
        b->on_bar(bar);
      }
      void on_closed(MarketId m, std::int64_t s) override { b->on_closed(m, s); }
    } fanout;
    fanout.a = out;
    fanout.b = &rollups;
    BarBuilderConfig config;
    config.max_markets = 16;
    BarBuilder builder(config, fanout);
    std::uint64_t consumed = 0;
    auto handle = [&](const FeedEvent& e) {
      if (e.type == FeedEventType::kTrade) {
        builder.advance_clock(e.trade.receive_ts_ns);
        builder.on_trade(e.trade);
        ++trades_seen;
      } else if (e.type == FeedEventType::kStatus) {
        if (e.status.kind == FeedStatusKind::kConnected) rollups.add_market(e.status.market);
        builder.on_status(e.status);
      }
      if (++consumed == 4000) counting = true;  // warm: both markets announced and trading
    };
    for (;;) {
      if (ring.consume(handle, 256) > 0) continue;
      if (done.load(std::memory_order_acquire)) {
        while (ring.consume(handle, 256) > 0) {
        }
        break;
      }
      spin_pause();
    }
    counting = false;
    aggregator_allocations = thread_allocations;
    builder.flush();
    rollups.flush();
  });

  // The feed thread is this one.
  EventBuffer events;
  std::vector<FeedEvent> outbox;
  outbox.reserve(EventBuffer::kDefaultCapacity + 16);
  std::size_t announced = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    if (i == kWarmUpFrames) {
      counting = true;
    }
    events.clear();
    (f.exchange == "BINANCE" ? *spot : *perp).parse(f.bytes.view(), f.receive_ns, events);
    outbox.clear();
    while (announced < registry.size()) {
      FeedStatus connected;
      connected.kind = FeedStatusKind::kConnected;
      connected.market = static_cast<MarketId>(announced++);
      outbox.push_back(FeedEvent::of(connected));
    }
    for (const FeedEvent& e : events) outbox.push_back(e);
    for (std::size_t sent = 0; sent < outbox.size();) {
      sent += ring.try_push_n(outbox.data() + sent, outbox.size() - sent);
      if (sent < outbox.size()) spin_pause();
    }
  }
  counting = false;
  feed_allocations = thread_allocations;
  done.store(true, std::memory_order_release);
  aggregator.join();

  EXPECT_EQ(trades_seen, 9757u + 21313u) << "every trade went through";
  EXPECT_GT(sink.bars, 689u) << "1 s bars (345 + 344) and rollups were emitted";
  EXPECT_EQ(feed_allocations.load(), 0) << "feed thread (parse + push) allocated in steady state";
  EXPECT_EQ(aggregator_allocations.load(), 0) << "aggregator thread (bars + rollups) allocated in steady state";
}

}  // namespace
}  // namespace tickflow
