// Bars and rollups on real captures.
//
//  * Every 1 s bar of the bundled Binance trade captures (tests/data/
//    binance-20240808-trades: spot, USD-M and COIN-M BTC, the full six
//    minutes, across midnight UTC) equals, field for field and exactly, a bar
//    built from the raw frames by independent code: a plain text extraction
//    of T, p, q, m (no simdjson, no parser, no registry) and the plainest
//    grouping (bar_test_support.h). With ../shared/data, the six original
//    files (every stream) are checked the same way, merged by receive time.
//  * Published figures: BINANCE:btcusdt has 345 one-second bars; COIN-M
//    notional of BINANCE_FUTURES:btcusd_perp is 100 USD x Σq contracts.
//  * The rollups of real data equal an offline rollup of the emitted 1 s bars.
//  * Binance's own klines: 1m and 5m rollups of the XRP/ETH aggTrades in
//    ../shared/data/binance-xrpeth-2019 equal klines_1m.json / klines_5m.json
//    for every minute with trades (GPL data: read in place, skipped when
//    absent).
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <queue>
#include <sstream>
#include <string>

#include "feeds/capture_reader.h"
#include "feeds/parser_factory.h"
#include "pipeline/bar_builder.h"
#include "pipeline/rollup.h"
#include "tests/unit/pipeline/bar_test_support.h"

namespace tickflow {
namespace {

using test::BarKey;
using test::kMilli;

std::string bundled(const std::string& file) { return TICKFLOW_TEST_DATA_DIR "/binance-20240808-trades/" + file; }
std::string shared(const std::string& file) { return TICKFLOW_SHARED_DATA_DIR "/" + file; }
bool exists(const std::string& path) { return std::ifstream(path).good(); }

// ---- the independent side: raw text in, trades out -----------------------------

struct RawTrade {
  std::string symbol;  // "BTCUSDT", as the frame's "s" spells it
  std::int64_t time_ms = 0;
  double price = 0;
  double qty = 0;  // as sent: coins, or COIN-M contracts
  bool buyer_is_maker = false;
};

// The value after `"key":` (after its opening quote for string values).
const char* value_of(const std::string& line, const char* key) {
  const auto at = line.find(key);
  return at == std::string::npos ? nullptr : line.c_str() + at + std::strlen(key);
}

// Every `@trade` / `@aggTrade` frame of a gzip capture, in file order, read
// with zlib and strtod: no code shared with feeds/.
std::vector<RawTrade> extract_trades(const std::string& path) {
  std::vector<RawTrade> out;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return out;
  std::string line;
  char chunk[1 << 16];
  while (gzgets(file, chunk, sizeof chunk) != nullptr) {
    line += chunk;
    if (line.empty() || line.back() != '\n') continue;  // a line longer than the chunk: keep reading
    if (line.find("@trade\"") != std::string::npos || line.find("@aggTrade\"") != std::string::npos) {
      RawTrade t;
      const char* s = value_of(line, "\"s\":\"");
      t.symbol.assign(s, std::strchr(s, '"'));
      t.time_ms = std::strtoll(value_of(line, "\"T\":"), nullptr, 10);
      t.price = std::strtod(value_of(line, "\"p\":\""), nullptr);
      t.qty = std::strtod(value_of(line, "\"q\":\""), nullptr);
      t.buyer_is_maker = *value_of(line, "\"m\":") == 't';
      out.push_back(t);
    }
    line.clear();
  }
  gzclose(file);
  return out;
}

// ../shared/data/README.md: COIN-M q is contracts of 100 USD (BTC) or 10
// USD (ETH): base = q * contract / p, notional = base * p.
double contract_usd(const std::string& symbol) {
  if (symbol == "BTCUSD_PERP") return 100;
  if (symbol == "ETHUSD_PERP") return 10;
  return 0;
}

std::vector<Trade> to_trades(const std::vector<RawTrade>& raw, MarketId market) {
  std::vector<Trade> out;
  for (const RawTrade& r : raw) {
    const double contract = contract_usd(r.symbol);
    Trade t;
    t.market = market;
    t.exchange_ts_ns = r.time_ms * kMilli;
    t.price = r.price;
    t.qty = contract > 0 ? r.qty * contract / r.price : r.qty;
    t.side = r.buyer_is_maker ? Side::kSell : Side::kBuy;
    out.push_back(t);
  }
  return out;
}

// ---- the pipeline side: captures -> parsers -> BarBuilder -> Rollups ----------------

struct Capture {
  std::string exchange;
  std::string path;
};

struct PipelineRun {
  MarketRegistry registry;
  test::CollectingSink rollup_out;
  std::unique_ptr<Rollups> rollups;
  std::unique_ptr<test::ChainSink> chain;
  std::unique_ptr<BarBuilder> builder;
  std::uint64_t trades = 0;

