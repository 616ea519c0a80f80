// runtime/signal_publisher.cc
#include "runtime/signal_publisher.h"

#include "pipeline/wall_clock.h"
#include "runtime/bus_signal_publisher.h"
#include "runtime/influx_writer.h"

namespace tickflow {

SignalPublisher::SignalPublisher(const StrategyEngine& engine, InfluxWriter* writer, std::size_t max_open_positions)
    : engine_(engine),
      writer_(writer),
      max_open_(max_open_positions),
      in_position_(engine.groups(), 0),
      groups_count_(engine.groups()),
      groups_(std::make_unique<GroupState[]>(engine.groups())) {}

void SignalPublisher::publish(std::size_t group, const Decision& d) noexcept {
  const Signal s = engine_.make_signal(group, d);
  counters_.last_signal_s.store(d.time_s, std::memory_order_relaxed);
  if (group < groups_count_) groups_[group].last_signal.store(s);
  if (writer_ && !writer_->on_signal(s)) counters_.ring_full.fetch_add(1, std::memory_order_relaxed);
  if (bus_) bus_->offer(s);  // counts its own drops
}

bool SignalPublisher::on_entry(std::size_t group, const Decision& d) {
  if (group >= in_position_.size() || open_ >= max_open_) {
    counters_.refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  in_position_[group] = 1;
  ++open_;
  counters_.entries.fetch_add(1, std::memory_order_relaxed);
  publish(group, d);
  return true;
}

void SignalPublisher::on_exit(std::size_t group, const Decision& d) {
  if (group < in_position_.size() && in_position_[group]) {
    in_position_[group] = 0;
    --open_;
  }
  counters_.exits.fetch_add(1, std::memory_order_relaxed);
  publish(group, d);
}

void SignalPublisher::on_evaluation(std::size_t group, const Decision& d) {
  counters_.evaluations.fetch_add(1, std::memory_order_relaxed);
  if (group < groups_count_) {
    GroupState& g = groups_[group];
    g.evaluations.store(g.evaluations.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    g.last_evaluation_ns.store(realtime_ns(), std::memory_order_relaxed);
  }
  if (debug_ && group == debug_group_) debug_->write(engine_.base(group), d);
}

}  // namespace tickflow
