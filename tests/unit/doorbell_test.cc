// Parking: an idle consumer costs (almost) no CPU, a push wakes it promptly,
// and every wait strategy honours its deadline. Wake-up latency as a
// distribution belongs to bench/ (BM_Doorbell_WakeLatency); here we only
// check the generous bound the issue sets (50 ms).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ringbuffers/doorbell.h"
#include "ringbuffers/spsc_ring.h"
#include "ringbuffers/wait_strategy.h"

namespace tickflow {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::chrono::microseconds thread_cpu_time() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return std::chrono::seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         std::chrono::microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

TEST(Doorbell, IdleParkedConsumerUsesUnderFivePercentOfACore) {
  SpscRing<int> ring(16);
  Doorbell bell;
  const WaitStrategy park{};  // the default strategy parks
  ASSERT_EQ(park.kind, WaitKind::kPark);

  std::chrono::microseconds cpu{};
  Clock::duration wall{};
  bool ready = true;
  std::thread consumer([&] {
    const auto cpu0 = thread_cpu_time();
    const auto t0 = Clock::now();
    ready = park.wait_for([&] { return !ring.empty_approx(); }, milliseconds(1000), &bell);
    wall = Clock::now() - t0;
    cpu = thread_cpu_time() - cpu0;
  });
  consumer.join();

  EXPECT_FALSE(ready) << "nothing was pushed";
  EXPECT_GE(wall, milliseconds(1000)) << "returned before its deadline";
  EXPECT_LT(cpu, milliseconds(50)) << "an idle parked consumer must use < 5 % of a core over 1 s";
}

TEST(Doorbell, PushWakesParkedConsumerWithin50ms) {
  for (int trial = 0; trial < 5; ++trial) {
    SpscRing<int> ring(16);
    Doorbell bell;
    const WaitStrategy park{};
    std::atomic<bool> waiting{false};
    Clock::time_point woke{};
    bool ready = false;
    std::thread consumer([&] {
      waiting.store(true);
      ready = park.wait_for([&] { return !ring.empty_approx(); }, std::chrono::seconds(10), &bell);
      woke = Clock::now();
    });
    while (!waiting.load()) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(100));  // long past spinning: it is asleep in the futex

    const auto pushed = Clock::now();
    ASSERT_TRUE(ring.try_push(trial));
    bell.notify();
    consumer.join();

    EXPECT_TRUE(ready);
    EXPECT_LT(woke - pushed, milliseconds(50)) << "trial " << trial;
  }
}

TEST(Doorbell, NotifyBeforeWaitIsNotLost) {
  SpscRing<int> ring(16);
  Doorbell bell;
  ASSERT_TRUE(ring.try_push(1));
  bell.notify();  // nobody asleep yet: must cost nothing and break nothing
  const auto t0 = Clock::now();
  EXPECT_TRUE(bell.wait_until([&] { return !ring.empty_approx(); }, Clock::now() + std::chrono::seconds(10)));
  EXPECT_LT(Clock::now() - t0, milliseconds(50));
}

class EveryWaitKind : public ::testing::TestWithParam<WaitKind> {};

TEST_P(EveryWaitKind, ReturnsFalseAtTheDeadlineWhenNothingArrives) {
  SpscRing<int> ring(16);
  Doorbell bell;
  const WaitStrategy wait{GetParam(), /*spin_ns=*/1500, /*yield_iterations=*/2};
  const auto t0 = Clock::now();
  EXPECT_FALSE(wait.wait_for([&] { return !ring.empty_approx(); }, milliseconds(100), &bell));
  const auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, milliseconds(100));
  EXPECT_LT(elapsed, milliseconds(300)) << "overslept its deadline";
}

TEST_P(EveryWaitKind, WakesWhenAnItemArrives) {
  SpscRing<int> ring(16);
  Doorbell bell;
  const WaitStrategy wait{GetParam(), /*spin_ns=*/1500, /*yield_iterations=*/2};
  std::thread producer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    ASSERT_TRUE(ring.try_push(5));
    bell.notify();
  });
  EXPECT_TRUE(wait.wait_for([&] { return !ring.empty_approx(); }, std::chrono::seconds(10), &bell));
  int out = 0;
  EXPECT_TRUE(ring.try_pop(out));
  EXPECT_EQ(out, 5);
  producer.join();
}

TEST_P(EveryWaitKind, ParkWithoutDoorbellDegradesInsteadOfHanging) {
  SpscRing<int> ring(16);
  const WaitStrategy wait{GetParam(), /*spin_ns=*/200, /*yield_iterations=*/1};
  EXPECT_FALSE(wait.wait_for([&] { return !ring.empty_approx(); }, milliseconds(30), nullptr));
}

INSTANTIATE_TEST_SUITE_P(WaitStrategy, EveryWaitKind,
                         ::testing::Values(WaitKind::kBusySpin, WaitKind::kSpinYield, WaitKind::kPark),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(WaitStrategy, ParsesTheNamesItPrints) {
  for (auto kind : {WaitKind::kBusySpin, WaitKind::kSpinYield, WaitKind::kPark}) {
    EXPECT_EQ(parse_wait_kind(to_string(kind)), kind);
  }
  EXPECT_EQ(parse_wait_kind("sleep"), std::nullopt);
}

}  // namespace
}  // namespace tickflow
