// ringbuffers/byte_ring.h
//
// SpscByteRing: a bounded, wait-free, single-producer / single-consumer ring
// of variable-length byte records. It carries raw frames from a feed thread
// to the capture recorder's writer thread without a std::string (or any
// allocation) per frame: the producer copies the frame into the ring once,
// the consumer reads it in place.
//
// Record layout: an 8-byte header holding the payload length, then the
// payload, rounded up to 8 bytes so the next header is aligned:
//
//   | len | payload ... pad | len | payload ... | WRAP | (unused to end) |
//
// A record that would run past the end of the buffer is not split: the
// producer writes a WRAP marker in its place and puts the record at offset 0.
// So every record the consumer sees is one contiguous string_view.
//
// Design:
//  * Producer and consumer state live on separate 128-byte blocks (see
//    cache_line.h), each with its own read-only copy of the geometry, so a
//    push or a pop writes only its own line and the record's lines.
//  * Each side caches the other's index and reloads it (a cross-core miss)
//    only when the cached copy says "no room" or "empty".
//  * Indices are 64-bit byte positions that never wrap; the buffer offset is
//    `position & mask`. Free space is `capacity - (head - tail)`.
//  * A payload may be at most max_record_size() = capacity/2 - 8 bytes. With
//    header and rounding, a record then takes at most half the ring, and a
//    wrapped record (padding to the end plus the record) at most the whole
//    ring. That bound is what guarantees that any accepted size fits once the
//    consumer has drained the ring, wherever the write position is: a bigger
//    record could be refused forever. Larger payloads are refused (nullptr /
//    false), never truncated; the caller counts them.
//  * The consumer batch-drains (consume()): it reads many records and frees
//    them with one store, as the Disruptor's batching consumers do.
//  * The buffer is zeroed at construction, which faults in every page: no
//    allocation and no page fault happen after construction.
//
// Memory ordering
//  * Producer: writes the payload and the header (and the WRAP marker, if
//    any), then `head.store(release)`. Consumer: `head.load(acquire)`, then
//    reads headers and payloads. The release/acquire pair makes every byte
//    of a published record (and its marker) happen-before the consumer's
//    reads of it.
//  * Consumer: reads records, then `tail.store(release)`. Producer:
//    `tail.load(acquire)`, then overwrites the freed bytes. So a record is
//    never overwritten while it is being read.
//  * The WRAP marker is written only into bytes the consumer has released,
//    and published by the same head store as the record after it, so the
//    consumer never sees a marker without its record.
//  * Each side's own index is written only by that side and read by it with
//    relaxed loads; the cached copies and the claim state are plain fields
//    owned by one thread.
//  * Waking a sleeping consumer is not this class's business (doorbell.h).
//
// Thread safety: exactly one producer thread may call the producer methods
// (try_claim, publish, try_push, fill_exceeds) and exactly one consumer
// thread the consumer methods (peek, pop, consume, readable). Construction
// and destruction must not race with either.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ringbuffers/cache_line.h"

namespace tickflow {

class SpscByteRing {
 public:
  static constexpr std::size_t kHeaderBytes = 8;
  static constexpr std::size_t kAlignment = 8;
  static constexpr std::size_t kMinCapacity = 64;

  // `capacity_bytes` must be a power of two >= kMinCapacity. The check
  // throws: construction is configuration time.
  explicit SpscByteRing(std::size_t capacity_bytes) : capacity_(validated(capacity_bytes)) {
    buffer_ = static_cast<char*>(::operator new (capacity_, std::align_val_t{kCacheLineSize}));
    std::memset(buffer_, 0, capacity_);  // faults every page in now, not on the hot path
    producer_.buffer = buffer_;
    producer_.mask = capacity_ - 1;
    consumer_.buffer = buffer_;
    consumer_.mask = capacity_ - 1;
  }

  ~SpscByteRing() { ::operator delete (buffer_, std::align_val_t{kCacheLineSize}); }

  SpscByteRing(const SpscByteRing&) = delete;
  SpscByteRing& operator=(const SpscByteRing&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }
  // The largest payload try_claim / try_push accept.
  std::size_t max_record_size() const noexcept { return capacity_ / 2 - kHeaderBytes; }

  // Bytes a record with an `n`-byte payload occupies in the ring.
  static constexpr std::size_t record_bytes(std::size_t n) noexcept {
    return (kHeaderBytes + n + kAlignment - 1) & ~(kAlignment - 1);
  }

