// bench/e2e.cc
//
// e2e: the whole threaded pipeline, end to end, from frames in memory.
//
//   tf-feed-0: frame "received" (stamped) -> parse -> FeedPublisher -> FeedChannel
//   tf-agg:    Aggregator (BarBuilder, Rollups)  -> writer ring
//   tf-writer: InfluxWriter -> local InfluxDB (with --influx), else bars are counted
//
// The threads are the runtime's own classes, configured from a tuning
// profile (--config): names, CPUs (unless --unpinned), SCHED_FIFO, wait
// strategies, ring sizes and policy, bar settings.
//
// The frames are binance-20240808 (spot, USD-M and COIN-M; BTC and ETH),
// read once, decompressed, merged by capture time and copied into padded
// buffers before the clock starts. Their exchange times ("E", "T") are moved
// forward by a whole number of seconds so that the first trade is one second
// old when the run starts: the live aggregator's clock is the wall clock,
// and bars two years behind it would be late drops. Bucketing is unchanged.
//
// Modes:
//   --mode max     frames as fast as the feed thread can parse them: throughput
//   --mode paced   frames at the captured spacing / --speed (default 10): latency
//   --mode idle    no frames for --idle-seconds: CPU used by parked threads
//   --trades-only  only the @trade frames (to compare trade throughput with
//                  other collectors)
//
// Output: one JSON object on stdout with throughput (frames per wall second
// and per CPU second of the process, getrusage) and p50/p99/p99.9/max per
// stage:
//   receive_to_publish  frame stamped -> its events on the feed ring
//   receive_to_bar      frame stamped -> its trade's 1 s bar updated
//   close_to_sink       bar closed -> handed to the InfluxDB sink (--influx)
//   sink_to_ack         handed to the sink -> acknowledged by InfluxDB (--influx)
//
// Commands and figures: bench/README.md ("End to end").
#include <sched.h>
#include <sys/resource.h>
#include <time.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/pipeline_config.h"
#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/padded_frame.h"
#include "feeds/parser_factory.h"
#include "pipeline/market_registry.h"
#include "pipeline/wall_clock.h"
#include "ringbuffers/cpu_relax.h"
#include "runtime/aggregator.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "runtime/influx_writer.h"
#include "runtime/thread_affinity.h"
#include "tuning/host_check.h"

