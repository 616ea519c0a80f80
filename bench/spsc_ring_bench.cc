// bench/spsc_ring_bench.cc: SpscRing against boost::lockfree::spsc_queue,
// same capacity, same items, same pinning, same run.
//
//   BM_SpscRing_Throughput<T>       single-item try_push / try_pop
//   BM_SpscRing_BatchThroughput<T>  try_claim / publish and peek / release, spans of 32
//   BM_BoostSpsc_Throughput<T>      boost push / pop (the baseline)
//   BM_SpscRing_RoundTrip<T>        ping-pong over two rings; ns per round trip
//   BM_BoostSpsc_RoundTrip<T>       the same over two boost queues
//
// Throughput runs take the poll interval as an argument (poll_ns): how long
// the consumer pauses after finding the queue empty, and the producer after
// finding it full, converted to PAUSEs with this process's measured PAUSE
// cost (cpu_relax.h). kPollIntervalNs (185) is the product's spin loop; 0
// means one PAUSE, the tightest poll.
// T is Item8 (one uint64) or Item64 (one cache line, the size of a FeedEvent).
// The benchmark thread produces (or pings) on CPU A, a worker consumes (or
// echoes) on CPU B. Each run checks that every item arrived, in order, before
// its figure counts: a benchmark that loses items reports an error instead.
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstdint>
#include <thread>

#include "bench/bench_support.h"
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/spsc_ring.h"

