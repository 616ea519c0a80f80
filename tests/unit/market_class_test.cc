// Spot/perp classification: one case per rule of squeezeflow-strategy.md.
#include "pipeline/market_class.h"

#include <gtest/gtest.h>

namespace tickflow {
namespace {

struct Case {
  const char* name;
  MarketClass expected;
};

TEST(MarketClass, FollowsEveryRuleOfTheStrategySpec) {
  const Case cases[] = {
      {"BINANCE:btcusdt", MarketClass::kSpot},
      {"BINANCE_FUTURES:btcusdt", MarketClass::kPerp},
      {"BINANCE_FUTURES:btcusd_perp", MarketClass::kPerp},
      {"BYBIT:BTCUSDT-SPOT", MarketClass::kSpot},
      {"BYBIT:BTCUSDT", MarketClass::kPerp},
      {"BYBIT:BTCUSD", MarketClass::kPerp},
      {"OKEX:BTC-USDT", MarketClass::kSpot},
      {"OKEX:BTC-USDT-SWAP", MarketClass::kPerp},
      {"OKEX:BTC-USD-240628", MarketClass::kPerp},  // dated futures are derivatives too
      {"COINBASE:BTC-USD", MarketClass::kSpot},
      {"COINBASE:BTC-PERP-INTX", MarketClass::kPerp},
      {"BITFINEX:BTCUSD", MarketClass::kSpot},
      {"BITFINEX:BTCF0:USTF0", MarketClass::kPerp},
      {"KRAKEN:XBT/USD", MarketClass::kSpot},
      {"KRAKEN:PI_XBTUSD", MarketClass::kPerp},
      {"KRAKEN:PF_XBTUSD", MarketClass::kPerp},
      {"KUCOIN:BTC-USDT", MarketClass::kSpot},
      {"KUCOIN:XBTUSDTM", MarketClass::kPerp},
      {"DERIBIT:BTC-PERPETUAL", MarketClass::kPerp},
      {"BITMEX:XBTUSD", MarketClass::kPerp},
      {"DYDX:BTC-USD", MarketClass::kPerp},
      {"HYPERLIQUID:BTC", MarketClass::kPerp},
      {"HUOBI:btcusdt", MarketClass::kSpot},
      {"HUOBI:BTC-USD", MarketClass::kPerp},
      {"GATEIO:BTC_USDT-SPOT", MarketClass::kSpot},  // aggr-server marks Gate.io spot -SPOT
      {"GATEIO:BTC_USDT", MarketClass::kPerp},
      // fallback
      {"GATEIO_FUTURES:BTC_USDT", MarketClass::kPerp},
      {"PHEMEX:BTCUSD-PERP", MarketClass::kPerp},
      {"SOMEX:btc-Swap", MarketClass::kPerp},
      {"BITSTAMP:btcusd", MarketClass::kSpot},
  };
  for (const auto& c : cases) EXPECT_EQ(classify_market(c.name), c.expected) << c.name;
}

TEST(MarketClass, ExplicitOverridesWinOverPatterns) {
  const std::unordered_map<std::string, MarketClass> overrides = {
      {"BINANCE:btcusdt", MarketClass::kPerp},
      {"BITMEX:XBTUSD", MarketClass::kSpot},
  };
  EXPECT_EQ(classify_market("BINANCE:btcusdt", &overrides), MarketClass::kPerp);
  EXPECT_EQ(classify_market("BITMEX:XBTUSD", &overrides), MarketClass::kSpot);
  EXPECT_EQ(classify_market("BINANCE:ethusdt", &overrides), MarketClass::kSpot);
}

}  // namespace
}  // namespace tickflow
