// runtime/capture_bar_source.cc
#include "runtime/capture_bar_source.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "pipeline/bar_builder.h"
#include "pipeline/bar_sink.h"
#include "runtime/capture_trade_stream.h"

namespace tickflow {
namespace {

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

}  // namespace

CaptureBarSource::CaptureBarSource(const std::vector<CaptureSpec>& captures, MarketRegistry& registry,
                                   const CaptureBarOptions& options) {
  CaptureTradeStream stream(captures, registry, options);
  LatestBars sink(bars_);
  BarBuilderConfig config;
  config.lateness_ns = options.lateness_ns;
  config.quiet_close_delay_ns = options.quiet_close_delay_ns;
  BarBuilder builder(config, sink);
  CaptureTradeFrame frame;
  while (stream.next(frame))
    for (const Trade& t : frame.trades) {
      builder.advance_clock(t.receive_ts_ns);
      builder.on_trade(t);
    }
  builder.flush();
  period_s_ = stream.period_s();  // known once the first pass is read
  frames_ = stream.frames();
  trades_ = stream.trades();
  rejected_ = stream.rejected_frames();
  std::stable_sort(bars_.begin(), bars_.end(), visible_before);
  reader_ = BarSpanSource(bars_);
}

}  // namespace tickflow