namespace tickflow::bench {
namespace {

struct Item8 {
  std::uint64_t seq = 0;
};
struct alignas(64) Item64 {
  std::uint64_t seq = 0;
  std::uint64_t payload[7] = {};
};
static_assert(sizeof(Item8) == 8 && sizeof(Item64) == 64);

constexpr std::size_t kCapacity = 1 << 16;  // both queues: 64 Ki slots
constexpr std::uint64_t kItemsPerIteration = 1 << 21;
constexpr std::size_t kBatch = 32;

// ---- adapters: one interface over both queues --------------------------------

template <typename T>
struct OurRing {
  SpscRing<T> q{kCapacity};
  bool push(const T& v) noexcept { return q.try_push(v); }
  bool pop(T& v) noexcept { return q.try_pop(v); }
  bool drained() const noexcept { return q.empty_approx(); }  // everything pushed has been popped
};

template <typename T>
struct BoostRing {
  boost::lockfree::spsc_queue<T> q{kCapacity};
  bool push(const T& v) noexcept { return q.push(v); }
  bool pop(T& v) noexcept { return q.pop(v); }
  bool drained() const noexcept { return q.write_available() == kCapacity; }
};

// The worker thread is created with the benchmark thread's affinity and
// SCHED_FIFO priority, so it may start on the benchmark thread's CPU; if
// that thread went on to spin at the same priority, the worker could not
// run to pin itself away until the kernel moved it (the likely cause of one
// 8-byte round trip that ran ~60 ms per iteration in session 14). The
// benchmark thread therefore yields until the worker says it is pinned,
// before it pins itself and starts.
inline void wait_until_pinned(const SharedFlag& pinned) {
  while (!pinned.value.load(std::memory_order_acquire)) std::this_thread::yield();
}

// ---- throughput --------------------------------------------------------------

// The consumer side of a throughput run runs on its own pinned thread and
// shares nothing with the producer but the queue: the producer learns that an
// iteration is complete by seeing the queue drained, and the consumer's
// count and order check are read once, after it has stopped.
template <typename Queue, typename T, bool kBatched>
void run_throughput(benchmark::State& state) {
  // How long the consumer pauses after finding the queue empty, and the
  // producer after finding it full (the same for every queue), in ns:
  // kPollIntervalNs is the product's spin poll interval (cpu_relax.h), 0
  // one PAUSE, the tightest poll.
  const std::uint32_t poll_pauses = pauses_for_ns(pause_calibration().pause_ns, static_cast<double>(state.range(0)));
  state.counters["poll_pauses"] = poll_pauses;
  Queue queue;
  SharedFlag stop, pinned;
  std::uint64_t consumed = 0;
  bool ordered = true;
  long consumer_preempted = 0;
  // Captures by value what it reads in its loop: a reference would point
  // into the producer's stack frame, next to the item it is pushing.
  std::thread consumer([&queue, &stop, &pinned, &consumed, &ordered, &consumer_preempted, poll_pauses] {
    pin_role(1);
    pinned.value.store(true, std::memory_order_release);
    const long preempted_before = thread_preemptions();
    std::uint64_t expected = 0;
    bool in_order = true;
    while (!stop.value.load(std::memory_order_relaxed)) {
      if constexpr (kBatched) {
        // A throughput consumer: it may wait ~1.5 us at the end of a burst
        // for a 2 KiB run (SpscRing::peek's slip_polls).
        const auto span = queue.q.peek(kBatch, SpscRing<T>::kSlipPolls);
        if (!span.empty()) {
          span.for_each([&](const T& v) { in_order &= v.seq == expected++; });
          queue.q.release(span.size());
          continue;
        }
      } else {
        T v;
        if (queue.pop(v)) {
          in_order &= v.seq == expected++;
          continue;
        }
      }
      spin_pause(poll_pauses);
    }
    consumed = expected;
    ordered = in_order;
    consumer_preempted = thread_preemptions() - preempted_before;
  });

  wait_until_pinned(pinned);
  ScopedPin pin(0);
  const long producer_preempted_before = thread_preemptions();
  std::uint64_t seq = 0;
  for (auto _ : state) {
    const std::uint64_t end = seq + kItemsPerIteration;
    while (seq < end) {
      if constexpr (kBatched) {
        auto span = queue.q.try_claim(std::min<std::uint64_t>(kBatch, end - seq));
        for (std::size_t i = 0; i < span.size(); ++i) span[i].seq = seq + i;
        queue.q.publish(span.size());
        seq += span.size();
        if (span.empty()) spin_pause(poll_pauses);
      } else {
        T v;
        v.seq = seq;
        if (queue.push(v))
          ++seq;
        else
          spin_pause(poll_pauses);
      }
    }
    // The iteration ends when the consumer has everything, not when the
    // producer is done writing.
    while (!queue.drained()) spin_pause();
  }
  const long producer_preempted = thread_preemptions() - producer_preempted_before;
  stop.value.store(true);
  consumer.join();
  state.counters["preempted"] = static_cast<double>(producer_preempted + consumer_preempted);

  if (!ordered || consumed != seq) {
    state.SkipWithError("items lost or reordered");
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(seq));
  state.SetBytesProcessed(static_cast<std::int64_t>(seq * sizeof(T)));
}

template <typename T>
void BM_SpscRing_Throughput(benchmark::State& state) {
  run_throughput<OurRing<T>, T, false>(state);
}
template <typename T>
void BM_SpscRing_BatchThroughput(benchmark::State& state) {
  run_throughput<OurRing<T>, T, true>(state);
}
template <typename T>
void BM_BoostSpsc_Throughput(benchmark::State& state) {
  run_throughput<BoostRing<T>, T, false>(state);
}

// ---- round trip ----------------------------------------------------------------

template <typename Queue, typename T>
void run_round_trip(benchmark::State& state) {
  Queue ping, pong;
  SharedFlag stop, pinned;
  long echo_preempted = 0;
  std::thread echo([&] {
    pin_role(1);
    pinned.value.store(true, std::memory_order_release);
    const long preempted_before = thread_preemptions();
    T v;
    while (!stop.value.load(std::memory_order_relaxed)) {
      if (ping.pop(v)) {
        while (!pong.push(v)) cpu_relax();
      } else {
        cpu_relax();
      }
    }
    echo_preempted = thread_preemptions() - preempted_before;
  });

  wait_until_pinned(pinned);
  ScopedPin pin(0);
  const long pinger_preempted_before = thread_preemptions();
  LatencyHistogram histogram;
  std::uint64_t seq = 0;
  bool ok = true;
  T v;
  for (auto _ : state) {
    v.seq = seq;
    const std::uint64_t t0 = TscClock::now();
    while (!ping.push(v)) cpu_relax();
    T back;
    while (!pong.pop(back)) {
    }
    const std::uint64_t t1 = TscClock::now();
    histogram.record(t1 - t0);
    ok &= back.seq == seq++;
  }
  const long pinger_preempted = thread_preemptions() - pinger_preempted_before;
  stop.value.store(true);
  echo.join();
  state.counters["preempted"] = static_cast<double>(pinger_preempted + echo_preempted);
  if (!ok) {
    state.SkipWithError("round trip returned the wrong item");
    return;
  }
  report_latency(state, histogram, TscClock::ns_per_tick());  // recorded in TSC ticks
  state.SetItemsProcessed(static_cast<std::int64_t>(seq));
}

template <typename T>
void BM_SpscRing_RoundTrip(benchmark::State& state) {
  run_round_trip<OurRing<T>, T>(state);
}
template <typename T>
void BM_BoostSpsc_RoundTrip(benchmark::State& state) {
  run_round_trip<BoostRing<T>, T>(state);
}

// Median of 5 repetitions; wall time, since two threads do the work.
#define TICKFLOW_RING_BENCH(fn, T) \
  BENCHMARK_TEMPLATE(fn, T)->UseRealTime()->Repetitions(5)->ReportAggregatesOnly(true)->MinTime(0.2)
#define TICKFLOW_RING_THROUGHPUT(fn, T) TICKFLOW_RING_BENCH(fn, T)->ArgName("poll_ns")->Arg(kPollIntervalNs)->Arg(0)

TICKFLOW_RING_THROUGHPUT(BM_SpscRing_Throughput, Item8);
TICKFLOW_RING_THROUGHPUT(BM_SpscRing_BatchThroughput, Item8);
TICKFLOW_RING_THROUGHPUT(BM_BoostSpsc_Throughput, Item8);
TICKFLOW_RING_THROUGHPUT(BM_SpscRing_Throughput, Item64);
TICKFLOW_RING_THROUGHPUT(BM_SpscRing_BatchThroughput, Item64);
TICKFLOW_RING_THROUGHPUT(BM_BoostSpsc_Throughput, Item64);
TICKFLOW_RING_BENCH(BM_SpscRing_RoundTrip, Item8);

TICKFLOW_RING_BENCH(BM_BoostSpsc_RoundTrip, Item8);
TICKFLOW_RING_BENCH(BM_SpscRing_RoundTrip, Item64);
TICKFLOW_RING_BENCH(BM_BoostSpsc_RoundTrip, Item64);

}  // namespace
}  // namespace tickflow::bench
