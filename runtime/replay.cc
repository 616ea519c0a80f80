#include "runtime/replay.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <queue>
#include <stdexcept>
#include <thread>

#include "feeds/capture_reader.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

// Buffered CSV writer over stdio: rows are formatted with to_chars into a
// 1 MiB block and written with one fwrite per block.
class CsvWriter {
 public:
  CsvWriter(const std::string& path, const char* header) {
    if (path == "-") {
      file_ = stdout;
    } else {
      file_ = std::fopen(path.c_str(), "wb");
      if (file_ == nullptr) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
      owned_ = true;
    }
    path_ = path;
    buffer_.reset(new char[kBlock + kSlack]);
    append(header);
    append("\n");
  }
  ~CsvWriter() {
    try {
      flush();
    } catch (...) {
    }
    if (owned_) std::fclose(file_);
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
    if (used_ > 0 && std::fwrite(buffer_.get(), 1, used_, file_) != used_)
      throw std::runtime_error("write to '" + path_ + "' failed: " + std::strerror(errno));
    used_ = 0;
    std::fflush(file_);
  }

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  static constexpr std::size_t kSlack = 4096;  // > one row, including a 64-byte market name
  std::FILE* file_ = nullptr;
  bool owned_ = false;
  std::string path_;
  std::unique_ptr<char[]> buffer_;
  std::size_t used_ = 0;
};

struct Source {
  CaptureSpec spec;
  std::unique_ptr<CaptureReader> reader;
  ExchangeParser* parser = nullptr;
  CaptureRecord record;
  bool has_record = false;
};

// Frames carry their venue in ways a few formats make unambiguous. Binance
// spot and futures look the same (btcusdt@trade), as do HTX spot and swaps:
// those need EXCHANGE=PATH.
std::string exchange_from_frames(const std::string& path) {
  CaptureReader reader(path);
  CaptureRecord record;
  for (int i = 0; i < 200 && reader.next(record); ++i) {
    const std::string_view f = record.frame;
    if (record.binary) return {};
    if (f.find("\"table\":") != std::string_view::npos || f.find("BitMEX") != std::string_view::npos) return "BITMEX";
    if (f.find("\"jsonrpc\"") != std::string_view::npos) return "DERIBIT";
    if (f.find("\"arg\":{\"channel\"") != std::string_view::npos) return "OKX";
    if (f.find("\"feed\":\"") != std::string_view::npos) return "KRAKEN_FUTURES";
    if (f.find("\"product_id\":\"") != std::string_view::npos && f.find("\"type\":\"") != std::string_view::npos)
      return "COINBASE";
    if (f.find("\"connectionID\"") != std::string_view::npos) return "KRAKEN";
    if (f.find("\"platform\":{") != std::string_view::npos) return "BITFINEX";
  }
  return {};
}

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

  // k-way merge on receive time; ties keep command-line order.
  auto later = [](const Source* a, const Source* b) {
    return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                              : a > b;
  };
  std::priority_queue<Source*, std::vector<Source*>, decltype(later)> heap(later);
  const auto wall_start = std::chrono::steady_clock::now();
  std::uint64_t frames = 0;
  std::int64_t first_receive_ns = -1;
  EventBuffer events;
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
      ++frames;
      if (!options.quiet && (frames & ((1u << 20) - 1)) == 0) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
        std::fprintf(stderr, "replay: %llu frames, %.1f s\n", static_cast<unsigned long long>(frames), s);
      }
      if (source->reader->next(source->record)) heap.push(source);
    }
    if (trades_csv) trades_csv->flush();
    if (quotes_csv) quotes_csv->flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tickflow replay: %s\n", e.what());
    return 1;
  }

  std::map<std::string, ParseStats> by_exchange;
  for (const auto& [name, parser] : parsers) by_exchange[name] += parser->stats();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  print_summary(by_exchange, sources, seconds);
  return 0;
}

}  // namespace tickflow
