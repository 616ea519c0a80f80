// Integration tests of the bus transport on a real three-node `nats-server
// -js` cluster (tests/integration/nats_process.h) with an R3 stream: a node
// is SIGKILLed mid-run -- the stream's leader while publishing, the
// consumer's leader while publishing and consuming -- and nothing is lost:
// exact counts of distinct ids in the stream and of stream seqs consumed.
// ctest runs these under RESOURCE_LOCK nats3.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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
using testing::NatsCluster;
using Clock = std::chrono::steady_clock;

class NatsLibraryEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { close_nats_library(); }
};
const auto* const kNatsEnvironment = ::testing::AddGlobalTestEnvironment(new NatsLibraryEnvironment);

constexpr int kMessages = 20'000;
constexpr int kRate = 4'000;  // msg/s: a steady pace, so the kill lands mid-run

NatsConnectionConfig config_for(NatsCluster& cluster, const char* name) {
  NatsConnectionConfig c;
  c.servers = cluster.url_list();
  c.name = name;
  return c;
}

StreamSpec r3_stream() {
  StreamSpec s;
  s.name = "TICKFLOW_EVENTS";
  s.subjects = {"tickflow.trades.>"};
  s.replicas = 3;
  return s;
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

// Publishes ids [0, kMessages) at kRate; calls at_half() once a quarter is out.
void paced_publish(BusPublisher& publisher, const std::function<void()>& at_quarter) {
  const auto t0 = Clock::now();
  for (int i = 0; i < kMessages; ++i) {
    const auto due = t0 + std::chrono::microseconds(static_cast<std::int64_t>(i) * 1'000'000 / kRate);
    while (Clock::now() < due) {
      publisher.poll();
      std::this_thread::sleep_for(200us);
    }
    if (i == kMessages / 4) at_quarter();
    const std::string id = id_of(i);
    publisher.publish("tickflow.trades.BINANCE.btcusdt", id,
                      {reinterpret_cast<const std::uint8_t*>(id.data()), id.size()});
  }
}

// Reads the stream's state, riding out an election.
StreamState settled_state(NatsConnection& connection, std::uint64_t want_messages) {
  StreamState s;
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    try {
      s = stream_state(connection, "TICKFLOW_EVENTS");
      if (s.messages == want_messages && !s.leader.empty()) return s;
    } catch (const BusError&) {
    }
    std::this_thread::sleep_for(50ms);
  }
  return s;
}

// Every payload in the stream, through a fresh durable consumer.
std::vector<std::string> read_all(NatsConnection& connection, std::size_t expected) {
  ConsumerSpec spec;
  spec.stream = "TICKFLOW_EVENTS";
  spec.durable = "count";
  ensure_consumer(connection, spec);
  BusSubscriber sub(connection, spec, 1000);
  std::vector<std::string> out;
  const auto deadline = Clock::now() + 60s;
  while (out.size() < expected && Clock::now() < deadline)
    sub.fetch(1s, [&](const BusMessage& m) {
      out.emplace_back(reinterpret_cast<const char*>(m.data.data()), m.data.size());
    });
  sub.fetch(300ms, [&](const BusMessage& m) {
    out.emplace_back(reinterpret_cast<const char*>(m.data.data()), m.data.size());
  });
  return out;
}

