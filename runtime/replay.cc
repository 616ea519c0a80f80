// runtime/replay.cc
#include "runtime/replay.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include "pipeline/line_protocol.h"
#include "runtime/capture_player.h"
#include "runtime/influx_writer.h"
#include "runtime/progress_bar.h"
#include "sinks/flow_stats_csv_file.h"
#include "sinks/influx_sink.h"
#include "sinks/output_file.h"

namespace tickflow {
namespace {

// More than a live host follows: a replay may merge many recorded files.
constexpr std::size_t kMaxReplayMarkets = 4096;

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

void write_trade_row(CsvWriter& csv, const MarketRegistry& registry, const Trade& t) {
  csv.append(registry.info(t.market).name);
  csv.append(',');
  csv.number(t.exchange_ts_ns);
  csv.append(',');
  csv.number(t.receive_ts_ns);
  csv.append(',');
  csv.number(t.trade_id);
  csv.append(',');
  csv.number(t.price);
  csv.append(',');
  csv.number(t.qty);
  csv.append(t.is_buy() ? ",buy," : ",sell,");
  csv.append(t.is_liquidation() ? '1' : '0');
  csv.end_row();
}

void write_quote_row(CsvWriter& csv, const MarketRegistry& registry, const Quote& q) {
  csv.append(registry.info(q.market).name);
  csv.append(',');
  csv.number(q.exchange_ts_ns);
  csv.append(',');
  csv.number(q.receive_ts_ns);
  for (double v : {q.bid_price, q.bid_qty, q.ask_price, q.ask_qty}) {
    csv.append(',');
    csv.number(v);
  }
  csv.end_row();
}

// --bars-out: line protocol into 1 MiB blocks, written with one fwrite
// each, on the aggregator thread. Market names come from the aggregator's
// table (written on that thread before a market's first bar). A write error
// is kept and reported at the end, not thrown through the aggregator.
class LineProtocolFile final : public BarSink {
 public:
  LineProtocolFile(const std::string& path, LineProtocolOptions options, const std::vector<std::string>& names)
      : out_(path), encoder_(options), names_(names) {
    buffer_.reserve(kBlock + max_bar_line_bytes(4096));
  }
  ~LineProtocolFile() override { flush(); }

  void on_bar(const Bar& bar) override {
    if (!encoder_.has_market(bar.market)) encoder_.set_market(bar.market, names_[bar.market]);
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
  const std::vector<std::string>& names_;
  std::string buffer_;
  std::uint64_t lines_ = 0;
  std::string error_;
};

// --stats-out: every flow record the aggregator emits, as a CSV row.
class FlowStatsCsvSink final : public BarSink {
 public:
  explicit FlowStatsCsvSink(const std::string& path) : writer_(path) {}
  void on_bar(const Bar&) override {}
  void on_flow(const FlowRecord& record) override {
    writer_.write(record);
    if (groups_.find(record.group_name()) == groups_.end()) groups_.emplace(record.group_name());
  }
  void flush() { writer_.flush(); }
  std::uint64_t rows() const noexcept { return writer_.rows(); }
  std::size_t groups() const noexcept { return groups_.size(); }

 private:
  FlowStatsCsvWriter writer_;
  std::set<std::string, std::less<>> groups_;
};

// Every emitted bar and flow record, to each output that is on: the
// line-protocol file, the flow CSV and the InfluxDB writer thread.
class ReplayOutputs final : public BarSink {
 public:
  void add(BarSink* sink) {
    if (sink != nullptr) sinks_.push_back(sink);
  }
  void on_bar(const Bar& bar) override {
    for (BarSink* sink : sinks_) sink->on_bar(bar);
  }
  void on_flow(const FlowRecord& record) override {
    for (BarSink* sink : sinks_) sink->on_flow(record);
  }

