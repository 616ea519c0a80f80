// runtime/capture_trade_stream.cc
#include "runtime/capture_trade_stream.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/parser_factory.h"

namespace tickflow {
namespace {

constexpr std::int64_t kNs = 1'000'000'000;

}  // namespace

struct CaptureTradeStream::Input {
  std::size_t index = 0;
  std::string path;
  std::shared_ptr<ExchangeParser> parser;  // one per exchange, shared by its files
  std::unique_ptr<CaptureReader> reader;
  CaptureRecord record;
  EventBuffer events;
};

CaptureTradeStream::CaptureTradeStream(const std::vector<CaptureSpec>& captures, MarketRegistry& registry,
                                       CaptureTradeOptions options)
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
                               ": cannot tell its exchange from its name or its frames; give EXCHANGE=PATH");
    auto& parser = parsers[exchange];
    if (!parser) parser = make_parser(exchange, registry);
    if (!parser) throw std::runtime_error("capture " + c.path + ": unknown exchange '" + exchange + "'");
    auto input = std::make_unique<Input>();
    input->index = inputs_.size();
    input->path = c.path;
    input->parser = parser;
    inputs_.push_back(std::move(input));
  }
  if (options_.period_s > 0) period_s_ = options_.period_s;
}

CaptureTradeStream::~CaptureTradeStream() = default;

// Heap order: the earliest receive time on top, ties to the earlier file.
bool CaptureTradeStream::later(const Input* a, const Input* b) noexcept {
  return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                            : a->index > b->index;
}

bool CaptureTradeStream::start_pass() {
  // Pass 0 has been read: its span is the period, unless one was given.
  if (pass_ == 0 && options_.period_s <= 0 && first_receive_ns_ <= last_receive_ns_)
    period_s_ = ((last_receive_ns_ - first_receive_ns_) / kNs / 60 + 1) * 60;
  if (pass_ + 1 >= options_.repeat) return false;
  ++pass_;
  heap_.clear();
  for (auto& in : inputs_) {
    in->reader = std::make_unique<CaptureReader>(in->path);
    if (in->reader->next(in->record)) {
      heap_.push_back(in.get());
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
  }
  return true;
}

bool CaptureTradeStream::next(CaptureTradeFrame& out) {
  for (;;) {
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
    in->events.clear();
    ++frames_;
    if (in->parser->parse(in->record.frame, in->record.receive_ts_ns, in->events) == ParseOutcome::kError) ++rejected_;
    out.input = in->index;
    out.pass = pass_;
    out.receive_ns = in->record.receive_ts_ns + shift_ns;
    out.trades.clear();
    for (const FeedEvent& e : in->events) {
      if (e.type != FeedEventType::kTrade) continue;
      Trade t = e.trade;
      t.exchange_ts_ns += shift_ns;
      t.receive_ts_ns += shift_ns;
      t.trade_id += static_cast<std::uint64_t>(pass_) * kPassIdOffset;
      if (options_.transform) options_.transform(t, pass_);
      out.trades.push_back(t);
    }
    trades_ += out.trades.size();
    if (in->reader->next(in->record)) {
      heap_.push_back(in);
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
    if (!out.trades.empty()) return true;
  }
}

}  // namespace tickflow
