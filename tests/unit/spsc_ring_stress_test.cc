// Multi-threaded stress tests of SpscRing: one producer, one consumer, tens
// of millions of items, every API mixed, order and content verified item by
// item. CI also runs them under ThreadSanitizer (the tsan preset).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "ringbuffers/doorbell.h"
#include "ringbuffers/spsc_ring.h"
#include "ringbuffers/wait_strategy.h"

namespace tickflow {
namespace {

// A 16-byte item whose second word is a function of the first, so a torn or
// stale slot read shows up as a checksum mismatch, not just a wrong order.
struct Item {
  std::uint64_t seq = 0;
  std::uint64_t check = 0;
};
// The same, filling a cache line: a single-item consumer of items this size
// polls the slots' sequence words and reads the head only after two items in
// a row (kRingHeadReadStreak is 2, kRingReadsHeadWhenBusy false), a
// different consumer path from the 16-byte item's.
struct alignas(64) LineItem {
  std::uint64_t seq = 0;
  std::uint64_t check = 0;
  std::uint64_t fill[6] = {};
};
// An 8-byte item: seven to a line with one seq per line (RingLine), the
// third storage layout. 32 bits of seq are enough for the 50M items.
struct WordItem {
  std::uint32_t seq = 0;
  std::uint32_t check = 0;
};
static_assert(kRingReadsHeadWhenBusy<Item> && !kRingReadsHeadWhenBusy<LineItem>,
              "the stress test must cover both publication paths");
static_assert(SpscRing<WordItem>::kPacked && !SpscRing<Item>::kPacked, "and both storage layouts");
constexpr std::uint64_t checksum(std::uint64_t seq) { return seq * 0x9E3779B97F4A7C15ull ^ 0xDEADBEEFull; }
template <typename T = Item>
T make_item(std::uint64_t seq) {
  T item;
  item.seq = static_cast<decltype(item.seq)>(seq);
  item.check = static_cast<decltype(item.check)>(checksum(seq));
  return item;
}

// Deterministic per-thread choice of API, so a failure can be replayed.
struct XorShift {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

constexpr std::uint64_t kStressItems = 50'000'000;

// Every producer API against every consumer API, chosen at random per call,
// so that mixed use (try_pop after consume, claims between pushes) is
// covered: this is the test that caught a peek() after try_pop() reading
// unpublished slots when head lagged the slots' own sequence words.
template <typename Item>
void stress_every_api() {
  SpscRing<Item> ring(1024);  // small: the producer hits "full" all the time
  std::atomic<bool> consumer_failed{false};
  std::uint64_t mismatches = 0, first_bad = 0;

  std::thread producer([&] {
    XorShift rng{0x1234567};
    std::uint64_t seq = 0;
    while (seq < kStressItems && !consumer_failed.load(std::memory_order_relaxed)) {
      const std::uint64_t r = rng.next();
      if ((r & 3) != 0) {
        if (ring.try_push(make_item<Item>(seq)))
          ++seq;
        else
          std::this_thread::yield();
      } else {
        const std::size_t want = 1 + (r >> 8) % 64;
        auto span = ring.try_claim(want);
        std::size_t n = std::min<std::uint64_t>(span.size(), kStressItems - seq);
        for (std::size_t i = 0; i < n; ++i) span[i] = make_item<Item>(seq + i);
        ring.publish(n);
        seq += n;
        if (n == 0) std::this_thread::yield();
      }
    }
  });

  XorShift rng{0x7654321};
  std::uint64_t expected = 0;
  auto check = [&](const Item& it) {
    if (it.seq != static_cast<decltype(it.seq)>(expected) ||
        it.check != static_cast<decltype(it.check)>(checksum(expected))) [[unlikely]] {
      if (mismatches++ == 0) first_bad = expected;
    }
    ++expected;
  };
  std::vector<Item> buffer(96);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (expected < kStressItems && mismatches == 0) {
    std::size_t got = 0;
    switch (rng.next() & 3) {
      case 0: {
        Item it;
        if (ring.try_pop(it)) {
          check(it);
          got = 1;
        }
        break;
      }
      case 1:
        if (const Item* p = ring.front()) {
          check(*p);
          ring.pop();
          got = 1;
        }
        break;
      case 2: {
        const std::uint64_t r = rng.next();
        if (r & 1) {
          got = ring.consume(check, 1 + (r >> 1) % 96);
        } else {  // a throughput consumer: may slip (wait) at a burst's end
          const auto span = ring.peek(1 + (r >> 1) % 96, SpscRing<Item>::kSlipPolls);
          span.for_each(check);
          ring.release(span.size());
          got = span.size();
        }
        break;
      }
      case 3:
        got = ring.try_pop_n(buffer.data(), 1 + rng.next() % 96);
        for (std::size_t i = 0; i < got; ++i) check(buffer[i]);
        break;
    }
    if (got == 0) {
      std::this_thread::yield();
      if (std::chrono::steady_clock::now() > give_up) break;
    }
  }
  consumer_failed.store(mismatches != 0, std::memory_order_relaxed);
  producer.join();

  EXPECT_EQ(mismatches, 0u) << "first bad item at seq " << first_bad;
  EXPECT_EQ(expected, kStressItems);
  Item extra;
  EXPECT_FALSE(ring.try_pop(extra)) << "no item may appear twice or from nowhere";
}

TEST(SpscRingStress, FiftyMillionItemsArriveInOrderIntactThroughEveryApi) { stress_every_api<Item>(); }

TEST(SpscRingStress, FiftyMillionLineItemsArriveInOrderIntactThroughEveryApiWithSlotSequences) {
  stress_every_api<LineItem>();
}

TEST(SpscRingStress, FiftyMillionWordItemsArriveInOrderIntactThroughEveryApiWithLineSequences) {
  stress_every_api<WordItem>();
}

// A parked consumer must never miss a wake-up: bursts with pauses between
// them make the consumer fall asleep thousands of times, and every burst must
// be delivered. A lost wake-up shows as a consumer stuck until its (long)
// deadline, which the test's own timeout would catch.
TEST(SpscRingStress, ParkedConsumerMissesNoWakeUpAcrossThousandsOfSleeps) {
  constexpr std::uint64_t kBursts = 3000;
  constexpr std::uint64_t kPerBurst = 100;
  SpscRing<Item> ring(256);
  Doorbell bell;
  WaitStrategy park{WaitKind::kPark, /*spin_ns=*/400, /*yield_iterations=*/0};

  std::thread producer([&] {
    XorShift rng{99};
    std::uint64_t seq = 0;
    for (std::uint64_t b = 0; b < kBursts; ++b) {
      for (std::uint64_t i = 0; i < kPerBurst; ++i) {
        while (!ring.try_push(make_item(seq))) std::this_thread::yield();
        ++seq;
        bell.notify();
      }
      // Pauses from 0 to ~200 us: some bursts land while the consumer spins,
      // some while it is on its way to sleep, some while it sleeps.
      const auto pause = rng.next() % 200;
      if (pause > 20) std::this_thread::sleep_for(std::chrono::microseconds(pause));
    }
  });

  std::uint64_t expected = 0, mismatches = 0, timeouts = 0;
  while (expected < kBursts * kPerBurst) {
    const bool ready = park.wait_for([&] { return !ring.empty_approx(); }, std::chrono::seconds(10), &bell);
    if (!ready) {
      ++timeouts;
      break;
    }
    ring.consume([&](const Item& it) {
      if (it.seq != expected || it.check != checksum(expected)) ++mismatches;
      ++expected;
    });
  }
  producer.join();
  EXPECT_EQ(timeouts, 0u) << "a wake-up was lost";
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(expected, kBursts * kPerBurst);
}

// Fan-in as the aggregator does it: two producers, two rings, one consumer
// parked on one doorbell for both.
TEST(SpscRingStress, OneDoorbellServesSeveralRings) {
  constexpr std::uint64_t kPerProducer = 200'000;
  SpscRing<Item> ring_a(512), ring_b(512);
  Doorbell bell;
  const WaitStrategy park{WaitKind::kPark, /*spin_ns=*/1500, /*yield_iterations=*/1};

  auto produce = [&](SpscRing<Item>& ring, std::uint64_t seed) {
    XorShift rng{seed};
    for (std::uint64_t seq = 0; seq < kPerProducer; ++seq) {
      while (!ring.try_push(make_item(seq))) std::this_thread::yield();
      bell.notify();
      if (rng.next() % 1000 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  };
  std::thread a(produce, std::ref(ring_a), 1);
  std::thread b(produce, std::ref(ring_b), 2);

  std::uint64_t next_a = 0, next_b = 0, bad = 0;
  while (next_a < kPerProducer || next_b < kPerProducer) {
    const bool ready = park.wait_for([&] { return !ring_a.empty_approx() || !ring_b.empty_approx(); },
                                     std::chrono::seconds(10), &bell);
    ASSERT_TRUE(ready) << "stuck at a=" << next_a << " b=" << next_b;
    ring_a.consume([&](const Item& it) { bad += it.seq != next_a++ || it.check != checksum(it.seq); });
    ring_b.consume([&](const Item& it) { bad += it.seq != next_b++ || it.check != checksum(it.seq); });
  }
  a.join();
  b.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(next_a, kPerProducer);
  EXPECT_EQ(next_b, kPerProducer);
}

}  // namespace
}  // namespace tickflow
