// runtime/checkpoint_keeper.cc
#include "runtime/checkpoint_keeper.h"

#include <pthread.h>

#include <chrono>
#include <exception>

namespace tickflow {

CheckpointKeeper::CheckpointKeeper(std::filesystem::path file, std::size_t max_markets, const MarketRegistry& registry,
                                   Settled settled, Log log)
    : file_(std::move(file)), registry_(registry), settled_(std::move(settled)), log_(std::move(log)) {
  filling_.reserve(max_markets);
  pending_.reserve(max_markets);
}

CheckpointKeeper::~CheckpointKeeper() { stop(); }

void CheckpointKeeper::start() {
  thread_ = std::thread([this] { run(); });
}

void CheckpointKeeper::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<MarketResumePoint>* CheckpointKeeper::begin_offer() noexcept {
  if (!mutex_.try_lock()) {
    counters_.busy.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  filling_.clear();
  return &filling_;
}

void CheckpointKeeper::commit_offer(std::uint64_t bars_handed, std::int64_t now_ns, std::uint64_t bus_floor) noexcept {
  // Swap, not copy: both vectors keep their capacity, nothing allocates.
  pending_.swap(filling_);
  pending_bars_ = bars_handed;
  pending_ns_ = now_ns;
  pending_bus_floor_ = bus_floor;
  has_pending_ = true;
  mutex_.unlock();
  counters_.offers.fetch_add(1, std::memory_order_relaxed);
  wake_.notify_one();
}

bool CheckpointKeeper::write_if_settled() {
  RestartCheckpoint checkpoint;
  std::uint64_t bus_floor = 0;
  {
    std::lock_guard lock(mutex_);
    if (!has_pending_ || settled_() < pending_bars_) return false;
    checkpoint.written_at_ns = pending_ns_;
    checkpoint.markets.reserve(pending_.size());
    for (const MarketResumePoint& p : pending_)
      checkpoint.markets.push_back(MarketCheckpoint{registry_.info(p.market).name, p});
    bus_floor = pending_bus_floor_;
    has_pending_ = false;
  }
  try {
    write_checkpoint_file(file_, checkpoint);
    counters_.written.fetch_add(1, std::memory_order_relaxed);
    counters_.last_written_ns.store(checkpoint.written_at_ns, std::memory_order_relaxed);
    if (bus_floor != 0 && on_written_) on_written_(bus_floor);
  } catch (const std::exception& e) {
    counters_.failures.fetch_add(1, std::memory_order_relaxed);
    if (log_) log_(std::string("checkpoint not written (the previous one stays): ") + e.what());
  }
  return true;
}

void CheckpointKeeper::run() {
  pthread_setname_np(pthread_self(), "tf-checkpoint");
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // Settlement is polled: the writer acknowledges on its own schedule.
      wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
      if (stopping_) break;
    }
    write_if_settled();
  }
  write_if_settled();  // the last offer, if the writer settled it
}

}  // namespace tickflow
