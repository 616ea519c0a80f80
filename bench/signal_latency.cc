// bench/signal_latency.cc
//
// signal_latency: trade -> signal acknowledged by Redis, end to end (issue
// 18), against the Python loop's "1-2 s" the seeds quote.
//
//   tf-feed-0: trade frame "received" -> FeedPublisher -> FeedChannel
//   tf-agg:    Aggregator (1 s bars closing at watermark >= end + lateness,
//              rollups, flow statistics) -> StrategyEngine (SqueezeFlow, BTC)
//              -> SignalPublisher -> the writer's signal ring
//   tf-writer: InfluxWriter (signals only) -> SignalDispatch -> JSONL file and
//              a real redis-server (MULTI/EXEC: SETEX, PUBLISH, LPUSH, ...)
//
// The runtime's own classes, wired as `tickflow run` wires them
// (runtime/live_pipeline.cc start_strategy), with the thread names, wait
// strategies, bar lateness (bars.live_lateness_ms), rollups and strategy
// parameters of a tuning profile (--config, default the laptop's). The
// redis-server is started on a free loopback port (tests/integration/
// redis_process.h). A second connection SUBSCRIBEs to squeezeflow:signals:
// PUBLISH runs inside the transaction, so the moment a signal reaches the
// subscriber is the moment Redis executed it ("acknowledged by Redis"; the
// EXEC reply reaches tickflow a round trip's half later).
//
// Input: live_strategy_test's squeeze scenario (tests/integration/
// scenario_trades.h: ~19.5 h of trades from the bundled BTC spot, USD-M and
// COIN-M captures, sides redrawn: balanced, squeeze, balanced, reversal),
// moved by whole days to end an hour before now. SqueezeFlow needs hours of
// 5m-4h history before it decides anything, so:
//   pass 1: the whole stream as fast as the pipeline takes it, no Redis:
//           which seconds are decisive (the signals' seconds). Decisions do
//           not depend on batching (live_strategy_test), so pass 2 repeats
//           them exactly;
//   pass 2: the same stream fast, except around each decisive second
//           (--lead seconds before, --tail after, in receive time), where
//           every frame is published at its captured spacing in real time,
//           into an idle pipeline, as a live feed delivers it.
//
// Clock: the aggregator runs on the event clock (receive times), not the
// wall clock: the stream is hours old, and a wall-clock aggregator would
// close its seconds at once. A busy market's second closes the same way in
// both, when a trade's exchange time passes its end + lateness; the wall
// clock only adds closes of quiet markets.
//
// Per signal: the trade that closed its decisive second is the newest trade
// the aggregator had taken when SqueezeFlow emitted it (paced frames arrive
// one at a time into a parked aggregator). Measured:
//   trade_to_signal   that frame published on the feed ring -> signal
//                     made, about to go to the writer ring (bar close,
//                     rollups, flow statistics, the strategy's step)
//   signal_to_redis   -> Redis executed the transaction (writer wake, JSONL
//                     append, MULTI/EXEC round trip)
//   trade_to_redis    the sum: the "trade -> signal acknowledged"
//   close_lateness    the decisive second's end -> the closing trade's
//                     exchange time (>= bars.live_lateness_ms by design: the
//                     second closes once a trade 50 ms past its end arrives)
// Output: one JSON object with p50/p99/max of each, and every signal.
// Commands and figures: bench/README.md ("Trade to signal").
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/pipeline_config.h"
#include "feeds/event_buffer.h"
#include "pipeline/market_registry.h"
#include "pipeline/wall_clock.h"
#include "ringbuffers/spsc_ring.h"
#include "runtime/aggregator.h"
#include "runtime/capture_stream.h"
#include "runtime/feed_channel.h"
#include "runtime/feed_publisher.h"
#include "runtime/influx_writer.h"
#include "runtime/signal_dispatch.h"
#include "runtime/signal_publisher.h"
#include "runtime/thread_affinity.h"
#include "strategy/signal.h"
#include "strategy/strategy_engine.h"
#include "tests/integration/redis_process.h"
#include "tests/integration/scenario_trades.h"

