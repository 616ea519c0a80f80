#include "feeds/market_resolver.h"

#include <cctype>
#include <stdexcept>

#include "feeds/instruments.h"

namespace tickflow {

void MarketResolver::set_allowlist(const std::vector<std::string>& pairs) {
  allowed_.clear();
  for (const auto& pair : pairs) allowed_.emplace(pair, ResolvedMarket{});
  by_symbol_.clear();
  last_ = nullptr;
}

bool MarketResolver::intern(std::string_view pair, InstrumentKind default_kind, double default_contract_size,
                            ResolvedMarket& resolved) {
  MarketSpec spec;
  spec.name = exchange_ + ":" + std::string(pair);
  if (const InstrumentSpec* shipped = find_shipped_instrument(exchange_, pair)) {
    spec.kind = shipped->kind;
    spec.contract_size = shipped->contract_size;
    spec.base = shipped->base;
    spec.quote = shipped->quote;
  } else {
    spec.kind = default_kind;
    spec.contract_size = default_contract_size;
  }
  try {
    try {
      resolved.id = registry_.add(spec);
    } catch (const std::invalid_argument&) {
      // The registry already holds this market with other terms (from
      // config). Its metadata wins: intern by name only.
      resolved.id = registry_.intern(spec.name);
    }
  } catch (const std::length_error&) {
    return false;  // kMaxMarkets reached: a counted miss, never an abort
  }
  const MarketInfo& info = registry_.info(resolved.id);
  resolved.kind = info.kind;
  resolved.contract_size = info.contract_size;
  return true;
}

const ResolvedMarket* MarketResolver::resolve(std::string_view symbol, PairCase pair_case, InstrumentKind default_kind,
                                              double default_contract_size) {
  if (last_ != nullptr && symbol == last_symbol_) [[likely]]
    return last_;
  if (auto it = by_symbol_.find(symbol); it != by_symbol_.end()) {
    last_symbol_.assign(symbol);
    last_ = &it->second;
    return last_;
  }
  if (symbol.empty() || symbol.size() > kMaxSymbol) return miss(ResolveMiss::kInvalid);

  // Normalised into a fixed buffer: a refused symbol costs no allocation.
  char buffer[kMaxSymbol];
  for (std::size_t i = 0; i < symbol.size(); ++i) {
    const auto u = static_cast<unsigned char>(symbol[i]);
    if (u < 0x21 || u > 0x7e || u == ':') return miss(ResolveMiss::kInvalid);  // printable ASCII, no separator
    char c = symbol[i];
    if (pair_case == PairCase::kLower) c = static_cast<char>(std::tolower(u));
    if (pair_case == PairCase::kUpper) c = static_cast<char>(std::toupper(u));
    buffer[i] = c;
  }
  const std::string_view pair(buffer, symbol.size());
  // InfluxDB cannot store a tag value ending in a backslash (valid_market_name()).
  if (pair.back() == '\\') return miss(ResolveMiss::kInvalid);

  ResolvedMarket* entry = nullptr;
  ResolvedMarket resolved;
  if (restricted()) {
    const auto allowed = allowed_.find(pair);
    if (allowed == allowed_.end()) {
      ++unconfigured_;
      return miss(ResolveMiss::kUnconfigured);
    }
    entry = &allowed->second;
    if (entry->id == kInvalidMarket && !intern(pair, default_kind, default_contract_size, *entry)) {
      ++full_;
      return miss(ResolveMiss::kFull);
    }
    // Other spellings of an allowed pair ("BTCUSDT" and "btcusdt") are
    // cached too, but only a few per pair: a feed cycling through case
    // variants must not grow the map.
    if (by_symbol_.size() >= 4 * allowed_.size()) {
      last_symbol_.assign(symbol);
      last_ = entry;
      return last_;
    }
    resolved = *entry;
  } else if (!intern(pair, default_kind, default_contract_size, resolved)) {
    ++full_;
    return miss(ResolveMiss::kFull);
  }

  auto [it, inserted] = by_symbol_.emplace(std::string(symbol), resolved);
  last_symbol_.assign(symbol);
  last_ = &it->second;
  return last_;
}

}  // namespace tickflow
