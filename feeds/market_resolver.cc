#include "feeds/market_resolver.h"

#include <cctype>
#include <stdexcept>

#include "feeds/instruments.h"

namespace tickflow {

const ResolvedMarket* MarketResolver::resolve(std::string_view symbol, PairCase pair_case, InstrumentKind default_kind,
                                              double default_contract_size) {
  if (last_ != nullptr && symbol == last_symbol_) [[likely]]
    return last_;
  if (auto it = by_symbol_.find(symbol); it != by_symbol_.end()) {
    last_symbol_.assign(symbol);
    last_ = &it->second;
    return last_;
  }
  if (symbol.empty() || symbol.size() > 64) return nullptr;

  std::string pair(symbol);
  for (char& c : pair) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == ':') return nullptr;  // printable ASCII only, no separator
    if (pair_case == PairCase::kLower) c = static_cast<char>(std::tolower(u));
    if (pair_case == PairCase::kUpper) c = static_cast<char>(std::toupper(u));
  }

  MarketSpec spec;
  spec.name = exchange_ + ":" + pair;
  if (const InstrumentSpec* shipped = find_shipped_instrument(exchange_, pair)) {
    spec.kind = shipped->kind;
    spec.contract_size = shipped->contract_size;
    spec.base = shipped->base;
    spec.quote = shipped->quote;
  } else {
    spec.kind = default_kind;
    spec.contract_size = default_contract_size;
  }

  ResolvedMarket resolved;
  try {
    resolved.id = registry_.add(spec);
  } catch (const std::invalid_argument&) {
    // The registry already holds this market with other terms (from config).
    // Its metadata wins: intern by name only.
    resolved.id = registry_.intern(spec.name);
  }
  const MarketInfo& info = registry_.info(resolved.id);
  resolved.kind = info.kind;
  resolved.contract_size = info.contract_size;

  auto [it, inserted] = by_symbol_.emplace(std::string(symbol), resolved);
  last_symbol_.assign(symbol);
  last_ = &it->second;
  return last_;
}

}  // namespace tickflow
