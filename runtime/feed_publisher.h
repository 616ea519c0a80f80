// runtime/feed_publisher.h
//
// FeedPublisher: the producer's half of a FeedChannel, on a feed thread (or
// the backfill thread). It turns one frame's parsed events into what the
// aggregator needs, in order:
//   1. kConnected(market, connection) for each market this publisher has not
//      announced yet: the aggregator assigns the market to its connection, so
//      connection-wide watermarks and disconnects reach it;
//   2. the frame's trades and statuses (quotes stay here: bars do not use
//      them, and each would cost a ring slot);
//   3. a kWatermark for the connection when the frame moved its newest
//      exchange time: quiet markets of a busy connection close on it.
//      Liquidations do not move it: some venues send them without an
//      exchange time (BitMEX's liquidation table: the receive time stands
//      in) or on a schedule of their own (Binance forceOrder: the latest
//      liquidation of each second), so their times say nothing about which
//      trades are still to come.
// and, live, records "frame receive -> event published" for every 8th frame.
//
// The event clock. Live, the aggregator reads the wall clock; in replay and
// backtest it runs on the receive times the events carry (clock_tick_ns >
// 0). A frame that yields nothing for the ring (depth, a spot bookTicker
// without an exchange time, an ack) would then not move that clock, so the
// publisher sends a kWatermark that moves nothing but the clock when
// clock_tick_ns has passed since its last push: quiet markets close on time
// in replay as they do live. This is the only difference between the paths.
//
// One copy per event: with room in the ring (the common case) events are
// written straight into its slots (FeedChannel::claim/commit); the outbox
// is the fallback when the ring is nearly full, where the channel's
// full-ring policy (block or drop) applies.
//
// Allocation-free after warm-up: the outbox and the announced-market bitmap
// are sized at construction. Not thread-safe: one publisher per producer
// thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "feeds/event_buffer.h"
#include "pipeline/events.h"
#include "pipeline/wall_clock.h"
#include "runtime/feed_channel.h"
#include "runtime/shared_histogram.h"

namespace tickflow {

class FeedPublisher {
 public:
  // Per connection: the newest exchange time seen on it.
  struct Connection {
    std::uint16_t id = 0;
    std::int64_t watermark_ns = 0;
    bool watermarks = true;  // false for the backfill: its trades are old by design
  };

  struct Options {
    // > 0: the event clock (see the banner): a clock-only watermark when
    // nothing was pushed for this long. 0: live, the aggregator reads the
    // wall clock.
    std::int64_t clock_tick_ns = 0;
    bool measure_latency = true;  // frame receive -> published (live: the receive time is a wall time)
  };
  // The event clock's tick: 10 ms, far below the bars' lateness (250 ms).
  static constexpr std::int64_t kEventClockTickNs = 10'000'000;

  FeedPublisher(FeedChannel& channel, std::size_t max_markets) : FeedPublisher(channel, max_markets, Options{}) {}
  FeedPublisher(FeedChannel& channel, std::size_t max_markets, Options options)
      : channel_(channel), options_(options), announced_(max_markets, 0) {
    outbox_.reserve(EventBuffer::kDefaultCapacity + 64);
  }

  void publish(Connection& connection, const EventBuffer& events, std::int64_t receive_ns) {
    // Each event may be preceded by one kConnected, and one watermark may
    // follow: with that many slots free (the common case), the events are
    // written straight into the ring's slots, one copy; otherwise they go
    // through the outbox and the channel's full-ring policy.
    const std::size_t bound = 2 * events.size() + 1;
    std::size_t pushed = 0;
    if (const auto span = channel_.claim(bound); span.size() >= bound) [[likely]] {
      SpanOut out{span};
      fill(connection, events, receive_ns, out);
      pushed = out.size();
      if (pushed != 0) channel_.commit(pushed);
    } else {
      outbox_.clear();
      fill(connection, events, receive_ns, outbox_);
      pushed = outbox_.size();
      if (pushed != 0) channel_.publish(outbox_.data(), pushed);
    }
    if (pushed == 0) return;
    last_push_receive_ns_ = receive_ns;
    // One publish in kLatencySampleEvery is timed (shared_histogram.h).
    if (!options_.measure_latency || ++published_frames_ % kLatencySampleEvery != 0) return;
    const std::int64_t now = realtime_ns();
    receive_to_publish_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - receive_ns)));
    receive_to_publish_.maybe_publish(now);
  }

  FeedChannel& channel() noexcept { return channel_; }
  SharedHistogram& receive_to_publish() noexcept { return receive_to_publish_; }

 private:
  // Claimed ring slots seen as an output sequence.
  struct SpanOut {
    SpscRing<FeedEvent>::WriteSpan span;
    std::size_t n = 0;
    void push_back(const FeedEvent& e) noexcept { span[n++] = e; }
    std::size_t size() const noexcept { return n; }
  };

  // What one frame's events become, in order (see the banner), into `out`
  // (the ring's slots or the outbox).
  template <typename Out>
  void fill(Connection& connection, const EventBuffer& events, std::int64_t receive_ns, Out& out) {
    std::int64_t newest = connection.watermark_ns;
    for (const FeedEvent& e : events) {
      if (e.type == FeedEventType::kTrade) {
        announce(connection, e.trade.market, receive_ns, out);
        out.push_back(e);
        if (!(e.trade.flags & kTradeLiquidation)) newest = std::max(newest, e.trade.exchange_ts_ns);
      } else if (e.type == FeedEventType::kStatus) {
        out.push_back(e);
      } else if (e.type == FeedEventType::kQuote && e.quote.exchange_ts_ns > 0) {
        newest = std::max(newest, e.quote.exchange_ts_ns);
      }
    }
    const bool moved = newest > connection.watermark_ns;
    const bool tick =
        options_.clock_tick_ns > 0 && out.size() == 0 && receive_ns - last_push_receive_ns_ >= options_.clock_tick_ns;
    if (connection.watermarks && (moved || tick)) {
      connection.watermark_ns = newest;  // a tick: unchanged, only the clock moves
      FeedStatus watermark;
      watermark.kind = FeedStatusKind::kWatermark;
      watermark.market = kInvalidMarket;
      watermark.connection = connection.id;
      watermark.watermark_ns = newest;
      watermark.receive_ts_ns = receive_ns;
      out.push_back(FeedEvent::of(watermark));
    }
  }

  template <typename Out>
  void announce(const Connection& connection, MarketId market, std::int64_t receive_ns, Out& out) {
    if (market >= announced_.size() || announced_[market]) return;
    announced_[market] = 1;
    if (!connection.watermarks) return;  // the backfill does not own markets
    FeedStatus connected;
    connected.kind = FeedStatusKind::kConnected;
    connected.market = market;
    connected.connection = connection.id;
    connected.receive_ts_ns = receive_ns;
    out.push_back(FeedEvent::of(connected));
  }

  FeedChannel& channel_;
  const Options options_;
  std::int64_t last_push_receive_ns_ = INT64_MIN / 2;
  std::uint64_t published_frames_ = 0;
  std::vector<std::uint8_t> announced_;
  std::vector<FeedEvent> outbox_;
  SharedHistogram receive_to_publish_;
};

}  // namespace tickflow
