// ringbuffers/asymmetric_fence.h
//
// An asymmetric store-load fence: a nearly free light() for the hot side and
// an expensive heavy() for the side that is about to go to sleep anyway.
//
// The wake-up handshake (doorbell.h) is a Dekker pattern: the producer stores
// its index then loads "is the consumer asleep?", the consumer stores "I am
// asleep" then loads the index. Both sides need a StoreLoad barrier or a
// wake-up can be lost. A plain seq_cst fence on the producer costs an MFENCE
// (~30 cycles, and it drains the store buffer) on *every publish*, which would
// be a third of a push. Instead the sleeping side calls membarrier(2) with
// MEMBARRIER_CMD_PRIVATE_EXPEDITED, which makes the kernel run a full barrier
// on every CPU currently running a thread of this process; a thread that is
// not running passes through a barrier when it is scheduled. That makes the
// producer's side a compiler barrier. This is the technique of liburcu and
// folly::asymmetric_thread_fence_{light,heavy}.
//
// Memory ordering
//   light() and heavy() together order each side's earlier stores before its
//   later loads, as a pair of seq_cst fences would: for a light() in thread A
//   and a heavy() in thread B, either A's stores before light() are visible to
//   B's loads after heavy(), or B's stores before heavy() are visible to A's
//   loads after light().
//
// Where membarrier is unavailable (old kernel, seccomp), both fall back to a
// real seq_cst fence; the choice is made once, on first use, and never changes.
#pragma once

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace tickflow {

namespace detail {
// True once this process has registered for expedited private membarrier.
// Written once, by AsymmetricFence::init() (which every Doorbell constructor
// calls), and never reset. Any reader that sees a stale `false` takes the
// full-fence path, which pairs correctly with either heavy() path.
inline std::atomic<bool> g_membarrier_registered{false};

inline long membarrier(int cmd) noexcept { return ::syscall(__NR_membarrier, cmd, 0U, 0); }

#if defined(__SANITIZE_THREAD__)
// GCC 12 warns (-Wtsan) that ThreadSanitizer does not model atomic_thread_fence.
// Under TSan the fallback is a seq_cst read-modify-write, which TSan models and
// which is a full barrier on x86.
inline std::atomic<unsigned> g_fence_word{0};
inline void full_fence() noexcept { g_fence_word.fetch_add(0, std::memory_order_seq_cst); }
#else
inline void full_fence() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }
#endif
}  // namespace detail

struct AsymmetricFence {
  // Registers the process for expedited membarrier (idempotent, thread-safe).
  // Returns whether heavy() will use membarrier.
  static bool init() noexcept {
    static const bool registered = [] {
      const long supported = detail::membarrier(MEMBARRIER_CMD_QUERY);
      if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
      if (detail::membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return false;
      detail::g_membarrier_registered.store(true, std::memory_order_relaxed);
      return true;
    }();
    return registered;
  }

  // Hot side: a compiler barrier when membarrier is registered.
  static void light() noexcept {
    if (detail::g_membarrier_registered.load(std::memory_order_relaxed)) [[likely]] {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      detail::full_fence();
    }
  }

  // Cold side: a process-wide barrier (a system call, ~1-10 us).
  static void heavy() noexcept {
    if (detail::g_membarrier_registered.load(std::memory_order_relaxed)) {
      // Cannot fail once registered (EINTR is not among its errors).
      if (detail::membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    }
    detail::full_fence();
  }
};

}  // namespace tickflow
