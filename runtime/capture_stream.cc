// runtime/capture_stream.cc
#include "runtime/capture_stream.h"

#include <algorithm>
#include <stdexcept>

#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

constexpr std::int64_t kNs = 1'000'000'000;

std::string known_exchange_list() {
  std::string out;
  for (const std::string& name : known_exchanges()) {
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out;
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

struct CaptureStream::Input {
  std::size_t index = 0;
  std::string exchange;
  std::string path;
  std::shared_ptr<ExchangeParser> parser;  // one per exchange, shared by its files
  std::unique_ptr<CaptureReader> reader;
  CaptureRecord record;
};

CaptureStream::CaptureStream(const std::vector<CaptureSpec>& captures, MarketRegistry& registry,
                             CaptureStreamOptions options)
    : options_(std::move(options)) {
  if (captures.empty()) throw std::runtime_error("no capture given");
  if (options_.repeat < 1) throw std::runtime_error("capture repeat must be at least 1");
  std::map<std::string, std::shared_ptr<ExchangeParser>> parsers;
  for (const CaptureSpec& c : captures) {
    std::string exchange = c.exchange;
    if (exchange.empty()) exchange = exchange_from_capture_name(c.path);
    if (exchange.empty()) exchange = exchange_from_frames(c.path);
    if (exchange.empty())
      throw std::runtime_error("capture " + c.path +
                               ": cannot tell its exchange from its name or its frames; give EXCHANGE=PATH, e.g. "
                               "BINANCE_FUTURES=" +
                               c.path + " (exchanges: " + known_exchange_list() + ")");
    auto& parser = parsers[exchange];
    if (!parser) parser = make_parser(exchange, registry);
    if (!parser)
      throw std::runtime_error("capture " + c.path + ": unknown exchange '" + exchange +
                               "' (exchanges: " + known_exchange_list() + ")");
    auto input = std::make_unique<Input>();
    input->index = inputs_.size();
    input->exchange = exchange;
    input->path = c.path;
    input->parser = parser;
    // Opened now, so a missing file is an error before anything runs.
    input->reader = std::make_unique<CaptureReader>(c.path);
    inputs_.push_back(std::move(input));
  }
  if (options_.period_s > 0) period_s_ = options_.period_s;
}

CaptureStream::~CaptureStream() = default;

const std::string& CaptureStream::exchange(std::size_t input) const noexcept { return inputs_[input]->exchange; }
const std::string& CaptureStream::path(std::size_t input) const noexcept { return inputs_[input]->path; }

CaptureReader::Counts CaptureStream::reader_counts(std::size_t input) const noexcept {
  return inputs_[input]->reader ? inputs_[input]->reader->counts() : CaptureReader::Counts{};
}

std::uint64_t CaptureStream::bytes_read() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& in : inputs_)
    if (in->reader) sum += in->reader->file_offset();
  return sum;
}

std::map<std::string, ParseStats> CaptureStream::parse_stats() const {
  std::map<std::string, const ExchangeParser*> parsers;
  for (const auto& in : inputs_) parsers.emplace(in->exchange, in->parser.get());
  std::map<std::string, ParseStats> out;
  for (const auto& [name, parser] : parsers) out[name] += parser->stats();
  return out;
}

// Heap order: the earliest receive time on top, ties to the earlier file.
bool CaptureStream::later(const Input* a, const Input* b) noexcept {
  return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                            : a->index > b->index;
}

bool CaptureStream::start_pass() {
  // Pass 0 has been read: its span is the period, unless one was given.
  if (pass_ == 0 && options_.period_s <= 0 && first_receive_ns_ <= last_receive_ns_)
    period_s_ = ((last_receive_ns_ - first_receive_ns_) / kNs / 60 + 1) * 60;
  if (pass_ + 1 >= options_.repeat) return false;
  ++pass_;
  heap_.clear();
  for (auto& in : inputs_) {
    if (pass_ > 0) in->reader = std::make_unique<CaptureReader>(in->path);
    if (in->reader->next(in->record)) {
      heap_.push_back(in.get());
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
  }
  return true;
}

bool CaptureStream::next(CaptureFrame& out) {
  while (heap_.empty())
    if (!start_pass()) return false;
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Input* in = heap_.back();
  heap_.pop_back();
  if (pass_ == 0) {
    first_receive_ns_ = std::min(first_receive_ns_, in->record.receive_ts_ns);
    last_receive_ns_ = std::max(last_receive_ns_, in->record.receive_ts_ns);
  }
  const std::int64_t shift_ns = static_cast<std::int64_t>(pass_) * period_s_ * kNs;
  out.events.clear();
  ++frames_;
  if (in->parser->parse(in->record.frame, in->record.receive_ts_ns, out.events) == ParseOutcome::kError) ++rejected_;
  out.input = in->index;
  out.pass = pass_;
  out.receive_ns = in->record.receive_ts_ns + shift_ns;
  if (shift_ns != 0 || options_.transform) {
    for (FeedEvent& e : out.events) {
      switch (e.type) {
        case FeedEventType::kTrade:
          e.trade.exchange_ts_ns += shift_ns;
          e.trade.receive_ts_ns += shift_ns;
          e.trade.trade_id += static_cast<std::uint64_t>(pass_) * kPassIdOffset;
          if (options_.transform) options_.transform(e.trade, pass_);
          break;
        case FeedEventType::kQuote:
          if (e.quote.exchange_ts_ns > 0) e.quote.exchange_ts_ns += shift_ns;
          e.quote.receive_ts_ns += shift_ns;
          break;
        case FeedEventType::kStatus:
          e.status.receive_ts_ns += shift_ns;
          if (e.status.watermark_ns > 0) e.status.watermark_ns += shift_ns;
          break;
      }
    }
  }
  for (const FeedEvent& e : out.events) trades_ += e.type == FeedEventType::kTrade;
  if (in->reader->next(in->record)) {
    heap_.push_back(in);
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  return true;
}

}  // namespace tickflow
