// runtime/feed_channel.h: one producer's ring into the aggregator.
//
//  * events come out in the order they went in, across many wrap-arounds;
//  * kDrop returns at once with what fitted, counting every full ring and
//    every dropped event; kBlock waits and loses nothing, and a blocked
//    producer gives up (counted as dropped) once the channel is aborted;
//  * close() / finished() / has_pending(): "finished" is closed and drained.
#include "runtime/feed_channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace tickflow {
namespace {

using namespace std::chrono_literals;

FeedEvent trade_event(std::uint64_t id) {
  Trade t;
  t.trade_id = id;
  t.market = 0;
  t.exchange_ts_ns = static_cast<std::int64_t>(id) * 1'000'000;
  t.receive_ts_ns = t.exchange_ts_ns;
  t.price = 100.0 + static_cast<double>(id);
  t.qty = 1.0;
  return FeedEvent::of(t);
}

std::vector<FeedEvent> trade_events(std::uint64_t first, std::size_t n) {
  std::vector<FeedEvent> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(trade_event(first + i));
  return out;
}

// Takes up to `max` events, appending their trade ids.
std::size_t take(FeedChannel& channel, std::vector<std::uint64_t>& ids, std::size_t max) {
  return channel.consume([&](const FeedEvent& e) { ids.push_back(e.trade.trade_id); }, max);
}

TEST(FeedChannel, KeepsOrderAndCountsAcrossWrapAround) {
  Doorbell doorbell;
  FeedChannel channel("tf-feed-0", 8, FullRingPolicy::kBlock, doorbell);
  EXPECT_EQ(channel.capacity(), 8u);
  EXPECT_EQ(channel.name(), "tf-feed-0");
  EXPECT_EQ(channel.policy(), FullRingPolicy::kBlock);

  // Batches of 5 in, up to 3 (then the rest) out: the ring wraps ~125 times
  // and is often partly full, never over-full (so kBlock never waits).
  constexpr std::uint64_t kTotal = 1000;
  std::vector<std::uint64_t> ids;
  std::uint64_t next = 0;
  while (next < kTotal) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(5, kTotal - next));
    const auto batch = trade_events(next, n);
    ASSERT_EQ(channel.publish(batch.data(), n), n);
    next += n;
    EXPECT_TRUE(channel.has_pending());
    take(channel, ids, 3);
    if (channel.depth() > 3) take(channel, ids, 8);
  }
  while (channel.has_pending()) take(channel, ids, 8);

  ASSERT_EQ(ids.size(), kTotal);
  for (std::uint64_t i = 0; i < kTotal; ++i) ASSERT_EQ(ids[i], i) << "at " << i;
  EXPECT_EQ(channel.counters().published.load(), kTotal);
  EXPECT_EQ(channel.counters().full_events.load(), 0u);
  EXPECT_EQ(channel.counters().dropped.load(), 0u);
  EXPECT_EQ(channel.depth(), 0u);
}

TEST(FeedChannel, DropPolicyKeepsWhatFitsAndCountsTheRest) {
  Doorbell doorbell;
  FeedChannel channel("drop", 8, FullRingPolicy::kDrop, doorbell);
  const auto batch = trade_events(0, 20);
  EXPECT_EQ(channel.publish(batch.data(), 20), 8u);  // no consumer: 8 fit
  EXPECT_EQ(channel.counters().full_events.load(), 1u);
  EXPECT_EQ(channel.counters().dropped.load(), 12u);
  EXPECT_EQ(channel.counters().published.load(), 8u);
  for (std::uint64_t id = 20; id < 23; ++id) {
    const FeedEvent one = trade_event(id);
    EXPECT_EQ(channel.publish(&one, 1), 0u);
  }
  EXPECT_EQ(channel.counters().full_events.load(), 4u);
  EXPECT_EQ(channel.counters().dropped.load(), 15u);
  EXPECT_EQ(channel.counters().published.load(), 8u);
  EXPECT_EQ(channel.depth(), 8u);

  std::vector<std::uint64_t> ids;
  EXPECT_EQ(take(channel, ids, 100), 8u);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_FALSE(channel.has_pending());

  // Room again: publishing works, and nothing more is counted as full.
  const auto more = trade_events(100, 5);
  EXPECT_EQ(channel.publish(more.data(), 5), 5u);
  EXPECT_EQ(channel.counters().published.load(), 13u);
  EXPECT_EQ(channel.counters().full_events.load(), 4u);
  EXPECT_EQ(channel.counters().dropped.load(), 15u);
  ids.clear();
  EXPECT_EQ(take(channel, ids, 100), 5u);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{100, 101, 102, 103, 104}));
}

