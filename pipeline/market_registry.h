// pipeline/market_registry.h
//
// MarketRegistry: interns aggr-server market names ("EXCHANGE:pair") to dense
// MarketIds and holds each market's metadata: instrument kind, contract size,
// base and quote asset, spot/perp class.
//
// Lifecycle: markets are added at subscription (or replay set-up) time, before
// the pipeline threads start; after that the registry is read-only and may be
// shared by every thread without locks. Adding a market while another thread
// reads is a data race. Hot paths hold MarketIds, never names.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pipeline/market_class.h"
#include "pipeline/market_id.h"

namespace tickflow {

enum class InstrumentKind : std::uint8_t {
  kUnknown = 0,  // contract terms not known: trades cannot be converted, never guessed
  kSpot,         // qty is base
  kLinear,       // qty = contracts * contract_size (base per contract)
  kInverse,      // qty = contracts * contract_size (quote per contract) / price
  kQuanto,       // settled in a third currency; BitMEX sends homeNotional (base) directly
};

std::string_view to_string(InstrumentKind kind) noexcept;
std::optional<InstrumentKind> parse_instrument_kind(std::string_view name) noexcept;

// What is known about a market when it is added.
struct MarketSpec {
  std::string name;  // "EXCHANGE:pair", required
  InstrumentKind kind = InstrumentKind::kUnknown;
  // Base units per contract for linear, quote units per contract for inverse,
  // 1 for spot. 0 means unknown.
  double contract_size = 0;
  std::string base;   // "BTC"; inferred from the pair when empty
  std::string quote;  // "USDT"; inferred from the pair when empty
};

struct MarketInfo {
  MarketId id = kInvalidMarket;
  std::string name;      // "BINANCE_FUTURES:btcusdt"
  std::string exchange;  // "BINANCE_FUTURES"
  std::string pair;      // "btcusdt", as the exchange spells it in aggr-server names
  InstrumentKind kind = InstrumentKind::kUnknown;
  double contract_size = 0;
  std::string base;   // upper case, "BTC" ("XBT" normalised to "BTC"); empty if unknown
  std::string quote;  // upper case, "USDT"; empty if unknown
  MarketClass market_class = MarketClass::kSpot;
};

// Best-effort split of an exchange pair into base and quote, by known quote
// suffixes and separators ("btcusdt" -> BTC/USDT, "BTC-USD-SWAP" -> BTC/USD,
// "PI_XBTUSD" -> BTC/USD, "tBTCUSD" -> BTC/USD). Returns false if unsure.
bool infer_base_quote(std::string_view pair, std::string& base, std::string& quote);

class MarketRegistry {
 public:
  // Interns `spec.name` and returns its id. Adding a name twice returns the
  // existing id; metadata given the second time fills in fields that were
  // unknown and must agree with fields that were known.
  // Throws std::invalid_argument for a malformed name ("EXCHANGE:pair" with
  // both parts non-empty) or conflicting metadata: this is configuration time.
  MarketId add(const MarketSpec& spec);

  // Shorthand for add({name}): spot markets get kind kSpot and contract size 1,
  // derivatives stay kUnknown until an instruments table says otherwise.
  MarketId intern(std::string_view name);

  std::optional<MarketId> find(std::string_view name) const noexcept;

  // Precondition: id < size(). References stay valid for the registry's life.
  const MarketInfo& info(MarketId id) const noexcept { return markets_[id]; }
  std::size_t size() const noexcept { return markets_.size(); }

  // Overrides consulted before the name patterns (squeezeflow's "explicit list first").
  void set_class_overrides(std::unordered_map<std::string, MarketClass> overrides);

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::deque<MarketInfo> markets_;  // deque: info() references survive later adds
  std::unordered_map<std::string, MarketId, StringHash, std::equal_to<>> by_name_;
  std::unordered_map<std::string, MarketClass> class_overrides_;
};

}  // namespace tickflow
