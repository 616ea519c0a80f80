// Functional tests of SpscRing, single-threaded: every state and every edge
// of the index arithmetic (empty, full, wrap-around, spans split at the end).
#include "ringbuffers/spsc_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace tickflow {
namespace {

TEST(SpscRing, RejectsCapacityThatIsNotAPowerOfTwo) {
  for (std::size_t bad : {0u, 1u, 3u, 6u, 1000u}) {
    EXPECT_THROW(SpscRing<int>{bad}, std::invalid_argument) << bad;
  }
  EXPECT_EQ(SpscRing<int>{2}.capacity(), 2u);
  EXPECT_EQ(SpscRing<int>{1024}.capacity(), 1024u);
}

TEST(SpscRing, EmptyRingYieldsNothing) {
  SpscRing<std::uint64_t> ring(8);
  std::uint64_t out = 42;
  EXPECT_FALSE(ring.try_pop(out));
  EXPECT_EQ(out, 42u);  // untouched
  EXPECT_EQ(ring.front(), nullptr);
  EXPECT_TRUE(ring.peek().empty());
  EXPECT_EQ(ring.try_pop_n(&out, 1), 0u);
  EXPECT_EQ(ring.consume([](std::uint64_t) { FAIL(); }), 0u);
  EXPECT_EQ(ring.size_approx(), 0u);
}

TEST(SpscRing, FillsToExactCapacityThenRefuses) {
  SpscRing<std::uint64_t> ring(8);
  for (std::uint64_t i = 0; i < 8; ++i) ASSERT_TRUE(ring.try_push(i)) << i;
  EXPECT_FALSE(ring.try_push(99));  // full: no slot is sacrificed, none is overwritten
  EXPECT_EQ(ring.size_approx(), 8u);
  EXPECT_TRUE(ring.try_claim(1).empty());
  EXPECT_EQ(ring.try_push_n(std::vector<std::uint64_t>{1, 2}.data(), 2), 0u);

  std::uint64_t out = 0;
  ASSERT_TRUE(ring.try_pop(out));
  EXPECT_EQ(out, 0u);
  EXPECT_TRUE(ring.try_push(8));  // one slot freed, one accepted
  EXPECT_FALSE(ring.try_push(9));
  for (std::uint64_t want = 1; want <= 8; ++want) {
    ASSERT_TRUE(ring.try_pop(out));
    EXPECT_EQ(out, want);
  }
  EXPECT_FALSE(ring.try_pop(out));
}

TEST(SpscRing, KeepsFifoOrderAcrossManyWraps) {
  SpscRing<std::uint64_t> ring(4);
  std::uint64_t next_in = 0, next_out = 0;
  // Varying fill levels so that head and tail meet every slot at every phase.
  for (int round = 0; round < 1000; ++round) {
    const int n = 1 + round % 4;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(ring.try_push(next_in++));
    for (int i = 0; i < n; ++i) {
      std::uint64_t out = 0;
      ASSERT_TRUE(ring.try_pop(out));
      ASSERT_EQ(out, next_out++);
    }
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(SpscRing, FrontAndPopReadInPlace) {
  SpscRing<std::uint64_t> ring(4);
  ASSERT_TRUE(ring.try_push(7));
  ASSERT_TRUE(ring.try_push(8));
  const std::uint64_t* p = ring.front();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7u);
  EXPECT_EQ(ring.front(), p);  // front() does not consume
  ring.pop();
  ASSERT_NE(ring.front(), nullptr);
  EXPECT_EQ(*ring.front(), 8u);
  ring.pop();
  EXPECT_EQ(ring.front(), nullptr);
}

// Moves head and tail to `position` (both), leaving the ring empty.
void advance_to(SpscRing<std::uint64_t>& ring, std::uint64_t position) {
  for (std::uint64_t i = 0; i < position; ++i) {
    ASSERT_TRUE(ring.try_push(i));
    std::uint64_t out;
    ASSERT_TRUE(ring.try_pop(out));
  }
}

// A 16-byte item: one RingSlot each (8-byte items are packed seven to a
// line instead, see the RingLine tests below).
struct Wide {
  std::uint64_t value = 0;
  std::uint64_t pad = 0;
};

TEST(SpscRing, ClaimedSpanSplitsAtTheEndAndPublishesOnce) {
  SpscRing<Wide> ring(8);
  for (std::uint64_t i = 0; i < 6; ++i) {  // next write goes to slot 6
    ASSERT_TRUE(ring.try_push(Wide{i, 0}));
    Wide out;
    ASSERT_TRUE(ring.try_pop(out));
  }

  auto span = ring.try_claim(5);
  ASSERT_EQ(span.size(), 5u);
  EXPECT_EQ(span.first_size, 2u);   // slots 6, 7
  EXPECT_EQ(span.second_size, 3u);  // slots 0, 1, 2
  for (std::size_t i = 0; i < span.size(); ++i) span[i].value = 100 + i;
  EXPECT_TRUE(ring.peek().empty()) << "claimed slots must stay invisible until publish";
  ring.publish(5);

  auto read = ring.peek();
  ASSERT_EQ(read.size(), 5u);
  EXPECT_EQ(read.first_size, 2u);
  EXPECT_EQ(read.second_size, 3u);
  std::vector<std::uint64_t> seen;
  read.for_each([&](const Wide& v) { seen.push_back(v.value); });
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{100, 101, 102, 103, 104}));
  ring.release(2);
  auto rest = ring.peek();
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest.first_size, 3u);  // now contiguous from slot 0
  EXPECT_EQ(rest[0].value, 102u);
  ring.release(3);
  EXPECT_TRUE(ring.peek().empty());
}

