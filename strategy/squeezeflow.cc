// strategy/squeezeflow.cc
#include "strategy/squeezeflow.h"

#include <algorithm>
#include <cmath>

namespace tickflow {
namespace {

// "5m", "1h", "4h" for reasoning text, without Timeframe's allocation.
void append_timeframe(FixedText<248>& t, std::uint32_t s) {
  if (s % 3600 == 0)
    t.integer(s / 3600) << "h";
  else if (s % 60 == 0)
    t.integer(s / 60) << "m";
  else
    t.integer(s) << "s";
}

}  // namespace

SqueezeFlow::SqueezeFlow(const SqueezeFlowParams& params) : params_(params) {
  params_.validate();
  std::vector<std::uint32_t> tfs;
  const auto want = [&](std::uint32_t tf) {
    if (std::find(tfs.begin(), tfs.end(), tf) == tfs.end()) tfs.push_back(tf);
  };
  want(params_.analysis_timeframe_s);
  want(params_.exit_bias_timeframe_s);
  for (const TimeframeList* list :
       {&params_.context_timeframes, &params_.divergence_timeframes, &params_.reset_timeframes})
    for (std::size_t i = 0; i < list->count; ++i) want((*list)[i]);
  std::sort(tfs.begin(), tfs.end());
  series_.reserve(tfs.size());
  for (std::uint32_t tf : tfs) series_.emplace_back(tf, params_.history_bars);

  analysis_ = index_of(params_.analysis_timeframe_s);
  exit_bias_ = index_of(params_.exit_bias_timeframe_s);
  for (std::size_t i = 0; i < params_.context_timeframes.count; ++i) {
    context_[i] = index_of(params_.context_timeframes[i]);
    if (context_[i] == exit_bias_) exit_bias_context_ = static_cast<int>(i);
  }
  for (std::size_t i = 0; i < params_.divergence_timeframes.count; ++i)
    divergence_[i] = index_of(params_.divergence_timeframes[i]);
  for (std::size_t i = 0; i < params_.reset_timeframes.count; ++i) {
    reset_[i] = index_of(params_.reset_timeframes[i]);
    if (reset_[i] == analysis_) analysis_reset_ = static_cast<int>(i);
  }
}

std::size_t SqueezeFlow::index_of(std::uint32_t timeframe_s) const noexcept {
  for (std::size_t i = 0; i < series_.size(); ++i)
    if (series_[i].timeframe_s() == timeframe_s) return i;
  return series_.size();
}

TimeframeSeries* SqueezeFlow::series(std::uint32_t timeframe_s) noexcept {
  const std::size_t i = index_of(timeframe_s);
  return i < series_.size() ? &series_[i] : nullptr;
}

const TimeframeSeries* SqueezeFlow::series(std::uint32_t timeframe_s) const noexcept {
  const std::size_t i = index_of(timeframe_s);
  return i < series_.size() ? &series_[i] : nullptr;
}

void SqueezeFlow::on_bar(const Bar& bar, MarketClass side) noexcept {
  if (TimeframeSeries* s = series(bar.timeframe_s)) s->add(bar, side);
}

void SqueezeFlow::on_closed(std::int64_t closed_until_s) noexcept {
  for (TimeframeSeries& s : series_) s.close_until(closed_until_s);
}

bool SqueezeFlow::rate_limited(std::int64_t now_s) const noexcept {
  const std::size_t limit = params_.max_signals_per_hour;
  if (entry_count_ < limit) return false;
  // The limit-th newest entry: if it is less than an hour old, so are all
  // the newer ones, and one more would exceed the limit.
  const std::int64_t t = entries_[(entry_count_ - limit) % entries_.size()];
  return now_s - t < 3600;
}

const Decision& SqueezeFlow::evaluate(std::int64_t now_s, double oi_change) noexcept {
  Decision& d = decision_;
  d.time_s = now_s;
  d.action = Decision::kNone;
  d.blocked = Decision::kNotBlocked;
  d.exit = ExitReason::kNone;
  d.score = {};
  d.sizing = {};
  d.reasoning.clear();

  // Phase 1.
  std::array<ContextReading, kMaxStrategyTimeframes> ctx{};
  for (std::size_t i = 0; i < params_.context_timeframes.count; ++i)
    ctx[i] = read_context(series_[context_[i]], params_);
  d.context = combine_context(ctx.data(), params_.context_timeframes.count);
  d.exit_bias = exit_bias_context_ >= 0 ? ctx[static_cast<std::size_t>(exit_bias_context_)].bias
                                        : read_context(series_[exit_bias_], params_).bias;

  // Phase 2.
  std::array<DivergenceReading, kMaxStrategyTimeframes> div{};
  for (std::size_t i = 0; i < params_.divergence_timeframes.count; ++i)
    div[i] = read_divergence(series_[divergence_[i]], params_);
  d.divergence = combine_divergence(div.data(), params_.divergence_timeframes.count);

  // Direction: the setup's, else a non-neutral bias, else none.
  d.direction = direction_of(d.divergence.setup);
  if (d.direction == Direction::kNone) d.direction = direction_of(d.context.bias);

  // Phase 3.
  d.reset.reset_detected = false;
  for (std::size_t i = 0; i < params_.reset_timeframes.count; ++i) {
    d.reset.per_timeframe[i] = read_reset(series_[reset_[i]], d.direction, params_);
    d.reset.reset_detected |= d.reset.per_timeframe[i].reset;
  }
  const TimeframeSeries& a = series_[analysis_];
  const ResetReading analysis_reset = analysis_reset_ >= 0
                                          ? d.reset.per_timeframe[static_cast<std::size_t>(analysis_reset_)]
                                          : read_reset(a, d.direction, params_);

  if (a.size() == 0) return d;
  d.price = a.close(0);
  d.spot_cvd = a.cs(0);
  d.perp_cvd = a.cf(0);
  d.divergence_value = d.spot_cvd - d.perp_cvd;

  // Phase 5 first: with a position open, only its exits matter.
  if (in_position()) {
    d.exit = check_exits(a, position_, d.exit_bias, params_);
    if (d.exit != ExitReason::kNone) {
      d.action = Decision::kClose;
      d.direction = position_.direction;
      cooldown_until_s_ = now_s + params_.cooldown_s;
      describe(d);
      position_ = {};
    }
    return d;
  }

  // Phase 4: only behind the gate.
  if (!d.divergence.has_divergence) return d;
  ScoreInputs in;
  in.direction = d.direction;
  in.reset = analysis_reset;
  in.reset_detected = d.reset.reset_detected;
  in.bias = d.context.bias;
  in.oi_change = oi_change;
  d.score = compute_score(a, in, params_);
  d.sizing = sizing_for(d.score.total);
  if (d.score.total < params_.min_entry_score || d.sizing.tier == Tier::kNone) return d;
  if (now_s < cooldown_until_s_) {
    d.blocked = Decision::kCooldown;
    return d;
  }
  if (rate_limited(now_s)) {
    d.blocked = Decision::kRateLimit;
    return d;
  }

  d.action = d.direction == Direction::kLong ? Decision::kLong : Decision::kShort;
  entries_[entry_count_ % entries_.size()] = now_s;
  ++entry_count_;
  position_.direction = d.direction;
  position_.entry_time_s = now_s;
  position_.entry_price = d.price;
  position_.entry_cum_ds = a.back(0).cum_ds;
  position_.entry_cum_df = a.back(0).cum_df;
  position_.reset_low = analysis_reset.valid ? analysis_reset.window_low : a.back(0).low;
  position_.reset_high = analysis_reset.valid ? analysis_reset.window_high : a.back(0).high;
  position_.score = d.score.total;
  describe(d);
  return d;
}

void SqueezeFlow::describe(Decision& d) const noexcept {
  auto& t = d.reasoning;
  t.clear();
  if (d.action == Decision::kClose) {
    t << "P5 exit " << to_string(d.exit) << " " << to_string(d.direction) << " from ";
    t.number(position_.entry_price, 2) << " at ";
    t.number(d.price, 2) << "; held ";
    t.integer(d.time_s - position_.entry_time_s) << "s";
    return;
  }
  t << "P1 " << to_string(d.context.bias);
  if (d.context.spot_led) t << " spot-led";
  t << "; P2 ";
  if (d.divergence.has_divergence) {
    const auto i = static_cast<std::size_t>(d.divergence.timeframe_index);
    const DivergenceReading& r = d.divergence.per_timeframe[i];
    append_timeframe(t, params_.divergence_timeframes[i]);
    t << " " << to_string(r.setup) << " " << to_string(r.price) << " zs=";
    t.number(r.z_spot) << " zf=";
    t.number(r.z_perp) << " sig=";
    t.number(r.significance_z);
  } else {
    t << "no divergence";
  }
  t << "; P3";
  bool any = false;
  for (std::size_t i = 0; i < params_.reset_timeframes.count; ++i) {
    const ResetReading& r = d.reset.per_timeframe[i];
    if (!r.reset) continue;
    any = true;
    t << " ";
    append_timeframe(t, params_.reset_timeframes[i]);
    t << (r.type_a ? (r.converging ? " A:conv " : " A:exh ") : " B ");
    t.number(r.strength);
  }
  if (!any) t << " no reset";
  const ScoreBreakdown& s = d.score;
  t << "; P4 ";
  t.number(s.total) << "=reset ";
  t.number(s.reset) << "+abs ";
  t.number(s.absorption) << "+fb ";
  t.number(s.failed_breakdown) << "+bias ";
  t.number(s.bias);
  if (s.flags & kScoreResetBoost) t << " x1.2";
  if (s.flags & kScoreClamped) t << " clamped";
  if (s.flags & kScoreOpenInterest) t << " oi";
  t << " " << to_string(d.sizing.tier);
  if (d.blocked == Decision::kCooldown) t << " (cooldown)";
  if (d.blocked == Decision::kRateLimit) t << " (rate limit)";
}

Signal SqueezeFlow::make_signal(const Decision& d, std::string_view symbol,
                                std::string_view base_symbol) const noexcept {
  Signal s;
  s.timestamp_s = d.time_s;
  s.action = d.action == Decision::kLong    ? SignalAction::kLong
             : d.action == Decision::kShort ? SignalAction::kShort
                                            : SignalAction::kClose;
  copy_text(s.symbol, symbol);
  copy_text(s.base_symbol, base_symbol);
  s.signal_id = signal_uuid(s.symbol, d.time_s, s.action);
  s.score = d.score.total;
  s.confidence = d.sizing.confidence;
  s.position_size_factor = d.sizing.size_factor;
  s.leverage = d.sizing.leverage;
  s.entry_price = d.price;
  s.ttl_s = params_.signal_ttl_s;
  s.spot_cvd = d.spot_cvd;
  s.perp_cvd = d.perp_cvd;
  s.divergence = d.divergence_value;
  copy_text(s.reasoning, d.reasoning.view());
  return s;
}

}  // namespace tickflow
