// feeds/market_resolver.h
//
// MarketResolver: symbol bytes as a frame carries them ("BTCUSDT",
// "btcusdt@trade"'s "btcusdt", "XBT/USD") -> interned market id plus the
// contract terms a parser needs to convert quantities to base units.
//
// One per parser (per thread). The hot path is a compare against the last
// symbol resolved, then a hash lookup keyed by the raw bytes; only the first
// sight of a symbol builds the aggr-server name ("BINANCE:btcusdt"),
// consults the shipped instruments table and interns it in the registry.
// That first sight allocates; markets are few and long-lived, so the
// allocation happens once per market, as it would at subscription time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pipeline/market_registry.h"

namespace tickflow {

struct ResolvedMarket {
  MarketId id = kInvalidMarket;
  InstrumentKind kind = InstrumentKind::kUnknown;
  double contract_size = 0;  // 0: unknown

  // An exchange quantity (coins, or contracts) in base units. False when the
  // terms cannot convert it: kind unknown (or quanto), or an inverse
  // contract of unknown size. Never guesses a size (see instruments.h).
  bool to_base(double qty, double price, double& base) const noexcept {
    switch (kind) {
      case InstrumentKind::kSpot:
      case InstrumentKind::kLinear: base = qty * (contract_size > 0 ? contract_size : 1); return true;
      case InstrumentKind::kInverse:
        if (contract_size <= 0) return false;
        base = qty * contract_size / price;
        return true;
      default: return false;
    }
  }
};

// How a frame's symbol becomes the pair in the market name.
enum class PairCase : std::uint8_t { kAsIs, kLower, kUpper };

class MarketResolver {
 public:
  // `exchange` is the aggr-server exchange id used in names ("BINANCE_FUTURES").
  MarketResolver(std::string exchange, MarketRegistry& registry)
      : exchange_(std::move(exchange)), registry_(registry) {}

  // `default_kind`/`default_contract_size` are what the parser's API fixes for
  // this category (kSpot/1 for a spot feed, kLinear/1 for Binance USD-M);
  // the shipped table and the registry's own metadata override them. Pass
  // kUnknown/0 when the contract size must come from the table.
  // Returns nullptr only when the symbol cannot form a valid market name.
  const ResolvedMarket* resolve(std::string_view symbol, PairCase pair_case, InstrumentKind default_kind,
                                double default_contract_size);

  const std::string& exchange() const noexcept { return exchange_; }
  MarketRegistry& registry() noexcept { return registry_; }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  std::string exchange_;
  MarketRegistry& registry_;
  std::unordered_map<std::string, ResolvedMarket, StringHash, std::equal_to<>> by_symbol_;
  // Last hit: the symbol bytes (a copy) and its entry. Node-based map: the
  // pointer stays valid across rehashes.
  std::string last_symbol_;
  const ResolvedMarket* last_ = nullptr;
};

}  // namespace tickflow
