#include "runtime/replay_command.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "pipeline/bar_builder.h"
#include "pipeline/timeframe.h"
#include "runtime/replay.h"

namespace tickflow {
namespace {

// What the parsed command line chose; CLI11 writes here, run_replay_command()
// reads. The options a config can supply are kept, so that their count()
// tells a value given on the command line from a default.
struct ReplayCommand {
  CLI::App* app = nullptr;
  ReplayOptions options;
  std::vector<std::string> captures;
  std::string speed = "max";
  std::string timeframes = to_string(default_rollup_timeframes());
  // The bar timing's defaults are BarBuilderConfig's, in the units the options take.
  double lateness_ms = static_cast<double>(BarBuilderConfig{}.lateness_ns) / 1e6;
  double quiet_delay_ms = static_cast<double>(BarBuilderConfig{}.quiet_close_delay_ns) / 1e6;
  double horizon_s = static_cast<double>(BarBuilderConfig{}.amend_horizon_ns) / 1e9;
  bool no_base_volume = false;
  std::string retention;
  std::string config_file;
  bool to_influx = false;

  CLI::Option* timeframes_option = nullptr;
  CLI::Option* lateness_option = nullptr;
  CLI::Option* quiet_delay_option = nullptr;
  CLI::Option* horizon_option = nullptr;
  CLI::Option* influx_option = nullptr;
  CLI::Option* db_option = nullptr;
  CLI::Option* gzip_option = nullptr;
  CLI::Option* retention_option = nullptr;
  CLI::Option* credentials_option = nullptr;
  CLI::Option* spool_option = nullptr;
};

ReplayCommand& command() {
  static ReplayCommand instance;
  return instance;
}

// Whether the user gave `option` on the command line (a config must not
// override it).
bool given(const CLI::Option* option) { return option != nullptr && option->count() > 0; }

// Fills every setting the command line left at its default from the config.
// Returns false (reported) when the config cannot serve what was asked.
bool apply_config(ReplayCommand& cmd, const PipelineConfig& config) {
  ReplayOptions& o = cmd.options;
  const BarConfig& bars = config.bars;
  if (!given(cmd.lateness_option)) cmd.lateness_ms = static_cast<double>(bars.lateness.count());
  if (!given(cmd.quiet_delay_option)) cmd.quiet_delay_ms = static_cast<double>(bars.quiet_delay.count());
  if (!given(cmd.horizon_option)) cmd.horizon_s = static_cast<double>(bars.amend_horizon.count());
  if (!given(cmd.timeframes_option)) cmd.timeframes = bars.rollups.empty() ? "none" : to_string(bars.rollups);

  const InfluxConfig& influx = config.influx;
  if (cmd.to_influx && !given(cmd.influx_option)) {
    if (!influx.enabled) {
      std::fprintf(stderr,
                   "tickflow replay: --to-influx: %s says influx.enabled = false; enable it there, or give --influx "
                   "URL\n",
                   config.source.string().c_str());
      return false;
    }
    o.influx_url = influx.url;
  }
  if (!given(cmd.db_option)) o.influx_db = influx.database;
  if (!given(cmd.gzip_option)) o.influx_gzip = influx.gzip;
  if (!given(cmd.credentials_option)) o.influx_credentials_file = influx.credentials_file;
  if (!given(cmd.spool_option)) o.spool_dir = influx.spool_dir.string();
  // Per timeframe: --retention's items replace the config's for the same
  // timeframe; the config's others stay (parse_retention() adds on top).
  o.retention = influx.retention;
  return true;
}

// --retention TF=DURATION,...: into options.retention, over what is there.
bool parse_retention(const std::string& retention, ReplayOptions& options) {
  for (std::size_t start = 0; !retention.empty() && start <= retention.size();) {
    const auto comma = std::min(retention.find(',', start), retention.size());
    const std::string item = retention.substr(start, comma - start);
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      std::fprintf(stderr, "tickflow replay: --retention item '%s' is not TF=DURATION (e.g. 1s=24h)\n", item.c_str());
      return false;
    }
    try {
      options.retention[std::string(parse_timeframe(item.substr(0, eq)).name())] = item.substr(eq + 1);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tickflow replay: --retention: %s\n", e.what());
      return false;
    }
    start = comma + 1;
  }
  return true;
}

}  // namespace