TEST(FeedChannel, BlockPolicyLosesNothingBehindASlowConsumer) {
  Doorbell doorbell;
  FeedChannel channel("block", 16, FullRingPolicy::kBlock, doorbell);
  constexpr std::uint64_t kTotal = 100'000;
  std::atomic<std::uint64_t> short_publishes{0};
  std::thread producer([&] {
    std::uint64_t next = 0;
    while (next < kTotal) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(7, kTotal - next));
      const auto batch = trade_events(next, n);
      if (channel.publish(batch.data(), n) != n) short_publishes.fetch_add(1);
      next += n;
    }
    channel.close();
  });

  std::vector<std::uint64_t> ids;
  ids.reserve(kTotal);
  std::size_t batches = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!channel.finished() && std::chrono::steady_clock::now() < deadline) {
    if (take(channel, ids, 16) > 0 && ++batches % 16 == 0) std::this_thread::sleep_for(20us);  // slow
  }
  producer.join();
  ASSERT_TRUE(channel.finished()) << "timed out with " << ids.size() << " events";

  EXPECT_EQ(short_publishes.load(), 0u);
  ASSERT_EQ(ids.size(), kTotal);
  std::uint64_t out_of_order = 0;
  for (std::uint64_t i = 0; i < kTotal; ++i) out_of_order += ids[i] != i;
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(channel.counters().published.load(), kTotal);
  EXPECT_GT(channel.counters().full_events.load(), 0u);
  EXPECT_EQ(channel.counters().dropped.load(), 0u);
}

TEST(FeedChannel, AbortReleasesABlockedProducer) {
  // Heap-allocated and only released once the producer is known to be done:
  // if abort() failed to release it, the thread is detached and must not
  // touch a destroyed channel.
  auto doorbell = std::make_unique<Doorbell>();
  auto channel = std::make_unique<FeedChannel>("abort", 8, FullRingPolicy::kBlock, *doorbell);
  auto batch = std::make_shared<std::vector<FeedEvent>>(trade_events(0, 20));
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto sent = std::make_shared<std::atomic<std::size_t>>(0);
  FeedChannel* ch = channel.get();
  std::thread producer([ch, batch, done, sent] {
    sent->store(ch->publish(batch->data(), batch->size()));
    done->store(true);
  });

  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(done->load()) << "kBlock with no consumer must wait";
  channel->abort();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done->load() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  if (!done->load()) {
    ADD_FAILURE() << "the producer did not return within 5 s of abort()";
    producer.detach();
    (void)channel.release();  // leaked on purpose: the thread may still use it
    (void)doorbell.release();
    return;
  }
  producer.join();
  EXPECT_EQ(sent->load(), 8u);
  EXPECT_EQ(channel->counters().published.load(), 8u);
  EXPECT_EQ(channel->counters().dropped.load(), 12u);
  EXPECT_EQ(channel->counters().full_events.load(), 1u);
  // What went in before the abort is still there, in order.
  std::vector<std::uint64_t> ids;
  EXPECT_EQ(take(*channel, ids, 100), 8u);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(FeedChannel, FinishedMeansClosedAndDrained) {
  Doorbell doorbell;
  FeedChannel channel("c", 8, FullRingPolicy::kBlock, doorbell);
  EXPECT_FALSE(channel.has_pending());
  EXPECT_FALSE(channel.closed());
  EXPECT_FALSE(channel.finished());  // open and empty: more may come

  const auto batch = trade_events(0, 3);
  ASSERT_EQ(channel.publish(batch.data(), 3), 3u);
  EXPECT_TRUE(channel.has_pending());
  EXPECT_EQ(channel.depth(), 3u);
  channel.close();
  EXPECT_TRUE(channel.closed());
  EXPECT_FALSE(channel.finished());  // closed, not drained

  std::vector<std::uint64_t> ids;
  EXPECT_EQ(take(channel, ids, 2), 2u);
  EXPECT_TRUE(channel.has_pending());
  EXPECT_FALSE(channel.finished());
  EXPECT_EQ(take(channel, ids, 2), 1u);
  EXPECT_FALSE(channel.has_pending());
  EXPECT_TRUE(channel.finished());
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{0, 1, 2}));
  EXPECT_EQ(take(channel, ids, 2), 0u);
  EXPECT_TRUE(channel.finished());

  // Closed while empty: finished at once.
  FeedChannel empty("e", 4, FullRingPolicy::kDrop, doorbell);
  empty.close();
  EXPECT_TRUE(empty.closed());
  EXPECT_FALSE(empty.has_pending());
  EXPECT_TRUE(empty.finished());
}

}  // namespace
}  // namespace tickflow
