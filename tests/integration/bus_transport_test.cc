// Integration tests of the bus transport (bus/nats_connection, jetstream_schema,
// bus_publisher, bus_subscriber) against a real single `nats-server -js`
// (tests/integration/nats_process.h): stream and consumer provisioning,
// exactly-once storage through Nats-Msg-Id, durable consumption and the ack
// floor across a server restart, the in-flight window (block and spool,
// a spool left by a SIGKILLed publisher), and failed acks resent.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus_publisher.h"
#include "bus/bus_subscriber.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "tests/integration/nats_process.h"

namespace tickflow::bus {
namespace {

using namespace std::chrono_literals;
using testing::NatsProcess;
using Clock = std::chrono::steady_clock;

// libnats's process-wide threads and buffers are freed at exit (LeakSanitizer).
class NatsLibraryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { close_nats_library(); }
};
const auto* const kNatsEnvironment = ::testing::AddGlobalTestEnvironment(new NatsLibraryEnvironment);

NatsConnectionConfig config_for(const NatsProcess& nats) {
  NatsConnectionConfig c;
  c.servers = {nats.url()};
  c.name = "bus-transport-test";
  return c;
}

StreamSpec events_stream() {
  StreamSpec s;
  s.name = "TICKFLOW_EVENTS";
  s.subjects = {"tickflow.trades.>", "tickflow.liquidations.>", "tickflow.status.>"};
  return s;
}

ConsumerSpec aggregator_consumer() {
  ConsumerSpec c;
  c.stream = "TICKFLOW_EVENTS";
  c.durable = "tickflow-aggregator";
  c.filter_subject = "tickflow.trades.>";
  return c;
}

BusPublisherConfig publisher_config(std::int64_t max_in_flight, OnFullWindow on_full = OnFullWindow::kBlock,
                                    const std::filesystem::path& spool_dir = {}) {
  BusPublisherConfig c;
  c.max_in_flight = max_in_flight;
  c.on_full = on_full;
  c.spool_dir = spool_dir;
  return c;
}

std::string id_of(int i) { return "BINANCE:btcusdt:" + std::to_string(i); }
// The payload of message i: binary (NUL and 0xff bytes), of another length
// than its id, so that a spool record that mixed up its fields (subject,
// id, payload) would show.
std::string payload_of(int i) {
  return std::string("\x00\x01", 2) + "payload-" + std::to_string(i) +
         std::string(static_cast<std::size_t>(29 + i % 7), '\xff');
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Publishes ids [from, to): payload = the id, so a consumer can count them.
void publish_range(BusPublisher& publisher, int from, int to) {
  for (int i = from; i < to; ++i) {
    publisher.publish("tickflow.trades.BINANCE.btcusdt", id_of(i), bytes(payload_of(i)));
  }
}

template <typename Pred>
bool eventually(std::chrono::milliseconds limit, Pred pred) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// Every message of the stream once, through a fresh durable consumer:
// payload -> count.
std::vector<std::string> read_all(NatsConnection& connection, const std::string& durable, std::size_t expected) {
  ConsumerSpec spec = aggregator_consumer();
  spec.durable = durable;
  spec.filter_subject = "";
  ensure_consumer(connection, spec);
  BusSubscriber sub(connection, spec, 1000);
  std::vector<std::string> out;
  const auto deadline = Clock::now() + 30s;
  while (out.size() < expected && Clock::now() < deadline) {
    sub.fetch(500ms, [&](const BusMessage& m) {
      out.emplace_back(reinterpret_cast<const char*>(m.data.data()), m.data.size());
    });
  }
  // Nothing more after the expected count.
  sub.fetch(200ms, [&](const BusMessage& m) {
    out.emplace_back(reinterpret_cast<const char*>(m.data.data()), m.data.size());
  });
  return out;
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const BusError& e) {
    return e.what();
  }
  return "(no BusError)";
}

TEST(BusTransport, EnsureStreamCreatesIsIdempotentAndNamesAMismatchedField) {
  NatsProcess nats;
  NatsConnection connection(config_for(nats));
  EXPECT_TRUE(connection.connected());
  EXPECT_EQ(connection.connected_url(), nats.url());

  ensure_stream(connection, events_stream());
  StreamState state = stream_state(connection, "TICKFLOW_EVENTS");
  EXPECT_EQ(state.messages, 0u);
  EXPECT_EQ(state.replicas, 1);
  ensure_stream(connection, events_stream());  // idempotent
  StreamSpec reordered = events_stream();
  std::swap(reordered.subjects[0], reordered.subjects[2]);
  ensure_stream(connection, reordered);  // subjects are a set

  StreamSpec dup = events_stream();
  dup.duplicate_window = 60s;
  std::string w = what_of([&] { ensure_stream(connection, dup); });
  EXPECT_NE(w.find("TICKFLOW_EVENTS"), std::string::npos) << w;
  EXPECT_NE(w.find("duplicate_window is 120 s, configured 60 s"), std::string::npos) << w;
  EXPECT_NE(w.find(nats.url()), std::string::npos) << w;

  StreamSpec r3 = events_stream();
  r3.replicas = 3;
  w = what_of([&] { ensure_stream(connection, r3); });
  EXPECT_NE(w.find("replicas is 1, configured 3"), std::string::npos) << w;

  StreamSpec age = events_stream();
  age.max_age = std::chrono::hours(48);
  w = what_of([&] { ensure_stream(connection, age); });
  EXPECT_NE(w.find("max_age is 86400 s, configured 172800 s"), std::string::npos) << w;

  StreamSpec subjects = events_stream();
  subjects.subjects.pop_back();
  w = what_of([&] { ensure_stream(connection, subjects); });
  EXPECT_NE(w.find("subjects is"), std::string::npos) << w;

  StreamSpec memory = events_stream();
  memory.file_storage = false;
  w = what_of([&] { ensure_stream(connection, memory); });
  EXPECT_NE(w.find("storage is file, configured memory"), std::string::npos) << w;

  // A new R3 stream on a single node: refused, and the message says why.
  StreamSpec bars;
  bars.name = "TICKFLOW_BARS";
  bars.subjects = {"tickflow.bars.>"};
  bars.replicas = 3;
  w = what_of([&] { ensure_stream(connection, bars, 2s); });
  EXPECT_NE(w.find("TICKFLOW_BARS"), std::string::npos) << w;
  EXPECT_NE(w.find("replicas = 3"), std::string::npos) << w;

  // Nothing was changed by the refused calls.
  state = stream_state(connection, "TICKFLOW_EVENTS");
  EXPECT_EQ(state.replicas, 1);
  ensure_stream(connection, events_stream());
}

TEST(BusTransport, EnsureConsumerCreatesIsIdempotentAndNamesAMismatchedField) {
  NatsProcess nats;
  NatsConnection connection(config_for(nats));
  ensure_stream(connection, events_stream());

  ConsumerSpec missing_stream = aggregator_consumer();
  missing_stream.stream = "NO_SUCH_STREAM";
  std::string w = what_of([&] { ensure_consumer(connection, missing_stream); });
  EXPECT_NE(w.find("NO_SUCH_STREAM"), std::string::npos) << w;
  EXPECT_NE(w.find("does not exist"), std::string::npos) << w;

  const std::string no_consumer = what_of([&] { BusSubscriber s(connection, aggregator_consumer()); });
  EXPECT_NE(no_consumer.find("tickflow-aggregator"), std::string::npos) << no_consumer;
  EXPECT_NE(no_consumer.find("does not exist"), std::string::npos) << no_consumer;

  ensure_consumer(connection, aggregator_consumer());
  ensure_consumer(connection, aggregator_consumer());  // idempotent
  ConsumerState state = consumer_state(connection, "TICKFLOW_EVENTS", "tickflow-aggregator");
  EXPECT_EQ(state.ack_floor_stream_seq, 0u);

  ConsumerSpec wait = aggregator_consumer();
  wait.ack_wait = 10s;
  w = what_of([&] { ensure_consumer(connection, wait); });
  EXPECT_NE(w.find("tickflow-aggregator"), std::string::npos) << w;
  EXPECT_NE(w.find("TICKFLOW_EVENTS"), std::string::npos) << w;
  EXPECT_NE(w.find("ack_wait is 30 s, configured 10 s"), std::string::npos) << w;

  ConsumerSpec filter = aggregator_consumer();
  filter.filter_subject = "tickflow.trades.BINANCE.>";
  w = what_of([&] { ensure_consumer(connection, filter); });
  EXPECT_NE(w.find("filter_subject is 'tickflow.trades.>', configured 'tickflow.trades.BINANCE.>'"), std::string::npos)
      << w;

  ConsumerSpec explicit_ack = aggregator_consumer();
  explicit_ack.ack_all = false;
  w = what_of([&] { ensure_consumer(connection, explicit_ack); });
  EXPECT_NE(w.find("ack_policy is all, configured explicit"), std::string::npos) << w;

  ConsumerSpec pending = aggregator_consumer();
  pending.max_ack_pending = 5000;
  w = what_of([&] { ensure_consumer(connection, pending); });
  EXPECT_NE(w.find("max_ack_pending is 1000000, configured 5000"), std::string::npos) << w;

  // The refused calls changed nothing (the server's "add" would have updated it).
  ensure_consumer(connection, aggregator_consumer());
}

TEST(BusTransport, DuplicateIdsAreStoredOnceAndTheDurableResumesPastTheAckFloorAfterARestart) {
  constexpr int kDistinct = 20'000;
  constexpr int kRepublished = 5'000;
  constexpr std::uint64_t kAckedThrough = 12'345;
  NatsProcess nats;
  ConsumerSpec spec = aggregator_consumer();
  spec.ack_wait = 2s;  // the first subscriber's unacked messages come back soon after the restart
  {
    NatsConnection connection(config_for(nats));
    ensure_stream(connection, events_stream());
    ensure_consumer(connection, spec);

    BusPublisher publisher(connection, publisher_config(512));
    const auto t0 = Clock::now();
    publish_range(publisher, 0, kDistinct);
    ASSERT_TRUE(publisher.flush(30s));
    const double publish_s = std::chrono::duration<double>(Clock::now() - t0).count();
    publish_range(publisher, 7'000, 7'000 + kRepublished);  // A/B: the same ids again
    ASSERT_TRUE(publisher.flush(30s));
    const auto& c = publisher.counters();
    EXPECT_EQ(c.published.load(), static_cast<std::uint64_t>(kDistinct + kRepublished));
    EXPECT_EQ(c.acked.load(), static_cast<std::uint64_t>(kDistinct + kRepublished));
    EXPECT_EQ(c.duplicates.load(), static_cast<std::uint64_t>(kRepublished));
    EXPECT_EQ(c.failed.load(), 0u);
    EXPECT_EQ(c.in_flight.load(), 0);
    EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kDistinct));

