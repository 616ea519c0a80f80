// strategy/merged_bar_source.h
//
// MergedBarSource: several BarSources as one stream in BarSource order
// (visible time, then market id), e.g. CSV files, or a backtest's 1 s
// markets from aggr_1s and its 1 m markets from aggr_1m. Each input keeps
// its own promises; the merge only interleaves them, so a market must come
// from one input.
//
// Promises: one head bar per input in memory; progress is the inputs' mean.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "strategy/bar_source.h"

namespace tickflow {

class MergedBarSource final : public BarSource {
 public:
  explicit MergedBarSource(std::vector<std::unique_ptr<BarSource>> sources) : sources_(std::move(sources)) {
    heads_.resize(sources_.size());
    live_.resize(sources_.size());
    for (std::size_t i = 0; i < sources_.size(); ++i) live_[i] = sources_[i]->next(heads_[i]);
  }
  bool next(Bar& out) override {
    std::size_t best = SIZE_MAX;
    for (std::size_t i = 0; i < sources_.size(); ++i)
      if (live_[i] && (best == SIZE_MAX || visible_before(heads_[i], heads_[best]))) best = i;
    if (best == SIZE_MAX) return false;
    out = heads_[best];
    live_[best] = sources_[best]->next(heads_[best]);
    return true;
  }
  double progress() const noexcept override {
    double sum = 0;
    for (const auto& s : sources_) sum += std::max(0.0, s->progress());
    return sources_.empty() ? 1 : sum / static_cast<double>(sources_.size());
  }

 private:
  std::vector<std::unique_ptr<BarSource>> sources_;
  std::vector<Bar> heads_;
  std::vector<char> live_;
};

}  // namespace tickflow
