// bench/bus_path.cc
//
// bus_path: what the NATS JetStream bus costs between a collector and an
// aggregator (issue 19), against the in-process ring, in the same run.
//
//   ring:  producer thread -> SpscRing<FeedEvent> -> consumer thread -> BarBuilder
//   bus:   collector process: stamp -> EventBatchEncoder -> BusPublisher (async, bounded window)
//            -> nats-server (1 node, or 3 clustered nodes with an R3 stream) ->
//          aggregator process: BusSubscriber (durable pull) -> decode -> BarBuilder
//
// The events are the trades of the bundled Binance 2024-08-08 captures
// (tests/data/binance-20240808-trades: spot and USD-M, BTC and ETH), parsed
// once before any clock starts. Each message carries up to --batch
// consecutive trades of one market (a Binance @trade frame holds one trade;
// venues such as OKX or Bybit send several per frame). Every event is
// stamped with receive_ts_ns = now just before it is published (ring) or
// encoded (bus); latency is from that stamp to the moment the consumer has
// applied the trade to its 1 s bar (BarBuilder::on_trade), on one host's
// CLOCK_REALTIME.
//
// Modes:
//   --rate N   events per second, paced (latency); 0 = as fast as possible
//              (throughput: events per wall second, first publish -> last apply)
//   --nodes    1 (default) or 3
//
// CPU: getrusage of each process (the collector is a forked child, so each
// side's libnats threads are counted on its side), in CPU seconds per
// million events. The ring's figures are each thread's own CPU time; its
// consumer spins when the ring is empty, so at a paced rate its CPU is its
// wall time, while the aggregator's fetch sleeps in libnats.
//
// Output: one JSON object. Commands and figures: bench/README.md ("The bus").
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bus/bus_publisher.h"
#include "bus/bus_subscriber.h"
#include "bus/jetstream_schema.h"
#include "bus/nats_connection.h"
#include "bus/subjects.h"
#include "bus/wire_codec.h"
#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_builder.h"
#include "pipeline/latency_histogram.h"
#include "pipeline/market_registry.h"
#include "pipeline/wall_clock.h"
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/spsc_ring.h"
#include "tests/integration/nats_process.h"

