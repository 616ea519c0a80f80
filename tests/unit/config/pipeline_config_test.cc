// config/pipeline_config: the shipped profiles load with the thread plan they
// promise; every error names the file, the key path and the problem.
#include "config/pipeline_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace tickflow {
namespace {

const std::filesystem::path kTuningDir = std::filesystem::path(TICKFLOW_SOURCE_DIR) / "tuning";

std::string error_of(std::string_view toml, std::string_view file = "test.toml") {
  try {
    parse_pipeline_config(toml, std::filesystem::path(file));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_default_markets(const PipelineConfig& c) {
  ASSERT_EQ(c.markets.size(), 6u);
  EXPECT_EQ(c.markets.at("BINANCE"), (std::vector<std::string>{"btcusdt", "ethusdt"}));
  EXPECT_EQ(c.markets.at("BINANCE_FUTURES"), (std::vector<std::string>{"btcusdt", "ethusdt"}));
  EXPECT_EQ(c.markets.at("BYBIT"), (std::vector<std::string>{"BTCUSDT", "ETHUSDT"}));
  EXPECT_EQ(c.markets.at("BYBIT_SPOT"), (std::vector<std::string>{"BTCUSDT", "ETHUSDT"}));
  EXPECT_EQ(c.markets.at("OKEX"), (std::vector<std::string>{"BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP", "ETH-USDT-SWAP"}));
  EXPECT_EQ(c.markets.at("COINBASE"), (std::vector<std::string>{"BTC-USD", "ETH-USD"}));
}

// The shipped profiles (tuning/*.toml but bench-2core-spin): BTC and ETH,
// spot and perpetual, on twenty-four venues, every exchange on one feed thread.
void expect_venue_markets(const PipelineConfig& c) {
  ASSERT_EQ(c.markets.size(), 33u);
  EXPECT_EQ(c.markets.at("BINANCE"), (std::vector<std::string>{"btcusdt", "ethusdt"}));
  EXPECT_EQ(c.markets.at("OKEX"), (std::vector<std::string>{"BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP", "ETH-USDT-SWAP"}));
  EXPECT_EQ(c.markets.at("KRAKEN_FUTURES"), (std::vector<std::string>{"PF_XBTUSD", "PF_ETHUSD"}));
  EXPECT_EQ(c.markets.at("BITFINEX"), (std::vector<std::string>{"tBTCUSD", "tETHUSD", "tBTCF0:USTF0", "tETHF0:USTF0"}));
  EXPECT_EQ(c.markets.at("HYPERLIQUID"), (std::vector<std::string>{"BTC", "ETH"}));
  EXPECT_EQ(c.markets.at("BITMART_FUTURES"), (std::vector<std::string>{"BTCUSDT"}));
  EXPECT_EQ(c.markets.at("KUCOIN_FUTURES"), (std::vector<std::string>{"XBTUSDTM", "ETHUSDTM"}));
  EXPECT_EQ(c.markets.at("PHEMEX"), (std::vector<std::string>{"sBTCUSDT", "sETHUSDT", "BTCUSDT", "ETHUSDT"}));
  std::size_t symbols = 0, owned = 0;
  for (const auto& [exchange, list] : c.markets) symbols += list.size();
  for (const auto& feed : c.feeds) owned += feed.exchanges.size();
  EXPECT_EQ(symbols, 73u);
  EXPECT_EQ(owned, 33u);
}

// name@cpu/wait for every thread, e.g. "tf-feed-0@4/spin tf-agg@-/park".
std::string plan_of(const PipelineConfig& c) {
  std::string out;
  for (const ThreadConfig* t : c.threads()) {
    if (!out.empty()) out += ' ';
    out += t->name + "@" + (t->cpu ? std::to_string(*t->cpu) : "-") + "/" + std::string(to_string(t->wait));
  }
  return out;
}

TEST(PipelineConfigProfiles, Laptop2CoreParksEverythingUnpinned) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "laptop-2core.toml");
  expect_venue_markets(c);
  EXPECT_EQ(plan_of(c), "tf-feed-0@-/park tf-agg@-/park tf-writer@-/park");
  ASSERT_EQ(c.feeds.size(), 1u);
  EXPECT_EQ(c.feeds[0].exchanges.size(), 33u);  // owns every exchange
  EXPECT_EQ(c.rings.full_policy, FullRingPolicy::kBlock);
  EXPECT_EQ(c.source, kTuningDir / "laptop-2core.toml");
}

TEST(PipelineConfigProfiles, Bench2CoreSpinPinsFeedAndAggregator) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "bench-2core-spin.toml");
  expect_default_markets(c);
  EXPECT_EQ(plan_of(c), "tf-feed-0@0/spin tf-agg@1/spin tf-writer@-/park");
}

