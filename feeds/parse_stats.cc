#include "feeds/parse_stats.h"

#include <numeric>

namespace tickflow {

std::string_view to_string(SkipKind kind) noexcept {
  switch (kind) {
    case SkipKind::kControl: return "control";
    case SkipKind::kBook: return "book";
    case SkipKind::kOtherChannel: return "other_channel";
    case SkipKind::kSnapshot: return "snapshot";
    case SkipKind::kFiltered: return "filtered";
    case SkipKind::kUnconfigured: return "unconfigured";
    case SkipKind::kCount: break;
  }
  return "?";
}

std::string_view to_string(ParseError error) noexcept {
  switch (error) {
    case ParseError::kTruncated: return "truncated";
    case ParseError::kBadType: return "bad_type";
    case ParseError::kMissingField: return "missing_field";
    case ParseError::kBadValue: return "bad_value";
    case ParseError::kUnknownMarket: return "unknown_market";
    case ParseError::kUnknownChannel: return "unknown_channel";
    case ParseError::kUnknownInstrument: return "unknown_instrument";
    case ParseError::kOversize: return "oversize";
    case ParseError::kOverflow: return "overflow";
    case ParseError::kDecompress: return "decompress";
    case ParseError::kCount: break;
  }
  return "?";
}

std::uint64_t ParseStats::total_skipped() const noexcept {
  return std::accumulate(skipped.begin(), skipped.end(), std::uint64_t{0});
}
std::uint64_t ParseStats::total_errors() const noexcept {
  return std::accumulate(errors.begin(), errors.end(), std::uint64_t{0});
}

ParseStats& ParseStats::operator+=(const ParseStats& o) noexcept {
  frames += o.frames;
  trades += o.trades;
  liquidations += o.liquidations;
  quotes += o.quotes;
  for (std::size_t i = 0; i < skipped.size(); ++i) skipped[i] += o.skipped[i];
  for (std::size_t i = 0; i < errors.size(); ++i) errors[i] += o.errors[i];
  return *this;
}

}  // namespace tickflow