    BusSubscriber sub(connection, spec, 512);
    std::uint64_t next_seq = 1;
    int order_errors = 0;
    const auto t1 = Clock::now();
    while (next_seq <= kDistinct) {
      if (sub.fetch(2s, [&](const BusMessage& m) {
            const std::string payload(reinterpret_cast<const char*>(m.data.data()), m.data.size());
            if (m.stream_seq != next_seq || payload != payload_of(static_cast<int>(next_seq - 1)) ||
                m.subject != "tickflow.trades.BINANCE.btcusdt" || m.num_delivered != 1)
              ++order_errors;
            ++next_seq;
          }) == 0)
        break;
    }
    const double consume_s = std::chrono::duration<double>(Clock::now() - t1).count();
    EXPECT_EQ(next_seq, static_cast<std::uint64_t>(kDistinct + 1));
    EXPECT_EQ(order_errors, 0);
    EXPECT_EQ(sub.counters().received.load(), static_cast<std::uint64_t>(kDistinct));
    EXPECT_EQ(sub.fetch(100ms, [](const BusMessage&) {}), 0u);  // nothing more
    std::printf("single node: published %d in %.2f s (%.0f msg/s), consumed %d in %.2f s (%.0f msg/s)\n", kDistinct,
                publish_s, kDistinct / publish_s, kDistinct, consume_s, kDistinct / consume_s);

