// runtime/seqlock_slot.h
//
// SeqlockSlot<T>: one trivially copyable value that a single thread
// replaces now and then and any thread may read, without a lock and without
// allocating: how a pipeline thread shows /health its latest signal or its
// latest problem text without ever waiting for a scrape.
//
// The writer never waits. A reader retries while a write is in progress or
// happened during its copy; it can starve only under a writer that never
// stops writing, which these slots' writers (a signal, a changed error:
// seconds apart) are not.
//
// Memory ordering: the value is stored as relaxed atomic 64-bit words, so no
// byte is ever read and written concurrently in the C++ sense (and TSan
// agrees). store(): the sequence goes odd, a release fence orders that
// before the words, then the sequence goes even with release. load(): the
// sequence is read with acquire (an odd one, or one that changes across
// the copy, means retry), the words relaxed, then an acquire fence orders
// the words before the second read of the sequence. A reader that saw the
// same even sequence before and after copied exactly one write's words.
//
// Threads: store() from one thread at a time; load() from any.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tickflow {

template <typename T>
class SeqlockSlot {
  static_assert(std::is_trivially_copyable_v<T>, "the slot copies T word by word");

 public:
  SeqlockSlot() noexcept {
    for (auto& w : words_) w.store(0, std::memory_order_relaxed);
  }

  void store(const T& value) noexcept {
    std::array<std::uint64_t, kWords> raw{};
    std::memcpy(raw.data(), &value, sizeof(T));
    const std::uint64_t seq = sequence_.load(std::memory_order_relaxed);
    sequence_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t i = 0; i < kWords; ++i) words_[i].store(raw[i], std::memory_order_relaxed);
    sequence_.store(seq + 2, std::memory_order_release);
    written_.store(true, std::memory_order_release);
  }

  // False (and `out` untouched) until the first store().
  bool load(T& out) const noexcept {
    if (!written_.load(std::memory_order_acquire)) return false;
    std::array<std::uint64_t, kWords> raw{};
    for (;;) {
      const std::uint64_t before = sequence_.load(std::memory_order_acquire);
      if (before & 1) continue;  // a write in progress
      for (std::size_t i = 0; i < kWords; ++i) raw[i] = words_[i].load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (sequence_.load(std::memory_order_relaxed) == before) break;
    }
    std::memcpy(static_cast<void*>(&out), raw.data(), sizeof(T));  // T is trivially copyable
    return true;
  }

 private:
  static constexpr std::size_t kWords = (sizeof(T) + 7) / 8;
  std::atomic<std::uint64_t> sequence_{0};
  std::atomic<bool> written_{false};
  std::array<std::atomic<std::uint64_t>, kWords> words_;
};

}  // namespace tickflow
