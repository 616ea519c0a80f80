// MarketRegistry: dense ids, metadata, and configuration errors that say what is wrong.
#include "pipeline/market_registry.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tickflow {
namespace {

TEST(MarketRegistry, InternsNamesToDenseIdsOnce) {
  MarketRegistry r;
  EXPECT_EQ(r.intern("BINANCE:btcusdt"), 0u);
  EXPECT_EQ(r.intern("BINANCE_FUTURES:btcusdt"), 1u);
  EXPECT_EQ(r.intern("BINANCE:btcusdt"), 0u);
  EXPECT_EQ(r.intern("OKEX:BTC-USDT-SWAP"), 2u);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_EQ(r.find("BINANCE_FUTURES:btcusdt"), 1u);
  EXPECT_EQ(r.find("BINANCE_FUTURES:ethusdt"), std::nullopt);
}

TEST(MarketRegistry, NamesAreValidatedForLogsAndLineProtocol) {
  EXPECT_TRUE(valid_market_name("BINANCE:btcusdt"));
  EXPECT_TRUE(valid_market_name("X:a\\b,c=d e"));  // escaped by escape_tag_value()
  EXPECT_TRUE(valid_market_name("BITFINEX:tBTCF0:USTF0"));
  EXPECT_FALSE(valid_market_name("BINANCE:abc\\"));  // InfluxDB cannot store a trailing backslash
  EXPECT_FALSE(valid_market_name("BINANCE:a\nb"));
  EXPECT_FALSE(valid_market_name("BINANCE:a\x1b"));
  EXPECT_FALSE(valid_market_name("BINANCE:caf\xc3\xa9"));
  EXPECT_FALSE(valid_market_name("BINANCE:"));
  EXPECT_FALSE(valid_market_name(":btcusdt"));
  EXPECT_FALSE(valid_market_name("btcusdt"));
  MarketRegistry r;
  EXPECT_THROW(r.intern("BINANCE:abc\\"), std::invalid_argument);
  MarketSpec control;
  control.name = "BINANCE:a\nb";
  EXPECT_THROW(r.add(control), std::invalid_argument);
  EXPECT_EQ(r.size(), 0u);
}

TEST(MarketRegistry, DerivesExchangePairClassAndAssets) {
  MarketRegistry r;
  const MarketInfo& spot = r.info(r.intern("BINANCE:btcusdt"));
  EXPECT_EQ(spot.name, "BINANCE:btcusdt");
  EXPECT_EQ(spot.exchange, "BINANCE");
  EXPECT_EQ(spot.pair, "btcusdt");
  EXPECT_EQ(spot.market_class, MarketClass::kSpot);
  EXPECT_EQ(spot.kind, InstrumentKind::kSpot);
  EXPECT_EQ(spot.contract_size, 1.0);
  EXPECT_EQ(spot.base, "BTC");
  EXPECT_EQ(spot.quote, "USDT");

  const MarketInfo& perp = r.info(r.intern("BINANCE_FUTURES:btcusd_perp"));
  EXPECT_EQ(perp.market_class, MarketClass::kPerp);
  EXPECT_EQ(perp.kind, InstrumentKind::kUnknown) << "contract terms are never guessed";
  EXPECT_EQ(perp.contract_size, 0.0);
  EXPECT_EQ(perp.base, "BTC");
  EXPECT_EQ(perp.quote, "USD");
}

TEST(MarketRegistry, LaterMetadataFillsUnknownFieldsAndConflictsAreErrors) {
  MarketRegistry r;
  const MarketId id = r.intern("BINANCE_FUTURES:btcusd_perp");
  MarketSpec spec{"BINANCE_FUTURES:btcusd_perp", InstrumentKind::kInverse, 100.0, "BTC", "USD"};
  EXPECT_EQ(r.add(spec), id);
  EXPECT_EQ(r.info(id).kind, InstrumentKind::kInverse);
  EXPECT_EQ(r.info(id).contract_size, 100.0);
  EXPECT_EQ(r.add(spec), id);  // same facts again: fine

  spec.contract_size = 10.0;
  try {
    r.add(spec);
    FAIL() << "conflicting contract size accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("BINANCE_FUTURES:btcusd_perp"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("contract size"), std::string::npos) << e.what();
  }
}

TEST(MarketRegistry, RejectsMalformedNamesAndNumbersWithTheName) {
  MarketRegistry r;
  for (const char* bad : {"btcusdt", ":btcusdt", "BINANCE:", ""}) {
    EXPECT_THROW(r.intern(bad), std::invalid_argument) << bad;
  }
  EXPECT_THROW(r.add({"OKEX:BTC-USDT-SWAP", InstrumentKind::kLinear, -1.0, "", ""}), std::invalid_argument);
  EXPECT_EQ(r.size(), 0u) << "a rejected market must not be half-added";
}

TEST(MarketRegistry, InfoReferencesSurviveLaterAdds) {
  MarketRegistry r;
  const MarketInfo& first = r.info(r.intern("BINANCE:btcusdt"));
  for (int i = 0; i < 1000; ++i) r.intern("X:m" + std::to_string(i));
  EXPECT_EQ(first.name, "BINANCE:btcusdt");
  EXPECT_EQ(r.size(), 1001u);
}

TEST(MarketRegistry, ClassOverridesApplyToExistingAndNewMarkets) {
  MarketRegistry r;
  const MarketId a = r.intern("SOMEX:btcusdt");
  EXPECT_EQ(r.info(a).market_class, MarketClass::kSpot);
  r.set_class_overrides({{"SOMEX:btcusdt", MarketClass::kPerp}});
  EXPECT_EQ(r.info(a).market_class, MarketClass::kPerp);
}

TEST(InferBaseQuote, SplitsTheNamingStylesOfEveryExchange) {
  struct Case {
    const char* pair;
    const char* base;
    const char* quote;
  } cases[] = {
      {"btcusdt", "BTC", "USDT"},     {"BTCUSDT-SPOT", "BTC", "USDT"}, {"BTC-USDT-SWAP", "BTC", "USDT"},
      {"btcusd_perp", "BTC", "USD"},  {"PI_XBTUSD", "BTC", "USD"},     {"XBT/USD", "BTC", "USD"},
      {"BTCF0:USTF0", "BTC", "USDT"}, {"XBTUSD", "BTC", "USD"},        {"BTC-PERPETUAL", "BTC", ""},
      {"ethbtc", "ETH", "BTC"},       {"BTC-PERP-INTX", "BTC", ""},
  };
  for (const auto& c : cases) {
    std::string base, quote;
    const bool ok = infer_base_quote(c.pair, base, quote);
    if (*c.quote == '\0') {
      EXPECT_FALSE(ok) << c.pair;
      continue;
    }
    ASSERT_TRUE(ok) << c.pair;
    EXPECT_EQ(base, c.base) << c.pair;
    EXPECT_EQ(quote, c.quote) << c.pair;
  }
}

}  // namespace
}  // namespace tickflow
