// runtime/thread_affinity.cc
#include "runtime/thread_affinity.h"

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

namespace tickflow {

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

std::string pin_current_thread(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return "cannot pin to CPU " + std::to_string(cpu) + ": out of range";
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) return "cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(rc);
  return {};
}

void name_current_thread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

std::string set_fifo_priority(int priority) {
  sched_param param{};
  param.sched_priority = priority;
  const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  if (rc == 0) return {};
  std::string message = "cannot set SCHED_FIFO priority " + std::to_string(priority) + ": " + std::strerror(rc);
  if (rc == EPERM)
    message +=
        " (needs CAP_SYS_NICE or an RLIMIT_RTPRIO >= the priority: run under tuning/tickflow.service, which sets "
        "LimitRTPRIO, or remove fifo_priority from the config)";
  return message;
}

std::string apply_thread_config(const ThreadConfig& config, bool pin) {
  std::string problems;
  auto add = [&](const std::string& problem) {
    if (problem.empty()) return;
    problems += (problems.empty() ? "" : "; ") + config.name + ": " + problem;
  };
  name_current_thread(config.name);
  if (pin && config.cpu) add(pin_current_thread(*config.cpu));
  if (config.fifo_priority) add(set_fifo_priority(*config.fifo_priority));
  return problems;
}

}  // namespace tickflow
