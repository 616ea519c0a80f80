#include "runtime/replay.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <queue>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include "feeds/capture_reader.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_builder.h"
#include "pipeline/flow_stats_csv.h"
#include "pipeline/influx_sink.h"
#include "pipeline/line_protocol.h"
#include "pipeline/output_file.h"
#include "pipeline/rollup.h"
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/spsc_ring.h"
#include "ringbuffers/wait_strategy.h"
#include "runtime/influx_writer.h"
#include "runtime/progress_bar.h"

namespace tickflow {
namespace {

// Buffered CSV writer over stdio: rows are formatted with to_chars into a
// 1 MiB block and written with one fwrite per block.
class CsvWriter {
 public:
  CsvWriter(const std::string& path, const char* header) : out_(path) {
    buffer_.reset(new char[kBlock + kSlack]);
    append(header);
    append("\n");
  }
  ~CsvWriter() {
    try {
      flush();
    } catch (...) {
    }
  }

  void append(std::string_view s) {
    std::memcpy(buffer_.get() + used_, s.data(), s.size());
    used_ += s.size();
  }
  void append(char c) { buffer_[used_++] = c; }
  template <typename T>
  void number(T v) {
    auto [end, ec] = std::to_chars(buffer_.get() + used_, buffer_.get() + kBlock + kSlack, v);
    used_ = static_cast<std::size_t>(end - buffer_.get());
  }
  // Call after each row: rows are far shorter than kSlack.
  void end_row() {
    buffer_[used_++] = '\n';
    if (used_ >= kBlock) flush();
  }
  void flush() {
    if (const std::string error = out_.write({buffer_.get(), used_}); !error.empty()) throw std::runtime_error(error);
    used_ = 0;
    out_.flush();
  }

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  static constexpr std::size_t kSlack = 4096;  // > one row, including a 64-byte market name
  OutputFile out_;
  std::unique_ptr<char[]> buffer_;
  std::size_t used_ = 0;
};

struct Source {
  CaptureSpec spec;
  std::unique_ptr<CaptureReader> reader;
  ExchangeParser* parser = nullptr;
  CaptureRecord record;
  bool has_record = false;
  // --bars-out: each capture file is one connection; its watermark is the
  // newest exchange time seen in any of its frames (trades, and quotes that
  // carry one: Binance spot bookTicker does not).
  std::uint16_t connection = 0;
  std::int64_t watermark_ns = INT64_MIN;
};

// ---- --bars-out: the producer -> ring -> aggregator thread ----------------------

constexpr std::size_t kMaxReplayMarkets = 4096;
constexpr std::size_t kRingCapacity = std::size_t{1} << 14;  // 16k events, 2 MiB of slots
// The aggregator's clock moves with every trade and watermark it receives;
// frames that carry neither (depth, spot bookTicker) still move it, with a
// tick at most this often, so quiet markets close on time in replay too.
constexpr std::int64_t kClockTickNs = 10'000'000;

// What the reader thread and the aggregator thread share. Market names
// travel beside the ring: the producer writes names[id] before it pushes the
// kConnected status that announces `id`, and the ring's release/acquire
// makes the write visible to the aggregator, which reads it after popping.
struct Handoff {
  SpscRing<FeedEvent> ring{kRingCapacity};
  Doorbell doorbell;
  // The producer's count of pushed events, on its own line: the aggregator
  // reads it only when it is about to sleep (its wake-up predicate).
  alignas(128) std::atomic<std::uint64_t> pushed{0};
  alignas(128) std::atomic<bool> done{false};    // the producer pushed its last event
  alignas(128) std::atomic<bool> failed{false};  // the aggregator stopped (a write error): stop reading
  std::vector<std::string> names = std::vector<std::string>(kMaxReplayMarkets);
};

// Line protocol into 1 MiB blocks, written with one fwrite each. A write
// error is kept (and reported by the aggregator), not thrown through the
// aggregator's loop.
class LineProtocolFile final : public BarSink {
 public:
  LineProtocolFile(const std::string& path, LineProtocolOptions options) : out_(path), encoder_(options) {
    buffer_.reserve(kBlock + max_bar_line_bytes(4096));
  }
  ~LineProtocolFile() override { flush(); }

  void set_market(MarketId market, std::string_view name) { encoder_.set_market(market, name); }

