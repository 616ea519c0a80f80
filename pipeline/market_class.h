// pipeline/market_class.h
//
// Spot or perp, and which base asset: the split SqueezeFlow's flow
// statistics are built on (spot CVD and perp CVD are always aggregated
// separately, within one base asset's symbol group across every venue).
// The rules extend those of ../shared/docs/squeezeflow-strategy.md,
// "Inputs per evaluation", to every venue aggr-server follows, with the
// market names our parsers write (aggr-server's spelling, feeds/*_parser.cc):
//
//   explicit overrides first, then, by the name's exchange:
//   BINANCE:x, BINANCE_US:x spot         BINANCE_FUTURES:x perp
//   BYBIT:X-SPOT spot                    BYBIT:X perp (linear and inverse)
//   BITGET:X-SPOT spot                   BITGET:X perp (USDT-M)
//   GATEIO:X_Y-SPOT spot                 GATEIO:X_Y perp (USDT perpetuals)
//   OKEX:X-Y spot                        OKEX:X-Y-SWAP perp (and dated futures X-Y-YYMMDD)
//   COINBASE:X-Y spot                    COINBASE:X-PERP-INTX perp
//   CRYPTOCOM:X_Y spot                   CRYPTOCOM:XY-PERP perp
//   MEXC:XY spot                         MEXC:X_Y perp (contract symbols have the '_')
//   BITMART:X_Y spot                     BITMART:XY perp (futures symbols have none)
//   PHEMEX:sXY spot (lower-case s)       PHEMEX:XY perp (inverse and linear)
//   HYPERLIQUID:@N, HYPERLIQUID:X/Y spot HYPERLIQUID:COIN perp
//   KUCOIN:X-Y spot                      KUCOIN:..M perp (XBTUSDTM, XBTUSDM)
//   HUOBI:btcusdt spot                   HUOBI:BTC-USD(T) perp (swap contract codes)
//   KRAKEN:X/Y spot                      KRAKEN:PI_/PF_/FI_ perp
//   BITFINEX:XY spot                     BITFINEX:..F0 perp (BTCF0USTF0; BTCF0:USTF0 too)
//   DERIBIT, BITMEX, DYDX, ASTER, BITUNIX: perp only
//   fallback (BITSTAMP, POLONIEX, HITBTC, ...): a name containing
//   futures/perp/swap (any case) is perp, else spot.
//
// Base assets (the symbol group) come from the pair (infer_market_assets):
// the venue's decorations are removed first (Phemex's spot 's', KuCoin's
// contract 'M', Bitfinex's F0 markers, Crypto.com's -PERP, Deribit's
// -PERPETUAL, a bare Hyperliquid coin), then infer_base_quote
// (market_registry.h) splits what is left and spells XBT as BTC. So
// BINANCE:btcusdt, BITMEX:XBTUSD, KUCOIN:XBTUSDTM, HYPERLIQUID:BTC,
// DERIBIT:BTC-PERPETUAL and BITFINEX:BTCF0USTF0 are all in group BTC.
//
// Pure functions of the name; any thread.
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

// The base and quote assets of a market name ("KUCOIN:XBTUSDTM" -> BTC,
// USDT), upper case. False (outputs unspecified) when the pair does not say.
bool infer_market_assets(std::string_view name, std::string& base, std::string& quote);

}  // namespace tickflow
