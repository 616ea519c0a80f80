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
//
// Allowlist (live feeds): set_allowlist() limits the markets to the pairs a
// connection subscribed. A symbol outside it is counted as unconfigured and
// resolves to nullptr without allocating and without touching the registry
// (the pair is normalised into a fixed buffer and looked up by view), so a
// feed naming any number of distinct symbols cannot grow the process. Raw
// spellings cached per allowed pair are capped for the same reason. Without
// an allowlist (replay, captures) any valid symbol becomes a market.
//
// A full registry (MarketRegistry::kMaxMarkets) is survived, not thrown
// through: resolve() returns nullptr and counts it as full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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

// Why the last resolve() returned nullptr.
enum class ResolveMiss : std::uint8_t {
  kNone = 0,
  kInvalid,       // not a valid pair: empty, too long, not printable ASCII, ':', a trailing backslash
  kUnconfigured,  // valid, but not in the allowlist
  kFull,          // the registry holds MarketRegistry::kMaxMarkets markets already
};

class MarketResolver {
 public:
  // `exchange` is the aggr-server exchange id used in names ("BINANCE_FUTURES").
  MarketResolver(std::string exchange, MarketRegistry& registry) : exchange_(std::move(exchange)), registry_(registry) {
    last_symbol_.reserve(kMaxSymbol);  // assign() on a hit never allocates
  }

  // Restricts resolve() to these pairs, spelled as they appear in market
  // names (after the parser's PairCase: "btcusdt" for Binance, Bybit spot's
  // "BTCUSDT-SPOT"). Configuration time; an empty list lifts the restriction.
  void set_allowlist(const std::vector<std::string>& pairs);
  bool restricted() const noexcept { return !allowed_.empty(); }

  // `default_kind`/`default_contract_size` are what the parser's API fixes for
  // this category (kSpot/1 for a spot feed, kLinear/1 for Binance USD-M);
  // the shipped table and the registry's own metadata override them. Pass
  // kUnknown/0 when the contract size must come from the table.
  // Returns nullptr when the symbol cannot form a valid market name, is not
  // allowed, or the registry is full; last_miss() says which.
  const ResolvedMarket* resolve(std::string_view symbol, PairCase pair_case, InstrumentKind default_kind,
                                double default_contract_size);

  const std::string& exchange() const noexcept { return exchange_; }
  MarketRegistry& registry() noexcept { return registry_; }
  ResolveMiss last_miss() const noexcept { return last_miss_; }
  std::uint64_t unconfigured() const noexcept { return unconfigured_; }  // resolve() calls refused by the allowlist
  std::uint64_t full() const noexcept { return full_; }                  // resolve() calls refused by a full registry

  static constexpr std::size_t kMaxSymbol = 64;  // longer symbols are invalid

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  std::string exchange_;
  MarketRegistry& registry_;
  // Interns `pair` (already normalised) with the terms the parser gives.
  // False when the registry is full.
  bool intern(std::string_view pair, InstrumentKind default_kind, double default_contract_size,
              ResolvedMarket& resolved);
  const ResolvedMarket* miss(ResolveMiss why) noexcept {
    last_miss_ = why;
    return nullptr;
  }

  std::unordered_map<std::string, ResolvedMarket, StringHash, std::equal_to<>> by_symbol_;
  // The allowlist by normalised pair; id kInvalidMarket until first seen.
  std::unordered_map<std::string, ResolvedMarket, StringHash, std::equal_to<>> allowed_;
  ResolveMiss last_miss_ = ResolveMiss::kNone;
  std::uint64_t unconfigured_ = 0;
  std::uint64_t full_ = 0;
  // Last hit: the symbol bytes (a copy) and its entry. Node-based map: the
  // pointer stays valid across rehashes.
  std::string last_symbol_;
  const ResolvedMarket* last_ = nullptr;
};

}  // namespace tickflow
