// pipeline/market_class.h
//
// Spot or perp: the split SqueezeFlow's flow statistics are built on (spot
// CVD and perp CVD are always aggregated separately). The rules are those of
// ../shared/docs/squeezeflow-strategy.md, "Inputs per evaluation":
//
//   explicit overrides first, then
//   BINANCE:x spot            BINANCE_FUTURES:x perp
//   BYBIT:X-SPOT spot         BYBIT:X perp
//   OKEX:X-Y spot             OKEX:X-Y-SWAP perp (and dated futures X-Y-YYMMDD)
//   COINBASE:X-Y spot         COINBASE:X-PERP-INTX perp
//   BITFINEX:..F0:.. perp     KRAKEN:PI_/PF_/FI_ perp   KUCOIN:..M perp
//   HUOBI:BTC-USD(T) perp     (aggr-server's swap naming; spot is lowercase btcusdt)
//   DERIBIT, BITMEX, DYDX, HYPERLIQUID: perp only
//   fallback: a name containing futures/perp/swap (any case) is perp, else spot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tickflow {

enum class MarketClass : std::uint8_t { kSpot = 0, kPerp = 1 };

constexpr std::string_view to_string(MarketClass c) noexcept { return c == MarketClass::kSpot ? "spot" : "perp"; }

// `name` is an aggr-server market name, "EXCHANGE:pair". `overrides` maps
// full names to a class and wins over every pattern.
MarketClass classify_market(std::string_view name,
                            const std::unordered_map<std::string, MarketClass>* overrides = nullptr);

}  // namespace tickflow