  // ---- producer -----------------------------------------------------------

  // Reserves room for a payload of `n` bytes and returns where to write it
  // (8-byte aligned, contiguous), or nullptr when the ring has no room now or
  // `n > max_record_size()` (never). Nothing is visible to the consumer until
  // publish(). A new claim before publish abandons the previous one.
  char* try_claim(std::size_t n) noexcept {
    if (n > max_record_size()) [[unlikely]]
      return nullptr;
    const std::uint64_t head = producer_.head.load(std::memory_order_relaxed);
    const std::uint64_t capacity = producer_.mask + 1;
    const auto offset = static_cast<std::size_t>(head & producer_.mask);
    const std::size_t until_end = static_cast<std::size_t>(capacity) - offset;
    const std::size_t need = record_bytes(n);
    // until_end is a multiple of 8, so a WRAP header always fits before the end.
    const std::size_t skip = need <= until_end ? 0 : until_end;
    if (capacity - (head - producer_.cached_tail) < skip + need) {
      producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
      if (capacity - (head - producer_.cached_tail) < skip + need) return nullptr;
    }
    if (skip != 0) store_header(producer_.buffer + offset, kWrapMarker);
    producer_.claim_start = head + skip;
    producer_.claim_size = n;
    return producer_.buffer + static_cast<std::size_t>(producer_.claim_start & producer_.mask) + kHeaderBytes;
  }

  // Publishes the claimed record with its full claimed length.
  void publish() noexcept { publish(producer_.claim_size); }

  // Publishes the claimed record with a payload of `used` bytes, used <= the
  // claimed size (claim the maximum, write, publish what was written).
  // Precondition: a successful try_claim() since the last publish.
  void publish(std::size_t used) noexcept {
    const std::uint64_t start = producer_.claim_start;
    store_header(producer_.buffer + static_cast<std::size_t>(start & producer_.mask), used);
    producer_.head.store(start + record_bytes(used), std::memory_order_release);
  }

  // Copies `record` in as one record. False, changing nothing, when there is
  // no room or the record is larger than max_record_size().
  bool try_push(std::string_view record) noexcept {
    char* out = try_claim(record.size());
    if (out == nullptr) return false;
    if (!record.empty()) std::memcpy(out, record.data(), record.size());
    publish();
    return true;
  }

  // True when more than `bytes` of the ring are in use. Reloads the
  // consumer's index only when the cached view says so, so a producer can
  // call it after every push to decide whether to wake a sleeping consumer.
  bool fill_exceeds(std::size_t bytes) noexcept {
    const std::uint64_t head = producer_.head.load(std::memory_order_relaxed);
    if (head - producer_.cached_tail <= bytes) return false;
    producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
    return head - producer_.cached_tail > bytes;
  }

  // ---- consumer -----------------------------------------------------------

  // The oldest record, without removing it, or nullopt when the ring is
  // empty. The view stays valid until pop() or consume().
  std::optional<std::string_view> peek() noexcept {
    std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    if (tail == consumer_.cached_head) {
      consumer_.cached_head = producer_.head.load(std::memory_order_acquire);
      if (tail == consumer_.cached_head) return std::nullopt;
    }
    const std::string_view record = read_record(tail);
    consumer_.peeked_end = tail;
    return record;
  }

  // Removes the record the last peek() returned. Precondition: that peek()
  // returned a record.
  void pop() noexcept { consumer_.tail.store(consumer_.peeked_end, std::memory_order_release); }

  // Calls `f(std::string_view)` on up to `max_records` records, oldest first,
  // then frees them all with one store. Returns the count. The views are
  // valid only during the call. The producer's index is reloaded at most
  // once per call, when the records known from the cached copy run out: a
  // call sees everything published before it (up to `max_records`), and a
  // producer that keeps publishing cannot keep it running.
  template <typename F>
  std::size_t consume(F&& f, std::size_t max_records = SIZE_MAX) noexcept(noexcept(f(std::string_view{}))) {
    std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    bool reloaded = false;
    std::size_t count = 0;
    while (count < max_records) {
      if (tail == consumer_.cached_head) {
        if (reloaded) break;
        consumer_.cached_head = producer_.head.load(std::memory_order_acquire);
        reloaded = true;
        if (tail == consumer_.cached_head) break;
      }
      f(read_record(tail));
      ++count;
    }
    if (count != 0) consumer_.tail.store(tail, std::memory_order_release);
    return count;
  }

