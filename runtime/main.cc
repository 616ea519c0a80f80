// runtime/main.cc: the tickflow command line.
//
// Subcommands are added as the pipeline grows (replay, live, ...). Each one
// composes stages from feeds/, pipeline/ and strategy/; nothing below runtime/
// knows this file exists.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/market_registry.h"
#include "ringbuffers/asymmetric_fence.h"
#include "runtime/replay.h"
#include "runtime/thread_affinity.h"
#include "runtime/tuning_command.h"

#ifndef TICKFLOW_VERSION
#define TICKFLOW_VERSION "0.0.0"
#endif

namespace {

int run_classify(const std::vector<std::string>& names) {
  tickflow::MarketRegistry registry;
  std::printf("%-32s %-5s %-8s %-6s %-6s\n", "market", "class", "kind", "base", "quote");
  int bad = 0;
  for (const auto& name : names) {
    try {
      const auto& m = registry.info(registry.intern(name));
      std::printf("%-32s %-5s %-8s %-6s %-6s\n", m.name.c_str(), std::string(to_string(m.market_class)).c_str(),
                  std::string(to_string(m.kind)).c_str(), m.base.empty() ? "?" : m.base.c_str(),
                  m.quote.empty() ? "?" : m.quote.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tickflow classify: %s\n", e.what());
      ++bad;
    }
  }
  return bad == 0 ? 0 : 2;
}

int run_host_info() {
  const auto cpus = tickflow::allowed_cpus();
  std::printf("cpus allowed:        %zu (", cpus.size());
  for (std::size_t i = 0; i < cpus.size(); ++i) std::printf(i ? ",%d" : "%d", cpus[i]);
  std::printf(")\n");
  std::printf("asymmetric fence:    %s\n", tickflow::AsymmetricFence::init()
                                               ? "membarrier (producers' wake check is a compiler barrier)"
                                               : "unavailable: producers pay a full fence per notify");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tickflow: a low-latency crypto market-data pipeline.\n"
      "Exchange trades -> 1s bars (aggr-server schema) and rollups -> flow statistics ->\n"
      "SqueezeFlow signals -> InfluxDB / Redis, on pinned threads joined by SPSC rings.",
      "tickflow"};
  app.set_version_flag("--version", std::string("tickflow ") + TICKFLOW_VERSION);
  app.require_subcommand(0, 1);
  app.footer(
      "Examples:\n"
      "  tickflow classify BINANCE:btcusdt BINANCE_FUTURES:btcusdt OKEX:BTC-USDT-SWAP\n"
      "  tickflow host\n"
      "  tickflow replay --trades-out - BINANCE=spot_btcusdt.gz BINANCE_FUTURES=usdm_btcusdt.gz\n"
      "Docs: README.md (quick start), ../shared/docs/architecture.md (design).");

  std::vector<std::string> names;
  auto* classify = app.add_subcommand(
      "classify", "Show how aggr-server market names (EXCHANGE:pair) are classified: spot or perp, base, quote");
  classify->add_option("markets", names, "Market names, e.g. BINANCE_FUTURES:btcusdt")->required();

  auto* host = app.add_subcommand("host", "Show what this host offers the pipeline: CPUs, wake-up mechanism");

  tickflow::ReplayOptions replay_options;
  std::vector<std::string> captures;
  std::string speed = "max";
  auto* replay = app.add_subcommand(
      "replay", "Parse recorded captures into normalized trades and quotes (CSV), or 1s bars and rollups");
  replay->add_option("captures", captures,
                     "Capture files (plain or .gz), each as EXCHANGE=PATH or PATH. A bare PATH takes its exchange\n"
                     "from a cryptofeed file name (BINANCE_FUTURES.ws.1.0.gz), a tickflow recording's name\n"
                     "(OKX-20240808-13.log) or the frames; Binance spot and futures frames look alike, so\n"
                     "Binance files need EXCHANGE=PATH. Several files are merged by receive time.\n"
                     "With --influx and --spool and no captures: only deliver what the spool holds.");
  replay
      ->add_option("--trades-out", replay_options.trades_out,
                   "Write trades as CSV to FILE ('-' = stdout): "
                   "market,exchange_ts_ns,receive_ts_ns,trade_id,price,qty,side,liquidation")
      ->option_text("FILE|-");
  replay
      ->add_option("--quotes-out", replay_options.quotes_out,
                   "Write quotes as CSV to FILE ('-' = stdout): "
                   "market,exchange_ts_ns,receive_ts_ns,bid_price,bid_qty,ask_price,ask_qty")
      ->option_text("FILE|-");
  replay->add_option("--speed", speed, "'max' (default): as fast as possible; N: pace frames at N x real time")
      ->option_text("max|N");
  std::string timeframes = tickflow::to_string(tickflow::default_rollup_timeframes());
  double lateness_ms = 250, quiet_delay_ms = 2000, horizon_s = 600;
  bool no_base_volume = false;
  replay
      ->add_option("--bars-out", replay_options.bars_out,
                   "Build 1s bars and rollups (parse -> ring -> aggregator thread) and write every emitted bar\n"
                   "to FILE ('-' = stdout) as InfluxDB line protocol, one point per line:\n"
                   "  trades_1s,market=BINANCE:btcusdt open=..,high=..,low=..,close=..,vbuy=..,vsell=..,\n"
                   "  cbuy=..,csell=..,lbuy=..,lsell=..,qbuy=..,qsell=.. <open time, s>\n"
                   "Rollups are trades_1m, trades_5m, ... A bar amended by a late trade appears again with the\n"
                   "same timestamp (the last line wins, as in InfluxDB). Open bars are flushed at the end.\n"
                   "The aggregator's clock is the frames' receive time: the output is the same on every run.")
      ->option_text("FILE|-");
  replay
      ->add_option("--timeframes", timeframes,
                   "Rollup timeframes for --bars-out, comma-separated (s, m, h, d units); 'none' for 1s bars\n"
                   "only. Default: 1m,5m,15m,30m,1h,4h")
      ->option_text("LIST");
  replay
      ->add_option("--lateness", lateness_ms,
                   "A 1s bar closes when its market's watermark (newest exchange time on its connection) passes\n"
                   "its end plus this many ms. Default: 250")
      ->option_text("MS");
  replay
      ->add_option("--quiet-delay", quiet_delay_ms,
                   "A quiet market's bar closes when the clock passes its end + lateness + this many ms\n"
                   "(the largest exchange-to-receive delay tolerated). Default: 2000")
      ->option_text("MS");
  replay
      ->add_option("--amend-horizon", horizon_s,
                   "Late trades up to this many seconds behind amend their closed bar (re-emitted);\n"
                   "older ones are dropped and counted. Default: 600")
      ->option_text("S");
  replay->add_flag("--no-base-volume", no_base_volume,
                   "Leave qbuy/qsell (base volume, tickflow's fields) out of --bars-out: strict aggr-server fields");
  replay
      ->add_option("--stats-out", replay_options.stats_out,
                   "Write the flow statistics as CSV to FILE ('-' = stdout): per symbol group (BTC: every spot\n"
                   "market vs every perp market) and timeframe (1s 1m 5m 15m 30m 1h 4h), one row per closed\n"
                   "interval: spot and perp delta, CVDs, divergence, their rolling mean/std/z-score, EMA, VWAP,\n"
                   "realized volatility, volume surge. Undefined values (too little history) are 'nan'.")
      ->option_text("FILE|-");
  std::string retention;
  replay
      ->add_option("--influx", replay_options.influx_url,
                   "Write every bar to InfluxDB 1.x at URL (e.g. http://127.0.0.1:8086), database --db,\n"
                   "retention policies aggr_1s, aggr_1m, ... (created or altered at start), measurements\n"
                   "trades_1s, trades_1m, ... Batches of 5000 lines or 100 ms; returns only after every bar\n"
                   "is acknowledged or spooled. Credentials: INFLUX_USERNAME / INFLUX_PASSWORD, or\n"
                   "--influx-credentials FILE. Exit status 1 if any point was dropped or dead-lettered.")
      ->option_text("URL");
  replay->add_option("--db", replay_options.influx_db, "InfluxDB database. Default: significant_trades")
      ->option_text("NAME");
  replay
      ->add_option("--spool", replay_options.spool_dir,
                   "Crash-safe disk spool for batches the server could not take (down, restarting, refusing).\n"
                   "Delivered first, in order, by the next run. Without it, undeliverable bars are lost and counted.")
      ->option_text("DIR");
  replay
      ->add_option("--deadline", replay_options.deadline_s,
                   "Seconds the final flush (or a spool-only drain) waits for the server. Default: 30")
      ->option_text("SECONDS");
  replay
      ->add_option("--influx-credentials", replay_options.influx_credentials_file,
                   "File with 'user:password' (or user and password on two lines) for InfluxDB auth")
      ->option_text("FILE");
  replay->add_flag("--influx-gzip", replay_options.influx_gzip, "gzip the write bodies");
  replay
      ->add_option("--retention", retention,
                   "Retention policy durations by timeframe, e.g. 1s=24h,1m=90d (InfluxQL durations).\n"
                   "Unlisted timeframes: INF, since a replay writes history that a finite policy would reject.")
      ->option_text("TF=DURATION,...");
  replay->add_flag("--quiet", replay_options.quiet, "No progress lines on stderr (the summary is still printed)");
  replay->footer(
      "Examples:\n"
      "  tickflow replay --trades-out - BINANCE=spot_btcusdt.gz BINANCE_FUTURES=usdm_btcusdt.gz\n"
      "  tickflow replay --trades-out trades.csv --quotes-out quotes.csv BINANCE_FUTURES=cm_btcusd_perp.gz\n"
      "  tickflow replay --speed 10 --trades-out - OKX.ws.1.0.gz\n"
      "  tickflow replay --bars-out bars.lp BINANCE=spot_btcusdt.gz BINANCE_FUTURES=usdm_btcusdt.gz\n"
      "  tickflow replay --bars-out - --timeframes 1m,1h --lateness 500 BINANCE=spot_btcusdt.gz\n"
      "  tickflow replay --influx http://127.0.0.1:8086 --spool /var/spool/tickflow BINANCE=spot_btcusdt.gz\n"
      "  tickflow replay --influx http://127.0.0.1:8086 --spool /var/spool/tickflow   (drain the spool only)\n"
      "Exchanges: BINANCE, BINANCE_FUTURES (USD-M and COIN-M), BINANCE_DELIVERY, BYBIT, BYBIT_SPOT, OKX,\n"
      "COINBASE, KRAKEN, KRAKEN_FUTURES, BITMEX, BITFINEX, DERIBIT, HUOBI, HUOBI_SWAP.\n"
      "A per-exchange summary (frames, trades, quotes, skipped by kind, errors by reason) goes to stderr,\n"
      "and with --bars-out the bar counters (bars, amendments, late drops, gaps; rollups per timeframe).");

  CLI::App* tuning = tickflow::add_tuning_command(app);
  CLI11_PARSE(app, argc, argv);
  if (*tuning) return tickflow::run_tuning_command();

  if (*replay) {
    for (const auto& c : captures) replay_options.captures.push_back(tickflow::parse_capture_argument(c));
    if (speed != "max") {
      char* end = nullptr;
      replay_options.speed = std::strtod(speed.c_str(), &end);
      if (end == speed.c_str() || *end != '\0' || !(replay_options.speed > 0)) {
        std::fprintf(stderr, "tickflow replay: --speed must be 'max' or a positive number, got '%s'\n", speed.c_str());
        return 2;
      }
    }
    if (captures.empty() && (replay_options.influx_url.empty() || replay_options.spool_dir.empty())) {
      std::fprintf(stderr,
                   "tickflow replay: no capture given. Give CAPTURE files, or --influx URL --spool DIR to drain a "
                   "spool (see --help)\n");
      return 2;
    }
    if (!(replay_options.deadline_s >= 0)) {
      std::fprintf(stderr, "tickflow replay: --deadline must be >= 0 seconds\n");
      return 2;
    }
    for (std::size_t start = 0; !retention.empty() && start <= retention.size();) {
      const auto comma = std::min(retention.find(',', start), retention.size());
      const std::string item = retention.substr(start, comma - start);
      const auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
        std::fprintf(stderr, "tickflow replay: --retention item '%s' is not TF=DURATION (e.g. 1s=24h)\n", item.c_str());
        return 2;
      }
      try {
        replay_options.retention[std::string(tickflow::parse_timeframe(item.substr(0, eq)).name())] =
            item.substr(eq + 1);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "tickflow replay: --retention: %s\n", e.what());
        return 2;
      }
      start = comma + 1;
    }
    if (!replay_options.bars_out.empty() || !replay_options.influx_url.empty() || !replay_options.stats_out.empty()) {
      try {
        replay_options.rollup_timeframes =
            timeframes == "none" ? std::vector<tickflow::Timeframe>{} : tickflow::parse_timeframe_list(timeframes);
        for (const auto& tf : replay_options.rollup_timeframes)
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
      if (bad_number("--lateness", lateness_ms, 60'000) || bad_number("--quiet-delay", quiet_delay_ms, 3'600'000) ||
          bad_number("--amend-horizon", horizon_s, 86'400))
        return 2;
      replay_options.lateness_ns = static_cast<std::int64_t>(lateness_ms * 1e6);
      replay_options.quiet_close_delay_ns = static_cast<std::int64_t>(quiet_delay_ms * 1e6);
      replay_options.amend_horizon_ns = static_cast<std::int64_t>(horizon_s * 1e9);
      replay_options.base_volume = !no_base_volume;
    }
    return tickflow::run_replay(replay_options);
  }

  if (*classify) return run_classify(names);
  if (*host) return run_host_info();
  std::cout << app.help();
  return 0;
}
