// runtime/bus_specs.h
//
// What a [bus] section (config/pipeline_config.h, BusConfig) means to bus/:
// the connection, the events stream and the aggregator's durable consumer.
// One place, so the collector and the aggregator of one cluster (separate
// processes, separate configs) check the same stream definition at start.
#pragma once

#include <algorithm>
#include <chrono>

#include <string>

#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "config/pipeline_config.h"

namespace tickflow {

inline bus::NatsConnectionConfig bus_connection_config(const BusConfig& config, const std::string& client_name) {
  bus::NatsConnectionConfig out;
  out.servers = config.servers;
  out.credentials_file = config.credentials_file;
  out.name = client_name;
  return out;
}

// TICKFLOW_EVENTS: trades, liquidations and every collector's status, in
// one stream so that a watermark stays in order with the trades before it.
inline bus::StreamSpec bus_events_stream(const BusConfig& config) {
  bus::StreamSpec spec;
  spec.name = config.events_stream;
  spec.subjects = {"tickflow.trades.>", "tickflow.liquidations.>", "tickflow.status.>"};
  spec.replicas = config.replicas;
  spec.duplicate_window = config.duplicate_window;
  spec.max_age = config.max_age;
  return spec;
}

// The aggregator's durable pull consumer: the whole events stream, AckAll
// (one ack per settled checkpoint covers everything before it). Its acks
// stay below every second still amendable (`amend_horizon`, the restart's
// replay: runtime/aggregator.h), so the ack wait is at least that plus a
// minute: a shorter one would have JetStream redeliver every message it
// holds, over and over. (A restart does not wait for it: it rewinds.)
inline bus::ConsumerSpec bus_aggregator_consumer(const BusConfig& config, std::chrono::seconds amend_horizon) {
  bus::ConsumerSpec spec;
  spec.stream = config.events_stream;
  spec.durable = config.durable;
  spec.ack_wait = std::max<std::chrono::seconds>(config.ack_wait, amend_horizon + std::chrono::seconds(60));
  spec.max_ack_pending = config.max_ack_pending;
  spec.ack_all = true;
  return spec;
}

// TICKFLOW_BARS: the aggregators' closed bars (runtime/bus_bar_publisher.h).
inline bus::StreamSpec bus_bars_stream(const BusConfig& config) {
  bus::StreamSpec spec;
  spec.name = config.bars_stream;
  spec.subjects = {"tickflow.bars.>"};
  spec.replicas = config.replicas;
  spec.duplicate_window = config.duplicate_window;
  spec.max_age = config.max_age;
  return spec;
}

// TICKFLOW_SIGNALS: the strategy hosts' signals (runtime/bus_strategy.h).
inline bus::StreamSpec bus_signals_stream(const BusConfig& config) {
  bus::StreamSpec spec;
  spec.name = config.signals_stream;
  spec.subjects = {"tickflow.signals.>"};
  spec.replicas = config.replicas;
  spec.duplicate_window = config.duplicate_window;
  spec.max_age = config.max_age;
  return spec;
}

// The strategy host's durable pull consumer: the 1 s bars of the bars
// stream (the StrategyEngine's base; rollups are for other readers), AckAll
// once the bars of a fetch went to the engine.
inline bus::ConsumerSpec bus_strategy_consumer(const BusConfig& config) {
  bus::ConsumerSpec spec;
  spec.stream = config.bars_stream;
  spec.durable = config.durable;
  spec.filter_subject = "tickflow.bars.1s.>";
  spec.ack_wait = config.ack_wait;
  spec.max_ack_pending = config.max_ack_pending;
  spec.ack_all = true;
  return spec;
}

}  // namespace tickflow
