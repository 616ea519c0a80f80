// SymbolGroups: markets grouped by base asset, spot or perp by the
// registry's class, dense ids that never move.
#include "pipeline/symbol_groups.h"

#include <gtest/gtest.h>

#include <vector>

#include "pipeline/market_registry.h"

namespace tickflow {
namespace {

std::vector<MarketId> ids(std::span<const MarketId> s) { return {s.begin(), s.end()}; }

TEST(SymbolGroups, GroupsByBaseAssetAcrossExchangesAndSplitsSpotFromPerp) {
  MarketRegistry r;
  const MarketId binance_spot = r.intern("BINANCE:btcusdt");
  const MarketId binance_perp = r.intern("BINANCE_FUTURES:btcusdt");
  const MarketId coinm = r.intern("BINANCE_FUTURES:btcusd_perp");
  const MarketId eth_swap = r.intern("OKEX:ETH-USDT-SWAP");
  const MarketId bitmex = r.intern("BITMEX:XBTUSD");  // XBT is BTC; BitMEX is perp only
  const MarketId bybit_spot = r.intern("BYBIT:BTCUSDT-SPOT");
  const MarketId eth_spot = r.intern("COINBASE:ETH-USD");
  const MarketId kraken_perp = r.intern("KRAKEN:PI_XBTUSD");

  const SymbolGroups g(r);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g.market_count(), 8u);
  EXPECT_EQ(g.name(0), "BTC") << "ids in order of first appearance";
  EXPECT_EQ(g.name(1), "ETH");
  EXPECT_EQ(g.find("BTC"), 0u);
  EXPECT_EQ(g.find("ETH"), 1u);
  EXPECT_EQ(g.find("SOL"), std::nullopt);

  EXPECT_EQ(ids(g.spot_markets(0)), (std::vector<MarketId>{binance_spot, bybit_spot}));
  EXPECT_EQ(ids(g.perp_markets(0)), (std::vector<MarketId>{binance_perp, coinm, bitmex, kraken_perp}));
  EXPECT_EQ(ids(g.spot_markets(1)), (std::vector<MarketId>{eth_spot}));
  EXPECT_EQ(ids(g.perp_markets(1)), (std::vector<MarketId>{eth_swap}));

  EXPECT_EQ(g.membership(binance_spot).group, 0u);
  EXPECT_EQ(g.membership(binance_spot).side, MarketClass::kSpot);
  EXPECT_EQ(g.membership(coinm).side, MarketClass::kPerp);
  EXPECT_EQ(g.membership(eth_swap).group, 1u);
  EXPECT_EQ(g.membership(eth_swap).side, MarketClass::kPerp);
}

TEST(SymbolGroups, MarketsWithoutABaseAssetOrUnseenAreInNoGroup) {
  MarketRegistry r;
  const MarketId weird = r.intern("WEIRD:x");  // the registry cannot split "x"
  r.intern("BINANCE:ethusdt");
  const SymbolGroups g(r);
  EXPECT_EQ(g.size(), 1u);
  EXPECT_EQ(g.membership(weird).group, kNoGroup);
  EXPECT_EQ(g.membership(2).group, kNoGroup) << "not registered";
  EXPECT_EQ(g.membership(kInvalidMarket).group, kNoGroup);
}

TEST(SymbolGroups, RefreshAppendsGroupsAndKeepsIds) {
  MarketRegistry r;
  r.intern("BINANCE:ethusdt");
  r.intern("BINANCE:btcusdt");
  SymbolGroups g(r);
  ASSERT_EQ(g.find("ETH"), 0u);
  ASSERT_EQ(g.find("BTC"), 1u);

  const MarketId sol = r.intern("BINANCE_FUTURES:solusdt");
  const MarketId btc_perp = r.intern("BINANCE_FUTURES:btcusdt");
  EXPECT_EQ(g.membership(sol).group, kNoGroup) << "not seen before the refresh";
  EXPECT_EQ(g.refresh(r), 1u);
  EXPECT_EQ(g.find("ETH"), 0u);
  EXPECT_EQ(g.find("BTC"), 1u);
  EXPECT_EQ(g.find("SOL"), 2u);
  EXPECT_EQ(g.membership(sol).group, 2u);
  EXPECT_EQ(g.membership(btc_perp).group, 1u);
  EXPECT_EQ(g.perp_markets(1).size(), 1u);
  EXPECT_EQ(g.refresh(r), 0u) << "refreshing twice adds nothing";
  EXPECT_EQ(g.spot_markets(1).size(), 1u) << "and duplicates nothing";
}

TEST(SymbolGroups, RefreshPicksUpClassOverrides) {
  MarketRegistry r;
  const MarketId m = r.intern("BINANCE:btcusdt");
  SymbolGroups g(r);
  EXPECT_EQ(g.membership(m).side, MarketClass::kSpot);
  r.set_class_overrides({{"BINANCE:btcusdt", MarketClass::kPerp}});
  g.refresh(r);
  EXPECT_EQ(g.membership(m).side, MarketClass::kPerp);
  EXPECT_TRUE(g.spot_markets(0).empty());
  EXPECT_EQ(g.perp_markets(0).size(), 1u);
}

}  // namespace
}  // namespace tickflow