    sub.ack_through(kAckedThrough);
    EXPECT_EQ(sub.counters().acks.load(), 1u);  // AckAll: one ack
    EXPECT_EQ(sub.unacked(), static_cast<std::size_t>(kDistinct - kAckedThrough));
    EXPECT_TRUE(eventually(10s, [&] {
      return consumer_state(connection, "TICKFLOW_EVENTS", spec.durable).ack_floor_stream_seq == kAckedThrough;
    }));
    sub.refresh_lag();
    EXPECT_EQ(sub.counters().lag.load(), static_cast<std::int64_t>(kDistinct - kAckedThrough));
  }

  // The server restarts on its store; a second subscriber on the same durable
  // gets exactly what lies past the ack floor, as redeliveries.
  nats.stop();
  nats.start();
  NatsConnection connection(config_for(nats));
  ensure_stream(connection, events_stream());
  ensure_consumer(connection, spec);
  EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kDistinct));
  BusSubscriber sub(connection, spec, 512);
  std::set<std::uint64_t> seqs;
  std::uint64_t redelivered = 0;
  const auto deadline = Clock::now() + 30s;
  std::uint64_t below_floor = 0;
  const auto on_message = [&](const BusMessage& m) {
    seqs.insert(m.stream_seq);
    if (m.num_delivered > 1) ++redelivered;
    if (m.stream_seq <= kAckedThrough) ++below_floor;
  };
  while (seqs.size() < kDistinct - kAckedThrough && Clock::now() < deadline) {
    sub.fetch(500ms, on_message);
    if (!seqs.empty()) sub.ack_through(*seqs.rbegin());  // per batch: no second redelivery after ack_wait
  }
  sub.fetch(300ms, on_message);
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kDistinct - kAckedThrough));
  EXPECT_EQ(*seqs.begin(), kAckedThrough + 1);
  EXPECT_EQ(*seqs.rbegin(), static_cast<std::uint64_t>(kDistinct));
  EXPECT_EQ(below_floor, 0u);
  // Each was delivered before the restart: all of them are redeliveries.
  EXPECT_EQ(redelivered, sub.counters().received.load());
  EXPECT_EQ(sub.counters().redelivered.load(), sub.counters().received.load());
  EXPECT_GE(sub.counters().received.load(), kDistinct - kAckedThrough);
  sub.ack_through(kDistinct);
  EXPECT_TRUE(eventually(10s, [&] {
    return consumer_state(connection, "TICKFLOW_EVENTS", spec.durable).ack_floor_stream_seq == kDistinct;
  }));
}

