// ringbuffers/ring_line.h
//
// RingLine<T>: SpscRing's storage for 8-byte items, seven items and one
// publication word in one 64-byte cache line, and RingLineSpan, a batch
// claim or read over such lines.
//
// Why: in the generic layout (RingSlot, spsc_ring.h) every item carries its
// own 8-byte seq, so an 8-byte item takes a 16-byte slot, twice the bytes
// of boost::lockfree::spsc_queue's, and on an AMD EPYC 8-byte batches ran no
// faster than 8-byte single items (bench/README.md, "Rings"). A line of
// seven items and one seq moves 9.1 bytes per item, and the seq still
// arrives in the same line as the items it publishes, so a consumer that
// waits on an empty ring still learns of a new item with one cross-core
// transfer (a separate seq array would take two: seq line, then item line).
//
// `seq` holds the absolute position + 1 of the last item published in the
// line, so one load tells which of the line's items are published (all
// positions below it), and a value from an earlier lap is always smaller
// than any position of this lap (see SpscRing's "Memory ordering").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ringbuffers/cache_line.h"

namespace tickflow {

// Whether SpscRing<T> stores T seven to a line (RingLine) instead of one per
// RingSlot: exactly the 8-byte items, where the per-item seq doubled the bytes.
template <typename T>
inline constexpr bool kRingPacksLines = sizeof(T) == 8 && alignof(T) <= 8;

inline constexpr std::uint64_t kRingLineItems = 7;

template <typename T>
struct alignas(64) RingLine {
  T items[kRingLineItems]{};
  std::atomic<std::uint64_t> seq{0};
};

// A span of consecutive positions over a ring of RingLines: `count` items
// from absolute position `start`. Items sit seven to a line with the line's
// seq after them, so a span is indexed or iterated, never memcpy'd.
// `Line` is a RingLine for a write span, a const RingLine for a read span.
template <typename Line>
struct RingLineSpan {
  Line* lines = nullptr;   // the ring's lines
  std::uint64_t mask = 0;  // line count - 1
  std::uint64_t start = 0;
  std::size_t count = 0;

  std::size_t size() const noexcept { return count; }
  bool empty() const noexcept { return count == 0; }
  auto& operator[](std::size_t i) const noexcept {
    const std::uint64_t position = start + i;
    const std::uint64_t line = position / kRingLineItems;
    return lines[line & mask].items[position - line * kRingLineItems];
  }
  // Line by line: one division per span, none per item.
  template <typename F>
  void for_each(F&& f) const {
    std::uint64_t line = start / kRingLineItems;
    std::uint64_t index = start - line * kRingLineItems;
    std::size_t left = count;
    while (left != 0) {
      auto& items = lines[line & mask].items;
      const std::size_t run = left < kRingLineItems - index ? left : static_cast<std::size_t>(kRingLineItems - index);
      for (std::size_t i = 0; i < run; ++i) f(items[index + i]);
      left -= run;
      ++line;
      index = 0;
    }
  }
};

}  // namespace tickflow
