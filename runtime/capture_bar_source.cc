// runtime/capture_bar_source.cc
#include "runtime/capture_bar_source.h"

#include <algorithm>
#include <memory>
#include <queue>
#include <stdexcept>
#include <unordered_map>

#include "feeds/capture_reader.h"
#include "feeds/event_buffer.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_builder.h"
#include "pipeline/bar_sink.h"
#include "pipeline/market_registry.h"

namespace tickflow {
namespace {

constexpr std::int64_t kNs = 1'000'000'000;
constexpr std::uint64_t kPassIdOffset = 1'000'000'000'000ull;  // trade ids of pass k: + k x 10^12

// Keeps the newest emission of each (market, second): amendments replace.
class LatestBars final : public BarSink {
 public:
  explicit LatestBars(std::vector<Bar>& out) : out_(out) {}
  void on_bar(const Bar& bar) override {
    const std::uint64_t key =
        (static_cast<std::uint64_t>(bar.market) << 40) ^ static_cast<std::uint64_t>(bar.open_time_s);
    const auto [it, inserted] = index_.try_emplace(key, out_.size());
    if (inserted) {
      out_.push_back(bar);
    } else {
      out_[it->second] = bar;
    }
    out_[it->second].flags = kBarFinal;
  }

 private:
  std::vector<Bar>& out_;
  std::unordered_map<std::uint64_t, std::size_t> index_;
};

struct Input {
  std::string exchange;
  std::string path;
  ExchangeParser* parser = nullptr;
  std::unique_ptr<CaptureReader> reader;
  CaptureRecord record;
};

}  // namespace

CaptureBarSource::CaptureBarSource(const std::vector<CaptureSpec>& captures, MarketRegistry& registry,
                                   const CaptureBarOptions& options) {
  if (captures.empty()) throw std::runtime_error("no capture given");
  if (options.repeat < 1) throw std::runtime_error("capture repeat must be at least 1");
  std::vector<std::pair<std::string, std::string>> files;  // exchange, path
  std::unordered_map<std::string, std::unique_ptr<ExchangeParser>> parsers;
  for (const CaptureSpec& c : captures) {
    std::string exchange = c.exchange.empty() ? exchange_from_capture_name(c.path) : c.exchange;
    if (exchange.empty())
      throw std::runtime_error("capture " + c.path + ": cannot tell its exchange from the name; give EXCHANGE=PATH");
    auto& parser = parsers[exchange];
    if (!parser) parser = make_parser(exchange, registry);
    if (!parser) throw std::runtime_error("capture " + c.path + ": unknown exchange '" + exchange + "'");
    files.emplace_back(exchange, c.path);
  }

  // The span of one pass, for the shift: first and last receive time.
  period_s_ = options.period_s;
  if (period_s_ <= 0) {
    std::int64_t first = INT64_MAX, last = INT64_MIN;
    for (const auto& [exchange, path] : files) {
      CaptureReader reader(path);
      CaptureRecord r;
      while (reader.next(r)) {
        first = std::min(first, r.receive_ts_ns);
        last = std::max(last, r.receive_ts_ns);
      }
    }
    period_s_ = first <= last ? ((last - first) / kNs / 60 + 1) * 60 : 60;
  }

  LatestBars sink(bars_);
  BarBuilderConfig config;
  config.lateness_ns = options.lateness_ns;
  config.quiet_close_delay_ns = options.quiet_close_delay_ns;
  BarBuilder builder(config, sink);
  EventBuffer events;

  for (int pass = 0; pass < options.repeat; ++pass) {
    const std::int64_t shift_ns = static_cast<std::int64_t>(pass) * period_s_ * kNs;
    std::vector<Input> inputs(files.size());
    auto later = [](const Input* a, const Input* b) {
      return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                                : a > b;
    };
    std::priority_queue<Input*, std::vector<Input*>, decltype(later)> heap(later);
    for (std::size_t i = 0; i < files.size(); ++i) {
      inputs[i].exchange = files[i].first;
      inputs[i].path = files[i].second;
      inputs[i].parser = parsers[files[i].first].get();
      inputs[i].reader = std::make_unique<CaptureReader>(files[i].second);
      if (inputs[i].reader->next(inputs[i].record)) heap.push(&inputs[i]);
    }
    while (!heap.empty()) {
      Input* in = heap.top();
      heap.pop();
      events.clear();
      ++frames_;
      if (in->parser->parse(in->record.frame, in->record.receive_ts_ns, events) == ParseOutcome::kError) ++rejected_;
      for (const FeedEvent& e : events) {
        if (e.type != FeedEventType::kTrade) continue;
        Trade t = e.trade;
        t.exchange_ts_ns += shift_ns;
        t.receive_ts_ns += shift_ns;
        t.trade_id += static_cast<std::uint64_t>(pass) * kPassIdOffset;
        if (options.transform) options.transform(t, pass);
        builder.advance_clock(t.receive_ts_ns);
        builder.on_trade(t);
        ++trades_;
      }
      if (in->reader->next(in->record)) heap.push(in);
    }
  }
  builder.flush();
  std::stable_sort(bars_.begin(), bars_.end(), visible_before);
}

bool CaptureBarSource::next(Bar& out) {
  if (next_ >= bars_.size()) return false;
  out = bars_[next_++];
  return true;
}

}  // namespace tickflow