namespace tickflow {
namespace {

constexpr std::size_t kMaxMarkets = 64;
constexpr const char* kExecution = "BINANCE_FUTURES:btcusdt";

std::string bundled(const std::string& file) {
  return std::string(TICKFLOW_SOURCE_DIR) + "/tests/data/binance-20240808-trades/" + file;
}

std::vector<CaptureSpec> btc_captures() {
  return {{"BINANCE", bundled("spot_btcusdt.gz")},
          {"BINANCE_FUTURES", bundled("usdm_btcusdt.gz")},
          {"BINANCE_FUTURES", bundled("cm_btcusd_perp.gz")}};
}

std::string uuid_text(const Uuid& id) {
  char out[36];
  format_uuid(id, out);
  return std::string(out, 36);
}

// What the aggregator thread knew when SqueezeFlow emitted a signal.
struct Emitted {
  std::string signal_id;
  std::int64_t second = 0;           // the decisive second (Signal::timestamp_s)
  std::int64_t wall_ns = 0;          // handed to the writer
  std::int64_t closing_recv_ns = 0;  // receive time of the newest trade taken
  char action[8] = {};
};

// SignalPublisher with a stopwatch around it (the aggregator thread).
class TimedListener final : public StrategyListener {
 public:
  TimedListener(SignalPublisher& inner, const StrategyEngine& engine, const Aggregator& aggregator)
      : inner_(inner), engine_(engine), aggregator_(aggregator) {
    emitted.reserve(1024);
  }
  // The clock is read before the signal goes to the writer's ring: the
  // writer may deliver it before this thread gets further.
  bool on_entry(std::size_t group, const Decision& d) override {
    const std::int64_t now = realtime_ns();
    const bool taken = inner_.on_entry(group, d);
    if (taken) note(group, d, now);
    return taken;
  }
  void on_exit(std::size_t group, const Decision& d) override {
    const std::int64_t now = realtime_ns();
    inner_.on_exit(group, d);
    note(group, d, now);
  }
  void on_evaluation(std::size_t group, const Decision& d) override { inner_.on_evaluation(group, d); }
  std::vector<Emitted> emitted;