// A subscriber that dies holding delivered, unacked messages (an aggregator
// SIGKILLed between checkpoints): JetStream would hand them out again only
// after the ack wait (30 s here), behind newer ones. rewind_consumer()
// re-creates the durable at its ack floor + 1, so the next subscriber gets
// them at once, from exactly the floor + 1, in order, each once, and
// nothing at or below the floor. Twice in a row (the second time on the
// durable the first rewind created), then a restart with nothing unacked
// leaves the durable alone.
TEST(BusTransport, ARestartedSubscriberGetsTheUnackedMessagesAtOnceFromTheAckFloorInOrder) {
  constexpr int kFirst = 2'000;
  constexpr int kSecond = 1'000;
  NatsProcess nats;
  ConsumerSpec spec = aggregator_consumer();
  spec.ack_wait = 30s;  // the default: what the rewind must not wait for
  {
    NatsConnection connection(config_for(nats));
    ensure_stream(connection, events_stream());
    ensure_consumer(connection, spec);
    BusPublisher publisher(connection, publisher_config(512));
    publish_range(publisher, 0, kFirst);
    ASSERT_TRUE(publisher.flush(30s));
  }

  // One run of a subscriber: takes `take` messages starting at `first`
  // (after a rewind, at once), acks through `ack_floor`, and dies without
  // acking the rest. Returns the seconds from its start to its first message.
  const auto run = [&](std::uint64_t first, std::uint64_t take, std::uint64_t ack_floor, std::uint64_t last_seq,
                       bool expect_rewind) -> double {
    const auto t0 = Clock::now();
    NatsConnection connection(config_for(nats));
    ensure_stream(connection, events_stream());
    ensure_consumer(connection, spec);  // a durable the last rewind re-created is the same durable
    const ConsumerState before = consumer_state(connection, "TICKFLOW_EVENTS", spec.durable);
    const ConsumerRewind rewind = rewind_consumer(connection, spec);
    EXPECT_EQ(rewind.needed, expect_rewind);
    EXPECT_EQ(rewind.rewound, expect_rewind) << rewind.problem;
    EXPECT_EQ(rewind.problem, "");
    EXPECT_EQ(rewind.start_seq, first);
    EXPECT_EQ(rewind.delivered_stream_seq, before.delivered_stream_seq);
    EXPECT_EQ(rewind.ack_pending, before.num_ack_pending);
    const ConsumerState after = consumer_state(connection, "TICKFLOW_EVENTS", spec.durable);
    EXPECT_EQ(after.ack_floor_stream_seq, first - 1);
    EXPECT_EQ(after.num_ack_pending, 0);
    EXPECT_EQ(after.num_pending, last_seq - (first - 1));
    if (expect_rewind) {
      EXPECT_EQ(consumer_start(connection, "TICKFLOW_EVENTS", spec.durable).start_seq, first);
    }
    ensure_consumer(connection, spec);
    ConsumerSpec other_wait = spec;  // still the same durable only for the same configuration
    other_wait.ack_wait = 10s;
    const std::string w = what_of([&] { ensure_consumer(connection, other_wait); });
    EXPECT_NE(w.find("ack_wait is 30 s, configured 10 s"), std::string::npos) << w;

    BusSubscriber sub(connection, spec, 100);
    std::uint64_t next_seq = first;
    int order_errors = 0;
    double first_after_s = -1;
    const auto deadline = Clock::now() + 45s;
    while (next_seq < first + take && Clock::now() < deadline) {
      sub.fetch(500ms, [&](const BusMessage& m) {
        if (first_after_s < 0) first_after_s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (next_seq >= first + take) return;  // the rest of the batch: delivered, never acked
        const std::string payload(reinterpret_cast<const char*>(m.data.data()), m.data.size());
        if (m.stream_seq != next_seq || payload != payload_of(static_cast<int>(next_seq - 1)) || m.num_delivered != 1)
          ++order_errors;
        ++next_seq;
      });
    }
    EXPECT_EQ(next_seq, first + take);
    EXPECT_EQ(order_errors, 0);
    if (ack_floor >= first) {
      sub.ack_through(ack_floor);
      EXPECT_TRUE(eventually(10s, [&] {
        return consumer_state(connection, "TICKFLOW_EVENTS", spec.durable).ack_floor_stream_seq == ack_floor;
      }));
    }
    return first_after_s;  // the subscriber and its connection end here, acking nothing more
  };

  // First run: 1 500 of 2 000 taken, acked through 700.
  const double fresh_s = run(1, 1'500, 700, kFirst, false);
  {
    NatsConnection connection(config_for(nats));
    const ConsumerState dead = consumer_state(connection, "TICKFLOW_EVENTS", spec.durable);
    EXPECT_EQ(dead.ack_floor_stream_seq, 700u);
    EXPECT_GE(dead.delivered_stream_seq, 1'500u);
    EXPECT_EQ(dead.num_ack_pending, static_cast<std::int64_t>(dead.delivered_stream_seq - 700));
  }
  // Second run: from 701 at once (not after the 30 s ack wait); dies after
  // 300 messages before its first ack.
  const double rewound_s = run(701, 300, 0, kFirst, true);
  EXPECT_LT(rewound_s, 5.0);
  // Third run: the rewound durable (never acked: the server reports an ack
  // floor of 0) again from 701, at once; takes the other 1 300 and dies
  // having acked through 1 800.
  const double twice_s = run(701, kFirst - 700, 1'800, kFirst, true);
  EXPECT_LT(twice_s, 5.0);
  // More messages; a fourth run from 1 801, again at once, takes them all
  // and acks them all.
  {
    NatsConnection connection(config_for(nats));
    BusPublisher publisher(connection, publisher_config(512));
    publish_range(publisher, kFirst, kFirst + kSecond);
    ASSERT_TRUE(publisher.flush(30s));
  }
  const double again_s = run(1'801, kFirst + kSecond - 1'800, kFirst + kSecond, kFirst + kSecond, true);
  EXPECT_LT(again_s, 5.0);
  // Nothing unacked: the durable stays as it is, nothing is delivered again.
  {
    NatsConnection connection(config_for(nats));
    const ConsumerRewind rewind = rewind_consumer(connection, spec);
    EXPECT_FALSE(rewind.needed);
    EXPECT_FALSE(rewind.rewound);
    EXPECT_EQ(rewind.start_seq, static_cast<std::uint64_t>(kFirst + kSecond + 1));
    EXPECT_EQ(consumer_start(connection, "TICKFLOW_EVENTS", spec.durable).start_seq, 1'801u);
    BusSubscriber sub(connection, spec, 100);
    EXPECT_EQ(sub.fetch(1s, [](const BusMessage&) {}), 0u);
  }
  std::printf("first message after start: fresh %.3f s, rewound %.3f s, %.3f s, %.3f s (ack wait 30 s)\n", fresh_s,
              rewound_s, twice_s, again_s);
}

// libnats 3.4.1's natsSubscription_Fetch overflowed its message array when
// a fetch began with more than half a batch already queued (nats.c #749):
// tf-bus-in died about one run in twelve. The subscriber now sends its own
// pull requests; here a slow handler lets each request's deliveries pile up
// in the inbox while fetch() is still handing out the first of them, 47
// requests in a row, and every message must come out once, in order.
TEST(BusTransport, DeliveriesThatPileUpDuringASlowHandlerComeOutOnceInOrder) {
  constexpr int kMessages = 3'000;
  constexpr int kBatch = 64;
  NatsProcess nats;
  NatsConnection connection(config_for(nats));
  ensure_stream(connection, events_stream());
  ensure_consumer(connection, aggregator_consumer());
  BusPublisher publisher(connection, publisher_config(512));
  publish_range(publisher, 0, kMessages);
  ASSERT_TRUE(publisher.flush(30s));

  BusSubscriber sub(connection, aggregator_consumer(), kBatch);
  std::uint64_t next_seq = 1;
  int order_errors = 0, fetches = 0, short_fetches = 0;
  const auto deadline = Clock::now() + 60s;
  while (next_seq <= kMessages && Clock::now() < deadline) {
    // A slow handler: the rest of the batch lands in the queue meanwhile.
    const std::size_t n = sub.fetch(2s, [&](const BusMessage& m) {
      if (m.stream_seq != next_seq || m.num_delivered != 1) ++order_errors;
      ++next_seq;
      if (m.stream_seq % kBatch == 1) std::this_thread::sleep_for(2ms);
    });
    ++fetches;
    if (n != 0 && n < kBatch) ++short_fetches;
    if (n == 0) break;
  }
  EXPECT_EQ(next_seq, static_cast<std::uint64_t>(kMessages + 1));
  EXPECT_EQ(order_errors, 0);
  EXPECT_EQ(sub.counters().received.load(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(sub.counters().redelivered.load(), 0u);
  EXPECT_EQ(sub.counters().fetch_errors.load(), 0u);
  EXPECT_EQ(sub.fetch(100ms, [](const BusMessage&) {}), 0u);  // nothing more, nothing twice
  std::printf("%d messages in %d fetches (%d returned less than a batch)\n", kMessages, fetches, short_fetches);
}

TEST(BusTransport, AFullWindowSpoolsToDiskWhileTheServerIsDownAndEveryMessageArrivesOnce) {
  constexpr int kMessages = 2'000;
  constexpr int kWindow = 4;
  NatsProcess nats;
  const auto spool_dir = nats.dir() / "bus-spool";
  NatsConnection connection(config_for(nats));
  ensure_stream(connection, events_stream());
  BusPublisher publisher(connection, publisher_config(kWindow, OnFullWindow::kSpool, spool_dir));
  nats.stop();
  ASSERT_TRUE(eventually(10s, [&] { return !connection.connected(); }));

  publish_range(publisher, 0, kMessages);
  const auto& c = publisher.counters();
  EXPECT_EQ(c.in_flight.load(), kWindow);  // in libnats's reconnect buffer
  EXPECT_EQ(c.window_full.load(), static_cast<std::uint64_t>(kMessages - kWindow));
  EXPECT_EQ(c.spooled.load(), static_cast<std::uint64_t>(kMessages - kWindow));
  EXPECT_EQ(publisher.spooled_pending(), static_cast<std::uint64_t>(kMessages - kWindow));
  std::uintmax_t spool_bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(spool_dir))
    if (f.path().extension() == ".seg") spool_bytes += f.file_size();
  EXPECT_GT(spool_bytes, static_cast<std::uintmax_t>((kMessages - kWindow) * 40));

  nats.start();
  ASSERT_TRUE(publisher.flush(30s)) << "in flight " << c.in_flight.load() << ", spooled "
                                    << publisher.spooled_pending();
  EXPECT_EQ(publisher.spooled_pending(), 0u);
  EXPECT_GE(connection.disconnects(), 1u);
  EXPECT_GE(connection.reconnects(), 1u);
  EXPECT_EQ(c.published.load(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kMessages));
  const auto all = read_all(connection, "count", kMessages);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], payload_of(i)) << i;  // publish order
}

TEST(BusTransport, ASpoolLeftByASigkilledPublisherIsDrainedByTheNextOne) {
  constexpr int kMessages = 1'000;
  constexpr int kWindow = 4;
  NatsProcess nats;
  const auto spool_dir = nats.dir() / "bus-spool";
  int to_child[2], to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // the collector that will be killed: it uses libnats first
    char go = 0;
    try {
      NatsConnection connection(config_for(nats));
      ensure_stream(connection, events_stream());
      BusPublisher publisher(connection, publisher_config(kWindow, OnFullWindow::kSpool, spool_dir));
      (void)!::write(to_parent[1], "c", 1);
      (void)!::read(to_child[0], &go, 1);  // the server is down now
      publish_range(publisher, 0, kMessages);
      const char done = publisher.counters().spooled.load() == kMessages - kWindow ? 'd' : 'x';
      (void)!::write(to_parent[1], &done, 1);
      for (;;) ::pause();
    } catch (...) {
      std::_Exit(3);
    }
  }
  char reply = 0;
  ASSERT_EQ(::read(to_parent[0], &reply, 1), 1);
  ASSERT_EQ(reply, 'c');
  nats.stop();
  (void)!::write(to_child[1], "g", 1);
  ASSERT_EQ(::read(to_parent[0], &reply, 1), 1);
  EXPECT_EQ(reply, 'd');
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);

  nats.start();
  NatsConnection connection(config_for(nats));
  BusPublisher publisher(connection, publisher_config(kWindow, OnFullWindow::kSpool, spool_dir));
  EXPECT_EQ(publisher.spooled_pending(), static_cast<std::uint64_t>(kMessages - kWindow));
  ASSERT_TRUE(publisher.flush(30s));
  // The spooled messages arrive once, in order; the killed process's
  // in-flight window (in its memory only) is what a SIGKILL can take.
  EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kMessages - kWindow));
  const auto all = read_all(connection, "count", kMessages - kWindow);
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kMessages - kWindow));
  for (int i = kWindow; i < kMessages; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i - kWindow)], payload_of(i));
}