namespace tickflow {
namespace {

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

struct Frame {
  std::int64_t capture_ns = 0;  // captured receive time
  std::uint32_t parser = 0;
  std::uint32_t offset = 0;  // into the arena
  std::uint32_t size = 0;
};

// Every frame, padded, back to back in one arena.
struct Frames {
  std::vector<char> arena;
  std::vector<Frame> frames;
  std::vector<std::string> parser_names;
  std::int64_t first_trade_ms = 0;
};

// Adds `shift_ms` to every "E": and "T": millisecond field of a Binance
// frame, in place (the digit count stays 13 for any date before 2286).
void shift_times(std::string& frame, std::int64_t shift_ms) {
  for (const char* key : {"\"E\":", "\"T\":"}) {
    std::size_t at = frame.find(key);
    while (at != std::string::npos) {
      const std::size_t begin = at + 4;
      std::size_t end = begin;
      while (end < frame.size() && frame[end] >= '0' && frame[end] <= '9') ++end;
      if (end - begin == 13) {
        const std::int64_t value = std::stoll(frame.substr(begin, end - begin)) + shift_ms;
        const std::string text = std::to_string(value);
        if (text.size() == 13) frame.replace(begin, 13, text);
      }
      at = frame.find(key, end);
    }
  }
}

Frames load_frames(const std::string& dir, bool trades_only) {
  struct File {
    const char* name;
    const char* parser;
  };
  const File files[] = {{"spot_btcusdt.gz", "BINANCE"},           {"spot_ethusdt.gz", "BINANCE"},
                        {"usdm_btcusdt.gz", "BINANCE_FUTURES"},   {"usdm_ethusdt.gz", "BINANCE_FUTURES"},
                        {"cm_btcusd_perp.gz", "BINANCE_FUTURES"}, {"cm_ethusd_perp.gz", "BINANCE_FUTURES"}};
  struct Raw {
    std::int64_t capture_ns;
    std::uint32_t parser;
    std::string text;
  };
  std::vector<Raw> raw;
  Frames out;
  for (const File& file : files) {
    const std::string path = dir + "/" + file.name;
    if (!std::filesystem::exists(path)) continue;
    const auto parser_it = std::find(out.parser_names.begin(), out.parser_names.end(), file.parser);
    const auto parser = static_cast<std::uint32_t>(parser_it - out.parser_names.begin());
    if (parser_it == out.parser_names.end()) out.parser_names.emplace_back(file.parser);
    CaptureReader reader(path);
    CaptureRecord record;
    while (reader.next(record)) {
      if (trades_only && record.frame.find("@trade\"") == std::string_view::npos) continue;
      raw.push_back({record.receive_ts_ns, parser, std::string(record.frame)});
    }
  }
  if (raw.empty()) throw std::runtime_error("no binance-20240808 captures in " + dir);
  std::stable_sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) { return a.capture_ns < b.capture_ns; });
  // The first trade time, to re-time the frames.
  std::int64_t first_t = INT64_MAX;
  for (const Raw& r : raw) {
    const std::size_t at = r.text.find("\"T\":");
    if (at != std::string::npos) first_t = std::min<std::int64_t>(first_t, std::stoll(r.text.substr(at + 4, 13)));
  }
  const std::int64_t now_s = realtime_ns() / 1'000'000'000;
  const std::int64_t shift_ms = (now_s - 1 - first_t / 1000) * 1000;
  std::size_t bytes = 0;
  for (Raw& r : raw) {
    shift_times(r.text, shift_ms);
    bytes += r.text.size() + kFramePadding;
  }
  out.first_trade_ms = first_t + shift_ms;
  out.arena.assign(bytes, 0);
  std::size_t offset = 0;
  for (const Raw& r : raw) {
    std::memcpy(out.arena.data() + offset, r.text.data(), r.text.size());
    out.frames.push_back(
        {r.capture_ns, r.parser, static_cast<std::uint32_t>(offset), static_cast<std::uint32_t>(r.text.size())});
    offset += r.text.size() + kFramePadding;
  }
  return out;
}

std::string stage_json(const char* name, const LatencyHistogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\"%s\": {\"count\": %llu, \"p50_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, \"max_us\": %.2f}",
                name, static_cast<unsigned long long>(h.count()), static_cast<double>(h.percentile(0.5)) / 1e3,
                static_cast<double>(h.percentile(0.99)) / 1e3, static_cast<double>(h.percentile(0.999)) / 1e3,
                static_cast<double>(h.max()) / 1e3);
  return buf;
}

