// bus/bus_subscriber.h
//
// BusSubscriber: a durable JetStream pull consumer, bound to a consumer that
// ensure_consumer() created (never one the library creates: libnats would
// delete such a consumer when the subscription ends). Bytes out: each
// message's payload, subject, stream sequence and delivery count; it knows
// nothing about the wire format.
//
// Acknowledgement: messages stay unacked until ack_through(seq). With
// ack_all (AckAll) one ack covers every earlier message, so the caller acks
// only its durable floor (the aggregator: once per checkpoint). To ack any
// seq it has handed out, the subscriber keeps each unacked message's ack
// subject (its reply subject, ~100 bytes; not the payload) in a map by
// stream seq, and drops them when acked: ack_through(seq) acks the kept
// message with the greatest stream seq <= seq (the exact one when seq was
// delivered), which under AckAll acks everything up to it. A seq below every
// kept one (already acked) does nothing. With AckExplicit consumers
// ack_through() acks every kept message <= seq one by one.
//
// Threading: one thread (tf-bus-in) calls fetch/ack_through/refresh_lag.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"

struct __natsSubscription;

namespace tickflow::bus {

struct BusMessage {
  std::span<const std::uint8_t> data;
  std::string_view subject;
  std::uint64_t stream_seq = 0;
  std::uint64_t num_delivered = 1;  // > 1: a redelivery
};

struct BusSubscriberCounters {
  std::atomic<std::uint64_t> received{0}, redelivered{0}, acks{0};
  std::atomic<std::int64_t> lag{0};            // NumPending + NumAckPending at the last refresh_lag()
  std::atomic<std::uint64_t> fetch_errors{0};  // fetches that failed other than by timing out
};

class BusSubscriber {
 public:
  // Binds to spec.durable of spec.stream; throws BusError naming both when
  // the consumer does not exist or cannot be bound.
  BusSubscriber(NatsConnection& connection, const ConsumerSpec& spec, int fetch_batch = 256);
  ~BusSubscriber();  // the consumer stays (durable)
  BusSubscriber(const BusSubscriber&) = delete;
  BusSubscriber& operator=(const BusSubscriber&) = delete;

  // Fetches up to fetch_batch messages (waiting at most `wait`), calls
  // on_message for each in stream order (views valid during the call only).
  // Returns the number handled; 0 on timeout, and on a failed fetch (counted
  // in fetch_errors; e.g. while the consumer's leader is re-elected).
  std::size_t fetch(std::chrono::milliseconds wait, const std::function<void(const BusMessage&)>& on_message);
  // Acks through stream_seq (see above).
  void ack_through(std::uint64_t stream_seq);
  // js_GetConsumerInfo: NumPending + NumAckPending -> counters().lag. A
  // failure leaves lag as it was.
  void refresh_lag();
  const BusSubscriberCounters& counters() const noexcept { return counters_; }
  // Unacked messages whose ack subject is kept.
  std::size_t unacked() const noexcept { return ack_subjects_.size(); }

 private:
  NatsConnection& connection_;
  ConsumerSpec spec_;
  int fetch_batch_;
  __natsSubscription* sub_ = nullptr;
  std::map<std::uint64_t, std::string> ack_subjects_;  // stream seq -> reply subject of its latest delivery
  BusSubscriberCounters counters_;
};

}  // namespace tickflow::bus