  explicit PipelineRun(const std::vector<Timeframe>& timeframes = default_rollup_timeframes()) {
    BarBuilderConfig config;  // the defaults: 250 ms lateness, 10 min horizon, 2 s quiet delay
    config.max_markets = 64;
    RollupConfig rollup_config;
    rollup_config.timeframes = timeframes;
    rollup_config.max_markets = 64;
    rollup_config.amend_horizon_s = 600;
    rollups = std::make_unique<Rollups>(rollup_config, rollup_out);
    chain = std::make_unique<test::ChainSink>(*rollups);
    builder = std::make_unique<BarBuilder>(config, *chain);
  }

  // Several captures merged by receive time, as `tickflow replay` does; the
  // clock is the receive time of the frame being processed.
  void run(const std::vector<Capture>& captures) {
    struct Source {
      std::unique_ptr<ExchangeParser> parser;
      std::unique_ptr<CaptureReader> reader;
      CaptureRecord record;
      std::size_t index;
    };
    std::vector<std::unique_ptr<Source>> sources;
    for (std::size_t i = 0; i < captures.size(); ++i) {
      auto source = std::make_unique<Source>();
      source->parser = make_parser(captures[i].exchange, registry);
      source->reader = std::make_unique<CaptureReader>(captures[i].path);
      source->index = i;
      sources.push_back(std::move(source));
    }
    auto later = [](const Source* a, const Source* b) {
      return a->record.receive_ts_ns != b->record.receive_ts_ns ? a->record.receive_ts_ns > b->record.receive_ts_ns
                                                                : a->index > b->index;
    };
    std::priority_queue<Source*, std::vector<Source*>, decltype(later)> heap(later);
    for (auto& s : sources)
      if (s->reader->next(s->record)) heap.push(s.get());
    EventBuffer events;
    while (!heap.empty()) {
      Source* s = heap.top();
      heap.pop();
      events.clear();
      s->parser->parse(s->record.frame, s->record.receive_ts_ns, events);
      builder->advance_clock(s->record.receive_ts_ns);
      for (const FeedEvent& e : events)
        if (e.type == FeedEventType::kTrade) {
          builder->on_trade(e.trade);
          ++trades;
        }
      if (s->reader->next(s->record)) heap.push(s);
    }
    builder->flush();
    rollups->flush();
  }

