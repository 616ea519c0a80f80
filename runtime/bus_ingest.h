// runtime/bus_ingest.h
//
// BusIngest: the aggregator role's tf-bus-in thread (issue 19). A durable
// JetStream pull consumer (bus/bus_subscriber.h) on the events stream is
// one more producer into the aggregator, as the REST backfill is: its own
// FeedChannel, so the Aggregator, the writer and the checkpoint are the
// single-host ones.
//
//   JetStream --fetch--> decode (bus/wire_codec.h) --> resolve market --> de-dup
//       --> kBusMark(seq) + events --> FeedChannel --> Aggregator
//
// Per message:
//  * a malformed message, an unknown wire version or body, or a market this
//    process is not configured for is counted and skipped; the consumer
//    goes on (AckAll: a later ack covers it);
//  * (collector, connection) becomes a connection number of this process,
//    from `first_connection` up, so each collector's watermarks and
//    disconnects reach the markets it announced;
//  * trades are de-duplicated per market by trade id: a window of the last
//    65 536 ids below the market's highest (a bitmap), so A/B collectors
//    whose frames were cut differently, or a backfill of one collector's
//    gap that the other delivered live, still count each trade once. A
//    trade id more than the window below the highest is dropped (counted:
//    `too_old`). Trades without a usable id (hashed ids, liquidations) are
//    checked against a set of the last 65 536 such trades' contents;
//  * a FeedStatus kBusMark carrying the message's stream sequence goes
//    first, so the aggregator knows which message each event came from.
//
// Acks (AckAll, only ever covering settled bars): the aggregator computes,
// once a second, the highest sequence below every message with a trade in
// a second that is open or still amendable (the amendment horizon; at most
// max_ack_pending / 2 messages back); the checkpoint keeper writes that
// with its checkpoint (each market's replay_from_s), after the bars of the
// snapshot were settled by the writer, and only then calls offer_ack()
// (without a checkpoint, the aggregator offers it once the bars were handed
// to the output). This thread acks what was offered. A crash before the ack
// only redelivers: the restarted aggregator's markets resume at
// replay_from_s, rebuild every second from there on from the redelivered
// messages (a late trade after the checkpoint included) and drop the
// trades of older seconds (bus/README.md, "What the restart replays").
//
// Restart: a previous run's delivered but unacked messages would come back
// only after the consumer's ack wait (30 s), and behind newer ones. So at
// start, when the durable has any, the thread re-creates it at its ack
// floor + 1 (bus::rewind_consumer: deleted and created again with the same
// configuration, deliver policy "by start sequence"): the first fetch gets
// them at once, in stream order, nothing at or below the floor and nothing
// above it skipped (the resumed markets then drop what was already sealed;
// counted in `consumer_rewound`). If the durable cannot be deleted (an
// election longer than the retries, 15 s), it waits out the ack wait before
// its first fetch instead, as before (`held_for_redelivery`); if its state
// cannot even be read, it goes on. A durable deleted but not re-created
// (60 s of retries) fails start-up with a message naming the sequence to
// re-create it at.
//
// Threads: start() applies the thread config, connects (libnats's threads
// inherit the affinity), ensures the stream and the durable consumer
// (a mismatch fails start-up naming the field), then fetches until
// stop_fetching(); the channel is then closed. finish() acks the last
// offer and ends the thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/pipeline_config.h"
#include "pipeline/market_registry.h"
#include "ringbuffers/doorbell.h"
#include "runtime/feed_channel.h"

