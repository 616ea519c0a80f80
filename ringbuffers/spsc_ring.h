// ringbuffers/spsc_ring.h
//
// SpscRing<T>: a bounded, wait-free, single-producer / single-consumer ring of
// trivially copyable items. It is the only way tickflow's pinned threads talk:
// feed -> aggregator carries 64-byte events, aggregator -> writer carries bars
// and signals.
//
// Design, in the order it matters for speed:
//  * Every slot carries its own publication word (`seq`), FastForward /
//    Vyukov style: the producer writes the item, then stores the slot's
//    absolute position + 1 into `seq`. A consumer that has found the ring
//    empty polls the `seq` of the slot it wants next, so it learns of a new
//    item from the one line the item arrives in. With a shared head index
//    alone (boost's design, and this ring's first one), that takes two
//    serial cross-core transfers (head line, then slot line), and a
//    consumer that keeps up reloads the head every few items, each reload
//    dragging the producer's hottest line across cores.
//  * A busy single-item consumer still reads the head: one load may reveal
//    many items, which it then reads (and prefetches) without touching their
//    seq lines. "Busy" is kRingHeadReadStreak items in a row found at the
//    first look: one for small items (under 32 bytes, kRingReadsHeadWhenBusy),
//    two for large ones (FeedEvent, bars), so that a consumer taking one
//    large item at a time (a ping-pong, a trickle) never pays a head load,
//    while one that trails stops paying two line misses (item, seq) per item.
//    Until issue 17 large items never read the head; on an AMD EPYC that
//    left 64-byte throughput at 1.1x boost (bench/README.md, "Rings").
//  * What it buys against boost::lockfree::spsc_queue, measured in the same
//    run, is in bench/README.md ("Rings"), with the command and the CPU.
//  * A busy consumer that drains the ring keeps reading the head for
//    kHeadPollsAfterDrain polls before it polls slot[tail]'s seq again:
//    that slot is the one the producer writes next, and polling it pulls
//    the line away from the producer on every poll, so each of its stores
//    waited for a cross-core transfer and a consumer that kept up held the
//    producer to that pace (AMD EPYC, 8-byte items: 14 M items/s against
//    250 M/s in the other steady state).
//  * A streaming consumer learns of the next run of items from the seq of
//    a slot ~2 KiB ahead, not from the head (which the producer stores on
//    every push), keeps ~2 KiB behind the producer (FastForward's "temporal
//    slipping") and reads whole lines only, so the two threads never fight
//    over a line the producer is still writing (learn_published()). None
//    of this changes what try_pop returns, only when; an idle consumer (a
//    ping-pong, a trickle) still learns of an item from its seq line alone.
//    bench/README.md ("Rings") has the figures.
//  * The cost is slot size: a slot is {T, 8-byte seq} rounded up to T's
//    alignment, so a 64-byte, 64-aligned FeedEvent takes a 128-byte slot
//    (one adjacent-line pair, which Intel's spatial prefetcher moves as a
//    unit; AMD moves two lines, and the prefetches ask for both);
//    a 65,536-event ring is 8 MiB.
//  * 8-byte items are the exception (kPacked, ring_line.h): seven items
//    and one seq share a 64-byte line (RingLine), the seq holding the
//    position + 1 of the line's last published item. A 16-byte slot per
//    8-byte item moved twice boost's bytes, and 8-byte batches ran no
//    faster than single items; packed, they move 9.1 bytes per item and an
//    idle consumer still learns of an item from the line it arrives in.
//    Positions map to (line = position / 7, word = position % 7), a
//    multiply, not a division; a batch publishes with one seq store per
//    line. bench/README.md ("8-byte items (session 14)") has the figures.
//  * Producer state and consumer state live on separate 128-byte blocks
//    (see cache_line.h for why 128), so the two threads never write the same
//    line. Each block also holds its own copy of the read-only geometry
//    (slot pointer, mask), so a push or pop touches one private line plus
//    the slot.
//  * The producer caches the consumer's index and reloads it (a cross-core
//    miss) only when the cached copy says "full": with a consumer that keeps
//    up, once per lap of the ring. The batch consumer (peek/consume) caches
//    the producer's index the same way and reloads it only when its cached
//    copy says "empty": one cross-core load per batch, not per item.
//  * Indices and sequence words are 64-bit and never wrap (2^64 items at
//    10^9/s is 584 years), so "full" is `head - tail == capacity` with no
//    sacrificed slot, and a slot's `seq` can never be mistaken for an older
//    lap's.
//  * The batch API lets a side claim or read a span of slots and publish it
//    with one index store (Disruptor-style): what the aggregator does when
//    it drains a burst. Spans are strided (each item sits in its slot), so
//    they are indexed or iterated, never memcpy'd.
//  * The producer issues PREFETCHW ~2 KiB ahead, only into slots the consumer
//    is known to have finished with, so the store that fills a slot does not
//    stall on a read-for-ownership; the consumer prefetches published lines
//    ~2 KiB ahead. Both work line by line, each 64-byte line once, from the
//    single-item and the batch calls alike: AMD cores do not pair lines the
//    way Intel's spatial prefetcher does. A plain read prefetch (what
//    __builtin_prefetch(p, 1) emits without -mprfchw) would fetch a shared
//    copy and the store would still miss.
//  * All slots are value-initialised at construction, which also faults in
//    every page up front: nothing is allocated, and no page fault is taken,
//    after construction.
//
// Memory ordering
//  * Producer: writes slot.value, then `slot.seq.store(pos + 1, release)`,
//    then `head.store(pos + 1, release)`. A consumer either sees
//    `slot.seq.load(acquire) == pos + 1` and then reads slot.value, or does
//    `head.load(acquire)` and then reads the values of the slots below it.
//    Either release/acquire pair makes the value writes happen-before the
//    reads. A consumer may also learn of a run from the seq of its last
//    slot: the producer stores seqs in position order, so that acquire
//    makes the values (and seqs) of every earlier slot visible too.
//  * Packed (8-byte items): the seq word is the line's, and the producer
//    stores into it the end of what it has published in that line (pos + 1
//    after writing item pos; a batch, the end of the span's part of the
//    line). A consumer that loads a value > pos (acquire) synchronises
//    with the store that wrote it, which came after item pos was written.
//    Every seq store is a release of its own, so a later value (more of
//    the line published) is as good as pos + 1. A line's value from the
//    previous lap is below every position it holds in this one (a lap has
//    at least capacity + 7 positions), and the producer cannot reach the
//    next lap's items of the line before the consumer has released pos.
//    The head store comes after the seq stores of the slots it
//    covers; the reverse lag (a seq already stored, head not yet) is why a
//    consumer may be past a freshly loaded head, and why peek() clamps.
//  * Consumer: reads slot.value, then `tail.store(release)`. Producer:
//    `tail.load(acquire)`, then overwrites those slots (value and seq). So a
//    slot is never overwritten while it is being read.
//  * Each side's own index is only written by that side, so it reads it with
//    relaxed loads. The cached copies are plain fields owned by one thread.
//  * Waking a sleeping consumer is not this class's business: it is a
//    separate Doorbell (doorbell.h) that the producer rings after publishing,
//    so spinning consumers pay nothing for it.
//
// Thread safety: exactly one producer thread may call the producer methods
// (try_push, try_claim, publish, try_push_n) and exactly one consumer thread
// the consumer methods (try_pop, front, pop, peek, release, try_pop_n,
// consume). Construction and destruction must not race with either.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ringbuffers/cache_line.h"
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/ring_line.h"

