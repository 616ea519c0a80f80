// runtime/memory_lock.h
//
// Locking the process's memory in RAM ([memory] lock = true): what `tickflow
// run` does between building the pipeline and starting its threads.
//
// Why: a page of a ring, a bar table or a thread stack that is touched for
// the first time (or paged back in) costs the thread a fault: microseconds
// for a minor one, milliseconds for a major one, on the hot path.
// mlockall(MCL_CURRENT | MCL_FUTURE) makes the kernel populate every page
// mapped now and every page mapped later (at the mmap/brk/mprotect that
// maps it, not at its first touch), and keeps them resident.
//
// Why after building the pipeline: MCL_CURRENT populates what is mapped at
// the call, so calling it once the pipeline is built and before its threads
// start prefaults, in one step, the feed and writer rings (SpscRing slots
// are value-initialised anyway), the bar builder's, the rollups', the flow
// statistics' and the feeds' per-market tables (sized max_markets up
// front), the latency histograms, the spool's and the feeds' buffers,
// including capacity that was only reserved and never written. MCL_FUTURE
// then covers what is made later: the thread stacks (populated whole when
// the threads start), and the few per-market slots made at a market's first
// trade (rollup windows, strategy buffers: an allocation at first sight,
// never in steady state), whose pages are resident from their allocation.
// Nothing faults in steady state (tests/perf/steady_state_page_faults_test).
//
// The cost: every mapping is resident, thread stacks included (8 MiB each
// by default), so the locked size is the process's whole virtual size, a
// few hundred MiB; it needs RLIMIT_MEMLOCK at least that large (systemd:
// LimitMEMLOCK=infinity, as tuning/tickflow.service sets) or CAP_IPC_LOCK.
//
// Sanitizer builds (ASan, TSan) do not lock: their shadow memory spans
// terabytes of reserved address space, which mlockall would try to
// populate. lock_process_memory() says so and returns.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace tickflow {

class MemoryLockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What lock_process_memory() did.
struct MemoryLockOutcome {
  bool locked = false;
  std::uint64_t locked_bytes = 0;  // VmLck after the call
  std::string note;                // why it did not lock (sanitizer build), else empty
};

// mlockall(MCL_CURRENT | MCL_FUTURE). Throws MemoryLockError with
// memory_lock_failure_message() when the kernel refuses; `config_file`
// (where [memory] lock = true was read) is named in it.
MemoryLockOutcome lock_process_memory(const std::string& config_file);

// The refusal, for an operator: errno's meaning, RLIMIT_MEMLOCK's soft and
// hard values ("unlimited" or bytes; RLIM_INFINITY is unlimited), the bytes the lock needs (the
// process's virtual size now, when known: the kernel compares it with the
// limit), and the fixes: LimitMEMLOCK=infinity in the systemd unit
// (tuning/tickflow.service has it), `ulimit -l unlimited` in a shell, or
// [memory] lock = false in `config_file`.
std::string memory_lock_failure_message(int error_number, std::uint64_t soft_limit, std::uint64_t hard_limit,
                                        std::optional<std::uint64_t> needed_bytes, const std::string& config_file);

// A field of /proc/self/status in bytes ("VmSize", "VmLck", "VmRSS"), or
// nullopt when it cannot be read.
std::optional<std::uint64_t> process_status_bytes(const char* field);

}  // namespace tickflow