int run(int argc, char** argv) {
  CLI::App app{"e2e: the threaded pipeline end to end from frames in memory; prints JSON (see bench/README.md)"};
  std::string config_path = std::string(TICKFLOW_SOURCE_DIR) + "/tuning/laptop-2core.toml";
  std::string data_dir = std::string(TICKFLOW_SOURCE_DIR) + "/../shared/data/binance-20240808";
  std::string mode = "max";
  double speed = 10;
  bool trades_only = false, unpinned = false;
  std::string influx_url;
  double idle_seconds = 10;
  double max_seconds = 0;
  std::string flow_stats = "on";
  app.add_option("--config", config_path, "Tuning profile (threads, waits, rings, bars)")->option_text("FILE");
  app.add_option("--data", data_dir, "Directory with binance-20240808's *.gz captures")->option_text("DIR");
  app.add_option("--mode", mode, "max | paced | idle")->check(CLI::IsMember({"max", "paced", "idle"}));
  app.add_option("--speed", speed, "paced: N x the captured pace (default 10)");
  app.add_option("--max-seconds", max_seconds, "paced: stop after this many seconds of wall time (0: all frames)");
  app.add_flag("--trades-only", trades_only, "Only the @trade frames");
  app.add_flag("--unpinned", unpinned, "Ignore the profile's CPU pinning");
  app.add_option("--influx", influx_url, "Write bars to this InfluxDB (bar close -> ack latency)")->option_text("URL");
  app.add_option("--idle-seconds", idle_seconds, "idle: how long to measure");
  app.add_option("--flow-stats", flow_stats, "on (default, as `tickflow run`) | off: the aggregator's flow statistics")
      ->check(CLI::IsMember({"on", "off"}));
  CLI11_PARSE(app, argc, argv);
  // A fresh clone without ../shared: the bundled trade-only copies of three
  // of the six files (tests/data/README.md).
  if (app.count("--data") == 0 && !std::filesystem::exists(data_dir)) {
    data_dir = std::string(TICKFLOW_SOURCE_DIR) + "/tests/data/binance-20240808-trades";
    std::fprintf(stderr, "e2e: ../shared/data absent: using %s (trades only, 3 markets)\n", data_dir.c_str());
  }

  PipelineConfig config = load_pipeline_config(config_path);
  const bool pin = !unpinned && check_cpus(config, read_host_info()).fits();
  if (!unpinned && !pin)
    std::fprintf(stderr, "e2e: %s does not fit this host: running unpinned\n", config_path.c_str());

  Frames frames;
  if (mode != "idle") {
    frames = load_frames(data_dir, trades_only);
    std::fprintf(stderr, "e2e: %zu frames (%.1f MB) loaded\n", frames.frames.size(),
                 static_cast<double>(frames.arena.size()) / 1e6);
  }

  MarketRegistry registry;
  std::vector<std::unique_ptr<ExchangeParser>> parsers;
  for (const std::string& name : frames.parser_names) parsers.push_back(make_parser(name, registry));

  AggregatorOptions agg;
  agg.max_markets = 64;
  agg.lateness_ns = std::chrono::nanoseconds(config.bars.lateness).count();
  agg.quiet_close_delay_ns = std::chrono::nanoseconds(config.bars.quiet_delay).count();
  agg.amend_horizon_ns = std::chrono::nanoseconds(config.bars.amend_horizon).count();
  agg.rollups = config.bars.rollups;
  agg.wait.kind = config.aggregator.wait;
  agg.flow_stats = flow_stats == "on" && config.bars.flow_stats;
  // Bars are counted, then handed to the writer when there is one (the
  // writer reads the aggregator's market names, so it comes second).
  struct CountThenForward final : public BarSink {
    std::uint64_t bars = 0;
    BarSink* to = nullptr;
    void on_bar(const Bar& bar) override {
      ++bars;
      if (to) to->on_bar(bar);
    }
    std::uint64_t flows = 0;
    void on_flow(const FlowRecord& record) override {
      ++flows;
      if (to) to->on_flow(record);
    }
  } output;
  std::unique_ptr<InfluxWriter> writer;
  Aggregator aggregator(agg, registry, {}, output);
  if (!influx_url.empty()) {
    config.influx.url = influx_url;
    config.influx.database = "tickflow_e2e";
    config.influx.spool_dir.clear();
    config.influx.retention.clear();
    InfluxWriterOptions options;
    options.ring_capacity = config.rings.writer_items;
    options.wait = config.writer.wait;
    writer = std::make_unique<InfluxWriter>(make_influx_sink_config(config), LineProtocolOptions{}, aggregator.names(),
                                            options);
    output.to = writer.get();
  }

  FeedChannel channel("tf-feed-0", config.rings.feed_events, config.rings.full_policy, aggregator.doorbell());
  aggregator.set_inputs({&channel});
  FeedPublisher publisher(channel, agg.max_markets);
  std::vector<FeedPublisher::Connection> connections(parsers.size());
  for (std::size_t i = 0; i < connections.size(); ++i) connections[i].id = static_cast<std::uint16_t>(i);

  const ThreadConfig feed_thread = config.feeds.at(0).thread;
  if (writer)
    writer->start([&] {
      const std::string p = apply_thread_config(config.writer, pin);
      if (!p.empty()) std::fprintf(stderr, "e2e: %s\n", p.c_str());
    });

  const double cpu_before = cpu_seconds();
  const auto wall_before = std::chrono::steady_clock::now();
  std::thread agg_thread([&] {
    const std::string p = apply_thread_config(config.aggregator, pin);
    if (!p.empty()) std::fprintf(stderr, "e2e: %s\n", p.c_str());
    aggregator.run();
  });

  std::uint64_t sent = 0;
  std::thread feed([&] {
    const std::string p = apply_thread_config(feed_thread, pin);
    if (!p.empty()) std::fprintf(stderr, "e2e: %s\n", p.c_str());
    EventBuffer events;
    if (mode == "idle") {
      timespec sleep{static_cast<time_t>(idle_seconds),
                     static_cast<long>((idle_seconds - static_cast<time_t>(idle_seconds)) * 1e9)};
      nanosleep(&sleep, nullptr);
      return;
    }
    const bool paced = mode == "paced";
    const bool spin = feed_thread.wait != WaitKind::kPark;
    const std::int64_t start = realtime_ns();
    const std::int64_t first_capture = frames.frames.front().capture_ns;
    for (const Frame& f : frames.frames) {
      if (paced) {
        const std::int64_t due =
            start + static_cast<std::int64_t>(static_cast<double>(f.capture_ns - first_capture) / speed);
        if (max_seconds > 0 && due - start > static_cast<std::int64_t>(max_seconds * 1e9)) break;
        // Park: sleep until the frame is due, as a feed thread blocks in
        // epoll until bytes arrive. Spin: poll the clock.
        if (spin) {
          while (realtime_ns() < due) spin_pause();
        } else {
          const std::int64_t wait = due - realtime_ns();
          if (wait > 0) {
            timespec ts{static_cast<time_t>(due / 1'000'000'000), static_cast<long>(due % 1'000'000'000)};
            clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr);
          }
        }
      }
      const std::int64_t received = realtime_ns();
      events.clear();
      const std::string_view frame(frames.arena.data() + f.offset, f.size);
      if (parsers[f.parser]->parse(frame, received, events) == ParseOutcome::kEvents)
        publisher.publish(connections[f.parser], events, received);
      ++sent;
    }
    publisher.receive_to_publish().publish();
    channel.close();
  });
  feed.join();
  if (mode == "idle") channel.close();
  agg_thread.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  const double cpu = cpu_seconds() - cpu_before;
  bool delivered = true;
  if (writer) delivered = writer->finish(std::chrono::steady_clock::now() + std::chrono::seconds(60));

  const AggregatorCounters& c = aggregator.counters();
  std::string json = "{\n";
  auto field = [&](const std::string& text) { json += "  " + text + ",\n"; };
  field("\"mode\": \"" + mode + "\"");
  field("\"profile\": \"" + std::filesystem::path(config_path).filename().string() + "\"");
  field(std::string("\"trades_only\": ") + (trades_only ? "true" : "false"));
  field(std::string("\"pinned\": ") + (pin ? "true" : "false"));
  if (mode == "paced") field("\"speed\": " + std::to_string(speed));
  field("\"frames\": " + std::to_string(sent));
  field("\"trades\": " + std::to_string(c.trades.load()));
  field("\"bars_1s\": " + std::to_string(c.bars.load()));
  field("\"bars_emitted\": " + std::to_string(output.bars));
  field(std::string("\"flow_stats\": ") + (agg.flow_stats ? "true" : "false"));
  field("\"flow_records\": " + std::to_string(output.flows));
  field("\"late_drops\": " + std::to_string(c.late_drops.load()));
  field("\"ring_full\": " + std::to_string(channel.counters().full_events.load()));
  field("\"wall_s\": " + std::to_string(wall));
  field("\"cpu_s\": " + std::to_string(cpu));
  field("\"cpu_percent_of_one_core\": " + std::to_string(100.0 * cpu / wall));
  field("\"frames_per_wall_s\": " + std::to_string(static_cast<double>(sent) / wall));
  field("\"frames_per_cpu_s\": " + std::to_string(cpu > 0 ? static_cast<double>(sent) / cpu : 0.0));
  field("\"trades_per_wall_s\": " + std::to_string(static_cast<double>(c.trades.load()) / wall));
  json += "  \"stages\": {\n    " + stage_json("receive_to_publish", publisher.receive_to_publish().snapshot());
  json += ",\n    " + stage_json("receive_to_bar", aggregator.receive_to_bar());
  if (writer) {
    json += ",\n    " + stage_json("close_to_sink", writer->close_to_handed());
    json += ",\n    " + stage_json("sink_to_ack", writer->snapshot().ack_delay);
  }
  json += "\n  }";
  if (writer) json += ",\n  \"influx_delivered_all\": " + std::string(delivered ? "true" : "false");
  json += "\n}\n";
  std::fputs(json.c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace tickflow

int main(int argc, char** argv) {
  try {
    return tickflow::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "e2e: %s\n", e.what());
    return 2;
  }
}
