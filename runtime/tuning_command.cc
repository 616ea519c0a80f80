#include "runtime/tuning_command.h"

#include <cstdio>
#include <exception>
#include <string>

#include "config/pipeline_config.h"
#include "tuning/host_check.h"

namespace tickflow {
namespace {

// What the parsed command line chose; CLI11 writes here, run_tuning_command() reads.
struct TuningOptions {
  CLI::App* check = nullptr;
  std::string config = "tuning/laptop-2core.toml";
  std::string sysfs_root = "/";
};

TuningOptions& options() {
  static TuningOptions instance;
  return instance;
}

int run_check() {
  const TuningOptions& opt = options();
  PipelineConfig config;
  try {
    config = load_pipeline_config(opt.config);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "tickflow tuning check: %s\n", e.what());
    return 2;
  }
  const HostInfo host = read_host_info(opt.sysfs_root);
  const CpuPlan plan = check_cpus(config, host);
  std::printf("host\n");
  for (const std::string& line : host_report(host)) std::printf("  %s\n", line.c_str());
  std::printf("profile\n");
  for (const std::string& line : profile_report(config, host, plan)) std::printf("  %s\n", line.c_str());
  return plan.fits() ? 0 : 1;
}

}  // namespace

CLI::App* add_tuning_command(CLI::App& app) {
  TuningOptions& opt = options();
  auto* tuning = app.add_subcommand("tuning", "Host tuning: check what this host offers against a profile");
  tuning->require_subcommand(1);
  opt.check = tuning->add_subcommand(
      "check",
      "Print what this host offers (CPUs, isolated and nohz_full cores, governor, SMT, THP, clocksource)\n"
      "against what a profile needs (the CPUs it pins to, spinning threads on isolated cores).\n"
      "Exit status: 0 fits, 1 pins to CPUs this process cannot use, 2 the config does not load.");
  opt.check->add_option("--config", opt.config, "Profile or config file. Default: tuning/laptop-2core.toml")
      ->option_text("FILE");
  opt.check->add_option("--sysfs-root", opt.sysfs_root, "Read /sys below this directory (testing)")
      ->group("");  // hidden
  opt.check->footer(
      "Examples:\n"
      "  tickflow tuning check\n"
      "  tickflow tuning check --config tuning/host-16core-isolated.toml");
  return tuning;
}

int run_tuning_command() {
  const TuningOptions& opt = options();
  if (opt.check != nullptr && *opt.check) return run_check();
  return 2;
}

}  // namespace tickflow