namespace tickflow {

// How a single-item consumer of T learns that items are published (see
// "Design"): after it has found this many items in a row by polling their
// slots' seq words, it counts as busy and reads the producer's head index
// instead, one load that may reveal many items and lets it prefetch them;
// once the head says empty it polls seq again. Small items (under 32 bytes)
// turn busy after one item, since one head load may reveal a line or more
// of them; larger ones after two, so that a consumer that takes one item at
// a time (a ping-pong, a trickle of events) never pays a head load.
template <typename T>
inline constexpr std::uint32_t kRingHeadReadStreak = sizeof(T) < 32 ? 1 : 2;
template <typename T>
inline constexpr bool kRingReadsHeadWhenBusy = kRingHeadReadStreak<T> == 1;

// One ring slot: the item and the word that publishes it. `seq` is the
// slot's absolute position + 1 once the item at that position is written,
// so each lap's value is distinct (see SpscRing's "Memory ordering").
template <typename T>
struct RingSlot {
  T value{};
  std::atomic<std::uint64_t> seq{0};
};

// Up to two runs of consecutive slots: a span that runs past the last slot
// continues at slot 0. Items are strided (each lives in its RingSlot), so
// index with operator[] or iterate with for_each; never memcpy a piece.
// `Slot` is a RingSlot for a write span, a const RingSlot for a read span.
template <typename Slot>
struct RingSpan {
  Slot* first = nullptr;
  std::size_t first_size = 0;
  Slot* second = nullptr;  // slot 0 of the ring when the span wraps, else unused
  std::size_t second_size = 0;

  std::size_t size() const noexcept { return first_size + second_size; }
  bool empty() const noexcept { return size() == 0; }
  auto& operator[](std::size_t i) const noexcept {
    return i < first_size ? first[i].value : second[i - first_size].value;
  }
  template <typename F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < first_size; ++i) f(first[i].value);
    for (std::size_t i = 0; i < second_size; ++i) f(second[i].value);
  }
};

