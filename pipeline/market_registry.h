// pipeline/market_registry.h
//
// MarketRegistry: interns aggr-server market names ("EXCHANGE:pair") to dense
// MarketIds and holds each market's metadata: instrument kind, contract size,
// base and quote asset, spot/perp class.
//
// Threads: add(), intern() and find() take a mutex, so several feed threads
// (each parser interning the markets it meets, on first sight only: the
// resolvers cache ids) may share one registry. info(id) takes no lock: a
// market's entry never moves (fixed chunks, not a growing array), and its
// id, name, exchange and pair never change after add() returns. A thread
// that learned `id` through a synchronizing edge (a ring's release/acquire)
// may read those fields; the metadata fields (kind, contract size, base,
// quote, class) may still be filled in by a later add() and are read by the
// adding thread, or once the feeds are stopped. Hot paths hold MarketIds,
// never names.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
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

// Whether `name` can be a market: "EXCHANGE:pair" with both parts
// non-empty, printable ASCII only (0x20..0x7e: no control character can
// reach a log line or break a line-protocol point), and not ending in a
// backslash, which InfluxDB's line protocol cannot carry at the end of a tag
// value (the backslash escapes the delimiter after it; influxdata/influxdb
// #5231, #6154). Every other character is escaped by escape_tag_value().
bool valid_market_name(std::string_view name) noexcept;

class MarketRegistry {
 public:
  // Interns `spec.name` and returns its id. Adding a name twice returns the
  // existing id; metadata given the second time fills in fields that were
  // unknown and must agree with fields that were known.
  // Throws std::invalid_argument for a malformed name (!valid_market_name())
  // or conflicting metadata: this is configuration time.
  MarketId add(const MarketSpec& spec);

  // Shorthand for add({name}): spot markets get kind kSpot and contract size 1,
  // derivatives stay kUnknown until an instruments table says otherwise.
  MarketId intern(std::string_view name);

  std::optional<MarketId> find(std::string_view name) const noexcept;

  // Precondition: id < size(). References stay valid for the registry's life.
  const MarketInfo& info(MarketId id) const noexcept { return chunks_[id / kChunk][id % kChunk]; }
  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

  // At most this many markets (ids 0 .. kMaxMarkets - 1).
  static constexpr std::size_t kChunk = 256;
  static constexpr std::size_t kMaxMarkets = kChunk * 256;

  MarketRegistry() = default;
  MarketRegistry(const MarketRegistry&) = delete;
  MarketRegistry& operator=(const MarketRegistry&) = delete;

  // Overrides consulted before the name patterns (squeezeflow's "explicit list first").
  void set_class_overrides(std::unordered_map<std::string, MarketClass> overrides);

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  MarketId add_locked(const MarketSpec& spec);
  MarketInfo& slot(MarketId id) noexcept { return chunks_[id / kChunk][id % kChunk]; }

  // Entries live in fixed chunks that are allocated once and never move, so
  // info() may index them while another thread adds (a deque's block map is
  // reallocated as it grows).
  std::array<std::unique_ptr<MarketInfo[]>, kMaxMarkets / kChunk> chunks_{};
  std::atomic<std::size_t> size_{0};
  mutable std::mutex mutex_;
  std::unordered_map<std::string, MarketId, StringHash, std::equal_to<>> by_name_;
  std::unordered_map<std::string, MarketClass> class_overrides_;
};

}  // namespace tickflow