// 8-byte items sit seven to a 64-byte line, after them the line's seq
// (ring_line.h). A ring of capacity 8 has 4 lines, 28 positions per lap:
// a claim from position 26 runs across the end of line 3 into line 0, and
// every item is where the layout says.
TEST(SpscRing, PackedItemsFillLinesOfSevenAndSpansCrossTheEnd) {
  static_assert(SpscRing<std::uint64_t>::kPacked && !SpscRing<Wide>::kPacked && !SpscRing<int>::kPacked);
  static_assert(sizeof(RingLine<std::uint64_t>) == 64);
  SpscRing<std::uint64_t> ring(8);
  advance_to(ring, 26);

  auto span = ring.try_claim(5);  // positions 26, 27 (line 3), 28..30 (line 4 = line 0 of the storage)
  ASSERT_EQ(span.size(), 5u);
  for (std::size_t i = 0; i < span.size(); ++i) span[i] = 100 + i;
  const auto* line3 = reinterpret_cast<const char*>(&span[0]) - 5 * sizeof(std::uint64_t);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(line3) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<const char*>(&span[1]), line3 + 6 * sizeof(std::uint64_t));
  EXPECT_EQ(reinterpret_cast<const char*>(&span[2]), line3 - 3 * 64) << "position 28 is storage line 0";
  EXPECT_EQ(reinterpret_cast<const char*>(&span[4]), line3 - 3 * 64 + 2 * sizeof(std::uint64_t));

  ring.publish(3);  // 26, 27, 28: line 3's seq, then line 0's
  std::uint64_t out = 0;
  for (std::uint64_t want = 100; want < 103; ++want) {
    ASSERT_TRUE(ring.try_pop(out));
    EXPECT_EQ(out, want);
  }
  EXPECT_FALSE(ring.try_pop(out)) << "claimed, unpublished positions of a published line stay invisible";
  EXPECT_TRUE(ring.peek().empty());
  ring.publish(2);
  auto read = ring.peek();
  ASSERT_EQ(read.size(), 2u);
  std::vector<std::uint64_t> seen;
  read.for_each([&](std::uint64_t v) { seen.push_back(v); });
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{103, 104}));
  EXPECT_EQ(read[1], 104u);
  ring.release(2);
  EXPECT_EQ(ring.size_approx(), 0u);
}

// Full is exactly `capacity` items whatever the line phase, and a line's
// seq from an earlier lap never makes a position look published: push and
// pop one item at a time at every phase of a small ring's lines.
TEST(SpscRing, PackedRingHoldsExactlyItsCapacityAtEveryLinePhase) {
  for (const std::size_t capacity : {2u, 4u, 8u, 16u, 64u}) {
    SpscRing<std::uint64_t> ring(capacity);
    std::uint64_t next_in = 0, next_out = 0;
    for (std::size_t phase = 0; phase < 3 * 7 * capacity; ++phase) {
      while (ring.try_push(next_in)) ++next_in;
      ASSERT_EQ(next_in - next_out, capacity) << capacity << " " << phase;
      std::uint64_t out = 0;
      ASSERT_TRUE(ring.try_pop(out));
      ASSERT_EQ(out, next_out++);
      ASSERT_TRUE(ring.try_push(next_in++));
      for (std::size_t i = 0; i < capacity - phase % capacity; ++i) {
        ASSERT_TRUE(ring.try_pop(out)) << capacity << " " << phase;
        ASSERT_EQ(out, next_out++);
      }
      if (phase % 2 == 0) {  // the batch reader drains the rest
        while (ring.consume([&](std::uint64_t v) { EXPECT_EQ(v, next_out++); }) != 0) {
        }
      } else {
        while (ring.try_pop(out)) ASSERT_EQ(out, next_out++);
      }
      ASSERT_EQ(next_out, next_in);
      ASSERT_FALSE(ring.try_pop(out));
      ASSERT_TRUE(ring.peek().empty());
      ASSERT_EQ(ring.try_push_n(std::vector<std::uint64_t>{next_in}.data(), 1), 1u);  // phase moves by two
      ++next_in;
      ASSERT_EQ(ring.try_pop_n(&out, 1), 1u);
      ASSERT_EQ(out, next_out++);
    }
  }
}

