// ringbuffers/doorbell.h
//
// Doorbell: how a parked consumer sleeps on any number of rings and how their
// producers wake it. One Doorbell belongs to one consumer thread; every
// producer feeding that consumer calls notify() after it publishes.
//
// Costs
//  * notify() with nobody asleep: a compiler barrier and one relaxed load of a
//    line that stays in the Shared state in both caches, so no coherence
//    traffic and no atomic read-modify-write. This is the common case and the
//    reason the producer's wake "costs nothing when nobody sleeps".
//  * notify() with the consumer asleep: one exchange, one fetch_add and one
//    FUTEX_WAKE system call, paid by the first producer that sees the flag.
//  * wait_until(): the consumer's way to sleep. It sets the sleeping flag,
//    runs the heavy half of an asymmetric fence (membarrier, a few us), checks
//    its predicate once more, and sleeps in FUTEX_WAIT_BITSET_PRIVATE with an
//    absolute CLOCK_MONOTONIC deadline, so it wakes for bar closes and
//    shutdown even when no data comes.
//
// Why not std::atomic::wait: in GCC 12 it has no timed form, and for 8-byte
// atomics it goes through a process-global table with a seq_cst RMW on every
// notify_one, sleeping or not.
//
// Memory ordering
//  * Producer: publish (release store of its ring index) -> light fence ->
//    relaxed load of `sleeping_`. Consumer: store `sleeping_ = 1` -> heavy
//    fence -> predicate (acquire loads of ring indices). The fence pair
//    (asymmetric_fence.h) guarantees that at least one side sees the other's
//    store: either the predicate sees the new item and the consumer does not
//    sleep, or the producer sees `sleeping_ == 1` and wakes it.
//  * The futex word `generation_` closes the remaining window between the
//    consumer's last predicate check and the FUTEX_WAIT: the consumer reads
//    `generation_` before setting the flag, and the kernel refuses to sleep if
//    a producer has bumped it since.
//  * A producer that wins `sleeping_.exchange(0)` bumps `generation_` with
//    release before FUTEX_WAKE, so the woken consumer's acquire read of the
//    ring index sees everything published before the notify.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include "ringbuffers/asymmetric_fence.h"
#include "ringbuffers/cache_line.h"

namespace tickflow {

class Doorbell {
 public:
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux, as the futex deadline

  Doorbell() noexcept { AsymmetricFence::init(); }
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;

  // Producer side, after every publish (or once per published batch).
  void notify() noexcept {
    AsymmetricFence::light();
    if (sleeping_.load(std::memory_order_relaxed) != 0) [[unlikely]]
      wake();
  }

  // Consumer side. Sleeps until `ready()` is true or `deadline` passes, and
  // returns the last value of `ready()`. `ready` must be cheap and must only
  // read (it typically checks whether any of the consumer's rings is
  // non-empty). Spurious wake-ups are absorbed here.
  template <typename Ready>
  bool wait_until(Ready&& ready, Clock::time_point deadline) noexcept {
    for (;;) {
      const std::uint32_t generation = generation_.load(std::memory_order_acquire);
      sleeping_.store(1, std::memory_order_relaxed);
      AsymmetricFence::heavy();
      if (ready()) {
        sleeping_.store(0, std::memory_order_relaxed);
        return true;
      }
      if (Clock::now() >= deadline) {
        sleeping_.store(0, std::memory_order_relaxed);
        return false;
      }
      futex_wait(generation, deadline);
      sleeping_.store(0, std::memory_order_relaxed);
      if (ready()) return true;
      ++wakeups_without_work_;
    }
  }

  // Number of times the consumer woke and found nothing (spurious wakes,
  // stale notifies). A metric for tuning, read by the consumer thread only.
  std::uint64_t wakeups_without_work() const noexcept { return wakeups_without_work_; }

 private:
  void wake() noexcept {
    // Only the producer that clears the flag pays for the system call.
    if (sleeping_.exchange(0, std::memory_order_acq_rel) == 0) return;
    generation_.fetch_add(1, std::memory_order_release);
    ::syscall(SYS_futex, &generation_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

  void futex_wait(std::uint32_t expected, Clock::time_point deadline) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    timespec abs{};
    abs.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    abs.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    // Returns on wake, on EAGAIN (generation moved: a notify raced us), on
    // ETIMEDOUT and on EINTR; the caller's loop re-checks in every case.
    ::syscall(SYS_futex, &generation_, FUTEX_WAIT_BITSET_PRIVATE, expected, &abs, nullptr, FUTEX_BITSET_MATCH_ANY);
  }

  static_assert(sizeof(std::atomic<std::uint32_t>) == 4, "futex words are 32 bits");

  // Both words on one line of their own: producers read `sleeping_` on every
  // notify, so it must not share a line with anything that is written often.
  alignas(kCacheLineSize) std::atomic<std::uint32_t> sleeping_{0};
  std::atomic<std::uint32_t> generation_{0};  // the futex word
  // Consumer-private, on a separate line so its writes never invalidate the
  // line producers read.
  alignas(kCacheLineSize) std::uint64_t wakeups_without_work_ = 0;
};

}  // namespace tickflow