  void on_bar(const Bar& bar) override {
    encoder_.append(buffer_, bar);
    ++lines_;
    if (buffer_.size() >= kBlock) flush();
  }

  void flush() noexcept {
    if (error_.empty()) error_ = out_.write(buffer_);
    buffer_.clear();
    if (error_.empty()) error_ = out_.flush();
  }
  const std::string& error() const noexcept { return error_; }
  std::uint64_t lines() const noexcept { return lines_; }

 private:
  static constexpr std::size_t kBlock = std::size_t{1} << 20;
  OutputFile out_;
  BarLineEncoder encoder_;
  std::string buffer_;
  std::uint64_t lines_ = 0;
  std::string error_;
};

// Every emitted bar, 1 s and rollup, goes to each output that is on: the
// line-protocol file (--bars-out) and the InfluxDB writer thread (--influx).
class BarOutputs final : public BarSink {
 public:
  void add(BarSink* sink) {
    if (sink != nullptr) sinks_.push_back(sink);
  }
  void on_bar(const Bar& bar) override {
    for (BarSink* sink : sinks_) sink->on_bar(bar);
  }

 private:
  std::vector<BarSink*> sinks_;
};

// 1 s bars are written, then rolled up: the rollups' lines follow the line of
// the 1 s bar that closed (or amended) them.
// The flow statistics (--stats-out) take the 1 s bars and closed frontiers
// too: they roll up their own timeframes, per symbol group.
class SecondsThenRollups final : public BarSink {
 public:
  SecondsThenRollups(BarSink& file, Rollups* rollups, BarSink* stats) : file_(file), rollups_(rollups), stats_(stats) {}
  void on_bar(const Bar& bar) override {
    file_.on_bar(bar);
    if (rollups_) rollups_->on_bar(bar);
    if (stats_) stats_->on_bar(bar);
  }
  void on_closed(MarketId market, std::int64_t closed_until_s) override {
    if (rollups_) rollups_->on_closed(market, closed_until_s);
    if (stats_) stats_->on_closed(market, closed_until_s);
  }

 private:
  BarSink& file_;
  Rollups* rollups_;
  BarSink* stats_;
};

// The aggregator thread: ring -> BarBuilder -> Rollups -> line protocol.
class BarAggregator {
 public:
  BarAggregator(const ReplayOptions& options, Handoff& handoff, InfluxWriter* influx) : handoff_(handoff) {
    if (!options.bars_out.empty())
      file_ = std::make_unique<LineProtocolFile>(options.bars_out, LineProtocolOptions{options.base_volume});
    outputs_.add(file_.get());
    outputs_.add(influx);
    if (!options.rollup_timeframes.empty()) {
      RollupConfig rollup_config;
      rollup_config.timeframes = options.rollup_timeframes;
      rollup_config.max_markets = kMaxReplayMarkets;
      rollup_config.amend_horizon_s = (options.amend_horizon_ns + 999'999'999) / 1'000'000'000;
      rollups_ = std::make_unique<Rollups>(rollup_config, outputs_);
    }
    if (!options.stats_out.empty())
      stats_ = std::make_unique<FlowStatsRecorder>(stats_registry_, FlowStatsConfig{}, options.stats_out);
    seconds_ = std::make_unique<SecondsThenRollups>(outputs_, rollups_.get(), stats_.get());
    BarBuilderConfig config;
    config.max_markets = kMaxReplayMarkets;
    config.lateness_ns = options.lateness_ns;
    config.quiet_close_delay_ns = options.quiet_close_delay_ns;
    config.amend_horizon_ns = options.amend_horizon_ns;
    builder_ = std::make_unique<BarBuilder>(config, *seconds_);
  }