 private:
  std::vector<BarSink*> sinks_;
};

unsigned long long as_ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

void print_summary(const CaptureStream& stream, double seconds) {
  std::fprintf(stderr, "replay summary (%.2f s)\n", seconds);
  if (stream.repeat() > 1)
    std::fprintf(stderr, "  %-16s %d passes, each shifted by %lld s\n", "repeat", stream.repeat(),
                 static_cast<long long>(stream.period_s()));
  for (const auto& [exchange, s] : stream.parse_stats()) {
    std::fprintf(stderr, "  %-16s frames %llu  trades %llu (liquidations %llu)  quotes %llu\n", exchange.c_str(),
                 as_ull(s.frames), as_ull(s.trades), as_ull(s.liquidations), as_ull(s.quotes));
    std::fprintf(stderr, "  %-16s skipped %llu:", "", as_ull(s.total_skipped()));
    for (std::size_t k = 0; k < s.skipped.size(); ++k)
      if (s.skipped[k])
        std::fprintf(stderr, " %s %llu", std::string(to_string(static_cast<SkipKind>(k))).c_str(),
                     as_ull(s.skipped[k]));
    std::fprintf(stderr, "\n  %-16s errors %llu:", "", as_ull(s.total_errors()));
    for (std::size_t e = 0; e < s.errors.size(); ++e)
      if (s.errors[e])
        std::fprintf(stderr, " %s %llu", std::string(to_string(static_cast<ParseError>(e))).c_str(),
                     as_ull(s.errors[e]));
    std::fprintf(stderr, "\n");
  }
  for (std::size_t i = 0; i < stream.inputs(); ++i) {
    const CaptureReader::Counts c = stream.reader_counts(i);
    if (c.malformed_lines || c.oversize_lines)
      std::fprintf(stderr, "  %s: %llu malformed and %llu oversize lines skipped\n", stream.path(i).c_str(),
                   as_ull(c.malformed_lines), as_ull(c.oversize_lines));
  }
}

void print_bar_summary(const Aggregator& aggregator, const LineProtocolFile* file, const FlowStatsCsvSink* stats) {
  const BarBuilder& builder = aggregator.bar_builder();
  const BarCounters total = builder.totals();
  std::fprintf(stderr,
               "  %-16s 1s: %llu on close, %llu amendments, %llu late drops; %llu seconds with data, %llu gaps "
               "(%llu s)\n",
               "bars", as_ull(total.bars), as_ull(total.amendments), as_ull(total.late_drops),
               as_ull(total.seconds_with_data), as_ull(total.gaps), as_ull(total.gap_seconds));
  if (const Rollups* rollups = aggregator.rollups()) {
    std::fprintf(stderr, "  %-16s", "");
    for (std::size_t k = 0; k < rollups->timeframes().size(); ++k)
      std::fprintf(stderr, " %s: %llu (+%llu amended)", std::string(rollups->timeframes()[k].name()).c_str(),
                   as_ull(rollups->counters(k).bars), as_ull(rollups->counters(k).amendments));
    std::fprintf(stderr, "\n");
  }
  if (file) std::fprintf(stderr, "  %-16s %llu lines of line protocol\n", "", as_ull(file->lines()));
  if (stats)
    std::fprintf(stderr, "  %-16s %llu rows of flow statistics (%zu symbol groups)\n", "stats", as_ull(stats->rows()),
                 stats->groups());
  // Per market, for the few markets a replay usually has.
  std::size_t shown = 0;
  const std::vector<std::string>& names = aggregator.names();
  for (MarketId id = 0; id < names.size() && shown < 32; ++id) {
    const BarCounters& c = builder.counters(id);
    if (c.seconds_with_data == 0 && c.late_drops == 0) continue;
    ++shown;
    std::fprintf(stderr, "  %-32s bars %llu  amendments %llu  late drops %llu  gaps %llu (%llu s)\n", names[id].c_str(),
                 as_ull(c.bars), as_ull(c.amendments), as_ull(c.late_drops), as_ull(c.gaps), as_ull(c.gap_seconds));
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
  config.retention = retention_policies(options.rollup_timeframes, options.retention);
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

int run_replay(const ReplayOptions& options) {
  if (options.captures.empty() && !options.influx_url.empty() && !options.spool_dir.empty())
    return drain_spool_only(options);
  if (options.captures.empty()) {
    std::fprintf(stderr, "tickflow replay: no capture given (see --help)\n");
    return 2;
  }
  if ((options.bars_out == "-") + (options.trades_out == "-") + (options.quotes_out == "-") +
          (options.stats_out == "-") >
      1) {
    std::fprintf(stderr,
                 "tickflow replay: only one of --bars-out, --trades-out, --quotes-out and --stats-out can write to "
                 "stdout\n");
    return 2;
  }
  MarketRegistry registry;
  std::unique_ptr<CaptureStream> stream;
  std::unique_ptr<CsvWriter> trades_csv, quotes_csv;
  try {
    CaptureStreamOptions stream_options;
    stream_options.repeat = options.repeat;
    stream = std::make_unique<CaptureStream>(options.captures, registry, stream_options);
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

  // --bars-out / --influx / --stats-out: the production aggregation path
  // (CapturePlayer), and for --influx the writer thread behind it.
  ReplayOutputs outputs;
  std::unique_ptr<CapturePlayer> player;
  std::unique_ptr<LineProtocolFile> bars_file;
  std::unique_ptr<FlowStatsCsvSink> stats_csv;
  std::unique_ptr<InfluxWriter> influx;
  if (!options.bars_out.empty() || !options.influx_url.empty() || !options.stats_out.empty()) {
    try {
      CapturePlayerOptions player_options;
      AggregatorOptions& agg = player_options.aggregator;
      agg.max_markets = kMaxReplayMarkets;
      agg.lateness_ns = options.lateness_ns;
      agg.quiet_close_delay_ns = options.quiet_close_delay_ns;
      agg.amend_horizon_ns = options.amend_horizon_ns;
      agg.rollups = options.rollup_timeframes;
      // Park when idle: on a 2-core host with more threads than cores a
      // spinning aggregator would starve the reader that feeds it.
      agg.wait.kind = WaitKind::kPark;
      agg.flow_stats = !options.stats_out.empty() || !options.influx_url.empty();
      player = std::make_unique<CapturePlayer>(registry, stream->inputs(), outputs, player_options);
      const std::vector<std::string>& names = player->aggregator().names();
      if (!options.bars_out.empty())
        bars_file =
            std::make_unique<LineProtocolFile>(options.bars_out, LineProtocolOptions{options.base_volume}, names);
      if (!options.stats_out.empty()) stats_csv = std::make_unique<FlowStatsCsvSink>(options.stats_out);
      if (!options.influx_url.empty()) {
        influx =
            std::make_unique<InfluxWriter>(influx_config(options), LineProtocolOptions{options.base_volume}, names);
        influx->start();
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tickflow replay: %s\n", e.what());
      return 2;
    }
    outputs.add(bars_file.get());
    outputs.add(stats_csv.get());
    outputs.add(influx.get());
    player->start();
  }

  const auto wall_start = std::chrono::steady_clock::now();
  std::uint64_t frames = 0;
  // Progress (unless --quiet): a bar with an ETA when stderr is a terminal;
  // otherwise (a log file, a pipe) a plain line every 2^20 frames, which a
  // log can keep.
  std::unique_ptr<ProgressBar> progress;
  std::uint64_t pass_bytes = 0;
  if (!options.quiet && isatty(STDERR_FILENO) == 1) {
    progress = std::make_unique<ProgressBar>(stderr);
    for (std::size_t i = 0; i < stream->inputs(); ++i) {
      std::error_code error;
      const std::uintmax_t size = std::filesystem::file_size(stream->path(i), error);
      if (error) {  // a pipe, say: no percent or ETA rather than a wrong one
        pass_bytes = 0;
        break;
      }
      pass_bytes += size;
    }
  }
  auto progress_sample = [&](std::chrono::steady_clock::time_point now) {
    ProgressSample sample;
    sample.total_bytes = pass_bytes * static_cast<std::uint64_t>(stream->repeat());
    sample.done_bytes = pass_bytes * static_cast<std::uint64_t>(stream->pass()) + stream->bytes_read();
    sample.frames = frames;
    sample.elapsed_s = std::chrono::duration<double>(now - wall_start).count();
    sample.frames_per_s = sample.elapsed_s > 0 ? static_cast<double>(frames) / sample.elapsed_s : 0;
    return sample;
  };
  if (progress) progress->update(progress_sample(wall_start), wall_start);
  std::int64_t first_receive_ns = -1;
  std::string read_error;
  try {
    CaptureFrame frame;
    while (stream->next(frame)) {
      if (options.speed > 0) {
        if (first_receive_ns < 0) first_receive_ns = frame.receive_ns;
        const auto due = wall_start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                          static_cast<double>(frame.receive_ns - first_receive_ns) / options.speed));
        std::this_thread::sleep_until(due);
      }
      if (trades_csv || quotes_csv)
        for (const FeedEvent& e : frame.events) {
          if (e.type == FeedEventType::kTrade && trades_csv) write_trade_row(*trades_csv, registry, e.trade);
          if (e.type == FeedEventType::kQuote && quotes_csv) write_quote_row(*quotes_csv, registry, e.quote);
        }
      // A stopped aggregator (a write error) ends the read; it says why.
      if (player && !player->publish(frame.input, frame.events, frame.receive_ns)) break;
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
        std::fprintf(stderr, "replay: %llu frames, %.1f s\n", as_ull(frames), s);
      }
    }
    if (trades_csv) trades_csv->flush();
    if (quotes_csv) quotes_csv->flush();
  } catch (const std::exception& e) {
    read_error = e.what();
  }
  // End the progress line: the summary (or an error) starts on its own line.
  if (progress) progress->finish(progress_sample(std::chrono::steady_clock::now()));
  // The aggregator drains the ring and flushes every open bar and window.
  std::string bars_error = player ? player->finish() : std::string();
  if (bars_file) {
    bars_file->flush();
    if (bars_error.empty()) bars_error = bars_file->error();
  }
  if (stats_csv && bars_error.empty()) {
    try {
      stats_csv->flush();
    } catch (const std::exception& e) {
      bars_error = e.what();
    }
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
  if (!bars_error.empty()) {
    std::fprintf(stderr, "tickflow replay: bars: %s\n", bars_error.c_str());
    return 1;
  }
  if (!read_error.empty()) {
    std::fprintf(stderr, "tickflow replay: %s\n", read_error.c_str());
    return 1;
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  print_summary(*stream, seconds);
  if (player) print_bar_summary(player->aggregator(), bars_file.get(), stats_csv.get());
  if (influx) {
    print_influx_summary(influx->sink(), flush_seconds);
    if (!influx_complete && influx->sink().points_unsaved() == 0)
      std::fprintf(stderr, "  %-16s not all delivered: %llu batches wait in the spool %s for the next run\n", "",
                   as_ull(influx->sink().pending_batches()), options.spool_dir.c_str());
    if (influx_lost_anything(influx->sink())) {
      std::fprintf(stderr, "tickflow replay: InfluxDB output lost or rejected points (see above)\n");
      return 1;
    }
  }
  return 0;
}

}  // namespace tickflow