TEST(PipelineConfigProfiles, Host4Core) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "host-4core.toml");
  expect_venue_markets(c);
  EXPECT_EQ(plan_of(c), "tf-feed-0@1/yield tf-feed-1@2/yield tf-agg@3/yield tf-writer@0/park");
  EXPECT_EQ(c.feeds[1].exchanges,
            (std::vector<std::string>{"OKEX", "COINBASE", "KRAKEN", "KRAKEN_FUTURES", "BITFINEX", "BITMEX", "DERIBIT",
                                      "BITSTAMP", "MEXC_FUTURES", "CRYPTOCOM", "PHEMEX", "POLONIEX", "HITBTC", "MEXC",
                                      "BITMART", "BITMART_FUTURES"}));
}

TEST(PipelineConfigProfiles, Host8Core) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "host-8core.toml");
  expect_venue_markets(c);
  EXPECT_EQ(plan_of(c), "tf-feed-0@2/yield tf-feed-1@3/yield tf-feed-2@4/yield tf-agg@5/yield tf-writer@1/park");
}

TEST(PipelineConfigProfiles, Host16CoreIsolatedSpinsOnIsolatedCores) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "host-16core-isolated.toml");
  expect_venue_markets(c);
  EXPECT_EQ(plan_of(c), "tf-feed-0@4/spin tf-feed-1@5/spin tf-feed-2@6/spin tf-agg@7/spin tf-writer@3/park");
  EXPECT_EQ(c.feeds[0].exchanges, (std::vector<std::string>{"BINANCE", "BINANCE_FUTURES"}));
  EXPECT_EQ(c.influx.spool_dir, "/var/lib/tickflow/spool");
}

TEST(PipelineConfigProfiles, EveryShippedProfileLoads) {
  int profiles = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTuningDir)) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().string());
    EXPECT_NO_THROW(load_pipeline_config(entry.path()));
    ++profiles;
  }
  EXPECT_GE(profiles, 5);
}

TEST(PipelineConfigDefaults, EmptyFileIsTheLaptopPlan) {
  const PipelineConfig c = parse_pipeline_config("", "empty.toml");
  expect_default_markets(c);
  EXPECT_EQ(plan_of(c), "tf-feed-0@-/park tf-agg@-/park tf-writer@-/park");
  EXPECT_EQ(c.rings.feed_events, 65536u);
  EXPECT_EQ(c.rings.writer_items, 16384u);
  EXPECT_EQ(c.rings.full_policy, FullRingPolicy::kBlock);
  EXPECT_EQ(c.bars.lateness, std::chrono::milliseconds(250));
  EXPECT_EQ(c.bars.quiet_delay, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.bars.amend_horizon, std::chrono::seconds(600));
  EXPECT_EQ(to_string(c.bars.rollups), "1m,5m,15m,30m,1h,4h");
  EXPECT_TRUE(c.influx.enabled);
  EXPECT_EQ(c.influx.url, "http://127.0.0.1:8086");
  EXPECT_EQ(c.influx.database, "significant_trades");
  EXPECT_EQ(c.influx.batch_lines, 5000u);
  EXPECT_EQ(c.influx.batch_age, std::chrono::milliseconds(100));
  EXPECT_EQ(c.influx.spool_dir, "var/spool");
  EXPECT_EQ(c.influx.spool_full_policy, SpoolFullPolicy::kBlock);
  EXPECT_EQ(c.influx.credentials_file, "");
  EXPECT_EQ(c.metrics.bind, "127.0.0.1");
  EXPECT_EQ(c.metrics.port, 9464);
  EXPECT_EQ(c.shutdown_deadline, std::chrono::milliseconds(5000));
}