TEST(BusCluster, PublishingGoesOnWhenTheStreamLeadersNodeIsKilledAndNothingIsLost) {
  NatsCluster cluster;
  NatsConnection admin(config_for(cluster, "bus-cluster-admin"));
  ensure_stream(admin, r3_stream());
  const std::string leader = stream_state(admin, "TICKFLOW_EVENTS").leader;
  const int victim = cluster.index_of(leader);
  ASSERT_GE(victim, 0) << "stream leader '" << leader << "'";

  // The publisher is connected to the leader's node (the only URL it is
  // given; it learns the others from the cluster): the kill takes the
  // stream's leader and the client's socket, with the acks in it.
  NatsConnectionConfig config = config_for(cluster, "bus-cluster-publisher");
  config.servers = {cluster.node(victim).url()};
  NatsConnection connection(config);
  BusPublisher publisher(connection, publisher_config(256));
  const auto t0 = Clock::now();
  paced_publish(publisher, [&] { cluster.kill(victim); });
  ASSERT_TRUE(publisher.flush(60s)) << "in flight " << publisher.counters().in_flight.load();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto& c = publisher.counters();

  const StreamState state = settled_state(admin, kMessages);
  EXPECT_EQ(state.messages, static_cast<std::uint64_t>(kMessages));
  EXPECT_NE(state.leader, leader);  // a survivor leads now
  const auto all = read_all(admin, kMessages);
  std::set<std::string> distinct(all.begin(), all.end());
  int missing = 0;
  for (int i = 0; i < kMessages; ++i) missing += distinct.count(id_of(i)) == 0 ? 1 : 0;
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(c.published.load(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(c.acked.load(),
            static_cast<std::uint64_t>(kMessages));  // one ack each (a resend of a stored one: a duplicate)
  EXPECT_GE(connection.disconnects(), 1u);
  EXPECT_GE(connection.reconnects(), 1u);
  std::printf(
      "R3, leader %s killed at msg %d: %d msgs in %.2f s; acked %llu (duplicates %llu), failed acks %llu, resent "
      "%llu, window full %llu, disconnects %llu, reconnects %llu (now %s), new leader %s\n",
      leader.c_str(), kMessages / 4, kMessages, seconds, static_cast<unsigned long long>(c.acked.load()),
      static_cast<unsigned long long>(c.duplicates.load()), static_cast<unsigned long long>(c.failed.load()),
      static_cast<unsigned long long>(c.resent.load()), static_cast<unsigned long long>(c.window_full.load()),
      static_cast<unsigned long long>(connection.disconnects()),
      static_cast<unsigned long long>(connection.reconnects()), connection.connected_url().c_str(),
      state.leader.c_str());
}

TEST(BusCluster, ConsumingGoesOnWhenTheConsumerLeadersNodeIsKilledAndEverySeqIsConsumed) {
  NatsCluster cluster;
  NatsConnection admin(config_for(cluster, "bus-cluster-admin"));
  ensure_stream(admin, r3_stream());
  ConsumerSpec spec;
  spec.stream = "TICKFLOW_EVENTS";
  spec.durable = "tickflow-aggregator";
  spec.filter_subject = "tickflow.trades.>";
  spec.ack_wait = 10s;
  ensure_consumer(admin, spec);
  const std::string leader = consumer_state(admin, spec.stream, spec.durable).leader;
  const int victim = cluster.index_of(leader);
  ASSERT_GE(victim, 0) << "consumer leader '" << leader << "'";

  // The collector publishes at a steady pace on its own connection and thread.
  std::atomic<bool> killed{false};
  std::atomic<bool> publisher_ok{false};
  std::thread collector([&] {
    NatsConnection connection(config_for(cluster, "bus-cluster-publisher"));
    BusPublisher publisher(connection, publisher_config(256));
    paced_publish(publisher, [] {});
    publisher_ok = publisher.flush(60s);
  });

  // The aggregator consumes concurrently and acks each batch; the consumer
  // leader's node dies after a quarter.
  NatsConnection connection(config_for(cluster, "bus-cluster-consumer"));
  BusSubscriber sub(connection, spec, 256);
  std::set<std::uint64_t> seqs;
  std::set<std::string> ids;
  std::uint64_t redelivered = 0;
  const auto t0 = Clock::now();
  const auto deadline = t0 + 90s;
  while (seqs.size() < static_cast<std::size_t>(kMessages) && Clock::now() < deadline) {
    std::uint64_t last = 0;
    sub.fetch(500ms, [&](const BusMessage& m) {
      seqs.insert(m.stream_seq);
      ids.emplace(reinterpret_cast<const char*>(m.data.data()), m.data.size());
      if (m.num_delivered > 1) ++redelivered;
      last = m.stream_seq;
    });
    if (last != 0) sub.ack_through(last);
    if (!killed && seqs.size() >= static_cast<std::size_t>(kMessages / 4)) {
      cluster.kill(victim);
      killed = true;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  collector.join();
  EXPECT_TRUE(publisher_ok.load());
  EXPECT_TRUE(killed.load());
  EXPECT_EQ(seqs.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(settled_state(admin, kMessages).messages, static_cast<std::uint64_t>(kMessages));
  // The ack floor reaches the end on the new consumer leader.
  bool floor_done = false;
  const auto floor_deadline = Clock::now() + 30s;
  while (!floor_done && Clock::now() < floor_deadline) {
    sub.ack_through(kMessages);
    try {
      floor_done = consumer_state(admin, spec.stream, spec.durable).ack_floor_stream_seq == kMessages;
    } catch (const BusError&) {
    }
    if (!floor_done) {
      sub.fetch(200ms, [&](const BusMessage& m) { sub.ack_through(m.stream_seq); });
    }
  }
  EXPECT_TRUE(floor_done);
  std::printf(
      "R3, consumer leader %s killed after %d: consumed %zu seqs in %.2f s, %llu redelivered, fetch errors %llu\n",
      leader.c_str(), kMessages / 4, seqs.size(), seconds, static_cast<unsigned long long>(redelivered),
      static_cast<unsigned long long>(sub.counters().fetch_errors.load()));
}

}  // namespace
}  // namespace tickflow::bus
