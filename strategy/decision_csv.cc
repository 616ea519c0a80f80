// strategy/decision_csv.cc
#include "strategy/decision_csv.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "pipeline/timeframe.h"

namespace tickflow {
namespace {

std::string tf_name(std::uint32_t s) { return std::string(Timeframe::from_seconds(s).name()); }

const char* action_name(Decision::Action a) noexcept {
  switch (a) {
    case Decision::kLong: return "LONG";
    case Decision::kShort: return "SHORT";
    case Decision::kClose: return "CLOSE";
    default: return "";
  }
}

const char* blocked_name(Decision::Blocked b) noexcept {
  switch (b) {
    case Decision::kInPosition: return "in_position";
    case Decision::kCooldown: return "cooldown";
    case Decision::kRateLimit: return "rate_limit";
    default: return "";
  }
}

void put_sv(std::FILE* f, std::string_view s) noexcept { std::fwrite(s.data(), 1, s.size(), f); }

}  // namespace

DecisionCsv::DecisionCsv(const std::filesystem::path& path, const SqueezeFlowParams& params)
    : path_(path), params_(params) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw std::runtime_error("strategy debug CSV " + path.string() + ": " + std::strerror(errno));
  std::string h = "time_s,symbol,price,spot_cvd,perp_cvd,divergence,bias,spot_led,exit_bias";
  for (std::size_t i = 0; i < params_.context_timeframes.count; ++i) {
    const std::string p = "ctx_" + tf_name(params_.context_timeframes[i]) + "_";
    h += "," + p + "momentum," + p + "spot_momentum," + p + "perp_momentum," + p + "mean_d," + p + "dominance," + p +
         "bias";
  }
  h += ",setup,divergence_tf";
  for (std::size_t i = 0; i < params_.divergence_timeframes.count; ++i) {
    const std::string p = "div_" + tf_name(params_.divergence_timeframes[i]) + "_";
    h += "," + p + "price_move," + p + "price_state," + p + "z_spot," + p + "z_perp," + p + "pattern," + p +
         "significance_z," + p + "setup";
  }
  h += ",reset_detected";
  for (std::size_t i = 0; i < params_.reset_timeframes.count; ++i) {
    const std::string p = "reset_" + tf_name(params_.reset_timeframes[i]) + "_";
    h += "," + p + "rate," + p + "strength," + p + "type," + p + "reset";
  }
  h += ",score_reset,score_absorption,score_failed_breakdown,score_bias,score_total,tier,size_factor,leverage,"
       "action,direction,exit,blocked\n";
  put_sv(file_, h);
}

DecisionCsv::~DecisionCsv() {
  if (file_) std::fclose(file_);
}

void DecisionCsv::write(std::string_view symbol, const Decision& d) noexcept {
  if (!file_) return;
  std::FILE* f = file_;
  int ok = std::fprintf(f, "%lld,", static_cast<long long>(d.time_s));
  put_sv(f, symbol);
  ok |= std::fprintf(f, ",%.10g,%.10g,%.10g,%.10g,", d.price, d.spot_cvd, d.perp_cvd, d.divergence_value);
  put_sv(f, to_string(d.context.bias));
  ok |= std::fprintf(f, ",%d,", d.context.spot_led ? 1 : 0);
  put_sv(f, to_string(d.exit_bias));
  for (std::size_t i = 0; i < params_.context_timeframes.count; ++i) {
    const ContextReading& r = d.context.per_timeframe[i];
    std::fprintf(f, ",%.10g,%.10g,%.10g,%.10g,%.10g,", r.momentum, r.spot_momentum, r.perp_momentum, r.mean_d,
                 r.dominance);
    put_sv(f, to_string(r.bias));
  }
  std::fputc(',', f);
  put_sv(f, to_string(d.divergence.setup));
  std::fprintf(f, ",%d", d.divergence.timeframe_index);
  for (std::size_t i = 0; i < params_.divergence_timeframes.count; ++i) {
    const DivergenceReading& r = d.divergence.per_timeframe[i];
    std::fprintf(f, ",%.10g,", r.price_move);
    put_sv(f, to_string(r.price));
    std::fprintf(f, ",%.10g,%.10g,", r.z_spot, r.z_perp);
    put_sv(f, to_string(r.pattern));
    std::fprintf(f, ",%.10g,", r.significance_z);
    put_sv(f, to_string(r.setup));
  }
  std::fprintf(f, ",%d", d.reset.reset_detected ? 1 : 0);
  for (std::size_t i = 0; i < params_.reset_timeframes.count; ++i) {
    const ResetReading& r = d.reset.per_timeframe[i];
    std::fprintf(f, ",%.10g,%.10g,%s,%d", r.rate, r.strength, r.type_a ? "A" : (r.type_b ? "B" : ""), r.reset ? 1 : 0);
  }
  std::fprintf(f, ",%.10g,%.10g,%.10g,%.10g,%.10g,", d.score.reset, d.score.absorption, d.score.failed_breakdown,
               d.score.bias, d.score.total);
  put_sv(f, to_string(d.sizing.tier));
  std::fprintf(f, ",%.10g,%.10g,%s,", d.sizing.size_factor, d.sizing.leverage, action_name(d.action));
  put_sv(f, to_string(d.direction));
  std::fputc(',', f);
  if (d.exit != ExitReason::kNone) put_sv(f, to_string(d.exit));
  const int last = std::fprintf(f, ",%s\n", blocked_name(d.blocked));
  if (ok < 0 || last < 0) failed_ = true;
  ++rows_;
}

void DecisionCsv::close() {
  if (!file_) return;
  const bool flush_failed = std::fclose(file_) != 0;
  file_ = nullptr;
  if (failed_ || flush_failed) throw std::runtime_error("strategy debug CSV " + path_.string() + ": write failed");
}

}  // namespace tickflow