TEST(PipelineConfigDefaults, MarketsReplaceTheDefaultsAndOneFeedOwnsThem) {
  const PipelineConfig c = parse_pipeline_config("[markets]\nBINANCE = [\"btcusdt\"]\n", "m.toml");
  ASSERT_EQ(c.markets.size(), 1u);
  ASSERT_EQ(c.feeds.size(), 1u);
  EXPECT_EQ(c.feeds[0].exchanges, (std::vector<std::string>{"BINANCE"}));
}

TEST(PipelineConfigDefaults, FeedNamesDefaultToTheirIndex) {
  const PipelineConfig c = parse_pipeline_config(
      "[markets]\nBINANCE = [\"btcusdt\"]\nOKEX = [\"BTC-USDT\"]\n"
      "[[threads.feed]]\nexchanges = [\"BINANCE\"]\n[[threads.feed]]\nexchanges = [\"OKEX\"]\npriority = 20\n",
      "f.toml");
  EXPECT_EQ(plan_of(c), "tf-feed-0@-/park tf-feed-1@-/park tf-agg@-/park tf-writer@-/park");
  EXPECT_EQ(c.feeds[1].thread.fifo_priority, 20);
}

TEST(PipelineConfigDefaults, SinkConfigCarriesRetentionAndSpool) {
  PipelineConfig c = parse_pipeline_config(
      "[bars]\nrollups = [\"1m\", \"60m\"]\n[influx]\nspool_dir = \"/tmp/s\"\nspool_full_policy = \"drop_oldest\"\n"
      "[influx.retention]\n\"1s\" = \"24h\"\n\"1h\" = \"INF\"\n",
      "s.toml");
  const InfluxSinkConfig sink = make_influx_sink_config(c);
  ASSERT_EQ(sink.retention.size(), 3u);
  EXPECT_EQ(sink.retention[0].name, "aggr_1s");
  EXPECT_EQ(sink.retention[0].duration, "24h");
  EXPECT_EQ(sink.retention[2].name, "aggr_1h");
  ASSERT_TRUE(sink.spool.has_value());
  EXPECT_EQ(sink.spool->dir, "/tmp/s");
  EXPECT_EQ(sink.spool->full_policy, SpoolFullPolicy::kDropOldest);
}

// ---- errors: file, key, problem (and line:column where TOML has one) ----

TEST(PipelineConfigErrors, UnknownKeySuggestsTheClosest) {
  EXPECT_EQ(error_of("[threads.aggregator]\nwiat = \"spin\"\n"),
            "test.toml:2:1: threads.aggregator.wiat: unknown key (did you mean 'wait'?)");
  EXPECT_EQ(error_of("[rings]\nfeed_event = 1024\n"),
            "test.toml:2:1: rings.feed_event: unknown key (did you mean 'feed_events'?)");
  const std::string far = error_of("[metrics]\nzzzzzzzzzz = 1\n");
  EXPECT_NE(far.find("test.toml:2:1: metrics.zzzzzzzzzz: unknown key (known keys: bind port"), std::string::npos)
      << far;
  EXPECT_EQ(error_of("colour = 1\n"),
            "test.toml:1:1: colour: unknown key (known keys: markets threads rings bars "
            "influx metrics feeds strategy signals shutdown memory bus)");
}

TEST(PipelineConfigMemory, LockIsOffByDefaultAndReadFromItsTable) {
  EXPECT_FALSE(parse_pipeline_config("", "empty.toml").memory.lock);
  EXPECT_TRUE(parse_pipeline_config("[memory]\nlock = true\n", "m.toml").memory.lock);
  EXPECT_FALSE(parse_pipeline_config("[memory]\nlock = false\n", "m.toml").memory.lock);
  EXPECT_EQ(error_of("[memory]\nlock = \"yes\"\n"),
            "test.toml:2:8: memory.lock: expected a boolean (true or false), got a string");
  EXPECT_EQ(error_of("[memory]\nlocked = true\n"), "test.toml:2:1: memory.locked: unknown key (did you mean 'lock'?)");
  EXPECT_EQ(error_of("memory = 1\n"), "test.toml:1:10: memory: expected a table, got an integer");
}