TEST(BusTransport, APublisherDestroyedWithUnackedMessagesSpoolsThemForTheNextOne) {
  constexpr int kMessages = 100;
  constexpr int kWindow = 4;
  NatsProcess nats;
  const auto spool_dir = nats.dir() / "bus-spool";
  NatsConnection connection(config_for(nats));
  ensure_stream(connection, events_stream());
  nats.stop();
  ASSERT_TRUE(eventually(10s, [&] { return !connection.connected(); }));
  {
    BusPublisher publisher(connection, publisher_config(kWindow, OnFullWindow::kSpool, spool_dir));
    publish_range(publisher, 0, kMessages);
    EXPECT_EQ(publisher.counters().in_flight.load(), kWindow);
    EXPECT_FALSE(publisher.flush(100ms));
  }  // shut down with 4 unacked
  BusPublisher publisher(connection, publisher_config(kWindow, OnFullWindow::kSpool, spool_dir));
  EXPECT_EQ(publisher.spooled_pending(), static_cast<std::uint64_t>(kMessages));
  nats.start();
  ASSERT_TRUE(publisher.flush(30s));
  // The first publisher's buffered copies of the 4 may reach the server too
  // on reconnect: the ids keep one.
  EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kMessages));
  std::set<std::string> ids;
  for (const auto& p : read_all(connection, "count", kMessages)) ids.insert(p);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kMessages));
}

