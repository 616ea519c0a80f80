// runtime/run_command.cc
#include "runtime/run_command.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>

#include "config/pipeline_config.h"
#include "runtime/live_pipeline.h"
#include "runtime/logging.h"
#include "runtime/memory_lock.h"
#include "tuning/host_check.h"

namespace tickflow {
namespace {

struct RunOptions {
  std::string config;
  bool unpinned = false;
  double duration_s = 0;  // 0: until a signal
  std::string record_dir;
  bool record_plain = false;
  std::string log_level = "info";
  std::string log_file;
  bool no_influx = false;
  bool no_http = false;
  int http_port = 0;
};

RunOptions g_run, g_record;
CLI::App* g_run_app = nullptr;
CLI::App* g_record_app = nullptr;

void add_common(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--config", o.config,
                  "Pipeline config (TOML): markets, threads and pinning, rings, bars, InfluxDB, metrics.\n"
                  "Profiles: tuning/laptop-2core.toml, bench-2core-spin.toml, host-4core.toml, host-8core.toml,\n"
                  "host-16core-isolated.toml")
      ->required()
      ->option_text("FILE");
  cmd->add_flag("--unpinned", o.unpinned,
                "Run a profile that pins threads to CPUs this host lacks, without pinning (said at start-up)");
  cmd->add_option("--duration", o.duration_s,
                  "Stop by itself after SECONDS (as on SIGTERM). Default: run until signalled")
      ->option_text("SECONDS");
  cmd->add_option("--log-level", o.log_level, "trace, debug, info (default), warn, error, off")->option_text("LEVEL");
  cmd->add_option("--log-file", o.log_file, "Log to FILE instead of stderr")->option_text("FILE");
}

// Blocks SIGINT and SIGTERM in this thread, and so in every thread started
// after it: only the main thread takes them, with sigtimedwait, so no
// pipeline thread is ever interrupted and shutdown runs in normal code.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int run_live(const RunOptions& o, bool record) {
  const char* command = record ? "tickflow record" : "tickflow run";
  try {
    init_logging(LogOptions{.level = o.log_level, .file = o.log_file});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", command, e.what());
    return 2;
  }
  struct LogGuard {
    ~LogGuard() { shutdown_logging(); }
  } log_guard;

