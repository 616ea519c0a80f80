// runtime/tuning_command.h
//
// `tickflow tuning check [--config FILE]`: what this host offers the pipeline
// (CPUs, isolated cores, nohz_full, governor, SMT, THP, clocksource) next to
// what the chosen profile needs (the CPUs it pins to, spinning threads on
// isolated cores). The checks live in tuning/host_check.h; this file is only
// the command line around them.
#pragma once

#include <CLI/CLI.hpp>

namespace tickflow {

// Adds `tuning` (with its `check` subcommand) to `app`; returns `tuning`.
CLI::App* add_tuning_command(CLI::App& app);

// Runs the chosen tuning subcommand. Exit status: 0 the profile fits this
// host, 1 it pins threads to CPUs this process cannot use, 2 the config
// cannot be loaded.
int run_tuning_command();

}  // namespace tickflow