  // Runs until the producer is done and the ring is drained, then flushes
  // every open bar and window.
  void run() noexcept {
    try {
      // Park when idle: on a 2-core host with more threads than cores a
      // spinning aggregator would starve the reader that feeds it.
      WaitStrategy wait;
      wait.kind = WaitKind::kPark;
      std::uint64_t popped = 0;
      auto handle = [this](const FeedEvent& e) { this->handle(e); };
      for (;;) {
        const std::size_t n = handoff_.ring.consume(handle, 1024);
        popped += n;
        if (n > 0) continue;
        if (handoff_.done.load(std::memory_order_acquire)) {
          // Everything was pushed before `done`: one more pass takes the rest.
          while (const std::size_t rest = handoff_.ring.consume(handle, 1024)) popped += rest;
          break;
        }
        wait.wait_for(
            [&] {
              return handoff_.pushed.load(std::memory_order_acquire) != popped ||
                     handoff_.done.load(std::memory_order_acquire);
            },
            std::chrono::milliseconds(50), &handoff_.doorbell);
      }
      builder_->flush();
      if (rollups_) rollups_->flush();
      if (stats_) stats_->finish();
    } catch (const std::exception& e) {
      error_ = e.what();
    }
    if (file_) {
      file_->flush();
      if (error_.empty()) error_ = file_->error();
    }
    if (!error_.empty()) handoff_.failed.store(true, std::memory_order_relaxed);
  }

  const std::string& error() const noexcept { return error_; }

  void print_summary() const {
    const BarCounters total = builder_->totals();
    std::fprintf(stderr,
                 "  %-16s 1s: %llu on close, %llu amendments, %llu late drops; %llu seconds with data, %llu gaps "
                 "(%llu s)\n",
                 "bars", as_ull(total.bars), as_ull(total.amendments), as_ull(total.late_drops),
                 as_ull(total.seconds_with_data), as_ull(total.gaps), as_ull(total.gap_seconds));
    if (rollups_) {
      std::fprintf(stderr, "  %-16s", "");
      for (std::size_t k = 0; k < rollups_->timeframes().size(); ++k)
        std::fprintf(stderr, " %s: %llu (+%llu amended)", std::string(rollups_->timeframes()[k].name()).c_str(),
                     as_ull(rollups_->counters(k).bars), as_ull(rollups_->counters(k).amendments));
      std::fprintf(stderr, "\n");
    }
    if (file_) std::fprintf(stderr, "  %-16s %llu lines of line protocol\n", "", as_ull(file_->lines()));
    if (stats_)
      std::fprintf(stderr, "  %-16s %llu rows of flow statistics (%zu symbol groups)\n", "stats",
                   as_ull(stats_->rows()), stats_->stats().groups().size());
    // Per market, for the few markets a replay usually has.
    std::size_t shown = 0;
    for (MarketId id = 0; id < kMaxReplayMarkets && shown < 32; ++id) {
      const BarCounters& c = builder_->counters(id);
      if (c.seconds_with_data == 0 && c.late_drops == 0) continue;
      ++shown;
      std::fprintf(stderr, "  %-32s bars %llu  amendments %llu  late drops %llu  gaps %llu (%llu s)\n",
                   handoff_.names[id].c_str(), as_ull(c.bars), as_ull(c.amendments), as_ull(c.late_drops),
                   as_ull(c.gaps), as_ull(c.gap_seconds));
    }
  }

 private:
  static unsigned long long as_ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

  void handle(const FeedEvent& e) {
    switch (e.type) {
      case FeedEventType::kTrade:
        builder_->advance_clock(e.trade.receive_ts_ns);
        builder_->on_trade(e.trade);
        break;
      case FeedEventType::kStatus:
        builder_->advance_clock(e.status.receive_ts_ns);
        if (e.status.kind == FeedStatusKind::kConnected && e.status.market < kMaxReplayMarkets) {
          if (file_) file_->set_market(e.status.market, handoff_.names[e.status.market]);
          if (stats_ && e.status.market == stats_registry_.size()) {
            // The statistics' own copy of the registry (the reader thread
            // owns the real one): markets are announced in id order, so
            // interning here gives the same ids.
            stats_registry_.intern(handoff_.names[e.status.market]);
          }
          if (rollups_) rollups_->add_market(e.status.market);
        }
        builder_->on_status(e.status);
        break;
      case FeedEventType::kQuote: break;  // bars do not use quotes
    }
  }

  Handoff& handoff_;
  std::unique_ptr<LineProtocolFile> file_;
  BarOutputs outputs_;
  std::unique_ptr<Rollups> rollups_;
  MarketRegistry stats_registry_;
  std::unique_ptr<FlowStatsRecorder> stats_;
  std::unique_ptr<SecondsThenRollups> seconds_;
  std::unique_ptr<BarBuilder> builder_;
  std::string error_;
};

// The producer's half: one frame's events onto the ring.
class BarPublisher {
 public:
  explicit BarPublisher(Handoff& handoff) : handoff_(handoff) { outbox_.reserve(EventBuffer::kDefaultCapacity + 64); }