// Host profiles lock their memory; the laptop (and the bench) profile does
// not: a desktop's RLIMIT_MEMLOCK is a few MiB and nothing there is latency-
// critical enough to pin hundreds of MiB of RAM.
TEST(PipelineConfigProfiles, HostProfilesLockMemory) {
  for (const char* name : {"host-4core.toml", "host-8core.toml", "host-16core-isolated.toml"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(load_pipeline_config(kTuningDir / name).memory.lock);
  }
  EXPECT_FALSE(load_pipeline_config(kTuningDir / "laptop-2core.toml").memory.lock);
}

TEST(PipelineConfigErrors, WrongType) {
  EXPECT_EQ(error_of("[threads.aggregator]\ncpu = \"3\"\n"),
            "test.toml:2:7: threads.aggregator.cpu: expected an integer, got a string");
  EXPECT_EQ(error_of("[influx]\ngzip = 1\n"),
            "test.toml:2:8: influx.gzip: expected a boolean (true or false), got an integer");
  EXPECT_EQ(error_of("threads = 3\n"), "test.toml:1:11: threads: expected a table, got an integer");
  EXPECT_EQ(error_of("[markets]\nBINANCE = \"btcusdt\"\n"),
            "test.toml:2:11: markets.BINANCE: expected an array of symbols, got a string");
}

TEST(PipelineConfigErrors, RingSizeMustBeAPowerOfTwo) {
  EXPECT_EQ(error_of("[rings]\nfeed_events = 1000\n"),
            "test.toml:2:15: rings.feed_events: ring size must be a power of two, got 1000");
  EXPECT_EQ(error_of("[rings]\nwriter_items = 0\n"),
            "test.toml:2:16: rings.writer_items: must be between 2 and 16777216, got 0");
  EXPECT_EQ(error_of("[rings]\nfull_policy = \"spill\"\n"),
            "test.toml:2:15: rings.full_policy: unknown full-ring policy 'spill' (expected block or drop)");
}

TEST(PipelineConfigErrors, UnknownWaitStrategy) {
  EXPECT_EQ(error_of("[threads.aggregator]\nwait = \"spinn\"\n"),
            "test.toml:2:8: threads.aggregator.wait: unknown wait strategy 'spinn' (expected spin, yield or park)");
  EXPECT_EQ(error_of("[[threads.feed]]\nwait = \"sleep\"\n"),
            "test.toml:2:8: threads.feed[0].wait: unknown wait strategy 'sleep' (expected spin, yield or park)");
}

TEST(PipelineConfigErrors, BadTimeframe) {
  const std::string e = error_of("[bars]\nrollups = [\"1m\", \"7x\"]\n");
  EXPECT_EQ(e.rfind("test.toml:2:18: bars.rollups[1]: bad timeframe: ", 0), 0u) << e;
  EXPECT_NE(e.find("7x"), std::string::npos) << e;
  EXPECT_EQ(error_of("[bars]\nrollups = [\"1m\", \"60s\"]\n"),
            "test.toml:2:18: bars.rollups[1]: duplicate timeframe '60s'");
  const std::string r = error_of("[influx.retention]\n\"1q\" = \"24h\"\n");
  EXPECT_EQ(r.rfind("test.toml:2:8: influx.retention.1q: bad timeframe: ", 0), 0u) << r;
  EXPECT_EQ(error_of("[influx.retention]\n\"1s\" = \"a day\"\n"),
            "test.toml:2:8: influx.retention.1s: bad InfluxQL duration 'a day' (e.g. \"24h\", \"90d\", \"INF\")");
}

TEST(PipelineConfigErrors, BadValues) {
  EXPECT_EQ(error_of("[metrics]\nport = 70000\n"),
            "test.toml:2:8: metrics.port: must be between 1 and 65535, got 70000");
  EXPECT_EQ(error_of("[threads.writer]\npriority = 120\n"),
            "test.toml:2:12: threads.writer.priority: must be between 1 and 99, got 120");
  EXPECT_EQ(error_of("[threads.writer]\nname = \"a-very-long-thread-name\"\n"),
            "test.toml:2:8: threads.writer.name: thread names are 1 to 15 characters (the kernel's limit), got "
            "'a-very-long-thread-name'");
  EXPECT_EQ(error_of("[influx]\nurl = \"localhost:8086\"\n"),
            "test.toml:2:7: influx.url: expected an http:// or https:// URL, got 'localhost:8086'");
  EXPECT_EQ(error_of("[markets]\nBINANCEE = [\"btcusdt\"]\n")
                .rfind("test.toml:2:1: markets.BINANCEE: unknown exchange 'BINANCEE' (known: BINANCE, ", 0),
            0u);
  EXPECT_EQ(error_of("[markets]\nBINANCE = [\"btcusdt\"]\n[threads.aggregator]\nname = \"tf-feed-0\"\n"),
            "test.toml: threads: two threads are named 'tf-feed-0'");
}

TEST(PipelineConfigErrors, FeedOwnership) {
  const std::string two = "[markets]\nBINANCE = [\"btcusdt\"]\nOKEX = [\"BTC-USDT\"]\n";
  EXPECT_EQ(error_of(two + "[[threads.feed]]\nexchanges = [\"BINANCE\"]\n"),
            "test.toml: threads.feed: exchange 'OKEX' in [markets] is owned by no feed thread (add it to a feed's "
            "exchanges)");
  EXPECT_EQ(error_of(two + "[[threads.feed]]\nexchanges = [\"BINANCE\", \"OKEX\"]\n[[threads.feed]]\n"),
            "test.toml:6:1: threads.feed[1].exchanges: required when there is more than one feed thread");
  EXPECT_EQ(error_of(two + "[[threads.feed]]\nexchanges = [\"BINANCE\", \"OKEX\"]\n[[threads.feed]]\n"
                           "exchanges = [\"OKEX\"]\n"),
            "test.toml:7:14: threads.feed[1].exchanges[0]: exchange 'OKEX' is already owned by tf-feed-0");
  EXPECT_EQ(error_of(two + "[[threads.feed]]\nexchanges = [\"BINANCE\", \"OKEX\", \"COINBASE\"]\n"),
            "test.toml:5:33: threads.feed[0].exchanges[2]: exchange 'COINBASE' has no entry in [markets]");
}

TEST(PipelineConfigErrors, PasswordIsRejectedWherever) {
  const std::string e = error_of("[influx]\nurl = \"http://db:8086\"\npassword = \"hunter2\"\n");
  EXPECT_EQ(e.rfind("test.toml:3:1: influx.password: passwords do not belong in the config file; set "
                    "INFLUX_PASSWORD",
                    0),
            0u)
      << e;
  EXPECT_NE(e.find("influx.credentials_file"), std::string::npos);
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << "the secret itself must never be echoed";
  EXPECT_NE(error_of("influx_password = \"x\"\n").find("influx_password: passwords do not belong"), std::string::npos);
}

TEST(PipelineConfigErrors, SyntaxErrorHasLineAndColumn) {
  const std::string e = error_of("[bars]\nlateness_ms = 250\nrollups = [\"1m\",\n[influx]\n");
  EXPECT_EQ(e.rfind("test.toml:4:", 0), 0u) << e;
  EXPECT_NE(e.find("TOML syntax error: "), std::string::npos) << e;
  const std::string dup = error_of("[bars]\nlateness_ms = 1\nlateness_ms = 2\n");
  EXPECT_EQ(dup.rfind("test.toml:3:", 0), 0u) << dup;
}

TEST(PipelineConfigErrors, MissingFileNamesIt) {
  try {
    load_pipeline_config("/nonexistent/tickflow.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/tickflow.toml: cannot open the config file");
  }
}

TEST(PipelineConfigErrors, LoadNamesTheRealFile) {
  const auto path = std::filesystem::temp_directory_path() / "tickflow_pipeline_config_test.toml";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("# comment\n[threads.aggregator]\nwait = 3\n", f);
    std::fclose(f);
  }
  try {
    load_pipeline_config(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ":3:8: threads.aggregator.wait: expected a string, got an integer");
  }
  std::filesystem::remove(path);
}