  PipelineConfig config;
  try {
    config = load_pipeline_config(o.config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", command, e.what());
    return 2;
  }
  if (o.no_influx) config.influx.enabled = false;

  const HostInfo host = read_host_info();
  const CpuPlan plan = check_cpus(config, host);
  bool pin = true;
  if (!plan.fits()) {
    std::string missing;
    for (int cpu : plan.missing_cpus) missing += (missing.empty() ? "" : ",") + std::to_string(cpu);
    if (!o.unpinned) {
      std::fprintf(stderr, "%s: %s pins threads to CPU%s %s, which this process cannot use (it may use %s):\n", command,
                   o.config.c_str(), plan.missing_cpus.size() > 1 ? "s" : "", missing.c_str(),
                   format_cpu_list(host.allowed_cpus).c_str());
      for (const std::string& problem : plan.problems) std::fprintf(stderr, "  %s\n", problem.c_str());
      std::fprintf(stderr,
                   "Use a profile for this host (tickflow tuning check --config FILE), or --unpinned to run it "
                   "without pinning.\n");
      return 2;
    }
    pin = false;
    spdlog::warn("--unpinned: {} asks for CPUs {} that this host lacks; running every thread unpinned", o.config,
                 missing);
  }
  for (const std::string& warning : plan.warnings) spdlog::warn("tuning: {}", warning);

  const sigset_t signals = block_shutdown_signals();
  LivePipelineOptions options;
  options.pin = pin;
  options.aggregate = !record;
  options.record_dir = o.record_dir;
  options.record_gzip = !o.record_plain;
  options.serve_http = !o.no_http;
  options.http_port_override = static_cast<std::uint16_t>(o.http_port);
  if (!options.record_dir.empty() && !std::filesystem::is_directory(options.record_dir)) {
    std::error_code ec;
    std::filesystem::create_directories(options.record_dir, ec);
    if (ec) {
      std::fprintf(stderr, "%s: cannot create %s: %s\n", command, options.record_dir.c_str(), ec.message().c_str());
      return 2;
    }
  }

  std::unique_ptr<LivePipeline> pipeline;
  try {
    pipeline = std::make_unique<LivePipeline>(config, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", command, e.what());
    return 2;
  }
  if (config.memory.lock) {
    // Built, not started: locking now populates every table and ring the
    // pipeline has made, and everything mapped later (thread stacks, a new
    // market's slots) as it is mapped; the feeds connect only after this
    // (runtime/memory_lock.h).
    try {
      const MemoryLockOutcome locked = lock_process_memory(config.source.string());
      if (locked.locked)
        spdlog::info("memory: locked ({} MiB resident and locked; every later mapping is locked as it is made)",
                     locked.locked_bytes / (1024 * 1024));
      else
        spdlog::warn("memory: {}", locked.note);
    } catch (const MemoryLockError& e) {
      std::fprintf(stderr, "%s: %s\n", command, e.what());
      return 2;
    }
  }
  try {
    pipeline->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", command, e.what());
    return 2;
  }
  std::string markets;
  for (const auto& [exchange, symbols] : config.markets)
    markets += " " + exchange + "(" + std::to_string(symbols.size()) + ")";
  spdlog::info("{} started: config {}, markets{}{}{}", command, o.config, markets,
               options.serve_http ? ", /health and /metrics on http://" + config.metrics.bind + ":" +
                                        std::to_string(pipeline->http_port())
                                  : std::string(),
               record ? ", recording to " + options.record_dir : std::string());

  // Wait for a signal (or --duration).
  const auto started = std::chrono::steady_clock::now();
  int signal_number = 0;
  for (;;) {
    timespec timeout{0, 200'000'000};
    const int got = sigtimedwait(&signals, nullptr, &timeout);
    if (got > 0) {
      signal_number = got;
      break;
    }
    if (o.duration_s > 0 && std::chrono::steady_clock::now() - started >= std::chrono::duration<double>(o.duration_s))
      break;
  }
  if (signal_number != 0)
    spdlog::info("{}: shutting down (deadline {} ms)", signal_number == SIGINT ? "SIGINT" : "SIGTERM",
                 config.shutdown_deadline.count());
  else
    spdlog::info("--duration reached: shutting down (deadline {} ms)", config.shutdown_deadline.count());
  const bool clean = pipeline->stop(std::chrono::steady_clock::now() + config.shutdown_deadline);
  const std::string summary = pipeline->summary();
  spdlog::info("summary:\n{}", summary);
  // Exit status (run_command.h): spooled is success (on disk, delivered by
  // the next start) and said so with the reason; any point dropped,
  // dead-lettered, refused or neither delivered nor spooled is a failure,
  // as `tickflow replay --influx` has it.
  const LivePipeline::SinkOutcome sink = pipeline->sink_outcome();
  if (!clean) {
    if (sink.points_lost > 0)
      spdlog::error("shutdown was not clean: {}", sink.text);
    else
      spdlog::error("shutdown was not clean: a stage did not finish before the deadline (logged above)");
    shutdown_logging();
    std::fflush(nullptr);
    // A stage may still be running (abandoned at the deadline): do not run
    // destructors under it.
    std::_Exit(1);
  }
  if (sink.points_lost > 0) {
    spdlog::error("{}: data was lost: {}", command, sink.text);
    return 1;
  }
  if (sink.batches_spooled > 0) {
    spdlog::warn("{}", sink.text);
    spdlog::info("clean shutdown: nothing lost ({} batches stay spooled for the next start)", sink.batches_spooled);
    return 0;
  }
  spdlog::info("clean shutdown");
  return 0;
}

}  // namespace

void add_run_commands(CLI::App& app) {
  g_run_app = app.add_subcommand(
      "run", "The live pipeline: websocket feeds -> 1s bars and rollups -> InfluxDB, with /health and /metrics");
  add_common(g_run_app, g_run);
  g_run_app->add_option("--record", g_run.record_dir, "Also record every raw frame into hourly capture files in DIR")
      ->option_text("DIR");
  g_run_app->add_flag("--no-influx", g_run.no_influx, "Build bars but write nowhere (overrides influx.enabled)");
  g_run_app->add_flag("--no-http", g_run.no_http, "Do not serve /health and /metrics");
  g_run_app->add_option("--http-port", g_run.http_port, "Serve /health and /metrics on PORT instead of metrics.port")
      ->option_text("PORT")
      ->check(CLI::Range(1, 65535));
  g_run_app->footer(
      "Examples:\n"
      "  tickflow run --config tuning/laptop-2core.toml\n"
      "  tickflow run --config tuning/host-8core.toml --unpinned      (on a smaller host)\n"
      "  curl -s http://127.0.0.1:9464/health; curl -s http://127.0.0.1:9464/metrics\n"
      "Credentials: INFLUX_USERNAME / INFLUX_PASSWORD, or influx.credentials_file in the config.\n"
      "SIGINT/SIGTERM: stop the feeds, drain the rings, close every open bar, flush InfluxDB and the spool,\n"
      "exit 0 within shutdown.deadline_ms. Spooled points are not lost (the next start delivers them): exit 0,\n"
      "with a line saying how many and why. Exit 1 if any point was dropped (spool_full_policy = drop_oldest),\n"
      "dead-lettered, or could be neither delivered nor spooled; the summary says how many.");

  g_record_app = app.add_subcommand("record", "Capture the live feeds' raw frames into hourly files (replayable)");
  add_common(g_record_app, g_record);
  g_record_app->add_option("--out", g_record.record_dir, "Directory for the capture files (created if missing)")
      ->required()
      ->option_text("DIR");
  g_record_app->add_flag("--plain", g_record.record_plain, "Write .log instead of .log.gz");
  g_record_app->add_flag("--no-http", g_record.no_http, "Do not serve /health and /metrics");
  g_record_app->footer(
      "Files: DIR/<EXCHANGE>-<YYYYMMDD>-<HH>.log.gz, one '<receive ns> <frame>' line per frame.\n"
      "Example:\n"
      "  tickflow record --config tuning/laptop-2core.toml --out captures/\n"
      "  tickflow replay --bars-out - BINANCE=captures/BINANCE-20261121-13.log.gz");
}

int run_run_commands() {
  if (g_run_app != nullptr && *g_run_app) return run_live(g_run, false);
  if (g_record_app != nullptr && *g_record_app) return run_live(g_record, true);
  return -1;
}

}  // namespace tickflow