TEST(SpscRing, ClaimIsCappedByFreeSpaceAndPartialPublishKeepsTheRest) {
  SpscRing<std::uint64_t> ring(8);
  for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(ring.try_push(i));
  auto span = ring.try_claim(32);
  EXPECT_EQ(span.size(), 3u);
  span[0] = 5;
  span[1] = 6;
  ring.publish(2);  // publish fewer than claimed
  EXPECT_EQ(ring.size_approx(), 7u);
  EXPECT_EQ(ring.try_claim(32).size(), 1u);  // the unpublished slot is claimable again
  std::vector<std::uint64_t> out(8);
  ASSERT_EQ(ring.try_pop_n(out.data(), out.size()), 7u);
  for (std::uint64_t i = 0; i < 7; ++i) EXPECT_EQ(out[i], i);
}

TEST(SpscRing, PushNAndPopNCopyAcrossTheEnd) {
  SpscRing<std::uint64_t> ring(8);
  advance_to(ring, 5);
  const std::vector<std::uint64_t> in = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(ring.try_push_n(in.data(), in.size()), 8u);  // only capacity fits
  std::vector<std::uint64_t> out(3);
  ASSERT_EQ(ring.try_pop_n(out.data(), 3), 3u);  // slots 5, 6, 7
  EXPECT_EQ(out, (std::vector<std::uint64_t>{1, 2, 3}));
  out.resize(10);
  ASSERT_EQ(ring.try_pop_n(out.data(), 10), 5u);  // slots 0..4
  EXPECT_EQ(std::vector<std::uint64_t>(out.begin(), out.begin() + 5), (std::vector<std::uint64_t>{4, 5, 6, 7, 8}));
}