  // New markets are announced first (name, then kConnected), then the
  // frame's trades, then the connection's watermark if the frame moved it,
  // or a clock tick if nothing was pushed for kClockTickNs.
  void publish(Source& source, const EventBuffer& events, const MarketRegistry& registry, std::int64_t receive_ns) {
    outbox_.clear();
    while (announced_ < registry.size()) {
      const auto id = static_cast<MarketId>(announced_);
      if (announced_ >= kMaxReplayMarkets)
        throw std::runtime_error("more than " + std::to_string(kMaxReplayMarkets) +
                                 " markets: --bars-out cannot track them");
      handoff_.names[id] = registry.info(id).name;
      FeedStatus connected;
      connected.kind = FeedStatusKind::kConnected;
      connected.market = id;
      connected.connection = source.connection;
      connected.receive_ts_ns = receive_ns;
      outbox_.push_back(FeedEvent::of(connected));
      ++announced_;
    }
    std::int64_t newest = source.watermark_ns;
    for (const FeedEvent& e : events) {
      if (e.type == FeedEventType::kTrade) {
        outbox_.push_back(e);
        newest = std::max(newest, e.trade.exchange_ts_ns);
      } else if (e.type == FeedEventType::kQuote && e.quote.exchange_ts_ns > 0) {
        newest = std::max(newest, e.quote.exchange_ts_ns);
      }
    }
    const bool moved = newest > source.watermark_ns;
    if (moved || (outbox_.empty() && receive_ns - last_push_receive_ns_ >= kClockTickNs)) {
      source.watermark_ns = newest;
      FeedStatus watermark;  // a tick when the watermark did not move: then it changes nothing but the clock
      watermark.kind = FeedStatusKind::kWatermark;
      watermark.market = kInvalidMarket;
      watermark.connection = source.connection;
      watermark.watermark_ns = newest;
      watermark.receive_ts_ns = receive_ns;
      outbox_.push_back(FeedEvent::of(watermark));
    }
    if (outbox_.empty()) return;
    last_push_receive_ns_ = receive_ns;
    push(outbox_.data(), outbox_.size());
  }

  // No more events: the aggregator drains the ring and flushes.
  void finish() noexcept {
    handoff_.done.store(true, std::memory_order_release);
    handoff_.doorbell.notify();
  }

 private:
  void push(const FeedEvent* events, std::size_t n) {
    std::size_t sent = 0;
    for (unsigned attempt = 0;; ++attempt) {
      sent += handoff_.ring.try_push_n(events + sent, n - sent);
      if (sent == n) break;
      // Full: the aggregator is behind. Make sure it is awake, then back
      // off: a few PAUSEs, then yield the core it may need.
      handoff_.doorbell.notify();
      if (handoff_.failed.load(std::memory_order_relaxed)) throw std::runtime_error("the bar aggregator stopped");
      if (attempt < 16)
        spin_pause();
      else
        sched_yield();
    }
    pushed_ += n;
    handoff_.pushed.store(pushed_, std::memory_order_release);
    handoff_.doorbell.notify();
  }

