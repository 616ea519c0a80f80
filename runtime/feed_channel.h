// runtime/feed_channel.h
//
// FeedChannel: one producer thread's ring into the aggregator. Every feed
// thread has one, and so has the REST backfill worker: each ring has exactly
// one producer (architecture.md), and the aggregator is the one consumer of
// all of them.
//
//   producer (tf-feed-N, tf-backfill)          consumer (tf-agg)
//   publish(events, n) --SpscRing<FeedEvent>--> consume(handler, max)
//        \---- doorbell.notify() (shared) ----> waits on the same Doorbell
//
// A full ring is the aggregator falling behind. What the producer does then
// is the config's rings.full_policy:
//   kBlock  (default) wait (spin, then yield) until there is room: nothing is
//           lost; the feed's socket buffer and the exchange absorb the
//           stall. Waiting stops when the channel is aborted (shutdown, or
//           the aggregator died), so a producer never hangs.
//   kDrop   drop the events that do not fit, count them, return at once:
//           the feed thread keeps reading (fresh data over complete data).
// Both count every time the ring was found full (`full_events`).
//
// Memory ordering: the ring's own release/acquire carries the events. The
// `published` count is a second, relaxed-read/release-written copy of the
// producer's position that only the aggregator's wake-up predicate reads
// (so a parked aggregator needs one load per channel to decide whether to
// sleep); it is stored after the ring push, so a consumer that sees it
// advanced finds the items in the ring. Counters are relaxed atomics:
// statistics, read by the metrics thread.
#pragma once

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "pipeline/events.h"
#include "ringbuffers/cache_line.h"
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/full_ring_policy.h"
#include "ringbuffers/spsc_ring.h"

namespace tickflow {

struct FeedChannelCounters {
  std::atomic<std::uint64_t> published{0};    // events pushed
  std::atomic<std::uint64_t> full_events{0};  // publish() calls that found the ring full
  std::atomic<std::uint64_t> dropped{0};      // events dropped (kDrop, or aborted while blocked)
};

class FeedChannel {
 public:
  FeedChannel(std::string name, std::size_t capacity, FullRingPolicy policy, Doorbell& consumer_doorbell)
      : name_(std::move(name)), policy_(policy), ring_(capacity), doorbell_(consumer_doorbell) {}
  FeedChannel(const FeedChannel&) = delete;
  FeedChannel& operator=(const FeedChannel&) = delete;

  // --- producer thread --------------------------------------------------
  // Pushes `n` events. Returns how many were pushed: n, or fewer under kDrop
  // (or after abort()).
  std::size_t publish(const FeedEvent* events, std::size_t n) noexcept {
    std::size_t sent = ring_.try_push_n(events, n);
    if (sent != n) [[unlikely]]
      sent = publish_slow(events, n, sent);
    if (sent != 0) announce(sent);
    return sent;
  }

  // Writing in place: claim() returns up to `n` free slots (fewer, or none,
  // when the ring is fuller than that; nothing waits or drops here), the
  // caller writes events into them, then commit(k) publishes the first k
  // with the same bookkeeping and wake-up as publish(). A claim not
  // committed is simply claimed again next time.
  SpscRing<FeedEvent>::WriteSpan claim(std::size_t n) noexcept { return ring_.try_claim(n); }
  void commit(std::size_t k) noexcept {
    ring_.publish(k);
    announce(k);
  }

  // The producer will publish nothing more; the aggregator drains and sees
  // closed() once it has taken everything.
  void close() noexcept {
    closed_.store(true, std::memory_order_release);
    doorbell_.notify();
  }

  // --- consumer thread --------------------------------------------------
  template <typename Handler>
  std::size_t consume(Handler&& handler, std::size_t max_items) noexcept(noexcept(handler(FeedEvent{}))) {
    const std::size_t n = ring_.consume(handler, max_items);
    popped_ += n;
    return n;
  }
  // The producer published something the consumer has not taken yet.
  bool has_pending() const noexcept { return published_.load(std::memory_order_acquire) != popped_; }
  // Closed and drained: nothing will ever come again.
  bool finished() const noexcept { return closed_.load(std::memory_order_acquire) && !has_pending(); }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // --- any thread -------------------------------------------------------
  // A blocked producer gives up and drops (counted): shutdown past its
  // deadline, or a dead aggregator.
  void abort() noexcept { aborted_.store(true, std::memory_order_release); }
  const FeedChannelCounters& counters() const noexcept { return counters_; }
  std::size_t depth() const noexcept { return ring_.size_approx(); }
  std::size_t capacity() const noexcept { return ring_.capacity(); }
  const std::string& name() const noexcept { return name_; }
  FullRingPolicy policy() const noexcept { return policy_; }

 private:
  // `n` more events are in the ring: the aggregator's wake-up copy of the
  // position, the counter, and the doorbell.
  void announce(std::size_t n) noexcept {
    pushed_ += n;
    published_.store(pushed_, std::memory_order_release);
    counters_.published.store(pushed_, std::memory_order_relaxed);
    doorbell_.notify();
  }

  std::size_t publish_slow(const FeedEvent* events, std::size_t n, std::size_t sent) noexcept {
    counters_.full_events.fetch_add(1, std::memory_order_relaxed);
    if (policy_ == FullRingPolicy::kBlock) {
      // The aggregator may be parked: wake it, then give it the core (on a
      // 2-core host it may be waiting for exactly this one).
      for (unsigned attempt = 0; sent != n; ++attempt) {
        doorbell_.notify();
        if (aborted_.load(std::memory_order_relaxed)) break;
        if (attempt < 64)
          spin_pause();
        else
          sched_yield();
        sent += ring_.try_push_n(events + sent, n - sent);
      }
    }
    if (sent != n) counters_.dropped.fetch_add(n - sent, std::memory_order_relaxed);
    return sent;
  }

  const std::string name_;
  const FullRingPolicy policy_;
  SpscRing<FeedEvent> ring_;
  Doorbell& doorbell_;
  FeedChannelCounters counters_;
  // Producer-private position, then the shared copies, each on its own
  // block so the consumer's polling never invalidates the producer's line.
  std::uint64_t pushed_ = 0;
  alignas(kCacheLineSize * 2) std::atomic<std::uint64_t> published_{0};
  alignas(kCacheLineSize * 2) std::atomic<bool> closed_{false};
  std::atomic<bool> aborted_{false};
  // Consumer-private.
  alignas(kCacheLineSize * 2) std::uint64_t popped_ = 0;
};

}  // namespace tickflow