TEST(BusTransport, AFullWindowBlocksUntilTheServerIsBack) {
  constexpr int kMessages = 50;
  NatsProcess nats;
  NatsConnection connection(config_for(nats));
  ensure_stream(connection, events_stream());
  BusPublisher publisher(connection, publisher_config(2));
  nats.stop();
  ASSERT_TRUE(eventually(10s, [&] { return !connection.connected(); }));
  std::atomic<bool> done{false};
  std::thread producer([&] {
    publish_range(publisher, 0, kMessages);
    done = true;
  });
  EXPECT_TRUE(eventually(10s, [&] { return publisher.counters().window_full.load() >= 1; }));
  EXPECT_FALSE(done.load());  // blocked on the full window
  EXPECT_EQ(publisher.counters().in_flight.load(), 2);
  nats.start();
  producer.join();
  ASSERT_TRUE(publisher.flush(30s));
  EXPECT_EQ(publisher.counters().published.load(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kMessages));
}

TEST(BusTransport, AServerRestartMidStreamLosesNothing) {
  // The server goes away while messages are in flight (some in its socket,
  // their acks never to come) and comes back: reconnect, lost acks taken
  // back after ack_timeout and resent with their ids, exactly one copy each.
  constexpr int kMessages = 6'000;
  NatsProcess nats;
  NatsConnection connection(config_for(nats));
  ensure_stream(connection, events_stream());
  BusPublisherConfig config = publisher_config(1'000);
  config.ack_timeout = 1s;
  BusPublisher publisher(connection, config);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    publish_range(publisher, 0, kMessages);
    done = true;
  });
  ASSERT_TRUE(eventually(20s, [&] { return publisher.counters().published.load() >= kMessages / 3; }));
  nats.stop();
  nats.start();
  producer.join();
  ASSERT_TRUE(publisher.flush(30s)) << "in flight " << publisher.counters().in_flight.load();
  const auto& c = publisher.counters();
  EXPECT_EQ(c.published.load(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(c.acked.load(),
            static_cast<std::uint64_t>(kMessages));  // one ack each (a resend of a stored one: a duplicate)
  EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kMessages));
  std::set<std::string> ids;
  for (const auto& p : read_all(connection, "count", kMessages)) ids.insert(p);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kMessages));
  std::printf("server restart mid-stream: resent %llu, duplicates %llu, window full %llu, reconnects %llu\n",
              static_cast<unsigned long long>(c.resent.load()), static_cast<unsigned long long>(c.duplicates.load()),
              static_cast<unsigned long long>(c.window_full.load()),
              static_cast<unsigned long long>(connection.reconnects()));
}

