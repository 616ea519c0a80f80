// runtime/influx_writer.h
//
// InfluxWriter: the writer thread. The aggregator hands it every emitted bar
// through an SpscRing<Bar> (on_bar, called on the aggregator thread); the
// writer thread encodes them into InfluxSink's batches and lets the sink
// POST, retry and spool. Nothing on the aggregator's path waits for I/O.
//
// Back-pressure instead of loss: when the sink cannot take more (its spool
// is full under the kBlock policy, or unwritable, and its memory bound is
// reached), the writer stops draining the ring; when the ring is full,
// on_bar() waits (spin, then yield) until there is room. In replay that
// slows the reader; live, the feed rings absorb it and count what they drop.
//
// Market names reach the writer beside the ring: `names[id]` is written
// before the first event of market `id` enters the feed ring, so the chain
// of release/acquire pairs (feed ring, then this ring) makes it visible here.
//
// Lifecycle: construct (opens and recovers the spool, may throw), start(),
// on_bar()... from one aggregator thread, then finish(deadline): the thread
// drains the ring, flushes the sink until everything is acknowledged or
// spooled or the deadline passes, and is joined.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/bar_sink.h"
#include "pipeline/influx_sink.h"
#include "pipeline/line_protocol.h"
#include "ringbuffers/doorbell.h"
#include "ringbuffers/spsc_ring.h"

namespace tickflow {

class InfluxWriter final : public BarSink {
 public:
  InfluxWriter(InfluxSinkConfig config, LineProtocolOptions encoding, const std::vector<std::string>& names);
  ~InfluxWriter() override;

  void start();
  void on_bar(const Bar& bar) override;  // aggregator thread

  // Stops taking bars, drains, flushes until `deadline`; joins the thread.
  // True when every bar was acknowledged (or dead-lettered).
  bool finish(std::chrono::steady_clock::time_point deadline);

  const InfluxSink& sink() const noexcept { return *sink_; }
  std::uint64_t bars_handed() const noexcept { return handed_; }

 private:
  void run() noexcept;

  static constexpr std::size_t kRingCapacity = 1u << 14;
  std::unique_ptr<InfluxSink> sink_;
  BarLineEncoder encoder_;
  const std::vector<std::string>& names_;
  SpscRing<Bar> ring_{kRingCapacity};
  Doorbell doorbell_;
  std::thread thread_;
  std::uint64_t handed_ = 0;  // aggregator side
  alignas(128) std::atomic<std::uint64_t> pushed_{0};
  alignas(128) std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point deadline_{};
  bool delivered_all_ = false;
};

}  // namespace tickflow