 private:
  void note(std::size_t group, const Decision& d, std::int64_t now) {
    std::int64_t newest = 0;
    for (MarketId m = 0; m < aggregator_.markets_seen(); ++m) newest = std::max(newest, aggregator_.last_trade_ns(m));
    const Signal s = engine_.make_signal(group, d);
    Emitted e;
    e.signal_id = uuid_text(s.signal_id);
    e.second = s.timestamp_s;
    e.wall_ns = now;
    e.closing_recv_ns = newest;
    std::snprintf(e.action, sizeof e.action, "%s", std::string(to_string(s.action)).c_str());
    emitted.push_back(std::move(e));
  }
  SignalPublisher& inner_;
  const StrategyEngine& engine_;
  const Aggregator& aggregator_;
};

// A paced frame: when it was published, and its trades' newest exchange time.
struct PacedFrame {
  std::int64_t recv_ns = 0;
  std::int64_t wall_ns = 0;
  std::int64_t exchange_ns = 0;
};

// Redis' side: every message on the channel, with the time it arrived.
class Subscriber {
 public:
  explicit Subscriber(int port) {
    timeval tv{1, 0};
    ctx_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (ctx_ == nullptr || ctx_->err != 0) throw std::runtime_error("cannot connect the subscriber to redis");
    redisSetTimeout(ctx_, timeval{0, 200'000});
    auto* r = static_cast<redisReply*>(redisCommand(ctx_, "SUBSCRIBE squeezeflow:signals"));
    if (r == nullptr) throw std::runtime_error("SUBSCRIBE failed");
    freeReplyObject(r);
    thread_ = std::thread([this] { loop(); });
  }
  ~Subscriber() {
    stop_ = true;
    thread_.join();
    redisFree(ctx_);
  }
  struct Message {
    std::int64_t wall_ns;
    std::string json;
  };
  std::vector<Message> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  void loop() {
    while (!stop_) {
      void* raw = nullptr;
      if (redisGetReply(ctx_, &raw) != REDIS_OK) {
        // A read timeout: clear it and wait again.
        if (ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          ctx_->err = 0;
          std::memset(ctx_->errstr, 0, sizeof ctx_->errstr);
          continue;
        }
        return;
      }
      const std::int64_t now = realtime_ns();
      auto* r = static_cast<redisReply*>(raw);
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->type == REDIS_REPLY_STRING) {
        std::lock_guard lock(mutex_);
        messages_.push_back({now, std::string(r->element[2]->str, r->element[2]->len)});
      }
      freeReplyObject(r);
    }
  }
  redisContext* ctx_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Message> messages_;
};

struct Options {
  std::string config = std::string(TICKFLOW_SOURCE_DIR) + "/tuning/laptop-2core.toml";
  double lead_s = 4;
  double tail_s = 3;
  double speed = 1;
  int scenarios = 8;
};

struct Pass {
  std::int64_t started_wall_ns = 0;
  std::vector<Emitted> emitted;
  std::vector<PacedFrame> paced;
  SignalDispatchCounters dispatch;
  std::uint64_t trades = 0;
  double seconds = 0;
};

// One run of the stream through the pipeline. `paced_seconds`: decisive
// seconds to play in real time around (empty: all fast); `redis_port` 0: no
// sinks at all.
Pass run_pass(const PipelineConfig& config, const Options& o, int scenario,
              const std::vector<std::int64_t>& paced_seconds, int redis_port, const std::filesystem::path& jsonl) {
  const auto started = std::chrono::steady_clock::now();
  MarketRegistry registry;
  const std::vector<CaptureSpec> captures = btc_captures();
  CaptureStream one_pass(captures, registry);
  CaptureFrame frame;
  while (one_pass.next(frame)) {
  }
  // live_strategy_test's script; scenario k moves the squeeze k x 20 min
  // earlier and makes it k x 5 min longer: another random walk before it,
  // other decisive seconds.
  const std::vector<test::TradeSegment> segments = {
      {14 * 3600 - scenario * 1200, 0.5, 0.5}, {9000 + scenario * 300, 0.8, 0.2}, {3600, 0.5, 0.5}, {7200, 0.2, 0.8}};
  std::int64_t total_s = 0;
  for (const auto& s : segments) total_s += s.seconds;
  const std::int64_t period_s = one_pass.period_s();
  const int repeat = static_cast<int>((total_s + period_s - 1) / period_s);
  const std::int64_t first_s = one_pass.first_receive_ns() / test::kSecondNs;
  const std::int64_t end_s = first_s + repeat * period_s;
  const std::int64_t offset_days = (realtime_ns() / test::kSecondNs - 3600 - end_s) / 86400;
  const test::TradeScript script(segments, registry, offset_days, first_s + offset_days * 86400);

  AggregatorOptions options;
  options.max_markets = kMaxMarkets;
  options.wall_clock = false;  // see the banner
  options.measure_latency = false;
  options.lateness_ns = std::chrono::nanoseconds(config.bars.live_lateness).count();
  options.quiet_close_delay_ns = std::chrono::nanoseconds(config.bars.quiet_delay).count();
  options.amend_horizon_ns = std::chrono::nanoseconds(config.bars.amend_horizon).count();
  options.rollups = config.bars.rollups;
  options.flow_stats = config.bars.flow_stats;
  options.wait.kind = config.aggregator.wait;
  class Discard final : public BarSink {
   public:
    void on_bar(const Bar&) override {}
  } discard;
  Aggregator aggregator(options, registry, {}, discard);
  FeedChannel channel(config.feeds.front().thread.name, config.rings.feed_events, config.rings.full_policy,
                      aggregator.doorbell());
  aggregator.set_inputs({&channel});

  SqueezeFlowParams params = config.strategy.params;
  params.signal_ttl_s = 4 * 86400;  // the stream is hours old: Redis would drop signals past a 10 min TTL
  StrategyEngine engine(params, kMaxMarkets);
  engine.add_group("BTCUSDT", "BTC", registry.intern(kExecution));
  engine.attach_markets(registry);

  std::unique_ptr<SignalDispatch> dispatch;
  std::unique_ptr<InfluxWriter> writer;
  SpscRing<Signal> signal_ring(256);
  if (redis_port != 0) {
    SignalDispatchOptions sinks;
    sinks.jsonl = jsonl;
    RedisSinkConfig redis = config.signals.redis_config;
    redis.host = "127.0.0.1";
    redis.port = redis_port;
    sinks.redis = redis;
    sinks.log = [](std::string_view line) { std::fprintf(stderr, "signals: %.*s\n", int(line.size()), line.data()); };
    dispatch = std::make_unique<SignalDispatch>(sinks);
    InfluxWriterOptions writer_options;
    writer_options.ring_capacity = config.rings.writer_items;
    writer_options.wait = config.writer.wait;
    writer = std::make_unique<InfluxWriter>(writer_options);
    writer->set_signal_input(&signal_ring, dispatch.get());
  }
  SignalPublisher publisher(engine, writer.get(), params.max_open_positions);
  TimedListener listener(publisher, engine, aggregator);
  aggregator.set_strategy(&engine, &listener);
  if (writer) {
    const ThreadConfig writer_thread = config.writer;
    writer->start([writer_thread] { apply_thread_config(writer_thread, false); });
  }
  std::thread aggregator_thread([&] {
    apply_thread_config(config.aggregator, false);
    aggregator.run();
  });

  Pass out;
  out.started_wall_ns = realtime_ns();
  out.paced.reserve(100'000);
  std::thread feed_thread([&] {
    apply_thread_config(config.feeds.front().thread, false);
    FeedPublisher feed(channel, kMaxMarkets);
    std::vector<FeedPublisher::Connection> connections(captures.size());
    for (std::size_t i = 0; i < connections.size(); ++i) connections[i].id = static_cast<std::uint16_t>(i);
    CaptureStreamOptions stream_options;
    stream_options.repeat = repeat;
    stream_options.transform = script.as_function();
    CaptureStream stream(captures, registry, stream_options);
    const auto lead = static_cast<std::int64_t>(o.lead_s * 1e9), tail = static_cast<std::int64_t>(o.tail_s * 1e9);
    bool pacing = false;
    std::int64_t recv0 = 0, wall0 = 0;
    std::size_t next = 0;  // the next decisive second to pace around
    EventBuffer events;
    while (stream.next(frame)) {
      events.clear();
      // The frame's receive time as its trades carry it (the script moved
      // them by whole days; frame.receive_ns is not moved).
      std::int64_t exchange = 0, receive = 0;
      for (const FeedEvent& e : frame.events)
        if (e.type == FeedEventType::kTrade) {
          events.push(e.trade);
          exchange = std::max(exchange, e.trade.exchange_ts_ns);
          receive = std::max(receive, e.trade.receive_ts_ns);
        }
      if (events.empty()) continue;
      while (next < paced_seconds.size() && receive > paced_seconds[next] * test::kSecondNs + tail) ++next;
      const bool in_window = next < paced_seconds.size() && receive >= paced_seconds[next] * test::kSecondNs - lead;
      if (in_window && !pacing) {
        // Into an idle pipeline, as a live feed finds it.
        while (channel.has_pending()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        recv0 = receive;
        wall0 = realtime_ns();
      }
      pacing = in_window;
      if (pacing) {
        const std::int64_t due = wall0 + static_cast<std::int64_t>(static_cast<double>(receive - recv0) / o.speed);
        for (std::int64_t now = realtime_ns(); now < due; now = realtime_ns()) {
          if (due - now > 200'000) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now - 100'000));
        }
        const std::int64_t wall = realtime_ns();
        feed.publish(connections[frame.input], events, receive);
        out.paced.push_back({receive, wall, exchange});
      } else {
        feed.publish(connections[frame.input], events, receive);
      }
    }
    out.trades = stream.trades();
    channel.close();
  });
  feed_thread.join();
  aggregator_thread.join();
  if (!aggregator.error().empty()) throw std::runtime_error("aggregator: " + aggregator.error());
  if (writer) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (writer->signal_counters().redis_delivered < listener.emitted.size() &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    writer->finish(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    out.dispatch = writer->signal_counters();
  }
  out.emitted = std::move(listener.emitted);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

struct Quantiles {
  double p50 = 0, p99 = 0, max = 0;
};

Quantiles quantiles(std::vector<double> v) {
  Quantiles q;
  if (v.empty()) return q;
  std::sort(v.begin(), v.end());
  const auto at = [&](double p) {
    const std::size_t i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
  };
  q.p50 = at(0.5);
  q.p99 = at(0.99);
  q.max = v.back();
  return q;
}

std::string json_quantiles(const char* name, const std::vector<double>& ms) {
  const Quantiles q = quantiles(ms);
  char line[200];
  std::snprintf(line, sizeof line, "\"%s_ms\":{\"n\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", name, ms.size(),
                q.p50, q.p99, q.max);
  return line;
}

}  // namespace
}  // namespace tickflow

int main(int argc, char** argv) {
  using namespace tickflow;
  Options o;
  CLI::App app{"Trade -> signal acknowledged by Redis, end to end (bench/README.md, \"Trade to signal\")"};
  app.add_option("--config", o.config, "Tuning profile: threads' waits, bars, strategy parameters");
  app.add_option("--lead", o.lead_s, "Seconds of stream played in real time before each decisive second");
  app.add_option("--tail", o.tail_s, "... and after it");
  app.add_option("--speed", o.speed, "Real-time factor of the paced windows (1: as captured)");
  app.add_option("--scenarios", o.scenarios, "Scenarios to run (each a few signals; see run_pass)");
  CLI11_PARSE(app, argc, argv);
  try {
    const PipelineConfig config = load_pipeline_config(o.config);
    testing::RedisProcess redis;
    Subscriber subscriber(redis.port());
    const auto dir = std::filesystem::temp_directory_path() / ("tickflow-signal-latency-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::vector<double> trade_to_signal, signal_to_redis, trade_to_redis, lateness;
    std::string rows;
    std::size_t signals = 0, paced_frames = 0;
    for (int scenario = 0; scenario < o.scenarios; ++scenario) {
      // Pass 1: the decisive seconds.
      const Pass first = run_pass(config, o, scenario, {}, 0, {});
      std::vector<std::int64_t> decisive;
      for (const Emitted& e : first.emitted) decisive.push_back(e.second);
      std::sort(decisive.begin(), decisive.end());
      decisive.erase(std::unique(decisive.begin(), decisive.end()), decisive.end());
      // Pass 2: paced around them, into Redis.
      const Pass second = run_pass(config, o, scenario, decisive, redis.port(), dir / "signals.jsonl");
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      const std::vector<Subscriber::Message> messages = subscriber.messages();
      std::fprintf(stderr,
                   "scenario %d: pass 1 %zu signals in %.1f s (%llu trades); pass 2 %zu signals in %.1f s, %llu "
                   "delivered to Redis\n",
                   scenario, first.emitted.size(), first.seconds, static_cast<unsigned long long>(first.trades),
                   second.emitted.size(), second.seconds,
                   static_cast<unsigned long long>(second.dispatch.redis_delivered));
      signals += second.emitted.size();
      paced_frames += second.paced.size();
      for (const Emitted& e : second.emitted) {
        const auto frame = std::find_if(second.paced.begin(), second.paced.end(),
                                        [&](const PacedFrame& f) { return f.recv_ns == e.closing_recv_ns; });
        // This run's message: scenarios share their first hours, so an id
        // (symbol, second, action) can come again in a later run.
        const auto message = std::find_if(messages.begin(), messages.end(), [&](const Subscriber::Message& m) {
          return m.wall_ns >= second.started_wall_ns && m.json.find(e.signal_id) != std::string::npos;
        });
        if (frame == second.paced.end() || message == messages.end()) {
          std::fprintf(
              stderr, "signal %s at %lld: %s\n", e.signal_id.c_str(), static_cast<long long>(e.second),
              frame == second.paced.end() ? "its closing trade was not in a paced window" : "not seen in Redis");
          continue;
        }
        const double a = static_cast<double>(e.wall_ns - frame->wall_ns) / 1e6;
        const double b = static_cast<double>(message->wall_ns - e.wall_ns) / 1e6;
        const double late = static_cast<double>(frame->exchange_ns - e.second * 1'000'000'000) / 1e6;
        trade_to_signal.push_back(a);
        signal_to_redis.push_back(b);
        trade_to_redis.push_back(a + b);
        lateness.push_back(late);
        char row[256];
        std::snprintf(row, sizeof row,
                      "%s{\"scenario\":%d,\"action\":\"%s\",\"second\":%lld,\"trade_to_signal_ms\":%.3f,"
                      "\"signal_to_redis_ms\":%.3f,\"close_lateness_ms\":%.3f}",
                      rows.empty() ? "" : ",", scenario, e.action, static_cast<long long>(e.second), a, b, late);
        rows += row;
      }
    }
    std::filesystem::remove_all(dir);
    std::printf("{\"config\":\"%s\",\"signals\":%zu,\"paced_frames\":%zu,%s,%s,%s,%s,\"each\":[%s]}\n",
                o.config.c_str(), signals, paced_frames, json_quantiles("trade_to_redis", trade_to_redis).c_str(),
                json_quantiles("trade_to_signal", trade_to_signal).c_str(),
                json_quantiles("signal_to_redis", signal_to_redis).c_str(),
                json_quantiles("close_lateness", lateness).c_str(), rows.c_str());
    return trade_to_redis.size() == signals && !trade_to_redis.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "signal_latency: %s\n", e.what());
    return 2;
  }
}
