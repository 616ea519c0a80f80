// bench/experiments/seq_slot_ring.cc: a measured design experiment, not
// part of the build. It answers the question issue 2 left open: would
// per-slot sequence words (FastForward / Vyukov style: the consumer polls the
// slot's own sequence instead of the producer's head index) fix the 64-byte
// single-item throughput and the round trip? Build and run by hand:
//
//   g++ -O3 -march=x86-64-v3 -std=c++20 -I. bench/experiments/seq_slot_ring.cc \
//       -o /tmp/seq_slot_ring -pthread && /tmp/seq_slot_ring
//
// Figures (2026-11-21, this 2-vCPU VM) are in bench/README.md. The
// prototype carries a 56-byte payload plus its 8-byte sequence in one
// 64-byte slot and publishes the consumer index every 16 items.
#include <pthread.h>
#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include "ringbuffers/cpu_relax.h"
#include "ringbuffers/spsc_ring.h"
using namespace tickflow;
struct alignas(64) Item64 {
  uint64_t seq;
  uint64_t p[7];
};
struct Item56 {
  uint64_t seq;
  uint64_t p[6];
};
static void pin(int c) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(c, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

template <typename T>
class SeqRing {
  struct alignas(64) Slot {
    T item;
    std::atomic<uint64_t> seq{0};
  };
  static_assert(sizeof(Slot) == 64);

 public:
  explicit SeqRing(size_t cap) : mask_(cap - 1), slots_(new Slot[cap]) {}
  bool try_push(const T& v) {
    Slot& s = slots_[head_ & mask_];
    if (head_ - cached_tail_ > mask_) {  // full by cache
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head_ - cached_tail_ > mask_) return false;
    }
    s.item = v;
    s.seq.store(head_ + 1, std::memory_order_release);
    ++head_;
    return true;
  }
  bool try_pop(T& v) {
    Slot& s = slots_[ctail_ & mask_];
    if (s.seq.load(std::memory_order_acquire) != ctail_ + 1) return false;
    v = s.item;
    ++ctail_;
    if ((ctail_ & 15) == 0)
      tail_.store(ctail_, std::memory_order_release);  // lazy: the producer only needs it near full
    return true;
  }

 private:
  alignas(128) uint64_t head_ = 0;
  uint64_t cached_tail_ = 0;
  alignas(128) uint64_t ctail_ = 0;
  alignas(128) std::atomic<uint64_t> tail_{0};
  alignas(128) uint64_t mask_;
  Slot* slots_;
};

template <typename Q, typename T>
double run(Q& q, unsigned poll) {
  const uint64_t N = 20'000'000;
  std::thread c([&] {
    pin(1);
    uint64_t e = 0, bad = 0;
    while (e < N) {
      T v;
      if (q.pop(v)) {
        bad += v.seq != e;
        ++e;
      } else
        spin_pause(poll);
    }
    if (bad) std::abort();
  });
  pin(0);
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < N;) {
    T v{};
    v.seq = i;
    if (q.push(v))
      ++i;
    else
      spin_pause(poll);
  }
  c.join();
  return N / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e6;
}
template <typename T>
struct Ours {
  SpscRing<T> r{1 << 16};
  bool push(const T& v) { return r.try_push(v); }
  bool pop(T& v) { return r.try_pop(v); }
};
template <typename T>
struct Seq {
  SeqRing<T> r{1 << 16};
  bool push(const T& v) { return r.try_push(v); }
  bool pop(T& v) { return r.try_pop(v); }
};
template <typename T>
struct Boost {
  boost::lockfree::spsc_queue<T> r{1 << 16};
  bool push(const T& v) { return r.push(v); }
  bool pop(T& v) { return r.pop(v); }
};

// round trip
template <typename Q, typename T>
double rtt(unsigned iters) {
  Q ping, pong;
  std::atomic<bool> stop{false};
  std::thread e([&] {
    pin(1);
    T v;
    while (!stop.load(std::memory_order_relaxed)) {
      if (ping.pop(v)) {
        while (!pong.push(v)) cpu_relax();
      } else
        cpu_relax();
    }
  });
  pin(0);
  T v{};
  auto t0 = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < iters; ++i) {
    v.seq = i;
    while (!ping.push(v)) cpu_relax();
    T b;
    while (!pong.pop(b)) {
    }
  }
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / iters;
  stop = true;
  e.join();
  return ns;
}

int main() {
  for (int rep = 0; rep < 3; ++rep) {
    Boost<Item64> b;
    Ours<Item64> o;
    Seq<Item56> s;
    Boost<Item56> b56;
    double vb = run<Boost<Item64>, Item64>(b, 8), vo = run<Ours<Item64>, Item64>(o, 8),
           vs = run<Seq<Item56>, Item56>(s, 8), vb56 = run<Boost<Item56>, Item56>(b56, 8);
    printf("throughput M/s: boost64 %.1f  SpscRing64 %.1f (%.2fx)  SeqRing(56+8) %.1f (%.2fx vs boost56 %.1f)\n", vb,
           vo, vo / vb, vs, vs / vb56, vb56);
    double rb = rtt<Boost<Item56>, Item56>(200000), ro = rtt<Ours<Item56>, Item56>(200000),
           rs = rtt<Seq<Item56>, Item56>(200000);
    printf("round trip ns: boost %.0f  SpscRing %.0f (%.2fx)  SeqRing %.0f (%.2fx)\n", rb, ro, ro / rb, rs, rs / rb);
  }
}
