// runtime/capture_player.h
//
// CapturePlayer: recorded frames through the production path, on the event
// clock. `tickflow replay`, the backtester's capture input and the tests
// that check them against `tickflow run` all aggregate through it, and it
// is made of the live pipeline's own parts:
//
//   CaptureStream frames (this thread, the producer)
//     -> FeedPublisher (one Connection per capture file; event clock)
//     -> FeedChannel (SpscRing<FeedEvent>, full ring: block)
//     -> Aggregator (its own thread; wall_clock = false)
//     -> output BarSink (1 s bars and rollups, in emission order)
//
// Live and replay differ in the clock only: here the aggregator's clock is
// the receive time the events carry (and the publisher's clock ticks, see
// runtime/feed_publisher.h), so the output depends on the input alone:
// identical run to run, at any speed.
//
// Lifecycle: construct; configure aggregator() (a strategy, say); start();
// publish() every frame from one thread; finish() closes the channel, lets
// the aggregator drain it and flush every open bar and window, and joins.
// The destructor finishes a player that is still running.
//
// Errors: an exception from the output ends the aggregator (its error());
// publish() then returns false at once instead of waiting on a ring nobody
// drains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "feeds/event_buffer.h"
#include "pipeline/bar_sink.h"
#include "pipeline/market_registry.h"
#include "runtime/aggregator.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"

namespace tickflow {

struct CapturePlayerOptions {
  AggregatorOptions aggregator;  // its wall_clock and measure_latency are turned off
  std::size_t ring_capacity = std::size_t{1} << 14;
};

class CapturePlayer {
 public:
  // `connections`: one per capture file (CaptureStream::inputs()). The
  // registry and the output outlive the player.
  CapturePlayer(const MarketRegistry& registry, std::size_t connections, BarSink& output,
                CapturePlayerOptions options = {});
  ~CapturePlayer();
  CapturePlayer(const CapturePlayer&) = delete;
  CapturePlayer& operator=(const CapturePlayer&) = delete;

  Aggregator& aggregator() noexcept { return aggregator_; }
  const Aggregator& aggregator() const noexcept { return aggregator_; }
  const FeedChannel& channel() const noexcept { return channel_; }

  // Starts the aggregator thread.
  void start();
  // Producer thread: one frame's events, received at `receive_ns` on
  // connection `connection`. False once the aggregator has stopped.
  bool publish(std::size_t connection, const EventBuffer& events, std::int64_t receive_ns);
  // No more frames: drain, flush, join. Returns the aggregator's error, ""
  // when it ran to the end. Idempotent.
  std::string finish();

 private:
  Aggregator aggregator_;
  FeedChannel channel_;
  FeedPublisher publisher_;
  std::vector<FeedPublisher::Connection> connections_;
  std::thread thread_;
  bool finished_ = false;
};

}  // namespace tickflow
