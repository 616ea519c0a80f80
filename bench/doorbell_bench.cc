// bench/doorbell_bench.cc: what parking costs.
//
//   BM_Doorbell_NotifyNobodyAsleep   the producer's per-publish wake check
//   BM_Baseline_SeqCstFence          what that check would cost with a plain
//                                    seq_cst fence instead of membarrier
//   BM_Doorbell_WakeLatency          push -> parked consumer running again,
//                                    p50/p99/p99.9/max (a futex round trip)
//   BM_SpscRing_ParkedThroughput     64-byte items through a ring whose
//                                    producer notifies after every push and
//                                    whose consumer uses the default (park)
//                                    strategy: the pipeline's default wiring
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "bench/bench_support.h"
#include "pipeline/events.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/spsc_ring.h"
#include "ringbuffers/wait_strategy.h"

namespace tickflow::bench {
namespace {

void BM_Doorbell_NotifyNobodyAsleep(benchmark::State& state) {
  Doorbell bell;
  for (auto _ : state) {
    bell.notify();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Doorbell_NotifyNobodyAsleep);

void BM_Baseline_SeqCstFence(benchmark::State& state) {
  std::atomic<std::uint32_t> flag{0};
  for (auto _ : state) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    benchmark::DoNotOptimize(flag.load(std::memory_order_relaxed));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline_SeqCstFence);

// One sample per iteration: the benchmark thread waits until the consumer is
// asleep in the kernel, stamps the time, pushes and notifies; the consumer
// stamps the time it returns from its wait.
void BM_Doorbell_WakeLatency(benchmark::State& state) {
  SpscRing<std::uint64_t> ring(64);
  Doorbell bell;
  std::atomic<std::uint64_t> woke_at{0};
  std::atomic<bool> stop{false};
  // No spinning, no yielding: measure the futex path itself.
  const WaitStrategy park{WaitKind::kPark, 0, 0};
  std::thread consumer([&] {
    pin_role(1);
    while (!stop.load()) {
      if (park.wait_for([&] { return !ring.empty_approx() || stop.load(std::memory_order_relaxed); },
                        std::chrono::seconds(5), &bell)) {
        const std::uint64_t now = TscClock::now();
        std::uint64_t v;
        while (ring.try_pop(v)) {
        }
        woke_at.store(now, std::memory_order_release);
      }
    }
  });

  ScopedPin pin(0);
  LatencyHistogram histogram;
  for (auto _ : state) {
    // Give the consumer time to fall asleep (it has no spin phase).
    state.PauseTiming();
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    woke_at.store(0);
    state.ResumeTiming();
    const std::uint64_t t0 = TscClock::now();
    ring.try_push(1);
    bell.notify();
    std::uint64_t t1;
    while ((t1 = woke_at.load(std::memory_order_acquire)) == 0) cpu_relax();
    histogram.record(TscClock::to_ns(t1 > t0 ? t1 - t0 : 0));
  }
  stop.store(true);
  ring.try_push(0);
  bell.notify();
  consumer.join();
  report_latency(state, histogram);
}
BENCHMARK(BM_Doorbell_WakeLatency)->Iterations(2000)->UseRealTime();

void BM_SpscRing_ParkedThroughput(benchmark::State& state) {
  constexpr std::uint64_t kItems = 1 << 20;
  SpscRing<FeedEvent> ring(1 << 12);
  Doorbell bell;
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    pin_role(1);
    const WaitStrategy park{};
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      if (park.wait_for([&] { return !ring.empty_approx() || stop.load(std::memory_order_relaxed); },
                        std::chrono::milliseconds(100), &bell)) {
        n += ring.consume([](const FeedEvent& e) { benchmark::DoNotOptimize(e.trade.price); });
        consumed.store(n, std::memory_order_release);
      }
    }
  });

  ScopedPin pin(0);
  std::uint64_t pushed = 0;
  FeedEvent e = FeedEvent::of(Trade{});
  for (auto _ : state) {
    const std::uint64_t end = pushed + kItems;
    while (pushed < end) {
      e.trade.trade_id = pushed;
      if (ring.try_push(e)) {
        ++pushed;
        bell.notify();
      } else {
        cpu_relax();
      }
    }
    while (consumed.load(std::memory_order_acquire) < end) cpu_relax();
  }
  stop.store(true);
  bell.notify();
  consumer.join();
  state.SetItemsProcessed(static_cast<std::int64_t>(pushed));
}
BENCHMARK(BM_SpscRing_ParkedThroughput)->UseRealTime()->Repetitions(3)->ReportAggregatesOnly(true);

}  // namespace
}  // namespace tickflow::bench