  // True when a record is ready. Read-only on shared state (one acquire load
  // at most), so it can serve as a Doorbell predicate.
  bool readable() const noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    return tail != consumer_.cached_head || tail != producer_.head.load(std::memory_order_acquire);
  }

  // ---- either side, approximate -------------------------------------------

  // Bytes in use (headers and padding included) at some instant during the
  // call. For metrics and tests, never for control flow.
  std::size_t used_bytes_approx() const noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_acquire);
    const std::uint64_t head = producer_.head.load(std::memory_order_acquire);
    return head >= tail ? static_cast<std::size_t>(head - tail) : 0;
  }
  bool empty_approx() const noexcept { return used_bytes_approx() == 0; }

 private:
  // A header value no real length can have (lengths are < capacity / 2).
  static constexpr std::uint64_t kWrapMarker = ~std::uint64_t{0};

  static std::size_t validated(std::size_t capacity) {
    if (capacity < kMinCapacity || (capacity & (capacity - 1)) != 0) {
      throw std::invalid_argument("SpscByteRing capacity must be a power of two >= " + std::to_string(kMinCapacity) +
                                  ", got " + std::to_string(capacity));
    }
    if (capacity > (std::size_t{1} << 40)) {
      throw std::invalid_argument("SpscByteRing capacity too large: " + std::to_string(capacity));
    }
    return capacity;
  }

  // Headers are 8-byte aligned; memcpy keeps the access well-defined (it
  // compiles to one mov).
  static void store_header(char* at, std::uint64_t value) noexcept { std::memcpy(at, &value, sizeof value); }
  static std::uint64_t load_header(const char* at) noexcept {
    std::uint64_t value;
    std::memcpy(&value, at, sizeof value);
    return value;
  }

  // Reads the record at position `tail` (skipping a WRAP marker) and
  // advances `tail` past it. Precondition: tail != cached_head.
  std::string_view read_record(std::uint64_t& tail) const noexcept {
    auto offset = static_cast<std::size_t>(tail & consumer_.mask);
    std::uint64_t length = load_header(consumer_.buffer + offset);
    if (length == kWrapMarker) {
      tail += (consumer_.mask + 1) - offset;
      offset = 0;
      length = load_header(consumer_.buffer);
    }
    const auto n = static_cast<std::size_t>(length);
    tail += record_bytes(n);
    return std::string_view(consumer_.buffer + offset + kHeaderBytes, n);
  }

  // Written by the producer, read by the consumer only on a cache miss.
  struct alignas(kCacheLineSize) ProducerBlock {
    std::atomic<std::uint64_t> head{0};  // end of the last published record; published with release
    std::uint64_t cached_tail = 0;       // producer's last view of consumer.tail
    char* buffer = nullptr;              // read-only copy: the push path reads only this line
    std::uint64_t mask = 0;              // read-only copy
    std::uint64_t claim_start = 0;       // position of the claimed record's header
    std::size_t claim_size = 0;          // payload bytes claimed
    // alignas pads the rest of the 128 bytes, so consumer state (next
    // block) can never share this line or its adjacent-prefetch partner.
  };
  // Written by the consumer, read by the producer only on a cache miss.
  struct alignas(kCacheLineSize) ConsumerBlock {
    std::atomic<std::uint64_t> tail{0};  // start of the oldest unread record; released with release
    std::uint64_t cached_head = 0;       // consumer's last view of producer.head
    char* buffer = nullptr;              // read-only copy: the pop path reads only this line
    std::uint64_t mask = 0;              // read-only copy
    std::uint64_t peeked_end = 0;        // where pop() moves tail: the end of the last peek()
  };
  static_assert(sizeof(ProducerBlock) == kCacheLineSize && alignof(ProducerBlock) == kCacheLineSize);
  static_assert(sizeof(ConsumerBlock) == kCacheLineSize && alignof(ConsumerBlock) == kCacheLineSize);
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  static_assert(kCacheLineSize % kAlignment == 0, "the buffer's alignment must keep headers 8-byte aligned");
  static_assert(kMinCapacity / 2 > kHeaderBytes, "a minimal ring must still hold a non-empty record");

  ProducerBlock producer_;
  ConsumerBlock consumer_;
  // Cold fields on their own line, after both hot blocks: only construction,
  // destruction and capacity() read them.
  alignas(kCacheLineSize) std::size_t capacity_;
  char* buffer_ = nullptr;
};

}  // namespace tickflow