CLI::App* add_replay_command(CLI::App& app) {
  ReplayCommand& cmd = command();
  ReplayOptions& o = cmd.options;
  auto* replay = app.add_subcommand(
      "replay", "Parse recorded captures into normalized trades and quotes (CSV), or 1s bars and rollups");
  cmd.app = replay;
  replay->add_option("captures", cmd.captures,
                     "Capture files (plain or .gz), each as EXCHANGE=PATH or PATH. A bare PATH takes its exchange\n"
                     "from a cryptofeed file name (BINANCE_FUTURES.ws.1.0.gz), a tickflow recording's name\n"
                     "(OKX-20240808-13.log) or the frames; Binance spot and futures frames look alike, so\n"
                     "Binance files need EXCHANGE=PATH. Several files are merged by receive time.\n"
                     "With --influx (or --to-influx) and a spool, and no captures: only deliver what the spool "
                     "holds.");
  replay
      ->add_option("--config", cmd.config_file,
                   "Take defaults from a pipeline config or tuning profile (tuning/*.toml): [bars] lateness,\n"
                   "quiet delay, amend horizon and rollups; [influx] url, database, gzip, retention,\n"
                   "credentials_file and spool_dir. An option given on the command line wins (--retention\n"
                   "per timeframe). InfluxDB output stays off unless --to-influx or --influx says otherwise.\n"
                   "Exit status 2 if the file does not load (the message names the file and the key).")
      ->option_text("FILE");
  replay
      ->add_option("--repeat", o.repeat,
                   "Play the captures N times back to back, each pass shifted by their span (rounded up to a\n"
                   "minute) on both clocks, trade ids + pass x 10^12: hours of real-looking flow from minutes of\n"
                   "captures, exactly what `tickflow backtest --capture ... --repeat N` reads.")
      ->check(CLI::Range(1, 1'000'000))
      ->option_text("N")
      ->default_val(1);
  replay->add_flag("--to-influx", cmd.to_influx,
                   "With --config: write every bar to the config's InfluxDB (influx.url), which must have\n"
                   "influx.enabled = true. Same as --influx with the config's url.");
  replay
      ->add_option("--trades-out", o.trades_out,
                   "Write trades as CSV to FILE ('-' = stdout): "
                   "market,exchange_ts_ns,receive_ts_ns,trade_id,price,qty,side,liquidation")
      ->option_text("FILE|-");
  replay
      ->add_option("--quotes-out", o.quotes_out,
                   "Write quotes as CSV to FILE ('-' = stdout): "
                   "market,exchange_ts_ns,receive_ts_ns,bid_price,bid_qty,ask_price,ask_qty")
      ->option_text("FILE|-");
  replay->add_option("--speed", cmd.speed, "'max' (default): as fast as possible; N: pace frames at N x real time")
      ->option_text("max|N");
  replay
      ->add_option("--bars-out", o.bars_out,
                   "Build 1s bars and rollups (parse -> ring -> aggregator thread) and write every emitted bar\n"
                   "to FILE ('-' = stdout) as InfluxDB line protocol, one point per line:\n"
                   "  trades_1s,market=BINANCE:btcusdt open=..,high=..,low=..,close=..,vbuy=..,vsell=..,\n"
                   "  cbuy=..,csell=..,lbuy=..,lsell=..,qbuy=..,qsell=.. <open time, s>\n"
                   "Rollups are trades_1m, trades_5m, ... A bar amended by a late trade appears again with the\n"
                   "same timestamp (the last line wins, as in InfluxDB). Open bars are flushed at the end.\n"
                   "The aggregator's clock is the frames' receive time: the output is the same on every run.")
      ->option_text("FILE|-");
  cmd.timeframes_option =
      replay
          ->add_option("--timeframes", cmd.timeframes,
                       "Rollup timeframes for --bars-out, comma-separated (s, m, h, d units); 'none' for 1s bars\n"
                       "only. Default: bars.rollups of --config, else 1m,5m,15m,30m,1h,4h")
          ->option_text("LIST");
  cmd.lateness_option =
      replay
          ->add_option("--lateness", cmd.lateness_ms,
                       "A 1s bar closes when its market's watermark (newest exchange time on its connection) "
                       "passes\nits end plus this many ms. Default: bars.lateness_ms of --config, else 250")
          ->option_text("MS");
  cmd.quiet_delay_option =
      replay
          ->add_option("--quiet-delay", cmd.quiet_delay_ms,
                       "A quiet market's bar closes when the clock passes its end + lateness + this many ms\n"
                       "(the largest exchange-to-receive delay tolerated). Default: bars.quiet_delay_ms of "
                       "--config, else 2000")
          ->option_text("MS");
  cmd.horizon_option =
      replay
          ->add_option("--amend-horizon", cmd.horizon_s,
                       "Late trades up to this many seconds behind amend their closed bar (re-emitted);\n"
                       "older ones are dropped and counted. Default: bars.amend_horizon_s of --config, else 600")
          ->option_text("S");
  replay->add_flag("--no-base-volume", cmd.no_base_volume,
                   "Leave qbuy/qsell (base volume, tickflow's fields) out of --bars-out: strict aggr-server fields");
  replay
      ->add_option("--stats-out", o.stats_out,
                   "Write the flow statistics as CSV to FILE ('-' = stdout): per symbol group (BTC: every spot\n"
                   "market vs every perp market) and timeframe (1s 1m 5m 15m 30m 1h 4h), one row per closed\n"
                   "interval: spot and perp delta, CVDs, divergence, their rolling mean/std/z-score, EMA, VWAP,\n"
                   "realized volatility, volume surge. Undefined values (too little history) are 'nan'.")
      ->option_text("FILE|-");
  cmd.influx_option =
      replay
          ->add_option("--influx", o.influx_url,
                       "Write every bar to InfluxDB 1.x at URL (e.g. http://127.0.0.1:8086), database --db,\n"
                       "retention policies aggr_1s, aggr_1m, ... (created or altered at start), measurements\n"
                       "trades_1s, trades_1m, ... Batches of 5000 lines or 100 ms; returns only after every bar\n"
                       "is acknowledged or spooled. Credentials: INFLUX_USERNAME / INFLUX_PASSWORD, or\n"
                       "--influx-credentials FILE. Exit status 1 if any point was dropped or dead-lettered.\n"
                       "With --config: overrides influx.url and turns the output on whatever influx.enabled says.")
          ->option_text("URL");
  cmd.db_option = replay
                      ->add_option("--db", o.influx_db,
                                   "InfluxDB database. Default: influx.database of --config, else significant_trades")
                      ->option_text("NAME");
  cmd.spool_option =
      replay
          ->add_option("--spool", o.spool_dir,
                       "Crash-safe disk spool for batches the server could not take (down, restarting, refusing).\n"
                       "Delivered first, in order, by the next run. Without it, undeliverable bars are lost and "
                       "counted.\nDefault: influx.spool_dir of --config, else none")
          ->option_text("DIR");
  replay
      ->add_option("--deadline", o.deadline_s,
                   "Seconds the final flush (or a spool-only drain) waits for the server. Default: 30")
      ->option_text("SECONDS");
  cmd.credentials_option =
      replay
          ->add_option("--influx-credentials", o.influx_credentials_file,
                       "File with 'user:password' (or user and password on two lines) for InfluxDB auth.\n"
                       "Default: influx.credentials_file of --config")
          ->option_text("FILE");
  cmd.gzip_option = replay->add_flag("--influx-gzip,!--no-influx-gzip", o.influx_gzip,
                                     "gzip the write bodies (or not). Default: influx.gzip of --config, else off");
  cmd.retention_option =
      replay
          ->add_option("--retention", cmd.retention,
                       "Retention policy durations by timeframe, e.g. 1s=24h,1m=90d (InfluxQL durations).\n"
                       "Unlisted timeframes: [influx.retention] of --config, else INF, since a replay writes\n"
                       "history that a finite policy would reject (a config's 1s = \"7d\" drops older bars:\n"
                       "replaying older captures with --config needs --retention 1s=INF).")
          ->option_text("TF=DURATION,...");
  replay->add_flag("--quiet", o.quiet,
                   "No progress on stderr (the summary is still printed). Otherwise a progress bar with an ETA\n"
                   "when stderr is a terminal, else a line every 1M frames");
  replay->footer(
      "Examples:\n"
      "  tickflow replay --trades-out - BINANCE=spot_btcusdt.gz BINANCE_FUTURES=usdm_btcusdt.gz\n"
      "  tickflow replay --trades-out trades.csv --quotes-out quotes.csv BINANCE_FUTURES=cm_btcusd_perp.gz\n"
      "  tickflow replay --speed 10 --trades-out - OKX.ws.1.0.gz\n"
      "  tickflow replay --bars-out bars.lp BINANCE=spot_btcusdt.gz BINANCE_FUTURES=usdm_btcusdt.gz\n"
      "  tickflow replay --bars-out - --timeframes 1m,1h --lateness 500 BINANCE=spot_btcusdt.gz\n"
      "  tickflow replay --config tuning/laptop-2core.toml --bars-out bars.lp BINANCE=spot_btcusdt.gz\n"
      "  tickflow replay --config tuning/laptop-2core.toml --to-influx --retention 1s=INF BINANCE=spot_btcusdt.gz\n"
      "  tickflow replay --influx http://127.0.0.1:8086 --spool /var/spool/tickflow BINANCE=spot_btcusdt.gz\n"
      "  tickflow replay --influx http://127.0.0.1:8086 --spool /var/spool/tickflow   (drain the spool only)\n"
      "Exchanges: BINANCE, BINANCE_FUTURES (USD-M and COIN-M), BINANCE_DELIVERY, BYBIT, BYBIT_SPOT, OKX,\n"
      "COINBASE, KRAKEN, KRAKEN_FUTURES, BITMEX, BITFINEX, DERIBIT, HUOBI, HUOBI_SWAP.\n"
      "A per-exchange summary (frames, trades, quotes, skipped by kind, errors by reason) goes to stderr,\n"
      "and with --bars-out the bar counters (bars, amendments, late drops, gaps; rollups per timeframe).");
  return replay;
}

