// With [memory] lock = true the hot path takes no page fault in steady
// state. The pipeline of steady_state_allocations_test (real Binance spot
// and USD-M frames -> parsers -> FeedPublisher -> FeedChannel -> Aggregator
// with rollups, flow statistics and SqueezeFlow), on two threads named and
// set up by the runtime's apply_thread_config as `tickflow run` names them
// (tf-feed-0, tf-agg), after the runtime's lock_process_memory() (called,
// as `tickflow run` calls it, once everything is built and before the
// threads start: runtime/memory_lock.h). After a warm-up (2000 frames:
// every market seen, every buffer at its working size) the test reads each
// thread's minor-fault count (field 10 of /proc/self/task/<tid>/stat, the
// thread found by its name in /proc/self/task/*/comm), replays the other
// ~29 000 frames, lets the aggregator drain the ring, and reads them again:
// neither count may have grown.
//
// Self-check (the reading can see faults): a third thread, tf-probe, maps
// 64 fresh pages, unlocks them and drops them (munlock + MADV_DONTNEED:
// under MCL_FUTURE a new mapping is populated at once) and touches each:
// its count must grow by at least 64.
//
// TICKFLOW_FAULT_TEST_NO_LOCK=1 runs it without locking, to see what the
// lock saves (the assertions then report the faults taken).
//
// Not in sanitizer builds (their shadow memory cannot be locked), like the
// allocation test. Locking needs root (CAP_IPC_LOCK) or a large enough
// RLIMIT_MEMLOCK: without either the test is skipped, saying why.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/pipeline_config.h"
#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "runtime/aggregator.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "runtime/memory_lock.h"
#include "runtime/signal_publisher.h"
#include "runtime/thread_affinity.h"
#include "strategy/strategy_engine.h"

namespace tickflow {
namespace {

using namespace std::chrono_literals;

struct Frame {
  bool spot;
  std::int64_t receive_ns;
  std::string bytes;  // compact: the feed thread copies each into its one padded buffer
};

std::vector<Frame> load_frames() {
  const std::string dir = TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/";
  std::vector<Frame> frames;
  for (const auto& [spot, file] : {std::pair<bool, std::string>{true, "spot_btcusdt.gz"}, {false, "usdm_btcusdt.gz"}}) {
    CaptureReader reader(dir + file);
    CaptureRecord record;
    while (reader.next(record)) frames.push_back(Frame{spot, record.receive_ts_ns, std::string(record.frame)});
  }
  std::stable_sort(frames.begin(), frames.end(),
                   [](const Frame& a, const Frame& b) { return a.receive_ns < b.receive_ns; });
  return frames;
}

struct TaskStat {
  char state = '?';  // field 3: R running, S sleeping, ...
  long minflt = -1;  // field 10
};

// The stat of this process's thread named `name` (/proc/self/task/<tid>/comm),
// nullopt when there is none. Fields counted after the ')' that ends field
// 2 (a name may hold spaces).
std::optional<TaskStat> task_stat_of(const std::string& name) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name) continue;
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(stat.substr(close + 2));  // field 3 onwards
    TaskStat out;
    fields >> out.state;
    std::string field;
    for (int i = 4; i < 10; ++i) fields >> field;  // ppid ... flags
    fields >> out.minflt;
    return out;
  }
  return std::nullopt;
}

std::optional<long> minor_faults_of(const std::string& name) {
  const std::optional<TaskStat> stat = task_stat_of(name);
  return stat ? std::optional<long>(stat->minflt) : std::nullopt;
}

// The count of a thread that has gone idle: asleep (parked on its doorbell,
// or waiting for the test) with the same count for five readings 10 ms
// apart, so that a thread the scheduler held back is not read mid-batch.
std::optional<long> idle_minor_faults_of(const std::string& name) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  long last = -1;
  int same = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::optional<TaskStat> stat = task_stat_of(name);
    if (!stat) return std::nullopt;
    same = stat->state == 'S' && stat->minflt == last ? same + 1 : 0;
    last = stat->minflt;
    if (same == 4) return last;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class CountingSink final : public BarSink {
 public:
  void on_bar(const Bar&) override { ++bars; }
  void on_flow(const FlowRecord& r) override { cvd_sum += r.cvd_spot; }
  std::uint64_t bars = 0;
  double cvd_sum = 0;
};

ThreadConfig named(const char* name) { return ThreadConfig{name, std::nullopt, std::nullopt, WaitKind::kPark}; }

// The self-check: a thread, tf-probe, takes kProbePages first touches on
// purpose; returns how many minor faults the reading saw (-1: no reading).
constexpr long kProbePages = 64;
long probe_faults() {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t bytes = static_cast<std::size_t>(kProbePages) * page;
  std::atomic<int> step{0};
  std::thread probe([&] {
    if (!apply_thread_config(named("tf-probe"), false).empty()) return;
    void* raw = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return;
    auto* memory = static_cast<volatile char*>(raw);
    // Populated at mmap under mlockall(MCL_FUTURE): unlock and drop the
    // pages so that each touch below is a first touch again.
    ::munlock(raw, bytes);
    ::madvise(raw, bytes, MADV_DONTNEED);
    step = 1;
    while (step.load() != 2) std::this_thread::sleep_for(1ms);
    for (std::size_t i = 0; i < static_cast<std::size_t>(kProbePages); ++i) memory[i * page] = 1;
    step = 3;
    while (step.load() != 4) std::this_thread::sleep_for(1ms);
    ::munmap(raw, bytes);
  });
  long seen = -1;
  if (wait_until([&] { return step.load() == 1; }, 10s)) {
    const std::optional<long> before = minor_faults_of("tf-probe");
    step = 2;
    if (wait_until([&] { return step.load() == 3; }, 10s)) {
      const std::optional<long> after = minor_faults_of("tf-probe");
      if (before && after) seen = *after - *before;
    }
  }
  step = 4;
  probe.join();
  return seen;
}

