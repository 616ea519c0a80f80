// runtime/thread_affinity.h
//
// Pinning threads to CPUs. Pinned threads keep their caches warm and stop the
// scheduler from migrating a hot loop mid-burst; tuning/ profiles decide which
// thread goes where.
#pragma once

#include <string>
#include <vector>

namespace tickflow {

// CPUs this process may run on (its affinity mask), ascending.
std::vector<int> allowed_cpus();

// Pins the calling thread to `cpu`. Returns an empty string on success, else
// a message naming the CPU and the system error. Never throws.
std::string pin_current_thread(int cpu);

// Names the calling thread (visible in top -H, perf, gdb); truncated to 15 chars.
void name_current_thread(const std::string& name);

}  // namespace tickflow
