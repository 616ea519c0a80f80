// Functional tests of SpscByteRing, single-threaded: empty, full, the WRAP
// marker at the end of the buffer, oversize records, variable sizes, and the
// claim / partial-publish path the capture recorder uses.
#include "ringbuffers/byte_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace tickflow {
namespace {

std::string pattern(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed * 131 + i * 7 + (i >> 3)) & 0xFF);
  return s;
}

TEST(ByteRing, RejectsCapacityThatIsNotAPowerOfTwoOrTooSmall) {
  for (std::size_t bad : {0u, 1u, 32u, 63u, 100u, 1000u}) {
    EXPECT_THROW(SpscByteRing{bad}, std::invalid_argument) << bad;
  }
  SpscByteRing ring(64);
  EXPECT_EQ(ring.capacity(), 64u);
  EXPECT_EQ(ring.max_record_size(), 24u);  // 64/2 - 8-byte header
  EXPECT_EQ(SpscByteRing::record_bytes(0), 8u);
  EXPECT_EQ(SpscByteRing::record_bytes(1), 16u);
  EXPECT_EQ(SpscByteRing::record_bytes(8), 16u);
  EXPECT_EQ(SpscByteRing::record_bytes(9), 24u);
}

TEST(ByteRing, EmptyRingYieldsNothing) {
  SpscByteRing ring(256);
  EXPECT_FALSE(ring.peek().has_value());
  EXPECT_FALSE(ring.readable());
  EXPECT_EQ(ring.consume([](std::string_view) { FAIL(); }), 0u);
  EXPECT_TRUE(ring.empty_approx());
  EXPECT_EQ(ring.used_bytes_approx(), 0u);
}

TEST(ByteRing, RoundTripsOneRecordInPlace) {
  SpscByteRing ring(256);
  ASSERT_TRUE(ring.try_push("hello"));
  EXPECT_TRUE(ring.readable());
  EXPECT_EQ(ring.used_bytes_approx(), 16u);
  auto record = ring.peek();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(*record, "hello");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(record->data()) % 8, 0u) << "payloads are 8-byte aligned";
  EXPECT_EQ(*ring.peek(), "hello") << "peek does not remove";
  ring.pop();
  EXPECT_FALSE(ring.peek().has_value());
  EXPECT_TRUE(ring.empty_approx());
}

TEST(ByteRing, ZeroLengthRecordsAreRecordsNotEmptiness) {
  SpscByteRing ring(64);
  ASSERT_TRUE(ring.try_push(""));
  auto record = ring.peek();
  ASSERT_TRUE(record.has_value());
  EXPECT_TRUE(record->empty());
  ring.pop();
  EXPECT_FALSE(ring.peek().has_value());
}

TEST(ByteRing, FillsToExactCapacityThenRefuses) {
  SpscByteRing ring(128);
  // 8-byte payloads take 16 bytes with their header: 8 of them fill 128 bytes.
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ring.try_push(std::string(8, static_cast<char>('a' + i)))) << i;
  EXPECT_EQ(ring.used_bytes_approx(), 128u);
  EXPECT_FALSE(ring.try_push("x")) << "full: nothing is overwritten";
  EXPECT_EQ(ring.try_claim(0), nullptr);
  EXPECT_TRUE(ring.fill_exceeds(127));
  EXPECT_FALSE(ring.fill_exceeds(128));

  ring.peek();
  ring.pop();
  EXPECT_TRUE(ring.try_push("i"));  // one record freed, one accepted
  EXPECT_FALSE(ring.try_push("j"));
  std::string got;
  ring.consume([&](std::string_view r) { got += r.substr(0, 1); });
  EXPECT_EQ(got, "bcdefghi");
  EXPECT_TRUE(ring.empty_approx());
}

TEST(ByteRing, RefusesOversizeRecordsWithoutTouchingTheRing) {
  SpscByteRing ring(256);
  EXPECT_EQ(ring.max_record_size(), 120u);
  EXPECT_FALSE(ring.try_push(std::string(121, 'x')));
  EXPECT_EQ(ring.try_claim(121), nullptr);
  EXPECT_EQ(ring.try_claim(SIZE_MAX), nullptr);
  EXPECT_TRUE(ring.empty_approx());
  EXPECT_TRUE(ring.try_push(std::string(120, 'y'))) << "exactly max_record_size is accepted";
  EXPECT_EQ(ring.peek()->size(), 120u);
}

TEST(ByteRing, MaxSizeRecordAlwaysFitsInADrainedRingWhateverTheWritePosition) {
  SpscByteRing ring(256);
  const std::string big(ring.max_record_size(), 'B');
  // Walk the write position through every 8-byte offset; at each, a drained
  // ring must accept a max-size record (possibly after a WRAP marker).
  for (std::size_t step = 0; step < 64; ++step) {
    ASSERT_TRUE(ring.try_push(std::string(step % 3, 's'))) << step;
    ring.consume([](std::string_view) {});
    ASSERT_TRUE(ring.try_push(big)) << "step " << step;
    auto r = ring.peek();
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(*r, big);
    ring.pop();
  }
}

