// runtime/capture_bar_source.cc
#include "runtime/capture_bar_source.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "pipeline/bar_sink.h"
#include "runtime/capture_player.h"

namespace tickflow {
namespace {

// Keeps the newest emission of each (market, second): amendments replace,
// as InfluxDB's same-timestamp overwrite does.
class LatestBars final : public BarSink {
 public:
  explicit LatestBars(std::vector<Bar>& out) : out_(out) {}
  void on_bar(const Bar& bar) override {
    if (bar.timeframe_s != 1) return;
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
  CaptureStream stream(captures, registry, options);
  LatestBars sink(bars_);
  CapturePlayerOptions player_options;
  AggregatorOptions& agg = player_options.aggregator;
  agg.max_markets = options.max_markets;
  agg.lateness_ns = options.lateness_ns;
  agg.quiet_close_delay_ns = options.quiet_close_delay_ns;
  agg.amend_horizon_ns = options.amend_horizon_ns;
  agg.rollups = {};        // the strategy engine rolls up its own timeframes
  agg.flow_stats = false;  // and computes its own statistics from the bars
  agg.wait.kind = WaitKind::kPark;
  CapturePlayer player(registry, stream.inputs(), sink, player_options);
  player.start();
  CaptureFrame frame;
  while (stream.next(frame))
    if (!player.publish(frame.input, frame.events, frame.receive_ns)) break;
  if (const std::string error = player.finish(); !error.empty()) throw std::runtime_error("capture bars: " + error);
  period_s_ = stream.period_s();  // known once the first pass is read
  frames_ = stream.frames();
  trades_ = stream.trades();
  rejected_ = stream.rejected_frames();
  std::stable_sort(bars_.begin(), bars_.end(), visible_before);
  reader_ = BarSpanSource(bars_);
}

}  // namespace tickflow