  MarketId id(const std::string& name) const { return registry.find(name).value_or(kInvalidMarket); }
  std::map<BarKey, Bar> seconds() const { return test::last_versions(chain->bars); }
  std::map<BarKey, Bar> seconds_of(MarketId market) const {
    std::map<BarKey, Bar> out;
    for (const auto& [key, bar] : seconds())
      if (std::get<0>(key) == market) out[key] = bar;
    return out;
  }
};

struct BinanceFile {
  const char* file;
  const char* exchange;
  const char* market;
  std::size_t trades;  // published in ../shared/data/README.md
};

constexpr BinanceFile kBundled[] = {
    {"spot_btcusdt.gz", "BINANCE", "BINANCE:btcusdt", 9757},
    {"usdm_btcusdt.gz", "BINANCE_FUTURES", "BINANCE_FUTURES:btcusdt", 21313},
    {"cm_btcusd_perp.gz", "BINANCE_FUTURES", "BINANCE_FUTURES:btcusd_perp", 2286},
};

class BundledBinanceTrades : public ::testing::TestWithParam<BinanceFile> {};

TEST_P(BundledBinanceTrades, EveryOneSecondBarEqualsTheIndependentReference) {
  const BinanceFile& f = GetParam();
  const std::string path = bundled(f.file);
  ASSERT_TRUE(exists(path)) << path;
  PipelineRun run;
  run.run({{f.exchange, path}});
  const MarketId market = run.id(f.market);
  ASSERT_NE(market, kInvalidMarket);
  EXPECT_EQ(run.trades, f.trades);

  const auto raw = extract_trades(path);
  ASSERT_EQ(raw.size(), f.trades);
  const auto expected = test::reference_second_bars(to_trades(raw, market));
  test::expect_same_bars(run.seconds_of(market), expected, f.market);
  // In-order captures: every bar went out once, on close, with no amendment.
  const BarCounters& c = run.builder->counters(market);
  EXPECT_EQ(c.bars, expected.size());
  EXPECT_EQ(c.seconds_with_data, expected.size());
  EXPECT_EQ(c.amendments, 0u);
  EXPECT_EQ(c.late_drops, 0u);
  EXPECT_EQ(run.chain->bars.size(), expected.size());
}

INSTANTIATE_TEST_SUITE_P(Binance20240808, BundledBinanceTrades, ::testing::ValuesIn(kBundled), [](const auto& info) {
  std::string name = info.param.file;
  return name.substr(0, name.find('.'));
});

TEST(BinanceBars, SpotBtcusdtHas345OneSecondBars) {
  PipelineRun run;
  run.run({{"BINANCE", bundled("spot_btcusdt.gz")}});
  const MarketId market = run.id("BINANCE:btcusdt");
  EXPECT_EQ(run.seconds_of(market).size(), 345u);
  EXPECT_EQ(run.builder->counters(market).bars, 345u);
  // 1723161255.342 .. 1723161601.271: 347 seconds from first to last, so two
  // empty seconds, and the capture crosses midnight UTC (1723161600).
  EXPECT_EQ(run.seconds_of(market).begin()->second.open_time_s, 1'723'161'255);
  EXPECT_EQ(run.seconds_of(market).rbegin()->second.open_time_s, 1'723'161'601);
  EXPECT_EQ(run.builder->counters(market).gap_seconds, 347u - 345u);
}

TEST(BinanceBars, CoinMarginedNotionalIsHundredUsdPerContract) {
  PipelineRun run;
  run.run({{"BINANCE_FUTURES", bundled("cm_btcusd_perp.gz")}});
  const MarketId market = run.id("BINANCE_FUTURES:btcusd_perp");
  double contracts = 0;
  for (const RawTrade& r : extract_trades(bundled("cm_btcusd_perp.gz"))) contracts += r.qty;
  EXPECT_EQ(contracts, 83241.0) << "sum q published in ../shared/data/README.md";
  double notional = 0;
  for (const auto& [key, bar] : run.seconds_of(market)) notional += bar.vbuy + bar.vsell;
  const double expected = 100.0 * 83241.0;
  EXPECT_LE(std::abs(notional - expected), 1e-12 * expected) << notional << " vs " << expected;
  EXPECT_NE(notional, 0.0);
}

TEST(BinanceBars, RollupsOfRealDataEqualTheOfflineRollupOfTheirSeconds) {
  const auto timeframes = parse_timeframe_list("1m,5m,15m,30m,1h,4h,7m");
  PipelineRun run(timeframes);
  std::vector<Capture> captures;
  for (const BinanceFile& f : kBundled) captures.push_back({f.exchange, bundled(f.file)});
  run.run(captures);
  const auto seconds = run.seconds();
  EXPECT_EQ(seconds.size(), 345u + 344u + 202u);  // distinct seconds with trades per file (independent count below)
  const auto rollups = test::last_versions(run.rollup_out.bars);
  std::size_t total = 0;
  for (const Timeframe& tf : timeframes) {
    std::map<BarKey, Bar> emitted;
    for (const auto& [key, bar] : rollups)
      if (std::get<1>(key) == tf.seconds()) emitted[key] = bar;
    const auto expected = test::reference_rollup(seconds, tf.seconds());
    test::expect_same_bars(emitted, expected, std::string(tf.name()).c_str());
    total += expected.size();
  }
  EXPECT_EQ(rollups.size(), total);
  // Midnight UTC splits the 4h windows: 20:00-24:00 and 00:00-04:00 for each market.
  const MarketId spot = run.id("BINANCE:btcusdt");
  EXPECT_TRUE(rollups.count({spot, 14'400u, 1'723'161'600 - 14'400}));
  EXPECT_TRUE(rollups.count({spot, 14'400u, 1'723'161'600}));
  EXPECT_EQ(run.rollup_out.bars.size(), rollups.size()) << "in-order data: each window emitted once";

  // The independent count of distinct seconds.
  std::size_t distinct = 0;
  for (const BinanceFile& f : kBundled)
    distinct += test::reference_second_bars(to_trades(extract_trades(bundled(f.file)), 0)).size();
  EXPECT_EQ(seconds.size(), distinct);
}

TEST(BinanceBars, AllSixOriginalFilesMergedByReceiveTime) {
  const std::string dir = shared("binance-20240808/");
  if (!exists(dir + "spot_btcusdt.gz")) GTEST_SKIP() << "../shared/data is absent";
  const BinanceFile files[] = {
      {"spot_btcusdt.gz", "BINANCE", "BINANCE:btcusdt", 9757},
      {"spot_ethusdt.gz", "BINANCE", "BINANCE:ethusdt", 6106},
      {"usdm_btcusdt.gz", "BINANCE_FUTURES", "BINANCE_FUTURES:btcusdt", 21313},
      {"usdm_ethusdt.gz", "BINANCE_FUTURES", "BINANCE_FUTURES:ethusdt", 14076},
      {"cm_btcusd_perp.gz", "BINANCE_FUTURES", "BINANCE_FUTURES:btcusd_perp", 2286},
      {"cm_ethusd_perp.gz", "BINANCE_FUTURES", "BINANCE_FUTURES:ethusd_perp", 1732},
  };
  PipelineRun run;
  std::vector<Capture> captures;
  for (const BinanceFile& f : files) captures.push_back({f.exchange, dir + f.file});
  run.run(captures);
  std::size_t trades = 0;
  for (const BinanceFile& f : files) {
    SCOPED_TRACE(f.market);
    const MarketId market = run.id(f.market);
    ASSERT_NE(market, kInvalidMarket);
    const auto raw = extract_trades(dir + f.file);
    ASSERT_EQ(raw.size(), f.trades);
    trades += raw.size();
    test::expect_same_bars(run.seconds_of(market), test::reference_second_bars(to_trades(raw, market)), f.market);
  }
  EXPECT_EQ(run.trades, trades);
  EXPECT_EQ(run.builder->totals().late_drops, 0u);
}

// ---- Binance's own klines ----------------------------------------------------------

struct Kline {
  std::int64_t open_time_s;
  double open, high, low, close, volume;
};

// [[open_time_ms, open, high, low, close, base_volume], ...]
std::vector<Kline> read_klines(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  for (char& c : s)
    if (c == '[' || c == ']' || c == ',') c = ' ';
  std::istringstream numbers(s);
  std::vector<Kline> out;
  double v[6];
  while (numbers >> v[0] >> v[1] >> v[2] >> v[3] >> v[4] >> v[5])
    out.push_back({static_cast<std::int64_t>(v[0]) / 1000, v[1], v[2], v[3], v[4], v[5]});
  return out;
}

TEST(BinanceKlines, OneAndFiveMinuteRollupsEqualBinancesKlines) {
  const std::string dir = shared("binance-xrpeth-2019/");
  if (!exists(dir + "xrpeth_aggtrade.gz")) GTEST_SKIP() << "../shared/data/binance-xrpeth-2019 is absent";
  PipelineRun run(parse_timeframe_list("1m,5m"));
  run.run({{"BINANCE", dir + "xrpeth_aggtrade.gz"}});
  EXPECT_EQ(run.trades, 12'477u);
  const MarketId market = run.id("BINANCE:xrpeth");
  ASSERT_NE(market, kInvalidMarket);
  const auto rollups = test::last_versions(run.rollup_out.bars);

  for (auto [timeframe_s, file] : {std::pair{60u, "klines_1m.json"}, {300u, "klines_5m.json"}}) {
    SCOPED_TRACE(file);
    const auto klines = read_klines(dir + file);
    ASSERT_GT(klines.size(), 100u);
    std::size_t traded = 0;
    for (const Kline& k : klines) {
      const auto it = rollups.find({market, timeframe_s, k.open_time_s});
      if (k.volume == 0) {
        EXPECT_EQ(it, rollups.end()) << "a bar for a window without trades at " << k.open_time_s;
        continue;
      }
      ++traded;
      ASSERT_NE(it, rollups.end()) << "no bar for the traded window at " << k.open_time_s;
      const Bar& b = it->second;
      SCOPED_TRACE(k.open_time_s);
      EXPECT_EQ(b.open, k.open);
      EXPECT_EQ(b.high, k.high);
      EXPECT_EQ(b.low, k.low);
      EXPECT_EQ(b.close, k.close);
      EXPECT_LE(std::abs(b.qbuy + b.qsell - k.volume), 1e-9 * k.volume) << b.qbuy + b.qsell << " vs " << k.volume;
    }
    std::size_t emitted = 0;
    for (const auto& [key, bar] : rollups) emitted += std::get<1>(key) == timeframe_s ? 1 : 0;
    EXPECT_EQ(emitted, traded) << "one bar per traded window, none for windows the klines do not cover";
    EXPECT_GT(traded, 50u);
  }
}

}  // namespace
}  // namespace tickflow
