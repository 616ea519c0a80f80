// Symbol groups across every venue aggr-server follows: each market name our
// parsers write (aggr-server's spelling, feeds/*_parser.cc banners) lands in
// its base asset's group, on the side its venue says. One line per venue
// market; the names are those the shipped profiles (tuning/*.toml) produce.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/market_class.h"
#include "pipeline/market_registry.h"
#include "pipeline/symbol_groups.h"

namespace tickflow {
namespace {

struct Case {
  const char* name;   // market name as the parser writes it
  const char* group;  // base asset
  const char* quote;  // quote asset
  MarketClass side;
};

constexpr auto kSpot = MarketClass::kSpot;
constexpr auto kPerp = MarketClass::kPerp;

const std::vector<Case> kVenueMarkets = {
    {"BINANCE:btcusdt", "BTC", "USDT", kSpot},
    {"BINANCE_FUTURES:btcusdt", "BTC", "USDT", kPerp},
    {"BINANCE_FUTURES:btcusd_perp", "BTC", "USD", kPerp},
    {"BINANCE_US:btcusd", "BTC", "USD", kSpot},
    {"ASTER:BTCUSDT", "BTC", "USDT", kPerp},
    {"BYBIT:BTCUSDT-SPOT", "BTC", "USDT", kSpot},
    {"BYBIT:BTCUSDT", "BTC", "USDT", kPerp},
    {"BYBIT:BTCUSD", "BTC", "USD", kPerp},
    {"OKEX:BTC-USDT", "BTC", "USDT", kSpot},
    {"OKEX:BTC-USDT-SWAP", "BTC", "USDT", kPerp},
    {"COINBASE:BTC-USD", "BTC", "USD", kSpot},
    {"BITGET:BTCUSDT-SPOT", "BTC", "USDT", kSpot},
    {"BITGET:BTCUSDT", "BTC", "USDT", kPerp},
    {"GATEIO:BTC_USDT-SPOT", "BTC", "USDT", kSpot},
    {"GATEIO:BTC_USDT", "BTC", "USDT", kPerp},
    {"KUCOIN:BTC-USDT", "BTC", "USDT", kSpot},
    {"KUCOIN:XBTUSDTM", "BTC", "USDT", kPerp},
    {"KUCOIN:XBTUSDM", "BTC", "USD", kPerp},
    {"HUOBI:btcusdt", "BTC", "USDT", kSpot},
    {"HUOBI:BTC-USDT", "BTC", "USDT", kPerp},
    {"HUOBI:BTC-USD", "BTC", "USD", kPerp},
    {"KRAKEN:XBT/USD", "BTC", "USD", kSpot},
    {"KRAKEN:PF_XBTUSD", "BTC", "USD", kPerp},
    {"KRAKEN:PI_XBTUSD", "BTC", "USD", kPerp},
    {"BITMEX:XBTUSD", "BTC", "USD", kPerp},
    {"BITMEX:XBTUSDT", "BTC", "USDT", kPerp},
    {"BITFINEX:BTCUSD", "BTC", "USD", kSpot},
    {"BITFINEX:BTCF0USTF0", "BTC", "USDT", kPerp},  // tBTCF0:USTF0, colon dropped by the parser
    {"BITFINEX:BTCF0:USTF0", "BTC", "USDT", kPerp},
    {"DERIBIT:BTC-PERPETUAL", "BTC", "USD", kPerp},
    {"DERIBIT:BTC_USDC-PERPETUAL", "BTC", "USDC", kPerp},
    {"DYDX:BTC-USD", "BTC", "USD", kPerp},
    {"HYPERLIQUID:BTC", "BTC", "USD", kPerp},
    {"MEXC:BTCUSDT", "BTC", "USDT", kSpot},
    {"MEXC:BTC_USDT", "BTC", "USDT", kPerp},
    {"CRYPTOCOM:BTC_USDT", "BTC", "USDT", kSpot},
    {"CRYPTOCOM:BTCUSD-PERP", "BTC", "USD", kPerp},
    {"BITSTAMP:btcusd", "BTC", "USD", kSpot},
    {"PHEMEX:sBTCUSDT", "BTC", "USDT", kSpot},
    {"PHEMEX:BTCUSDT", "BTC", "USDT", kPerp},
    {"PHEMEX:BTCUSD", "BTC", "USD", kPerp},
    {"POLONIEX:BTC_USDT", "BTC", "USDT", kSpot},
    {"HITBTC:BTCUSDT", "BTC", "USDT", kSpot},
    {"BITMART:BTC_USDT", "BTC", "USDT", kSpot},
    {"BITMART:BTCUSDT", "BTC", "USDT", kPerp},
    {"BITUNIX:BTCUSDT", "BTC", "USDT", kPerp},
    // ETH: the second group of every profile, spelled per venue.
    {"BINANCE:ethusdt", "ETH", "USDT", kSpot},
    {"BITMEX:ETHUSD", "ETH", "USD", kPerp},
    {"KRAKEN:ETH/USD", "ETH", "USD", kSpot},
    {"KRAKEN:PF_ETHUSD", "ETH", "USD", kPerp},
    {"KUCOIN:ETHUSDTM", "ETH", "USDT", kPerp},
    {"HYPERLIQUID:ETH", "ETH", "USD", kPerp},
    {"DERIBIT:ETH-PERPETUAL", "ETH", "USD", kPerp},
    {"BITFINEX:ETHF0USTF0", "ETH", "USDT", kPerp},
    {"PHEMEX:sETHUSDT", "ETH", "USDT", kSpot},
    {"CRYPTOCOM:ETHUSD-PERP", "ETH", "USD", kPerp},
    {"GATEIO:ETH_USDT", "ETH", "USDT", kPerp},
    {"HUOBI:ethusdt", "ETH", "USDT", kSpot},
};

TEST(VenueGroups, EveryVenueMarketHasItsBaseQuoteAndSide) {
  MarketRegistry registry;
  for (const Case& c : kVenueMarkets) {
    SCOPED_TRACE(c.name);
    const MarketInfo& m = registry.info(registry.intern(c.name));
    EXPECT_EQ(m.base, c.group);
    EXPECT_EQ(m.quote, c.quote);
    EXPECT_EQ(to_string(m.market_class), to_string(c.side));
    EXPECT_EQ(to_string(classify_market(c.name)), to_string(c.side));
  }
}

TEST(VenueGroups, TwoGroupsSpanEveryVenueAndNeverMixSides) {
  MarketRegistry registry;
  std::size_t btc_spot = 0, btc_perp = 0, eth_spot = 0, eth_perp = 0;
  for (const Case& c : kVenueMarkets) {
    registry.intern(c.name);
    const bool btc = std::string(c.group) == "BTC";
    (c.side == kSpot ? (btc ? btc_spot : eth_spot) : (btc ? btc_perp : eth_perp)) += 1;
  }
  const SymbolGroups groups(registry);
  ASSERT_EQ(groups.size(), 2u);
  const GroupId btc = *groups.find("BTC");
  const GroupId eth = *groups.find("ETH");
  EXPECT_EQ(groups.spot_markets(btc).size(), 18u);
  EXPECT_EQ(groups.perp_markets(btc).size(), 28u);
  EXPECT_EQ(groups.spot_markets(eth).size(), 4u);
  EXPECT_EQ(groups.perp_markets(eth).size(), 8u);
  // The table's own count agrees (a typo in a side would move one).
  EXPECT_EQ(btc_spot, 18u);
  EXPECT_EQ(btc_perp, 28u);
  EXPECT_EQ(eth_spot, 4u);
  EXPECT_EQ(eth_perp, 8u);
  for (MarketId id : groups.spot_markets(btc)) EXPECT_EQ(registry.info(id).market_class, kSpot);
  for (MarketId id : groups.perp_markets(btc)) EXPECT_EQ(registry.info(id).market_class, kPerp);
}

// Names that are not a venue's perpetual stay out of the perp side.
TEST(VenueGroups, LookalikesKeepTheirSide) {
  EXPECT_EQ(classify_market("HYPERLIQUID:@107"), kSpot);  // a spot index, not a coin
  EXPECT_EQ(classify_market("HYPERLIQUID:PURR/USDC"), kSpot);
  EXPECT_EQ(classify_market("KUCOIN:ATOM-USDT"), kSpot);         // ends in T, has a dash
  EXPECT_EQ(classify_market("PHEMEX:SOLUSDT"), kPerp);           // upper-case S is part of SOL
  EXPECT_EQ(classify_market("GATEIO_FUTURES:BTC_USDT"), kPerp);  // the fallback still reads "futures"
  std::string base, quote;
  EXPECT_FALSE(infer_market_assets("HYPERLIQUID:@107", base, quote));
  ASSERT_TRUE(infer_market_assets("PHEMEX:SOLUSDT", base, quote));
  EXPECT_EQ(base, "SOL");
}

}  // namespace
}  // namespace tickflow
