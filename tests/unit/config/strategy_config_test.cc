// config/pipeline_config: [strategy] (SqueezeFlowParams, symbols, debug) and
// [signals] (InfluxDB, JSONL, Redis). Defaults are the spec's; every key
// overrides its field; every error names the file, the key and the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/pipeline_config.h"

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

StrategyConfig strategy_of(std::string_view toml) { return parse_pipeline_config(toml, "test.toml").strategy; }

std::vector<std::uint32_t> seconds_of(const TimeframeList& list) {
  return {list.seconds.begin(), list.seconds.begin() + static_cast<std::ptrdiff_t>(list.count)};
}

// Every field of SqueezeFlowParams (it has no operator==).
void expect_params_eq(const SqueezeFlowParams& a, const SqueezeFlowParams& b) {
#define TF_EXPECT_FIELD(f) EXPECT_EQ(a.f, b.f) << #f
  TF_EXPECT_FIELD(analysis_timeframe_s);
  TF_EXPECT_FIELD(history_bars);
  EXPECT_EQ(seconds_of(a.context_timeframes), seconds_of(b.context_timeframes));
  TF_EXPECT_FIELD(momentum_periods);
  TF_EXPECT_FIELD(trend_lookback);
  TF_EXPECT_FIELD(recent_d_bars);
  TF_EXPECT_FIELD(spot_led_dominance);
  TF_EXPECT_FIELD(exit_bias_timeframe_s);
  EXPECT_EQ(seconds_of(a.divergence_timeframes), seconds_of(b.divergence_timeframes));
  TF_EXPECT_FIELD(divergence_bars);
  TF_EXPECT_FIELD(baseline_bars);
  TF_EXPECT_FIELD(stable_move);
  TF_EXPECT_FIELD(pattern_z);
  TF_EXPECT_FIELD(leading_ratio);
  TF_EXPECT_FIELD(significance_z);
  TF_EXPECT_FIELD(significance_mean_multiple);
  EXPECT_EQ(seconds_of(a.reset_timeframes), seconds_of(b.reset_timeframes));
  TF_EXPECT_FIELD(convergence_max_bars);
  TF_EXPECT_FIELD(converging_strength);
  TF_EXPECT_FIELD(deceleration_ratio);
  TF_EXPECT_FIELD(stagnation_ratio);
  TF_EXPECT_FIELD(type_a_exhausted_strength);
  TF_EXPECT_FIELD(explosive_move);
  TF_EXPECT_FIELD(explosive_d_multiple);
  TF_EXPECT_FIELD(weight_reset);
  TF_EXPECT_FIELD(weight_absorption);
  TF_EXPECT_FIELD(weight_failed_breakdown);
  TF_EXPECT_FIELD(weight_bias);
  TF_EXPECT_FIELD(reset_multiplier);
  TF_EXPECT_FIELD(max_score);
  TF_EXPECT_FIELD(use_open_interest);
  TF_EXPECT_FIELD(oi_rise);
  TF_EXPECT_FIELD(oi_bonus);
  TF_EXPECT_FIELD(oi_penalty);
  TF_EXPECT_FIELD(min_entry_score);
  TF_EXPECT_FIELD(base_risk);
  TF_EXPECT_FIELD(max_position_fraction);
  TF_EXPECT_FIELD(max_open_positions);
  TF_EXPECT_FIELD(slippage_bp);
  TF_EXPECT_FIELD(fee_rate);
  TF_EXPECT_FIELD(cooldown_s);
  TF_EXPECT_FIELD(max_signals_per_hour);
  TF_EXPECT_FIELD(signal_ttl_s);
  TF_EXPECT_FIELD(flow_reversal_std);
  TF_EXPECT_FIELD(structure_low_bars);
  TF_EXPECT_FIELD(structure_range_bars);
  TF_EXPECT_FIELD(hard_stop);
#undef TF_EXPECT_FIELD
}

// ---- defaults ----

TEST(StrategyConfigDefaults, NoTablesMeansSpecDefaultsDisabled) {
  const PipelineConfig c = parse_pipeline_config("", "empty.toml");
  EXPECT_FALSE(c.strategy.enabled);
  expect_params_eq(c.strategy.params, SqueezeFlowParams{});
  EXPECT_TRUE(c.strategy.symbols.empty());
  EXPECT_EQ(c.strategy.debug_symbol, "");
  EXPECT_EQ(c.strategy.debug_csv, "");
  EXPECT_TRUE(c.signals.influx);
  EXPECT_EQ(c.signals.jsonl, "");
  EXPECT_FALSE(c.signals.redis);
  EXPECT_EQ(c.signals.redis_config.host, "127.0.0.1");
  EXPECT_EQ(c.signals.redis_config.port, 6379);
  EXPECT_EQ(c.signals.redis_config.queue_capacity, 1024u);
  EXPECT_EQ(c.signals.redis_config.key_prefix, "squeezeflow");
  EXPECT_EQ(c.signals.redis_config.history_length, 100);
}

