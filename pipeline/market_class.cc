// pipeline/market_class.cc: the spot/perp classification and base-asset rules.
#include "pipeline/market_class.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "pipeline/market_registry.h"  // infer_base_quote

namespace tickflow {
namespace {

bool contains_ignore_case(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

std::size_t count_char(std::string_view s, char c) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), c));
}

bool has(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Phemex spells spot with a lower-case 's' before the pair: sBTCUSDT.
bool phemex_spot(std::string_view pair) {
  return pair.size() > 1 && pair[0] == 's' && std::isupper(static_cast<unsigned char>(pair[1]));
}

// KuCoin futures symbols end in M (XBTUSDTM linear, XBTUSDM inverse); spot
// pairs carry a dash (BTC-USDT).
bool kucoin_contract(std::string_view pair) { return !has(pair, '-') && pair.ends_with('M'); }

// Hyperliquid spot: "@107" (an index) or "PURR/USDC"; a bare coin is a perpetual.
bool hyperliquid_spot(std::string_view pair) { return pair.starts_with('@') || has(pair, '/'); }

struct Split {
  std::string_view exchange;
  std::string_view pair;
};

Split split(std::string_view name) {
  const auto colon = name.find(':');
  if (colon == std::string_view::npos) return {{}, name};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

}  // namespace

MarketClass classify_market(std::string_view name, const std::unordered_map<std::string, MarketClass>* overrides) {
  if (overrides != nullptr) {
    if (auto it = overrides->find(std::string(name)); it != overrides->end()) return it->second;
  }
  const auto [exchange, pair] = split(name);
  constexpr auto kSpot = MarketClass::kSpot;
  constexpr auto kPerp = MarketClass::kPerp;

  // Venues whose every market (as followed) is a perpetual or future.
  constexpr std::array<std::string_view, 6> kPerpOnly = {"DERIBIT", "BITMEX",  "DYDX",
                                                         "ASTER",   "BITUNIX", "BINANCE_FUTURES"};
  if (std::find(kPerpOnly.begin(), kPerpOnly.end(), exchange) != kPerpOnly.end()) return kPerp;
  if (exchange == "BINANCE" || exchange == "BINANCE_US") return kSpot;
  // aggr-server marks the spot side with -SPOT where one name serves both.
  if (exchange == "BYBIT" || exchange == "BITGET" || exchange == "GATEIO")
    return pair.ends_with("-SPOT") ? kSpot : kPerp;
  // BTC-USDT is spot; BTC-USDT-SWAP and dated futures BTC-USD-240628 are derivatives.
  if (exchange == "OKEX") return count_char(pair, '-') <= 1 ? kSpot : kPerp;
  if (exchange == "COINBASE") return pair.ends_with("-PERP-INTX") ? kPerp : kSpot;
  if (exchange == "CRYPTOCOM") return pair.ends_with("-PERP") ? kPerp : kSpot;
  if (exchange == "MEXC") return has(pair, '_') ? kPerp : kSpot;
  if (exchange == "BITMART") return has(pair, '_') ? kSpot : kPerp;
  if (exchange == "PHEMEX") return phemex_spot(pair) ? kSpot : kPerp;
  if (exchange == "HYPERLIQUID") return hyperliquid_spot(pair) ? kSpot : kPerp;
  // The parser drops the colon of tBTCF0:USTF0 (BTCF0USTF0); both spellings.
  if (exchange == "BITFINEX") return pair.ends_with("F0") ? kPerp : kSpot;
  if (exchange == "KRAKEN")
    return pair.starts_with("PI_") || pair.starts_with("PF_") || pair.starts_with("FI_") ? kPerp : kSpot;
  if (exchange == "KUCOIN") return kucoin_contract(pair) ? kPerp : kSpot;
  if (exchange == "HUOBI") return has(pair, '-') ? kPerp : kSpot;

  for (std::string_view word : {"futures", "perp", "swap"}) {
    if (contains_ignore_case(name, word)) return kPerp;
  }
  return kSpot;
}

bool infer_market_assets(std::string_view name, std::string& base, std::string& quote) {
  const auto [exchange, pair] = split(name);
  if (exchange == "HYPERLIQUID" && !hyperliquid_spot(pair)) {
    // A perpetual is named by its coin alone; Hyperliquid prices in USD (USDC margin).
    if (pair.empty()) return false;
    base = upper(pair);
    quote = "USD";
    return true;
  }
  if (exchange == "DERIBIT") {
    // BTC-PERPETUAL, BTC-27DEC24 (inverse, USD) and BTC_USDC-PERPETUAL (linear).
    const std::string_view instrument = pair.substr(0, pair.find('-'));
    const auto underscore = instrument.find('_');
    base = upper(instrument.substr(0, underscore));
    quote = underscore == std::string_view::npos ? "USD" : upper(instrument.substr(underscore + 1));
    if (base.empty() || quote.empty()) return false;
    // Spell XBT as BTC the way every other venue's base is spelled.
    return infer_base_quote(base + "-" + quote, base, quote);
  }
  std::string p(pair);
  if (exchange == "PHEMEX" && phemex_spot(p)) p.erase(0, 1);
  if (exchange == "KUCOIN" && kucoin_contract(p)) p.pop_back();
  if (exchange == "CRYPTOCOM" && p.ends_with("-PERP")) p.resize(p.size() - 5);
  if (exchange == "BITFINEX" && !has(p, ':')) {
    // BTCF0USTF0: the colon the parser dropped goes back after the first F0.
    // Concatenated, not p.insert(): GCC 12's -Wrestrict misfires on insert at -O2.
    if (const auto f0 = p.find("F0"); f0 != std::string::npos && f0 + 2 < p.size())
      p = p.substr(0, f0 + 2) + ":" + p.substr(f0 + 2);
  }
  return infer_base_quote(p, base, quote);
}

}  // namespace tickflow
