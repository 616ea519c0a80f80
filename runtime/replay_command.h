// runtime/replay_command.h
//
// `tickflow replay`: the command line around run_replay() (runtime/replay.h):
// its options, their help, and their validation into a ReplayOptions.
//
// With `--config FILE` (a tuning/*.toml profile or a deployment config, read
// by config/pipeline_config.h) the config supplies the defaults for the bar
// settings ([bars]: lateness, quiet delay, amend horizon, rollups) and the
// InfluxDB settings ([influx]: url, database, gzip, retention,
// credentials_file, spool_dir); an option given on the command line wins.
// InfluxDB output stays explicit: on with `--influx URL`, or with
// `--to-influx` (the config's url; it must say influx.enabled = true).
#pragma once

#include <CLI/CLI.hpp>

namespace tickflow {

// Adds `replay` to `app`; returns it.
CLI::App* add_replay_command(CLI::App& app);

// Runs the parsed replay. Exit status: run_replay()'s (0 ok, 1 a run-time
// failure or lost InfluxDB points), 2 a usage or config error.
int run_replay_command();

}  // namespace tickflow