TEST(StrategyConfigDefaults, EnabledAloneKeepsEveryDefault) {
  const StrategyConfig s = strategy_of("[strategy]\nenabled = true\n");
  EXPECT_TRUE(s.enabled);
  expect_params_eq(s.params, SqueezeFlowParams{});
  EXPECT_TRUE(s.symbols.empty());  // every spot+perp symbol group, chosen at run time
}

// ---- overrides, one kind of field at a time ----

TEST(StrategyConfigOverrides, TimeframesAreNames) {
  const StrategyConfig s = strategy_of(
      "[strategy]\nanalysis_timeframe = \"15m\"\nexit_bias_timeframe = \"4h\"\n"
      "context_timeframes = [\"1h\", \"4h\", \"1d\", \"30m\"]\ndivergence_timeframes = [\"5m\"]\n"
      "reset_timeframes = [\"60s\", \"15m\"]\n");
  EXPECT_EQ(s.params.analysis_timeframe_s, 900u);
  EXPECT_EQ(s.params.exit_bias_timeframe_s, 14400u);
  EXPECT_EQ(seconds_of(s.params.context_timeframes), (std::vector<std::uint32_t>{3600, 14400, 86400, 1800}));
  EXPECT_EQ(seconds_of(s.params.divergence_timeframes), (std::vector<std::uint32_t>{300}));
  EXPECT_EQ(seconds_of(s.params.reset_timeframes), (std::vector<std::uint32_t>{60, 900}));
}

TEST(StrategyConfigOverrides, CountsSecondsNumbersAndBooleans) {
  const StrategyConfig s = strategy_of(
      "[strategy]\nhistory_bars = 200\nmomentum_periods = [3, 6, 12]\ntrend_lookback = 30\n"
      "max_open_positions = 5\nmax_signals_per_hour = 4\nstructure_range_bars = 60\n"
      "cooldown_s = 1800\nsignal_ttl_s = 120\n"
      "min_entry_score = 6.0\nmax_score = 12\nhard_stop = 0.05\nspot_led_dominance = 0.7\n"
      "fee_rate = 0.0004\nweight_reset = 4\n"
      "use_open_interest = true\n");
  SqueezeFlowParams want;
  want.history_bars = 200;
  want.momentum_periods = {3, 6, 12};
  want.trend_lookback = 30;
  want.max_open_positions = 5;
  want.max_signals_per_hour = 4;
  want.structure_range_bars = 60;
  want.cooldown_s = 1800;
  want.signal_ttl_s = 120;
  want.min_entry_score = 6.0;
  want.max_score = 12.0;  // an integer is a number too
  want.hard_stop = 0.05;
  want.spot_led_dominance = 0.7;
  want.fee_rate = 0.0004;
  want.weight_reset = 4.0;
  want.use_open_interest = true;
  expect_params_eq(s.params, want);
}

// ---- symbols and debug ----

TEST(StrategyConfigSymbols, SymbolDefaultsToBasePlusUsdt) {
  const StrategyConfig s = strategy_of(
      "[strategy]\nenabled = true\n"
      "[[strategy.symbols]]\nbase = \"BTC\"\nexecution_market = \"BINANCE_FUTURES:btcusdt\"\n"
      "[[strategy.symbols]]\nbase = \"ETH\"\nsymbol = \"ETHUSD\"\n");
  ASSERT_EQ(s.symbols.size(), 2u);
  EXPECT_EQ(s.symbols[0].base, "BTC");
  EXPECT_EQ(s.symbols[0].symbol, "BTCUSDT");
  EXPECT_EQ(s.symbols[0].execution_market, "BINANCE_FUTURES:btcusdt");
  EXPECT_EQ(s.symbols[1].base, "ETH");
  EXPECT_EQ(s.symbols[1].symbol, "ETHUSD");
  EXPECT_EQ(s.symbols[1].execution_market, "");  // chosen at run time
}

TEST(StrategyConfigSymbols, DuplicateBaseIsRefused) {
  EXPECT_EQ(error_of("[[strategy.symbols]]\nbase = \"BTC\"\n[[strategy.symbols]]\nbase = \"BTC\"\n"),
            "test.toml:4:8: strategy.symbols[1].base: duplicate base 'BTC'");
}

