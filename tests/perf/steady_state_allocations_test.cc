// The hot path allocates nothing in steady state. A feed thread parses real
// Binance frames (spot and USD-M, interleaved as they arrived) and publishes
// their events through the runtime's FeedPublisher into a FeedChannel; an
// aggregator thread runs the runtime's Aggregator over it (BarBuilder,
// Rollups in six timeframes, the flow statistics (FlowStage: FlowStats over
// the symbol groups, a FlowRecord per group per closed interval to the
// output's on_flow), the latency histogram), as `tickflow run` does. After a warm-up (every market announced,
// every buffer at its working size), each thread counts the heap allocations it makes: both counts must be zero.
//
// glibc 2.36 has no malloc hooks, so this executable interposes malloc and
// its relatives itself (operator new goes through malloc). Counting is per
// thread, switched on by a thread_local flag, so gtest's own allocations and
// the other thread's set-up do not count. Excluded from sanitizer builds:
// the sanitizers own malloc.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "runtime/aggregator.h"
#include "runtime/checkpoint_keeper.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "runtime/signal_publisher.h"
#include "strategy/strategy_engine.h"

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

// Counts bars; switches allocation counting on for the aggregator thread
// once it is warm (every market trading, every rollup window in use).
class WarmUpSink final : public BarSink {
 public:
  void on_bar(const Bar&) override {
    if (++bars == kWarmUpBars) counting = true;
  }
  // The records as a ring slot would take them: copied, summed so that the
  // copy is not optimised away.
  void on_flow(const FlowRecord& r) override {
    last_flow = r;
    ++flows;
    if (counting) ++flows_counted;
    cvd_sum += r.cvd_spot;
  }
  static constexpr std::uint64_t kWarmUpBars = 60;
  std::uint64_t bars = 0;
  std::uint64_t flows = 0, flows_counted = 0;
  FlowRecord last_flow{};
  double cvd_sum = 0;
};

TEST(SteadyState, FeedAndAggregatorThreadsAllocateNothingAfterWarmUp) {
  const std::vector<Frame> frames = load_frames();
  ASSERT_EQ(frames.size(), 9757u + 21313u);
  constexpr std::size_t kWarmUpFrames = 2000;  // both markets seen, every buffer grown

  // The runtime's own parts, as `tickflow run` wires them: parser ->
  // FeedPublisher -> FeedChannel -> Aggregator (BarBuilder, Rollups,
  // latency histogram, freshness) -> output.
  MarketRegistry registry;
  auto spot = make_parser("BINANCE", registry);
  auto perp = make_parser("BINANCE_FUTURES", registry);
  WarmUpSink sink;
  AggregatorOptions options;
  options.max_markets = 16;
  options.wall_clock = false;  // the frames' receive times are the clock: deterministic
  options.measure_latency = true;
  options.wait.kind = WaitKind::kBusySpin;
  Aggregator aggregator(options, registry, {}, sink);
  // SqueezeFlow on the aggregator thread, as `[strategy] enabled = true`
  // wires it: evaluated every closed second (signals would go to the writer;
  // here they are counted).
  StrategyEngine engine(SqueezeFlowParams{}, options.max_markets);
  engine.add_group("BTCUSDT", "BTC");
  SignalPublisher signals(engine, nullptr, 2);
  aggregator.set_strategy(&engine, &signals);
  // The restart checkpoint, as `tickflow run` keeps it: the aggregator
  // offers every market's resume point once a second of the clock; the
  // keeper's own thread writes it (and may allocate: it is not counted).
  char checkpoint_dir[] = "/tmp/tickflow-steady-XXXXXX";
  ASSERT_NE(::mkdtemp(checkpoint_dir), nullptr);
  const std::string checkpoint_file = std::string(checkpoint_dir) + "/checkpoint";
  CheckpointKeeper keeper(checkpoint_file, options.max_markets, registry, [] { return UINT64_MAX; }, {});
  keeper.start();
  aggregator.set_checkpoint_keeper(&keeper, [&sink] { return static_cast<std::uint64_t>(sink.bars); });
  FeedChannel channel("tf-feed-0", 1 << 14, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&channel});
  FeedPublisher publisher(channel, options.max_markets);
  FeedPublisher::Connection spot_connection{.id = 0}, perp_connection{.id = 1};
  std::atomic<long> aggregator_allocations{-1};

  std::thread aggregator_thread([&] {
    aggregator.run();  // counting switches on inside, at the 60th bar
    counting = false;
    aggregator_allocations = thread_allocations;
  });

  // The feed thread is this one.
  EventBuffer events;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    if (i == kWarmUpFrames) counting = true;
    events.clear();
    const bool is_spot = f.exchange == "BINANCE";
    (is_spot ? *spot : *perp).parse(f.bytes.view(), f.receive_ns, events);
    if (!events.empty()) publisher.publish(is_spot ? spot_connection : perp_connection, events, f.receive_ns);
  }
  counting = false;
  const long feed_allocations = thread_allocations;
  channel.close();
  aggregator_thread.join();
  keeper.stop();
  // At most one offer per second of the captures' clock (345 s): per batch,
  // and a replayed batch can span seconds; some are skipped while the
  // keeper writes the previous one.
  EXPECT_GT(keeper.counters().offers.load(), 50u);
  EXPECT_LE(keeper.counters().offers.load() + keeper.counters().busy.load(), 346u);
  EXPECT_GT(keeper.counters().written.load(), 0u);
  std::filesystem::remove_all(checkpoint_dir);

  EXPECT_EQ(aggregator.counters().trades.load(), 9757u + 21313u) << "every trade went through";
  EXPECT_EQ(aggregator.counters().late_drops.load(), 0u);
  EXPECT_EQ(aggregator.counters().bars.load(), 345u + 344u) << "1 s bars of both markets";
  EXPECT_GT(sink.bars, WarmUpSink::kWarmUpBars) << "counting was switched on";
  EXPECT_EQ(engine.markets(0), 2u) << "both markets joined the BTC group";
  ASSERT_NE(aggregator.flow_stage(), nullptr) << "flow statistics are on by default";
  EXPECT_EQ(aggregator.flow_stage()->stats().groups().size(), 1u) << "one group: BTC";
  // Every second of the captures closes a 1 s interval, and the minutes a
  // 1m one ...: at least one record per second, most of them counted.
  EXPECT_GT(sink.flows, 345u) << "a FlowRecord per closed interval";
  EXPECT_GT(sink.flows_counted, 300u) << "the flow statistics ran in steady state";
  EXPECT_EQ(sink.last_flow.group_name(), "BTC");
  // Once per move of the group's frontier (replayed faster than real time,
  // it moves by a few seconds at a time).
  EXPECT_GT(signals.counters().evaluations.load(), 100u) << "the strategy ran as seconds closed";
  EXPECT_EQ(feed_allocations, 0) << "feed thread (parse + publish) allocated in steady state";
  EXPECT_EQ(aggregator_allocations.load(), 0)
      << "aggregator thread (bars + rollups + flow statistics + strategy + flush) allocated in steady state";
}

}  // namespace
}  // namespace tickflow
