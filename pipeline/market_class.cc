// pipeline/market_class.cc: the spot/perp classification rules.
#include "pipeline/market_class.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace tickflow {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

bool contains_ignore_case(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

std::size_t count_char(std::string_view s, char c) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), c));
}

}  // namespace

MarketClass classify_market(std::string_view name, const std::unordered_map<std::string, MarketClass>* overrides) {
  if (overrides != nullptr) {
    if (auto it = overrides->find(std::string(name)); it != overrides->end()) return it->second;
  }
  const auto colon = name.find(':');
  const std::string_view exchange = colon == std::string_view::npos ? std::string_view{} : name.substr(0, colon);
  const std::string_view pair = colon == std::string_view::npos ? name : name.substr(colon + 1);

  constexpr std::array<std::string_view, 4> kPerpOnly = {"DERIBIT", "BITMEX", "DYDX", "HYPERLIQUID"};
  if (std::find(kPerpOnly.begin(), kPerpOnly.end(), exchange) != kPerpOnly.end()) return MarketClass::kPerp;

  if (exchange == "BINANCE") return MarketClass::kSpot;
  if (exchange == "BINANCE_FUTURES") return MarketClass::kPerp;
  if (exchange == "BYBIT") return ends_with(pair, "-SPOT") ? MarketClass::kSpot : MarketClass::kPerp;
  if (exchange == "OKEX") {
    // BTC-USDT is spot; BTC-USDT-SWAP and dated futures BTC-USD-240628 are derivatives.
    return count_char(pair, '-') <= 1 ? MarketClass::kSpot : MarketClass::kPerp;
  }
  if (exchange == "COINBASE") return ends_with(pair, "-PERP-INTX") ? MarketClass::kPerp : MarketClass::kSpot;
  if (exchange == "BITFINEX")
    return pair.find("F0:") != std::string_view::npos ? MarketClass::kPerp : MarketClass::kSpot;
  if (exchange == "KRAKEN") {
    return starts_with(pair, "PI_") || starts_with(pair, "PF_") || starts_with(pair, "FI_") ? MarketClass::kPerp
                                                                                            : MarketClass::kSpot;
  }
  if (exchange == "KUCOIN") return ends_with(pair, "M") ? MarketClass::kPerp : MarketClass::kSpot;
  if (exchange == "HUOBI") return pair.find('-') != std::string_view::npos ? MarketClass::kPerp : MarketClass::kSpot;

  for (std::string_view word : {"futures", "perp", "swap"}) {
    if (contains_ignore_case(name, word)) return MarketClass::kPerp;
  }
  return MarketClass::kSpot;
}

}  // namespace tickflow
