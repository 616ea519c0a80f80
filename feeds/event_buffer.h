// feeds/event_buffer.h
//
// EventBuffer: the fixed-capacity sink a parser writes one frame's events
// into. The feed thread drains it into its ring (try_push_n) after each
// frame. Capacity is fixed at construction, so parsing never allocates; a
// frame with more events than fit is cut at capacity and counted as
// ParseError::kOverflow rather than silently truncated.
#pragma once

#include <cstddef>
#include <memory>

#include "pipeline/events.h"

namespace tickflow {

class EventBuffer {
 public:
  static constexpr std::size_t kDefaultCapacity = 4096;  // 256 KiB; the largest real frame seen carries ~1000 trades

  explicit EventBuffer(std::size_t capacity = kDefaultCapacity)
      : events_(std::make_unique<FeedEvent[]>(capacity)), capacity_(capacity) {}

  // False when full: the event was not stored.
  // Each writes the tag and the payload straight into the slot: no 64-byte
  // temporary (this is on every parser's hot path).
  bool push(const Trade& t) noexcept {
    if (size_ == capacity_) [[unlikely]]
      return false;
    FeedEvent& e = events_[size_++];
    e.type = FeedEventType::kTrade;
    e.trade = t;
    return true;
  }
  bool push(const Quote& q) noexcept { return push_event(FeedEvent::of(q)); }
  bool push(const FeedStatus& s) noexcept { return push_event(FeedEvent::of(s)); }

  void clear() noexcept { size_ = 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  const FeedEvent& operator[](std::size_t i) const noexcept { return events_[i]; }
  const FeedEvent* begin() const noexcept { return events_.get(); }
  const FeedEvent* end() const noexcept { return events_.get() + size_; }
  // For a caller that rewrites the frame's events in place (a replay
  // shifting its clock), never the parser.
  FeedEvent* begin() noexcept { return events_.get(); }
  FeedEvent* end() noexcept { return events_.get() + size_; }

 private:
  bool push_event(const FeedEvent& e) noexcept {
    if (size_ == capacity_) [[unlikely]]
      return false;
    events_[size_++] = e;
    return true;
  }

  std::unique_ptr<FeedEvent[]> events_;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

}  // namespace tickflow