TEST(SteadyStatePageFaults, TheReadingSeesFaultsOnANamedThread) {
  EXPECT_GE(probe_faults(), kProbePages) << "64 first touches on tf-probe, each a minor fault";
}

TEST(SteadyStatePageFaults, FeedAndAggregatorThreadsTakeNoFaultAfterWarmUp) {
  const std::vector<Frame> frames = load_frames();
  ASSERT_EQ(frames.size(), 9757u + 21313u);
  constexpr std::size_t kWarmUpFrames = 2000;

  MarketRegistry registry;
  auto spot = make_parser("BINANCE", registry);
  auto perp = make_parser("BINANCE_FUTURES", registry);
  CountingSink sink;
  AggregatorOptions options;
  options.max_markets = 16;
  options.wall_clock = false;  // the frames' receive times are the clock
  options.measure_latency = true;
  options.wait.kind = WaitKind::kPark;
  Aggregator aggregator(options, registry, {}, sink);
  StrategyEngine engine(SqueezeFlowParams{}, options.max_markets);
  engine.add_group("BTCUSDT", "BTC");
  SignalPublisher signals(engine, nullptr, 2);
  aggregator.set_strategy(&engine, &signals);
  FeedChannel channel("tf-feed-0", 1 << 14, FullRingPolicy::kBlock, aggregator.doorbell());
  aggregator.set_inputs({&channel});
  FeedPublisher publisher(channel, options.max_markets);
  FeedPublisher::Connection spot_connection{.id = 0}, perp_connection{.id = 1};

  // Built, not started: lock now, as `tickflow run` does.
  const bool lock = std::getenv("TICKFLOW_FAULT_TEST_NO_LOCK") == nullptr;
  if (lock) {
    try {
      const MemoryLockOutcome outcome = lock_process_memory("steady_state_page_faults_test");
      ASSERT_TRUE(outcome.locked) << outcome.note;
      std::printf("locked %llu MiB\n", static_cast<unsigned long long>(outcome.locked_bytes >> 20));
    } catch (const MemoryLockError& e) {
      GTEST_SKIP() << "cannot lock memory here (run as root, or raise RLIMIT_MEMLOCK): " << e.what();
    }
  }
  // The reading sees faults under the lock too.
  ASSERT_GE(probe_faults(), kProbePages) << "the self-check: 64 first touches on tf-probe";

  std::atomic<int> feed_step{0};  // 1: warm, 2: go on, 3: done, 4: close
  std::thread aggregator_thread([&] {
    if (apply_thread_config(named("tf-agg"), false).empty()) aggregator.run();
  });
  std::thread feed_thread([&] {
    if (!apply_thread_config(named("tf-feed-0"), false).empty()) return;
    PaddedFrame buffer;  // one receive buffer, as a connection has
    EventBuffer events;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      if (i == kWarmUpFrames) {
        feed_step = 1;
        while (feed_step.load() != 2) std::this_thread::sleep_for(1ms);
      }
      const Frame& f = frames[i];
      buffer.assign(f.bytes);
      events.clear();
      (f.spot ? *spot : *perp).parse(buffer.view(), f.receive_ns, events);
      if (!events.empty()) publisher.publish(f.spot ? spot_connection : perp_connection, events, f.receive_ns);
    }
    feed_step = 3;
    while (feed_step.load() != 4) std::this_thread::sleep_for(1ms);
    channel.close();
  });

  // Both threads idle (the ring drained, the aggregator parked after its
  // last batch's bars and strategy step): read them.
  ASSERT_TRUE(wait_until([&] { return feed_step.load() == 1; }));
  ASSERT_TRUE(wait_until([&] { return !channel.has_pending(); }));
  const std::optional<long> feed_before = idle_minor_faults_of("tf-feed-0");
  const std::optional<long> agg_before = idle_minor_faults_of("tf-agg");
  feed_step = 2;
  ASSERT_TRUE(wait_until([&] { return feed_step.load() == 3; }));
  ASSERT_TRUE(wait_until([&] { return !channel.has_pending(); }));
  const std::optional<long> feed_after = idle_minor_faults_of("tf-feed-0");
  const std::optional<long> agg_after = idle_minor_faults_of("tf-agg");
  feed_step = 4;
  feed_thread.join();
  aggregator_thread.join();
  if (lock) ::munlockall();  // the rest of the process need not stay pinned

  ASSERT_TRUE(feed_before && agg_before && feed_after && agg_after) << "threads tf-feed-0 and tf-agg not found";
  EXPECT_EQ(aggregator.counters().trades.load(), 9757u + 21313u) << "every trade went through";
  EXPECT_EQ(aggregator.counters().bars.load(), 345u + 344u) << "1 s bars of both markets";
  EXPECT_GT(signals.counters().evaluations.load(), 100u) << "the strategy ran as seconds closed";
  // For the record: the warm-up's count (the threads' first 2000 frames,
  // first markets, first bars) against the steady state's.
  std::printf("minor faults (%s): warm-up tf-feed-0 %ld, tf-agg %ld; after warm-up tf-feed-0 %ld, tf-agg %ld\n",
              lock ? "locked" : "not locked", *feed_before, *agg_before, *feed_after - *feed_before,
              *agg_after - *agg_before);
  EXPECT_EQ(*feed_after - *feed_before, 0) << "tf-feed-0 (parse + publish) took minor faults in steady state";
  EXPECT_EQ(*agg_after - *agg_before, 0)
      << "tf-agg (bars + rollups + flow statistics + strategy) took minor faults in steady state";
}

}  // namespace
}  // namespace tickflow
