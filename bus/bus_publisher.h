// bus/bus_publisher.h
//
// BusPublisher: asynchronous JetStream publishing with a bounded in-flight
// window and no loss. Bytes in (a subject, a Nats-Msg-Id, a payload); it
// knows nothing about the wire format.
//
//  * in flight: at most max_in_flight messages are published and not yet
//    acked (its own JetStream context, PublishAsync.MaxPending). A full
//    window is counted in window_full (once per publish() that met it) and
//    then, by config, blocks (publish() retries until there is room, doing
//    poll()'s work meanwhile) or spools (the message is appended to a
//    DiskSpool in spool_dir; while the spool holds anything, new messages go
//    behind it, so publish order is kept; poll() drains it, oldest first,
//    whenever the window has room). A spool left by a killed process is found
//    and drained by the next BusPublisher on the same spool_dir. A full spool
//    (spool_max_bytes) blocks like kBlock;
//  * failed acks (no responders while a stream has no leader, timeouts, a
//    leader change) are handed from libnats's thread back to the publishing
//    thread and resent by poll()/publish() with backoff (50 ms doubling to
//    1 s, reset by the next good ack) under the SAME Nats-Msg-Id, so the
//    stream's duplicate window drops any copy that was stored after all.
//    A resent message is stored after messages published later: stream
//    order is publish order only while no ack fails (a consumer that needs
//    order must restore it, e.g. by trade id);
//  * lost acks: libnats 3.4 has no ack timeout, so a message whose ack died
//    with a server (killed node, restarted server) would stay in flight
//    forever. When no ack or error has arrived for ack_timeout while
//    messages are in flight and the connection is up, poll() takes every
//    in-flight message back and resends it (same ids; the duplicates that
//    produces are counted);
//  * counters: published (messages handed to libnats the first time),
//    acked (good acks, duplicates included), duplicates (acks saying the
//    stream already had that id), window_full, resent (every resend, failed
//    ack or lost ack), spooled (appended to disk), failed (error acks),
//    in_flight (now).
//
// Threading: one thread calls publish()/poll()/flush() (the collector's
// tf-bus-out); ack handlers run on libnats threads and only touch counters
// and a mutex-protected failure list.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "bus/nats_connection.h"

namespace tickflow::bus {

enum class OnFullWindow : std::uint8_t { kBlock, kSpool };

struct BusPublisherConfig {
  std::int64_t max_in_flight = 4096;
  OnFullWindow on_full = OnFullWindow::kBlock;
  std::filesystem::path spool_dir;  // kSpool: required (created if missing)
  std::uint64_t spool_max_bytes = 1ull << 30;
  // No ack nor error for this long while messages are in flight: resend them
  // all (see above). Longer than a leader election's silence is not needed:
  // during an election the server answers "no responders" at once.
  std::chrono::milliseconds ack_timeout{5000};
};

struct BusPublisherCounters {
  std::atomic<std::uint64_t> published{0}, acked{0}, duplicates{0}, window_full{0}, resent{0}, spooled{0}, failed{0};
  std::atomic<std::int64_t> in_flight{0};
};

class BusPublisher {
 public:
  // Throws BusError (the spool directory cannot be opened, kSpool without
  // spool_dir, max_in_flight < 1).
  BusPublisher(NatsConnection& connection, BusPublisherConfig config);
  // What is still unacked (in flight or waiting for a resend) goes to the
  // spool with kSpool, and is dropped with kBlock: flush() first.
  ~BusPublisher();
  BusPublisher(const BusPublisher&) = delete;
  BusPublisher& operator=(const BusPublisher&) = delete;

  // Never loses a message (see above). `msg_id` must be non-empty.
  void publish(std::string_view subject, std::string_view msg_id, std::span<const std::uint8_t> data);
  // Resends failed and lost messages when due, drains the spool while the
  // window has room. Never blocks on a full window.
  void poll();
  // Polls until every message (spool included) is acked; true when done
  // within `deadline`.
  bool flush(std::chrono::milliseconds deadline);
  const BusPublisherCounters& counters() const noexcept { return counters_; }
  // Records still in the spool (0 without one).
  std::uint64_t spooled_pending() const noexcept;

 private:
  struct Impl;
  BusPublisherCounters counters_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tickflow::bus
