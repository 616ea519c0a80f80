// tests/unit/feeds/market_resolver_test.cc
//
// MarketResolver's allowlist (live feeds: only subscribed markets) and its
// survival of a full registry; the Binance parser skipping unconfigured
// symbols as kUnconfigured, without allocating or interning.
#include <gtest/gtest.h>

#include <string>

#include "feeds/market_resolver.h"
#include "feeds/parser_factory.h"
#include "tests/unit/feeds/allocation_counter.h"

namespace tickflow {
namespace {

TEST(MarketResolver, WithoutAnAllowlistEveryValidSymbolIsAMarket) {
  MarketRegistry registry;
  MarketResolver resolver("BINANCE", registry);
  const ResolvedMarket* a = resolver.resolve("BTCUSDT", PairCase::kLower, InstrumentKind::kSpot, 1);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(registry.info(a->id).name, "BINANCE:btcusdt");
  ASSERT_NE(resolver.resolve("anything", PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(resolver.resolve("a:b", PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  EXPECT_EQ(resolver.last_miss(), ResolveMiss::kInvalid);
  EXPECT_EQ(resolver.resolve("bad\x1b", PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  EXPECT_EQ(resolver.resolve(std::string(65, 'a'), PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  // A trailing backslash cannot be a tag value InfluxDB accepts.
  EXPECT_EQ(resolver.resolve("abc\\", PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  EXPECT_EQ(resolver.last_miss(), ResolveMiss::kInvalid);
  ASSERT_NE(resolver.resolve("a\\b", PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  EXPECT_EQ(registry.size(), 3u);
  EXPECT_EQ(resolver.unconfigured(), 0u);
}

TEST(MarketResolver, AllowlistRefusesOtherSymbolsWithoutAllocatingOrInterning) {
  MarketRegistry registry;
  MarketResolver resolver("BINANCE", registry);
  resolver.set_allowlist({"btcusdt", "ethusdt"});
  // Allowed, in either spelling the frame uses: one market each.
  const ResolvedMarket* btc = resolver.resolve("BTCUSDT", PairCase::kLower, InstrumentKind::kSpot, 1);
  ASSERT_NE(btc, nullptr);
  EXPECT_EQ(resolver.resolve("btcusdt", PairCase::kLower, InstrumentKind::kSpot, 1)->id, btc->id);
  EXPECT_EQ(registry.info(btc->id).name, "BINANCE:btcusdt");
  EXPECT_EQ(registry.size(), 1u);

  const long before = test::allocation_count();
  for (int i = 0; i < 1000; ++i) {
    char symbol[16];
    const int n = std::snprintf(symbol, sizeof symbol, "x%dusdt", i);
    ASSERT_EQ(resolver.resolve({symbol, static_cast<std::size_t>(n)}, PairCase::kLower, InstrumentKind::kSpot, 1),
              nullptr);
    ASSERT_EQ(resolver.last_miss(), ResolveMiss::kUnconfigured);
  }
  if (test::kCountsAllocations) {
    EXPECT_EQ(test::allocation_count(), before);
  }
  EXPECT_EQ(resolver.unconfigured(), 1000u);
  EXPECT_EQ(registry.size(), 1u);

  // Case variants of an allowed pair resolve, but their cache is capped.
  for (std::string v :
       {"Ethusdt", "eThusdt", "etHusdt", "ethUsdt", "ethuSdt", "ethusDt", "ethusdT", "ETHusdt", "ETHUSDT", "ethUSDT"})
    ASSERT_NE(resolver.resolve(v, PairCase::kLower, InstrumentKind::kSpot, 1), nullptr) << v;
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(resolver.unconfigured(), 1000u);
}

TEST(MarketResolver, AFullRegistryIsACountedMissNotAnException) {
  MarketRegistry registry;
  for (std::size_t i = 0; i < MarketRegistry::kMaxMarkets; ++i) registry.intern("X:m" + std::to_string(i));
  MarketResolver resolver("BINANCE", registry);
  EXPECT_EQ(resolver.resolve("btcusdt", PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  EXPECT_EQ(resolver.last_miss(), ResolveMiss::kFull);
  EXPECT_EQ(resolver.full(), 1u);
  resolver.set_allowlist({"ethusdt"});
  EXPECT_EQ(resolver.resolve("ethusdt", PairCase::kLower, InstrumentKind::kSpot, 1), nullptr);
  EXPECT_EQ(resolver.full(), 2u);
  EXPECT_EQ(registry.size(), MarketRegistry::kMaxMarkets);
}

TEST(MarketResolver, BinanceParserSkipsUnconfiguredSymbols) {
  MarketRegistry registry;
  auto parser = make_parser("BINANCE", registry);
  parser->markets().set_allowlist({"btcusdt"});
  EventBuffer out;
  PaddedFrame frame;
  auto trade = [](const std::string& stream, const std::string& s, int id) {
    return R"({"stream":")" + stream + R"(@trade","data":{"e":"trade","E":1723161255343,"s":")" + s + R"(","t":)" +
           std::to_string(id) + R"(,"p":"61837.63","q":"0.02","T":1723161255342,"m":true,"M":true}})";
  };
  frame.assign(trade("btcusdt", "BTCUSDT", 1));
  EXPECT_EQ(parser->parse(frame.view(), 1, out), ParseOutcome::kEvents);
  frame.assign(trade("ethusdt", "ETHUSDT", 2));
  out.clear();
  EXPECT_EQ(parser->parse(frame.view(), 1, out), ParseOutcome::kSkipped);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(parser->stats()[SkipKind::kUnconfigured], 1u);
  EXPECT_EQ(parser->stats().total_errors(), 0u);
  EXPECT_EQ(registry.size(), 1u);
}

}  // namespace
}  // namespace tickflow