TEST(StrategyConfigSymbols, BaseIsRequired) {
  EXPECT_EQ(error_of("[[strategy.symbols]]\nsymbol = \"BTCUSDT\"\n"),
            "test.toml:1:1: strategy.symbols[0].base: required: the base asset, e.g. \"BTC\"");
}

TEST(StrategyConfigSymbols, ExecutionMarketMustBeASubscribedPerp) {
  EXPECT_EQ(error_of("[[strategy.symbols]]\nbase = \"BTC\"\nexecution_market = \"btcusdt\"\n"),
            "test.toml:3:20: strategy.symbols[0].execution_market: expected EXCHANGE:symbol (e.g. "
            "\"BINANCE_FUTURES:btcusdt\"), got 'btcusdt'");
  EXPECT_EQ(error_of("[[strategy.symbols]]\nbase = \"SOL\"\nexecution_market = \"BINANCE_FUTURES:solusdt\"\n"),
            "test.toml:3:20: strategy.symbols[0].execution_market: market 'BINANCE_FUTURES:solusdt' is not in "
            "[markets]");
  EXPECT_EQ(error_of("[[strategy.symbols]]\nbase = \"BTC\"\nexecution_market = \"BINANCE:btcusdt\"\n"),
            "test.toml:3:20: strategy.symbols[0].execution_market: 'BINANCE:btcusdt' is not a perp");
}

TEST(StrategyConfigDebug, SymbolAndCsv) {
  const StrategyConfig s = strategy_of(
      "[[strategy.symbols]]\nbase = \"BTC\"\n[strategy.debug]\nsymbol = \"BTC\"\ncsv = "
      "\"var/strategy-debug-BTC.csv\"\n");
  EXPECT_EQ(s.debug_symbol, "BTC");
  EXPECT_EQ(s.debug_csv, "var/strategy-debug-BTC.csv");
  EXPECT_EQ(error_of("[strategy.debug]\nsymbol = \"BTC\"\n"),
            "test.toml:1:1: strategy.debug.csv: required when strategy.debug.symbol is set");
  EXPECT_EQ(error_of("[[strategy.symbols]]\nbase = \"BTC\"\n[strategy.debug]\nsymbol = \"ETH\"\ncsv = \"x.csv\"\n"),
            "test.toml:4:10: strategy.debug.symbol: 'ETH' is not the base of any [[strategy.symbols]]");
}

// ---- errors ----

TEST(StrategyConfigErrors, UnknownKeyNamesFileAndKey) {
  EXPECT_EQ(error_of("[strategy]\nenabled = true\nmin_entry_scor = 5.0\n", "conf/prod.toml"),
            "conf/prod.toml:3:1: strategy.min_entry_scor: unknown key (did you mean 'min_entry_score'?)");
  EXPECT_EQ(error_of("[strategy]\ncooldown = \"15m\"\n"),
            "test.toml:2:1: strategy.cooldown: unknown key (did you mean 'cooldown_s'?)");
  EXPECT_EQ(error_of("[[strategy.symbols]]\nbase = \"BTC\"\nexecution = \"BINANCE_FUTURES:btcusdt\"\n"),
            "test.toml:3:1: strategy.symbols[0].execution: unknown key (known keys: base symbol execution_market)");
  EXPECT_EQ(error_of("[strategy.debug]\nsymbl = \"BTC\"\n"),
            "test.toml:2:1: strategy.debug.symbl: unknown key (did you mean 'symbol'?)");
  EXPECT_EQ(error_of("[signals]\njson = \"x.jsonl\"\n"),
            "test.toml:2:1: signals.json: unknown key (did you mean 'jsonl'?)");
  EXPECT_EQ(error_of("[signals.redis]\nhots = \"redis\"\n"),
            "test.toml:2:1: signals.redis.hots: unknown key (did you mean 'host'?)");
}

