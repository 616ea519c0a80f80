// strategy/decision_csv.h
//
// DecisionCsv: the strategy's debug mode. For one chosen symbol, every
// evaluation's intermediate values go to a CSV file, one row per step, so a
// decision (or a missing one) can be traced to the phase and the number
// that made it: Phase 1 bias and momentum per context timeframe, Phase 2
// readings per divergence timeframe (price state, z-scores, significance,
// setup), Phase 3 per reset timeframe, the score's components, sizing, the
// action and why an entry was blocked.
//
// Promises:
//  * the header names every column, and each row has the same count;
//  * numbers are written with "%.10g" (C locale): identical input, identical file;
//  * write() never allocates (stdio's buffer; it is flushed by close() or
//    the destructor) and never throws; a write error is remembered and
//    reported by close().
// Threads: one (the engine's).
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

#include "strategy/squeezeflow.h"
#include "strategy/strategy_params.h"

namespace tickflow {

class DecisionCsv {
 public:
  // Opens (truncates) `path`, creating parent folders, and writes the header.
  // Throws std::runtime_error naming the path.
  DecisionCsv(const std::filesystem::path& path, const SqueezeFlowParams& params);
  ~DecisionCsv();
  DecisionCsv(const DecisionCsv&) = delete;
  DecisionCsv& operator=(const DecisionCsv&) = delete;

  void write(std::string_view symbol, const Decision& d) noexcept;
  // Flushes and closes; throws std::runtime_error naming the path if any write failed.
  void close();
  std::uint64_t rows() const noexcept { return rows_; }

 private:
  std::filesystem::path path_;
  SqueezeFlowParams params_;
  std::FILE* file_ = nullptr;
  std::uint64_t rows_ = 0;
  bool failed_ = false;
};

}  // namespace tickflow