TEST(ByteRing, WrapsWithAPaddingMarkerSoRecordsStayContiguous) {
  SpscByteRing ring(128);
  // 3 records of 24 bytes (8 header + 16 payload) = 72 bytes: head at 72.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ring.try_push(pattern(16, i)));
  ring.consume([](std::string_view) {});
  // 56 bytes left before the end; a 56-byte payload needs 64: it must wrap.
  // Free space: 128, but it needs 56 (skip) + 64 = 120 bytes.
  const std::string wrapped = pattern(56, 7);
  char* at = ring.try_claim(wrapped.size());
  ASSERT_NE(at, nullptr);
  EXPECT_FALSE(ring.peek().has_value()) << "nothing is visible before publish";
  std::memcpy(at, wrapped.data(), wrapped.size());
  ring.publish();
  EXPECT_EQ(ring.used_bytes_approx(), 120u) << "the skipped tail counts as used until consumed";
  auto r = ring.peek();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, wrapped);
  // The record sits at the start of the buffer: 8 bytes after the header at 0.
  EXPECT_EQ(r->data(), at);
  ring.pop();
  EXPECT_TRUE(ring.empty_approx());
  // And the ring keeps working from offset 64.
  ASSERT_TRUE(ring.try_push("after"));
  EXPECT_EQ(*ring.peek(), "after");
}

TEST(ByteRing, WrapRefusedWhileTheSkippedBytesAreStillInUse) {
  SpscByteRing ring(128);
  ASSERT_TRUE(ring.try_push(pattern(40, 1)));  // 48 bytes at [0,48)
  ASSERT_TRUE(ring.try_push(pattern(24, 2)));  // 32 bytes at [48,80); 48 bytes left to the end
  ring.peek();
  ring.pop();  // [0,48) free: 96 bytes free in all
  // A 48-byte payload takes 56 bytes: it cannot fit in the 48 before the end,
  // so it needs those 48 skipped plus 56 at the start = 104 > 96 free, even
  // though 96 free bytes would hold it.
  EXPECT_EQ(ring.try_claim(48), nullptr);
  EXPECT_FALSE(ring.try_push(pattern(48, 3)));
  ASSERT_EQ(*ring.peek(), pattern(24, 2));
  ring.pop();
  ASSERT_TRUE(ring.try_push(pattern(48, 3))) << "with the ring drained it wraps";
  EXPECT_EQ(ring.used_bytes_approx(), 104u);
  EXPECT_TRUE(ring.try_push(pattern(8, 4))) << "16 bytes at [56,72)";
  std::vector<std::string> got;
  ring.consume([&](std::string_view r) { got.emplace_back(r); });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], pattern(48, 3));
  EXPECT_EQ(got[1], pattern(8, 4));
  EXPECT_TRUE(ring.empty_approx());
}

TEST(ByteRing, PartialPublishShrinksTheClaimedRecord) {
  SpscByteRing ring(256);
  char* at = ring.try_claim(100);
  ASSERT_NE(at, nullptr);
  std::memcpy(at, "abc", 3);
  ring.publish(3);
  EXPECT_EQ(ring.used_bytes_approx(), 16u);
  EXPECT_EQ(*ring.peek(), "abc");
}

TEST(ByteRing, AbandonedClaimIsInvisibleAndReplaced) {
  SpscByteRing ring(128);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ring.try_push(pattern(16, i)));
  ring.consume([](std::string_view) {});
  ASSERT_NE(ring.try_claim(56), nullptr);  // would wrap: writes a marker at 72, never published
  EXPECT_FALSE(ring.peek().has_value());
  ASSERT_TRUE(ring.try_push("small"));  // fits at 72: overwrites the unpublished marker
  EXPECT_EQ(*ring.peek(), "small");
}

TEST(ByteRing, VariableSizesKeepFifoOrderAcrossManyWraps) {
  SpscByteRing ring(1024);
  std::deque<std::string> expected;
  std::uint64_t seq = 0, state = 12345;
  auto rnd = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::size_t bytes_pushed = 0;
  for (int round = 0; round < 20000; ++round) {
    // Push until refused, with sizes 0..max, then drain a random amount.
    for (int k = 0; k < 1 + static_cast<int>(rnd() % 8); ++k) {
      const std::string s = pattern(rnd() % (ring.max_record_size() + 1), seq);
      if (!ring.try_push(s)) break;
      bytes_pushed += SpscByteRing::record_bytes(s.size());
      expected.push_back(s);
      ++seq;
    }
    const std::size_t take = rnd() % 6;
    if (rnd() & 1) {
      ring.consume(
          [&](std::string_view r) {
            ASSERT_FALSE(expected.empty());
            ASSERT_EQ(r, expected.front());
            expected.pop_front();
          },
          take);
    } else {
      for (std::size_t n = 0; n < take; ++n) {
        auto r = ring.peek();
        if (!r) break;
        ASSERT_FALSE(expected.empty());
        ASSERT_EQ(*r, expected.front());
        expected.pop_front();
        ring.pop();
      }
    }
  }
  ring.consume([&](std::string_view r) {
    ASSERT_EQ(r, expected.front());
    expected.pop_front();
  });
  EXPECT_TRUE(expected.empty());
  EXPECT_GT(seq, 10000u);
  EXPECT_GT(bytes_pushed, 1000 * ring.capacity()) << "the ring wrapped about a thousand times";
}

}  // namespace
}  // namespace tickflow