TEST(StrategyConfigErrors, TypeErrorsNameTheKey) {
  EXPECT_EQ(error_of("[strategy]\nhistory_bars = \"100\"\n"),
            "test.toml:2:16: strategy.history_bars: expected an integer, got a string");
  EXPECT_EQ(error_of("[strategy]\nmin_entry_score = \"4\"\n"),
            "test.toml:2:19: strategy.min_entry_score: expected a number, got a string");
  EXPECT_EQ(error_of("[strategy]\nenabled = 1\n"),
            "test.toml:2:11: strategy.enabled: expected a boolean (true or false), got an integer");
  EXPECT_EQ(error_of("[strategy]\nanalysis_timeframe = 300\n"),
            "test.toml:2:22: strategy.analysis_timeframe: expected a string, got an integer");
  EXPECT_EQ(error_of("[strategy]\nmomentum_periods = [5, 10]\n"),
            "test.toml:2:20: strategy.momentum_periods: needs exactly 3 bar counts, got 2");
  EXPECT_EQ(error_of("[strategy]\nmomentum_periods = [5, \"10\", 20]\n"),
            "test.toml:2:24: strategy.momentum_periods[1]: expected an integer, got a string");
  EXPECT_EQ(error_of("[strategy]\nbase_risk = 2.0\n"),
            "test.toml:2:13: strategy.base_risk: must be between 0 and 1, got 2");
  EXPECT_EQ(error_of("[signals.redis]\nport = \"6379\"\n"),
            "test.toml:2:8: signals.redis.port: expected an integer, got a string");
}

TEST(StrategyConfigErrors, BadTimeframe) {
  EXPECT_EQ(error_of("[strategy]\nanalysis_timeframe = \"5x\"\n"),
            "test.toml:2:22: strategy.analysis_timeframe: bad timeframe: bad timeframe '5x': unknown unit "
            "(expected a count and a unit s, m, h or d, e.g. 1m, 15m, 4h)");
  EXPECT_EQ(error_of("[strategy]\ncontext_timeframes = [\"30m\", \"1hour\"]\n"),
            "test.toml:2:30: strategy.context_timeframes[1]: bad timeframe: bad timeframe '1hour': unknown unit "
            "(expected a count and a unit s, m, h or d, e.g. 1m, 15m, 4h)");
  EXPECT_EQ(error_of("[strategy]\ncontext_timeframes = [\"1h\", \"60m\"]\n"),
            "test.toml:2:29: strategy.context_timeframes[1]: duplicate timeframe '60m'");
  EXPECT_EQ(error_of("[strategy]\nreset_timeframes = []\n"),
            "test.toml:2:20: strategy.reset_timeframes: needs 1 to 4 timeframes, got 0");
  EXPECT_EQ(error_of("[strategy]\nreset_timeframes = [\"1m\", \"5m\", \"15m\", \"30m\", \"1h\"]\n"),
            "test.toml:2:20: strategy.reset_timeframes: needs 1 to 4 timeframes, got 5");
}

TEST(StrategyConfigErrors, ValidateFailureNamesFileAndKey) {
  // history_bars must exceed structure_range_bars (50).
  EXPECT_EQ(error_of("[strategy]\nhistory_bars = 40\n", "prod.toml"),
            "prod.toml:2:16: strategy.history_bars: must exceed structure_range_bars and be at most 4096");
  EXPECT_EQ(error_of("[strategy]\nmin_entry_score = 11\n"),
            "test.toml:2:19: strategy.min_entry_score: must be in [0, max_score]");
  // The failing field kept its default: named, with where to set it.
  EXPECT_EQ(error_of("[strategy]\nstructure_range_bars = 100\n"),
            "test.toml: strategy.history_bars: must exceed structure_range_bars and be at most 4096 (the default; "
            "set it in [strategy])");
}

TEST(StrategyConfigErrors, EnabledStrategyTimeframesMustBeRollups) {
  EXPECT_EQ(error_of("[bars]\nrollups = [\"5m\", \"15m\", \"30m\", \"1h\"]\n[strategy]\nenabled = true\n"),
            "test.toml: strategy.context_timeframes[2]: timeframe 4h is not one of bars.rollups (5m,15m,30m,1h): add "
            "it there (the default; set it in [strategy])");
  EXPECT_EQ(error_of("[strategy]\nenabled = true\nanalysis_timeframe = \"2m\"\n"),
            "test.toml:3:22: strategy.analysis_timeframe: timeframe 2m is not one of bars.rollups "
            "(1m,5m,15m,30m,1h,4h): add it there");
  EXPECT_EQ(error_of("[strategy]\nenabled = true\nreset_timeframes = [\"5m\", \"10m\"]\n"),
            "test.toml:3:27: strategy.reset_timeframes[1]: timeframe 10m is not one of bars.rollups "
            "(1m,5m,15m,30m,1h,4h): add it there");
  // Disabled: not checked (the rollups may be trimmed for a pipeline without the strategy).
  EXPECT_EQ(error_of("[strategy]\nenabled = false\nanalysis_timeframe = \"2m\"\n"), "(no error)");
}

