// runtime/backtest_command.cc
#include "runtime/backtest_command.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/pipeline_config.h"
#include "pipeline/market_registry.h"
#include "runtime/capture_bar_source.h"
#include "runtime/progress_bar.h"
#include "runtime/replay.h"
#include "sinks/output_file.h"
#include "strategy/backtest_report.h"
#include "strategy/backtester.h"
#include "strategy/csv_bar_source.h"
#include "strategy/influx_backtest_plan.h"
#include "strategy/merged_bar_source.h"
#include "strategy/utc_time.h"

namespace tickflow {
namespace {

struct BacktestArgs {
  std::string config;
  std::vector<std::string> captures;
  std::vector<std::string> csv;
  std::string influx_url;
  std::string from, to;
  std::string chunk = "2h";
  std::string base = "1s";
  std::string retention_policy;
  std::vector<std::string> markets;
  std::string gap = "60s";
  std::string out;
  int repeat = 1;
  double balance = 10000;
  std::int64_t equity_interval_s = 60;
  bool quiet = false;
};

BacktestArgs& args() {
  static BacktestArgs a;
  return a;
}

CLI::App* command = nullptr;

int fail(const std::string& message) {
  std::fprintf(stderr, "tickflow backtest: %s\n", message.c_str());
  return 2;
}

}  // namespace

std::optional<std::int64_t> parse_time_argument(std::string_view text) {
  std::int64_t t = 0;
  const char* end = text.data() + text.size();
  if (const auto [p, ec] = std::from_chars(text.data(), end, t); ec == std::errc{} && p == end && !text.empty())
    return t;
  // The ISO forms, completed to the one parse_iso8601_utc() reads.
  if (text.ends_with("Z")) {
    text.remove_suffix(1);
  } else if (text.ends_with("+00:00")) {
    text.remove_suffix(6);
  }
  std::string iso(text);
  if (iso.size() == 10) iso += "T00:00:00";  // a date alone: its midnight
  iso += 'Z';
  if (!parse_iso8601_utc(iso, t)) return std::nullopt;
  return t;
}

CLI::App* add_backtest_command(CLI::App& app) {
  BacktestArgs& a = args();
  command = app.add_subcommand(
      "backtest",
      "Run SqueezeFlow over recorded data (captures, InfluxDB 1s bars or CSV bars) on a simulated 1 s clock;\n"
      "write report.json, trades.csv, equity.csv, equity.svg and signals.jsonl");
  command->add_option("--config", a.config, "Deployment config: its [strategy] table gives parameters and symbols")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--capture", a.captures,
                      "EXCHANGE=PATH capture (as for replay); repeatable. Frames go through the real parsers");
  command
      ->add_option("--repeat", a.repeat,
                   "Captures only: play them N times back to back, each pass shifted by their span (a demo or "
                   "test on minutes of data; real history needs no repeat)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command->add_option("--csv", a.csv,
                      "CSV bars: time,market,timeframe,open,high,low,close,vbuy,vsell,cbuy,csell,lbuy,lsell "
                      "(timeframe 1s or 1m); repeatable");
  command->add_option("--influx", a.influx_url,
                      "InfluxDB 1.x URL to read the pipeline's base bars from (with --from and --to): trades_1s\n"
                      "in retention policy aggr_1s, as `tickflow run` and `replay --influx` write them");
  command->add_option("--from", a.from, "Start, ISO-8601 UTC or epoch seconds (InfluxDB: required)");
  command->add_option("--to", a.to, "End (exclusive), ISO-8601 UTC or epoch seconds (InfluxDB: required)");
  command->add_option("--chunk", a.chunk, "InfluxDB query span per request")->capture_default_str();
  command
      ->add_option("--base", a.base,
                   "InfluxDB base bars: 1s (aggr_1s.trades_1s), 1m (aggr_1m.trades_1m: months of history where\n"
                   "1 s bars expired), or auto: per market 1s when its 1 s bars start where its 1 m bars do\n"
                   "(within their first minute plus --gap), else 1m; the choice is printed and in\n"
                   "coverage.txt. A market never switches base mid-run (the backtester takes one per market)")
      ->capture_default_str();
  command->add_option("--retention-policy", a.retention_policy,
                      "InfluxDB retention policy to read (default: the sink's, aggr_1s or aggr_1m by --base)");
  command->add_option("--market", a.markets, "InfluxDB: only this market (BINANCE:btcusdt); repeatable. Default: all");
  command
      ->add_option("--gap", a.gap,
                   "InfluxDB coverage report: list runs of missing seconds at least this long per market")
      ->capture_default_str();
  command->add_option("--out", a.out, "Output folder (created)")->required();
  command->add_option("--balance", a.balance, "Starting balance")->capture_default_str();
  command->add_option("--equity-interval", a.equity_interval_s, "Equity sample interval, seconds")
      ->capture_default_str();
  command->add_flag("--quiet", a.quiet, "No progress, coverage or summary on stderr (coverage.txt is still written)");
  command->footer(
      "Examples:\n"
      "  tickflow backtest --config tuning/laptop-2core.toml --out var/backtest \\\n"
      "      --capture BINANCE=tests/data/binance-20240808-trades/spot_btcusdt.gz \\\n"
      "      --capture BINANCE_FUTURES=tests/data/binance-20240808-trades/usdm_btcusdt.gz\n"
      "  tickflow backtest --config tuning/laptop-2core.toml --out var/bt \\\n"
      "      --influx http://127.0.0.1:8086 --from 2024-08-01 --to 2024-08-08\n"
      "InfluxDB database and credentials: the config's [influx] table (INFLUX_USERNAME/INFLUX_PASSWORD).\n"
      "Before an InfluxDB run, a coverage report per market (seconds present of the range, gaps of --gap or\n"
      "more) goes to stderr and DIR/coverage.txt. A range with no bars exits 1, naming what was asked and\n"
      "the ranges the database does hold.\n"
      "Exit status: 0 done, 1 no bars in the InfluxDB range, 2 a usage, config or input error.");
  return command;
}

