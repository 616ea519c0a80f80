// Multi-threaded stress test of SpscByteRing: one producer, one consumer,
// millions of records (5M; 500k under TSan) of random lengths 1..2000 bytes
// through a small ring (it is full, empty and wrapping all the time), every
// API mixed. Each record's length and bytes are a function of its sequence
// number, and records of 8 bytes or more start with the sequence number
// itself, so a lost, repeated, reordered, torn or stale record shows as a
// mismatch. The tsan preset runs it too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include "ringbuffers/byte_ring.h"

namespace tickflow {
namespace {

// ~5 GB through the ring. ThreadSanitizer checks every byte memcpy and
// memcmp touch (about 4 shadow updates per 8 bytes here), which makes the
// full run take minutes; under TSan a tenth of it still crosses every path
// (full, empty, wrap) hundreds of thousands of times.
#if defined(__SANITIZE_THREAD__)
constexpr std::uint64_t kRecords = 500'000;
#else
constexpr std::uint64_t kRecords = 5'000'000;
#endif
constexpr std::size_t kMaxLength = 2000;

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The record for sequence number `seq`: its length, and where in the shared
// table of seeded pseudo-random bytes its content starts. Content comes from
// one table so that both sides copy and compare with memcpy/memcmp, which
// keeps the test fast under ThreadSanitizer too.
struct Shape {
  std::size_t length;
  std::size_t offset;
};
Shape shape(std::uint64_t seq) {
  const std::uint64_t h = mix(seq);
  return {1 + static_cast<std::size_t>(h % kMaxLength), static_cast<std::size_t>((h >> 32) % 4096)};
}

const std::vector<char>& table() {
  static const std::vector<char> bytes = [] {
    std::vector<char> v(4096 + kMaxLength);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>(mix(i ^ 0xC0FFEE) & 0xFF);
    return v;
  }();
  return bytes;
}

void fill(char* out, std::uint64_t seq) {
  const Shape s = shape(seq);
  std::memcpy(out, table().data() + s.offset, s.length);
  if (s.length >= sizeof seq) std::memcpy(out, &seq, sizeof seq);
}

bool matches(std::string_view record, std::uint64_t seq) {
  const Shape s = shape(seq);
  if (record.size() != s.length) return false;
  if (s.length >= sizeof seq) {
    std::uint64_t got;
    std::memcpy(&got, record.data(), sizeof got);
    return got == seq &&
           std::memcmp(record.data() + sizeof seq, table().data() + s.offset + sizeof seq, s.length - sizeof seq) == 0;
  }
  return std::memcmp(record.data(), table().data() + s.offset, s.length) == 0;
}

struct XorShift {
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

TEST(ByteRingStress, MillionsOfRandomLengthRecordsArriveInOrderIntact) {
  table();                     // built before the threads start
  SpscByteRing ring(1 << 15);  // 32 KiB: ~30 records of average size
  std::atomic<bool> consumer_failed{false};

  std::thread producer([&] {
    XorShift rng{0x1234567};
    std::vector<char> scratch(kMaxLength);
    std::uint64_t seq = 0;
    while (seq < kRecords && !consumer_failed.load(std::memory_order_relaxed)) {
      const std::size_t length = shape(seq).length;
      bool pushed = false;
      switch (rng.next() & 3) {
        case 0:  // the convenience copy
          fill(scratch.data(), seq);
          pushed = ring.try_push(std::string_view(scratch.data(), length));
          break;
        case 1:  // claim exactly, write in place
          if (char* at = ring.try_claim(length)) {
            fill(at, seq);
            ring.publish();
            pushed = true;
          }
          break;
        default:  // claim the maximum, publish what was written (the recorder's way)
          if (char* at = ring.try_claim(kMaxLength)) {
            fill(at, seq);
            ring.publish(length);
            pushed = true;
          }
          break;
      }
      if (pushed)
        ++seq;
      else
        std::this_thread::yield();
    }
  });

  XorShift rng{0x7654321};
  std::uint64_t expected = 0, mismatches = 0, first_bad = 0;
  auto check = [&](std::string_view record) {
    if (!matches(record, expected)) [[unlikely]] {
      if (mismatches++ == 0) first_bad = expected;
    }
    ++expected;
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (expected < kRecords && mismatches == 0) {
    std::size_t got = 0;
    if ((rng.next() & 1) != 0) {
      got = ring.consume(check, 1 + rng.next() % 64);
    } else if (auto record = ring.peek()) {
      check(*record);
      ring.pop();
      got = 1;
    }
    if (got == 0) {
      std::this_thread::yield();
      if (std::chrono::steady_clock::now() > give_up) break;
    }
  }
  consumer_failed.store(mismatches != 0, std::memory_order_relaxed);
  producer.join();

  EXPECT_EQ(mismatches, 0u) << "first bad record at seq " << first_bad;
  EXPECT_EQ(expected, kRecords);
  EXPECT_FALSE(ring.peek().has_value()) << "no record may appear twice or from nowhere";
}

}  // namespace
}  // namespace tickflow
