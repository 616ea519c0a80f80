// runtime/run_command.h
//
// `tickflow run --config FILE`: the live pipeline (runtime/live_pipeline.h)
// until SIGINT or SIGTERM, then a graceful shutdown within the config's
// deadline. `tickflow record --config FILE --out DIR`: the same feeds, their
// raw frames into hourly capture files, no bars.
//
// Before any thread starts, the profile is checked against the host
// (tuning/host_check.h): a profile that pins threads to CPUs this process
// cannot use is refused with the missing CPUs named, unless --unpinned, which
// runs it without pinning and says so.
//
// Exit status: 0 clean shutdown (every bar acknowledged or spooled), 1 a
// shutdown that lost or abandoned something, 2 a config or start-up error.
// Spooled at exit counts as success: the points are on disk and the next
// start delivers them first; the last lines say how many and why ("N points
// (B batches) still spooled in DIR: InfluxDB at URL unreachable: ...").
// Lost means any point dropped by the spool's drop_oldest policy or the
// memory bound, dead-lettered (400), refused (NaN/Inf), or neither
// delivered nor spooled: exit 1 with the counts, as `tickflow replay
// --influx` does (InfluxSinkStats::points_lost()).
#pragma once

#include <CLI/CLI.hpp>

namespace tickflow {

// Adds `run` and `record` to `app`.
void add_run_commands(CLI::App& app);

// Runs whichever of them was chosen; -1 if neither was.
int run_run_commands();

}  // namespace tickflow
