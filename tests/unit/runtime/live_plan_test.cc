// runtime/live_plan.h: [markets] -> one live connection per venue endpoint,
// with the [feeds] settings and endpoint overrides applied; exchanges with
// no live connection are a ConfigError naming the file and the key.
#include "runtime/live_plan.h"

#include <gtest/gtest.h>

#include "feeds/parser_factory.h"

#include <algorithm>
#include <string>
#include <vector>

namespace tickflow {
namespace {

using Symbols = std::vector<std::string>;

PipelineConfig config_of(const std::string& toml) { return parse_pipeline_config(toml, "live.toml"); }

std::string error_of(const PipelineConfig& config, const std::string& exchange) {
  try {
    plan_live_connections(config, exchange);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LivePlan, BinanceFuturesSplitsUsdmAndCoinm) {
  const PipelineConfig config = config_of("[markets]\nBINANCE_FUTURES = [\"btcusdt\", \"btcusd_perp\", \"ethusdt\"]\n");
  const auto plan = plan_live_connections(config, "BINANCE_FUTURES");
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].exchange, "BINANCE_FUTURES");
  EXPECT_EQ(plan[0].feed.venue, Venue::kBinanceUsdm);
  EXPECT_EQ(plan[0].feed.symbols, (Symbols{"btcusdt", "ethusdt"}));
  EXPECT_EQ(plan[1].exchange, "BINANCE_FUTURES");
  EXPECT_EQ(plan[1].feed.venue, Venue::kBinanceCoinm);
  EXPECT_EQ(plan[1].feed.symbols, (Symbols{"btcusd_perp"}));
  // Where they go: the venues' public endpoints, nothing overridden.
  EXPECT_EQ(plan_for(plan[0].feed).host, "fstream.binance.com");
  EXPECT_EQ(plan_for(plan[1].feed).host, "dstream.binance.com");
  EXPECT_EQ(plan_for(plan[1].feed).target, "/stream?streams=btcusd_perp@trade/btcusd_perp@forceOrder");
  for (const auto& c : plan) {
    EXPECT_EQ(c.feed.host, "");
    EXPECT_EQ(c.feed.port, 0);
    EXPECT_TRUE(c.feed.channels.empty());
    EXPECT_TRUE(c.feed.deduplicate);
  }
}

TEST(LivePlan, BybitSplitsLinearAndInverse) {
  const PipelineConfig config = config_of("[markets]\nBYBIT = [\"BTCUSDT\", \"BTCUSD\"]\n");
  const auto plan = plan_live_connections(config, "BYBIT");
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].feed.venue, Venue::kBybitLinear);
  EXPECT_EQ(plan[0].feed.symbols, (Symbols{"BTCUSDT"}));
  EXPECT_EQ(plan[1].feed.venue, Venue::kBybitInverse);
  EXPECT_EQ(plan[1].feed.symbols, (Symbols{"BTCUSD"}));
  EXPECT_EQ(plan_for(plan[0].feed).target, "/v5/public/linear");
  EXPECT_EQ(plan_for(plan[1].feed).target, "/v5/public/inverse");
}

TEST(LivePlan, OkexIsOneConnectionForSpotAndSwaps) {
  const PipelineConfig config = config_of("[markets]\nOKEX = [\"BTC-USDT\", \"BTC-USDT-SWAP\", \"ETH-USD-SWAP\"]\n");
  const auto plan = plan_live_connections(config, "OKEX");
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].exchange, "OKEX");
  EXPECT_EQ(plan[0].feed.venue, Venue::kOkx);
  EXPECT_EQ(plan[0].feed.symbols, (Symbols{"BTC-USDT", "BTC-USDT-SWAP", "ETH-USD-SWAP"}));
}

