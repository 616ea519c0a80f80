// runtime/thread_affinity.h
//
// Pinning threads to CPUs. Pinned threads keep their caches warm and stop the
// scheduler from migrating a hot loop mid-burst; tuning/ profiles decide which
// thread goes where.
#pragma once

#include <string>
#include <vector>

#include "config/pipeline_config.h"

namespace tickflow {

// CPUs this process may run on (its affinity mask), ascending.
std::vector<int> allowed_cpus();

// Pins the calling thread to `cpu`. Returns an empty string on success, else
// a message naming the CPU and the system error. Never throws.
std::string pin_current_thread(int cpu);

// Names the calling thread (visible in top -H, perf, gdb); truncated to 15 chars.
void name_current_thread(const std::string& name);

// Gives the calling thread SCHED_FIFO at `priority` (1..99). Returns an
// empty string on success, else a message saying why and what to change
// (EPERM: CAP_SYS_NICE or LimitRTPRIO, see tuning/README.md).
std::string set_fifo_priority(int priority);

// Applies a tuning/ thread config to the calling thread: its name, its CPU
// (unless `pin` is false: --unpinned), its SCHED_FIFO priority. Returns an
// empty string, or every failure, each naming the thread.
std::string apply_thread_config(const ThreadConfig& config, bool pin);

}  // namespace tickflow
