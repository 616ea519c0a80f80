// runtime/capture_player.cc
#include "runtime/capture_player.h"

namespace tickflow {
namespace {

AggregatorOptions event_clock(AggregatorOptions options) {
  options.wall_clock = false;
  options.measure_latency = false;
  return options;
}

FeedPublisher::Options event_clock_publisher() {
  FeedPublisher::Options options;
  options.clock_tick_ns = FeedPublisher::kEventClockTickNs;
  options.measure_latency = false;
  return options;
}

}  // namespace

CapturePlayer::CapturePlayer(const MarketRegistry& registry, std::size_t connections, BarSink& output,
                             CapturePlayerOptions options)
    : aggregator_(event_clock(options.aggregator), registry, {}, output),
      // Block on a full ring: a replay must lose nothing; the reader waits.
      channel_("tf-replay", options.ring_capacity, FullRingPolicy::kBlock, aggregator_.doorbell()),
      publisher_(channel_, options.aggregator.max_markets, event_clock_publisher()),
      connections_(connections) {
  for (std::size_t i = 0; i < connections_.size(); ++i) connections_[i].id = static_cast<std::uint16_t>(i);
  aggregator_.set_inputs({&channel_});
}

CapturePlayer::~CapturePlayer() { finish(); }

void CapturePlayer::start() {
  thread_ = std::thread([this] {
    aggregator_.run();
    // A producer blocked on a full ring must not wait for a dead consumer.
    channel_.abort();
  });
}

bool CapturePlayer::publish(std::size_t connection, const EventBuffer& events, std::int64_t receive_ns) {
  if (aggregator_.finished()) [[unlikely]]
    return false;
  publisher_.publish(connections_[connection], events, receive_ns);
  return !aggregator_.finished();
}

std::string CapturePlayer::finish() {
  if (finished_) return aggregator_.error();
  finished_ = true;
  channel_.close();
  if (thread_.joinable()) thread_.join();
  return aggregator_.error();
}

}  // namespace tickflow