namespace tickflow {
namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// One message's worth of events: up to --batch consecutive trades of one market.
struct Batch {
  MarketId market = kInvalidMarket;
  std::vector<FeedEvent> events;
};

struct Workload {
  MarketRegistry registry;
  std::vector<Batch> batches;
  std::size_t events = 0;
};

void load(Workload& w, const std::string& dir, std::size_t batch_size, std::size_t repeat) {
  struct File {
    const char* name;
    const char* parser;
  };
  const File files[] = {{"spot_btcusdt.gz", "BINANCE"},
                        {"spot_ethusdt.gz", "BINANCE"},
                        {"usdm_btcusdt.gz", "BINANCE_FUTURES"},
                        {"usdm_ethusdt.gz", "BINANCE_FUTURES"}};
  std::vector<FeedEvent> trades;
  for (const File& file : files) {
    auto parser = make_parser(file.parser, w.registry);
    CaptureReader reader(dir + "/" + file.name);
    CaptureRecord record;
    EventBuffer buffer;
    while (reader.next(record)) {
      PaddedFrame frame;
      frame.assign(record.frame);
      buffer.clear();
      if (parser->parse(frame.view(), record.receive_ts_ns, buffer) != ParseOutcome::kEvents) continue;
      for (std::size_t i = 0; i < buffer.size(); ++i)
        if (buffer[i].type == FeedEventType::kTrade) trades.push_back(buffer[i]);
    }
  }
  if (trades.empty()) throw std::runtime_error("no trades in " + dir);
  std::stable_sort(trades.begin(), trades.end(), [](const FeedEvent& a, const FeedEvent& b) {
    return a.trade.exchange_ts_ns < b.trade.exchange_ts_ns;
  });
  // Repeats continue in time (one capture length later) with fresh trade ids,
  // so the bar builder sees a longer day, not late duplicates.
  const std::int64_t span_ns = trades.back().trade.exchange_ts_ns - trades.front().trade.exchange_ts_ns + 1'000'000'000;
  for (std::size_t r = 0; r < repeat; ++r) {
    for (const FeedEvent& original : trades) {
      FeedEvent e = original;
      e.trade.exchange_ts_ns += static_cast<std::int64_t>(r) * span_ns;
      e.trade.trade_id += r * 10'000'000'000ull;
      Batch* open = w.batches.empty() ? nullptr : &w.batches.back();
      if (open == nullptr || open->market != e.trade.market || open->events.size() >= batch_size) {
        w.batches.push_back({e.trade.market, {}});
        open = &w.batches.back();
      }
      open->events.push_back(e);
      ++w.events;
    }
  }
}

// Counts bars; the figure is the trade -> bar-update latency, not the bars.
struct CountingSink final : BarSink {
  std::uint64_t bars = 0;
  void on_bar(const Bar&) override { ++bars; }
};

BarBuilderConfig builder_config(const Workload& w) {
  BarBuilderConfig c;
  c.max_markets = std::max<std::size_t>(16, w.registry.size());
  return c;
}

struct PathResult {
  std::uint64_t events = 0;
  double wall_s = 0;
  double producer_cpu_s = 0;  // ring: the producer thread; bus: the collector process
  double consumer_cpu_s = 0;  // ring: the consumer thread (it spins: CPU = wall); bus: the aggregator process
  double published = 0, duplicates = 0, window_full = 0;  // bus: the collector's publisher counters
  LatencyHistogram latency;
  std::uint64_t bars = 0;
};

// Sleeps (coarsely) and then spins until `deadline_ns` on CLOCK_REALTIME.
void pace_until(std::int64_t deadline_ns) {
  for (;;) {
    const std::int64_t now = realtime_ns();
    if (now >= deadline_ns) return;
    if (deadline_ns - now > 200'000)
      std::this_thread::sleep_for(std::chrono::nanoseconds(deadline_ns - now - 100'000));
    else
      cpu_relax();
  }
}

PathResult run_ring(const Workload& w, double rate) {
  PathResult result;
  SpscRing<FeedEvent> ring(1 << 16);
  CountingSink sink;
  BarBuilder builder(builder_config(w), sink);
  std::uint64_t applied = 0;
  const std::int64_t t0 = realtime_ns();
  std::thread consumer([&] {
    const double consumer_cpu0 = thread_cpu_seconds();
    while (applied < w.events) {
      const std::size_t n = ring.consume(
          [&](const FeedEvent& e) {
            builder.on_trade(e.trade);
            result.latency.record(static_cast<std::uint64_t>(realtime_ns() - e.trade.receive_ts_ns));
          },
          256);
      applied += n;
      if (n == 0) cpu_relax();
    }
    result.consumer_cpu_s = thread_cpu_seconds() - consumer_cpu0;
  });
  const double producer_cpu0 = thread_cpu_seconds();
  std::uint64_t sent = 0;
  for (const Batch& b : w.batches) {
    if (rate > 0) pace_until(t0 + static_cast<std::int64_t>(static_cast<double>(sent) * 1e9 / rate));
    const std::int64_t stamp = realtime_ns();
    for (FeedEvent e : b.events) {
      e.trade.receive_ts_ns = stamp;
      while (!ring.try_push(e)) cpu_relax();
    }
    sent += b.events.size();
  }
  result.producer_cpu_s = thread_cpu_seconds() - producer_cpu0;
  consumer.join();
  result.wall_s = static_cast<double>(realtime_ns() - t0) / 1e9;
  result.events = applied;
  result.bars = sink.bars;
  return result;
}

constexpr const char* kStream = "TICKFLOW_BENCH";
constexpr const char* kDurable = "bench-aggregator";

// The collector side, in a forked child: publishes every batch, flushes,
// writes {cpu seconds, published, duplicates, window_full} to `out_fd`.
[[noreturn]] void collector_process(const Workload& w, const std::vector<std::string>& servers, double rate,
                                    std::int64_t t0, std::int64_t max_in_flight, const std::string& spool_dir,
                                    int out_fd) {
  int rc = 0;
  try {
    bus::NatsConnectionConfig cc;
    cc.servers = servers;
    cc.name = "bench-collector";
    bus::NatsConnection connection(cc);
    bus::BusPublisherConfig pc;
    pc.max_in_flight = max_in_flight;
    if (!spool_dir.empty()) {  // a full window spools to disk, as on_full = "spool" does
      pc.on_full = bus::OnFullWindow::kSpool;
      pc.spool_dir = spool_dir;
    }
    bus::BusPublisher publisher(connection, pc);
    bus::EventBatchEncoder encoder;
    const double cpu0 = cpu_seconds();
    std::uint64_t sent = 0;
    std::vector<FeedEvent> stamped;
    pace_until(t0);
    for (const Batch& b : w.batches) {
      if (rate > 0) pace_until(t0 + static_cast<std::int64_t>(static_cast<double>(sent) * 1e9 / rate));
      const MarketInfo& info = w.registry.info(b.market);
      const std::int64_t stamp = realtime_ns();
      stamped.assign(b.events.begin(), b.events.end());
      encoder.start("bench", info.exchange, info.pair, 0);
      for (FeedEvent& e : stamped) {
        e.trade.receive_ts_ns = stamp;
        encoder.add(e);
      }
      const auto bytes = encoder.finish();
      publisher.publish(bus::trades_subject(info.exchange, info.pair),
                        bus::event_batch_msg_id(info.exchange, info.pair, stamped.data(), stamped.size()), bytes);
      sent += b.events.size();
    }
    if (!publisher.flush(std::chrono::seconds(60))) rc = 3;
    const double report[4] = {cpu_seconds() - cpu0, static_cast<double>(publisher.counters().published.load()),
                              static_cast<double>(publisher.counters().duplicates.load()),
                              static_cast<double>(publisher.counters().window_full.load())};
    if (::write(out_fd, report, sizeof report) != static_cast<ssize_t>(sizeof report)) rc = 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bus_path: collector: %s\n", e.what());
    rc = 2;
  }
  ::_exit(rc);  // never run the parent's destructors (they stop its nats-server)
}

PathResult run_bus(const Workload& w, const std::vector<std::string>& servers, int replicas, double rate,
                   std::int64_t max_in_flight, const std::string& spool_dir, int fetch_batch, std::string& error) {
  PathResult result;
  bus::NatsConnectionConfig cc;
  cc.servers = servers;
  cc.name = "bench-aggregator";
  bus::NatsConnection connection(cc);
  bus::StreamSpec stream;
  stream.name = kStream;
  stream.subjects = {"tickflow.trades.>"};
  stream.replicas = replicas;
  bus::ensure_stream(connection, stream);
  bus::ConsumerSpec consumer;
  consumer.stream = kStream;
  consumer.durable = kDurable;
  bus::ensure_consumer(connection, consumer);
  bus::BusSubscriber subscriber(connection, consumer, fetch_batch);

  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  const std::int64_t t0 = realtime_ns() + 200'000'000;  // both sides start on the same schedule
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    ::close(pipe_fds[0]);
    collector_process(w, servers, rate, t0, max_in_flight, spool_dir, pipe_fds[1]);
  }
  ::close(pipe_fds[1]);

  CountingSink sink;
  BarBuilder builder(builder_config(w), sink);
  bus::EventBatchView view;
  const double cpu0 = cpu_seconds();
  std::uint64_t applied = 0, last_seq = 0, bad = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (applied < w.events) {
    const std::size_t n = subscriber.fetch(std::chrono::milliseconds(100), [&](const bus::BusMessage& m) {
      last_seq = m.stream_seq;
      if (bus::decode_event_batch(m.data, view) != bus::WireError::kNone) {
        ++bad;
        return;
      }
      const auto market = w.registry.find(std::string(view.exchange) + ":" + std::string(view.market));
      if (!market) {
        ++bad;
        return;
      }
      for (std::size_t i = 0; i < view.size(); ++i) {
        const FeedEvent e = view.event(i, *market);
        builder.on_trade(e.trade);
        result.latency.record(static_cast<std::uint64_t>(realtime_ns() - e.trade.receive_ts_ns));
      }
      applied += view.size();
    });
    if (n != 0) {
      subscriber.ack_through(last_seq);
      last_progress = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(60)) {
      error = "no message for 60 s after " + std::to_string(applied) + " events";
      break;
    }
  }
  result.wall_s = static_cast<double>(realtime_ns() - t0) / 1e9;
  result.consumer_cpu_s = cpu_seconds() - cpu0;
  result.events = applied;
  result.bars = sink.bars;
  double report[4] = {};
  if (::read(pipe_fds[0], report, sizeof report) != static_cast<ssize_t>(sizeof report) && error.empty())
    error = "the collector reported nothing";
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && error.empty())
    error = "the collector exited with status " + std::to_string(WEXITSTATUS(status));
  if (bad != 0 && error.empty()) error = std::to_string(bad) + " messages failed to decode or resolve";
  result.producer_cpu_s = report[0];
  result.published = report[1];
  result.duplicates = report[2];
  result.window_full = report[3];
  return result;
}

std::string path_json(const char* name, const PathResult& r) {
  const double m = static_cast<double>(r.events) / 1e6;
  char buf[768];
  std::snprintf(buf, sizeof buf,
                "\"%s\": {\"events\": %llu, \"bars\": %llu, \"wall_s\": %.3f, \"events_per_s\": %.0f, "
                "\"producer_cpu_s_per_M\": %.3f, \"consumer_cpu_s_per_M\": %.3f, \"published\": %.0f, "
                "\"duplicates\": %.0f, \"window_full\": %.0f, "
                "\"receive_to_bar\": {\"p50_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, \"max_us\": %.2f}}",
                name, static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.bars), r.wall_s,
                static_cast<double>(r.events) / r.wall_s, r.producer_cpu_s / m, r.consumer_cpu_s / m, r.published,
                r.duplicates, r.window_full, static_cast<double>(r.latency.percentile(0.5)) / 1e3,
                static_cast<double>(r.latency.percentile(0.99)) / 1e3,
                static_cast<double>(r.latency.percentile(0.999)) / 1e3, static_cast<double>(r.latency.max()) / 1e3);
  return buf;
}

int run(int argc, char** argv) {
  CLI::App app{
      "bus_path: the NATS JetStream bus between a collector and an aggregator against the in-process "
      "ring, in the same run; prints JSON (see bench/README.md, \"The bus\")"};
  std::string data_dir = std::string(TICKFLOW_SOURCE_DIR) + "/tests/data/binance-20240808-trades";
  double rate = 0;
  int nodes = 1;
  std::size_t batch = 1, repeat = 1;
  std::int64_t max_in_flight = 4096;
  int fetch_batch = 256;
  app.add_option("--data", data_dir, "Directory with the binance-20240808 trade captures")->option_text("DIR");
  app.add_option("--rate", rate, "Events per second, paced (latency); 0: as fast as possible (throughput)");
  app.add_option("--nodes", nodes, "nats-server nodes: 1, or 3 (a cluster with an R3 stream)")
      ->check(CLI::IsMember({1, 3}));
  app.add_option("--batch", batch, "Trades of one market per message (1: one message per trade)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--repeat", repeat, "Play the captures this many times, back to back")->check(CLI::Range(1, 100));
  app.add_option("--max-in-flight", max_in_flight, "The collector's publish window (unacked messages)");
  app.add_option("--fetch-batch", fetch_batch, "The aggregator's pull batch");
  std::string spool_dir;
  app.add_option("--spool", spool_dir, "The collector spools to DIR when its window is full (default: it blocks)")
      ->option_text("DIR");
  CLI11_PARSE(app, argc, argv);

  Workload w;
  load(w, data_dir, batch, repeat);
  std::fprintf(stderr, "bus_path: %zu events in %zu messages; ring...\n", w.events, w.batches.size());
  const PathResult ring = run_ring(w, rate);

  std::fprintf(stderr, "bus_path: starting %d nats-server node(s)...\n", nodes);
  std::unique_ptr<testing::NatsProcess> single;
  std::unique_ptr<testing::NatsCluster> cluster;
  std::vector<std::string> servers;
  if (nodes == 1) {
    single = std::make_unique<testing::NatsProcess>();
    servers = {single->url()};
  } else {
    cluster = std::make_unique<testing::NatsCluster>();
    servers = cluster->url_list();
  }
  std::fprintf(stderr, "bus_path: bus...\n");
  std::string error;
  const PathResult bus = run_bus(w, servers, nodes, rate, max_in_flight, spool_dir, fetch_batch, error);

  char cpu_model[128] = "unknown";
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f) != nullptr)
      if (std::strncmp(line, "model name", 10) == 0) {
        const char* colon = std::strchr(line, ':');
        if (colon != nullptr) std::snprintf(cpu_model, sizeof cpu_model, "%s", colon + 2);
        cpu_model[std::strcspn(cpu_model, "\n")] = '\0';
        break;
      }
    std::fclose(f);
  }
  std::printf("{\"cpu\": \"%s\", \"nodes\": %d, \"batch\": %zu, \"rate\": %.0f, \"messages\": %zu, %s, %s%s%s%s}\n",
              cpu_model, nodes, batch, rate, w.batches.size(), path_json("ring", ring).c_str(),
              path_json("bus", bus).c_str(), error.empty() ? "" : ", \"error\": \"", error.c_str(),
              error.empty() ? "" : "\"");
  const bool complete = error.empty() && bus.events == w.events && ring.events == w.events && bus.bars == ring.bars;
  if (!complete && error.empty())
    std::fprintf(stderr, "bus_path: the bus path applied %llu events and %llu bars; the ring %llu and %llu\n",
                 static_cast<unsigned long long>(bus.events), static_cast<unsigned long long>(bus.bars),
                 static_cast<unsigned long long>(ring.events), static_cast<unsigned long long>(ring.bars));
  return complete ? 0 : 1;
}

}  // namespace
}  // namespace tickflow

int main(int argc, char** argv) {
  try {
    return tickflow::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bus_path: %s\n", e.what());
    return 2;
  }
}