TEST(LivePlan, FeedsSettingsAndEndpointOverridesApply) {
  const PipelineConfig config = config_of(
      "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n"
      "[feeds]\nstale_after_ms = 5000\nconnect_timeout_ms = 2500\nbackoff_initial_ms = 50\nbackoff_max_ms = 1500\n"
      "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = 18443\npath = \"/mock\"\nca_file = \"/tmp/ca.pem\"\n"
      "rest_url = \"https://127.0.0.1:18444\"\n");
  const auto spot = plan_live_connections(config, "BINANCE");
  ASSERT_EQ(spot.size(), 1u);
  const LiveFeedConfig& f = spot[0].feed;
  EXPECT_EQ(f.venue, Venue::kBinanceSpot);
  EXPECT_EQ(f.host, "127.0.0.1");
  EXPECT_EQ(f.port, 18443);
  EXPECT_EQ(f.path, "/mock");
  EXPECT_EQ(f.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(f.stale_after, std::chrono::milliseconds(5000));
  EXPECT_EQ(f.connect_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(f.handshake_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(f.backoff_initial, std::chrono::milliseconds(50));
  EXPECT_EQ(f.backoff_max, std::chrono::milliseconds(1500));
  const LiveFeedPlan where = plan_for(f);
  EXPECT_EQ(where.host, "127.0.0.1");
  EXPECT_EQ(where.port, 18443);
  EXPECT_EQ(where.target, "/mock?streams=btcusdt@trade");

  // The override is per exchange; the [feeds] settings are for all.
  const auto futures = plan_live_connections(config, "BINANCE_FUTURES");
  ASSERT_EQ(futures.size(), 1u);
  EXPECT_EQ(futures[0].feed.host, "");
  EXPECT_EQ(futures[0].feed.port, 0);
  EXPECT_EQ(futures[0].feed.ca_file, "");
  EXPECT_EQ(futures[0].feed.stale_after, std::chrono::milliseconds(5000));
  EXPECT_EQ(futures[0].feed.backoff_max, std::chrono::milliseconds(1500));
  EXPECT_EQ(plan_for(futures[0].feed).host, "fstream.binance.com");
}

TEST(LivePlan, DefaultsWithoutAFeedsTable) {
  const auto plan = plan_live_connections(default_pipeline_config(), "COINBASE");
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].feed.venue, Venue::kCoinbase);
  EXPECT_EQ(plan[0].feed.symbols, (Symbols{"BTC-USD", "ETH-USD"}));
  EXPECT_EQ(plan[0].feed.stale_after, std::chrono::milliseconds(30'000));
  EXPECT_EQ(plan[0].feed.connect_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(plan[0].feed.backoff_initial, std::chrono::milliseconds(100));
  EXPECT_EQ(plan[0].feed.backoff_max, std::chrono::milliseconds(30'000));
}

TEST(LivePlan, TradeAndAggTradeTurnDeduplicationOff) {
  const PipelineConfig config = config_of(
      "[markets]\nBINANCE = [\"btcusdt\"]\nBINANCE_FUTURES = [\"btcusdt\"]\n"
      "[feeds.channels]\nBINANCE = [\"trade\", \"aggTrade\"]\nBINANCE_FUTURES = [\"trade\", \"forceOrder\"]\n");
  const auto spot = plan_live_connections(config, "BINANCE");
  ASSERT_EQ(spot.size(), 1u);
  EXPECT_EQ(spot[0].feed.channels, (Symbols{"trade", "aggTrade"}));
  EXPECT_FALSE(spot[0].feed.deduplicate);
  EXPECT_EQ(plan_for(spot[0].feed).target, "/stream?streams=btcusdt@trade/btcusdt@aggTrade");
  const auto futures = plan_live_connections(config, "BINANCE_FUTURES");
  ASSERT_EQ(futures.size(), 1u);
  EXPECT_EQ(futures[0].feed.channels, (Symbols{"trade", "forceOrder"}));
  EXPECT_TRUE(futures[0].feed.deduplicate);
}

TEST(LivePlan, ExchangeWithoutLiveSupportIsAConfigError) {
  // BINANCE_DELIVERY is cryptofeed's name for COIN-M: its captures replay,
  // but live COIN-M symbols go under BINANCE_FUTURES.
  const PipelineConfig config = config_of("[markets]\nBINANCE_DELIVERY = [\"btcusd_perp\"]\nBINANCE = [\"btcusdt\"]\n");
  const std::string e = error_of(config, "BINANCE_DELIVERY");
  EXPECT_EQ(e.rfind("live.toml: markets.BINANCE_DELIVERY: no live connection for BINANCE_DELIVERY (live exchanges: "
                    "BINANCE, BINANCE_FUTURES, BYBIT_SPOT, BYBIT, OKEX, OKX, COINBASE",
                    0),
            0u)
      << e;
  // An exchange the config does not list has no symbols to follow.
  EXPECT_EQ(error_of(config, "OKEX"), "live.toml: markets.OKEX: no symbols");
  EXPECT_EQ(error_of(default_pipeline_config(), "KRAKEN"), "(defaults): markets.KRAKEN: no symbols");
}

TEST(LivePlan, LiveExchangeNames) {
  const std::vector<std::string>& names = live_exchange_names();
  for (const char* name : {"BINANCE", "BINANCE_FUTURES", "BYBIT", "BYBIT_SPOT", "OKX", "OKEX", "COINBASE"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  // Every live exchange is one a config accepts, and every endpoint with a
  // plan is reachable through its exchange's name.
  for (const auto& name : names) {
    bool known = false;
    for (const auto& config_name : known_exchanges()) known |= config_name == name;
    EXPECT_TRUE(known) << name;
  }
  for (const VenueProtocol& p : venue_protocols())
    if (p.plan != nullptr) {
      EXPECT_NE(std::find(names.begin(), names.end(), p.exchange), names.end()) << p.name;
    }
}

TEST(LivePlan, VenueTableIsInVenueOrderAndNamesKnownParsers) {
  std::size_t i = 0;
  for (const VenueProtocol& p : venue_protocols()) {
    EXPECT_EQ(static_cast<std::size_t>(p.venue), i++) << p.name;
    EXPECT_FALSE(p.name.empty());
    EXPECT_FALSE(p.exchange.empty()) << p.name;
    MarketRegistry registry;
    EXPECT_NE(make_parser(p.parser, registry), nullptr) << p.name << ": parser " << p.parser;
  }
  EXPECT_EQ(i, static_cast<std::size_t>(Venue::kCount));
}

// Issue 16: every venue aggr-server follows has a live feed; none is left
// a placeholder (plan == nullptr) or without default channels.
TEST(LivePlan, EveryVenueHasALiveFeed) {
  std::size_t live = 0;
  for (const VenueProtocol& p : venue_protocols()) {
    EXPECT_NE(p.plan, nullptr) << p.name << " has no live plan";
    EXPECT_NE(p.default_channels, nullptr) << p.name;
    live += p.plan != nullptr ? 1 : 0;
  }
  EXPECT_EQ(live, static_cast<std::size_t>(Venue::kCount));
  EXPECT_GE(live_exchange_names().size(), 30u);  // [markets] keys, OKX and OKEX both
}

// The names the strategy groups by must be the ones the feeds will write.
TEST(LivePlan, LiveMarketNamesAreWhatTheParsersWrite) {
  EXPECT_EQ(live_market_name("BINANCE", "BTCUSDT"), "BINANCE:btcusdt");
  EXPECT_EQ(live_market_name("BYBIT_SPOT", "BTCUSDT"), "BYBIT:BTCUSDT-SPOT");
  EXPECT_EQ(live_market_name("BYBIT", "BTCUSDT"), "BYBIT:BTCUSDT");
  EXPECT_EQ(live_market_name("OKX", "BTC-USDT-SWAP"), "OKEX:BTC-USDT-SWAP");
  EXPECT_EQ(live_market_name("GATEIO", "BTC_USDT"), "GATEIO:BTC_USDT-SPOT");
  EXPECT_EQ(live_market_name("GATEIO_FUTURES", "BTC_USDT"), "GATEIO:BTC_USDT");
  EXPECT_EQ(live_market_name("BINANCE_DELIVERY", "btcusd_perp"), "BINANCE_DELIVERY:btcusd_perp");  // no live endpoint
}

// HTX serves coin-margined and USDT-margined swaps on different URLs: one
// [markets] list of both kinds becomes one connection per endpoint.
TEST(LivePlan, HtxSwapsSplitByMargin) {
  const auto plan = plan_live_connections(
      config_of("[markets]\nHUOBI_SWAP = [\"BTC-USD\", \"BTC-USDT\", \"ETH-USDT\"]\n"), "HUOBI_SWAP");
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0].feed.venue, Venue::kHtxSwap);
  EXPECT_EQ(plan[0].feed.symbols, (Symbols{"BTC-USD"}));
  EXPECT_EQ(plan_for(plan[0].feed).target, "/swap-ws");
  EXPECT_EQ(plan[1].feed.venue, Venue::kHtxLinearSwap);
  EXPECT_EQ(plan[1].feed.symbols, (Symbols{"BTC-USDT", "ETH-USDT"}));
  EXPECT_EQ(plan_for(plan[1].feed).target, "/linear-swap-ws");
}

TEST(LivePlan, TopicLimitSplitsAnExchangeOverConnections) {
  // Binance: 1024 streams per connection; 600 symbols x (trade, forceOrder)
  // need two connections.
  std::string symbols;
  for (int k = 0; k < 600; ++k) symbols += (k ? ",\"s" : "\"s") + std::to_string(k) + "usdt\"";
  const PipelineConfig config = config_of("[markets]\nBINANCE_FUTURES = [" + symbols + "]\n");
  const auto connections = plan_live_connections(config, "BINANCE_FUTURES");
  ASSERT_EQ(connections.size(), 2u);
  EXPECT_EQ(connections[0].feed.symbols.size(), 512u);
  EXPECT_EQ(connections[1].feed.symbols.size(), 88u);
  EXPECT_EQ(connections[1].feed.symbols.front(), "s512usdt");
  for (const auto& c : connections) EXPECT_NO_THROW(plan_for(c.feed));
}

TEST(LivePlan, LiquidationsFollowTheFeedsSwitch) {
  const auto on = plan_live_connections(config_of("[markets]\nBINANCE_FUTURES = [\"btcusdt\"]\n"), "BINANCE_FUTURES");
  EXPECT_TRUE(on.at(0).feed.liquidations);
  EXPECT_EQ(plan_for(on.at(0).feed).target, "/stream?streams=btcusdt@trade/btcusdt@forceOrder");
  const auto off = plan_live_connections(
      config_of("[markets]\nBINANCE_FUTURES = [\"btcusdt\"]\n[feeds]\nliquidations = false\n"), "BINANCE_FUTURES");
  EXPECT_FALSE(off.at(0).feed.liquidations);
  EXPECT_EQ(plan_for(off.at(0).feed).target, "/stream?streams=btcusdt@trade");
}

}  // namespace
}  // namespace tickflow