TEST(BusTransport, FailedAcksAreResentWithTheSameIdUntilAStreamTakesThem) {
  constexpr int kMessages = 300;
  NatsProcess nats;
  NatsConnection connection(config_for(nats));
  BusPublisher publisher(connection, publisher_config(64));
  publish_range(publisher, 0, kMessages);  // no stream yet: every ack is "no responders"
  const auto& c = publisher.counters();
  ASSERT_TRUE(eventually(10s, [&] {
    publisher.poll();
    return c.failed.load() >= kMessages;
  }));
  EXPECT_EQ(c.acked.load(), 0u);
  ensure_stream(connection, events_stream());
  ASSERT_TRUE(publisher.flush(30s));
  EXPECT_GE(c.resent.load(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(c.acked.load(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(c.duplicates.load(), 0u);
  EXPECT_EQ(stream_state(connection, "TICKFLOW_EVENTS").messages, static_cast<std::uint64_t>(kMessages));
  std::set<std::string> ids;
  for (const auto& p : read_all(connection, "count", kMessages)) ids.insert(p);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kMessages));
}

TEST(BusTransport, AServerDownAtStartIsAClearErrorNamingIt) {
  const int port = testing::free_loopback_port();
  NatsConnectionConfig config;
  config.servers = {"nats://127.0.0.1:" + std::to_string(port)};
  config.connect_timeout = 500ms;
  const std::string w = what_of([&] { NatsConnection connection(config); });
  EXPECT_NE(w.find("cannot connect to NATS at nats://127.0.0.1:" + std::to_string(port)), std::string::npos) << w;

  config.credentials_file = "/nonexistent/tickflow-nats.creds";
  const std::string creds = what_of([&] { NatsConnection connection(config); });
  EXPECT_NE(creds.find("/nonexistent/tickflow-nats.creds"), std::string::npos) << creds;
}

TEST(BusTransport, CredentialsComeFromAFileOrTheEnvironmentAndNeverReachAnErrorMessage) {
  NatsProcess::Options options;
  options.user = "tickflow";
  options.password = "s3cret-pw";  // test-only
  NatsProcess nats(options);
  NatsConnectionConfig config = config_for(nats);
  config.connect_timeout = 1000ms;
  ::unsetenv("NATS_USER");
  ::unsetenv("NATS_PASSWORD");
  ::unsetenv("NATS_TOKEN");

  std::string w = what_of([&] { NatsConnection c(config); });
  EXPECT_NE(w.find("cannot connect to NATS at " + nats.url()), std::string::npos) << w;

  const auto file = nats.dir() / "nats-credentials";
  {
    std::ofstream out(file);
    out << "# tickflow's bus account\nuser = tickflow\npassword = s3cret-pw\n";
  }
  config.credentials_file = file.string();
  {
    NatsConnection c(config);
    EXPECT_TRUE(c.connected());
    ensure_stream(c, events_stream());
  }
  {
    std::ofstream out(file);
    out << "user = tickflow\npassword = wrong-pw\n";
  }
  w = what_of([&] { NatsConnection c(config); });
  EXPECT_NE(w.find(nats.url()), std::string::npos) << w;
  EXPECT_NE(w.find("Authorization Violation"), std::string::npos) << w;
  EXPECT_EQ(w.find("wrong-pw"), std::string::npos) << w;
  {
    std::ofstream out(file);
    out << "user = tickflow\npasword = s3cret-pw\n";
  }
  w = what_of([&] { NatsConnection c(config); });
  EXPECT_NE(w.find(file.string() + " line 2: unknown key 'pasword'"), std::string::npos) << w;
  EXPECT_EQ(w.find("s3cret-pw"), std::string::npos) << w;

  config.credentials_file.clear();
  ::setenv("NATS_USER", "tickflow", 1);
  ::setenv("NATS_PASSWORD", "s3cret-pw", 1);
  {
    NatsConnection c(config);
    EXPECT_TRUE(c.connected());
  }
  ::unsetenv("NATS_USER");
  ::unsetenv("NATS_PASSWORD");
}

}  // namespace
}  // namespace tickflow::bus