// How many positions `bytes` of storage units `Slot` hold, at least one; a
// packed unit (a RingLine) holds seven.
template <typename Slot, bool kPacked>
constexpr std::uint64_t ring_positions_in(std::size_t bytes) noexcept {
  if (kPacked) return bytes / sizeof(Slot) * kRingLineItems;
  return sizeof(Slot) >= bytes ? 1 : bytes / sizeof(Slot);
}

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>,
                "ring items are copied by value and never destroyed: they must be trivially copyable");
  static_assert(std::is_default_constructible_v<T>,
                "slots are value-initialised up front so that no allocation or page fault happens later");
  static_assert(alignof(T) <= kCacheLineSize, "slot storage is aligned to one cache line");

 public:
  using value_type = T;
  // Whether items sit seven to a RingLine (8-byte items, ring_line.h) instead
  // of one per RingSlot. Everything below works in absolute positions; only
  // the helpers under "Storage" map a position to its item and its seq word.
  static constexpr bool kPacked = kRingPacksLines<T>;
  // The unit of storage: a RingSlot (one item and its seq) or a RingLine
  // (seven items and one seq).
  using Slot = std::conditional_t<kPacked, RingLine<T>, RingSlot<T>>;
  using WriteSpan = std::conditional_t<kPacked, RingLineSpan<Slot>, RingSpan<Slot>>;
  using ReadSpan = std::conditional_t<kPacked, RingLineSpan<const Slot>, RingSpan<const Slot>>;

  static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
  static_assert(kPacked ? sizeof(Slot) == 64 && alignof(Slot) == 64
                        : sizeof(Slot) >= sizeof(T) + sizeof(std::uint64_t) && sizeof(Slot) % alignof(T) == 0);

  // How far ahead of its writes the producer prefetches, in slots: ~2 KiB,
  // far enough to cover one cross-core miss at full speed.
  static constexpr std::size_t kPrefetchBytes = 2048;

  // How many poll intervals a streaming single-item consumer waits for a
  // 2 KiB run before it takes less (learn_published()); peek()'s
  // `slip_polls` for a consumer that wants the same.
  static constexpr std::uint32_t kSlipPolls = 8;
  static constexpr std::size_t kPrefetchSlots = ring_positions_in<Slot, kPacked>(kPrefetchBytes);

  // `capacity` must be a power of two >= 2. The check throws: construction is
  // configuration time, and a wrong size is a configuration error.
  explicit SpscRing(std::size_t capacity) : capacity_(validated(capacity)) {
    slots_ = allocate_slots(capacity_);
    producer_.slots = slots_;
    producer_.mask = storage_units(capacity_) - 1;
    producer_.capacity = capacity_;
    consumer_.slots = slots_;
    consumer_.mask = storage_units(capacity_) - 1;
    producer_.cursor.line = slots_;  // positions 0..6 (packed)
    consumer_.cursor.line = slots_;
    // A slip of half the ring or more would keep a consumer waiting for
    // items the producer cannot write until it reads on.
    consumer_.slip_slots = capacity_ >= 4 * kSlipSlots ? kSlipSlots : 1;
  }

  ~SpscRing() { ::operator delete (slots_, std::align_val_t{kCacheLineSize}); }

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const noexcept { return capacity_; }

  // ---- producer -----------------------------------------------------------

  // Copies `item` into the ring. Returns false, and changes nothing, when full.
  bool try_push(const T& item) noexcept {
    const std::uint64_t head = producer_.head.load(std::memory_order_relaxed);
    const std::uint64_t capacity = producer_.capacity;
    if (head - producer_.cached_tail == capacity) [[unlikely]] {
      producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
      if (head - producer_.cached_tail == capacity) return false;
    }
    if constexpr (kPacked) {
      Slot& line = cursor_line(producer_.cursor, producer_.slots, producer_.mask, head);
      line.items[head - producer_.cursor.first] = item;
      line.seq.store(head + 1, std::memory_order_release);
    } else {
      Slot& slot = producer_.slots[head & producer_.mask];
      slot.value = item;
      slot.seq.store(head + 1, std::memory_order_release);
    }
    prefetch_for_write(head + 1, kPrefetchSlots);
    producer_.head.store(head + 1, std::memory_order_release);
    return true;
  }

  // Claims up to `max_items` free slots for writing, without publishing them.
  // The span may be shorter than asked (or empty when full). Write the items
  // in place, then publish(n) with n <= span.size(). A new claim before
  // publish returns the same slots again.
  WriteSpan try_claim(std::size_t max_items) noexcept {
    const std::uint64_t head = producer_.head.load(std::memory_order_relaxed);
    const std::uint64_t capacity = producer_.capacity;
    auto free = static_cast<std::size_t>(capacity - (head - producer_.cached_tail));
    if (free < max_items) {
      producer_.cached_tail = consumer_.tail.load(std::memory_order_acquire);
      free = static_cast<std::size_t>(capacity - (head - producer_.cached_tail));
    }
    const std::size_t n = std::min(free, max_items);
    // The claimed slots themselves too, not only those after them: a claim
    // wider than the look-ahead would otherwise write lines nobody asked
    // for, one store miss at a time.
    prefetch_for_write(head, n + kPrefetchSlots);
    return make_span<WriteSpan>(producer_.slots, producer_.mask, head, n);
  }

  // Makes the first `n` claimed slots visible to the consumer: one seq store
  // per slot (each to a line the producer has just written), or, for packed
  // 8-byte items, one per line, then one head store for batch readers.
  void publish(std::size_t n) noexcept {
    const std::uint64_t head = producer_.head.load(std::memory_order_relaxed);
    const std::uint64_t end = head + n;
    if constexpr (kPacked) {
      // In position order, each line's seq set to the end of its part of
      // the span: the same ordering as one store per item, a seventh of
      // the stores.
      for (std::uint64_t position = head; position != end;) {
        const std::uint64_t line = position / kRingLineItems;
        position = std::min((line + 1) * kRingLineItems, end);
        producer_.slots[line & producer_.mask].seq.store(position, std::memory_order_release);
      }
    } else {
      for (std::uint64_t position = head; position != end; ++position)
        producer_.slots[position & producer_.mask].seq.store(position + 1, std::memory_order_release);
    }
    producer_.head.store(end, std::memory_order_release);
  }

  // Copies as many of `items[0..n)` as fit; returns how many were pushed.
  std::size_t try_push_n(const T* items, std::size_t n) noexcept {
    const WriteSpan span = try_claim(n);
    std::size_t i = 0;
    span.for_each([&](T& slot_item) { slot_item = items[i++]; });
    publish(span.size());
    return span.size();
  }

  // ---- consumer -----------------------------------------------------------

  // Copies the oldest item into `out` and removes it. False when empty.
  bool try_pop(T& out) noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    if (!readable(tail)) return false;
    out = read_item(tail);
    consumer_.tail.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Zero-copy single-item read: the oldest item, or nullptr when empty. The
  // pointer stays valid until pop().
  const T* front() noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    if (!readable(tail)) return nullptr;
    return &read_item(tail);
  }

  // Removes the item front() returned. Precondition: front() != nullptr.
  void pop() noexcept { release(1); }

  // Up to `max_items` readable items, oldest first, without removing them.
  // The producer's index is reloaded only when the cached copy says empty, so
  // a consumer that polls in a loop gets what is cheaply known first.
  // `slip_polls`: how many poll intervals (~185 ns each) a streaming consumer
  // that finds less than ~2 KiB of items ahead may wait for more before it
  // takes what there is (learn_published()). 0, the default, never waits: a
  // latency-first consumer (the aggregator) takes an event the moment it is
  // published. kSlipPolls trades up to ~1.5 us at the end of a burst for
  // throughput: the consumer keeps its distance from the producer and stops
  // taking the lines it is writing (bench/README.md, "Rings").
  ReadSpan peek(std::size_t max_items = SIZE_MAX, std::uint32_t slip_polls = 0) noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    // `<=`, not `==`: try_pop and front() advance tail by the slots' seq
    // words, without looking at head, so the cached copy may be behind
    // tail. Even a fresh head may be: the producer stores a slot's seq
    // before it stores head, and try_pop may already have taken that slot.
    if (consumer_.cached_head <= tail)
      learn_published(tail, /*idle_slip_polls=*/0, slip_polls, /*probe_far=*/kItemsShareLines);
    const std::size_t avail = consumer_.cached_head > tail ? static_cast<std::size_t>(consumer_.cached_head - tail) : 0;
    const std::size_t n = std::min(avail, max_items);
    prefetch_for_read(tail, n + kPrefetchSlots);  // the span's own lines too (see try_claim)
    return make_span<ReadSpan>(consumer_.slots, consumer_.mask, tail, n);
  }

  // Frees the first `n` items of the last peek() (or the item front()
  // returned) for the producer, with one store.
  void release(std::size_t n) noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_relaxed);
    consumer_.tail.store(tail + n, std::memory_order_release);
  }

  // Copies up to `max_items` items into `out`; returns how many were popped.
  std::size_t try_pop_n(T* out, std::size_t max_items) noexcept {
    const ReadSpan span = peek(max_items);
    std::size_t i = 0;
    span.for_each([&](const T& item) { out[i++] = item; });
    release(span.size());
    return span.size();
  }

  // Calls `f(const T&)` on up to `max_items` items, then releases them all at
  // once. Returns the count. `f` must not throw.
  template <typename F>
  std::size_t consume(F&& f, std::size_t max_items = SIZE_MAX) noexcept(noexcept(f(std::declval<const T&>()))) {
    const ReadSpan span = peek(max_items);
    span.for_each(f);
    release(span.size());
    return span.size();
  }

  // ---- either side, approximate -------------------------------------------

  // Items in the ring at some instant during the call. Exact only when both
  // sides are quiescent; meant for metrics and tests, never for control flow.
  std::size_t size_approx() const noexcept {
    const std::uint64_t tail = consumer_.tail.load(std::memory_order_acquire);
    const std::uint64_t head = producer_.head.load(std::memory_order_acquire);
    return head >= tail ? static_cast<std::size_t>(head - tail) : 0;
  }
  bool empty_approx() const noexcept { return size_approx() == 0; }

 private:
  static std::size_t validated(std::size_t capacity) {
    if (capacity < 2 || (capacity & (capacity - 1)) != 0) {
      throw std::invalid_argument("SpscRing capacity must be a power of two >= 2, got " + std::to_string(capacity));
    }
    if (capacity > (std::size_t{1} << 40) / (kPacked ? 32 : sizeof(Slot))) {
      throw std::invalid_argument("SpscRing capacity too large: " + std::to_string(capacity));
    }
    return capacity;
  }

  // Rounded up to whole cache lines, so the slot array shares no line (or
  // adjacent-line pair) with whatever the allocator puts next to it.
  static std::size_t storage_bytes(std::size_t capacity) noexcept {
    const std::size_t bytes = storage_units(capacity) * sizeof(Slot);
    return (bytes + kCacheLineSize - 1) & ~(kCacheLineSize - 1);
  }

  static Slot* allocate_slots(std::size_t capacity) {
    void* raw = ::operator new (storage_bytes(capacity), std::align_val_t{kCacheLineSize});
    Slot* slots = static_cast<Slot*>(raw);
    for (std::size_t i = 0; i < storage_units(capacity); ++i) ::new (static_cast<void*>(slots + i)) Slot();
    return slots;
  }

  // ---- Storage: where a position's item and seq word live ---------------
  //
  // Generic: slot (position & mask). Packed: line (position / 7) & mask,
  // word position % 7, so the line index runs through the unwrapped
  // sequence of lines and the division is by a constant (a multiply).
  // A packed ring has a power-of-two number of lines holding at least
  // capacity + 7 positions: two positions less than `capacity` apart never
  // share a word, and a line's seq from the previous lap is below every
  // position it holds in this one.
  static std::size_t storage_units(std::size_t capacity) noexcept {
    if constexpr (kPacked) return std::bit_ceil((capacity + 2 * kRingLineItems - 1) / kRingLineItems);
    return capacity;
  }

  static T& item_at(Slot* slots, std::uint64_t mask, std::uint64_t position) noexcept {
    if constexpr (kPacked) {
      const std::uint64_t line = position / kRingLineItems;
      return slots[line & mask].items[position - line * kRingLineItems];
    } else {
      return slots[position & mask].value;
    }
  }

  // The line that holds `position`, through a side's cursor: a single-item
  // push or pop compares against the cursor and divides by 7 only when it
  // enters another line. The cursor is keyed by absolute position, so any
  // mix of single-item and batch calls keeps it right.
  struct LineCursor {
    std::uint64_t first = 0;  // the line's first position
    Slot* line = nullptr;     // where that line is stored
  };
  static Slot& cursor_line(LineCursor& cursor, Slot* slots, std::uint64_t mask, std::uint64_t position) noexcept {
    if (position - cursor.first >= kRingLineItems) [[unlikely]] {
      const std::uint64_t line = position / kRingLineItems;
      cursor.first = line * kRingLineItems;
      cursor.line = &slots[line & mask];
    }
    return *cursor.line;
  }

  const T& read_item(std::uint64_t position) noexcept {
    if constexpr (kPacked) {
      const Slot& line = cursor_line(consumer_.cursor, consumer_.slots, consumer_.mask, position);
      return line.items[position - consumer_.cursor.first];
    } else {
      return consumer_.slots[position & consumer_.mask].value;
    }
  }

  static std::atomic<std::uint64_t>& seq_at(Slot* slots, std::uint64_t mask, std::uint64_t position) noexcept {
    if constexpr (kPacked)
      return slots[(position / kRingLineItems) & mask].seq;
    else
      return slots[position & mask].seq;
  }

  // Whether a seq word loaded for `position` says it is published: a slot's
  // seq is exactly position + 1; a line's is the end of what is published
  // in it, so anything above `position` covers it.
  static bool covers(std::uint64_t seq, std::uint64_t position) noexcept {
    if constexpr (kPacked)
      return seq > position;
    else
      return seq == position + 1;
  }

  // The first position of the 64-byte line that holds `position` (the
  // position itself when a slot spans a line or more).
  static std::uint64_t line_start(std::uint64_t position) noexcept {
    if constexpr (kPacked)
      return position - position % kRingLineItems;
    else
      return position & ~kLineSlotMask;
  }

  // Whether the item at absolute position `tail` is published.
  //  * Below the cached head it is: an earlier look said so.
  //  * Busy consumer (its last kRingHeadReadStreak reads found their item
  //    at the first look): learn_published() finds a run of published
  //    slots ahead, and read_ahead() prefetches them.
  //  * Otherwise poll the slot's own seq: the one line the item arrives in,
  //    so an idle consumer learns of a new item with one transfer, where a
  //    head read would cost two (head line, then slot line).
  bool readable(std::uint64_t tail) noexcept {
    if (tail < consumer_.cached_head) {
      prefetch_for_read(tail + 1, kPrefetchSlots);
      return true;
    }
    if (consumer_.streak >= kRingHeadReadStreak<T> || consumer_.head_polls != 0) {
      if (learn_published(tail, /*idle_slip_polls=*/1, kSlipPolls, /*probe_far=*/true)) {
        prefetch_for_read(tail + 1, kPrefetchSlots);
        consumer_.streak = kRingHeadReadStreak<T>;  // busy again
        consumer_.head_polls = 0;
        return true;
      }
      // Just drained: keep asking the head for a few polls before polling
      // the seq of slot[tail], which is the very slot the producer writes
      // next: polling it pulls that line away from the producer once per
      // poll, so its next store waits for a cross-core transfer, and a
      // consumer that keeps up then holds the producer to that pace.
      if (consumer_.streak != 0) {
        consumer_.streak = 0;
        consumer_.head_polls = kHeadPollsAfterDrain;
        return false;
      }
      if (consumer_.head_polls != 0) {
        --consumer_.head_polls;
        return false;
      }
    }
    const std::uint64_t seq = seq_at(consumer_.slots, consumer_.mask, tail).load(std::memory_order_acquire);
    if (!covers(seq, tail)) {
      consumer_.streak = 0;
      return false;
    }
    ++consumer_.streak;
    return true;
  }

  // Moves cached_head past `tail` if anything there is published, and says
  // whether it did. Used when the cached copy says empty, by a busy
  // single-item consumer and by peek(). `slip` is kSlipSlots (2 KiB of
  // slots), or 1 in a ring too small for slipping (under 4 * kSlipSlots).
  //  * A streaming single-item consumer (its last look found at least
  //    slip / 2 items; `probe_far`) first reads the seq of the slot that
  //    ends the whole line about `slip` slots ahead. Slots are published in order, so if that one is,
  //    everything up to it is: one load that reveals a 2 KiB run, from a
  //    line the producer has finished with. The head, which the producer
  //    stores on every push, is left alone: reading it takes that line away
  //    and the producer's next store waits for it to come back. A consumer
  //    that read the head every few dozen items held an AMD EPYC producer
  //    to ~50 M items/s, and the pair stayed in that state; with the probe
  //    it runs at ~300 M/s (bench/README.md, "Rings"). peek() probes only
  //    when several slots share a line (kLineSlotMask != 0): a batch
  //    producer publishes a claim's seqs in one burst after its values, and
  //    where a seq has a line of its own (a 64-byte item's slot) a probe
  //    into that claim takes the line away mid-burst (64-byte batches ran
  //    at ~35 M/s with the probe, ~100 M/s without; 8-byte batches ran
  //    8-18 % faster with it).
  //  * Otherwise, or when that slot is not yet published, it reads the head.
  //    Fewer than `slip` items ahead means the consumer is right behind the
  //    producer and would read the lines it is still writing; a busy
  //    try_pop/front consumer then waits (temporal slipping: FastForward,
  //    Giacomoni et al., PPoPP 2008): kSlipPolls poll intervals when
  //    streaming and one otherwise, re-reading only the far slot's seq,
  //    then the head once. peek() waits only as long as its caller allows
  //    (by default not at all). Nothing published is withheld for longer
  //    than that, so a trickle still gets every item.
  //  * A streaming consumer stops at the last whole line below the head
  //    when that is past `tail`: the line holding the head is the one the
  //    producer is writing, and reading it now would take it away mid-line.
  //    The rest comes with the next look.
  bool learn_published(std::uint64_t tail, std::uint32_t idle_slip_polls, std::uint32_t streaming_slip_polls,
                       bool probe_far) noexcept {
    const std::uint64_t slip = consumer_.slip_slots;
    const std::uint64_t line_end = line_start(tail + slip);
    const std::uint64_t far = line_end > tail ? line_end - 1 : tail + slip - 1;
    if (probe_far && consumer_.streaming && published(far)) {
      consumer_.cached_head = far + 1;
      return true;
    }
    std::uint64_t head = producer_.head.load(std::memory_order_acquire);
    if (head <= tail) {
      consumer_.streaming = false;
      return false;
    }
    if (head - tail < slip) [[unlikely]] {
      bool far_published = false;
      const std::uint32_t polls = consumer_.streaming ? streaming_slip_polls : idle_slip_polls;
      for (std::uint32_t poll = 0; poll < polls && !far_published; ++poll) {
        spin_pause();
        far_published = published(far);
      }
      if (polls != 0) head = far_published ? far + 1 : producer_.head.load(std::memory_order_acquire);
    }
    const std::uint64_t whole_lines = line_start(head);
    consumer_.cached_head = consumer_.streaming && whole_lines > tail ? whole_lines : head;
    consumer_.streaming = consumer_.cached_head - tail >= slip / 2 && slip > 1;
    return true;
  }

  bool published(std::uint64_t position) const noexcept {
    return covers(seq_at(consumer_.slots, consumer_.mask, position).load(std::memory_order_acquire), position);
  }

  // How far behind the producer a busy consumer keeps (learn_published()):
  // kSlipBytes of slots, at least one; how many poll intervals a streaming
  // consumer waits for them; how many polls a drained busy consumer reads
  // the head before it polls seq again; and the slot-index mask of a 64-byte
  // line (0 when a slot spans a line or more).
  static constexpr std::size_t kSlipBytes = 2048;
  static constexpr std::uint32_t kHeadPollsAfterDrain = 8;
  static constexpr std::uint64_t kSlipSlots = ring_positions_in<Slot, kPacked>(kSlipBytes);
  static constexpr std::uint64_t kLineSlotMask =
      sizeof(Slot) < 64 && 64 % sizeof(Slot) == 0 ? 64 / sizeof(Slot) - 1 : 0;
  // Whether several positions share a 64-byte line (and so one seq load can
  // reveal several items).
  static constexpr bool kItemsShareLines = kPacked || kLineSlotMask != 0;

  // The prefetches below work in 64-byte lines, numbered through the
  // unwrapped sequence of slots (absolute line L holds bytes [64L, 64L + 64)
  // of positions' slots laid end to end), so "each line once" survives the
  // wrap. Intel's spatial prefetcher may pull a line's 128-byte pair partner
  // too; AMD's does not, so every line is asked for on its own. A prefetch
  // is only a hint: these functions decide speed, never correctness.
  static constexpr std::uint64_t kPrefetchLine = 64;

  const char* line_address(const Slot* slots, std::uint64_t mask, std::uint64_t line) const noexcept {
    const std::uint64_t ring_bytes = (mask + 1) * sizeof(Slot);
    const std::uint64_t offset = line * kPrefetchLine;
    if constexpr ((sizeof(Slot) & (sizeof(Slot) - 1)) == 0)
      return reinterpret_cast<const char*>(slots) + (offset & (ring_bytes - 1));
    else
      return reinterpret_cast<const char*>(slots) + offset % ring_bytes;
  }

  // Starts fetching, from the producer's cache, the lines of the `count`
  // published slots from position `from` on (the next kPrefetchBytes, and a
  // batch's own span), each line once. Only whole
  // lines below the cached head: the producer will not write those again
  // this lap, so taking them costs it nothing. For a slot of two lines or
  // more, only the lines that hold the item (a busy consumer never reads
  // seq). In lockstep nothing is that far ahead and this is a compare; when
  // the consumer trails, its loads stop waiting one cross-core miss per
  // line. (Prefetching slot[tail] itself, before it is published, was
  // measured and rejected: it steals the line the producer is writing, and
  // 8-byte throughput halved.)
  void prefetch_for_read(std::uint64_t from, std::uint64_t count) noexcept {
    if constexpr (kPacked) {  // lines numbered position / 7
      const std::uint64_t end = std::min(consumer_.cached_head, from + count);
      // Usually the next line is not yet whole: say so before the division.
      if ((consumer_.prefetched_line + 1) * kRingLineItems > end) return;
      std::uint64_t line = std::max(consumer_.prefetched_line, from / kRingLineItems);
      if ((line + 1) * kRingLineItems > end) return;
      for (; (line + 1) * kRingLineItems <= end; ++line)
        __builtin_prefetch(&consumer_.slots[line & consumer_.mask], /*rw=*/0, /*locality=*/3);
      consumer_.prefetched_line = line;
      return;
    }
    const std::uint64_t end = std::min(consumer_.cached_head, from + count) * sizeof(Slot);
    std::uint64_t line = std::max(consumer_.prefetched_line, from * sizeof(Slot) / kPrefetchLine);
    if ((line + 1) * kPrefetchLine > end) return;
    for (; (line + 1) * kPrefetchLine <= end; ++line) {
      if constexpr (sizeof(Slot) >= 2 * kPrefetchLine && (sizeof(Slot) & (sizeof(Slot) - 1)) == 0) {
        if (((line * kPrefetchLine) & (sizeof(Slot) - 1)) >= sizeof(T)) continue;  // a seq-only line
      }
      __builtin_prefetch(line_address(consumer_.slots, consumer_.mask, line), /*rw=*/0, /*locality=*/3);
    }
    consumer_.prefetched_line = line;
  }

  // Asks the core to take ownership of the lines of the `count` free slots
  // from position `from` on (the next kPrefetchBytes, and a claim's own
  // span), each line once, so that the store that
  // fills a slot later does not stall on a cross-core read-for-ownership.
  // Only whole lines of slots the consumer is known to have finished with
  // (below the cached tail + capacity): touching an unread slot would steal
  // its line from the consumer just before it reads it.
  //
  // PREFETCHW is written as inline assembly because GCC emits it for
  // __builtin_prefetch(p, 1) only with -mprfchw, which -march=x86-64-v3 does
  // not imply. Intel CPUs before Broadwell decode this opcode (0F 0D /1) as a
  // NOP, so it is safe on every x86-64.
  // A packed ring's lines are numbered position / 7: a line whose last
  // position is below cached tail + capacity held, in its previous lap,
  // only positions below the cached tail (there are capacity + 7 positions
  // or more per lap, see storage_units()).
  void prefetch_for_write(std::uint64_t from, std::uint64_t count) noexcept {
    if constexpr (kPacked) {
      const std::uint64_t end = std::min(producer_.cached_tail + producer_.capacity, from + count);
      if ((producer_.prefetched_line + 1) * kRingLineItems > end) return;  // as in prefetch_for_read
      std::uint64_t line = std::max(producer_.prefetched_line, from / kRingLineItems);
      if ((line + 1) * kRingLineItems > end) return;
      for (; (line + 1) * kRingLineItems <= end; ++line)
        prefetch_line_for_write(reinterpret_cast<const char*>(&producer_.slots[line & producer_.mask]));
      producer_.prefetched_line = line;
      return;
    }
    const std::uint64_t end = std::min(producer_.cached_tail + producer_.capacity, from + count) * sizeof(Slot);
    std::uint64_t line = std::max(producer_.prefetched_line, from * sizeof(Slot) / kPrefetchLine);
    if ((line + 1) * kPrefetchLine > end) return;
    for (; (line + 1) * kPrefetchLine <= end; ++line)
      prefetch_line_for_write(line_address(producer_.slots, producer_.mask, line));
    producer_.prefetched_line = line;
  }

  static void prefetch_line_for_write(const char* address) noexcept {
#if defined(__x86_64__)
    asm volatile("prefetchw %0" : : "m"(*address));
#else
    __builtin_prefetch(address, /*rw=*/1, /*locality=*/3);
#endif
  }

  // The span of `n` slots starting at absolute index `start`, split in two
  // where it runs past the last slot (a packed span is one run of positions).
  template <typename Span>
  static Span make_span(Slot* slots, std::uint64_t mask, std::uint64_t start, std::size_t n) noexcept {
    if constexpr (kPacked) {
      return Span{slots, mask, start, n};
    } else {
      const auto index = static_cast<std::size_t>(start & mask);
      const std::size_t until_end = static_cast<std::size_t>(mask + 1) - index;
      Span span;
      span.first = slots + index;
      span.first_size = std::min(n, until_end);
      span.second = slots;
      span.second_size = n - span.first_size;
      return span;
    }
  }

  // Written by the producer, read by the consumer only when its cached copy
  // says empty (and, in a sequenced ring, only by batch readers: single-item
  // readers poll slot.seq).
  struct alignas(kCacheLineSize) ProducerBlock {
    std::atomic<std::uint64_t> head{0};  // next slot to write; published with release
    std::uint64_t cached_tail = 0;       // producer's last view of consumer.tail
    std::uint64_t prefetched_line = 0;   // lines below this were prefetched for writing (prefetch_for_write)
    Slot* slots = nullptr;               // read-only copy: the push path reads only this line
    std::uint64_t mask = 0;              // read-only copy (slot or line count - 1)
    std::uint64_t capacity = 0;          // read-only copy, in items
    LineCursor cursor;                   // packed only: the line try_push writes (cursor_line)
    // alignas pads the rest of the 128 bytes, so consumer state (next
    // block) can never share this line or its adjacent-prefetch partner.
  };
  // Written by the consumer, read by the producer only when its cached copy
  // says full.
  struct alignas(kCacheLineSize) ConsumerBlock {
    std::atomic<std::uint64_t> tail{0};  // next slot to read; released with release
    std::uint64_t cached_head = 0;       // consumer's last view of producer.head
    std::uint64_t prefetched_line = 0;   // lines below this were prefetched for reading (prefetch_for_read)
    std::uint32_t streak = 0;            // items found by seq in a row (kRingHeadReadStreak)
    std::uint32_t head_polls = 0;        // polls left that read the head, not seq (kHeadPollsAfterDrain)
    bool streaming = false;              // last look found >= slip_slots / 2 items (learn_published)
    std::uint64_t slip_slots = 1;        // kSlipSlots, at most half the ring (read-only after construction)
    Slot* slots = nullptr;               // read-only copy: the pop path reads only this line
    std::uint64_t mask = 0;              // read-only copy
    LineCursor cursor;                   // packed only: the line try_pop reads (cursor_line), next line
  };
  static_assert(sizeof(ProducerBlock) == kCacheLineSize && alignof(ProducerBlock) == kCacheLineSize);
  static_assert(sizeof(ConsumerBlock) == kCacheLineSize && alignof(ConsumerBlock) == kCacheLineSize);

  ProducerBlock producer_;
  ConsumerBlock consumer_;
  // Cold fields on their own line, after both hot blocks: only construction,
  // destruction and capacity() read them. The hot paths use the copies in
  // their own block.
  alignas(kCacheLineSize) std::size_t capacity_;
  Slot* slots_ = nullptr;
};

}  // namespace tickflow