// ---- [feeds]: the live connections' settings ----

TEST(PipelineConfigFeeds, DefaultsWithoutTheTable) {
  const PipelineConfig c = parse_pipeline_config("", "empty.toml");
  EXPECT_EQ(c.live.stale_after, std::chrono::milliseconds(30'000));
  EXPECT_EQ(c.live.connect_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(c.live.backoff_initial, std::chrono::milliseconds(100));
  EXPECT_EQ(c.live.backoff_max, std::chrono::milliseconds(30'000));
  EXPECT_TRUE(c.live.backfill);
  EXPECT_TRUE(c.live.endpoints.empty());
  EXPECT_TRUE(c.live.channels.empty());
}

TEST(PipelineConfigFeeds, EveryKeyIsRead) {
  const PipelineConfig c = parse_pipeline_config(
      "[markets]\nBINANCE = [\"btcusdt\"]\nOKEX = [\"BTC-USDT\"]\n"
      "[feeds]\nstale_after_ms = 4000\nconnect_timeout_ms = 1500\nbackoff_initial_ms = 200\nbackoff_max_ms = 8000\n"
      "backfill = false\n"
      "[feeds.endpoints.BINANCE]\nhost = \"127.0.0.1\"\nport = 18443\npath = \"/ws\"\nca_file = "
      "\"/etc/tickflow/ca.pem\"\n"
      "rest_url = \"https://127.0.0.1:18444\"\n"
      "[feeds.endpoints.OKEX]\nport = 8443\n"
      "[feeds.channels]\nBINANCE = [\"trade\", \"aggTrade\"]\nOKEX = [\"trades\"]\n",
      "feeds.toml");
  EXPECT_EQ(c.live.stale_after, std::chrono::milliseconds(4000));
  EXPECT_EQ(c.live.connect_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.live.backoff_initial, std::chrono::milliseconds(200));
  EXPECT_EQ(c.live.backoff_max, std::chrono::milliseconds(8000));
  EXPECT_FALSE(c.live.backfill);
  ASSERT_EQ(c.live.endpoints.size(), 2u);
  const EndpointConfig& binance = c.live.endpoints.at("BINANCE");
  EXPECT_EQ(binance.host, "127.0.0.1");
  EXPECT_EQ(binance.port, 18443);
  EXPECT_EQ(binance.path, "/ws");
  EXPECT_EQ(binance.ca_file, "/etc/tickflow/ca.pem");
  EXPECT_EQ(binance.rest_url, "https://127.0.0.1:18444");
  const EndpointConfig& okex = c.live.endpoints.at("OKEX");  // unset keys keep the venue's defaults
  EXPECT_EQ(okex.host, "");
  EXPECT_EQ(okex.port, 8443);
  EXPECT_EQ(okex.path, "");
  EXPECT_EQ(okex.ca_file, "");
  EXPECT_EQ(okex.rest_url, "");
  ASSERT_EQ(c.live.channels.size(), 2u);
  EXPECT_EQ(c.live.channels.at("BINANCE"), (std::vector<std::string>{"trade", "aggTrade"}));
  EXPECT_EQ(c.live.channels.at("OKEX"), (std::vector<std::string>{"trades"}));
}

TEST(PipelineConfigFeeds, UnknownKeysNameTheirFullPath) {
  EXPECT_EQ(error_of("[feeds]\nstale_after = 100\n"),
            "test.toml:2:1: feeds.stale_after: unknown key (did you mean 'stale_after_ms'?)");
  EXPECT_EQ(error_of("[feeds]\nretries = 3\n"),
            "test.toml:2:1: feeds.retries: unknown key (known keys: stale_after_ms connect_timeout_ms "
            "backoff_initial_ms backoff_max_ms backfill liquidations gap_hold_ms tls_records endpoints channels)");
  EXPECT_EQ(error_of("[feeds]\ntls_records = \"boringssl\"\n"),
            "test.toml:2:15: feeds.tls_records: unknown TLS record reader 'boringssl' (expected tickflow or openssl)");
  EXPECT_EQ(error_of("[feeds.endpoints.BINANCE]\nhots = \"127.0.0.1\"\n"),
            "test.toml:2:1: feeds.endpoints.BINANCE.hots: unknown key (did you mean 'host'?)");
  EXPECT_EQ(error_of("[feeds.endpoints.BINANCE]\nurl = \"wss://example\"\n"),
            "test.toml:2:1: feeds.endpoints.BINANCE.url: unknown key (known keys: host port path ca_file rest_url "
            "bootstrap_url)");
}

TEST(PipelineConfigFeeds, EndpointsAndChannelsNeedTheExchangeInMarkets) {
  // The default markets have no KRAKEN.
  EXPECT_EQ(error_of("[feeds.endpoints.KRAKEN]\nhost = \"127.0.0.1\"\n"),
            "test.toml:1:1: feeds.endpoints.KRAKEN: no markets are configured for exchange 'KRAKEN' ([markets])");
  EXPECT_EQ(error_of("[markets]\nBINANCE = [\"btcusdt\"]\n[feeds.channels]\nOKEX = [\"trades\"]\n"),
            "test.toml:4:8: feeds.channels.OKEX: no markets are configured for exchange 'OKEX' ([markets])");
  EXPECT_EQ(error_of("[feeds.endpoints.NOSUCH]\nhost = \"127.0.0.1\"\n"),
            "test.toml:1:1: feeds.endpoints.NOSUCH: no markets are configured for exchange 'NOSUCH' ([markets])");
  // TOML tables are unordered: [feeds] may come before [markets].
  const PipelineConfig c = parse_pipeline_config(
      "[feeds.endpoints.OKEX]\nhost = \"127.0.0.1\"\n[markets]\nOKEX = [\"BTC-USDT\"]\n", "order.toml");
  EXPECT_EQ(c.live.endpoints.at("OKEX").host, "127.0.0.1");
}

TEST(PipelineConfigFeeds, BackoffMaxMustNotBeBelowTheInitialBackoff) {
  EXPECT_EQ(error_of("[feeds]\nbackoff_initial_ms = 500\nbackoff_max_ms = 100\n"),
            "test.toml:3:18: feeds.backoff_max_ms: backoff_max_ms (100) must be >= backoff_initial_ms (500)");
  // Against the default backoff_max_ms (30000): the key the file has is
  // named, and the default it was compared with is shown.
  EXPECT_EQ(error_of("[feeds]\nbackoff_initial_ms = 60000\n"),
            "test.toml:2:22: feeds.backoff_initial_ms: backoff_max_ms (30000) must be >= backoff_initial_ms (60000)");
  EXPECT_EQ(error_of("[feeds]\nbackoff_initial_ms = 500\nbackoff_max_ms = 500\n"), "(no error)");
}

TEST(PipelineConfigFeeds, WrongTypesAndBadValues) {
  EXPECT_EQ(error_of("[feeds.channels]\nBINANCE = \"trade\"\n"),
            "test.toml:2:11: feeds.channels.BINANCE: expected an array of strings, got a string");
  EXPECT_EQ(error_of("[feeds.channels]\nBINANCE = [\"trade\", 3]\n"),
            "test.toml:2:11: feeds.channels.BINANCE: channel names must be non-empty strings");
  EXPECT_EQ(error_of("[feeds.channels]\nBINANCE = [\"\"]\n"),
            "test.toml:2:11: feeds.channels.BINANCE: channel names must be non-empty strings");
  EXPECT_EQ(error_of("[feeds]\nchannels = [\"trade\"]\n"),
            "test.toml:2:12: feeds.channels: expected a table, got an array");
  EXPECT_EQ(error_of("[feeds.endpoints]\nBINANCE = \"127.0.0.1\"\n"),
            "test.toml:2:11: feeds.endpoints.BINANCE: expected a table, got a string");
  EXPECT_EQ(error_of("[feeds.endpoints.BINANCE]\nport = 0\n"),
            "test.toml:2:8: feeds.endpoints.BINANCE.port: must be between 1 and 65535, got 0");
  EXPECT_EQ(error_of("[feeds.endpoints.BINANCE]\nport = \"443\"\n"),
            "test.toml:2:8: feeds.endpoints.BINANCE.port: expected an integer, got a string");
  EXPECT_EQ(error_of("[feeds]\nstale_after_ms = 50\n"),
            "test.toml:2:18: feeds.stale_after_ms: must be between 100 and 3600000, got 50");
  EXPECT_EQ(error_of("[feeds]\nbackfill = \"yes\"\n"),
            "test.toml:2:12: feeds.backfill: expected a boolean (true or false), got a string");
  EXPECT_EQ(error_of("feeds = 1\n"), "test.toml:1:9: feeds: expected a table, got an integer");
}

}  // namespace
}  // namespace tickflow
