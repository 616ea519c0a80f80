// ringbuffers/full_ring_policy.h
//
// FullRingPolicy: what a producer does when its ring is full (the consumer
// fell behind). Chosen per deployment (tuning/ config `rings.full_policy`),
// applied by runtime/feed_channel.h.
#pragma once

#include <cstdint>
#include <string_view>

namespace tickflow {

enum class FullRingPolicy : std::uint8_t {
  kBlock,  // the producer waits: nothing is lost (default)
  kDrop,   // the producer drops the event and counts it
};

constexpr std::string_view to_string(FullRingPolicy policy) noexcept {
  return policy == FullRingPolicy::kBlock ? "block" : "drop";
}

}  // namespace tickflow