TEST(SpscRing, ConsumeVisitsInOrderAndHonoursTheLimit) {
  SpscRing<std::uint64_t> ring(16);
  advance_to(ring, 12);
  for (std::uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(ring.try_push(i));
  std::vector<std::uint64_t> seen;
  EXPECT_EQ(ring.consume([&](std::uint64_t v) { seen.push_back(v); }, 6), 6u);
  EXPECT_EQ(ring.consume([&](std::uint64_t v) { seen.push_back(v); }), 4u);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

struct alignas(64) Line {
  std::uint64_t seq = 0;
  std::uint64_t payload[7] = {};
};

TEST(SpscRing, CarriesWholeCacheLineItemsIntact) {
  SpscRing<Line> ring(4);
  for (std::uint64_t round = 0; round < 10; ++round) {
    Line in;
    in.seq = round;
    for (std::uint64_t i = 0; i < 7; ++i) in.payload[i] = round * 100 + i;
    ASSERT_TRUE(ring.try_push(in));
    Line out;
    ASSERT_TRUE(ring.try_pop(out));
    EXPECT_EQ(out.seq, round);
    for (std::uint64_t i = 0; i < 7; ++i) EXPECT_EQ(out.payload[i], round * 100 + i);
  }
}

// A single-item consumer switches from polling seq to reading the head after
// kRingHeadReadStreak items in a row (1 for small items, 2 for cache-line
// items). Whatever path it is on, claimed but unpublished slots must stay
// invisible, across the wrap, for both sizes.
template <typename T>
void check_streak_paths_hide_unpublished_claims() {
  SpscRing<T> ring(8);
  std::uint64_t next_in = 0, next_out = 0;
  for (int round = 0; round < 40; ++round) {
    const std::size_t burst = 1 + static_cast<std::size_t>(round) % 5;  // streaks of 1..5
    for (std::size_t i = 0; i < burst; ++i) {
      T item;
      item.seq = next_in++;
      ASSERT_TRUE(ring.try_push(item));
    }
    // Claim two more and publish only the first: the second must not be read
    // even by a consumer that has just reloaded the head.
    auto span = ring.try_claim(2);
    ASSERT_EQ(span.size(), 2u);
    span[0].seq = next_in++;
    span[1].seq = 999'999;
    ring.publish(1);
    for (std::size_t i = 0; i <= burst; ++i) {
      T out;
      ASSERT_TRUE(ring.try_pop(out)) << round << " " << i;
      EXPECT_EQ(out.seq, next_out++);
    }
    T out;
    EXPECT_FALSE(ring.try_pop(out)) << round;
    EXPECT_EQ(ring.front(), nullptr) << round;
    EXPECT_TRUE(ring.peek().empty()) << round;
  }
  EXPECT_EQ(next_out, next_in);
  EXPECT_EQ(next_out, 40u + (1 + 2 + 3 + 4 + 5) * 8u);  // 40 rounds, bursts 1..5 eight times, +1 each
}

struct Small {
  std::uint64_t seq = 0;
};

TEST(SpscRing, HeadReadsAfterAStreakNeverRevealUnpublishedClaims) {
  static_assert(kRingHeadReadStreak<Small> == 1 && kRingHeadReadStreak<Line> == 2);
  check_streak_paths_hide_unpublished_claims<Small>();
  check_streak_paths_hide_unpublished_claims<Line>();
}

// A consumer that has just drained reads the head for a few polls instead
// of the next slot's seq, and one close behind the producer pauses a poll
// interval before it reads on (readable()): neither may hide an item that
// is published. Bursts of 0..39 items, each popped at once, in order, then
// the ring reports empty; 64 bursts cross the drained and slip paths of
// both item sizes many times.
template <typename T>
void check_drained_consumer_sees_every_item() {
  SpscRing<T> ring(64);
  std::uint64_t next = 0, expected = 0;
  for (std::size_t burst = 0; burst < 64; ++burst) {
    const std::size_t n = (burst * 7) % 40;
    for (std::size_t i = 0; i < n; ++i) {
      T item{};
      item.seq = next++;
      ASSERT_TRUE(ring.try_push(item));
    }
    for (std::size_t i = 0; i < n; ++i) {
      T out{};
      ASSERT_TRUE(ring.try_pop(out)) << "burst " << burst << " item " << i;
      ASSERT_EQ(out.seq, expected++);
    }
    T none{};
    EXPECT_FALSE(ring.try_pop(none));
    EXPECT_FALSE(ring.try_pop(none));
  }
  EXPECT_EQ(expected, next);
}

TEST(SpscRing, ADrainedConsumerSeesEveryPublishedItemAtOnce) {
  check_drained_consumer_sees_every_item<Small>();
  check_drained_consumer_sees_every_item<Line>();
}

// A consumer that streams (learns of runs from a slot ~2 KiB ahead, reads
// whole lines only, keeps its distance from the producer) still gets every
// item once the producer stops: the partial line at the end of a burst and
// a single late item are never withheld. Both read paths, both item sizes,
// in a ring big enough to stream (>= 4 * 2 KiB of slots).
template <typename T>
void check_streaming_consumer_gets_the_tail_of_every_burst() {
  SpscRing<T> ring(4096);
  std::uint64_t pushed = 0;
  std::uint64_t next = 0;
  auto push = [&](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      T item{};
      item.seq = pushed++;
      ASSERT_TRUE(ring.try_push(item));
    }
  };
  // Bursts that end mid-line and mid-slip; a lone item; then enough laps
  // that the far probe lands on slots of earlier laps.
  for (const std::uint64_t burst : {1000u, 3u, 1u, 257u, 129u, 1u, 4095u, 2u, 4096u, 7u}) {
    push(burst);
    // try_pop: every item of the burst, in order, with no further pushes.
    for (std::uint64_t i = 0; i < burst / 2; ++i) {
      T out{};
      ASSERT_TRUE(ring.try_pop(out)) << "burst " << burst << " item " << i;
      ASSERT_EQ(out.seq, next++);
    }
    // peek/release for the rest of it.
    while (next < pushed) {
      // Half the looks as a throughput consumer (may wait, never withholds).
      const auto span = ring.peek(100, next % 2 == 0 ? SpscRing<T>::kSlipPolls : 0);
      ASSERT_FALSE(span.empty()) << "burst " << burst << " withheld at " << next;
      span.for_each([&](const T& v) { EXPECT_EQ(v.seq, next++); });
      ring.release(span.size());
    }
    T none{};
    EXPECT_FALSE(ring.try_pop(none));
    EXPECT_TRUE(ring.peek().empty());
  }
  EXPECT_EQ(next, pushed);
}

TEST(SpscRing, AStreamingConsumerGetsTheTailOfEveryBurst) {
  check_streaming_consumer_gets_the_tail_of_every_burst<Small>();
  check_streaming_consumer_gets_the_tail_of_every_burst<Line>();
}

TEST(SpscRing, SlotsAreCacheLineAlignedAndStateBlocksSeparate) {
  SpscRing<Line> ring(8);
  auto span = ring.try_claim(1);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(span.first) % kCacheLineSize, 0u);
  // Two 128-byte hot blocks and one cold line: the object never shares a
  // hot line with a neighbour.
  EXPECT_EQ(sizeof(SpscRing<Line>), 3 * kCacheLineSize);
  EXPECT_EQ(alignof(SpscRing<Line>), kCacheLineSize);
}

}  // namespace
}  // namespace tickflow
