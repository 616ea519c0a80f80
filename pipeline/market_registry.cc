// pipeline/market_registry.cc
#include "pipeline/market_registry.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <stdexcept>

namespace tickflow {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string normalise_asset(std::string asset) {
  if (asset == "XBT") return "BTC";
  if (asset == "XXBT") return "BTC";
  if (asset == "XETH") return "ETH";
  if (asset == "UST") return "USDT";  // Bitfinex spells Tether UST
  return asset;
}

}  // namespace

std::string_view to_string(InstrumentKind kind) noexcept {
  switch (kind) {
    case InstrumentKind::kUnknown: return "unknown";
    case InstrumentKind::kSpot: return "spot";
    case InstrumentKind::kLinear: return "linear";
    case InstrumentKind::kInverse: return "inverse";
    case InstrumentKind::kQuanto: return "quanto";
  }
  return "unknown";
}

std::optional<InstrumentKind> parse_instrument_kind(std::string_view name) noexcept {
  for (auto kind : {InstrumentKind::kUnknown, InstrumentKind::kSpot, InstrumentKind::kLinear, InstrumentKind::kInverse,
                    InstrumentKind::kQuanto}) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

bool infer_base_quote(std::string_view pair, std::string& base, std::string& quote) {
  std::string p = upper(pair);
  // Strip decorations that are not part of the asset pair.
  for (std::string_view prefix : {"PI_", "PF_", "FI_"}) {
    if (p.rfind(prefix, 0) == 0) p.erase(0, prefix.size());
  }
  if (p.size() > 1 && p[0] == 'T' && std::isupper(static_cast<unsigned char>(p[1])) &&
      p.find(':') == std::string::npos && p.size() == 7) {
    p.erase(0, 1);  // Bitfinex "tBTCUSD"
  }
  for (std::string_view suffix : {"-SPOT", "-SWAP", "-PERP-INTX", "_PERP", "-PERPETUAL"}) {
    if (p.size() > suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) {
      p.erase(p.size() - suffix.size());
    }
  }
  // Explicit separators first: BTC-USDT, XBT/USD, BTCF0:USTF0.
  for (char sep : {'-', '/', ':', '_'}) {
    const auto at = p.find(sep);
    if (at != std::string::npos && at > 0 && at + 1 < p.size()) {
      std::string b = p.substr(0, at);
      std::string q = p.substr(at + 1);
      if (auto next = q.find_first_of("-/:_"); next != std::string::npos) q.erase(next);
      for (std::string* s : {&b, &q}) {
        if (s->size() > 2 && s->compare(s->size() - 2, 2, "F0") == 0) s->erase(s->size() - 2);
      }
      if (b.empty() || q.empty()) return false;
      base = normalise_asset(b);
      quote = normalise_asset(q);
      return true;
    }
  }
  // Concatenated pairs: the longest known quote suffix that leaves a base of
  // at least 3 letters (XBTUSD is XBT/USD, not XB/TUSD; BTCTUSD is BTC/TUSD).
  static constexpr std::array<std::string_view, 14> kQuotes = {"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR",
                                                               "GBP",   "JPY",  "BTC",  "XBT",  "ETH",  "BNB", "DAI"};
  std::string_view best;
  for (std::string_view q : kQuotes) {
    if (p.size() >= q.size() + 3 && p.compare(p.size() - q.size(), q.size(), q) == 0 && q.size() > best.size())
      best = q;
  }
  if (best.empty()) return false;
  base = normalise_asset(p.substr(0, p.size() - best.size()));
  quote = normalise_asset(std::string(best));
  return true;
}

bool valid_market_name(std::string_view name) noexcept {
  const auto colon = name.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == name.size()) return false;
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return name.back() != '\\';
}

MarketId MarketRegistry::add(const MarketSpec& spec) {
  const std::lock_guard lock(mutex_);
  return add_locked(spec);
}

MarketId MarketRegistry::add_locked(const MarketSpec& spec) {
  const auto colon = spec.name.find(':');
  if (!valid_market_name(spec.name)) {
    // Never quotes the name raw: it may hold control characters.
    std::string shown;
    for (char c : spec.name)
      shown += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) ? '?' : c;
    throw std::invalid_argument("market name '" + shown +
                                "' is not of the form EXCHANGE:pair in printable ASCII, not ending in a backslash");
  }
  if (spec.contract_size < 0 || !std::isfinite(spec.contract_size)) {
    throw std::invalid_argument("market '" + spec.name + "': contract size must be a finite number >= 0");
  }

  if (auto it = by_name_.find(spec.name); it != by_name_.end()) {
    MarketInfo& m = slot(it->second);
    auto merge = [&](auto& have, const auto& given, const auto& unknown, const char* what) {
      if (given == unknown || given == have) return;
      if (have != unknown) {
        throw std::invalid_argument("market '" + spec.name + "': conflicting " + what + " for an existing market");
      }
      have = given;
    };
    merge(m.kind, spec.kind, InstrumentKind::kUnknown, "instrument kind");
    merge(m.contract_size, spec.contract_size, 0.0, "contract size");
    merge(m.base, spec.base.empty() ? std::string{} : upper(spec.base), std::string{}, "base asset");
    merge(m.quote, spec.quote.empty() ? std::string{} : upper(spec.quote), std::string{}, "quote asset");
    return m.id;
  }

  MarketInfo m;
  const std::size_t n = size_.load(std::memory_order_relaxed);
  if (n >= kMaxMarkets) throw std::length_error("more than " + std::to_string(kMaxMarkets) + " markets");
  m.id = static_cast<MarketId>(n);
  m.name = spec.name;
  m.exchange = spec.name.substr(0, colon);
  m.pair = spec.name.substr(colon + 1);
  m.market_class = classify_market(m.name, &class_overrides_);
  m.kind = spec.kind;
  m.contract_size = spec.contract_size;
  if (m.kind == InstrumentKind::kSpot && m.contract_size == 0) m.contract_size = 1;
  std::string base, quote;
  const bool inferred = infer_market_assets(m.name, base, quote);  // venue-aware (market_class.h)
  m.base = !spec.base.empty() ? upper(spec.base) : (inferred ? base : std::string{});
  m.quote = !spec.quote.empty() ? upper(spec.quote) : (inferred ? quote : std::string{});

  if (!chunks_[n / kChunk]) chunks_[n / kChunk] = std::make_unique<MarketInfo[]>(kChunk);
  const MarketId id = m.id;
  slot(id) = std::move(m);
  by_name_.emplace(spec.name, id);
  size_.store(n + 1, std::memory_order_release);
  return id;
}

MarketId MarketRegistry::intern(std::string_view name) {
  const std::lock_guard lock(mutex_);
  if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  MarketSpec spec;
  spec.name = std::string(name);
  if (classify_market(name, &class_overrides_) == MarketClass::kSpot) {
    spec.kind = InstrumentKind::kSpot;
    spec.contract_size = 1;
  }
  return add_locked(spec);
}

std::optional<MarketId> MarketRegistry::find(std::string_view name) const noexcept {
  const std::lock_guard lock(mutex_);
  if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  return std::nullopt;
}

void MarketRegistry::set_class_overrides(std::unordered_map<std::string, MarketClass> overrides) {
  const std::lock_guard lock(mutex_);
  class_overrides_ = std::move(overrides);
  const std::size_t n = size_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {
    MarketInfo& m = slot(static_cast<MarketId>(i));
    m.market_class = classify_market(m.name, &class_overrides_);
  }
}

}  // namespace tickflow