int run_replay_command() {
  ReplayCommand& cmd = command();
  ReplayOptions& o = cmd.options;
  // Checked here, not with CLI11's needs(): a usage error exits 2, as every
  // other one of replay's does.
  if (cmd.to_influx && cmd.config_file.empty()) {
    std::fprintf(stderr, "tickflow replay: --to-influx needs --config FILE (or give --influx URL)\n");
    return 2;
  }
  if (!cmd.config_file.empty()) {
    PipelineConfig config;
    try {
      config = load_pipeline_config(cmd.config_file);
    } catch (const ConfigError& e) {
      std::fprintf(stderr, "tickflow replay: %s\n", e.what());
      return 2;
    }
    if (!apply_config(cmd, config)) return 2;
  }
  for (const auto& c : cmd.captures) o.captures.push_back(parse_capture_argument(c));
  if (cmd.speed != "max") {
    char* end = nullptr;
    o.speed = std::strtod(cmd.speed.c_str(), &end);
    if (end == cmd.speed.c_str() || *end != '\0' || !(o.speed > 0)) {
      std::fprintf(stderr, "tickflow replay: --speed must be 'max' or a positive number, got '%s'\n",
                   cmd.speed.c_str());
      return 2;
    }
  }
  if (cmd.captures.empty() && (o.influx_url.empty() || o.spool_dir.empty())) {
    std::fprintf(stderr,
                 "tickflow replay: no capture given. Give CAPTURE files, or --influx URL --spool DIR to drain a "
                 "spool (see --help)\n");
    return 2;
  }
  if (!(o.deadline_s >= 0)) {
    std::fprintf(stderr, "tickflow replay: --deadline must be >= 0 seconds\n");
    return 2;
  }
  if (!parse_retention(cmd.retention, o)) return 2;
  if (!o.bars_out.empty() || !o.influx_url.empty() || !o.stats_out.empty()) {
    try {
      o.rollup_timeframes = cmd.timeframes == "none" ? std::vector<Timeframe>{} : parse_timeframe_list(cmd.timeframes);
      for (const auto& tf : o.rollup_timeframes)
        if (tf.seconds() < 2)
          throw std::invalid_argument("--timeframes: 1s bars are always written; list rollups only");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tickflow replay: %s\n", e.what());
      return 2;
    }
    auto bad_number = [](const char* option, double value, double max) {
      if (value >= 0 && value <= max) return false;
      std::fprintf(stderr, "tickflow replay: %s must be 0 to %g, got %g\n", option, max, value);
      return true;
    };
    if (bad_number("--lateness", cmd.lateness_ms, 60'000) ||
        bad_number("--quiet-delay", cmd.quiet_delay_ms, 3'600'000) ||
        bad_number("--amend-horizon", cmd.horizon_s, 86'400))
      return 2;
    o.lateness_ns = static_cast<std::int64_t>(cmd.lateness_ms * 1e6);
    o.quiet_close_delay_ns = static_cast<std::int64_t>(cmd.quiet_delay_ms * 1e6);
    o.amend_horizon_ns = static_cast<std::int64_t>(cmd.horizon_s * 1e9);
    o.base_volume = !cmd.no_base_volume;
  }
  return run_replay(o);
}

}  // namespace tickflow