TEST(StrategyConfigErrors, RedisPasswordIsRefused) {
  const std::string e = error_of("[signals.redis]\nenabled = true\npassword = \"hunter2\"\n");
  EXPECT_EQ(e,
            "test.toml:3:1: signals.redis.password: passwords do not belong in the config file; set REDIS_PASSWORD "
            "in the environment (e.g. a systemd EnvironmentFile)");
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << "the secret itself must never be echoed";
  EXPECT_NE(error_of("[signals]\nredis_password = \"x\"\n").find("set REDIS_PASSWORD"), std::string::npos);
}

// ---- [signals] ----

TEST(SignalSinksConfig, EveryKeyOverrides) {
  const SignalSinksConfig s = parse_pipeline_config(
                                  "[signals]\ninflux = false\njsonl = \"var/signals.jsonl\"\n"
                                  "[signals.redis]\nenabled = true\nhost = \"10.0.0.5\"\nport = 6380\n"
                                  "queue_capacity = 4096\nkey_prefix = \"sf-test\"\nhistory_length = 50\n"
                                  "connect_timeout_ms = 250\ncommand_timeout_ms = 2000\nbackoff_initial_ms = 50\n"
                                  "backoff_max_ms = 10000\n",
                                  "test.toml")
                                  .signals;
  EXPECT_FALSE(s.influx);
  EXPECT_EQ(s.jsonl, "var/signals.jsonl");
  EXPECT_TRUE(s.redis);
  EXPECT_EQ(s.redis_config.host, "10.0.0.5");
  EXPECT_EQ(s.redis_config.port, 6380);
  EXPECT_EQ(s.redis_config.queue_capacity, 4096u);
  EXPECT_EQ(s.redis_config.key_prefix, "sf-test");
  EXPECT_EQ(s.redis_config.history_length, 50);
  EXPECT_EQ(s.redis_config.connect_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(s.redis_config.command_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.redis_config.backoff_initial, std::chrono::milliseconds(50));
  EXPECT_EQ(s.redis_config.backoff_max, std::chrono::milliseconds(10000));
}

// ---- the shipped profile documents both tables ----

TEST(StrategyConfigProfiles, LaptopProfileCarriesStrategyAndSignals) {
  const PipelineConfig c = load_pipeline_config(kTuningDir / "laptop-2core.toml");
  expect_params_eq(c.strategy.params, SqueezeFlowParams{});  // the profile spells out the spec's defaults
  ASSERT_EQ(c.strategy.symbols.size(), 2u);
  EXPECT_EQ(c.strategy.symbols[0].base, "BTC");
  EXPECT_EQ(c.strategy.symbols[0].symbol, "BTCUSDT");
  EXPECT_EQ(c.strategy.symbols[1].base, "ETH");
  EXPECT_EQ(c.signals.jsonl, "var/signals.jsonl");
  EXPECT_TRUE(c.signals.influx);
  EXPECT_FALSE(c.signals.redis);
}

// Issue 18: signals on by default. Every shipped profile evaluates the
// strategy on BTC and ETH and writes its signals to InfluxDB and a JSONL
// file; the host profiles deliver to Redis too (password: REDIS_PASSWORD).
// The cluster-*.toml role configs split the pipeline over processes (only
// cluster-strategy.toml runs the strategy): bus_config_test.cc checks them.
TEST(StrategyConfigProfiles, EveryShippedProfileTradesAndDeliversSignals) {
  int profiles = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kTuningDir)) {
    if (entry.path().extension() != ".toml") continue;
    if (entry.path().filename().string().starts_with("cluster-")) continue;
    SCOPED_TRACE(entry.path().string());
    const PipelineConfig c = load_pipeline_config(entry.path());
    ++profiles;
    EXPECT_TRUE(c.strategy.enabled);
    ASSERT_EQ(c.strategy.symbols.size(), 2u);
    EXPECT_EQ(c.strategy.symbols[0].base, "BTC");
    EXPECT_EQ(c.strategy.symbols[1].base, "ETH");
    EXPECT_TRUE(c.signals.influx);
    EXPECT_TRUE(c.influx.enabled);
    EXPECT_FALSE(c.signals.jsonl.empty());
    const bool host = entry.path().filename().string().starts_with("host-");
    EXPECT_EQ(c.signals.redis, host);
    if (host) {
      EXPECT_EQ(c.signals.jsonl, "/var/lib/tickflow/signals.jsonl");  // StateDirectory= of tickflow.service
      EXPECT_EQ(c.signals.redis_config.host, "127.0.0.1");
      EXPECT_EQ(c.signals.redis_config.port, 6379);
    }
  }
  EXPECT_GE(profiles, 5);
}

}  // namespace
}  // namespace tickflow
