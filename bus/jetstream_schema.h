// bus/jetstream_schema.h
//
// The bus's JetStream definitions, created or checked at start like the
// InfluxDB schema: ensure_stream() and ensure_consumer() create what is
// absent and, when it exists, compare every field tickflow relies on. A
// mismatch is a BusError naming the stream (or consumer), the field, the
// wanted and the found value: the process stops instead of silently running
// with, say, a shorter duplicate window than the A/B arbitration needs.
// Nothing here updates an existing definition (an operator decides that).
//
// In a freshly started cluster the JetStream API answers "no responders"
// until the meta leader is elected: both calls retry such transient answers
// for up to `retry_for` before they give up with a BusError naming the
// servers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bus/nats_connection.h"

namespace tickflow::bus {

struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 1;
  std::chrono::seconds duplicate_window{120};
  std::chrono::hours max_age{24};
  bool file_storage = true;
};
// Creates the stream if absent (limits retention); if present, compares
// subjects (as a set), retention, replicas, duplicate window, max age and
// storage, and throws BusError naming the stream, the field, the wanted and
// the found value.
void ensure_stream(NatsConnection& connection, const StreamSpec& spec,
                   std::chrono::milliseconds retry_for = std::chrono::seconds(20));

struct ConsumerSpec {
  std::string stream;
  std::string durable;
  std::string filter_subject;  // one subject, wildcards allowed; empty: the whole stream
  std::chrono::seconds ack_wait{30};
  std::int64_t max_ack_pending = 1'000'000;
  bool ack_all = true;  // AckAll (one ack covers every earlier message); false: AckExplicit
};
// Creates the durable pull consumer (deliver all) if absent; if present,
// compares filter subject, ack policy, ack wait, max ack pending, deliver
// policy and that it is a pull consumer, and throws BusError naming the
// consumer, the field, the wanted and the found value. (GetConsumerInfo
// first: the server's "add" silently updates an existing durable.) Deliver
// policy "all" and "by start sequence" are the same durable: the latter is
// what rewind_consumer() leaves.
void ensure_consumer(NatsConnection& connection, const ConsumerSpec& spec,
                     std::chrono::milliseconds retry_for = std::chrono::seconds(20));

// What rewind_consumer() found and did.
struct ConsumerRewind {
  bool needed = false;                     // the durable had delivered messages not yet acked
  bool rewound = false;                    // re-created: the next fetch starts at start_seq
  std::uint64_t start_seq = 0;             // its ack floor + 1
  std::uint64_t delivered_stream_seq = 0;  // what the last run had been handed, at most
  std::int64_t ack_pending = 0;            // of those, not acked
  std::string problem;                     // !rewound: why (the durable is as it was)
};
// Makes a durable's delivered but unacked messages (a previous process that
// died holding them) deliverable at once, in stream order, instead of after
// its ack wait, when JetStream would redeliver them behind newer ones.
// JetStream 2.9 has no call that resets a consumer's pending messages, so
// this deletes the durable and re-creates it with the same configuration
// but deliver policy "by start sequence" at ack floor + 1: every message
// above the floor is delivered again, nothing at or below it. Transient
// answers (elections) are retried for `retry_for` (the re-create, once
// deleted, for four times that). When the durable cannot be read or
// deleted, it returns with `problem` set and the durable untouched (the
// caller waits out the ack wait instead). When it was deleted but cannot be
// re-created, it throws BusError naming the consumer and the start
// sequence it must be re-created at (ensure_consumer would re-create it
// delivering from the stream's start). The ack floor read is
// the server's: a process still acking the same durable would only see
// messages it acked meanwhile again.
ConsumerRewind rewind_consumer(NatsConnection& connection, const ConsumerSpec& spec,
                               std::chrono::milliseconds retry_for = std::chrono::seconds(15));

// A stream's state as its leader reports it (tests, /health).
struct StreamState {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string leader;  // server name of the stream's leader; "" on a single node without clustering
  int replicas = 1;
};
// Throws BusError naming the stream when it does not exist or the API fails.
StreamState stream_state(NatsConnection& connection, const std::string& stream);

// A durable consumer's state (tests, /health).
struct ConsumerState {
  std::uint64_t delivered_stream_seq = 0;  // highest stream seq delivered
  std::uint64_t ack_floor_stream_seq = 0;  // every seq <= this is acked (or below a rewound durable's start)
  std::uint64_t num_pending = 0;           // not yet delivered
  std::int64_t num_ack_pending = 0;        // delivered, not acked
  std::int64_t num_redelivered = 0;
  std::string leader;
};
ConsumerState consumer_state(NatsConnection& connection, const std::string& stream, const std::string& durable);

// Deletes a stream (tests, operations); false when it did not exist. Throws
// BusError naming the stream on any other failure.
bool delete_stream(NatsConnection& connection, const std::string& stream);

// The deliver policy and start sequence a durable was created with (tests).
struct ConsumerStart {
  bool deliver_all = false;     // deliver policy "all"
  std::uint64_t start_seq = 0;  // deliver policy "by start sequence": its first message
};
ConsumerStart consumer_start(NatsConnection& connection, const std::string& stream, const std::string& durable);

}  // namespace tickflow::bus