int run_backtest_command() {
  const BacktestArgs& a = args();
  const int kinds = (!a.captures.empty()) + (!a.csv.empty()) + (!a.influx_url.empty());
  if (kinds != 1) return fail("give exactly one data source: --capture, --csv or --influx (see --help)");
  if (a.repeat != 1 && a.captures.empty()) return fail("--repeat applies to --capture only");
  if (a.base != "1s" && a.base != "1m" && a.base != "auto")
    return fail("--base '" + a.base + "': expected 1s, 1m or auto");
  if (a.influx_url.empty() && (a.base != "1s" || !a.retention_policy.empty() || !a.markets.empty() || a.gap != "60s"))
    return fail("--base, --retention-policy, --market and --gap apply to --influx only");

  PipelineConfig config;
  try {
    config = load_pipeline_config(a.config);
  } catch (const std::exception& e) {
    return fail(e.what());
  }

  BacktestConfig bc;
  bc.params = config.strategy.params;
  for (const StrategySymbolConfig& s : config.strategy.symbols)
    bc.symbols.push_back({s.base, s.symbol, s.execution_market});
  bc.account.starting_balance = a.balance;
  bc.account.equity_interval_s = a.equity_interval_s;
  if (!config.strategy.debug_symbol.empty() && !config.strategy.debug_csv.empty()) {
    bc.debug_symbol = config.strategy.debug_symbol;
    bc.debug_csv = (std::filesystem::path(a.out) / config.strategy.debug_csv.filename()).string();
  }
  if (a.balance <= 0) return fail("--balance must be positive");
  if (a.equity_interval_s <= 0) return fail("--equity-interval must be positive");
  std::optional<std::int64_t> from, to;
  if (!a.from.empty() && !(from = parse_time_argument(a.from)))
    return fail("--from '" + a.from + "': not ISO-8601 UTC (2024-08-09T00:00:00Z) or epoch seconds");
  if (!a.to.empty() && !(to = parse_time_argument(a.to)))
    return fail("--to '" + a.to + "': not ISO-8601 UTC (2024-08-09T00:00:00Z) or epoch seconds");
  if (from && to && *from >= *to) return fail("--from must be before --to");
  if (from) bc.from_s = *from;
  if (to) bc.to_s = *to;

  MarketRegistry registry;
  std::unique_ptr<BarSource> source;
  std::string source_text;
  try {
    if (!a.captures.empty()) {
      std::vector<CaptureSpec> specs;
      for (const std::string& c : a.captures) {
        specs.push_back(parse_capture_argument(c));
        source_text += (source_text.empty() ? "" : " ") + c;
      }
      if (!a.quiet) std::fprintf(stderr, "backtest: building 1 s bars from %zu capture(s)...\n", specs.size());
      CaptureBarOptions options;
      options.repeat = a.repeat;
      source = std::make_unique<CaptureBarSource>(specs, registry, options);
      if (a.repeat > 1) source_text += " x" + std::to_string(a.repeat);
    } else if (!a.csv.empty()) {
      std::vector<std::unique_ptr<BarSource>> parts;
      for (const std::string& f : a.csv) {
        parts.push_back(std::make_unique<CsvBarSource>(f, registry));
        source_text += (source_text.empty() ? "" : " ") + f;
      }
      source = parts.size() == 1 ? std::move(parts.front()) : std::make_unique<MergedBarSource>(std::move(parts));
    } else {
      if (!from || !to) return fail("--influx needs --from and --to");
      InfluxBacktestRequest request;
      InfluxBarQuery& q = request.query;
      q.url = a.influx_url;
      q.database = config.influx.database;
      q.credentials_file = config.influx.credentials_file;
      q.from_s = *from;
      q.to_s = *to;
      q.markets = a.markets;
      try {
        q.chunk_s = parse_timeframe(a.chunk).seconds();
      } catch (const std::exception&) {
        return fail("--chunk '" + a.chunk + "': not a duration like 30m, 2h or 1d");
      }
      try {
        request.gap_threshold_s = parse_timeframe(a.gap).seconds();
      } catch (const std::exception&) {
        return fail("--gap '" + a.gap + "': not a duration like 10s, 1m or 1h");
      }
      request.base = a.base == "1m" ? BaseBars::k1m : a.base == "auto" ? BaseBars::kAuto : BaseBars::k1s;
      request.retention_policy = a.retention_policy;
      if (request.base == BaseBars::kAuto && !a.retention_policy.empty())
        return fail("--retention-policy names one policy; --base auto reads the sink's aggr_1s and aggr_1m");
      InfluxBacktestPlan plan;
      if (!a.quiet) std::fprintf(stderr, "backtest: checking what InfluxDB holds in the range...\n");
      try {
        plan = plan_influx_backtest(request);
      } catch (const InfluxNoBarsError& e) {
        std::fprintf(stderr, "tickflow backtest: %s\n", e.what());
        return 1;
      }
      std::string coverage =
          "coverage of " + plan.measurements() + " in [" + iso8601_utc(*from) + ", " + iso8601_utc(*to) + "):\n";
      if (!plan.auto_choices.empty()) {
        coverage += "base bars (--base auto):";
        for (const auto& [market, tf] : plan.auto_choices) coverage += " " + market + (tf == 1 ? "=1s" : "=1m");
        coverage += "\n";
      }
      coverage += plan.coverage.text();
      if (!a.quiet) std::fputs(coverage.c_str(), stderr);
      std::filesystem::create_directories(a.out);
      OutputFile file((std::filesystem::path(a.out) / "coverage.txt").string());
      if (std::string e = file.write(coverage); !e.empty()) return fail(e);
      if (std::string e = file.flush(); !e.empty()) return fail(e);
      source = plan.open(registry);
      source_text = a.influx_url + " " + plan.measurements() + " " + iso8601_utc(*from) + " .. " + iso8601_utc(*to);
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }

  // Progress: a bar with an ETA on a terminal.
  std::unique_ptr<ProgressBar> bar;
  const auto wall_start = std::chrono::steady_clock::now();
  std::uint64_t steps_seen = 0;
  if (!a.quiet && isatty(STDERR_FILENO) == 1) bar = std::make_unique<ProgressBar>(stderr);
  auto sample = [&](double fraction, std::chrono::steady_clock::time_point now) {
    ProgressSample p;
    p.total_bytes = fraction >= 0 ? 1'000'000 : 0;
    p.done_bytes = fraction >= 0 ? static_cast<std::uint64_t>(fraction * 1e6) : 0;
    p.frames = steps_seen;
    p.elapsed_s = std::chrono::duration<double>(now - wall_start).count();
    p.frames_per_s = p.elapsed_s > 0 ? static_cast<double>(steps_seen) / p.elapsed_s : 0;
    p.unit = "steps";
    return p;
  };
  bc.progress = [&](std::int64_t, double fraction) {
    steps_seen += 1u << 16;
    if (!bar) return;
    const auto now = std::chrono::steady_clock::now();
    if (bar->due(now)) bar->update(sample(fraction, now), now);
  };

  std::unique_ptr<Backtester> backtester;
  try {
    backtester = std::make_unique<Backtester>(bc, registry);
    backtester->run(*source);
  } catch (const std::exception& e) {
    if (bar) bar->finish(sample(-1, std::chrono::steady_clock::now()));
    return fail(e.what());
  }
  const BacktestStats& st = backtester->stats();
  steps_seen = st.steps;
  if (bar) bar->finish(sample(1.0, std::chrono::steady_clock::now()));

  const BacktestMetrics metrics = compute_metrics(backtester->portfolio(), st.steps);
  std::vector<std::pair<std::string, std::string>> info = {
      {"config", a.config},
      {"source", source_text},
      {"strategy", "SqueezeFlow"},
      {"bars", std::to_string(st.bars)},
      {"evaluations", std::to_string(st.evaluations)},
      {"entries", std::to_string(st.entries)},
      {"exits", std::to_string(st.exits)},
      {"refused_entries", std::to_string(st.refused_entries)},
      {"signals", std::to_string(backtester->signals().size())},
  };
  for (std::size_t g = 0; g < backtester->engine().groups(); ++g) {
    const StrategyEngine& e = backtester->engine();
    info.emplace_back("group_" + e.base(g), e.symbol(g) + " (" + std::to_string(e.markets(g)) + " markets)");
  }
  try {
    write_backtest_report(a.out, metrics, backtester->portfolio(), info);
    std::string jsonl;
    char line[2048];
    for (const Signal& s : backtester->signals()) {
      const std::size_t n = encode_json(s, line, sizeof line);
      jsonl.append(line, n);
      jsonl += '\n';
    }
    const std::filesystem::path path = std::filesystem::path(a.out) / "signals.jsonl";
    {
      OutputFile file(path.string() + ".tmp");
      if (std::string e = file.write(jsonl); !e.empty()) throw std::runtime_error(e);
      if (std::string e = file.flush(); !e.empty()) throw std::runtime_error(e);
    }
    std::filesystem::rename(path.string() + ".tmp", path);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (!a.quiet) {
    std::fprintf(stderr,
                 "backtest: %llu steps (%s .. %s), %llu bars, %llu evaluations, %zu trades, final balance %.2f "
                 "(%+.2f%%), max drawdown %.2f%%, Sharpe %.2f\n  wrote %s/{report.json,trades.csv,equity.csv,"
                 "equity.svg,signals.jsonl}\n",
                 static_cast<unsigned long long>(st.steps), iso8601_utc(st.first_step_s).c_str(),
                 iso8601_utc(st.last_step_s).c_str(), static_cast<unsigned long long>(st.bars),
                 static_cast<unsigned long long>(st.evaluations), backtester->portfolio().trades().size(),
                 metrics.final_balance, metrics.total_return * 100, metrics.max_drawdown * 100, metrics.sharpe,
                 a.out.c_str());
  }
  return 0;
}

}  // namespace tickflow