  Handoff& handoff_;
  std::vector<FeedEvent> outbox_;
  std::size_t announced_ = 0;
  std::uint64_t pushed_ = 0;
  std::int64_t last_push_receive_ns_ = INT64_MIN / 2;
};

void print_summary(const std::map<std::string, ParseStats>& by_exchange,
                   const std::vector<std::unique_ptr<Source>>& sources, double seconds) {
  std::fprintf(stderr, "replay summary (%.2f s)\n", seconds);
  for (const auto& [exchange, s] : by_exchange) {
    std::fprintf(stderr, "  %-16s frames %llu  trades %llu (liquidations %llu)  quotes %llu\n", exchange.c_str(),
                 static_cast<unsigned long long>(s.frames), static_cast<unsigned long long>(s.trades),
                 static_cast<unsigned long long>(s.liquidations), static_cast<unsigned long long>(s.quotes));
    std::fprintf(stderr, "  %-16s skipped %llu:", "", static_cast<unsigned long long>(s.total_skipped()));
    for (std::size_t k = 0; k < s.skipped.size(); ++k)
      if (s.skipped[k])
        std::fprintf(stderr, " %s %llu", std::string(to_string(static_cast<SkipKind>(k))).c_str(),
                     static_cast<unsigned long long>(s.skipped[k]));
    std::fprintf(stderr, "\n  %-16s errors %llu:", "", static_cast<unsigned long long>(s.total_errors()));
    for (std::size_t e = 0; e < s.errors.size(); ++e)
      if (s.errors[e])
        std::fprintf(stderr, " %s %llu", std::string(to_string(static_cast<ParseError>(e))).c_str(),
                     static_cast<unsigned long long>(s.errors[e]));
    std::fprintf(stderr, "\n");
  }
  for (const auto& source : sources) {
    const auto& c = source->reader->counts();
    if (c.malformed_lines || c.oversize_lines)
      std::fprintf(stderr, "  %s: %llu malformed and %llu oversize lines skipped\n", source->spec.path.c_str(),
                   static_cast<unsigned long long>(c.malformed_lines),
                   static_cast<unsigned long long>(c.oversize_lines));
  }
}

// The sink's configuration from the command line: the endpoint, credentials
// (environment or file, never the command line), retention policies for 1 s
// and every rollup timeframe, and the spool.
InfluxSinkConfig influx_config(const ReplayOptions& options) {
  InfluxSinkConfig config;
  config.endpoint.url = options.influx_url;
  config.endpoint.database = options.influx_db;
  config.endpoint.credentials = load_influx_credentials(options.influx_credentials_file);
  config.endpoint.gzip = options.influx_gzip;
  std::vector<Timeframe> timeframes = {Timeframe::from_seconds(1)};
  timeframes.insert(timeframes.end(), options.rollup_timeframes.begin(), options.rollup_timeframes.end());
  for (const Timeframe& tf : timeframes) {
    const auto it = options.retention.find(std::string(tf.name()));
    config.retention.push_back({"aggr_" + std::string(tf.name()), it != options.retention.end() ? it->second : "INF"});
  }
  if (!options.spool_dir.empty()) config.spool = SpoolConfig{.dir = options.spool_dir};
  return config;
}

void print_influx_summary(const InfluxSink& sink, double seconds_flushing) {
  const InfluxSinkStats& s = sink.stats();
  const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  std::fprintf(stderr,
               "  %-16s points written %llu in %llu batches; retries %llu; spooled %llu points (%llu batches); "
               "dead-lettered %llu; dropped %llu; refused (NaN/Inf) %llu; unsaved %llu\n",
               "influx", u(s.points_written), u(s.batches_written), u(s.retries), u(s.points_spooled),
               u(s.batches_spooled), u(s.points_dead_lettered), u(s.points_dropped), u(s.points_refused),
               u(sink.points_unsaved()));
  if (const SpoolStats* spool = sink.spool_stats())
    std::fprintf(stderr,
                 "  %-16s spool: %llu batches pending; %llu corrupt records skipped, %llu torn bytes truncated, %llu "
                 "dropped by its size cap\n",
                 "", u(sink.pending_batches()), u(spool->corrupt_records_skipped), u(spool->torn_tail_bytes_truncated),
                 u(spool->dropped_records));
  const LatencyHistogram& ack = sink.ack_delay();
  if (ack.count() > 0)
    std::fprintf(stderr,
                 "  %-16s bar close to 204: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%llu batches); final flush %.2f s\n",
                 "", static_cast<double>(ack.percentile(0.5)) / 1e6, static_cast<double>(ack.percentile(0.99)) / 1e6,
                 static_cast<double>(ack.max()) / 1e6, u(ack.count()), seconds_flushing);
  if (!sink.last_problem().empty()) std::fprintf(stderr, "  %-16s last problem: %s\n", "", sink.last_problem().c_str());
}

// Whether the run lost or rejected anything: the exit status says so.
bool influx_lost_anything(const InfluxSink& sink) {
  const InfluxSinkStats& s = sink.stats();
  return s.points_dead_lettered > 0 || s.points_dropped > 0 || s.points_refused > 0 || sink.points_unsaved() > 0 ||
         (sink.spool_stats() != nullptr && sink.spool_stats()->dropped_records > 0);
}

// `tickflow replay --influx URL --spool DIR` without captures: deliver what
// an earlier run left in the spool, then stop.
int drain_spool_only(const ReplayOptions& options) {
  try {
    InfluxSink sink(influx_config(options));
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t pending = sink.pending_batches();
    std::fprintf(stderr, "replay: delivering %llu spooled batches from %s\n", static_cast<unsigned long long>(pending),
                 options.spool_dir.c_str());
    const bool done =
        sink.flush(start + std::chrono::milliseconds(static_cast<std::int64_t>(options.deadline_s * 1000)));
    std::fprintf(stderr, "replay summary (spool drain)\n");
    print_influx_summary(sink, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!done) {
      std::fprintf(stderr, "tickflow replay: %llu batches still spooled after %.0f s (--deadline): %s\n",
                   static_cast<unsigned long long>(sink.pending_batches()), options.deadline_s,
                   sink.last_problem().c_str());
      return 1;
    }
    return influx_lost_anything(sink) ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tickflow replay: %s\n", e.what());
    return 2;
  }
}

}  // namespace

CaptureSpec parse_capture_argument(const std::string& argument) {
  CaptureSpec spec;
  const auto eq = argument.find('=');
  // EXCHANGE=PATH: the part before '=' is an upper-case exchange name.
  if (eq != std::string::npos && eq > 0 &&
      std::all_of(argument.begin(), argument.begin() + static_cast<std::ptrdiff_t>(eq),
                  [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; })) {
    spec.exchange = argument.substr(0, eq);
    spec.path = argument.substr(eq + 1);
  } else {
    spec.path = argument;
  }
  return spec;
}

int run_replay(const ReplayOptions& options) {
  if (options.captures.empty() && !options.influx_url.empty() && !options.spool_dir.empty())
    return drain_spool_only(options);
  if (options.captures.empty()) {
    std::fprintf(stderr, "tickflow replay: no capture given (see --help)\n");
    return 2;
  }
  MarketRegistry registry;
  std::map<std::string, std::unique_ptr<ExchangeParser>> parsers;  // one per exchange name
  std::vector<std::unique_ptr<Source>> sources;
  try {
    for (const CaptureSpec& given : options.captures) {
      auto source = std::make_unique<Source>();
      source->spec = given;
      if (source->spec.exchange.empty()) source->spec.exchange = exchange_from_capture_name(given.path);
      if (source->spec.exchange.empty()) source->spec.exchange = exchange_from_frames(given.path);
      if (source->spec.exchange.empty()) {
        std::fprintf(stderr,
                     "tickflow replay: cannot tell which exchange '%s' comes from (neither its name nor its frames "
                     "say).\n  Name it with EXCHANGE=PATH, e.g. BINANCE_FUTURES=%s\n  Exchanges: ",
                     given.path.c_str(), given.path.c_str());
        for (const auto& name : known_exchanges()) std::fprintf(stderr, "%s ", name.c_str());
        std::fprintf(stderr, "\n");
        return 2;
      }
      auto& parser = parsers[source->spec.exchange];
      if (!parser) parser = make_parser(source->spec.exchange, registry);
      if (!parser) {
        std::fprintf(stderr,
                     "tickflow replay: unknown exchange '%s' for '%s'. Exchanges: ", source->spec.exchange.c_str(),
                     given.path.c_str());
        for (const auto& name : known_exchanges()) std::fprintf(stderr, "%s ", name.c_str());
        std::fprintf(stderr, "\n");
        return 2;
      }
      source->parser = parser.get();
      source->reader = std::make_unique<CaptureReader>(given.path);
      sources.push_back(std::move(source));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tickflow replay: %s\n", e.what());
    return 2;
  }

  std::unique_ptr<CsvWriter> trades_csv, quotes_csv;
  try {
    if (!options.trades_out.empty())
      trades_csv = std::make_unique<CsvWriter>(
          options.trades_out, "market,exchange_ts_ns,receive_ts_ns,trade_id,price,qty,side,liquidation");
    if (!options.quotes_out.empty())
      quotes_csv = std::make_unique<CsvWriter>(
          options.quotes_out, "market,exchange_ts_ns,receive_ts_ns,bid_price,bid_qty,ask_price,ask_qty");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tickflow replay: %s\n", e.what());
    return 2;
  }

  // --bars-out / --influx: the aggregator thread, fed through the ring, and
  // for --influx the writer thread behind it.
  std::unique_ptr<Handoff> handoff;
  std::unique_ptr<InfluxWriter> influx;
  std::unique_ptr<BarAggregator> aggregator;
  std::unique_ptr<BarPublisher> publisher;
  std::thread aggregator_thread;
  if (!options.bars_out.empty() || !options.influx_url.empty() || !options.stats_out.empty()) {
    if ((options.bars_out == "-") + (options.trades_out == "-") + (options.quotes_out == "-") +
            (options.stats_out == "-") >
        1) {
      std::fprintf(stderr,
                   "tickflow replay: only one of --bars-out, --trades-out, --quotes-out and --stats-out can write to "
                   "stdout\n");
      return 2;
    }
    try {
      handoff = std::make_unique<Handoff>();
      if (!options.influx_url.empty()) {
        influx = std::make_unique<InfluxWriter>(influx_config(options), LineProtocolOptions{options.base_volume},
                                                handoff->names);
        influx->start();
      }
      aggregator = std::make_unique<BarAggregator>(options, *handoff, influx.get());
      publisher = std::make_unique<BarPublisher>(*handoff);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tickflow replay: %s\n", e.what());
      return 2;
    }
    for (std::size_t i = 0; i < sources.size(); ++i) sources[i]->connection = static_cast<std::uint16_t>(i);
    aggregator_thread = std::thread([&aggregator] { aggregator->run(); });
  }
  // However the read loop ends, the aggregator drains, flushes and is joined.
  struct JoinAggregator {
    BarPublisher* publisher;
    std::thread& thread;
    ~JoinAggregator() {
      if (!thread.joinable()) return;
      publisher->finish();
      thread.join();
    }
  } join_aggregator{publisher.get(), aggregator_thread};

  // k-way merge on receive time; ties keep command-line order.
  auto later = [](const Source* a, const Source* b) {
    return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                              : a > b;
  };
  std::priority_queue<Source*, std::vector<Source*>, decltype(later)> heap(later);
  const auto wall_start = std::chrono::steady_clock::now();
  std::uint64_t frames = 0;
  // Progress (unless --quiet): a bar with an ETA when stderr is a terminal;
  // otherwise (a log file, a pipe) a plain line every 2^20 frames, which a
  // log can keep.
  std::unique_ptr<ProgressBar> progress;
  std::uint64_t total_bytes = 0;
  if (!options.quiet && isatty(STDERR_FILENO) == 1) {
    progress = std::make_unique<ProgressBar>(stderr);
    for (const auto& source : sources) {
      std::error_code error;
      const std::uintmax_t size = std::filesystem::file_size(source->spec.path, error);
      if (error) {  // a pipe, say: no percent or ETA rather than a wrong one
        total_bytes = 0;
        break;
      }
      total_bytes += size;
    }
  }
  auto progress_sample = [&](std::chrono::steady_clock::time_point now) {
    ProgressSample sample;
    sample.total_bytes = total_bytes;
    for (const auto& source : sources) sample.done_bytes += source->reader->file_offset();
    sample.frames = frames;
    sample.elapsed_s = std::chrono::duration<double>(now - wall_start).count();
    sample.frames_per_s = sample.elapsed_s > 0 ? static_cast<double>(frames) / sample.elapsed_s : 0;
    return sample;
  };
  if (progress) progress->update(progress_sample(wall_start), wall_start);
  std::int64_t first_receive_ns = -1;
  EventBuffer events;
  std::string read_error;
  try {
    for (auto& source : sources)
      if (source->reader->next(source->record)) heap.push(source.get());

    while (!heap.empty()) {
      Source* source = heap.top();
      heap.pop();
      const CaptureRecord& record = source->record;
      if (options.speed > 0) {
        if (first_receive_ns < 0) first_receive_ns = record.receive_ts_ns;
        const auto due =
            wall_start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                             static_cast<double>(record.receive_ts_ns - first_receive_ns) / options.speed));
        std::this_thread::sleep_until(due);
      }
      events.clear();
      source->parser->parse(record.frame, record.receive_ts_ns, events);
      for (const FeedEvent& e : events) {
        if (e.type == FeedEventType::kTrade && trades_csv) {
          const Trade& t = e.trade;
          trades_csv->append(registry.info(t.market).name);
          trades_csv->append(',');
          trades_csv->number(t.exchange_ts_ns);
          trades_csv->append(',');
          trades_csv->number(t.receive_ts_ns);
          trades_csv->append(',');
          trades_csv->number(t.trade_id);
          trades_csv->append(',');
          trades_csv->number(t.price);
          trades_csv->append(',');
          trades_csv->number(t.qty);
          trades_csv->append(t.is_buy() ? ",buy," : ",sell,");
          trades_csv->append(t.is_liquidation() ? '1' : '0');
          trades_csv->end_row();
        } else if (e.type == FeedEventType::kQuote && quotes_csv) {
          const Quote& q = e.quote;
          quotes_csv->append(registry.info(q.market).name);
          quotes_csv->append(',');
          quotes_csv->number(q.exchange_ts_ns);
          quotes_csv->append(',');
          quotes_csv->number(q.receive_ts_ns);
          for (double v : {q.bid_price, q.bid_qty, q.ask_price, q.ask_qty}) {
            quotes_csv->append(',');
            quotes_csv->number(v);
          }
          quotes_csv->end_row();
        }
      }
      if (publisher) {
        publisher->publish(*source, events, registry, record.receive_ts_ns);
        if (handoff->failed.load(std::memory_order_relaxed)) break;  // the aggregator reports why
      }
      ++frames;
      if (progress) {
        // Read the clock every 256 frames only (every frame when paced: they
        // are slow then); the bar itself redraws at most 10 times a second.
        if ((frames & 255) == 0 || options.speed > 0) {
          const auto now = std::chrono::steady_clock::now();
          if (progress->due(now)) progress->update(progress_sample(now), now);
        }
      } else if (!options.quiet && (frames & ((1u << 20) - 1)) == 0) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        std::fprintf(stderr, "replay: %llu frames, %.1f s\n", static_cast<unsigned long long>(frames), s);
      }
      if (source->reader->next(source->record)) heap.push(source);
    }
    if (trades_csv) trades_csv->flush();
    if (quotes_csv) quotes_csv->flush();
  } catch (const std::exception& e) {
    read_error = e.what();
  }
  // End the progress line: the summary (or an error) starts on its own line.
  if (progress) progress->finish(progress_sample(std::chrono::steady_clock::now()));
  if (aggregator_thread.joinable()) {
    publisher->finish();
    aggregator_thread.join();
  }
  // The aggregator has flushed every bar into the writer: now the writer
  // delivers, or spools, everything before the process may exit.
  bool influx_complete = true;
  double flush_seconds = 0;
  if (influx) {
    const auto flush_start = std::chrono::steady_clock::now();
    influx_complete =
        influx->finish(flush_start + std::chrono::milliseconds(static_cast<std::int64_t>(options.deadline_s * 1000)));
    flush_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - flush_start).count();
  }
  if (aggregator && !aggregator->error().empty()) {
    std::fprintf(stderr, "tickflow replay: bars: %s\n", aggregator->error().c_str());
    return 1;
  }
  if (!read_error.empty()) {
    std::fprintf(stderr, "tickflow replay: %s\n", read_error.c_str());
    return 1;
  }

  std::map<std::string, ParseStats> by_exchange;
  for (const auto& [name, parser] : parsers) by_exchange[name] += parser->stats();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  print_summary(by_exchange, sources, seconds);
  if (aggregator) aggregator->print_summary();
  if (influx) {
    print_influx_summary(influx->sink(), flush_seconds);
    if (!influx_complete && influx->sink().points_unsaved() == 0)
      std::fprintf(stderr, "  %-16s not all delivered: %llu batches wait in the spool %s for the next run\n", "",
                   static_cast<unsigned long long>(influx->sink().pending_batches()), options.spool_dir.c_str());
    if (influx_lost_anything(influx->sink())) {
      std::fprintf(stderr, "tickflow replay: InfluxDB output lost or rejected points (see above)\n");
      return 1;
    }
  }
  return 0;
}

}  // namespace tickflow
