// bus/bus_subscriber.h
//
// BusSubscriber: a durable JetStream pull consumer, reading a consumer that
// ensure_consumer() created (never one the library creates: libnats would
// delete such a consumer when the subscription ends). Bytes out: each
// message's payload, subject, stream sequence and delivery count; it knows
// nothing about the wire format.
//
// Pulling: it sends JetStream's own pull requests ($JS.API.CONSUMER.MSG.NEXT,
// {"batch", "expires"}) and reads the deliveries from its own inbox, rather
// than libnats's natsSubscription_Fetch, whose 3.4.1 (Debian 12) overflows
// its message array when a fetch starts with more than half a batch already
// queued (nats.c #749; see bus_subscriber.cc). A new request goes out only
// when the last one has ended (its batch delivered, a 404/408/409 status, or
// its expiry) and nothing is in hand, so at most one request is open and its
// deliveries arrive in stream order.
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
#include <set>
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
  std::atomic<std::int64_t> lag{0};               // NumPending + NumAckPending at the last refresh_lag()
  std::atomic<std::uint64_t> fetch_errors{0};     // fetches that failed other than by timing out
  std::atomic<std::uint64_t> lost_deliveries{0};  // consumer-sequence jumps: deliveries that never arrived
  std::atomic<std::uint64_t> holds_given_up{0};   // ack holds for them that outlived 3 ack waits
};

class BusSubscriber {
 public:
  // Binds to spec.durable of spec.stream; throws BusError naming both when
  // the consumer does not exist or cannot be bound.
  BusSubscriber(NatsConnection& connection, const ConsumerSpec& spec, int fetch_batch = 256);
  ~BusSubscriber();  // the consumer stays (durable)
  BusSubscriber(const BusSubscriber&) = delete;
  BusSubscriber& operator=(const BusSubscriber&) = delete;

  // Hands up to fetch_batch messages to on_message, in stream order (views
  // valid during the call only). Waits at most `wait` for the first one;
  // once it has one, it returns with what is already queued. Returns the
  // number handled; 0 on timeout, and when a request cannot be sent (counted
  // in fetch_errors; e.g. while disconnected).
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
  // Sends a pull request for fetch_batch_ messages that the server holds
  // open for `wait`. False when it could not be sent (disconnected).
  bool request_more(std::chrono::milliseconds wait);

  std::string inbox_;                                   // this subscriber's deliveries arrive here
  std::string request_subject_;                         // $JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>
  int open_remaining_ = 0;                              // messages the open pull request may still deliver
  std::chrono::steady_clock::time_point open_until_{};  // when the server expires it
  std::map<std::uint64_t, std::string> ack_subjects_;   // stream seq -> reply subject of its latest delivery
  BusSubscriberCounters counters_;
  // Lost deliveries. A pull response lost in a consumer leader's failover
  // shows as a jump in the consumer sequence; the server counts those
  // messages delivered, and an AckAll past them would ack them unseen. So
  // acks stop at hold_at_ until as many distinct messages between hold_at_
  // and hold_below_ came again (after the ack wait) as went missing.
  void note_delivery(std::uint64_t consumer_seq, std::uint64_t stream_seq);
  std::uint64_t last_consumer_seq_ = 0;
  std::uint64_t last_stream_seq_ = 0;
  std::uint64_t hold_at_ = UINT64_MAX;
  std::uint64_t hold_below_ = 0;
  std::uint64_t hold_missing_ = 0;
  std::set<std::uint64_t> hold_seen_;
  std::chrono::steady_clock::time_point hold_since_{};  // a hold that outlives 3 ack waits is given up (counted)
};

}  // namespace tickflow::bus
