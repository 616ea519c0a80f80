// runtime/seqlock_slot.h: a reader never sees a torn value, however often the
// writer replaces it; before the first store there is nothing to read.
#include "runtime/seqlock_slot.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace tickflow {
namespace {

// Every word holds the same number: a torn copy mixes two.
struct Wide {
  std::uint64_t words[48];  // as large as a Signal (384 bytes)
};

TEST(SeqlockSlot, EmptyUntilTheFirstStore) {
  SeqlockSlot<Wide> slot;
  Wide out{};
  out.words[0] = 7;
  EXPECT_FALSE(slot.load(out));
  EXPECT_EQ(out.words[0], 7u) << "untouched";
  Wide in{};
  for (auto& w : in.words) w = 42;
  slot.store(in);
  ASSERT_TRUE(slot.load(out));
  for (const auto w : out.words) EXPECT_EQ(w, 42u);
}

TEST(SeqlockSlot, ReadersNeverSeeATornValue) {
  SeqlockSlot<Wide> slot;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    Wide v{};
    for (std::uint64_t n = 1; n <= 200'000; ++n) {
      for (auto& w : v.words) w = n;
      slot.store(v);
    }
    done = true;
  });
  std::uint64_t reads = 0, torn = 0, last = 0, backwards = 0;
  while (!done.load()) {
    Wide v{};
    if (!slot.load(v)) continue;
    ++reads;
    for (const auto w : v.words) torn += w != v.words[0];
    backwards += v.words[0] < last;
    last = v.words[0];
  }
  writer.join();
  EXPECT_GT(reads, 0u);
  EXPECT_EQ(torn, 0u);
  EXPECT_EQ(backwards, 0u) << "one writer's values come in its order";
  Wide v{};
  ASSERT_TRUE(slot.load(v));
  EXPECT_EQ(v.words[47], 200'000u);
}

}  // namespace
}  // namespace tickflow