namespace tickflow {

namespace bus {
class NatsConnection;
class BusSubscriber;
struct BusSubscriberCounters;
}  // namespace bus

struct BusIngestCounters {
  std::atomic<std::uint64_t> messages{0};             // decoded and applied
  std::atomic<std::uint64_t> trades{0};               // trades handed to the aggregator
  std::atomic<std::uint64_t> duplicates{0};           // trades dropped: delivered before (A/B, redelivery)
  std::atomic<std::uint64_t> too_old{0};              // trades dropped: id below the de-dup window
  std::atomic<std::uint64_t> bad_messages{0};         // malformed, unknown version or body: skipped
  std::atomic<std::uint64_t> unknown_markets{0};      // messages for a market not configured here: skipped
  std::atomic<std::uint64_t> acked_seq{0};            // the last AckAll sent
  std::atomic<std::uint64_t> offered_seq{0};          // the highest sequence offered for acking
  std::atomic<std::uint64_t> applied_seq{0};          // the last message handed to the aggregator
  std::atomic<std::uint64_t> first_seq{0};            // the first message this run took
  std::atomic<std::uint64_t> consumer_rewound{0};     // at start: a previous run's unacked messages, rewound to
  std::atomic<std::uint64_t> held_for_redelivery{0};  // at start: a previous run's unacked messages, waited for
  std::atomic<bool> connected{false};
};

class BusIngest {
 public:
  // `registry` must already hold every configured market (LivePipeline
  // interns them); `doorbell` is the aggregator's.
  BusIngest(const PipelineConfig& config, const MarketRegistry& registry, std::uint16_t first_connection,
            Doorbell& doorbell);
  ~BusIngest();
  BusIngest(const BusIngest&) = delete;
  BusIngest& operator=(const BusIngest&) = delete;

  FeedChannel& channel() noexcept { return *channel_; }

  // `thread`: [threads.bus] (PipelineConfig::bus_threads), its cpu and
  // priority; the thread keeps its name, tf-bus-in.
  void start(bool pin, std::future<std::string>& setup, const ThreadConfig& thread = {});
  // No more fetches; the channel is closed once the thread stopped fetching.
  void stop_fetching();
  // Acks the last offer and ends the thread (after the checkpoint's last
  // write).
  void finish();

  // --- any thread ---
  // Every message up to and including `stream_seq` is in settled bars.
  void offer_ack(std::uint64_t stream_seq) noexcept;
  const BusIngestCounters& counters() const noexcept { return counters_; }
  // Messages this run took and has not acked yet (their bars not settled).
  std::uint64_t unacked() const noexcept {
    const std::uint64_t applied = counters_.applied_seq.load(std::memory_order_relaxed);
    const std::uint64_t first = counters_.first_seq.load(std::memory_order_relaxed);
    const std::uint64_t acked =
        std::max(counters_.acked_seq.load(std::memory_order_relaxed), first == 0 ? 0 : first - 1);
    return applied > acked ? applied - acked : 0;
  }
  // The subscriber's counters (received, redelivered, lag), null before the
  // thread connected.
  const bus::BusSubscriberCounters* subscriber_counters() const noexcept {
    return subscriber_counters_.load(std::memory_order_acquire);
  }

 private:
  struct Dedup;
  std::string setup_connection();
  void run() noexcept;
  void ack_offered();
  void rewind_unacked();
  void hold_for_redelivery();

  PipelineConfig config_;
  const MarketRegistry& registry_;
  const std::uint16_t first_connection_;
  std::unique_ptr<FeedChannel> channel_;
  BusIngestCounters counters_;
  std::atomic<const bus::BusSubscriberCounters*> subscriber_counters_{nullptr};
  std::atomic<bool> stop_fetching_{false};
  std::atomic<bool> finish_{false};
  std::thread thread_;

  // The thread's own.
  std::unique_ptr<bus::NatsConnection> connection_;
  std::unique_ptr<bus::BusSubscriber> subscriber_;
  std::unique_ptr<Dedup> dedup_;
  std::int64_t hold_for_ = 0;  // unacked messages of a previous run the rewind could not make deliverable
  std::map<std::string, std::uint16_t> connections_;  // collector + '/' + connection -> ours
  std::vector<FeedEvent> out_;
};

}  // namespace tickflow
