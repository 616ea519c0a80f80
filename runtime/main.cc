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
#include "runtime/backtest_command.h"
#include "runtime/replay_command.h"
#include "runtime/run_command.h"
#include "runtime/thread_affinity.h"
#include "runtime/tuning_command.h"
#include "tuning/host_check.h"

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
  for (const std::string& line : tickflow::spin_report(tickflow::pause_calibration()))
    std::printf("%s\n", line.c_str());
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
      "  tickflow run --config tuning/laptop-2core.toml\n"
      "  tickflow record --config tuning/laptop-2core.toml --out captures/\n"
      "  tickflow replay --trades-out - BINANCE=spot_btcusdt.gz BINANCE_FUTURES=usdm_btcusdt.gz\n"
      "  tickflow backtest --config tuning/laptop-2core.toml --out var/backtest --capture BINANCE=spot_btcusdt.gz \\\n"
      "      --capture BINANCE_FUTURES=usdm_btcusdt.gz\n"
      "Docs: README.md (quick start), ../shared/docs/architecture.md (design).");

  std::vector<std::string> names;
  auto* classify = app.add_subcommand(
      "classify", "Show how aggr-server market names (EXCHANGE:pair) are classified: spot or perp, base, quote");
  classify->add_option("markets", names, "Market names, e.g. BINANCE_FUTURES:btcusdt")->required();

  auto* host = app.add_subcommand("host", "Show what this host offers the pipeline: CPUs, wake-up mechanism");

  CLI::App* replay = tickflow::add_replay_command(app);

  tickflow::add_run_commands(app);
  CLI::App* backtest = tickflow::add_backtest_command(app);
  CLI::App* tuning = tickflow::add_tuning_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and exit 0; every other parse error is a
    // usage error, exit 2 like the commands' own (CLI11 would return its
    // internal codes, 100 and up).
    const int printed = app.exit(e);
    return printed == 0 ? 0 : 2;
  }
  if (*tuning) return tickflow::run_tuning_command();

  if (*replay) return tickflow::run_replay_command();
  if (*backtest) return tickflow::run_backtest_command();
  if (const int status = tickflow::run_run_commands(); status >= 0) return status;

  if (*classify) return run_classify(names);
  if (*host) return run_host_info();
  std::cout << app.help();
  return 0;
}
